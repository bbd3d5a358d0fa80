//! Small, fast checks of the trainer (tiny data, one epoch): reproducibility, the export's
//! exactness, fake quantization against the int8 engine, and fine-tuning.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use vigil_int8::f32model;
use vigil_int8::Model;
use vigil_scenes::generate;
use vigil_thermal::quantize::{quantize, Granularity, Method, Options};
use vigil_wire::ThermalClass;

use crate::arch::{pool, same, Arch, Block, CLASSES};
use crate::bench::{rp2040_estimate, CycleCosts};
use crate::data::Prepared;
use crate::net::{values, FakeQuant, Net};
use crate::train::{cpu, qat, train, QatOptions, TrainOptions};

fn quick(seed: u64) -> TrainOptions {
    TrainOptions {
        seed,
        epochs: 1,
        batch: 8,
        lr: 0.01,
        val_fraction: 0.25,
        flip: true,
        shift: 0,
        weight_decay: 0.0,
    }
}

/// Logits of burn's forward for `frames`.
fn burn_logits(arch: &Arch, net: &Net, frames: &[(ThermalClass, Vec<f32>)]) -> Vec<f32> {
    let device = cpu();
    let data = Prepared::new(&arch.inputs, frames).unwrap();
    let idx: Vec<usize> = (0..frames.len()).collect();
    values(net.forward(arch, data.inputs(&idx, None, &device), None)).unwrap()
}

#[test]
fn training_twice_with_the_same_seed_gives_bit_identical_weights() {
    let samples = generate(24, 3);
    let a = train(&Arch::tiny(), &samples, &quick(5), &mut |_| {}).unwrap();
    let b = train(&Arch::tiny(), &samples, &quick(5), &mut |_| {}).unwrap();
    let c = train(&Arch::tiny(), &samples, &quick(6), &mut |_| {}).unwrap();
    assert_eq!(f32model::to_json(&a.model), f32model::to_json(&b.model));
    assert_ne!(f32model::to_json(&a.model), f32model::to_json(&c.model));
    assert_eq!(a.train_frames, 18);
    assert_eq!(a.validation.total(), 6);
}

#[test]
fn burn_and_the_f32_reference_compute_the_same_logits() {
    // The shipped plan, and a plan whose dense layer reads a spatial tensor (the HWC/CHW
    // flattening permutation matters there).
    let spatial = Arch {
        inputs: crate::arch::default_inputs(),
        blocks: vec![
            Block::Conv {
                geom: same(3, 2),
                out_c: 3,
                relu: true,
            },
            Block::MaxPool(pool(4)),
            Block::Depthwise {
                geom: same(3, 1),
                relu: true,
            },
            Block::Dense {
                out: CLASSES,
                relu: false,
            },
        ],
    };
    let frames = generate(6, 21);
    for (k, arch) in [Arch::default_thermal(), spatial].iter().enumerate() {
        let device = cpu();
        let mut net = Net::init(arch, 40 + k as u64, &device).unwrap();
        // Non-zero biases, so a misplaced bias would show.
        for (i, l) in net.layers.iter_mut().enumerate() {
            let n = l.bias.val().dims()[0];
            let b: Vec<f32> = (0..n).map(|j| 0.01 * (i + j) as f32 - 0.02).collect();
            l.bias = burn::module::Param::from_data(burn::tensor::TensorData::new(b, [n]), &device);
        }
        let model = net.to_f32(arch).unwrap();
        let burn = burn_logits(arch, &net, &frames);
        for (f, (_, frame)) in frames.iter().enumerate() {
            let reference = model.forward(frame).unwrap();
            for c in 0..CLASSES {
                let (x, y) = (burn[f * CLASSES + c], reference[c]);
                assert!(
                    (x - y).abs() <= 1e-4 * (1.0 + y.abs()),
                    "plan {k} frame {f} class {c}: burn {x} vs reference {y}"
                );
            }
        }
        // Import of the export is exact.
        let (arch2, net2) = Net::from_f32(&model, &device).unwrap();
        assert_eq!(&arch2, arch);
        assert_eq!(net2.to_f32(&arch2).unwrap(), model);
    }
}

