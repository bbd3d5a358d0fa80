//! Host-side thermal tools: the CSV dataset, the post-training quantizer and the evaluator.
//!
//! What the station runs lives under `firmware/`: the int8 engine, the f32 reference, its JSON
//! model file and the shipped models in `vigil-int8`, the scene generator in `vigil-scenes`.
//! This crate builds on them and is used only by the tools (`vigil`'s thermal commands and
//! `vigil-train`); no runtime crate may depend on it.
//!
//! - [`dataset`]: the seed's CSV format (768 readings, label digit at the end of the file
//!   stem) with errors that name the file, line and column, and [`synth`](fn@synth), which
//!   writes a labelled synthetic set ([`vigil_scenes`]) as CSV files.
//! - [`quantize`](mod@quantize): f32 → int8 (minmax, EMA, percentile, MSE, KL calibration; per-tensor or
//!   per-channel weights; k-means codebooks).
//! - [`eval`]: int8 and f32 classification, accuracy and confusion matrix.
//!
//! Labels are [`vigil_wire::ThermalClass`], the one class enum of the system.

pub mod dataset;
pub mod eval;
pub mod quantize;

pub use dataset::{load_dir, load_labelled_dir, load_paths, synth, DatasetError, Sample};
pub use eval::{evaluate_f32, evaluate_int8, Confusion, Int8Classifier};
pub use quantize::{quantize, Granularity, Method, Options, Quantized};
