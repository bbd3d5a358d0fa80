//! The set of actors a station runs, built from its config. The supervisor wraps each core
//! in a shell ([`spawn_actors`]); replay builds the same cores fresh at every recorded
//! supervisor start ([`replay_cores`]). Both lists live here, side by side, so they cannot
//! drift apart.

use std::path::Path;

use actix::prelude::*;
use vigil_config::gpio as cfg_gpio;
use vigil_config::{CameraConfig, Config, GpioConfig};
use vigil_events::{EventKind, Source};
use vigil_store::Store;

use crate::camera::{
    CameraBackend, CameraCore, CameraPerformer, CameraSettings, TimelapseSettings,
};
use crate::classifier::{check_model, spawn_thermal_primed, thermal_replay_cores};
use crate::clock::ClockCore;
use crate::configured::Configured;
use crate::gpio::{
    EdgeMode, GpioCore, GpioPerformer, GpioPlan, GpioSettings, PinBackend, PinRole, PinSpec, Pull,
    RuleAction, RuleSpec, SimPins,
};
use crate::journal::Journal;
use crate::link::recent_origins;
use crate::replay::ReplayCore;
use crate::shell::{NoHardware, Shell, Stop};
use crate::station_clock::StationClock;

/// Why the station's actors could not be started. Each is a config or hardware problem the
/// operator fixes before starting again.
#[derive(Debug, thiserror::Error)]
pub enum StationError {
    /// The `[camera]` section cannot be used.
    #[error("camera: {0}")]
    Camera(String),
    /// The `[gpio]` section cannot be used.
    #[error("gpio: {0}")]
    Gpio(String),
    /// The `[classifier]` / `[pico]` sections cannot be used.
    #[error("classifier: {0}")]
    Classifier(String),
    /// The `[power]` section cannot be used (serial port, simulator).
    #[error("power: {0}")]
    Power(String),
    /// The log could not be read to prime a board link.
    #[error("reading the log: {0}")]
    Log(String),
}

const CAMERA_SUBSCRIPTIONS: &[EventKind] = &[
    EventKind::SupervisorStarted,
    EventKind::ConfigLoaded,
    EventKind::ConfigChanged,
    EventKind::WindowOpened,
    EventKind::WindowClosed,
    EventKind::FrameCaptured,
    EventKind::CameraFault,
];
const CAMERA_DECISIONS: &[EventKind] = &[];
const GPIO_DECISIONS: &[EventKind] = &[EventKind::OutputChanged, EventKind::PwmChanged];

/// `[camera]` as the camera actor takes it.
pub fn camera_settings(c: &CameraConfig) -> CameraSettings {
    let backend = match c.backend {
        vigil_config::CameraBackend::Synthetic => CameraBackend::Synthetic,
        vigil_config::CameraBackend::V4l2 => CameraBackend::V4l2 {
            device: c.device.clone(),
            discard: 4,
        },
    };
    CameraSettings {
        backend,
        interval: c.interval,
        width: c.resolution.width,
        height: c.resolution.height,
        jpeg_quality: u8::try_from(c.jpeg_quality).unwrap_or(85),
        min_free_bytes: u64::from(c.min_free_mb) * 1024 * 1024,
        timelapse: TimelapseSettings {
            ffmpeg: c.ffmpeg.clone(),
            fps: c.fps,
            ..TimelapseSettings::default()
        },
        build_timelapse: c.timelapse,
        ..CameraSettings::default()
    }
}

fn match_text(v: &cfg_gpio::MatchValue) -> String {
    match v {
        cfg_gpio::MatchValue::Bool(b) => b.to_string(),
        cfg_gpio::MatchValue::Int(i) => i.to_string(),
        cfg_gpio::MatchValue::Str(s) => s.clone(),
    }
}

