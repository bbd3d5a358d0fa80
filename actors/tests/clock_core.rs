//! Given/when/then tests of the clock core: given a config and a start, when time passes
//! (ticks at the deadlines it asks for), then these windows open and close.

use vigil_actors::clock::ClockCore;
use vigil_actors::replay::{Replay, ReplayCore};
use vigil_actors::testing::{config_loaded, env, started, t, TestFramework, BERLIN_DAY};
use vigil_actors::Core;
use vigil_events::kinds::WindowOpened;
use vigil_events::{Envelope, Event, Source};

fn given_started(at: i64, text: &str) -> TestFramework<ClockCore> {
    let mut test = TestFramework::with(ClockCore::new());
    test.when(started(1, at)).then_nothing();
    test.when(config_loaded(2, at, text)).then_nothing();
    assert_eq!(test.core().config_error, None);
    test
}

#[test]
fn opens_and_closes_berlin_day_window_at_resolved_instants() {
    let mut test = given_started(t("2026-06-01T03:00:00Z"), BERLIN_DAY);
    let seen = test.events_until(t("2026-06-02T03:00:00Z"));
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0].0, t("2026-06-01T04:00:00Z"));
    match &seen[0].1 {
        Event::WindowOpened(w) => {
            assert_eq!(w.name, "day");
            assert_eq!(w.end_us, t("2026-06-01T16:30:00Z"));
            assert_eq!(w.local_start, "2026-06-01T06:00:00+02:00");
            assert_eq!(w.timezone, "Europe/Berlin");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(seen[1].0, t("2026-06-01T16:30:00Z"));
    assert!(matches!(seen[1].1, Event::WindowClosed(_)));
}

#[test]
fn start_inside_a_window_opens_it_at_once() {
    let at = t("2026-06-01T10:00:00Z");
    let mut test = given_started(at, BERLIN_DAY);
    assert_eq!(test.core().next_deadline(), Some(at));
    let seen = test.events_until(at);
    assert_eq!(seen.len(), 1);
    match &seen[0].1 {
        Event::WindowOpened(w) => assert_eq!(w.start_us, t("2026-06-01T04:00:00Z")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn dst_spring_forward_keeps_window_edges_in_local_time() {
    // Europe/Berlin springs forward on 2026-03-29 at 02:00 local.
    let mut test = given_started(t("2026-03-28T00:00:00Z"), BERLIN_DAY);
    let seen = test.events_until(t("2026-03-30T00:00:00Z"));
    let opens: Vec<i64> = seen
        .iter()
        .filter_map(|(_, e)| match e {
            Event::WindowOpened(w) => Some(w.start_us),
            _ => None,
        })
        .collect();
    assert_eq!(
        opens,
        vec![t("2026-03-28T05:00:00Z"), t("2026-03-29T04:00:00Z")]
    );
}

#[test]
fn no_schedule_no_deadline() {
    let mut core = ClockCore::new();
    core.on_event(&started(1, 0));
    assert_eq!(core.next_deadline(), None);
    assert!(core.on_tick(10).is_empty());
}

#[test]
fn bad_config_in_the_log_is_reported_not_panicked() {
    let mut core = ClockCore::new();
    core.on_event(&started(1, 0));
    core.on_event(&config_loaded(
        2,
        0,
        "[schedule]\ntimezone = \"Mars/Olympus\"\n",
    ));
    assert!(core.config_error.is_some());
    assert_eq!(core.next_deadline(), None);
}

fn factory() -> Vec<Box<dyn ReplayCore>> {
    vec![Box::new(ClockCore::new())]
}

/// The live order of a short session: start, config, then the decisions at their deadlines.
fn recorded_session() -> Vec<Envelope> {
    let start = t("2026-06-01T03:00:00Z");
    let mut test = given_started(start, BERLIN_DAY);
    for (d, e) in test.events_until(t("2026-06-01T20:00:00Z")) {
        test.record(d + 1_000, vec![e]);
    }
    test.log().to_vec()
}

#[test]
fn replay_rederives_recorded_windows() {
    let f = factory;
    let mut replay = Replay::new(&f, 1);
    for e in recorded_session() {
        replay.feed(&e);
    }
    let report = replay.finish();
    assert!(report.mismatches.is_empty(), "{:?}", report.mismatches);
    assert_eq!(report.matched.get(&Source::Clock), Some(&2));
    assert_eq!(report.windows.len(), 1);
}

#[test]
fn replay_names_the_seq_of_a_forged_window() {
    let mut log = recorded_session();
    // Tamper: the recorded opening claims another start.
    if let Event::WindowOpened(w) = &mut log[2].payload {
        w.start_us += 3_600_000_000;
    }
    let f = factory;
    let mut replay = Replay::new(&f, 1);
    for e in &log {
        replay.feed(e);
    }
    let report = replay.finish();
    assert_eq!(report.mismatches.first().map(|m| m.seq), Some(3));
}

#[test]
fn replay_flags_a_decision_missing_before_a_clean_stop() {
    let mut log = recorded_session();
    log.remove(3); // drop the WindowClosed
    let seq = log.len() as u64 + 1;
    log.push(env(
        seq,
        t("2026-06-01T20:00:00Z"),
        Source::Ops,
        vigil_events::kinds::SupervisorStopped {
            reason: "test".into(),
            uptime_s: 1,
        },
    ));
    let f = factory;
    let mut replay = Replay::new(&f, 1);
    for e in &log {
        replay.feed(e);
    }
    let report = replay.finish();
    assert_eq!(report.mismatches.len(), 1, "{:?}", report.mismatches);
    assert!(report.mismatches[0].problem.contains("WindowClosed"));
}

#[test]
fn a_decision_recorded_outside_any_session_is_forged() {
    let f = factory;
    let mut replay = Replay::new(&f, 1);
    replay.feed(&env(
        1,
        0,
        Source::Clock,
        WindowOpened {
            name: "x".into(),
            start_us: 0,
            end_us: 1,
            local_start: String::new(),
            local_end: String::new(),
            timezone: String::new(),
        },
    ));
    let r = replay.finish();
    assert_eq!(r.events, 1);
    assert_eq!(r.mismatches.len(), 1);
    assert!(r.mismatches[0].problem.contains("no supervisor"));
}
