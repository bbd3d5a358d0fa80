//! The camera performer with the synthetic camera and a temp data directory.

use std::fs;
use std::path::Path;
use std::time::Duration;

use vigil_actors::camera::synthetic::{read_stamp, SyntheticProbe};
use vigil_actors::camera::{
    Backoff, CameraCommand, CameraPerformer, Frame, PerformerSettings, SyntheticCamera,
    TimelapseSettings,
};
use vigil_actors::Performer;
use vigil_events::kinds::FrameCaptured;
use vigil_events::{Event, NewEvent, Source};

const T0: i64 = 1_780_286_400_000_000; // 2026-06-01T04:00:00Z
const SEC: i64 = 1_000_000;

fn settings(dir: &Path, floor: u64) -> PerformerSettings {
    PerformerSettings {
        data_dir: dir.to_path_buf(),
        min_free_bytes: floor,
        jpeg_quality: 90,
        backoff: Backoff {
            first: Duration::from_secs(2),
            max: Duration::from_secs(30),
        },
        timelapse: TimelapseSettings::default(),
    }
}

fn performer(dir: &Path, cam: SyntheticCamera, floor: u64) -> (CameraPerformer, SyntheticProbe) {
    let probe = cam.probe();
    let p = CameraPerformer::new(Box::new(cam), settings(dir, floor)).expect("settings");
    (p, probe)
}

fn shoot(p: &mut CameraPerformer, at: i64) -> Vec<NewEvent> {
    p.perform(CameraCommand::Capture { scheduled: at }, at)
}

/// The one invariant that matters most: a FrameCaptured names a file on disk with its hash.
fn assert_on_disk(dir: &Path, f: &FrameCaptured) {
    let bytes = fs::read(dir.join(&f.path)).expect("frame on disk");
    assert_eq!(bytes.len() as u64, f.bytes);
    assert_eq!(blake3::hash(&bytes).to_hex().as_str(), f.blake3);
}

fn captured(events: &[NewEvent]) -> Vec<FrameCaptured> {
    events
        .iter()
        .filter_map(|e| match &e.event {
            Event::FrameCaptured(f) => Some(f.clone()),
            _ => None,
        })
        .collect()
}

fn no_temp_files(dir: &Path) {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).expect("dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let name = e.file_name().to_string_lossy().into_owned();
                assert!(!name.ends_with(".tmp"), "temp file left: {}", p.display());
            }
        }
    }
}

#[test]
fn a_capture_writes_a_hashed_jpeg_that_shows_its_time() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut p, _) = performer(dir.path(), SyntheticCamera::new(320, 240).expect("cam"), 0);
    let events = shoot(&mut p, T0 + 5 * SEC);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].source, Source::Camera);
    let f = &captured(&events)[0];
    assert_eq!(f.path, "frames/2026/06/01/040005.jpg");
    assert_eq!((f.width, f.height), (320, 240));
    assert_eq!(f.scheduled_us, T0 + 5 * SEC);
    assert!(f.actual_us >= f.scheduled_us && f.actual_us - f.scheduled_us < SEC);
    assert_on_disk(dir.path(), f);
    no_temp_files(dir.path());
    // Decode the JPEG and read the drawn time back.
    let bytes = fs::read(dir.path().join(&f.path)).expect("read");
    let mut dec = jpeg_decoder::Decoder::new(bytes.as_slice());
    let rgb = dec.decode().expect("valid jpeg");
    let info = dec.info().expect("info");
    assert_eq!((info.width, info.height), (320, 240));
    let frame = Frame::new(320, 240, rgb).expect("rgb frame");
    let stamp = read_stamp(&frame).expect("stamp readable after JPEG");
    assert!(stamp.starts_with("2026-06-01 04:00:05."), "{stamp}");
}

#[test]
fn the_camera_stays_open_between_shots() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut p, probe) = performer(dir.path(), SyntheticCamera::new(64, 48).expect("cam"), 0);
    for k in 0..5 {
        let ev = shoot(&mut p, T0 + k * 60 * SEC);
        assert_on_disk(dir.path(), &captured(&ev)[0]);
    }
    assert_eq!((probe.opens(), probe.grabs()), (1, 5));
}

