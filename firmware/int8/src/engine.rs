//! Integer-only inference: input quantization, the layers, and the per-mille softmax.
//!
//! Every value is an `i8`, `i16` or `i32`; accumulators are `i32` (the parser rejects layers
//! whose accumulator could overflow), and requantization uses [`crate::fixed`]. The same
//! input therefore gives the same bits on the RP2040 and on the host.

use crate::fixed::{div_round, QuantMultiplier};
use crate::format::{
    Affine, ConvGeom, InputKind, Layer, Model, PoolGeom, Weights, MAX_CLASSES, MAX_INPUT_CHANNELS,
};
use crate::shape::Shape;

/// Why an inference could not run (the caller passed the wrong buffers).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    /// The frame does not have `h · w` readings.
    #[error("frame has {found} readings, the model expects {expected}")]
    FrameLength {
        /// Readings the model expects.
        expected: usize,
        /// Readings given.
        found: usize,
    },
    /// The scratch buffer is smaller than [`Model::arena_len`].
    #[error("arena has {found} bytes, the model needs {needed}")]
    ArenaTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes given.
        found: usize,
    },
}

/// The result of one inference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Inference {
    /// Index of the winning class (the lowest index among equal logits).
    pub class: usize,
    /// Confidence of the winning class in per mille (0–1000).
    pub confidence_permille: u16,
    n_classes: usize,
    logits: [i8; MAX_CLASSES],
    permille: [u16; MAX_CLASSES],
}

impl Inference {
    /// The int8 logits, one per class.
    pub fn logits(&self) -> &[i8] {
        &self.logits[..self.n_classes]
    }

    /// Per-mille confidence of every class (rounded, so the sum may be off by a few).
    pub fn permille(&self) -> &[u16] {
        &self.permille[..self.n_classes]
    }

    /// Builds the result from logits with the model's softmax table.
    pub fn from_logits(model: &Model<'_>, logits: &[i8]) -> Self {
        let n = logits.len().min(MAX_CLASSES);
        let mut out = Inference {
            class: 0,
            confidence_permille: 0,
            n_classes: n,
            logits: [0; MAX_CLASSES],
            permille: [0; MAX_CLASSES],
        };
        let mut best = i8::MIN;
        for (i, &q) in logits.iter().take(n).enumerate() {
            out.logits[i] = q;
            if i == 0 || q > best {
                best = q;
                out.class = i;
            }
        }
        let mut e = [0u32; MAX_CLASSES];
        let mut sum = 0u32;
        for (e, &q) in e.iter_mut().zip(&out.logits[..n]) {
            let d = (i32::from(best) - i32::from(q)) as usize;
            *e = u32::from(model.softmax_entry(d));
            sum += *e;
        }
        // The winner's entry is 2^15, so the sum is never zero.
        for (p, &e) in out.permille[..n].iter_mut().zip(&e) {
            *p = ((e * 1000 + sum / 2) / sum.max(1)) as u16;
        }
        out.confidence_permille = out.permille[out.class];
        out
    }
}

