//! The versioned binary model format, parsed in place from a byte slice (no allocation).
//!
//! All integers are little-endian. Layout of format version 1:
//!
//! | field | type | notes |
//! |---|---|---|
//! | magic | `[u8; 4]` | `VGI8` |
//! | version | u16 | [`FORMAT_VERSION`] |
//! | flags | u16 | must be 0 |
//! | total length | u32 | whole file, checksum included |
//! | input h, w | u16, u16 | e.g. 24, 32 |
//! | input channels | u8 | 1..=[`MAX_INPUT_CHANNELS`] |
//! | layers | u8 | 1..=[`MAX_LAYERS`] |
//! | classes | u8 | 2..=[`MAX_CLASSES`] |
//! | input zero point | i8 | shared by all input channels |
//! | per input channel | 12 bytes | kind u8 (0 absolute, 1 minus frame mean), reserved u8, shift i8, reserved u8, multiplier i32, offset i32 (centi-°C) |
//! | softmax table length | u16 | 1..=256 |
//! | softmax table | u16 × len | `round(2^15 · exp(−S_out · d))` for logit distance `d` |
//! | layers | … | see below |
//! | CRC-32 | u32 | CRC-32/ISO-HDLC of every byte before it |
//!
//! Each layer starts with `kind u8, flags u8, reserved u16` (flags: bit 0 ReLU, bit 1 per-channel
//! requantization, bit 2 codebook weights). Then, by kind:
//!
//! - 1 conv2d: `out_c u16, kh u8, kw u8, stride_h u8, stride_w u8, pad_h u8, pad_w u8,
//!   out_zero_point i8, reserved [u8; 3]`, weights (`[out_c][kh][kw][in_c]`), bias (i32 × out_c),
//!   requantization.
//! - 2 depthwise conv2d: as conv2d with `out_c` equal to the input channels; weights `[kh][kw][c]`.
//! - 3 max pool, 4 average pool: `kh u8, kw u8, stride_h u8, stride_w u8` (no padding).
//! - 5 global average pool: nothing.
//! - 6 dense: `out u16, out_zero_point i8, reserved u8`, weights (`[out][in]`, input flattened
//!   in HWC order), bias (i32 × out), requantization.
//!
//! Weights are either `n` i8 bytes, or with the codebook flag `bits u8` (1, 2, 4 or 8),
//! reserved `[u8; 3]`, the codebook (`2^bits` i8 values) and the indices packed least
//! significant bits first. Requantization is `n` i32 multipliers then `n` i8 shifts, where `n`
//! is the channel count with the per-channel flag and 1 without.

use crate::crc::crc32;
use crate::fixed::QuantMultiplier;
use crate::shape::{conv_out, pool_out, Shape};

/// The four bytes every model starts with.
pub const MAGIC: [u8; 4] = *b"VGI8";
/// The only format version this build reads and writes.
pub const FORMAT_VERSION: u16 = 1;
/// Most layers a model may have.
pub const MAX_LAYERS: usize = 16;
/// Most classes a model may have.
pub const MAX_CLASSES: usize = 8;
/// Most input channels a model may derive from a frame.
pub const MAX_INPUT_CHANNELS: usize = 4;
/// Fixed-point one of the softmax table (`2^15`).
pub const SOFTMAX_ONE: u16 = 1 << 15;

/// Largest possible `|x − zero_point|` times largest `|w|` for int8 operands.
const MAX_TERM: i64 = 255 * 128;

