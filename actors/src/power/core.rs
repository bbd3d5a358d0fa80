//! The power actor's pure core: which windows the ESP32 must hold, and when the Pi shuts down.
//!
//! Decisions (re-derived by `vigil replay --check`):
//! - [`WindowsPushed`]: the next `push_days` of on-periods (the schedule's windows merged where
//!   they overlap or touch), resolved to UTC, with their BLAKE3 digest. Pushed at start (the
//!   recorded `ConfigLoaded`), when the config changes (`ConfigChanged`), every time the link
//!   to the board comes up (`LinkUp` of source `power`), and once a day as the horizon moves.
//! - [`ShutdownRequested`] (reason [`SHUTDOWN_REASON`]): at a `WindowClosed` when no other
//!   on-period is running and none starts within [`MERGE_GAP_US`] (the board treats windows
//!   that close as one span, so it would not power the Pi off in between either). The
//!   command [`PowerCommand::Shutdown`] then runs the halt: journal flush, halt handshake,
//!   poweroff command.
//!
//! The performer records a `ShutdownRequested` of its own (reason [`NOTICE_REASON`]) when the
//! board sends a halt notice the core did not decide on (override ended, clocks apart); that
//! one is an observation, not a decision ([`PowerCore::is_decision`]).

use chrono::{DateTime, Utc};
use vigil_config::{Config, Schedule};
use vigil_events::kinds::{ShutdownRequested, WindowsPushed};
use vigil_events::{Envelope, Event, EventKind, Source, UtcMicros};
use vigil_wire::{Digest, Window, Windows, MAX_WINDOWS};

use crate::core::{Core, Intent};

/// The `reason` of a `ShutdownRequested` the core decides.
pub const SHUTDOWN_REASON: &str = "window closed";
/// The `reason` of a `ShutdownRequested` the performer records for a board's halt notice.
pub const NOTICE_REASON: &str = "halt notice";
/// Windows closer than this are one span for the board (its default `merge_gap`): the Pi
/// does not shut down when the next on-period starts within it.
pub const MERGE_GAP_US: i64 = 600_000_000;
/// The pushed list is refreshed this often (the horizon moves by a day).
pub const REPUSH_US: i64 = 86_400_000_000;
const DAY_US: i64 = 86_400_000_000;

/// Kinds the power core consumes.
pub const POWER_SUBSCRIPTIONS: &[EventKind] = &[
    EventKind::SupervisorStarted,
    EventKind::ConfigLoaded,
    EventKind::ConfigChanged,
    EventKind::WindowClosed,
    EventKind::LinkUp,
    EventKind::LinkDown,
    EventKind::PowerSwitched,
];
/// Kinds the power core decides.
pub const POWER_DECISIONS: &[EventKind] = &[EventKind::WindowsPushed, EventKind::ShutdownRequested];

/// A window list for the board: UTC µs pairs, sorted, non-overlapping, at most
/// [`MAX_WINDOWS`], and its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowList {
    /// `(start_us, end_us)` of each on-period.
    pub windows: Vec<(i64, i64)>,
    /// BLAKE3 of the list (see [`digest_of`]).
    pub digest: Digest,
}

impl WindowList {
    /// The wire message carrying this list.
    pub fn to_wire(&self) -> Windows {
        let mut ws = vigil_wire::heapless::Vec::new();
        for &(start_us, end_us) in self.windows.iter().take(MAX_WINDOWS) {
            // At most MAX_WINDOWS are taken, so the push cannot fail.
            let _ = ws.push(Window { start_us, end_us });
        }
        Windows {
            digest: self.digest,
            windows: ws,
        }
    }

    /// The digest as lowercase hex (the `WindowsPushed` event's field).
    pub fn digest_hex(&self) -> String {
        self.digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// BLAKE3 of a window list: the count (u32 LE), then each start and end (i64 LE).
pub fn digest_of(windows: &[(i64, i64)]) -> Digest {
    let mut h = blake3::Hasher::new();
    h.update(
        &u32::try_from(windows.len())
            .unwrap_or(u32::MAX)
            .to_le_bytes(),
    );
    for (s, e) in windows {
        h.update(&s.to_le_bytes());
        h.update(&e.to_le_bytes());
    }
    *h.finalize().as_bytes()
}

fn utc(t: UtcMicros) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t).unwrap_or_default()
}

/// The on-periods overlapping `[now, now + days)`, in UTC, at most [`MAX_WINDOWS`].
pub fn window_list(schedule: &Schedule, now: UtcMicros, days: u32) -> WindowList {
    let to = now.saturating_add(i64::from(days).saturating_mul(DAY_US));
    let windows: Vec<(i64, i64)> = schedule
        .on_periods(utc(now), utc(to))
        .into_iter()
        .map(|p| (p.start.timestamp_micros(), p.end.timestamp_micros()))
        .filter(|(s, e)| s < e)
        .take(MAX_WINDOWS)
        .collect();
    let digest = digest_of(&windows);
    WindowList { windows, digest }
}

