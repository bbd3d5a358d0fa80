//! Benchmarks: host latency of the int8 engine against burn's f32 forward (measured in the
//! same run, on the same frames), model sizes, and the RP2040 cost estimated from an
//! instruction count of the int8 path.
//!
//! # The RP2040 estimate
//!
//! The int8 engine's loops are walked over the model's real geometry (valid kernel taps
//! only: taps in the zero padding are skipped by the engine too) and every loop body is
//! charged the cycles of the Cortex-M0+ instructions it compiles to. The M0+ (ARMv6-M, TRM
//! table 3-1) takes 1 cycle per ALU instruction, 2 per load or store, 1 per `MULS` (RP2040
//! has the single-cycle 32 × 32 multiplier option), 2 per taken branch and 1 per untaken
//! one, has no SIMD, no 32 × 32 → 64 multiply and no divide instruction (`i64` products and
//! divisions are library calls). The per-body charges are in [`CycleCosts`]; the model
//! bytes are assumed to be served from the XIP cache (the model is a few KB) and the arena
//! from SRAM, both without wait states.

use std::time::Instant;

use burn::tensor::{Tensor, TensorData};
use vigil_int8::engine::{fusable_max_pool, MAX_BLOCK, MAX_PATCH};
use vigil_int8::reference::F32Model;
use vigil_int8::{Layer, Model, PreparedModel, Shape, Weights};
use vigil_scenes::to_centi;

use crate::arch::{H, W};
use crate::data::{input_shell, push_chw, Prepared};
use crate::net::{values, Net};
use crate::train::cpu;
use crate::TrainError;

/// Cortex-M0+ cycles charged per loop body of the int8 engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CycleCosts {
    /// One multiply-accumulate of the patch path's dot product: `LDRSB` weight (2), `LDRSH`
    /// patch value (2), `MULS`, `ADDS`, two pointer increments, `CMP` + taken `BNE` (1 + 2);
    /// no bounds checks (zipped slices) and no zero point (subtracted in the patch).
    pub dot_mac: u64,
    /// One patch element gathered from the input: `LDRSB`, `SUBS` zero point, `STRH`, two
    /// pointer increments, loop.
    pub patch_elem: u64,
    /// One patch element in the zero padding: `STRH` of zero, loop.
    pub patch_pad_elem: u64,
    /// Per output value of the patch path: the weight row slice and the dot product's call
    /// and setup (the bias and multiplier are decoded once per layer, not counted).
    pub dot_setup: u64,
    /// One multiply-accumulate with plain int8 weights: 2 `LDRSB` (2 + 2), `SUBS` zero point,
    /// `MULS`, `ADDS`, index increment, 2 bounds checks (`CMP` + untaken `BHS`, 2 + 2),
    /// loop `CMP` + taken `BNE` (1 + 2), one register spill (2).
    pub mac: u64,
    /// Extra per multiply-accumulate with codebook weights: bit offset `MULS`, shift and
    /// mask, an index `LDRB`, a codebook `LDRSB`, two bounds checks, the variant match.
    pub codebook_extra: u64,
    /// One kernel tap inside the frame: column tap computation and padding checks, input
    /// and weight base offsets (3 `MULS`, adds), inner loop setup and the column loop.
    pub tap: u64,
    /// One kernel tap in the zero padding: the tap computation and the `continue`.
    pub skipped_tap: u64,
    /// One kernel row: row tap computation, checks and loop.
    pub row: u64,
    /// One output value of a weighted layer: bias (4 `LDRB` + shifts, no unaligned loads on
    /// the M0+), the channel's multiplier and shift, the saturating left shift, the 64-bit
    /// rounding doubling high multiply (`__aeabi_lmul` and 64-bit adds and shifts), the
    /// rounding right shift, zero point, clamp, store, loop.
    pub output: u64,
    /// One element of a pooling window: offsets, bounds check, `LDRSB`, compare and select,
    /// sum, loop.
    pub pool_elem: u64,
    /// One pooling output: loop, store.
    pub pool_output: u64,
    /// One accumulator of a convolution fused with its max pool, after the window's first
    /// pixel: 2 `LDR`, `CMP`, branch, `STR` of the running maximum, loop.
    pub pool_max: u64,
    /// One integer division (`__aeabi_idiv` in software; average pools and the frame mean).
    pub division: u64,
    /// One element of a global average: offset, bounds check, `LDRSB`, add, loop.
    pub gap_elem: u64,
    /// One reading summed for the frame mean: `LDRSH`, add, loop.
    pub mean_elem: u64,
    /// One input value: `LDRSH`, saturating subtract, the requantization of
    /// [`CycleCosts::output`], zero point, clamp, store, loop.
    pub input_elem: u64,
    /// Per inference: argmax, softmax table look-ups, the per-mille divisions, calls.
    pub fixed: u64,
}

