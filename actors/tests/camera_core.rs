//! Given/when/then tests of the camera core: when it shoots, retries and asks for videos.

use std::time::Duration;

use vigil_actors::camera::{CameraCommand, CameraCore, CameraSettings};
use vigil_actors::testing::{self, TestFramework};
use vigil_actors::{Core, Intent};
use vigil_events::kinds::{CameraFault, FrameCaptured, WindowClosed, WindowOpened};
use vigil_events::{Envelope, Event, Source, UtcMicros};

const T0: i64 = 1_780_286_400_000_000; // 2026-06-01T04:00:00Z
const MIN: i64 = 60_000_000;
const SEC: i64 = 1_000_000;

fn core(interval_s: u64) -> TestFramework<CameraCore> {
    TestFramework::with(
        CameraCore::new(&CameraSettings {
            interval: Duration::from_secs(interval_s),
            ..CameraSettings::default()
        })
        .expect("valid interval"),
    )
}

/// The camera core reasons only with time and payloads: every envelope is seq 1.
fn env(ts: UtcMicros, source: Source, ev: impl Into<Event>) -> Envelope {
    testing::env(1, ts, source, ev)
}

fn opened(name: &str, start: i64, end: i64) -> WindowOpened {
    WindowOpened {
        name: name.into(),
        start_us: start,
        end_us: end,
        local_start: "2026-06-01T06:00:00+02:00".into(),
        local_end: String::new(),
        timezone: "Europe/Berlin".into(),
    }
}

fn closed(name: &str, start: i64, end: i64) -> WindowClosed {
    WindowClosed {
        name: name.into(),
        start_us: start,
        end_us: end,
    }
}

fn frame(scheduled: i64) -> FrameCaptured {
    FrameCaptured {
        path: format!("frames/x/{scheduled}.jpg"),
        bytes: 10,
        blake3: "00".repeat(32),
        width: 16,
        height: 16,
        scheduled_us: scheduled,
        actual_us: scheduled + 1000,
    }
}

/// Tick the core at each deadline up to `until`; return the scheduled times of captures.
fn run_until(core: &mut TestFramework<CameraCore>, until: i64) -> Vec<i64> {
    let mut shots = Vec::new();
    for (_, i) in core.when_time_passes(until) {
        match i {
            Intent::Do(CameraCommand::Capture { scheduled }) => shots.push(scheduled),
            other => panic!("unexpected intent {other:?}"),
        }
    }
    shots
}

#[test]
fn given_an_open_window_it_shoots_on_the_grid_and_only_inside() {
    let mut c = core(60);
    let (start, end) = (T0, T0 + 10 * MIN + 30 * SEC);
    let out = c
        .when(env(start + 300, Source::Clock, opened("day", start, end)))
        .intents;
    assert!(out.is_empty());
    let shots = run_until(&mut c, end + 10 * MIN);
    let expected: Vec<i64> = (0..=10).map(|k| start + k * MIN).collect();
    assert_eq!(shots, expected);
    assert!(shots.iter().all(|&s| s >= start && s < end));
    assert_eq!(
        c.core().next_deadline(),
        None,
        "nothing after the window's end"
    );
}

#[test]
fn given_no_window_it_never_shoots() {
    let mut c = core(60);
    assert_eq!(c.core().next_deadline(), None);
    assert!(c.when_tick(T0).intents.is_empty());
}

#[test]
fn when_the_window_opens_late_missed_slots_are_not_caught_up() {
    let mut c = core(60);
    let (start, end) = (T0, T0 + 30 * MIN);
    // Heard of 10 min 1.5 s after the start: the 10-min slot is within the 2 s tolerance.
    c.when(env(
        start + 10 * MIN + 1_500_000,
        Source::Clock,
        opened("day", start, end),
    ));
    assert_eq!(c.core().next_deadline(), Some(start + 10 * MIN));
    // 10 min 3 s late: that slot is gone, next is 11 min.
    let mut c = core(60);
    c.when(env(
        start + 10 * MIN + 3 * SEC,
        Source::Clock,
        opened("day", start, end),
    ));
    assert_eq!(c.core().next_deadline(), Some(start + 11 * MIN));
}

#[test]
fn when_a_window_closes_shooting_stops_and_its_video_is_asked_with_its_frames() {
    let mut c = core(60);
    let (start, end) = (T0, T0 + 5 * MIN);
    c.when(env(start, Source::Clock, opened("day", start, end)));
    assert_eq!(
        run_until(&mut c, start + 2 * MIN),
        vec![start, start + MIN, start + 2 * MIN]
    );
    for s in [start, start + MIN, start - MIN] {
        c.when(env(s + 5000, Source::Camera, frame(s)));
    }
    let out = c
        .when(env(
            start + 2 * MIN + 10 * SEC,
            Source::Clock,
            closed("day", start, end),
        ))
        .intents;
    assert_eq!(
        out,
        vec![Intent::Do(CameraCommand::BuildTimelapse {
            window: "day".into(),
            start,
            end,
            date: "2026-06-01".into(),
            frames: vec![frame(start), frame(start + MIN)],
        })]
    );
    assert_eq!(c.core().next_deadline(), None);
}

