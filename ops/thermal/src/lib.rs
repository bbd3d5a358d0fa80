//! Host side of thermal detection: the CSV dataset, the synthetic scene generator, the
//! post-training quantizer and the evaluator.
//!
//! - [`dataset`]: the seed's CSV format (768 readings, label digit at the end of the file
//!   stem) with errors that name the file, line and column.
//! - [`synth`](mod@synth): a physically plausible labelled synthetic set.
//! - [`f32model`]: the f32 model file the trainer writes (JSON) for [`vigil_int8::reference`](mod@vigil_int8::reference).
//! - [`quantize`](mod@quantize): f32 → int8 (minmax, EMA, percentile, MSE, KL calibration; per-tensor or
//!   per-channel weights; k-means codebooks).
//! - [`eval`]: int8 and f32 classification, accuracy and confusion matrix.

pub mod dataset;
pub mod eval;
pub mod f32model;
pub mod quantize;
pub mod shipped;
pub mod synth;

pub use dataset::{load_dir, load_labelled_dir, load_paths, DatasetError, Label, Sample};
pub use eval::{classify_f32, evaluate_f32, evaluate_int8, Confusion, Int8Classifier};
pub use quantize::{quantize, Granularity, Method, Options, Quantized};
pub use synth::synth;
