//! The link actor: a reader thread on the port, a writer thread, and the [`LinkCore`] in
//! between.
//!
//! Messages:
//! - [`Committed`]: a durable board event from the journal (acks go out only now).
//! - [`SendToBoard`]: a Pi → board message from the link's owner (heartbeats, windows, …).
//! - [`Stop`]: stop the threads, record the last `LinkStats`, run the stop hooks.
//!
//! Control packets (status, replies) go to the owner's [`BoardPacket`] recipient, if any.
//!
//! The reader opens the port through a [`PortOpener`]; when it cannot, or the port goes away
//! (read error, hang-up), the core records one `LinkDown` and the reader retries with a
//! doubling backoff. When the board speaks again the core records `LinkUp`.

use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use actix::prelude::*;
use serialport::SerialPort;
use vigil_events::{BoardOrigin, Source, UtcMicros};
use vigil_store::{Query, Store, StoreError};
use vigil_wire::{encode_frame_to_vec, Message, Packet};

use super::board::board_kinds;
use super::core::{LinkAction, LinkCore};
use super::port::PortOpener;
use crate::journal::{Append, Committed, Journal, Subscribe};
use crate::shell::Stop;
use crate::station_clock::StationClock;

/// Timings of a link.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkTiming {
    /// Send a heartbeat this often (real time) while the port is open; `None` when the owner
    /// sends its own (the power actor).
    pub heartbeat: Option<Duration>,
    /// `LinkStats` every this much station time …
    pub stats_every: Duration,
    /// … but never more often than this in real time.
    pub stats_min_real: Duration,
    /// First reconnect delay (real time); doubles up to `backoff_max`.
    pub backoff_initial: Duration,
    /// Longest reconnect delay.
    pub backoff_max: Duration,
}

impl Default for LinkTiming {
    fn default() -> Self {
        LinkTiming {
            heartbeat: Some(Duration::from_secs(1)),
            stats_every: Duration::from_secs(600),
            stats_min_real: Duration::from_secs(5),
            backoff_initial: Duration::from_millis(100),
            backoff_max: Duration::from_secs(5),
        }
    }
}

/// A Pi → board message to send on the link.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct SendToBoard(pub Message);

/// A control packet from the board (not a log event) for the link's owner.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct BoardPacket {
    /// The packet.
    pub packet: Packet,
    /// Station time it arrived.
    pub at: UtcMicros,
}

#[derive(Message)]
#[rtype(result = "()")]
enum Inbound {
    Opened,
    Data(Vec<u8>),
    Closed { why: String, retry_in: Duration },
}

type Slot = Arc<Mutex<Option<Box<dyn SerialPort>>>>;

/// The link actor. See the module docs.
pub struct LinkShell {
    core: LinkCore,
    journal: Addr<Journal>,
    clock: StationClock,
    timing: LinkTiming,
    opener: Option<Box<dyn PortOpener>>,
    forward: Option<Recipient<BoardPacket>>,
    on_stop: Vec<Box<dyn FnOnce() + Send>>,
    stop: Arc<AtomicBool>,
    writer: Option<mpsc::Sender<Vec<u8>>>,
    threads: Vec<JoinHandle<()>>,
    open: bool,
    last_heartbeat: Option<Instant>,
    next_stats: UtcMicros,
    last_stats_real: Instant,
}

impl std::fmt::Debug for LinkShell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkShell")
            .field("core", &self.core)
            .field("open", &self.open)
            .finish_non_exhaustive()
    }
}

impl LinkShell {
    /// A link actor around `core`, opening its port with `opener`.
    pub fn new(
        core: LinkCore,
        opener: Box<dyn PortOpener>,
        journal: Addr<Journal>,
        clock: StationClock,
        timing: LinkTiming,
    ) -> Self {
        LinkShell {
            core,
            journal,
            clock,
            timing,
            opener: Some(opener),
            forward: None,
            on_stop: Vec::new(),
            stop: Arc::new(AtomicBool::new(false)),
            writer: None,
            threads: Vec::new(),
            open: false,
            last_heartbeat: None,
            next_stats: clock.now(),
            last_stats_real: Instant::now(),
        }
    }

