//! The training loop (Adam, cross-entropy, mini-batches, seeded) and quantization-aware
//! fine-tuning.
//!
//! Everything random is drawn from seeded generators of our own (initial weights, the split,
//! the shuffles, the flips), and burn's ndarray backend runs single-threaded, so the same
//! seed and data give the same weights bit for bit.

use burn::module::Module;
use burn::optim::{AdamConfig, AdamWConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Tensor};
use vigil_int8::reference::F32Model;
use vigil_int8::Model;
use vigil_scenes::Rng;
use vigil_thermal::quantize::{quantize, Granularity, Options, Quantized};
use vigil_thermal::{evaluate_f32, evaluate_int8, Confusion, Int8Classifier};
use vigil_wire::ThermalClass;

use crate::arch::Arch;
use crate::data::{pick, shuffle, split, Augment, Prepared};
use crate::net::{values, FakeQuant, Net};
use crate::TrainError;

/// The int8 accuracy drop (percentage points) above which fine-tuning is worth it.
pub const QAT_THRESHOLD_PP: f64 = 0.5;

/// Training settings.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainOptions {
    /// Seed of the initial weights, the split, the shuffles and the flips.
    pub seed: u64,
    /// Passes over the training split.
    pub epochs: usize,
    /// Frames per mini-batch.
    pub batch: usize,
    /// Peak learning rate (cosine-decayed to 5 % of it over the run).
    pub lr: f64,
    /// Share of the frames held out for validation.
    pub val_fraction: f64,
    /// Mirror frames left to right at random (augmentation).
    pub flip: bool,
    /// Shift frames by up to this many pixels in each direction at random (augmentation; 0
    /// for none).
    pub shift: u8,
    /// Decoupled weight decay (AdamW) per step, relative to the learning rate; 0 for plain
    /// Adam.
    pub weight_decay: f64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            seed: 1,
            epochs: 30,
            batch: 32,
            lr: 0.01,
            val_fraction: 0.2,
            flip: true,
            shift: 0,
            weight_decay: 0.0,
        }
    }
}

/// One epoch's figures.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochLog {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training loss.
    pub loss: f64,
    /// Training accuracy (of the batches as they were trained).
    pub train_accuracy: f64,
    /// Validation accuracy after the epoch (f32, or int8 during fine-tuning).
    pub val_accuracy: f64,
}

/// What [`train`] produced.
#[derive(Clone, Debug)]
pub struct TrainOutcome {
    /// The model of the epoch with the best validation accuracy (the earliest among equals).
    pub model: F32Model,
    /// That epoch (1-based).
    pub best_epoch: usize,
    /// Its validation confusion matrix.
    pub validation: Confusion,
    /// Frames trained on.
    pub train_frames: usize,
    /// Per-epoch figures.
    pub history: Vec<EpochLog>,
}

/// The CPU device training runs on (burn's ndarray backend, single-threaded).
#[allow(deprecated)] // burn 0.22 marks ndarray deprecated in favour of `flex`; it is the backend asked for here
pub fn cpu() -> Device {
    Device::ndarray()
}

/// Cross-entropy of logits `[b, 3]` against one-hot targets `[b, 3]`, averaged.
fn cross_entropy(logits: Tensor<2>, targets: Tensor<2>) -> Tensor<1> {
    (log_softmax(logits, 1) * targets).sum_dim(1).mean().neg()
}

/// Adam, or AdamW when `weight_decay` is set.
fn optimizer(opts: &TrainOptions) -> ModuleOptimizer {
    if opts.weight_decay > 0.0 {
        AdamWConfig::new()
            .with_weight_decay(opts.weight_decay as f32)
            .init()
    } else {
        AdamConfig::new().init()
    }
}

fn lr_at(opts_lr: f64, epoch: usize, epochs: usize) -> f64 {
    let t = epoch as f64 / epochs.max(1) as f64;
    opts_lr * (0.05 + 0.95 * 0.5 * (1.0 + (std::f64::consts::PI * t).cos()))
}

