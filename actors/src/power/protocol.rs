//! The Pi's half of the power protocol as a pure state machine: heartbeats, the time exchange,
//! window pushes until acked, and the halt handshake. Time is passed in (station UTC µs); what
//! it wants done comes back as [`Step`]s. Board events and their acks are the link's business
//! ([`crate::link`]); this machine sees only the board's control packets (`time_reply`,
//! `windows_ack`, `halt_notice`, `power_status`) and the core's commands.
//!
//! # The halt handshake
//!
//! The core decides a shutdown at `WindowClosed`; the board sends `halt_notice` at the end of
//! its own span. Whichever comes first waits for the other for at most
//! [`ProtocolSettings::notice_wait_us`]:
//! - both: flush the journal, `halt_confirm{window_end_us = notice.window_end_us}` (twice),
//!   stop heartbeating, run the poweroff command;
//! - decided, no notice (the board has no time yet, or its clock is late): confirm with
//!   `window_end_us = 0`, a halt the Pi starts itself, which the board honours like a
//!   confirmed handshake;
//! - notice, no decision (override ended, or the Pi's schedule says otherwise): the halt is
//!   recorded as an observed `ShutdownRequested` (reason [`NOTICE_REASON`]) and runs as
//!   above, because the board cuts power at its hard deadline anyway.
//!
//! Heartbeats go on until the confirmation is sent; after it the Pi is [`Phase::Halted`]. A
//! notice received while halted is confirmed again (the first confirmation was lost).
//!
//! # A Pi that is "off"
//!
//! On a real station the supervisor dies with the Pi. In the simulated station it does not:
//! with [`ProtocolSettings::model_power`] the machine follows the simulated relay instead
//! ([`PowerProtocol::board_power`], fed by the performer from the simulator's relay). While
//! the relay is off the Pi counts as off (no heartbeats); when it is on again, the Pi counts
//! as booted and starts over (heartbeats, time exchange). On real hardware a late
//! `power_switched{on: false}` from the board's buffer is old news, so the flag is off there.
//!
//! # Getting a hello
//!
//! A board says hello only when its link comes up after a silence of its `link_timeout`. A Pi
//! that restarts faster keeps the board's link up, and the link to the board stays without a
//! hello. When no link came up [`ProtocolSettings::hello_after_us`] after starting, the Pi
//! stays quiet for [`ProtocolSettings::hello_quiet_us`] (longer than the board's link
//! timeout, far shorter than its watchdog), so that the board's next frame is a hello.

use vigil_events::kinds::{ClockOffsetMeasured, ShutdownRequested};
use vigil_events::{Event, UtcMicros};
use vigil_wire::{Digest, HaltConfirm, HaltNotice, Heartbeat, Message, TimeRequest, Windows};

use super::core::NOTICE_REASON;

/// Timings of the Pi's side, all station µs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProtocolSettings {
    /// Heartbeat period (`[power] heartbeat`).
    pub heartbeat_us: i64,
    /// A time exchange this often while the link is up (and at every link up).
    pub time_every_us: i64,
    /// A time request unanswered this long is abandoned.
    pub time_timeout_us: i64,
    /// How long the decided shutdown waits for the board's notice, and the notice for the
    /// decision.
    pub notice_wait_us: i64,
    /// An unacked window list is sent again after this long.
    pub windows_resend_us: i64,
    /// Without a link this long after starting (or after the last quiet spell), go quiet.
    pub hello_after_us: i64,
    /// How long to stay quiet so that the board says hello.
    pub hello_quiet_us: i64,
    /// Follow the board's relay (the simulated station, see the module docs).
    pub model_power: bool,
}

impl ProtocolSettings {
    /// Defaults for a heartbeat period of `heartbeat_us`.
    pub fn new(heartbeat_us: i64) -> Self {
        ProtocolSettings {
            heartbeat_us: heartbeat_us.max(1),
            time_every_us: 600_000_000,
            time_timeout_us: 5_000_000,
            notice_wait_us: 30_000_000,
            windows_resend_us: 10_000_000,
            hello_after_us: 30_000_000,
            hello_quiet_us: 15_000_000,
            model_power: false,
        }
    }
}

/// What the Pi is doing about power.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Not started yet (no `Connect`).
    Idle,
    /// Running and heartbeating.
    Running,
    /// The board sent a halt notice; waiting for the core's decision.
    NoticePending {
        /// The notice.
        notice: HaltNotice,
        /// When it arrived.
        since: UtcMicros,
    },
    /// The core decided to shut down; waiting for the board's notice.
    AwaitingNotice {
        /// When the decision came.
        since: UtcMicros,
    },
    /// Halt confirmed, poweroff run: no more heartbeats.
    Halted {
        /// When it was confirmed.
        at: UtcMicros,
    },
    /// The board's relay is off (simulated station only).
    Off,
}

/// One thing to do, in order. (A `Message` is as large as its largest kind, a thermal
/// frame; these steps are few and short-lived, so they are not boxed.)
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum Step {
    /// Send this message to the board.
    Send(Message),
    /// Append this event (source `power`, now).
    Append(Event),
    /// Make everything appended so far durable before going on.
    Flush,
    /// Run the poweroff command.
    Poweroff,
}