    /// Send control packets to `to`.
    pub fn forward_to(mut self, to: Recipient<BoardPacket>) -> Self {
        self.forward = Some(to);
        self
    }

    /// Run `f` when the link stops (e.g. stop an in-process simulator).
    pub fn on_stop(mut self, f: impl FnOnce() + Send + 'static) -> Self {
        self.on_stop.push(Box::new(f));
        self
    }

    /// Start the actor, subscribed to its board's committed events before anything else.
    pub fn spawn(self) -> Addr<Self> {
        let kinds = board_kinds(self.core.spec().role).to_vec();
        let journal = self.journal.clone();
        let addr = self.start();
        journal.do_send(Subscribe {
            kinds: Some(kinds),
            to: addr.clone().recipient(),
        });
        addr
    }

    fn perform(&mut self, actions: Vec<LinkAction>) {
        let mut events = Vec::new();
        for a in actions {
            match a {
                LinkAction::Append(e) => events.push(e),
                LinkAction::Send(p) => self.send(&p),
                LinkAction::Forward(packet) => match &self.forward {
                    Some(to) => to.do_send(BoardPacket {
                        packet,
                        at: self.clock.now(),
                    }),
                    None => tracing::debug!(kind = packet.message.kind().name(), "board says"),
                },
            }
        }
        if !events.is_empty() {
            self.journal.do_send(Append(events));
        }
    }

    fn send(&mut self, p: &Packet) {
        match encode_frame_to_vec(p) {
            Ok(bytes) => {
                if let Some(w) = &self.writer {
                    let _ = w.send(bytes);
                }
            }
            Err(e) => tracing::error!(error = ?e, kind = p.message.kind().name(), "cannot encode"),
        }
    }

    fn tick(&mut self) {
        if self.open {
            if let Some(every) = self.timing.heartbeat {
                if self.last_heartbeat.is_none_or(|t| t.elapsed() >= every) {
                    self.last_heartbeat = Some(Instant::now());
                    let p = self.core.heartbeat(self.clock.now());
                    self.send(&p);
                }
            }
        }
        let now = self.clock.now();
        if now >= self.next_stats && self.last_stats_real.elapsed() >= self.timing.stats_min_real {
            self.last_stats_real = Instant::now();
            let every = i64::try_from(self.timing.stats_every.as_micros()).unwrap_or(i64::MAX);
            self.next_stats = now.saturating_add(every.max(1));
            self.journal.do_send(Append(vec![self.core.stats(now)]));
        }
    }
}

fn reader_loop(
    mut opener: Box<dyn PortOpener>,
    addr: Addr<LinkShell>,
    slot: Slot,
    stop: Arc<AtomicBool>,
    timing: LinkTiming,
) {
    let mut backoff = timing.backoff_initial;
    let mut buf = vec![0u8; 4096];
    while !stop.load(Ordering::SeqCst) {
        match opener.open() {
            Ok(mut port) => {
                let _ = port.set_timeout(Duration::from_millis(50));
                if let Ok(mut s) = slot.lock() {
                    *s = port.try_clone().ok();
                }
                addr.do_send(Inbound::Opened);
                backoff = timing.backoff_initial;
                let why = loop {
                    if stop.load(Ordering::SeqCst) {
                        break None;
                    }
                    match port.read(&mut buf) {
                        Ok(0) => break Some("port closed".to_string()),
                        Ok(n) => addr.do_send(Inbound::Data(buf[..n].to_vec())),
                        Err(e)
                            if matches!(
                                e.kind(),
                                std::io::ErrorKind::TimedOut
                                    | std::io::ErrorKind::Interrupted
                                    | std::io::ErrorKind::WouldBlock
                            ) => {}
                        Err(e) => break Some(format!("port vanished: {e}")),
                    }
                };
                if let Ok(mut s) = slot.lock() {
                    *s = None;
                }
                match why {
                    None => break,
                    Some(why) => addr.do_send(Inbound::Closed {
                        why,
                        retry_in: backoff,
                    }),
                }
            }
            Err(why) => addr.do_send(Inbound::Closed {
                why: format!("cannot open {why}"),
                retry_in: backoff,
            }),
        }
        let until = Instant::now() + backoff;
        while Instant::now() < until && !stop.load(Ordering::SeqCst) {
            thread::sleep(Duration::from_millis(10));
        }
        backoff = (backoff * 2).min(timing.backoff_max);
    }
}