/// One pass over `train` indices; returns (mean loss, accuracy) of the batches.
#[allow(clippy::too_many_arguments)]
fn epoch(
    net: Net,
    arch: &Arch,
    data: &Prepared,
    train_idx: &[usize],
    opts: &TrainOptions,
    lr: f64,
    rng: &mut Rng,
    optim: &mut ModuleOptimizer,
    fq: Option<&FakeQuant>,
    device: &Device,
) -> Result<(Net, f64, f64), TrainError> {
    let mut net = net;
    let mut order = train_idx.to_vec();
    shuffle(&mut order, rng);
    let (mut loss_sum, mut correct, mut seen) = (0f64, 0usize, 0usize);
    for batch in order.chunks(opts.batch.max(1)) {
        let aug: Vec<Augment> = batch
            .iter()
            .map(|_| {
                let flip = opts.flip && rng.below(2) == 1;
                let mut offset = || {
                    if opts.shift == 0 {
                        return 0;
                    }
                    let s = usize::from(opts.shift.min(8));
                    // in −s..=s, both ends included
                    (rng.below(2 * s + 1) as i8) - s as i8
                };
                let (dy, dx) = (offset(), offset());
                Augment { flip, dy, dx }
            })
            .collect();
        let x = data.augmented(batch, &aug, device);
        let y = data.targets(batch, device);
        let logits = net.forward(arch, x, fq);
        let predicted = values(logits.clone().detach().argmax(1).float())?;
        for (k, &i) in batch.iter().enumerate() {
            if predicted
                .get(k)
                .is_some_and(|&p| p as usize == data.labels[i])
            {
                correct += 1;
            }
        }
        let loss = cross_entropy(logits, y);
        let l = values(loss.clone().detach())?;
        loss_sum += f64::from(l.first().copied().unwrap_or(f32::NAN)) * batch.len() as f64;
        seen += batch.len();
        let grads = GradientsParams::from_grads(loss.backward(), &net);
        net = optim.step(lr, net, grads);
    }
    let n = seen.max(1) as f64;
    Ok((net, loss_sum / n, correct as f64 / n))
}

/// Trains `arch` on labelled frames: a seeded train/validation split, Adam on cross-entropy
/// in mini-batches, and keeps the epoch with the best validation accuracy. `log` receives
/// one line per epoch.
pub fn train(
    arch: &Arch,
    samples: &[(ThermalClass, Vec<f32>)],
    opts: &TrainOptions,
    log: &mut dyn FnMut(&str),
) -> Result<TrainOutcome, TrainError> {
    if opts.epochs == 0 || opts.batch == 0 {
        return Err(TrainError::BadArgument(
            "epochs and batch size must be at least 1".into(),
        ));
    }
    arch.shapes()?;
    let (train_idx, val_idx) = split(samples.len(), opts.val_fraction, opts.seed)?;
    let data = Prepared::new(&arch.inputs, samples)?;
    let val = pick(samples, &val_idx);
    let device = cpu().autodiff();
    device.seed(opts.seed);
    let mut net = Net::init(arch, opts.seed, &device)?;
    let mut optim = optimizer(opts);
    let mut rng = Rng::new(opts.seed ^ 0xBA7C_0000);
    let mut best: Option<(f64, usize, F32Model, Confusion)> = None;
    let mut history = Vec::with_capacity(opts.epochs);
    for e in 0..opts.epochs {
        let lr = lr_at(opts.lr, e, opts.epochs);
        let (next, loss, acc) = epoch(
            net, arch, &data, &train_idx, opts, lr, &mut rng, &mut optim, None, &device,
        )?;
        net = next;
        let model = net.valid().to_f32(arch)?;
        let conf = evaluate_f32(&model, &val)?;
        let val_acc = conf.accuracy();
        log(&format!(
            "epoch {:>3}  lr {lr:.5}  loss {loss:.4}  train {:6.2} %  validation {:6.2} %",
            e + 1,
            100.0 * acc,
            100.0 * val_acc
        ));
        history.push(EpochLog {
            epoch: e + 1,
            loss,
            train_accuracy: acc,
            val_accuracy: val_acc,
        });
        if best.as_ref().is_none_or(|b| val_acc > b.0) {
            best = Some((val_acc, e + 1, model, conf));
        }
    }
    let (_, best_epoch, model, validation) =
        best.ok_or_else(|| TrainError::BadArgument("no epoch ran".into()))?;
    Ok(TrainOutcome {
        model,
        best_epoch,
        validation,
        train_frames: train_idx.len(),
        history,
    })
}

/// Quantization-aware fine-tuning settings.
#[derive(Clone, Debug, PartialEq)]
pub struct QatOptions {
    /// Split, shuffles and flips (use the training seed to validate on the same frames).
    pub train: TrainOptions,
    /// The quantizer settings the fine-tuning targets.
    pub quant: Options,
    /// Fine-tune even when the drop is within [`QAT_THRESHOLD_PP`].
    pub force: bool,
}

/// f32 and int8 validation results of one model.
#[derive(Clone, Debug)]
pub struct QuantEval {
    /// f32 validation confusion.
    pub f32: Confusion,
    /// int8 validation confusion.
    pub int8: Confusion,
}

impl QuantEval {
    /// f32 minus int8 accuracy, in percentage points.
    pub fn drop_pp(&self) -> f64 {
        100.0 * (self.f32.accuracy() - self.int8.accuracy())
    }
}

