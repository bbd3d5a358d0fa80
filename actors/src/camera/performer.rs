//! The camera performer: runs [`CameraCommand`]s on the actor's own thread.
//!
//! - `Capture`: open the source if it is closed (it then stays open and warm), grab, write
//!   (free-space check, atomic write, BLAKE3) and return `FrameCaptured`; a full disk gives
//!   `CaptureSkipped` and no file. A source error closes the source and gives `CameraFault`
//!   with the consecutive-failure count and the backoff delay; the core schedules the retry.
//! - `BuildTimelapse`: assemble the window's frames with ffmpeg into
//!   `videos/<date>-<window>.mp4` and return `TimelapseBuilt` or `TimelapseFailed`.
//!
//! A `FrameCaptured` is only ever returned after the file is durably on disk under its name.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use vigil_events::kinds::{
    CameraFault, CaptureSkipped, FrameCaptured, TimelapseBuilt, TimelapseFailed,
};
use vigil_events::{NewEvent, Source, UtcMicros};

use super::source::FrameSource;
use super::timelapse::{self, TimelapseSettings};
use super::writer::{FrameWriter, WriteError, WriteOutcome};
use super::CameraCommand;
use crate::core::Performer;

/// Retry delays after camera faults: `first`, doubling per consecutive fault, at most `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Delay after the first fault.
    pub first: Duration,
    /// Upper bound.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            first: Duration::from_secs(2),
            max: Duration::from_secs(300),
        }
    }
}

impl Backoff {
    /// Delay before the retry after the `attempt`-th consecutive fault (1-based).
    pub fn delay(&self, attempt: u32) -> Duration {
        let shift = attempt.saturating_sub(1).min(31);
        self.first
            .checked_mul(1u32 << shift)
            .unwrap_or(self.max)
            .min(self.max)
    }
}

/// What the performer needs besides its source.
#[derive(Debug, Clone, PartialEq)]
pub struct PerformerSettings {
    /// The data directory (frames and videos are written under it).
    pub data_dir: PathBuf,
    /// Free-space floor in bytes: a frame that would leave less is skipped.
    pub min_free_bytes: u64,
    /// JPEG quality, 1..=100.
    pub jpeg_quality: u8,
    /// Retry delays after faults.
    pub backoff: Backoff,
    /// Video encoding.
    pub timelapse: TimelapseSettings,
}

/// Settings the performer refuses at construction.
#[derive(Debug, thiserror::Error)]
pub enum CameraSetupError {
    /// Bad writer settings (JPEG quality).
    #[error(transparent)]
    Writer(#[from] WriteError),
    /// A zero backoff would retry in a busy loop.
    #[error("camera backoff must be above zero (first {first:?}, max {max:?})")]
    Backoff {
        /// Configured first delay.
        first: Duration,
        /// Configured maximum.
        max: Duration,
    },
}

/// The camera performer. See the module docs.
pub struct CameraPerformer {
    source: Box<dyn FrameSource>,
    writer: FrameWriter,
    settings: PerformerSettings,
    failures: u32,
}

impl std::fmt::Debug for CameraPerformer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CameraPerformer")
            .field("source", &self.source.describe())
            .field("settings", &self.settings)
            .field("failures", &self.failures)
            .finish()
    }
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

impl CameraPerformer {
    /// A performer grabbing from `source`. The source is opened at the first capture.
    pub fn new(
        source: Box<dyn FrameSource>,
        settings: PerformerSettings,
    ) -> Result<Self, CameraSetupError> {
        if settings.backoff.first.is_zero() || settings.backoff.max < settings.backoff.first {
            return Err(CameraSetupError::Backoff {
                first: settings.backoff.first,
                max: settings.backoff.max,
            });
        }
        let writer = FrameWriter::new(
            settings.data_dir.clone(),
            settings.min_free_bytes,
            settings.jpeg_quality,
        )?;
        Ok(CameraPerformer {
            source,
            writer,
            settings,
            failures: 0,
        })
    }

