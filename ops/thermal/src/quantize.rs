//! Post-training quantization of an f32 model into the int8 model format.
//!
//! Linear quantization as in the seed: `S = (rmax − rmin) / (qmax − qmin)`,
//! `Z = round(qmax − rmax / S)`, `q = clamp(round(r / S) + Z)`, with `[qmin, qmax] = [−128, 127]`.
//! Weights are symmetric (`Z = 0`, `S = max|w| / 127`) per tensor or per output channel;
//! activations are asymmetric, their range `[rmin, rmax]` (always containing 0) calibrated on
//! sample frames by one of [`Method`]. Biases become int32 in accumulator units
//! (`S_in · S_w`), and each output channel gets the fixed-point multiplier
//! `M = S_in · S_w / S_out`. Pooling layers keep their input's scale and zero point.
//!
//! The input tensor gets one scale per input channel, each over that channel's own range,
//! with one shared zero point (the format has one; [`calibrate_inputs`]); the scale ratios
//! between channels are folded into the first layer's weights before they are quantized.
//!
//! With `kmeans_bits`, each layer's weights are first clustered into `2^bits` centroids
//! (1-D k-means), and the file stores bit-packed indices into an int8 codebook.

use vigil_int8::encode::{
    encode, softmax_table, EncodeError, QAffine, QLayer, QWeights, QuantModel,
};
use vigil_int8::reference::{F32Affine, F32Layer, F32Model, ReferenceError};
use vigil_int8::{InputChannel, QuantMultiplier, Shape};

/// How activation ranges are calibrated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    /// Smallest and largest value over the calibration set.
    MinMax,
    /// Per-frame min/max smoothed with an exponential moving average (α = 0.9).
    Ema,
    /// The 0.01 % and 99.99 % percentiles.
    Percentile,
    /// The clipping range that minimises the mean squared quantization error.
    Mse,
    /// The clipping threshold that minimises the KL divergence between the value histogram
    /// and its quantized version (TensorRT-style).
    Kl,
}

impl std::str::FromStr for Method {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "minmax" => Ok(Method::MinMax),
            "ema" => Ok(Method::Ema),
            "percentile" => Ok(Method::Percentile),
            "mse" => Ok(Method::Mse),
            "kl" => Ok(Method::Kl),
            other => Err(format!(
                "unknown method `{other}` (minmax, ema, percentile, mse, kl)"
            )),
        }
    }
}

/// Weight scale granularity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Granularity {
    /// One scale per layer.
    Tensor,
    /// One scale per output channel.
    Channel,
}

impl std::str::FromStr for Granularity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "tensor" => Ok(Granularity::Tensor),
            "channel" => Ok(Granularity::Channel),
            other => Err(format!("unknown granularity `{other}` (tensor, channel)")),
        }
    }
}

/// Quantizer settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Options {
    /// Activation calibration.
    pub method: Method,
    /// Weight scale granularity (codebooks force one scale per layer).
    pub granularity: Granularity,
    /// k-means codebook width (2, 4 or 8 bits), or plain int8 weights.
    pub kmeans_bits: Option<u8>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            method: Method::MinMax,
            granularity: Granularity::Channel,
            kmeans_bits: None,
        }
    }
}

