//! Schedules: named windows in the local time of an IANA zone, resolved to UTC instants.
//!
//! ```toml
//! [schedule]
//! timezone = "Europe/Berlin"                # IANA zone; default "UTC"
//! location = { lat = 52.52, lon = 13.40 }   # only needed for sun-relative times
//! [[schedule.window]]
//! name = "day"
//! days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]   # default: every day
//! start = "06:00"                           # or "sunrise-30m", "sunset+15m", "sunrise"
//! end = "18:30"
//! ```
//!
//! When `window` is left out, the schedule has one window `day`, 06:00–18:00 every day;
//! `window = []` means no windows at all.
//!
//! # Resolution rules
//!
//! - **Days.** A window instance belongs to the local date it starts on; `days` filters by
//!   that date's weekday. Its end is the first end time after its start: with clock times on
//!   both sides, an end earlier than the start on the wall clock (`22:00`–`06:00`) is on the
//!   next date; with a sun-relative bound, the end is taken on the start date if it falls
//!   after the start, else on the next date.
//! - **DST gap** (spring forward): a clock time that does not exist maps to the instant the
//!   gap ends (02:30 on a Berlin spring-forward night → 03:00 CEST).
//! - **DST overlap** (fall back): a clock time that happens twice maps to its earlier
//!   instant for a start and its later instant for an end, so a window never shrinks.
//! - **Empty instances.** If both bounds fall in the same gap they resolve to the same
//!   instant; that day's instance has no length and is skipped.
//! - **Sun-relative times** (`sunrise`, `sunset`, optionally `±` a duration of at most
//!   12 h) are instants computed by [`solar`] for the date, then offset; DST does not apply
//!   to them. They are rounded to the minute.
//! - **Polar day and night.** On a date without sunrise and sunset at the location (the sun
//!   stays up, or down, all day), a window that needs a sun-relative bound on that date has
//!   no instance: it is skipped for that day (it neither clamps to midnight nor stretches to
//!   the next sunrise). Clock-time windows are not affected.
//! - **Merging.** [`Schedule::on_periods`] merges overlapping or touching instances into
//!   on-periods.

mod parse;
mod resolve;
pub mod solar;

use std::fmt;

use chrono::{
    DateTime, Datelike, Days, Duration, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Utc,
    Weekday,
};
use chrono_tz::Tz;

pub(crate) use parse::RawSchedule;
pub use parse::TimeSpecError;
use resolve::local_to_utc;
pub use resolve::{Bound, MAX_SUPPORTED, MIN_SUPPORTED};
pub use solar::{Coordinates, SunDay};

/// Which sun event a time is relative to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SunEvent {
    /// Sunrise.
    Sunrise,
    /// Sunset.
    Sunset,
}

/// A window bound as written: a wall-clock time or a sun event with an offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TimeSpec {
    /// A local wall-clock time (`06:00`).
    Clock(NaiveTime),
    /// A sun event plus an offset in seconds (`sunset+15m` = `Sun { Sunset, 900 }`).
    Sun {
        /// The event.
        event: SunEvent,
        /// Offset in seconds, −12 h to +12 h.
        offset_secs: i64,
    },
}

impl TimeSpec {
    /// Whether this bound needs a location.
    pub fn is_sun_relative(&self) -> bool {
        matches!(self, TimeSpec::Sun { .. })
    }
}

impl fmt::Display for TimeSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeSpec::Clock(t) if t.format("%S").to_string() == "00" => {
                write!(f, "{}", t.format("%H:%M"))
            }
            TimeSpec::Clock(t) => write!(f, "{}", t.format("%H:%M:%S")),
            TimeSpec::Sun { event, offset_secs } => {
                f.write_str(match event {
                    SunEvent::Sunrise => "sunrise",
                    SunEvent::Sunset => "sunset",
                })?;
                if *offset_secs != 0 {
                    let sign = if *offset_secs < 0 { '-' } else { '+' };
                    let d = std::time::Duration::from_secs(offset_secs.unsigned_abs());
                    write!(f, "{sign}{}", crate::duration::format(d))?;
                }
                Ok(())
            }
        }
    }
}

