//! Test support (cargo feature `test-support`, for dev-dependencies only): a given/when/then
//! harness for actor cores, and the envelopes and configs core tests share.
//!
//! A core test reads as the [`Core`] contract does: *given* these committed events, *when*
//! this event is committed (or time reaches a deadline), *then* the core returns these
//! intents.
//!
//! ```
//! use vigil_actors::clock::ClockCore;
//! use vigil_actors::testing::{config_loaded, started, t, TestFramework, BERLIN_DAY};
//! use vigil_events::Event;
//!
//! let at = t("2026-06-01T03:00:00Z");
//! // Given a session started with the Berlin day config …
//! let mut test = TestFramework::with(ClockCore::new());
//! test.when(started(1, at)).then_nothing();
//! test.when(config_loaded(2, at, BERLIN_DAY)).then_nothing();
//! // … when a day passes, then the day window opens at 06:00 local and closes at 18:30.
//! let seen = test.events_until(t("2026-06-02T03:00:00Z"));
//! assert_eq!(seen.len(), 2);
//! assert_eq!(seen[0].0, t("2026-06-01T04:00:00Z"));
//! assert!(matches!(seen[0].1, Event::WindowOpened(_)));
//! assert!(matches!(seen[1].1, Event::WindowClosed(_)));
//! ```
//!
//! The framework keeps the log it was fed ([`TestFramework::log`]); a test records the
//! decisions as a shell would ([`TestFramework::record`]) and checks them with [`replay`].

use std::sync::{Arc, Mutex};

use actix::{Actor, Addr, Context, Handler};
use vigil_events::kinds::{ConfigLoaded, SupervisorStarted};
use vigil_events::{ClassPolicy, Envelope, Event, NewEvent, Source, UtcMicros};
use vigil_store::Store;

use crate::core::{split, Core, Intent};
use crate::journal::{Committed, GroupCommit, Journal, Subscribe};
use crate::replay::{CoreFactory, DeadlineHints, Replay, ReplayReport};

/// The `[schedule]` of a station in Europe/Berlin whose windows are open every day, as a
/// string literal (so `concat!` can add more sections):
/// `berlin_daily!("day" "06:00" "18:30", "dusk" "21:00" "21:30")`.
///
/// ```
/// use vigil_actors::testing::t;
///
/// const CONFIG: &str = concat!(vigil_actors::berlin_daily!("day" "06:00" "18:30"), "[power]\n");
/// let cfg = vigil_config::Config::parse(CONFIG, "test.toml").expect("valid");
/// let at = |s| chrono::DateTime::from_timestamp_micros(t(s)).expect("time");
/// let on = cfg.schedule.on_periods(at("2026-06-01T00:00:00Z"), at("2026-06-02T00:00:00Z"));
/// assert_eq!(on.len(), 1);
/// assert_eq!(on[0].start.timestamp_micros(), t("2026-06-01T04:00:00Z"));
/// ```
#[macro_export]
macro_rules! berlin_daily {
    ($($name:literal $start:literal $end:literal),+ $(,)?) => {
        concat!(
            "\n[schedule]\ntimezone = \"Europe/Berlin\"\n",
            $("[[schedule.window]]\nname = \"", $name,
              "\"\ndays = [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\", \"sat\", \"sun\"]\nstart = \"",
              $start, "\"\nend = \"", $end, "\"\n",)+
        )
    };
}

/// A Berlin station with one window every day, 06:00–18:30 local (04:00Z–16:30Z in summer).
pub const BERLIN_DAY: &str = berlin_daily!("day" "06:00" "18:30");

/// An RFC 3339 time as UTC µs. Panics on a malformed literal (test input only).
pub fn t(s: &str) -> UtcMicros {
    chrono::DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("test time {s:?}: {e}"))
        .timestamp_micros()
}

/// A committed (unchained) envelope `seq` of `ev` at `ts` from `source`, in its default class.
pub fn env(seq: u64, ts: UtcMicros, source: Source, ev: impl Into<Event>) -> Envelope {
    envelope(seq, NewEvent::new(ts, source, ev))
}

