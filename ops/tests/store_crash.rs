//! Crash test: `vigil load --print-acks` killed with SIGKILL at a random moment; after each
//! kill every printed ack is in the store, verify passes, and new appends continue the chain.
//! A few trials by default; `VIGIL_CRASH_TRIALS=200` for the long run.

#[path = "store_common.rs"]
mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use common::*;

#[test]
fn every_printed_ack_survives_kill_9_and_the_chain_continues() {
    let trials: u64 = std::env::var("VIGIL_CRASH_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut rng = Rng(0xC0FFEE);
    let mut last = 0u64;
    let mut total_acked = 0u64;
    let mut dir = tmp.path().join("data-0");
    for trial in 0..trials {
        // A fresh store every 8 trials keeps verify quick; within a run of 8 each kill hits
        // a store that already recovered from the kills before it.
        if trial % 8 == 0 && trial > 0 {
            load(&dir, 10, 3, &[]);
            let (code, report, stderr) = verify_json(&dir, &[]);
            assert_eq!(code, 0, "{report} {stderr}");
            assert_eq!(report["last_seq"].as_u64(), Some(last + 10));
            let _ = std::fs::remove_dir_all(&dir);
            dir = tmp.path().join(format!("data-{trial}"));
            last = 0;
        }
        let d = dir.to_str().expect("utf-8").to_string();
        let batch = [1usize, 7, 100, 1000][(trial % 4) as usize].to_string();
        let mut child = vigil()
            .args([
                "load",
                "--data",
                &d,
                "--events",
                "100000000",
                "--batch",
                &batch,
            ])
            .arg("--print-acks")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn load");
        let stdout = child.stdout.take().expect("stdout");
        let reader = std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            let mut acks = Vec::new();
            let mut line = Vec::new();
            loop {
                line.clear();
                match r.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    // A line cut by the kill has no newline: it is not an ack.
                    Ok(_) if line.last() != Some(&b'\n') => break,
                    Ok(_) => {
                        let s = String::from_utf8_lossy(&line);
                        acks.push(s.trim().parse::<u64>().expect("ack is a seq"));
                    }
                }
            }
            acks
        });
        std::thread::sleep(Duration::from_millis(150 + rng.next_u64() % 600));
        child.kill().expect("kill -9");
        child.wait().expect("reap");
        let acks = reader.join().expect("reader");
        for w in acks.windows(2) {
            assert_eq!(w[1], w[0] + 1, "acks are dense");
        }
        if let Some(&first) = acks.first() {
            assert_eq!(first, last + 1, "trial {trial}: acks continue the chain");
        }
        let (code, report, stderr) = verify_json(&dir, &[]);
        assert_eq!(code, 0, "trial {trial}: verify failed: {report} {stderr}");
        let now = report["last_seq"].as_u64().expect("last_seq");
        let max_ack = acks.last().copied().unwrap_or(last);
        assert!(
            now >= max_ack,
            "trial {trial}: LOST ACKNOWLEDGED DATA: acked up to {max_ack}, store holds {now}"
        );
        total_acked += acks.len() as u64;
        last = now;
    }
    assert!(
        total_acked > 0,
        "no trial printed an ack; the kills came too early"
    );
    load(&dir, 10, 3, &[]);
    let (code, report, stderr) = verify_json(&dir, &[]);
    assert_eq!(code, 0, "{report} {stderr}");
    assert_eq!(report["last_seq"].as_u64(), Some(last + 10));
}
