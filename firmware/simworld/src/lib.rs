#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod board;
pub mod sntp;

pub use board::{Board, RingWatch, WindowCheck, WindowWatch};
pub use sntp::{Rtt, SntpServer};

/// Units and the epoch of simulated time. Simulation time `t` is µs since [`time::T2026`].
pub mod time {
    /// One second in µs.
    pub const S: u64 = 1_000_000;
    /// One minute in µs.
    pub const MIN: u64 = 60 * S;
    /// One hour in µs.
    pub const H: u64 = 60 * MIN;
    /// One day in µs.
    pub const DAY: u64 = 24 * H;
    /// 2026-01-01T00:00:00Z in µs since the Unix epoch: simulation time 0.
    pub const T2026: i64 = 1_767_225_600_000_000;

    /// True UTC (µs) at simulation time `t`.
    pub fn utc(t: u64) -> i64 {
        T2026 + t as i64
    }
}

use time::{DAY, S};

/// One step of SplitMix64: advances `state` and returns the next 64 random bits. The one
/// generator behind [`Rng`] and the other test rigs' seeded generators.
pub fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A small deterministic PRNG (splitmix64): the same seed gives the same world.
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    #[allow(clippy::should_implement_trait)] // not an iterator: it never ends
    pub fn next(&mut self) -> u64 {
        splitmix64(&mut self.0)
    }

    /// Uniform in `0..n` (`0` for `n == 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    /// Exponentially distributed delay with the given mean.
    pub fn exp(&mut self, mean: u64) -> u64 {
        let u = ((self.next() >> 11) as f64 + 1.0) / ((1u64 << 53) as f64 + 1.0);
        (-(u.ln()) * mean as f64) as u64
    }
}

/// How much simulated time to run: `VIGIL_FAULT_YEARS` years (10 if it does not parse), else
/// `default_days` (what CI runs).
pub fn span(default_days: u64) -> u64 {
    match std::env::var("VIGIL_FAULT_YEARS") {
        Ok(y) => (y.parse::<f64>().unwrap_or(10.0) * 365.25 * DAY as f64) as u64,
        Err(_) => default_days * DAY,
    }
}

