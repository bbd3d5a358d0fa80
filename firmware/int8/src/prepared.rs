//! A host-side prepared model: the same integer inference as [`Model::infer`], bit for bit,
//! with the convolutions re-laid out once for SIMD kernels chosen at run time.
//!
//! [`PreparedModel::new`] keeps the parsed [`Model`], detects the best [`Kernel`] of the CPU
//! and, for a SIMD kernel, builds an owned plan: every regular convolution's weights widened
//! to `i16` and re-laid out as `[ky][tap pair][output channel][2]` in blocks of eight output
//! channels (codebooks expanded), biases and requantization parameters per lane, and a
//! zero-bordered `i16` copy of its input (zero point subtracted) so that padding needs no
//! test. A convolution followed by a max pool runs fused as in the portable engine
//! ([`crate::engine::fusable_max_pool`]). Layers without a SIMD kernel (depthwise
//! convolutions, pools that are not fused, dense layers) run the portable engine's code on
//! the same buffers. [`Kernel::Portable`] runs [`Model::infer`] itself, the Pico's path.
//!
//! Every kernel computes the same `i32` sums (the parser's accumulator bound means no order
//! of additions can wrap) and the same fixed-point requantization, so every kernel gives
//! the same bytes; the tests run each one against an independent reference.
// Without a SIMD kernel for the target (e.g. aarch64) the plans are built but never read.
#![cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]

use crate::engine::{conv_max_pool, fusable_max_pool, run_layer, Inference, RunError};
use crate::fixed::QuantMultiplier;
use crate::format::{InputKind, Layer, Model, PoolGeom};
use crate::shape::Shape;

/// An inference kernel: the portable loops or a SIMD instruction set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// The portable engine ([`Model::infer`]), the code the Pico runs.
    Portable,
    /// x86-64 AVX2: `vpmaddwd` multiply-accumulates over blocks of eight output channels,
    /// eight requantizations per instruction sequence, vectorized input quantization.
    Avx2,
}

impl Kernel {
    /// Every kernel, portable first.
    pub const ALL: [Kernel; 2] = [Kernel::Portable, Kernel::Avx2];

    /// The fastest kernel this CPU supports (detected at run time).
    pub fn best() -> Kernel {
        if Kernel::Avx2.is_available() {
            Kernel::Avx2
        } else {
            Kernel::Portable
        }
    }

    /// Whether this CPU can run the kernel.
    pub fn is_available(self) -> bool {
        match self {
            Kernel::Portable => true,
            Kernel::Avx2 => avx2_detected(),
        }
    }

    /// Short name, for reports.
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Portable => "portable",
            Kernel::Avx2 => "avx2",
        }
    }
}

#[cfg(target_arch = "x86_64")]
fn avx2_detected() -> bool {
    std::is_x86_feature_detected!("avx2")
}

#[cfg(not(target_arch = "x86_64"))]
fn avx2_detected() -> bool {
    false
}

/// Per-lane requantization parameters of one block of eight output channels (or one input
/// channel, the same in every lane): `clamp(requant(acc), lo, hi) + zp` with
/// `lo = floor − zp`, `hi = 127 − zp`, which equals the engine's
/// `clamp(requant(acc) +sat zp, floor, 127)` without a saturating add.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Requant8 {
    /// Q31 mantissas (non-negative).
    pub mult: [i32; 8],
    /// Left shifts (`max(shift, 0)`).
    pub left: [i32; 8],
    /// Right shifts (`max(−shift, 0)`).
    pub right: [i32; 8],
    /// `2^right − 1`.
    pub mask: [i32; 8],
    /// `mask >> 1`.
    pub half: [i32; 8],
    /// Whether any lane shifts left (the saturating left shift is skipped otherwise).
    pub any_left: bool,
    /// Lower clamp before the zero point is added.
    pub lo: i32,
    /// Upper clamp before the zero point is added.
    pub hi: i32,
    /// Output zero point.
    pub zp: i32,
}

