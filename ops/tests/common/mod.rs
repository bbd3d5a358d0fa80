//! Helpers the end-to-end tests share: run the `vigil` binary, show what it printed, and
//! read the log back through `vigil audit`.

#![allow(dead_code)] // each test file uses a different subset

use std::process::{Command, Output};

use serde_json::Value;

/// Run `vigil ARGS` to completion (quiet logs).
pub fn vigil(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run vigil")
}

/// Exit status and both streams, for assertion messages.
pub fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Every event of `kind` in the log of station data directory `data`, as JSON.
pub fn audit(data: &str, kind: &str) -> Vec<Value> {
    let out = vigil(&[
        "audit", "--data", data, "--kind", kind, "--format", "json", "--limit", "100000",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    serde_json::from_slice::<Value>(&out.stdout)
        .expect("json")
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// A station directory for one test: a `station.toml` (when given a config) and a `data`
/// directory beside it, in a temporary directory removed when the station is dropped.
pub struct Station {
    /// The temporary directory holding both.
    pub tmp: tempfile::TempDir,
    /// The config file's path, if the station has one.
    pub config: Option<String>,
    /// The data directory (not created: `vigil start` creates it).
    pub data_dir: std::path::PathBuf,
    /// The data directory as a string, for command lines.
    pub data: String,
}

impl Station {
    /// A station with `config` written to `station.toml`.
    pub fn new(config: &str) -> Self {
        let mut s = Self::builtin();
        let path = s.tmp.path().join("station.toml");
        std::fs::write(&path, config).expect("write config");
        s.config = Some(path.display().to_string());
        s
    }

    /// A station on the built-in default config (no config file).
    pub fn builtin() -> Self {
        let tmp = tempfile::tempdir().expect("tmp");
        let data_dir = tmp.path().join("data");
        let data = data_dir.display().to_string();
        Station {
            tmp,
            config: None,
            data_dir,
            data,
        }
    }

    /// `vigil start` on this station with the simulated `clock` (`sim:<RFC 3339>@<n>x`) for
    /// `run_for` of real time (e.g. `"2s"`).
    pub fn start(&self, clock: &str, run_for: &str) -> Output {
        let mut args = vec!["start"];
        if let Some(c) = &self.config {
            args.extend(["--config", c.as_str()]);
        }
        args.extend(["--data", &self.data, "--clock", clock, "--for", run_for]);
        vigil(&args)
    }
}

/// `vigil replay --check --format json` on `data`: the report, once the command succeeded.
pub fn replay_check(data: &str) -> Value {
    let out = vigil(&["replay", "--data", data, "--check", "--format", "json"]);
    assert!(out.status.success(), "{}", text(&out));
    serde_json::from_slice(&out.stdout).expect("replay json")
}

/// Assert that `out` exited with `code` and wrote `needle` to stderr; a failure shows the
/// status and both streams.
#[track_caller]
pub fn assert_refused(out: &Output, code: i32, needle: &str) {
    assert_eq!(out.status.code(), Some(code), "{}", text(out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(needle),
        "{}",
        text(out)
    );
}
