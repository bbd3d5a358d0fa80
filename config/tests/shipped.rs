//! The shipped config files and the defaults.

mod common;

use std::time::Duration;

use vigil_config::{Config, PortSpec, DEFAULT_TOML, PI_TOML};
use vigil_events::{DataClass, EventKind};

#[test]
fn default_toml_is_valid_and_fully_simulated() {
    let c = Config::parse(DEFAULT_TOML, "config/default.toml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.station.data_dir, std::path::PathBuf::from("./vigil-data"));
    assert_eq!(c.power.port, PortSpec::Sim);
    assert_eq!(c.pico.port, PortSpec::Sim);
    assert_eq!(c.power.poweroff_command, vec!["true".to_string()]);
    assert_eq!(c.camera.backend, vigil_config::CameraBackend::Synthetic);
    assert_eq!(c.gpio.backend, vigil_config::gpio::GpioBackend::Sim);
    assert_eq!(c.schedule.timezone(), chrono_tz::Europe::Berlin);
    assert!(c.schedule.window_specs().len() >= 2);
    assert_eq!(Config::builtin_default(), c);
}

#[test]
fn default_toml_states_the_built_in_defaults() {
    // Every value written in default.toml equals the default of its key, except the demo
    // content (schedule, pins, retention overrides): an empty file differs only there.
    let shipped = Config::builtin_default();
    let empty = common::parse("");
    assert_eq!(shipped.station, empty.station);
    assert_eq!(shipped.store, empty.store);
    assert_eq!(shipped.power, empty.power);
    assert_eq!(shipped.camera, empty.camera);
    assert_eq!(shipped.classifier, empty.classifier);
    assert_eq!(shipped.pico, empty.pico);
    assert_eq!(shipped.api, empty.api);
    assert_eq!(shipped.clock, empty.clock);
    assert_eq!(shipped.retention.general_days, empty.retention.general_days);
    assert_eq!(
        shipped.retention.important_days,
        empty.retention.important_days
    );
    assert_eq!(shipped.retention.core_days, empty.retention.core_days);
    assert_eq!(shipped.retention.run_every, empty.retention.run_every);
}

#[test]
fn pi_toml_is_valid_and_uses_real_hardware() {
    let c = Config::parse(PI_TOML, "config/pi.toml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.power.port, PortSpec::Device("/dev/serial0".into()));
    assert_eq!(
        c.power.poweroff_command,
        vec!["systemctl".to_string(), "poweroff".to_string()]
    );
    assert_eq!(c.camera.backend, vigil_config::CameraBackend::V4l2);
    assert_eq!(c.gpio.backend, vigil_config::gpio::GpioBackend::Rppal);
    assert_eq!(
        c.class_policy().class_for(EventKind::Detection),
        DataClass::Important
    );
    let fan = c.gpio.pwms.iter().find(|p| p.name == "fan").map(|p| p.pin);
    assert_eq!(fan.map(|p| (p.bcm, p.physical)), Some((13, 33)));
}

#[test]
fn shipped_files_on_disk_are_the_embedded_ones() {
    let dir = env!("CARGO_MANIFEST_DIR");
    for (file, embedded) in [("default.toml", DEFAULT_TOML), ("pi.toml", PI_TOML)] {
        let path = std::path::Path::new(dir).join(file);
        let c = Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            c,
            Config::parse(embedded, file).unwrap_or_else(|e| panic!("{e}"))
        );
    }
}

#[test]
fn an_empty_file_and_a_schedule_only_file_are_valid() {
    let c = common::parse("");
    assert_eq!(c, Config::default());
    assert_eq!(c.schedule.window_specs().len(), 1, "default day window");
    let c = common::parse(
        "[schedule]\ntimezone = \"America/New_York\"\n[[schedule.window]]\nname = \"w\"\nstart = \"08:00\"\nend = \"09:00\"\n",
    );
    assert_eq!(c.schedule.timezone(), chrono_tz::America::New_York);
    assert_eq!(c.power.heartbeat, Duration::from_secs(5));
    assert_eq!(c.classifier.threshold, 0.90);
    assert_eq!(c.classifier.threshold_permille(), 900);
    let none = common::parse("[schedule]\nwindow = []\n");
    assert!(none.schedule.window_specs().is_empty());
}

#[test]
fn classes_raise_and_retention_keep_days() {
    let c = common::parse(
        // A kind raised to core needs an encryption key (its payloads are sealed at rest).
        "[store]\nencryption_key_file = \"/etc/vigil/data.key\"\n[classes]\nFrameCaptured = \"core\"\n[retention]\ncore = 200\ngeneral = 10\n[retention.kinds]\nThermalFrame = 2\n",
    );
    let p = c.class_policy();
    assert_eq!(p.class_for(EventKind::FrameCaptured), DataClass::Core);
    assert_eq!(p.class_for(EventKind::GpioEdge), DataClass::General);
    assert_eq!(
        c.retention
            .keep_days(EventKind::FrameCaptured, DataClass::Core),
        200
    );
    assert_eq!(
        c.retention
            .keep_days(EventKind::ThermalFrame, DataClass::General),
        2
    );
    assert_eq!(
        c.retention
            .keep_days(EventKind::GpioEdge, DataClass::General),
        10
    );
}

#[test]
fn gpio_rules_match_payloads() {
    let c = Config::builtin_default();
    let rule = c
        .gpio
        .rules
        .iter()
        .find(|r| r.name == "person-led")
        .unwrap_or_else(|| panic!("rule"));
    let detection = vigil_events::samples::sample(EventKind::Detection);
    let mut payload = serde_json::to_value(&detection).unwrap_or_default();
    payload["class"] = "person".into();
    assert!(rule.applies(EventKind::Detection, &payload));
    payload["class"] = "object".into();
    assert!(!rule.applies(EventKind::Detection, &payload));
    assert!(!rule.applies(EventKind::GpioEdge, &payload));
    assert_eq!(rule.hold, Some(Duration::from_secs(5)));
}
