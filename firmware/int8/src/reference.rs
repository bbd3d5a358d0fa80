//! The f32 reference of the same architecture (host only).
//!
//! Same layer set, same layouts (HWC tensors, conv weights `[out][kh][kw][in]`, depthwise
//! `[kh][kw][c]`, dense `[out][in]` over the HWC-flattened input), same output-size rules
//! ([`crate::shape`]). The trainer exports into [`F32Model`], the quantizer calibrates on
//! [`F32Model::forward_trace`], and reports compare its accuracy with the int8 engine's.

use crate::format::{ConvGeom, InputKind, PoolGeom};
use crate::shape::{conv_out, pool_out, Shape};

/// How an f32 input channel is derived from a frame in °C:
/// `r = clamp(T − [mean(frame)] − offset_c, clip_c) / scale`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct F32Input {
    /// Absolute or relative to the frame mean.
    pub kind: InputKind,
    /// °C subtracted.
    pub offset_c: f32,
    /// Divisor (> 0).
    pub scale: f32,
    /// The window `[lo, hi]` in °C (after the offset, before the scale) the value is clamped
    /// to, if any. A dead pixel at −40 °C or a 110 °C lamp then no longer sets the int8 input
    /// step: the quantizer maps the window exactly onto the int8 range, so the engine's
    /// saturation is this very clamp and int8 and f32 see the same inputs.
    pub clip_c: Option<(f32, f32)>,
}

/// Parameters of a convolution or dense layer.
#[derive(Clone, Debug, PartialEq)]
pub struct F32Affine {
    /// Output channels.
    pub out_c: usize,
    /// ReLU after the layer.
    pub relu: bool,
    /// Weights in the documented layout.
    pub weights: Vec<f32>,
    /// One bias per output channel.
    pub bias: Vec<f32>,
}

/// One f32 layer.
#[derive(Clone, Debug, PartialEq)]
pub enum F32Layer {
    /// Regular convolution.
    Conv2d(ConvGeom, F32Affine),
    /// Depthwise convolution.
    DepthwiseConv2d(ConvGeom, F32Affine),
    /// Max pooling.
    MaxPool(PoolGeom),
    /// Average pooling.
    AvgPool(PoolGeom),
    /// Global average pooling.
    GlobalAvgPool,
    /// Fully connected.
    Dense(F32Affine),
}

/// A float model of the int8 engine's architecture.
#[derive(Clone, Debug, PartialEq)]
pub struct F32Model {
    /// Frame rows.
    pub input_h: usize,
    /// Frame columns.
    pub input_w: usize,
    /// Input channels derived from the frame.
    pub inputs: Vec<F32Input>,
    /// Layers in order.
    pub layers: Vec<F32Layer>,
    /// Number of classes.
    pub n_classes: usize,
}

/// Why an f32 model or input is unusable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    /// A layer does not fit its input.
    #[error("layer {layer}: {what}")]
    BadLayer {
        /// Layer index.
        layer: usize,
        /// What is wrong.
        what: String,
    },
    /// The frame has the wrong number of readings.
    #[error("frame has {found} readings, the model expects {expected}")]
    FrameLength {
        /// Expected.
        expected: usize,
        /// Given.
        found: usize,
    },
    /// The model header is inconsistent.
    #[error("{0}")]
    BadModel(String),
}

