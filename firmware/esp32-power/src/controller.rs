//! The power controller: one pure state machine that owns the clock, the window list, the
//! relay decision, the halt handshake, the heartbeat watchdog, the override debouncer and the
//! event ring. Time is passed in (`now`, monotonic µs since this boot); nothing reads a clock.
//!
//! Inputs ([`Input`]) are decoded packets from the Pi, SNTP replies, override pin samples and
//! plain ticks; outputs ([`Output`]) are relay commands, SNTP requests and packets for the Pi,
//! handed to a callback in the order they must be performed.
//!
//! # The rules
//!
//! 1. **No time, no schedule.** Until SNTP has answered once since boot, the relay keeps the
//!    state it had before the reboot (persisted) and nothing is switched by the windows.
//! 2. **Window start → power on** (unless the relay was cut less than `min_off_us` ago).
//!    Windows closer than `merge_gap_us` count as one.
//! 3. **Window end → halt handshake.** [`HaltNotice`] (repeated until confirmed); the Pi
//!    answers [`HaltConfirm`]; once its heartbeats have been silent for `halt_grace_us` after
//!    the confirmation, the relay is cut. Without a confirmation the relay is cut only at the
//!    hard deadline (`hard_deadline_us` after the first notice, on the monotonic clock, so a
//!    clock step cannot bring it forward). **Power is never cut while the Pi heartbeats and
//!    has not confirmed halting, before the hard deadline.**
//! 4. **Watchdog.** Inside a window (or while the board has no time but the relay is on), a
//!    Pi silent for `heartbeat_timeout_us` after the boot grace is power-cycled: relay off for
//!    `cycle_off_us`, then on again with a fresh boot grace, doubled after every cycle that
//!    brought no heartbeat (up to 16×). A stall of the board's own loop is not Pi silence.
//! 5. **Override.** While the (debounced) maintenance input is active the relay is on and
//!    neither the schedule nor the watchdog cuts it. When it ends outside a window the halt
//!    handshake runs as at a window end, unless a window starts within `merge_gap_us`.
//! 6. **A halt the Pi starts on its own** ([`HaltConfirm`] with `window_end_us` 0) is honoured
//!    like a confirmed handshake; the window it happened in is then not powered again.
//! 7. **Board events** (relay switched, watchdog, override, clock set) go to the persisted
//!    ring with `(boot, seq)` and board time, are delivered oldest first, one at a time
//!    (stop-and-wait: an [`EventAck`] only ever covers events the Pi received), re-sent until
//!    acked, and deleted only by an ack.

use vigil_wire::{
    BoardRole, BoardTime, EventAck, FirmwareVersion, HaltConfirm, HaltNotice, Header, Hello,
    Message, Packet, PowerReason, PowerStatus, TimeReply, Window, Windows, WindowsAck,
    PROTOCOL_VERSION,
};

use crate::clock::{Clock, ClockConfig, SyncOutcome, SyncState};
use crate::ring::{BoardEvent, Entry, EventId, EventRing, RING_CAPACITY};
use crate::schedule::{Schedule, Span};
use crate::sntp::PACKET_LEN;
use crate::store::{Reader, RecordError, Slot, Storage, Writer, MAX_RECORD};

