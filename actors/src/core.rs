//! The shape every actor shares: a pure, replayable core and the intents it returns.
//!
//! A core is a plain state machine. It never reads a clock, a file or a device: the shell gives
//! it every committed event it subscribes to (with the event's own timestamp as `now`) and a
//! tick at every deadline it asked for (with the deadline itself as `now`). What it returns are
//! [`Intent`]s: events to append (its *decisions*) and commands for the shell's hardware.
//! Because the inputs are exactly the log plus deadlines, `vigil replay` feeds the log through
//! the same cores and re-derives every decision.

use std::sync::Arc;

use vigil_events::{Envelope, Event, EventKind, Source, UtcMicros};
use vigil_store::Query;

/// What a core asks its shell to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Intent<C> {
    /// Append this event (a decision of the core) with the core's source and the current time.
    Emit(Event),
    /// Perform this command on the actor's hardware or I/O; results come back as events.
    Do(C),
}

/// A pure actor core. See the module docs.
pub trait Core: Send + Unpin + 'static {
    /// Commands the shell performs (hardware, files, processes).
    type Command: std::fmt::Debug + Send + 'static;

    /// The source recorded on the events this core emits.
    fn source(&self) -> Source;

    /// Kinds this core wants to see (the journal delivers only these).
    fn subscriptions(&self) -> &'static [EventKind];

    /// Kinds this core emits as decisions; `vigil replay --check` re-derives each of them.
    fn decisions(&self) -> &'static [EventKind];

    /// Whether a recorded event is one of this core's decisions (by default: its source and
    /// one of [`Core::decisions`]). A core whose performer records observations of the same
    /// kind (e.g. pins released at stop) narrows it.
    fn is_decision(&self, env: &Envelope) -> bool {
        env.source == self.source() && self.decisions().contains(&env.kind)
    }

    /// History the core needs from the log before it acts (e.g. a board link's duplicate
    /// filter): the shell asks the journal ([`crate::journal::ReadLog`]) once at start and
    /// hands the answer to [`Core::on_history`]. Replay feeds the whole log instead, so it
    /// never asks. `None` (the default): the core starts from nothing.
    fn history(&self) -> Option<Query> {
        None
    }

    /// The journal's answer to [`Core::history`] (in the query's order; empty when the log
    /// could not be read, which the shell reports).
    fn on_history(&mut self, _events: Vec<Envelope>) -> Vec<Intent<Self::Command>> {
        Vec::new()
    }

    /// A committed event of a subscribed kind. `env.ts` is the time to reason with.
    fn on_event(&mut self, env: &Envelope) -> Vec<Intent<Self::Command>>;

    /// The next instant the core wants a tick, if any.
    fn next_deadline(&self) -> Option<UtcMicros>;

    /// A deadline passed. `now` is the deadline asked for (not the wall clock), so live runs
    /// and replays derive the same decisions.
    fn on_tick(&mut self, now: UtcMicros) -> Vec<Intent<Self::Command>>;
}

/// Split intents into emitted events and commands, keeping order within each.
pub fn split<C>(intents: Vec<Intent<C>>) -> (Vec<Event>, Vec<C>) {
    let mut events = Vec::new();
    let mut commands = Vec::new();
    for i in intents {
        match i {
            Intent::Emit(e) => events.push(e),
            Intent::Do(c) => commands.push(c),
        }
    }
    (events, commands)
}

/// Wakes a performer's thread to [`Performer::poll`] now (for performers fed by threads of
/// their own, e.g. a serial reader). Cheap to clone; waking a stopped performer does nothing.
/// A performer that keeps its waker keeps its thread until the shell's `Stop` releases it.
#[derive(Clone)]
pub struct Wake(Arc<dyn Fn() + Send + Sync>);

impl Wake {
    /// A waker calling `f`.
    pub fn new(f: impl Fn() + Send + Sync + 'static) -> Self {
        Wake(Arc::new(f))
    }

    /// Ask for a poll as soon as the performer thread is free.
    pub fn wake(&self) {
        (self.0)()
    }
}

impl std::fmt::Debug for Wake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Wake")
    }
}

/// The I/O half of an actor: performs a core's commands on real or simulated hardware.
///
/// The shell runs a performer on its own thread (never on the async executor), because
/// capture, serial and GPIO calls block. What a command observes comes back as events
/// (e.g. `FrameCaptured`, `CameraFault`), which the shell appends through the journal; the core
/// then sees them like any other committed event.
pub trait Performer: Send + 'static {
    /// The command type of the core this performer serves.
    type Command: std::fmt::Debug + Send + 'static;

    /// Called once on the performer thread before anything else, with the way to wake it.
    fn start(&mut self, _wake: Wake) {}

    /// Perform `cmd` at station time `now`; return the observations to append.
    fn perform(&mut self, cmd: Self::Command, now: UtcMicros) -> Vec<vigil_events::NewEvent>;

    /// Called once when the supervisor stops: release hardware (e.g. pins back to inputs).
    /// Returns the events that record the release.
    fn release(&mut self, _now: UtcMicros) -> Vec<vigil_events::NewEvent> {
        Vec::new()
    }

    /// How often the shell calls [`Performer::poll`] (inputs sampled by polling); `None` for
    /// performers that only act on commands.
    fn poll_interval(&self) -> Option<std::time::Duration> {
        None
    }

    /// Sample inputs at station time `now` (every [`Performer::poll_interval`], after each
    /// command, and when woken); return what was observed.
    fn poll(&mut self, _now: UtcMicros) -> Vec<vigil_events::NewEvent> {
        Vec::new()
    }
}
