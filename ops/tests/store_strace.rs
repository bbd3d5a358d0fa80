//! Durability test: run the load generator under `strace` and check that, in the thread that
//! prints the acks, an `fsync`/`fdatasync` of the store's journal (`vigil.journal`) precedes every write of
//! acks to stdout, and that every ack is printed once.

#[path = "store_common.rs"]
mod common;

use std::process::Command;

#[test]
fn an_fdatasync_of_the_store_precedes_every_printed_ack() {
    let has_strace = Command::new("strace")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        has_strace,
        "strace is not installed: run .ci/run (it installs the `strace` package)"
    );
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("data");
    let log = tmp.path().join("strace.log");
    let out = Command::new("strace")
        .args([
            "-f",
            "-y",
            "-qq",
            "-s",
            "65536",
            "-e",
            "trace=fsync,fdatasync,write",
            "-o",
        ])
        .arg(&log)
        .arg(env!("CARGO_BIN_EXE_vigil"))
        .args(["load", "--data"])
        .arg(&dir)
        .args(["--events", "300", "--batch", "7", "--print-acks"])
        .output()
        .expect("strace runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: Vec<u64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.parse().expect("seq"))
        .collect();
    assert_eq!(printed, (1..=300).collect::<Vec<_>>());

    let text = std::fs::read_to_string(&log).expect("strace log");
    let journal = format!("{}/log/vigil.journal>", dir.display());
    // Per thread: has a sync of the store happened since its last ack write?
    let mut synced: std::collections::HashMap<String, bool> = Default::default();
    let mut acked = Vec::new();
    for line in text.lines() {
        let Some((tid, call)) = line.split_once(' ') else {
            continue;
        };
        let call = call.trim_start();
        if (call.starts_with("fdatasync(") || call.starts_with("fsync(")) && call.contains(&journal)
        {
            synced.insert(tid.to_string(), true);
        } else if call.starts_with("write(1<") {
            let seqs: Vec<u64> = call
                .split('"')
                .nth(1)
                .unwrap_or_default()
                .split("\\n")
                .filter(|s| !s.is_empty())
                .map(|s| s.parse().expect("ack seq in write"))
                .collect();
            assert!(
                synced.get(tid).copied().unwrap_or(false),
                "acks {seqs:?} were written before any fsync/fdatasync of {journal} in thread {tid}"
            );
            synced.insert(tid.to_string(), false);
            acked.extend(seqs);
        }
    }
    assert_eq!(
        acked,
        (1..=300).collect::<Vec<_>>(),
        "strace saw every ack write"
    );
}