/// Timings and identity of the controller. All durations are µs of the board's monotonic
/// clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// This board's device id (frame headers, dedup key on the Pi).
    pub device: u32,
    /// Firmware version reported in [`Hello`].
    pub firmware: FirmwareVersion,
    /// SNTP settings.
    pub clock: ClockConfig,
    /// A Pi silent this long (after the boot grace) is power-cycled. Keep it at ten or more
    /// heartbeat periods, so that a burst of line noise is never taken for silence.
    pub heartbeat_timeout_us: u64,
    /// After power-on, the Pi has this long to start heartbeating.
    pub boot_grace_us: u64,
    /// After the Pi confirmed halting, its heartbeats must be silent this long before the cut.
    pub halt_grace_us: u64,
    /// After the first halt notice, the relay is cut at the latest this much later.
    pub hard_deadline_us: u64,
    /// Halt notices are repeated this often until confirmed.
    pub notice_repeat_us: u64,
    /// Relay-off time of a watchdog power cycle.
    pub cycle_off_us: u64,
    /// Least relay-off time before the relay is switched on again.
    pub min_off_us: u64,
    /// Windows closer than this are one span (no halt and re-power in between).
    pub merge_gap_us: u64,
    /// Once the window list has run out, its last period of this length repeats (0: never).
    pub repeat_period_us: u64,
    /// The override input must hold a level this long to count.
    pub debounce_us: u64,
    /// The link counts as down after this long without a valid frame from the Pi.
    pub link_timeout_us: u64,
    /// An unacked board event is re-sent after this long.
    pub event_resend_us: u64,
    /// [`PowerStatus`] is sent this often while the link is up.
    pub status_period_us: u64,
    /// Board events buffered at most (2..=[`RING_CAPACITY`]).
    pub ring_capacity: usize,
    /// A gap longer than this between two calls (the loop stalled) is not counted as Pi
    /// silence: the watchdog and the halt grace restart their count after it.
    pub stall_threshold_us: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            device: 1,
            firmware: FirmwareVersion {
                major: 0,
                minor: 1,
                patch: 0,
            },
            clock: ClockConfig::default(),
            heartbeat_timeout_us: 60_000_000,
            boot_grace_us: 180_000_000,
            halt_grace_us: 15_000_000,
            hard_deadline_us: 300_000_000,
            notice_repeat_us: 5_000_000,
            cycle_off_us: 10_000_000,
            min_off_us: 10_000_000,
            merge_gap_us: 600_000_000,
            repeat_period_us: 7 * 86_400_000_000,
            debounce_us: 50_000,
            link_timeout_us: 10_000_000,
            event_resend_us: 2_000_000,
            status_period_us: 30_000_000,
            ring_capacity: RING_CAPACITY,
            stall_threshold_us: 2_000_000,
        }
    }
}

/// One input to [`Controller::handle`].
#[derive(Clone, Debug, PartialEq)]
#[allow(clippy::large_enum_variant)] // no heap on the board to box the packet
pub enum Input<'a> {
    /// Nothing happened; time passed. Call at least every 100 ms.
    Tick,
    /// A frame from the Pi decoded into a packet.
    Packet(Packet),
    /// The frame decoder rejected a frame (counted in [`PowerStatus::rx_rejects`]).
    Rejected,
    /// An SNTP reply datagram.
    Sntp(&'a [u8]),
    /// A sample of the override input: `true` while maintenance is asking for power.
    Override(bool),
}

/// One thing the caller must do, in order.
#[derive(Clone, Debug, PartialEq)]
#[allow(clippy::large_enum_variant)] // no heap on the board to box the packet
pub enum Output {
    /// Drive the relay: `true` powers the Pi.
    Relay(bool),
    /// Send this SNTP request to the server (UDP port 123) and pass the reply back as
    /// [`Input::Sntp`].
    Sntp([u8; PACKET_LEN]),
    /// Encode this packet as a frame and write it to the Pi's UART.
    Send(Packet),
}

/// What the relay is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Relay off.
    Off,
    /// Relay on, Pi running.
    On,
    /// Relay on, halt handshake in progress.
    Halting {
        /// The Pi confirmed halting.
        confirmed: bool,
    },
    /// Relay off for a watchdog power cycle.
    Cycling,
}

