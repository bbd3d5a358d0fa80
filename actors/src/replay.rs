//! Replay: feed the log through the same pure cores the supervisor runs and check that every
//! recorded decision is one the cores derive.
//!
//! The log marks each supervisor session with `SupervisorStarted` … `SupervisorStopped`. At a
//! start, replay builds fresh cores, exactly as a starting supervisor does; while no supervisor
//! runs (before the first start, after a stop, events written by `vigil load` or `import`),
//! no core sees anything. Within a session every core gets the committed events it subscribes
//! to and a tick at every deadline it asks for, before the first later event. A recorded
//! decision (an event of a kind the core emits, from the core's source) must equal one the core
//! derived and has not yet matched; anything else is a mismatch named by its seq. Decisions a
//! core derived but that were never recorded are mismatches too, unless the session ended
//! (stop or crash) before the shell could have recorded them.

use std::collections::{BTreeMap, VecDeque};

use vigil_events::{Envelope, Event, EventKind, Source, UtcMicros};

use crate::core::{split, Core};

/// A core as replay drives it: commands are dropped (they went to hardware), events kept.
pub trait ReplayCore {
    /// The source its decisions carry.
    fn source(&self) -> Source;
    /// Kinds it consumes.
    fn subscriptions(&self) -> &'static [EventKind];
    /// Kinds it emits as decisions.
    fn decisions(&self) -> &'static [EventKind];
    /// Whether a recorded event is one of its decisions.
    fn is_decision(&self, env: &Envelope) -> bool;
    /// Feed an event; derived decisions.
    fn event(&mut self, env: &Envelope) -> Vec<Event>;
    /// Next deadline.
    fn deadline(&self) -> Option<UtcMicros>;
    /// Tick at `now`; derived decisions.
    fn tick(&mut self, now: UtcMicros) -> Vec<Event>;
}

impl<C: Core> ReplayCore for C {
    fn source(&self) -> Source {
        Core::source(self)
    }
    fn subscriptions(&self) -> &'static [EventKind] {
        Core::subscriptions(self)
    }
    fn decisions(&self) -> &'static [EventKind] {
        Core::decisions(self)
    }
    fn is_decision(&self, env: &Envelope) -> bool {
        Core::is_decision(self, env)
    }
    fn event(&mut self, env: &Envelope) -> Vec<Event> {
        split(self.on_event(env)).0
    }
    fn deadline(&self) -> Option<UtcMicros> {
        self.next_deadline()
    }
    fn tick(&mut self, now: UtcMicros) -> Vec<Event> {
        split(self.on_tick(now)).0
    }
}

/// Where live runs put their deadlines among the events, from the decisions taken at a
/// deadline (they record the last seq their core had seen, see [`Envelope::after`]).
///
/// Replay puts a deadline before an event when it is due by the event's timestamp. Live, a
/// deadline and an event that arrive close together can be taken in the other order (the
/// event was recorded just before the deadline but delivered just after it). For every
/// deadline that produced a decision the log says which: collect these hints in a first pass
/// over the log ([`DeadlineHints::note`], then [`DeadlineHints::finish`]) and give them to
/// [`Replay::with_hints`].
#[derive(Debug, Default, Clone)]
pub struct DeadlineHints {
    by_source: BTreeMap<Source, SourceHints>,
}

#[derive(Debug, Default, Clone)]
struct SourceHints {
    /// (after, deadline), sorted by `after` once finished.
    raw: Vec<(u64, UtcMicros)>,
    /// Latest deadline among hints with `after` below index i+1.
    prefix_max: Vec<UtcMicros>,
    /// Earliest deadline among hints from index i on.
    suffix_min: Vec<UtcMicros>,
}

impl DeadlineHints {
    /// Note one envelope of the log (only deadline decisions carry a hint).
    pub fn note(&mut self, env: &Envelope) {
        if let Some(after) = env.after {
            self.by_source
                .entry(env.source)
                .or_default()
                .raw
                .push((after, env.ts));
        }
    }

    /// Index the hints; call once after the first pass.
    pub fn finish(&mut self) {
        for h in self.by_source.values_mut() {
            h.raw.sort_unstable();
            let mut max = UtcMicros::MIN;
            h.prefix_max = h
                .raw
                .iter()
                .map(|(_, d)| {
                    max = max.max(*d);
                    max
                })
                .collect();
            let mut min = UtcMicros::MAX;
            let mut suffix: Vec<UtcMicros> = h
                .raw
                .iter()
                .rev()
                .map(|(_, d)| {
                    min = min.min(*d);
                    min
                })
                .collect();
            suffix.reverse();
            h.suffix_min = suffix;
        }
    }

