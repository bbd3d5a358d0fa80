//! `[classifier]`: the Pi-side thermal person classifier.

use std::path::PathBuf;

use serde::Deserialize;

/// Which inference engine the Pi uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// The integer engine shared with the Pico (bit-identical results).
    #[default]
    Int8,
    /// The burn f32 reference model.
    F32,
}

/// `[classifier]`.
///
/// ```toml
/// [classifier]
/// engine = "int8"            # or "f32"
/// # model = "models/thermal.q8"   # default: the model shipped in the binary
/// threshold = 0.90           # person confidence needed
/// hysteresis_frames = 3      # frames in a row to raise or clear "person present"
/// compare_with_pico = true
/// ```
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClassifierConfig {
    /// Engine. Default int8.
    pub engine: Engine,
    /// Model file; `None` = the shipped model.
    #[serde(deserialize_with = "crate::values::opt_path")]
    pub model: Option<PathBuf>,
    /// Person confidence threshold, 0.01–1. Default 0.90.
    #[serde(deserialize_with = "crate::values::f64_in::<_, 10, 1000>")]
    pub threshold: f64,
    /// Frames in a row needed to raise or clear a person (1–100). Default 3.
    #[serde(deserialize_with = "crate::values::u32_in::<_, 1, 100>")]
    pub hysteresis_frames: u32,
    /// Compare with the Pico's own detections and record agreement. Default true.
    pub compare_with_pico: bool,
}

impl ClassifierConfig {
    /// The threshold in per mille, as [`vigil_events::kinds::Detection`] carries confidence.
    pub fn threshold_permille(&self) -> u16 {
        // threshold is validated to 0.01..=1, so the product is within 10..=1000.
        (self.threshold * 1000.0).round() as u16
    }
}

impl Default for ClassifierConfig {
    fn default() -> Self {
        ClassifierConfig {
            engine: Engine::Int8,
            model: None,
            threshold: 0.90,
            hysteresis_frames: 3,
            compare_with_pico: true,
        }
    }
}
