//! The simulated GPIO backend: inputs play a script over station time, outputs are recorded.
//!
//! [`SimPins`] goes to the performer; the [`SimHandle`] it hands out stays with the test (or
//! with `vigil sim`) to script inputs — "press at t, release at t + 40 ms, with bounce" — and
//! to inspect what outputs did. An input with no script entry before `now` reads its idle
//! level: high with a pull-up, low otherwise.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use vigil_events::UtcMicros;

use super::pins::{check_pwm, PinBackend, PinError, Pull};

/// The mode a simulated pin is in.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SimMode {
    /// Input with bias.
    Input(Pull),
    /// Output at a level.
    Output(bool),
    /// Output running PWM.
    Pwm {
        /// Frequency, Hz.
        frequency_hz: f64,
        /// Duty, percent.
        duty_percent: f64,
    },
}

/// One change a backend call made to an output, in call order.
#[derive(Clone, Debug, PartialEq)]
pub struct SimWrite {
    /// BCM number.
    pub pin: u8,
    /// The mode after the call (a released pin is `Input(Pull::None)`).
    pub mode: SimMode,
}

#[derive(Debug, Default)]
struct SimState {
    modes: BTreeMap<u8, SimMode>,
    /// Scripted input transitions per pin, sorted by time.
    scripts: BTreeMap<u8, Vec<(UtcMicros, bool)>>,
    writes: Vec<SimWrite>,
    /// Pins that refuse to be set up (to test busy pins).
    busy: Vec<u8>,
}

/// The state, if `pin` may be set up: a pin made busy is refused as a real one held by a
/// driver would be.
fn claim(state: &Mutex<SimState>, pin: u8) -> Result<MutexGuard<'_, SimState>, PinError> {
    let s = lock(state);
    if s.busy.contains(&pin) {
        return Err(PinError::Busy {
            pin,
            detail: "held by another program (simulated)".into(),
        });
    }
    Ok(s)
}

fn lock(state: &Mutex<SimState>) -> MutexGuard<'_, SimState> {
    // A panic while holding the lock cannot leave the plain maps inconsistent.
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The simulated backend. See the module docs.
#[derive(Debug, Clone, Default)]
pub struct SimPins {
    state: Arc<Mutex<SimState>>,
}

/// The test's side of a [`SimPins`]: script inputs, inspect outputs.
#[derive(Debug, Clone)]
pub struct SimHandle {
    state: Arc<Mutex<SimState>>,
}

impl SimPins {
    /// A fresh simulated header with nothing set up.
    pub fn new() -> Self {
        SimPins::default()
    }

    /// A handle to script and inspect this backend after it is moved into a performer.
    pub fn handle(&self) -> SimHandle {
        SimHandle {
            state: Arc::clone(&self.state),
        }
    }
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

impl SimHandle {
    /// Script `pin` to read `high` from `at` on (until a later scripted change).
    pub fn set_level_at(&self, pin: u8, at: UtcMicros, high: bool) {
        let mut s = lock(&self.state);
        let script = s.scripts.entry(pin).or_default();
        let i = script.partition_point(|(t, _)| *t <= at);
        script.insert(i, (at, high));
    }

    /// A clean press of a button wired to ground (pull-up): low from `at` for `hold`.
    pub fn press(&self, pin: u8, at: UtcMicros, hold: Duration) {
        self.set_level_at(pin, at, false);
        self.set_level_at(pin, at.saturating_add(micros(hold)), true);
    }

    /// A press with contact bounce: at press and at release the contact chatters `bounces`
    /// times, `gap` apart, before settling.
    pub fn press_with_bounce(
        &self,
        pin: u8,
        at: UtcMicros,
        hold: Duration,
        bounces: u32,
        gap: Duration,
    ) {
        let gap = micros(gap);
        let release = at.saturating_add(micros(hold));
        for (start, settle) in [(at, false), (release, true)] {
            let mut t = start;
            for i in 0..=2 * bounces {
                // Even steps go to the settled level, odd steps bounce back.
                let level = if i % 2 == 0 { settle } else { !settle };
                self.set_level_at(pin, t, level);
                t = t.saturating_add(gap);
            }
        }
    }

    /// Make `pin` refuse setup as if another program held it.
    pub fn make_busy(&self, pin: u8) {
        lock(&self.state).busy.push(pin);
    }

    /// The mode of `pin` (`None`: never set up, or released).
    pub fn mode(&self, pin: u8) -> Option<SimMode> {
        lock(&self.state).modes.get(&pin).copied()
    }

    /// Every output change so far, in order.
    pub fn writes(&self) -> Vec<SimWrite> {
        lock(&self.state).writes.clone()
    }
}

impl PinBackend for SimPins {
    fn describe(&self) -> String {
        "simulated".to_string()
    }

    fn setup_input(&mut self, pin: u8, pull: Pull) -> Result<(), PinError> {
        let mut s = claim(&self.state, pin)?;
        s.modes.insert(pin, SimMode::Input(pull));
        Ok(())
    }

    fn setup_output(&mut self, pin: u8, high: bool) -> Result<(), PinError> {
        let mut s = claim(&self.state, pin)?;
        s.modes.insert(pin, SimMode::Output(high));
        s.writes.push(SimWrite {
            pin,
            mode: SimMode::Output(high),
        });
        Ok(())
    }

    fn read(&mut self, pin: u8, now: UtcMicros) -> Result<bool, PinError> {
        let s = lock(&self.state);
        let Some(SimMode::Input(pull)) = s.modes.get(&pin).copied() else {
            return Err(PinError::Mode {
                pin,
                wanted: "an input",
            });
        };
        let scripted = s.scripts.get(&pin).and_then(|script| {
            let i = script.partition_point(|(t, _)| *t <= now);
            i.checked_sub(1).map(|j| script[j].1)
        });
        Ok(scripted.unwrap_or(pull == Pull::Up))
    }

    fn write(&mut self, pin: u8, high: bool) -> Result<(), PinError> {
        let mut s = lock(&self.state);
        match s.modes.get(&pin) {
            Some(SimMode::Output(_)) | Some(SimMode::Pwm { .. }) => {
                s.modes.insert(pin, SimMode::Output(high));
                s.writes.push(SimWrite {
                    pin,
                    mode: SimMode::Output(high),
                });
                Ok(())
            }
            _ => Err(PinError::Mode {
                pin,
                wanted: "an output",
            }),
        }
    }

    fn set_pwm(&mut self, pin: u8, frequency_hz: f64, duty_percent: f64) -> Result<(), PinError> {
        check_pwm(pin, frequency_hz, duty_percent)?;
        let mut s = lock(&self.state);
        match s.modes.get(&pin) {
            Some(SimMode::Output(_)) | Some(SimMode::Pwm { .. }) => {
                let mode = SimMode::Pwm {
                    frequency_hz,
                    duty_percent,
                };
                s.modes.insert(pin, mode);
                s.writes.push(SimWrite { pin, mode });
                Ok(())
            }
            _ => Err(PinError::Mode {
                pin,
                wanted: "an output",
            }),
        }
    }

    fn release(&mut self, pin: u8) -> Result<(), PinError> {
        let mut s = lock(&self.state);
        let was_output = matches!(
            s.modes.get(&pin),
            Some(SimMode::Output(_)) | Some(SimMode::Pwm { .. })
        );
        s.modes.insert(pin, SimMode::Input(Pull::None));
        if was_output {
            s.writes.push(SimWrite {
                pin,
                mode: SimMode::Input(Pull::None),
            });
        }
        Ok(())
    }
}
