//! Pin names, the 40-pin header map, and the pin trait every GPIO backend implements.
//!
//! Config names a pin by BCM number (`17`, `bcm:17`, `gpio17`) or by its physical position on
//! the 40-pin header (`board:11`). Header positions are mapped to BCM; power and ground
//! positions are refused.
//!
//! The header map is the config's ([`vigil_config::gpio::header`]), the one table of it.

use vigil_events::UtcMicros;

pub use vigil_config::gpio::header::{header_pin, HeaderPin, MAX_BCM};

/// A pin reference that does not name a usable GPIO.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PinRefError {
    /// Not a BCM number 0..=27 nor `board:1..=40`.
    #[error(
        "unknown pin `{0}` (expected a BCM number 0..=27, `bcm:N`, `gpioN`, or `board:1..=40`)"
    )]
    Unknown(String),
    /// A power or ground position of the header.
    #[error("pin `{spec}` is header pin {board}, a {what} pin, not a GPIO")]
    Power {
        /// As written.
        spec: String,
        /// Header position.
        board: u8,
        /// `3V3`, `5V` or `GND`.
        what: &'static str,
    },
}

/// Resolve a pin reference from config to a BCM number. See the module docs.
pub fn parse_pin(spec: &str) -> Result<u8, PinRefError> {
    let s = spec.trim().to_ascii_lowercase();
    let unknown = || PinRefError::Unknown(spec.to_string());
    if let Some(n) = s.strip_prefix("board:") {
        let board: u8 = n.trim().parse().map_err(|_| unknown())?;
        return match header_pin(board).ok_or_else(unknown)? {
            HeaderPin::Gpio(bcm) => Ok(bcm),
            HeaderPin::Power(what) => Err(PinRefError::Power {
                spec: spec.to_string(),
                board,
                what,
            }),
            HeaderPin::Ground => Err(PinRefError::Power {
                spec: spec.to_string(),
                board,
                what: "GND",
            }),
        };
    }
    let n = s
        .strip_prefix("bcm:")
        .or_else(|| s.strip_prefix("gpio"))
        .unwrap_or(&s);
    let bcm: u8 = n.trim().parse().map_err(|_| unknown())?;
    if bcm > MAX_BCM {
        return Err(unknown());
    }
    Ok(bcm)
}

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

    /// Run PWM on an output. Backends refuse values outside [`pwm_in_range`].
    fn set_pwm(&mut self, pin: u8, frequency_hz: f64, duty_percent: f64) -> Result<(), PinError>;

    /// Stop PWM, make `pin` an input without bias (the safe state) and forget it.
    fn release(&mut self, pin: u8) -> Result<(), PinError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_parse_by_bcm_and_board() {
        assert_eq!(parse_pin("17"), Ok(17));
        assert_eq!(parse_pin("bcm:17"), Ok(17));
        assert_eq!(parse_pin("GPIO17"), Ok(17));
        assert_eq!(parse_pin("board:11"), Ok(17));
        assert_eq!(parse_pin("board:12"), Ok(18));
        assert_eq!(parse_pin("board:40"), Ok(21));
    }

    #[test]
    fn power_ground_and_unknown_pins_are_refused() {
        assert!(matches!(
            parse_pin("board:2"),
            Err(PinRefError::Power { what: "5V", .. })
        ));
        assert!(matches!(
            parse_pin("board:6"),
            Err(PinRefError::Power { what: "GND", .. })
        ));
        assert!(matches!(
            parse_pin("board:41"),
            Err(PinRefError::Unknown(_))
        ));
        assert!(matches!(parse_pin("board:0"), Err(PinRefError::Unknown(_))));
        assert!(matches!(parse_pin("28"), Err(PinRefError::Unknown(_))));
        assert!(matches!(parse_pin("led"), Err(PinRefError::Unknown(_))));
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
