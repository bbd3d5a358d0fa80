//! The f32 model file (`*.json`): what the trainer writes and the quantizer reads.
//!
//! ```json
//! {"format": "vigil-thermal-f32", "version": 1, "input_h": 24, "input_w": 32, "n_classes": 3,
//!  "inputs": [{"kind": "minus_mean", "offset_c": 0.0, "scale": 4.0, "clip_c": [-10.0, 20.0]}],
//!  "layers": [{"type": "conv2d", "out_c": 8, "kh": 3, "kw": 3, "stride_h": 1, "stride_w": 1,
//!              "pad_h": 1, "pad_w": 1, "relu": true, "weights": [...], "bias": [...]},
//!             {"type": "max_pool", "kh": 2, "kw": 2, "stride_h": 2, "stride_w": 2}, ...]}
//! ```
//!
//! Layouts are those of [`crate::reference`]: HWC tensors, conv weights
//! `[out][kh][kw][in]`, depthwise `[kh][kw][c]`, dense `[out][in]` over the HWC-flattened
//! input (a trainer working in NCHW must permute when exporting).

use std::path::{Path, PathBuf};

use crate::reference::{F32Affine, F32Input, F32Layer, F32Model};
use crate::{ConvGeom, InputKind, PoolGeom};
use serde::{Deserialize, Serialize};

/// The `format` field.
pub const FORMAT: &str = "vigil-thermal-f32";
/// The `version` field this build reads and writes.
pub const VERSION: u32 = 1;

/// Why an f32 model file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum F32ModelError {
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Not valid JSON of this schema.
    #[error("{path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// Where and what.
        source: serde_json::Error,
    },
    /// Another format or version.
    #[error("{path}: format {format:?} version {version}, expected {FORMAT:?} version {VERSION}")]
    Version {
        /// The file.
        path: PathBuf,
        /// Its format.
        format: String,
        /// Its version.
        version: u32,
    },
    /// The layers do not fit together.
    #[error("{path}: {source}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        source: crate::reference::ReferenceError,
    },
}

