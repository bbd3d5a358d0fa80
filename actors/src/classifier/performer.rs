//! The classifier's performer: the int8 engine on the performer thread, latency measured
//! around the inference alone, and the Pi's person state by the same rule as the core.

use std::time::Instant;

use vigil_events::kinds::Detection;
use vigil_events::{NewEvent, Source, UtcMicros};
use vigil_int8::reference::F32Model;
use vigil_int8::{Model, ModelError};
use vigil_pico_thermal::Detector;

use super::core::{ClassifierCommand, ClassifierRule};
use crate::core::Performer;
use crate::link::board::event_class;

/// The engine name of the Pi's int8 detections.
pub const HOST_ENGINE: &str = "host-int8";

/// Why a model cannot be used by the classifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClassifierError {
    /// Not a readable int8 model (truncated, another version, corrupt): point `[classifier]
    /// model` at a file written by `vigil quantize`, or leave it out for the shipped model.
    #[error("classifier model: {0}")]
    Model(ModelError),
    /// The model does not take 24 × 32 frames into 3 classes.
    #[error(
        "classifier model takes {h}×{w} frames into {classes} classes; 24×32 into 3 is needed"
    )]
    Shape {
        /// Input rows.
        h: usize,
        /// Input columns.
        w: usize,
        /// Classes.
        classes: usize,
    },
}

impl From<ModelError> for ClassifierError {
    fn from(e: ModelError) -> Self {
        ClassifierError::Model(e)
    }
}

/// Checks that `bytes` are a model the classifier (and the Pico) can run.
pub fn check_model(bytes: &[u8]) -> Result<(), ClassifierError> {
    let m = Model::parse(bytes)?;
    let s = m.input_shape();
    if s.h != 24 || s.w != 32 || m.n_classes() != 3 {
        return Err(ClassifierError::Shape {
            h: s.h,
            w: s.w,
            classes: m.n_classes(),
        });
    }
    Ok(())
}

/// The engine name of the Pi's f32 detections.
pub const HOST_F32_ENGINE: &str = "host-f32";

/// What the Pi classifies with.
enum HostEngine {
    /// The integer engine (bit-identical to the Pico).
    Int8 { bytes: Vec<u8>, arena: Vec<i8> },
    /// The f32 reference the int8 model was quantized from (the weights burn trained,
    /// evaluated in plain Rust: the station binary does not link burn).
    F32(Box<F32Model>),
}

/// Runs the classifier's engine (int8 by default, f32 when configured).
pub struct Int8Performer {
    engine: HostEngine,
    detector: Option<(ClassifierRule, Detector)>,
    failures: u64,
}

impl std::fmt::Debug for Int8Performer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Int8Performer")
            .field("engine", &self.engine_name())
            .field("failures", &self.failures)
            .finish_non_exhaustive()
    }
}

impl Int8Performer {
    /// A performer for the int8 model in `bytes` (checked now).
    pub fn new(bytes: &[u8]) -> Result<Self, ClassifierError> {
        check_model(bytes)?;
        let arena = vec![0i8; Model::parse(bytes)?.arena_len()];
        Ok(Int8Performer {
            engine: HostEngine::Int8 {
                bytes: bytes.to_vec(),
                arena,
            },
            detector: None,
            failures: 0,
        })
    }

    /// A performer running the f32 reference `model`.
    pub fn f32(model: F32Model) -> Self {
        Int8Performer {
            engine: HostEngine::F32(Box::new(model)),
            detector: None,
            failures: 0,
        }
    }

    /// `host-int8` or `host-f32`.
    pub fn engine_name(&self) -> &'static str {
        match self.engine {
            HostEngine::Int8 { .. } => HOST_ENGINE,
            HostEngine::F32(_) => HOST_F32_ENGINE,
        }
    }

    /// Frames that could not be classified (wrong length).
    pub fn failures(&self) -> u64 {
        self.failures
    }

    /// (class index, confidence per mille) of one frame.
    fn infer(&mut self, frame: u32, centi: &[i16]) -> Option<(usize, u16)> {
        let result = match &mut self.engine {
            HostEngine::Int8 { bytes, arena } => {
                let model = Model::parse(bytes).ok()?;
                model
                    .infer(centi, arena)
                    .map(|r| (r.class, r.confidence_permille))
                    .map_err(|e| e.to_string())
            }
            HostEngine::F32(model) => {
                let celsius: Vec<f32> = centi.iter().map(|c| f32::from(*c) / 100.0).collect();
                vigil_int8::reference::classify(model, &celsius).map_err(|e| e.to_string())
            }
        };
        match result {
            Ok(r) => Some(r),
            Err(e) => {
                self.failures += 1;
                tracing::warn!(frame, error = %e, "thermal frame not classified");
                None
            }
        }
    }

    /// Classify one frame: the Pi's `Detection` at `now`.
    pub fn classify(
        &mut self,
        frame: u32,
        centi: &[i16],
        rule: ClassifierRule,
        now: UtcMicros,
    ) -> Option<NewEvent> {
        let t0 = Instant::now();
        let (index, confidence) = self.infer(frame, centi)?;
        let latency_us = u32::try_from(t0.elapsed().as_micros()).unwrap_or(u32::MAX);
        let class = vigil_wire::ThermalClass::from_index(index)
            .unwrap_or(vigil_wire::ThermalClass::Background);
        let detector = match &mut self.detector {
            Some((r, d)) if *r == rule => d,
            slot => &mut slot.insert((rule, rule.detector())).1,
        };
        let present = detector.update(class, confidence).person_present;
        Some(NewEvent::new(
            now,
            Source::Classifier,
            Detection {
                frame,
                class: event_class(class),
                confidence_permille: confidence.min(1000),
                engine: self.engine_name().to_string(),
                latency_us,
                person_present: present,
            },
        ))
    }
}

impl Performer for Int8Performer {
    type Command = ClassifierCommand;

    fn perform(&mut self, cmd: ClassifierCommand, now: UtcMicros) -> Vec<NewEvent> {
        match cmd {
            ClassifierCommand::Classify { frame, centi, rule } => self
                .classify(frame, &centi, rule, now)
                .into_iter()
                .collect(),
        }
    }
}
