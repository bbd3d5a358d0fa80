//! `[pico]`: the thermal board link.

use serde::{de::Error as _, Deserialize, Deserializer};

use crate::values::PortSpec;

/// Which thermal frames the Pico sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FrameMode {
    /// Every frame.
    #[default]
    Full,
    /// Only frames whose detection changed.
    Change,
}

/// `[pico]`.
///
/// ```toml
/// [pico]
/// port = "sim"        # or "/dev/ttyACM0"
/// baud = 115200
/// refresh_hz = 2      # MLX90640 refresh: 1, 2, 4, 8, 16, 32 or 64
/// frames = "full"     # or "change"
/// ```
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PicoConfig {
    /// Serial port or `sim`. Default sim.
    pub port: PortSpec,
    /// Baud rate (1200–4000000). Default 115200.
    #[serde(deserialize_with = "crate::values::u32_in::<_, 1200, 4_000_000>")]
    pub baud: u32,
    /// Sensor refresh rate in Hz. Default 2.
    #[serde(deserialize_with = "refresh")]
    pub refresh_hz: u32,
    /// Which frames are sent. Default full.
    pub frames: FrameMode,
}

fn refresh<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let v = i64::deserialize(d)?;
    match v {
        1 | 2 | 4 | 8 | 16 | 32 | 64 => Ok(v as u32),
        _ => Err(D::Error::custom(format!(
            "refresh_hz {v} is not an MLX90640 rate, expected 1, 2, 4, 8, 16, 32 or 64"
        ))),
    }
}

impl Default for PicoConfig {
    fn default() -> Self {
        PicoConfig {
            port: PortSpec::Sim,
            baud: 115_200,
            refresh_hz: 2,
            frames: FrameMode::Full,
        }
    }
}