impl Requant8 {
    pub(crate) fn new(qs: impl Fn(usize) -> Option<QuantMultiplier>, zp: i32, floor: i32) -> Self {
        let mut r = Requant8 {
            mult: [0; 8],
            left: [0; 8],
            right: [0; 8],
            mask: [0; 8],
            half: [0; 8],
            any_left: false,
            lo: floor - zp,
            hi: 127 - zp,
            zp,
        };
        for lane in 0..8 {
            // Lanes past the last channel get the zero multiplier; their bytes are never kept.
            let q = qs(lane).unwrap_or(QuantMultiplier::ZERO);
            let shift = i32::from(q.shift);
            r.mult[lane] = q.multiplier;
            r.left[lane] = shift.max(0);
            r.right[lane] = (-shift).max(0);
            r.mask[lane] = ((1i64 << r.right[lane]) - 1) as i32;
            r.half[lane] = r.mask[lane] >> 1;
        }
        r.any_left = r.left.iter().any(|&l| l > 0);
        r
    }
}

/// Output channels per block: one 256-bit vector of `i32` accumulators.
pub(crate) const LANES: usize = 8;

/// Up to four blocks of [`LANES`] output channels whose accumulators stay in registers
/// together.
#[derive(Clone, Debug)]
pub(crate) struct Group {
    /// First output channel of the group.
    pub first: usize,
    /// Blocks of [`LANES`] channels (1..=4).
    pub nb: usize,
    /// Weights `[ky][pair][block][lane][2]` as `i16`, zero past the row and the channels.
    pub w: Vec<i16>,
    /// Bias per block.
    pub bias: Vec<[i32; LANES]>,
    /// Requantization per block.
    pub rq: Vec<Requant8>,
}

/// A regular convolution prepared for a SIMD kernel, optionally fused with a max pool.
#[derive(Clone, Debug)]
pub(crate) struct ConvPlan {
    /// Input shape.
    pub s: Shape,
    /// Convolution output shape.
    pub d: Shape,
    /// Output shape of the step (the pool's when fused).
    pub out: Shape,
    /// The fused max pool.
    pub pool: Option<PoolGeom>,
    /// Input zero point.
    pub in_zp: i32,
    /// Kernel rows.
    pub kh: usize,
    /// Strides.
    pub sh: usize,
    /// Strides.
    pub sw: usize,
    /// Padding.
    pub pad_h: usize,
    /// Padding.
    pub pad_w: usize,
    /// `i16` values per row of the padded image, `(s.w + 2 pad_w) · s.c`.
    pub row: usize,
    /// Tap pairs per kernel row, `⌈kw · s.c / 2⌉`.
    pub np: usize,
    /// Output channel groups.
    pub groups: Vec<Group>,
    /// The padded input image (zero border, zero point subtracted inside), plus two values
    /// of slack for the last odd pair.
    pub img: Vec<i16>,
}

impl ConvPlan {
    fn new(
        g: &crate::ConvGeom,
        a: &crate::Affine<'_>,
        s: Shape,
        d: Shape,
        in_zp: i8,
        pool: Option<(PoolGeom, Shape)>,
    ) -> Self {
        let (kh, kw) = (usize::from(g.kh), usize::from(g.kw));
        let (pad_h, pad_w) = (usize::from(g.pad_h), usize::from(g.pad_w));
        let span = kw * s.c;
        let np = span.div_ceil(2);
        let per = kh * span;
        let zp = i32::from(a.out_zero_point);
        let floor = if a.relu { zp.max(-128) } else { -128 };
        let weight = |oc: usize, ky: usize, j: usize| -> i16 {
            if oc < d.c && j < span {
                i16::from(a.weights.get(oc * per + ky * span + j))
            } else {
                0
            }
        };
        let blocks = d.c.div_ceil(LANES);
        let mut groups = Vec::new();
        let mut b0 = 0;
        while b0 < blocks {
            let nb = (blocks - b0).min(4);
            let first = b0 * LANES;
            let mut w = Vec::with_capacity(kh * np * nb * 2 * LANES);
            for ky in 0..kh {
                for p in 0..np {
                    for k in 0..nb * LANES {
                        w.push(weight(first + k, ky, 2 * p));
                        w.push(weight(first + k, ky, 2 * p + 1));
                    }
                }
            }
            // Block `u`: channel `first + 8u + lane`, if it exists.
            let channel = |u: usize, lane: usize| {
                let oc = first + u * LANES + lane;
                (oc < d.c).then_some(oc)
            };
            let bias = (0..nb)
                .map(|u| {
                    core::array::from_fn(|lane| channel(u, lane).map_or(0, |oc| a.bias.get(oc)))
                })
                .collect();
            let rq = (0..nb)
                .map(|u| {
                    Requant8::new(
                        |lane| channel(u, lane).map(|oc| a.requant.get(oc)),
                        zp,
                        floor,
                    )
                })
                .collect();
            groups.push(Group {
                first,
                nb,
                w,
                bias,
                rq,
            });
            b0 += nb;
        }
        let row = (s.w + 2 * pad_w) * s.c;
        ConvPlan {
            s,
            d,
            out: pool.map_or(d, |(_, p)| p),
            pool: pool.map(|(g, _)| g),
            in_zp: i32::from(in_zp),
            kh,
            sh: usize::from(g.stride_h),
            sw: usize::from(g.stride_w),
            pad_h,
            pad_w,
            row,
            np,
            groups,
            img: vec![0; (s.h + 2 * pad_h) * row + 2],
        }
    }
}

