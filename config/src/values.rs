//! Small value types and checked deserializers shared by the sections.

use std::fmt;
use std::path::PathBuf;

use serde::{de::Error as _, Deserialize, Deserializer};

/// Deserialize an integer within `[MIN, MAX]`.
pub(crate) fn u32_in<'de, D: Deserializer<'de>, const MIN: u32, const MAX: u32>(
    d: D,
) -> Result<u32, D::Error> {
    let v = i64::deserialize(d)?;
    match u32::try_from(v) {
        Ok(v) if (MIN..=MAX).contains(&v) => Ok(v),
        _ => Err(D::Error::custom(format!(
            "{v} is out of range, expected an integer from {MIN} to {MAX}"
        ))),
    }
}

/// Deserialize a number (integer or float) within `[min, max]` given in thousandths.
pub(crate) fn f64_in<'de, D: Deserializer<'de>, const MIN_MILLI: i64, const MAX_MILLI: i64>(
    d: D,
) -> Result<f64, D::Error> {
    let v = Number::deserialize(d)?.0;
    // The bounds are exact thousandths; the conversion is exact for the ranges used here.
    let (min, max) = (MIN_MILLI as f64 / 1000.0, MAX_MILLI as f64 / 1000.0);
    if !v.is_finite() || v < min || v > max {
        return Err(D::Error::custom(format!(
            "{v} is out of range, expected a number from {min} to {max}"
        )));
    }
    Ok(v)
}

/// Deserialize a string that is not empty (after trimming).
pub(crate) fn non_empty<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    if s.trim().is_empty() {
        return Err(D::Error::custom("expected a non-empty string"));
    }
    Ok(s)
}

/// Deserialize a path that is not empty.
pub(crate) fn non_empty_path<'de, D: Deserializer<'de>>(d: D) -> Result<PathBuf, D::Error> {
    non_empty(d).map(PathBuf::from)
}

/// Deserialize an optional non-empty path.
pub(crate) fn opt_path<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PathBuf>, D::Error> {
    non_empty_path(d).map(Some)
}

/// An integer or a float, as f64.
pub(crate) struct Number(pub f64);

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Number;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Number, E> {
                // Config numbers are small; precision loss above 2^53 does not matter here.
                Ok(Number(v as f64))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Number, E> {
                Ok(Number(v as f64))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Number, E> {
                Ok(Number(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// A serial port: a device path, or `sim` for the built-in board simulator.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum PortSpec {
    /// The board simulator runs in-process (the default: runs on any machine).
    #[default]
    Sim,
    /// A serial device, e.g. `/dev/serial0` or `/dev/ttyACM0`.
    Device(PathBuf),
}

impl PortSpec {
    /// Whether this is the simulator.
    pub fn is_sim(&self) -> bool {
        matches!(self, PortSpec::Sim)
    }

    /// Whether this port is the Pi's header UART (GPIO 14/15), which the GPIO section must
    /// then leave alone.
    pub fn is_header_uart(&self) -> bool {
        match self {
            PortSpec::Sim => false,
            PortSpec::Device(p) => {
                let p = p.to_string_lossy();
                ["/dev/serial0", "/dev/ttyAMA0", "/dev/ttyS0"].contains(&p.as_ref())
            }
        }
    }
}

impl fmt::Display for PortSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PortSpec::Sim => f.write_str("sim"),
            PortSpec::Device(p) => write!(f, "{}", p.display()),
        }
    }
}

impl<'de> Deserialize<'de> for PortSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s == "sim" {
            Ok(PortSpec::Sim)
        } else if s.starts_with('/') {
            Ok(PortSpec::Device(PathBuf::from(s)))
        } else {
            Err(D::Error::custom(format!(
                "invalid port \"{s}\", expected \"sim\" or an absolute device path such as \"/dev/serial0\""
            )))
        }
    }
}