fn writer_loop(rx: mpsc::Receiver<Vec<u8>>, slot: Slot) {
    while let Ok(bytes) = rx.recv() {
        let Ok(mut s) = slot.lock() else {
            return;
        };
        if let Some(port) = s.as_mut() {
            if let Err(e) = port.write_all(&bytes) {
                tracing::debug!(error = %e, "serial write failed");
            }
        }
    }
}

impl Actor for LinkShell {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let slot: Slot = Arc::new(Mutex::new(None));
        let (tx, rx) = mpsc::channel();
        self.writer = Some(tx);
        let ws = slot.clone();
        match thread::Builder::new()
            .name("vigil-link-tx".into())
            .spawn(move || writer_loop(rx, ws))
        {
            Ok(h) => self.threads.push(h),
            Err(e) => tracing::error!(error = %e, "cannot start the link writer thread"),
        }
        if let Some(opener) = self.opener.take() {
            let (addr, stop, timing) = (ctx.address(), self.stop.clone(), self.timing);
            match thread::Builder::new()
                .name("vigil-link-rx".into())
                .spawn(move || reader_loop(opener, addr, slot, stop, timing))
            {
                Ok(h) => self.threads.push(h),
                Err(e) => tracing::error!(error = %e, "cannot start the link reader thread"),
            }
        }
        ctx.run_interval(Duration::from_millis(100), |act, _| act.tick());
    }
}

impl Handler<Inbound> for LinkShell {
    type Result = ();
    fn handle(&mut self, msg: Inbound, _: &mut Self::Context) {
        let now = self.clock.now();
        let actions = match msg {
            Inbound::Opened => {
                self.open = true;
                self.last_heartbeat = None;
                let a = self.core.opened(now);
                self.tick();
                a
            }
            Inbound::Data(bytes) => self.core.on_bytes(&bytes, now),
            Inbound::Closed { why, retry_in } => {
                self.open = false;
                let ms = u64::try_from(retry_in.as_millis()).unwrap_or(u64::MAX);
                self.core.closed(now, &why, ms)
            }
        };
        self.perform(actions);
    }
}

impl Handler<Committed> for LinkShell {
    type Result = ();
    fn handle(&mut self, msg: Committed, _: &mut Self::Context) {
        let actions = self.core.on_committed(&msg.0);
        self.perform(actions);
    }
}

impl Handler<SendToBoard> for LinkShell {
    type Result = ();
    fn handle(&mut self, msg: SendToBoard, _: &mut Self::Context) {
        let p = self.core.outgoing(msg.0);
        self.send(&p);
    }
}

impl Handler<Stop> for LinkShell {
    type Result = ResponseActFuture<Self, ()>;
    fn handle(&mut self, _: Stop, _: &mut Self::Context) -> Self::Result {
        self.stop.store(true, Ordering::SeqCst);
        self.writer = None;
        let now = self.clock.now();
        self.journal.do_send(Append(vec![self.core.stats(now)]));
        let threads = std::mem::take(&mut self.threads);
        let hooks = std::mem::take(&mut self.on_stop);
        let (tx, rx) = tokio::sync::oneshot::channel();
        let joiner = thread::Builder::new()
            .name("vigil-link-stop".into())
            .spawn(move || {
                for t in threads {
                    let _ = t.join();
                }
                for h in hooks {
                    h();
                }
                let _ = tx.send(());
            });
        let spawned = joiner.is_ok();
        Box::pin(
            async move {
                if spawned {
                    let _ = rx.await;
                }
            }
            .into_actor(self)
            .map(|_, _, ctx| ctx.stop()),
        )
    }
}

/// The origins of the last `n` events of `source` in the log (newest first), to prime a
/// link's deduplication at start ([`LinkCore::prime`]).
pub fn recent_origins(
    store: &Store,
    source: Source,
    n: usize,
) -> Result<Vec<BoardOrigin>, StoreError> {
    let page = store.query(&Query {
        source: Some(source),
        limit: n.max(1),
        backward: true,
        ..Query::default()
    })?;
    Ok(page.items.iter().filter_map(|e| e.origin).collect())
}
