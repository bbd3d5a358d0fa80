//! The ESP32 power board in the world: the real [`Controller`] on a [`MemStorage`] that
//! survives reboots and mains losses, a crystal that drifts, the board's frame decoder, and
//! the bookkeeping the three properties need.

use std::collections::{BTreeMap, BTreeSet};

use vigil_esp32_power::ring::{BoardEvent, EventId};
use vigil_esp32_power::store::MemStorage;
use vigil_esp32_power::{Config, Controller, Input, Output, Phase, Status};
use vigil_wire::{Decoded, FrameDecoder};

use crate::time::{utc, S};
use crate::Schedule;

/// The board. While it is down, its storage is kept and the controller is gone.
#[derive(Debug)]
pub struct Board {
    /// The configuration used at every boot.
    pub cfg: Config,
    controller: Option<Controller<MemStorage>>,
    store: Option<MemStorage>,
    /// Simulation time of the current boot.
    pub boot_t: u64,
    /// How much slower than true time the board's clock runs this boot, parts per billion.
    pub drift_ppb: i64,
    decoder: FrameDecoder,
    /// When the board first had UTC this boot.
    pub synced_t: Option<u64>,
    /// When the board sent the first halt notice of the current handshake.
    pub first_notice: Option<u64>,
    /// The ring watch (property 3).
    pub ring: RingWatch,
}

impl Board {
    /// A board that has not booted yet, on fresh storage.
    pub fn new(cfg: Config) -> Self {
        Board {
            cfg,
            controller: None,
            store: Some(MemStorage::new()),
            boot_t: 0,
            drift_ppb: 0,
            decoder: FrameDecoder::new(),
            synced_t: None,
            first_notice: None,
            ring: RingWatch::default(),
        }
    }

    /// Boots at `t` with its clock `drift_ppb` slow (RAM lost, storage kept); returns the
    /// boot's outputs.
    pub fn boot(&mut self, t: u64, drift_ppb: i64) -> Vec<Output> {
        let store = self
            .store
            .take()
            .expect("storage is kept while the board is down");
        self.boot_t = t;
        self.drift_ppb = drift_ppb;
        self.decoder = FrameDecoder::new();
        self.synced_t = None;
        self.first_notice = None;
        let mut outs = Vec::new();
        let c = Controller::boot(self.cfg, store, 0, &mut |o| outs.push(o));
        self.controller = Some(c);
        outs
    }

    /// The board loses power (its storage stays).
    pub fn kill(&mut self) {
        if let Some(c) = self.controller.take() {
            self.store = Some(c.into_storage());
        }
    }

    /// The controller, while the board is up.
    pub fn controller(&self) -> Option<&Controller<MemStorage>> {
        self.controller.as_ref()
    }

    /// Whether the board runs.
    pub fn is_up(&self) -> bool {
        self.controller.is_some()
    }

    /// The board's monotonic clock at simulation time `t`.
    pub fn mono(&self, t: u64) -> u64 {
        let dt = (t - self.boot_t) as i128;
        (dt * (1_000_000_000 - self.drift_ppb as i128) / 1_000_000_000) as u64
    }

    /// The board's status at `t`, while it is up.
    pub fn status(&self, t: u64) -> Option<Status> {
        Some(self.controller.as_ref()?.status(self.mono(t)))
    }

    /// Board UTC minus true UTC at `t`, once the board has time.
    pub fn utc_error(&self, t: u64) -> Option<i64> {
        self.status(t)?.utc_us.map(|u| u - utc(t))
    }

    /// Feeds one input at board time `now`; returns the outputs (none while down).
    pub fn handle(&mut self, now: u64, input: Input<'_>) -> Vec<Output> {
        let mut outs = Vec::new();
        if let Some(c) = self.controller.as_mut() {
            c.handle(now, input, &mut |o| outs.push(o));
        }
        outs
    }

    /// Bytes arriving on the board's UART, decoded into the inputs they make.
    pub fn receive(&mut self, bytes: &[u8]) -> Vec<Input<'static>> {
        let mut got = Vec::new();
        self.decoder.feed_all(bytes, |d| {
            got.push(match d {
                Decoded::Packet(p) => Input::Packet(p),
                Decoded::Rejected(_) => Input::Rejected,
            })
        });
        got
    }

    /// Notes, after the board's step at `t`, when it got time and when a handshake ended.
    pub fn after_step(&mut self, t: u64) {
        let Some(st) = self.status(t) else {
            return;
        };
        if self.synced_t.is_none() && st.utc_us.is_some() {
            self.synced_t = Some(t);
        }
        if matches!(st.phase, Phase::On | Phase::Off | Phase::Cycling) {
            self.first_notice = None;
        }
    }

    /// Records a halt notice sent at `t`; true if it starts a handshake.
    pub fn notice_sent(&mut self, t: u64) -> bool {
        if self.first_notice.is_some() {
            return false;
        }
        self.first_notice = Some(t);
        true
    }

    /// Whether at `t` the hard deadline since the handshake's first notice has passed (board
    /// µs run at true µs plus drift: two seconds of slack).
    pub fn deadline_passed(&self, t: u64) -> bool {
        self.first_notice
            .is_some_and(|n| t + 2 * S >= n + self.cfg.hard_deadline_us)
    }

    /// Whether the board is idle at `t` (down counts as busy: it must boot).
    pub fn is_idle(&self, t: u64) -> bool {
        self.status(t).is_some_and(|st| st.phase == Phase::Off)
    }

    /// Updates the ring watch; `logged(boot, seq)` says whether the Pi's log holds an event.
    pub fn track(&mut self, logged: impl Fn(u32, u32) -> bool) {
        if let Some(c) = self.controller.as_ref() {
            self.ring.track(c, logged);
        }
    }
}