/// How the input channels are derived, for the SIMD input quantization.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct InputPlan {
    /// Channels (the SIMD path handles 1 and 2).
    pub c: usize,
    /// Per channel: subtract the frame mean too.
    pub minus_mean: [bool; 2],
    /// Per channel offset (centi-°C).
    pub offset: [i32; 2],
    /// Per channel requantization (same in every lane), output zero point, floor −128.
    pub rq: [Requant8; 2],
    /// Per channel multiplier (for the scalar tail).
    pub q: [QuantMultiplier; 2],
    /// Input zero point (for the scalar tail).
    pub zp: i32,
}

#[derive(Clone, Debug)]
enum Step {
    /// A regular convolution (and its fused max pool) on the SIMD kernel.
    Conv(Box<ConvPlan>),
    /// Layer `layer` (and the max pool after it when `pool` is set) on the portable code.
    Portable {
        layer: usize,
        pool: Option<PoolGeom>,
    },
}

/// Bytes of slack after each tensor buffer: the SIMD kernels store whole 8-channel blocks.
const SLACK: usize = 64;

/// A model prepared for the fastest kernel of this CPU; see the [module](self) docs.
///
/// ```
/// # fn demo(bytes: &[u8], frame: &[i16]) -> Result<(), Box<dyn core::error::Error>> {
/// let mut model = vigil_int8::PreparedModel::new(vigil_int8::Model::parse(bytes)?);
/// let result = model.infer(frame)?;
/// println!("class {} at {} ‰ ({} kernel)", result.class, result.confidence_permille, model.kernel().name());
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct PreparedModel<'a> {
    model: Model<'a>,
    kernel: Kernel,
    input: Option<InputPlan>,
    steps: Vec<Step>,
    a: Vec<i8>,
    b: Vec<i8>,
}

impl<'a> PreparedModel<'a> {
    /// Prepares `model` for [`Kernel::best`].
    pub fn new(model: Model<'a>) -> Self {
        let kernel = Kernel::best();
        Self::build(model, kernel)
    }

    /// Prepares `model` for `kernel`; `None` when this CPU cannot run it.
    pub fn with_kernel(model: Model<'a>, kernel: Kernel) -> Option<Self> {
        kernel.is_available().then(|| Self::build(model, kernel))
    }

    fn build(model: Model<'a>, kernel: Kernel) -> Self {
        let len = if kernel == Kernel::Portable {
            model.arena_len()
        } else {
            model.arena_len() / 2 + SLACK
        };
        let mut steps = Vec::new();
        if kernel != Kernel::Portable {
            let layers = model.layers();
            let mut i = 0;
            while i < layers.len() {
                let (s, d) = (model.shapes[i], model.shapes[i + 1]);
                let pool = fusable_max_pool(layers, i, d);
                let last = if pool.is_some() { i + 1 } else { i };
                let step = match &layers[i] {
                    Layer::Conv2d(g, a) => Step::Conv(Box::new(ConvPlan::new(
                        g,
                        a,
                        s,
                        d,
                        model.zero_points[i],
                        pool.map(|p| (p, model.shapes[last + 1])),
                    ))),
                    _ => Step::Portable { layer: i, pool },
                };
                steps.push(step);
                i = last + 1;
            }
        }
        let input = (kernel != Kernel::Portable)
            .then(|| input_plan(&model))
            .flatten();
        PreparedModel {
            model,
            kernel,
            input,
            steps,
            a: vec![0; len],
            b: vec![0; len],
        }
    }

