//! Bad input to the store tools: each gets a clear message naming the file (and the seq where
//! there is one), exit code 1 or 2, and leaves the store as it was.

#[path = "store_common.rs"]
mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Stdio;

use common::*;

/// Every file under `dir` with its size and modification time.
fn snapshot(dir: &Path) -> BTreeMap<String, (u64, std::time::SystemTime)> {
    entries_under(dir)
        .into_iter()
        .filter(|(_, m)| !m.is_dir())
        .map(|(p, m)| {
            let key = p.display().to_string();
            (key, (m.len(), m.modified().expect("mtime")))
        })
        .collect()
}

#[test]
fn foreign_file_in_the_data_dir_is_refused_untouched() {
    let (tmp, dir) = loaded_store(20, 5, &[]);
    std::fs::write(dir.join("log/holiday.jpg"), b"\xff\xd8\xff").expect("write");
    let before = snapshot(&dir);
    let out = run(&["verify", "--data", s(&dir)]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert_stderr_has(&out, "holiday.jpg");
    assert_eq!(snapshot(&dir), before);

    let plain = tmp.path().join("plain");
    std::fs::create_dir_all(plain.join("log")).expect("mkdir");
    std::fs::write(plain.join("log/notes.txt"), b"x").expect("write");
    let out = run(&["load", "--data", s(&plain), "--events", "1"]);
    assert_eq!(out.status.code(), Some(2));
    assert_stderr_has(&out, "not a vigil store");
    assert_eq!(
        std::fs::read_dir(plain.join("log")).expect("ls").count(),
        1,
        "nothing created"
    );

    let out = run(&[
        "verify",
        "--data",
        tmp.path().join("missing").to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!tmp.path().join("missing").exists());
}

#[test]
fn a_locked_data_dir_is_refused_naming_the_lock() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("data");
    let d = s(&dir);
    let mut child = vigil()
        .args([
            "load",
            "--data",
            d,
            "--events",
            "100000",
            "--rate",
            "50",
            "--print-acks",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("first ack");
    let out = run(&["verify", "--data", d]);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(
        err.contains("locked") && err.contains("vigil.lock"),
        "{err}"
    );
}

#[test]
fn key_files_that_are_readable_short_or_wrong_are_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("data");
    let key = |name: &str, bytes: &[u8], mode: u32| {
        let p = tmp.path().join(name);
        std::fs::write(&p, bytes).expect("write");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).expect("chmod");
        s(&p).to_string()
    };
    let good = key("good", &[1; 32], 0o600);
    let readable = key("readable", &[1; 32], 0o644);
    let short = key("short", &[1; 16], 0o600);
    let wrong = key("wrong", &[2; 32], 0o600);
    let out = run(&[
        "load",
        "--data",
        s(&dir),
        "--events",
        "1",
        "--key-file",
        &readable,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr_of(&out).contains("readable") && stderr_of(&out).contains("chmod 600"),
        "{}",
        stderr_of(&out)
    );
    assert!(!dir.exists(), "nothing created on a refused key");
    load(&dir, 10, 10, &["--key-file", &good]);
    let before = snapshot(&dir);
    for (k, needle) in [(&short, "16 bytes"), (&wrong, "not the key")] {
        let (code, _, err) = verify_json(&dir, &["--key-file", k]);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains(needle), "{err}");
    }
    let (code, _, err) = verify_json(&dir, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("keyed"), "{err}");
    assert_eq!(snapshot(&dir), before);
    let (code, report, err) = verify_json(&dir, &["--key-file", &good]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(report["keyed"], true);
}

#[test]
fn an_export_with_a_broken_record_imports_nothing() {
    let (tmp, dir) = loaded_store(200, 50, &[]);
    let export = tmp.path().join("x.msgpack");
    let e = s(&export);
    assert!(run(&[
        "export",
        "--data",
        s(&dir),
        "--format",
        "msgpack",
        "--out",
        e
    ])
    .status
    .success());
    let mut bytes = std::fs::read(&export).expect("read");
    let at = bytes.len() - 10; // inside the last record's bytes
    bytes[at] ^= 0x20;
    std::fs::write(&export, &bytes).expect("write");
    let target = tmp.path().join("copy");
    let t = s(&target);
    let out = run(&["import", "--data", t, "--in", e]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(
        err.contains("x.msgpack") && err.contains("seq 200"),
        "{err}"
    );
    // Issue 19 item 5: a refused import leaves no store behind (it used to leave an empty one).
    assert!(!target.exists(), "nothing imported, nothing left behind");
}

/// `vigil verify` of `dir`, expected to fail (exit 1 or 2); what it wrote to stderr.
fn verify_fails(dir: &Path) -> String {
    let out = run(&["verify", "--data", s(dir)]);
    let err = stderr_of(&out);
    assert!(
        matches!(out.status.code(), Some(1) | Some(2)),
        "exit {:?}: {err}",
        out.status.code()
    );
    err
}

#[test]
fn a_damaged_store_fails_verify_naming_the_file() {
    let (tmp, dir) = loaded_store(2000, 100, &[]);
    flip_a_bit_of_event_1000(&dir);
    let err = verify_fails(&dir);
    assert!(err.contains("sled") || err.contains("seq"), "{err}");

    // A truncated log file.
    let dir = tmp.path().join("data2");
    load(&dir, 2000, 100, &[]);
    let db = dir.join("log/sled/db");
    let len = std::fs::metadata(&db).expect("meta").len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&db)
        .and_then(|f| f.set_len(len / 3))
        .expect("truncate");
    let err = verify_fails(&dir);
    assert!(err.contains("data2"), "{err}");
}