impl Default for CycleCosts {
    fn default() -> Self {
        CycleCosts {
            dot_mac: 11,
            patch_elem: 10,
            patch_pad_elem: 5,
            dot_setup: 12,
            mac: 16,
            codebook_extra: 15,
            tap: 20,
            skipped_tap: 8,
            row: 9,
            output: 130,
            pool_elem: 15,
            pool_output: 10,
            pool_max: 9,
            division: 100,
            gap_elem: 10,
            mean_elem: 6,
            input_elem: 100,
            fixed: 1_500,
        }
    }
}

/// The estimated cost of one layer (or of the input quantization).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerCost {
    /// Layer name (`input` for the input quantization).
    pub name: String,
    /// Output shape.
    pub shape: Shape,
    /// Multiply-accumulates.
    pub macs: u64,
    /// Cycles.
    pub cycles: u64,
}

/// RP2040 system clock the estimate is quoted at.
pub const RP2040_HZ: u64 = 133_000_000;

/// Number of kernel taps along one axis: (inside the input, in the padding) summed over the
/// given output positions.
fn taps_1d(outs: &[usize], k: u8, stride: u8, pad: u8, size: usize) -> (u64, u64) {
    let (mut inside, mut padding) = (0u64, 0u64);
    for &o in outs {
        for kk in 0..usize::from(k) {
            let i = (o * usize::from(stride) + kk).checked_sub(usize::from(pad));
            if i.is_some_and(|i| i < size) {
                inside += 1;
            } else {
                padding += 1;
            }
        }
    }
    (inside, padding)
}

/// The convolution output rows (or columns) a fused max pool reads: the union of its
/// windows along one axis (`n` pooled outputs).
fn pooled_positions(n: usize, k: u8, stride: u8) -> Vec<usize> {
    (0..n)
        .flat_map(|o| (0..usize::from(k)).map(move |kk| o * usize::from(stride) + kk))
        .collect()
}

/// Whether the engine runs this convolution by patches (`vigil_int8::engine`'s fast path).
fn patch_path(a: &vigil_int8::Affine<'_>, g: &vigil_int8::ConvGeom, s: Shape, d: Shape) -> bool {
    let per = usize::from(g.kh) * usize::from(g.kw) * s.c;
    matches!(a.weights, Weights::Plain(_)) && per > 0 && per <= MAX_PATCH && d.c <= MAX_BLOCK
}