/// What [`qat`] produced.
#[derive(Clone, Debug)]
pub struct QatOutcome {
    /// Before fine-tuning.
    pub before: QuantEval,
    /// The kept model (the input model when fine-tuning was not needed or did not help).
    pub after: QuantEval,
    /// Whether fine-tuning ran.
    pub ran: bool,
    /// The kept f32 model.
    pub model: F32Model,
    /// Its quantization with the requested options.
    pub quantized: Quantized,
}

/// Quantizes `model` and evaluates f32 and int8 on `val`.
pub fn quantize_and_evaluate(
    model: &F32Model,
    calib: &[Vec<f32>],
    quant: Options,
    val: &[(ThermalClass, Vec<f32>)],
) -> Result<(Quantized, QuantEval), TrainError> {
    let q = quantize(model, calib, quant)?;
    let parsed = Model::parse(&q.bytes).map_err(|e| TrainError::Int8(e.to_string()))?;
    let mut clf = Int8Classifier::new(parsed);
    let int8 = evaluate_int8(&mut clf, val).map_err(|e| TrainError::Int8(e.to_string()))?;
    let f32 = evaluate_f32(model, val)?;
    Ok((q, QuantEval { f32, int8 }))
}

/// Quantization-aware fine-tuning: quantizes `model` (activation ranges calibrated on
/// `calib`), measures the int8 drop on the validation split of `samples`, and when it exceeds
/// [`QAT_THRESHOLD_PP`] (or `force`) trains a few epochs with weights and activations
/// fake-quantized on the grid the quantizer picks (re-calibrated before every epoch), then
/// re-quantizes. Keeps whichever model has the best int8 validation accuracy.
pub fn qat(
    model: &F32Model,
    samples: &[(ThermalClass, Vec<f32>)],
    calib: &[Vec<f32>],
    opts: &QatOptions,
    log: &mut dyn FnMut(&str),
) -> Result<QatOutcome, TrainError> {
    let t = &opts.train;
    if t.batch == 0 {
        return Err(TrainError::BadArgument(
            "batch size must be at least 1".into(),
        ));
    }
    let (train_idx, val_idx) = split(samples.len(), t.val_fraction, t.seed)?;
    let val = pick(samples, &val_idx);
    let (q0, before) = quantize_and_evaluate(model, calib, opts.quant, &val)?;
    log(&format!(
        "before: f32 {:.2} %  int8 {:.2} %  drop {:+.2} pp",
        100.0 * before.f32.accuracy(),
        100.0 * before.int8.accuracy(),
        before.drop_pp()
    ));
    if before.drop_pp() <= QAT_THRESHOLD_PP && !opts.force {
        log(&format!(
            "drop within {QAT_THRESHOLD_PP} pp: no fine-tuning needed"
        ));
        return Ok(QatOutcome {
            after: before.clone(),
            before,
            ran: false,
            model: model.clone(),
            quantized: q0,
        });
    }
    let device = cpu().autodiff();
    device.seed(t.seed);
    let (arch, mut net) = Net::from_f32(model, &device)?;
    let data = Prepared::new(&arch.inputs, samples)?;
    let mut optim = optimizer(t);
    let mut rng = Rng::new(t.seed ^ 0x0A70_0000);
    let per_channel =
        opts.quant.granularity == Granularity::Channel && opts.quant.kmeans_bits.is_none();
    let mut best = (before.int8.accuracy(), model.clone(), q0, before.clone());
    let mut current_q = best.2.clone();
    for e in 0..t.epochs {
        let fq = FakeQuant {
            tensors: current_q.tensors.clone(),
            inputs: current_q.input_channels.clone(),
            per_channel,
        };
        let lr = lr_at(t.lr, e, t.epochs);
        let (next, loss, acc) = epoch(
            net,
            &arch,
            &data,
            &train_idx,
            t,
            lr,
            &mut rng,
            &mut optim,
            Some(&fq),
            &device,
        )?;
        net = next;
        let m = net.valid().to_f32(&arch)?;
        let (q, ev) = quantize_and_evaluate(&m, calib, opts.quant, &val)?;
        log(&format!(
            "qat epoch {:>2}  lr {lr:.5}  loss {loss:.4}  train {:6.2} %  validation f32 {:6.2} %  int8 {:6.2} %",
            e + 1,
            100.0 * acc,
            100.0 * ev.f32.accuracy(),
            100.0 * ev.int8.accuracy()
        ));
        current_q = q.clone();
        if ev.int8.accuracy() > best.0 {
            best = (ev.int8.accuracy(), m, q, ev);
        }
    }
    let (_, model, quantized, after) = best;
    Ok(QatOutcome {
        before,
        after,
        ran: true,
        model,
        quantized,
    })
}
