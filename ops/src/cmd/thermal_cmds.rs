//! Thermal detection tools: `vigil dataset synth`, `vigil quantize`, `vigil classify` and
//! `vigil train`.
//!
//! The `vigil` binary never links burn. `vigil train …` runs the `vigil-train` executable
//! that sits next to this one (build it with `cargo build --release -p vigil-train`), passing
//! the arguments through. Quantization, classification and the int8 engine are vigil's own
//! (`vigil-thermal`, `vigil-int8`). `vigil classify` without `--model` uses the model shipped
//! in `firmware/int8/models/default.vgi8` (`vigil_int8::shipped`), compiled into the binary.
//!
//! Bad input (a CSV with the wrong count or a non-number, a reading out of range, an empty
//! directory, a model file of another version or truncated) exits 2 with the file named;
//! files are written to a temporary name and renamed, so nothing is left half-written.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context};
use serde_json::json;
use vigil_int8::{f32model, Model};
use vigil_thermal::dataset::label_from_stem;
use vigil_thermal::quantize::{
    quantize as quantize_model, size_report, Granularity, Method, Options,
};
use vigil_thermal::{
    evaluate_f32, evaluate_int8, load_dir, load_labelled_dir, load_paths, Confusion, Int8Classifier,
};
use vigil_wire::ThermalClass;

use crate::exit::{Classify, CmdResult, Failure};
use crate::progress::Progress;

/// The shipped int8 model (`firmware/int8/models/default.vgi8`, compiled in).
pub const DEFAULT_MODEL: &[u8] = vigil_int8::shipped::INT8;

/// The int8 accuracy drop (percentage points) above which quantization-aware fine-tuning is
/// recommended.
pub const QAT_THRESHOLD_PP: f64 = 0.5;

/// `vigil dataset …`
#[derive(Debug, clap::Subcommand)]
pub enum DatasetCommand {
    /// Write a labelled synthetic set of thermal frames (one CSV per frame).
    Synth(SynthArgs),
}

/// Arguments of `vigil dataset synth`.
#[derive(Debug, clap::Args)]
pub struct SynthArgs {
    /// Directory to write into (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Number of frames (classes in turn: person, object, background).
    #[arg(long, value_name = "N")]
    n: usize,
    /// Seed: the same seed always writes the same frames.
    #[arg(long, value_name = "S", default_value_t = 1)]
    seed: u64,
}

/// Output format of `vigil quantize`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum QuantizeFormat {
    /// Lines for people.
    Table,
    /// One JSON object.
    Json,
}

/// Arguments of `vigil quantize`.
#[derive(Debug, clap::Args)]
pub struct QuantizeArgs {
    /// The f32 model file (`vigil-thermal-f32` JSON, as `vigil train` writes it).
    #[arg(long, value_name = "M.json")]
    model: PathBuf,
    /// Frames to calibrate activation ranges on (a CSV directory).
    #[arg(long, value_name = "DIR")]
    calib: PathBuf,
    /// Activation calibration: minmax, ema, percentile, mse or kl.
    #[arg(long, default_value = "minmax", value_parser = clap::value_parser!(Method))]
    method: Method,
    /// Weight scales: tensor or channel.
    #[arg(long, default_value = "channel", value_parser = clap::value_parser!(Granularity))]
    granularity: Granularity,
    /// Cluster weights into a k-means codebook of 2, 4 or 8 bits.
    #[arg(long, value_name = "BITS", value_parser = parse_bits)]
    kmeans_bits: Option<u8>,
    /// The int8 model file to write.
    #[arg(long, value_name = "Q.vgi8")]
    out: PathBuf,
    /// Labelled frames to compare f32 and int8 accuracy on.
    #[arg(long, value_name = "DIR")]
    test: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = QuantizeFormat::Table)]
    format: QuantizeFormat,
}

fn parse_bits(s: &str) -> Result<u8, String> {
    match s {
        "2" => Ok(2),
        "4" => Ok(4),
        "8" => Ok(8),
        other => Err(format!("`{other}`: k-means bits must be 2, 4 or 8")),
    }
}

/// Output format of `vigil classify`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ClassifyFormat {
    /// Aligned columns, then accuracy and the confusion matrix when labels are known.
    Table,
    /// One JSON object per file, then one summary object.
    Jsonl,
}

/// Arguments of `vigil classify`.
#[derive(Debug, clap::Args)]
pub struct ClassifyArgs {
    /// int8 model file (default: the shipped model).
    #[arg(long, value_name = "Q.vgi8")]
    model: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ClassifyFormat::Table)]
    format: ClassifyFormat,
    /// CSV frames, or directories of them (not recursive).
    #[arg(required = true, value_name = "FILES|DIRS")]
    paths: Vec<PathBuf>,
}

