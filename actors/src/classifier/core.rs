//! The classifier's pure core: every thermal frame of the Pico is classified on the Pi too,
//! and when both classifications of a frame are in the log the core records how they compare.
//!
//! - `ThermalFrame` (source `pico`) → command [`ClassifierCommand::Classify`]; the performer
//!   appends the Pi's `Detection` (engine `host-int8`, with its latency).
//! - `Detection` from the Pico and from the Pi are paired by frame number (the pairs are
//!   forgotten when the Pico's boot changes, since its frame counter restarts).
//! - The Pi's person rule runs here as in the Pico: a frame votes "person" at confidence ≥
//!   `[classifier] threshold`, and `hysteresis_frames` votes in a row raise or clear the
//!   person state (the same [`vigil_pico_thermal::Detector`]).
//! - Decision: `DetectionCompared { frame, pico, host, agree, pico_present, host_present }`
//!   when both detections of a frame are in (with `compare_with_pico`).

use std::collections::BTreeMap;

use vigil_config::Config;
use vigil_events::kinds::{DetectionCompared, ThermalClass};
use vigil_events::{Envelope, Event, EventKind, Source, UtcMicros};
use vigil_pico_thermal::{Detector, DetectorConfig, FrameOutput};

use crate::configured::Configured;
use crate::core::{Core, Intent};

/// Pairs waiting for their other half, at most.
const PENDING: usize = 128;

/// The person rule: threshold and hysteresis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClassifierRule {
    /// Person confidence needed, ‰.
    pub threshold_permille: u16,
    /// Frames in a row to raise or clear the person state.
    pub hysteresis_frames: u8,
}

impl ClassifierRule {
    /// The rule of a `[classifier]` section.
    pub fn from_config(cfg: &Config) -> Self {
        ClassifierRule {
            threshold_permille: cfg.classifier.threshold_permille(),
            hysteresis_frames: u8::try_from(cfg.classifier.hysteresis_frames).unwrap_or(u8::MAX),
        }
    }

    /// A detector applying this rule.
    pub fn detector(&self) -> Detector {
        Detector::new(DetectorConfig {
            threshold_permille: self.threshold_permille,
            raise_frames: self.hysteresis_frames.max(1),
            clear_frames: self.hysteresis_frames.max(1),
            output: FrameOutput::FullRate,
        })
    }
}

/// What the classifier asks its performer.
#[derive(Debug, Clone, PartialEq)]
pub enum ClassifierCommand {
    /// Classify this frame (centi-°C, 24 × 32 row-major) and append the Pi's `Detection`.
    Classify {
        /// The Pico's frame counter.
        frame: u32,
        /// The readings.
        centi: Vec<i16>,
        /// The person rule for `person_present`.
        rule: ClassifierRule,
    },
}

/// One side of a comparison: class and person state.
type Side = (ThermalClass, bool);

#[derive(Debug, Clone, Copy, Default)]
struct Pair {
    pico: Option<Side>,
    host: Option<Side>,
}

/// The classifier core. See the module docs.
#[derive(Debug)]
pub struct ClassifierCore {
    rule: ClassifierRule,
    compare: bool,
    host: Detector,
    pico_boot: Option<u32>,
    pending: BTreeMap<u32, Pair>,
}

/// Kinds the inner core consumes.
pub const SUBSCRIPTIONS: &[EventKind] = &[EventKind::ThermalFrame, EventKind::Detection];
/// Kinds the configured core consumes (the inner ones plus the config markers).
pub const CONFIGURED_SUBSCRIPTIONS: &[EventKind] = &[
    EventKind::SupervisorStarted,
    EventKind::ConfigLoaded,
    EventKind::ConfigChanged,
    EventKind::ThermalFrame,
    EventKind::Detection,
];
/// The decisions (the Pi's `Detection` is an observation of the performer: it carries a
/// measured latency).
pub const DECISIONS: &[EventKind] = &[EventKind::DetectionCompared];

