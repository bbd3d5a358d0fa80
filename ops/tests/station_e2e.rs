//! A simulated morning through the binary: frames only inside the window, every frame's
//! hash verifies, a timelapse builds (by the supervisor at window close and by
//! `vigil timelapse`), and a scripted button press becomes an edge, fires a rule and
//! changes an output — all visible in `vigil audit`, and `vigil replay --check` re-derives
//! the GPIO decisions.

mod common;

use common::{audit, replay_check, text, vigil, Station};
use serde_json::Value;

const CONFIG: &str = concat!(
    vigil_actors::berlin_daily!("morning" "06:00" "09:30"),
    r#"
[camera]
interval = "10m"
resolution = "320x240"
min_free_mb = 1
fps = 10

[gpio]
backend = "sim"
[[gpio.input]]
name = "button"
pin = "board:11"
pull = "up"
edge = "falling"
debounce_ms = 20
[[gpio.output]]
name = "led"
pin = 18
[[gpio.rule]]
name = "button-led"
on = "GpioEdge"
match = { name = "button", edge = "falling" }
set = "led"
level = "high"
for = "30m"
[[gpio.sim_press]]
input = "button"
at = "2026-06-01T05:00:00Z"
hold = "5m"
bounces = 3
"#
);

const START: i64 = 1_780_286_400_000_000; // 2026-06-01T04:00:00Z = 06:00 Berlin
const END: i64 = 1_780_299_000_000_000; // 07:30Z = 09:30 Berlin

#[test]
fn simulated_morning_frames_timelapse_and_button_rule() {
    let station = Station::new(CONFIG);
    let (tmp, data_dir, data) = (&station.tmp, &station.data_dir, station.data.clone());
    let out = station.start("sim:2026-06-01T03:30:00Z@3600x", "6s");
    assert!(out.status.success(), "{}", text(&out));

    // Frames: on the 10-minute grid inside the window only, each file intact.
    let frames = audit(&data, "FrameCaptured");
    assert!(frames.len() >= 18, "{} frames", frames.len());
    for f in &frames {
        let p = &f["payload"];
        let due = p["scheduled_us"].as_i64().expect("scheduled");
        assert!((START..END).contains(&due), "frame outside the window: {p}");
        assert_eq!((due - START) % 600_000_000, 0, "off the grid: {p}");
        let path = data_dir.join(p["path"].as_str().expect("path"));
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(bytes.len() as u64, p["bytes"].as_u64().expect("bytes"));
        assert_eq!(
            blake3::hash(&bytes).to_hex().as_str(),
            p["blake3"].as_str().expect("hash")
        );
    }

    // The supervisor built the window's video when it closed.
    let built = audit(&data, "TimelapseBuilt");
    assert_eq!(
        built.len(),
        1,
        "{built:?} {:?}",
        audit(&data, "TimelapseFailed")
    );
    let video = data_dir.join(built[0]["payload"]["path"].as_str().expect("video path"));
    assert!(std::fs::metadata(&video)
        .map(|m| m.len() > 0)
        .unwrap_or(false));

    // And the CLI builds one from the log.
    let mp4 = tmp.path().join("morning.mp4");
    let out = vigil(&[
        "timelapse",
        "--data",
        &data,
        "--window",
        "2026-06-01",
        "--fps",
        "10",
        "--out",
        &mp4.display().to_string(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(mp4.exists());

    // An altered frame is reported and the command exits 1.
    let first = data_dir.join(frames[0]["payload"]["path"].as_str().expect("path"));
    std::fs::write(&first, b"not the frame").expect("tamper");
    let out = vigil(&[
        "timelapse",
        "--data",
        &data,
        "--window",
        "2026-06-01",
        "--out",
        &tmp.path().join("again.mp4").display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("altered"),
        "{}",
        text(&out)
    );

    // The scripted press (with bounce) is one falling edge, which fires the rule.
    let edges = audit(&data, "GpioEdge");
    assert_eq!(edges.len(), 1, "{edges:?}");
    assert_eq!(edges[0]["payload"]["name"], "button");
    assert_eq!(edges[0]["payload"]["edge"], "falling");
    let outputs = audit(&data, "OutputChanged");
    let led: Vec<&Value> = outputs
        .iter()
        .filter(|o| {
            o["payload"]["name"] == "led"
                && o["payload"]["rule"]
                    .as_str()
                    .is_some_and(|r| r.starts_with("button-led"))
        })
        .collect();
    assert!(
        led.iter().any(|o| o["payload"]["high"] == true),
        "{outputs:?}"
    );
    assert!(
        led.iter().any(|o| o["payload"]["high"] == false),
        "hold of 30 min returns the led low: {outputs:?}"
    );

    let report = replay_check(&data);
    assert!(
        report["decisions"]["by_source"]["gpio"]["rederived"].as_u64() >= Some(2),
        "{report}"
    );
}
