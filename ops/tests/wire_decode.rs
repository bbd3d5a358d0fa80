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

/// The example sessions in `docs/wire.md` §8: every `$ cat a.bin b.bin … | vigil wire decode
/// --format jsonl` line, run on the vectors of those names, prints exactly the lines under it
/// (up to the end of the code block).
fn doc_examples() -> Vec<(Vec<String>, Vec<String>)> {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/wire.md"))
            .unwrap();
    let mut examples = Vec::new();
    let mut lines = doc.lines();
    while let Some(line) = lines.next() {
        let Some(cmd) = line.strip_prefix("$ cat ") else {
            continue;
        };
        let files = cmd
            .strip_suffix(" | vigil wire decode --format jsonl")
            .unwrap_or_else(|| panic!("unexpected example command: {line}"));
        let names = files
            .split_whitespace()
            .map(|f| f.strip_suffix(".bin").unwrap().to_owned())
            .collect();
        let expected = lines
            .by_ref()
            .take_while(|l| !l.starts_with("```"))
            .map(str::to_owned)
            .collect();
        examples.push((names, expected));
    }
    examples
}

#[test]
fn wire_decode_json_matches_the_examples_in_docs_wire_md() {
    let examples = doc_examples();
    assert_eq!(examples.len(), 2, "two example sessions in docs/wire.md §8");
    let mut kinds = std::collections::BTreeSet::new();
    for (names, expected) in &examples {
        let capture: Vec<u8> = names
            .iter()
            .flat_map(|n| vector(&format!("{n}.hex")))
            .collect();
        let out = vigil(&["wire", "decode", "--format", "jsonl"], &capture);
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        let got: Vec<&str> = text.lines().collect();
        assert_eq!(got, *expected, "docs/wire.md example for {names:?}");
        for l in &got {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            if let Some(k) = v["kind"].as_str() {
                kinds.insert(k.to_owned());
            }
        }
    }
    // Every kind is shown but the thermal frame (whose 768 readings rule 4 describes).
    let all: std::collections::BTreeSet<String> = vigil_wire::Kind::ALL
        .iter()
        .map(|k| k.name().to_owned())
        .filter(|k| k != "thermal_frame")
        .collect();
    assert_eq!(kinds, all);
}

#[test]
fn wire_decode_json_uses_the_catalogue_field_names() {
    // Board time as the catalogue's `utc_us` and `synced`, no `time` / `at` wrapper.
    let mut capture = vector("01_hello.hex");
    capture.extend(vector("32_power_switched.hex"));
    capture.extend(vector("48_thermal_frame.hex"));
    let out = vigil(&["wire", "decode", "--format", "jsonl"], &capture);
    let lines = jsonl(&out);
    let hello = &lines[0]["payload"];
    assert_eq!(hello["utc_us"], 1_748_757_600_123_456i64);
    assert_eq!(hello["synced"], true);
    assert_eq!(
        hello["firmware"],
        serde_json::json!({"major": 0, "minor": 1, "patch": 0})
    );
    assert!(hello.get("time").is_none(), "{hello}");
    let switched = &lines[1]["payload"];
    assert_eq!(switched["utc_us"], 1_748_757_600_000_000i64);
    assert_eq!(switched["reason"], "window start");
    assert!(switched.get("at").is_none(), "{switched}");
    let thermal = &lines[2]["payload"];
    let keys: Vec<&String> = thermal.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["centi_c", "frame"]);
    assert_eq!(thermal["centi_c"][0], -4000);
    assert_eq!(thermal["centi_c"][767], 30000);
}

#[test]
fn wire_decode_json_writes_integers_beyond_2_53_exactly() {
    let out = vigil(
        &["wire", "decode", "--format", "jsonl"],
        &vector("edge_integers_beyond_2_53.hex"),
    );
    let text = String::from_utf8(out.stdout).unwrap();
    for exact in [
        "\"uptime_ms\":18446744073709551615",
        "\"utc_us\":-9223372036854775808",
        "\"silent_ms\":9007199254740993",
        "\"utc_us\":9223372036854775807",
        "\"offset_us\":-9223372036854775808",
    ] {
        assert!(text.contains(exact), "{exact} missing in {text}");
    }
}

#[test]
fn wire_decode_json_keeps_unassigned_reason_codes() {
    let out = vigil(
        &["wire", "decode", "--format", "jsonl"],
        &vector("edge_power_switched_reason_0_200.hex"),
    );
    let lines = jsonl(&out);
    for (line, code) in lines.iter().zip([0, 200]) {
        assert_eq!(line["ok"], true);
        assert_eq!(line["payload"]["reason"], "other");
        assert_eq!(line["payload"]["reason_code"], code);
    }
}
