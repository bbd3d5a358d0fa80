//! `[schedule]` as written: time specs, days, zone and location, validated into a
//! [`Schedule`] with positions.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use chrono::{NaiveTime, Weekday};
use chrono_tz::Tz;
use serde::{de::Error as _, Deserialize, Deserializer};
use toml::Spanned;

use super::{
    default_window, Coordinates, DaySet, Schedule, ScheduleError, SunEvent, TimeSpec, WindowSpec,
};
use crate::error::{closest, ConfigError, Ctx, Problem};

/// Why a window time was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid time \"{text}\": {reason}; expected \"HH:MM\" (00:00–23:59), or \"sunrise\"/\"sunset\" with an optional offset such as \"sunset+15m\" or \"sunrise-1h30m\"")]
pub struct TimeSpecError {
    /// The text given.
    pub text: String,
    /// What is wrong.
    pub reason: String,
}

const MAX_SUN_OFFSET_SECS: u64 = 12 * 3600;

impl FromStr for TimeSpec {
    type Err = TimeSpecError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let err = |reason: &str| TimeSpecError {
            text: text.to_string(),
            reason: reason.to_string(),
        };
        for (word, event) in [("sunrise", SunEvent::Sunrise), ("sunset", SunEvent::Sunset)] {
            let Some(rest) = text.strip_prefix(word) else {
                continue;
            };
            if rest.is_empty() {
                return Ok(TimeSpec::Sun {
                    event,
                    offset_secs: 0,
                });
            }
            let (sign, dur) = match rest.split_at(1) {
                ("+", d) => (1, d),
                ("-", d) => (-1, d),
                _ => {
                    return Err(err(
                        "after the sun event, expected `+` or `-` and a duration",
                    ))
                }
            };
            let d = crate::duration::parse(dur)
                .map_err(|e| err(&format!("bad offset: {}", e.reason)))?;
            if d.subsec_nanos() != 0 {
                return Err(err("the offset must be whole seconds"));
            }
            if d.as_secs() > MAX_SUN_OFFSET_SECS {
                return Err(err("the offset must be at most 12h"));
            }
            return Ok(TimeSpec::Sun {
                event,
                offset_secs: sign * d.as_secs() as i64,
            });
        }
        let parts: Vec<&str> = text.split(':').collect();
        let well_formed = matches!(parts.len(), 2 | 3)
            && parts.iter().enumerate().all(|(i, p)| {
                p.bytes().all(|b| b.is_ascii_digit()) && (p.len() == 2 || (i == 0 && p.len() == 1))
            });
        if !well_formed {
            return Err(err("not a time of day"));
        }
        let num = |i: usize| parts.get(i).map_or(Ok(0), |p| p.parse::<u32>());
        let (h, m, s) = match (num(0), num(1), num(2)) {
            (Ok(h), Ok(m), Ok(s)) => (h, m, s),
            _ => return Err(err("not a time of day")),
        };
        if h == 24 && m == 0 && s == 0 {
            return Err(err(
                "use \"00:00\" for midnight (an end before the start is on the next day)",
            ));
        }
        NaiveTime::from_hms_opt(h, m, s)
            .filter(|_| s < 60)
            .map(TimeSpec::Clock)
            .ok_or_else(|| err("hour, minute or second out of range"))
    }
}

impl<'de> Deserialize<'de> for TimeSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(D::Error::custom)
    }
}

/// A weekday as written (`mon` … `sun`); checked after parsing so that an error points at
/// the element itself.
#[derive(Debug, Clone)]
struct Day(Spanned<String>);

const DAY_NAMES: [(&str, Weekday); 7] = [
    ("mon", Weekday::Mon),
    ("tue", Weekday::Tue),
    ("wed", Weekday::Wed),
    ("thu", Weekday::Thu),
    ("fri", Weekday::Fri),
    ("sat", Weekday::Sat),
    ("sun", Weekday::Sun),
];

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Spanned::<String>::deserialize(d).map(Day)
    }
}

impl Day {
    fn weekday(&self, ctx: &Ctx<'_>) -> Result<Weekday, ConfigError> {
        let s = self.0.get_ref();
        match DAY_NAMES.iter().find(|(n, _)| n == s) {
            Some((_, w)) => Ok(*w),
            None => {
                let hint = closest(s, DAY_NAMES.iter().map(|(n, _)| *n))
                    .map(|c| format!(" (did you mean \"{c}\"?)"))
                    .unwrap_or_default();
                Err(ConfigError::Parse {
                    at: ctx.pos(&self.0.span()),
                    message: format!(
                        "unknown day \"{s}\"{hint}, expected one of mon, tue, wed, thu, fri, sat, sun"
                    ),
                })
            }
        }
    }
}

fn coordinates<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Coordinates>, D::Error> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Raw {
        #[serde(deserialize_with = "crate::values::f64_in::<_, -90_000, 90_000>")]
        lat: f64,
        #[serde(deserialize_with = "crate::values::f64_in::<_, -180_000, 180_000>")]
        lon: f64,
    }
    let r = Raw::deserialize(d)?;
    Ok(Some(Coordinates {
        lat: r.lat,
        lon: r.lon,
    }))
}

