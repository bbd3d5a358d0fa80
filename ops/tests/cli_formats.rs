//! Output scripts can trust: each command × each format it offers parses (json with
//! serde_json, jsonl line by line, csv with a header row), a format a command's shape does
//! not allow is refused with exit 2, `audit` never cuts an answer silently, and the envelope
//! has one JSON rendering (`audit --format json` = `export --format jsonl`).

mod common;

use serde_json::Value;

use common::{assert_refused, text, vigil};

fn loaded(n: &str) -> (tempfile::TempDir, String) {
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tmp.path().join("d").display().to_string();
    let out = vigil(&["load", "--data", &data, "--events", n]);
    assert!(out.status.success(), "{}", text(&out));
    (tmp, data)
}

fn stdout_of(args: &[&str]) -> String {
    let out = vigil(args);
    assert!(out.status.success(), "{args:?}: {}", text(&out));
    String::from_utf8(out.stdout).expect("utf-8")
}

/// `args` with `--format F` in every format it offers: json and jsonl parse, csv has a
/// header row then `rows` lines of the same width, table is not empty. Returns the json.
fn check_formats(args: &[&str], rows: Option<usize>, csv: bool) -> Value {
    let with = |f: &str| {
        let mut a = args.to_vec();
        a.extend(["--format", f]);
        stdout_of(&a)
    };
    let json: Value = serde_json::from_str(&with("json")).expect("json parses");
    let jsonl: Vec<Value> = with("jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{args:?} jsonl {l:?}: {e}")))
        .collect();
    match json.as_array() {
        Some(items) => assert_eq!(&jsonl, items, "{args:?}: jsonl and json hold the same"),
        None => assert_eq!(
            jsonl,
            vec![json.clone()],
            "{args:?}: jsonl is the json on a line"
        ),
    }
    if let Some(n) = rows {
        assert_eq!(jsonl.len(), n, "{args:?}");
    }
    if csv {
        let text = with("csv");
        let lines: Vec<&str> = text.lines().collect();
        let header = lines.first().expect("csv header");
        assert!(
            !header.is_empty() && !header.contains('{'),
            "{args:?}: {header}"
        );
        assert_eq!(
            lines.len() - 1,
            jsonl.len(),
            "{args:?}: one csv row per record"
        );
    }
    assert!(!with("table").trim().is_empty(), "{args:?}");
    json
}

#[test]
fn every_command_parses_in_every_format_it_offers() {
    let (_tmp, data) = loaded("40");
    let events = check_formats(&["audit", "--data", &data], Some(40), true);
    assert_eq!(events[0]["seq"], 1);
    let report = check_formats(&["verify", "--data", &data], Some(1), true);
    assert_eq!(report["ok"], true);
    assert_eq!(report["last_seq"], 40);
    let replay = check_formats(&["replay", "--data", &data], None, false);
    assert_eq!(replay["events"], 40);
    let windows = check_formats(
        &["schedule", "--from", "2026-06-01", "--days", "2"],
        Some(4),
        true,
    );
    assert_eq!(windows[0]["name"], "day");
    let summary = check_formats(&["config", "check"], None, false);
    assert_eq!(summary["ok"], true);
    assert_eq!(summary["supervisor"]["stop_timeout"], "10s");
    assert_eq!(summary["power"]["halt_grace"], "30s");
}

#[test]
fn formats_a_shape_does_not_allow_are_refused_with_exit_2() {
    let (tmp, data) = loaded("5");
    let video = tmp.path().join("v.mp4").display().to_string();
    for (args, needle) in [
        (
            vec!["replay", "--data", &data],
            "`vigil replay --format csv` is not available",
        ),
        (
            vec!["config", "check"],
            "`vigil config check --format csv` is not available",
        ),
        (
            vec![
                "timelapse",
                "--data",
                &data,
                "--window",
                "2026-06-01",
                "--out",
                &video,
            ],
            "`vigil timelapse --format csv` is not available",
        ),
    ] {
        let mut a = args.clone();
        a.extend(["--format", "csv"]);
        assert_refused(&vigil(&a), 2, needle);
    }
}

#[test]
fn a_cut_audit_answer_says_so_with_the_cursor_and_limit_0_means_all() {
    let (_tmp, data) = loaded("25");
    let out = vigil(&[
        "audit", "--data", &data, "--limit", "10", "--format", "jsonl",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let first: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("jsonl"))
        .collect();
    assert_eq!(first.len(), 10);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(err.contains("--limit 10 cut the answer"), "{err}");
    let cursor = err
        .split("--cursor ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .expect("a cursor on stderr");
    let rest = stdout_of(&[
        "audit", "--data", &data, "--limit", "0", "--cursor", cursor, "--format", "json",
    ]);
    let rest: Vec<Value> = serde_json::from_str(&rest).expect("json");
    assert_eq!(rest.len(), 15);
    assert_eq!(rest[0]["seq"], 11);
    // Not cut: nothing on stderr about it.
    let out = vigil(&["audit", "--data", &data, "--limit", "0", "--format", "json"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("cut the answer"));
    let all: Vec<Value> = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(all.len(), 25);
    // An exact fit is not a cut either.
    let out = vigil(&[
        "audit", "--data", &data, "--limit", "25", "--format", "json",
    ]);
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("cut the answer"),
        "{}",
        text(&out)
    );
}

#[test]
fn audit_json_and_export_jsonl_render_the_envelope_alike() {
    let (tmp, data) = loaded("30");
    let audit: Value = serde_json::from_str(&stdout_of(&[
        "audit", "--data", &data, "--limit", "0", "--format", "json",
    ]))
    .expect("json");
    let file = tmp.path().join("e.jsonl");
    let file_s = file.display().to_string();
    stdout_of(&[
        "export", "--data", &data, "--format", "jsonl", "--out", &file_s,
    ]);
    let exported: Vec<Value> = std::fs::read_to_string(&file)
        .expect("export")
        .lines()
        .map(|l| serde_json::from_str(l).expect("jsonl"))
        .collect();
    let audit = audit.as_array().expect("array");
    assert_eq!(audit.len(), 30);
    assert_eq!(audit, &exported, "every field, `ts` included, the same");
    assert!(audit[0]["ts"].is_string(), "{}", audit[0]);
}
