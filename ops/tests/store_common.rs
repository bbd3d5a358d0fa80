//! Helpers shared by the store integration tests (included with `#[path]`, not a test itself).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `vigil` binary under test.
pub fn vigil() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vigil"))
}

/// Run `vigil` with `args`.
pub fn run(args: &[&str]) -> Output {
    vigil().args(args).output().expect("vigil runs")
}

/// Run `vigil` with `args`, expecting success (a failure shows stderr).
#[track_caller]
pub fn run_ok(args: &[&str]) -> Output {
    let out = run(args);
    assert!(out.status.success(), "{}", stderr_of(&out));
    out
}

/// `vigil verify --format json` of `dir`, parsed; also returns the exit code.
pub fn verify_json(dir: &Path, extra: &[&str]) -> (i32, serde_json::Value, String) {
    let d = dir.to_str().expect("utf-8 path");
    let mut args = vec!["verify", "--data", d, "--format", "json"];
    args.extend_from_slice(extra);
    let out = run(&args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out.status.code().unwrap_or(-1), v, stderr)
}

/// Load `n` events in batches of `batch` into `dir`, expecting success.
pub fn load(dir: &Path, n: u64, batch: usize, extra: &[&str]) {
    let d = dir.to_str().expect("utf-8 path");
    let (n, b) = (n.to_string(), batch.to_string());
    let mut args = vec!["load", "--data", d, "--events", &n, "--batch", &b];
    args.extend_from_slice(extra);
    let out = run(&args);
    assert!(
        out.status.success(),
        "load failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Deterministic xorshift for test randomness.
#[derive(Debug)]
pub struct Rng(pub u64);
impl Rng {
    /// Next value.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Every entry under `dir` (directories too, depth first) with its metadata.
pub fn entries_under(dir: &Path) -> Vec<(PathBuf, std::fs::Metadata)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir") {
            let e = e.expect("entry");
            let m = e.metadata().expect("metadata");
            if m.is_dir() {
                stack.push(e.path());
            }
            out.push((e.path(), m));
        }
    }
    out
}

/// What `out` wrote to stderr.
pub fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// What `out` wrote to stdout.
pub fn stdout_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `p` for a command line.
pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Assert that `out` wrote `needle` to stderr; a failure shows the whole stderr.
#[track_caller]
pub fn assert_stderr_has(out: &Output, needle: &str) {
    assert!(stderr_of(out).contains(needle), "{}", stderr_of(out));
}

/// Assert that `out` wrote `needle` to stdout; a failure shows the whole stdout.
#[track_caller]
pub fn assert_stdout_has(out: &Output, needle: &str) {
    assert!(stdout_of(out).contains(needle), "{}", stdout_of(out));
}

/// A temporary directory whose `data` holds a store of `n` events loaded in batches of
/// `batch` (with `extra` load arguments); the store's path beside the directory.
pub fn loaded_store(n: u64, batch: usize, extra: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("data");
    load(&dir, n, batch, extra);
    (tmp, dir)
}

/// Run the outside verifier `ops/tools/verify_export.py` with `args`.
pub fn python(args: &[&str]) -> Output {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/verify_export.py");
    Command::new("python3")
        .arg(script)
        .args(args)
        .output()
        .expect("python3 runs")
}

/// Flip a bit of event 1000's payload wherever sled's log file in store `dir` holds a copy
/// of it (the store must hold event 1000).
pub fn flip_a_bit_of_event_1000(dir: &Path) {
    let db = dir.join("log/sled/db");
    let mut bytes = std::fs::read(&db).expect("read db");
    let vigil_events::Event::LoadGenerated(ev) = vigil_store::synthetic_event(1000, 0).event else {
        panic!("synthetic events are LoadGenerated");
    };
    let needle = &ev.filler[..32];
    let hits: Vec<usize> = (0..bytes.len() - needle.len())
        .filter(|&i| &bytes[i..i + needle.len()] == needle)
        .collect();
    assert!(!hits.is_empty(), "event 1000 not found in the log file");
    for i in hits {
        bytes[i + 5] ^= 0x01;
    }
    std::fs::write(&db, &bytes).expect("write db");
}
