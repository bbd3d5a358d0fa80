//! Human durations as written in the config: `"90s"`, `"5m"`, `"1h30m"`, `"250ms"`, `"2d"`.
//!
//! A duration is one or more `<integer><unit>` parts, units in decreasing order, each at most
//! once: `d` (day), `h`, `m` (minute), `s`, `ms`. No spaces, no sign, no fractions.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// Why a duration string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration \"{text}\": {reason}; expected e.g. \"90s\", \"5m\", \"1h30m\" or \"250ms\" (units d, h, m, s, ms, largest first)")]
pub struct DurationError {
    /// The text given.
    pub text: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

const UNITS: [(&str, u64); 5] = [
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// Parse a human duration (see the module docs).
pub fn parse(text: &str) -> Result<Duration, DurationError> {
    let err = |reason| DurationError {
        text: text.to_string(),
        reason,
    };
    if text.is_empty() {
        return Err(err("it is empty"));
    }
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut total_ms: u64 = 0;
    let mut next_unit = 0; // index into UNITS of the smallest unit still allowed first
    while i < bytes.len() {
        let digits_start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if i == digits_start {
            return Err(err("each part must start with a whole number"));
        }
        let number: u64 = text[digits_start..i]
            .parse()
            .map_err(|_| err("the number is too large"))?;
        let unit_start = i;
        while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit = &text[unit_start..i];
        if unit.is_empty() {
            return Err(err("a unit is missing after the number"));
        }
        let Some(pos) = UNITS.iter().position(|(u, _)| *u == unit) else {
            return Err(err("unknown unit"));
        };
        if pos < next_unit {
            return Err(err("units must go from largest to smallest, each once"));
        }
        next_unit = pos + 1;
        total_ms = number
            .checked_mul(UNITS[pos].1)
            .and_then(|ms| total_ms.checked_add(ms))
            .ok_or_else(|| err("the number is too large"))?;
    }
    Ok(Duration::from_millis(total_ms))
}

/// Format a duration the way [`parse`] reads it (`"1h30m"`, `"0s"`); sub-millisecond parts
/// are dropped.
pub fn format(d: Duration) -> String {
    let mut ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    if ms == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    for (unit, size) in UNITS {
        let n = ms / size;
        if n > 0 {
            out.push_str(&format!("{n}{unit}"));
            ms %= size;
        }
    }
    out
}

/// A [`Duration`] shown the way the config writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Human(pub Duration);

impl fmt::Display for Human {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format(self.0))
    }
}

/// Deserialize a duration string (serde `deserialize_with`).
pub(crate) fn de<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = DurationText::deserialize(d)?.0;
    parse(&text).map_err(serde::de::Error::custom)
}

/// Deserialize a duration within `[MIN_MS, MAX_MS]` milliseconds.
pub(crate) fn de_in<'de, D: Deserializer<'de>, const MIN_MS: u64, const MAX_MS: u64>(
    d: D,
) -> Result<Duration, D::Error> {
    let v = de(d)?;
    let (min, max) = (Duration::from_millis(MIN_MS), Duration::from_millis(MAX_MS));
    if v < min || v > max {
        return Err(serde::de::Error::custom(format!(
            "duration {} is out of range, expected {} to {}",
            format(v),
            format(min),
            format(max)
        )));
    }
    Ok(v)
}

/// Deserialize an optional duration within `[MIN_MS, MAX_MS]` milliseconds.
pub(crate) fn de_opt_in<'de, D: Deserializer<'de>, const MIN_MS: u64, const MAX_MS: u64>(
    d: D,
) -> Result<Option<Duration>, D::Error> {
    de_in::<D, MIN_MS, MAX_MS>(d).map(Some)
}

/// A string that must be a duration; a bare number gets a message that says so.
struct DurationText(String);

impl<'de> Deserialize<'de> for DurationText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = DurationText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration string such as \"90s\", \"5m\" or \"1h30m\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<DurationText, E> {
                Ok(DurationText(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<DurationText, E> {
                Err(E::custom(format!(
                    "a duration needs a unit: write \"{v}s\", \"{v}m\", … instead of {v}"
                )))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_forms() {
        assert_eq!(parse("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(
            parse("2d3h"),
            Ok(Duration::from_secs(2 * 86_400 + 3 * 3600))
        );
        assert_eq!(parse("1m500ms"), Ok(Duration::from_millis(60_500)));
        assert_eq!(parse("0s"), Ok(Duration::ZERO));
    }

    #[test]
    fn refuses_malformed_durations_with_a_reason() {
        for (text, reason) in [
            ("", "it is empty"),
            ("90", "a unit is missing after the number"),
            ("5x", "unknown unit"),
            ("30m1h", "units must go from largest to smallest, each once"),
            ("5m5m", "units must go from largest to smallest, each once"),
            ("h", "each part must start with a whole number"),
            ("-5s", "each part must start with a whole number"),
            ("1.5h", "a unit is missing after the number"),
            (" 5s", "each part must start with a whole number"),
            ("99999999999999999999s", "the number is too large"),
            ("999999999999999999d", "the number is too large"),
        ] {
            assert_eq!(parse(text).map_err(|e| e.reason), Err(reason), "{text:?}");
        }
    }

    #[test]
    fn format_round_trips() {
        for text in ["0s", "90ms", "1m30s", "1h30m", "2d", "1d1h1m1s1ms"] {
            let d = parse(text).unwrap_or_default();
            assert_eq!(parse(&format(d)), Ok(d), "{text}");
        }
        assert_eq!(format(Duration::from_secs(5400)), "1h30m");
    }
}