/// Why a byte slice is not a usable model. Every variant says what to fix.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// The file ends before its declared length (a partial copy or download): copy it again.
    #[error("model is truncated: {found} bytes, expected {needed}")]
    Truncated {
        /// Bytes the header says (or the minimum header size).
        needed: usize,
        /// Bytes present.
        found: usize,
    },
    /// The file is longer than its header declares: it is not a single vigil model.
    #[error("model has {found} bytes but its header declares {declared}")]
    TrailingBytes {
        /// Declared length.
        declared: usize,
        /// Bytes present.
        found: usize,
    },
    /// Not a vigil int8 model (wrong file?).
    #[error("not a vigil int8 model: magic {found:02x?}, expected \"VGI8\"")]
    BadMagic {
        /// The first four bytes.
        found: [u8; 4],
    },
    /// Written by another format version: re-run `vigil quantize` with this build.
    #[error(
        "model format version {found} is not supported (this build reads version {supported})"
    )]
    UnsupportedVersion {
        /// Version in the file.
        found: u16,
        /// Version this build reads.
        supported: u16,
    },
    /// Header flags this build does not know.
    #[error("model header flags {flags:#06x} are not supported")]
    UnsupportedFlags {
        /// Flags in the file.
        flags: u16,
    },
    /// The content does not match its checksum (corrupted file).
    #[error("model checksum mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    BadChecksum {
        /// CRC-32 stored in the file.
        stored: u32,
        /// CRC-32 of the content.
        computed: u32,
    },
    /// The layout runs past the end or has an impossible value at `offset`.
    #[error("malformed model at byte {offset}: {what}")]
    Malformed {
        /// Byte offset of the bad field.
        offset: usize,
        /// What is wrong.
        what: &'static str,
    },
    /// A layer kind this build does not implement.
    #[error("layer {layer}: unknown kind {kind}")]
    UnknownLayerKind {
        /// Layer index.
        layer: u8,
        /// Kind byte.
        kind: u8,
    },
    /// A layer does not fit its input (shapes, weight counts, overflow risk).
    #[error("layer {layer}: {what}")]
    BadLayer {
        /// Layer index.
        layer: u8,
        /// What is wrong.
        what: &'static str,
    },
    /// A requantization multiplier outside the supported range.
    #[error("layer {layer}: multiplier {multiplier} with shift {shift} is out of range")]
    BadMultiplier {
        /// Layer index (255 for the input channels).
        layer: u8,
        /// Q31 mantissa.
        multiplier: i32,
        /// Shift.
        shift: i8,
    },
    /// The last layer does not produce one logit per class.
    #[error("the last layer produces {produced} values for {declared} classes")]
    ClassCountMismatch {
        /// Classes in the header.
        declared: usize,
        /// Values the last layer produces.
        produced: usize,
    },
}

/// How an input channel is derived from the frame (centi-°C).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InputKind {
    /// `v = x − offset`.
    Absolute,
    /// `v = x − mean(frame) − offset`, the mean rounded half away from zero.
    MinusMean,
}

impl InputKind {
    /// The format code.
    pub fn code(self) -> u8 {
        match self {
            InputKind::Absolute => 0,
            InputKind::MinusMean => 1,
        }
    }

    /// From the format code.
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(InputKind::Absolute),
            1 => Some(InputKind::MinusMean),
            _ => None,
        }
    }
}

/// One input channel: `q = clamp(zero_point + requant(v))` with `v` per [`InputKind`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputChannel {
    /// How `v` is derived.
    pub kind: InputKind,
    /// centi-°C subtracted before scaling.
    pub offset_centi: i32,
    /// centi-°C → input quantization steps.
    pub requant: QuantMultiplier,
}

/// Kernel, stride and padding of a convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConvGeom {
    /// Kernel height.
    pub kh: u8,
    /// Kernel width.
    pub kw: u8,
    /// Vertical stride.
    pub stride_h: u8,
    /// Horizontal stride.
    pub stride_w: u8,
    /// Zero padding rows above and below.
    pub pad_h: u8,
    /// Zero padding columns left and right.
    pub pad_w: u8,
}

/// Window and stride of a pooling layer (no padding).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PoolGeom {
    /// Window height.
    pub kh: u8,
    /// Window width.
    pub kw: u8,
    /// Vertical stride.
    pub stride_h: u8,
    /// Horizontal stride.
    pub stride_w: u8,
}

impl ConvGeom {
    /// A square `k`×`k` kernel with the same `stride` and `pad` on both axes.
    pub const fn square(k: u8, stride: u8, pad: u8) -> Self {
        ConvGeom {
            kh: k,
            kw: k,
            stride_h: stride,
            stride_w: stride,
            pad_h: pad,
            pad_w: pad,
        }
    }
}

impl PoolGeom {
    /// A square `k`×`k` window with the same `stride` on both axes.
    pub const fn square(k: u8, stride: u8) -> Self {
        PoolGeom {
            kh: k,
            kw: k,
            stride_h: stride,
            stride_w: stride,
        }
    }
}

