//! `vigil retention` through the binary: a dry run changes nothing, a run purges what is due
//! under a destruction record, `verify` still exits 0 and says how many records are redacted,
//! a second run finds nothing due, and a policy below the audit minimum is refused.

mod common;

use common::{assert_refused, text, vigil};
use serde_json::Value;
use vigil_events::kinds::{LoadGenerated, WindowOpened};
use vigil_events::{ClassPolicy, NewEvent, Source};
use vigil_store::{Store, StoreOptions};

const T0: i64 = 1_780_286_400_000_000; // 2026-06-01T04:00:00Z
const HOUR: i64 = 3_600_000_000;

/// 60 simulated days: a `LoadGenerated` every 4 hours, a `WindowOpened` (audit) every day.
fn station(data: &std::path::Path) -> u64 {
    let store = Store::open(&data.join("log"), StoreOptions::default()).expect("open");
    let mut batch = Vec::new();
    for h in 0..60 * 24 {
        let ts = T0 + h * HOUR;
        if h % 4 == 0 {
            batch.push(NewEvent::new(
                ts,
                Source::Ops,
                LoadGenerated {
                    n: h as u64,
                    filler: vec![7; 60],
                },
            ));
        }
        if h % 24 == 0 {
            batch.push(NewEvent::new(
                ts,
                Source::Clock,
                WindowOpened {
                    name: "day".into(),
                    start_us: ts,
                    end_us: ts + HOUR,
                    local_start: String::new(),
                    local_end: String::new(),
                    timezone: "UTC".into(),
                },
            ));
        }
    }
    store
        .append(&batch, &ClassPolicy::default())
        .expect("append");
    store.last_seq()
}

fn json(out: &std::process::Output) -> Value {
    assert_eq!(out.status.code(), Some(0), "{}", text(out));
    serde_json::from_slice(&out.stdout).expect("json")
}

#[test]
fn retention_purges_what_is_due_and_verify_stays_clean() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let last = station(&data);
    let cfg = dir.path().join("vigil.toml");
    std::fs::write(&cfg, "[retention]\ngeneral = 7\n").expect("config");
    let d = data.to_str().expect("utf8");
    let c = cfg.to_str().expect("utf8");
    // Day 60: everything general older than 7 days is due (53 days × 6 events).
    let now = "2026-07-31T04:00:00Z";
    let dry = json(&vigil(&[
        "retention",
        "--dry-run",
        "--data",
        d,
        "--config",
        c,
        "--format",
        "json",
        "--now",
        now,
    ]));
    let due = dry["purges"][0]["count"].as_u64().expect("count");
    assert_eq!(dry["purges"][0]["reason"], "age");
    assert!((52 * 6..=54 * 6).contains(&due), "{dry}");
    assert_eq!(
        dry["purges"][0]["kinds"],
        serde_json::json!(["LoadGenerated"])
    );
    assert!(dry["retention_ran_seq"].is_null());
    let v = json(&vigil(&["verify", "--data", d, "--format", "json"]));
    assert_eq!(
        (v["last_seq"].as_u64(), v["redacted"].as_u64()),
        (Some(last), Some(0))
    );
    // The real run.
    let run = json(&vigil(&[
        "retention",
        "--data",
        d,
        "--config",
        c,
        "--format",
        "json",
        "--now",
        now,
    ]));
    assert_eq!(run["purged"].as_u64(), Some(due), "{run}");
    let dseq = run["destruction_seqs"][0]
        .as_u64()
        .expect("destruction seq");
    assert_eq!(dseq, last + 1);
    assert_eq!(run["retention_ran_seq"].as_u64(), Some(last + 2));
    let v = json(&vigil(&["verify", "--data", d, "--format", "json"]));
    assert_eq!(v["ok"], true, "{v}");
    let by: u64 = v["destroyed_by"]
        .as_array()
        .expect("destroyed_by")
        .iter()
        .map(|x| {
            assert_eq!(x["seq"].as_u64(), Some(dseq));
            x["records"].as_u64().unwrap_or(0)
        })
        .sum();
    assert_eq!(by, due);
    let table = vigil(&["verify", "--data", d]);
    assert_eq!(table.status.code(), Some(0), "{}", text(&table));
    assert!(
        String::from_utf8_lossy(&table.stdout)
            .contains(&format!("under RecordsDestroyed seq {dseq}")),
        "{}",
        text(&table)
    );
    // Audit events are all still there.
    assert_eq!(common::audit(d, "WindowOpened").len(), 60);
    assert_eq!(common::audit(d, "RecordsDestroyed").len(), 1);
    // `audit --seq` tells a purged event from a held one and from one never recorded.
    let a = json(&vigil(&[
        "audit", "--data", d, "--seq", "1", "--format", "json",
    ]));
    assert_eq!(
        (a["status"].as_str(), a["destroyed_by"].as_u64()),
        (Some("purged"), Some(dseq)),
        "{a}"
    );
    let a = json(&vigil(&[
        "audit", "--data", d, "--seq", "2", "--format", "json",
    ]));
    assert_eq!(a["status"], "held", "{a}");
    assert_eq!(a["event"]["kind"], "WindowOpened", "{a}");
    let a = vigil(&["audit", "--data", d, "--seq", "99999"]);
    assert!(
        String::from_utf8_lossy(&a.stdout).contains("never recorded"),
        "{}",
        text(&a)
    );
    // Nothing more is due at the same instant.
    let again = vigil(&["retention", "--data", d, "--config", c, "--now", now]);
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("nothing is due"),
        "{}",
        text(&again)
    );
}

#[test]
fn retention_below_the_audit_minimum_is_refused_naming_the_key() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    station(&data);
    let cfg = dir.path().join("vigil.toml");
    std::fs::write(&cfg, "[retention]\nimportant = 30\n").expect("config");
    let out = vigil(&[
        "retention",
        "--data",
        data.to_str().expect("utf8"),
        "--config",
        cfg.to_str().expect("utf8"),
    ]);
    assert_refused(&out, 2, "retention.important = 30 days");
    let out = vigil(&[
        "retention",
        "--data",
        data.to_str().expect("utf8"),
        "--now",
        "yesterday",
    ]);
    assert_refused(&out, 2, "--now yesterday");
}