impl Model<'_> {
    /// Classifies one frame of centi-°C readings (row-major, `h · w` values).
    ///
    /// `arena` is scratch memory of at least [`Model::arena_len`] bytes (a static buffer on
    /// the Pico).
    ///
    /// A convolution followed directly by a max pool runs fused (see [`fusable_max_pool`]):
    /// only the pooled maxima are requantized, with the same bits.
    pub fn infer(&self, frame_centi: &[i16], arena: &mut [i8]) -> Result<Inference, RunError> {
        self.run(frame_centi, arena, true, |_, _, _| {})
    }

    /// As [`Model::infer`], calling `trace(i, shape, values)` with the input tensor (`i = 0`)
    /// and the output of every layer (`i = layer + 1`). Runs layer by layer (no conv → max
    /// pool fusion, so every tensor exists to be traced); the bits are the same.
    pub fn infer_traced(
        &self,
        frame_centi: &[i16],
        arena: &mut [i8],
        trace: impl FnMut(usize, Shape, &[i8]),
    ) -> Result<Inference, RunError> {
        self.run(frame_centi, arena, false, trace)
    }

    fn run(
        &self,
        frame_centi: &[i16],
        arena: &mut [i8],
        fuse: bool,
        mut trace: impl FnMut(usize, Shape, &[i8]),
    ) -> Result<Inference, RunError> {
        let needed = self.arena_len();
        if arena.len() < needed {
            return Err(RunError::ArenaTooSmall {
                needed,
                found: arena.len(),
            });
        }
        let half = self.max_tensor;
        let (a, rest) = arena.split_at_mut(half);
        let b = &mut rest[..half];
        let input = self.input_shape;
        self.quantize_input(frame_centi, &mut a[..input.len()])?;
        trace(0, input, &a[..input.len()]);
        let mut in_a = true;
        let layers = self.layers();
        let mut i = 0;
        while i < layers.len() {
            let pool = if fuse {
                fusable_max_pool(layers, i, self.shapes[i + 1])
            } else {
                None
            };
            let last = if pool.is_some() { i + 1 } else { i };
            let (src_shape, dst_shape) = (self.shapes[i], self.shapes[last + 1]);
            let in_zp = i32::from(self.zero_points[i]);
            let (src, dst) = if in_a {
                (&a[..], &mut b[..])
            } else {
                (&b[..], &mut a[..])
            };
            let src = &src[..src_shape.len()];
            let dst = &mut dst[..dst_shape.len()];
            match pool {
                Some(pg) => {
                    conv_max_pool(
                        &layers[i],
                        src,
                        src_shape,
                        in_zp,
                        self.shapes[i + 1],
                        &pg,
                        dst,
                        dst_shape,
                    );
                }
                None => run_layer(&layers[i], src, src_shape, in_zp, dst, dst_shape),
            }
            trace(last + 1, dst_shape, dst);
            in_a = !in_a;
            i = last + 1;
        }
        let out = if in_a {
            &a[..self.n_classes]
        } else {
            &b[..self.n_classes]
        };
        Ok(Inference::from_logits(self, out))
    }

    /// Quantizes a frame into the input tensor (HWC, `h · w · channels` values).
    pub fn quantize_input(&self, frame_centi: &[i16], out: &mut [i8]) -> Result<(), RunError> {
        let shape = self.input_shape;
        let pixels = shape.h * shape.w;
        if frame_centi.len() != pixels {
            return Err(RunError::FrameLength {
                expected: pixels,
                found: frame_centi.len(),
            });
        }
        if out.len() < shape.len() {
            return Err(RunError::ArenaTooSmall {
                needed: shape.len(),
                found: out.len(),
            });
        }
        let sum: i32 = frame_centi.iter().map(|&x| i32::from(x)).sum();
        let mean = div_round(sum, pixels as i32);
        let zp = i32::from(self.input_zero_point);
        let mut bases = [0i32; MAX_INPUT_CHANNELS];
        let mut requants = [QuantMultiplier::ZERO; MAX_INPUT_CHANNELS];
        for ((base, q), spec) in bases
            .iter_mut()
            .zip(&mut requants)
            .zip(self.input_channels())
        {
            *base = match spec.kind {
                InputKind::Absolute => spec.offset_centi,
                InputKind::MinusMean => spec.offset_centi.saturating_add(mean),
            };
            *q = spec.requant;
        }
        if shape.c == 2 {
            // The usual two channels: one pass, both values of a pixel from one reading.
            let (b0, b1, q0, q1) = (bases[0], bases[1], requants[0], requants[1]);
            for (px, &x) in out.chunks_exact_mut(2).zip(frame_centi) {
                let x = i32::from(x);
                px[0] = clamp_i8(q0.apply(x.saturating_sub(b0)).saturating_add(zp), -128);
                px[1] = clamp_i8(q1.apply(x.saturating_sub(b1)).saturating_add(zp), -128);
            }
            return Ok(());
        }
        let (bases, requants) = (&bases[..shape.c], &requants[..shape.c]);
        for (px, &x) in out.chunks_exact_mut(shape.c).zip(frame_centi) {
            for ((o, &base), &q) in px.iter_mut().zip(bases).zip(requants) {
                let v = i32::from(x).saturating_sub(base);
                *o = clamp_i8(q.apply(v).saturating_add(zp), -128);
            }
        }
        Ok(())
    }
}

