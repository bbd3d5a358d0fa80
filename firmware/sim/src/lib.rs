#![doc = include_str!("../README.md")]

pub mod clock;
pub mod esp32;
pub mod led;
pub mod model;
pub mod pico;
pub mod pty;
pub mod scenes;

pub use clock::{ScaledClock, SimClock, WallClock};
pub use led::{LedProbe, SimLed};
pub use pico::{PicoProtocol, PicoSim, PicoSimConfig, PicoSimHandle, PicoSimStats, SimError};
pub use pty::PtyPair;
pub use scenes::{SceneCycle, SceneKind};