/// Why quantization failed.
#[derive(Debug, thiserror::Error)]
pub enum QuantizeError {
    /// The f32 model or a calibration frame is unusable.
    #[error("{0}")]
    Reference(#[from] ReferenceError),
    /// No calibration frames.
    #[error("no calibration frames")]
    NoCalibration,
    /// A codebook width other than 2, 4 or 8.
    #[error("k-means bits must be 2, 4 or 8, not {0}")]
    BadBits(u8),
    /// A scale ratio the fixed-point multiplier cannot hold.
    #[error("layer {layer}: requantization factor {factor} is out of range")]
    Multiplier {
        /// Layer index.
        layer: usize,
        /// The real factor.
        factor: f64,
    },
    /// The result does not encode.
    #[error("{0}")]
    Encode(#[from] EncodeError),
    /// An input channel's clip window cannot be the int8 range.
    #[error("input channel {channel}: {what}")]
    ClipWindow {
        /// Input channel index.
        channel: usize,
        /// What is wrong.
        what: String,
    },
}

/// Scale and zero point of one tensor.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TensorQuant {
    /// Real value of one step.
    pub scale: f64,
    /// The integer that stands for real 0.
    pub zero_point: i8,
}

impl TensorQuant {
    /// `S` and `Z` for a range (widened to contain 0, never empty).
    pub fn from_range(rmin: f64, rmax: f64) -> Self {
        let (mut lo, mut hi) = (rmin.min(0.0), rmax.max(0.0));
        if hi - lo < 1e-6 {
            hi = lo + 1e-6;
            lo = lo.min(0.0);
        }
        let scale = (hi - lo) / 255.0;
        let z = (127.0 - hi / scale).round().clamp(-128.0, 127.0);
        TensorQuant {
            scale,
            zero_point: z as i8,
        }
    }
}

/// The result: the int8 model and the quantization chosen for every tensor.
#[derive(Clone, Debug)]
pub struct Quantized {
    /// The model description.
    pub model: QuantModel,
    /// The encoded model file.
    pub bytes: Vec<u8>,
    /// Scale and zero point of tensor `i` (0 = input, `i + 1` = output of layer `i`). The
    /// input tensor's entry is that of its channel 0; see `input_channels`.
    pub tensors: Vec<TensorQuant>,
    /// Scale (and the shared zero point) of each input channel (see [`calibrate_inputs`]).
    pub input_channels: Vec<TensorQuant>,
}

/// Quantizes `model` with activation ranges calibrated on `calib` (frames in °C).
pub fn quantize(
    model: &F32Model,
    calib: &[Vec<f32>],
    opts: Options,
) -> Result<Quantized, QuantizeError> {
    if calib.is_empty() {
        return Err(QuantizeError::NoCalibration);
    }
    if let Some(b) = opts.kmeans_bits {
        if !matches!(b, 2 | 4 | 8) {
            return Err(QuantizeError::BadBits(b));
        }
    }
    let shapes = model.shapes()?;
    let ranges = calibrate(model, calib, opts.method)?;
    let input_channels = calibrate_inputs(model, calib)?;
    // Tensor quantization; pooling outputs inherit their input's. The input tensor's scale
    // is channel 0's; the other channels' scale ratios are folded into the first weights.
    let mut tensors: Vec<TensorQuant> = Vec::with_capacity(ranges.len());
    tensors.push(input_channels[0]);
    for (i, layer) in model.layers.iter().enumerate() {
        let q = match layer {
            F32Layer::MaxPool(_) | F32Layer::AvgPool(_) | F32Layer::GlobalAvgPool => tensors[i],
            _ => TensorQuant::from_range(ranges[i + 1].0, ranges[i + 1].1),
        };
        tensors.push(q);
    }
    let input_q = tensors[0];
    let inputs = model
        .inputs
        .iter()
        .zip(&input_channels)
        .map(|(spec, q)| {
            let factor = 1.0 / (100.0 * f64::from(spec.scale) * q.scale);
            let requant = QuantMultiplier::from_real(factor)
                .ok_or(QuantizeError::Multiplier { layer: 0, factor })?;
            Ok(InputChannel {
                kind: spec.kind,
                offset_centi: (f64::from(spec.offset_c) * 100.0).round() as i32,
                requant,
            })
        })
        .collect::<Result<Vec<_>, QuantizeError>>()?;
    let folded = fold_input_scales(model, &input_channels);
    let mut layers = Vec::with_capacity(model.layers.len());
    for (i, layer) in folded.layers.iter().enumerate() {
        let (s_in, s_out) = (tensors[i], tensors[i + 1]);
        let q = match layer {
            F32Layer::Conv2d(g, a) => {
                QLayer::Conv2d(*g, affine(i, a, shapes[i], s_in, s_out, opts)?)
            }
            F32Layer::DepthwiseConv2d(g, a) => {
                QLayer::DepthwiseConv2d(*g, affine_depthwise(i, a, s_in, s_out, opts)?)
            }
            F32Layer::Dense(a) => QLayer::Dense(affine(i, a, shapes[i], s_in, s_out, opts)?),
            F32Layer::MaxPool(g) => QLayer::MaxPool(*g),
            F32Layer::AvgPool(g) => QLayer::AvgPool(*g),
            F32Layer::GlobalAvgPool => QLayer::GlobalAvgPool,
        };
        layers.push(q);
    }
    let out_q = tensors[tensors.len() - 1];
    let qm = QuantModel {
        input_h: model.input_h as u16,
        input_w: model.input_w as u16,
        input_zero_point: input_q.zero_point,
        inputs,
        n_classes: model.n_classes as u8,
        softmax_table: softmax_table(out_q.scale),
        layers,
    };
    let bytes = encode(&qm)?;
    Ok(Quantized {
        model: qm,
        bytes,
        tensors,
        input_channels,
    })
}

/// Per-input-channel quantization (model units), all with one zero point (the format shares
/// it).
///
/// A channel with a clip window (`F32Input::clip_c`) gets exactly that window, divided by
/// its scale: the int8 range `[−128, 127]` then stands for `[lo, hi]`, so the engine's
/// saturation is the f32 reference's clamp and both see the same inputs. That needs the one
/// zero point `z = (128·hi + 127·lo) / (lo − hi)` to be an integer shared by every clipped
/// channel (windows with the same `lo / hi` ratio, e.g. −10…+20 °C and −20…+40 °C give
/// −43); otherwise the quantizer refuses the model ([`QuantizeError::ClipWindow`]).
///
/// A channel without one has its own minimum and maximum over the calibration frames (with 0
/// inside it), and when no channel is clipped the zero point is the one that minimises the
/// product of the channels' steps, so a channel with a narrow range (the absolute temperature
/// one) keeps its own fine steps instead of the widest channel's. Such a window is never
/// clipped by the quantizer alone: without the clamp in the f32 model, int8 and f32 would
/// disagree on exactly the frames with dead pixels or lamps (tried with 0.3 % clipped each
/// side: the int8 drop before fine-tuning grew from 3.7 to 8.6 pp; see docs/thermal.md).
pub fn calibrate_inputs(
    model: &F32Model,
    calib: &[Vec<f32>],
) -> Result<Vec<TensorQuant>, QuantizeError> {
    let c = model.inputs.len().max(1);
    let mut ranges = vec![(0f64, 0f64); c];
    for frame in calib {
        for (i, &v) in model.input_tensor(frame)?.iter().enumerate() {
            let (lo, hi) = &mut ranges[i % c];
            *lo = lo.min(f64::from(v));
            *hi = hi.max(f64::from(v));
        }
    }
    let windows: Vec<(f64, f64)> = ranges
        .into_iter()
        .map(|(lo, hi)| (lo, if hi - lo < 1e-6 { lo + 1e-6 } else { hi }))
        .collect();
    let step = |z: i32, (lo, hi): (f64, f64)| {
        (hi / f64::from(127 - z))
            .max(-lo / f64::from(z + 128))
            .max(1e-9)
    };
    let mut clipped = model
        .inputs
        .iter()
        .enumerate()
        .filter_map(|(ch, i)| i.clip_c.map(|w| (ch, w)));
    let z = match clipped.next() {
        Some((ch, (lo, hi))) => {
            let z = clip_zero_point(ch, lo, hi)?;
            for (ch, (lo, hi)) in clipped {
                if clip_zero_point(ch, lo, hi)? != z {
                    return Err(QuantizeError::ClipWindow {
                        channel: ch,
                        what: format!(
                            "window {lo}..{hi} °C needs another zero point than channel 0's; \
                             give every clipped channel the same lo/hi ratio"
                        ),
                    });
                }
            }
            z
        }
        None => {
            let mut best = (f64::INFINITY, 0i32);
            for z in -127..=126 {
                let cost: f64 = windows.iter().map(|&w| step(z, w).ln()).sum();
                if cost < best.0 {
                    best = (cost, z);
                }
            }
            best.1
        }
    };
    Ok(model
        .inputs
        .iter()
        .zip(&windows)
        .map(|(input, &w)| TensorQuant {
            scale: match input.clip_c {
                // Exactly `hi / (127 − z)` = `−lo / (z + 128)`, in model units.
                Some((lo, hi)) => {
                    let (lo, hi) = (f64::from(lo), f64::from(hi));
                    (hi - lo) / 255.0 / f64::from(input.scale)
                }
                None => step(z, w),
            },
            zero_point: z as i8,
        })
        .collect())
}

/// The zero point that maps the clip window `[lo, hi]` exactly onto `[−128, 127]`.
fn clip_zero_point(channel: usize, lo: f32, hi: f32) -> Result<i32, QuantizeError> {
    let (lo, hi) = (f64::from(lo), f64::from(hi));
    let z = (128.0 * hi + 127.0 * lo) / (lo - hi);
    let rounded = z.round();
    if !(lo < hi && lo <= 0.0 && hi >= 0.0) || (z - rounded).abs() > 1e-3 {
        return Err(QuantizeError::ClipWindow {
            channel,
            what: format!(
                "window {lo}..{hi} °C must hold 0 and map onto −128..127 with an integer zero \
                 point (it needs {z:.3})"
            ),
        });
    }
    Ok(rounded as i32)
}

/// `model` with the input channels' scale ratios `S_c / S_0` folded into the weights of the
/// first weighted layer (only pooling, which keeps channels apart, may come before it), so
/// that its integer inputs, each on its own channel's grid, can share the scale `S_0`.
fn fold_input_scales(model: &F32Model, inputs: &[TensorQuant]) -> F32Model {
    let mut out = model.clone();
    let Some(first) = inputs.first() else {
        return out;
    };
    let ratios: Vec<f32> = inputs
        .iter()
        .map(|q| (q.scale / first.scale) as f32)
        .collect();
    let c = ratios.len();
    for layer in &mut out.layers {
        match layer {
            F32Layer::Conv2d(_, a) | F32Layer::DepthwiseConv2d(_, a) | F32Layer::Dense(a) => {
                // Every layout keeps the input channel as the fastest index.
                for (i, w) in a.weights.iter_mut().enumerate() {
                    *w *= ratios[i % c];
                }
                break;
            }
            F32Layer::MaxPool(_) | F32Layer::AvgPool(_) | F32Layer::GlobalAvgPool => {}
        }
    }
    out
}

/// Weights of one output channel are `weights[oc * per .. (oc + 1) * per]` for conv/dense.
fn affine(
    layer: usize,
    a: &F32Affine,
    input: Shape,
    s_in: TensorQuant,
    s_out: TensorQuant,
    opts: Options,
) -> Result<QAffine, QuantizeError> {
    let per = a.weights.len() / a.out_c.max(1);
    let _ = input;
    let channel_of = |i: usize| i / per.max(1);
    build(layer, a, per, &channel_of, s_in, s_out, opts)
}

/// Depthwise weights are `[kh][kw][c]`: the channel is the fastest index.
fn affine_depthwise(
    layer: usize,
    a: &F32Affine,
    s_in: TensorQuant,
    s_out: TensorQuant,
    opts: Options,
) -> Result<QAffine, QuantizeError> {
    let c = a.out_c.max(1);
    let channel_of = |i: usize| i % c;
    build(
        layer,
        a,
        a.weights.len() / c,
        &channel_of,
        s_in,
        s_out,
        opts,
    )
}

fn build(
    layer: usize,
    a: &F32Affine,
    terms: usize,
    channel_of: &dyn Fn(usize) -> usize,
    s_in: TensorQuant,
    s_out: TensorQuant,
    opts: Options,
) -> Result<QAffine, QuantizeError> {
    let n = a.out_c;
    // Optionally cluster first; the clustered values are then quantized like any weights.
    let (values, clusters) = match opts.kmeans_bits {
        Some(bits) => {
            let (centroids, labels) = kmeans_1d(&a.weights, 1usize << bits);
            (
                labels
                    .iter()
                    .map(|&l| centroids[usize::from(l)])
                    .collect::<Vec<f32>>(),
                Some((bits, centroids, labels)),
            )
        }
        None => (a.weights.clone(), None),
    };
    let per_channel = opts.granularity == Granularity::Channel && clusters.is_none();
    let mut max_abs = vec![0f32; if per_channel { n } else { 1 }];
    for (i, &w) in values.iter().enumerate() {
        let slot = if per_channel { channel_of(i) } else { 0 };
        max_abs[slot] = max_abs[slot].max(w.abs());
    }
    let s_w: Vec<f64> = max_abs
        .iter()
        .map(|&m| if m > 0.0 { f64::from(m) / 127.0 } else { 1.0 })
        .collect();
    let scale_of = |ch: usize| s_w[if per_channel { ch } else { 0 }];
    let q = |w: f32, s: f64| (f64::from(w) / s).round().clamp(-127.0, 127.0) as i8;
    let weights = match clusters {
        Some((bits, centroids, labels)) => QWeights::Codebook {
            bits,
            codebook: centroids.iter().map(|&c| q(c, s_w[0])).collect(),
            indices: labels,
        },
        None => QWeights::Plain(
            values
                .iter()
                .enumerate()
                .map(|(i, &w)| q(w, scale_of(channel_of(i))))
                .collect(),
        ),
    };
    // Keep the accumulator bound the engine checks: |bias| + terms · 255 · 128 ≤ i32::MAX.
    let bias_limit = (f64::from(i32::MAX) - (terms as f64) * 255.0 * 128.0).max(0.0);
    let bias = (0..n)
        .map(|ch| {
            (f64::from(a.bias[ch]) / (s_in.scale * scale_of(ch)))
                .round()
                .clamp(-bias_limit, bias_limit) as i32
        })
        .collect();
    let requant = (0..if per_channel { n } else { 1 })
        .map(|ch| {
            let factor = s_in.scale * scale_of(ch) / s_out.scale;
            QuantMultiplier::from_real(factor).ok_or(QuantizeError::Multiplier { layer, factor })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(QAffine {
        out_c: n as u16,
        relu: a.relu,
        out_zero_point: s_out.zero_point,
        weights,
        bias,
        requant,
    })
}

/// 1-D k-means with `k` centroids started evenly between min and max; returns the
/// centroids and each value's index. Deterministic.
pub fn kmeans_1d(values: &[f32], k: usize) -> (Vec<f32>, Vec<u8>) {
    let (lo, hi) = values
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &v| {
            (l.min(v), h.max(v))
        });
    if values.is_empty() || !lo.is_finite() {
        return (vec![0.0; k], vec![]);
    }
    let mut c: Vec<f32> = (0..k)
        .map(|i| lo + (hi - lo) * (i as f32 + 0.5) / k as f32)
        .collect();
    let mut labels = vec![0u8; values.len()];
    for _ in 0..50 {
        let mut sums = vec![0f64; k];
        let mut counts = vec![0usize; k];
        let mut moved = false;
        for (v, l) in values.iter().zip(labels.iter_mut()) {
            let best = nearest(&c, *v);
            moved |= usize::from(*l) != best;
            *l = best as u8;
            sums[best] += f64::from(*v);
            counts[best] += 1;
        }
        for i in 0..k {
            if counts[i] > 0 {
                c[i] = (sums[i] / counts[i] as f64) as f32;
            }
        }
        if !moved {
            break;
        }
    }
    (c, labels)
}

fn nearest(c: &[f32], v: f32) -> usize {
    let mut best = 0;
    for (i, &x) in c.iter().enumerate() {
        if (x - v).abs() < (c[best] - v).abs() {
            best = i;
        }
    }
    best
}

/// Calibrated `(rmin, rmax)` of every tensor. With the histogram methods (percentile, MSE,
/// KL) the input tensor and the logits keep their min–max range; the clipping methods apply
/// to the hidden activations.
pub fn calibrate(
    model: &F32Model,
    calib: &[Vec<f32>],
    method: Method,
) -> Result<Vec<(f64, f64)>, QuantizeError> {
    // Pass 1: per-frame min/max of every tensor.
    let n_tensors = model.layers.len() + 1;
    let mut per_frame: Vec<Vec<(f64, f64)>> = vec![Vec::with_capacity(calib.len()); n_tensors];
    for frame in calib {
        for (t, values) in model.forward_trace(frame)?.iter().enumerate() {
            let (lo, hi) = values
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| {
                    (l.min(f64::from(v)), h.max(f64::from(v)))
                });
            per_frame[t].push((lo, hi));
        }
    }
    let global: Vec<(f64, f64)> = per_frame
        .iter()
        .map(|f| {
            f.iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &(a, b)| {
                    (l.min(a), h.max(b))
                })
        })
        .collect();
    match method {
        Method::MinMax => return Ok(global),
        Method::Ema => {
            return Ok(per_frame
                .iter()
                .map(|f| {
                    let mut r = f[0];
                    for &(lo, hi) in &f[1..] {
                        r = (0.9 * r.0 + 0.1 * lo, 0.9 * r.1 + 0.1 * hi);
                    }
                    r
                })
                .collect())
        }
        _ => {}
    }
    // Pass 2: histograms over the global range.
    const BINS: usize = 2048;
    let mut hists = vec![vec![0u64; BINS]; n_tensors];
    for frame in calib {
        for (t, values) in model.forward_trace(frame)?.iter().enumerate() {
            let (lo, hi) = global[t];
            let width = ((hi - lo) / BINS as f64).max(1e-12);
            for &v in values {
                let b = ((f64::from(v) - lo) / width)
                    .floor()
                    .clamp(0.0, (BINS - 1) as f64) as usize;
                hists[t][b] += 1;
            }
        }
    }
    let last = n_tensors - 1;
    Ok(hists
        .iter()
        .zip(&global)
        .enumerate()
        .map(|(t, (h, &(lo, hi)))| {
            let hist = Histogram { counts: h, lo, hi };
            if t == 0 || t == last {
                // The input keeps its full range (rare hot or cold pixels are what objects
                // look like), and so do the logits (clipping them could change the winner).
                return (lo, hi);
            }
            match method {
                Method::Percentile => (hist.quantile(0.0001), hist.quantile(0.9999)),
                Method::Mse => hist.best_mse(),
                _ => hist.best_kl(),
            }
        })
        .collect())
}

