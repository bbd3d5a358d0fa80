//! Timelapse videos from the frames the log lists, assembled with ffmpeg.
//!
//! Input is a list of `FrameCaptured` payloads (from the log). Every frame is checked before
//! use: a file that is gone is *missing*, a file whose size or BLAKE3 no longer matches the
//! record is *altered*; both are left out and reported. The verified bytes themselves (not the
//! file again) are piped to ffmpeg, so the video holds exactly what was hashed.
//!
//! # Incremental and resumable
//!
//! Verified frames are cut into segments of [`TimelapseSettings::segment_frames`]. Each
//! segment is encoded to `<out dir>/.<out name>.work/seg-NNNNN-<key>.mp4` (temp file, then
//! rename), where `<key>` is a BLAKE3 over the encoding settings and the hashes of its frames.
//! A build that is interrupted (power cut at the end of a window) and run again finds the
//! segments already done and encodes only the rest; a segment whose frames changed gets a new
//! key and is rebuilt. The segments are then joined without re-encoding into the output
//! (temp file + rename), the work directory is removed, and `<out>.key` records the key of the
//! whole input: a later build of the same input finds the video current and does nothing.
//!
//! # Troubleshooting
//!
//! - `ffmpeg not found`: install it (`apt install ffmpeg`) or set the program path.
//! - `ffmpeg failed`: the message carries the last lines ffmpeg printed; the stills stay.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};

use vigil_events::kinds::FrameCaptured;

use super::writer::sync_dir;

/// How every ffmpeg run starts: no banner, only errors on stderr, overwrite the temporary
/// output.
const FFMPEG_QUIET: [&str; 4] = ["-hide_banner", "-loglevel", "error", "-y"];

/// How videos are encoded.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelapseSettings {
    /// The ffmpeg program (a name looked up in `PATH`, or a path).
    pub ffmpeg: PathBuf,
    /// Frames per second of the video (1..=120).
    pub fps: u32,
    /// Frames per resumable segment (at least 1).
    pub segment_frames: usize,
    /// x264 constant rate factor (0..=51, lower is better; 23 is ffmpeg's default).
    pub crf: u8,
}

impl Default for TimelapseSettings {
    fn default() -> Self {
        TimelapseSettings {
            ffmpeg: PathBuf::from("ffmpeg"),
            fps: 25,
            segment_frames: 250,
            crf: 23,
        }
    }
}

/// Why a video was not built. The stills are never touched.
#[derive(Debug, thiserror::Error)]
pub enum TimelapseError {
    /// Settings out of range; fix `[camera]` (or the CLI flags).
    #[error("timelapse settings refused: {0}")]
    Settings(String),
    /// No frame survived the checks (none listed, or all missing/altered).
    #[error("no usable frames: {listed} listed, {missing} missing, {altered} altered")]
    NoFrames {
        /// Frames the log listed.
        listed: usize,
        /// Missing on disk.
        missing: usize,
        /// Hash or size mismatch.
        altered: usize,
    },
    /// ffmpeg could not be started. Install it (`apt install ffmpeg`).
    #[error("ffmpeg not found ({program}): {source}")]
    FfmpegMissing {
        /// Program tried.
        program: PathBuf,
        /// OS error.
        source: std::io::Error,
    },
    /// ffmpeg ran and failed.
    #[error("ffmpeg failed ({status}) while {step}: {stderr}")]
    FfmpegFailed {
        /// `segment 3`, `joining segments`.
        step: String,
        /// Exit status.
        status: String,
        /// The end of what ffmpeg printed.
        stderr: String,
    },
    /// A file operation failed.
    #[error("cannot write {path}: {source}")]
    Io {
        /// Path involved.
        path: PathBuf,
        /// OS error.
        source: std::io::Error,
    },
}

