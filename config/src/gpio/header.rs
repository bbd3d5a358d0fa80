//! The Raspberry Pi's 40-pin header, the one table of it in vigil: which physical pin is which
//! GPIO (BCM number), power or ground, and [`PinRef`], a GPIO with both its numbers. The GPIO
//! actor names pins through the same table ([`header_pin`]).
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

use serde::{Deserialize, Deserializer};

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

impl HeaderPin {
    /// What the pin is, in words (`3.3 V power`, `5 V power`, `ground`); `None` for a GPIO.
    pub fn supply(self) -> Option<&'static str> {
        match self {
            HeaderPin::Gpio(_) => None,
            HeaderPin::Power("3V3") => Some("3.3 V power"),
            HeaderPin::Power(_) => Some("5 V power"),
            HeaderPin::Ground => Some("ground"),
        }
    }
}

/// Highest BCM number on the 40-pin header.
pub const MAX_BCM: u8 = 27;

/// What is at header position `board` (1..=40).
pub fn header_pin(board: u8) -> Option<HeaderPin> {
    HEADER.get(usize::from(board).checked_sub(1)?).copied()
}

/// The 40-pin header, physical pin 1 first.
const HEADER: [HeaderPin; 40] = {
    use HeaderPin::Gpio;
    const V3: HeaderPin = HeaderPin::Power("3V3");
    const V5: HeaderPin = HeaderPin::Power("5V");
    const GND: HeaderPin = HeaderPin::Ground;
    [
        V3,
        V5,
        Gpio(2),
        V5,
        Gpio(3),
        GND,
        Gpio(4),
        Gpio(14),
        GND,
        Gpio(15), // 1–10
        Gpio(17),
        Gpio(18),
        Gpio(27),
        GND,
        Gpio(22),
        Gpio(23),
        V3,
        Gpio(24),
        Gpio(10),
        GND, // 11–20
        Gpio(9),
        Gpio(25),
        Gpio(11),
        Gpio(8),
        GND,
        Gpio(7),
        Gpio(0),
        Gpio(1),
        Gpio(5),
        GND, // 21–30
        Gpio(6),
        Gpio(12),
        Gpio(13),
        GND,
        Gpio(19),
        Gpio(16),
        Gpio(26),
        Gpio(20),
        GND,
        Gpio(21), // 31–40
    ]
};

/// A GPIO on the 40-pin header, with both its numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PinRef {
    /// Broadcom (BCM) GPIO number, what rppal uses.
    pub bcm: u8,
    /// Physical header pin (1–40).
    pub physical: u8,
}

/// Why a pin spec was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PinError {
    /// The spec is neither an integer nor `board:N` / `bcm:N`.
    #[error("invalid pin \"{0}\", expected a BCM number (17), \"bcm:17\" or a physical header pin \"board:11\"")]
    Syntax(String),
    /// A BCM number that is not on the 40-pin header.
    #[error("unknown pin: BCM {0} is not on the 40-pin header (BCM 2–27)")]
    UnknownBcm(i64),
    /// A physical number outside 1–40.
    #[error("unknown pin: board:{0} is not on the 40-pin header (board:1 to board:40)")]
    UnknownBoard(i64),
    /// A power or ground header pin.
    #[error("board:{physical} is a {what} pin, not a GPIO")]
    NotGpio {
        /// Physical pin.
        physical: u8,
        /// `3.3 V power`, `5 V power`, `ground`.
        what: &'static str,
    },
    /// GPIO 0/1 (ID_SD/ID_SC).
    #[error("BCM {bcm} (board:{physical}) is reserved for the HAT ID EEPROM")]
    Reserved {
        /// BCM number.
        bcm: u8,
        /// Physical pin.
        physical: u8,
    },
}

impl PinRef {
    /// The pin with BCM number `bcm`.
    pub fn from_bcm(bcm: i64) -> Result<PinRef, PinError> {
        let physical = HEADER
            .iter()
            .position(|h| matches!(h, HeaderPin::Gpio(b) if i64::from(*b) == bcm))
            .ok_or(PinError::UnknownBcm(bcm))?;
        Self::checked(bcm as u8, physical as u8 + 1)
    }

    /// The GPIO at physical header pin `physical` (1–40). Header map (physical → BCM):
    /// 3→2, 5→3, 7→4, 8→14, 10→15, 11→17, 12→18, 13→27, 15→22, 16→23, 18→24, 19→10, 21→9,
    /// 22→25, 23→11, 24→8, 26→7, 29→5, 31→6, 32→12, 33→13, 35→19, 36→16, 37→26, 38→20,
    /// 40→21; 1 and 17 are 3.3 V, 2 and 4 are 5 V; 6, 9, 14, 20, 25, 30, 34, 39 are ground;
    /// 27/28 are BCM 0/1 (HAT ID EEPROM, refused).
    pub fn from_board(physical: i64) -> Result<PinRef, PinError> {
        let idx = usize::try_from(physical - 1)
            .ok()
            .filter(|i| *i < HEADER.len())
            .ok_or(PinError::UnknownBoard(physical))?;
        let p = physical as u8;
        match HEADER[idx] {
            HeaderPin::Gpio(bcm) => Self::checked(bcm, p),
            other => Err(PinError::NotGpio {
                physical: p,
                what: other.supply().unwrap_or("ground"),
            }),
        }
    }

    fn checked(bcm: u8, physical: u8) -> Result<PinRef, PinError> {
        if bcm <= 1 {
            return Err(PinError::Reserved { bcm, physical });
        }
        Ok(PinRef { bcm, physical })
    }

    /// Parse `17`, `"bcm:17"` or `"board:11"` (as text).
    pub fn parse(spec: &str) -> Result<PinRef, PinError> {
        let num = |t: &str| {
            t.parse::<i64>()
                .map_err(|_| PinError::Syntax(spec.to_string()))
        };
        if let Some(n) = spec.strip_prefix("board:") {
            Self::from_board(num(n)?)
        } else if let Some(n) = spec.strip_prefix("bcm:") {
            Self::from_bcm(num(n)?)
        } else {
            Self::from_bcm(num(spec)?)
        }
    }
}

impl fmt::Display for PinRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BCM {} (board:{})", self.bcm, self.physical)
    }
}

impl<'de> Deserialize<'de> for PinRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = PinRef;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a BCM number (17), \"bcm:17\" or a physical header pin \"board:11\"")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<PinRef, E> {
                PinRef::from_bcm(v).map_err(E::custom)
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<PinRef, E> {
                PinRef::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