/// The Pi's side of the power protocol. See the module docs.
#[derive(Debug, Clone)]
pub struct PowerProtocol {
    s: ProtocolSettings,
    phase: Phase,
    linked: bool,
    unlinked_since: UtcMicros,
    quiet_until: Option<UtcMicros>,
    next_heartbeat: UtcMicros,
    last_heartbeat: Option<UtcMicros>,
    windows: Option<Windows>,
    windows_acked: bool,
    windows_sent: Option<UtcMicros>,
    time_due: Option<UtcMicros>,
    time_t1: Option<UtcMicros>,
}

fn confirm(window_end_us: i64) -> [Step; 2] {
    let m = Message::HaltConfirm(HaltConfirm { window_end_us });
    [Step::Send(m.clone()), Step::Send(m)]
}

impl PowerProtocol {
    /// A Pi side with these settings, not started.
    pub fn new(s: ProtocolSettings) -> Self {
        PowerProtocol {
            s,
            phase: Phase::Idle,
            linked: false,
            unlinked_since: 0,
            quiet_until: None,
            next_heartbeat: 0,
            last_heartbeat: None,
            windows: None,
            windows_acked: false,
            windows_sent: None,
            time_due: None,
            time_t1: None,
        }
    }

    /// The settings.
    pub fn settings(&self) -> &ProtocolSettings {
        &self.s
    }

    /// What the Pi is doing.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Whether the link to the board is up (as the core last said).
    pub fn linked(&self) -> bool {
        self.linked
    }

    /// Whether the last pushed list was acked by the board.
    pub fn windows_acked(&self) -> bool {
        self.windows_acked
    }

    /// When the last heartbeat was sent.
    pub fn last_heartbeat(&self) -> Option<UtcMicros> {
        self.last_heartbeat
    }

    /// Whether heartbeats go out now.
    pub fn heartbeating(&self, now: UtcMicros) -> bool {
        matches!(
            self.phase,
            Phase::Running | Phase::NoticePending { .. } | Phase::AwaitingNotice { .. }
        ) && self.quiet_until.is_none_or(|q| now >= q)
    }

    /// Start (the core's `Connect`): heartbeats begin. Starting again changes nothing.
    pub fn start(&mut self, now: UtcMicros) -> Vec<Step> {
        if self.phase == Phase::Idle {
            self.boot(now);
        }
        self.tick(now)
    }

    fn boot(&mut self, now: UtcMicros) {
        self.phase = Phase::Running;
        self.next_heartbeat = now;
        self.unlinked_since = now;
        self.quiet_until = None;
        self.time_due = Some(now);
        self.time_t1 = None;
    }

    /// The link came up.
    pub fn link_up(&mut self, now: UtcMicros) -> Vec<Step> {
        self.linked = true;
        self.quiet_until = None;
        self.time_due = Some(now);
        self.tick(now)
    }

    /// The link went down.
    pub fn link_down(&mut self, now: UtcMicros) -> Vec<Step> {
        self.linked = false;
        self.unlinked_since = now;
        self.time_t1 = None;
        Vec::new()
    }

    /// Push a window list (replaces any earlier one); sent now and again until acked.
    pub fn push(&mut self, now: UtcMicros, windows: Windows) -> Vec<Step> {
        self.windows = Some(windows.clone());
        self.windows_acked = false;
        self.windows_sent = Some(now);
        vec![Step::Send(Message::Windows(windows))]
    }

    /// The core decided to shut down (the on-period ended at `_window_end_us`).
    pub fn shutdown(&mut self, now: UtcMicros, _window_end_us: i64) -> Vec<Step> {
        match self.phase {
            Phase::Running => {
                self.phase = Phase::AwaitingNotice { since: now };
                vec![Step::Flush]
            }
            Phase::NoticePending { notice, .. } => {
                self.phase = Phase::Halted { at: now };
                let mut out = vec![Step::Flush];
                out.extend(confirm(notice.window_end_us));
                out.push(Step::Poweroff);
                out
            }
            Phase::Idle | Phase::AwaitingNotice { .. } | Phase::Halted { .. } | Phase::Off => {
                Vec::new()
            }
        }
    }