/// Commands of the power core, performed by [`super::PowerPerformer`].
#[derive(Debug, Clone, PartialEq)]
pub enum PowerCommand {
    /// The supervisor started and the config is known: start talking to the board.
    Connect,
    /// The link to the board came up (a `LinkUp` of source `power` was committed).
    LinkUp,
    /// The link to the board went down.
    LinkDown,
    /// Send this list to the board until it acks it.
    Push(WindowList),
    /// Halt the Pi: flush the journal, the halt handshake for the window ending at
    /// `window_end_us`, then the poweroff command.
    Shutdown {
        /// End of the on-period that closed, UTC µs.
        window_end_us: i64,
    },
    /// The board reported switching the Pi's power (a committed `PowerSwitched`).
    BoardPower {
        /// New relay state.
        on: bool,
    },
}

/// The power core. Build it from the recorded config with [`super::configured_power`].
#[derive(Debug, Clone)]
pub struct PowerCore {
    schedule: Schedule,
    push_days: u32,
    hard_deadline_us: i64,
    next_push: Option<UtcMicros>,
}

impl PowerCore {
    /// A core for this config.
    pub fn new(cfg: &Config) -> Self {
        PowerCore {
            schedule: cfg.schedule.clone(),
            push_days: cfg.power.push_days,
            hard_deadline_us: i64::try_from(cfg.power.hard_deadline.as_micros())
                .unwrap_or(i64::MAX),
            next_push: None,
        }
    }

    /// When the core refreshes the pushed list next.
    pub fn next_push(&self) -> Option<UtcMicros> {
        self.next_push
    }

    fn push(&mut self, now: UtcMicros) -> Vec<Intent<PowerCommand>> {
        let list = window_list(&self.schedule, now, self.push_days);
        self.next_push = Some(now.saturating_add(REPUSH_US));
        let event = WindowsPushed {
            count: u32::try_from(list.windows.len()).unwrap_or(u32::MAX),
            first_start_us: list.windows.first().map_or(0, |w| w.0),
            last_end_us: list.windows.last().map_or(0, |w| w.1),
            digest: list.digest_hex(),
        };
        vec![
            Intent::Emit(event.into()),
            Intent::Do(PowerCommand::Push(list)),
        ]
    }

    /// Whether an on-period runs at `at` or starts within the merge gap after it.
    fn powered_on_after(&self, at: UtcMicros) -> bool {
        !self
            .schedule
            .on_periods(utc(at), utc(at.saturating_add(MERGE_GAP_US)))
            .is_empty()
    }

    fn window_closed(&mut self, name: &str, end_us: i64) -> Vec<Intent<PowerCommand>> {
        if self.powered_on_after(end_us) {
            return Vec::new();
        }
        let event = ShutdownRequested {
            window: name.to_string(),
            reason: SHUTDOWN_REASON.to_string(),
            deadline_us: end_us.saturating_add(self.hard_deadline_us),
        };
        vec![
            Intent::Emit(event.into()),
            Intent::Do(PowerCommand::Shutdown {
                window_end_us: end_us,
            }),
        ]
    }
}

impl Core for PowerCore {
    type Command = PowerCommand;

    fn source(&self) -> Source {
        Source::Power
    }

    fn subscriptions(&self) -> &'static [EventKind] {
        POWER_SUBSCRIPTIONS
    }

    fn decisions(&self) -> &'static [EventKind] {
        POWER_DECISIONS
    }

    fn is_decision(&self, env: &Envelope) -> bool {
        if env.source != Source::Power {
            return false;
        }
        match &env.payload {
            Event::WindowsPushed(_) => true,
            Event::ShutdownRequested(s) => s.reason == SHUTDOWN_REASON,
            _ => false,
        }
    }

    fn on_event(&mut self, env: &Envelope) -> Vec<Intent<PowerCommand>> {
        match &env.payload {
            Event::ConfigLoaded(_) | Event::ConfigChanged(_) => {
                let mut out = vec![Intent::Do(PowerCommand::Connect)];
                out.extend(self.push(env.ts));
                out
            }
            Event::LinkUp(_) if env.source == Source::Power => {
                let mut out = vec![Intent::Do(PowerCommand::LinkUp)];
                out.extend(self.push(env.ts));
                out
            }
            Event::LinkDown(_) if env.source == Source::Power => {
                vec![Intent::Do(PowerCommand::LinkDown)]
            }
            Event::WindowClosed(w) => self.window_closed(&w.name, w.end_us),
            Event::PowerSwitched(p) if env.source == Source::Esp32 => {
                vec![Intent::Do(PowerCommand::BoardPower { on: p.on })]
            }
            _ => Vec::new(),
        }
    }

    fn next_deadline(&self) -> Option<UtcMicros> {
        self.next_push
    }

    fn on_tick(&mut self, now: UtcMicros) -> Vec<Intent<PowerCommand>> {
        match self.next_push {
            Some(due) if now >= due => self.push(now),
            _ => Vec::new(),
        }
    }
}
