//! Given/when/then tests of the power core: given a recorded config and start, when events
//! arrive (link up, windows closing, board power) or time passes, then these decisions and
//! commands.

use vigil_actors::configured::Configured;
use vigil_actors::power::{
    configured_power, digest_of, power_replay_cores, window_list, PowerCommand, PowerCore,
    MERGE_GAP_US, NOTICE_REASON, SHUTDOWN_REASON,
};
use vigil_actors::testing::{
    config_loaded as loaded, env, replay as replay_log, started, t, TestFramework,
};
use vigil_actors::{split, Core, Intent};
use vigil_config::Config;
use vigil_events::kinds::{
    ConfigChanged, LinkDown, LinkUp, PowerSwitched, ShutdownRequested, SupervisorStopped,
    WindowClosed, WindowsPushed,
};
use vigil_events::{BoardOrigin, Envelope, Event, NewEvent, Source, UtcMicros};

const CONFIG: &str = concat!(
    vigil_actors::berlin_daily!("day" "06:00" "18:30"),
    r#"[[schedule.window]]
name = "late"
days = ["mon"]
start = "18:35"
end = "19:00"
[power]
hard_deadline = "3m"
push_days = 2
"#
);

const H: i64 = 3_600_000_000;
const DAY: i64 = 24 * H;

fn link_up(seq: u64, ts: UtcMicros, source: Source) -> Envelope {
    env(
        seq,
        ts,
        source,
        LinkUp {
            port: "sim".into(),
            device: 7,
            boot: 1,
            protocol: 1,
        },
    )
}

fn closed(seq: u64, ts: UtcMicros, name: &str, start_us: i64, end_us: i64) -> Envelope {
    env(
        seq,
        ts,
        Source::Clock,
        WindowClosed {
            name: name.into(),
            start_us,
            end_us,
        },
    )
}

fn cfg() -> Config {
    Config::parse(CONFIG, "test.toml").expect("test config")
}

fn pushed(intents: &[Intent<PowerCommand>]) -> Vec<WindowsPushed> {
    intents
        .iter()
        .filter_map(|i| match i {
            Intent::Emit(Event::WindowsPushed(w)) => Some(w.clone()),
            _ => None,
        })
        .collect()
}

fn commands(intents: Vec<Intent<PowerCommand>>) -> Vec<PowerCommand> {
    split(intents).1
}

/// Monday 2026-06-01, 05:00 Berlin (03:00Z): before the day window.
fn monday_early() -> UtcMicros {
    t("2026-06-01T03:00:00Z")
}

fn given_started(at: UtcMicros) -> TestFramework<Configured<PowerCore>> {
    let mut test = TestFramework::with(configured_power());
    test.when(started(1, at)).then_nothing();
    let intents = test.when(loaded(2, at, CONFIG)).intents;
    assert_eq!(test.core().config_error, None);
    let cmds = commands(intents);
    assert_eq!(cmds.first(), Some(&PowerCommand::Connect), "{cmds:?}");
    test
}

#[test]
fn at_start_the_core_connects_and_pushes_the_next_days_in_utc() {
    let at = monday_early();
    let mut core = configured_power();
    core.on_event(&started(1, at));
    let intents = core.on_event(&loaded(2, at, CONFIG));
    let p = pushed(&intents);
    assert_eq!(p.len(), 1);
    // push_days = 2: Monday's day (merged with "late", 5 minutes apart? no: they do not
    // touch, so two periods) and Tuesday's day.
    assert_eq!(p[0].count, 3);
    assert_eq!(p[0].first_start_us, t("2026-06-01T04:00:00Z"));
    assert_eq!(p[0].last_end_us, t("2026-06-02T16:30:00Z"));
    let list = window_list(&cfg().schedule, at, 2);
    assert_eq!(
        list.windows,
        vec![
            (t("2026-06-01T04:00:00Z"), t("2026-06-01T16:30:00Z")),
            (t("2026-06-01T16:35:00Z"), t("2026-06-01T17:00:00Z")),
            (t("2026-06-02T04:00:00Z"), t("2026-06-02T16:30:00Z")),
        ]
    );
    assert_eq!(p[0].digest, list.digest_hex());
    assert_eq!(list.digest, digest_of(&list.windows));
    let cmds = commands(intents);
    assert!(cmds.contains(&PowerCommand::Push(list)), "{cmds:?}");
}