#[inline]
fn clamp_i8(v: i32, lo: i32) -> i8 {
    v.clamp(lo, 127) as i8
}

#[inline]
fn requantize(acc: i32, q: QuantMultiplier, zp: i32, relu: bool) -> i8 {
    let lo = if relu { zp.max(-128) } else { -128 };
    clamp_i8(q.apply(acc).saturating_add(zp), lo)
}

/// Weight access, monomorphised per storage so the inner loops stay tight.
trait WeightSource {
    fn at(&self, i: usize) -> i32;
}

struct Plain<'a>(&'a [u8]);

impl WeightSource for Plain<'_> {
    #[inline]
    fn at(&self, i: usize) -> i32 {
        i32::from(self.0[i] as i8)
    }
}

struct Book<'a>(Weights<'a>);

impl WeightSource for Book<'_> {
    #[inline]
    fn at(&self, i: usize) -> i32 {
        i32::from(self.0.get(i))
    }
}

pub(crate) fn run_layer(
    layer: &Layer<'_>,
    src: &[i8],
    s: Shape,
    in_zp: i32,
    dst: &mut [i8],
    d: Shape,
) {
    match layer {
        Layer::Conv2d(g, a) => {
            let input = ConvInput { src, s, in_zp, g };
            match a.weights {
                Weights::Plain(w) => {
                    if !conv2d_patches(w, src, s, in_zp, g, a, dst, d) {
                        requantize_each(a, dst, d, |oy, ox, oc, b| {
                            input.conv_sum(&Plain(w), oc, b, oy, ox)
                        });
                    }
                }
                book => requantize_each(a, dst, d, |oy, ox, oc, b| {
                    input.conv_sum(&Book(book), oc, b, oy, ox)
                }),
            }
        }
        Layer::DepthwiseConv2d(g, a) => {
            let input = ConvInput { src, s, in_zp, g };
            match a.weights {
                Weights::Plain(w) => requantize_each(a, dst, d, |oy, ox, c, b| {
                    input.depthwise_sum(&Plain(w), c, d.c, b, oy, ox)
                }),
                book => requantize_each(a, dst, d, |oy, ox, c, b| {
                    input.depthwise_sum(&Book(book), c, d.c, b, oy, ox)
                }),
            }
        }
        Layer::Dense(a) => match a.weights {
            Weights::Plain(w) => dense_plain(w, src, in_zp, a, dst),
            book => dense(&Book(book), src, in_zp, a, dst),
        },
        Layer::MaxPool(g) => pool(src, s, g, dst, d, None),
        Layer::AvgPool(g) => pool(src, s, g, dst, d, Some(in_zp)),
        Layer::GlobalAvgPool => global_avg(src, s, in_zp, dst),
    }
}

/// The input row/column a kernel tap reads, `None` in the zero padding.
#[inline]
fn tap(o: usize, stride: u8, k: usize, pad: u8, size: usize) -> Option<usize> {
    (o * usize::from(stride) + k)
        .checked_sub(usize::from(pad))
        .filter(|&i| i < size)
}

/// Requantizes `sum(oy, ox, c, bias)`, the accumulator of channel `c` at output pixel
/// `(oy, ox)` started from the channel's bias, into every value of `dst` (shape `d`): the
/// plain loops of a convolution (regular or depthwise).
fn requantize_each(
    a: &Affine<'_>,
    dst: &mut [i8],
    d: Shape,
    sum: impl Fn(usize, usize, usize, i32) -> i32,
) {
    let zp = i32::from(a.out_zero_point);
    for oy in 0..d.h {
        for ox in 0..d.w {
            let out_base = (oy * d.w + ox) * d.c;
            for c in 0..d.c {
                let acc = sum(oy, ox, c, a.bias.get(c));
                dst[out_base + c] = requantize(acc, a.requant.get(c), zp, a.relu);
            }
        }
    }
}

/// Longest kernel patch (`kh · kw · in_c`, or a dense layer's input) the fast paths handle;
/// longer ones take the plain loops (same bits, slower).
pub const MAX_PATCH: usize = 512;
/// Most output channels of a convolution on the fast path (their biases and multipliers are
/// decoded once per layer into a stack buffer of this size).
pub const MAX_BLOCK: usize = 64;