fn pico_class(c: ThermalClass) -> vigil_pico_thermal::ThermalClass {
    match c {
        ThermalClass::Person => vigil_pico_thermal::ThermalClass::Person,
        ThermalClass::Object => vigil_pico_thermal::ThermalClass::Object,
        ThermalClass::Background => vigil_pico_thermal::ThermalClass::Background,
    }
}

impl ClassifierCore {
    /// A core with `rule`, recording comparisons when `compare`.
    pub fn new(rule: ClassifierRule, compare: bool) -> Self {
        ClassifierCore {
            rule,
            compare,
            host: rule.detector(),
            pico_boot: None,
            pending: BTreeMap::new(),
        }
    }

    /// The core as the recorded config builds it.
    pub fn from_config(cfg: &Config) -> Self {
        Self::new(
            ClassifierRule::from_config(cfg),
            cfg.classifier.compare_with_pico,
        )
    }

    /// The Pi's person state now.
    pub fn host_present(&self) -> bool {
        self.host.present()
    }

    /// The rule in force.
    pub fn rule(&self) -> ClassifierRule {
        self.rule
    }

    fn side(&mut self, frame: u32, pico: bool, side: Side) -> Vec<Intent<ClassifierCommand>> {
        if !self.compare {
            return Vec::new();
        }
        let pair = self.pending.entry(frame).or_default();
        if pico {
            pair.pico = Some(side);
        } else {
            pair.host = Some(side);
        }
        let done = match (pair.pico, pair.host) {
            (Some(p), Some(h)) => Some((p, h)),
            _ => None,
        };
        if let Some(((pc, pp), (hc, hp))) = done {
            self.pending.remove(&frame);
            return vec![Intent::Emit(
                DetectionCompared {
                    frame,
                    pico: pc,
                    host: hc,
                    agree: pc == hc,
                    pico_present: pp,
                    host_present: hp,
                }
                .into(),
            )];
        }
        while self.pending.len() > PENDING {
            self.pending.pop_first();
        }
        Vec::new()
    }
}

impl Core for ClassifierCore {
    type Command = ClassifierCommand;

    fn source(&self) -> Source {
        Source::Classifier
    }

    fn subscriptions(&self) -> &'static [EventKind] {
        SUBSCRIPTIONS
    }

    fn decisions(&self) -> &'static [EventKind] {
        DECISIONS
    }

    fn on_event(&mut self, env: &Envelope) -> Vec<Intent<ClassifierCommand>> {
        match (&env.payload, env.source) {
            (Event::ThermalFrame(f), Source::Pico) => {
                let boot = env.origin.map(|o| o.boot);
                if boot != self.pico_boot {
                    // The Pico restarted: its frame counter starts again.
                    self.pico_boot = boot;
                    self.pending.clear();
                    self.host = self.rule.detector();
                }
                vec![Intent::Do(ClassifierCommand::Classify {
                    frame: f.frame,
                    centi: f.centi_c.clone(),
                    rule: self.rule,
                })]
            }
            (Event::Detection(d), Source::Pico) => {
                self.side(d.frame, true, (d.class, d.person_present))
            }
            (Event::Detection(d), Source::Classifier) => {
                let present = self
                    .host
                    .update(pico_class(d.class), d.confidence_permille)
                    .person_present;
                self.side(d.frame, false, (d.class, present))
            }
            _ => Vec::new(),
        }
    }

    fn next_deadline(&self) -> Option<UtcMicros> {
        None
    }

    fn on_tick(&mut self, _now: UtcMicros) -> Vec<Intent<ClassifierCommand>> {
        Vec::new()
    }
}

fn build(cfg: &Config) -> Option<ClassifierCore> {
    Some(ClassifierCore::from_config(cfg))
}

/// The classifier core as the supervisor runs it: built from the config recorded in the log.
pub fn configured() -> Configured<ClassifierCore> {
    Configured::new(
        Source::Classifier,
        CONFIGURED_SUBSCRIPTIONS,
        DECISIONS,
        build,
    )
}
