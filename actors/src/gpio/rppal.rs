//! Raspberry Pi GPIO through rppal 0.22 (cargo feature `rpi`).
//!
//! Every configured pin is held as an rppal `IoPin`, so one type serves inputs, outputs and
//! software PWM. Pins are not reset by rppal on drop; [`PinBackend::release`] puts them back
//! to inputs without bias explicitly (the safe state for whatever is wired to them).
//!
//! # Troubleshooting
//!
//! - `cannot open the GPIO peripheral: Permission denied`: add the service user to the
//!   `gpio` group (`/dev/gpiomem`).
//! - `BCM n is busy`: a kernel driver (1-Wire, SPI, I²C, UART) or another process holds the pin;
//!   disable the overlay in `/boot/firmware/config.txt` or pick another pin.
//! - Software PWM jitters under load; for a fan or a servo prefer BCM 12/13/18/19 with the
//!   hardware PWM overlay (not driven by vigil yet).

use std::collections::BTreeMap;

use rppal::gpio::{Bias, Gpio, IoPin, Level, Mode};
use vigil_events::UtcMicros;

use super::pins::{check_pwm, PinBackend, PinError, Pull};

/// The rppal backend. See the module docs.
#[derive(Debug)]
pub struct RppalPins {
    gpio: Gpio,
    pins: BTreeMap<u8, IoPin>,
}

fn hw(pin: u8, e: rppal::gpio::Error) -> PinError {
    match e {
        rppal::gpio::Error::PinUsed(_) | rppal::gpio::Error::PinNotAvailable(_) => PinError::Busy {
            pin,
            detail: e.to_string(),
        },
        other => PinError::Hardware {
            pin,
            detail: other.to_string(),
        },
    }
}

impl RppalPins {
    /// Open the GPIO peripheral.
    pub fn new() -> Result<Self, PinError> {
        let gpio = Gpio::new().map_err(|e| PinError::Unavailable(e.to_string()))?;
        Ok(RppalPins {
            gpio,
            pins: BTreeMap::new(),
        })
    }

    fn take(&mut self, pin: u8, mode: Mode) -> Result<&mut IoPin, PinError> {
        if !self.pins.contains_key(&pin) {
            let mut io = self.gpio.get(pin).map_err(|e| hw(pin, e))?.into_io(mode);
            io.set_reset_on_drop(false);
            self.pins.insert(pin, io);
        }
        let io = self.pins.get_mut(&pin).ok_or(PinError::Mode {
            pin,
            wanted: "set up",
        })?;
        io.set_mode(mode);
        Ok(io)
    }

    fn get(&mut self, pin: u8, wanted: &'static str) -> Result<&mut IoPin, PinError> {
        self.pins
            .get_mut(&pin)
            .ok_or(PinError::Mode { pin, wanted })
    }
}

impl PinBackend for RppalPins {
    fn describe(&self) -> String {
        "rppal".to_string()
    }

    fn setup_input(&mut self, pin: u8, pull: Pull) -> Result<(), PinError> {
        let io = self.take(pin, Mode::Input)?;
        io.set_bias(match pull {
            Pull::None => Bias::Off,
            Pull::Up => Bias::PullUp,
            Pull::Down => Bias::PullDown,
        });
        Ok(())
    }

    fn setup_output(&mut self, pin: u8, high: bool) -> Result<(), PinError> {
        // Set the level before switching to output, so the pin never glitches.
        let io = self.take(pin, Mode::Input)?;
        io.write(if high { Level::High } else { Level::Low });
        io.set_mode(Mode::Output);
        Ok(())
    }

    fn read(&mut self, pin: u8, _now: UtcMicros) -> Result<bool, PinError> {
        Ok(self.get(pin, "an input")?.read() == Level::High)
    }

    fn write(&mut self, pin: u8, high: bool) -> Result<(), PinError> {
        let io = self.get(pin, "an output")?;
        io.clear_pwm().map_err(|e| hw(pin, e))?;
        io.write(if high { Level::High } else { Level::Low });
        Ok(())
    }

    fn set_pwm(&mut self, pin: u8, frequency_hz: f64, duty_percent: f64) -> Result<(), PinError> {
        check_pwm(pin, frequency_hz, duty_percent)?;
        self.get(pin, "an output")?
            .set_pwm_frequency(frequency_hz, duty_percent / 100.0)
            .map_err(|e| hw(pin, e))
    }

    fn release(&mut self, pin: u8) -> Result<(), PinError> {
        if let Some(mut io) = self.pins.remove(&pin) {
            io.clear_pwm().map_err(|e| hw(pin, e))?;
            io.set_mode(Mode::Input);
            io.set_bias(Bias::Off);
        }
        Ok(())
    }
}
