//! The whole station through the binary: start on a simulated clock across two window
//! boundaries, then audit, replay --check and verify; a second start on the same data dir is
//! refused; SIGTERM stops cleanly.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;

use common::{audit, replay_check, text, vigil as run, Station};

fn vigil() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vigil"))
}

const CONFIG: &str = vigil_actors::berlin_daily!("morning" "06:00" "09:30");

/// The station of most tests here, and its config file.
fn station() -> (Station, String) {
    let station = Station::new(CONFIG);
    let config = station.config.clone().expect("a config file");
    (station, config)
}

#[test]
fn simulated_day_opens_and_closes_windows_and_replays() {
    let (station, _) = station();
    let data = station.data.clone();
    // 03:30Z + 6 s × 3600 = 09:30Z station time: the window opens at 04:00Z (06:00 Berlin)
    // and closes at 07:30Z (09:30 Berlin).
    let out = station.start("sim:2026-06-01T03:30:00Z@3600x", "6s");
    assert!(out.status.success(), "{}", text(&out));

    let opened = audit(&data, "WindowOpened");
    assert_eq!(opened.len(), 1, "{opened:?}");
    let p = &opened[0]["payload"];
    assert_eq!(p["name"], "morning");
    assert_eq!(p["local_start"], "2026-06-01T06:00:00+02:00");
    assert_eq!(p["start_us"], 1_780_286_400_000_000_i64);
    assert_eq!(opened[0]["source"], "clock");
    assert_eq!(opened[0]["class"], "important");

    let closed = audit(&data, "WindowClosed");
    assert_eq!(closed.len(), 1, "{closed:?}");
    assert_eq!(closed[0]["payload"]["end_us"], 1_780_299_000_000_000_i64);
    // Recorded at (or just after) the instant, on the simulated clock.
    let ts = closed[0]["ts"].as_str().expect("ts");
    assert!(ts.starts_with("2026-06-01T07:30:0"), "{ts}");

    let stopped = audit(&data, "SupervisorStopped");
    assert_eq!(stopped[0]["payload"]["reason"], "duration elapsed");

    let report = replay_check(&data);
    assert_eq!(report["decisions"]["by_source"]["clock"]["checked"], 2);
    assert_eq!(report["decisions"]["by_source"]["clock"]["rederived"], 2);
    assert_eq!(
        report["decisions"]["checked"],
        report["decisions"]["rederived"]
    );
    assert_eq!(report["mismatches"].as_array().map(Vec::len), Some(0));

    let out = run(&["verify", "--data", &data]);
    assert!(out.status.success(), "{}", text(&out));

    // Local times read in the station's zone (from the recorded config).
    let out = run(&[
        "audit",
        "--data",
        &data,
        "--since",
        "2026-06-01 06:00",
        "--until",
        "2026-06-01 06:01",
        "--format",
        "jsonl",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("jsonl"))
        .collect();
    assert!(
        lines.iter().any(|l| l["kind"] == "WindowOpened"),
        "{lines:?}"
    );
}

#[test]
fn second_start_on_the_same_data_dir_is_refused_and_sigterm_stops_cleanly() {
    let (station, config) = station();
    let data = station.data.clone();
    let mut first = vigil()
        .args([
            "start",
            "--config",
            &config,
            "--data",
            &data,
            "--clock",
            "sim:2026-06-01T03:30:00Z@60x",
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // Wait until the first supervisor holds the store.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut refused = None;
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        let out = run(&["start", "--config", &config, "--data", &data, "--for", "1s"]);
        if out.status.code() == Some(2) {
            refused = Some(out);
            break;
        }
    }
    let refused = refused.expect("second start refused within 20 s");
    let msg = String::from_utf8_lossy(&refused.stderr);
    assert!(msg.contains(&data) || msg.contains("lock"), "{msg}");

    let pid = first.id().to_string();
    let status = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(status.success());
    let status = first.wait().expect("wait");
    assert!(status.success(), "{status:?}");
    let stopped = audit(&data, "SupervisorStopped");
    assert_eq!(stopped.len(), 1);
    assert_eq!(stopped[0]["payload"]["reason"], "signal SIGTERM");
}

#[test]
fn bad_clock_and_bad_config_exit_2_saying_what() {
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tmp.path().join("data").display().to_string();
    let out = run(&[
        "start",
        "--data",
        &data,
        "--clock",
        "sim:soon@3x",
        "--for",
        "1s",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("RFC 3339"));

    let bad = tmp.path().join("bad.toml");
    std::fs::write(&bad, "[schedule]\ntimezone = \"Europe/Berln\"\n").expect("write");
    let out = run(&[
        "start",
        "--config",
        &bad.display().to_string(),
        "--data",
        &data,
        "--for",
        "1s",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml:2:"), "{err}");
    assert!(!Path::new(&data).exists(), "nothing written on bad input");
}

#[test]
fn json_logs_go_to_stderr_one_object_per_line() {
    let (station, config) = station();
    let data = station.data.clone();
    let out = vigil()
        .args([
            "--log-format",
            "json",
            "--log",
            "info",
            "start",
            "--config",
            &config,
            "--data",
            &data,
            "--clock",
            "sim:2026-06-01T03:30:00Z@3600x",
            "--for",
            "1s",
        ])
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let logs: Vec<Value> = stderr
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).expect("json log line"))
        .collect();
    assert!(
        logs.iter()
            .any(|l| l["fields"]["message"] == "supervisor started"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "stdout stays for data");
}

#[test]
fn data_dir_that_cannot_be_created_is_refused_with_its_path() {
    let (station, config) = station();
    let tmp = &station.tmp;
    // A regular file where the data directory should be: not writable as a directory, even
    // for root (tests may run as root, where permission bits do not stop writes).
    let blocker = tmp.path().join("blocker");
    std::fs::write(&blocker, b"a file").expect("write");
    let data = blocker.join("data").display().to_string();
    let out = run(&["start", "--config", &config, "--data", &data, "--for", "1s"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&data), "{err}");
    assert_eq!(
        std::fs::read(&blocker).expect("read"),
        b"a file",
        "nothing written"
    );
}

/// The built-in default — every board simulated, camera, GPIO rules, classifier, power — runs
/// and every decision it records is re-derived by replay.
#[test]
fn the_builtin_default_station_replays_cleanly() {
    let station = Station::builtin();
    let data = station.data.clone();
    let out = station.start("sim:2026-06-01T03:50:00Z@3600x", "5s");
    assert!(out.status.success(), "{}", text(&out));
    let report = replay_check(&data);
    for source in ["clock", "gpio", "classifier", "power"] {
        assert!(
            report["decisions"]["by_source"][source]["checked"].as_u64() > Some(0),
            "no {source} decisions: {report}"
        );
    }
    let out = run(&["verify", "--data", &data]);
    assert!(out.status.success(), "{}", text(&out));
}
