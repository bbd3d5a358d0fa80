//! The power chain end to end in-process: the clock actor, `spawn_power` with
//! `[power] port = "sim"` (the real ESP32 controller core behind a pseudo-terminal, the shared
//! board link, the power actor), a real journal on a temporary store, and a simulated clock at
//! 3600× that starts inside the day window and runs across its end and into the next window.
//!
//! Then: the link came up after the start, windows were pushed and acked, the board powered
//! the Pi at the window, the Pi asked to shut down at the window's end, confirmed the halt and
//! ran the poweroff command, the board cut the power after the grace ("halt confirmed") and
//! powered it again at the next window; every board event is in the log once, with its
//! origin; and replay re-derives every power decision.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use vigil_actors::clock::ClockCore;
use vigil_actors::journal::{Append, Flush};
use vigil_actors::power::{power_replay_cores, spawn_power, SHUTDOWN_REASON};
use vigil_actors::replay::ReplayCore;
use vigil_actors::shell::Stop;
use vigil_actors::station::spawn_clock;
use vigil_actors::station_clock::ClockSpec;
use vigil_actors::testing::{collecting_journal, replay, session_start, t, Collector};
use vigil_config::Config;
use vigil_events::kinds::SupervisorStopped;
use vigil_events::{Envelope, Event, NewEvent, Source};
use vigil_store::{Store, StoreOptions};

/// Berlin, 2026-06-01: day 04:00Z–16:30Z, dusk 19:00Z–19:30Z (UTC+2).
const CONFIG: &str = concat!(
    vigil_actors::berlin_daily!("day" "06:00" "18:30", "dusk" "21:00" "21:30"),
    r#"[power]
port = "sim"
poweroff_command = "true"
"#
);

#[test]
fn a_simulated_day_end_runs_the_whole_power_cycle_and_replays() {
    let tmp = tempfile::tempdir().expect("tmp");
    let store =
        Arc::new(Store::open(&tmp.path().join("log"), StoreOptions::default()).expect("store"));
    let cfg = Config::parse(CONFIG, "test.toml").expect("config");
    let spec: ClockSpec = "sim:2026-06-01T15:00:00Z@3600x".parse().expect("clock");
    let log = Collector::default();
    let seen = log.clone();
    System::new().block_on(async move {
        let journal = collecting_journal(store, &seen);
        let clock = spec.start();
        let clock_actor = spawn_clock(&journal, clock);
        let stoppers = spawn_power(&cfg, &journal, clock).expect("spawn");
        let now = clock.now();
        journal.do_send(Append(session_start(now, &spec.to_string(), CONFIG)));
        // 15:00Z → 19:45Z at 3600×: under five seconds.
        let until = t("2026-06-01T19:45:00Z");
        while clock.now() < until {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let end = clock.now();
        for s in &stoppers {
            let _ = s.send(Stop).await;
        }
        let _ = clock_actor.send(Stop).await;
        journal.do_send(Append(vec![NewEvent::new(
            end,
            Source::Ops,
            SupervisorStopped {
                reason: "test".into(),
                uptime_s: 1,
            },
        )]));
        let _ = journal.send(Flush).await;
    });

    let log: Vec<Arc<Envelope>> = log.0.lock().expect("log").clone();
    let names: Vec<String> = log
        .iter()
        .map(|e| format!("{} {} {:?}", e.seq, e.source, e.payload))
        .collect();
    let dump = names.join("\n");
    if std::env::var_os("VIGIL_DUMP").is_some() {
        eprintln!("{dump}");
    }
    let first = |pred: &dyn Fn(&Envelope) -> bool| log.iter().find(|e| pred(e)).map(|e| e.seq);

    let started = first(&|e| e.kind == vigil_events::EventKind::SupervisorStarted).expect("start");
    let link_up = first(&|e| matches!(e.payload, Event::LinkUp(_)) && e.source == Source::Power)
        .unwrap_or_else(|| panic!("no LinkUp:\n{dump}"));
    assert!(link_up > started, "LinkUp before the start:\n{dump}");
    assert!(
        log.iter()
            .any(|e| matches!(&e.payload, Event::WindowsPushed(w) if w.count >= 2)),
        "{dump}"
    );
    let on = |reason: &'static str, on: bool| {
        log.iter().find(|e| {
            e.source == Source::Esp32
                && e.origin.is_some()
                && matches!(&e.payload, Event::PowerSwitched(p) if p.on == on && p.reason == reason)
        })
    };
    let window_on = on("window start", true).unwrap_or_else(|| panic!("no power-on:\n{dump}"));
    let shutdown = first(&|e| {
        matches!(&e.payload, Event::ShutdownRequested(s) if s.reason == SHUTDOWN_REASON && s.window == "day")
    })
    .unwrap_or_else(|| panic!("no shutdown:\n{dump}"));
    let poweroff = first(&|e| {
        matches!(&e.payload, Event::PoweroffRun(p) if p.command == "true" && p.exit_code == Some(0))
    })
    .unwrap_or_else(|| panic!("no poweroff:\n{dump}"));
    let cut = on("halt confirmed", false).unwrap_or_else(|| panic!("no graceful cut:\n{dump}"));
    assert!(window_on.seq < shutdown && shutdown < poweroff, "{dump}");
    // The cut happened on the board after the day's end, and after the Pi confirmed.
    let cut_at = cut.origin.expect("origin").device_ts;
    assert!(cut_at >= t("2026-06-01T16:30:00Z"), "{dump}");
    assert!(cut_at < t("2026-06-01T17:30:00Z"), "{dump}");
    // The dusk window powered the Pi again.
    assert!(
        log.iter().any(|e| e.source == Source::Esp32
            && matches!(&e.payload, Event::PowerSwitched(p) if p.on && p.reason == "window start")
            && e.origin
                .is_some_and(|o| o.device_ts >= t("2026-06-01T19:00:00Z"))),
        "{dump}"
    );
    // … and the Pi, powered again, halted gracefully at the dusk window's end too.
    let count = |f: &dyn Fn(&Event) -> bool| log.iter().filter(|e| f(&e.payload)).count();
    assert_eq!(count(&|e| matches!(e, Event::PoweroffRun(_))), 2, "{dump}");
    assert_eq!(
        count(&|e| matches!(e, Event::PowerSwitched(p) if !p.on && p.reason == "halt confirmed")),
        2,
        "{dump}"
    );
    assert!(
        log.iter()
            .any(|e| matches!(&e.payload, Event::ClockOffsetMeasured(c) if c.board_synced)),
        "{dump}"
    );
    // Every board event exactly once.
    let mut keys = BTreeSet::new();
    for e in log.iter().filter(|e| e.source == Source::Esp32) {
        let o = e.origin.expect("board events carry their origin");
        assert!(
            keys.insert((o.device, o.boot, o.seq)),
            "twice: {o:?}\n{dump}"
        );
    }

    let factory = || -> Vec<Box<dyn ReplayCore>> {
        let mut cores = power_replay_cores();
        cores.push(Box::new(ClockCore::new()));
        cores
    };
    let report = replay(&factory, log.iter().map(|e| &**e), 0, false);
    assert!(
        report.mismatches.is_empty(),
        "{:?}\n{dump}",
        report.mismatches
    );
    assert!(report.matched.get(&Source::Power).is_some_and(|n| *n >= 2));
}
