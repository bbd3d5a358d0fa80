//! The quantizer against the f32 reference, and the host and Pico code paths against each
//! other on thousands of synthetic frames.

use std::convert::Infallible;

use vigil_int8::f32model;
use vigil_int8::reference::{argmax, F32Affine, F32Input, F32Layer, F32Model};
use vigil_int8::{ConvGeom, InputKind, Model, PoolGeom};
use vigil_pico_thermal::{DetectorConfig, FrameOutput, PicoCore, ThermalClass};
use vigil_scenes::{generate, Rng};
use vigil_thermal::eval::Int8Classifier;
use vigil_thermal::quantize::{quantize, Granularity, Method, Options};

/// A small CNN of the shipped shape with deterministic random weights.
fn cnn(seed: u64) -> F32Model {
    let mut rng = Rng::new(seed);
    let mut affine = |out_c: usize, n: usize, fan_in: usize, relu: bool| F32Affine {
        out_c,
        relu,
        weights: (0..n)
            .map(|_| rng.normal() * (2.0 / fan_in as f32).sqrt())
            .collect(),
        bias: (0..out_c).map(|_| rng.normal() * 0.1).collect(),
    };
    let g3 = ConvGeom::square(3, 1, 1);
    let p2 = PoolGeom::square(2, 2);
    F32Model {
        input_h: 24,
        input_w: 32,
        n_classes: 3,
        inputs: vec![
            F32Input {
                kind: InputKind::Absolute,
                offset_c: 25.0,
                scale: 10.0,
                clip_c: None,
            },
            F32Input {
                kind: InputKind::MinusMean,
                offset_c: 0.0,
                scale: 4.0,
                clip_c: None,
            },
        ],
        layers: vec![
            F32Layer::Conv2d(g3, affine(6, 6 * 9 * 2, 18, true)),
            F32Layer::MaxPool(p2),
            F32Layer::DepthwiseConv2d(g3, affine(6, 9 * 6, 9, true)),
            F32Layer::Conv2d(ConvGeom::square(1, 1, 0), affine(8, 8 * 6, 6, true)),
            F32Layer::MaxPool(p2),
            F32Layer::AvgPool(PoolGeom::square(2, 2)),
            F32Layer::Dense(affine(3, 3 * 3 * 4 * 8, 96, false)),
        ],
    }
}

fn frames(n: usize, seed: u64) -> Vec<Vec<f32>> {
    generate(n, seed).into_iter().map(|(_, f)| f).collect()
}

/// Share of frames where int8 and f32 agree on the class, among frames where the f32 winner
/// leads by a clear margin, and the mean logit error relative to the largest logit.
fn agreement(model: &F32Model, q: &vigil_thermal::Quantized, test: &[Vec<f32>]) -> (f64, f64) {
    let m = Model::parse(&q.bytes).expect("parses");
    let mut clf = Int8Classifier::new(m);
    let out = q.tensors[q.tensors.len() - 1];
    let (mut agree, mut counted, mut err_sum, mut n_err, mut spread) = (0, 0, 0f64, 0usize, 0f64);
    for f in test {
        let logits = model.forward(f).expect("f32 runs");
        let r = clf.classify(f).expect("int8 runs");
        for (i, &l) in logits.iter().enumerate() {
            let deq = out.scale * f64::from(i32::from(r.logits()[i]) - i32::from(out.zero_point));
            err_sum += (deq - f64::from(l)).abs();
            n_err += 1;
            spread = spread.max(f64::from(l).abs());
        }
        let mut sorted = logits.clone();
        sorted.sort_by(|a, b| b.total_cmp(a));
        if f64::from(sorted[0] - sorted[1]) > 0.1 * f64::from(sorted[0] - sorted[2]).max(1e-6) {
            counted += 1;
            agree += usize::from(argmax(&logits) == r.class);
        }
    }
    (
        agree as f64 / counted.max(1) as f64,
        err_sum / n_err.max(1) as f64 / spread.max(1e-9),
    )
}

#[test]
fn every_method_and_granularity_tracks_the_f32_model() {
    let model = cnn(3);
    let calib = frames(30, 100);
    let test = frames(60, 200);
    for method in [
        Method::MinMax,
        Method::Ema,
        Method::Percentile,
        Method::Mse,
        Method::Kl,
    ] {
        for granularity in [Granularity::Tensor, Granularity::Channel] {
            let q = quantize(
                &model,
                &calib,
                Options {
                    method,
                    granularity,
                    kmeans_bits: None,
                },
            )
            .expect("quantizes");
            let (agree, err) = agreement(&model, &q, &test);
            // KL deliberately clips the long tails of the activations (here to about a quarter
            // of their maximum), which a random-weight model leans on more than a trained one.
            let floor = if method == Method::Kl { 0.8 } else { 0.9 };
            assert!(
                agree >= floor,
                "{method:?}/{granularity:?}: class agreement {agree:.3}"
            );
            assert!(
                err < 0.1,
                "{method:?}/{granularity:?}: mean logit error {err:.3} of the largest logit"
            );
        }
    }
}

