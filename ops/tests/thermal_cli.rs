//! `vigil dataset synth`, `vigil quantize`, `vigil classify` and `vigil train` through the real
//! binary: outputs, exit codes, and bad input that names the file and writes nothing.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn vigil(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(args)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn models_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../firmware/int8/models")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A synthetic labelled set of `n` frames.
fn synth(dir: &Path, n: usize, seed: u64) {
    let out = vigil(&[
        "dataset",
        "synth",
        "--out",
        s(dir),
        "--n",
        &n.to_string(),
        "--seed",
        &seed.to_string(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
}

#[test]
fn synth_writes_labelled_frames_and_repeats_with_the_same_seed() {
    let t = tempfile::tempdir().unwrap();
    let (a, b) = (t.path().join("a"), t.path().join("b"));
    synth(&a, 12, 5);
    synth(&b, 12, 5);
    let names = files(&a);
    assert_eq!(names.len(), 12);
    assert_eq!(names.iter().filter(|n| n.ends_with("_1.csv")).count(), 4);
    for n in &names {
        assert_eq!(
            std::fs::read(a.join(n)).unwrap(),
            std::fs::read(b.join(n)).unwrap()
        );
    }
    let zero = vigil(&[
        "dataset",
        "synth",
        "--out",
        s(&t.path().join("c")),
        "--n",
        "0",
    ]);
    assert_eq!(zero.status.code(), Some(2), "{}", text(&zero.stderr));
}

#[test]
fn quantize_reports_size_and_accuracy_and_writes_the_model() {
    let t = tempfile::tempdir().unwrap();
    let data = t.path().join("data");
    synth(&data, 30, 9);
    let q = t.path().join("q.vgi8");
    let model = models_dir().join("default.f32.json");
    let out = vigil(&[
        "quantize",
        "--model",
        s(&model),
        "--calib",
        s(&data),
        "--method",
        "percentile",
        "--granularity",
        "channel",
        "--out",
        s(&q),
        "--test",
        s(&data),
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let bytes = std::fs::read(&q).unwrap();
    assert_eq!(v["int8_bytes"].as_u64(), Some(bytes.len() as u64));
    assert!(bytes.len() <= 10 * 1024);
    assert_eq!(v["test"]["frames"].as_u64(), Some(30));
    assert!(v["test"]["int8_accuracy"].as_f64().unwrap() > 0.5);
    // The written model classifies.
    let out = vigil(&["classify", "--model", s(&q), "--format", "jsonl", s(&data)]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn quantize_refuses_a_model_of_another_version_or_truncated_and_writes_nothing() {
    let t = tempfile::tempdir().unwrap();
    let data = t.path().join("data");
    synth(&data, 6, 2);
    let good = std::fs::read_to_string(models_dir().join("default.f32.json")).unwrap();
    let truncated = t.path().join("truncated.json");
    std::fs::write(&truncated, &good[..good.len() / 2]).unwrap();
    let other = t.path().join("other.json");
    std::fs::write(&other, good.replacen("\"version\":1", "\"version\":7", 1)).unwrap();
    for bad in [&truncated, &other] {
        let q = t.path().join("q.vgi8");
        let out = vigil(&[
            "quantize",
            "--model",
            s(bad),
            "--calib",
            s(&data),
            "--out",
            s(&q),
        ]);
        assert_eq!(out.status.code(), Some(2));
        assert!(text(&out.stderr).contains(s(bad)), "{}", text(&out.stderr));
        assert!(!q.exists());
    }
    // A bad test set is refused before the model is written.
    let empty = t.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let q = t.path().join("q2.vgi8");
    let out = vigil(&[
        "quantize",
        "--model",
        s(&models_dir().join("default.f32.json")),
        "--calib",
        s(&data),
        "--out",
        s(&q),
        "--test",
        s(&empty),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no .csv files"));
    assert!(!q.exists());
    assert!(files(t.path()).iter().all(|n| !n.contains(".tmp")));
}

#[test]
fn classify_with_the_shipped_model_prints_classes_and_a_confusion_matrix() {
    let t = tempfile::tempdir().unwrap();
    synth(t.path(), 30, 11);
    let out = vigil(&["classify", s(t.path())]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    assert!(table.contains("true\\pred"), "{table}");
    assert!(table.contains("accuracy"), "{table}");
    let out = vigil(&["classify", "--format", "jsonl", s(t.path())]);
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 31);
    assert!(lines[0]["class"].is_string());
    let c = lines[0]["confidence"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&c));
    let summary = &lines[30]["summary"];
    assert_eq!(summary["labelled"].as_u64(), Some(30));
    assert!(summary["accuracy"].as_f64().unwrap() > 0.8, "{summary}");
}

#[test]
fn classify_names_the_bad_file() {
    let t = tempfile::tempdir().unwrap();
    let short = t.path().join("short_1.csv");
    std::fs::write(&short, vec!["20.0"; 767].join(",")).unwrap();
    let out = vigil(&["classify", s(&short)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("767 values"),
        "{}",
        text(&out.stderr)
    );
    let mut fields = vec!["20.0".to_string(); 768];
    fields[40] = "NaN".into();
    let nan = t.path().join("nan_2.csv");
    std::fs::write(&nan, fields.join(",")).unwrap();
    let out = vigil(&["classify", s(&nan)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("nan_2.csv:1:41"),
        "{}",
        text(&out.stderr)
    );
    let empty = t.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = vigil(&["classify", s(&empty)]);
    assert_eq!(out.status.code(), Some(2));
    let truncated = t.path().join("t.vgi8");
    let shipped = std::fs::read(models_dir().join("default.vgi8")).unwrap();
    std::fs::write(&truncated, &shipped[..shipped.len() - 9]).unwrap();
    let out = vigil(&["classify", "--model", s(&truncated), s(&short)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("t.vgi8"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn train_runs_the_sibling_trainer_or_says_how_to_build_it() {
    let out = vigil(&["train", "--help"]);
    let sibling = Path::new(env!("CARGO_BIN_EXE_vigil")).with_file_name("vigil-train");
    if sibling.is_file() {
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(text(&out.stdout).contains("vigil-train"));
    } else {
        assert_eq!(out.status.code(), Some(2));
        assert!(
            text(&out.stderr).contains("cargo build --release -p vigil-train"),
            "{}",
            text(&out.stderr)
        );
    }
}
