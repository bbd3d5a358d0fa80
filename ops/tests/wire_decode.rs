//! `vigil wire decode` end to end: the wire crate's test vectors as a capture, through the
//! real binary.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../firmware/wire/vectors")
}

/// Bytes of one vector file (comment lines dropped, hex decoded).
fn vector(name: &str) -> Vec<u8> {
    let text = std::fs::read_to_string(vectors_dir().join(name)).unwrap();
    let hex: String = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .flat_map(|l| l.chars().filter(|c| !c.is_whitespace()))
        .collect();
    hex::decode(hex).unwrap()
}

/// All valid vectors in name order.
fn valid_vectors() -> Vec<(String, Vec<u8>)> {
    let mut names: Vec<String> = std::fs::read_dir(vectors_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".hex") && n.as_bytes()[0].is_ascii_digit())
        .collect();
    names.sort();
    names.into_iter().map(|n| (n.clone(), vector(&n))).collect()
}

fn vigil(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn jsonl(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn jsonl_has_one_line_per_frame_then_the_reject_counts() {
    let valid = valid_vectors();
    assert_eq!(
        valid.len(),
        vigil_wire::Kind::ALL.len(),
        "one vector per kind"
    );
    // Capture: a leading idle delimiter, every valid frame, then bad ones, then a partial frame.
    let mut capture = vec![0u8];
    for (_, bytes) in &valid {
        capture.extend_from_slice(bytes);
    }
    for bad in [
        "bad_crc.hex",
        "bad_cobs.hex",
        "bad_version.hex",
        "bad_unknown_kind.hex",
        "bad_too_long.hex",
    ] {
        capture.extend(vector(bad));
    }
    capture.extend(vector("mixed_resync.hex"));
    capture.extend_from_slice(&[0x05, 0x01, 0x02]);

    let out = vigil(&["wire", "decode", "--format", "jsonl"], &capture);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = jsonl(&out);
    // One valid frame per kind + 5 bad + mixed (2 rejects + 1 heartbeat) frame lines, then
    // the summary.
    let n = valid.len();
    assert_eq!(lines.len(), n + 5 + 3 + 1);
    for (i, (name, _)) in valid.iter().enumerate() {
        let kind = name.trim_end_matches(".hex").split_once('_').unwrap().1;
        assert_eq!(lines[i]["ok"], true, "{name}");
        assert_eq!(lines[i]["kind"], kind, "{name}");
    }
    assert_eq!(lines[0]["offset"], 1);
    assert_eq!(lines[1]["header"]["seq"], 1);
    assert_eq!(lines[1]["payload"]["pi_utc_us"], 1_748_757_601_000_000i64);
    let thermal = lines.iter().find(|l| l["kind"] == "thermal_frame").unwrap();
    assert_eq!(thermal["payload"]["centi_c"].as_array().unwrap().len(), 768);
    let rejects: Vec<&str> = lines[n..n + 5]
        .iter()
        .map(|l| l["reject"].as_str().unwrap())
        .collect();
    assert_eq!(
        rejects,
        ["crc", "cobs", "version", "unknown_kind", "too_long"]
    );
    assert_eq!(lines[n + 7]["kind"], "heartbeat");

    let s = &lines[n + 8]["summary"];
    assert_eq!(s["accepted"], n + 1);
    assert_eq!(s["rejected_total"], 7);
    assert_eq!(s["rejected"]["crc"], 2);
    assert_eq!(s["rejected"]["cobs"], 2);
    assert_eq!(s["rejected"]["version"], 1);
    assert_eq!(s["rejected"]["unknown_kind"], 1);
    assert_eq!(s["rejected"]["too_long"], 1);
    assert_eq!(s["rejected"]["payload"], 0);
    assert_eq!(s["trailing_bytes"], 3);
    assert_eq!(s["bytes"], capture.len());
}

#[test]
fn table_shows_frames_and_counts() {
    let mut capture = vector("49_detection.hex");
    capture.extend(vector("bad_payload_detection_confidence.hex"));
    let out = vigil(&["wire", "decode"], &capture);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("detection"), "{text}");
    assert!(text.contains("\"person\""), "{text}");
    assert!(text.contains("REJECT"), "{text}");
    assert!(text.contains("2 frames: 1 accepted, 1 rejected"), "{text}");
    assert!(
        text.lines().any(|l| l.trim() == "rejected payload       1"),
        "{text}"
    );
}

#[test]
fn input_file_and_fail_on_reject() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("capture.bin");
    std::fs::write(&path, vector("bad_crc.hex")).unwrap();
    let p = path.to_str().unwrap();
    let ok = vigil(&["wire", "decode", "--input", p, "--format", "json"], b"");
    assert!(ok.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(doc["summary"]["rejected"]["crc"], 1);
    assert_eq!(doc["frames"][0]["reject"], "crc");

    let strict = vigil(&["wire", "decode", "--input", p, "--fail-on-reject"], b"");
    assert_eq!(strict.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&strict.stderr).contains("1 of 1 frames rejected"));

    let missing = dir.path().join("nope.bin");
    let bad = vigil(
        &["wire", "decode", "--input", missing.to_str().unwrap()],
        b"",
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("nope.bin"));
}

#[test]
fn empty_capture_is_fine() {
    let out = vigil(&["wire", "decode", "--format", "jsonl"], b"");
    assert!(out.status.success());
    let lines = jsonl(&out);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["summary"]["frames"], 0);
}
