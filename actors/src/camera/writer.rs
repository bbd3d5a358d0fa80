//! Writing frames: JPEG encoding, free-space check, atomic write, BLAKE3.
//!
//! A frame lands at `frames/YYYY/MM/DD/HHMMSS.jpg` (UTC of the *scheduled* time, so names
//! follow the capture grid) relative to the data directory. The bytes go to a hidden temporary
//! file in the same directory, which is fsynced, renamed into place, and the directory is
//! fsynced: after [`FrameWriter::write`] returns [`WriteOutcome::Written`], the file is on disk
//! under its final name with exactly the hashed bytes. Existing frames are never overwritten: a
//! second shot in the same second gets `HHMMSS-1.jpg`, `HHMMSS-2.jpg`, ...
//!
//! Before writing, the free space of the data directory's file system is checked: a frame that
//! would leave less than the configured floor is not written ([`WriteOutcome::Skipped`]).

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use vigil_events::kinds::{CaptureSkipped, FrameCaptured};
use vigil_events::UtcMicros;

use super::source::Frame;

/// Why a frame could not be written. The performer records these as `CaptureSkipped`.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// JPEG quality outside 1..=100. Fix `jpeg_quality` in `[camera]`.
    #[error("jpeg quality {0} outside 1..=100")]
    Quality(u8),
    /// The frame could not be JPEG-encoded (a side above 65535 pixels).
    #[error("cannot encode a {width}x{height} frame as JPEG: {detail}")]
    Encode {
        /// Frame width.
        width: u32,
        /// Frame height.
        height: u32,
        /// Encoder message.
        detail: String,
    },
    /// The data directory itself is gone (unmounted disk?). Frames are not written until it
    /// is back; vigil does not recreate a missing mount point.
    #[error("data directory {0} is missing")]
    DataDirMissing(PathBuf),
    /// The free space could not be read.
    #[error("cannot read free space of {path}: {source}")]
    FreeSpace {
        /// Directory checked.
        path: PathBuf,
        /// OS error.
        source: std::io::Error,
    },
    /// A file operation failed (disk full, read-only file system, permissions).
    #[error("cannot write {path}: {source}")]
    Io {
        /// File or directory involved.
        path: PathBuf,
        /// OS error.
        source: std::io::Error,
    },
    /// The scheduled time is outside the range a calendar date can hold.
    #[error("timestamp {0} µs cannot be named as a date")]
    BadTime(UtcMicros),
}

/// What happened to a frame handed to [`FrameWriter::write`].
#[derive(Debug, Clone, PartialEq)]
pub enum WriteOutcome {
    /// On disk under its final name; the payload to record.
    Written(FrameCaptured),
    /// Not written because free space is below the floor; the payload to record.
    Skipped(CaptureSkipped),
}

/// Encodes and writes frames under a data directory. See the module docs.
#[derive(Debug, Clone)]
pub struct FrameWriter {
    data_dir: PathBuf,
    min_free_bytes: u64,
    quality: u8,
}

