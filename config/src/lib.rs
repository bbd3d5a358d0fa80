#![doc = include_str!("../README.md")]

mod api;
mod backup;
mod camera;
mod classes;
mod classifier;
mod clock;
pub mod duration;
mod error;
pub mod gpio;
mod pico;
mod power;
pub mod retention;
pub mod schedule;
mod station;
mod store;
mod supervisor;
mod values;

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use vigil_events::{ClassPolicy, DataClass, EventKind};

pub use api::ApiConfig;
pub use backup::BackupConfig;
pub use camera::{CameraBackend, CameraConfig, Resolution};
pub use classifier::{ClassifierConfig, Engine};
pub use clock::ClockConfig;
pub use error::{ConfigError, Problem, SourcePos};
pub use gpio::GpioConfig;
pub use pico::{FrameMode, PicoConfig};
pub use power::PowerConfig;
pub use retention::RetentionConfig;
pub use schedule::{OnPeriod, ResolvedWindow, Schedule};
pub use station::StationConfig;
pub use store::StoreConfig;
pub use supervisor::{SupervisorConfig, DEFAULT_STOP_TIMEOUT};
pub use values::PortSpec;

use error::Ctx;

/// The shipped simulated config (`config/default.toml`): every board and device simulated,
/// data under `./vigil-data`. `vigil start` without `--config` runs it.
pub const DEFAULT_TOML: &str = include_str!("../default.toml");

/// Origin name used in errors and events for [`DEFAULT_TOML`].
pub const DEFAULT_ORIGIN: &str = "<builtin config/default.toml>";

/// The shipped Raspberry Pi config (`config/pi.toml`): real GPIO, camera and serial boards.
pub const PI_TOML: &str = include_str!("../pi.toml");

/// A whole, validated config. Every section has defaults; a file with only `[schedule]`
/// (or an empty file) is valid.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// `[station]`.
    pub station: StationConfig,
    /// `[schedule]`.
    pub schedule: Schedule,
    /// `[store]`.
    pub store: StoreConfig,
    /// `[retention]`.
    pub retention: RetentionConfig,
    /// `[classes]`: the kinds whose class the file raises.
    pub classes: BTreeMap<EventKind, DataClass>,
    /// `[power]`.
    pub power: PowerConfig,
    /// `[camera]`.
    pub camera: CameraConfig,
    /// `[gpio]`.
    pub gpio: GpioConfig,
    /// `[classifier]`.
    pub classifier: ClassifierConfig,
    /// `[pico]`.
    pub pico: PicoConfig,
    /// `[api]`.
    pub api: ApiConfig,
    /// `[clock]`.
    pub clock: ClockConfig,
    /// `[supervisor]`.
    pub supervisor: SupervisorConfig,
    /// `[backup]`.
    pub backup: BackupConfig,
    class_policy: ClassPolicy,
}

/// The file as written: each section either a public struct or its raw form.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct RawConfig {
    station: StationConfig,
    schedule: schedule::RawSchedule,
    store: StoreConfig,
    retention: retention::RawRetention,
    classes: classes::RawClasses,
    power: power::RawPower,
    camera: CameraConfig,
    gpio: gpio::RawGpio,
    classifier: ClassifierConfig,
    pico: PicoConfig,
    api: ApiConfig,
    clock: ClockConfig,
    supervisor: supervisor::RawSupervisor,
    backup: backup::RawBackup,
}

impl Config {
    /// Read and validate the config file at `path`. Errors name `path`, line and column.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
            path: path.to_path_buf(),
            error,
        })?;
        Config::parse(&text, &path.display().to_string())
    }

    /// Parse and validate config `text`; `origin` (a path or a name) prefixes error positions.
    pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let ctx = Ctx { origin, text };
        let raw: RawConfig = toml::from_str(text).map_err(|e| ctx.parse_error(&e))?;
        let classes = raw.classes.validate(&ctx)?;
        let retention = raw.retention.validate(&ctx, &classes)?;
        raw.store.validate(&ctx, &classes)?;
        let halt_grace_span = raw.power.halt_grace_span();
        let power = raw.power.validate(&ctx)?;
        let supervisor = raw.supervisor.validate(&ctx, &power, halt_grace_span)?;
        let gpio = raw.gpio.validate(
            &ctx,
            gpio::UartUsers {
                power: &power.port,
                pico: &raw.pico.port,
            },
        )?;
        let backup = raw.backup.validate(&ctx, &raw.station.data_dir)?;
        Ok(Config {
            station: raw.station,
            schedule: raw.schedule.validate(&ctx)?,
            store: raw.store,
            retention,
            classes: classes.raised,
            power,
            camera: raw.camera,
            gpio,
            classifier: raw.classifier,
            pico: raw.pico,
            api: raw.api,
            clock: raw.clock,
            supervisor,
            backup,
            class_policy: classes.policy,
        })
    }

    /// The shipped simulated config ([`DEFAULT_TOML`]).
    pub fn builtin_default() -> Config {
        // The shipped file is checked by this crate's tests; should it ever be broken, the
        // all-defaults config (also fully simulated) is used rather than failing at start.
        Config::parse(DEFAULT_TOML, DEFAULT_ORIGIN).unwrap_or_default()
    }

    /// The class policy built from `[classes]` (raise only).
    pub fn class_policy(&self) -> ClassPolicy {
        self.class_policy.clone()
    }
}

impl Default for Config {
    /// Every section's defaults (what an empty file gives).
    fn default() -> Self {
        Config {
            station: StationConfig::default(),
            schedule: Schedule::default(),
            store: StoreConfig::default(),
            retention: RetentionConfig::default(),
            classes: BTreeMap::new(),
            power: PowerConfig::default(),
            camera: CameraConfig::default(),
            gpio: GpioConfig::default(),
            classifier: ClassifierConfig::default(),
            pico: PicoConfig::default(),
            api: ApiConfig::default(),
            clock: ClockConfig::default(),
            supervisor: SupervisorConfig::default(),
            backup: BackupConfig::default(),
            class_policy: ClassPolicy::default(),
        }
    }
}
