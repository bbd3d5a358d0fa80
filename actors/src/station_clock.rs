//! Station time: the real clock, or a simulated one that runs faster than real time.
//!
//! `sim:2026-06-01T04:00:00Z@3600x` starts the station at that instant and runs an hour of
//! station time per real second, so a whole day of schedule is seen in 24 seconds.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use vigil_events::UtcMicros;

/// Where station time comes from.
#[derive(Debug, Clone, Copy)]
pub enum StationClock {
    /// The system's wall clock.
    Real,
    /// A simulated clock: `start` at real `origin`, advancing `rate` times real time.
    Sim {
        /// Station time at `origin`.
        start: UtcMicros,
        /// Real instant the simulation started.
        origin: Instant,
        /// Station seconds per real second.
        rate: f64,
    },
}

/// A `--clock` value that is neither `real` nor `sim:<RFC 3339>@<rate>x`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad clock `{given}`: {why} (expected `real` or `sim:2026-06-01T04:00:00Z@3600x`)")]
pub struct ClockSpecError {
    /// What was given.
    pub given: String,
    /// What is wrong with it.
    pub why: String,
}

/// A parsed `--clock` value, not yet started.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ClockSpec {
    /// The system clock.
    Real,
    /// Simulated from `start` at `rate`× real time.
    Sim {
        /// Station start instant.
        start: UtcMicros,
        /// Station seconds per real second.
        rate: f64,
    },
}

impl FromStr for ClockSpec {
    type Err = ClockSpecError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |why: &str| ClockSpecError {
            given: s.to_string(),
            why: why.to_string(),
        };
        if s == "real" {
            return Ok(ClockSpec::Real);
        }
        let rest = s
            .strip_prefix("sim:")
            .ok_or_else(|| err("unknown clock kind"))?;
        let (start, rate) = match rest.rsplit_once('@') {
            Some((start, rate)) => (start, rate),
            None => (rest, "1x"),
        };
        let start = DateTime::parse_from_rfc3339(start)
            .map_err(|e| err(&format!("start is not RFC 3339 ({e})")))?
            .with_timezone(&Utc);
        let rate: f64 = rate
            .strip_suffix('x')
            .unwrap_or(rate)
            .parse()
            .map_err(|_| err("rate is not a number"))?;
        if !(rate.is_finite() && rate > 0.0 && rate <= 1.0e7) {
            return Err(err("rate must be above 0 and at most 10000000"));
        }
        Ok(ClockSpec::Sim {
            start: start.timestamp_micros(),
            rate,
        })
    }
}

impl fmt::Display for ClockSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClockSpec::Real => f.write_str("real"),
            ClockSpec::Sim { start, rate } => {
                let t = DateTime::from_timestamp_micros(*start).unwrap_or_default();
                write!(
                    f,
                    "sim:{}@{rate}x",
                    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
                )
            }
        }
    }
}

impl ClockSpec {
    /// Start the clock now.
    pub fn start(self) -> StationClock {
        match self {
            ClockSpec::Real => StationClock::Real,
            ClockSpec::Sim { start, rate } => StationClock::Sim {
                start,
                origin: Instant::now(),
                rate,
            },
        }
    }
}

/// The system wall clock in UTC µs.
pub fn wall_now() -> UtcMicros {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_micros()).unwrap_or(i64::MAX),
    }
}

impl StationClock {
    /// Current station time.
    pub fn now(&self) -> UtcMicros {
        match *self {
            StationClock::Real => wall_now(),
            StationClock::Sim {
                start,
                origin,
                rate,
            } => start + (origin.elapsed().as_secs_f64() * rate * 1e6) as i64,
        }
    }

    /// Real time to wait until station time `t` (zero if past).
    pub fn real_until(&self, t: UtcMicros) -> Duration {
        let ahead = t.saturating_sub(self.now());
        if ahead <= 0 {
            return Duration::ZERO;
        }
        let rate = match *self {
            StationClock::Real => 1.0,
            StationClock::Sim { rate, .. } => rate,
        };
        Duration::from_secs_f64(ahead as f64 / 1e6 / rate)
    }

    /// Real duration of `station` station time.
    pub fn real_for(&self, station: Duration) -> Duration {
        match *self {
            StationClock::Real => station,
            StationClock::Sim { rate, .. } => station.div_f64(rate),
        }
    }

    /// True for a simulated clock.
    pub fn is_sim(&self) -> bool {
        matches!(self, StationClock::Sim { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sim_spec() {
        let c: ClockSpec = "sim:2026-06-01T04:00:00Z@3600x".parse().expect("parses");
        assert_eq!(
            c,
            ClockSpec::Sim {
                start: 1_780_286_400_000_000,
                rate: 3600.0
            }
        );
        assert_eq!(c.to_string(), "sim:2026-06-01T04:00:00Z@3600x");
        assert_eq!("real".parse::<ClockSpec>(), Ok(ClockSpec::Real));
    }

    #[test]
    fn refuses_bad_specs_saying_why() {
        for (bad, why) in [
            ("sim:yesterday@2x", "RFC 3339"),
            ("sim:2026-06-01T04:00:00Z@fastx", "not a number"),
            ("sim:2026-06-01T04:00:00Z@0x", "above 0"),
            ("wall", "unknown clock kind"),
        ] {
            let e = bad.parse::<ClockSpec>().expect_err(bad);
            assert!(e.to_string().contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn sim_clock_runs_at_rate() {
        let c = ClockSpec::Sim {
            start: 0,
            rate: 1000.0,
        }
        .start();
        let wait = c.real_until(2_000_000);
        assert!(wait <= Duration::from_millis(2), "{wait:?}");
        assert!(c.real_for(Duration::from_secs(3600)) == Duration::from_secs_f64(3.6));
    }
}
