//! Every inference kernel ([`Kernel::Portable`], the SIMD ones where the CPU has them), the
//! fused and the layer-by-layer engine, against the independent naive implementation, on
//! many random models of every shape the format allows and on edge values: accumulators at
//! the parser's bound, zero points at ±127/−128, mantissas near 2^31, shifts from −31 to 30,
//! channel counts that are not multiples of 8, overlapping and partial pooling windows.

mod common;

use common::naive::naive;
use common::{random_frame, random_model, Rng};
use vigil_int8::encode::{encode, softmax_table, QAffine, QLayer, QWeights, QuantModel};
use vigil_int8::shape::{conv_out, pool_out};
use vigil_int8::{
    ConvGeom, InputChannel, InputKind, Kernel, Model, PoolGeom, PreparedModel, QuantMultiplier,
    Shape,
};

/// A multiplier from the whole valid range, edges included.
fn wild_multiplier(rng: &mut Rng) -> QuantMultiplier {
    let multiplier = match rng.range(0, 9) {
        0 => 0,
        1 => i32::MAX,
        2 => 1 << 30,
        3 => i32::MAX - rng.range(0, 1000) as i32,
        _ => (1 << 30) | (rng.next() as i32 & ((1 << 30) - 1)),
    };
    let shift = match rng.range(0, 9) {
        0 => 0,
        1 => -31,
        2 => 30,
        3 => rng.range(1, 30) as i8,
        _ => -(rng.range(5, 22) as i8),
    };
    QuantMultiplier { multiplier, shift }
}

fn wild_zero_point(rng: &mut Rng) -> i8 {
    match rng.range(0, 5) {
        0 => -128,
        1 => 127,
        2 => -127,
        _ => rng.range(-40, 40) as i8,
    }
}

/// Weights, bias and multipliers of a layer with `terms` products per output; sometimes
/// every weight and bias at the extremes the accumulator bound allows.
fn wild_affine(rng: &mut Rng, out_c: usize, per: usize, relu: bool) -> QAffine {
    let n = out_c * per;
    let extreme = rng.range(0, 3) == 0;
    let weights = if rng.range(0, 4) == 0 {
        let bits = [1u8, 2, 4, 8][rng.range(0, 3) as usize];
        QWeights::Codebook {
            bits,
            codebook: (0..1usize << bits)
                .map(|_| if extreme { -128 } else { rng.i8() })
                .collect(),
            indices: (0..n).map(|_| (rng.next() % (1 << bits)) as u8).collect(),
        }
    } else {
        QWeights::Plain(
            (0..n)
                .map(|_| match (extreme, rng.range(0, 2)) {
                    (true, 0) => -128,
                    (true, 1) => 127,
                    _ => rng.range(-128, 127) as i8,
                })
                .collect(),
        )
    };
    // The parser's bound: |bias| + 255 · 128 · terms ≤ i32::MAX.
    let room = i64::from(i32::MAX) - 255 * 128 * per as i64;
    let bias = (0..out_c)
        .map(|_| {
            if extreme && room > 0 {
                let b = room - rng.range(0, 3);
                (if rng.range(0, 1) == 0 { b } else { -b }) as i32
            } else {
                rng.range(-5000, 5000) as i32
            }
        })
        .collect();
    let per_channel = rng.range(0, 1) == 0;
    let requant = (0..if per_channel { out_c } else { 1 })
        .map(|_| {
            if rng.range(0, 2) == 0 {
                wild_multiplier(rng)
            } else {
                common::multiplier(rng, per)
            }
        })
        .collect();
    QAffine {
        out_c: out_c as u16,
        relu,
        out_zero_point: wild_zero_point(rng),
        weights,
        bias,
        requant,
    }
}