#[test]
fn fake_quantization_follows_the_int8_engine() {
    let arch = Arch::default_thermal();
    let device = cpu();
    let net = Net::init(&arch, 9, &device).unwrap();
    let model = net.to_f32(&arch).unwrap();
    let frames = generate(24, 8);
    let calib: Vec<Vec<f32>> = frames.iter().map(|(_, f)| f.clone()).collect();
    let opts = Options {
        method: Method::MinMax,
        granularity: Granularity::Channel,
        kmeans_bits: None,
    };
    let q = quantize(&model, &calib, opts).unwrap();
    let fq = FakeQuant {
        tensors: q.tensors.clone(),
        inputs: q.input_channels.clone(),
        per_channel: true,
    };
    let data = Prepared::new(&arch.inputs, &frames).unwrap();
    let idx: Vec<usize> = (0..frames.len()).collect();
    let fake = values(net.forward(&arch, data.inputs(&idx, None, &device), Some(&fq))).unwrap();
    let plain = values(net.forward(&arch, data.inputs(&idx, None, &device), None)).unwrap();
    let engine = Model::parse(&q.bytes).unwrap();
    let mut arena = vec![0i8; engine.arena_len()];
    let out = *q.tensors.last().unwrap();
    let (mut fake_err, mut plain_err) = (0f64, 0f64);
    for (f, (_, frame)) in frames.iter().enumerate() {
        let r = engine
            .infer(&vigil_scenes::to_centi(frame), &mut arena)
            .unwrap();
        for c in 0..CLASSES {
            let deq = (f64::from(r.logits()[c]) - f64::from(out.zero_point)) * out.scale;
            fake_err += (f64::from(fake[f * CLASSES + c]) - deq).abs();
            plain_err += (f64::from(plain[f * CLASSES + c]) - deq).abs();
        }
    }
    let n = (frames.len() * CLASSES) as f64;
    // The fake-quantized forward lands within a couple of output steps of the engine, and
    // closer to it than the float forward does.
    assert!(
        fake_err / n <= 2.0 * out.scale,
        "mean error {} steps",
        fake_err / n / out.scale
    );
    assert!(
        fake_err <= plain_err,
        "fake {fake_err} vs plain {plain_err}"
    );
}

#[test]
fn fine_tuning_keeps_the_best_int8_model() {
    let samples = generate(24, 4);
    let trained = train(&Arch::tiny(), &samples, &quick(2), &mut |_| {}).unwrap();
    let calib: Vec<Vec<f32>> = samples.iter().map(|(_, f)| f.clone()).collect();
    let opts = QatOptions {
        train: quick(2),
        quant: Options {
            method: Method::Mse,
            granularity: Granularity::Tensor,
            kmeans_bits: None,
        },
        force: true,
    };
    let mut lines = vec![];
    let out = qat(&trained.model, &samples, &calib, &opts, &mut |l| {
        lines.push(l.to_string())
    })
    .unwrap();
    assert!(out.ran);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(out.after.int8.accuracy() >= out.before.int8.accuracy());
    Model::parse(&out.quantized.bytes).unwrap();
    // The kept int8 model is the quantization of the kept f32 model.
    assert_eq!(
        quantize(&out.model, &calib, opts.quant).unwrap().bytes,
        out.quantized.bytes
    );
}

#[test]
fn the_cycle_estimate_counts_every_multiply_accumulate() {
    let arch = Arch::default_thermal();
    let model = Net::init(&arch, 1, &cpu()).unwrap().to_f32(&arch).unwrap();
    let calib = vec![generate(1, 1).remove(0).1];
    let q = quantize(&model, &calib, Options::default()).unwrap();
    let parsed = Model::parse(&q.bytes).unwrap();
    let est = rp2040_estimate(&parsed, &CycleCosts::default());
    assert_eq!(est.len(), arch.blocks.len() + 1);
    // Taps in the padding add nothing (the engine skips them or dots them with zeros), so
    // the useful MACs are fewer than the dense count (100 296). By hand, valid taps × input
    // channels per layer: conv1 35·47·8·2 = 26 320,
    // conv2 16·22·12·8 = 33 792, conv3 8·11·24·12 = 25 344, dense 72.
    let macs: u64 = est.iter().map(|l| l.macs).sum();
    assert_eq!(arch.macs().unwrap(), 100_296);
    assert_eq!(macs, 26_320 + 33_792 + 25_344 + 72);
    assert!(est.iter().all(|l| l.cycles > 0));
}

#[test]
fn outputs_are_written_whole_or_not_at_all() {
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("m.json");
    crate::write_atomic(&p, b"{}").unwrap();
    assert_eq!(std::fs::read(&p).unwrap(), b"{}");
    let missing = t.path().join("no/such/dir/m.json");
    assert!(crate::check_writable(&missing).unwrap_err().is_bad_input());
    assert!(crate::write_atomic(&missing, b"x").is_err());
    let names: Vec<_> = std::fs::read_dir(t.path()).unwrap().collect();
    assert_eq!(names.len(), 1);
}
