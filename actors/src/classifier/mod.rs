//! The thermal classifier: the Pi classifies every frame the Pico sends with the same int8
//! engine, applies the person rule, and records how its detections compare with the Pico's.
//!
//! - [`core`]: the pure core ([`ClassifierCore`], built from the recorded config by
//!   [`core::configured`]).
//! - [`performer`]: the int8 engine on the performer thread ([`Int8Performer`]).
//! - [`thermal`]: [`spawn_thermal`] (the Pico link, or the in-process simulator, and the
//!   classifier shell) and [`thermal_replay_cores`].
//!
//! The Pico simulator itself is the `vigil-sim` crate (`firmware/sim`).

pub mod core;
pub mod performer;
pub mod thermal;

pub use self::core::{ClassifierCommand, ClassifierCore, ClassifierRule};
pub use performer::{check_model, ClassifierError, Int8Performer, HOST_ENGINE};
pub use thermal::{
    pico_settings, spawn_thermal, thermal_replay_cores, ThermalSpawnError, SIM_PICO_DEVICE,
};