/// A layer's int8 weights, borrowed from the model bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Weights<'a> {
    /// One i8 per weight.
    Plain(&'a [u8]),
    /// `bits`-bit indices into a codebook of `2^bits` i8 values (k-means clustering).
    Codebook {
        /// Index width: 1, 2, 4 or 8.
        bits: u8,
        /// `2^bits` i8 values.
        codebook: &'a [u8],
        /// Packed indices, least significant bits first.
        indices: &'a [u8],
    },
}

impl Weights<'_> {
    /// Weight `i` (the caller keeps `i` below the layer's weight count).
    #[inline]
    pub fn get(&self, i: usize) -> i8 {
        match *self {
            Weights::Plain(w) => w.get(i).map_or(0, |&b| b as i8),
            Weights::Codebook {
                bits,
                codebook,
                indices,
            } => {
                let bit = i * usize::from(bits);
                let byte = indices.get(bit / 8).copied().unwrap_or(0);
                let mask = ((1u16 << bits) - 1) as u8;
                let index = (byte >> (bit % 8)) & mask;
                codebook.get(usize::from(index)).map_or(0, |&b| b as i8)
            }
        }
    }

    /// Bytes the weights take in the file (codebook included).
    pub fn stored_len(&self) -> usize {
        match *self {
            Weights::Plain(w) => w.len(),
            Weights::Codebook {
                codebook, indices, ..
            } => 4 + codebook.len() + indices.len(),
        }
    }
}

/// Little-endian i32 values borrowed from the model bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct I32s<'a>(&'a [u8]);

impl I32s<'_> {
    /// Value `i` (0 past the end; lengths are checked at parse time).
    #[inline]
    pub fn get(&self, i: usize) -> i32 {
        match self.0.get(i * 4..i * 4 + 4) {
            Some(b) => i32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            None => 0,
        }
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.0.len() / 4
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Per-tensor or per-channel requantization multipliers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Requant<'a> {
    multipliers: I32s<'a>,
    shifts: &'a [u8],
}

impl Requant<'_> {
    /// The multiplier for output channel `ch` (the single one when per-tensor).
    #[inline]
    pub fn get(&self, ch: usize) -> QuantMultiplier {
        let i = if self.shifts.len() == 1 { 0 } else { ch };
        QuantMultiplier {
            multiplier: self.multipliers.get(i),
            shift: self.shifts.get(i).map_or(0, |&s| s as i8),
        }
    }

    /// Whether there is one multiplier per output channel.
    pub fn per_channel(&self) -> bool {
        self.shifts.len() > 1
    }

    /// Number of multipliers stored.
    pub fn len(&self) -> usize {
        self.shifts.len()
    }

    /// Whether none are stored (never true for a parsed model).
    pub fn is_empty(&self) -> bool {
        self.shifts.is_empty()
    }
}

/// A convolution (regular or depthwise) or dense layer's parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Affine<'a> {
    /// Output channels (or outputs of a dense layer).
    pub out_c: u16,
    /// ReLU fused into the requantization clamp.
    pub relu: bool,
    /// Zero point of the output tensor.
    pub out_zero_point: i8,
    /// Weights.
    pub weights: Weights<'a>,
    /// Bias in accumulator units (`S_in · S_w`).
    pub bias: I32s<'a>,
    /// Accumulator → output multipliers.
    pub requant: Requant<'a>,
}

/// One layer of a parsed model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layer<'a> {
    /// Regular convolution.
    Conv2d(ConvGeom, Affine<'a>),
    /// Depthwise convolution (one filter per channel).
    DepthwiseConv2d(ConvGeom, Affine<'a>),
    /// Max pooling.
    MaxPool(PoolGeom),
    /// Average pooling (rounded half away from zero).
    AvgPool(PoolGeom),
    /// Average over the whole plane per channel.
    GlobalAvgPool,
    /// Fully connected.
    Dense(Affine<'a>),
}

impl Layer<'_> {
    /// Short name, for reports.
    pub fn name(&self) -> &'static str {
        match self {
            Layer::Conv2d(..) => "conv2d",
            Layer::DepthwiseConv2d(..) => "depthwise_conv2d",
            Layer::MaxPool(_) => "max_pool",
            Layer::AvgPool(_) => "avg_pool",
            Layer::GlobalAvgPool => "global_avg_pool",
            Layer::Dense(_) => "dense",
        }
    }

    /// The layer's parameters when it has weights.
    pub fn affine(&self) -> Option<&Affine<'_>> {
        match self {
            Layer::Conv2d(_, a) | Layer::DepthwiseConv2d(_, a) | Layer::Dense(a) => Some(a),
            _ => None,
        }
    }
}