    /// For the core of `source` about to see event `seq`: the deadline it must have reached
    /// (live took it before this event), and the first deadline it must not take yet (live
    /// took this event first).
    fn bounds(&self, source: Source, seq: u64) -> (Option<UtcMicros>, Option<UtcMicros>) {
        let Some(h) = self.by_source.get(&source) else {
            return (None, None);
        };
        let i = h.raw.partition_point(|(after, _)| *after < seq);
        let lower = i.checked_sub(1).and_then(|j| h.prefix_max.get(j)).copied();
        let upper = h.suffix_min.get(i).copied();
        (lower, upper)
    }
}

/// Builds the cores a starting supervisor runs.
pub type CoreFactory = dyn Fn() -> Vec<Box<dyn ReplayCore>>;

/// A decision that does not check out.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    /// The seq to look at: the recorded decision, or the event after which a derived decision
    /// should have been recorded.
    pub seq: u64,
    /// The core's source.
    pub source: Source,
    /// What is wrong.
    pub problem: String,
}

/// A window as seen in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowSeen {
    /// Window name.
    pub name: String,
    /// Resolved start, UTC µs.
    pub start_us: i64,
    /// Resolved end, UTC µs.
    pub end_us: i64,
    /// Seq of its `WindowOpened`.
    pub opened_seq: u64,
    /// Seq of its `WindowClosed`, if recorded.
    pub closed_seq: Option<u64>,
}

/// What a replay found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReplayReport {
    /// Events read.
    pub events: u64,
    /// First and last seq read.
    pub first_seq: Option<u64>,
    /// Last seq read.
    pub last_seq: Option<u64>,
    /// Events per kind name.
    pub by_kind: BTreeMap<&'static str, u64>,
    /// Supervisor sessions.
    pub sessions: u64,
    /// Windows in the log.
    pub windows: Vec<WindowSeen>,
    /// Recorded decisions checked, per source.
    pub checked: BTreeMap<Source, u64>,
    /// Recorded decisions that the cores re-derived, per source.
    pub matched: BTreeMap<Source, u64>,
    /// Decisions that do not check out (seq order).
    pub mismatches: Vec<Mismatch>,
    /// Derived decisions left unrecorded because the session ended first (not an error).
    pub cut_by_stop: u64,
}

struct Pending {
    event: Event,
    at: UtcMicros,
    after_seq: u64,
}

struct Running {
    cores: Vec<Box<dyn ReplayCore>>,
    pending: Vec<VecDeque<Pending>>,
}

/// Replays a log. Feed envelopes in seq order with [`Replay::feed`], then [`Replay::finish`].
pub struct Replay<'f> {
    factory: &'f CoreFactory,
    /// Report only decisions at or after this seq (state is rebuilt from the start).
    from_seq: u64,
    running: Option<Running>,
    last_seq: u64,
    report: ReplayReport,
    /// Every (source, kind) some core decides: recorded outside a session, it is forged.
    decided: Vec<(Source, EventKind)>,
    hints: DeadlineHints,
}

impl std::fmt::Debug for Replay<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replay")
            .field("from_seq", &self.from_seq)
            .field("last_seq", &self.last_seq)
            .finish_non_exhaustive()
    }
}

impl<'f> Replay<'f> {
    /// A replay that builds cores with `factory` at every supervisor start.
    pub fn new(factory: &'f CoreFactory, from_seq: u64) -> Self {
        let decided = factory()
            .iter()
            .flat_map(|c| c.decisions().iter().map(|k| (c.source(), *k)))
            .collect();
        Replay {
            factory,
            from_seq,
            running: None,
            last_seq: 0,
            report: ReplayReport::default(),
            decided,
            hints: DeadlineHints::default(),
        }
    }

    /// Use the deadline placement recorded in the log (see [`DeadlineHints`]).
    pub fn with_hints(mut self, hints: DeadlineHints) -> Self {
        self.hints = hints;
        self
    }

    fn mismatch(&mut self, seq: u64, source: Source, problem: String) {
        if seq >= self.from_seq {
            self.report.mismatches.push(Mismatch {
                seq,
                source,
                problem,
            });
        }
    }

    /// End the running session; derived but unrecorded decisions before `clean_stop_at`
    /// (a recorded clean stop, minus `tolerance`) are mismatches, the rest were cut by the stop.
    fn end_session(&mut self, clean_stop_at: Option<UtcMicros>) {
        let Some(run) = self.running.take() else {
            return;
        };
        for (core, queue) in run.cores.iter().zip(run.pending) {
            for p in queue {
                match clean_stop_at {
                    Some(stop) if p.at < stop => self.mismatch(
                        p.after_seq,
                        core.source(),
                        format!(
                            "{} derived after seq {} was never recorded before the clean stop",
                            p.event.kind().name(),
                            p.after_seq
                        ),
                    ),
                    _ => self.report.cut_by_stop += 1,
                }
            }
        }
    }

