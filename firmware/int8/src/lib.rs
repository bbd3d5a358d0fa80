//! The int8 inference engine shared by the Pico and the Pi: integer-only, bit-identical everywhere.
//!
//! A model is a small CNN over one thermal frame (24 × 32 readings in centi-°C) stored in the
//! compact, versioned, checksummed binary format of [`format`](mod@format). [`Model::parse`] borrows the
//! bytes without allocating; [`Model::infer`] runs it with a caller-provided scratch arena and
//! returns the winning class with an integer per-mille confidence.
//!
//! Quantization is linear: symmetric int8 weights (per tensor or per output channel),
//! asymmetric int8 activations with a zero point, int32 accumulators, and fixed-point
//! requantization ([`fixed`]) with ReLU fused into the clamp. No floating-point type appears
//! in the inference path (a test reads the sources to keep it so).
//!
//! ```
//! # fn demo(bytes: &[u8], frame: &[i16]) -> Result<(), Box<dyn core::error::Error>> {
//! let model = vigil_int8::Model::parse(bytes)?;
//! let mut arena = [0i8; 16 * 1024];
//! let result = model.infer(frame, &mut arena)?;
//! println!("class {} at {} ‰", result.class, result.confidence_permille);
//! # Ok(()) }
//! ```
//!
//! [`shipped`] holds the model vigil ships (`models/default.vgi8`, compiled in everywhere).
//!
//! With the `std` feature the crate also has the f32 reference of the same architecture
//! ([`reference`](mod@reference), for calibration and comparison on the host, with
//! [`reference::classify`]), its JSON model file ([`f32model`], what the trainer writes and the
//! quantizer reads), the model encoder ([`encode`]) and [`PreparedModel`] ([`prepared`]): the same inference with SIMD kernels
//! chosen at run time (AVX2 on x86-64), bit-identical to [`Model::infer`].
#![cfg_attr(not(feature = "std"), no_std)]

pub mod crc;
pub mod engine;
pub mod fixed;
pub mod format;
pub mod shape;
pub mod shipped;

#[cfg(feature = "std")]
pub mod encode;
#[cfg(feature = "std")]
pub mod f32model;
#[cfg(feature = "std")]
pub mod prepared;
#[cfg(feature = "std")]
pub mod reference;
#[cfg(feature = "std")]
mod simd;

pub use engine::{Inference, RunError};
pub use fixed::QuantMultiplier;
pub use format::{
    Affine, ConvGeom, InputChannel, InputKind, Layer, Model, ModelError, PoolGeom, Weights,
    FORMAT_VERSION, MAGIC, MAX_CLASSES, MAX_INPUT_CHANNELS, MAX_LAYERS,
};
pub use shape::Shape;

#[cfg(feature = "std")]
pub use prepared::{Kernel, PreparedModel};
