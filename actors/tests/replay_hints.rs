//! Replay puts a deadline where the live run took it: a deadline and an event close together
//! may be taken in either order live, and the decision taken at the deadline records which.

use vigil_actors::replay::ReplayCore;
use vigil_actors::testing::{self, envelope, started};
use vigil_actors::{Core, Intent};
use vigil_events::kinds::{
    Detection, Edge, GpioEdge, OutputChanged, SupervisorStopped, ThermalClass, TimeSourceRecorded,
};
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

/// Live: the edge stamped t = 99 reached the core only after its deadline at t = 100 fired,
/// so the decision says it had seen nothing (after = seq 1).
fn live_log() -> Vec<Envelope> {
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
        started(1, 0),
        envelope(2, NewEvent::new(99, Source::Gpio, edge)),
        envelope(3, NewEvent::new(100, Source::Clock, decision).after(1)),
    ]
}

fn replay(log: &[Envelope], hints: bool) -> usize {
    testing::replay(&factory, log, 1, hints).mismatches.len()
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

/// A hold rule like the GPIO core's: a `Detection` turns the output on (if off) and sets the
/// hold to end at the detection's `ts` + 5; the end of the hold turns it off.
#[derive(Debug, Default)]
struct Hold {
    on: bool,
    until: Option<UtcMicros>,
}

fn output(high: bool) -> Event {
    OutputChanged {
        name: "led".into(),
        pin: 18,
        high,
        rule: "hold".into(),
    }
    .into()
}

impl Core for Hold {
    type Command = ();
    fn source(&self) -> Source {
        Source::Gpio
    }
    fn subscriptions(&self) -> &'static [EventKind] {
        &[EventKind::Detection]
    }
    fn decisions(&self) -> &'static [EventKind] {
        &[EventKind::OutputChanged]
    }
    fn on_event(&mut self, env: &Envelope) -> Vec<Intent<()>> {
        self.until = Some(env.ts + 5);
        if std::mem::replace(&mut self.on, true) {
            return Vec::new();
        }
        vec![Intent::Emit(output(true))]
    }
    fn next_deadline(&self) -> Option<UtcMicros> {
        self.until
    }
    fn on_tick(&mut self, now: UtcMicros) -> Vec<Intent<()>> {
        if self.until.is_none_or(|u| u > now) {
            return Vec::new();
        }
        self.until = None;
        self.on = false;
        vec![Intent::Emit(output(false))]
    }
}

#[test]
fn a_later_event_with_an_older_timestamp_does_not_hold_back_a_deadline_live_took() {
    let detection = |ts| {
        let d = Detection {
            frame: 1,
            class: ThermalClass::Person,
            confidence_permille: 1000,
            engine: "pico-int8".into(),
            latency_us: 1,
            person_present: true,
        };
        NewEvent::new(ts, Source::Pico, d)
    };
    let gpio = |ts, high| NewEvent::new(ts, Source::Gpio, output(high));
    let stop = SupervisorStopped {
        reason: "test".into(),
        uptime_s: 1,
    };
    // Live: a detection at 100 holds until 105; the hold ends (the core had seen seq 2) before
    // a late detection stamped 99 is delivered; that one turns the output on again with a
    // hold ending at 104, already past, taken once the core had seen seq 5. A replay that let
    // the later hint (deadline 104) hold back the deadline at 105 derived nothing at seq 5.
    let rest = [
        detection(100),
        gpio(101, true),
        detection(99),
        gpio(105, false).after(2),
        gpio(120, true),
        gpio(104, false).after(5),
        NewEvent::new(200, Source::Ops, stop),
    ];
    let log: Vec<Envelope> = std::iter::once(started(1, 0))
        .chain(rest.into_iter().zip(2..).map(|(ev, seq)| envelope(seq, ev)))
        .collect();
    let f = || vec![Box::new(Hold::default()) as Box<dyn ReplayCore>];
    let report = testing::replay(&f, &log, 1, true);
    assert!(report.mismatches.is_empty(), "{:?}", report.mismatches);
    assert_eq!(report.matched.get(&Source::Gpio), Some(&4));
}
