//! Pins: debounced input edges, outputs and PWM driven by rules.

use serde::{Deserialize, Serialize};

/// Direction of a debounced input change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Edge {
    /// Low to high.
    Rising,
    /// High to low.
    Falling,
}

/// A debounced edge on an input pin.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GpioEdge {
    /// Pin name from config.
    pub name: String,
    /// BCM number.
    pub pin: u8,
    /// Direction.
    pub edge: Edge,
    /// When the level first changed (before debounce), UTC µs.
    pub at_us: i64,
}

/// A rule set an output pin.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutputChanged {
    /// Pin name from config.
    pub name: String,
    /// BCM number.
    pub pin: u8,
    /// New level.
    pub high: bool,
    /// Rule that caused it (or `release` on stop).
    pub rule: String,
}

/// A rule set a PWM output.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PwmChanged {
    /// Pin name from config.
    pub name: String,
    /// BCM number.
    pub pin: u8,
    /// Frequency in Hz.
    pub frequency_hz: f64,
    /// Duty cycle in percent, 0–100.
    pub duty_percent: f64,
    /// Rule that caused it.
    pub rule: String,
}
