//! Export → an outside verifier: `ops/tools/verify_export.py` (Python, `msgpack` + `blake3`)
//! accepts a vigil export, keyed and not, and rejects an altered one; import reproduces the
//! same head.

#[path = "store_common.rs"]
mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use common::*;

fn require_python() {
    let ok = Command::new("python3")
        .args(["-c", "import msgpack, blake3"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "python3 with the `msgpack` and `blake3` packages is needed: run .ci/run (pip install msgpack blake3)"
    );
}

fn check(keyed: bool) {
    require_python();
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("data");
    let d = dir.to_str().expect("utf-8");
    let key = tmp.path().join("key");
    std::fs::write(&key, [0x42u8; 32]).expect("key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let k = key.to_str().expect("utf-8");
    let key_args: Vec<&str> = if keyed { vec!["--key-file", k] } else { vec![] };
    load(&dir, 500, 37, &key_args);
    let (code, report, err) = verify_json(&dir, &key_args);
    assert_eq!(code, 0, "{err}");
    let head = report["head"].as_str().expect("head").to_string();

    let export = tmp.path().join("log.msgpack");
    let e = export.to_str().expect("utf-8");
    let mut args = vec!["export", "--data", d, "--format", "msgpack", "--out", e];
    args.extend_from_slice(&key_args);
    run_ok(&args);

    let mut py = vec![e, "--head", head.as_str()];
    if keyed {
        py.extend(["--key", k]);
    }
    let out = python(&py);
    assert!(
        out.status.success(),
        "python verifier: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok: 500 records"));

    // One flipped byte inside a record fails the outside verifier.
    let mut bytes = std::fs::read(&export).expect("read");
    let at = bytes.len() / 2;
    bytes[at] ^= 0x01;
    let bad = tmp.path().join("bad.msgpack");
    std::fs::write(&bad, &bytes).expect("write");
    let mut py_bad = vec![bad.to_str().expect("utf-8")];
    if keyed {
        py_bad.extend(["--key", k]);
    }
    let out = python(&py_bad);
    assert_eq!(out.status.code(), Some(1), "altered export accepted");

    // Import into an empty store reproduces the same head.
    let dir2 = tmp.path().join("copy");
    let d2 = dir2.to_str().expect("utf-8");
    let mut args = vec!["import", "--data", d2, "--in", e];
    args.extend_from_slice(&key_args);
    run_ok(&args);
    let (code, report2, err) = verify_json(&dir2, &key_args);
    assert_eq!(code, 0, "{err}");
    assert_eq!(report2["head"].as_str(), Some(head.as_str()));
    assert_eq!(report2["last_seq"].as_u64(), Some(500));

    // jsonl for people: one event per line.
    let jsonl = tmp.path().join("log.jsonl");
    let mut args = vec!["export", "--data", d, "--format", "jsonl", "--out"];
    let j = jsonl.to_str().expect("utf-8");
    args.push(j);
    args.extend_from_slice(&key_args);
    assert!(run(&args).status.success());
    let text = std::fs::read_to_string(&jsonl).expect("jsonl");
    assert_eq!(text.lines().count(), 500);
    let line: serde_json::Value =
        serde_json::from_str(text.lines().next().expect("line")).expect("json");
    assert_eq!(line["kind"], "LoadGenerated");
}

#[test]
fn python_verifies_an_unkeyed_export_and_rejects_an_altered_one() {
    check(false);
}

#[test]
fn python_verifies_a_keyed_export() {
    check(true);
}
