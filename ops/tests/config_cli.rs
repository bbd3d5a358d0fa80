//! `vigil config check` and `vigil schedule` through the binary: exit codes, messages and
//! the JSON shape.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn vigil(args: &[&str]) -> Output {
    match Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(args)
        .output()
    {
        Ok(o) => o,
        Err(e) => panic!("cannot run vigil: {e}"),
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn write(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    if let Err(e) = std::fs::write(&p, body) {
        panic!("write {}: {e}", p.display());
    }
    p
}

fn tempdir() -> tempfile::TempDir {
    match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("tempdir: {e}"),
    }
}

fn shipped(name: &str) -> String {
    format!("{}/../config/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn config_check_accepts_the_builtin_and_shipped_files() {
    let o = vigil(&["config", "check"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains(": ok"), "{}", text(&o.stdout));
    for f in ["default.toml", "pi.toml"] {
        let o = vigil(&["config", "check", "--config", &shipped(f)]);
        assert_eq!(o.status.code(), Some(0), "{f}: {}", text(&o.stderr));
        let out = text(&o.stdout);
        assert!(out.contains("Europe/Berlin"), "{out}");
    }
}

#[test]
fn config_check_refuses_bad_input_with_position_and_exit_2() {
    let dir = tempdir();
    for (body, want) in [
        ("[schedule]\ntimezone = \"Europe/Berln\"\n", ":2:12: unknown time zone `Europe/Berln`"),
        ("[schedul]\n", ":1:2: unknown field `schedul`"),
        ("[power]\nheartbeat = \"5 minutes\"\n", ":2:13: invalid duration \"5 minutes\""),
        (
            "[schedule]\n[[schedule.window]]\nname = \"d\"\nstart = \"06:00\"\nend = \"06:00\"\n",
            ":5:7: window \"d\": end equals start (06:00)",
        ),
        (
            "[schedule]\n[[schedule.window]]\nname = \"d\"\ndays = [\"mo\"]\nstart = \"06:00\"\nend = \"07:00\"\n",
            ":4:9: unknown day \"mo\"",
        ),
        (
            "[schedule]\n[[schedule.window]]\nname = \"d\"\nstart = \"sunrise\"\nend = \"07:00\"\n",
            ":4:9: window \"d\": \"sunrise\" is relative to the sun and needs [schedule] location",
        ),
    ] {
        let f = write(dir.path(), "bad.toml", body);
        let o = vigil(&["config", "check", "--config", &f.display().to_string()]);
        assert_eq!(o.status.code(), Some(2), "{body}");
        let err = text(&o.stderr);
        assert!(err.contains(&format!("{}{want}", f.display())), "{err}");
        assert!(o.stdout.is_empty());
    }
    let o = vigil(&["config", "check", "--config", "/nonexistent/vigil.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("/nonexistent/vigil.toml"));
}

const BERLIN: &str = "[schedule]\ntimezone = \"Europe/Berlin\"\n\
[[schedule.window]]\nname = \"night\"\nstart = \"22:00\"\nend = \"02:30\"\n\
[[schedule.window]]\nname = \"morning\"\nstart = \"06:00\"\nend = \"08:00\"\n";

fn json(out: &[u8]) -> serde_json::Value {
    match serde_json::from_slice(out) {
        Ok(v) => v,
        Err(e) => panic!("not JSON ({e}): {}", text(out)),
    }
}

#[test]
fn schedule_json_shape_over_spring_forward() {
    let dir = tempdir();
    let f = write(dir.path(), "berlin.toml", BERLIN);
    let o = vigil(&[
        "schedule",
        "--config",
        &f.display().to_string(),
        "--from",
        "2026-03-28",
        "--days",
        "2",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let v = json(&o.stdout);
    let rows = v.as_array().unwrap_or_else(|| panic!("not an array: {v}"));
    // The 27th's night (runs into the 28th), 28th morning + night, 29th morning + night.
    let got: Vec<(String, String, String, String, String)> = rows
        .iter()
        .map(|r| {
            let obj = r
                .as_object()
                .unwrap_or_else(|| panic!("not an object: {r}"));
            let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
            let mut sorted = keys.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, ["end", "local_end", "local_start", "name", "start"]);
            let s = |k: &str| {
                obj[k]
                    .as_str()
                    .unwrap_or_else(|| panic!("{k} not a string"))
                    .to_string()
            };
            (
                s("name"),
                s("start"),
                s("end"),
                s("local_start"),
                s("local_end"),
            )
        })
        .collect();
    let row = |a: &str, b: &str, c: &str, d: &str, e: &str| {
        (
            a.to_string(),
            b.to_string(),
            c.to_string(),
            d.to_string(),
            e.to_string(),
        )
    };
    assert_eq!(
        got,
        vec![
            row(
                "night",
                "2026-03-27T21:00:00Z",
                "2026-03-28T01:30:00Z",
                "2026-03-27T22:00:00+01:00",
                "2026-03-28T02:30:00+01:00"
            ),
            row(
                "morning",
                "2026-03-28T05:00:00Z",
                "2026-03-28T07:00:00Z",
                "2026-03-28T06:00:00+01:00",
                "2026-03-28T08:00:00+01:00"
            ),
            // Into the gap: ends when the gap ends, 03:00 CEST.
            row(
                "night",
                "2026-03-28T21:00:00Z",
                "2026-03-29T01:00:00Z",
                "2026-03-28T22:00:00+01:00",
                "2026-03-29T03:00:00+02:00"
            ),
            row(
                "morning",
                "2026-03-29T04:00:00Z",
                "2026-03-29T06:00:00Z",
                "2026-03-29T06:00:00+02:00",
                "2026-03-29T08:00:00+02:00"
            ),
            row(
                "night",
                "2026-03-29T20:00:00Z",
                "2026-03-30T00:30:00Z",
                "2026-03-29T22:00:00+02:00",
                "2026-03-30T02:30:00+02:00"
            ),
        ]
    );
    // The keys come in the documented order.
    let raw = text(&o.stdout);
    let order: Vec<usize> = [
        "\"name\"",
        "\"start\"",
        "\"end\"",
        "\"local_start\"",
        "\"local_end\"",
    ]
    .iter()
    .map(|k| raw.find(k).unwrap_or(usize::MAX))
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{raw}");
}

#[test]
fn schedule_table_and_defaults() {
    let o = vigil(&["schedule", "--from", "2026-06-01", "--days", "1"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(out.starts_with("NAME"), "{out}");
    assert!(out.contains("2026-06-01T06:00:00+02:00"), "{out}");
    let o = vigil(&[
        "schedule",
        "--from",
        "2026-06-01",
        "--days",
        "1",
        "--format",
        "json",
    ]);
    let v = json(&o.stdout);
    let starts: Vec<&str> = v
        .as_array()
        .map(|a| a.iter().filter_map(|r| r["start"].as_str()).collect())
        .unwrap_or_default();
    assert!(!starts.is_empty());
    let mut sorted = starts.clone();
    sorted.sort_unstable();
    assert_eq!(starts, sorted, "sorted by start");
}

#[test]
fn schedule_bad_arguments_exit_2() {
    for args in [
        &["schedule", "--from", "2026-13-01"][..],
        &["schedule", "--from", "01.06.2026"][..],
        &["schedule", "--days", "0"][..],
        &["schedule", "--format", "xml"][..],
        &["schedule", "--config", "/nonexistent.toml"][..],
    ] {
        let o = vigil(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o.stderr));
        assert!(o.stdout.is_empty(), "{args:?}");
    }
}