#[test]
fn every_link_up_of_the_esp32_link_pushes_again_but_not_the_picos() {
    let at = monday_early();
    let mut test = given_started(at);
    let intents = test.when(link_up(3, at + 1_000_000, Source::Power)).intents;
    assert_eq!(pushed(&intents).len(), 1);
    assert_eq!(commands(intents)[0], PowerCommand::LinkUp);
    assert!(test
        .when(link_up(4, at + 2_000_000, Source::Classifier))
        .intents
        .is_empty());
    let down = env(
        5,
        at + 3_000_000,
        Source::Power,
        LinkDown {
            port: "sim".into(),
            reason: "port vanished".into(),
            retry_in_ms: 100,
        },
    );
    assert_eq!(
        commands(test.when(down).intents),
        vec![PowerCommand::LinkDown]
    );
}

#[test]
fn the_horizon_moves_once_a_day() {
    let at = monday_early();
    let mut test = given_started(at);
    assert_eq!(test.core().next_deadline(), Some(at + DAY));
    assert!(test.when_tick(at + DAY - 1).intents.is_empty());
    let intents = test.when_tick(at + DAY).intents;
    let p = pushed(&intents);
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].first_start_us, t("2026-06-02T04:00:00Z"));
    assert_eq!(test.core().next_deadline(), Some(at + 2 * DAY));
}

#[test]
fn a_config_change_rebuilds_and_pushes_the_new_list() {
    let at = monday_early();
    let mut test = given_started(at);
    let text = CONFIG.replace("end = \"18:30\"", "end = \"17:00\"");
    let changed = env(
        3,
        at + H,
        Source::Ops,
        ConfigChanged {
            path: "test.toml".into(),
            old_hash: String::new(),
            new_hash: String::new(),
            text,
        },
    );
    let intents = test.when(changed).intents;
    let p = pushed(&intents);
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].first_start_us, t("2026-06-01T04:00:00Z"));
    let list = window_list(&cfg().schedule, at, 2);
    assert_ne!(p[0].digest, list.digest_hex(), "the new list differs");
}

#[test]
fn the_last_window_closing_requests_the_shutdown_with_the_hard_deadline() {
    let at = monday_early();
    let mut test = given_started(at);
    // Tuesday: only "day"; it closes at 16:30Z and nothing follows within the merge gap.
    let (s, e) = (t("2026-06-02T04:00:00Z"), t("2026-06-02T16:30:00Z"));
    let intents = test.when(closed(3, e + 5, "day", s, e)).intents;
    let (events, cmds) = split(intents);
    assert_eq!(
        events,
        vec![Event::ShutdownRequested(ShutdownRequested {
            window: "day".into(),
            reason: SHUTDOWN_REASON.into(),
            deadline_us: e + 180_000_000,
        })]
    );
    assert_eq!(cmds, vec![PowerCommand::Shutdown { window_end_us: e }]);
}

#[test]
fn no_shutdown_while_another_window_is_open_or_starts_within_the_merge_gap() {
    let at = monday_early();
    let mut test = given_started(at);
    // Monday: "late" starts 5 minutes after "day" ends: the board keeps the power on.
    let (s, e) = (t("2026-06-01T04:00:00Z"), t("2026-06-01T16:30:00Z"));
    assert!(t("2026-06-01T16:35:00Z") - e < MERGE_GAP_US);
    assert!(test.when(closed(3, e, "day", s, e)).intents.is_empty());
    // "late" ends at 17:00Z: now the Pi shuts down.
    let (s2, e2) = (t("2026-06-01T16:35:00Z"), t("2026-06-01T17:00:00Z"));
    let (events, _) = split(test.when(closed(4, e2, "late", s2, e2)).intents);
    assert_eq!(events.len(), 1);
}

