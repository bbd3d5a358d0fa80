//! The link's performer: the port side of a board link, on the shell's performer thread, with
//! a reader thread and a writer thread on the port and the pure [`LinkCore`] in between.
//!
//! Commands (from the link core, [`super::Link`]):
//! - [`LinkCommand::Start`]: remember the board events already in the log, then open the port.
//! - [`LinkCommand::Durable`]: a board event is durable; ack it to the board.
//!
//! Observations (returned to the shell, appended through the journal): the board's events
//! with their origins, `LinkUp`, `LinkDown`, and `LinkStats` every `stats_every` of station
//! time and at stop. Control packets (status, replies) go to the owner's [`BoardPacket`]
//! channel, if any; the owner sends Pi → board messages through a [`ToBoard`] handle.
//!
//! The reader opens the port through a [`PortOpener`]; when it cannot, or the port goes away
//! (read error, hang-up), the core records one `LinkDown` and the reader retries with a
//! doubling backoff. When the board speaks again the core records `LinkUp`. The reader wakes
//! the performer thread for every chunk it reads, so frames are handled as they arrive.

use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use actix::prelude::*;
use serialport::SerialPort;
use vigil_events::{NewEvent, UtcMicros};
use vigil_wire::{encode_frame_to_vec, Message, Packet};

use super::actor::{Link, LinkCommand};
use super::core::{LinkAction, LinkCore};
use super::port::PortOpener;
use crate::core::{Performer, Wake};
use crate::journal::Journal;
use crate::shell::Shell;
use crate::station_clock::StationClock;

/// How often the performer looks at its timers (heartbeat, `LinkStats`) when nothing arrives.
const TICK: Duration = Duration::from_millis(100);

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

/// A control packet from the board (not a log event) for the link's owner.
#[derive(Debug, Clone)]
pub struct BoardPacket {
    /// The packet.
    pub packet: Packet,
    /// Station time it arrived.
    pub at: UtcMicros,
}

/// Sends Pi → board messages on a link (heartbeats, windows, …), from any thread. Messages
/// sent before the link has started wait for it.
#[derive(Debug, Clone)]
pub struct ToBoard {
    tx: mpsc::Sender<Message>,
    wake: Arc<OnceLock<Wake>>,
}

impl ToBoard {
    /// Send `msg` to the board (dropped if the link has stopped).
    pub fn send(&self, msg: impl Into<Message>) {
        if self.tx.send(msg.into()).is_ok() {
            if let Some(w) = self.wake.get() {
                w.wake();
            }
        }
    }
}

enum Inbound {
    Opened,
    Data(Vec<u8>),
    Closed { why: String, retry_in: Duration },
}

type Slot = Arc<Mutex<Option<Box<dyn SerialPort>>>>;

/// The link's performer. See the module docs.
pub struct LinkPort {
    core: LinkCore,
    timing: LinkTiming,
    opener: Option<Box<dyn PortOpener>>,
    forward: Option<mpsc::Sender<BoardPacket>>,
    on_stop: Vec<Box<dyn FnOnce() + Send>>,
    wake: Arc<OnceLock<Wake>>,
    outbox: mpsc::Receiver<Message>,
    outbox_tx: mpsc::Sender<Message>,
    inbound: mpsc::Receiver<Inbound>,
    inbound_tx: mpsc::Sender<Inbound>,
    stop: Arc<AtomicBool>,
    writer: Option<mpsc::Sender<Vec<u8>>>,
    threads: Vec<JoinHandle<()>>,
    open: bool,
    last_heartbeat: Option<Instant>,
    next_stats: Option<UtcMicros>,
    last_stats_real: Instant,
}

impl std::fmt::Debug for LinkPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkPort")
            .field("core", &self.core)
            .field("open", &self.open)
            .finish_non_exhaustive()
    }
}

impl LinkPort {
    /// The port side of a link around `core`, opening its port with `opener`.
    pub fn new(core: LinkCore, opener: Box<dyn PortOpener>, timing: LinkTiming) -> Self {
        let (outbox_tx, outbox) = mpsc::channel();
        let (inbound_tx, inbound) = mpsc::channel();
        LinkPort {
            core,
            timing,
            opener: Some(opener),
            forward: None,
            on_stop: Vec::new(),
            wake: Arc::new(OnceLock::new()),
            outbox,
            outbox_tx,
            inbound,
            inbound_tx,
            stop: Arc::new(AtomicBool::new(false)),
            writer: None,
            threads: Vec::new(),
            open: false,
            last_heartbeat: None,
            next_stats: None,
            last_stats_real: Instant::now(),
        }
    }

    /// Send control packets to `to`.
    pub fn forward_to(mut self, to: mpsc::Sender<BoardPacket>) -> Self {
        self.forward = Some(to);
        self
    }

    /// Run `f` when the link stops (e.g. stop an in-process simulator).
    pub fn on_stop(mut self, f: impl FnOnce() + Send + 'static) -> Self {
        self.on_stop.push(Box::new(f));
        self
    }

    /// A handle for the link's owner to send Pi → board messages.
    pub fn to_board(&self) -> ToBoard {
        ToBoard {
            tx: self.outbox_tx.clone(),
            wake: self.wake.clone(),
        }
    }

    /// The link core for this port (what the shell runs).
    pub fn link(&self) -> Link {
        Link::new(self.core.spec())
    }

