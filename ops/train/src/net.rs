//! The burn side of the network: parameters, forward pass (optionally with fake quantization),
//! and the exact conversion to and from vigil's f32 model.
//!
//! burn works in NCHW with conv weights `[out][in][kh][kw]`; vigil works in HWC with conv
//! weights `[out][kh][kw][in]`, depthwise weights `[kh][kw][c]` and dense weights over the
//! HWC-flattened input. [`Net::to_f32`] and [`Net::from_f32`] permute between the two, so a
//! round trip is bit-exact and both forwards compute the same function.

use burn::module::{Module, Param};
use burn::tensor::activation::relu;
use burn::tensor::module::{avg_pool2d, conv2d, max_pool2d};
use burn::tensor::ops::{AvgPoolOptions, ConvOptions, MaxPoolOptions};
use burn::tensor::{Device, Tensor, TensorData};
use vigil_int8::reference::{F32Affine, F32Layer, F32Model};
use vigil_int8::{ConvGeom, PoolGeom, Shape};
use vigil_scenes::Rng;
use vigil_thermal::quantize::TensorQuant;

use crate::arch::{Arch, Block, CLASSES, H, W};
use crate::TrainError;

/// Weights and bias of one convolution, depthwise convolution or dense layer.
///
/// The weight is `[out, in / groups, kh, kw]`; a dense layer is stored as `[out, in, 1, 1]`
/// with `in` in burn's CHW flattening order.
#[derive(Module, Debug)]
pub struct Affine {
    /// Weight tensor.
    pub weight: Param<Tensor<4>>,
    /// One bias per output.
    pub bias: Param<Tensor<1>>,
}

/// The trainable network: one [`Affine`] per weighted block of its [`Arch`], in order.
#[derive(Module, Debug)]
pub struct Net {
    /// Weighted layers in plan order.
    pub layers: Vec<Affine>,
}

/// Fake quantization for quantization-aware training: activations are rounded to the int8
/// grid the quantizer chose, weights to symmetric int8 with scales recomputed every step
/// exactly as the quantizer computes them (`max |w| / 127`), with straight-through gradients.
#[derive(Clone, Debug, PartialEq)]
pub struct FakeQuant {
    /// Scale and zero point of tensor `i` (0 = input, `i + 1` = output of block `i`).
    pub tensors: Vec<TensorQuant>,
    /// Scale and zero point of each input channel (the quantizer's `input_channels`); the
    /// input is rounded per channel with these instead of `tensors[0]`.
    pub inputs: Vec<TensorQuant>,
    /// One weight scale per output channel (else one per layer).
    pub per_channel: bool,
}

/// The burn weight shape of each weighted block: `[out, in / groups, kh, kw]`.
fn weight_shapes(arch: &Arch) -> Result<Vec<[usize; 4]>, TrainError> {
    let shapes = arch.shapes()?;
    Ok(arch
        .blocks
        .iter()
        .enumerate()
        .filter_map(|(i, b)| {
            let s = shapes[i];
            match b {
                Block::Conv { geom, out_c, .. } => {
                    Some([*out_c, s.c, usize::from(geom.kh), usize::from(geom.kw)])
                }
                Block::Depthwise { geom, .. } => {
                    Some([s.c, 1, usize::from(geom.kh), usize::from(geom.kw)])
                }
                Block::Dense { out, .. } => Some([*out, s.len(), 1, 1]),
                _ => None,
            }
        })
        .collect())
}

fn param4(values: Vec<f32>, shape: [usize; 4], device: &Device) -> Param<Tensor<4>> {
    Param::from_data(TensorData::new(values, shape), device)
}

fn param1(values: Vec<f32>, device: &Device) -> Param<Tensor<1>> {
    let n = values.len();
    Param::from_data(TensorData::new(values, [n]), device)
}

/// Values of a tensor as a flat `Vec<f32>` (row-major in its own layout).
pub fn values<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>, TrainError> {
    t.into_data()
        .try_into_vec::<f32>()
        .map_err(|e| TrainError::Burn(format!("{e:?}")))
}

