//! Helpers shared by the store integration tests (included with `#[path]`, not a test itself).
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// The `vigil` binary under test.
pub fn vigil() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vigil"))
}

/// Run `vigil` with `args`.
pub fn run(args: &[&str]) -> Output {
    vigil().args(args).output().expect("vigil runs")
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