/// Arguments of `vigil train`: everything is passed to `vigil-train`.
#[derive(Debug, clap::Args)]
#[command(disable_help_flag = true)]
pub struct TrainArgs {
    /// `--data DIR --out MODEL.json [--seed S] [--epochs N]` to train; `qat …` to fine-tune
    /// quantization-aware; `bench …` for latency; `--help` for vigil-train's own help.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0.., value_name = "ARGS")]
    args: Vec<OsString>,
}

/// `vigil dataset …`
pub fn dataset(c: DatasetCommand) -> CmdResult {
    match c {
        DatasetCommand::Synth(a) => synth(a),
    }
}

fn synth(a: SynthArgs) -> CmdResult {
    let spinner = Progress::spinner(&format!("writing {} frames to {}", a.n, a.out.display()));
    let written = vigil_thermal::synth(&a.out, a.n, a.seed);
    drop(spinner);
    let written = written.bad_input()?;
    let mut counts = [0usize; 3];
    for p in &written {
        let label = p
            .file_stem()
            .and_then(|s| s.to_str())
            .and_then(label_from_stem);
        if let Some(l) = label {
            counts[l.index()] += 1;
        }
    }
    println!(
        "wrote {} frames to {} (seed {}): {} person, {} object, {} background",
        written.len(),
        a.out.display(),
        a.seed,
        counts[0],
        counts[1],
        counts[2]
    );
    Ok(())
}

/// Writes `bytes` through a temporary file in the same directory and a rename.
fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| anyhow!("{}: not a file name", path.display()))?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        anyhow!("cannot write {}: {e}", path.display())
    })
}

/// f32 and int8 results on a labelled test set.
#[derive(Debug, Clone)]
struct TestReport {
    dir: PathBuf,
    f32: Confusion,
    int8: Confusion,
}

impl TestReport {
    fn drop_pp(&self) -> f64 {
        100.0 * (self.f32.accuracy() - self.int8.accuracy())
    }
}

/// `vigil quantize`
pub fn quantize(a: QuantizeArgs) -> CmdResult {
    let model = f32model::load(&a.model).bad_input()?;
    let calib: Vec<Vec<f32>> = load_dir(&a.calib)
        .bad_input()?
        .into_iter()
        .map(|s| s.frame)
        .collect();
    let opts = Options {
        method: a.method,
        granularity: a.granularity,
        kmeans_bits: a.kmeans_bits,
    };
    let q = quantize_model(&model, &calib, opts)
        .with_context(|| format!("cannot quantize {}", a.model.display()))
        .bad_input()?;
    let parsed = Model::parse(&q.bytes)
        .map_err(|e| anyhow!("the quantizer produced an unreadable model: {e}"))
        .failed()?;
    // Everything that can be refused is checked before anything is written.
    let test = match &a.test {
        Some(dir) => {
            let samples = load_labelled_dir(dir).bad_input()?;
            let f32 = evaluate_f32(&model, &samples)
                .with_context(|| format!("{}: f32 evaluation", dir.display()))
                .bad_input()?;
            let mut clf = Int8Classifier::new(parsed);
            let int8 = evaluate_int8(&mut clf, &samples)
                .map_err(|e| anyhow!("{}: int8 evaluation: {e}", dir.display()))
                .failed()?;
            Some(TestReport {
                dir: dir.clone(),
                f32,
                int8,
            })
        }
        None => None,
    };
    write_atomic(&a.out, &q.bytes).failed()?;
    let size = size_report(&model, &q);
    let method = format!("{:?}", a.method).to_lowercase();
    let granularity = format!("{:?}", a.granularity).to_lowercase();
    let hint = test
        .as_ref()
        .filter(|t| t.drop_pp() > QAT_THRESHOLD_PP)
        .map(|t| qat_hint(&a, &method, &granularity, t));
    match a.format {
        QuantizeFormat::Json => {
            let test_json = test.as_ref().map(|t| {
                json!({
                    "dir": t.dir.display().to_string(),
                    "frames": t.f32.total(),
                    "f32_accuracy": t.f32.accuracy(),
                    "int8_accuracy": t.int8.accuracy(),
                    "drop_pp": t.drop_pp(),
                    "int8_confusion": t.int8.counts,
                    "f32_confusion": t.f32.counts,
                })
            });
            println!(
                "{}",
                json!({
                    "out": a.out.display().to_string(),
                    "method": method,
                    "granularity": granularity,
                    "kmeans_bits": a.kmeans_bits,
                    "calibration_frames": calib.len(),
                    "params": size.params,
                    "int8_bytes": size.int8_bytes,
                    "f32_bytes": size.f32_bytes,
                    "test": test_json,
                    "qat_recommended": hint.is_some(),
                })
            );
        }
        QuantizeFormat::Table => {
            println!(
                "quantized {} ({method}, per {granularity}{}) on {} calibration frames",
                a.model.display(),
                a.kmeans_bits
                    .map(|b| format!(", {b}-bit k-means codebooks"))
                    .unwrap_or_default(),
                calib.len()
            );
            println!(
                "model size: int8 file {} bytes; f32 parameters {} bytes ({} parameters)",
                size.int8_bytes, size.f32_bytes, size.params
            );
            if let Some(t) = &test {
                println!(
                    "test set {} ({} frames): f32 {:.2} %, int8 {:.2} %, drop {:+.2} pp",
                    t.dir.display(),
                    t.f32.total(),
                    100.0 * t.f32.accuracy(),
                    100.0 * t.int8.accuracy(),
                    t.drop_pp()
                );
                println!("int8 on the test set:\n{}", t.int8);
            }
            println!("wrote {}", a.out.display());
        }
    }
    if let Some(h) = hint {
        eprintln!("{h}");
    }
    Ok(())
}

