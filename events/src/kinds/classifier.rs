//! Thermal frames and person detection.

use serde::{Deserialize, Serialize};

/// Classes of the thermal classifier (labels 1, 2, 3 of the training files).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ThermalClass {
    /// A person.
    Person,
    /// A warm or cold object (cup, lamp, radiator, animal).
    Object,
    /// Nothing of note.
    Background,
}

/// One MLX90640 frame: 24 rows × 32 columns, row-major, centi-°C.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ThermalFrame {
    /// Frame counter of the board.
    pub frame: u32,
    /// 768 readings in hundredths of a degree Celsius.
    pub centi_c: Vec<i16>,
}

/// A classification of one frame.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    /// Frame counter of the board.
    pub frame: u32,
    /// Winning class.
    pub class: ThermalClass,
    /// Confidence of the winning class, 0–1000 (per mille, exact across engines).
    pub confidence_permille: u16,
    /// `pico-int8`, `host-int8`, `host-f32`.
    pub engine: String,
    /// Inference time in µs.
    pub latency_us: u32,
    /// Whether the person rule (threshold + hysteresis) holds after this frame.
    pub person_present: bool,
}

/// The Pi's classification compared with the Pico's for the same frame.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DetectionCompared {
    /// Frame counter of the board.
    pub frame: u32,
    /// The Pico's class.
    pub pico: ThermalClass,
    /// The Pi's class.
    pub host: ThermalClass,
    /// Both agree on class.
    pub agree: bool,
    /// The Pico's person state (its LED) after this frame.
    pub pico_present: bool,
    /// The Pi's person state after this frame (its own threshold and hysteresis).
    pub host_present: bool,
}