/// A set of weekdays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct DaySet(u8);

impl DaySet {
    /// Every day of the week.
    pub const ALL: DaySet = DaySet(0x7f);

    /// No day.
    pub const fn empty() -> DaySet {
        DaySet(0)
    }

    /// This set plus `day`.
    pub fn with(self, day: Weekday) -> DaySet {
        DaySet(self.0 | 1 << day.num_days_from_monday())
    }

    /// Whether `day` is in the set.
    pub fn contains(self, day: Weekday) -> bool {
        self.0 & (1 << day.num_days_from_monday()) != 0
    }

    /// Whether the set has no day.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl FromIterator<Weekday> for DaySet {
    fn from_iter<I: IntoIterator<Item = Weekday>>(iter: I) -> Self {
        iter.into_iter().fold(DaySet::empty(), DaySet::with)
    }
}

impl fmt::Display for DaySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == DaySet::ALL {
            return f.write_str("every day");
        }
        let names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
        let on: Vec<&str> = (0..7)
            .filter(|i| self.0 & (1 << i) != 0)
            .map(|i| names[i])
            .collect();
        f.write_str(&on.join(","))
    }
}

/// One window as configured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WindowSpec {
    /// Unique name.
    pub name: String,
    /// Weekdays (of the start date) the window runs on.
    pub days: DaySet,
    /// Start.
    pub start: TimeSpec,
    /// End (may be on the next date, see the module docs).
    pub end: TimeSpec,
}

/// A schedule refused by [`Schedule::new`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// `end` equals `start`: the window would have no length (or last exactly a day, which
    /// is ambiguous). Change one of them.
    #[error("window \"{name}\": end equals start ({time}); a window needs a length")]
    EndEqualsStart {
        /// Window name.
        name: String,
        /// The time both bounds give.
        time: String,
    },
    /// A sun-relative bound but no `[schedule] location`. Add `location = { lat, lon }`.
    #[error("window \"{name}\": \"{spec}\" is relative to the sun and needs [schedule] location = {{ lat = …, lon = … }}")]
    SunWithoutLocation {
        /// Window name.
        name: String,
        /// The bound.
        spec: String,
    },
    /// `days = []`. List at least one day.
    #[error(
        "window \"{name}\" has no days; list at least one of mon, tue, wed, thu, fri, sat, sun"
    )]
    NoDays {
        /// Window name.
        name: String,
    },
    /// Two windows with the same name. Rename one.
    #[error("duplicate window name \"{name}\"")]
    DuplicateName {
        /// The name.
        name: String,
    },
}

/// A window instance resolved to instants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedWindow {
    /// Window name from config.
    pub name: String,
    /// Start, UTC.
    pub start: DateTime<Utc>,
    /// End, UTC (after start).
    pub end: DateTime<Utc>,
    /// Start in the schedule's zone.
    pub local_start: DateTime<FixedOffset>,
    /// End in the schedule's zone.
    pub local_end: DateTime<FixedOffset>,
}

/// Overlapping or touching window instances merged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OnPeriod {
    /// Start, UTC.
    pub start: DateTime<Utc>,
    /// End, UTC.
    pub end: DateTime<Utc>,
    /// Names of the windows merged into it, each once, in order of first start.
    pub names: Vec<String>,
}

/// A validated schedule: zone, optional location and windows.
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    tz: Tz,
    location: Option<Coordinates>,
    windows: Vec<WindowSpec>,
}

impl Default for Schedule {
    /// UTC, no location, one window `day` 06:00–18:00 every day.
    fn default() -> Self {
        Schedule {
            tz: Tz::UTC,
            location: None,
            windows: vec![default_window()],
        }
    }
}

