//! A small stand-in model for tests and demos when no trained model is at hand.
//!
//! The shipped model (`firmware/int8/models/default.vgi8`, trained with burn and quantized by
//! `vigil quantize`) is what the station runs. This one exists so that the simulators, the
//! link and the classifier can be tested end to end without it: a real int8 model of the
//! engine's format, from fixed weights ([`handmade_f32`]). Its int8 file,
//! `firmware/sim/models/handmade.vgi8`, is what vigil-thermal's quantizer makes of
//! [`handmade_f32`] calibrated on 96 synthetic frames (seed 5, min-max, per channel); the
//! test `the_stand_in_model_file_is_the_quantized_handmade_model` in `ops/thermal` keeps the
//! file and the weights in step (this crate, a runtime one, never imports the quantizer).
//!
//! Its layers: per pixel, eleven ramps of the temperature relative to the frame mean
//! (`relu(x − t)` for t = 1, 2, 3, 4.5, 6, 9, 14, 25 °C and `relu(−x − t)` for t = 2, 5,
//! 12 °C, a 1×1 convolution); the mean of each ramp over 4×4 blocks; the largest block per
//! ramp (max pool over the whole 6×8 grid); a dense layer to the three classes. The dense
//! weights were fitted once by multinomial logistic regression on 6000 synthetic frames (seed
//! 1). It is a weak classifier — about 78 % on a held-out synthetic set, rarely confident —
//! so tests that need confident person detections use the trained model.

use vigil_int8::reference::{F32Affine, F32Input, F32Layer, F32Model};
use vigil_int8::{ConvGeom, InputKind, ModelError, PoolGeom};

/// The stand-in model's int8 file (see the module docs for how it is made).
pub const HANDMADE_INT8: &[u8] = include_bytes!("../models/handmade.vgi8");

/// Ramp thresholds above the mean, °C.
const WARM: [f32; 8] = [1.0, 2.0, 3.0, 4.5, 6.0, 9.0, 14.0, 25.0];
/// Ramp thresholds below the mean, °C.
const COLD: [f32; 3] = [2.0, 5.0, 12.0];

/// Dense weights `[class][ramp]` (person, object, background).
const DENSE: [[f32; 11]; 3] = [
    [
        -0.549, 0.668, 1.038, 0.417, 0.186, -0.061, -0.726, -1.144, -1.166, -0.046, 1.428,
    ],
    [
        0.006, 0.443, 0.796, 0.497, 0.176, 0.001, 0.494, 0.800, 2.196, -1.273, -1.059,
    ],
    [
        0.543, -1.111, -1.833, -0.914, -0.362, 0.060, 0.232, 0.344, -1.030, 1.319, -0.369,
    ],
];
/// Dense biases.
const BIAS: [f32; 3] = [0.330, -1.529, 1.198];

/// The f32 form of the stand-in model.
pub fn handmade_f32() -> F32Model {
    let ramps = WARM.len() + COLD.len();
    let mut weights = Vec::with_capacity(ramps);
    let mut bias = Vec::with_capacity(ramps);
    for t in WARM {
        weights.push(1.0);
        bias.push(-t);
    }
    for t in COLD {
        weights.push(-1.0);
        bias.push(-t);
    }
    F32Model {
        input_h: 24,
        input_w: 32,
        n_classes: 3,
        inputs: vec![F32Input {
            kind: InputKind::MinusMean,
            offset_c: 0.0,
            scale: 1.0,
            clip_c: None,
        }],
        layers: vec![
            F32Layer::Conv2d(
                ConvGeom::square(1, 1, 0),
                F32Affine {
                    out_c: ramps,
                    relu: true,
                    weights,
                    bias,
                },
            ),
            F32Layer::AvgPool(PoolGeom::square(4, 4)),
            F32Layer::MaxPool(PoolGeom {
                kh: 6,
                kw: 8,
                stride_h: 6,
                stride_w: 8,
            }),
            F32Layer::Dense(F32Affine {
                out_c: 3,
                relu: false,
                weights: DENSE.iter().flatten().copied().collect(),
                bias: BIAS.to_vec(),
            }),
        ],
    }
}

/// The stand-in model, quantized (calibrated on 96 synthetic frames, seed 5): model file
/// bytes, checked to parse.
pub fn handmade() -> Result<Vec<u8>, ModelError> {
    vigil_int8::Model::parse(HANDMADE_INT8)?;
    Ok(HANDMADE_INT8.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handmade_model_parses_with_the_pico_shape() {
        let bytes = handmade().expect("quantizes");
        let m = vigil_int8::Model::parse(&bytes).expect("parses");
        assert_eq!(
            (m.input_shape().h, m.input_shape().w, m.n_classes()),
            (24, 32, 3)
        );
        assert_eq!(handmade().expect("again"), bytes, "deterministic");
    }
}
