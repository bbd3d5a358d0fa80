//! The thermal side of the simulated station: the Pico simulator runs the shipped int8 model
//! on synthetic scenes, the Pi classifies the same frames (int8 by default, the f32 reference
//! with `engine = "f32"`) and records agreement; a person lights the LED through a rule.

mod common;

use common::{audit, vigil, Station};
use serde_json::Value;

fn run_station(engine: &str) -> (Station, String) {
    let station = Station::new(&format!(
        r#"
[schedule]
timezone = "UTC"
[classifier]
engine = "{engine}"
[gpio]
backend = "sim"
[[gpio.output]]
name = "led"
pin = 18
[[gpio.rule]]
name = "person-led"
on = "Detection"
match = {{ class = "person", engine = "pico-int8" }}
set = "led"
level = "high"
for = "5s"
"#
    ));
    let data = station.data.clone();
    let out = station.start("sim:2026-06-01T12:00:00Z@10x", "8s");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (station, data)
}

#[test]
fn pico_and_pi_classify_the_same_frames_and_a_person_lights_the_led() {
    let (_tmp, data) = run_station("int8");
    let frames = audit(&data, "ThermalFrame");
    assert!(frames.len() >= 10, "{} frames", frames.len());
    assert!(frames
        .iter()
        .all(|f| f["source"] == "pico" && !f["origin"].is_null()));
    let detections = audit(&data, "Detection");
    let host: Vec<&Value> = detections
        .iter()
        .filter(|d| d["source"] == "classifier")
        .collect();
    assert!(host.iter().all(|d| d["payload"]["engine"] == "host-int8"));
    assert!(
        detections.iter().any(|d| d["payload"]["class"] == "person"),
        "the walking person is seen"
    );
    let compared = audit(&data, "DetectionCompared");
    assert!(!compared.is_empty());
    // Same int8 engine, same model, same frames: bit-identical answers.
    assert!(
        compared.iter().all(|c| c["payload"]["agree"] == true),
        "{compared:?}"
    );
    let led = audit(&data, "OutputChanged");
    assert!(
        led.iter()
            .any(|o| o["payload"]["rule"] == "person-led" && o["payload"]["high"] == true),
        "{led:?}"
    );
    let out = vigil(&["replay", "--data", &data, "--check"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn the_f32_engine_classifies_with_the_reference_model() {
    let (_tmp, data) = run_station("f32");
    let detections = audit(&data, "Detection");
    let host: Vec<&Value> = detections
        .iter()
        .filter(|d| d["source"] == "classifier")
        .collect();
    assert!(!host.is_empty());
    assert!(
        host.iter().all(|d| d["payload"]["engine"] == "host-f32"),
        "{host:?}"
    );
    assert!(!audit(&data, "DetectionCompared").is_empty());
}