impl Net {
    /// Fresh weights for `arch`: He-uniform (`±√(6 / fan_in)`) for layers followed by ReLU,
    /// `±√(1 / fan_in)` for the others, zero biases, all drawn from a generator seeded with
    /// `seed` (burn's own generator is not used, so the start is the same on every run).
    pub fn init(arch: &Arch, seed: u64, device: &Device) -> Result<Self, TrainError> {
        let mut rng = Rng::new(seed ^ 0x1A17_0000);
        let shapes = weight_shapes(arch)?;
        let relus = arch.blocks.iter().filter_map(|b| match b {
            Block::Conv { relu, .. }
            | Block::Depthwise { relu, .. }
            | Block::Dense { relu, .. } => Some(*relu),
            _ => None,
        });
        let layers = shapes
            .iter()
            .zip(relus)
            .map(|(&shape, relu)| {
                let fan_in = (shape[1] * shape[2] * shape[3]).max(1) as f32;
                let bound = if relu {
                    (6.0 / fan_in).sqrt()
                } else {
                    (1.0 / fan_in).sqrt()
                };
                let n: usize = shape.iter().product();
                let w = (0..n).map(|_| rng.uniform(-bound, bound)).collect();
                Affine {
                    weight: param4(w, shape, device),
                    bias: param1(vec![0.0; shape[0]], device),
                }
            })
            .collect();
        Ok(Net { layers })
    }

    /// The network of an f32 model (its plan is [`Arch::of_model`]).
    pub fn from_f32(model: &F32Model, device: &Device) -> Result<(Arch, Self), TrainError> {
        let arch = Arch::of_model(model)?;
        model.shapes()?;
        let shapes = arch.shapes()?;
        let wshapes = weight_shapes(&arch)?;
        let mut layers = Vec::with_capacity(wshapes.len());
        let mut k = 0;
        for (i, layer) in model.layers.iter().enumerate() {
            let s = shapes[i];
            let (a, w) = match layer {
                F32Layer::Conv2d(g, a) => (
                    a,
                    relayout(&a.weights, conv_pairs(a.out_c, s.c, *g), Dir::FromVigil),
                ),
                F32Layer::DepthwiseConv2d(g, a) => (
                    a,
                    relayout(&a.weights, depthwise_pairs(s.c, *g), Dir::FromVigil),
                ),
                F32Layer::Dense(a) => (
                    a,
                    relayout(&a.weights, dense_pairs(a.out_c, s), Dir::FromVigil),
                ),
                _ => continue,
            };
            layers.push(Affine {
                weight: param4(w, wshapes[k], device),
                bias: param1(a.bias.clone(), device),
            });
            k += 1;
        }
        Ok((arch, Net { layers }))
    }

    /// The f32 model of this network (vigil layouts).
    pub fn to_f32(&self, arch: &Arch) -> Result<F32Model, TrainError> {
        let shapes = arch.shapes()?;
        let mut params = self.layers.iter();
        let mut layers = Vec::with_capacity(arch.blocks.len());
        for (i, b) in arch.blocks.iter().enumerate() {
            let s = shapes[i];
            let mut next = || -> Result<(Vec<f32>, Vec<f32>), TrainError> {
                let p = params
                    .next()
                    .ok_or_else(|| TrainError::Burn("fewer parameter sets than layers".into()))?;
                Ok((values(p.weight.val())?, values(p.bias.val())?))
            };
            let layer = match b {
                Block::Conv { geom, out_c, relu } => {
                    let (w, bias) = next()?;
                    F32Layer::Conv2d(
                        *geom,
                        F32Affine {
                            out_c: *out_c,
                            relu: *relu,
                            weights: relayout(&w, conv_pairs(*out_c, s.c, *geom), Dir::ToVigil),
                            bias,
                        },
                    )
                }
                Block::Depthwise { geom, relu } => {
                    let (w, bias) = next()?;
                    F32Layer::DepthwiseConv2d(
                        *geom,
                        F32Affine {
                            out_c: s.c,
                            relu: *relu,
                            weights: relayout(&w, depthwise_pairs(s.c, *geom), Dir::ToVigil),
                            bias,
                        },
                    )
                }
                Block::Dense { out, relu } => {
                    let (w, bias) = next()?;
                    F32Layer::Dense(F32Affine {
                        out_c: *out,
                        relu: *relu,
                        weights: relayout(&w, dense_pairs(*out, s), Dir::ToVigil),
                        bias,
                    })
                }
                Block::MaxPool(g) => F32Layer::MaxPool(*g),
                Block::AvgPool(g) => F32Layer::AvgPool(*g),
                Block::GlobalAvgPool => F32Layer::GlobalAvgPool,
            };
            layers.push(layer);
        }
        let model = F32Model {
            input_h: H,
            input_w: W,
            inputs: arch.inputs.clone(),
            layers,
            n_classes: CLASSES,
        };
        model.shapes()?;
        Ok(model)
    }