/// Property 3 bookkeeping: every id that appears in the board's ring, and every id that leaves
/// it without having reached the Pi.
#[derive(Debug, Default)]
pub struct RingWatch {
    /// Every board event seen in the ring: id → the event.
    pub generated: BTreeMap<EventId, BoardEvent>,
    /// Ids that left the ring before the Pi logged them.
    pub vanished: BTreeSet<EventId>,
    last: BTreeSet<EventId>,
}

impl RingWatch {
    fn track(&mut self, c: &Controller<MemStorage>, logged: impl Fn(u32, u32) -> bool) {
        let (front, back) = (
            c.events().next().map(|e| e.id),
            c.events().last().map(|e| e.id),
        );
        if front == self.last.first().copied() && back == self.last.last().copied() {
            return; // ids only ever leave at the front and join at the back
        }
        let mut now_ids = BTreeSet::new();
        for e in c.events() {
            now_ids.insert(e.id);
            self.generated.entry(e.id).or_insert(e.event);
        }
        for id in self.last.difference(&now_ids) {
            if !logged(id.boot, id.seq) {
                self.vanished.insert(*id);
            }
        }
        self.last = now_ids;
    }
}

/// The outcome of [`WindowWatch::check`].
#[derive(Debug, Clone, PartialEq)]
pub enum WindowCheck {
    /// Nothing to check at this step.
    Skip,
    /// A window start was checked: the board's status one heartbeat period after it.
    Checked {
        /// The window's index in the schedule.
        index: usize,
        /// Its start, simulation µs.
        start: u64,
        /// Its end.
        end: u64,
        /// When the board got time.
        synced_t: u64,
        /// The board's status.
        status: Status,
    },
}

impl WindowCheck {
    /// Whether a checked window found the board powering the Pi (or cycling it); `true` when
    /// nothing was checked.
    pub fn held(&self) -> bool {
        match self {
            WindowCheck::Skip => true,
            WindowCheck::Checked { status, .. } => {
                status.relay_on || status.phase == Phase::Cycling
            }
        }
    }
}

/// Property 2: once the board has time, no window start is missed by more than one heartbeat
/// period. Checks each window (and each boot inside it) once.
#[derive(Debug, Default)]
pub struct WindowWatch {
    checked: BTreeSet<(usize, u64)>,
}

impl WindowWatch {
    /// The check at `t` for the window containing it, if due. A window the board was never
    /// told of cannot count, nor one hidden by a stall of the board loop since `stalled_until`.
    pub fn check(
        &mut self,
        board: &Board,
        schedule: &Schedule,
        t: u64,
        mains: bool,
        heartbeat: u64,
        stalled_until: u64,
    ) -> WindowCheck {
        let Some(c) = board.controller() else {
            return WindowCheck::Skip;
        };
        let (Some(synced_t), true) = (board.synced_t, mains) else {
            return WindowCheck::Skip;
        };
        let i = schedule.index_at(t);
        let Some(&(start, end)) = schedule.0.get(i) else {
            return WindowCheck::Skip;
        };
        if start > t {
            return WindowCheck::Skip;
        }
        let from = start.max(synced_t).max(board.boot_t);
        // the board switches by its own clock: allow for it running late
        let late = board.utc_error(t).map_or(0, |e| (-e).max(0) as u64);
        let check_at = from + heartbeat + late;
        if t < check_at || t >= end || !self.checked.insert((i, from)) {
            return WindowCheck::Skip;
        }
        let covered = c
            .schedule()
            .span_at(
                utc(start),
                board.cfg.merge_gap_us as i64,
                board.cfg.repeat_period_us as i64,
            )
            .is_some();
        if !covered || stalled_until > from || t > check_at + 2 * S {
            return WindowCheck::Skip;
        }
        WindowCheck::Checked {
            index: i,
            start,
            end,
            synced_t,
            status: c.status(board.mono(t)),
        }
    }
}
