//! Issue 19, the store's items: an emptied store never opens as empty, read-only tools change
//! no byte of a store, damage is located, a refused import leaves nothing behind, a full disk
//! rolls the failed batch back, and a cut export is refused. Each test quotes the message the
//! user sees.

#[path = "store_common.rs"]
mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::*;

/// Every entry under `dir`: path → (mtime, BLAKE3 of the bytes); directories too.
fn snapshot(dir: &Path) -> BTreeMap<String, String> {
    entries_under(dir)
        .into_iter()
        .map(|(p, m)| {
            let key = p.display().to_string();
            if m.is_dir() {
                return (key, "dir".into());
            }
            let bytes = std::fs::read(&p).expect("read");
            let mtime = m.modified().expect("mtime");
            (key, format!("{mtime:?} {}", blake3::hash(&bytes).to_hex()))
        })
        .collect()
}

/// `vigil export --format msgpack` of store `dir` to `out`.
fn export_msgpack(dir: &Path, out: &Path) -> Output {
    run(&[
        "export",
        "--data",
        s(dir),
        "--format",
        "msgpack",
        "--out",
        s(out),
    ])
}

/// `vigil load --print-acks` killed with SIGKILL once it printed `n` acks (well before sled's
/// first 500 ms flush): the journal then holds batches sled has not written. Returns the last
/// printed ack.
fn crash_load(dir: &Path, n: u64, batch: usize) -> u64 {
    let mut child = vigil()
        .args(["load", "--data", s(dir), "--events", "100000000"])
        .args(["--batch", &batch.to_string(), "--print-acks"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn load");
    let stdout = child.stdout.take().expect("stdout");
    let mut last = 0;
    for line in BufReader::new(stdout).lines() {
        last = line.expect("line").parse().expect("seq");
        if last >= n {
            break;
        }
    }
    child.kill().expect("kill -9");
    child.wait().expect("wait");
    last
}

/// [`crash_load`] into a fresh directory under `base` until the crash left the last acked
/// batch only in the journal (sled flushes every 500 ms, so a slow machine may need another
/// try); returns the directory and the last printed ack.
fn crash_with_journal_pending(base: &Path, n: u64) -> (PathBuf, u64) {
    for attempt in 0..5 {
        let dir = base.join(format!("data-{attempt}"));
        let acked = crash_load(&dir, n, 10);
        let (_, report, _) = verify_json(&dir, &[]);
        let pending = &report["journal_pending"];
        let (first, last) = (pending[0].as_u64(), pending[1].as_u64());
        if first.is_some_and(|f| f <= acked) && last >= Some(acked) {
            return (dir, acked);
        }
    }
    panic!("five kill -9 runs all left sled holding every acked batch");
}

fn no_rust_internals(err: &str) {
    for bad in [
        "panicked at",
        "backtrace",
        "Os {",
        "Inline(",
        "RUST_BACKTRACE",
    ] {
        assert!(!err.contains(bad), "`{bad}` reached the user: {err}");
    }
}

#[test]
fn a_store_whose_sled_log_was_deleted_never_opens_as_empty() {
    let (_tmp, dir) = loaded_store(300, 50, &[]);
    std::fs::remove_dir_all(dir.join("log/sled")).expect("rm sled");
    std::fs::remove_file(dir.join("log/vigil.acked")).expect("rm watermark");
    let before = snapshot(&dir);
    let out = run(&["verify", "--data", s(&dir)]);
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{}{err}", stdout_of(&out));
    assert!(
        err.contains(
            "the store's sled log is missing, but vigil.journal says the store held records"
        ),
        "{err}"
    );
    assert!(!stdout_of(&out).contains("result     ok"));
    let out = run(&["audit", "--data", s(&dir)]);
    assert_ne!(out.status.code(), Some(0), "{}", stdout_of(&out));
    assert_stderr_has(&out, "sled log is missing");
    let out = run(&["load", "--data", s(&dir), "--events", "1"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert_stderr_has(&out, "sled log is missing");
    assert_eq!(
        snapshot(&dir),
        before,
        "no new sled database, nothing touched"
    );
    assert!(!dir.join("log/sled").exists());
}

#[test]
fn verify_audit_and_export_change_no_byte_and_repair_records_what_it_did() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (dir, acked) = crash_with_journal_pending(tmp.path(), 200);
    let before = snapshot(&dir);

    let (code, report, err) = verify_json(&dir, &[]);
    assert_eq!(code, 0, "{report} {err}");
    assert!(
        report["last_seq"].as_u64() >= Some(acked),
        "verify sees every acknowledged event: {report}"
    );
    let pending = report["journal_pending"].clone();
    assert!(
        pending.is_array(),
        "the journal holds batches sled lacks: {report}"
    );
    let out = run(&["verify", "--data", s(&dir)]);
    assert_stdout_has(&out, "acknowledged, read from the journal (sled does not hold them yet; `vigil repair` or `vigil start` writes them to sled)");
    let out = run(&["audit", "--data", s(&dir)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let export = tmp.path().join("x.msgpack");
    let out = export_msgpack(&dir, &export);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let out = run(&["repair", "--data", s(&dir), "--dry-run"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_stdout_has(&out, "a repair would");
    assert_stdout_has(&out, "from the journal to sled");
    assert_eq!(
        snapshot(&dir),
        before,
        "read-only commands changed the store"
    );

    let out = run(&["repair", "--data", s(&dir)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let said = stdout_of(&out);
    assert!(
        said.contains("repaired") && said.contains("did: re-apply seqs"),
        "{said}"
    );
    assert!(said.contains("recorded as StoreRepaired at seq"), "{said}");
    let (code, after, err) = verify_json(&dir, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        after["last_seq"],
        report["last_seq"].as_u64().expect("seq") + 1
    );
    assert!(after["journal_pending"].is_null(), "{after}");
    let out = run(&["audit", "--data", s(&dir), "--kind", "StoreRepaired"]);
    assert_stdout_has(&out, "StoreRepaired");
    let out = run(&["repair", "--data", s(&dir)]);
    assert_stdout_has(&out, "nothing to repair");
}

#[test]
fn a_flipped_byte_in_sled_is_located_without_rust_internals() {
    let (_tmp, dir) = loaded_store(2000, 100, &[]);
    flip_a_bit_of_event_1000(&dir);
    let before = snapshot(&dir);
    let out = run(&["verify", "--data", s(&dir)]);
    let (err, said) = (stderr_of(&out), stdout_of(&out));
    assert_eq!(out.status.code(), Some(1), "{said}{err}");
    no_rust_internals(&err);
    no_rust_internals(&said);
    // sled treats the damaged region as the end of its log (or refuses to read it): either
    // way the damaged file, the last good seq and the first lost one are named.
    assert!(err.contains("sled/db"), "{err}");
    let good = err
        .split("the log is readable up to seq ")
        .nth(1)
        .and_then(|t| t.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or_else(|| panic!("no last good seq named: {err}"));
    assert!(good < 1000, "{err}");
    assert!(err.contains(&format!("seqs {}..=2000", good + 1)), "{err}");
    assert_eq!(snapshot(&dir), before, "verify changed the damaged store");
}

#[test]
fn a_sled_log_of_garbage_names_what_was_acknowledged() {
    let (_tmp, dir) = loaded_store(300, 50, &[]);
    let mut rng = Rng(0x5EED);
    let garbage: Vec<u8> = (0..100_000).map(|_| rng.next_u64() as u8).collect();
    std::fs::write(dir.join("log/sled/db"), garbage).expect("write");
    let before = snapshot(&dir);
    let out = run(&["verify", "--data", s(&dir)]);
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    no_rust_internals(&err);
    assert!(err.contains("sled/db"), "{err}");
    assert!(err.contains("no record can be read"), "{err}");
    assert!(err.contains("300"), "the acknowledged seq is named: {err}");
    assert_eq!(snapshot(&dir), before, "verify changed the damaged store");
}

#[test]
fn a_damaged_journal_is_blamed_on_the_journal() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (dir, acked) = crash_with_journal_pending(tmp.path(), 300);
    // Damage the body of the journal frame that holds the last printed ack (its header is
    // left intact). Not simply the last frame: the kill may land after a later batch reached
    // the journal but before the watermark said it was acknowledged, and a damaged frame
    // that nobody acknowledged is rightly a torn tail, not damage.
    let path = dir.join("log/vigil.journal");
    let mut bytes = std::fs::read(&path).expect("read journal");
    let le = |b: &[u8]| b.iter().rev().fold(0u64, |a, &x| (a << 8) | u64::from(x));
    let frame = (0..bytes.len().saturating_sub(32))
        .rev()
        .filter(|&i| &bytes[i..i + 4] == b"VJF1")
        .find(|&i| {
            let (first, n) = (le(&bytes[i + 8..i + 16]), le(&bytes[i + 16..i + 20]));
            first <= acked && acked < first + n
        })
        .expect("a journal frame holding the last ack");
    bytes[frame + 40] ^= 0xff;
    std::fs::write(&path, &bytes).expect("write journal");
    let out = run(&["verify", "--data", s(&dir)]);
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    no_rust_internals(&err);
    assert!(
        err.contains("vigil.journal is damaged: its frame at byte offset"),
        "{err}"
    );
    // The watermark names what was acknowledged: the last printed ack, or a batch after it
    // that was made durable just before the kill.
    let named: u64 = err
        .split("but seq ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no acknowledged seq named: {err}"));
    assert!(
        named >= acked,
        "acknowledged seq {named} < printed ack {acked}: {err}"
    );
    assert!(
        err.contains(&format!("but seq {named} was acknowledged")),
        "{err}"
    );
    assert!(
        !err.contains("sled/db"),
        "journal damage blamed on sled: {err}"
    );
}

fn keyfile(dir: &Path, name: &str, byte: u8) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, [byte; 32]).expect("key");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    p
}

#[test]
fn a_refused_import_leaves_nothing_and_a_retry_with_the_right_key_works() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let src = tmp.path().join("src");
    let good = keyfile(tmp.path(), "good", 1);
    let wrong = keyfile(tmp.path(), "wrong", 2);
    load(&src, 120, 40, &["--key-file", s(&good)]);
    let export = tmp.path().join("x.msgpack");
    let out = run(&[
        "export",
        "--data",
        s(&src),
        "--format",
        "msgpack",
        "--out",
        s(&export),
        "--key-file",
        s(&good),
    ]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let target = tmp.path().join("copy");
    let import_with = |key: &Path| {
        run(&[
            "import",
            "--data",
            s(&target),
            "--in",
            s(&export),
            "--key-file",
            s(key),
        ])
    };
    let out = import_with(&wrong);
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert_stderr_has(&out, "hash mismatch: hash is not keyed BLAKE3 of the record (altered, or another key) (record seq 1)");
    assert!(
        !target.exists(),
        "a refused import left {}",
        target.display()
    );
    let names: Vec<_> = std::fs::read_dir(tmp.path())
        .expect("ls")
        .map(|e| e.expect("e").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.contains("importing")), "{names:?}");

    let garbage = tmp.path().join("garbage.msgpack");
    std::fs::write(&garbage, b"\x93not an export at all").expect("write");
    let out = run(&["import", "--data", s(&target), "--in", s(&garbage)]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert_stderr_has(&out, "not a vigil export");
    assert!(!target.exists(), "garbage left an empty store");

    let out = import_with(&good);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let (code, report, err) = verify_json(&target, &["--key-file", s(&good)]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(report["last_seq"], 120);
    // A store with records is refused, untouched.
    let before = snapshot(&target);
    let out = import_with(&good);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr_of(&out)
            .contains("import needs an empty store, this one already holds events up to seq 120"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(snapshot(&target), before);
}

#[test]
fn a_cut_export_is_refused_by_import_and_the_python_verifier() {
    let (tmp, dir) = loaded_store(50, 10, &[]);
    let export = tmp.path().join("x.msgpack");
    let out = export_msgpack(&dir, &export);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let bytes = std::fs::read(&export).expect("read");
    // Where the trailer starts: the fixmap(3) + fixstr "vigil_export_end".
    let mut marker = vec![0x83u8, 0xa0 | 16];
    marker.extend_from_slice(b"vigil_export_end");
    let trailer = bytes
        .windows(marker.len())
        .rposition(|w| w == marker)
        .expect("the export has a trailer");
    // The whole export passes both.
    let out = python(&[s(&export)]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    // Cut at the record boundary before the trailer: the last record complete, no trailer.
    let boundary = tmp.path().join("boundary.msgpack");
    std::fs::write(&boundary, &bytes[..trailer]).expect("write");
    // Cut in the middle of the last record.
    let middle = tmp.path().join("middle.msgpack");
    std::fs::write(&middle, &bytes[..trailer - 20]).expect("write");
    for (file, needle) in [
        (
            &boundary,
            "the export ends after seq 50 without its trailer: it was cut (at a record boundary) and is incomplete",
        ),
        (
            &middle,
            "the export is cut in the middle of the record at seq 50 (the file ends there; it is incomplete)",
        ),
    ] {
        let target = tmp.path().join("t");
        let out = run(&["import", "--data", s(&target), "--in", s(file)]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
        assert_stderr_has(&out, needle);
        assert!(!target.exists());
        let out = python(&[s(file)]);
        assert_eq!(out.status.code(), Some(1), "{}", stdout_of(&out));
        assert_stderr_has(&out, needle);
    }
}

#[test]
fn an_old_export_without_a_trailer_is_read_and_said_to_be_unchecked() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // A version 1 export written record by record with the store's own encoders.
    let export = tmp.path().join("v1.msgpack");
    let mut buf = Vec::new();
    vigil_store::write_header(&mut buf, false, 1, &vigil_store::ZERO_HASH).expect("header");
    // fixmap(4), fixstr(12) "vigil_export", then the version as a positive fixint.
    assert_eq!(&buf[..14], b"\x84\xacvigil_export");
    assert_eq!(buf[14], 2);
    buf[14] = 1;
    let mut prev = vigil_store::ZERO_HASH;
    for seq in 1..=5u64 {
        let bytes = vigil_store::synthetic_event(seq, 1_780_000_000_000_000 + seq as i64)
            .encode(seq, vigil_events::DataClass::General);
        let hash = vigil_store::chain_hash(None, &prev, seq, &bytes);
        vigil_store::write_record(&mut buf, seq, &prev, &hash, &bytes).expect("record");
        prev = hash;
    }
    std::fs::write(&export, &buf).expect("write");
    let target = tmp.path().join("t");
    let out = run(&["import", "--data", s(&target), "--in", s(&export)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_stderr_has(&out, "is a version 1 export without a trailer: every record checked, but a cut at a record boundary cannot be detected");
    let out = python(&[s(&export)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_stderr_has(
        &out,
        "is a version 1 export without a trailer: a cut at a record boundary cannot be detected",
    );
    // Cut in the middle of its last record: both refuse.
    let middle = tmp.path().join("v1-middle.msgpack");
    std::fs::write(&middle, &buf[..buf.len() - 7]).expect("write");
    let out = python(&[s(&middle)]);
    assert_eq!(out.status.code(), Some(1));
    assert_stderr_has(&out, "cut in the middle of the record at seq 5");
    let out = run(&[
        "import",
        "--data",
        s(&tmp.path().join("t2")),
        "--in",
        s(&middle),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_stderr_has(&out, "cut in the middle of the record at seq 5");
}

#[test]
fn export_to_a_missing_directory_is_bad_input() {
    let (_tmp, dir) = loaded_store(5, 5, &[]);
    let out = run(&[
        "export",
        "--data",
        s(&dir),
        "--format",
        "jsonl",
        "--out",
        "/nonexistent/dir/x",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert_stderr_has(
        &out,
        "--out /nonexistent/dir/x: directory /nonexistent/dir does not exist (create it first)",
    );
}

#[test]
fn a_damaged_sled_conf_is_named_as_such() {
    let (_tmp, dir) = loaded_store(5, 5, &[]);
    std::fs::write(
        dir.join("log/sled/conf"),
        b"\xff\xfe\x00garbage-garbage\x01\x02\x03\x04",
    )
    .expect("w");
    let out = run(&["verify", "--data", s(&dir)]);
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(!err.contains("earlier than 0.29"), "{err}");
    assert!(
        err.contains("sled/conf is damaged or not sled's (sled cannot parse it)"),
        "{err}"
    );
}

#[test]
fn a_keyed_store_without_its_key_names_the_store_not_a_key_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("data");
    let key = keyfile(tmp.path(), "k", 7);
    load(&dir, 5, 5, &["--key-file", s(&key)]);
    let out = run(&["verify", "--data", s(&dir)]);
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        !err.contains("key file") || !err.contains("VIGIL-STORE"),
        "{err}"
    );
    assert!(
        err.contains(
            "this store is keyed; pass its key file (--key-file, or the config's key file setting)"
        ),
        "{err}"
    );
}

/// An 8 MiB tmpfs mounted for the test and unmounted when dropped.
struct SmallFs(PathBuf);

impl SmallFs {
    fn mount(at: &Path) -> Result<SmallFs, String> {
        std::fs::create_dir_all(at).map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=8m", "tmpfs"])
            .arg(at)
            .output()
            .map_err(|e| format!("mount: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        Ok(SmallFs(at.to_path_buf()))
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_rolls_the_failed_batch_back_and_verify_still_reads() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let fs = match SmallFs::mount(&tmp.path().join("small")) {
        Ok(fs) => fs,
        Err(why) => {
            println!("SKIPPED: cannot mount a small tmpfs ({why}); this test needs root");
            return;
        }
    };
    let dir = fs.0.join("data");
    // Room to free later.
    let filler = fs.0.join("old-export.msgpack");
    std::fs::write(&filler, vec![7u8; 3 << 20]).expect("filler");
    let out = vigil()
        .args([
            "load",
            "--data",
            s(&dir),
            "--events",
            "10000000",
            "--batch",
            "100",
        ])
        .arg("--print-acks")
        .output()
        .expect("load runs");
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let acked: u64 = stdout_of(&out)
        .lines()
        .last()
        .and_then(|l| l.parse().ok())
        .expect("some acks");
    no_rust_internals(&err);
    assert_eq!(err.matches("disk full").count(), 1, "said once: {err}");
    // Where: the store file that could not be written.
    let at = format!("vigil: {}", dir.join("log").display());
    assert!(
        err.starts_with(&at) && err.contains(": disk full: "),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "seqs {}..={} were not stored (rolled back; sending them again duplicates nothing)",
            acked + 1,
            acked + 100
        )),
        "{err}"
    );
    assert!(
        err.contains("free at least 16 MiB on the file system holding it (old exports, backups or other files there; never files inside the store directory), then retry"),
        "{err}"
    );
    // The disk is still full: verify reads.
    let (code, report, verr) = verify_json(&dir, &[]);
    assert_eq!(code, 0, "{verr}");
    assert_eq!(report["last_seq"], acked, "{report}");
    // Space freed: nothing reported failed is in the store, and appends continue the chain.
    std::fs::remove_file(&filler).expect("free");
    let (code, report, verr) = verify_json(&dir, &[]);
    assert_eq!(code, 0, "{verr}");
    assert_eq!(report["last_seq"], acked, "{report}");
    load(&dir, 10, 10, &[]);
    let (code, report, verr) = verify_json(&dir, &[]);
    assert_eq!(code, 0, "{verr}");
    assert_eq!(report["last_seq"], acked + 10, "{report}");
}