pub(crate) fn default_window() -> WindowSpec {
    WindowSpec {
        name: "day".to_string(),
        days: DaySet::ALL,
        start: TimeSpec::Clock(NaiveTime::from_hms_opt(6, 0, 0).unwrap_or_default()),
        end: TimeSpec::Clock(NaiveTime::from_hms_opt(18, 0, 0).unwrap_or_default()),
    }
}

/// Local dates scanned before `from` and after `to`: an instance of date D starts at most
/// about a day before D 00:00 (sunrise minus 12 h) and ends within two days after it.
const SCAN_BEFORE_DAYS: u64 = 3;
const SCAN_AFTER_DAYS: u64 = 2;

impl Schedule {
    /// A schedule from its parts; refuses what [`ScheduleError`] lists.
    pub fn new(
        timezone: Tz,
        location: Option<Coordinates>,
        windows: Vec<WindowSpec>,
    ) -> Result<Schedule, ScheduleError> {
        for (i, w) in windows.iter().enumerate() {
            if windows[..i].iter().any(|o| o.name == w.name) {
                return Err(ScheduleError::DuplicateName {
                    name: w.name.clone(),
                });
            }
            if w.days.is_empty() {
                return Err(ScheduleError::NoDays {
                    name: w.name.clone(),
                });
            }
            if location.is_none() {
                if let Some(s) = [w.start, w.end].iter().find(|s| s.is_sun_relative()) {
                    return Err(ScheduleError::SunWithoutLocation {
                        name: w.name.clone(),
                        spec: s.to_string(),
                    });
                }
            }
            if w.start == w.end {
                return Err(ScheduleError::EndEqualsStart {
                    name: w.name.clone(),
                    time: w.start.to_string(),
                });
            }
        }
        Ok(Schedule {
            tz: timezone,
            location,
            windows,
        })
    }

    /// The schedule's zone.
    pub fn timezone(&self) -> Tz {
        self.tz
    }

    /// The location for sun-relative times, if configured.
    pub fn location(&self) -> Option<Coordinates> {
        self.location
    }

    /// The windows as configured.
    pub fn window_specs(&self) -> &[WindowSpec] {
        &self.windows
    }

    /// The UTC instant of local wall time `local` in the schedule's zone, under the DST
    /// rules of the module docs (gap → the instant the gap ends; ambiguous → earlier for
    /// [`Bound::Start`], later for [`Bound::End`]). Use it for local times typed by people
    /// (e.g. `vigil audit --since 2026-03-29T02:30`).
    pub fn resolve_local(&self, local: NaiveDateTime, bound: Bound) -> DateTime<Utc> {
        local_to_utc(self.tz, local, bound)
    }

    /// The first instant of local date `date` (its midnight, or the end of a DST gap that
    /// swallows midnight, as in America/Santiago).
    pub fn start_of_day(&self, date: NaiveDate) -> DateTime<Utc> {
        local_to_utc(self.tz, date.and_time(NaiveTime::MIN), Bound::Start)
    }

    /// Sunrise and sunset on local date `date`, if a location is configured.
    pub fn sun_day(&self, date: NaiveDate) -> Option<SunDay> {
        let at = self.location?;
        let noon = local_to_utc(
            self.tz,
            date.and_time(NaiveTime::MIN) + Duration::hours(12),
            Bound::Start,
        );
        Some(solar::sun_day(noon, at))
    }