#[test]
fn a_camera_that_disappears_gives_faults_with_backoff_then_recovers() {
    let dir = tempfile::tempdir().expect("tmp");
    let cam = SyntheticCamera::new(64, 48)
        .expect("cam")
        .with_outage(T0 + 60 * SEC, T0 + 200 * SEC);
    let (mut p, probe) = performer(dir.path(), cam, 0);
    assert_eq!(captured(&shoot(&mut p, T0)).len(), 1);
    let mut faults = Vec::new();
    for at in [T0 + 60 * SEC, T0 + 62 * SEC, T0 + 66 * SEC, T0 + 74 * SEC] {
        let ev = shoot(&mut p, at);
        assert!(captured(&ev).is_empty(), "no frame while unplugged");
        match &ev[..] {
            [NewEvent {
                event: Event::CameraFault(f),
                ..
            }] => faults.push((f.attempt, f.retry_in_ms)),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(faults, vec![(1, 2000), (2, 4000), (3, 8000), (4, 16000)]);
    let ev = shoot(&mut p, T0 + 200 * SEC);
    assert_on_disk(dir.path(), &captured(&ev)[0]);
    assert_eq!(p.failures(), 0);
    assert_eq!(probe.opens(), 2, "reopened once after the outage");
}

#[test]
fn below_the_free_space_floor_the_shot_is_skipped_and_nothing_is_written() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut p, _) = performer(
        dir.path(),
        SyntheticCamera::new(64, 48).expect("cam"),
        u64::MAX,
    );
    let ev = shoot(&mut p, T0);
    match &ev[..] {
        [NewEvent {
            event: Event::CaptureSkipped(s),
            ..
        }] => {
            assert!(s.reason.contains("free space below floor"), "{}", s.reason);
            assert!(s.free_bytes.is_some());
            assert_eq!(s.scheduled_us, T0);
        }
        other => panic!("{other:?}"),
    }
    assert!(!dir.path().join("frames").exists());
}

#[test]
fn a_frames_directory_deleted_under_the_performer_is_recreated() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut p, _) = performer(dir.path(), SyntheticCamera::new(64, 48).expect("cam"), 0);
    shoot(&mut p, T0);
    fs::remove_dir_all(dir.path().join("frames")).expect("rm");
    let ev = shoot(&mut p, T0 + 60 * SEC);
    assert_on_disk(dir.path(), &captured(&ev)[0]);
}

#[test]
fn a_missing_data_directory_is_a_skip_never_a_frame() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    fs::create_dir(&data).expect("mkdir");
    let (mut p, _) = performer(&data, SyntheticCamera::new(64, 48).expect("cam"), 0);
    fs::remove_dir_all(&data).expect("rm");
    let ev = shoot(&mut p, T0);
    match &ev[..] {
        [NewEvent {
            event: Event::CaptureSkipped(s),
            ..
        }] => {
            assert!(s.reason.contains("missing"), "{}", s.reason)
        }
        other => panic!("{other:?}"),
    }
    assert!(!data.exists());
}

#[test]
fn two_shots_in_one_second_never_overwrite_each_other() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut p, _) = performer(dir.path(), SyntheticCamera::new(64, 48).expect("cam"), 0);
    let a = captured(&shoot(&mut p, T0))[0].clone();
    let b = captured(&shoot(&mut p, T0 + 400_000))[0].clone();
    assert_eq!(a.path, "frames/2026/06/01/040000.jpg");
    assert_eq!(b.path, "frames/2026/06/01/040000-1.jpg");
    assert_on_disk(dir.path(), &a);
    assert_on_disk(dir.path(), &b);
}

#[test]
fn bad_settings_are_refused_at_construction() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut s = settings(dir.path(), 0);
    s.jpeg_quality = 0;
    let cam = || Box::new(SyntheticCamera::new(64, 48).expect("cam"));
    assert!(CameraPerformer::new(cam(), s).is_err());
    let mut s = settings(dir.path(), 0);
    s.backoff.first = Duration::ZERO;
    assert!(CameraPerformer::new(cam(), s).is_err());
}
