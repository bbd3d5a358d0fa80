//! The network's shape, independent of its weights: the input channels and the layer plan.
//!
//! Every block maps one to one onto a layer of [`vigil_int8::reference::F32Model`] (and so
//! onto the int8 engine), which is what keeps the trained network exportable: there is no
//! layer here that the Pico cannot run.

use vigil_int8::reference::{F32Input, F32Layer, F32Model};
use vigil_int8::{ConvGeom, InputKind, PoolGeom, Shape};

/// Frame rows.
pub const H: usize = 24;
/// Frame columns.
pub const W: usize = 32;
/// Output classes (person, object, background).
pub const CLASSES: usize = 3;

/// One layer of the plan (geometry only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Block {
    /// Convolution to `out_c` channels.
    Conv {
        /// Kernel, stride and padding.
        geom: ConvGeom,
        /// Output channels.
        out_c: usize,
        /// ReLU after it.
        relu: bool,
    },
    /// Depthwise convolution (one filter per channel).
    Depthwise {
        /// Kernel, stride and padding.
        geom: ConvGeom,
        /// ReLU after it.
        relu: bool,
    },
    /// Max pooling.
    MaxPool(PoolGeom),
    /// Average pooling.
    AvgPool(PoolGeom),
    /// Mean over all positions.
    GlobalAvgPool,
    /// Fully connected layer over the HWC-flattened input.
    Dense {
        /// Outputs.
        out: usize,
        /// ReLU after it.
        relu: bool,
    },
}

impl Block {
    /// Whether the block has weights.
    pub fn is_affine(&self) -> bool {
        matches!(
            self,
            Block::Conv { .. } | Block::Depthwise { .. } | Block::Dense { .. }
        )
    }
}

/// A network plan: input channels and layers.
#[derive(Clone, Debug, PartialEq)]
pub struct Arch {
    /// How input channels derive from a frame.
    pub inputs: Vec<F32Input>,
    /// Layers in order.
    pub blocks: Vec<Block>,
}

/// Why a plan or a model does not fit the trainer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArchError {
    /// A block does not fit its input.
    #[error("layer {layer}: {what}")]
    BadLayer {
        /// Layer index.
        layer: usize,
        /// What is wrong.
        what: String,
    },
    /// The frame or class count is not the trainer's (24 × 32, 3 classes).
    #[error("{0}")]
    Unsupported(String),
}

/// A "same" convolution geometry: square kernel `k`, stride `s`, padding `k / 2`.
pub fn same(k: u8, s: u8) -> ConvGeom {
    ConvGeom {
        kh: k,
        kw: k,
        stride_h: s,
        stride_w: s,
        pad_h: k / 2,
        pad_w: k / 2,
    }
}

/// A square pooling window with stride equal to its size.
pub fn pool(k: u8) -> PoolGeom {
    PoolGeom {
        kh: k,
        kw: k,
        stride_h: k,
        stride_w: k,
    }
}

impl Arch {
    /// The shipped plan. Two input channels (the frame minus its mean, in units of 4 °C, and
    /// the absolute temperature around 20 °C in units of 10 °C), then
    ///
    /// | layer | output |
    /// |---|---|
    /// | conv 3×3 stride 2, 2 → 8, ReLU | 12 × 16 × 8 |
    /// | max pool 2×2 | 6 × 8 × 8 |
    /// | conv 3×3, 8 → 12, ReLU | 6 × 8 × 12 |
    /// | conv 3×3 stride 2, 12 → 24, ReLU | 3 × 4 × 24 |
    /// | max pool 3×4 (global max) | 24 |
    /// | dense 24 → 3 | 3 logits |
    ///
    /// About 3.7 k parameters and 90 k multiply-accumulates per frame. Early downsampling keeps
    /// the number of output values (each costs a fixed-point requantization, which is dear on
    /// a Cortex-M0+ without a 64-bit multiply) small.
    pub fn default_thermal() -> Self {
        Arch {
            inputs: default_inputs(),
            blocks: vec![
                Block::Conv {
                    geom: same(3, 2),
                    out_c: 8,
                    relu: true,
                },
                Block::MaxPool(pool(2)),
                Block::Conv {
                    geom: same(3, 1),
                    out_c: 12,
                    relu: true,
                },
                Block::Conv {
                    geom: same(3, 2),
                    out_c: 24,
                    relu: true,
                },
                // Global max over the 3 × 4 positions: one warm spot anywhere is evidence.
                Block::MaxPool(PoolGeom {
                    kh: 3,
                    kw: 4,
                    stride_h: 3,
                    stride_w: 4,
                }),
                Block::Dense {
                    out: CLASSES,
                    relu: false,
                },
            ],
        }
    }

