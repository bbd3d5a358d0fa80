//! `vigil-train`: trains the thermal classifier with burn, fine-tunes it quantization-aware,
//! and benchmarks it. `vigil train …` runs this binary.
//!
//! Exit codes: 0 success, 1 the run failed, 2 bad input (the message names the file).
//! Outputs are written to a temporary file and renamed, so a failed run writes nothing.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use vigil_int8::f32model;
use vigil_int8::Model;
use vigil_thermal::load_labelled_dir;
use vigil_thermal::quantize::{size_report, Granularity, Method, Options};
use vigil_train::bench::{latency, rp2040_estimate, CycleCosts, RP2040_HZ};
use vigil_train::{
    check_writable, qat, train, write_atomic, Arch, QatOptions, TrainError, TrainOptions,
};
use vigil_wire::ThermalClass;

/// Trains, fine-tunes and benchmarks vigil's thermal classifier (burn, CPU).
#[derive(Debug, Parser)]
#[command(name = "vigil-train", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Train the f32 model on a labelled CSV directory and write vigil's f32 model file.
    Train(TrainArgs),
    /// Quantize, and fine-tune quantization-aware when the int8 drop exceeds 0.5 pp.
    Qat(QatArgs),
    /// Host latency (int8 engine vs burn f32), model size, RP2040 cycle estimate.
    Bench(BenchArgs),
}