/// A parsed, validated model borrowing its bytes.
#[derive(Clone, Copy, Debug)]
pub struct Model<'a> {
    pub(crate) input_shape: Shape,
    pub(crate) input_zero_point: i8,
    pub(crate) inputs: [InputChannel; MAX_INPUT_CHANNELS],
    pub(crate) softmax: &'a [u8],
    pub(crate) layers: [Layer<'a>; MAX_LAYERS],
    pub(crate) n_layers: usize,
    /// Shape of tensor `i` (0 = input, `i + 1` = output of layer `i`).
    pub(crate) shapes: [Shape; MAX_LAYERS + 1],
    /// Zero point of tensor `i`.
    pub(crate) zero_points: [i8; MAX_LAYERS + 1],
    pub(crate) n_classes: usize,
    pub(crate) max_tensor: usize,
    pub(crate) len: usize,
    pub(crate) checksum: u32,
}

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], ModelError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        match end {
            Some(end) => {
                let s = &self.bytes[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => Err(ModelError::Malformed {
                offset: self.pos,
                what,
            }),
        }
    }
    fn u8(&mut self, what: &'static str) -> Result<u8, ModelError> {
        Ok(self.take(1, what)?[0])
    }
    fn i8(&mut self, what: &'static str) -> Result<i8, ModelError> {
        Ok(self.u8(what)? as i8)
    }
    fn u16(&mut self, what: &'static str) -> Result<u16, ModelError> {
        let b = self.take(2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn i32(&mut self, what: &'static str) -> Result<i32, ModelError> {
        let b = self.take(4, what)?;
        Ok(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u32(&mut self, what: &'static str) -> Result<u32, ModelError> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn reserved(&mut self, n: usize) -> Result<(), ModelError> {
        let at = self.pos;
        if self.take(n, "reserved bytes")?.iter().any(|&b| b != 0) {
            return Err(ModelError::Malformed {
                offset: at,
                what: "reserved bytes must be zero",
            });
        }
        Ok(())
    }
}

/// Bytes of the fixed header (through the zero point).
const HEADER_LEN: usize = 20;

const FLAG_RELU: u8 = 1;
const FLAG_PER_CHANNEL: u8 = 2;
const FLAG_CODEBOOK: u8 = 4;

impl<'a> Model<'a> {
    /// Parses and validates a model: magic, version, length, checksum, then every layer
    /// against the shape it receives. Nothing is copied.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, ModelError> {
        if bytes.len() < HEADER_LEN + 4 {
            if bytes.len() >= 4 && bytes[..4] != MAGIC {
                return Err(ModelError::BadMagic {
                    found: [bytes[0], bytes[1], bytes[2], bytes[3]],
                });
            }
            return Err(ModelError::Truncated {
                needed: HEADER_LEN + 4,
                found: bytes.len(),
            });
        }
        let mut c = Cursor { bytes, pos: 0 };
        let magic = c.take(4, "magic")?;
        if magic != MAGIC {
            return Err(ModelError::BadMagic {
                found: [magic[0], magic[1], magic[2], magic[3]],
            });
        }
        let version = c.u16("version")?;
        if version != FORMAT_VERSION {
            return Err(ModelError::UnsupportedVersion {
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        let flags = c.u16("flags")?;
        if flags != 0 {
            return Err(ModelError::UnsupportedFlags { flags });
        }
        let total = c.u32("total length")? as usize;
        if bytes.len() < total {
            return Err(ModelError::Truncated {
                needed: total,
                found: bytes.len(),
            });
        }
        if bytes.len() > total {
            return Err(ModelError::TrailingBytes {
                declared: total,
                found: bytes.len(),
            });
        }
        if total < HEADER_LEN + 4 {
            return Err(ModelError::Malformed {
                offset: 8,
                what: "declared length is shorter than the header",
            });
        }
        let body = &bytes[..total - 4];
        let tail = &bytes[total - 4..];
        let stored = u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]);
        let computed = crc32(body);
        if stored != computed {
            return Err(ModelError::BadChecksum { stored, computed });
        }
        let mut c = Cursor {
            bytes: body,
            pos: c.pos,
        };
        let h = c.u16("input height")?;
        let w = c.u16("input width")?;
        let in_c = c.u8("input channels")?;
        let n_layers = c.u8("layer count")?;
        let n_classes = c.u8("class count")?;
        let input_zero_point = c.i8("input zero point")?;
        if h == 0 || w == 0 {
            return Err(ModelError::Malformed {
                offset: 12,
                what: "input height and width must be positive",
            });
        }
        if in_c == 0 || usize::from(in_c) > MAX_INPUT_CHANNELS {
            return Err(ModelError::Malformed {
                offset: 16,
                what: "input channels must be 1..=4",
            });
        }
        if n_layers == 0 || usize::from(n_layers) > MAX_LAYERS {
            return Err(ModelError::Malformed {
                offset: 17,
                what: "layer count must be 1..=16",
            });
        }
        if n_classes < 2 || usize::from(n_classes) > MAX_CLASSES {
            return Err(ModelError::Malformed {
                offset: 18,
                what: "class count must be 2..=8",
            });
        }
        let mut inputs = [InputChannel {
            kind: InputKind::Absolute,
            offset_centi: 0,
            requant: QuantMultiplier::ZERO,
        }; MAX_INPUT_CHANNELS];
        for slot in inputs.iter_mut().take(usize::from(in_c)) {
            let at = c.pos;
            let kind = InputKind::from_code(c.u8("input kind")?).ok_or(ModelError::Malformed {
                offset: at,
                what: "unknown input channel kind",
            })?;
            c.reserved(1)?;
            let shift = c.i8("input shift")?;
            c.reserved(1)?;
            let multiplier = c.i32("input multiplier")?;
            let offset_centi = c.i32("input offset")?;
            let requant = QuantMultiplier { multiplier, shift };
            if !requant.is_valid() {
                return Err(ModelError::BadMultiplier {
                    layer: 255,
                    multiplier,
                    shift,
                });
            }
            *slot = InputChannel {
                kind,
                offset_centi,
                requant,
            };
        }
        let at = c.pos;
        let table_len = usize::from(c.u16("softmax table length")?);
        if table_len == 0 || table_len > 256 {
            return Err(ModelError::Malformed {
                offset: at,
                what: "softmax table length must be 1..=256",
            });
        }
        let softmax = c.take(table_len * 2, "softmax table")?;
        let mut prev = u16::MAX;
        for (i, pair) in softmax.chunks_exact(2).enumerate() {
            let v = u16::from_le_bytes([pair[0], pair[1]]);
            if (i == 0 && v != SOFTMAX_ONE) || v > prev {
                return Err(ModelError::Malformed {
                    offset: at + 2 + 2 * i,
                    what: "softmax table must start at 32768 and never increase",
                });
            }
            prev = v;
        }

        let mut shapes = [Shape { h: 0, w: 0, c: 0 }; MAX_LAYERS + 1];
        let mut zero_points = [0i8; MAX_LAYERS + 1];
        shapes[0] = Shape {
            h: usize::from(h),
            w: usize::from(w),
            c: usize::from(in_c),
        };
        zero_points[0] = input_zero_point;
        let mut max_tensor = shapes[0].len();
        let mut layers = [Layer::GlobalAvgPool; MAX_LAYERS];
        for i in 0..usize::from(n_layers) {
            let index = i as u8;
            let input = shapes[i];
            let (layer, out, zp) = parse_layer(&mut c, index, input, zero_points[i])?;
            layers[i] = layer;
            shapes[i + 1] = out;
            zero_points[i + 1] = zp;
            max_tensor = max_tensor.max(out.len());
        }
        if c.pos != body.len() {
            return Err(ModelError::Malformed {
                offset: c.pos,
                what: "bytes left after the last layer",
            });
        }
        let last = shapes[usize::from(n_layers)].len();
        if last != usize::from(n_classes) {
            return Err(ModelError::ClassCountMismatch {
                declared: usize::from(n_classes),
                produced: last,
            });
        }
        Ok(Model {
            input_shape: shapes[0],
            input_zero_point,
            inputs,
            softmax,
            layers,
            n_layers: usize::from(n_layers),
            shapes,
            zero_points,
            n_classes: usize::from(n_classes),
            max_tensor,
            len: total,
            checksum: computed,
        })
    }

    /// Shape of the input tensor (frame height, width, derived channels).
    pub fn input_shape(&self) -> Shape {
        self.input_shape
    }

    /// Zero point of the input tensor.
    pub fn input_zero_point(&self) -> i8 {
        self.input_zero_point
    }

    /// The input channels derived from each frame.
    pub fn input_channels(&self) -> &[InputChannel] {
        &self.inputs[..self.input_shape.c]
    }

    /// The layers in order.
    pub fn layers(&self) -> &[Layer<'a>] {
        &self.layers[..self.n_layers]
    }

    /// Shape of tensor `i` (0 = input, `i + 1` = output of layer `i`).
    pub fn tensor_shape(&self, i: usize) -> Option<Shape> {
        (i <= self.n_layers).then(|| self.shapes[i])
    }

    /// Zero point of tensor `i` (0 = input, `i + 1` = output of layer `i`).
    pub fn tensor_zero_point(&self, i: usize) -> Option<i8> {
        (i <= self.n_layers).then(|| self.zero_points[i])
    }

    /// Number of classes (logits).
    pub fn n_classes(&self) -> usize {
        self.n_classes
    }

    /// Softmax table entry for logit distance `d` (0 past the end of the table).
    pub fn softmax_entry(&self, d: usize) -> u16 {
        match self.softmax.get(2 * d..2 * d + 2) {
            Some(b) => u16::from_le_bytes([b[0], b[1]]),
            None => 0,
        }
    }

    /// Number of entries in the softmax table.
    pub fn softmax_table_len(&self) -> usize {
        self.softmax.len() / 2
    }

    /// Bytes of scratch memory [`Model::infer`](crate::Model::infer) needs.
    pub fn arena_len(&self) -> usize {
        2 * self.max_tensor
    }

    /// Size of the model file in bytes.
    pub fn byte_len(&self) -> usize {
        self.len
    }

    /// The CRC-32 stored in (and verified against) the file.
    pub fn checksum(&self) -> u32 {
        self.checksum
    }

    /// Number of weights (parameters without biases) over all layers.
    pub fn weight_count(&self) -> usize {
        let mut n = 0;
        for (i, layer) in self.layers().iter().enumerate() {
            n += weight_count(layer, self.shapes[i], self.shapes[i + 1]);
        }
        n
    }
}

fn weight_count(layer: &Layer<'_>, input: Shape, out: Shape) -> usize {
    match layer {
        Layer::Conv2d(g, _) => out.c * usize::from(g.kh) * usize::from(g.kw) * input.c,
        Layer::DepthwiseConv2d(g, _) => out.c * usize::from(g.kh) * usize::from(g.kw),
        Layer::Dense(a) => usize::from(a.out_c) * input.len(),
        _ => 0,
    }
}

fn parse_layer<'a>(
    c: &mut Cursor<'a>,
    layer: u8,
    input: Shape,
    in_zp: i8,
) -> Result<(Layer<'a>, Shape, i8), ModelError> {
    let kind = c.u8("layer kind")?;
    let at = c.pos;
    let flags = c.u8("layer flags")?;
    c.reserved(2)?;
    let bad = |what| ModelError::BadLayer { layer, what };
    let has_params = matches!(kind, 1 | 2 | 6);
    if flags & !(FLAG_RELU | FLAG_PER_CHANNEL | FLAG_CODEBOOK) != 0 || (!has_params && flags != 0) {
        return Err(ModelError::Malformed {
            offset: at,
            what: "unknown or misplaced layer flags",
        });
    }
    match kind {
        1 | 2 => {
            let out_c = c.u16("conv output channels")?;
            let g = ConvGeom {
                kh: c.u8("kernel height")?,
                kw: c.u8("kernel width")?,
                stride_h: c.u8("stride")?,
                stride_w: c.u8("stride")?,
                pad_h: c.u8("padding")?,
                pad_w: c.u8("padding")?,
            };
            let out_zero_point = c.i8("output zero point")?;
            c.reserved(3)?;
            if kind == 2 && usize::from(out_c) != input.c {
                return Err(bad("depthwise output channels must equal input channels"));
            }
            if g.pad_h >= g.kh || g.pad_w >= g.kw {
                return Err(bad("padding must be smaller than the kernel"));
            }
            let out = conv_out(input, usize::from(out_c), g)
                .ok_or(bad("kernel, stride or channels do not fit the input"))?;
            let per_filter =
                usize::from(g.kh) * usize::from(g.kw) * if kind == 1 { input.c } else { 1 };
            let affine = parse_affine(c, layer, flags, out_c, out_zero_point, per_filter)?;
            let l = if kind == 1 {
                Layer::Conv2d(g, affine)
            } else {
                Layer::DepthwiseConv2d(g, affine)
            };
            Ok((l, out, out_zero_point))
        }
        3 | 4 => {
            let g = PoolGeom {
                kh: c.u8("window height")?,
                kw: c.u8("window width")?,
                stride_h: c.u8("stride")?,
                stride_w: c.u8("stride")?,
            };
            let out =
                pool_out(input, g).ok_or(bad("pool window or stride does not fit the input"))?;
            let l = if kind == 3 {
                Layer::MaxPool(g)
            } else {
                Layer::AvgPool(g)
            };
            Ok((l, out, in_zp))
        }
        5 => Ok((
            Layer::GlobalAvgPool,
            Shape {
                h: 1,
                w: 1,
                c: input.c,
            },
            in_zp,
        )),
        6 => {
            let out_c = c.u16("dense outputs")?;
            let out_zero_point = c.i8("output zero point")?;
            c.reserved(1)?;
            if out_c == 0 {
                return Err(bad("dense layer needs at least one output"));
            }
            let affine = parse_affine(c, layer, flags, out_c, out_zero_point, input.len())?;
            Ok((
                Layer::Dense(affine),
                Shape {
                    h: 1,
                    w: 1,
                    c: usize::from(out_c),
                },
                out_zero_point,
            ))
        }
        _ => Err(ModelError::UnknownLayerKind { layer, kind }),
    }
}

#[allow(clippy::too_many_arguments)]
fn parse_affine<'a>(
    c: &mut Cursor<'a>,
    layer: u8,
    flags: u8,
    out_c: u16,
    out_zero_point: i8,
    terms: usize,
) -> Result<Affine<'a>, ModelError> {
    // One weight per output channel and input term.
    let n_weights = usize::from(out_c) * terms;
    let weights = if flags & FLAG_CODEBOOK != 0 {
        let at = c.pos;
        let bits = c.u8("codebook bits")?;
        if !matches!(bits, 1 | 2 | 4 | 8) {
            return Err(ModelError::Malformed {
                offset: at,
                what: "codebook bits must be 1, 2, 4 or 8",
            });
        }
        c.reserved(3)?;
        let codebook = c.take(1 << bits, "codebook")?;
        let indices = c.take(
            (n_weights * usize::from(bits)).div_ceil(8),
            "codebook indices",
        )?;
        Weights::Codebook {
            bits,
            codebook,
            indices,
        }
    } else {
        Weights::Plain(c.take(n_weights, "weights")?)
    };
    let n = usize::from(out_c);
    let bias = I32s(c.take(4 * n, "bias")?);
    let nq = if flags & FLAG_PER_CHANNEL != 0 { n } else { 1 };
    let multipliers = I32s(c.take(4 * nq, "multipliers")?);
    let shifts = c.take(nq, "shifts")?;
    for (i, &shift) in shifts.iter().enumerate() {
        let q = QuantMultiplier {
            multiplier: multipliers.get(i),
            shift: shift as i8,
        };
        if !q.is_valid() {
            return Err(ModelError::BadMultiplier {
                layer,
                multiplier: q.multiplier,
                shift: q.shift,
            });
        }
    }
    let mut max_bias: i64 = 0;
    for i in 0..n {
        max_bias = max_bias.max(i64::from(bias.get(i)).abs());
    }
    if max_bias + MAX_TERM * terms as i64 > i64::from(i32::MAX) {
        return Err(ModelError::BadLayer {
            layer,
            what: "the int32 accumulator could overflow",
        });
    }
    Ok(Affine {
        out_c,
        relu: flags & FLAG_RELU != 0,
        out_zero_point,
        weights,
        bias,
        requant: Requant {
            multipliers,
            shifts,
        },
    })
}

/// Layer flags byte for a layer with parameters (used by the encoder).
#[cfg(feature = "std")]
pub(crate) fn affine_flags(relu: bool, per_channel: bool, codebook: bool) -> u8 {
    (if relu { FLAG_RELU } else { 0 })
        | (if per_channel { FLAG_PER_CHANNEL } else { 0 })
        | (if codebook { FLAG_CODEBOOK } else { 0 })
}
