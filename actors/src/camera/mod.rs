//! The camera actor: timelapse capture inside the scheduled windows, and a video per window.
//!
//! # Core ([`CameraCore`])
//!
//! The core takes no decisions of its own (it emits no events); it decides *when* to shoot and
//! asks its performer through [`CameraCommand`]s:
//!
//! - It learns the windows from `WindowOpened` / `WindowClosed`. Inside an open window it
//!   shoots on the window's grid: `start + k * interval`, strictly before `end`. A slot that
//!   was due at most [`LATE_TOLERANCE`] before the core heard of the window is still shot
//!   (the clock's `WindowOpened` lands a moment after the start); earlier slots are not caught
//!   up. With overlapping windows, a slot due in several windows is one shot.
//! - On `CameraFault { retry_in_ms }` (seen at `ts`) it holds the grid until
//!   `ts + retry_in_ms`, shoots a retry then (if inside a window), and resumes the grid at the
//!   first slot after it. A `FrameCaptured` ends the fault state.
//! - It collects the `FrameCaptured` records of each open window and, at `WindowClosed`, asks
//!   for the window's video with exactly those frames ([`CameraCommand::BuildTimelapse`]). A
//!   window the core never saw open is not built (it knows none of its frames), nor is any
//!   window when [`CameraSettings::build_timelapse`] is off.
//!
//! # Performer ([`CameraPerformer`])
//!
//! See [`performer`]: it keeps the [`source::FrameSource`] open and warm, writes frames
//! atomically ([`writer`]) and builds videos with ffmpeg ([`timelapse`]).

pub mod performer;
pub mod source;
pub mod synthetic;
pub mod timelapse;
#[cfg(feature = "camera")]
pub mod v4l2;
pub mod writer;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use vigil_events::kinds::FrameCaptured;
use vigil_events::{Envelope, Event, EventKind, Source, UtcMicros};

use crate::core::{Core, Intent};
pub use performer::{
    timelapse_event, Backoff, CameraPerformer, CameraSetupError, PerformerSettings,
};
pub use source::{Frame, FrameSource, SourceError};
pub use synthetic::SyntheticCamera;
pub use timelapse::TimelapseSettings;

/// How late (after its time) a slot may still be shot when the core learns of a window.
pub const LATE_TOLERANCE: Duration = Duration::from_secs(2);

/// Which camera backend to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CameraBackend {
    /// The deterministic synthetic scene (default; runs anywhere).
    Synthetic,
    /// A V4L2 camera through nokhwa; needs the cargo feature `camera`.
    V4l2 {
        /// `/dev/videoN`, or a symlink to one (`/dev/v4l/by-id/...`).
        device: PathBuf,
        /// Stale frames dropped before each shot (V4L2 queues frames while nobody reads);
        /// 4 is a good default.
        discard: u32,
    },
}

/// The camera actor's settings: the validated `[camera]` section
/// ([`CameraSettings::from_config`]) plus what only the actor knows (frames discarded per
/// shot, fault backoff, encoder details).
#[derive(Debug, Clone, PartialEq)]
pub struct CameraSettings {
    /// Backend.
    pub backend: CameraBackend,
    /// Time between shots inside a window (at least 100 ms).
    pub interval: Duration,
    /// Frame width in pixels.
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// JPEG quality, 1..=100.
    pub jpeg_quality: u8,
    /// Free-space floor of the data directory's file system, bytes.
    pub min_free_bytes: u64,
    /// Retry delays after faults.
    pub backoff: Backoff,
    /// Video encoding.
    pub timelapse: TimelapseSettings,
    /// Ask for a video at each closed window.
    pub build_timelapse: bool,
}

impl Default for CameraSettings {
    fn default() -> Self {
        CameraSettings {
            backend: CameraBackend::Synthetic,
            interval: Duration::from_secs(60),
            width: 1024,
            height: 768,
            jpeg_quality: 85,
            min_free_bytes: 512 * 1024 * 1024,
            backoff: Backoff::default(),
            timelapse: TimelapseSettings::default(),
            build_timelapse: true,
        }
    }
}