#[test]
fn board_power_reports_reach_the_performer_only_from_the_esp32() {
    let at = monday_early();
    let mut test = given_started(at);
    let sw = |source| {
        let ev = NewEvent::new(
            at + H,
            source,
            PowerSwitched {
                on: false,
                reason: "halt confirmed".into(),
            },
        )
        .with_origin(BoardOrigin {
            device: 7,
            boot: 1,
            seq: 9,
            device_ts: at + H,
        });
        Envelope::unchained(3, ev.kind().default_class(), ev)
    };
    assert_eq!(
        commands(test.when(sw(Source::Esp32)).intents),
        vec![PowerCommand::BoardPower { on: false }]
    );
    assert!(test.when(sw(Source::Ops)).intents.is_empty());
}

#[test]
fn a_shutdown_the_performer_observed_is_not_a_decision() {
    let decided = env(
        1,
        0,
        Source::Power,
        ShutdownRequested {
            window: "day".into(),
            reason: SHUTDOWN_REASON.into(),
            deadline_us: 0,
        },
    );
    let observed = env(
        2,
        0,
        Source::Power,
        ShutdownRequested {
            window: String::new(),
            reason: NOTICE_REASON.into(),
            deadline_us: 0,
        },
    );
    let built = given_started(monday_early());
    assert!(Core::is_decision(built.core(), &decided));
    assert!(!Core::is_decision(built.core(), &observed));
}

#[test]
fn replay_re_derives_the_recorded_decisions_and_names_a_forged_one() {
    let at = monday_early();
    let (s, e) = (t("2026-06-02T04:00:00Z"), t("2026-06-02T16:30:00Z"));
    let mut test = given_started(at);
    let mut log: Vec<Envelope> = vec![started(1, at), loaded(2, at, CONFIG)];
    // What a live run records: the start push, a link up and its push, a daily push, the
    // shutdown.
    record(&mut log, split(configured_power_after_start(at)).0, at);
    let up = link_up(next(&log), at + 1_000_000, Source::Power);
    log.push(up.clone());
    record(&mut log, split(test.when(up).intents).0, at + 1_000_000);
    let due = test.core().next_deadline().expect("a daily push is due");
    assert_eq!(due, at + 1_000_000 + DAY, "a day after the last push");
    record(&mut log, split(test.when_tick(due).intents).0, due);
    let c = closed(next(&log), e, "day", s, e);
    log.push(c.clone());
    record(&mut log, split(test.when(c).intents).0, e);
    log.push(env(
        next(&log),
        e + H,
        Source::Ops,
        SupervisorStopped {
            reason: "test".into(),
            uptime_s: 1,
        },
    ));

    let report = replay(&log);
    assert!(report.mismatches.is_empty(), "{:?}", report.mismatches);
    assert_eq!(report.matched.get(&Source::Power), Some(&4));

    // A forged shutdown (no window closed then) is named by its seq.
    let mut forged = log.clone();
    let n = forged.len() as u64;
    let stop = forged.pop().expect("stop");
    forged.push(env(
        n,
        e + 2 * H,
        Source::Power,
        ShutdownRequested {
            window: "day".into(),
            reason: SHUTDOWN_REASON.into(),
            deadline_us: 0,
        },
    ));
    forged.push(Envelope { seq: n + 1, ..stop });
    let report = replay(&forged);
    assert_eq!(report.mismatches.len(), 1, "{:?}", report.mismatches);
    assert_eq!(report.mismatches[0].seq, n);
}

fn next(log: &[Envelope]) -> u64 {
    log.len() as u64 + 1
}

fn record(log: &mut Vec<Envelope>, events: Vec<Event>, ts: UtcMicros) {
    for ev in events {
        log.push(env(next(log), ts, Source::Power, ev));
    }
}

fn configured_power_after_start(at: UtcMicros) -> Vec<Intent<PowerCommand>> {
    let mut core = configured_power();
    core.on_event(&started(1, at));
    core.on_event(&loaded(2, at, CONFIG))
}

fn replay(log: &[Envelope]) -> vigil_actors::replay::ReplayReport {
    replay_log(&power_replay_cores, log, 0, false)
}