#[derive(Debug, clap::Args)]
struct TrainArgs {
    /// Directory of labelled frames (`*_1.csv` person, `*_2.csv` object, `*_3.csv` background).
    #[arg(long, value_name = "DIR")]
    data: PathBuf,
    /// The f32 model file to write (JSON).
    #[arg(long, value_name = "MODEL.json")]
    out: PathBuf,
    /// Seed of the initial weights, the split, the shuffles and the flips.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Passes over the training split.
    #[arg(long, default_value_t = 30)]
    epochs: usize,
    /// Frames per mini-batch.
    #[arg(long, default_value_t = 32)]
    batch: usize,
    /// Peak learning rate (Adam, cosine decay).
    #[arg(long, default_value_t = 0.01)]
    lr: f64,
    /// Share of the frames held out for validation.
    #[arg(long, default_value_t = 0.2)]
    val_fraction: f64,
    /// Network plan.
    #[arg(long, value_enum, default_value_t = ArchName::Default)]
    arch: ArchName,
    /// A plan in the compact description of `Arch::parse` (e.g. `c3s2:8,mp2,c3:12,c3s2:24,gmax`),
    /// instead of `--arch`.
    #[arg(long, value_name = "SPEC")]
    plan: Option<String>,
    /// Do not mirror frames at random.
    #[arg(long)]
    no_flip: bool,
    /// Shift frames at random by up to this many pixels each way (0: no shifts).
    #[arg(long, default_value_t = 0)]
    shift: u8,
    /// Decoupled weight decay (AdamW); 0 trains with plain Adam.
    #[arg(long, default_value_t = 0.0)]
    weight_decay: f64,
    /// A held-out labelled directory to score the kept model on (f32) after training.
    #[arg(long, value_name = "DIR")]
    test: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ArchName {
    /// The shipped plan (about 3.7 k parameters).
    Default,
    /// A wide, unshippable probe (about 65 k parameters) that bounds what the data allows.
    Wide,
    /// Depthwise-separable (about 1.2 k parameters, slower on the RP2040).
    Separable,
    /// A few hundred parameters (tests).
    Tiny,
}

#[derive(Debug, clap::Args)]
struct QatArgs {
    /// The trained f32 model file.
    #[arg(long, value_name = "MODEL.json")]
    model: PathBuf,
    /// Labelled frames to fine-tune and validate on (split as in training).
    #[arg(long, value_name = "DIR")]
    data: PathBuf,
    /// Frames to calibrate activation ranges on.
    #[arg(long, value_name = "DIR")]
    calib: PathBuf,
    /// Activation calibration.
    #[arg(long, default_value = "minmax", value_parser = clap::value_parser!(Method))]
    method: Method,
    /// Weight scale granularity.
    #[arg(long, default_value = "channel", value_parser = clap::value_parser!(Granularity))]
    granularity: Granularity,
    /// k-means weight codebook of 2, 4 or 8 bits.
    #[arg(long, value_name = "BITS")]
    kmeans_bits: Option<u8>,
    /// The fine-tuned f32 model to write.
    #[arg(long, value_name = "MODEL.json")]
    out: PathBuf,
    /// The int8 model to write.
    #[arg(long, value_name = "Q.vgi8")]
    out_int8: PathBuf,
    /// Seed (the training seed validates on the training run's validation frames).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Fine-tuning epochs.
    #[arg(long, default_value_t = 4)]
    epochs: usize,
    /// Frames per mini-batch.
    #[arg(long, default_value_t = 32)]
    batch: usize,
    /// Peak learning rate.
    #[arg(long, default_value_t = 0.001)]
    lr: f64,
    /// Share of the frames held out for validation.
    #[arg(long, default_value_t = 0.2)]
    val_fraction: f64,
    /// Fine-tune even when the drop is within 0.5 pp.
    #[arg(long)]
    force: bool,
    /// Shift frames at random by up to this many pixels each way (0: no shifts).
    #[arg(long, default_value_t = 0)]
    shift: u8,
    /// A held-out labelled directory to score the kept model on (f32 and int8).
    #[arg(long, value_name = "DIR")]
    test: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct BenchArgs {
    /// The f32 model file.
    #[arg(long, value_name = "MODEL.json")]
    model: PathBuf,
    /// Its int8 model file.
    #[arg(long, value_name = "Q.vgi8")]
    int8: PathBuf,
    /// Frames to time (CSV directory); default 256 synthetic frames of seed 3.
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Seconds per measurement.
    #[arg(long, default_value_t = 1.0)]
    min_secs: f64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train(a) => run_train(a),
        Command::Qat(a) => run_qat(a),
        Command::Bench(a) => run_bench(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vigil-train: {e}");
            ExitCode::from(if e.is_bad_input() { 2 } else { 1 })
        }
    }
}

fn counts(samples: &[(ThermalClass, Vec<f32>)]) -> String {
    let mut c = [0usize; 3];
    for (l, _) in samples {
        c[l.index()] += 1;
    }
    format!("{} person, {} object, {} background", c[0], c[1], c[2])
}

fn run_train(a: TrainArgs) -> Result<(), TrainError> {
    check_writable(&a.out)?;
    let samples = load_labelled_dir(&a.data)?;
    let test = a.test.as_deref().map(load_labelled_dir).transpose()?;
    let arch = match (&a.plan, a.arch) {
        (Some(spec), _) => Arch::parse(spec)?,
        (None, ArchName::Default) => Arch::default_thermal(),
        (None, ArchName::Wide) => Arch::wide(),
        (None, ArchName::Separable) => Arch::separable(),
        (None, ArchName::Tiny) => Arch::tiny(),
    };
    println!(
        "data: {} frames from {} ({})",
        samples.len(),
        a.data.display(),
        counts(&samples)
    );
    println!(
        "network: {} parameters, {} multiply-accumulates and {} layer outputs per frame",
        arch.param_count()?,
        arch.macs()?,
        arch.outputs()?
    );
    let opts = TrainOptions {
        seed: a.seed,
        epochs: a.epochs,
        batch: a.batch,
        lr: a.lr,
        val_fraction: a.val_fraction,
        flip: !a.no_flip,
        shift: a.shift,
        weight_decay: a.weight_decay,
    };
    let progress = EpochProgress::new("training", opts.epochs);
    let out = train(&arch, &samples, &opts, &mut |line| progress.line(line))?;
    drop(progress);
    write_atomic(&a.out, f32model::to_json(&out.model).as_bytes())?;
    println!(
        "trained on {} frames, validated on {}; best epoch {} of {}",
        out.train_frames,
        out.validation.total(),
        out.best_epoch,
        opts.epochs
    );
    println!("validation (f32):\n{}", out.validation);
    if let Some(test) = &test {
        println!(
            "held-out (f32, {} frames):\n{}",
            test.len(),
            vigil_thermal::evaluate_f32(&out.model, test)?
        );
    }
    println!("wrote {}", a.out.display());
    Ok(())
}

fn run_qat(a: QatArgs) -> Result<(), TrainError> {
    check_writable(&a.out)?;
    check_writable(&a.out_int8)?;
    let model = f32model::load(&a.model)?;
    let samples = load_labelled_dir(&a.data)?;
    let test = a.test.as_deref().map(load_labelled_dir).transpose()?;
    let calib: Vec<Vec<f32>> = vigil_thermal::load_dir(&a.calib)?
        .into_iter()
        .map(|s| s.frame)
        .collect();
    let opts = QatOptions {
        train: TrainOptions {
            seed: a.seed,
            epochs: a.epochs,
            batch: a.batch,
            lr: a.lr,
            val_fraction: a.val_fraction,
            flip: true,
            shift: a.shift,
            weight_decay: 0.0,
        },
        quant: Options {
            method: a.method,
            granularity: a.granularity,
            kmeans_bits: a.kmeans_bits,
        },
        force: a.force,
    };
    let progress = EpochProgress::new("fine-tuning", opts.train.epochs);
    let out = qat(&model, &samples, &calib, &opts, &mut |line| {
        progress.line(line)
    })?;
    drop(progress);
    write_atomic(&a.out, f32model::to_json(&out.model).as_bytes())?;
    write_atomic(&a.out_int8, &out.quantized.bytes)?;
    let size = size_report(&out.model, &out.quantized);
    println!(
        "model: {} parameters, int8 file {} bytes (f32 parameters {} bytes)",
        size.params, size.int8_bytes, size.f32_bytes
    );
    println!(
        "validation before: f32 {:.2} %  int8 {:.2} %  drop {:+.2} pp",
        100.0 * out.before.f32.accuracy(),
        100.0 * out.before.int8.accuracy(),
        out.before.drop_pp()
    );
    println!(
        "validation after{}: f32 {:.2} %  int8 {:.2} %  drop {:+.2} pp",
        if out.ran {
            " fine-tuning"
        } else {
            " (no fine-tuning)"
        },
        100.0 * out.after.f32.accuracy(),
        100.0 * out.after.int8.accuracy(),
        out.after.drop_pp()
    );
    println!("int8 validation:\n{}", out.after.int8);
    if let Some(test) = &test {
        let (_, held) =
            vigil_train::train::quantize_and_evaluate(&out.model, &calib, opts.quant, test)?;
        println!(
            "held-out ({} frames): f32 {:.2} %  int8 {:.2} %  drop {:+.2} pp",
            test.len(),
            100.0 * held.f32.accuracy(),
            100.0 * held.int8.accuracy(),
            held.drop_pp()
        );
        println!("held-out int8:\n{}", held.int8);
    }
    println!("wrote {} and {}", a.out.display(), a.out_int8.display());
    Ok(())
}

fn read_int8(path: &Path) -> Result<Vec<u8>, TrainError> {
    let bytes = std::fs::read(path).map_err(|source| {
        TrainError::Dataset(vigil_thermal::DatasetError::Io {
            path: path.to_path_buf(),
            source,
        })
    })?;
    Model::parse(&bytes).map_err(|source| TrainError::Int8File {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(bytes)
}

fn run_bench(a: BenchArgs) -> Result<(), TrainError> {
    let model = f32model::load(&a.model)?;
    let bytes = read_int8(&a.int8)?;
    let parsed = Model::parse(&bytes).map_err(|source| TrainError::Int8File {
        path: a.int8.clone(),
        source,
    })?;
    let frames: Vec<Vec<f32>> = match &a.data {
        Some(dir) => vigil_thermal::load_dir(dir)?
            .into_iter()
            .map(|s| s.frame)
            .collect(),
        None => vigil_scenes::generate(256, 3)
            .into_iter()
            .map(|(_, f)| f)
            .collect(),
    };
    let json_len = f32model::to_json(&model).len();
    println!("model sizes");
    println!("  int8 file ({}): {} bytes", a.int8.display(), bytes.len());
    println!(
        "  f32 parameters: {} × 4 = {} bytes (JSON file {json_len} bytes)",
        model.param_count(),
        model.param_count() * 4
    );
    println!("  int8 arena: {} bytes", parsed.arena_len());
    let lat = latency(&model, &bytes, &frames, a.min_secs)?;
    println!();
    print!("{}", lat.table());
    let costs = CycleCosts::default();
    let est = rp2040_estimate(&parsed, &costs);
    println!();
    println!(
        "RP2040 estimate (Cortex-M0+ at {} MHz)",
        RP2040_HZ / 1_000_000
    );
    println!(
        "  {:<18} {:>12} {:>10} {:>12} {:>9}",
        "layer", "output", "MACs", "cycles", "ms"
    );
    let mut total = (0u64, 0u64);
    for l in &est {
        total.0 += l.macs;
        total.1 += l.cycles;
        println!(
            "  {:<18} {:>12} {:>10} {:>12} {:>9.3}",
            l.name,
            format!("{}×{}×{}", l.shape.h, l.shape.w, l.shape.c),
            l.macs,
            l.cycles,
            l.cycles as f64 * 1e3 / RP2040_HZ as f64
        );
    }
    println!(
        "  {:<18} {:>12} {:>10} {:>12} {:>9.3}",
        "total",
        "",
        total.0,
        total.1,
        total.1 as f64 * 1e3 / RP2040_HZ as f64
    );
    Ok(())
}

/// The epoch lines on stderr as before, and on a terminal a bar over the epochs below them
/// (a pipe gets the lines only, byte for byte).
struct EpochProgress {
    bar: Option<indicatif::ProgressBar>,
}

impl EpochProgress {
    fn new(what: &str, epochs: usize) -> Self {
        use std::io::IsTerminal;
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(epochs as u64);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{msg} [{bar:32}] epoch {pos}/{len} ({elapsed}, {eta} left)",
            ) {
                bar.set_style(style);
            }
            bar.set_message(what.to_string());
            bar
        });
        EpochProgress { bar }
    }

    fn line(&self, line: &str) {
        match &self.bar {
            Some(bar) => {
                bar.println(line);
                if line.starts_with("epoch") || line.starts_with("qat epoch") {
                    bar.inc(1);
                }
            }
            None => eprintln!("{line}"),
        }
    }
}

impl Drop for EpochProgress {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
