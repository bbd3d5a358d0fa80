//! Where a simulator's time comes from: the wall clock, a scaled clock, or anything else that
//! says what time it is (the station clock of `vigil start`, adapted in vigil-actors).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A time source for a simulator, in UTC µs.
pub trait SimClock: Send + Sync + 'static {
    /// The current time, UTC µs since the Unix epoch.
    fn now_us(&self) -> i64;
    /// Real time to wait until the clock reads `t_us` (zero if already past).
    fn real_until(&self, t_us: i64) -> Duration;
}

/// The system wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct WallClock;

fn wall_us() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_micros()).unwrap_or(i64::MAX),
    }
}

impl SimClock for WallClock {
    fn now_us(&self) -> i64 {
        wall_us()
    }
    fn real_until(&self, t_us: i64) -> Duration {
        Duration::from_micros(u64::try_from(t_us.saturating_sub(wall_us())).unwrap_or(0))
    }
}

/// A clock that starts at `start_us` and runs `rate` times faster than real time.
#[derive(Debug, Clone, Copy)]
pub struct ScaledClock {
    start_us: i64,
    origin: Instant,
    rate: f64,
}

impl ScaledClock {
    /// Starts now at `start_us`; a `rate` that is not a positive finite number counts as 1.
    pub fn new(start_us: i64, rate: f64) -> Self {
        let rate = if rate.is_finite() && rate > 0.0 {
            rate
        } else {
            1.0
        };
        ScaledClock {
            start_us,
            origin: Instant::now(),
            rate,
        }
    }
}

impl SimClock for ScaledClock {
    fn now_us(&self) -> i64 {
        self.start_us + (self.origin.elapsed().as_secs_f64() * self.rate * 1e6) as i64
    }
    fn real_until(&self, t_us: i64) -> Duration {
        let ahead = t_us.saturating_sub(self.now_us());
        if ahead <= 0 {
            return Duration::ZERO;
        }
        Duration::from_secs_f64(ahead as f64 / 1e6 / self.rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaled_clock_runs_at_its_rate() {
        let c = ScaledClock::new(1_000, 1000.0);
        assert!(c.now_us() >= 1_000);
        assert!(c.real_until(1_000_000 + c.now_us()) <= Duration::from_millis(1));
        assert_eq!(c.real_until(0), Duration::ZERO);
        assert_eq!(ScaledClock::new(0, f64::NAN).rate, 1.0);
    }
}