    /// Logits `[batch, classes]` for an input batch `[batch, channels, 24, 32]` (the channels
    /// already derived from the frames, see [`crate::data`]).
    pub fn forward(&self, arch: &Arch, x: Tensor<4>, fq: Option<&FakeQuant>) -> Tensor<2> {
        let mut x = match fq {
            Some(f) => fake_quant_input(x, &f.inputs),
            None => x,
        };
        let mut params = self.layers.iter();
        for (i, b) in arch.blocks.iter().enumerate() {
            let (y, relu_on) = match b {
                Block::Conv { geom, relu, .. } | Block::Depthwise { geom, relu } => {
                    let Some(p) = params.next() else { break };
                    let groups = if matches!(b, Block::Depthwise { .. }) {
                        x.dims()[1]
                    } else {
                        1
                    };
                    let w = weight(p, fq);
                    let opts = ConvOptions::new(
                        [usize::from(geom.stride_h), usize::from(geom.stride_w)],
                        [usize::from(geom.pad_h), usize::from(geom.pad_w)],
                        [1, 1],
                        groups,
                    );
                    (conv2d(x, w, Some(p.bias.val()), opts), *relu)
                }
                Block::Dense { out, relu } => {
                    let Some(p) = params.next() else { break };
                    let [n, c, h, wd] = x.dims();
                    let w: Tensor<2> = weight(p, fq).reshape([*out, c * h * wd]);
                    let flat: Tensor<2> = x.reshape([n, c * h * wd]);
                    let y = flat.matmul(w.transpose()) + p.bias.val().unsqueeze::<2>();
                    (y.reshape([n, *out, 1, 1]), *relu)
                }
                Block::MaxPool(g) => (max_pool2d(x, max_opts(*g)), false),
                Block::AvgPool(g) => (avg_pool2d(x, avg_opts(*g)), false),
                Block::GlobalAvgPool => (x.mean_dims(&[2, 3]), false),
            };
            let y = if relu_on { relu(y) } else { y };
            x = match fq {
                Some(f) => fake_quant_act(y, f.tensors[i + 1]),
                None => y,
            };
        }
        let [n, c, h, w] = x.dims();
        x.reshape([n, c * h * w])
    }
}

fn max_opts(g: PoolGeom) -> MaxPoolOptions<2> {
    MaxPoolOptions::new([usize::from(g.kh), usize::from(g.kw)])
        .with_stride([usize::from(g.stride_h), usize::from(g.stride_w)])
}

fn avg_opts(g: PoolGeom) -> AvgPoolOptions<2> {
    let mut o = AvgPoolOptions::new([usize::from(g.kh), usize::from(g.kw)]);
    o.stride = [usize::from(g.stride_h), usize::from(g.stride_w)];
    o
}

/// The weight as the forward pass uses it: as is, or fake-quantized to symmetric int8.
fn weight(p: &Affine, fq: Option<&FakeQuant>) -> Tensor<4> {
    let w = p.weight.val();
    let Some(f) = fq else { return w };
    let [o, i, kh, kw] = w.dims();
    let flat: Tensor<2> = w.clone().reshape([o, i * kh * kw]);
    let max_abs = if f.per_channel {
        flat.abs().max_dim(1)
    } else {
        flat.abs().max().reshape([1, 1])
    }
    .detach();
    // Same rule as the quantizer: a zero maximum gives scale 1 (all weights are 0 anyway).
    let scale = max_abs.clone().div_scalar(127.0) + max_abs.equal_elem(0.0).float();
    let scale4: Tensor<4> = scale.reshape([if f.per_channel { o } else { 1 }, 1, 1, 1]);
    let q = w
        .clone()
        .div(scale4.clone())
        .round()
        .clamp(-127.0, 127.0)
        .mul(scale4);
    w.clone() + (q - w).detach()
}

/// Rounds activations onto the int8 grid `(clamp(round(x / S) + Z) − Z) · S`, passing the
/// gradient straight through.
fn fake_quant_act<const D: usize>(x: Tensor<D>, q: TensorQuant) -> Tensor<D> {
    let s = q.scale as f32;
    let z = f32::from(q.zero_point);
    let deq = x
        .clone()
        .div_scalar(s)
        .round()
        .add_scalar(z)
        .clamp(-128.0, 127.0)
        .sub_scalar(z)
        .mul_scalar(s);
    x.clone() + (deq - x).detach()
}

/// Rounds an input batch `[n, c, h, w]` onto each channel's int8 grid (straight-through).
fn fake_quant_input(x: Tensor<4>, qs: &[TensorQuant]) -> Tensor<4> {
    let c = x.dims()[1];
    if qs.len() != c {
        return x;
    }
    let device = x.device();
    let per = |f: &dyn Fn(&TensorQuant) -> f32| {
        Tensor::<4>::from_data(
            TensorData::new(qs.iter().map(f).collect::<Vec<f32>>(), [1, c, 1, 1]),
            &device,
        )
    };
    let s = per(&|q| q.scale as f32);
    let z = per(&|q| f32::from(q.zero_point));
    let deq = x
        .clone()
        .div(s.clone())
        .round()
        .add(z.clone())
        .clamp(-128.0, 127.0)
        .sub(z)
        .mul(s);
    x.clone() + (deq - x).detach()
}

