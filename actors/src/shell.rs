//! The one actix shell every actor uses: it receives committed events, calls the core, fires
//! the core's deadlines on the station clock, appends the core's decisions and hands commands
//! to the performer's own thread.
//!
//! Messages:
//! - [`Committed`]: a durable event of a subscribed kind (from the journal).
//! - [`Stop`]: release the hardware and stop; resolves when the performer has released.
//!
//! A core that starts from history ([`Core::history`]) gets the journal's answer to its
//! query ([`ReadLog`]) right after it is subscribed, so it never reads the store itself.

use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use actix::prelude::*;
use vigil_events::{NewEvent, UtcMicros};

use crate::core::{Core, Intent, Performer, Wake};
use crate::journal::{Append, Committed, Journal, ReadLog, Subscribe};
use crate::station_clock::StationClock;

/// Longest a timer sleeps before the shell looks at the clock again, so that wall clock jumps
/// and clock changes never leave a deadline waiting for long.
const MAX_SLEEP: Duration = Duration::from_millis(250);

/// Stop the actor: release hardware (through the performer) and join its thread.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Stop;

enum Work<C> {
    Do(C, UtcMicros),
    Poll,
    Release(UtcMicros, tokio::sync::oneshot::Sender<()>),
}

/// A performer that has no hardware (cores whose commands are uninhabited or unused).
#[derive(Debug)]
pub struct NoHardware<C>(std::marker::PhantomData<C>);

impl<C> Default for NoHardware<C> {
    fn default() -> Self {
        NoHardware(std::marker::PhantomData)
    }
}

impl<C: std::fmt::Debug + Send + 'static> Performer for NoHardware<C> {
    type Command = C;
    fn perform(&mut self, cmd: C, _now: UtcMicros) -> Vec<NewEvent> {
        tracing::warn!(?cmd, "command for an actor without hardware ignored");
        Vec::new()
    }
}

/// An actor: a core, its performer thread, and the journal it talks through.
pub struct Shell<C: Core> {
    core: C,
    journal: Addr<Journal>,
    clock: StationClock,
    work: Option<mpsc::Sender<Work<C::Command>>>,
    worker: Option<JoinHandle<()>>,
    timer: Option<SpawnHandle>,
    /// The last seq delivered to the core.
    seen: u64,
}

impl<C: Core> std::fmt::Debug for Shell<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shell")
            .field("source", &self.core.source())
            .finish_non_exhaustive()
    }
}

impl<C: Core> Shell<C> {
    /// Start the actor and subscribe it to its kinds. The subscription is sent from here,
    /// before anything else can be appended by the caller, so no event is missed.
    pub fn spawn(self) -> Addr<Self> {
        let kinds = self.core.subscriptions().to_vec();
        let journal = self.journal.clone();
        let addr = self.start();
        journal.do_send(Subscribe {
            kinds: Some(kinds),
            to: addr.clone().recipient(),
        });
        addr
    }
}

impl<C: Core> Shell<C> {
    /// Build a shell around `core`, performing its commands with `performer` on a thread.
    pub fn new<P>(core: C, performer: P, journal: Addr<Journal>, clock: StationClock) -> Self
    where
        P: Performer<Command = C::Command>,
    {
        let (tx, rx) = mpsc::channel::<Work<C::Command>>();
        let j = journal.clone();
        let name = format!("vigil-{}", core.source());
        let waker = tx.clone();
        let wake = Wake::new(move || {
            let _ = waker.send(Work::Poll);
        });
        let worker = thread::Builder::new()
            .name(name)
            .spawn(move || perform_loop(performer, rx, wake, j, clock));
        let (work, worker) = match worker {
            Ok(h) => (Some(tx), Some(h)),
            Err(e) => {
                tracing::error!(error = %e, "cannot start performer thread");
                (None, None)
            }
        };
        Shell {
            core,
            journal,
            clock,
            work,
            worker,
            timer: None,
            seen: 0,
        }
    }

    /// Perform intents. Decisions taken at a deadline (`at_deadline`) record the last seq the
    /// core had seen, so replay puts the deadline at the same place among the events.
    fn act(&mut self, intents: Vec<Intent<C::Command>>, now: UtcMicros, at_deadline: bool) {
        let mut events = Vec::new();
        for intent in intents {
            match intent {
                Intent::Emit(ev) => {
                    let ev = NewEvent::new(now, self.core.source(), ev);
                    events.push(if at_deadline { ev.after(self.seen) } else { ev });
                }
                Intent::Do(cmd) => {
                    if let Some(w) = &self.work {
                        if w.send(Work::Do(cmd, now)).is_err() {
                            tracing::error!(source = %self.core.source(), "performer thread gone");
                        }
                    }
                }
            }
        }
        if !events.is_empty() {
            self.journal.do_send(Append(events));
        }
    }

