//! The set of actors a station runs, built from its config. The supervisor wraps each core
//! in a shell ([`spawn_actors`]); replay builds the same cores fresh at every recorded
//! supervisor start ([`replay_cores`]). Both lists live here, side by side, so they cannot
//! drift apart.

use std::path::Path;

use actix::prelude::*;
use vigil_config::gpio as cfg_gpio;
use vigil_config::{Config, GpioConfig};
use vigil_events::EventKind;

use crate::camera::{CameraCore, CameraPerformer, CameraSettings};
use crate::classifier::{check_model, spawn_thermal, thermal_replay_cores};
use crate::clock::ClockCore;
use crate::configured::Configured;
use crate::gpio::{GpioCore, GpioPerformer, GpioPlan, PinBackend, SimPins};
use crate::journal::Journal;
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

fn camera_core(cfg: &Config) -> Option<CameraCore> {
    CameraCore::new(&CameraSettings::from_config(&cfg.camera)).ok()
}

fn gpio_core(cfg: &Config) -> Option<GpioCore> {
    GpioPlan::from_config(&cfg.gpio)
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

/// Start the clock actor (no hardware: it records the station's time sources). Call it
/// inside a running actix system.
pub fn spawn_clock(journal: &Addr<Journal>, clock: StationClock) -> Addr<Shell<ClockCore>> {
    Shell::new(
        ClockCore::new(),
        NoHardware::default(),
        journal.clone(),
        clock,
    )
    .spawn()
}

/// Start every actor of the station. Hardware is checked here, before anything is recorded:
/// a camera or pin that cannot be set up is an error the operator fixes.
pub fn spawn_actors(
    cfg: &Config,
    data_dir: &Path,
    journal: &Addr<Journal>,
    clock: StationClock,
) -> Result<Vec<Recipient<Stop>>, StationError> {
    let model = classifier_model(cfg)?;
    let camera = CameraSettings::from_config(&cfg.camera);
    CameraCore::new(&camera).map_err(|e| StationError::Camera(e.to_string()))?;
    let source = camera
        .source()
        .map_err(|e| StationError::Camera(e.to_string()))?;
    let camera_performer = CameraPerformer::new(source, camera.performer(data_dir))
        .map_err(|e| StationError::Camera(e.to_string()))?;

    let plan = GpioPlan::from_config(&cfg.gpio).map_err(|e| StationError::Gpio(e.to_string()))?;
    let gpio_performer = GpioPerformer::new(pin_backend(&cfg.gpio)?, &plan)
        .map_err(|e| StationError::Gpio(e.to_string()))?;

    let clock_actor = spawn_clock(journal, clock);
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
    // Each board link primes its duplicate filter from the log through the journal, which
    // keeps board events exactly-once across restarts of the Pi.
    stoppers.extend(
        spawn_thermal(cfg, &model, journal, clock)
            .map_err(|e| StationError::Classifier(e.to_string()))?,
    );
    stoppers.extend(
        crate::power::spawn_power(cfg, journal, clock)
            .map_err(|e| StationError::Power(e.to_string()))?,
    );
    Ok(stoppers)
}
