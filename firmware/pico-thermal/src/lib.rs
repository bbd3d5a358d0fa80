//! The Pico thermal core: MLX90640 driver over embedded-hal, person detection with hysteresis, LED and wire events.
//!
//! - [`mlx90640`]: the sensor driver (owns its I2C bus), EEPROM calibration and the
//!   datasheet's temperature calculation for both subpages.
//! - [`detect`]: the person rule (confidence threshold, default 900 ‰, and N-frame
//!   hysteresis) and the frame output gate (full rate or on change), as pure state machines.
//! - [`station`]: one frame in, classification with the shared int8 engine (`vigil-int8`), LED
//!   through an `OutputPin`, and typed outcomes the board maps to wire messages.
//!
//! Everything here is `no_std` and runs on the host in tests; the RP2040 entry point only
//! wires the I2C peripheral, the LED pin and the serial port to [`station::Station`].
#![no_std]

pub mod detect;
pub mod mlx90640;
pub mod station;

pub use crate::station::{
    CoreError, DetectionOut, FrameOutcome, PicoCore, Station, StationError, StepOutput,
};
pub use detect::{Detector, DetectorConfig, DetectorUpdate, FrameGate, FrameOutput, ThermalClass};
pub use mlx90640::{Calibration, CalibrationError, FrameAssembler, Mlx90640, RawSubpage};