/// The relative path (`frames/YYYY/MM/DD/HHMMSS.jpg`) of a frame scheduled at `scheduled`.
pub fn frame_path(scheduled: UtcMicros) -> Option<String> {
    let t = DateTime::<Utc>::from_timestamp_micros(scheduled)?;
    Some(t.format("frames/%Y/%m/%d/%H%M%S.jpg").to_string())
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> WriteError + '_ {
    move |source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl FrameWriter {
    /// A writer for `data_dir` that keeps at least `min_free_bytes` free and encodes at JPEG
    /// `quality` (1..=100).
    pub fn new(
        data_dir: impl Into<PathBuf>,
        min_free_bytes: u64,
        quality: u8,
    ) -> Result<Self, WriteError> {
        if !(1..=100).contains(&quality) {
            return Err(WriteError::Quality(quality));
        }
        Ok(FrameWriter {
            data_dir: data_dir.into(),
            min_free_bytes,
            quality,
        })
    }

    /// The data directory frames are written under.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Encode a frame as baseline JPEG.
    pub fn encode(&self, frame: &Frame) -> Result<Vec<u8>, WriteError> {
        let err = |detail: String| WriteError::Encode {
            width: frame.width(),
            height: frame.height(),
            detail,
        };
        let w = u16::try_from(frame.width()).map_err(|_| err("width above 65535".into()))?;
        let h = u16::try_from(frame.height()).map_err(|_| err("height above 65535".into()))?;
        let mut out = Vec::with_capacity(frame.rgb().len() / 8);
        let encoder = jpeg_encoder::Encoder::new(&mut out, self.quality);
        encoder
            .encode(frame.rgb(), w, h, jpeg_encoder::ColorType::Rgb)
            .map_err(|e| err(e.to_string()))?;
        Ok(out)
    }

    /// Free bytes on the data directory's file system.
    pub fn free_bytes(&self) -> Result<u64, WriteError> {
        fs2::available_space(&self.data_dir).map_err(|source| WriteError::FreeSpace {
            path: self.data_dir.clone(),
            source,
        })
    }

    /// Encode `frame`, check free space, write it atomically and hash it.
    ///
    /// A frame is skipped (nothing written) when writing it would leave less than the floor.
    pub fn write(
        &self,
        frame: &Frame,
        scheduled: UtcMicros,
        actual: UtcMicros,
    ) -> Result<WriteOutcome, WriteError> {
        if !self.data_dir.is_dir() {
            return Err(WriteError::DataDirMissing(self.data_dir.clone()));
        }
        let jpeg = self.encode(frame)?;
        let free = self.free_bytes()?;
        if free.saturating_sub(jpeg.len() as u64) < self.min_free_bytes {
            return Ok(WriteOutcome::Skipped(CaptureSkipped {
                scheduled_us: scheduled,
                reason: format!(
                    "free space below floor: {free} bytes free, frame {} bytes, floor {} bytes",
                    jpeg.len(),
                    self.min_free_bytes
                ),
                free_bytes: Some(free),
            }));
        }
        let base = frame_path(scheduled).ok_or(WriteError::BadTime(scheduled))?;
        let rel = self.write_bytes(&base, &jpeg)?;
        Ok(WriteOutcome::Written(FrameCaptured {
            path: rel,
            bytes: jpeg.len() as u64,
            blake3: blake3::hash(&jpeg).to_hex().to_string(),
            width: frame.width(),
            height: frame.height(),
            scheduled_us: scheduled,
            actual_us: actual,
        }))
    }

    /// Write `bytes` atomically at `base` (relative), or at the first free `-N` variant.
    /// Returns the relative path used.
    fn write_bytes(&self, base: &str, bytes: &[u8]) -> Result<String, WriteError> {
        let full = self.data_dir.join(base);
        let dir = full
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| self.data_dir.clone());
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let stem = base.trim_end_matches(".jpg");
        let mut rel = base.to_string();
        let mut n = 0u32;
        while self.data_dir.join(&rel).exists() {
            n += 1;
            rel = format!("{stem}-{n}.jpg");
        }
        let target = self.data_dir.join(&rel);
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = dir.join(format!(".{name}.tmp"));
        let result = (|| {
            let mut f = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .open(&tmp)
                .map_err(io_err(&tmp))?;
            f.write_all(bytes).map_err(io_err(&tmp))?;
            f.sync_all().map_err(io_err(&tmp))?;
            drop(f);
            fs::rename(&tmp, &target).map_err(io_err(&target))?;
            sync_dir(&dir)?;
            let len = fs::metadata(&target).map_err(io_err(&target))?.len();
            if len != bytes.len() as u64 {
                return Err(WriteError::Io {
                    path: target.clone(),
                    source: std::io::Error::other(format!(
                        "{len} bytes on disk after write, expected {}",
                        bytes.len()
                    )),
                });
            }
            Ok(())
        })();
        if let Err(e) = result {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        Ok(rel)
    }
}

/// fsync a directory so that a rename inside it is durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), WriteError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_paths_follow_the_utc_grid() {
        // 2026-06-01T04:00:00Z
        assert_eq!(
            frame_path(1_780_286_400_000_000).as_deref(),
            Some("frames/2026/06/01/040000.jpg")
        );
        assert_eq!(frame_path(i64::MAX), None);
    }

    #[test]
    fn quality_outside_range_is_refused() {
        assert!(matches!(
            FrameWriter::new("/tmp", 0, 0),
            Err(WriteError::Quality(0))
        ));
        assert!(FrameWriter::new("/tmp", 0, 101).is_err());
    }
}
