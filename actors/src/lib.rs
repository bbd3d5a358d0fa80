#![doc = include_str!("../README.md")]

pub mod camera;
pub mod classifier;
pub mod clock;
pub mod configured;
pub mod core;
pub mod gpio;
pub mod journal;
pub mod link;
pub mod power;
pub mod replay;
pub mod retention;
pub mod shell;
pub mod station;
pub mod station_clock;
pub mod supervisor;
#[cfg(feature = "test-support")]
pub mod testing;

pub use crate::core::{split, Core, Intent, Performer};
