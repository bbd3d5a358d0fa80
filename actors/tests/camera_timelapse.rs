//! Timelapse assembly with the real ffmpeg (installed by `.ci/run`): hash checks, missing and
//! altered frames, resuming an interrupted build, and failures that leave the stills alone.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use vigil_actors::camera::timelapse::{build, TimelapseError, TimelapseSettings};
use vigil_actors::camera::{
    Backoff, CameraCommand, CameraPerformer, PerformerSettings, SyntheticCamera,
};
use vigil_actors::Performer;
use vigil_events::kinds::FrameCaptured;
use vigil_events::{Event, NewEvent};

const T0: i64 = 1_780_286_400_000_000; // 2026-06-01T04:00:00Z
const MIN: i64 = 60_000_000;

fn settings(dir: &Path, tl: TimelapseSettings) -> PerformerSettings {
    PerformerSettings {
        data_dir: dir.to_path_buf(),
        min_free_bytes: 0,
        jpeg_quality: 80,
        backoff: Backoff::default(),
        timelapse: tl,
    }
}

fn tl(segment_frames: usize) -> TimelapseSettings {
    TimelapseSettings {
        fps: 10,
        segment_frames,
        ..TimelapseSettings::default()
    }
}

/// Shoot `n` frames a minute apart; return their records.
fn shoot(dir: &Path, n: i64) -> Vec<FrameCaptured> {
    let cam = SyntheticCamera::new(96, 64).expect("cam");
    let mut p = CameraPerformer::new(Box::new(cam), settings(dir, tl(5))).expect("performer");
    (0..n)
        .flat_map(|k| {
            p.perform(
                CameraCommand::Capture {
                    scheduled: T0 + k * MIN,
                },
                T0 + k * MIN,
            )
        })
        .filter_map(|e| match e.event {
            Event::FrameCaptured(f) => Some(f),
            _ => None,
        })
        .collect()
}

fn video_frames(path: &Path) -> u64 {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
        .args(["-show_entries", "stream=nb_read_frames", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .expect("ffprobe is installed with ffmpeg (see .ci/run)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("frame count")
}

#[test]
fn a_video_holds_every_verified_frame_and_reports_missing_and_altered_ones() {
    let dir = tempfile::tempdir().expect("tmp");
    let frames = shoot(dir.path(), 12);
    assert_eq!(frames.len(), 12);
    fs::remove_file(dir.path().join(&frames[3].path)).expect("rm");
    let altered = dir.path().join(&frames[7].path);
    let mut bytes = fs::read(&altered).expect("read");
    let last = bytes.len() - 3;
    bytes[last] ^= 0xff;
    fs::write(&altered, bytes).expect("write");
    let out = dir.path().join("videos/day.mp4");
    let report = build(dir.path(), &tl(5), &frames, &out).expect("built");
    assert_eq!(report.frames, 10);
    assert_eq!(report.missing, vec![frames[3].path.clone()]);
    assert_eq!(report.altered, vec![frames[7].path.clone()]);
    assert_eq!((report.segments_encoded, report.segments_reused), (2, 0));
    assert_eq!(report.bytes, fs::metadata(&out).expect("video").len());
    assert_eq!(video_frames(&out), 10);
    // Built again with the same input: already current, nothing encoded.
    let again = build(dir.path(), &tl(5), &frames, &out).expect("current");
    assert!(again.up_to_date);
    assert_eq!(again.segments_encoded, 0);
}

/// An ffmpeg that dies when asked to join segments: an interrupted build.
fn ffmpeg_failing_at_join(dir: &Path) -> PathBuf {
    let script = dir.join("ffmpeg-interrupted");
    fs::write(
        &script,
        "#!/bin/sh\nfor a in \"$@\"; do [ \"$a\" = concat ] && { echo 'simulated power cut' >&2; exit 1; }; done\nexec ffmpeg \"$@\"\n",
    )
    .expect("script");
    let mut perm = fs::metadata(&script).expect("meta").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
    fs::set_permissions(&script, perm).expect("chmod");
    script
}

#[test]
fn an_interrupted_build_resumes_from_its_finished_segments() {
    let dir = tempfile::tempdir().expect("tmp");
    let frames = shoot(dir.path(), 11);
    let out = dir.path().join("videos/day.mp4");
    let broken = TimelapseSettings {
        ffmpeg: ffmpeg_failing_at_join(dir.path()),
        ..tl(4)
    };
    let err = build(dir.path(), &broken, &frames, &out).expect_err("interrupted");
    assert!(
        matches!(&err, TimelapseError::FfmpegFailed { step, stderr, .. } if step == "joining segments" && stderr.contains("power cut")),
        "{err}"
    );
    assert!(!out.exists(), "no half-written video");
    let report = build(dir.path(), &tl(4), &frames, &out).expect("resumed");
    assert_eq!((report.segments_encoded, report.segments_reused), (0, 3));
    assert_eq!(video_frames(&out), 11);
    assert!(
        !dir.path().join("videos/.day.mp4.work").exists(),
        "work dir cleaned"
    );
}

fn build_cmd(frames: Vec<FrameCaptured>) -> CameraCommand {
    CameraCommand::BuildTimelapse {
        window: "day".into(),
        start: T0,
        end: T0 + 60 * MIN,
        date: "2026-06-01".into(),
        frames,
    }
}

#[test]
fn the_performer_records_a_built_video() {
    let dir = tempfile::tempdir().expect("tmp");
    let frames = shoot(dir.path(), 6);
    let cam = SyntheticCamera::new(96, 64).expect("cam");
    let mut p = CameraPerformer::new(Box::new(cam), settings(dir.path(), tl(4))).expect("p");
    let ev = p.perform(build_cmd(frames), T0 + 61 * MIN);
    match &ev[..] {
        [NewEvent {
            event: Event::TimelapseBuilt(b),
            ..
        }] => {
            assert_eq!(b.path, "videos/2026-06-01-day.mp4");
            assert_eq!((b.frames, b.missing, b.altered, b.fps), (6, 0, 0, 10));
            assert_eq!(
                fs::metadata(dir.path().join(&b.path)).expect("video").len(),
                b.bytes
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn missing_ffmpeg_or_no_frames_is_a_failure_event_and_the_stills_stay() {
    let dir = tempfile::tempdir().expect("tmp");
    let frames = shoot(dir.path(), 3);
    let no_ffmpeg = TimelapseSettings {
        ffmpeg: PathBuf::from("/nonexistent/ffmpeg"),
        ..tl(4)
    };
    let cam = SyntheticCamera::new(96, 64).expect("cam");
    let mut p = CameraPerformer::new(Box::new(cam), settings(dir.path(), no_ffmpeg)).expect("p");
    let ev = p.perform(build_cmd(frames.clone()), T0 + 61 * MIN);
    match &ev[..] {
        [NewEvent {
            event: Event::TimelapseFailed(f),
            ..
        }] => {
            assert_eq!(f.window, "day");
            assert!(f.error.contains("ffmpeg not found"), "{}", f.error);
        }
        other => panic!("{other:?}"),
    }
    for f in &frames {
        assert!(dir.path().join(&f.path).is_file(), "still kept: {}", f.path);
    }
    let ev = p.perform(build_cmd(Vec::new()), T0 + 61 * MIN);
    assert!(
        matches!(&ev[..], [NewEvent { event: Event::TimelapseFailed(f), .. }] if f.error.contains("no usable frames"))
    );
}
