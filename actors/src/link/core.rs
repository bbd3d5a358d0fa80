//! The link's pure state machine: frames in, events and replies out. No I/O, no clock: the
//! shell passes bytes, the port's state and the time.
//!
//! # Rules
//!
//! - **Identity.** A board introduces itself with `hello` (role, device id, boot). Until the
//!   link knows a device, other frames are rejected (`no_hello`). A frame (hello included)
//!   whose device is not the one the board said hello with is rejected (`wrong_device`); a
//!   hello of the wrong role too (`wrong_role`). After the port is reopened, the first valid
//!   frame of the known device (or its hello) brings the link up again; a new boot is a
//!   board restart.
//! - **Exactly once.** Board messages that become log events are appended with
//!   `origin = (device, boot, seq, device_ts)` and remembered by `(device, boot, seq)`; a
//!   frame already seen is dropped and counted (`duplicate`). The memory is primed from the
//!   log at start ([`LinkCore::prime`], from the journal's answer to the link core's history
//!   query, see [`super::actor`]), so a restart of the Pi does not append again what a
//!   board re-sends. Control frames must have increasing seqs within a boot (`replayed`).
//! - **Acks after durability.** An `event_ack` goes to the board only when the journal hands
//!   the event back committed ([`LinkCore::on_committed`]), never at append time. A
//!   duplicate of an event already durable is acked again at once (the first ack was lost); a
//!   duplicate of one still in flight waits for its commit.
//! - **Counting.** The wire decoder's rejects (by reason) and the link's own reasons above
//!   are reported in `LinkStats`, with the frames accepted and the reconnects.

use std::collections::{BTreeMap, BTreeSet};

use vigil_events::kinds::{LinkDown, LinkStats, LinkUp};
use vigil_events::{BoardOrigin, Envelope, NewEvent, Source, UtcMicros};
use vigil_wire::{
    BoardRole, BoardScope, Decoded, Direction, EventAck, FrameDecoder, Header, Heartbeat, Message,
    Packet,
};

use super::board::board_event;

/// Seqs remembered per (device, boot) before the oldest are folded into a floor.
const SEQS_PER_BOOT: usize = 8192;
/// Boots remembered per device.
const BOOTS_PER_DEVICE: usize = 32;

/// What a link is for.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkSpec {
    /// Source of the board's events (`pico`, `esp32`).
    pub board: Source,
    /// Source of the link's own events (`LinkUp`, `LinkDown`, `LinkStats`): the actor that
    /// owns the link (`classifier` for the Pico, `power` for the ESP32).
    pub owner: Source,
    /// The role the board must say hello with.
    pub role: BoardRole,
    /// Port name for the events (a path, or `sim:<path>`).
    pub port: String,
    /// The Pi's boot id in the headers of what it sends (e.g. the supervisor's start second).
    pub pi_boot: u32,
    /// Messages sent to the board every time the link comes up (e.g. `pico_config`).
    pub on_link_up: Vec<Message>,
}

/// Link-level reject reasons (the wire decoder's are [`vigil_wire::RejectReason`]).
pub mod reason {
    /// A frame before any hello told the device.
    pub const NO_HELLO: &str = "no_hello";
    /// A device id other than the one the board said hello with.
    pub const WRONG_DEVICE: &str = "wrong_device";
    /// A hello of another board role.
    pub const WRONG_ROLE: &str = "wrong_role";
    /// A Pi → board kind arriving at the Pi (an echo, or a confused peer).
    pub const WRONG_DIRECTION: &str = "wrong_direction";
    /// A kind of the other board.
    pub const FOREIGN_KIND: &str = "foreign_kind";
    /// A board event already appended.
    pub const DUPLICATE: &str = "duplicate";
    /// A control frame whose seq is not above the last one of its boot.
    pub const REPLAYED: &str = "replayed";
}

/// What the shell must do, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum LinkAction {
    /// Append this event.
    Append(NewEvent),
    /// Send this packet to the board.
    Send(Packet),
    /// A control packet for the link's owner (status, replies).
    Forward(Packet),
}