    /// Consecutive camera faults so far (0 after a good frame).
    pub fn failures(&self) -> u32 {
        self.failures
    }

    fn capture(&mut self, scheduled: UtcMicros, now: UtcMicros) -> Vec<NewEvent> {
        let started = Instant::now();
        let at = |started: Instant| now.saturating_add(micros(started.elapsed()));
        if !self.source.is_open() {
            if let Err(e) = self.source.open(now) {
                return vec![self.fault(e.to_string(), at(started))];
            }
        }
        let frame = match self.source.grab(at(started)) {
            Ok(f) => f,
            Err(e) => {
                self.source.close();
                return vec![self.fault(e.to_string(), at(started))];
            }
        };
        let actual = at(started);
        self.failures = 0;
        let event: vigil_events::Event = match self.writer.write(&frame, scheduled, actual) {
            Ok(WriteOutcome::Written(fc)) => fc.into(),
            Ok(WriteOutcome::Skipped(skip)) => skip.into(),
            Err(e) => {
                let free_bytes = self.writer.free_bytes().ok();
                CaptureSkipped {
                    scheduled_us: scheduled,
                    reason: format!("frame not written: {e}"),
                    free_bytes,
                }
                .into()
            }
        };
        vec![NewEvent::new(at(started), Source::Camera, event)]
    }

    fn fault(&mut self, error: String, ts: UtcMicros) -> NewEvent {
        self.failures = self.failures.saturating_add(1);
        let delay = self.settings.backoff.delay(self.failures);
        NewEvent::new(
            ts,
            Source::Camera,
            CameraFault {
                error,
                attempt: self.failures,
                retry_in_ms: u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            },
        )
    }

    fn build(
        &self,
        window: String,
        date: &str,
        frames: &[FrameCaptured],
        now: UtcMicros,
    ) -> NewEvent {
        timelapse_event(&self.settings, window, date, frames, now)
    }
}

/// Build a window's video at `videos/<date>-<window>.mp4` under the data directory and return
/// the `TimelapseBuilt` / `TimelapseFailed` event (stamped `now` plus the build time).
///
/// This is what [`CameraCommand::BuildTimelapse`] runs; it is public so that a shell can run
/// long builds on a thread of their own instead of the capture thread.
pub fn timelapse_event(
    settings: &PerformerSettings,
    window: String,
    date: &str,
    frames: &[FrameCaptured],
    now: UtcMicros,
) -> NewEvent {
    let started = Instant::now();
    let rel = timelapse::video_path(date, &window);
    let out = settings.data_dir.join(&rel);
    let result = timelapse::build(&settings.data_dir, &settings.timelapse, frames, &out);
    let ts = now.saturating_add(micros(started.elapsed()));
    let event: vigil_events::Event = match result {
        Ok(r) => TimelapseBuilt {
            window,
            path: rel,
            frames: r.frames,
            missing: r.missing.len() as u64,
            altered: r.altered.len() as u64,
            fps: settings.timelapse.fps,
            bytes: r.bytes,
        }
        .into(),
        Err(e) => TimelapseFailed {
            window,
            error: e.to_string(),
        }
        .into(),
    };
    NewEvent::new(ts, Source::Camera, event)
}

impl Performer for CameraPerformer {
    type Command = CameraCommand;

    fn perform(&mut self, cmd: CameraCommand, now: UtcMicros) -> Vec<NewEvent> {
        match cmd {
            CameraCommand::Capture { scheduled } => self.capture(scheduled, now),
            CameraCommand::BuildTimelapse {
                window,
                date,
                frames,
                ..
            } => vec![self.build(window, &date, &frames, now)],
        }
    }

    fn release(&mut self, _now: UtcMicros) -> Vec<NewEvent> {
        self.source.close();
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_bound() {
        let b = Backoff {
            first: Duration::from_secs(2),
            max: Duration::from_secs(60),
        };
        let got: Vec<u64> = (1..=7).map(|a| b.delay(a).as_secs()).collect();
        assert_eq!(got, vec![2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(b.delay(u32::MAX).as_secs(), 60);
    }
}
