//! The simulated LED: an `OutputPin` whose level and number of switches can be watched from
//! another thread (the CLI shows it, tests check it follows `person_present`).

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use embedded_hal::digital::{ErrorType, OutputPin};

#[derive(Debug, Default)]
struct LedState {
    on: AtomicBool,
    switches: AtomicU64,
}

/// The LED pin given to the Pico core.
#[derive(Debug, Clone, Default)]
pub struct SimLed(Arc<LedState>);

/// A read-only view of a [`SimLed`].
#[derive(Debug, Clone)]
pub struct LedProbe(Arc<LedState>);

impl SimLed {
    /// A LED that is off.
    pub fn new() -> Self {
        Self::default()
    }

    /// A probe that sees this LED.
    pub fn probe(&self) -> LedProbe {
        LedProbe(self.0.clone())
    }

    fn set(&mut self, on: bool) {
        if self.0.on.swap(on, Ordering::SeqCst) != on {
            self.0.switches.fetch_add(1, Ordering::SeqCst);
        }
    }
}

impl LedProbe {
    /// Whether the LED is lit.
    pub fn is_on(&self) -> bool {
        self.0.on.load(Ordering::SeqCst)
    }

    /// How many times it changed level.
    pub fn switches(&self) -> u64 {
        self.0.switches.load(Ordering::SeqCst)
    }
}

impl ErrorType for SimLed {
    type Error = Infallible;
}

impl OutputPin for SimLed {
    fn set_low(&mut self) -> Result<(), Infallible> {
        self.set(false);
        Ok(())
    }
    fn set_high(&mut self) -> Result<(), Infallible> {
        self.set(true);
        Ok(())
    }
}