/// A committed (unchained) envelope `seq` of an event already built, in its default class.
pub fn envelope(seq: u64, ev: NewEvent) -> Envelope {
    let class = ev.kind().default_class();
    Envelope::unchained(seq, class, ev)
}

/// `SupervisorStarted` at `ts` (station clock `sim`): the start of a session.
pub fn started(seq: u64, ts: UtcMicros) -> Envelope {
    let [start, _] = session_parts(ts, "sim", "");
    envelope(seq, start)
}

/// `ConfigLoaded` of `text` at `ts` (path `test.toml`).
pub fn config_loaded(seq: u64, ts: UtcMicros, text: &str) -> Envelope {
    let [_, loaded] = session_parts(ts, "sim", text);
    envelope(seq, loaded)
}

/// The two events that open a session as the supervisor appends them, both at `ts`:
/// `SupervisorStarted` (with the station clock named `clock`) and `ConfigLoaded` of `config`.
pub fn session_start(ts: UtcMicros, clock: &str, config: &str) -> Vec<NewEvent> {
    session_parts(ts, clock, config).into()
}

fn session_parts(ts: UtcMicros, clock: &str, config: &str) -> [NewEvent; 2] {
    [
        NewEvent::new(
            ts,
            Source::Ops,
            SupervisorStarted {
                version: "test".into(),
                clock: clock.into(),
                pid: 1,
                host: "h".into(),
            },
        ),
        NewEvent::new(
            ts,
            Source::Ops,
            ConfigLoaded {
                path: "test.toml".into(),
                hash: String::new(),
                text: config.into(),
            },
        ),
    ]
}

/// Replays `log` through the cores `factory` builds, reporting from `from_seq`; with `hints`,
/// deadlines go where the log recorded them ([`DeadlineHints`]).
pub fn replay<'a>(
    factory: &CoreFactory,
    log: impl IntoIterator<Item = &'a Envelope>,
    from_seq: u64,
    hints: bool,
) -> ReplayReport {
    let log: Vec<&Envelope> = log.into_iter().collect();
    let mut h = DeadlineHints::default();
    if hints {
        log.iter().for_each(|e| h.note(e));
        h.finish();
    }
    let mut r = Replay::new(factory, from_seq).with_hints(h);
    log.iter().for_each(|e| r.feed(e));
    r.finish()
}

/// Drives one core: given events, when an event or a tick, then intents.
#[derive(Debug)]
pub struct TestFramework<C: Core> {
    core: C,
    log: Vec<Envelope>,
}

impl<C: Core> TestFramework<C> {
    /// A framework around `core`, with an empty log.
    pub fn with(core: C) -> Self {
        TestFramework {
            core,
            log: Vec::new(),
        }
    }

    /// Given these committed events (fed in order; what the core returns is dropped).
    pub fn given(mut self, events: impl IntoIterator<Item = Envelope>) -> Self {
        for e in events {
            self.when(e);
        }
        self
    }

    /// Given a session started at `at` with `config` loaded (seqs continue the log).
    pub fn given_started(self, at: UtcMicros, config: &str) -> Self {
        let seq = self.next_seq();
        self.given([started(seq, at), config_loaded(seq + 1, at, config)])
    }

    /// When `e` is committed (it joins the log): then what the core returns. The core sees
    /// `e` whether or not it subscribes to its kind, so a test can show what it ignores.
    pub fn when(&mut self, e: Envelope) -> Then<C::Command> {
        let intents = self.core.on_event(&e);
        self.log.push(e);
        Then { intents }
    }

    /// When `ev` from `source` is committed at `ts` as the next seq.
    pub fn when_event(
        &mut self,
        ts: UtcMicros,
        source: Source,
        ev: impl Into<Event>,
    ) -> Then<C::Command> {
        let e = env(self.next_seq(), ts, source, ev);
        self.when(e)
    }