/// Cycle estimate per layer of an int8 model, input quantization first.
pub fn rp2040_estimate(model: &Model<'_>, c: &CycleCosts) -> Vec<LayerCost> {
    let input = model.input_shape();
    let pixels = (input.h * input.w) as u64;
    let mut out = vec![LayerCost {
        name: "input".into(),
        shape: input,
        macs: 0,
        cycles: pixels * c.mean_elem + c.division + input.len() as u64 * c.input_elem + c.fixed,
    }];
    let layers = model.layers();
    let mut i = 0;
    while i < layers.len() {
        let layer = &layers[i];
        let (Some(s), Some(d)) = (model.tensor_shape(i), model.tensor_shape(i + 1)) else {
            break;
        };
        // The engine's `infer` fuses a convolution with the max pool after it: only the
        // pixels inside pooling windows are computed, their accumulators max-pooled, and
        // only the maxima requantized.
        if let (Some(pg), Some(p)) = (fusable_max_pool(layers, i, d), model.tensor_shape(i + 2)) {
            let rows = pooled_positions(p.h, pg.kh, pg.stride_h);
            let cols = pooled_positions(p.w, pg.kw, pg.stride_w);
            let (macs, cycles) = conv_cost(layer, s, d, &rows, &cols, c);
            let computed = (rows.len() * cols.len() * d.c) as u64;
            let first = p.len() as u64;
            // Two rows, one per layer: the convolution's accumulators, then the pool (the
            // running maxima and the requantization of the pooled values).
            out.push(LayerCost {
                name: layer.name().to_string(),
                shape: d,
                macs,
                cycles,
            });
            out.push(LayerCost {
                name: format!("{} (fused)", layers[i + 1].name()),
                shape: p,
                macs: 0,
                cycles: (computed - first) * c.pool_max
                    + p.len() as u64 * (c.output + c.pool_output),
            });
            i += 2;
            continue;
        }
        let all_rows: Vec<usize> = (0..d.h).collect();
        let all_cols: Vec<usize> = (0..d.w).collect();
        let mac_cost = |a: &vigil_int8::Affine<'_>| match a.weights {
            Weights::Plain(_) => c.mac,
            Weights::Codebook { .. } => c.mac + c.codebook_extra,
        };
        let (macs, cycles) = match layer {
            Layer::Conv2d(..) | Layer::DepthwiseConv2d(..) => {
                let (macs, cycles) = conv_cost(layer, s, d, &all_rows, &all_cols, c);
                (macs, cycles + d.len() as u64 * c.output)
            }
            Layer::Dense(a) if matches!(a.weights, Weights::Plain(_)) && s.len() <= MAX_PATCH => {
                let macs = (s.len() * d.len()) as u64;
                (
                    macs,
                    s.len() as u64 * c.patch_elem
                        + macs * c.dot_mac
                        + d.len() as u64 * (c.output + c.dot_setup),
                )
            }
            Layer::Dense(a) => {
                let macs = (s.len() * d.len()) as u64;
                (macs, macs * mac_cost(a) + d.len() as u64 * c.output)
            }
            Layer::MaxPool(g) | Layer::AvgPool(g) => {
                let window = u64::from(g.kh) * u64::from(g.kw);
                let per_out = c.pool_output
                    + if matches!(layer, Layer::AvgPool(_)) {
                        c.division
                    } else {
                        0
                    };
                (0, d.len() as u64 * (window * c.pool_elem + per_out))
            }
            Layer::GlobalAvgPool => (
                0,
                s.len() as u64 * c.gap_elem + s.c as u64 * (c.division + c.pool_output),
            ),
        };
        out.push(LayerCost {
            name: layer.name().to_string(),
            shape: d,
            macs,
            cycles,
        });
        i += 1;
    }
    out
}

/// MACs and cycles of a convolution's accumulators over the output pixels `rows × cols`
/// (every channel), without the requantization of its outputs.
fn conv_cost(
    layer: &Layer<'_>,
    s: Shape,
    d: Shape,
    rows: &[usize],
    cols: &[usize],
    c: &CycleCosts,
) -> (u64, u64) {
    let (g, a) = match layer {
        Layer::Conv2d(g, a) | Layer::DepthwiseConv2d(g, a) => (g, a),
        _ => return (0, 0),
    };
    let pixels = (rows.len() * cols.len()) as u64;
    let (ty, py) = taps_1d(rows, g.kh, g.stride_h, g.pad_h, s.h);
    let (tx, px) = taps_1d(cols, g.kw, g.stride_w, g.pad_w, s.w);
    if matches!(layer, Layer::Conv2d(..)) && patch_path(a, g, s, d) {
        // One patch per output pixel, then one dot product over the whole patch (zeros in
        // the padding included) per output channel.
        let per = u64::from(g.kh) * u64::from(g.kw) * s.c as u64;
        let taps = (ty + py) * (tx + px);
        let valid = ty * tx;
        let (valid_elems, pad_elems) = (valid * s.c as u64, (taps - valid) * s.c as u64);
        let kernel_rows = pixels * u64::from(g.kh);
        let values = pixels * d.c as u64;
        return (
            valid * s.c as u64 * d.c as u64,
            values * per * c.dot_mac
                + valid_elems * c.patch_elem
                + pad_elems * c.patch_pad_elem
                + valid * c.tap
                + (taps - valid) * c.skipped_tap
                + kernel_rows * c.row
                + values * c.dot_setup,
        );
    }
    // Plain loops: `ty · tx` taps fall inside the input and `ty · px` on valid rows in the
    // column padding, per channel; rows in the row padding cost only their row check.
    let mac_cost = match a.weights {
        Weights::Plain(_) => c.mac,
        Weights::Codebook { .. } => c.mac + c.codebook_extra,
    };
    let valid_taps = ty * tx * d.c as u64;
    let skipped = ty * px * d.c as u64;
    let kernel_rows = pixels * d.c as u64 * u64::from(g.kh);
    let per_tap = if matches!(layer, Layer::Conv2d(..)) {
        s.c as u64
    } else {
        1
    };
    let macs = valid_taps * per_tap;
    (
        macs,
        macs * mac_cost + valid_taps * c.tap + skipped * c.skipped_tap + kernel_rows * c.row,
    )
}