/// Counters since the link was created.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkCounters {
    /// Frames accepted (decoded and valid for this link).
    pub frames: u64,
    /// Rejects by reason (wire and link reasons).
    pub rejects: BTreeMap<String, u64>,
    /// Times the port was reopened after it was lost.
    pub reconnects: u64,
    /// Board events appended.
    pub appended: u64,
    /// Acks sent.
    pub acks: u64,
}

#[derive(Debug, Clone, Default)]
struct SeqSet {
    floor: Option<u32>,
    seen: BTreeSet<u32>,
}

impl SeqSet {
    fn contains(&self, seq: u32) -> bool {
        self.floor.is_some_and(|f| seq <= f) || self.seen.contains(&seq)
    }
    fn insert(&mut self, seq: u32) {
        self.seen.insert(seq);
        while self.seen.len() > SEQS_PER_BOOT {
            if let Some(low) = self.seen.pop_first() {
                self.floor = Some(self.floor.map_or(low, |f| f.max(low)));
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Session {
    device: u32,
    boot: u32,
    protocol: u8,
}

/// The link state machine. See the module docs.
#[derive(Debug)]
pub struct LinkCore {
    spec: LinkSpec,
    decoder: FrameDecoder,
    /// The board as it said hello (kept across reconnects).
    known: Option<Session>,
    /// Whether the link is up on the current connection.
    up: bool,
    /// Port open now.
    open: bool,
    /// Whether the port was ever lost (for the reconnect count).
    lost: bool,
    /// LinkDown already recorded for the current outage.
    down_recorded: bool,
    seen: BTreeMap<u32, BTreeMap<u32, SeqSet>>,
    in_flight: BTreeSet<(u32, u32, u32)>,
    last_control: Option<(u32, u32)>,
    last_ack: BTreeMap<u32, (u32, u32)>,
    out_seq: u32,
    counters: LinkCounters,
}

impl LinkCore {
    /// A link for `spec`, with nothing seen yet.
    pub fn new(spec: LinkSpec) -> Self {
        LinkCore {
            spec,
            decoder: FrameDecoder::new(),
            known: None,
            up: false,
            open: false,
            lost: false,
            down_recorded: false,
            seen: BTreeMap::new(),
            in_flight: BTreeSet::new(),
            last_control: None,
            last_ack: BTreeMap::new(),
            out_seq: 0,
            counters: LinkCounters::default(),
        }
    }

    /// The spec.
    pub fn spec(&self) -> &LinkSpec {
        &self.spec
    }

    /// Counters so far (the wire decoder's rejects included).
    pub fn counters(&self) -> LinkCounters {
        let mut c = self.counters.clone();
        for (r, n) in self.decoder.counts().iter() {
            if n > 0 {
                *c.rejects.entry(r.as_str().to_string()).or_default() += n;
            }
        }
        c
    }

    /// Whether the board is talking on the current connection.
    pub fn is_up(&self) -> bool {
        self.up
    }

    /// The board's device id, once it said hello.
    pub fn device(&self) -> Option<u32> {
        self.known.map(|s| s.device)
    }

    /// Remember board events already in the log (the last N events of this board, with
    /// their origins), so that what a board re-sends after a Pi restart is not appended twice.
    pub fn prime(&mut self, origins: impl IntoIterator<Item = BoardOrigin>) {
        for o in origins {
            self.remember(o.device, o.boot, o.seq);
        }
    }

    fn remember(&mut self, device: u32, boot: u32, seq: u32) {
        let boots = self.seen.entry(device).or_default();
        boots.entry(boot).or_default().insert(seq);
        while boots.len() > BOOTS_PER_DEVICE {
            boots.pop_first();
        }
    }

    fn is_seen(&self, device: u32, boot: u32, seq: u32) -> bool {
        self.seen
            .get(&device)
            .and_then(|b| b.get(&boot))
            .is_some_and(|s| s.contains(seq))
    }

    fn reject(&mut self, why: &str) {
        *self.counters.rejects.entry(why.to_string()).or_default() += 1;
    }

    fn event(&self, now: UtcMicros, ev: impl Into<vigil_events::Event>) -> NewEvent {
        NewEvent::new(now, self.spec.owner, ev)
    }

    /// A packet to the board with the Pi's header (device as known, or 0).
    pub fn outgoing(&mut self, msg: impl Into<Message>) -> Packet {
        self.out_seq = self.out_seq.wrapping_add(1);
        Packet::new(
            Header {
                device: self.known.map_or(0, |s| s.device),
                boot: self.spec.pi_boot,
                seq: self.out_seq,
            },
            msg,
        )
    }

    /// A heartbeat carrying the Pi's time.
    pub fn heartbeat(&mut self, now: UtcMicros) -> Packet {
        self.outgoing(Heartbeat { pi_utc_us: now })
    }

    /// The port was opened. The link comes up when the board speaks.
    pub fn opened(&mut self, _now: UtcMicros) -> Vec<LinkAction> {
        self.open = true;
        self.up = false;
        self.decoder.clear();
        self.last_control = None;
        if self.lost {
            self.counters.reconnects += 1;
        }
        Vec::new()
    }

    /// The port could not be opened or was lost; the shell retries in `retry_in_ms`. Records
    /// one `LinkDown` per outage.
    pub fn closed(&mut self, now: UtcMicros, why: &str, retry_in_ms: u64) -> Vec<LinkAction> {
        let was_open = self.open;
        self.open = false;
        self.up = false;
        self.decoder.clear();
        if was_open {
            self.lost = true;
            self.down_recorded = false;
        }
        if self.down_recorded {
            return Vec::new();
        }
        self.down_recorded = true;
        vec![LinkAction::Append(self.event(
            now,
            LinkDown {
                port: self.spec.port.clone(),
                reason: why.to_string(),
                retry_in_ms,
            },
        ))]
    }

    /// Bytes read from the port.
    pub fn on_bytes(&mut self, bytes: &[u8], now: UtcMicros) -> Vec<LinkAction> {
        let mut decoded = Vec::new();
        self.decoder.feed_all(bytes, |d| decoded.push(d));
        let mut out = Vec::new();
        for d in decoded {
            if let Decoded::Packet(p) = d {
                out.extend(self.on_packet(p, now));
            }
        }
        out
    }

    fn link_up(&mut self, s: Session, now: UtcMicros, out: &mut Vec<LinkAction>) {
        self.up = true;
        self.down_recorded = false;
        out.push(LinkAction::Append(self.event(
            now,
            LinkUp {
                port: self.spec.port.clone(),
                device: s.device,
                boot: s.boot,
                protocol: s.protocol,
            },
        )));
        for m in self.spec.on_link_up.clone() {
            let p = self.outgoing(m);
            out.push(LinkAction::Send(p));
        }
    }

    /// One decoded packet (what [`LinkCore::on_bytes`] calls for each frame).
    pub fn on_packet(&mut self, p: Packet, now: UtcMicros) -> Vec<LinkAction> {
        let mut out = Vec::new();
        let kind = p.message.kind();
        if kind.direction() == Direction::ToBoard {
            self.reject(reason::WRONG_DIRECTION);
            return out;
        }
        let scope_ok = matches!(
            (kind.scope(), self.spec.role),
            (BoardScope::Any, _)
                | (BoardScope::Power, BoardRole::Power)
                | (BoardScope::Thermal, BoardRole::Thermal)
        );
        if !scope_ok {
            self.reject(reason::FOREIGN_KIND);
            return out;
        }
        let h = p.header;
        if let Message::Hello(hello) = &p.message {
            if hello.role != self.spec.role {
                self.reject(reason::WRONG_ROLE);
                return out;
            }
            if self.known.is_some_and(|s| s.device != h.device) {
                self.reject(reason::WRONG_DEVICE);
                return out;
            }
            self.counters.frames += 1;
            let s = Session {
                device: h.device,
                boot: h.boot,
                protocol: hello.protocol,
            };
            let fresh = !self.up || self.known != Some(s);
            self.known = Some(s);
            self.last_control = Some((h.boot, h.seq));
            if fresh {
                self.link_up(s, now, &mut out);
            }
            return out;
        }
        let Some(known) = self.known else {
            self.reject(reason::NO_HELLO);
            return out;
        };
        if h.device != known.device {
            self.reject(reason::WRONG_DEVICE);
            return out;
        }
        match board_event(&p.message) {
            Some((event, device_ts)) => {
                if self.is_seen(h.device, h.boot, h.seq) {
                    self.reject(reason::DUPLICATE);
                    if !self.in_flight.contains(&(h.device, h.boot, h.seq)) && self.up {
                        // Durable already: the board missed our ack.
                        out.extend(self.ack(h.device, h.boot, h.seq, true));
                    }
                    return out;
                }
                self.counters.frames += 1;
                self.bring_up(h, known, now, &mut out);
                self.remember(h.device, h.boot, h.seq);
                self.in_flight.insert((h.device, h.boot, h.seq));
                self.counters.appended += 1;
                let origin = BoardOrigin {
                    device: h.device,
                    boot: h.boot,
                    seq: h.seq,
                    device_ts: device_ts.unwrap_or(now),
                };
                out.push(LinkAction::Append(
                    NewEvent::new(now, self.spec.board, event).with_origin(origin),
                ));
            }
            None => {
                if self
                    .last_control
                    .is_some_and(|(b, s)| b == h.boot && h.seq <= s)
                {
                    self.reject(reason::REPLAYED);
                    return out;
                }
                self.counters.frames += 1;
                self.last_control = Some((h.boot, h.seq));
                self.bring_up(h, known, now, &mut out);
                out.push(LinkAction::Forward(p));
            }
        }
        out
    }

    /// A valid frame of the known device on a connection that is not up yet (reopened port,
    /// or a board restart whose hello was lost): the link is up again.
    fn bring_up(&mut self, h: Header, known: Session, now: UtcMicros, out: &mut Vec<LinkAction>) {
        if self.up && h.boot == known.boot {
            return;
        }
        let s = Session {
            device: known.device,
            boot: h.boot,
            protocol: known.protocol,
        };
        self.known = Some(s);
        self.link_up(s, now, out);
    }

    fn ack(&mut self, device: u32, boot: u32, seq: u32, again: bool) -> Vec<LinkAction> {
        if self.known.map(|s| s.device) != Some(device) || !self.up {
            return Vec::new();
        }
        let last = self.last_ack.get(&device).copied();
        if !again && last.is_some_and(|l| l >= (boot, seq)) {
            return Vec::new();
        }
        if last.is_none_or(|l| l < (boot, seq)) {
            self.last_ack.insert(device, (boot, seq));
        }
        self.counters.acks += 1;
        vec![LinkAction::Send(self.outgoing(EventAck { boot, seq }))]
    }

    /// A committed event came back from the journal: if it is one of this board's, it is
    /// durable now, and the board is told.
    pub fn on_committed(&mut self, env: &Envelope) -> Vec<LinkAction> {
        if env.source != self.spec.board {
            return Vec::new();
        }
        match env.origin {
            Some(o) => self.durable(o),
            None => Vec::new(),
        }
    }

    /// A board event of this link's board (the link core checked the source) is durable:
    /// remember it, and ack it if the board is talking.
    pub fn durable(&mut self, o: BoardOrigin) -> Vec<LinkAction> {
        self.in_flight.remove(&(o.device, o.boot, o.seq));
        self.remember(o.device, o.boot, o.seq);
        self.ack(o.device, o.boot, o.seq, false)
    }

    /// The periodic `LinkStats` event.
    pub fn stats(&self, now: UtcMicros) -> NewEvent {
        let c = self.counters();
        self.event(
            now,
            LinkStats {
                port: self.spec.port.clone(),
                frames: c.frames,
                rejects: c.rejects,
                reconnects: c.reconnects,
            },
        )
    }
}