    /// A depthwise-separable alternative with the same inputs: fewer parameters and
    /// multiply-accumulates, but about four times as many output values to requantize, which
    /// makes it slower than [`Arch::default_thermal`] on the RP2040.
    ///
    /// | layer | output |
    /// |---|---|
    /// | conv 3×3 stride 2, 2 → 12, ReLU | 12 × 16 × 12 |
    /// | depthwise 3×3, ReLU | 12 × 16 × 12 |
    /// | conv 1×1, 12 → 16, ReLU | 12 × 16 × 16 |
    /// | max pool 2×2 | 6 × 8 × 16 |
    /// | depthwise 3×3, ReLU | 6 × 8 × 16 |
    /// | conv 1×1, 16 → 24, ReLU | 6 × 8 × 24 |
    /// | global average pool | 24 |
    /// | dense 24 → 3 | 3 logits |
    ///
    /// About 1.2 k parameters and 125 k multiply-accumulates per frame.
    pub fn separable() -> Self {
        Arch {
            inputs: default_inputs(),
            blocks: vec![
                Block::Conv {
                    geom: same(3, 2),
                    out_c: 12,
                    relu: true,
                },
                Block::Depthwise {
                    geom: same(3, 1),
                    relu: true,
                },
                Block::Conv {
                    geom: same(1, 1),
                    out_c: 16,
                    relu: true,
                },
                Block::MaxPool(pool(2)),
                Block::Depthwise {
                    geom: same(3, 1),
                    relu: true,
                },
                Block::Conv {
                    geom: same(1, 1),
                    out_c: 24,
                    relu: true,
                },
                Block::GlobalAvgPool,
                Block::Dense {
                    out: CLASSES,
                    relu: false,
                },
            ],
        }
    }

    /// A wide probe, far over the Pico's budget (about 65 k parameters, 3.8 M
    /// multiply-accumulates): trained on the same data it bounds what the data allows a
    /// convolutional network to learn, so the shipped plan's shortfall can be told apart from
    /// the task's own ambiguity.
    ///
    /// | layer | output |
    /// |---|---|
    /// | conv 3×3, 2 → 16, ReLU | 24 × 32 × 16 |
    /// | max pool 2×2 | 12 × 16 × 16 |
    /// | conv 3×3, 16 → 32, ReLU | 12 × 16 × 32 |
    /// | max pool 2×2 | 6 × 8 × 32 |
    /// | conv 3×3, 32 → 64, ReLU | 6 × 8 × 64 |
    /// | conv 3×3, 64 → 64, ReLU | 6 × 8 × 64 |
    /// | max pool 6×8 (global max) | 64 |
    /// | dense 64 → 64, ReLU | 64 |
    /// | dense 64 → 3 | 3 logits |
    pub fn wide() -> Self {
        let conv = |out_c| Block::Conv {
            geom: same(3, 1),
            out_c,
            relu: true,
        };
        Arch {
            inputs: default_inputs(),
            blocks: vec![
                conv(16),
                Block::MaxPool(pool(2)),
                conv(32),
                Block::MaxPool(pool(2)),
                conv(64),
                conv(64),
                Block::MaxPool(PoolGeom {
                    kh: 6,
                    kw: 8,
                    stride_h: 6,
                    stride_w: 8,
                }),
                Block::Dense {
                    out: 64,
                    relu: true,
                },
                Block::Dense {
                    out: CLASSES,
                    relu: false,
                },
            ],
        }
    }

    /// A very small plan for tests (a few hundred parameters).
    pub fn tiny() -> Self {
        Arch {
            inputs: default_inputs(),
            blocks: vec![
                Block::Conv {
                    geom: same(3, 2),
                    out_c: 4,
                    relu: true,
                },
                Block::MaxPool(pool(2)),
                Block::Depthwise {
                    geom: same(3, 1),
                    relu: true,
                },
                Block::GlobalAvgPool,
                Block::Dense {
                    out: CLASSES,
                    relu: false,
                },
            ],
        }
    }

    /// The plan of an existing f32 model (its weights are ignored here).
    pub fn of_model(model: &F32Model) -> Result<Self, ArchError> {
        if model.input_h != H || model.input_w != W || model.n_classes != CLASSES {
            return Err(ArchError::Unsupported(format!(
                "model is {}×{} with {} classes; the trainer handles {H}×{W} frames and {CLASSES} classes",
                model.input_h, model.input_w, model.n_classes
            )));
        }
        let blocks = model
            .layers
            .iter()
            .map(|l| match l {
                F32Layer::Conv2d(g, a) => Block::Conv {
                    geom: *g,
                    out_c: a.out_c,
                    relu: a.relu,
                },
                F32Layer::DepthwiseConv2d(g, a) => Block::Depthwise {
                    geom: *g,
                    relu: a.relu,
                },
                F32Layer::MaxPool(g) => Block::MaxPool(*g),
                F32Layer::AvgPool(g) => Block::AvgPool(*g),
                F32Layer::GlobalAvgPool => Block::GlobalAvgPool,
                F32Layer::Dense(a) => Block::Dense {
                    out: a.out_c,
                    relu: a.relu,
                },
            })
            .collect();
        let arch = Arch {
            inputs: model.inputs.clone(),
            blocks,
        };
        arch.shapes()?;
        Ok(arch)
    }