/// The seed: `VIGIL_FAULT_SEED` if set and a number, else `default`.
pub fn seed(default: u64) -> u64 {
    std::env::var("VIGIL_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// The mains supply of the station: it fails now and then (board and Pi die) and comes back
/// after up to two hours.
#[derive(Debug, Clone)]
pub struct Mains {
    /// Whether there is power.
    pub on: bool,
    /// When power returns after a loss.
    pub back_at: u64,
    /// When the next loss happens (`u64::MAX`: never).
    pub next_loss: u64,
    /// Mean time between losses, µs.
    pub mean_between: u64,
    /// Losses so far.
    pub losses: u64,
}

impl Mains {
    /// Mains on, the first loss drawn from `rng` with the given mean.
    pub fn new(rng: &mut Rng, mean_between: u64) -> Self {
        Mains {
            on: true,
            back_at: 0,
            next_loss: rng.exp(mean_between),
            mean_between,
            losses: 0,
        }
    }

    /// At `t`: whether power goes now (then it is off until `back_at`).
    pub fn fails(&mut self, rng: &mut Rng, t: u64) -> bool {
        if t < self.next_loss {
            return false;
        }
        self.losses += 1;
        self.on = false;
        self.back_at = t + rng.range(1, 7_200) * S;
        self.next_loss = self.back_at + rng.exp(self.mean_between);
        true
    }

    /// At `t`: whether power comes back now.
    pub fn returns(&mut self, t: u64) -> bool {
        if self.on || t < self.back_at {
            return false;
        }
        self.on = true;
        true
    }
}

/// The Pi's power as the world sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PiPower {
    /// No power, or not started.
    Off,
    /// Powered; the supervisor runs from `ready_at`.
    Booting {
        /// When the supervisor is up.
        ready_at: u64,
    },
    /// The supervisor runs.
    Running,
    /// Powered but stuck: no heartbeats, no replies.
    Hung,
    /// The supervisor exited after confirming the halt; the OS halts at `halted_at`.
    ShuttingDown {
        /// When the OS is down.
        halted_at: u64,
    },
    /// Halted, still powered.
    Halted,
}

/// A serial cable between Pi and board: while cut nothing passes, else each byte is dropped,
/// flipped in one bit, or followed by an inserted byte, each with probability `noise`.
#[derive(Debug, Clone)]
pub struct NoisyLine {
    /// Probability per byte of each fault.
    pub noise: f64,
    /// The cable is off until then.
    pub cut_until: u64,
    /// Bytes dropped, flipped or inserted so far.
    pub garbled: u64,
}

impl NoisyLine {
    /// A connected cable with the given noise.
    pub fn new(noise: f64) -> Self {
        NoisyLine {
            noise,
            cut_until: 0,
            garbled: 0,
        }
    }

    /// Whether the cable is off at `t`.
    pub fn is_cut(&self, t: u64) -> bool {
        t < self.cut_until
    }

    /// What arrives at the other end of `bytes` sent at `t`.
    pub fn carry(&mut self, rng: &mut Rng, t: u64, bytes: &[u8]) -> Vec<u8> {
        if self.is_cut(t) {
            return Vec::new();
        }
        let mut out = Vec::with_capacity(bytes.len() + 2);
        for &b in bytes {
            if rng.chance(self.noise) {
                self.garbled += 1;
                continue; // dropped
            }
            if rng.chance(self.noise) {
                self.garbled += 1;
                out.push(b ^ (1 << rng.below(8)));
            } else {
                out.push(b);
            }
            if rng.chance(self.noise) {
                self.garbled += 1;
                out.push(rng.below(256) as u8);
            }
        }
        out
    }
}

/// Windows of a schedule in simulation µs, `(start, end)`, sorted and not overlapping.
#[derive(Debug, Clone, Default)]
pub struct Schedule(pub Vec<(u64, u64)>);

impl Schedule {
    /// 1–3 windows a day, 10–40 minutes each, at least an hour apart.
    pub fn random(rng: &mut Rng, until: u64) -> Self {
        let mut out = Vec::new();
        let mut day = 0;
        while day * DAY < until {
            let n = rng.range(1, 3);
            let mut t = day * DAY + rng.range(0, 4 * 3600) * S;
            for _ in 0..n {
                let len = rng.range(10, 40) * 60 * S;
                out.push((t, t + len));
                t += len + rng.range(3600, 6 * 3600) * S;
            }
            day += 1;
            let next_day = day * DAY;
            if t > next_day {
                day = t.div_ceil(DAY);
            }
        }
        Schedule(out)
    }

    /// The index of the first window not over at `t`.
    pub fn index_at(&self, t: u64) -> usize {
        self.0.partition_point(|&(_, e)| e <= t)
    }

    /// Whether `t` is inside a window.
    pub fn in_window(&self, t: u64) -> bool {
        self.0.get(self.index_at(t)).is_some_and(|w| w.0 <= t)
    }

    /// The start of the next window not over at `t` (`u64::MAX`: none).
    pub fn next_start(&self, t: u64) -> u64 {
        self.0.get(self.index_at(t)).map_or(u64::MAX, |w| w.0)
    }

    /// The step to take at `t`: one second while anything happens (`busy`), else coarse up to
    /// a minute, stopping two minutes before the next window and at the next fault.
    pub fn step_len(&self, t: u64, busy: bool, next_fault: u64) -> u64 {
        if busy || self.in_window(t) {
            return S;
        }
        let until = self
            .next_start(t)
            .saturating_sub(2 * 60 * S)
            .min(next_fault);
        until.saturating_sub(t).clamp(S, 60 * S)
    }
}

/// The loop both simulations run: each step moves time, lets due faults happen, runs the Pi
/// and then the board, and checks what must hold.
pub trait Simulation {
    /// Simulation time, µs since [`time::T2026`].
    fn time(&mut self) -> &mut u64;
    /// How far the next step goes (see [`Schedule::step_len`]).
    fn step_len(&self) -> u64;
    /// The faults due at the current time.
    fn faults(&mut self);
    /// The Pi's step.
    fn run_pi(&mut self);
    /// The board's step.
    fn run_board(&mut self);
    /// Property 2 after the step (see [`WindowWatch`]).
    fn check_window_start(&mut self);

    /// Runs with faults until `until`.
    fn run(&mut self, until: u64) {
        while *self.time() < until {
            let d = self.step_len();
            *self.time() += d;
            self.faults();
            self.run_pi();
            self.run_board();
            self.check_window_start();
        }
    }

    /// Runs `span` more in one-second steps, Pi and board only (the final drain).
    fn settle(&mut self, span: u64) {
        let end = *self.time() + span;
        while *self.time() < end {
            *self.time() += S;
            self.run_pi();
            self.run_board();
        }
    }
}

/// The earliest of a set of fault times (`u64::MAX` for none).
pub fn next_of(times: &[u64]) -> u64 {
    times.iter().copied().min().unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_replays_the_same_draws() {
        let draws = |seed| {
            let mut r = Rng(seed);
            (0..8).map(|_| r.range(10, 20)).collect::<Vec<_>>()
        };
        assert_eq!(draws(7), draws(7));
        assert_ne!(draws(7), draws(8));
        assert!(draws(7).iter().all(|v| (10..=20).contains(v)));
    }

    #[test]
    fn a_quiet_line_carries_every_byte_and_a_cut_one_none() {
        let mut rng = Rng(1);
        let mut line = NoisyLine::new(0.0);
        assert_eq!(line.carry(&mut rng, 0, b"frame\0"), b"frame\0");
        line.cut_until = 10;
        assert!(line.carry(&mut rng, 9, b"frame\0").is_empty());
        assert_eq!(line.carry(&mut rng, 10, b"frame\0"), b"frame\0");
        assert_eq!(line.garbled, 0);
        let mut noisy = NoisyLine::new(0.5);
        let got = noisy.carry(&mut rng, 0, &[0u8; 100]);
        assert!(noisy.garbled > 0 && got != [0u8; 100]);
    }

    #[test]
    fn a_random_schedule_has_sorted_windows_an_hour_apart() {
        let s = Schedule::random(&mut Rng(3), 30 * DAY);
        assert!(s.0.len() >= 30);
        for w in s.0.windows(2) {
            assert!(w[0].0 < w[0].1 && w[0].1 + 3600 * S <= w[1].0, "{w:?}");
        }
        let (start, end) = s.0[0];
        assert!(s.in_window(start) && !s.in_window(end));
        assert_eq!(s.next_start(end), s.0[1].0);
        assert_eq!(s.step_len(start, false, u64::MAX), S);
    }

    #[test]
    fn the_mains_fails_and_returns_within_two_hours() {
        let mut rng = Rng(5);
        let mut mains = Mains::new(&mut rng, DAY);
        let at = mains.next_loss;
        assert!(!mains.fails(&mut rng, at - 1));
        assert!(mains.fails(&mut rng, at));
        assert!(!mains.on && mains.back_at > at && mains.back_at <= at + 7_200 * S);
        assert!(!mains.returns(mains.back_at - 1));
        assert!(mains.returns(mains.back_at));
        assert!(mains.on && mains.next_loss > mains.back_at && mains.losses == 1);
    }
}