/// `Σ w · x` over a weight row and a patch of zero-point-free inputs. The accumulation wraps
/// like the reference loop; the parser's accumulator bound means it never actually wraps, so
/// the order of the additions does not change the bits. Written as a plain zipped fold so the
/// compiler drops the bounds checks and vectorizes it (i8 × i16 → i32 lanes on the host).
#[inline]
fn dot(w: &[u8], x: &[i16]) -> i32 {
    w.iter().zip(x).fold(0i32, |acc, (&w, &x)| {
        acc.wrapping_add(i32::from(w as i8) * i32::from(x))
    })
}

/// Regular convolution with plain weights, one output pixel at a time: the kernel's input
/// patch is gathered once (with the input zero point already subtracted and zeros in the
/// padding, which is what skipping a padding tap contributes) and then dotted with each output
/// channel's weight row (`[kh][kw][in_c]`, contiguous and in the patch's order). Biases and
/// multipliers are decoded once per layer. Bit-identical to the plain loops ([`ConvInput::conv_sum`]); returns `false`,
/// leaving the work to it, for patches or channel counts beyond the stack buffers.
#[allow(clippy::too_many_arguments)]
fn conv2d_patches(
    w: &[u8],
    src: &[i8],
    s: Shape,
    in_zp: i32,
    g: &ConvGeom,
    a: &Affine<'_>,
    dst: &mut [i8],
    d: Shape,
) -> bool {
    let (kh, kw) = (usize::from(g.kh), usize::from(g.kw));
    let per = kh * kw * s.c;
    if per > MAX_PATCH || d.c > MAX_BLOCK || per == 0 || w.len() < per * d.c {
        return false;
    }
    let zp = i32::from(a.out_zero_point);
    let lo = if a.relu { zp.max(-128) } else { -128 };
    let mut bias = [0i32; MAX_BLOCK];
    let mut requant = [QuantMultiplier::ZERO; MAX_BLOCK];
    for (oc, (b, q)) in bias
        .iter_mut()
        .zip(requant.iter_mut())
        .take(d.c)
        .enumerate()
    {
        *b = a.bias.get(oc);
        *q = a.requant.get(oc);
    }
    let mut buf = [0i16; MAX_PATCH];
    let patch = &mut buf[..per];
    for oy in 0..d.h {
        for ox in 0..d.w {
            gather_patch(src, s, in_zp, g, oy, ox, patch);
            let out_base = (oy * d.w + ox) * d.c;
            let out = &mut dst[out_base..out_base + d.c];
            for (((o, wrow), &b), &q) in out
                .iter_mut()
                .zip(w.chunks_exact(per))
                .zip(&bias[..d.c])
                .zip(&requant[..d.c])
            {
                let acc = b.wrapping_add(dot(wrow, patch));
                *o = clamp_i8(q.apply(acc).saturating_add(zp), lo);
            }
        }
    }
    true
}

/// Gathers the kernel's input patch of output pixel `(oy, ox)` (`[kh][kw][in_c]`, the
/// weight row's order) with the input zero point subtracted and zeros in the padding.
#[inline]
#[allow(clippy::too_many_arguments)]
fn gather_patch(
    src: &[i8],
    s: Shape,
    in_zp: i32,
    g: &ConvGeom,
    oy: usize,
    ox: usize,
    patch: &mut [i16],
) {
    let row_len = usize::from(g.kw) * s.c;
    for (ky, row) in patch.chunks_exact_mut(row_len).enumerate() {
        let Some(iy) = tap(oy, g.stride_h, ky, g.pad_h, s.h) else {
            row.fill(0);
            continue;
        };
        for (kx, cell) in row.chunks_exact_mut(s.c).enumerate() {
            match tap(ox, g.stride_w, kx, g.pad_w, s.w) {
                Some(ix) => {
                    let at = (iy * s.w + ix) * s.c;
                    for (p, &x) in cell.iter_mut().zip(&src[at..at + s.c]) {
                        *p = (i32::from(x) - in_zp) as i16;
                    }
                }
                None => cell.fill(0),
            }
        }
    }
}