/// Fixed-point requantizations one inference does: every input value and every output value
/// of a convolution or dense layer (for a convolution fused with its max pool, the pooled
/// values only).
pub fn requantization_count(model: &Model<'_>) -> usize {
    let layers = model.layers();
    let mut n = model.input_shape().len();
    for (i, layer) in layers.iter().enumerate() {
        if layer.affine().is_none() {
            continue;
        }
        let d = model.tensor_shape(i + 1).unwrap_or_default();
        n += match fusable_max_pool(layers, i, d) {
            Some(_) => model.tensor_shape(i + 2).unwrap_or_default().len(),
            None => d.len(),
        };
    }
    n
}

/// Host latency figures, per frame.
#[derive(Clone, Debug, PartialEq)]
pub struct Latency {
    /// Frames per measurement pass.
    pub frames: usize,
    /// int8 engine on the kernel [`PreparedModel::new`] picks for this CPU (input
    /// quantization included), µs per frame.
    pub int8_us: f64,
    /// Name of that kernel ([`vigil_int8::Kernel::name`]).
    pub int8_kernel: &'static str,
    /// The portable int8 engine ([`Model::infer`], the Pico's code), µs per frame.
    pub int8_portable_us: f64,
    /// The portable int8 input quantization alone (frame mean, every input value), µs per
    /// frame.
    pub int8_input_us: f64,
    /// Fixed-point requantizations per frame (input values and conv/dense outputs).
    pub requants: usize,
    /// That many requantizations alone, back to back, µs.
    pub requant_us: f64,
    /// burn f32 the way a caller classifies one frame: the input channels derived from the
    /// frame (°C), a batch-1 tensor, the forward on the inference device (no autodiff), the
    /// logits read back; µs per frame. The int8 figure likewise includes its input
    /// quantization from centi-°C.
    pub burn_us: f64,
    /// burn f32 batch 1 with the input channels derived beforehand (tensor in, logits out).
    pub burn_model_us: f64,
    /// burn f32 in batches of 64, µs per frame.
    pub burn_batched_us: f64,
    /// vigil's f32 reference (plain loops), µs per frame.
    pub reference_us: f64,
    /// Frames on which the int8 and burn classes agree.
    pub agree: usize,
}

fn time_per_frame(frames: usize, min_secs: f64, mut pass: impl FnMut()) -> f64 {
    pass(); // warm-up
    let start = Instant::now();
    let mut passes = 0u32;
    loop {
        pass();
        passes += 1;
        let el = start.elapsed().as_secs_f64();
        if el >= min_secs {
            return el * 1e6 / (f64::from(passes) * frames.max(1) as f64);
        }
    }
}