    /// The kernel this model runs on.
    pub fn kernel(&self) -> Kernel {
        self.kernel
    }

    /// The parsed model.
    pub fn model(&self) -> &Model<'a> {
        &self.model
    }

    /// Classifies one frame of centi-°C readings (row-major, `h · w` values); the same
    /// result as [`Model::infer`] on every kernel.
    pub fn infer(&mut self, frame_centi: &[i16]) -> Result<Inference, RunError> {
        match self.kernel {
            Kernel::Portable => self.model.infer(frame_centi, &mut self.a),
            Kernel::Avx2 => self.infer_simd(frame_centi),
        }
    }

    fn infer_simd(&mut self, frame_centi: &[i16]) -> Result<Inference, RunError> {
        let m = &self.model;
        let input = m.input_shape;
        if frame_centi.len() != input.h * input.w {
            return Err(RunError::FrameLength {
                expected: input.h * input.w,
                found: frame_centi.len(),
            });
        }
        match &self.input {
            Some(plan) => simd_input(self.kernel, plan, frame_centi, &mut self.a[..input.len()]),
            None => m.quantize_input(frame_centi, &mut self.a[..input.len()])?,
        }
        let (mut src, mut dst) = (&mut self.a, &mut self.b);
        let layers = m.layers();
        for step in &mut self.steps {
            match step {
                Step::Conv(plan) => simd_conv(self.kernel, plan, src, dst),
                Step::Portable { layer, pool } => {
                    let i = *layer;
                    let s = m.shapes[i];
                    let in_zp = i32::from(m.zero_points[i]);
                    match pool {
                        Some(pg) => {
                            let p = m.shapes[i + 2];
                            conv_max_pool(
                                &layers[i],
                                &src[..s.len()],
                                s,
                                in_zp,
                                m.shapes[i + 1],
                                pg,
                                &mut dst[..p.len()],
                                p,
                            );
                        }
                        None => {
                            let d = m.shapes[i + 1];
                            run_layer(
                                &layers[i],
                                &src[..s.len()],
                                s,
                                in_zp,
                                &mut dst[..d.len()],
                                d,
                            );
                        }
                    }
                }
            }
            core::mem::swap(&mut src, &mut dst);
        }
        Ok(Inference::from_logits(m, &src[..m.n_classes]))
    }
}

fn input_plan(m: &Model<'_>) -> Option<InputPlan> {
    let c = m.input_shape.c;
    if c > 2 {
        return None;
    }
    let zp = i32::from(m.input_zero_point);
    let mut plan = InputPlan {
        c,
        minus_mean: [false; 2],
        offset: [0; 2],
        rq: [Requant8::new(|_| None, zp, -128); 2],
        q: [QuantMultiplier::ZERO; 2],
        zp,
    };
    for (k, spec) in m.input_channels().iter().enumerate() {
        plan.minus_mean[k] = spec.kind == InputKind::MinusMean;
        plan.offset[k] = spec.offset_centi;
        plan.rq[k] = Requant8::new(|_| Some(spec.requant), zp, -128);
        plan.q[k] = spec.requant;
    }
    Some(plan)
}

#[allow(unused_variables)]
fn simd_input(kernel: Kernel, plan: &InputPlan, frame: &[i16], out: &mut [i8]) {
    #[cfg(target_arch = "x86_64")]
    if kernel == Kernel::Avx2 {
        crate::simd::avx2::quantize_input(plan, frame, out);
    }
}

#[allow(unused_variables)]
fn simd_conv(kernel: Kernel, plan: &mut ConvPlan, src: &[i8], dst: &mut [i8]) {
    #[cfg(target_arch = "x86_64")]
    if kernel == Kernel::Avx2 {
        crate::simd::avx2::conv(plan, src, dst);
    }
}
