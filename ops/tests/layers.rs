//! The crate arrows point one way (docs/architecture.md): `ops/scripts/check_layers.py` passes
//! on this repository and names a runtime crate that imports a crate under `ops/`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/check_layers.py")
}

fn run(args: &[&str]) -> Output {
    Command::new("python3")
        .arg(script())
        .args(args)
        .output()
        .expect("python3 runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn no_runtime_crate_depends_on_a_crate_under_ops() {
    let out = run(&[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("every arrow points the allowed way"),
        "{}",
        text(&out)
    );
}

/// A package as `cargo metadata` describes it, at `dir` under `root`.
fn package(root: &Path, name: &str, dir: &str, deps: &[(&str, &str, &str)]) -> serde_json::Value {
    serde_json::json!({
        "name": name,
        "manifest_path": root.join(dir).join("Cargo.toml"),
        "dependencies": deps
            .iter()
            .map(|(n, d, kind)| serde_json::json!({
                "name": n,
                "source": null,
                "path": root.join(d),
                "kind": if kind.is_empty() { serde_json::Value::Null } else { (*kind).into() },
            }))
            .collect::<Vec<_>>(),
    })
}

#[test]
fn a_firmware_or_actors_crate_that_imports_ops_fails_the_check_naming_the_arrow() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    let meta = serde_json::json!({ "packages": [
        package(root, "vigil-thermal", "ops/thermal", &[("vigil-int8", "firmware/int8", "")]),
        package(root, "vigil-int8", "firmware/int8", &[]),
        package(root, "vigil-sim", "firmware/sim", &[("vigil-thermal", "ops/thermal", "")]),
        package(root, "vigil-actors", "actors", &[
            ("vigil-sim", "firmware/sim", ""),
            ("vigil-thermal", "ops/thermal", "dev"),
        ]),
    ]});
    let file = root.join("metadata.json");
    std::fs::write(&file, meta.to_string()).expect("write");
    let out = run(&[
        "--root",
        root.to_str().expect("utf-8"),
        "--metadata",
        file.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("vigil-sim (firmware/) -> vigil-thermal (ops/) [normal]"),
        "{err}"
    );
    assert!(
        err.contains("vigil-actors (actors/) -> vigil-thermal (ops/) [dev]"),
        "{err}"
    );
    // ops → firmware and actors → firmware are the allowed direction.
    assert!(!err.contains("vigil-thermal (ops/) ->"), "{err}");
    assert!(!err.contains("-> vigil-sim"), "{err}");
}

#[test]
fn unreadable_metadata_is_bad_input() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = tmp.path().join("missing.json");
    let out = run(&["--metadata", file.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("missing.json"),
        "{}",
        text(&out)
    );
}