#[test]
fn a_window_never_seen_open_is_not_built() {
    let mut c = core(60);
    assert!(c
        .when(env(T0, Source::Clock, closed("day", T0 - MIN, T0)))
        .intents
        .is_empty());
}

#[test]
fn after_a_fault_the_grid_is_held_and_a_retry_is_shot_then_the_grid_resumes() {
    let mut c = core(60);
    let (start, end) = (T0, T0 + 10 * MIN);
    c.when(env(start, Source::Clock, opened("day", start, end)));
    assert_eq!(run_until(&mut c, start), vec![start]);
    let fault = CameraFault {
        error: "device vanished".into(),
        attempt: 1,
        retry_in_ms: 90_000,
    };
    c.when(env(start + SEC, Source::Camera, fault));
    // The 1-min slot falls inside the backoff: held. Retry at 1 s + 90 s.
    assert_eq!(run_until(&mut c, start + 91 * SEC), vec![start + 91 * SEC]);
    c.when(env(
        start + 92 * SEC,
        Source::Camera,
        frame(start + 91 * SEC),
    ));
    assert_eq!(
        run_until(&mut c, start + 3 * MIN),
        vec![start + 2 * MIN, start + 3 * MIN]
    );
}

#[test]
fn a_retry_outside_every_window_is_not_shot() {
    let mut c = core(60);
    let (start, end) = (T0, T0 + MIN);
    c.when(env(start, Source::Clock, opened("day", start, end)));
    run_until(&mut c, start);
    let fault = CameraFault {
        error: "x".into(),
        attempt: 1,
        retry_in_ms: 120_000,
    };
    c.when(env(start + SEC, Source::Camera, fault));
    assert!(run_until(&mut c, start + 10 * MIN).is_empty());
}

#[test]
fn overlapping_windows_share_a_shot_and_each_gets_its_frames() {
    let mut c = core(60);
    c.when(env(T0, Source::Clock, opened("a", T0, T0 + 3 * MIN)));
    c.when(env(T0, Source::Clock, opened("b", T0 + MIN, T0 + 5 * MIN)));
    let shots = run_until(&mut c, T0 + 10 * MIN);
    assert_eq!(shots, (0..5).map(|k| T0 + k * MIN).collect::<Vec<_>>());
    c.when(env(T0 + 2 * MIN, Source::Camera, frame(T0 + 2 * MIN)));
    let built = |out: Vec<Intent<CameraCommand>>| match out.as_slice() {
        [Intent::Do(CameraCommand::BuildTimelapse { frames, .. })] => frames.len(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        built(
            c.when(env(
                T0 + 3 * MIN,
                Source::Clock,
                closed("a", T0, T0 + 3 * MIN)
            ))
            .intents
        ),
        1
    );
    assert_eq!(
        built(
            c.when(env(
                T0 + 5 * MIN,
                Source::Clock,
                closed("b", T0 + MIN, T0 + 5 * MIN)
            ))
            .intents
        ),
        1
    );
}

#[test]
fn the_core_takes_no_decisions_and_refuses_a_tiny_interval() {
    let c = core(60);
    assert!(c.core().decisions().is_empty());
    assert_eq!(c.core().source(), Source::Camera);
    let err = CameraCore::new(&CameraSettings {
        interval: Duration::from_millis(50),
        ..CameraSettings::default()
    })
    .expect_err("50 ms");
    assert!(err.to_string().contains("100 ms"), "{err}");
}

#[test]
fn replaying_the_same_events_gives_the_same_commands() {
    let events = vec![
        env(T0 + 7, Source::Clock, opened("day", T0, T0 + 4 * MIN)),
        env(
            T0 + 61 * SEC,
            Source::Camera,
            CameraFault {
                error: "x".into(),
                attempt: 1,
                retry_in_ms: 2000,
            },
        ),
    ];
    let run = || {
        let mut c = core(60);
        let mut log = Vec::new();
        for e in &events {
            log.push(format!("{:?}", c.when(e.clone()).intents));
            log.extend(
                run_until(&mut c, e.ts + 30 * SEC)
                    .iter()
                    .map(|s| s.to_string()),
            );
        }
        log.extend(
            run_until(&mut c, T0 + 10 * MIN)
                .iter()
                .map(|s| s.to_string()),
        );
        log
    };
    assert_eq!(run(), run());
}

#[test]
fn with_videos_switched_off_a_closed_window_asks_for_nothing() {
    let mut c = TestFramework::with(
        CameraCore::new(&CameraSettings {
            build_timelapse: false,
            ..CameraSettings::default()
        })
        .expect("core"),
    );
    c.when(env(T0, Source::Clock, opened("day", T0, T0 + MIN)));
    assert!(c
        .when(env(T0 + MIN, Source::Clock, closed("day", T0, T0 + MIN)))
        .intents
        .is_empty());
    assert_eq!(c.core().next_deadline(), None);
}
