//! The classifier's performer: the int8 engine on the performer thread, latency measured
//! around the inference alone, and the Pi's person state by the same rule as the core.

use std::time::Instant;

use vigil_events::kinds::Detection;
use vigil_events::{NewEvent, Source, UtcMicros};
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

fn pico_to_wire(c: vigil_pico_thermal::ThermalClass) -> vigil_wire::ThermalClass {
    match c {
        vigil_pico_thermal::ThermalClass::Person => vigil_wire::ThermalClass::Person,
        vigil_pico_thermal::ThermalClass::Object => vigil_wire::ThermalClass::Object,
        vigil_pico_thermal::ThermalClass::Background => vigil_wire::ThermalClass::Background,
    }
}

/// Runs the int8 engine for the classifier core.
#[derive(Debug)]
pub struct Int8Performer {
    bytes: Vec<u8>,
    arena: Vec<i8>,
    detector: Option<(ClassifierRule, Detector)>,
    failures: u64,
}

impl Int8Performer {
    /// A performer for the model in `bytes` (checked now).
    pub fn new(bytes: &[u8]) -> Result<Self, ClassifierError> {
        check_model(bytes)?;
        let arena = vec![0i8; Model::parse(bytes)?.arena_len()];
        Ok(Int8Performer {
            bytes: bytes.to_vec(),
            arena,
            detector: None,
            failures: 0,
        })
    }

    /// Frames that could not be classified (wrong length).
    pub fn failures(&self) -> u64 {
        self.failures
    }

    /// Classify one frame: the Pi's `Detection` at `now`.
    pub fn classify(
        &mut self,
        frame: u32,
        centi: &[i16],
        rule: ClassifierRule,
        now: UtcMicros,
    ) -> Option<NewEvent> {
        let Ok(model) = Model::parse(&self.bytes) else {
            return None;
        };
        let t0 = Instant::now();
        let r = match model.infer(centi, &mut self.arena) {
            Ok(r) => r,
            Err(e) => {
                self.failures += 1;
                tracing::warn!(frame, error = %e, "thermal frame not classified");
                return None;
            }
        };
        let latency_us = u32::try_from(t0.elapsed().as_micros()).unwrap_or(u32::MAX);
        let class = vigil_pico_thermal::ThermalClass::from_index(r.class)
            .unwrap_or(vigil_pico_thermal::ThermalClass::Background);
        let detector = match &mut self.detector {
            Some((r, d)) if *r == rule => d,
            slot => &mut slot.insert((rule, rule.detector())).1,
        };
        let present = detector.update(class, r.confidence_permille).person_present;
        Some(NewEvent::new(
            now,
            Source::Classifier,
            Detection {
                frame,
                class: event_class(pico_to_wire(class)),
                confidence_permille: r.confidence_permille.min(1000),
                engine: HOST_ENGINE.to_string(),
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