impl TimelapseError {
    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TimelapseError + '_ {
        move |source| TimelapseError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// The result of checking listed frames against the disk.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FrameCheck {
    /// Frames whose file matches the record, in the order given.
    pub ok: Vec<FrameCaptured>,
    /// Relative paths listed but not on disk (or not a safe relative path).
    pub missing: Vec<String>,
    /// Relative paths whose size or BLAKE3 no longer matches.
    pub altered: Vec<String>,
}

/// A path from the log is used only if it is relative and stays inside the data directory.
fn safe_relative(path: &str) -> bool {
    let p = Path::new(path);
    !path.is_empty() && p.components().all(|c| matches!(c, Component::Normal(_)))
}

/// Read and check one listed frame; `Ok(bytes)` when it matches its record.
fn check_one(data_dir: &Path, f: &FrameCaptured) -> Result<Vec<u8>, bool> {
    if !safe_relative(&f.path) {
        return Err(false);
    }
    let mut bytes = Vec::new();
    match File::open(data_dir.join(&f.path)).and_then(|mut h| h.read_to_end(&mut bytes)) {
        Ok(_) => {}
        Err(_) => return Err(false),
    }
    let hash = blake3::hash(&bytes).to_hex();
    if bytes.len() as u64 != f.bytes || !hash.as_str().eq_ignore_ascii_case(&f.blake3) {
        return Err(true);
    }
    Ok(bytes)
}

/// Check every listed frame against the disk (size and BLAKE3).
pub fn verify_frames(data_dir: &Path, frames: &[FrameCaptured]) -> FrameCheck {
    let mut check = FrameCheck::default();
    for f in frames {
        match check_one(data_dir, f) {
            Ok(_) => check.ok.push(f.clone()),
            Err(true) => check.altered.push(f.path.clone()),
            Err(false) => check.missing.push(f.path.clone()),
        }
    }
    check
}

/// What a build produced.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelapseReport {
    /// The video written (absolute, or as given).
    pub out: PathBuf,
    /// Frames in the video.
    pub frames: u64,
    /// Listed frames missing on disk.
    pub missing: Vec<String>,
    /// Listed frames whose hash no longer matched (left out).
    pub altered: Vec<String>,
    /// Video size in bytes.
    pub bytes: u64,
    /// Segments encoded by this run.
    pub segments_encoded: usize,
    /// Segments found done by an earlier, interrupted run.
    pub segments_reused: usize,
    /// The video was already current for this input; nothing was encoded.
    pub up_to_date: bool,
}

fn validate(settings: &TimelapseSettings) -> Result<(), TimelapseError> {
    if !(1..=120).contains(&settings.fps) {
        return Err(TimelapseError::Settings(format!(
            "fps {} outside 1..=120",
            settings.fps
        )));
    }
    if settings.segment_frames == 0 {
        return Err(TimelapseError::Settings(
            "segment_frames must be at least 1".into(),
        ));
    }
    if settings.crf > 51 {
        return Err(TimelapseError::Settings(format!(
            "crf {} outside 0..=51",
            settings.crf
        )));
    }
    Ok(())
}

fn key_of(settings: &TimelapseSettings, size: (u32, u32), frames: &[FrameCaptured]) -> String {
    let mut h = blake3::Hasher::new();
    h.update(
        format!(
            "vigil-timelapse-v1 fps={} crf={} size={}x{}\n",
            settings.fps, settings.crf, size.0, size.1
        )
        .as_bytes(),
    );
    for f in frames {
        h.update(f.blake3.as_bytes());
        h.update(b"\n");
    }
    h.finalize().to_hex()[..16].to_string()
}

