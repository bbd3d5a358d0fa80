//! The power cycle through the binary: `vigil start` with `[power] port = "sim"` (the ESP32
//! simulator in-process) on a simulated clock at 3600× across the end of the day window.
//! The log then shows the link coming up, the windows pushed, the Pi's shutdown decision at
//! the window's end, the poweroff command, and the board's own power switches (source
//! `esp32`, with their board origin) — and `vigil replay --check` re-derives the power
//! decisions.

mod common;

use common::{audit, replay_check, text, Station};
use serde_json::Value;

/// Berlin, 2026-06-01: the day window is 04:00Z–16:30Z.
const CONFIG: &str = concat!(
    vigil_actors::berlin_daily!("day" "06:00" "18:30"),
    r#"
[power]
port = "sim"
heartbeat = "5s"
watchdog = "2m"
halt_grace = "30s"
hard_deadline = "3m"
poweroff_command = "true"

[camera]
interval = "30m"
resolution = "320x240"
min_free_mb = 1
timelapse = false
"#
);

const DAY_END: &str = "2026-06-01T16:30:00";

/// The board's timestamp of an event, to the second (RFC 3339 in the JSON).
fn board_time(e: &Value) -> String {
    e["origin"]["device_ts"]
        .as_str()
        .unwrap_or_default()
        .chars()
        .take(19)
        .collect()
}

#[test]
fn a_simulated_window_end_runs_the_power_cycle_and_replays() {
    let station = Station::new(CONFIG);
    let data = station.data.clone();
    // 15:30Z → about 17:30Z: inside the window, across its end, into the night.
    let out = station.start("sim:2026-06-01T15:30:00Z@3600x", "2s");
    assert!(out.status.success(), "{}", text(&out));

    let up = audit(&data, "LinkUp");
    assert!(
        up.iter().any(|e| e["source"] == "power"),
        "no LinkUp of the ESP32 link: {up:?}"
    );
    let pushed = audit(&data, "WindowsPushed");
    assert!(
        pushed
            .iter()
            .any(|e| e["source"] == "power" && e["payload"]["count"].as_u64() >= Some(7)),
        "{pushed:?}"
    );
    let shutdown = audit(&data, "ShutdownRequested");
    assert!(
        shutdown
            .iter()
            .any(|e| e["payload"]["window"] == "day" && e["payload"]["reason"] == "window closed"),
        "{shutdown:?}"
    );
    let poweroff = audit(&data, "PoweroffRun");
    assert!(
        poweroff
            .iter()
            .any(|e| e["payload"]["command"] == "true" && e["payload"]["exit_code"] == 0),
        "{poweroff:?}"
    );
    let switched = audit(&data, "PowerSwitched");
    for e in &switched {
        assert_eq!(e["source"], "esp32", "{e}");
        assert!(e["origin"]["device"].is_u64(), "no board origin: {e}");
        assert!(e["origin"]["device_ts"].is_string(), "no board time: {e}");
    }
    assert!(
        switched
            .iter()
            .any(|e| e["payload"]["on"] == true && e["payload"]["reason"] == "window start"),
        "{switched:?}"
    );
    assert!(
        switched
            .iter()
            .any(|e| e["payload"]["on"] == false && board_time(e).as_str() >= DAY_END),
        "the board did not cut the power after the window: {switched:?}"
    );
    // Each board event once.
    let mut keys: Vec<(u64, u64, u64)> = switched
        .iter()
        .map(|e| {
            let o = &e["origin"];
            (
                o["device"].as_u64().unwrap_or(0),
                o["boot"].as_u64().unwrap_or(0),
                o["seq"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    let n = keys.len();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), n, "a board event was logged twice");

    let report = replay_check(&data);
    assert!(
        report["decisions"]["by_source"]["power"]["rederived"].as_u64() >= Some(2),
        "{report}"
    );
}
