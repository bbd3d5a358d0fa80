#![doc = include_str!("../README.md")]
#![no_std]

pub mod clock;
pub mod controller;
pub mod flash;
pub mod ring;
pub mod schedule;
pub mod shell;
pub mod sntp;
pub mod store;

pub use controller::{event_message, Config, Controller, Input, Output, Phase, Status};
pub use flash::{FlashError, NorFlashStorage};
pub use shell::{Shell, ShellError};
pub use store::{MemStorage, Slot, Storage};
