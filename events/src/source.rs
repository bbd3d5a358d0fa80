//! Who an event comes from: an actor on the Pi, a board, or an operator.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The actor or device that produced an event. Codes are stable forever: append, never reorder.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// The clock actor (schedule, time sources).
    Clock,
    /// The power actor (serial link to the ESP32, halt handshake).
    Power,
    /// The camera actor.
    Camera,
    /// The GPIO actor.
    Gpio,
    /// The classifier actor on the Pi.
    Classifier,
    /// The ESP32 power controller (board events carry a [`crate::BoardOrigin`]).
    Esp32,
    /// The Pico thermal board (board events carry a [`crate::BoardOrigin`]).
    Pico,
    /// Operators and the supervisor itself: CLI, API, start/stop, retention, exports.
    Ops,
    /// The journal (the store's single writer).
    Journal,
}

impl Source {
    /// All sources in code order.
    pub const ALL: [Source; 9] = [
        Source::Clock,
        Source::Power,
        Source::Camera,
        Source::Gpio,
        Source::Classifier,
        Source::Esp32,
        Source::Pico,
        Source::Ops,
        Source::Journal,
    ];

    /// Lowercase name as used in the CLI and the stored bytes.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Clock => "clock",
            Source::Power => "power",
            Source::Camera => "camera",
            Source::Gpio => "gpio",
            Source::Classifier => "classifier",
            Source::Esp32 => "esp32",
            Source::Pico => "pico",
            Source::Ops => "ops",
            Source::Journal => "journal",
        }
    }

    /// One byte code, stable forever (used in index keys).
    pub fn code(self) -> u8 {
        self as u8
    }

    /// Inverse of [`Source::code`].
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.get(usize::from(code)).copied()
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A source name that vigil does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown source `{0}` (expected one of clock, power, camera, gpio, classifier, esp32, pico, ops, journal)")]
pub struct UnknownSource(pub String);

impl FromStr for Source {
    type Err = UnknownSource;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Source::ALL
            .iter()
            .copied()
            .find(|src| src.as_str() == s)
            .ok_or_else(|| UnknownSource(s.to_string()))
    }
}