    /// Feed the next envelope (seq order).
    pub fn feed(&mut self, env: &Envelope) {
        let r = &mut self.report;
        r.events += 1;
        r.first_seq.get_or_insert(env.seq);
        r.last_seq = Some(env.seq);
        *r.by_kind.entry(env.kind.name()).or_default() += 1;
        match &env.payload {
            Event::WindowOpened(w) => r.windows.push(WindowSeen {
                name: w.name.clone(),
                start_us: w.start_us,
                end_us: w.end_us,
                opened_seq: env.seq,
                closed_seq: None,
            }),
            Event::WindowClosed(w) => {
                if let Some(seen) = r.windows.iter_mut().rev().find(|s| {
                    s.name == w.name && s.start_us == w.start_us && s.closed_seq.is_none()
                }) {
                    seen.closed_seq = Some(env.seq);
                }
            }
            _ => {}
        }

        if env.kind == EventKind::SupervisorStarted {
            self.end_session(None);
            self.report.sessions += 1;
            let cores = (self.factory)();
            let pending = cores.iter().map(|_| VecDeque::new()).collect();
            self.running = Some(Running { cores, pending });
        }

        let Some(mut run) = self.running.take() else {
            if self.decided.contains(&(env.source, env.kind)) {
                *self.report.checked.entry(env.source).or_default() += 1;
                self.mismatch(
                    env.seq,
                    env.source,
                    format!(
                        "{} recorded while no supervisor was running (no core could decide it)",
                        env.kind.name()
                    ),
                );
            }
            self.last_seq = env.seq;
            return;
        };
        // Deadlines that passed before this event fire first, each at its own instant — except
        // where the log records that live took them in the other order. A deadline at or
        // before one live provably took before this event (`lower`) is due whatever `upper`
        // says: a later event can set an earlier deadline (events arrive with older
        // timestamps), so a later hint's deadline may lie below one already taken.
        for (core, queue) in run.cores.iter_mut().zip(run.pending.iter_mut()) {
            let (lower, upper) = self.hints.bounds(core.source(), env.seq);
            let reach = lower.map_or(env.ts, |l| l.max(env.ts));
            let mut guard = 0;
            while let Some(d) = core.deadline() {
                let held_back = upper.is_some_and(|u| d >= u) && lower.is_none_or(|l| d > l);
                if d > reach || held_back || guard > 100_000 {
                    break;
                }
                guard += 1;
                for event in core.tick(d) {
                    queue.push_back(Pending {
                        event,
                        at: d,
                        after_seq: self.last_seq,
                    });
                }
            }
        }
        // Is this a decision? It must match one derived and not yet matched.
        let mut problems = Vec::new();
        for (core, queue) in run.cores.iter().zip(run.pending.iter_mut()) {
            if !core.is_decision(env) {
                continue;
            }
            *self.report.checked.entry(core.source()).or_default() += 1;
            match queue.iter().position(|p| p.event == env.payload) {
                Some(i) => {
                    queue.remove(i);
                    *self.report.matched.entry(core.source()).or_default() += 1;
                }
                None => {
                    let derived = queue
                        .front()
                        .map(|p| format!("{:?}", p.event))
                        .unwrap_or_else(|| "nothing".into());
                    problems.push((
                        core.source(),
                        format!(
                            "recorded {} {:?} is not derived by the {} core (it derived {derived})",
                            env.kind.name(),
                            env.payload,
                            core.source()
                        ),
                    ));
                }
            }
        }
        for (source, problem) in problems {
            self.mismatch(env.seq, source, problem);
        }
        // Then every subscribed core sees the event.
        for (core, queue) in run.cores.iter_mut().zip(run.pending.iter_mut()) {
            if core.subscriptions().contains(&env.kind) {
                for event in core.event(env) {
                    queue.push_back(Pending {
                        event,
                        at: env.ts,
                        after_seq: env.seq,
                    });
                }
            }
        }
        self.last_seq = env.seq;
        self.running = Some(run);
        if env.kind == EventKind::SupervisorStopped {
            self.end_session(Some(env.ts));
        }
    }

    /// Finish: a log that ends inside a session (crash or still running) cuts its pending
    /// decisions without blame.
    pub fn finish(mut self) -> ReplayReport {
        self.end_session(None);
        self.report
    }
}