    /// Start the link under the one shell: the [`Link`] core, this performer, `journal`.
    pub fn spawn(self, journal: Addr<Journal>, clock: StationClock) -> Addr<Shell<Link>> {
        Shell::new(self.link(), self, journal, clock).spawn()
    }

    fn open_port(&mut self) {
        let Some(opener) = self.opener.take() else {
            return;
        };
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
        let Some(wake) = self.wake.get().cloned() else {
            tracing::error!("the link performer was not started by its shell");
            return;
        };
        let (to, stop, timing) = (self.inbound_tx.clone(), self.stop.clone(), self.timing);
        match thread::Builder::new()
            .name("vigil-link-rx".into())
            .spawn(move || reader_loop(opener, to, wake, slot, stop, timing))
        {
            Ok(h) => self.threads.push(h),
            Err(e) => tracing::error!(error = %e, "cannot start the link reader thread"),
        }
    }

    fn perform_actions(&mut self, actions: Vec<LinkAction>, now: UtcMicros) -> Vec<NewEvent> {
        let mut events = Vec::new();
        for a in actions {
            match a {
                LinkAction::Append(e) => events.push(e),
                LinkAction::Send(p) => self.send(&p),
                LinkAction::Forward(packet) => match &self.forward {
                    Some(to) => {
                        let _ = to.send(BoardPacket { packet, at: now });
                    }
                    None => tracing::debug!(kind = packet.message.kind().name(), "board says"),
                },
            }
        }
        events
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

    fn timers(&mut self, now: UtcMicros, events: &mut Vec<NewEvent>) {
        if self.open {
            if let Some(every) = self.timing.heartbeat {
                if self.last_heartbeat.is_none_or(|t| t.elapsed() >= every) {
                    self.last_heartbeat = Some(Instant::now());
                    let p = self.core.heartbeat(now);
                    self.send(&p);
                }
            }
        }
        let due = self.next_stats.is_none_or(|t| now >= t);
        if due && self.last_stats_real.elapsed() >= self.timing.stats_min_real {
            self.last_stats_real = Instant::now();
            let every = i64::try_from(self.timing.stats_every.as_micros()).unwrap_or(i64::MAX);
            self.next_stats = Some(now.saturating_add(every.max(1)));
            events.push(self.core.stats(now));
        }
    }
}

impl Performer for LinkPort {
    type Command = LinkCommand;

    fn start(&mut self, wake: Wake) {
        let _ = self.wake.set(wake);
    }

    fn perform(&mut self, cmd: LinkCommand, now: UtcMicros) -> Vec<NewEvent> {
        match cmd {
            LinkCommand::Start(seen) => {
                self.core.prime(seen);
                self.open_port();
                Vec::new()
            }
            LinkCommand::Durable(origin) => {
                let actions = self.core.durable(origin);
                self.perform_actions(actions, now)
            }
        }
    }

    fn poll_interval(&self) -> Option<Duration> {
        Some(TICK)
    }

    fn poll(&mut self, now: UtcMicros) -> Vec<NewEvent> {
        let mut events = Vec::new();
        while let Ok(msg) = self.inbound.try_recv() {
            let actions = match msg {
                Inbound::Opened => {
                    self.open = true;
                    self.last_heartbeat = None;
                    let a = self.core.opened(now);
                    self.timers(now, &mut events);
                    a
                }
                Inbound::Data(bytes) => self.core.on_bytes(&bytes, now),
                Inbound::Closed { why, retry_in } => {
                    self.open = false;
                    let ms = u64::try_from(retry_in.as_millis()).unwrap_or(u64::MAX);
                    self.core.closed(now, &why, ms)
                }
            };
            let mut observed = self.perform_actions(actions, now);
            events.append(&mut observed);
        }
        while let Ok(msg) = self.outbox.try_recv() {
            let p = self.core.outgoing(msg);
            self.send(&p);
        }
        self.timers(now, &mut events);
        events
    }

    fn release(&mut self, now: UtcMicros) -> Vec<NewEvent> {
        self.stop.store(true, Ordering::SeqCst);
        self.writer = None;
        let stats = self.core.stats(now);
        for t in std::mem::take(&mut self.threads) {
            let _ = t.join();
        }
        for h in std::mem::take(&mut self.on_stop) {
            h();
        }
        vec![stats]
    }
}

fn reader_loop(
    mut opener: Box<dyn PortOpener>,
    to: mpsc::Sender<Inbound>,
    wake: Wake,
    slot: Slot,
    stop: Arc<AtomicBool>,
    timing: LinkTiming,
) {
    let tell = |msg: Inbound| {
        if to.send(msg).is_ok() {
            wake.wake();
        }
    };
    let mut backoff = timing.backoff_initial;
    let mut buf = vec![0u8; 4096];
    while !stop.load(Ordering::SeqCst) {
        match opener.open() {
            Ok(mut port) => {
                let _ = port.set_timeout(Duration::from_millis(50));
                if let Ok(mut s) = slot.lock() {
                    *s = port.try_clone().ok();
                }
                tell(Inbound::Opened);
                backoff = timing.backoff_initial;
                let why = loop {
                    if stop.load(Ordering::SeqCst) {
                        break None;
                    }
                    match port.read(&mut buf) {
                        Ok(0) => break Some("port closed".to_string()),
                        Ok(n) => tell(Inbound::Data(buf[..n].to_vec())),
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
                    Some(why) => tell(Inbound::Closed {
                        why,
                        retry_in: backoff,
                    }),
                }
            }
            Err(why) => tell(Inbound::Closed {
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