/// The max pool that may run fused with layer `i`, if any: layer `i` is a convolution
/// (regular or depthwise) with at most [`MAX_BLOCK`] output channels and only non-negative
/// multipliers, and layer `i + 1` is a max pool whose windows do not overlap.
///
/// Requantization (saturating shift, rounding doubling high multiply by a non-negative
/// mantissa, rounding shift, zero point, clamp) is monotone non-decreasing in the
/// accumulator, so the largest requantized value of a window is the requantized largest
/// accumulator: pooling the `i32` accumulators (bias included) and requantizing only the
/// maxima gives the same bytes with `kh · kw` times fewer requantizations. `conv_out` is the
/// convolution's output shape. The parser only accepts mantissas of 0 or in `[2^30, 2^31)`,
/// so the sign check never fails on a parsed model; it keeps the rule explicit.
pub fn fusable_max_pool(layers: &[Layer<'_>], i: usize, conv_out: Shape) -> Option<PoolGeom> {
    let a = match layers.get(i)? {
        Layer::Conv2d(_, a) | Layer::DepthwiseConv2d(_, a) => a,
        _ => return None,
    };
    let Layer::MaxPool(pg) = layers.get(i + 1)? else {
        return None;
    };
    let non_overlapping = pg.stride_h >= pg.kh && pg.stride_w >= pg.kw;
    let monotone = (0..a.requant.len()).all(|k| a.requant.get(k).multiplier >= 0);
    (non_overlapping && monotone && conv_out.c <= MAX_BLOCK).then_some(*pg)
}

/// A convolution (`layer`, output shape `d`) fused with the max pool `pg` after it (output
/// shape `p`, written to `dst`): per pooling window, the accumulators of its pixels are
/// computed and their maxima requantized. The caller checked [`fusable_max_pool`].
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv_max_pool(
    layer: &Layer<'_>,
    src: &[i8],
    s: Shape,
    in_zp: i32,
    d: Shape,
    pg: &PoolGeom,
    dst: &mut [i8],
    p: Shape,
) {
    let (g, a) = match layer {
        Layer::Conv2d(g, a) | Layer::DepthwiseConv2d(g, a) => (g, a),
        _ => return,
    };
    if d.c > MAX_BLOCK {
        return;
    }
    let mut bias = [0i32; MAX_BLOCK];
    for (oc, b) in bias.iter_mut().take(d.c).enumerate() {
        *b = a.bias.get(oc);
    }
    let bias = &bias[..d.c];
    let input = ConvInput { src, s, in_zp, g };
    let per = usize::from(g.kh) * usize::from(g.kw) * s.c;
    match (layer, a.weights) {
        (Layer::Conv2d(..), Weights::Plain(w))
            if per <= MAX_PATCH && per > 0 && w.len() >= per * d.c =>
        {
            let mut buf = [0i16; MAX_PATCH];
            let patch = &mut buf[..per];
            let pixel = |oy: usize, ox: usize, acc: &mut [i32]| {
                gather_patch(src, s, in_zp, g, oy, ox, patch);
                for ((acc, wrow), &b) in acc.iter_mut().zip(w.chunks_exact(per)).zip(bias) {
                    *acc = b.wrapping_add(dot(wrow, patch));
                }
            };
            pooled(pixel, a, d.c, pg, dst, p);
        }
        (Layer::Conv2d(..), Weights::Plain(w)) => {
            let sum = |oy, ox, oc, b| input.conv_sum(&Plain(w), oc, b, oy, ox);
            pooled(per_channel(bias, sum), a, d.c, pg, dst, p);
        }
        (Layer::Conv2d(..), book) => {
            let sum = |oy, ox, oc, b| input.conv_sum(&Book(book), oc, b, oy, ox);
            pooled(per_channel(bias, sum), a, d.c, pg, dst, p);
        }
        (_, Weights::Plain(w)) => {
            let sum = |oy, ox, c, b| input.depthwise_sum(&Plain(w), c, d.c, b, oy, ox);
            pooled(per_channel(bias, sum), a, d.c, pg, dst, p);
        }
        (_, book) => {
            let sum = |oy, ox, c, b| input.depthwise_sum(&Book(book), c, d.c, b, oy, ox);
            pooled(per_channel(bias, sum), a, d.c, pg, dst, p);
        }
    }
}

/// The pixel function [`pooled`] takes, from a per-channel sum as [`requantize_each`] takes
/// it: `acc[c] = sum(oy, ox, c, bias[c])`.
fn per_channel<'b>(
    bias: &'b [i32],
    sum: impl Fn(usize, usize, usize, i32) -> i32 + 'b,
) -> impl FnMut(usize, usize, &mut [i32]) + 'b {
    move |oy, ox, acc| {
        for (c, (acc, &b)) in acc.iter_mut().zip(bias).enumerate() {
            *acc = sum(oy, ox, c, b);
        }
    }
}

