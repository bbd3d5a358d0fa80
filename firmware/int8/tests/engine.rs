//! The engine against an independent, deliberately naive integer implementation, plus
//! hand-computed values and the softmax rule.

mod common;

use common::naive::naive;
use common::{random_frame, random_model, Rng};
use vigil_int8::encode::{encode, softmax_table, QAffine, QLayer, QWeights, QuantModel};
use vigil_int8::{InputChannel, InputKind, Model, QuantMultiplier, RunError};

#[test]
fn engine_matches_the_naive_implementation_bit_for_bit() {
    for seed in 0..6u64 {
        let codebook = [None, Some(2), Some(4)][(seed % 3) as usize];
        let q = random_model(seed, codebook);
        let bytes = encode(&q).expect("random model encodes");
        let model = Model::parse(&bytes).expect("parses");
        let mut arena = vec![0i8; model.arena_len()];
        let mut rng = Rng(seed * 7919 + 1);
        let mut distinct = std::collections::BTreeSet::new();
        for _ in 0..40 {
            let frame = random_frame(&mut rng);
            let got = model.infer(&frame, &mut arena).expect("runs");
            let want = naive(&q, &frame);
            let got_logits: Vec<i64> = got.logits().iter().map(|&v| i64::from(v)).collect();
            assert_eq!(got_logits, want, "seed {seed}");
            distinct.insert(got_logits);
        }
        // The comparison is only meaningful if the outputs actually vary.
        assert!(
            distinct.len() > 5,
            "seed {seed}: outputs barely vary ({})",
            distinct.len()
        );
    }
}

#[test]
fn codebook_weights_run_exactly_like_their_plain_expansion() {
    let q = random_model(42, Some(4));
    let mut plain = q.clone();
    for layer in &mut plain.layers {
        if let QLayer::Conv2d(_, a) | QLayer::Dense(a) | QLayer::DepthwiseConv2d(_, a) = layer {
            a.weights = QWeights::Plain(a.weights.values());
        }
    }
    let (b1, b2) = (
        encode(&q).expect("encodes"),
        encode(&plain).expect("encodes"),
    );
    assert!(
        b1.len() < b2.len(),
        "4-bit indices must be smaller than plain weights"
    );
    let (m1, m2) = (
        Model::parse(&b1).expect("parses"),
        Model::parse(&b2).expect("parses"),
    );
    let mut arena = vec![0i8; m1.arena_len()];
    let mut rng = Rng(5);
    for _ in 0..20 {
        let frame = random_frame(&mut rng);
        let r1 = m1.infer(&frame, &mut arena).expect("runs");
        let r2 = m2.infer(&frame, &mut arena).expect("runs");
        assert_eq!(r1, r2);
    }
}

/// One dense layer over a 2×2 frame, computed by hand.
fn tiny() -> QuantModel {
    QuantModel {
        input_h: 2,
        input_w: 2,
        input_zero_point: -10,
        // q = −10 + round(v / 100): one step per °C.
        inputs: vec![InputChannel {
            kind: InputKind::Absolute,
            offset_centi: 2000,
            requant: QuantMultiplier::from_real(0.01).expect("in range"),
        }],
        n_classes: 2,
        softmax_table: softmax_table(0.1),
        layers: vec![QLayer::Dense(QAffine {
            out_c: 2,
            relu: false,
            out_zero_point: 3,
            weights: QWeights::Plain(vec![1, 2, 3, 4, -1, 0, 0, 1]),
            bias: vec![10, -5],
            // Output = acc / 2.
            requant: vec![QuantMultiplier::from_real(0.5).expect("in range")],
        })],
    }
}

#[test]
fn tiny_dense_model_gives_the_hand_computed_logits() {
    let bytes = encode(&tiny()).expect("encodes");
    let model = Model::parse(&bytes).expect("parses");
    let mut arena = [0i8; 64];
    // Frame 21, 22, 23, 24 °C → v = 1, 2, 3, 4 °C → q = −9, −8, −7, −6; q − zp = 1, 2, 3, 4.
    let frame = [2100i16, 2200, 2300, 2400];
    let r = model.infer(&frame, &mut arena).expect("runs");
    // acc0 = 10 + 1·1 + 2·2 + 3·3 + 4·4 = 40 → 20 + 3 = 23.
    // acc1 = −5 − 1 + 4 = −2 → −1 + 3 = 2.
    assert_eq!(r.logits(), &[23, 2]);
    assert_eq!(r.class, 0);
    // d = 21 → e = round(32768 · exp(−2.1)) = 4013; 32768 / 36781 → 891 ‰, 4013 / 36781 → 109 ‰.
    assert_eq!(r.permille(), &[891, 109]);
    assert_eq!(r.confidence_permille, 891);
}

#[test]
fn equal_logits_split_the_confidence_and_the_first_class_wins() {
    let mut q = tiny();
    if let QLayer::Dense(a) = &mut q.layers[0] {
        a.weights = QWeights::Plain(vec![1, 1, 1, 1, 1, 1, 1, 1]);
        a.bias = vec![0, 0];
    }
    let bytes = encode(&q).expect("encodes");
    let model = Model::parse(&bytes).expect("parses");
    let r = model
        .infer(&[2100, 2200, 2300, 2400], &mut [0i8; 64])
        .expect("runs");
    assert_eq!(r.class, 0);
    assert_eq!(r.permille(), &[500, 500]);
}

#[test]
fn wrong_buffers_are_typed_errors() {
    let bytes = encode(&tiny()).expect("encodes");
    let model = Model::parse(&bytes).expect("parses");
    assert_eq!(
        model.infer(&[0; 3], &mut [0i8; 64]),
        Err(RunError::FrameLength {
            expected: 4,
            found: 3
        })
    );
    assert_eq!(
        model.infer(&[0; 4], &mut [0i8; 2]),
        Err(RunError::ArenaTooSmall {
            needed: model.arena_len(),
            found: 2
        })
    );
}

#[test]
fn extreme_frames_saturate_instead_of_overflowing() {
    let bytes = encode(&random_model(3, None)).expect("encodes");
    let model = Model::parse(&bytes).expect("parses");
    let mut arena = vec![0i8; model.arena_len()];
    for v in [i16::MIN, -4000, 0, 30000, i16::MAX] {
        let r = model.infer(&[v; 768], &mut arena).expect("runs");
        assert!(r.confidence_permille <= 1000);
    }
}