/// Run ffmpeg with `args`, optionally feeding `input` chunks to its stdin; stderr goes to
/// `log`.
fn run_ffmpeg(
    settings: &TimelapseSettings,
    args: &[String],
    inputs: Option<&mut dyn Iterator<Item = Vec<u8>>>,
    log: &Path,
    step: &str,
) -> Result<(), TimelapseError> {
    let log_file = File::create(log).map_err(TimelapseError::io(log))?;
    let mut child = Command::new(&settings.ffmpeg)
        .args(args)
        .stdin(if inputs.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::null())
        .stderr(Stdio::from(log_file))
        .spawn()
        .map_err(|source| TimelapseError::FfmpegMissing {
            program: settings.ffmpeg.clone(),
            source,
        })?;
    if let (Some(iter), Some(mut stdin)) = (inputs, child.stdin.take()) {
        for chunk in iter {
            // A write error means ffmpeg stopped reading (it failed); its status says why.
            if stdin.write_all(&chunk).is_err() {
                break;
            }
        }
    }
    let status = child.wait().map_err(TimelapseError::io(log))?;
    if status.success() {
        return Ok(());
    }
    let text = fs::read_to_string(log).unwrap_or_default();
    let tail: Vec<&str> = text.lines().rev().take(4).collect();
    Err(TimelapseError::FfmpegFailed {
        step: step.to_string(),
        status: status.to_string(),
        stderr: tail.into_iter().rev().collect::<Vec<_>>().join(" | "),
    })
}

fn quote_concat(path: &Path) -> String {
    format!("file '{}'", path.to_string_lossy().replace('\'', "'\\''"))
}

/// Build a video at `out` from `frames` (relative to `data_dir`). See the module docs.
pub fn build(
    data_dir: &Path,
    settings: &TimelapseSettings,
    frames: &[FrameCaptured],
    out: &Path,
) -> Result<TimelapseReport, TimelapseError> {
    validate(settings)?;
    let check = verify_frames(data_dir, frames);
    let Some(first) = check.ok.first() else {
        return Err(TimelapseError::NoFrames {
            listed: frames.len(),
            missing: check.missing.len(),
            altered: check.altered.len(),
        });
    };
    // x264 with 4:2:0 needs even sides; every frame is scaled to the first frame's size.
    let size = ((first.width / 2 * 2).max(2), (first.height / 2 * 2).max(2));
    let key = key_of(settings, size, &check.ok);
    let out_dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let out_name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| TimelapseError::Settings(format!("{} is not a file path", out.display())))?;
    fs::create_dir_all(&out_dir).map_err(TimelapseError::io(&out_dir))?;
    let key_file = out_dir.join(format!("{out_name}.key"));
    let mut report = TimelapseReport {
        out: out.to_path_buf(),
        frames: check.ok.len() as u64,
        missing: check.missing.clone(),
        altered: check.altered.clone(),
        bytes: 0,
        segments_encoded: 0,
        segments_reused: 0,
        up_to_date: false,
    };
    if out.is_file() && fs::read_to_string(&key_file).ok().as_deref() == Some(key.as_str()) {
        report.bytes = fs::metadata(out).map_err(TimelapseError::io(out))?.len();
        report.up_to_date = true;
        return Ok(report);
    }
    let work = out_dir.join(format!(".{out_name}.work"));
    fs::create_dir_all(&work).map_err(TimelapseError::io(&work))?;
    let log = work.join("ffmpeg.log");
    let scale = format!(
        "scale={}:{}:force_original_aspect_ratio=disable,format=yuv420p",
        size.0, size.1
    );
    let mut segments = Vec::new();
    for (i, chunk) in check.ok.chunks(settings.segment_frames).enumerate() {
        let seg_key = key_of(settings, size, chunk);
        let seg = work.join(format!("seg-{i:05}-{seg_key}.mp4"));
        segments.push(seg.clone());
        if seg.is_file() {
            report.segments_reused += 1;
            continue;
        }
        let tmp = work.join(format!(".seg-{i:05}.tmp.mp4"));
        let args: Vec<String> = FFMPEG_QUIET
            .into_iter()
            .chain([
                "-f",
                "image2pipe",
                "-framerate",
                &settings.fps.to_string(),
                "-c:v",
                "mjpeg",
                "-i",
                "-",
                "-vf",
                &scale,
                "-c:v",
                "libx264",
                "-preset",
                "veryfast",
                "-crf",
                &settings.crf.to_string(),
                "-r",
                &settings.fps.to_string(),
                "-f",
                "mp4",
            ])
            .map(str::to_string)
            .chain(std::iter::once(tmp.to_string_lossy().into_owned()))
            .collect();
        // Feed the bytes that were hashed; a frame altered since the check is left out.
        let mut iter = chunk
            .iter()
            .filter_map(|f| check_one(data_dir, f).ok())
            .collect::<Vec<_>>()
            .into_iter();
        run_ffmpeg(
            settings,
            &args,
            Some(&mut iter),
            &log,
            &format!("segment {i}"),
        )?;
        fs::rename(&tmp, &seg).map_err(TimelapseError::io(&seg))?;
        report.segments_encoded += 1;
    }
    let list = work.join("segments.txt");
    let text: String = segments
        .iter()
        .map(|s| quote_concat(&fs::canonicalize(s).unwrap_or_else(|_| s.clone())) + "\n")
        .collect();
    fs::write(&list, text).map_err(TimelapseError::io(&list))?;
    let tmp_out = out_dir.join(format!(".{out_name}.tmp.mp4"));
    let args: Vec<String> = FFMPEG_QUIET
        .into_iter()
        .chain(["-f", "concat", "-safe", "0", "-i"])
        .map(str::to_string)
        .chain([
            list.to_string_lossy().into_owned(),
            "-c".into(),
            "copy".into(),
            "-movflags".into(),
            "+faststart".into(),
            "-f".into(),
            "mp4".into(),
            tmp_out.to_string_lossy().into_owned(),
        ])
        .collect();
    run_ffmpeg(settings, &args, None, &log, "joining segments")?;
    File::open(&tmp_out)
        .and_then(|f| f.sync_all())
        .map_err(TimelapseError::io(&tmp_out))?;
    fs::rename(&tmp_out, out).map_err(TimelapseError::io(out))?;
    fs::write(&key_file, &key).map_err(TimelapseError::io(&key_file))?;
    sync_dir(&out_dir).map_err(|e| TimelapseError::Io {
        path: out_dir.clone(),
        source: std::io::Error::other(e.to_string()),
    })?;
    report.bytes = fs::metadata(out).map_err(TimelapseError::io(out))?.len();
    // The segments are only needed to resume; a failure to remove them is harmless.
    let _ = fs::remove_dir_all(&work);
    Ok(report)
}

