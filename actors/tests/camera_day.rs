//! A simulated day through the camera core and performer, wired by a miniature journal:
//! frames only inside windows, an outage mid-window handled by retry, every frame's hash
//! verifies on disk, and each closed window gets its video.

use std::collections::VecDeque;
use std::fs;
use std::path::Path;
use std::time::Duration;

use vigil_actors::camera::{
    Backoff, CameraCore, CameraPerformer, CameraSettings, SyntheticCamera, TimelapseSettings,
};
use vigil_actors::{split, Core, Performer};
use vigil_events::kinds::{WindowClosed, WindowOpened};
use vigil_events::{DataClass, Envelope, Event, NewEvent, Source};

const DAY: i64 = 1_780_272_000_000_000; // 2026-06-01T00:00:00Z
const MIN: i64 = 60_000_000;
const SEC: i64 = 1_000_000;

fn window(name: &str, start: i64, end: i64) -> [NewEvent; 2] {
    [
        NewEvent::new(
            start + 250,
            Source::Clock,
            WindowOpened {
                name: name.into(),
                start_us: start,
                end_us: end,
                local_start: String::new(),
                local_end: String::new(),
                timezone: "UTC".into(),
            },
        ),
        NewEvent::new(
            end + 250,
            Source::Clock,
            WindowClosed {
                name: name.into(),
                start_us: start,
                end_us: end,
            },
        ),
    ]
}

#[test]
fn a_simulated_day_shoots_only_inside_windows_and_builds_each_video() {
    let dir = tempfile::tempdir().expect("tmp");
    let settings = CameraSettings {
        interval: Duration::from_secs(60),
        width: 160,
        height: 120,
        backoff: Backoff {
            first: Duration::from_secs(20),
            max: Duration::from_secs(60),
        },
        min_free_bytes: 0,
        timelapse: TimelapseSettings {
            fps: 10,
            segment_frames: 8,
            ..TimelapseSettings::default()
        },
        ..CameraSettings::default()
    };
    let (m0, m1) = (DAY + 5 * 60 * MIN, DAY + 5 * 60 * MIN + 30 * MIN);
    let (e0, e1) = (DAY + 17 * 60 * MIN, DAY + 17 * 60 * MIN + 20 * MIN);
    // The camera is unplugged from 05:10:30 to 05:13:00.
    let outage = (m0 + 10 * MIN + 30 * SEC, m0 + 13 * MIN);
    let cam = SyntheticCamera::new(160, 120)
        .expect("cam")
        .with_outage(outage.0, outage.1);
    let mut perf =
        CameraPerformer::new(Box::new(cam), settings.performer(dir.path())).expect("performer");
    let mut core = CameraCore::new(&settings).expect("core");

    let [mo, mc] = window("morning", m0, m1);
    let [eo, ec] = window("evening", e0, e1);
    let mut clock: VecDeque<NewEvent> = VecDeque::from(vec![mo, mc, eo, ec]);
    let mut log: Vec<Envelope> = Vec::new();
    let append = |ev: NewEvent, core: &mut CameraCore, log: &mut Vec<Envelope>| {
        let env = Envelope::unchained(log.len() as u64 + 1, DataClass::General, ev);
        let (emitted, cmds) = split(core.on_event(&env));
        assert!(emitted.is_empty(), "the camera core takes no decisions");
        log.push(env);
        cmds
    };
    let mut pending = Vec::new();
    loop {
        let next_clock = clock.front().map(|e| e.ts);
        let next_tick = core.next_deadline();
        let now = match (next_clock, next_tick) {
            (None, None) => break,
            (Some(c), Some(t)) if t < c => t,
            (Some(c), _) => c,
            (None, Some(t)) => t,
        };
        if next_tick == Some(now) {
            pending.extend(split(core.on_tick(now)).1);
        } else if let Some(ev) = clock.pop_front() {
            pending.extend(append(ev, &mut core, &mut log));
        }
        while let Some(cmd) = (!pending.is_empty()).then(|| pending.remove(0)) {
            for ev in perf.perform(cmd, now) {
                pending.extend(append(ev, &mut core, &mut log));
            }
        }
    }

    let frames: Vec<_> = log
        .iter()
        .filter_map(|e| match &e.payload {
            Event::FrameCaptured(f) => Some(f.clone()),
            _ => None,
        })
        .collect();
    let inside = |t: i64| (t >= m0 && t < m1) || (t >= e0 && t < e1);
    assert!(
        frames.iter().all(|f| inside(f.scheduled_us)),
        "a frame outside a window"
    );
    assert!(frames
        .iter()
        .all(|f| !(f.actual_us >= outage.0 && f.actual_us < outage.1)));
    for f in &frames {
        let bytes = fs::read(dir.path().join(&f.path)).expect("every recorded frame is on disk");
        assert_eq!(
            blake3::hash(&bytes).to_hex().as_str(),
            f.blake3,
            "{}",
            f.path
        );
    }
    let faults = log
        .iter()
        .filter(|e| matches!(e.payload, Event::CameraFault(_)))
        .count();
    // 05:11 fails (retry in 20 s), 05:11:20 fails (40 s), 05:12:00 fails (60 s, the cap); the
    // grid slots inside the backoff are held; the retry at 05:13:00 succeeds.
    assert_eq!(faults, 3);
    // Morning: 05:00..=05:10 (11 frames), the 05:13 retry, 05:14..=05:29 (16 frames).
    let morning: Vec<_> = frames.iter().filter(|f| f.scheduled_us < m1).collect();
    assert_eq!(morning.len(), 28);
    assert_eq!(frames.len() - morning.len(), 20);

    let built: Vec<_> = log
        .iter()
        .filter_map(|e| match &e.payload {
            Event::TimelapseBuilt(b) => Some(b.clone()),
            Event::TimelapseFailed(f) => panic!("timelapse failed: {}", f.error),
            _ => None,
        })
        .collect();
    assert_eq!(built.len(), 2);
    assert_eq!(built[0].path, "videos/2026-06-01-morning.mp4");
    assert_eq!(built[0].frames, morning.len() as u64);
    assert_eq!(built[1].frames, 20);
    for b in &built {
        assert_eq!((b.missing, b.altered), (0, 0));
        assert!(Path::new(&dir.path().join(&b.path)).is_file());
    }
}