/// A snapshot of the controller, for status displays and tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status {
    /// This boot's id.
    pub boot: u32,
    /// Relay state.
    pub relay_on: bool,
    /// Relay phase.
    pub phase: Phase,
    /// Clock state.
    pub sync: SyncState,
    /// UTC now, when synced.
    pub utc_us: Option<i64>,
    /// Override active (debounced).
    pub override_active: bool,
    /// Monotonic time of the last heartbeat since the relay last switched on.
    pub last_heartbeat_us: Option<u64>,
    /// The window span now in force, if any.
    pub span: Option<Span>,
    /// Board events buffered.
    pub pending_events: usize,
    /// Board events dropped by ring overflow, ever.
    pub events_dropped: u64,
    /// Link to the Pi up.
    pub connected: bool,
    /// Frames rejected since boot (decoder rejects plus packets refused by the controller).
    pub rx_rejects: u32,
    /// Failed storage reads and writes since boot.
    pub storage_errors: u32,
    /// Windows stored.
    pub windows: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Power {
    Off {
        earliest_on: u64,
    },
    On {
        since: u64,
        grace_until: u64,
    },
    Halting {
        first_notice: u64,
        last_notice: Option<u64>,
        confirmed: Option<u64>,
        deadline: u64,
        window: Option<Span>,
        pi_initiated: bool,
    },
    Cycling {
        until: u64,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Debouncer {
    stable: bool,
    candidate: bool,
    since: u64,
}

impl Debouncer {
    fn sample(&mut self, now: u64, level: bool) {
        if level != self.candidate {
            self.candidate = level;
            self.since = now;
        }
    }

    fn settle(&mut self, now: u64, debounce_us: u64) -> Option<bool> {
        if self.candidate != self.stable && now.saturating_sub(self.since) >= debounce_us {
            self.stable = self.candidate;
            return Some(self.stable);
        }
        None
    }
}

/// The controller. `S` is the flash.
#[derive(Debug)]
pub struct Controller<S: Storage> {
    cfg: Config,
    store: S,
    boot: u32,
    next_seq: u32,
    clock: Clock,
    saved_drift_ppb: i64,
    schedule: Schedule,
    ring: EventRing,
    power: Power,
    relay: bool,
    last_hb: Option<u64>,
    silent_trips: u32,
    last_now: u64,
    blind_from: u64,
    span: Option<Span>,
    consumed: Option<Span>,
    override_in: Debouncer,
    last_rx: Option<u64>,
    connected: bool,
    in_flight: Option<(EventId, u64)>,
    highest_sent: Option<EventId>,
    last_status: Option<u64>,
    rx_rejects: u32,
    storage_errors: u32,
}

impl<S: Storage> Controller<S> {
    /// Boots the board at monotonic time `now`: increments and persists the boot id,
    /// restores windows, buffered events and the relay state, drives the relay to that state
    /// and says hello.
    pub fn boot(cfg: Config, mut store: S, now: u64, out: &mut impl FnMut(Output)) -> Self {
        let mut storage_errors = 0u32;
        let mut buf = [0u8; MAX_RECORD];

        let ring = match load(&mut store, Slot::Events, &mut buf, &mut storage_errors) {
            Some(rec) => EventRing::decode(rec, cfg.ring_capacity).unwrap_or_else(|_| {
                storage_errors += 1;
                EventRing::new(cfg.ring_capacity)
            }),
            None => EventRing::new(cfg.ring_capacity),
        };
        let stored_boot = load(&mut store, Slot::Boot, &mut buf, &mut storage_errors)
            .and_then(|rec| counted(decode_boot(rec), &mut storage_errors));
        // Never reuse a (boot, seq): even with a lost boot record, go past every buffered boot.
        let newest_buffered = ring.iter().map(|e| e.id.boot).max().unwrap_or(0);
        let boot = stored_boot
            .unwrap_or(0)
            .max(newest_buffered)
            .wrapping_add(1)
            .max(1);
        let schedule = load(&mut store, Slot::Windows, &mut buf, &mut storage_errors)
            .and_then(|rec| counted(decode_windows(rec), &mut storage_errors))
            .unwrap_or_default();
        let (relay_on, last_utc, drift_ppb) =
            load(&mut store, Slot::Power, &mut buf, &mut storage_errors)
                .and_then(|rec| counted(decode_power(rec), &mut storage_errors))
                .unwrap_or((false, 0, 0));

        let mut c = Controller {
            cfg,
            store,
            boot,
            next_seq: 1,
            clock: Clock::new(cfg.clock, now, last_utc, drift_ppb),
            saved_drift_ppb: drift_ppb,
            schedule,
            ring,
            power: Power::Off { earliest_on: now },
            relay: false,
            last_hb: None,
            silent_trips: 0,
            last_now: now,
            blind_from: now,
            span: None,
            consumed: None,
            override_in: Debouncer {
                stable: false,
                candidate: false,
                since: now,
            },
            last_rx: None,
            connected: false,
            in_flight: None,
            highest_sent: None,
            last_status: None,
            rx_rejects: 0,
            storage_errors,
        };
        c.save_boot();
        if relay_on {
            // The Pi may be running: keep it powered until the schedule can be checked.
            c.relay = true;
            out(Output::Relay(true));
            c.power = Power::On {
                since: now,
                grace_until: now.saturating_add(c.cfg.boot_grace_us),
            };
            c.record(
                now,
                BoardEvent::PowerSwitched {
                    on: true,
                    reason: PowerReason::BoardBoot,
                },
            );
        } else {
            out(Output::Relay(false));
        }
        c.send_hello(now, out);
        c.step(now, out);
        c
    }

    /// Handles one input at monotonic time `now`, then runs every timer due.
    pub fn handle(&mut self, now: u64, input: Input<'_>, out: &mut impl FnMut(Output)) {
        let now = now.max(self.last_now);
        if now - self.last_now > self.cfg.stall_threshold_us {
            // We were not looking: the Pi's heartbeats may have been lost in the UART.
            self.blind_from = now;
        }
        self.last_now = now;
        match input {
            Input::Tick => {}
            Input::Packet(p) => self.on_packet(now, p, out),
            Input::Rejected => self.rx_rejects = self.rx_rejects.saturating_add(1),
            Input::Sntp(bytes) => self.on_sntp(now, bytes),
            Input::Override(level) => self.override_in.sample(now, level),
        }
        self.step(now, out);
    }

    /// A snapshot at `now`.
    pub fn status(&self, now: u64) -> Status {
        Status {
            boot: self.boot,
            relay_on: self.relay,
            phase: match self.power {
                Power::Off { .. } => Phase::Off,
                Power::On { .. } => Phase::On,
                Power::Halting { confirmed, .. } => Phase::Halting {
                    confirmed: confirmed.is_some(),
                },
                Power::Cycling { .. } => Phase::Cycling,
            },
            sync: self.clock.state(now),
            utc_us: self.clock.utc(now),
            override_active: self.override_in.stable,
            last_heartbeat_us: self.last_hb,
            span: self.span,
            pending_events: self.ring.len(),
            events_dropped: self.ring.evicted_total(),
            connected: self.connected,
            rx_rejects: self.rx_rejects,
            storage_errors: self.storage_errors,
            windows: self.schedule.windows().len(),
        }
    }

    /// The buffered board events, oldest first.
    pub fn events(&self) -> impl DoubleEndedIterator<Item = &Entry> + ExactSizeIterator {
        self.ring.iter()
    }

    /// The window list in force.
    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    /// The clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The storage (the board shell may inspect it; tests inject failures).
    pub fn storage_mut(&mut self) -> &mut S {
        &mut self.store
    }

    /// Gives the storage back (a simulated power loss keeps it for the next boot).
    pub fn into_storage(self) -> S {
        self.store
    }

    // ---- inputs ----------------------------------------------------------------------

    fn on_packet(&mut self, now: u64, p: Packet, out: &mut impl FnMut(Output)) {
        let kind = p.message.kind();
        let addressed = p.header.device == 0 || p.header.device == self.cfg.device;
        let for_us = kind.direction() == vigil_wire::Direction::ToBoard
            && matches!(
                kind.scope(),
                vigil_wire::BoardScope::Any | vigil_wire::BoardScope::Power
            );
        if !addressed || !for_us {
            self.rx_rejects = self.rx_rejects.saturating_add(1);
            return;
        }
        self.last_rx = Some(now);
        if !self.connected {
            self.connected = true;
            self.in_flight = None;
            self.send_hello(now, out);
            self.send_status(now, out);
        }
        match p.message {
            Message::Heartbeat(_) => {
                self.last_hb = Some(now);
                self.silent_trips = 0;
                // The Pi has booted: its boot grace is over.
                if let Power::On { grace_until, .. } = &mut self.power {
                    *grace_until = (*grace_until).min(now);
                }
            }
            Message::TimeRequest(r) => {
                let t = self.clock.local_utc(now);
                self.send(
                    out,
                    TimeReply {
                        t1_us: r.t1_us,
                        t2_us: t,
                        t3_us: t,
                        synced: self.clock.utc(now).is_some(),
                        sntp_offset_us: self.clock.last_offset_us(),
                    },
                );
            }
            Message::EventAck(a) => self.on_ack(now, a, out),
            Message::Windows(w) => self.on_windows(w, out),
            Message::HaltConfirm(c) => self.on_halt_confirm(now, c),
            _ => self.rx_rejects = self.rx_rejects.saturating_add(1),
        }
    }

    fn on_ack(&mut self, now: u64, a: EventAck, out: &mut impl FnMut(Output)) {
        let acked = EventId {
            boot: a.boot,
            seq: a.seq,
        };
        // Only what was actually sent can have been received.
        let Some(upto) = self.highest_sent.map(|h| h.min(acked)) else {
            return;
        };
        if self.ring.ack(upto) > 0 {
            self.save_ring();
        }
        if self.in_flight.is_some_and(|(id, _)| id <= upto) {
            self.in_flight = None;
            self.deliver(now, out);
        }
    }

    fn on_windows(&mut self, w: Windows, out: &mut impl FnMut(Output)) {
        let Ok(schedule) = Schedule::new(&w.windows, w.digest) else {
            self.rx_rejects = self.rx_rejects.saturating_add(1);
            return;
        };
        let mut buf = [0u8; MAX_RECORD];
        let saved = encode_windows(&schedule, &mut buf)
            .is_some_and(|n| self.store.save(Slot::Windows, &buf[..n]).is_ok());
        self.schedule = schedule;
        if saved {
            self.send(
                out,
                WindowsAck {
                    digest: w.digest,
                    count: w.windows.len() as u8,
                },
            );
        } else {
            // Not acked: the Pi pushes again, and the board runs on the RAM copy meanwhile.
            self.storage_errors = self.storage_errors.saturating_add(1);
        }
    }

    fn on_halt_confirm(&mut self, now: u64, c: HaltConfirm) {
        match &mut self.power {
            Power::Halting {
                confirmed, window, ..
            } => {
                let matches = c.window_end_us == 0
                    || c.window_end_us == window.map(|s| s.end_us).unwrap_or(0);
                if matches && confirmed.is_none() {
                    *confirmed = Some(now);
                }
            }
            Power::On { .. } if c.window_end_us == 0 => {
                // The Pi halts on its own (operator): treat as a confirmed handshake.
                self.power = Power::Halting {
                    first_notice: now,
                    last_notice: None,
                    confirmed: Some(now),
                    deadline: now.saturating_add(self.cfg.hard_deadline_us),
                    window: self.span,
                    pi_initiated: true,
                };
            }
            _ => {}
        }
    }

    fn on_sntp(&mut self, now: u64, bytes: &[u8]) {
        let was_synced = self.clock.utc(now).is_some();
        let outcome = self.clock.on_reply(now, bytes);
        let (m, stratum) = match outcome {
            Ok(SyncOutcome::First { m, stratum }) | Ok(SyncOutcome::Stepped { m, stratum }) => {
                (m, stratum)
            }
            Ok(SyncOutcome::Adjusted { .. }) => {
                // Keep the crystal's drift for the next boot, when it moved by over 1 ppm
                // (rarely, once learned: flash wear).
                if self.clock.drift_ppb().abs_diff(self.saved_drift_ppb) > 1_000 {
                    self.save_power(now);
                }
                return;
            }
            _ => return,
        };
        if !was_synced {
            // Events of this boot logged before the clock had UTC get it now (unless sent).
            let clock = &self.clock;
            self.ring
                .backfill(self.boot, self.highest_sent, |mono| clock.local_utc(mono));
        }
        self.record(
            now,
            BoardEvent::SntpSynced {
                offset_us: m.offset_us,
                delay_us: m.delay_us,
                stratum,
            },
        );
        self.save_power(now);
    }

    // ---- timers --------------------------------------------------------------------------

    fn step(&mut self, now: u64, out: &mut impl FnMut(Output)) {
        if let Some(active) = self.override_in.settle(now, self.cfg.debounce_us) {
            self.record(now, BoardEvent::OverrideChanged { active });
        }
        if let Some(req) = self.clock.poll(now) {
            out(Output::Sntp(req));
        }
        self.run_power(now, out);
        if self.connected
            && self
                .last_rx
                .is_none_or(|t| now.saturating_sub(t) > self.cfg.link_timeout_us)
        {
            self.connected = false;
            self.in_flight = None;
        }
        if self.connected {
            if self
                .last_status
                .is_none_or(|t| now.saturating_sub(t) >= self.cfg.status_period_us)
            {
                self.send_status(now, out);
            }
            self.deliver(now, out);
        }
    }

    fn run_power(&mut self, now: u64, out: &mut impl FnMut(Output)) {
        let utc = self.clock.utc(now);
        let raw_span = utc.and_then(|u| {
            self.schedule.span_at(
                u,
                self.cfg.merge_gap_us as i64,
                self.cfg.repeat_period_us as i64,
            )
        });
        if self.consumed.is_some() && raw_span != self.consumed {
            self.consumed = None;
        }
        let span = raw_span.filter(|s| Some(*s) != self.consumed);
        if span.is_some() {
            self.span = span;
        }
        let in_window = span.is_some();
        let known = utc.is_some();
        let overridden = self.override_in.stable;

        match self.power {
            Power::Off { earliest_on } => {
                if (overridden || in_window) && now >= earliest_on {
                    let reason = if in_window {
                        PowerReason::WindowStart
                    } else {
                        PowerReason::Override
                    };
                    self.switch_on(now, reason, out);
                }
            }
            Power::On { since, grace_until } => {
                if overridden {
                    return;
                }
                // A window starting within the merge gap counts as begun: no halt and
                // re-power minutes apart (e.g. an override ending just before a window).
                let starts_soon = utc.is_some_and(|u| {
                    self.schedule
                        .next_start_after(
                            u,
                            self.cfg.merge_gap_us as i64,
                            self.cfg.repeat_period_us as i64,
                        )
                        .is_some_and(|s| s.saturating_sub(u) < self.cfg.merge_gap_us as i64)
                });
                if known && !in_window && !starts_soon {
                    let window = self.span.take();
                    self.start_halt(now, window, out);
                    return;
                }
                // Silent since the last heartbeat, or since power-on when none came; a stall
                // of our own loop restarts the count.
                let silent = now.saturating_sub(self.last_hb.unwrap_or(since));
                let unseen = now.saturating_sub(self.last_hb.unwrap_or(since).max(self.blind_from));
                if now >= grace_until && unseen >= self.cfg.heartbeat_timeout_us {
                    self.record(
                        now,
                        BoardEvent::WatchdogTripped {
                            silent_ms: silent / 1_000,
                        },
                    );
                    self.switch_off(now, PowerReason::Watchdog, out);
                    self.silent_trips = self.silent_trips.saturating_add(1);
                    self.power = Power::Cycling {
                        until: now.saturating_add(self.cfg.cycle_off_us),
                    };
                }
            }
            Power::Halting {
                first_notice,
                last_notice,
                confirmed,
                deadline,
                window,
                pi_initiated,
            } => {
                if overridden {
                    self.power = Power::On {
                        since: now,
                        grace_until: now.saturating_add(self.cfg.boot_grace_us),
                    };
                    return;
                }
                let quiet_since =
                    confirmed.map(|c| self.last_hb.map_or(c, |h| h.max(c)).max(self.blind_from));
                let graceful =
                    quiet_since.is_some_and(|q| now.saturating_sub(q) >= self.cfg.halt_grace_us);
                if graceful || now >= deadline {
                    let reason = if graceful {
                        PowerReason::HaltConfirmed
                    } else {
                        PowerReason::HardDeadline
                    };
                    self.switch_off(now, reason, out);
                    self.power = Power::Off {
                        earliest_on: now.saturating_add(self.cfg.min_off_us),
                    };
                    if pi_initiated {
                        self.consumed = window.or(span);
                    }
                    return;
                }
                let notice_due = !pi_initiated
                    && confirmed.is_none()
                    && last_notice
                        .is_none_or(|t| now.saturating_sub(t) >= self.cfg.notice_repeat_us);
                if notice_due {
                    self.power = Power::Halting {
                        first_notice,
                        last_notice: Some(now),
                        confirmed,
                        deadline,
                        window,
                        pi_initiated,
                    };
                    self.send_notice(now, window, deadline, out);
                }
            }
            Power::Cycling { until } => {
                if now >= until {
                    if overridden || in_window || !known {
                        self.switch_on(now, PowerReason::Watchdog, out);
                    } else {
                        self.power = Power::Off { earliest_on: now };
                    }
                }
            }
        }
    }

    fn start_halt(&mut self, now: u64, window: Option<Span>, out: &mut impl FnMut(Output)) {
        let deadline = now.saturating_add(self.cfg.hard_deadline_us);
        self.power = Power::Halting {
            first_notice: now,
            last_notice: Some(now),
            confirmed: None,
            deadline,
            window,
            pi_initiated: false,
        };
        self.send_notice(now, window, deadline, out);
    }

    fn send_notice(
        &mut self,
        now: u64,
        window: Option<Span>,
        deadline: u64,
        out: &mut impl FnMut(Output),
    ) {
        let deadline_utc = self
            .clock
            .local_utc(now)
            .saturating_add(deadline.saturating_sub(now) as i64);
        self.send(
            out,
            HaltNotice {
                window_start_us: window.map_or(0, |s| s.start_us),
                window_end_us: window.map_or(0, |s| s.end_us),
                deadline_us: deadline_utc,
            },
        );
    }

    fn switch_on(&mut self, now: u64, reason: PowerReason, out: &mut impl FnMut(Output)) {
        self.relay = true;
        self.last_hb = None;
        // A Pi that stayed silent through earlier cycles gets twice the grace each time (up
        // to 16×): fewer futile cycles while, say, the serial cable is off.
        let grace = self
            .cfg
            .boot_grace_us
            .saturating_mul(1 << self.silent_trips.min(4));
        self.power = Power::On {
            since: now,
            grace_until: now.saturating_add(grace),
        };
        out(Output::Relay(true));
        self.record(now, BoardEvent::PowerSwitched { on: true, reason });
        self.save_power(now);
    }

    fn switch_off(&mut self, now: u64, reason: PowerReason, out: &mut impl FnMut(Output)) {
        self.relay = false;
        out(Output::Relay(false));
        self.record(now, BoardEvent::PowerSwitched { on: false, reason });
        self.save_power(now);
    }

    // ---- events and link -------------------------------------------------------------

    fn board_time(&self, now: u64) -> BoardTime {
        BoardTime {
            utc_us: self.clock.local_utc(now),
            synced: self.clock.utc(now).is_some(),
        }
    }

    fn record(&mut self, now: u64, event: BoardEvent) {
        let at = self.board_time(now);
        let boot = self.boot;
        let next_seq = &mut self.next_seq;
        self.ring.push(
            &mut || {
                let id = EventId {
                    boot,
                    seq: *next_seq,
                };
                *next_seq = next_seq.saturating_add(1);
                id
            },
            now,
            at,
            event,
        );
        self.save_ring();
    }

    fn deliver(&mut self, now: u64, out: &mut impl FnMut(Output)) {
        // Skip entries the wire cannot carry (see `event_message`); an ack of a later event
        // removes them.
        let Some((id, msg)) = self
            .ring
            .iter()
            .find_map(|e| event_message(e).map(|m| (e.id, m)))
        else {
            return;
        };
        let due = match self.in_flight {
            None => true,
            Some((sent, at)) => sent != id || now.saturating_sub(at) >= self.cfg.event_resend_us,
        };
        if !due {
            return;
        }
        self.in_flight = Some((id, now));
        self.highest_sent = Some(self.highest_sent.map_or(id, |h| h.max(id)));
        self.ring.mark_sent(id);
        out(Output::Send(Packet {
            header: Header {
                device: self.cfg.device,
                boot: id.boot,
                seq: id.seq,
            },
            message: msg,
        }));
    }

    fn send(&mut self, out: &mut impl FnMut(Output), message: impl Into<Message>) {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.saturating_add(1);
        out(Output::Send(Packet {
            header: Header {
                device: self.cfg.device,
                boot: self.boot,
                seq,
            },
            message: message.into(),
        }));
    }

    fn send_hello(&mut self, now: u64, out: &mut impl FnMut(Output)) {
        let hello = Hello {
            role: BoardRole::Power,
            protocol: PROTOCOL_VERSION,
            firmware: self.cfg.firmware,
            time: self.board_time(now),
            uptime_ms: now / 1_000,
        };
        self.send(out, hello);
    }

    fn send_status(&mut self, now: u64, out: &mut impl FnMut(Output)) {
        self.last_status = Some(now);
        let status = PowerStatus {
            relay_on: self.relay,
            override_active: self.override_in.stable,
            windows_count: self.schedule.windows().len() as u8,
            windows_digest: *self.schedule.digest(),
            pending_events: self.ring.len() as u32,
            rx_rejects: self.rx_rejects,
        };
        self.send(out, status);
    }

    // ---- persistence -----------------------------------------------------------------

    fn save(&mut self, slot: Slot, encode: impl FnOnce(&mut [u8]) -> Option<usize>) {
        let mut buf = [0u8; MAX_RECORD];
        let ok = encode(&mut buf).is_some_and(|n| self.store.save(slot, &buf[..n]).is_ok());
        if !ok {
            self.storage_errors = self.storage_errors.saturating_add(1);
        }
    }

    fn save_boot(&mut self) {
        let boot = self.boot;
        self.save(Slot::Boot, |b| {
            let mut w = Writer::record(b);
            w.u32(boot);
            w.finish()
        });
    }

    fn save_power(&mut self, now: u64) {
        let relay = self.relay;
        let utc = self.clock.local_utc(now);
        let drift = self.clock.drift_ppb();
        self.saved_drift_ppb = drift;
        self.save(Slot::Power, |b| {
            let mut w = Writer::record(b);
            w.u8(relay as u8);
            w.i64(utc);
            w.i64(drift);
            w.finish()
        });
    }

    fn save_ring(&mut self) {
        let mut buf = [0u8; MAX_RECORD];
        let ok = self
            .ring
            .encode(&mut buf)
            .is_some_and(|n| self.store.save(Slot::Events, &buf[..n]).is_ok());
        if !ok {
            self.storage_errors = self.storage_errors.saturating_add(1);
        }
    }
}

/// The wire message of a buffered board event (`None` is reserved for a board event the wire
/// protocol has no kind for; every current one has: the overflow marker travels as
/// `events_dropped`).
pub fn event_message(e: &Entry) -> Option<Message> {
    let at = e.at;
    Some(match e.event {
        BoardEvent::PowerSwitched { on, reason } => {
            vigil_wire::PowerSwitched { at, on, reason }.into()
        }
        BoardEvent::WatchdogTripped { silent_ms } => {
            vigil_wire::WatchdogTripped { at, silent_ms }.into()
        }
        BoardEvent::OverrideChanged { active } => vigil_wire::OverrideChanged { at, active }.into(),
        BoardEvent::SntpSynced {
            offset_us,
            delay_us,
            stratum,
        } => vigil_wire::SntpSynced {
            at,
            offset_us,
            delay_us,
            stratum,
        }
        .into(),
        BoardEvent::EventsDropped { count } => vigil_wire::EventsDropped { at, count }.into(),
    })
}

fn load<'b, S: Storage>(
    store: &mut S,
    slot: Slot,
    buf: &'b mut [u8; MAX_RECORD],
    errors: &mut u32,
) -> Option<&'b [u8]> {
    match store.load(slot, buf) {
        Ok(Some(n)) => buf.get(..n),
        Ok(None) => None,
        Err(_) => {
            *errors = errors.saturating_add(1);
            None
        }
    }
}

