//! Writing the model format (host only): an owned description of a quantized model and its
//! encoder. [`encode`] validates its output with [`Model::parse`], so it never writes a file
//! the engine would refuse.

use crate::crc::crc32;
use crate::fixed::{QuantMultiplier, MAX_SHIFT, MIN_SHIFT};
use crate::format::{
    affine_flags, Affine, ConvGeom, InputChannel, Layer, Model, ModelError, PoolGeom, Weights,
    FORMAT_VERSION, MAGIC, SOFTMAX_ONE,
};

/// An owned quantized model, ready to encode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuantModel {
    /// Frame rows.
    pub input_h: u16,
    /// Frame columns.
    pub input_w: u16,
    /// Zero point shared by the input channels.
    pub input_zero_point: i8,
    /// How each input channel is derived from the frame.
    pub inputs: Vec<InputChannel>,
    /// Number of classes.
    pub n_classes: u8,
    /// `round(2^15 · exp(−S_out · d))`, see [`softmax_table`].
    pub softmax_table: Vec<u16>,
    /// The layers in order.
    pub layers: Vec<QLayer>,
}

/// Weights of a quantized layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QWeights {
    /// One i8 per weight.
    Plain(Vec<i8>),
    /// One codebook index per weight (unpacked here, packed in the file).
    Codebook {
        /// Index width: 1, 2, 4 or 8.
        bits: u8,
        /// `2^bits` values (unused entries may be anything).
        codebook: Vec<i8>,
        /// One index per weight.
        indices: Vec<u8>,
    },
}

impl QWeights {
    /// The i8 weights as the engine sees them.
    pub fn values(&self) -> Vec<i8> {
        match self {
            QWeights::Plain(w) => w.clone(),
            QWeights::Codebook {
                codebook, indices, ..
            } => indices
                .iter()
                .map(|&i| codebook.get(usize::from(i)).copied().unwrap_or(0))
                .collect(),
        }
    }
}

/// Parameters of a quantized convolution or dense layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QAffine {
    /// Output channels.
    pub out_c: u16,
    /// ReLU fused.
    pub relu: bool,
    /// Output zero point.
    pub out_zero_point: i8,
    /// Weights.
    pub weights: QWeights,
    /// Bias in accumulator units.
    pub bias: Vec<i32>,
    /// One multiplier (per tensor) or one per output channel.
    pub requant: Vec<QuantMultiplier>,
}

/// A quantized layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QLayer {
    /// Regular convolution.
    Conv2d(ConvGeom, QAffine),
    /// Depthwise convolution.
    DepthwiseConv2d(ConvGeom, QAffine),
    /// Max pooling.
    MaxPool(PoolGeom),
    /// Average pooling.
    AvgPool(PoolGeom),
    /// Global average pooling.
    GlobalAvgPool,
    /// Fully connected.
    Dense(QAffine),
}

/// Why a model could not be encoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// A count does not fit its field.
    #[error("{what} does not fit the model format")]
    TooLarge {
        /// What is too large.
        what: &'static str,
    },
    /// The encoded bytes do not parse (an inconsistent description).
    #[error("the encoded model is invalid: {0}")]
    Invalid(#[from] ModelError),
}

impl QuantMultiplier {
    /// The nearest multiplier for a positive real factor, `None` when it is out of range
    /// (above `2^30`) or not finite. Factors below `2^-32` become [`QuantMultiplier::ZERO`].
    pub fn from_real(real: f64) -> Option<Self> {
        if !real.is_finite() || real < 0.0 {
            return None;
        }
        if real == 0.0 {
            return Some(Self::ZERO);
        }
        let mut exp = real.log2().floor() as i32 + 1;
        let mut q = (real / 2f64.powi(exp) * 2f64.powi(31)).round() as i64;
        // Fix the rare case where log2 rounding put the mantissa outside [2^30, 2^31].
        while q < (1 << 30) {
            exp -= 1;
            q = (real / 2f64.powi(exp) * 2f64.powi(31)).round() as i64;
        }
        while q > (1i64 << 31) {
            exp += 1;
            q = (real / 2f64.powi(exp) * 2f64.powi(31)).round() as i64;
        }
        if q == 1i64 << 31 {
            q /= 2;
            exp += 1;
        }
        if exp > i32::from(MAX_SHIFT) {
            return None;
        }
        if exp < i32::from(MIN_SHIFT) {
            return Some(Self::ZERO);
        }
        Some(Self {
            multiplier: q as i32,
            shift: exp as i8,
        })
    }