/// Runs `pixel(oy, ox, acc)` (the `c` accumulators of one convolution output pixel) over
/// every window of the max pool `pg`, keeps the per-channel maxima and requantizes them into
/// `dst` (shape `p`).
fn pooled(
    mut pixel: impl FnMut(usize, usize, &mut [i32]),
    a: &Affine<'_>,
    c: usize,
    pg: &PoolGeom,
    dst: &mut [i8],
    p: Shape,
) {
    let zp = i32::from(a.out_zero_point);
    let lo = if a.relu { zp.max(-128) } else { -128 };
    let mut requant = [QuantMultiplier::ZERO; MAX_BLOCK];
    for (oc, q) in requant.iter_mut().take(c).enumerate() {
        *q = a.requant.get(oc);
    }
    let mut acc_buf = [0i32; MAX_BLOCK];
    let mut best_buf = [0i32; MAX_BLOCK];
    let (acc, best) = (&mut acc_buf[..c], &mut best_buf[..c]);
    let (kh, kw) = (usize::from(pg.kh), usize::from(pg.kw));
    for (o, out) in dst.chunks_exact_mut(c).take(p.h * p.w).enumerate() {
        let (py, px) = (o / p.w, o % p.w);
        let (y0, x0) = (py * usize::from(pg.stride_h), px * usize::from(pg.stride_w));
        pixel(y0, x0, best);
        for k in 1..kh * kw {
            pixel(y0 + k / kw, x0 + k % kw, acc);
            for (b, &v) in best.iter_mut().zip(acc.iter()) {
                *b = (*b).max(v);
            }
        }
        for ((o, &v), &q) in out.iter_mut().zip(best.iter()).zip(&requant[..c]) {
            *o = clamp_i8(q.apply(v).saturating_add(zp), lo);
        }
    }
}

/// A convolution's input as the plain loops read it.
#[derive(Clone, Copy)]
struct ConvInput<'a> {
    src: &'a [i8],
    s: Shape,
    in_zp: i32,
    g: &'a ConvGeom,
}

impl<'a> ConvInput<'a> {
    /// The input positions `(iy, ix)` under the kernel taps of output pixel `(oy, ox)` that
    /// fall inside the input (padding taps contribute nothing), with the tap index `(ky, kx)`.
    #[inline]
    fn taps(
        &self,
        oy: usize,
        ox: usize,
    ) -> impl Iterator<Item = (usize, usize, usize, usize)> + 'a {
        let (g, s) = (self.g, self.s);
        (0..usize::from(g.kh))
            .filter_map(move |ky| tap(oy, g.stride_h, ky, g.pad_h, s.h).map(|iy| (ky, iy)))
            .flat_map(move |(ky, iy)| {
                (0..usize::from(g.kw)).filter_map(move |kx| {
                    tap(ox, g.stride_w, kx, g.pad_w, s.w).map(|ix| (ky, kx, iy, ix))
                })
            })
    }

    /// Output channel `oc`'s accumulator at output pixel `(oy, ox)` of a regular convolution
    /// (weights `[out][kh][kw][in]`), starting from `bias`.
    #[inline]
    fn conv_sum<W: WeightSource>(&self, w: &W, oc: usize, bias: i32, oy: usize, ox: usize) -> i32 {
        let (s, kh, kw) = (self.s, usize::from(self.g.kh), usize::from(self.g.kw));
        let mut sum = bias;
        for (ky, kx, iy, ix) in self.taps(oy, ox) {
            let in_base = (iy * s.w + ix) * s.c;
            let w_base = ((oc * kh + ky) * kw + kx) * s.c;
            for c in 0..s.c {
                sum = sum.wrapping_add(
                    w.at(w_base + c) * (i32::from(self.src[in_base + c]) - self.in_zp),
                );
            }
        }
        sum
    }

    /// Channel `c`'s accumulator at output pixel `(oy, ox)` of a depthwise convolution
    /// (weights `[kh][kw][c_out]`), starting from `bias`.
    #[inline]
    fn depthwise_sum<W: WeightSource>(
        &self,
        w: &W,
        c: usize,
        c_out: usize,
        bias: i32,
        oy: usize,
        ox: usize,
    ) -> i32 {
        let (s, kw) = (self.s, usize::from(self.g.kw));
        let mut sum = bias;
        for (ky, kx, iy, ix) in self.taps(oy, ox) {
            let x = i32::from(self.src[(iy * s.w + ix) * s.c + c]) - self.in_zp;
            sum = sum.wrapping_add(w.at((ky * kw + kx) * c_out + c) * x);
        }
        sum
    }
}