fn qat_hint(a: &QuantizeArgs, method: &str, granularity: &str, t: &TestReport) -> String {
    format!(
        "int8 accuracy drop {:.2} pp exceeds {QAT_THRESHOLD_PP} pp: fine-tune quantization-aware with\n  \
         vigil train qat --model {} --data TRAINING_DIR --calib {} --method {method} \
         --granularity {granularity}{} --out MODEL.qat.json --out-int8 {}",
        t.drop_pp(),
        a.model.display(),
        a.calib.display(),
        a.kmeans_bits
            .map(|b| format!(" --kmeans-bits {b}"))
            .unwrap_or_default(),
        a.out.display()
    )
}

/// One classified file.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    file: String,
    class: ThermalClass,
    permille: Vec<u16>,
    label: Option<ThermalClass>,
}

fn classify_all(model: Model<'_>, paths: &[PathBuf]) -> Result<Vec<Row>, Failure> {
    let samples = load_paths(paths).bad_input()?;
    let mut clf = Int8Classifier::new(model);
    samples
        .iter()
        .map(|s| {
            let r = clf
                .classify(&s.frame)
                .map_err(|e| anyhow!("{}: {e}", s.path.display()))
                .bad_input()?;
            Ok(Row {
                file: s.path.display().to_string(),
                class: ThermalClass::from_index(r.class).unwrap_or(ThermalClass::Background),
                permille: r.permille().to_vec(),
                label: s.label,
            })
        })
        .collect()
}

fn confusion(rows: &[Row]) -> Option<Confusion> {
    let mut c = Confusion::default();
    for r in rows {
        if let Some(l) = r.label {
            c.add(l, r.class);
        }
    }
    (c.total() > 0).then_some(c)
}

/// `vigil classify`
pub fn classify(a: ClassifyArgs) -> CmdResult {
    let bytes = match &a.model {
        Some(p) => std::fs::read(p)
            .with_context(|| format!("cannot read model {}", p.display()))
            .bad_input()?,
        None => DEFAULT_MODEL.to_vec(),
    };
    let source = a.model.as_ref().map_or_else(
        || "shipped default".to_string(),
        |p| p.display().to_string(),
    );
    let model = Model::parse(&bytes)
        .map_err(|e| anyhow!("{source}: {e}"))
        .bad_input()?;
    let rows = classify_all(model, &a.paths)?;
    let conf = confusion(&rows);
    match a.format {
        ClassifyFormat::Jsonl => {
            for r in &rows {
                let permille = r.permille.get(r.class.index()).copied().unwrap_or(0);
                println!(
                    "{}",
                    json!({
                        "file": r.file,
                        "class": r.class.name(),
                        "confidence": f64::from(permille) / 1000.0,
                        "permille": r.permille,
                        "label": r.label.map(|l| l.name()),
                        "correct": r.label.map(|l| l == r.class),
                    })
                );
            }
            println!(
                "{}",
                json!({
                    "summary": {
                        "model": source,
                        "files": rows.len(),
                        "labelled": conf.as_ref().map_or(0, Confusion::total),
                        "accuracy": conf.as_ref().map(Confusion::accuracy),
                        "confusion": conf.as_ref().map(|c| c.counts),
                    }
                })
            );
        }
        ClassifyFormat::Table => {
            let width = rows.iter().map(|r| r.file.len()).max().unwrap_or(4).max(4);
            println!(
                "{:<width$}  {:<10}  {:>10}  {:<10}",
                "file", "class", "confidence", "label"
            );
            for r in &rows {
                let permille = r.permille.get(r.class.index()).copied().unwrap_or(0);
                let label = match r.label {
                    Some(l) if l == r.class => l.name().to_string(),
                    Some(l) => format!("{} ✗", l.name()),
                    None => "-".into(),
                };
                println!(
                    "{:<width$}  {:<10}  {:>9.1}%  {:<10}",
                    r.file,
                    r.class.name(),
                    f64::from(permille) / 10.0,
                    label
                );
            }
            println!("model: {source}; {} files", rows.len());
            if let Some(c) = &conf {
                println!("{c}");
            }
        }
    }
    Ok(())
}

