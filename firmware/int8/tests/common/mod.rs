//! Deterministic random models and frames for the engine tests.
#![allow(dead_code)]

pub mod naive;

use vigil_int8::encode::{softmax_table, QAffine, QLayer, QWeights, QuantModel};
use vigil_int8::{ConvGeom, InputChannel, InputKind, PoolGeom, QuantMultiplier};

/// A small deterministic generator (SplitMix64, the test worlds' one).
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        vigil_simworld::splitmix64(&mut self.0)
    }
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % ((hi - lo + 1) as u64)) as i64
    }
    pub fn i8(&mut self) -> i8 {
        self.range(-127, 127) as i8
    }
}

/// A multiplier that keeps outputs of a `terms`-input layer mostly inside int8.
pub fn multiplier(rng: &mut Rng, terms: usize) -> QuantMultiplier {
    let factor = 0.5 + (rng.next() % 1000) as f64 / 666.0;
    QuantMultiplier::from_real(0.012 * factor / (terms as f64).sqrt())
        .unwrap_or(QuantMultiplier::ZERO)
}

fn affine(
    rng: &mut Rng,
    out_c: u16,
    n_weights: usize,
    relu: bool,
    per_channel: bool,
    codebook: Option<u8>,
) -> QAffine {
    let weights = match codebook {
        None => QWeights::Plain((0..n_weights).map(|_| rng.i8()).collect()),
        Some(bits) => QWeights::Codebook {
            bits,
            codebook: (0..1usize << bits).map(|_| rng.i8()).collect(),
            indices: (0..n_weights)
                .map(|_| (rng.next() % (1 << bits)) as u8)
                .collect(),
        },
    };
    QAffine {
        out_c,
        relu,
        out_zero_point: rng.range(-20, 20) as i8,
        weights,
        bias: (0..out_c).map(|_| rng.range(-3000, 3000) as i32).collect(),
        requant: (0..if per_channel { out_c } else { 1 })
            .map(|_| multiplier(rng, n_weights / usize::from(out_c)))
            .collect(),
    }
}

/// A 24×32 CNN exercising every layer kind: conv (pad, stride), depthwise, pools, dense.
pub fn random_model(seed: u64, codebook: Option<u8>) -> QuantModel {
    let mut rng = Rng(seed);
    let g3 = ConvGeom::square(3, 1, 1);
    let g_s2 = ConvGeom::square(3, 2, 1);
    let p2 = PoolGeom::square(2, 2);
    let layers = vec![
        QLayer::Conv2d(g3, affine(&mut rng, 4, 4 * 9 * 2, true, true, codebook)),
        QLayer::MaxPool(p2),
        QLayer::DepthwiseConv2d(g_s2, affine(&mut rng, 4, 4 * 9, true, false, None)),
        QLayer::Conv2d(
            ConvGeom::square(1, 1, 0),
            affine(&mut rng, 6, 6 * 4, true, false, None),
        ),
        QLayer::AvgPool(PoolGeom {
            kh: 2,
            kw: 3,
            stride_h: 2,
            stride_w: 2,
        }),
        QLayer::Dense(affine(&mut rng, 3, 3 * 6 * 3 * 3, false, true, codebook)),
    ];
    QuantModel {
        input_h: 24,
        input_w: 32,
        input_zero_point: -20,
        inputs: vec![
            InputChannel {
                kind: InputKind::Absolute,
                offset_centi: 2500,
                requant: QuantMultiplier::from_real(1.0 / 40.0).unwrap_or(QuantMultiplier::ZERO),
            },
            InputChannel {
                kind: InputKind::MinusMean,
                offset_centi: -500,
                requant: QuantMultiplier::from_real(1.0 / 10.0).unwrap_or(QuantMultiplier::ZERO),
            },
        ],
        n_classes: 3,
        softmax_table: softmax_table(0.05),
        layers,
    }
}

/// A plausible frame: ambient plus a warm blob plus noise, in centi-°C.
pub fn random_frame(rng: &mut Rng) -> Vec<i16> {
    let ambient = rng.range(1000, 3500);
    let (cy, cx) = (rng.range(0, 23), rng.range(0, 31));
    let hot = rng.range(-1500, 4000);
    (0..768)
        .map(|p| {
            let (y, x) = ((p / 32) as i64, (p % 32) as i64);
            let d2 = (y - cy).pow(2) + (x - cx).pow(2);
            let blob = if d2 < 16 { hot } else { 0 };
            (ambient + blob + rng.range(-30, 30)) as i16
        })
        .collect()
}