#[test]
fn kmeans_codebooks_shrink_the_file_and_stay_close_at_8_and_4_bits() {
    let model = cnn(4);
    let calib = frames(30, 101);
    let test = frames(90, 201);
    let plain = quantize(&model, &calib, Options::default()).expect("quantizes");
    // 8-bit indices cost as much as plain weights, plus a 256-entry codebook per layer.
    let mut last = plain.bytes.len() + 4 * (256 + 4);
    for bits in [8u8, 4, 2] {
        let q = quantize(
            &model,
            &calib,
            Options {
                kmeans_bits: Some(bits),
                ..Options::default()
            },
        )
        .expect("quantizes");
        assert!(
            q.bytes.len() <= last,
            "{bits}-bit file {} > {}",
            q.bytes.len(),
            last
        );
        last = q.bytes.len();
        let (agree, _) = agreement(&model, &q, &test);
        if bits >= 4 {
            assert!(agree >= 0.85, "{bits}-bit agreement {agree:.3}");
        }
    }
    let weights = model.param_count();
    assert!(
        last + weights / 2 < plain.bytes.len(),
        "2-bit codebooks must save most weight bytes"
    );
}

#[test]
fn the_f32_model_file_round_trips_and_rejects_other_versions() {
    let model = cnn(5);
    let json = f32model::to_json(&model);
    let back = f32model::from_json(std::path::Path::new("m.json"), &json).expect("parses");
    assert_eq!(back, model);
    let other = json.replacen("\"version\":1", "\"version\":2", 1);
    let err = f32model::from_json(std::path::Path::new("m.json"), &other).expect_err("version 2");
    assert!(err.to_string().contains("version 2"), "{err}");
}

/// `cnn` with clip windows on both input channels: −20…+40 °C around 25 °C and −10…+20 °C
/// around the frame mean (the same −1 : 2 ratio, so one zero point, −43, fits both).
fn clipped_cnn(seed: u64) -> F32Model {
    let mut model = cnn(seed);
    model.inputs[0].clip_c = Some((-20.0, 40.0));
    model.inputs[1].clip_c = Some((-10.0, 20.0));
    model
}

/// Frames with dead pixels (−40 °C) and lamps (110 °C): what a clip window is for.
fn frames_with_extremes(n: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut rng = Rng::new(seed);
    frames(n, seed)
        .into_iter()
        .map(|mut f| {
            for _ in 0..4 {
                let p = rng.below(f.len());
                f[p] = if rng.unit() < 0.5 { -40.0 } else { 110.0 };
            }
            f
        })
        .collect()
}

#[test]
fn a_clip_window_is_the_int8_input_range_so_both_models_see_the_same_inputs() {
    let model = clipped_cnn(3);
    let q = quantize(&model, &frames(30, 100), Options::default()).expect("quantizes");
    for (ch, tq) in q.input_channels.iter().enumerate() {
        let (lo, hi) = model.inputs[ch].clip_c.expect("clipped");
        let scale = f64::from(model.inputs[ch].scale);
        assert_eq!(tq.zero_point, -43, "channel {ch}");
        // The int8 range is exactly the window: −128 ↔ lo, 127 ↔ hi.
        let at = |q: i32| f64::from(q - i32::from(tq.zero_point)) * tq.scale * scale;
        assert!(
            (at(-128) - f64::from(lo)).abs() < 1e-6,
            "channel {ch}: {}",
            at(-128)
        );
        assert!(
            (at(127) - f64::from(hi)).abs() < 1e-6,
            "channel {ch}: {}",
            at(127)
        );
    }
    // On frames full of dead pixels and lamps, the engine's input tensor is the f32 model's
    // (clamped) input tensor to within half a step, saturated pixels included (plus 0.02 °C:
    // the engine reads centi-°C and rounds the frame mean to them).
    let int8 = Model::parse(&q.bytes).expect("parses");
    let mut arena = vec![0i8; int8.arena_len()];
    let c = model.inputs.len();
    let mut saturated = 0;
    for f in frames_with_extremes(40, 300) {
        let want = model.input_tensor(&f).expect("f32 input");
        let centi: Vec<i16> = f.iter().map(|t| (t * 100.0).round() as i16).collect();
        let mut got = Vec::new();
        int8.infer_traced(&centi, &mut arena, |i, _, v| {
            if i == 0 {
                got = v.to_vec();
            }
        })
        .expect("int8 runs");
        for (i, (&g, &w)) in got.iter().zip(&want).enumerate() {
            let tq = q.input_channels[i % c];
            let deq = f64::from(i32::from(g) - i32::from(tq.zero_point)) * tq.scale;
            assert!(
                (deq - f64::from(w)).abs()
                    <= tq.scale * 0.5 + 0.02 / f64::from(model.inputs[i % c].scale),
                "value {i}: int8 {deq} vs f32 {w}"
            );
            saturated += usize::from(g == 127 || g == -128);
        }
    }
    assert!(saturated >= 40, "the extremes saturate ({saturated})");
}