/// Dense layer with plain weights: one zipped dot product per output over the zero-point-free
/// input (converted once). Bit-identical to [`dense`].
fn dense_plain(w: &[u8], src: &[i8], in_zp: i32, a: &Affine<'_>, dst: &mut [i8]) {
    let n_in = src.len();
    if n_in > MAX_PATCH || n_in == 0 || w.len() < n_in * dst.len() {
        return dense(&Plain(w), src, in_zp, a, dst);
    }
    let mut buf = [0i16; MAX_PATCH];
    let x = &mut buf[..n_in];
    for (x, &v) in x.iter_mut().zip(src) {
        *x = (i32::from(v) - in_zp) as i16;
    }
    let zp = i32::from(a.out_zero_point);
    for (o, (out, wrow)) in dst.iter_mut().zip(w.chunks_exact(n_in)).enumerate() {
        let acc = a.bias.get(o).wrapping_add(dot(wrow, x));
        *out = requantize(acc, a.requant.get(o), zp, a.relu);
    }
}

fn dense<W: WeightSource>(w: &W, src: &[i8], in_zp: i32, a: &Affine<'_>, dst: &mut [i8]) {
    let n_in = src.len();
    let zp = i32::from(a.out_zero_point);
    for (o, out) in dst.iter_mut().enumerate() {
        let mut acc = a.bias.get(o);
        let base = o * n_in;
        for (i, &x) in src.iter().enumerate() {
            acc = acc.wrapping_add(w.at(base + i) * (i32::from(x) - in_zp));
        }
        *out = requantize(acc, a.requant.get(o), zp, a.relu);
    }
}

/// Max pooling (`avg_zp = None`) or average pooling around the zero point.
fn pool(src: &[i8], s: Shape, g: &PoolGeom, dst: &mut [i8], d: Shape, avg_zp: Option<i32>) {
    let (kh, kw) = (usize::from(g.kh), usize::from(g.kw));
    let count = (kh * kw) as i32;
    for oy in 0..d.h {
        for ox in 0..d.w {
            for c in 0..d.c {
                let (mut max, mut sum) = (i8::MIN, 0i32);
                for ky in 0..kh {
                    let iy = oy * usize::from(g.stride_h) + ky;
                    for kx in 0..kw {
                        let ix = ox * usize::from(g.stride_w) + kx;
                        let x = src[(iy * s.w + ix) * s.c + c];
                        max = max.max(x);
                        sum += i32::from(x);
                    }
                }
                dst[(oy * d.w + ox) * d.c + c] = match avg_zp {
                    None => max,
                    Some(zp) => clamp_i8(div_round(sum - zp * count, count) + zp, -128),
                };
            }
        }
    }
}

fn global_avg(src: &[i8], s: Shape, in_zp: i32, dst: &mut [i8]) {
    let count = (s.h * s.w) as i32;
    for (c, out) in dst.iter_mut().enumerate().take(s.c) {
        let mut sum = 0i32;
        for p in 0..s.h * s.w {
            sum += i32::from(src[p * s.c + c]);
        }
        *out = clamp_i8(div_round(sum - in_zp * count, count) + in_zp, -128);
    }
}
