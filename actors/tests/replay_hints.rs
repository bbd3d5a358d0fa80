//! Replay puts a deadline where the live run took it: a deadline and an event close together
//! may be taken in either order live, and the decision taken at the deadline records which.

use vigil_actors::replay::{DeadlineHints, Replay, ReplayCore};
use vigil_actors::{Core, Intent};
use vigil_events::kinds::{Edge, GpioEdge, SupervisorStarted, TimeSourceRecorded};
use vigil_events::{Envelope, Event, EventKind, NewEvent, Source, UtcMicros};

/// Counts button edges; at its one deadline (t = 100) decides how many it had seen.
#[derive(Debug, Default)]
struct Counter {
    seen: u32,
    fired: bool,
}

impl Core for Counter {
    type Command = ();
    fn source(&self) -> Source {
        Source::Clock
    }
    fn subscriptions(&self) -> &'static [EventKind] {
        &[EventKind::GpioEdge]
    }
    fn decisions(&self) -> &'static [EventKind] {
        &[EventKind::TimeSourceRecorded]
    }
    fn on_event(&mut self, _env: &Envelope) -> Vec<Intent<()>> {
        self.seen += 1;
        Vec::new()
    }
    fn next_deadline(&self) -> Option<UtcMicros> {
        (!self.fired).then_some(100)
    }
    fn on_tick(&mut self, _now: UtcMicros) -> Vec<Intent<()>> {
        self.fired = true;
        vec![Intent::Emit(
            TimeSourceRecorded {
                source: "test".into(),
                detail: format!("seen {}", self.seen),
            }
            .into(),
        )]
    }
}

fn factory() -> Vec<Box<dyn ReplayCore>> {
    vec![Box::new(Counter::default())]
}

fn env(seq: u64, ev: NewEvent) -> Envelope {
    let class = ev.kind().default_class();
    Envelope::unchained(seq, class, ev)
}

/// Live: the edge stamped t = 99 reached the core only after its deadline at t = 100 fired,
/// so the decision says it had seen nothing (after = seq 1).
fn live_log() -> Vec<Envelope> {
    let start = SupervisorStarted {
        version: "t".into(),
        clock: "sim".into(),
        pid: 1,
        host: "h".into(),
    };
    let edge = GpioEdge {
        name: "button".into(),
        pin: 17,
        edge: Edge::Falling,
        at_us: 99,
    };
    let decision = Event::from(TimeSourceRecorded {
        source: "test".into(),
        detail: "seen 0".into(),
    });
    vec![
        env(1, NewEvent::new(0, Source::Ops, start)),
        env(2, NewEvent::new(99, Source::Gpio, edge)),
        env(3, NewEvent::new(100, Source::Clock, decision).after(1)),
    ]
}

fn replay(log: &[Envelope], hints: bool) -> usize {
    let f = factory;
    let mut h = DeadlineHints::default();
    if hints {
        log.iter().for_each(|e| h.note(e));
        h.finish();
    }
    let mut r = Replay::new(&f, 1).with_hints(h);
    log.iter().for_each(|e| r.feed(e));
    r.finish().mismatches.len()
}

#[test]
fn a_deadline_taken_before_a_late_event_replays_in_the_live_order() {
    let log = live_log();
    assert_eq!(log[2].after, Some(1));
    assert_eq!(replay(&log, true), 0, "with the recorded placement");
    assert_eq!(
        replay(&log, false),
        1,
        "timestamp order alone derives `seen 1`"
    );
}

#[test]
fn a_forged_placement_is_still_a_mismatch() {
    let mut log = live_log();
    if let Event::TimeSourceRecorded(t) = &mut log[2].payload {
        t.detail = "seen 7".into();
    }
    assert_eq!(replay(&log, true), 1);
}
