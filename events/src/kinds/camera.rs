//! Timelapse capture.

use serde::{Deserialize, Serialize};

/// A frame was written to disk (atomically) and hashed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FrameCaptured {
    /// Path relative to the data directory (`frames/YYYY/MM/DD/HHMMSS.jpg`).
    pub path: String,
    /// File size in bytes.
    pub bytes: u64,
    /// BLAKE3 of the file, hex.
    pub blake3: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// When the shot was due, UTC µs.
    pub scheduled_us: i64,
    /// When the frame was grabbed, UTC µs.
    pub actual_us: i64,
}

/// A due shot was not taken.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CaptureSkipped {
    /// When the shot was due, UTC µs.
    pub scheduled_us: i64,
    /// Why: `free space below floor`, `frames directory missing`, ...
    pub reason: String,
    /// Free bytes at the time, when known.
    pub free_bytes: Option<u64>,
}

/// The camera failed; the actor retries with backoff.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CameraFault {
    /// What failed.
    pub error: String,
    /// Consecutive failures so far.
    pub attempt: u32,
    /// Next retry in ms.
    pub retry_in_ms: u64,
}

/// A window's timelapse video was assembled.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimelapseBuilt {
    /// Window name (or `range`).
    pub window: String,
    /// Video path relative to the data directory.
    pub path: String,
    /// Frames used.
    pub frames: u64,
    /// Frames listed in the log but missing on disk.
    pub missing: u64,
    /// Frames whose hash no longer matched (left out).
    pub altered: u64,
    /// Frames per second.
    pub fps: u32,
    /// Video size in bytes.
    pub bytes: u64,
}

/// Assembling a timelapse failed; the stills stay.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimelapseFailed {
    /// Window name (or `range`).
    pub window: String,
    /// What failed.
    pub error: String,
}