impl CameraSettings {
    /// The settings for the validated `[camera]` section `c` (the config checked the ranges:
    /// interval 100 ms to 1 day, JPEG quality 1–100, fps 1–120).
    pub fn from_config(c: &vigil_config::CameraConfig) -> Self {
        let backend = match c.backend {
            vigil_config::CameraBackend::Synthetic => CameraBackend::Synthetic,
            vigil_config::CameraBackend::V4l2 => CameraBackend::V4l2 {
                device: c.device.clone(),
                discard: 4,
            },
        };
        CameraSettings {
            backend,
            interval: c.interval,
            width: c.resolution.width,
            height: c.resolution.height,
            jpeg_quality: u8::try_from(c.jpeg_quality).unwrap_or(85),
            min_free_bytes: u64::from(c.min_free_mb) * 1024 * 1024,
            timelapse: TimelapseSettings {
                ffmpeg: c.ffmpeg.clone(),
                fps: c.fps,
                ..TimelapseSettings::default()
            },
            build_timelapse: c.timelapse,
            ..CameraSettings::default()
        }
    }

    /// The performer's part of the settings, for `data_dir`.
    pub fn performer(&self, data_dir: &Path) -> PerformerSettings {
        PerformerSettings {
            data_dir: data_dir.to_path_buf(),
            min_free_bytes: self.min_free_bytes,
            jpeg_quality: self.jpeg_quality,
            backoff: self.backoff,
            timelapse: self.timelapse.clone(),
        }
    }

    /// Open the configured backend (closed; the performer opens it at the first shot).
    pub fn source(&self) -> Result<Box<dyn FrameSource>, SourceError> {
        match &self.backend {
            CameraBackend::Synthetic => {
                Ok(Box::new(SyntheticCamera::new(self.width, self.height)?))
            }
            #[cfg(feature = "camera")]
            CameraBackend::V4l2 { device, discard } => Ok(Box::new(v4l2::V4l2Camera::new(
                device,
                self.width,
                self.height,
                *discard,
            )?)),
            #[cfg(not(feature = "camera"))]
            CameraBackend::V4l2 { device, .. } => Err(SourceError::Settings(format!(
                "camera backend v4l2 ({}) needs vigil built with the cargo feature `camera`",
                device.display()
            ))),
        }
    }
}

/// Settings the core refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CameraConfigError {
    /// The interval is below 100 ms (or does not fit in µs). Raise `interval` in `[camera]`.
    #[error("camera interval {0:?} is below 100 ms")]
    Interval(Duration),
}

/// What the camera core asks its performer to do.
#[derive(Debug, Clone, PartialEq)]
pub enum CameraCommand {
    /// Shoot now; `scheduled` is the slot (or retry) time the shot was due.
    Capture {
        /// When the shot was due, UTC µs.
        scheduled: UtcMicros,
    },
    /// Build the video of a closed window from the frames the log recorded in it.
    BuildTimelapse {
        /// Window name.
        window: String,
        /// Window start, UTC µs.
        start: UtcMicros,
        /// Window end, UTC µs.
        end: UtcMicros,
        /// Local date of the start (`YYYY-MM-DD`, from `WindowOpened.local_start`, else UTC).
        date: String,
        /// The window's `FrameCaptured` records, in log order.
        frames: Vec<FrameCaptured>,
    },
}

#[derive(Debug, Clone, PartialEq)]
struct OpenWindow {
    end: UtcMicros,
    next_slot: Option<UtcMicros>,
    date: String,
    frames: Vec<FrameCaptured>,
}

/// The camera's pure core. See the module docs.
#[derive(Debug, Clone, PartialEq)]
pub struct CameraCore {
    interval: i64,
    build_timelapse: bool,
    /// Open windows by (name, start).
    windows: BTreeMap<(String, UtcMicros), OpenWindow>,
    /// Retry shot asked for by the last fault.
    retry_at: Option<UtcMicros>,
    /// Grid shots before this instant are held (fault backoff).
    held_until: Option<UtcMicros>,
}

const SUBSCRIPTIONS: &[EventKind] = &[
    EventKind::WindowOpened,
    EventKind::WindowClosed,
    EventKind::FrameCaptured,
    EventKind::CameraFault,
];

fn utc_date(t: UtcMicros) -> String {
    DateTime::<Utc>::from_timestamp_micros(t)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| "unknown-date".to_string())
}

impl CameraCore {
    /// A core shooting every `settings.interval` inside windows.
    pub fn new(settings: &CameraSettings) -> Result<Self, CameraConfigError> {
        let interval = i64::try_from(settings.interval.as_micros())
            .ok()
            .filter(|&us| us >= 100_000)
            .ok_or(CameraConfigError::Interval(settings.interval))?;
        Ok(CameraCore {
            interval,
            build_timelapse: settings.build_timelapse,
            windows: BTreeMap::new(),
            retry_at: None,
            held_until: None,
        })
    }