    /// Every window instance overlapping `[from, to)` (start < `to` and end > `from`),
    /// sorted by start, then end, then name. Deterministic; costs a few days' resolution
    /// beyond the range per window. The range is clamped to
    /// [`MIN_SUPPORTED`]..[`MAX_SUPPORTED`] (years 1–9999).
    pub fn windows(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<ResolvedWindow> {
        let mut out = Vec::new();
        let from = from.clamp(MIN_SUPPORTED, MAX_SUPPORTED);
        let to = to.clamp(MIN_SUPPORTED, MAX_SUPPORTED);
        if from >= to || self.windows.is_empty() {
            return out;
        }
        let first = from.with_timezone(&self.tz).date_naive();
        let first = first
            .checked_sub_days(Days::new(SCAN_BEFORE_DAYS))
            .unwrap_or(first);
        let last = to.with_timezone(&self.tz).date_naive();
        let last = last
            .checked_add_days(Days::new(SCAN_AFTER_DAYS))
            .unwrap_or(last);
        let mut sun_cache: Vec<(NaiveDate, Option<SunDay>)> = Vec::new();
        let mut date = first;
        while date <= last {
            for w in &self.windows {
                if let Some((start, end)) = self.instance(w, date, &mut sun_cache) {
                    if start < to && end > from {
                        out.push(ResolvedWindow {
                            name: w.name.clone(),
                            start,
                            end,
                            local_start: start.with_timezone(&self.tz).fixed_offset(),
                            local_end: end.with_timezone(&self.tz).fixed_offset(),
                        });
                    }
                }
            }
            match date.succ_opt() {
                Some(d) => date = d,
                None => break,
            }
        }
        out.sort_by(|a, b| (a.start, a.end, &a.name).cmp(&(b.start, b.end, &b.name)));
        out
    }

    /// The window instances overlapping `[from, to)` merged into on-periods: instances that
    /// overlap or touch (one ends where the next starts) form one period. Only instances
    /// overlapping the range are merged, so a period is not followed past them.
    pub fn on_periods(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<OnPeriod> {
        let mut out: Vec<OnPeriod> = Vec::new();
        for w in self.windows(from, to) {
            match out.last_mut() {
                Some(p) if w.start <= p.end => {
                    p.end = p.end.max(w.end);
                    if !p.names.contains(&w.name) {
                        p.names.push(w.name);
                    }
                }
                _ => out.push(OnPeriod {
                    start: w.start,
                    end: w.end,
                    names: vec![w.name],
                }),
            }
        }
        out
    }

    /// The instance of `w` belonging to local date `date`, if it runs that day and has a
    /// length.
    fn instance(
        &self,
        w: &WindowSpec,
        date: NaiveDate,
        sun_cache: &mut Vec<(NaiveDate, Option<SunDay>)>,
    ) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        if !w.days.contains(date.weekday()) {
            return None;
        }
        let next = date.succ_opt()?;
        let start = self.bound_on(w.start, date, Bound::Start, sun_cache)?;
        let end = match (w.start, w.end) {
            (TimeSpec::Clock(s), TimeSpec::Clock(e)) => {
                let day = if e > s { date } else { next };
                local_to_utc(self.tz, day.and_time(e), Bound::End)
            }
            _ => match self.bound_on(w.end, date, Bound::End, sun_cache) {
                Some(e) if e > start => e,
                Some(_) => self.bound_on(w.end, next, Bound::End, sun_cache)?,
                None => return None,
            },
        };
        (end > start).then_some((start, end))
    }

    /// A bound on a date as an instant; `None` when it is sun-relative and the sun does not
    /// rise and set that date.
    fn bound_on(
        &self,
        spec: TimeSpec,
        date: NaiveDate,
        bound: Bound,
        sun_cache: &mut Vec<(NaiveDate, Option<SunDay>)>,
    ) -> Option<DateTime<Utc>> {
        match spec {
            TimeSpec::Clock(t) => Some(local_to_utc(self.tz, date.and_time(t), bound)),
            TimeSpec::Sun { event, offset_secs } => {
                let day = match sun_cache.iter().rev().find(|(d, _)| *d == date) {
                    Some((_, s)) => *s,
                    None => {
                        let s = self.sun_day(date);
                        sun_cache.push((date, s));
                        s
                    }
                };
                match day? {
                    SunDay::Normal { sunrise, sunset } => {
                        let base = match event {
                            SunEvent::Sunrise => sunrise,
                            SunEvent::Sunset => sunset,
                        };
                        Some(base + Duration::seconds(offset_secs))
                    }
                    SunDay::PolarDay | SunDay::PolarNight => None,
                }
            }
        }
    }
}