struct Histogram<'a> {
    counts: &'a [u64],
    lo: f64,
    hi: f64,
}

impl Histogram<'_> {
    fn width(&self) -> f64 {
        ((self.hi - self.lo) / self.counts.len() as f64).max(1e-12)
    }

    fn center(&self, b: usize) -> f64 {
        self.lo + (b as f64 + 0.5) * self.width()
    }

    fn quantile(&self, q: f64) -> f64 {
        let total: u64 = self.counts.iter().sum();
        let target = (q * total as f64).ceil() as u64;
        let mut acc = 0;
        for (b, &c) in self.counts.iter().enumerate() {
            acc += c;
            if acc >= target.max(1) {
                return self.center(b);
            }
        }
        self.hi
    }

    /// Mean squared error of quantizing every value into `[rmin, rmax]`.
    fn mse(&self, rmin: f64, rmax: f64) -> f64 {
        let q = TensorQuant::from_range(rmin, rmax);
        let (qlo, qhi) = (
            f64::from(-128i32 - i32::from(q.zero_point)) * q.scale,
            f64::from(127 - i32::from(q.zero_point)) * q.scale,
        );
        let mut err = 0.0;
        for (b, &c) in self.counts.iter().enumerate() {
            if c == 0 {
                continue;
            }
            let x = self.center(b);
            let deq = ((x / q.scale).round() * q.scale).clamp(qlo, qhi);
            err += c as f64 * (x - deq).powi(2);
        }
        err
    }

    fn best_mse(&self) -> (f64, f64) {
        let mut best = (self.lo, self.hi);
        let mut best_err = self.mse(self.lo, self.hi);
        for i in 1..60 {
            let f = 1.0 - i as f64 * 0.0125;
            let cand = (self.lo * f, self.hi * f);
            let e = self.mse(cand.0, cand.1);
            if e < best_err {
                best_err = e;
                best = cand;
            }
        }
        best
    }

    /// KL-optimal clipping of the side with the larger magnitude (the other side scales with it).
    fn best_kl(&self) -> (f64, f64) {
        let n = self.counts.len();
        let levels = 255usize;
        let mut best_i = n;
        let mut best_kl = f64::INFINITY;
        // Clip the upper end at bin i (for ReLU outputs lo = 0, the usual case).
        let mut i = levels.max(n / 16);
        while i <= n {
            let mut p: Vec<f64> = self.counts[..i].iter().map(|&c| c as f64).collect();
            let outliers: f64 = self.counts[i..].iter().map(|&c| c as f64).sum();
            if let Some(last) = p.last_mut() {
                *last += outliers;
            }
            let total: f64 = p.iter().sum();
            if total > 0.0 {
                // Q: the clipped histogram without the outliers, merged into `levels` groups,
                // each group's mass spread over its non-empty bins.
                let clipped: Vec<f64> = self.counts[..i].iter().map(|&c| c as f64).collect();
                let mut qd = vec![0f64; i];
                for g in 0..levels {
                    let (a, b) = (
                        g * i / levels,
                        ((g + 1) * i / levels).max(g * i / levels + 1).min(i),
                    );
                    let mass: f64 = clipped[a..b].iter().sum();
                    let nonzero = p[a..b].iter().filter(|&&v| v > 0.0).count();
                    for j in a..b {
                        if p[j] > 0.0 {
                            qd[j] = mass / nonzero as f64;
                        }
                    }
                }
                let qt: f64 = qd.iter().sum();
                let mut kl = 0.0;
                for j in 0..i {
                    if p[j] > 0.0 && qd[j] > 0.0 {
                        let (pj, qj) = (p[j] / total, qd[j] / qt);
                        kl += pj * (pj / qj).ln();
                    }
                }
                if kl < best_kl {
                    best_kl = kl;
                    best_i = i;
                }
            }
            i += (n / 64).max(1);
        }
        let hi = (self.lo + best_i as f64 * self.width()).max(0.0);
        // A negative side (signed tensors) is clipped by the same fraction as the positive one.
        let ratio = if self.hi > 0.0 {
            (hi / self.hi).clamp(0.0, 1.0)
        } else {
            1.0
        };
        (
            if self.lo < 0.0 {
                self.lo * ratio
            } else {
                self.lo
            },
            hi,
        )
    }
}

/// Model size summary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SizeReport {
    /// Bytes of the int8 model file.
    pub int8_bytes: usize,
    /// Bytes of the parameters as f32.
    pub f32_bytes: usize,
    /// Parameters (weights and biases).
    pub params: usize,
}

/// Sizes of the f32 model and its int8 file.
pub fn size_report(model: &F32Model, q: &Quantized) -> SizeReport {
    let params = model.param_count();
    SizeReport {
        int8_bytes: q.bytes.len(),
        f32_bytes: params * 4,
        params,
    }
}