/// `[gpio]` as the GPIO actor takes it.
pub fn gpio_settings(g: &GpioConfig) -> GpioSettings {
    let bcm = |p: &cfg_gpio::PinRef| format!("bcm:{}", p.bcm);
    let mut pins = Vec::new();
    for i in &g.inputs {
        pins.push(PinSpec {
            name: i.name.clone(),
            pin: bcm(&i.pin),
            role: PinRole::Input {
                pull: match i.pull {
                    cfg_gpio::Pull::Up => Pull::Up,
                    cfg_gpio::Pull::Down => Pull::Down,
                    cfg_gpio::Pull::None => Pull::None,
                },
                edge: match i.edge {
                    cfg_gpio::EdgeMode::Rising => EdgeMode::Rising,
                    cfg_gpio::EdgeMode::Falling => EdgeMode::Falling,
                    cfg_gpio::EdgeMode::Both => EdgeMode::Both,
                },
                debounce: i.debounce,
            },
        });
    }
    for o in &g.outputs {
        pins.push(PinSpec {
            name: o.name.clone(),
            pin: bcm(&o.pin),
            role: PinRole::Output {
                rest_high: o.initial_high,
            },
        });
    }
    for p in &g.pwms {
        pins.push(PinSpec {
            name: p.name.clone(),
            pin: bcm(&p.pin),
            role: PinRole::Pwm {
                frequency_hz: p.frequency_hz,
                duty_percent: p.duty_percent,
            },
        });
    }
    let rules = g
        .rules
        .iter()
        .map(|r| RuleSpec {
            name: r.name.clone(),
            on: r.on.name().to_string(),
            when: r
                .matches
                .iter()
                .map(|(k, v)| (k.clone(), match_text(v)))
                .collect(),
            action: match &r.action {
                cfg_gpio::RuleAction::Level { output, high } => RuleAction::Set {
                    output: output.clone(),
                    high: *high,
                },
                cfg_gpio::RuleAction::Pwm {
                    output,
                    duty_percent,
                    frequency_hz,
                } => RuleAction::Pwm {
                    output: output.clone(),
                    duty_percent: *duty_percent,
                    frequency_hz: *frequency_hz,
                },
            },
            hold: r.hold,
        })
        .collect();
    GpioSettings {
        pins,
        rules,
        ..GpioSettings::default()
    }
}

fn camera_core(cfg: &Config) -> Option<CameraCore> {
    CameraCore::new(&camera_settings(&cfg.camera)).ok()
}

fn gpio_core(cfg: &Config) -> Option<GpioCore> {
    GpioPlan::new(&gpio_settings(&cfg.gpio))
        .ok()
        .map(|plan| GpioCore::new(&plan))
}

fn configured_camera() -> Configured<CameraCore> {
    Configured::new(
        vigil_events::Source::Camera,
        CAMERA_SUBSCRIPTIONS,
        CAMERA_DECISIONS,
        camera_core,
    )
}

fn configured_gpio() -> Configured<GpioCore> {
    Configured::new(
        vigil_events::Source::Gpio,
        EventKind::ALL,
        GPIO_DECISIONS,
        gpio_core,
    )
}

/// Fresh cores as a starting supervisor has them (each learns the config from the log).
pub fn replay_cores() -> Vec<Box<dyn ReplayCore>> {
    let mut cores: Vec<Box<dyn ReplayCore>> = vec![
        Box::new(ClockCore::new()),
        Box::new(configured_camera()),
        Box::new(configured_gpio()),
    ];
    cores.extend(thermal_replay_cores());
    cores.extend(crate::power::power_replay_cores());
    cores
}

/// How many recent board events prime a link's duplicate filter at start.
const DEDUP_PRIMING: usize = 4096;

/// The int8 model the Pico (real or simulated) and, with the int8 engine, the Pi run:
/// `[classifier] model` for the int8 engine, else the shipped default. (With the f32 engine
/// `model` names the f32 file, and the Pico keeps the shipped int8 model.)
pub fn classifier_model(cfg: &Config) -> Result<Vec<u8>, StationError> {
    let bytes = match (&cfg.classifier.model, cfg.classifier.engine) {
        (Some(path), vigil_config::Engine::Int8) => std::fs::read(path).map_err(|e| {
            StationError::Classifier(format!("cannot read model {}: {e}", path.display()))
        })?,
        _ => vigil_int8::shipped::INT8.to_vec(),
    };
    check_model(&bytes).map_err(|e| StationError::Classifier(format!("model: {e}")))?;
    Ok(bytes)
}