#[derive(Serialize, Deserialize)]
struct File {
    format: String,
    version: u32,
    input_h: usize,
    input_w: usize,
    n_classes: usize,
    inputs: Vec<InputJson>,
    layers: Vec<LayerJson>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum KindJson {
    Absolute,
    MinusMean,
}

#[derive(Serialize, Deserialize)]
struct InputJson {
    kind: KindJson,
    offset_c: f32,
    scale: f32,
    /// `[lo, hi]` °C the channel is clamped to (absent: no clamp; files written before the
    /// field existed read the same).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    clip_c: Option<[f32; 2]>,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum LayerJson {
    Conv2d(ConvJson),
    DepthwiseConv2d(ConvJson),
    MaxPool(PoolJson),
    AvgPool(PoolJson),
    GlobalAvgPool,
    Dense {
        out: usize,
        relu: bool,
        weights: Vec<f32>,
        bias: Vec<f32>,
    },
}

#[derive(Serialize, Deserialize)]
struct ConvJson {
    out_c: usize,
    kh: u8,
    kw: u8,
    stride_h: u8,
    stride_w: u8,
    pad_h: u8,
    pad_w: u8,
    relu: bool,
    weights: Vec<f32>,
    bias: Vec<f32>,
}

#[derive(Serialize, Deserialize)]
struct PoolJson {
    kh: u8,
    kw: u8,
    stride_h: u8,
    stride_w: u8,
}

fn conv_from(c: ConvJson) -> (ConvGeom, F32Affine) {
    (
        ConvGeom {
            kh: c.kh,
            kw: c.kw,
            stride_h: c.stride_h,
            stride_w: c.stride_w,
            pad_h: c.pad_h,
            pad_w: c.pad_w,
        },
        F32Affine {
            out_c: c.out_c,
            relu: c.relu,
            weights: c.weights,
            bias: c.bias,
        },
    )
}

fn conv_to(g: &ConvGeom, a: &F32Affine) -> ConvJson {
    ConvJson {
        out_c: a.out_c,
        kh: g.kh,
        kw: g.kw,
        stride_h: g.stride_h,
        stride_w: g.stride_w,
        pad_h: g.pad_h,
        pad_w: g.pad_w,
        relu: a.relu,
        weights: a.weights.clone(),
        bias: a.bias.clone(),
    }
}

fn pool_from(p: PoolJson) -> PoolGeom {
    PoolGeom {
        kh: p.kh,
        kw: p.kw,
        stride_h: p.stride_h,
        stride_w: p.stride_w,
    }
}

fn pool_to(g: &PoolGeom) -> PoolJson {
    PoolJson {
        kh: g.kh,
        kw: g.kw,
        stride_h: g.stride_h,
        stride_w: g.stride_w,
    }
}

/// Parses and validates an f32 model from JSON text (`path` only names it in errors).
pub fn from_json(path: &Path, text: &str) -> Result<F32Model, F32ModelError> {
    let file: File = serde_json::from_str(text).map_err(|source| F32ModelError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    if file.format != FORMAT || file.version != VERSION {
        return Err(F32ModelError::Version {
            path: path.to_path_buf(),
            format: file.format,
            version: file.version,
        });
    }
    let model = F32Model {
        input_h: file.input_h,
        input_w: file.input_w,
        n_classes: file.n_classes,
        inputs: file
            .inputs
            .into_iter()
            .map(|i| F32Input {
                kind: match i.kind {
                    KindJson::Absolute => InputKind::Absolute,
                    KindJson::MinusMean => InputKind::MinusMean,
                },
                offset_c: i.offset_c,
                scale: i.scale,
                clip_c: i.clip_c.map(|[lo, hi]| (lo, hi)),
            })
            .collect(),
        layers: file
            .layers
            .into_iter()
            .map(|l| match l {
                LayerJson::Conv2d(c) => {
                    let (g, a) = conv_from(c);
                    F32Layer::Conv2d(g, a)
                }
                LayerJson::DepthwiseConv2d(c) => {
                    let (g, a) = conv_from(c);
                    F32Layer::DepthwiseConv2d(g, a)
                }
                LayerJson::MaxPool(p) => F32Layer::MaxPool(pool_from(p)),
                LayerJson::AvgPool(p) => F32Layer::AvgPool(pool_from(p)),
                LayerJson::GlobalAvgPool => F32Layer::GlobalAvgPool,
                LayerJson::Dense {
                    out,
                    relu,
                    weights,
                    bias,
                } => F32Layer::Dense(F32Affine {
                    out_c: out,
                    relu,
                    weights,
                    bias,
                }),
            })
            .collect(),
    };
    model.shapes().map_err(|source| F32ModelError::Invalid {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(model)
}

/// The JSON text of an f32 model.
pub fn to_json(model: &F32Model) -> String {
    let file = File {
        format: FORMAT.to_string(),
        version: VERSION,
        input_h: model.input_h,
        input_w: model.input_w,
        n_classes: model.n_classes,
        inputs: model
            .inputs
            .iter()
            .map(|i| InputJson {
                kind: match i.kind {
                    InputKind::Absolute => KindJson::Absolute,
                    InputKind::MinusMean => KindJson::MinusMean,
                },
                offset_c: i.offset_c,
                scale: i.scale,
                clip_c: i.clip_c.map(|(lo, hi)| [lo, hi]),
            })
            .collect(),
        layers: model
            .layers
            .iter()
            .map(|l| match l {
                F32Layer::Conv2d(g, a) => LayerJson::Conv2d(conv_to(g, a)),
                F32Layer::DepthwiseConv2d(g, a) => LayerJson::DepthwiseConv2d(conv_to(g, a)),
                F32Layer::MaxPool(g) => LayerJson::MaxPool(pool_to(g)),
                F32Layer::AvgPool(g) => LayerJson::AvgPool(pool_to(g)),
                F32Layer::GlobalAvgPool => LayerJson::GlobalAvgPool,
                F32Layer::Dense(a) => LayerJson::Dense {
                    out: a.out_c,
                    relu: a.relu,
                    weights: a.weights.clone(),
                    bias: a.bias.clone(),
                },
            })
            .collect(),
    };
    // Serialising plain numbers and strings cannot fail; an empty string would be caught on load.
    serde_json::to_string(&file).unwrap_or_default()
}

/// Reads an f32 model file.
pub fn load(path: &Path) -> Result<F32Model, F32ModelError> {
    let text = std::fs::read_to_string(path).map_err(|source| F32ModelError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    from_json(path, &text)
}