fn counted<T>(r: Result<T, RecordError>, errors: &mut u32) -> Option<T> {
    r.map_err(|_| *errors = errors.saturating_add(1)).ok()
}

fn decode_boot(rec: &[u8]) -> Result<u32, RecordError> {
    let mut r = Reader::record(rec)?;
    let b = r.u32()?;
    r.end()?;
    Ok(b)
}

fn decode_power(rec: &[u8]) -> Result<(bool, i64, i64), RecordError> {
    let mut r = Reader::record(rec)?;
    let on = r.bool()?;
    let utc = r.i64()?;
    let drift = r.i64()?;
    r.end()?;
    Ok((on, utc, drift))
}

fn encode_windows(s: &Schedule, buf: &mut [u8]) -> Option<usize> {
    let mut w = Writer::record(buf);
    w.bytes(s.digest());
    w.u8(s.windows().len() as u8);
    for win in s.windows() {
        w.i64(win.start_us);
        w.i64(win.end_us);
    }
    w.finish()
}

fn decode_windows(rec: &[u8]) -> Result<Schedule, RecordError> {
    let mut r = Reader::record(rec)?;
    let digest = r.array32()?;
    let n = r.u8()? as usize;
    let mut ws: heapless::Vec<Window, { vigil_wire::MAX_WINDOWS }> = heapless::Vec::new();
    for _ in 0..n {
        let at = r.pos();
        let w = Window {
            start_us: r.i64()?,
            end_us: r.i64()?,
        };
        ws.push(w).map_err(|_| RecordError::Malformed { at })?;
    }
    let end = r.pos();
    r.end()?;
    Schedule::new(&ws, digest).map_err(|_| RecordError::Malformed { at: end })
}
