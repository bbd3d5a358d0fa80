//! The clock actor: turns the schedule into `WindowOpened` / `WindowClosed` decisions at the
//! resolved instants.
//!
//! The core learns the schedule from the `ConfigLoaded` / `ConfigChanged` events in the log (the
//! config text is recorded there), so replay needs nothing but the log. At `SupervisorStarted`
//! it forgets which windows it had opened: a station that starts inside a window opens it again,
//! because every other actor has just started too and needs to hear it.

use std::collections::BTreeSet;

use chrono::{DateTime, SecondsFormat, Utc};
use vigil_config::{Config, ResolvedWindow, Schedule};
use vigil_events::kinds::{WindowClosed, WindowOpened};
use vigil_events::{Envelope, Event, EventKind, Source, UtcMicros};

use crate::core::{Core, Intent};

/// How far ahead the core resolves windows at a time.
const HORIZON_US: i64 = 8 * 86_400_000_000;
/// Longest window the core looks back for (a window may last up to a day and cross midnight).
const LOOKBACK_US: i64 = 2 * 86_400_000_000;

/// The clock core has no hardware.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClockCommand {}

/// A window instance: name and resolved instants.
type Key = (i64, i64, String);

/// The clock actor's pure core.
#[derive(Debug, Default)]
pub struct ClockCore {
    schedule: Option<Schedule>,
    /// Transitions up to and including this instant have been processed.
    cursor: Option<UtcMicros>,
    /// Windows currently open.
    open: BTreeSet<Key>,
    /// Windows resolved for `[cursor - LOOKBACK, horizon_end)`, sorted by start.
    upcoming: Vec<ResolvedWindow>,
    horizon_end: UtcMicros,
    /// Why the last config could not be used, if it could not.
    pub config_error: Option<String>,
}

fn to_utc(t: UtcMicros) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t).unwrap_or_default()
}

fn key(w: &ResolvedWindow) -> Key {
    (
        w.start.timestamp_micros(),
        w.end.timestamp_micros(),
        w.name.clone(),
    )
}

impl ClockCore {
    /// A core with no schedule yet (it learns it from the log).
    pub fn new() -> Self {
        Self::default()
    }

    /// A core that starts from a known schedule (tests, `vigil schedule`).
    pub fn with_schedule(schedule: Schedule) -> Self {
        ClockCore {
            schedule: Some(schedule),
            ..Self::default()
        }
    }

    fn set_schedule(&mut self, text: &str, origin: &str) {
        match Config::parse(text, origin) {
            Ok(cfg) => {
                self.schedule = Some(cfg.schedule);
                self.config_error = None;
                self.horizon_end = i64::MIN;
                if let Some(c) = self.cursor {
                    self.refresh(c);
                }
            }
            Err(e) => self.config_error = Some(e.to_string()),
        }
    }

    fn refresh(&mut self, from: UtcMicros) {
        let Some(schedule) = &self.schedule else {
            self.upcoming.clear();
            return;
        };
        let end = from.saturating_add(HORIZON_US);
        self.upcoming = schedule.windows(to_utc(from.saturating_sub(LOOKBACK_US)), to_utc(end));
        self.horizon_end = end;
    }

    fn opened(&self, w: &ResolvedWindow) -> Event {
        let fmt =
            |t: DateTime<chrono::FixedOffset>| t.to_rfc3339_opts(SecondsFormat::AutoSi, false);
        let tz = self
            .schedule
            .as_ref()
            .map(|s| s.timezone().name().to_string())
            .unwrap_or_default();
        WindowOpened {
            name: w.name.clone(),
            start_us: w.start.timestamp_micros(),
            end_us: w.end.timestamp_micros(),
            local_start: fmt(w.local_start),
            local_end: fmt(w.local_end),
            timezone: tz,
        }
        .into()
    }

    /// Windows open right now, as (name, start, end).
    pub fn open_windows(&self) -> impl Iterator<Item = &Key> {
        self.open.iter()
    }
}

impl Core for ClockCore {
    type Command = ClockCommand;

    fn source(&self) -> Source {
        Source::Clock
    }

    fn subscriptions(&self) -> &'static [EventKind] {
        &[
            EventKind::SupervisorStarted,
            EventKind::ConfigLoaded,
            EventKind::ConfigChanged,
        ]
    }

    fn decisions(&self) -> &'static [EventKind] {
        &[EventKind::WindowOpened, EventKind::WindowClosed]
    }

    fn on_event(&mut self, env: &Envelope) -> Vec<Intent<ClockCommand>> {
        match &env.payload {
            Event::SupervisorStarted(_) => {
                self.open.clear();
                self.cursor = Some(env.ts);
                self.refresh(env.ts);
            }
            Event::ConfigLoaded(c) => self.set_schedule(&c.text, &c.path),
            Event::ConfigChanged(c) => self.set_schedule(&c.text, &c.path),
            _ => {}
        }
        Vec::new()
    }

    fn next_deadline(&self) -> Option<UtcMicros> {
        let cursor = self.cursor?;
        self.schedule.as_ref()?;
        // Windows that started at or before the cursor and are not open yet are due now
        // (start-up inside a window).
        let mut next = self.horizon_end.saturating_sub(HORIZON_US / 2);
        for w in &self.upcoming {
            let (s, e) = (w.start.timestamp_micros(), w.end.timestamp_micros());
            let is_open = self.open.contains(&key(w));
            if is_open {
                next = next.min(e);
            } else if e > cursor {
                next = next.min(s.max(cursor));
            }
        }
        for (_, e, _) in &self.open {
            next = next.min(*e);
        }
        Some(next.max(cursor))
    }

    fn on_tick(&mut self, now: UtcMicros) -> Vec<Intent<ClockCommand>> {
        let Some(cursor) = self.cursor else {
            return Vec::new();
        };
        if now < cursor {
            return Vec::new();
        }
        if now >= self.horizon_end.saturating_sub(HORIZON_US / 2) {
            self.refresh(now);
        }
        // Collect transitions in (cursor, now] (and windows already running at the cursor),
        // ordered by the instant they happen; a close sorts before an open at the same instant
        // so that back-to-back windows read naturally.
        let mut out: Vec<(i64, u8, Event)> = Vec::new();
        let mut closed = Vec::new();
        for k in &self.open {
            if k.1 <= now {
                closed.push(k.clone());
            }
        }
        for k in &closed {
            self.open.remove(k);
            let (start_us, end_us, name) = k.clone();
            out.push((
                end_us,
                0,
                WindowClosed {
                    name,
                    start_us,
                    end_us,
                }
                .into(),
            ));
        }
        let upcoming = std::mem::take(&mut self.upcoming);
        for w in &upcoming {
            let k = key(w);
            let (s, e) = (k.0, k.1);
            if s > now || self.open.contains(&k) || closed.contains(&k) {
                continue;
            }
            if e > now {
                out.push((s.max(cursor), 1, self.opened(w)));
                self.open.insert(k);
            } else if e > cursor {
                // Opened and closed between two ticks: record both, in order.
                out.push((s.max(cursor), 1, self.opened(w)));
                out.push((
                    e,
                    0,
                    WindowClosed {
                        name: k.2,
                        start_us: s,
                        end_us: e,
                    }
                    .into(),
                ));
            }
        }
        self.upcoming = upcoming;
        self.cursor = Some(now);
        out.sort_by_key(|(t, order, _)| (*t, *order));
        out.into_iter().map(|(_, _, e)| Intent::Emit(e)).collect()
    }
}