/// A random valid model: random frame size and input channels, up to five layers of every
/// kind with random geometry, then a dense layer onto 2–8 classes.
fn wild_model(seed: u64) -> QuantModel {
    let mut rng = Rng(seed);
    let (h, w) = (rng.range(3, 26) as usize, rng.range(3, 34) as usize);
    let n_in = rng.range(1, 4) as usize;
    let inputs = (0..n_in)
        .map(|_| InputChannel {
            kind: if rng.range(0, 1) == 0 {
                InputKind::Absolute
            } else {
                InputKind::MinusMean
            },
            // Far from zero but short of saturating `x − mean − offset` (the naive
            // implementation wraps where the engine saturates; see the next test).
            offset_centi: match rng.range(0, 6) {
                0 => i32::MAX - 70_000 - rng.range(0, 40000) as i32,
                1 => i32::MIN + 70_000 + rng.range(0, 40000) as i32,
                _ => rng.range(-3000, 3000) as i32,
            },
            requant: if rng.range(0, 2) == 0 {
                wild_multiplier(&mut rng)
            } else {
                QuantMultiplier::from_real(1.0 / rng.range(5, 200) as f64)
                    .unwrap_or(QuantMultiplier::ZERO)
            },
        })
        .collect();
    let mut s = Shape { h, w, c: n_in };
    let mut layers = Vec::new();
    for _ in 0..rng.range(1, 5) {
        let kind = rng.range(0, 9);
        if kind <= 4 {
            let kh = rng.range(1, 4).min(s.h as i64 + 1) as u8;
            let kw = rng.range(1, 4).min(s.w as i64 + 1) as u8;
            let g = ConvGeom {
                kh,
                kw,
                stride_h: rng.range(1, 3) as u8,
                stride_w: rng.range(1, 3) as u8,
                pad_h: rng.range(0, i64::from(kh) - 1) as u8,
                pad_w: rng.range(0, i64::from(kw) - 1) as u8,
            };
            let depthwise = kind == 4;
            let out_c = if depthwise {
                s.c
            } else {
                [1, 3, 5, 7, 8, 9, 12, 15, 16, 17, 24, 33, 40][rng.range(0, 12) as usize]
            };
            let Some(d) = conv_out(s, out_c, g) else {
                continue;
            };
            let per = usize::from(kh) * usize::from(kw) * if depthwise { 1 } else { s.c };
            let relu = rng.range(0, 2) != 0;
            let a = wild_affine(&mut rng, out_c, per, relu);
            layers.push(if depthwise {
                QLayer::DepthwiseConv2d(g, a)
            } else {
                QLayer::Conv2d(g, a)
            });
            s = d;
        } else if kind <= 7 {
            let kh = rng.range(1, 3) as u8;
            let kw = rng.range(1, 4) as u8;
            let g = PoolGeom {
                kh,
                kw,
                stride_h: rng.range(1, 4) as u8,
                stride_w: rng.range(1, 4) as u8,
            };
            let Some(d) = pool_out(s, g) else {
                continue;
            };
            layers.push(if kind == 7 {
                QLayer::AvgPool(g)
            } else {
                QLayer::MaxPool(g)
            });
            s = d;
        } else {
            layers.push(QLayer::GlobalAvgPool);
            s = Shape { h: 1, w: 1, c: s.c };
        }
    }
    let n_classes = rng.range(2, 8) as usize;
    layers.push(QLayer::Dense(wild_affine(
        &mut rng,
        n_classes,
        s.len(),
        false,
    )));
    QuantModel {
        input_h: h as u16,
        input_w: w as u16,
        input_zero_point: wild_zero_point(&mut rng),
        inputs,
        n_classes: n_classes as u8,
        softmax_table: softmax_table(0.02 + (rng.next() % 100) as f64 / 500.0),
        layers,
    }
}

/// A frame of `n` readings: plausible, constant, extreme or uniformly random.
fn wild_frame(rng: &mut Rng, n: usize) -> Vec<i16> {
    match rng.range(0, 4) {
        0 => vec![[i16::MIN, i16::MAX, 0, -4000][rng.range(0, 3) as usize]; n],
        1 => (0..n).map(|_| rng.next() as i16).collect(),
        2 => (0..n)
            .map(|_| {
                if rng.range(0, 1) == 0 {
                    i16::MIN
                } else {
                    i16::MAX
                }
            })
            .collect(),
        _ => {
            let ambient = rng.range(-1000, 4000);
            (0..n)
                .map(|_| (ambient + rng.range(-800, 800)) as i16)
                .collect()
        }
    }
}