fn pin_backend(g: &GpioConfig) -> Result<Box<dyn PinBackend>, StationError> {
    match g.backend {
        cfg_gpio::GpioBackend::Sim => {
            let pins = SimPins::new();
            let handle = pins.handle();
            for press in &g.sim_presses {
                let Some(input) = g.inputs.iter().find(|i| i.name == press.input) else {
                    continue; // config validation names only declared inputs
                };
                // A press drives the pin away from its rest level (pull-down rests low).
                let rest_high = input.pull != cfg_gpio::Pull::Down;
                let end = press
                    .at_us
                    .saturating_add(i64::try_from(press.hold.as_micros()).unwrap_or(i64::MAX));
                let chatter = std::time::Duration::from_micros(500);
                for (edge_at, level) in [(press.at_us, !rest_high), (end, rest_high)] {
                    for b in 0..press.bounces {
                        let t = edge_at + i64::from(b) * 1_000;
                        handle.set_level_at(input.pin.bcm, t, level);
                        handle.set_level_at(
                            input.pin.bcm,
                            t + i64::try_from(chatter.as_micros()).unwrap_or(0),
                            !level,
                        );
                    }
                    handle.set_level_at(
                        input.pin.bcm,
                        edge_at + i64::from(press.bounces) * 1_000,
                        level,
                    );
                }
            }
            Ok(Box::new(pins))
        }
        #[cfg(feature = "rpi")]
        cfg_gpio::GpioBackend::Rppal => crate::gpio::rppal::RppalPins::new()
            .map(|p| Box::new(p) as Box<dyn PinBackend>)
            .map_err(|e| StationError::Gpio(e.to_string())),
        #[cfg(not(feature = "rpi"))]
        cfg_gpio::GpioBackend::Rppal => Err(StationError::Gpio(
            "backend \"rppal\" needs a build with the cargo feature `rpi` \
             (cargo build --release -p vigil --features rpi)"
                .into(),
        )),
    }
}

/// Start every actor of the station. Hardware is checked here, before anything is recorded:
/// a camera or pin that cannot be set up is an error the operator fixes.
pub fn spawn_actors(
    cfg: &Config,
    data_dir: &Path,
    store: &Store,
    journal: &Addr<Journal>,
    clock: StationClock,
) -> Result<Vec<Recipient<Stop>>, StationError> {
    let model = classifier_model(cfg)?;
    let pico_seen = recent_origins(store, Source::Pico, DEDUP_PRIMING)
        .map_err(|e| StationError::Log(e.to_string()))?;
    let camera = camera_settings(&cfg.camera);
    CameraCore::new(&camera).map_err(|e| StationError::Camera(e.to_string()))?;
    let source = camera
        .source()
        .map_err(|e| StationError::Camera(e.to_string()))?;
    let camera_performer = CameraPerformer::new(source, camera.performer(data_dir))
        .map_err(|e| StationError::Camera(e.to_string()))?;

    let plan =
        GpioPlan::new(&gpio_settings(&cfg.gpio)).map_err(|e| StationError::Gpio(e.to_string()))?;
    let gpio_performer = GpioPerformer::new(pin_backend(&cfg.gpio)?, &plan)
        .map_err(|e| StationError::Gpio(e.to_string()))?;

    let clock_actor = Shell::new(
        ClockCore::new(),
        NoHardware::default(),
        journal.clone(),
        clock,
    )
    .spawn();
    let camera_actor = Shell::new(
        configured_camera(),
        camera_performer,
        journal.clone(),
        clock,
    )
    .spawn();
    let gpio_actor = Shell::new(configured_gpio(), gpio_performer, journal.clone(), clock).spawn();
    let mut stoppers = vec![
        clock_actor.recipient(),
        camera_actor.recipient(),
        gpio_actor.recipient(),
    ];
    stoppers.extend(
        spawn_thermal_primed(cfg, &model, journal, clock, pico_seen)
            .map_err(|e| StationError::Classifier(e.to_string()))?,
    );
    // Priming the duplicate filter from the log keeps board events exactly-once across
    // restarts of the Pi.
    let esp32_seen = recent_origins(store, Source::Esp32, DEDUP_PRIMING)
        .map_err(|e| StationError::Log(e.to_string()))?;
    stoppers.extend(
        crate::power::spawn_power_primed(cfg, journal, clock, esp32_seen)
            .map_err(|e| StationError::Power(e.to_string()))?,
    );
    Ok(stoppers)
}