/// Which way [`relayout`] copies a layer's weights.
#[derive(Clone, Copy, Debug)]
enum Dir {
    /// From burn's layout to vigil's.
    ToVigil,
    /// From vigil's layout to burn's.
    FromVigil,
}

/// Copies one layer's weights `w` between burn's and vigil's layouts; `pairs` gives each
/// weight's (burn index, vigil index).
fn relayout(w: &[f32], pairs: impl Iterator<Item = (usize, usize)>, dir: Dir) -> Vec<f32> {
    let mut out = vec![0f32; w.len()];
    for (burn, vigil) in pairs {
        match dir {
            Dir::ToVigil => out[vigil] = w[burn],
            Dir::FromVigil => out[burn] = w[vigil],
        }
    }
    out
}

/// Convolution weights: burn `[o][i][y][x]`, vigil `[o][y][x][i]`.
fn conv_pairs(o: usize, i: usize, g: ConvGeom) -> impl Iterator<Item = (usize, usize)> {
    let (kh, kw) = (usize::from(g.kh), usize::from(g.kw));
    (0..o).flat_map(move |oc| {
        (0..i).flat_map(move |ic| {
            (0..kh).flat_map(move |y| {
                (0..kw).map(move |x| {
                    (
                        ((oc * i + ic) * kh + y) * kw + x,
                        ((oc * kh + y) * kw + x) * i + ic,
                    )
                })
            })
        })
    })
}

/// Depthwise weights: burn `[c][1][y][x]`, vigil `[y][x][c]`.
fn depthwise_pairs(c: usize, g: ConvGeom) -> impl Iterator<Item = (usize, usize)> {
    let (kh, kw) = (usize::from(g.kh), usize::from(g.kw));
    (0..c).flat_map(move |ch| {
        (0..kh).flat_map(move |y| {
            (0..kw).map(move |x| ((ch * kh + y) * kw + x, (y * kw + x) * c + ch))
        })
    })
}

/// Dense weights: burn `[o][c·h·w]` (CHW flattening), vigil `[o][(y·w + x)·c + ch]` (HWC).
fn dense_pairs(o: usize, s: Shape) -> impl Iterator<Item = (usize, usize)> {
    let n = s.len();
    (0..o).flat_map(move |oc| {
        (0..s.c).flat_map(move |ch| {
            (0..s.h * s.w).map(move |p| (oc * n + ch * s.h * s.w + p, oc * n + p * s.c + ch))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geom() -> ConvGeom {
        ConvGeom {
            kh: 3,
            kw: 2,
            stride_h: 1,
            stride_w: 1,
            pad_h: 1,
            pad_w: 0,
        }
    }

    /// Each layer kind's pairs cover every index once on both sides, and copying there and
    /// back gives the weights again.
    #[test]
    fn each_layout_is_a_permutation_and_round_trips() {
        let s = Shape { h: 2, w: 3, c: 4 };
        let cases: Vec<(usize, Vec<(usize, usize)>)> = vec![
            (5 * 4 * 6, conv_pairs(5, 4, geom()).collect()),
            (4 * 6, depthwise_pairs(4, geom()).collect()),
            (3 * s.len(), dense_pairs(3, s).collect()),
        ];
        for (n, pairs) in cases {
            let mut burn: Vec<usize> = pairs.iter().map(|p| p.0).collect();
            let mut vigil: Vec<usize> = pairs.iter().map(|p| p.1).collect();
            burn.sort_unstable();
            vigil.sort_unstable();
            assert_eq!(burn, (0..n).collect::<Vec<_>>());
            assert_eq!(vigil, (0..n).collect::<Vec<_>>());
            let w: Vec<f32> = (0..n).map(|v| v as f32).collect();
            let there = relayout(&w, pairs.iter().copied(), Dir::ToVigil);
            assert_ne!(there, w, "the layouts differ");
            assert_eq!(relayout(&there, pairs.iter().copied(), Dir::FromVigil), w);
        }
    }

    /// burn `[o][i][y][x]` element (1, 2, 2, 1) sits at vigil `[o][y][x][i]` (1, 2, 1, 2).
    #[test]
    fn a_conv_weight_moves_from_oiyx_to_oyxi() {
        let (o, i, kh, kw) = (2, 3, 3, 2);
        let w: Vec<f32> = (0..o * i * kh * kw).map(|v| v as f32).collect();
        let v = relayout(&w, conv_pairs(o, i, geom()), Dir::ToVigil);
        let burn = ((i + 2) * kh + 2) * kw + 1;
        let vigil = ((kh + 2) * kw + 1) * i + 2;
        assert_eq!(v[vigil], w[burn]);
    }
}