/// A non-empty window name.
#[derive(Debug, Clone)]
struct Name(String);

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::values::non_empty(d).map(Name)
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWindow {
    name: Spanned<Name>,
    #[serde(default)]
    days: Option<Spanned<Vec<Day>>>,
    start: Spanned<TimeSpec>,
    end: Spanned<TimeSpec>,
}

/// `[schedule]` as written.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawSchedule {
    timezone: Option<Spanned<String>>,
    #[serde(deserialize_with = "coordinates")]
    location: Option<Coordinates>,
    window: Option<Vec<RawWindow>>,
}

impl RawSchedule {
    pub(crate) fn validate(self, ctx: &Ctx<'_>) -> Result<Schedule, ConfigError> {
        let tz = match &self.timezone {
            None => Tz::UTC,
            Some(name) => Tz::from_str(name.get_ref()).map_err(|_| {
                ctx.invalid(
                    Some(&name.span()),
                    Problem::UnknownTimezone {
                        name: name.get_ref().clone(),
                        suggestion: closest(
                            name.get_ref(),
                            chrono_tz::TZ_VARIANTS.iter().map(|z| z.name()),
                        ),
                    },
                )
            })?,
        };
        let Some(raw_windows) = self.window else {
            return Schedule::new(tz, self.location, vec![default_window()])
                .map_err(|e| ctx.invalid(None, e));
        };
        let mut names: BTreeMap<String, Range<usize>> = BTreeMap::new();
        let mut windows = Vec::with_capacity(raw_windows.len());
        for w in raw_windows {
            let name = w.name.get_ref().0.clone();
            if let Some(first) = names.get(&name) {
                return Err(ctx.invalid(
                    Some(&w.name.span()),
                    Problem::DuplicateName {
                        what: "window",
                        name,
                        first_line: ctx.line(first),
                    },
                ));
            }
            names.insert(name.clone(), w.name.span());
            let days = match &w.days {
                None => DaySet::ALL,
                Some(d) => {
                    let mut set = DaySet::empty();
                    for day in d.get_ref() {
                        set = set.with(day.weekday(ctx)?);
                    }
                    if set.is_empty() {
                        return Err(ctx.invalid(Some(&d.span()), ScheduleError::NoDays { name }));
                    }
                    set
                }
            };
            let spec = WindowSpec {
                name,
                days,
                start: *w.start.get_ref(),
                end: *w.end.get_ref(),
            };
            // Check this window alone, to point at the right key.
            if let Err(e) = Schedule::new(tz, self.location, vec![spec.clone()]) {
                let span = match &e {
                    ScheduleError::SunWithoutLocation { .. } if spec.start.is_sun_relative() => {
                        w.start.span()
                    }
                    ScheduleError::NoDays { .. } => w.name.span(),
                    ScheduleError::DuplicateName { .. } => w.name.span(),
                    _ => w.end.span(),
                };
                return Err(ctx.invalid(Some(&span), e));
            }
            windows.push(spec);
        }
        Schedule::new(tz, self.location, windows).map_err(|e| ctx.invalid(None, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock(h: u32, m: u32) -> TimeSpec {
        TimeSpec::Clock(NaiveTime::from_hms_opt(h, m, 0).unwrap_or_default())
    }

    #[test]
    fn time_specs_parse_and_print_back() {
        for (text, spec) in [
            ("06:00", clock(6, 0)),
            ("6:05", clock(6, 5)),
            ("23:59", clock(23, 59)),
            (
                "sunrise",
                TimeSpec::Sun {
                    event: SunEvent::Sunrise,
                    offset_secs: 0,
                },
            ),
            (
                "sunrise-30m",
                TimeSpec::Sun {
                    event: SunEvent::Sunrise,
                    offset_secs: -1800,
                },
            ),
            (
                "sunset+1h30m",
                TimeSpec::Sun {
                    event: SunEvent::Sunset,
                    offset_secs: 5400,
                },
            ),
        ] {
            assert_eq!(text.parse::<TimeSpec>(), Ok(spec), "{text}");
        }
        assert_eq!(clock(6, 0).to_string(), "06:00");
        assert_eq!(
            "sunset+1h30m".parse::<TimeSpec>().map(|s| s.to_string()),
            Ok("sunset+1h30m".into())
        );
    }

    #[test]
    fn bad_time_specs_say_why() {
        for (text, reason) in [
            ("25:00", "hour, minute or second out of range"),
            (
                "24:00",
                "use \"00:00\" for midnight (an end before the start is on the next day)",
            ),
            ("06:60", "hour, minute or second out of range"),
            ("6", "not a time of day"),
            ("06:0", "not a time of day"),
            ("noon", "not a time of day"),
            (
                "sunrise30m",
                "after the sun event, expected `+` or `-` and a duration",
            ),
            ("sunset+13h", "the offset must be at most 12h"),
            ("sunset+5x", "bad offset: unknown unit"),
            ("sunset+250ms", "the offset must be whole seconds"),
        ] {
            assert_eq!(
                text.parse::<TimeSpec>().map_err(|e| e.reason),
                Err(reason.to_string()),
                "{text}"
            );
        }
    }
}
