//! Pin names, the 40-pin header map, and the pin trait every GPIO backend implements.
//!
//! Config names a pin by BCM number (`17`, `bcm:17`, `gpio17`) or by its physical position on
//! the 40-pin header (`board:11`). Header positions are mapped to BCM; power and ground
//! positions are refused.
//!
//! | board | BCM | board | BCM |
//! |---|---|---|---|
//! | 1 | 3V3 | 2 | 5V |
//! | 3 | 2 | 4 | 5V |
//! | 5 | 3 | 6 | GND |
//! | 7 | 4 | 8 | 14 |
//! | 9 | GND | 10 | 15 |
//! | 11 | 17 | 12 | 18 |
//! | 13 | 27 | 14 | GND |
//! | 15 | 22 | 16 | 23 |
//! | 17 | 3V3 | 18 | 24 |
//! | 19 | 10 | 20 | GND |
//! | 21 | 9 | 22 | 25 |
//! | 23 | 11 | 24 | 8 |
//! | 25 | GND | 26 | 7 |
//! | 27 | 0 | 28 | 1 |
//! | 29 | 5 | 30 | GND |
//! | 31 | 6 | 32 | 12 |
//! | 33 | 13 | 34 | GND |
//! | 35 | 19 | 36 | 16 |
//! | 37 | 26 | 38 | 20 |
//! | 39 | GND | 40 | 21 |

use std::fmt;
use std::str::FromStr;

use vigil_events::UtcMicros;

/// What sits at a position of the 40-pin header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderPin {
    /// A GPIO, by BCM number.
    Gpio(u8),
    /// A supply pin (`3V3` or `5V`).
    Power(&'static str),
    /// Ground.
    Ground,
}

/// The 40-pin header, position 1 first.
const HEADER: [HeaderPin; 40] = {
    use HeaderPin::{Gpio as G, Ground as Z, Power as P};
    [
        P("3V3"),
        P("5V"),
        G(2),
        P("5V"),
        G(3),
        Z,
        G(4),
        G(14),
        Z,
        G(15),
        G(17),
        G(18),
        G(27),
        Z,
        G(22),
        G(23),
        P("3V3"),
        G(24),
        G(10),
        Z,
        G(9),
        G(25),
        G(11),
        G(8),
        Z,
        G(7),
        G(0),
        G(1),
        G(5),
        Z,
        G(6),
        G(12),
        G(13),
        Z,
        G(19),
        G(16),
        G(26),
        G(20),
        Z,
        G(21),
    ]
};

/// What is at header position `board` (1..=40).
pub fn header_pin(board: u8) -> Option<HeaderPin> {
    HEADER.get(usize::from(board).checked_sub(1)?).copied()
}

/// Highest BCM number on the 40-pin header.
pub const MAX_BCM: u8 = 27;

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

/// Input bias.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Pull {
    /// No bias (an external resistor is fitted).
    #[default]
    None,
    /// Pull-up: idles high, a button to ground reads low when pressed.
    Up,
    /// Pull-down: idles low.
    Down,
}

/// A word that is not one of the expected names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{got}` (expected {expected})")]
pub struct UnknownName {
    /// What was parsed.
    pub what: &'static str,
    /// As written.
    pub got: String,
    /// The accepted words.
    pub expected: &'static str,
}

impl FromStr for Pull {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "none" | "off" => Ok(Pull::None),
            "up" => Ok(Pull::Up),
            "down" => Ok(Pull::Down),
            _ => Err(UnknownName {
                what: "pull",
                got: s.to_string(),
                expected: "none, up or down",
            }),
        }
    }
}

/// Which debounced edges of an input become `GpioEdge` events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum EdgeMode {
    /// Low to high only.
    Rising,
    /// High to low only.
    Falling,
    /// Both.
    #[default]
    Both,
}

impl EdgeMode {
    /// Whether `edge` is reported in this mode.
    pub fn reports(self, edge: vigil_events::kinds::Edge) -> bool {
        use vigil_events::kinds::Edge;
        matches!(
            (self, edge),
            (EdgeMode::Both, _)
                | (EdgeMode::Rising, Edge::Rising)
                | (EdgeMode::Falling, Edge::Falling)
        )
    }
}

impl FromStr for EdgeMode {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "rising" => Ok(EdgeMode::Rising),
            "falling" => Ok(EdgeMode::Falling),
            "both" => Ok(EdgeMode::Both),
            _ => Err(UnknownName {
                what: "edge",
                got: s.to_string(),
                expected: "rising, falling or both",
            }),
        }
    }
}

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

impl fmt::Display for Pull {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Pull::None => "none",
            Pull::Up => "up",
            Pull::Down => "down",
        })
    }
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
    fn every_header_gpio_is_a_distinct_bcm() {
        let mut seen: Vec<u8> = HEADER
            .iter()
            .filter_map(|p| match p {
                HeaderPin::Gpio(b) => Some(*b),
                _ => None,
            })
            .collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..=MAX_BCM).collect::<Vec<_>>());
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