    /// First slot of the grid of a window starting at `start` that is at or after `t`,
    /// if it is before `end`.
    fn slot_at_or_after(
        &self,
        start: UtcMicros,
        end: UtcMicros,
        t: UtcMicros,
    ) -> Option<UtcMicros> {
        let slot = if t <= start {
            start
        } else {
            let k = (t - start + self.interval - 1) / self.interval;
            start.checked_add(k.checked_mul(self.interval)?)?
        };
        (slot < end).then_some(slot)
    }

    fn in_window(&self, t: UtcMicros) -> bool {
        self.windows
            .iter()
            .any(|((_, start), w)| t >= *start && t < w.end)
    }

    /// Names and starts of the windows the core holds open.
    pub fn open_windows(&self) -> Vec<(String, UtcMicros)> {
        self.windows.keys().cloned().collect()
    }
}

impl Core for CameraCore {
    type Command = CameraCommand;

    fn source(&self) -> Source {
        Source::Camera
    }

    fn subscriptions(&self) -> &'static [EventKind] {
        SUBSCRIPTIONS
    }

    fn decisions(&self) -> &'static [EventKind] {
        &[]
    }

    fn on_event(&mut self, env: &Envelope) -> Vec<Intent<CameraCommand>> {
        match &env.payload {
            Event::WindowOpened(w) => {
                let key = (w.name.clone(), w.start_us);
                if w.end_us > w.start_us && !self.windows.contains_key(&key) {
                    let tolerance = i64::try_from(LATE_TOLERANCE.as_micros()).unwrap_or(0);
                    let next_slot = self.slot_at_or_after(
                        w.start_us,
                        w.end_us,
                        env.ts.saturating_sub(tolerance),
                    );
                    let date = match w.local_start.get(..10) {
                        Some(d) if d.as_bytes().get(4) == Some(&b'-') => d.to_string(),
                        _ => utc_date(w.start_us),
                    };
                    self.windows.insert(
                        key,
                        OpenWindow {
                            end: w.end_us,
                            next_slot,
                            date,
                            frames: Vec::new(),
                        },
                    );
                }
                Vec::new()
            }
            Event::WindowClosed(w) => match self.windows.remove(&(w.name.clone(), w.start_us)) {
                Some(open) if self.build_timelapse => {
                    vec![Intent::Do(CameraCommand::BuildTimelapse {
                        window: w.name.clone(),
                        start: w.start_us,
                        end: w.end_us,
                        date: open.date,
                        frames: open.frames,
                    })]
                }
                _ => Vec::new(),
            },
            Event::FrameCaptured(f) => {
                for ((_, start), w) in self.windows.iter_mut() {
                    if f.scheduled_us >= *start && f.scheduled_us < w.end {
                        w.frames.push(f.clone());
                    }
                }
                self.retry_at = None;
                self.held_until = None;
                Vec::new()
            }
            Event::CameraFault(f) => {
                let delay = i64::try_from(f.retry_in_ms)
                    .unwrap_or(i64::MAX)
                    .saturating_mul(1000);
                let at = env.ts.saturating_add(delay);
                self.retry_at = Some(at);
                self.held_until = Some(at);
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    fn next_deadline(&self) -> Option<UtcMicros> {
        self.windows
            .values()
            .filter_map(|w| w.next_slot)
            .chain(self.retry_at)
            .min()
    }

    fn on_tick(&mut self, now: UtcMicros) -> Vec<Intent<CameraCommand>> {
        let mut shoot = false;
        if self.retry_at.is_some_and(|r| r <= now) {
            self.retry_at = None;
            shoot |= self.in_window(now);
        }
        let held = self.held_until.is_some_and(|h| now < h);
        let interval = self.interval;
        for w in self.windows.values_mut() {
            if let Some(slot) = w.next_slot.filter(|&s| s <= now) {
                shoot |= !held;
                // The next slot strictly after `now` on this window's grid.
                let behind = (now - slot) / interval + 1;
                w.next_slot = behind
                    .checked_mul(interval)
                    .and_then(|d| slot.checked_add(d))
                    .filter(|&s| s < w.end);
            }
        }
        if shoot {
            vec![Intent::Do(CameraCommand::Capture { scheduled: now })]
        } else {
            Vec::new()
        }
    }
}
