//! Encryption at rest through the `vigil` binary: `core` payloads (a kind raised to `core` in
//! `[classes]`) never reach the data directory in clear, `audit` shows `<encrypted>` without
//! the key and the payload with it, `verify` and the outside Python verifier need no key, and
//! bad key files are refused naming the file (and, for a wrong key, the seq).

#[path = "store_common.rs"]
mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::*;

const MARKER: &str = "MARKER-core-payload-51c2";

fn key_file(dir: &Path, name: &str, byte: u8) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, [byte; 32]).expect("key");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    p
}

/// A station config that raises `LoadGenerated` to `core` with the encryption key `enc`.
fn config(dir: &Path, enc: &Path) -> PathBuf {
    let p = dir.join("station.toml");
    std::fs::write(
        &p,
        format!(
            "[store]\nencryption_key_file = \"{}\"\n[classes]\nLoadGenerated = \"core\"\n",
            enc.display()
        ),
    )
    .expect("config");
    p
}

fn files_holding(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    entries_under(dir)
        .into_iter()
        .filter(|(_, m)| m.is_file())
        .map(|(p, _)| p)
        .filter(|p| {
            std::fs::read(p)
                .expect("read")
                .windows(needle.len())
                .any(|w| w == needle)
        })
        .collect()
}

fn audit_json(data: &Path, extra: &[&str]) -> (i32, Vec<serde_json::Value>, String) {
    let mut args = vec![
        "audit",
        "--data",
        s(data),
        "--format",
        "jsonl",
        "--limit",
        "5",
    ];
    args.extend_from_slice(extra);
    let out = run(&args);
    let items = stdout_of(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    (out.status.code().unwrap_or(-1), items, stderr_of(&out))
}

#[test]
fn core_payloads_are_sealed_on_disk_and_open_only_with_the_key() {
    let tmp = tempfile::tempdir().expect("tmp");
    let enc = key_file(tmp.path(), "data.key", 0x5a);
    let cfg = config(tmp.path(), &enc);
    let data = tmp.path().join("data");
    // Batches of 1 and of 300 (the two write paths), the last ones only in the journal.
    load(&data, 5, 1, &["--config", s(&cfg), "--filler", MARKER]);
    load(&data, 600, 300, &["--config", s(&cfg), "--filler", MARKER]);
    assert_eq!(
        files_holding(&data, MARKER.as_bytes()),
        Vec::<PathBuf>::new()
    );
    assert!(data.join("log/vigil.journal").exists());

    let (code, items, err) = audit_json(&data, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(items.len(), 5);
    assert!(
        items.iter().all(|e| e["payload"] == "<encrypted>"),
        "{items:?}"
    );
    assert!(items.iter().all(|e| e["class"] == "core"));

    let (code, items, err) = audit_json(&data, &["--encryption-key-file", s(&enc)]);
    assert_eq!(code, 0, "{err}");
    let filler: Vec<u8> = items[0]["payload"]["filler"]
        .as_array()
        .expect("filler")
        .iter()
        .map(|b| b.as_u64().expect("byte") as u8)
        .collect();
    assert_eq!(filler, MARKER.as_bytes());

    // verify needs no key; with it, every sealed payload is opened too.
    let (code, report, err) = verify_json(&data, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(report["sealed"], 605);
    let (code, _, err) = verify_json(&data, &["--encryption-key-file", s(&enc)]);
    assert_eq!(code, 0, "{err}");

    // The stranger's check of an export: the Python verifier, without any key.
    let export = tmp.path().join("log.msgpack");
    run_ok(&[
        "export",
        "--data",
        s(&data),
        "--format",
        "msgpack",
        "--out",
        s(&export),
    ]);
    let out = python(&[s(&export), "--head", report["head"].as_str().expect("head")]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(
        stdout_of(&out).contains("ok: 605 records"),
        "{}",
        stdout_of(&out)
    );
    assert!(!std::fs::read(&export)
        .expect("read")
        .windows(MARKER.len())
        .any(|w| w == MARKER.as_bytes()));

    // replay without the key says what it needs; the jsonl export shows <encrypted>.
    let out = run(&["replay", "--data", s(&data), "--check"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert_stderr_has(&out, "seq 1 (LoadGenerated) is encrypted at rest");
    let jsonl = tmp.path().join("log.jsonl");
    run_ok(&[
        "export",
        "--data",
        s(&data),
        "--format",
        "jsonl",
        "--out",
        s(&jsonl),
    ]);
    let first = std::fs::read_to_string(&jsonl).expect("jsonl");
    assert!(first
        .lines()
        .next()
        .expect("line")
        .contains("\"<encrypted>\""));
}

#[test]
fn a_wrong_encryption_key_names_the_file_and_the_first_seq() {
    let tmp = tempfile::tempdir().expect("tmp");
    let enc = key_file(tmp.path(), "data.key", 0x5a);
    let cfg = config(tmp.path(), &enc);
    let data = tmp.path().join("data");
    // Seq 1 is an important event written clear, sealed ones start at seq 2.
    load(&data, 1, 1, &[]);
    load(&data, 20, 10, &["--config", s(&cfg)]);
    let wrong = key_file(tmp.path(), "other.key", 0x11);

    let (code, _, err) = audit_json(&data, &["--encryption-key-file", s(&wrong)]);
    // LoadGenerated without the config is general: seq 1 is clear, seq 2 the first sealed.
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("encryption key file") && err.contains("other.key"),
        "{err}"
    );
    assert!(err.contains("the payload of seq 2 does not open"), "{err}");

    let (code, report, err) = verify_json(&data, &["--encryption-key-file", s(&wrong)]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(report["problem"]["seq"], 2);
    assert_eq!(report["problem"]["kind"], "sealed payload does not open");
}

#[test]
fn bad_key_files_are_refused_naming_the_file_and_nothing_is_created() {
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tmp.path().join("data");

    let loose = key_file(tmp.path(), "loose.key", 1);
    std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let short = tmp.path().join("short.key");
    std::fs::write(&short, [1u8; 16]).expect("key");
    std::fs::set_permissions(&short, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    for (file, needle) in [
        (&loose, "mode 644 lets group or others access it"),
        (&short, "16 bytes; a key file holds exactly 32 raw bytes"),
    ] {
        for flag in ["--encryption-key-file", "--key-file"] {
            let out = run(&["load", "--data", s(&data), "--events", "1", flag, s(file)]);
            assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
            assert_stderr_has(&out, &format!("key file {}: {needle}", file.display()));
            assert!(!data.exists(), "a refused key created the store");
        }
    }

    // Owned by someone else (the tests run as root here and in CI; else this part is skipped).
    let theirs = key_file(tmp.path(), "theirs.key", 2);
    if std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).is_ok()
        && std::fs::metadata("/proc/self")
            .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
            .ok()
            != Some(65534)
    {
        let out = run(&[
            "load",
            "--data",
            s(&data),
            "--events",
            "1",
            "--encryption-key-file",
            s(&theirs),
        ]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
        assert_stderr_has(&out, "theirs.key: owned by uid 65534");
    } else {
        eprintln!("SKIPPED: cannot chown a file to uid 65534 (not root)");
    }

    // `config check` checks the encryption key file the same way.
    let cfg = config(tmp.path(), &loose);
    let out = run(&["config", "check", "--config", s(&cfg)]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert_stderr_has(&out, "[store] encryption_key_file: key file");
}