/// Kernels this CPU runs; prints the ones it must skip so a skip is never silent.
fn kernels() -> Vec<Kernel> {
    Kernel::ALL
        .into_iter()
        .filter(|k| {
            let ok = k.is_available();
            if !ok {
                eprintln!(
                    "SKIPPED: the {} kernel is not available on this CPU; only the others were tested",
                    k.name()
                );
            }
            ok
        })
        .collect()
}

/// Runs every path on `frames` and compares each with the naive implementation.
fn check(q: &QuantModel, model: &Model<'_>, frames: &[Vec<i16>], what: &str) -> usize {
    let mut prepared: Vec<PreparedModel<'_>> = kernels()
        .into_iter()
        .filter_map(|k| PreparedModel::with_kernel(*model, k))
        .collect();
    let mut arena = vec![0i8; model.arena_len()];
    let mut distinct = std::collections::BTreeSet::new();
    for (f, frame) in frames.iter().enumerate() {
        let want = naive(q, frame);
        let fused = model.infer(frame, &mut arena).expect("runs");
        let got: Vec<i64> = fused.logits().iter().map(|&v| i64::from(v)).collect();
        assert_eq!(got, want, "{what}, frame {f}: fused portable engine");
        let traced = model
            .infer_traced(frame, &mut arena, |_, _, _| {})
            .expect("runs");
        assert_eq!(traced, fused, "{what}, frame {f}: layer by layer");
        for p in &mut prepared {
            let r = p.infer(frame).expect("runs");
            assert_eq!(r, fused, "{what}, frame {f}: {} kernel", p.kernel().name());
        }
        distinct.insert(got);
    }
    distinct.len()
}

#[test]
fn every_kernel_matches_the_naive_implementation_on_random_models() {
    let (mut models, mut distinct) = (0, 0);
    for seed in 0..300u64 {
        let q = wild_model(seed);
        let Ok(bytes) = encode(&q) else { continue };
        let Ok(model) = Model::parse(&bytes) else {
            continue;
        };
        models += 1;
        let mut rng = Rng(seed ^ 0xabcdef);
        let n = usize::from(q.input_h) * usize::from(q.input_w);
        let frames: Vec<_> = (0..12).map(|_| wild_frame(&mut rng, n)).collect();
        distinct += check(&q, &model, &frames, &format!("wild model {seed}"));
    }
    // The comparison must have had real work: most models parse and outputs vary.
    assert!(models > 200, "only {models} random models were valid");
    assert!(distinct > models * 2, "outputs barely vary: {distinct}");
}

/// Offsets at the ends of `i32`: `x − mean − offset` saturates in the engine, on every
/// kernel alike.
#[test]
fn every_kernel_saturates_the_input_like_the_portable_engine() {
    let mut checked = 0;
    for seed in 0..60u64 {
        let mut q = wild_model(seed);
        let mut rng = Rng(seed + 5);
        for input in &mut q.inputs {
            input.offset_centi = match rng.range(0, 3) {
                0 => i32::MAX - rng.range(0, 40000) as i32,
                1 => i32::MIN + rng.range(0, 40000) as i32,
                2 => i32::MAX,
                _ => i32::MIN,
            };
        }
        let Ok(bytes) = encode(&q) else { continue };
        let Ok(model) = Model::parse(&bytes) else {
            continue;
        };
        let n = usize::from(q.input_h) * usize::from(q.input_w);
        let mut arena = vec![0i8; model.arena_len()];
        let mut input = vec![0i8; model.input_shape().len()];
        for k in kernels() {
            let Some(mut p) = PreparedModel::with_kernel(model, k) else {
                continue;
            };
            for _ in 0..10 {
                let frame = wild_frame(&mut rng, n);
                let want = model.infer(&frame, &mut arena).expect("runs");
                assert_eq!(
                    p.infer(&frame).expect("runs"),
                    want,
                    "seed {seed}, {}",
                    k.name()
                );
                model.quantize_input(&frame, &mut input).expect("runs");
                checked += 1;
            }
        }
    }
    assert!(checked > 300);
}