    /// Shapes of every tensor (input first), or why the plan does not fit together.
    pub fn shapes(&self) -> Result<Vec<Shape>, ArchError> {
        let mut shapes = vec![Shape {
            h: H,
            w: W,
            c: self.inputs.len(),
        }];
        for (i, b) in self.blocks.iter().enumerate() {
            let s = shapes[i];
            let bad = |what: &str| ArchError::BadLayer {
                layer: i,
                what: what.to_string(),
            };
            let out = match b {
                Block::Conv { geom, out_c, .. } => vigil_int8::shape::conv_out(s, *out_c, *geom)
                    .ok_or_else(|| bad("kernel does not fit"))?,
                Block::Depthwise { geom, .. } => vigil_int8::shape::conv_out(s, s.c, *geom)
                    .ok_or_else(|| bad("kernel does not fit"))?,
                Block::MaxPool(g) | Block::AvgPool(g) => {
                    vigil_int8::shape::pool_out(s, *g).ok_or_else(|| bad("window does not fit"))?
                }
                Block::GlobalAvgPool => Shape { h: 1, w: 1, c: s.c },
                Block::Dense { out, .. } => Shape {
                    h: 1,
                    w: 1,
                    c: *out,
                },
            };
            shapes.push(out);
        }
        match shapes.last() {
            Some(s) if s.len() == CLASSES => Ok(shapes),
            Some(s) => Err(ArchError::Unsupported(format!(
                "the last layer gives {} values, expected {CLASSES}",
                s.len()
            ))),
            None => Err(ArchError::Unsupported("no layers".into())),
        }
    }

    /// Weights and biases.
    pub fn param_count(&self) -> Result<usize, ArchError> {
        let shapes = self.shapes()?;
        Ok(self
            .blocks
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let s = shapes[i];
                match b {
                    Block::Conv { geom, out_c, .. } => {
                        out_c * (usize::from(geom.kh) * usize::from(geom.kw) * s.c + 1)
                    }
                    Block::Depthwise { geom, .. } => {
                        s.c * (usize::from(geom.kh) * usize::from(geom.kw) + 1)
                    }
                    Block::Dense { out, .. } => out * (s.len() + 1),
                    _ => 0,
                }
            })
            .sum())
    }

    /// Multiply-accumulates per frame.
    pub fn macs(&self) -> Result<usize, ArchError> {
        let shapes = self.shapes()?;
        Ok(self
            .blocks
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let (s, d) = (shapes[i], shapes[i + 1]);
                match b {
                    Block::Conv { geom, .. } => {
                        d.len() * usize::from(geom.kh) * usize::from(geom.kw) * s.c
                    }
                    Block::Depthwise { geom, .. } => {
                        d.len() * usize::from(geom.kh) * usize::from(geom.kw)
                    }
                    Block::Dense { out, .. } => out * s.len(),
                    _ => 0,
                }
            })
            .sum())
    }
}

impl Arch {
    /// Values the layers with weights produce per frame (convolutions, depthwise
    /// convolutions, dense): each costs the int8 engine a fixed-point requantization, the
    /// dominant per-value cost besides the multiply-accumulates, unless a max pool right after
    /// the layer is fused with it (then only the pooled values are requantized).
    pub fn outputs(&self) -> Result<usize, ArchError> {
        let shapes = self.shapes()?;
        Ok(self
            .blocks
            .iter()
            .enumerate()
            .filter(|(_, b)| b.is_affine())
            .map(|(i, _)| shapes[i + 1].len())
            .sum())
    }

