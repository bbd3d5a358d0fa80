//! `vigil sim pico`: the simulator's own line decoded and printed; bad arguments exit 2.

use std::process::Command;

fn vigil() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vigil"))
}

#[test]
fn prints_one_detection_per_frame_with_its_scene() {
    let out = vigil()
        .args([
            "sim",
            "pico",
            "--refresh-hz",
            "32",
            "--frames",
            "32",
            "--threshold",
            "0.6",
            "--format",
            "jsonl",
        ])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines.len(), 32);
    assert_eq!(lines[0]["frame"], 1);
    assert_eq!(lines[0]["scene"], "person_walk");
    assert_eq!(lines[31]["scene"], "empty_room");
    assert!(
        lines.iter().any(|l| l["person_present"] == true),
        "the walker lights the LED"
    );
}

#[test]
fn bad_arguments_exit_2_saying_what() {
    let out = vigil()
        .args(["sim", "pico", "--refresh-hz", "3"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--refresh-hz 3"));
    let dir = tempfile::tempdir().expect("tmp");
    let bad = dir.path().join("short.vgi8");
    std::fs::write(&bad, b"VGI8").expect("write");
    let out = vigil()
        .args(["sim", "pico", "--model"])
        .arg(&bad)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("short.vgi8"));
}

#[test]
fn pty_mode_prints_the_pty_path_and_serves_until_killed() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    for board in ["pico", "esp32"] {
        let mut child = vigil()
            .args(["sim", board, "--pty"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read the path");
        let path = line.trim_end().to_string();
        assert!(std::path::Path::new(&path).exists(), "{board}: {line:?}");
        // The banner follows the path on stderr; read up to it, then stop the simulator.
        let banner = BufReader::new(child.stderr.take().expect("stderr"))
            .lines()
            .map_while(Result::ok)
            .find(|l| l.contains("serving on"))
            .unwrap_or_default();
        assert!(
            child.try_wait().expect("try_wait").is_none(),
            "{board} stopped"
        );
        child.kill().expect("kill");
        child.wait().expect("wait");
        assert!(
            banner.starts_with(&format!("vigil sim {board}: serving on {path}")),
            "{board}: {banner:?}"
        );
        assert!(banner.ends_with("Ctrl-C stops"), "{board}: {banner:?}");
    }
}