    fn arm(&mut self, ctx: &mut Context<Self>) {
        if let Some(h) = self.timer.take() {
            ctx.cancel_future(h);
        }
        let Some(deadline) = self.core.next_deadline() else {
            return;
        };
        let wait = self.clock.real_until(deadline).min(MAX_SLEEP);
        self.timer = Some(ctx.run_later(wait, |act, ctx| {
            act.timer = None;
            act.fire(ctx);
        }));
    }

    fn fire(&mut self, ctx: &mut Context<Self>) {
        self.take_due();
        self.arm(ctx);
    }

    fn take_due(&mut self) {
        let now = self.clock.now();
        // Several deadlines may have passed (a fast simulated clock): take them in order,
        // each with its own instant, as replay will.
        let mut guard = 0;
        while let Some(d) = self.core.next_deadline() {
            if d > now || guard > 10_000 {
                break;
            }
            guard += 1;
            let intents = self.core.on_tick(d);
            self.act(intents, d, true);
        }
    }
}

fn perform_loop<P: Performer>(
    mut performer: P,
    rx: mpsc::Receiver<Work<P::Command>>,
    wake: Wake,
    journal: Addr<Journal>,
    clock: StationClock,
) {
    performer.start(wake);
    let append = |events: Vec<NewEvent>| {
        if !events.is_empty() {
            journal.do_send(Append(events));
        }
    };
    loop {
        let work = match performer.poll_interval() {
            Some(every) => match rx.recv_timeout(every) {
                Ok(w) => Some(w),
                Err(mpsc::RecvTimeoutError::Timeout) => None,
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            },
            None => match rx.recv() {
                Ok(w) => Some(w),
                Err(_) => return,
            },
        };
        match work {
            None | Some(Work::Poll) => append(performer.poll(clock.now())),
            Some(Work::Do(cmd, now)) => {
                append(performer.perform(cmd, now));
                // Commands may arrive faster than the poll interval: keep sampling on time.
                if performer.poll_interval().is_some() {
                    append(performer.poll(clock.now()));
                }
            }
            Some(Work::Release(now, done)) => {
                append(performer.release(now));
                let _ = done.send(());
                return;
            }
        }
    }
}

impl<C: Core> Actor for Shell<C> {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        if let Some(query) = self.core.history() {
            let ask = self.journal.send(ReadLog(query));
            ctx.spawn(ask.into_actor(self).map(|answer, act, ctx| {
                let events = match answer {
                    Ok(Ok(page)) => page.items,
                    Ok(Err(e)) => {
                        tracing::error!(source = %act.core.source(), error = %e, "history unavailable; starting without it");
                        Vec::new()
                    }
                    Err(e) => {
                        tracing::error!(source = %act.core.source(), error = %e, "the journal did not answer the history query");
                        Vec::new()
                    }
                };
                let intents = act.core.on_history(events);
                let now = act.clock.now();
                act.act(intents, now, false);
                act.arm(ctx);
            }));
        }
        self.arm(ctx);
    }
}

impl<C: Core> Handler<Committed> for Shell<C> {
    type Result = ();
    fn handle(&mut self, msg: Committed, ctx: &mut Self::Context) {
        self.seen = msg.0.seq;
        let intents = self.core.on_event(&msg.0);
        let now = self.clock.now().max(msg.0.ts);
        self.act(intents, now, false);
        self.arm(ctx);
    }
}

impl<C: Core> Handler<Stop> for Shell<C> {
    type Result = ResponseActFuture<Self, ()>;
    fn handle(&mut self, _: Stop, ctx: &mut Self::Context) -> Self::Result {
        if let Some(h) = self.timer.take() {
            ctx.cancel_future(h);
        }
        // Deadlines already due are taken before stopping, so that every decision due before
        // the recorded stop is in the log (replay relies on it).
        self.take_due();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let sent = self
            .work
            .take()
            .is_some_and(|w| w.send(Work::Release(self.clock.now(), tx)).is_ok());
        let worker = self.worker.take();
        Box::pin(
            async move {
                if sent {
                    let _ = rx.await;
                }
                if let Some(h) = worker {
                    let _ = h.join();
                }
            }
            .into_actor(self)
            .map(|_, _, ctx| ctx.stop()),
        )
    }
}