    /// The real factor this multiplier stands for.
    pub fn to_real(self) -> f64 {
        f64::from(self.multiplier) / 2f64.powi(31) * 2f64.powi(i32::from(self.shift))
    }
}

/// The softmax table for logits of scale `s_out`: `round(2^15 · exp(−s_out · d))` for
/// `d = 0, 1, …` up to (not including) the first zero, at most 256 entries.
pub fn softmax_table(s_out: f64) -> Vec<u16> {
    let mut t = vec![SOFTMAX_ONE];
    for d in 1..256 {
        let v = (f64::from(SOFTMAX_ONE) * (-s_out * f64::from(d)).exp()).round();
        if v.is_nan() || v < 1.0 {
            break;
        }
        t.push(v.min(f64::from(SOFTMAX_ONE)) as u16);
    }
    t
}

struct Writer(Vec<u8>);

impl Writer {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn i8(&mut self, v: i8) {
        self.0.push(v as u8);
    }
    fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn i32(&mut self, v: i32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
}

fn small<T: TryFrom<usize>>(n: usize, what: &'static str) -> Result<T, EncodeError> {
    T::try_from(n).map_err(|_| EncodeError::TooLarge { what })
}

/// Encodes a model and checks that the engine accepts it.
pub fn encode(m: &QuantModel) -> Result<Vec<u8>, EncodeError> {
    let mut w = Writer(Vec::with_capacity(4096));
    w.0.extend_from_slice(&MAGIC);
    w.u16(FORMAT_VERSION);
    w.u16(0);
    w.u32(0); // total length, patched below
    w.u16(m.input_h);
    w.u16(m.input_w);
    w.u8(small(m.inputs.len(), "input channel count")?);
    w.u8(small(m.layers.len(), "layer count")?);
    w.u8(m.n_classes);
    w.i8(m.input_zero_point);
    for input in &m.inputs {
        w.u8(input.kind.code());
        w.u8(0);
        w.i8(input.requant.shift);
        w.u8(0);
        w.i32(input.requant.multiplier);
        w.i32(input.offset_centi);
    }
    w.u16(small(m.softmax_table.len(), "softmax table")?);
    for &v in &m.softmax_table {
        w.u16(v);
    }
    for layer in &m.layers {
        match layer {
            QLayer::Conv2d(g, a) | QLayer::DepthwiseConv2d(g, a) => {
                w.u8(if matches!(layer, QLayer::Conv2d(..)) {
                    1
                } else {
                    2
                });
                w.u8(flags(a));
                w.u16(0);
                w.u16(a.out_c);
                for v in [g.kh, g.kw, g.stride_h, g.stride_w, g.pad_h, g.pad_w] {
                    w.u8(v);
                }
                w.i8(a.out_zero_point);
                w.0.extend_from_slice(&[0, 0, 0]);
                write_affine(&mut w, a)?;
            }
            QLayer::MaxPool(g) | QLayer::AvgPool(g) => {
                w.u8(if matches!(layer, QLayer::MaxPool(_)) {
                    3
                } else {
                    4
                });
                w.u8(0);
                w.u16(0);
                for v in [g.kh, g.kw, g.stride_h, g.stride_w] {
                    w.u8(v);
                }
            }
            QLayer::GlobalAvgPool => {
                w.u8(5);
                w.u8(0);
                w.u16(0);
            }
            QLayer::Dense(a) => {
                w.u8(6);
                w.u8(flags(a));
                w.u16(0);
                w.u16(a.out_c);
                w.i8(a.out_zero_point);
                w.u8(0);
                write_affine(&mut w, a)?;
            }
        }
    }
    let total: u32 = small(w.0.len() + 4, "model size")?;
    w.0[8..12].copy_from_slice(&total.to_le_bytes());
    let crc = crc32(&w.0);
    w.u32(crc);
    Model::parse(&w.0)?;
    Ok(w.0)
}

fn flags(a: &QAffine) -> u8 {
    affine_flags(
        a.relu,
        a.requant.len() > 1,
        matches!(a.weights, QWeights::Codebook { .. }),
    )
}

fn write_affine(w: &mut Writer, a: &QAffine) -> Result<(), EncodeError> {
    match &a.weights {
        QWeights::Plain(values) => {
            for &v in values {
                w.i8(v);
            }
        }
        QWeights::Codebook {
            bits,
            codebook,
            indices,
        } => {
            let bits = *bits;
            if !matches!(bits, 1 | 2 | 4 | 8) {
                return Err(EncodeError::TooLarge {
                    what: "codebook width",
                });
            }
            w.u8(bits);
            w.0.extend_from_slice(&[0, 0, 0]);
            let n_codes = 1usize << bits;
            if codebook.len() > n_codes || indices.iter().any(|&i| usize::from(i) >= n_codes) {
                return Err(EncodeError::TooLarge {
                    what: "codebook index",
                });
            }
            for i in 0..n_codes {
                w.i8(codebook.get(i).copied().unwrap_or(0));
            }
            let mut packed = vec![0u8; (indices.len() * usize::from(bits)).div_ceil(8)];
            for (i, &idx) in indices.iter().enumerate() {
                let bit = i * usize::from(bits);
                packed[bit / 8] |= idx << (bit % 8);
            }
            w.0.extend_from_slice(&packed);
        }
    }
    for &b in &a.bias {
        w.i32(b);
    }
    for q in &a.requant {
        w.i32(q.multiplier);
    }
    for q in &a.requant {
        w.i8(q.shift);
    }
    Ok(())
}

impl QuantModel {
    /// The owned description of a parsed model (`encode(&QuantModel::from_model(&m))`
    /// reproduces the bytes of `m`).
    pub fn from_model(m: &Model<'_>) -> Self {
        let layers = m
            .layers()
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let w_count = |a: &Affine<'_>| match l {
                    Layer::Dense(_) => {
                        usize::from(a.out_c) * m.tensor_shape(i).map_or(0, |s| s.len())
                    }
                    Layer::Conv2d(g, _) => {
                        usize::from(a.out_c)
                            * usize::from(g.kh)
                            * usize::from(g.kw)
                            * m.tensor_shape(i).map_or(0, |s| s.c)
                    }
                    Layer::DepthwiseConv2d(g, _) => {
                        usize::from(a.out_c) * usize::from(g.kh) * usize::from(g.kw)
                    }
                    _ => 0,
                };
                let affine = |a: &Affine<'_>| QAffine {
                    out_c: a.out_c,
                    relu: a.relu,
                    out_zero_point: a.out_zero_point,
                    weights: match a.weights {
                        Weights::Plain(w) => QWeights::Plain(w.iter().map(|&b| b as i8).collect()),
                        Weights::Codebook {
                            bits,
                            codebook,
                            indices,
                        } => QWeights::Codebook {
                            bits,
                            codebook: codebook.iter().map(|&b| b as i8).collect(),
                            indices: (0..w_count(a))
                                .map(|i| {
                                    let bit = i * usize::from(bits);
                                    (indices[bit / 8] >> (bit % 8)) & (((1u16 << bits) - 1) as u8)
                                })
                                .collect(),
                        },
                    },
                    bias: (0..a.bias.len()).map(|i| a.bias.get(i)).collect(),
                    requant: (0..a.requant.len()).map(|i| a.requant.get(i)).collect(),
                };
                match l {
                    Layer::Conv2d(g, a) => QLayer::Conv2d(*g, affine(a)),
                    Layer::DepthwiseConv2d(g, a) => QLayer::DepthwiseConv2d(*g, affine(a)),
                    Layer::MaxPool(g) => QLayer::MaxPool(*g),
                    Layer::AvgPool(g) => QLayer::AvgPool(*g),
                    Layer::GlobalAvgPool => QLayer::GlobalAvgPool,
                    Layer::Dense(a) => QLayer::Dense(affine(a)),
                }
            })
            .collect();
        let shape = m.input_shape();
        QuantModel {
            input_h: shape.h as u16,
            input_w: shape.w as u16,
            input_zero_point: m.input_zero_point(),
            inputs: m.input_channels().to_vec(),
            n_classes: m.n_classes() as u8,
            softmax_table: (0..m.softmax_table_len())
                .map(|d| m.softmax_entry(d))
                .collect(),
            layers,
        }
    }
}
