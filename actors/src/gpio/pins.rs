//! The pin trait every GPIO backend implements, and what backends refuse.
//!
//! Pin names (BCM number, `bcm:N`, `board:N`) are the config's to resolve: the one header
//! table is [`vigil_config::gpio::header`], and the plan holds BCM numbers only.

use vigil_events::UtcMicros;

pub use vigil_config::gpio::{EdgeMode, Pull, UnknownName};

/// What a backend refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PinError {
    /// The GPIO peripheral cannot be opened. On a Pi: is the service user in the `gpio`
    /// group? Elsewhere: use the simulated backend.
    #[error("cannot open the GPIO peripheral: {0}")]
    Unavailable(String),
    /// The pin is held by another program or driver (1-Wire, SPI, I²C, another process).
    #[error("BCM {pin} is busy: {detail}")]
    Busy {
        /// BCM number.
        pin: u8,
        /// What the backend said.
        detail: String,
    },
    /// The pin was used before being set up, or in the wrong direction.
    #[error("BCM {pin} is not set up as {wanted}")]
    Mode {
        /// BCM number.
        pin: u8,
        /// `an input`, `an output`.
        wanted: &'static str,
    },
    /// A PWM value outside range (duty 0–100 %, frequency above zero and finite).
    #[error("PWM on BCM {pin} refused: {frequency_hz} Hz at {duty_percent} % (duty must be 0–100 %, frequency above 0)")]
    PwmRange {
        /// BCM number.
        pin: u8,
        /// Asked frequency.
        frequency_hz: f64,
        /// Asked duty.
        duty_percent: f64,
    },
    /// Any other hardware error.
    #[error("BCM {pin}: {detail}")]
    Hardware {
        /// BCM number.
        pin: u8,
        /// What the backend said.
        detail: String,
    },
}

/// Whether a PWM setting is acceptable: frequency finite and above zero, duty 0..=100 %.
pub fn pwm_in_range(frequency_hz: f64, duty_percent: f64) -> bool {
    frequency_hz.is_finite()
        && frequency_hz > 0.0
        && duty_percent.is_finite()
        && (0.0..=100.0).contains(&duty_percent)
}

/// [`PinError::PwmRange`] for `pin` unless the setting is [`pwm_in_range`]; what every
/// backend and the performer check before running PWM.
pub fn check_pwm(pin: u8, frequency_hz: f64, duty_percent: f64) -> Result<(), PinError> {
    if pwm_in_range(frequency_hz, duty_percent) {
        Ok(())
    } else {
        Err(PinError::PwmRange {
            pin,
            frequency_hz,
            duty_percent,
        })
    }
}

/// A GPIO backend: real (rppal) or simulated.
pub trait PinBackend: Send + 'static {
    /// Short description for logs (`rppal`, `simulated`).
    fn describe(&self) -> String;

    /// Make `pin` an input with `pull`.
    fn setup_input(&mut self, pin: u8, pull: Pull) -> Result<(), PinError>;

    /// Make `pin` an output driven to `high`.
    fn setup_output(&mut self, pin: u8, high: bool) -> Result<(), PinError>;

    /// Read an input's level. `now` is station time (the simulated backend plays its script
    /// at it; real backends ignore it).
    fn read(&mut self, pin: u8, now: UtcMicros) -> Result<bool, PinError>;

    /// Drive an output (stops PWM on it).
    fn write(&mut self, pin: u8, high: bool) -> Result<(), PinError>;

    /// Run PWM on an output. Backends refuse values outside [`pwm_in_range`] ([`check_pwm`]).
    fn set_pwm(&mut self, pin: u8, frequency_hz: f64, duty_percent: f64) -> Result<(), PinError>;

    /// Stop PWM, make `pin` an input without bias (the safe state) and forget it.
    fn release(&mut self, pin: u8) -> Result<(), PinError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    use vigil_config::gpio::header::{PinError as RefError, PinRef};

    fn bcm(spec: &str) -> Result<u8, RefError> {
        PinRef::parse(spec).map(|p| p.bcm)
    }

    #[test]
    fn pins_parse_by_bcm_and_board() {
        assert_eq!(bcm("17"), Ok(17));
        assert_eq!(bcm("bcm:17"), Ok(17));
        assert_eq!(bcm("board:11"), Ok(17));
        assert_eq!(bcm("board:12"), Ok(18));
        assert_eq!(bcm("board:40"), Ok(21));
    }

    #[test]
    fn power_ground_and_unknown_pins_are_refused() {
        let refused = |spec: &str| bcm(spec).expect_err(spec).to_string();
        assert_eq!(refused("board:2"), "board:2 is a 5 V power pin, not a GPIO");
        assert_eq!(refused("board:6"), "board:6 is a ground pin, not a GPIO");
        assert!(refused("board:41").contains("board:41 is not on the 40-pin header"));
        assert!(refused("board:0").contains("board:0 is not on the 40-pin header"));
        assert!(refused("28").contains("BCM 28 is not on the 40-pin header"));
        assert!(refused("led").contains("invalid pin \"led\""));
    }

    #[test]
    fn pwm_range_is_checked() {
        assert!(pwm_in_range(1000.0, 0.0));
        assert!(pwm_in_range(1000.0, 100.0));
        assert!(!pwm_in_range(1000.0, 100.1));
        assert!(!pwm_in_range(1000.0, -1.0));
        assert!(!pwm_in_range(0.0, 50.0));
        assert!(!pwm_in_range(f64::NAN, 50.0));
    }
}