/// Where `vigil-train` must be: next to this executable.
fn trainer_path() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot locate the vigil executable")?;
    Ok(exe.with_file_name(format!("vigil-train{}", std::env::consts::EXE_SUFFIX)))
}

/// `vigil train …`: runs `vigil-train` (next to this executable) with the arguments. A first
/// argument that is not one of its commands (`train`, `qat`, `bench`) means `train`.
pub fn train(a: TrainArgs) -> CmdResult {
    let trainer = trainer_path().failed()?;
    if !trainer.is_file() {
        return Err(Failure::BadInput(anyhow!(
            "the trainer is not installed: {} does not exist. vigil itself does not link burn; \
             build the trainer with `cargo build --release -p vigil-train` (it lands next to \
             vigil in target/release; for a debug vigil use `cargo build -p vigil-train`)",
            trainer.display()
        )));
    }
    let args = trainer_args(a.args);
    let status = std::process::Command::new(&trainer)
        .args(&args)
        .status()
        .with_context(|| format!("cannot run {}", trainer.display()))
        .failed()?;
    match status.code() {
        Some(0) => Ok(()),
        Some(2) => Err(Failure::BadInput(anyhow!(
            "{} refused its input (exit 2, see above)",
            trainer.display()
        ))),
        Some(c) => Err(Failure::Failed(anyhow!(
            "{} failed (exit {c})",
            trainer.display()
        ))),
        None => Err(Failure::Failed(anyhow!(
            "{} was killed by a signal",
            trainer.display()
        ))),
    }
}

fn trainer_args(args: Vec<OsString>) -> Vec<OsString> {
    let passthrough = [
        "train",
        "qat",
        "bench",
        "help",
        "--help",
        "-h",
        "--version",
        "-V",
    ];
    match args.first().and_then(|a| a.to_str()) {
        Some(first) if passthrough.contains(&first) => args,
        _ => std::iter::once(OsString::from("train"))
            .chain(args)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests fail by panicking

    use super::*;

    #[test]
    fn training_arguments_default_to_the_train_command() {
        let args = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(
            trainer_args(args(&["--data", "d", "--out", "m.json"])),
            args(&["train", "--data", "d", "--out", "m.json"])
        );
        assert_eq!(
            trainer_args(args(&["qat", "--model", "m"])),
            args(&["qat", "--model", "m"])
        );
        assert_eq!(trainer_args(args(&["--help"])), args(&["--help"]));
        assert_eq!(trainer_args(vec![]), args(&["train"]));
    }

    #[test]
    fn the_shipped_model_parses_and_is_small() {
        let m = Model::parse(DEFAULT_MODEL).unwrap();
        assert!(
            DEFAULT_MODEL.len() <= 10 * 1024,
            "{} bytes",
            DEFAULT_MODEL.len()
        );
        assert_eq!(m.n_classes(), 3);
    }

    #[test]
    fn the_shipped_model_classifies_synthetic_frames() {
        let frames = vigil_scenes::generate(300, 77);
        let mut clf = Int8Classifier::new(Model::parse(DEFAULT_MODEL).unwrap());
        let c = evaluate_int8(&mut clf, &frames).unwrap();
        assert!(c.accuracy() > 0.85, "{c}");
    }

    #[test]
    fn labels_make_a_confusion_matrix_and_unlabelled_files_do_not() {
        let row = |class, label| Row {
            file: "f".into(),
            class,
            permille: vec![500, 300, 200],
            label,
        };
        assert!(confusion(&[row(ThermalClass::Person, None)]).is_none());
        let c = confusion(&[
            row(ThermalClass::Person, Some(ThermalClass::Person)),
            row(ThermalClass::Object, Some(ThermalClass::Person)),
            row(ThermalClass::Object, None),
        ])
        .unwrap();
        assert_eq!(c.total(), 2);
        assert_eq!(c.counts[0], [1, 1, 0]);
    }

    #[test]
    fn bad_codebook_widths_are_refused() {
        assert!(parse_bits("3").is_err());
        assert_eq!(parse_bits("4"), Ok(4));
    }
}
