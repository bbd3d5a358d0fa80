//! The journal: the store's single writer, and the only way actors talk to each other.
//!
//! Actors send [`Append`]; a dedicated writer thread gathers whatever arrives within the group
//! commit delay (up to a batch limit) into one durable append, then the journal fans the
//! committed envelopes out to every subscriber of their kind. An event is acknowledged (seen
//! by anyone) only after the batch holding it is durable on disk.
//!
//! Messages:
//! - [`Append`]: events to record. Senders may fire and forget (delivery to subscribers is the
//!   ack); one that awaits the answer learns when its events are durable, or why the journal
//!   refused them. An append holding an event too large for one record is refused whole, with
//!   [`JournalError::TooLarge`] to its sender; the journal and every other sender go on.
//! - [`Subscribe`]: deliver committed envelopes of these kinds to this recipient.
//! - [`Flush`]: resolves with the last durable seq once everything sent before it is durable.
//! - [`ReadLog`]: a query answered from the log (off the executor), for actors that start from
//!   history (a board link primes its duplicate filter with it), so nothing reads the store
//!   around the journal.
//!
//! The journal talks to its log through the store's [`EventLog`] trait: the sled [`Store`] is
//! the backend the station runs, and any other implementation (an in-memory log in tests)
//! drives the same journal. The trait object costs one indirect call per group commit.
//!
//! [`Store`]: vigil_store::Store

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use actix::prelude::*;
use vigil_events::{ClassPolicy, Envelope, EventKind, NewEvent, Source};
use vigil_store::{EventLog, Page, Query, StoreError};

/// Events to append, all or none. Resolves once they are durable, or with the reason they
/// were refused ([`JournalError::TooLarge`]) or lost ([`JournalError::Append`]).
#[derive(Debug, Message)]
#[rtype(result = "Result<(), JournalError>")]
pub struct Append(pub Vec<NewEvent>);

/// A committed, durable event, delivered to subscribers.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct Committed(pub Arc<Envelope>);

/// Subscribe `to` to committed envelopes of `kinds` (`None`: every kind).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Subscribe {
    /// Kinds wanted, or all.
    pub kinds: Option<Vec<EventKind>>,
    /// Who receives them.
    pub to: Recipient<Committed>,
}

/// Wait until everything sent before is durable; yields the last durable seq.
#[derive(Debug, Message)]
#[rtype(result = "Result<u64, JournalError>")]
pub struct Flush;

/// Read a page of the log matching the query (answered on a thread of its own, never on the
/// async executor). What was durable when the journal took the message is in the answer.
#[derive(Debug, Message)]
#[rtype(result = "Result<Page, JournalError>")]
pub struct ReadLog(pub Query);

/// Why the journal did not make events durable. The supervisor stops on [`Append`] and
/// [`Stopped`] (the store failed); [`TooLarge`] refuses one append and nothing else.
///
/// [`Append`]: JournalError::Append
/// [`Stopped`]: JournalError::Stopped
/// [`TooLarge`]: JournalError::TooLarge
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JournalError {
    /// The store refused or failed an append.
    #[error("append failed: {0}")]
    Append(String),
    /// The writer thread is gone (after an earlier failure or at shutdown).
    #[error("the journal writer has stopped")]
    Stopped,
    /// One event of this append encodes to more than a record may hold, so the whole append
    /// was refused and nothing of it recorded; the journal goes on with everything else. The
    /// sender must make the payload smaller (large data belongs in files, referenced by path
    /// and hash).
    #[error(
        "append refused: an event from {from} ({kind}) encodes to {size} bytes; a record \
         holds at most {max}"
    )]
    TooLarge {
        /// Who sent it.
        from: Source,
        /// Its kind's name.
        kind: &'static str,
        /// Encoded size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// A [`ReadLog`] query failed; the text says why (check the data directory, or run
    /// `vigil verify`).
    #[error("reading the log failed: {0}")]
    Read(String),
}

/// Group commit settings.
#[derive(Debug, Clone, Copy)]
pub struct GroupCommit {
    /// Most events in one durable append.
    pub max_batch: usize,
    /// Longest an event waits for others to share its commit.
    pub max_delay: Duration,
}

impl Default for GroupCommit {
    fn default() -> Self {
        GroupCommit {
            max_batch: 1024,
            max_delay: Duration::from_millis(2),
        }
    }
}

type Reply<T> = tokio::sync::oneshot::Sender<Result<T, JournalError>>;

enum ToWriter {
    Events(Vec<NewEvent>, Reply<()>),
    Flush(Reply<u64>),
}

