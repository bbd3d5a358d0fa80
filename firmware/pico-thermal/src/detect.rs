//! Person detection: the confidence threshold, N-frame hysteresis, and the frame output gate.
//!
//! Pure state machines, no I/O: [`Detector::update`] takes one classification and says
//! whether a person is present; [`FrameGate::should_send`] says whether a frame goes out.

/// Classes of the thermal model: the one class enum of the wire crate, whose
/// [`ThermalClass::from_index`] maps the model's output order (0 Person, 1 Object,
/// 2 Background) to the class the board sends.
pub use vigil_wire::ThermalClass;

/// When frames are sent to the Pi.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FrameOutput {
    /// Every frame.
    FullRate,
    /// Only when some pixel moved by at least `min_delta_centi` since the last frame sent,
    /// or when the person state changed.
    OnChange {
        /// Smallest change (centi-°C) that counts.
        min_delta_centi: u16,
    },
}

/// Detection settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DetectorConfig {
    /// A frame votes "person" when the model says Person with at least this confidence (‰).
    pub threshold_permille: u16,
    /// Consecutive person votes needed to raise "present" (1 = no hysteresis).
    pub raise_frames: u8,
    /// Consecutive non-person votes needed to clear "present" (1 = no hysteresis).
    pub clear_frames: u8,
    /// Frame output mode.
    pub output: FrameOutput,
}

impl Default for DetectorConfig {
    /// Threshold 0.90, three frames to raise and to clear, frames only on change (0.5 °C).
    fn default() -> Self {
        DetectorConfig {
            threshold_permille: 900,
            raise_frames: 3,
            clear_frames: 3,
            output: FrameOutput::OnChange {
                min_delta_centi: 50,
            },
        }
    }
}

/// The person state after one frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DetectorUpdate {
    /// This frame alone votes for a person.
    pub vote: bool,
    /// The (hysteresis-filtered) person state after this frame.
    pub person_present: bool,
    /// The state flipped on this frame.
    pub changed: bool,
}

/// Threshold plus N-frame hysteresis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Detector {
    config: DetectorConfig,
    present: bool,
    streak: u8,
}

impl Detector {
    /// A detector with nobody present. Zero frame counts are treated as 1.
    pub fn new(config: DetectorConfig) -> Self {
        Detector {
            config,
            present: false,
            streak: 0,
        }
    }

    /// The settings.
    pub fn config(&self) -> &DetectorConfig {
        &self.config
    }

    /// Whether a person is present now.
    pub fn present(&self) -> bool {
        self.present
    }

    /// Feeds one classification.
    pub fn update(&mut self, class: ThermalClass, confidence_permille: u16) -> DetectorUpdate {
        let vote =
            class == ThermalClass::Person && confidence_permille >= self.config.threshold_permille;
        let needed = if self.present {
            self.config.clear_frames
        } else {
            self.config.raise_frames
        }
        .max(1);
        // The streak counts consecutive frames that disagree with the current state.
        if vote != self.present {
            self.streak = self.streak.saturating_add(1);
        } else {
            self.streak = 0;
        }
        let changed = self.streak >= needed;
        if changed {
            self.present = !self.present;
            self.streak = 0;
        }
        DetectorUpdate {
            vote,
            person_present: self.present,
            changed,
        }
    }
}

/// Decides which frames are sent, per [`FrameOutput`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameGate<const N: usize> {
    mode: FrameOutput,
    last: [i16; N],
    primed: bool,
}

impl<const N: usize> FrameGate<N> {
    /// A gate that sends the first frame whatever the mode.
    pub fn new(mode: FrameOutput) -> Self {
        FrameGate {
            mode,
            last: [0; N],
            primed: false,
        }
    }

    /// Whether `frame` goes out; remembers it when it does.
    pub fn should_send(&mut self, frame: &[i16; N], state_changed: bool) -> bool {
        let send = match self.mode {
            FrameOutput::FullRate => true,
            FrameOutput::OnChange { min_delta_centi } => {
                !self.primed
                    || state_changed
                    || frame.iter().zip(&self.last).any(|(&a, &b)| {
                        (i32::from(a) - i32::from(b)).unsigned_abs() >= u32::from(min_delta_centi)
                    })
            }
        };
        if send {
            self.last = *frame;
            self.primed = true;
        }
        send
    }
}