    /// The board switched the Pi's power (only used with `model_power`, and for a Pi that
    /// halted but is still running when power comes back).
    pub fn board_power(&mut self, now: UtcMicros, on: bool) -> Vec<Step> {
        match (on, self.phase) {
            (true, Phase::Halted { .. } | Phase::Off) => {
                self.boot(now);
                self.tick(now)
            }
            (false, Phase::Idle) => Vec::new(),
            (false, _) if self.s.model_power => {
                self.phase = Phase::Off;
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    /// A control packet from the board, received at `now` (Pi clock).
    pub fn on_message(&mut self, now: UtcMicros, m: &Message) -> Vec<Step> {
        match m {
            Message::TimeReply(r) => {
                if self.time_t1 != Some(r.t1_us) {
                    return Vec::new();
                }
                self.time_t1 = None;
                // board minus Pi = ((t2 - t1) + (t3 - t4)) / 2
                let sum = (i128::from(r.t2_us) - i128::from(r.t1_us))
                    + (i128::from(r.t3_us) - i128::from(now));
                let board_minus_pi = sum.div_euclid(2);
                let rtt = (i128::from(now) - i128::from(r.t1_us))
                    - (i128::from(r.t3_us) - i128::from(r.t2_us));
                let clamp =
                    |v: i128| i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX });
                vec![Step::Append(
                    ClockOffsetMeasured {
                        pi_minus_board_us: clamp(-board_minus_pi),
                        rtt_us: clamp(rtt),
                        board_synced: r.synced,
                        board_sntp_offset_us: r.sntp_offset_us,
                    }
                    .into(),
                )]
            }
            Message::WindowsAck(a) => {
                if self.windows.as_ref().is_some_and(|w| w.digest == a.digest) {
                    self.windows_acked = true;
                }
                Vec::new()
            }
            Message::PowerStatus(st) => {
                self.check_board_digest(&st.windows_digest);
                Vec::new()
            }
            Message::HaltNotice(n) => self.on_notice(now, *n),
            _ => Vec::new(),
        }
    }

    fn check_board_digest(&mut self, digest: &Digest) {
        if self.windows_acked && self.windows.as_ref().is_some_and(|w| &w.digest != digest) {
            // The board lost or replaced our list (flash error, another Pi): push it again.
            self.windows_acked = false;
            self.windows_sent = None;
        }
    }

    fn on_notice(&mut self, now: UtcMicros, n: HaltNotice) -> Vec<Step> {
        match self.phase {
            Phase::Running => {
                self.phase = Phase::NoticePending {
                    notice: n,
                    since: now,
                };
                Vec::new()
            }
            Phase::NoticePending { since, .. } => {
                self.phase = Phase::NoticePending { notice: n, since };
                Vec::new()
            }
            Phase::AwaitingNotice { .. } => {
                self.phase = Phase::Halted { at: now };
                let mut out = confirm(n.window_end_us).to_vec();
                out.push(Step::Poweroff);
                out
            }
            Phase::Halted { .. } | Phase::Off => {
                vec![Step::Send(Message::HaltConfirm(HaltConfirm {
                    window_end_us: n.window_end_us,
                }))]
            }
            Phase::Idle => Vec::new(),
        }
    }

    /// Time passed: heartbeats, time exchange, resends, handshake timeouts.
    pub fn tick(&mut self, now: UtcMicros) -> Vec<Step> {
        let mut out = Vec::new();
        match self.phase {
            Phase::NoticePending { notice, since }
                if now.saturating_sub(since) >= self.s.notice_wait_us =>
            {
                self.phase = Phase::Halted { at: now };
                out.push(Step::Append(
                    ShutdownRequested {
                        window: String::new(),
                        reason: NOTICE_REASON.to_string(),
                        deadline_us: notice.deadline_us,
                    }
                    .into(),
                ));
                out.push(Step::Flush);
                out.extend(confirm(notice.window_end_us));
                out.push(Step::Poweroff);
                return out;
            }
            Phase::AwaitingNotice { since }
                if now.saturating_sub(since) >= self.s.notice_wait_us =>
            {
                self.phase = Phase::Halted { at: now };
                out.extend(confirm(0));
                out.push(Step::Poweroff);
                return out;
            }
            Phase::Idle | Phase::Halted { .. } | Phase::Off => return out,
            _ => {}
        }
        if !self.linked
            && self.quiet_until.is_none()
            && now.saturating_sub(self.unlinked_since) >= self.s.hello_after_us
        {
            self.quiet_until = Some(now.saturating_add(self.s.hello_quiet_us));
            self.unlinked_since = now.saturating_add(self.s.hello_quiet_us);
        }
        if self.quiet_until.is_some_and(|q| now >= q) {
            self.quiet_until = None;
            self.next_heartbeat = now;
        }
        if !self.heartbeating(now) {
            return out;
        }
        if now >= self.next_heartbeat {
            out.push(Step::Send(Message::Heartbeat(Heartbeat { pi_utc_us: now })));
            self.last_heartbeat = Some(now);
            // Never bunch up missed beats: the next one is a period after this one.
            self.next_heartbeat = now.saturating_add(self.s.heartbeat_us);
        }
        if let Some(w) = &self.windows {
            let due = self
                .windows_sent
                .is_none_or(|t| now.saturating_sub(t) >= self.s.windows_resend_us);
            if !self.windows_acked && due {
                self.windows_sent = Some(now);
                out.push(Step::Send(Message::Windows(w.clone())));
            }
        }
        if let Some(t1) = self.time_t1 {
            if now.saturating_sub(t1) >= self.s.time_timeout_us {
                self.time_t1 = None;
            }
        }
        if self.linked && self.time_t1.is_none() && self.time_due.is_some_and(|d| now >= d) {
            self.time_t1 = Some(now);
            self.time_due = Some(now.saturating_add(self.s.time_every_us));
            out.push(Step::Send(Message::TimeRequest(TimeRequest { t1_us: now })));
        }
        out
    }
}