impl F32Model {
    /// Shapes of every tensor (input first), checking every weight and bias count.
    pub fn shapes(&self) -> Result<Vec<Shape>, ReferenceError> {
        if self.inputs.is_empty() || self.inputs.len() > crate::MAX_INPUT_CHANNELS {
            return Err(ReferenceError::BadModel(format!(
                "{} input channels (1..=4 allowed)",
                self.inputs.len()
            )));
        }
        if self.inputs.iter().any(|i| {
            i.scale.is_nan() || i.scale <= 0.0 || !i.scale.is_finite() || !i.offset_c.is_finite()
        }) {
            return Err(ReferenceError::BadModel(
                "input scale must be positive and finite".into(),
            ));
        }
        if let Some((ch, (lo, hi))) = self
            .inputs
            .iter()
            .enumerate()
            .filter_map(|(ch, i)| i.clip_c.map(|w| (ch, w)))
            .find(|(_, (lo, hi))| !(lo.is_finite() && hi.is_finite() && lo < hi))
        {
            return Err(ReferenceError::BadModel(format!(
                "input channel {ch}: clip window {lo}..{hi} °C must be finite with lo < hi"
            )));
        }
        let mut shapes = vec![Shape {
            h: self.input_h,
            w: self.input_w,
            c: self.inputs.len(),
        }];
        for (i, layer) in self.layers.iter().enumerate() {
            let s = shapes[i];
            let bad = |what: &str| ReferenceError::BadLayer {
                layer: i,
                what: what.to_string(),
            };
            let check = |a: &F32Affine, n_weights: usize| {
                if a.weights.len() != n_weights {
                    return Err(bad(&format!(
                        "{} weights, expected {n_weights}",
                        a.weights.len()
                    )));
                }
                if a.bias.len() != a.out_c {
                    return Err(bad(&format!(
                        "{} biases, expected {}",
                        a.bias.len(),
                        a.out_c
                    )));
                }
                if a.weights.iter().chain(&a.bias).any(|v| !v.is_finite()) {
                    return Err(bad("non-finite parameter"));
                }
                Ok(())
            };
            let out = match layer {
                F32Layer::Conv2d(g, a) => {
                    check(a, a.out_c * usize::from(g.kh) * usize::from(g.kw) * s.c)?;
                    conv_out(s, a.out_c, *g).ok_or_else(|| bad("kernel does not fit"))?
                }
                F32Layer::DepthwiseConv2d(g, a) => {
                    if a.out_c != s.c {
                        return Err(bad("depthwise output channels must equal input channels"));
                    }
                    check(a, a.out_c * usize::from(g.kh) * usize::from(g.kw))?;
                    conv_out(s, a.out_c, *g).ok_or_else(|| bad("kernel does not fit"))?
                }
                F32Layer::MaxPool(g) | F32Layer::AvgPool(g) => {
                    pool_out(s, *g).ok_or_else(|| bad("window does not fit"))?
                }
                F32Layer::GlobalAvgPool => Shape { h: 1, w: 1, c: s.c },
                F32Layer::Dense(a) => {
                    check(a, a.out_c * s.len())?;
                    Shape {
                        h: 1,
                        w: 1,
                        c: a.out_c,
                    }
                }
            };
            shapes.push(out);
        }
        let last = shapes.last().map_or(0, |s| s.len());
        if last != self.n_classes {
            return Err(ReferenceError::BadModel(format!(
                "last layer gives {last} values for {} classes",
                self.n_classes
            )));
        }
        Ok(shapes)
    }

    /// Number of weights and biases.
    pub fn param_count(&self) -> usize {
        self.layers
            .iter()
            .map(|l| match l {
                F32Layer::Conv2d(_, a) | F32Layer::DepthwiseConv2d(_, a) | F32Layer::Dense(a) => {
                    a.weights.len() + a.bias.len()
                }
                _ => 0,
            })
            .sum()
    }

    /// The input tensor (HWC) for a frame in °C.
    pub fn input_tensor(&self, frame_c: &[f32]) -> Result<Vec<f32>, ReferenceError> {
        let pixels = self.input_h * self.input_w;
        if frame_c.len() != pixels {
            return Err(ReferenceError::FrameLength {
                expected: pixels,
                found: frame_c.len(),
            });
        }
        let mean = frame_c.iter().map(|&v| f64::from(v)).sum::<f64>() / pixels as f64;
        let c = self.inputs.len();
        let mut out = vec![0f32; pixels * c];
        for (ch, spec) in self.inputs.iter().enumerate() {
            let base = match spec.kind {
                InputKind::Absolute => f64::from(spec.offset_c),
                InputKind::MinusMean => f64::from(spec.offset_c) + mean,
            };
            let (lo, hi) = spec
                .clip_c
                .map_or((f64::NEG_INFINITY, f64::INFINITY), |(lo, hi)| {
                    (f64::from(lo), f64::from(hi))
                });
            for (p, &t) in frame_c.iter().enumerate() {
                let v = (f64::from(t) - base).clamp(lo, hi);
                out[p * c + ch] = (v / f64::from(spec.scale)) as f32;
            }
        }
        Ok(out)
    }

    /// Logits for a frame in °C.
    pub fn forward(&self, frame_c: &[f32]) -> Result<Vec<f32>, ReferenceError> {
        let mut trace = self.forward_trace(frame_c)?;
        Ok(trace.pop().unwrap_or_default())
    }

    /// Every tensor of a forward pass: the input tensor, then each layer's output.
    pub fn forward_trace(&self, frame_c: &[f32]) -> Result<Vec<Vec<f32>>, ReferenceError> {
        let shapes = self.shapes()?;
        let mut out = vec![self.input_tensor(frame_c)?];
        for (i, layer) in self.layers.iter().enumerate() {
            let next = run(layer, &out[i], shapes[i], shapes[i + 1]);
            out.push(next);
        }
        Ok(out)
    }
}

/// Softmax of logits (numerically stable).
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let e: Vec<f32> = logits.iter().map(|&v| (v - max).exp()).collect();
    let sum: f32 = e.iter().sum();
    e.iter().map(|v| v / sum).collect()
}

