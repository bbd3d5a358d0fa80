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

/// The two input channels of the shipped plan.
pub fn default_inputs() -> Vec<F32Input> {
    vec![
        F32Input {
            kind: InputKind::MinusMean,
            offset_c: 0.0,
            scale: 4.0,
        },
        F32Input {
            kind: InputKind::Absolute,
            offset_c: 20.0,
            scale: 10.0,
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
    fn a_plan_with_the_wrong_output_is_refused() {
        let mut a = Arch::tiny();
        a.blocks.pop();
        assert!(matches!(a.shapes(), Err(ArchError::Unsupported(_))));
    }
}