/// Relative path of a window's video: `videos/<date>-<window>.mp4`, with any character of the
/// window name other than ASCII letters, digits, `-` and `_` replaced by `_`.
pub fn video_path(date: &str, window: &str) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    format!("videos/{}-{}.mp4", clean(date), clean(window))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_paths_from_the_log_are_refused() {
        assert!(safe_relative("frames/2026/06/01/040000.jpg"));
        assert!(!safe_relative("../etc/passwd"));
        assert!(!safe_relative("/etc/passwd"));
        assert!(!safe_relative("frames/../../x"));
        assert!(!safe_relative(""));
    }

    #[test]
    fn video_names_are_sanitised() {
        assert_eq!(video_path("2026-06-01", "day"), "videos/2026-06-01-day.mp4");
        assert_eq!(
            video_path("2026-06-01", "../night shift"),
            "videos/2026-06-01-___night_shift.mp4"
        );
    }

    #[test]
    fn bad_settings_are_refused_before_any_work() {
        let s = TimelapseSettings {
            fps: 0,
            ..TimelapseSettings::default()
        };
        let err =
            build(Path::new("/nonexistent"), &s, &[], Path::new("/tmp/x.mp4")).expect_err("fps 0");
        assert!(err.to_string().contains("fps 0"), "{err}");
    }
}
