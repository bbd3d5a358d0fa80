//! `[camera]`: the timelapse camera.

use std::path::PathBuf;
use std::time::Duration;

use serde::{de::Error as _, Deserialize, Deserializer};

/// Where frames come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CameraBackend {
    /// A deterministic moving scene with the capture time drawn in (runs anywhere).
    #[default]
    Synthetic,
    /// A USB camera through V4L2 (cargo feature `camera`).
    V4l2,
}

/// A frame size in pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resolution {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl std::fmt::Display for Resolution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}", self.width, self.height)
    }
}

impl<'de> Deserialize<'de> for Resolution {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let bad = || {
            D::Error::custom(format!(
                "invalid resolution \"{s}\", expected WIDTHxHEIGHT such as \"1280x720\" (16 to 8192 each)"
            ))
        };
        let (w, h) = s.split_once('x').ok_or_else(bad)?;
        let dim = |t: &str| {
            t.parse::<u32>()
                .ok()
                .filter(|v| (16..=8192).contains(v) && !t.starts_with('+'))
        };
        match (dim(w), dim(h)) {
            (Some(width), Some(height)) => Ok(Resolution { width, height }),
            _ => Err(bad()),
        }
    }
}

/// `[camera]`.
///
/// ```toml
/// [camera]
/// backend = "synthetic"      # or "v4l2"
/// device = "/dev/video0"
/// interval = "60s"           # one frame per interval, inside windows only
/// resolution = "1280x720"
/// jpeg_quality = 85          # 1–100
/// min_free_mb = 512          # skip a shot (and record it) below this much free space
/// fps = 24                   # timelapse videos
/// timelapse = true           # build a video per closed window
/// ffmpeg = "ffmpeg"
/// ```
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CameraConfig {
    /// Frame source. Default synthetic.
    pub backend: CameraBackend,
    /// V4L2 device (used by the `v4l2` backend). Default `/dev/video0`.
    #[serde(deserialize_with = "crate::values::non_empty_path")]
    pub device: PathBuf,
    /// Time between shots inside a window (100 ms to 1 day). Default 60 s.
    #[serde(deserialize_with = "crate::duration::de_in::<_, 100, 86_400_000>")]
    pub interval: Duration,
    /// Frame size. Default 1280×720.
    pub resolution: Resolution,
    /// JPEG quality 1–100. Default 85.
    #[serde(deserialize_with = "crate::values::u32_in::<_, 1, 100>")]
    pub jpeg_quality: u32,
    /// Free-space floor in MiB on the data dir's disk. Default 512.
    #[serde(deserialize_with = "crate::values::u32_in::<_, 0, 10_000_000>")]
    pub min_free_mb: u32,
    /// Frames per second of timelapse videos, 1–120. Default 24.
    #[serde(deserialize_with = "crate::values::u32_in::<_, 1, 120>")]
    pub fps: u32,
    /// Build a timelapse video for each closed window. Default true.
    pub timelapse: bool,
    /// The ffmpeg program. Default `ffmpeg` (found on PATH).
    #[serde(deserialize_with = "crate::values::non_empty_path")]
    pub ffmpeg: PathBuf,
}

impl Default for CameraConfig {
    fn default() -> Self {
        CameraConfig {
            backend: CameraBackend::Synthetic,
            device: PathBuf::from("/dev/video0"),
            interval: Duration::from_secs(60),
            resolution: Resolution {
                width: 1280,
                height: 720,
            },
            jpeg_quality: 85,
            min_free_mb: 512,
            fps: 24,
            timelapse: true,
            ffmpeg: PathBuf::from("ffmpeg"),
        }
    }
}