    /// When the core is ticked at `now` (whether or not it asked for it).
    pub fn when_tick(&mut self, now: UtcMicros) -> Then<C::Command> {
        Then {
            intents: self.core.on_tick(now),
        }
    }

    /// When time passes until `until`: the core is ticked at every deadline it asks for up to
    /// then; returns each intent with the deadline that gave it.
    pub fn when_time_passes(&mut self, until: UtcMicros) -> Vec<(UtcMicros, Intent<C::Command>)> {
        let mut out = Vec::new();
        while let Some(d) = self.core.next_deadline().filter(|&d| d <= until) {
            out.extend(self.core.on_tick(d).into_iter().map(|i| (d, i)));
        }
        out
    }

    /// Like [`TestFramework::when_time_passes`], keeping only the emitted events (decisions).
    pub fn events_until(&mut self, until: UtcMicros) -> Vec<(UtcMicros, Event)> {
        self.when_time_passes(until)
            .into_iter()
            .filter_map(|(d, i)| match i {
                Intent::Emit(e) => Some((d, e)),
                Intent::Do(_) => None,
            })
            .collect()
    }

    /// Records `events` as the shell would: decisions of the core at `ts`, the next seqs.
    pub fn record(&mut self, ts: UtcMicros, events: Vec<Event>) {
        let source = self.core.source();
        for ev in events {
            let e = env(self.next_seq(), ts, source, ev);
            self.log.push(e);
        }
    }

    /// The next seq of the log.
    pub fn next_seq(&self) -> u64 {
        self.log.len() as u64 + 1
    }

    /// Everything committed so far (given, when, recorded).
    pub fn log(&self) -> &[Envelope] {
        &self.log
    }

    /// The core.
    pub fn core(&self) -> &C {
        &self.core
    }

    /// The core, to inspect or adjust its state.
    pub fn core_mut(&mut self) -> &mut C {
        &mut self.core
    }
}

/// What a core returned for one event or tick.
#[derive(Debug, Clone, PartialEq)]
pub struct Then<C> {
    /// The intents, in order.
    pub intents: Vec<Intent<C>>,
}

impl<C: std::fmt::Debug + PartialEq> Then<C> {
    /// Then exactly these intents.
    #[track_caller]
    pub fn then_intents(self, expected: Vec<Intent<C>>) {
        assert_eq!(self.intents, expected);
    }

    /// Then nothing at all.
    #[track_caller]
    pub fn then_nothing(self) {
        assert!(
            self.intents.is_empty(),
            "expected no intents: {:?}",
            self.intents
        );
    }

    /// The emitted events (decisions) and the commands, each in order.
    pub fn split(self) -> (Vec<Event>, Vec<C>) {
        split(self.intents)
    }

    /// The emitted events, in order.
    pub fn events(self) -> Vec<Event> {
        self.split().0
    }

    /// The commands, in order.
    pub fn commands(self) -> Vec<C> {
        self.split().1
    }
}

/// A journal on `store` (default class policy and group commit) that gives every committed
/// envelope to `collector` too. Call it inside a running actix system.
pub fn collecting_journal(store: Arc<Store>, collector: &Collector) -> Addr<Journal> {
    let journal = Journal::new(store, ClassPolicy::default(), GroupCommit::default()).start();
    journal.do_send(Subscribe {
        kinds: None,
        to: collector.clone().start().recipient(),
    });
    journal
}

/// An actor that keeps every committed envelope it is subscribed to, for end-to-end tests of
/// shells on a real journal.
#[derive(Debug, Clone, Default)]
pub struct Collector(pub Arc<Mutex<Vec<Arc<Envelope>>>>);

impl Collector {
    /// What it has collected so far (empty if a panicking test poisoned the lock).
    pub fn seen(&self) -> Vec<Arc<Envelope>> {
        self.0.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

impl Actor for Collector {
    type Context = Context<Self>;
}

impl Handler<Committed> for Collector {
    type Result = ();
    fn handle(&mut self, msg: Committed, _: &mut Self::Context) {
        if let Ok(mut v) = self.0.lock() {
            v.push(msg.0);
        }
    }
}