/// Committed batch from the writer thread.
#[derive(Message)]
#[rtype(result = "()")]
struct Batch(Vec<Envelope>);

/// The writer failed; tell the system.
#[derive(Message)]
#[rtype(result = "()")]
struct WriterFailed(String);

struct Subscriber {
    kinds: Option<Vec<EventKind>>,
    to: Recipient<Committed>,
}

/// The journal actor.
pub struct Journal {
    store: Arc<dyn EventLog>,
    policy: ClassPolicy,
    group: GroupCommit,
    writer: Option<mpsc::Sender<ToWriter>>,
    subscribers: Vec<Subscriber>,
    /// Called when appends fail, so the supervisor can stop.
    on_failure: Option<Box<dyn Fn(String) + Send>>,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal")
            .field("subscribers", &self.subscribers.len())
            .finish_non_exhaustive()
    }
}

impl Journal {
    /// A journal writing to `store` (the sled `Store`, or any other [`EventLog`]) with the
    /// class `policy`.
    pub fn new(store: Arc<dyn EventLog>, policy: ClassPolicy, group: GroupCommit) -> Self {
        Journal {
            store,
            policy,
            group,
            writer: None,
            subscribers: Vec::new(),
            on_failure: None,
        }
    }

    /// Call `f` with the reason if the store fails an append.
    pub fn on_failure(mut self, f: impl Fn(String) + Send + 'static) -> Self {
        self.on_failure = Some(Box::new(f));
        self
    }
}

/// Appends gathered for one group commit: their events in arrival order, and per append how
/// many of them it holds and whom to answer.
#[derive(Default)]
struct Gathered {
    events: Vec<NewEvent>,
    appends: Vec<(usize, Reply<()>)>,
}

impl Gathered {
    /// Drop the append holding event `index`: its events, its reply and the event at `index`.
    fn remove_append_at(&mut self, index: usize) -> Option<(Vec<NewEvent>, Reply<()>, usize)> {
        let mut start = 0;
        let pos = self.appends.iter().position(|(n, _)| {
            let hit = index < start + n;
            if !hit {
                start += n;
            }
            hit
        })?;
        let (n, reply) = self.appends.remove(pos);
        let events = self.events.drain(start..start + n).collect();
        Some((events, reply, index - start))
    }
}

/// Append `g` as one group commit. An event the store refuses as too large takes only its own
/// append down: that one is answered with [`JournalError::TooLarge`] and the rest is retried.
fn commit_gathered(
    store: &dyn EventLog,
    policy: &ClassPolicy,
    g: &mut Gathered,
) -> Result<Vec<Envelope>, StoreError> {
    loop {
        let first = store.last_seq() + 1;
        match store.append(&g.events, policy) {
            Err(StoreError::TooLarge {
                seq,
                kind,
                size,
                max,
            }) => {
                let index = usize::try_from(seq.saturating_sub(first)).unwrap_or(usize::MAX);
                let Some((events, reply, at)) = g.remove_append_at(index) else {
                    // Not one of ours (cannot happen while the journal is the one writer).
                    return Err(StoreError::TooLarge {
                        seq,
                        kind,
                        size,
                        max,
                    });
                };
                let (source, kind) = events.get(at).map_or((Source::Journal, "unknown"), |e| {
                    (e.source, e.kind().name())
                });
                tracing::error!(%source, kind, size, max, refused = events.len(),
                    "journal refused an append holding an oversized event");
                let _ = reply.send(Err(JournalError::TooLarge {
                    from: source,
                    kind,
                    size,
                    max,
                }));
                if g.events.is_empty() {
                    return Ok(Vec::new());
                }
            }
            other => return other,
        }
    }
}