#[test]
fn every_kernel_matches_on_the_thermal_shaped_models() {
    for seed in 0..6u64 {
        let q = random_model(seed, [None, Some(2), Some(4)][(seed % 3) as usize]);
        let bytes = encode(&q).expect("encodes");
        let model = Model::parse(&bytes).expect("parses");
        let mut rng = Rng(seed + 99);
        let frames: Vec<_> = (0..60).map(|_| random_frame(&mut rng)).collect();
        assert!(check(&q, &model, &frames, &format!("thermal model {seed}")) > 5);
    }
}

/// The shipped model's plan (conv 3×3/2 → max pool 2×2 → conv 3×3 → conv 3×3/2 → global
/// max pool → dense) with random parameters.
#[test]
fn every_kernel_matches_on_the_shipped_architecture() {
    let g = |s: u8| ConvGeom {
        kh: 3,
        kw: 3,
        stride_h: s,
        stride_w: s,
        pad_h: 1,
        pad_w: 1,
    };
    for seed in 0..4u64 {
        let mut rng = Rng(seed * 31 + 7);
        let aff = |rng: &mut Rng, c: usize, per: usize| {
            let mut a = wild_affine(rng, c, per, true);
            a.requant = vec![common::multiplier(rng, per); c];
            a.out_zero_point = rng.range(-128, -100) as i8;
            a
        };
        let layers = vec![
            QLayer::Conv2d(g(2), aff(&mut rng, 8, 18)),
            QLayer::MaxPool(PoolGeom {
                kh: 2,
                kw: 2,
                stride_h: 2,
                stride_w: 2,
            }),
            QLayer::Conv2d(g(1), aff(&mut rng, 12, 72)),
            QLayer::Conv2d(g(2), aff(&mut rng, 24, 108)),
            QLayer::MaxPool(PoolGeom {
                kh: 3,
                kw: 4,
                stride_h: 3,
                stride_w: 4,
            }),
            QLayer::Dense(QAffine {
                relu: false,
                ..aff(&mut rng, 3, 24)
            }),
        ];
        let q = QuantModel {
            layers,
            ..random_model(seed, None)
        };
        let Ok(bytes) = encode(&q) else { continue };
        let model = Model::parse(&bytes).expect("parses");
        let frames: Vec<_> = (0..40).map(|_| random_frame(&mut rng)).collect();
        check(&q, &model, &frames, &format!("shipped plan {seed}"));
    }
}

#[test]
fn the_shipped_model_runs_the_same_on_every_kernel() {
    let bytes = vigil_int8::shipped::INT8;
    let model = Model::parse(bytes).expect("parses");
    let q = vigil_int8::encode::QuantModel::from_model(&model);
    let mut rng = Rng(2024);
    let frames: Vec<_> = (0..200).map(|_| random_frame(&mut rng)).collect();
    assert!(check(&q, &model, &frames, "shipped model") > 2);
}

#[test]
fn the_best_kernel_is_available_and_a_missing_one_is_refused() {
    assert!(Kernel::best().is_available());
    let q = random_model(1, None);
    let bytes = encode(&q).expect("encodes");
    let model = Model::parse(&bytes).expect("parses");
    for k in Kernel::ALL {
        assert_eq!(
            PreparedModel::with_kernel(model, k).is_some(),
            k.is_available()
        );
    }
    let mut p = PreparedModel::new(model);
    assert_eq!(p.kernel(), Kernel::best());
    assert_eq!(
        p.infer(&[0; 5]),
        Err(vigil_int8::RunError::FrameLength {
            expected: 768,
            found: 5
        })
    );
}