#[test]
fn clip_windows_that_need_different_zero_points_are_refused() {
    let mut model = clipped_cnn(3);
    model.inputs[1].clip_c = Some((-10.0, 30.0));
    let err = quantize(&model, &frames(5, 100), Options::default()).expect_err("refused");
    assert!(err.to_string().contains("input channel"), "{err}");
    let mut model = clipped_cnn(3);
    model.inputs[0].clip_c = Some((20.0, 10.0));
    let err = quantize(&model, &frames(5, 100), Options::default()).expect_err("refused");
    assert!(err.to_string().contains("clip window"), "{err}");
}

#[test]
fn a_clipped_f32_model_file_round_trips_and_a_bad_window_is_refused() {
    let model = clipped_cnn(5);
    let json = f32model::to_json(&model);
    assert!(json.contains("\"clip_c\":[-10.0,20.0]"), "{json}");
    let back = f32model::from_json(std::path::Path::new("m.json"), &json).expect("parses");
    assert_eq!(back, model);
    let bad = json.replacen("[-10.0,20.0]", "[20.0,-10.0]", 1);
    let err = f32model::from_json(std::path::Path::new("m.json"), &bad).expect_err("bad window");
    assert!(
        err.to_string().contains("m.json") && err.to_string().contains("clip"),
        "{err}"
    );
}

/// A pin that only counts how often it was driven (the Pico's LED in these tests).
#[derive(Default)]
struct CountingPin(u32);

impl embedded_hal::digital::ErrorType for CountingPin {
    type Error = Infallible;
}

impl embedded_hal::digital::OutputPin for CountingPin {
    fn set_low(&mut self) -> Result<(), Infallible> {
        self.0 += 1;
        Ok(())
    }
    fn set_high(&mut self) -> Result<(), Infallible> {
        self.0 += 1;
        Ok(())
    }
}

#[test]
fn the_pico_and_the_host_give_identical_results_on_thousands_of_frames() {
    let n: usize = std::env::var("VIGIL_LONG_TESTS").map_or(2000, |_| 20_000);
    let model = cnn(6);
    let q = quantize(&model, &frames(30, 102), Options::default()).expect("quantizes");
    let host_model = Model::parse(&q.bytes).expect("parses");
    // The host runs the fastest kernel of this CPU (AVX2 where there is one), the Pico the
    // portable engine: this is the bit-identity check between the two code paths.
    let mut host = Int8Classifier::new(host_model);
    eprintln!("host kernel: {}", host.kernel().name());
    let pico_model = Model::parse(&q.bytes).expect("parses");
    let mut arena = vec![0i8; pico_model.arena_len()];
    let cfg = DetectorConfig {
        output: FrameOutput::FullRate,
        ..DetectorConfig::default()
    };
    let mut pico =
        PicoCore::new(pico_model, &mut arena, cfg, CountingPin::default()).expect("core");
    let mut classes = [0usize; 3];
    for (i, (_, frame)) in generate(n, 4242).into_iter().enumerate() {
        let centi: [i16; 768] = vigil_scenes::to_centi(&frame)
            .try_into()
            .expect("768 readings");
        let h = host.classify_centi(&centi).expect("host runs");
        let p = pico.on_frame(&centi).expect("pico runs").detection;
        let host_class = ThermalClass::from_index(h.class).expect("3 classes");
        assert_eq!(
            (p.class, p.confidence_permille),
            (host_class, h.confidence_permille),
            "frame {i}"
        );
        classes[h.class] += 1;
    }
    // The frames must exercise more than one output for the comparison to mean anything.
    assert!(
        classes.iter().filter(|&&c| c > 0).count() >= 2,
        "{classes:?}"
    );
}

/// The simulator's stand-in model file (`firmware/sim/models/handmade.vgi8`) is what this
/// quantizer makes of the stand-in weights, calibrated on 96 synthetic frames (seed 5), min-max
/// per channel. With `VIGIL_BLESS=1` the test writes the file instead (after a change of the
/// weights or of the quantizer; review the diff).
#[test]
fn the_stand_in_model_file_is_the_quantized_handmade_model() {
    let calib: Vec<Vec<f32>> = generate(96, 5).into_iter().map(|(_, f)| f).collect();
    let q = quantize(
        &vigil_sim::model::handmade_f32(),
        &calib,
        Options {
            method: Method::MinMax,
            granularity: Granularity::Channel,
            kmeans_bits: None,
        },
    )
    .expect("quantizes");
    if std::env::var_os("VIGIL_BLESS").is_some() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../firmware/sim/models/handmade.vgi8");
        std::fs::write(&path, &q.bytes).expect("writes the stand-in model");
    }
    assert!(
        q.bytes == vigil_sim::model::HANDMADE_INT8,
        "firmware/sim/models/handmade.vgi8 is not the quantized stand-in model; \
         rerun with VIGIL_BLESS=1 and review the change"
    );
}
