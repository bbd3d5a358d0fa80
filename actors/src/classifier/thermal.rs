//! Starting the thermal side of the station: the link to the Pico (or the in-process Pico
//! simulator on a pseudo-terminal when `[pico] port = "sim"`) and the classifier.

use std::sync::Arc;

use actix::prelude::*;
use vigil_config::{Config, Engine, FrameMode as ConfigFrameMode};
use vigil_sim::{PicoSim, PicoSimConfig, SimError};
use vigil_wire::{BoardRole, FrameMode, Message, PicoConfig};

use super::core::{configured, ClassifierRule};
use super::performer::{ClassifierError, Int8Performer};
use crate::journal::Journal;
use crate::link::{
    open_board, pi_boot, Link, LinkCore, LinkPort, LinkSpec, LinkTiming, StationTime,
};
use crate::replay::ReplayCore;
use crate::shell::{Shell, Stop};
use crate::station_clock::StationClock;

/// Device id of the in-process Pico simulator.
pub const SIM_PICO_DEVICE: u32 = 0x0050_1C00;

/// Why the thermal actors could not start.
#[derive(Debug, thiserror::Error)]
pub enum ThermalSpawnError {
    /// The model is unusable.
    #[error(transparent)]
    Model(#[from] ClassifierError),
    /// The in-process Pico simulator could not start (no pseudo-terminal, model refused).
    #[error("Pico simulator: {0}")]
    Sim(#[from] SimError),
    /// The f32 model (`engine = "f32"`) is unusable: point `[classifier] model` at a JSON
    /// model written by `vigil train`, or leave it out for the shipped one.
    #[error("f32 model: {0}")]
    F32Model(String),
}

/// The settings the Pi pushes to the Pico: the classifier's rule and the frame mode.
pub fn pico_settings(cfg: &Config) -> PicoConfig {
    let rule = ClassifierRule::from_config(cfg);
    PicoConfig {
        threshold_permille: rule.threshold_permille,
        hysteresis_frames: rule.hysteresis_frames.max(1),
        frame_mode: match cfg.pico.frames {
            ConfigFrameMode::Full => FrameMode::FullRate,
            ConfigFrameMode::Change => FrameMode::OnChange,
        },
    }
}

/// The Pi's engine: int8 on `model` (the default), or with `[classifier] engine = "f32"` the
/// f32 reference from `[classifier] model` (a vigil-int8 `f32model` JSON file) or the shipped one.
pub fn host_performer(cfg: &Config, model: &[u8]) -> Result<Int8Performer, ThermalSpawnError> {
    match cfg.classifier.engine {
        Engine::Int8 => Ok(Int8Performer::new(model)?),
        Engine::F32 => {
            let f32 = match &cfg.classifier.model {
                Some(path) => vigil_int8::f32model::load(path),
                None => vigil_int8::shipped::f32_model(),
            }
            .map_err(|e| ThermalSpawnError::F32Model(e.to_string()))?;
            Ok(Int8Performer::f32(f32))
        }
    }
}

/// Start the Pico link and the classifier. `model` is the int8 model file the Pi (and the
/// simulated Pico) run. The link primes its duplicate filter from the journal
/// ([`crate::link::Link`]), so nothing the board re-sends after a restart is appended twice.
/// Returns what the supervisor stops, in order (the link, which stops the simulator, then the
/// classifier).
pub fn spawn_thermal(
    cfg: &Config,
    model: &[u8],
    journal: &Addr<Journal>,
    clock: StationClock,
) -> Result<Vec<Recipient<Stop>>, ThermalSpawnError> {
    let performer = host_performer(cfg, model)?;
    let board = open_board(&cfg.pico.port, cfg.pico.baud)?;
    let sim = match board.sim_end {
        Some((master, keep)) => {
            let sim = PicoSim::new(
                PicoSimConfig {
                    device: SIM_PICO_DEVICE,
                    boot: pi_boot(&clock),
                    refresh_hz: cfg.pico.refresh_hz,
                    ..PicoSimConfig::default()
                },
                model.to_vec(),
                Arc::new(StationTime(clock)),
            )?;
            Some(sim.spawn(master, Some(keep))?)
        }
        None => None,
    };
    let classifier = Shell::new(configured(), performer, journal.clone(), clock).spawn();
    let core = LinkCore::new(LinkSpec {
        board: vigil_events::Source::Pico,
        owner: vigil_events::Source::Classifier,
        role: BoardRole::Thermal,
        port: board.name,
        pi_boot: pi_boot(&clock),
        on_link_up: vec![Message::PicoConfig(pico_settings(cfg))],
    });
    let mut link = LinkPort::new(core, Box::new(board.opener), LinkTiming::default());
    if let Some(h) = sim {
        link = link.on_stop(move || h.stop());
    }
    let link = link.spawn(journal.clone(), clock);
    Ok(vec![link.recipient(), classifier.recipient()])
}

/// Fresh thermal cores as a starting supervisor has them (for replay).
pub fn thermal_replay_cores() -> Vec<Box<dyn ReplayCore>> {
    vec![
        Box::new(configured()),
        Box::new(Link::of(
            vigil_events::Source::Pico,
            vigil_events::Source::Classifier,
            BoardRole::Thermal,
        )),
    ]
}