fn writer_loop(
    store: Arc<dyn EventLog>,
    policy: ClassPolicy,
    group: GroupCommit,
    rx: mpsc::Receiver<ToWriter>,
    journal: Addr<Journal>,
) {
    let mut failed: Option<String> = None;
    while let Ok(first) = rx.recv() {
        let mut pending = Gathered::default();
        let mut waiters = Vec::new();
        let mut take = |msg: ToWriter, pending: &mut Gathered| match msg {
            ToWriter::Events(mut evs, reply) => {
                pending.appends.push((evs.len(), reply));
                pending.events.append(&mut evs);
            }
            ToWriter::Flush(w) => waiters.push(w),
        };
        take(first, &mut pending);
        let deadline = Instant::now() + group.max_delay;
        while pending.events.len() < group.max_batch {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(msg) => take(msg, &mut pending),
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
            }
        }
        if let Some(why) = &failed {
            for (_, reply) in pending.appends.drain(..) {
                let _ = reply.send(Err(JournalError::Append(why.clone())));
            }
        } else if !pending.events.is_empty() {
            match commit_gathered(store.as_ref(), &policy, &mut pending) {
                Ok(envs) => {
                    if !envs.is_empty() {
                        journal.do_send(Batch(envs));
                    }
                    for (_, reply) in pending.appends.drain(..) {
                        let _ = reply.send(Ok(()));
                    }
                }
                Err(e) => {
                    let why = e.to_string();
                    tracing::error!(error = %why, lost = pending.events.len(), "journal append failed");
                    journal.do_send(WriterFailed(why.clone()));
                    for (_, reply) in pending.appends.drain(..) {
                        let _ = reply.send(Err(JournalError::Append(why.clone())));
                    }
                    failed = Some(why);
                }
            }
        }
        for w in waiters {
            let answer = match &failed {
                Some(why) => Err(JournalError::Append(why.clone())),
                None => Ok(store.last_seq()),
            };
            let _ = w.send(answer);
        }
    }
}

impl Actor for Journal {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let (tx, rx) = mpsc::channel();
        let (store, policy, group, addr) = (
            self.store.clone(),
            self.policy.clone(),
            self.group,
            ctx.address(),
        );
        let spawned = thread::Builder::new()
            .name("vigil-journal".into())
            .spawn(move || writer_loop(store, policy, group, rx, addr));
        match spawned {
            Ok(_) => self.writer = Some(tx),
            Err(e) => {
                tracing::error!(error = %e, "cannot start the journal writer thread");
                ctx.stop();
            }
        }
    }
}

impl Handler<Append> for Journal {
    type Result = ResponseFuture<Result<(), JournalError>>;
    fn handle(&mut self, msg: Append, _: &mut Self::Context) -> Self::Result {
        if msg.0.is_empty() {
            return Box::pin(async { Ok(()) });
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        let sent = match &self.writer {
            Some(w) => w.send(ToWriter::Events(msg.0, tx)).is_ok(),
            None => false,
        };
        if !sent {
            tracing::error!("journal writer stopped; events dropped before commit");
        }
        Box::pin(async move {
            if !sent {
                return Err(JournalError::Stopped);
            }
            rx.await.unwrap_or(Err(JournalError::Stopped))
        })
    }
}

impl Handler<Subscribe> for Journal {
    type Result = ();
    fn handle(&mut self, msg: Subscribe, _: &mut Self::Context) {
        self.subscribers.push(Subscriber {
            kinds: msg.kinds,
            to: msg.to,
        });
    }
}

impl Handler<Flush> for Journal {
    type Result = ResponseFuture<Result<u64, JournalError>>;
    fn handle(&mut self, _: Flush, _: &mut Self::Context) -> Self::Result {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let sent = self
            .writer
            .as_ref()
            .is_some_and(|w| w.send(ToWriter::Flush(tx)).is_ok());
        Box::pin(async move {
            if !sent {
                return Err(JournalError::Stopped);
            }
            rx.await.unwrap_or(Err(JournalError::Stopped))
        })
    }
}

impl Handler<ReadLog> for Journal {
    type Result = ResponseFuture<Result<Page, JournalError>>;
    fn handle(&mut self, msg: ReadLog, _: &mut Self::Context) -> Self::Result {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let store = self.store.clone();
        let spawned = thread::Builder::new()
            .name("vigil-journal-read".into())
            .spawn(move || {
                let _ = tx.send(
                    store
                        .query(&msg.0)
                        .map_err(|e| JournalError::Read(e.to_string())),
                );
            });
        Box::pin(async move {
            if let Err(e) = spawned {
                return Err(JournalError::Read(format!("no thread for the query: {e}")));
            }
            rx.await.unwrap_or(Err(JournalError::Stopped))
        })
    }
}

impl Handler<Batch> for Journal {
    type Result = ();
    fn handle(&mut self, msg: Batch, _: &mut Self::Context) {
        for env in msg.0 {
            let env = Arc::new(env);
            for s in &self.subscribers {
                if s.kinds.as_ref().is_none_or(|k| k.contains(&env.kind)) {
                    s.to.do_send(Committed(env.clone()));
                }
            }
        }
    }
}

impl Handler<WriterFailed> for Journal {
    type Result = ();
    fn handle(&mut self, msg: WriterFailed, _: &mut Self::Context) {
        if let Some(f) = &self.on_failure {
            f(msg.0);
        }
    }
}
