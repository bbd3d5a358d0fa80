//! `vigil sim summary` (what `ops/scripts/sim.sh` prints at the end of a run) counts what the
//! log holds: the same numbers `vigil audit` lists.

mod common;

use common::{audit, text, vigil, Station};
use serde_json::Value;

const CONFIG: &str = concat!(
    vigil_actors::berlin_daily!("morning" "06:00" "07:00"),
    "\n[camera]\ninterval = \"5m\"\nresolution = \"320x240\"\nmin_free_mb = 1\n[api]\nenabled = false\n"
);

#[test]
fn the_summary_counts_what_the_log_holds() {
    let station = Station::new(CONFIG);
    let out = station.start("sim:2026-06-01T03:50:00Z@1800x", "4s");
    assert!(out.status.success(), "{}", text(&out));
    let out = vigil(&[
        "sim",
        "summary",
        "--data",
        &station.data,
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let s: Value = serde_json::from_slice(&out.stdout).expect("json");
    let n = |kind| audit(&station.data, kind).len() as u64;
    assert_eq!(s["windows_opened"], n("WindowOpened"), "{s}");
    assert!(s["windows_opened"].as_u64() >= Some(1), "{s}");
    assert_eq!(s["windows_closed"], n("WindowClosed"), "{s}");
    assert_eq!(s["frames"], n("FrameCaptured"), "{s}");
    assert!(s["frames"].as_u64() >= Some(1), "{s}");
    let detections = audit(&station.data, "Detection");
    assert_eq!(s["detections"], detections.len() as u64, "{s}");
    let persons = detections
        .iter()
        .filter(|d| d["payload"]["class"] == "person")
        .count() as u64;
    assert_eq!(s["person_detections"], persons, "{s}");
    let power = audit(&station.data, "PowerSwitched");
    let on = power.iter().filter(|p| p["payload"]["on"] == true).count() as u64;
    assert_eq!(s["power_on"], on, "{s}");
    assert_eq!(s["power_off"], power.len() as u64 - on, "{s}");
    let last = vigil(&[
        "audit",
        "--data",
        &station.data,
        "--newest-first",
        "--limit",
        "1",
        "--format",
        "json",
    ]);
    assert!(last.status.success(), "{}", text(&last));
    let last: Value = serde_json::from_slice(&last.stdout).expect("json");
    assert_eq!(s["last_seq"], last[0]["seq"], "{s}");
    assert_eq!(s["head"], last[0]["hash"], "{s}");
    assert_eq!(s["data_dir"], station.data.as_str());

    let table = vigil(&["sim", "summary", "--data", &station.data]);
    let shown = String::from_utf8_lossy(&table.stdout);
    for needle in [
        "windows",
        "frames",
        "with a person",
        "power cycles",
        "chain head",
        "vigil verify --data",
    ] {
        assert!(shown.contains(needle), "{needle}: {shown}");
    }
}