/// Measures per-frame latency of the int8 engine, burn f32 and the f32 reference on the
/// same frames (°C), each repeated for at least `min_secs`.
pub fn latency(
    f32_model: &F32Model,
    int8_bytes: &[u8],
    frames: &[Vec<f32>],
    min_secs: f64,
) -> Result<Latency, TrainError> {
    if frames.is_empty() {
        return Err(TrainError::BadArgument("no frames to benchmark".into()));
    }
    let model = Model::parse(int8_bytes).map_err(|e| TrainError::Int8(e.to_string()))?;
    let mut arena = vec![0i8; model.arena_len()];
    let centi: Vec<Vec<i16>> = frames.iter().map(|f| to_centi(f)).collect();
    let mut int8_classes = vec![0usize; frames.len()];
    let mut int8_err = None;
    // The portable engine first: its results are the reference the dispatched kernel must
    // reproduce bit for bit (logits and confidences) on every frame.
    let mut portable = Vec::with_capacity(frames.len());
    for f in &centi {
        portable.push(
            model
                .infer(f, &mut arena)
                .map_err(|e| TrainError::Int8(e.to_string()))?,
        );
    }
    let int8_portable_us = time_per_frame(frames.len(), min_secs, || {
        for (k, f) in centi.iter().enumerate() {
            match model.infer(std::hint::black_box(f), &mut arena) {
                Ok(r) => int8_classes[k] = r.class,
                Err(e) => int8_err = Some(e),
            }
        }
    });
    let mut fast = PreparedModel::new(model);
    let int8_kernel = fast.kernel().name();
    for (k, f) in centi.iter().enumerate() {
        let r = fast.infer(f).map_err(|e| TrainError::Int8(e.to_string()))?;
        if r != portable[k] {
            return Err(TrainError::Int8(format!(
                "the {int8_kernel} kernel and the portable engine differ on frame {k}"
            )));
        }
    }
    let int8_us = time_per_frame(frames.len(), min_secs, || {
        for (k, f) in centi.iter().enumerate() {
            match fast.infer(std::hint::black_box(f)) {
                Ok(r) => int8_classes[k] = r.class,
                Err(e) => int8_err = Some(e),
            }
        }
    });
    if let Some(e) = int8_err {
        return Err(TrainError::Int8(e.to_string()));
    }
    // Two parts of the int8 time, to show what bounds it: the input quantization alone, and
    // the fixed-point requantizations of one frame (every input value and every conv/dense
    // output) on their own, over accumulator-sized values.
    let mut input = vec![0i8; model.input_shape().len()];
    let int8_input_us = time_per_frame(frames.len(), min_secs, || {
        for f in &centi {
            if let Err(e) = model.quantize_input(std::hint::black_box(f), &mut input) {
                int8_err = Some(e);
            }
        }
    });
    if let Some(e) = int8_err {
        return Err(TrainError::Int8(e.to_string()));
    }
    let requants = requantization_count(&model);
    let q =
        vigil_int8::QuantMultiplier::from_real(0.0123).unwrap_or(vigil_int8::QuantMultiplier::ZERO);
    let accs: Vec<i32> = (0..requants as i32)
        .map(|i| i.wrapping_mul(7919) % 200_000 - 100_000)
        .collect();
    let mut outs = vec![0i8; accs.len()];
    let requant_us = time_per_frame(1, min_secs, || {
        for (o, &a) in outs.iter_mut().zip(std::hint::black_box(&accs)) {
            *o = q.apply(a).saturating_add(3).clamp(-128, 127) as i8;
        }
        std::hint::black_box(&outs);
    });

    // The plain ndarray device: no autodiff, as an inference caller would use it.
    let device = cpu();
    let (arch, net) = Net::from_f32(f32_model, &device)?;
    let shell = input_shell(&arch.inputs);
    let labelled: Vec<_> = frames
        .iter()
        .map(|f| (vigil_wire::ThermalClass::Background, f.clone()))
        .collect();
    let prepared = Prepared::new(&arch.inputs, &labelled)?;
    let per = prepared.channels * H * W;
    let mut burn_classes = vec![0usize; frames.len()];
    let mut burn_err = None;
    let burn_us = time_per_frame(frames.len(), min_secs, || {
        for (k, frame) in frames.iter().enumerate() {
            let mut chw = Vec::with_capacity(per);
            let logits = push_chw(&shell, std::hint::black_box(frame), &mut chw).and_then(|()| {
                let x = Tensor::<4>::from_data(
                    TensorData::new(chw, [1, prepared.channels, H, W]),
                    &device,
                );
                values(net.forward(&arch, x, None))
            });
            match logits {
                Ok(logits) => burn_classes[k] = vigil_int8::reference::argmax(&logits),
                Err(e) => burn_err = Some(e),
            }
        }
    });
    if let Some(e) = burn_err {
        return Err(e);
    }
    let mut burn_err = None;
    let burn_model_us = time_per_frame(frames.len(), min_secs, || {
        for (k, cls) in burn_classes.iter_mut().enumerate() {
            let x = Tensor::<4>::from_data(
                TensorData::new(
                    prepared.inputs[k * per..(k + 1) * per].to_vec(),
                    [1, prepared.channels, H, W],
                ),
                &device,
            );
            match values(net.forward(&arch, x, None)) {
                Ok(logits) => *cls = vigil_int8::reference::argmax(&logits),
                Err(e) => burn_err = Some(e),
            }
        }
    });
    if let Some(e) = burn_err {
        return Err(e);
    }
    let idx: Vec<usize> = (0..frames.len()).collect();
    let burn_batched_us = time_per_frame(frames.len(), min_secs, || {
        for chunk in idx.chunks(64) {
            let x = prepared.inputs(chunk, None, &device);
            let _ = std::hint::black_box(values(net.forward(&arch, x, None)));
        }
    });
    let reference_us = time_per_frame(frames.len(), min_secs, || {
        for f in frames {
            let _ = std::hint::black_box(f32_model.forward(f));
        }
    });
    let agree = int8_classes
        .iter()
        .zip(&burn_classes)
        .filter(|(a, b)| a == b)
        .count();
    Ok(Latency {
        frames: frames.len(),
        int8_us,
        int8_kernel,
        int8_portable_us,
        int8_input_us,
        requants,
        requant_us,
        burn_us,
        burn_model_us,
        burn_batched_us,
        reference_us,
        agree,
    })
}

