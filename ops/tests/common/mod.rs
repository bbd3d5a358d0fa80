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
