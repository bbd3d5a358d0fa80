//! The Pico's per-frame core: classify with the shared int8 engine, apply the person rule,
//! drive the LED, and decide which frames go to the Pi. The results are typed values that
//! the board's shell maps to wire messages (ThermalFrame, Detection).

use embedded_hal::digital::OutputPin;
use embedded_hal::i2c::I2c;
use vigil_int8::{Model, RunError};

use crate::detect::{Detector, DetectorConfig, FrameGate, ThermalClass};
use crate::mlx90640::{
    Calibration, CalibrationError, Error as DriverError, FrameAssembler, Mlx90640, RawSubpage,
    COLUMNS, PIXELS, ROWS,
};

/// What the core decided for one frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FrameOutcome {
    /// Frame counter (starts at 1).
    pub frame: u32,
    /// Whether the frame itself should be sent (per the output mode).
    pub send_frame: bool,
    /// The classification and the person state.
    pub detection: DetectionOut,
}

/// One classification, ready to become a Detection message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DetectionOut {
    /// Frame counter.
    pub frame: u32,
    /// Winning class.
    pub class: ThermalClass,
    /// Its confidence (‰).
    pub confidence_permille: u16,
    /// The person state after this frame (threshold + hysteresis).
    pub person_present: bool,
    /// The state flipped on this frame.
    pub changed: bool,
}

/// Why the core could not process a frame.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CoreError<E: core::fmt::Debug> {
    /// The engine refused the buffers.
    #[error("inference failed: {0}")]
    Run(#[from] RunError),
    /// The model does not take a 24 × 32 frame or does not give 3 classes.
    #[error("model takes {h}×{w} frames with {classes} classes; the Pico needs 24×32 and 3")]
    ModelShape {
        /// Input rows.
        h: usize,
        /// Input columns.
        w: usize,
        /// Classes.
        classes: usize,
    },
    /// The LED pin failed.
    #[error("LED pin error: {0:?}")]
    Led(E),
}

/// Classifier, person rule, LED and frame gate.
#[derive(Debug)]
pub struct PicoCore<'m, LED> {
    model: Model<'m>,
    arena: &'m mut [i8],
    detector: Detector,
    gate: FrameGate<PIXELS>,
    led: LED,
    frame: u32,
}

impl<'m, LED: OutputPin> PicoCore<'m, LED> {
    /// Checks the model and the arena, and switches the LED off.
    pub fn new(
        model: Model<'m>,
        arena: &'m mut [i8],
        config: DetectorConfig,
        mut led: LED,
    ) -> Result<Self, CoreError<LED::Error>> {
        let s = model.input_shape();
        if s.h != ROWS || s.w != COLUMNS || model.n_classes() != 3 {
            return Err(CoreError::ModelShape {
                h: s.h,
                w: s.w,
                classes: model.n_classes(),
            });
        }
        if arena.len() < model.arena_len() {
            return Err(CoreError::Run(RunError::ArenaTooSmall {
                needed: model.arena_len(),
                found: arena.len(),
            }));
        }
        led.set_low().map_err(CoreError::Led)?;
        Ok(PicoCore {
            model,
            arena,
            detector: Detector::new(config),
            gate: FrameGate::new(config.output),
            led,
            frame: 0,
        })
    }

    /// Classifies one frame (centi-°C, row-major), updates the person state and the LED.
    pub fn on_frame(
        &mut self,
        centi: &[i16; PIXELS],
    ) -> Result<FrameOutcome, CoreError<LED::Error>> {
        let r = self.model.infer(centi, self.arena)?;
        // The constructor checked for 3 classes, so the index always maps.
        let class = ThermalClass::from_index(r.class).unwrap_or(ThermalClass::Background);
        let update = self.detector.update(class, r.confidence_permille);
        if update.changed {
            if update.person_present {
                self.led.set_high().map_err(CoreError::Led)?;
            } else {
                self.led.set_low().map_err(CoreError::Led)?;
            }
        }
        self.frame = self.frame.wrapping_add(1);
        let send_frame = self.gate.should_send(centi, update.changed);
        Ok(FrameOutcome {
            frame: self.frame,
            send_frame,
            detection: DetectionOut {
                frame: self.frame,
                class,
                confidence_permille: r.confidence_permille,
                person_present: update.person_present,
                changed: update.changed,
            },
        })
    }

    /// Whether a person is present now.
    pub fn person_present(&self) -> bool {
        self.detector.present()
    }

    /// Gives the LED pin back.
    pub fn release(self) -> LED {
        self.led
    }
}

/// Why a station step failed.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum StationError<IE: core::fmt::Debug, LE: core::fmt::Debug> {
    /// The sensor failed.
    #[error("sensor: {0}")]
    Sensor(DriverError<IE>),
    /// The core failed.
    #[error("core: {0}")]
    Core(CoreError<LE>),
}

/// A completed frame: the core's outcome and the frame itself (centi-°C).
pub type StepOutput<'a> = (FrameOutcome, &'a [i16; PIXELS]);

/// The whole Pico loop body: sensor → frame → core. On the board, keep it in a `static`
/// (the calibration alone is about 10 KB).
#[derive(Debug)]
pub struct Station<'m, I2C, LED> {
    sensor: Mlx90640<I2C>,
    calibration: Calibration,
    assembler: FrameAssembler,
    raw: RawSubpage,
    frame: [i16; PIXELS],
    core: PicoCore<'m, LED>,
}

impl<'m, I2C: I2c, LED: OutputPin> Station<'m, I2C, LED> {
    /// Reads the sensor's calibration and sets up the core.
    pub fn new(
        mut sensor: Mlx90640<I2C>,
        core: PicoCore<'m, LED>,
    ) -> Result<Self, StationError<I2C::Error, LED::Error>> {
        let calibration = sensor.calibration().map_err(StationError::Sensor)?;
        Ok(Station {
            sensor,
            calibration,
            assembler: FrameAssembler::default(),
            raw: RawSubpage::default(),
            frame: [0; PIXELS],
            core,
        })
    }

    /// Waits for the next subpage (at most `max_polls` status reads); when it completes a
    /// frame, classifies it and returns the outcome with the frame (centi-°C).
    pub fn step(
        &mut self,
        max_polls: u32,
    ) -> Result<Option<StepOutput<'_>>, StationError<I2C::Error, LED::Error>> {
        self.sensor
            .wait_subpage(&mut self.raw, max_polls)
            .map_err(StationError::Sensor)?;
        let complete = self
            .assembler
            .push(&self.calibration, &self.raw, &mut self.frame)
            .map_err(|e: CalibrationError| StationError::Sensor(DriverError::Calibration(e)))?;
        if !complete {
            return Ok(None);
        }
        let outcome = self
            .core
            .on_frame(&self.frame)
            .map_err(StationError::Core)?;
        Ok(Some((outcome, &self.frame)))
    }
}