/// Classifies a frame in °C with the f32 reference: the class index (a model output index) and
/// the per-mille confidence of that class (softmax, rounded). This is the Pi's host-side
/// check of the Pico's int8 answer and the accuracy figure the tools report for f32 models.
pub fn classify(model: &F32Model, frame_c: &[f32]) -> Result<(usize, u16), ReferenceError> {
    let p = softmax(&model.forward(frame_c)?);
    let c = argmax(&p);
    Ok((c, (p[c] * 1000.0).round() as u16))
}

/// Index of the largest value (the first among equals).
pub fn argmax(values: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] {
            best = i;
        }
    }
    best
}

fn tap(o: usize, stride: u8, k: usize, pad: u8, size: usize) -> Option<usize> {
    (o * usize::from(stride) + k)
        .checked_sub(usize::from(pad))
        .filter(|&i| i < size)
}

/// Call `f(ky, kx, iy, ix)` for each tap of the kernel `g` at output `(oy, ox)` that falls
/// inside the input `s` (taps in the zero padding contribute nothing and are skipped).
fn for_each_tap(
    g: &ConvGeom,
    s: Shape,
    oy: usize,
    ox: usize,
    mut f: impl FnMut(usize, usize, usize, usize),
) {
    for ky in 0..usize::from(g.kh) {
        let Some(iy) = tap(oy, g.stride_h, ky, g.pad_h, s.h) else {
            continue;
        };
        for kx in 0..usize::from(g.kw) {
            if let Some(ix) = tap(ox, g.stride_w, kx, g.pad_w, s.w) {
                f(ky, kx, iy, ix);
            }
        }
    }
}

fn relu(v: f32, on: bool) -> f32 {
    if on {
        v.max(0.0)
    } else {
        v
    }
}

fn run(layer: &F32Layer, x: &[f32], s: Shape, d: Shape) -> Vec<f32> {
    let mut y = vec![0f32; d.len()];
    match layer {
        F32Layer::Conv2d(g, a) => {
            let (kh, kw) = (usize::from(g.kh), usize::from(g.kw));
            for oy in 0..d.h {
                for ox in 0..d.w {
                    for oc in 0..d.c {
                        let mut acc = a.bias[oc];
                        for_each_tap(g, s, oy, ox, |ky, kx, iy, ix| {
                            for c in 0..s.c {
                                acc += a.weights[((oc * kh + ky) * kw + kx) * s.c + c]
                                    * x[(iy * s.w + ix) * s.c + c];
                            }
                        });
                        y[(oy * d.w + ox) * d.c + oc] = relu(acc, a.relu);
                    }
                }
            }
        }
        F32Layer::DepthwiseConv2d(g, a) => {
            let kw = usize::from(g.kw);
            for oy in 0..d.h {
                for ox in 0..d.w {
                    for c in 0..d.c {
                        let mut acc = a.bias[c];
                        for_each_tap(g, s, oy, ox, |ky, kx, iy, ix| {
                            acc +=
                                a.weights[(ky * kw + kx) * d.c + c] * x[(iy * s.w + ix) * s.c + c];
                        });
                        y[(oy * d.w + ox) * d.c + c] = relu(acc, a.relu);
                    }
                }
            }
        }
        F32Layer::MaxPool(g) | F32Layer::AvgPool(g) => {
            let avg = matches!(layer, F32Layer::AvgPool(_));
            let (kh, kw) = (usize::from(g.kh), usize::from(g.kw));
            for oy in 0..d.h {
                for ox in 0..d.w {
                    for c in 0..d.c {
                        let (mut max, mut sum) = (f32::NEG_INFINITY, 0f32);
                        for ky in 0..kh {
                            for kx in 0..kw {
                                let iy = oy * usize::from(g.stride_h) + ky;
                                let ix = ox * usize::from(g.stride_w) + kx;
                                let v = x[(iy * s.w + ix) * s.c + c];
                                max = max.max(v);
                                sum += v;
                            }
                        }
                        y[(oy * d.w + ox) * d.c + c] =
                            if avg { sum / (kh * kw) as f32 } else { max };
                    }
                }
            }
        }
        F32Layer::GlobalAvgPool => {
            for (c, out) in y.iter_mut().enumerate() {
                let sum: f32 = (0..s.h * s.w).map(|p| x[p * s.c + c]).sum();
                *out = sum / (s.h * s.w) as f32;
            }
        }
        F32Layer::Dense(a) => {
            let n = x.len();
            for (o, out) in y.iter_mut().enumerate() {
                let mut acc = a.bias[o];
                for (i, &v) in x.iter().enumerate() {
                    acc += a.weights[o * n + i] * v;
                }
                *out = relu(acc, a.relu);
            }
        }
    }
    y
}