    /// A plan from a compact description (for experiments), with the default input channels:
    /// comma-separated layers, then a dense layer to the three classes is appended.
    ///
    /// | token | layer |
    /// |---|---|
    /// | `c3:12` / `c3s2:12` | "same" convolution, kernel 3, stride 1 / 2, 12 outputs, ReLU |
    /// | `d3` / `d3s2` | depthwise convolution, kernel 3, stride 1 / 2, ReLU |
    /// | `mp2` / `ap2` | max / average pooling 2 × 2, stride 2 |
    /// | `gmax` | max pooling over all remaining positions |
    /// | `gap` | global average pooling |
    /// | `fc:16` | dense layer, 16 outputs, ReLU |
    ///
    /// For example `c3s2:8,mp2,c3:12,c3s2:24,gmax` is [`Arch::default_thermal`].
    pub fn parse(spec: &str) -> Result<Self, ArchError> {
        let mut arch = Arch {
            inputs: default_inputs(),
            blocks: vec![],
        };
        let mut shape = Shape {
            h: H,
            w: W,
            c: arch.inputs.len(),
        };
        for (layer, token) in spec.split(',').map(str::trim).enumerate() {
            let bad = |what: String| ArchError::BadLayer { layer, what };
            let num = |s: &str| -> Result<u8, ArchError> {
                s.parse::<u8>()
                    .ok()
                    .filter(|&v| v > 0)
                    .ok_or_else(|| bad(format!("`{token}`: `{s}` is not a size of 1–255")))
            };
            let kernel = |s: &str| -> Result<ConvGeom, ArchError> {
                let (k, st) = s.split_once('s').unwrap_or((s, "1"));
                Ok(same(num(k)?, num(st)?))
            };
            let block = if token == "gmax" {
                let (kh, kw) = (u8::try_from(shape.h), u8::try_from(shape.w));
                let (Ok(kh), Ok(kw)) = (kh, kw) else {
                    return Err(bad("`gmax`: too many positions".into()));
                };
                Block::MaxPool(PoolGeom {
                    kh,
                    kw,
                    stride_h: kh,
                    stride_w: kw,
                })
            } else if token == "gap" {
                Block::GlobalAvgPool
            } else if let Some(k) = token.strip_prefix("mp") {
                Block::MaxPool(pool(num(k)?))
            } else if let Some(k) = token.strip_prefix("ap") {
                Block::AvgPool(pool(num(k)?))
            } else if let Some(n) = token.strip_prefix("fc:") {
                Block::Dense {
                    out: usize::from(num(n)?),
                    relu: true,
                }
            } else if let Some(g) = token.strip_prefix('d') {
                Block::Depthwise {
                    geom: kernel(g)?,
                    relu: true,
                }
            } else if let Some((g, n)) = token.strip_prefix('c').and_then(|t| t.split_once(':')) {
                Block::Conv {
                    geom: kernel(g)?,
                    out_c: usize::from(num(n)?),
                    relu: true,
                }
            } else {
                return Err(bad(format!("`{token}` is not a layer")));
            };
            arch.blocks.push(block);
            let probe = Arch {
                inputs: arch.inputs.clone(),
                blocks: {
                    let mut b = arch.blocks.clone();
                    b.push(Block::Dense {
                        out: CLASSES,
                        relu: false,
                    });
                    b
                },
            };
            let shapes = probe.shapes()?;
            shape = shapes[shapes.len() - 2];
        }
        arch.blocks.push(Block::Dense {
            out: CLASSES,
            relu: false,
        });
        arch.shapes()?;
        Ok(arch)
    }
}

/// The two input channels of the shipped plan.
pub fn default_inputs() -> Vec<F32Input> {
    vec![
        F32Input {
            kind: InputKind::MinusMean,
            offset_c: 0.0,
            scale: 4.0,
            clip_c: Some((-10.0, 20.0)),
        },
        F32Input {
            kind: InputKind::Absolute,
            offset_c: 20.0,
            scale: 10.0,
            clip_c: Some((-20.0, 40.0)),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_plan_fits_the_budget() {
        let a = Arch::default_thermal();
        let params = a.param_count().unwrap_or(usize::MAX);
        assert!(params <= 10_000, "{params} parameters");
        assert!(a.macs().unwrap_or(usize::MAX) < 200_000);
    }

    #[test]
    fn the_compact_description_gives_the_plans() {
        let a = Arch::parse("c3s2:8,mp2,c3:12,c3s2:24,gmax");
        assert_eq!(a, Ok(Arch::default_thermal()));
        assert_eq!(
            Arch::default_thermal().outputs(),
            Ok(12 * 16 * 8 + 6 * 8 * 12 + 3 * 4 * 24 + 3)
        );
        assert!(matches!(
            Arch::parse("c3s2:8,x9"),
            Err(ArchError::BadLayer { layer: 1, .. })
        ));
        assert!(Arch::parse("c3s2:0").is_err());
    }

    #[test]
    fn a_plan_with_the_wrong_output_is_refused() {
        let mut a = Arch::tiny();
        a.blocks.pop();
        assert!(matches!(a.shapes(), Err(ArchError::Unsupported(_))));
    }
}