impl Latency {
    /// How many times faster the dispatched int8 kernel is than burn f32 per frame.
    pub fn ratio(&self) -> f64 {
        self.burn_us / self.int8_us
    }

    /// The host latency table as `vigil-train bench` prints it (every path of the same run,
    /// then the int8 vs burn ratio and the parts of the portable int8 time).
    pub fn table(&self) -> String {
        use std::fmt::Write as _;
        let mut t = String::new();
        let build = if cfg!(debug_assertions) {
            "DEBUG"
        } else {
            "release"
        };
        let _ = writeln!(
            t,
            "host latency per frame ({} frames, {build} build, same run)",
            self.frames
        );
        let _ = writeln!(t, "  {:<44} {:>10} {:>10}", "path", "µs/frame", "vs int8");
        let rows = [
            (
                format!("int8, {} kernel (dispatched)", self.int8_kernel),
                self.int8_us,
            ),
            (
                "int8, portable engine (the Pico's code)".to_string(),
                self.int8_portable_us,
            ),
            (
                "burn f32, ndarray, batch 1, per frame".to_string(),
                self.burn_us,
            ),
            (
                "burn f32, batch 1, model only".to_string(),
                self.burn_model_us,
            ),
            (
                "burn f32, ndarray, batch 64".to_string(),
                self.burn_batched_us,
            ),
            ("f32 reference (plain loops)".to_string(), self.reference_us),
        ];
        for (name, us) in rows {
            let _ = writeln!(t, "  {name:<44} {us:>10.2} {:>9.1}×", us / self.int8_us);
        }
        let _ = writeln!(
            t,
            "  int8 ({}) vs burn f32 per frame: {:.1}× faster (portable: {:.1}×)",
            self.int8_kernel,
            self.ratio(),
            self.burn_us / self.int8_portable_us
        );
        let _ = writeln!(
            t,
            "  int8 and burn f32 agree on {} / {} frames",
            self.agree, self.frames
        );
        let _ = writeln!(
            t,
            "  parts of the portable int8 time: input quantization {:.2} µs; its {} requantizations alone {:.2} µs",
            self.int8_input_us, self.requants, self.requant_us
        );
        t
    }
}
