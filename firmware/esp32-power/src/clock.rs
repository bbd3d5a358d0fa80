//! The board's UTC clock: a monotonic counter (µs since boot, passed in by the caller) plus the
//! correction learned from SNTP, with drift compensation, poll scheduling and step
//! confirmation.
//!
//! Before the first successful sync after a boot the clock is *unsynchronised*: [`Clock::utc`]
//! returns `None` and the controller does not switch by schedule. Once synced the clock keeps
//! running on the monotonic counter and the learned drift (holdover) while the network is down.

use crate::sntp::{self, Measurement, NtpTimestamp, SntpError, PACKET_LEN};

/// Largest drift the clock will compensate, parts per billion (±500 ppm; a crystal is
/// within ±50 ppm).
const MAX_DRIFT_PPB: i64 = 500_000;

/// SNTP settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClockConfig {
    /// Regular interval between syncs, µs.
    pub poll_interval_us: u64,
    /// First retry after a failed exchange, µs; doubles per failure up to `poll_interval_us`.
    pub retry_us: u64,
    /// A request unanswered this long has failed, µs.
    pub timeout_us: u64,
    /// Replies with a longer round trip are discarded (the offset would be too uncertain), µs.
    pub max_delay_us: i64,
    /// An offset larger than this (once synced) is a clock step and needs a second, agreeing
    /// reply before it is applied, µs. (The first sync after boot always needs two.)
    pub step_threshold_us: i64,
    /// How close the confirming reply's offset must be to the first, µs.
    pub step_agreement_us: i64,
    /// Delay before asking again to confirm a step, µs.
    pub step_confirm_us: u64,
    /// Without a successful sync for this long the clock is in holdover (still used), µs.
    pub holdover_us: u64,
}

impl Default for ClockConfig {
    fn default() -> Self {
        ClockConfig {
            poll_interval_us: 3_600_000_000,
            retry_us: 15_000_000,
            timeout_us: 5_000_000,
            max_delay_us: 2_000_000,
            step_threshold_us: 2_000_000,
            step_agreement_us: 500_000,
            step_confirm_us: 8_000_000,
            holdover_us: 86_400_000_000,
        }
    }
}

/// Whether the clock knows UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncState {
    /// No successful sync since boot: no UTC, no switching by schedule.
    Unsynced,
    /// Synced within the holdover period.
    Synced,
    /// Synced once, but not within the holdover period; the time is still used.
    Holdover,
}

/// What a reply did to the clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncOutcome {
    /// First sync since boot: the clock now has UTC.
    First {
        /// Offset and delay of the exchange.
        m: Measurement,
        /// Server stratum.
        stratum: u8,
    },
    /// A routine correction (below the step threshold); drift updated.
    Adjusted {
        /// Offset and delay of the exchange.
        m: Measurement,
        /// Server stratum.
        stratum: u8,
    },
    /// A large step confirmed by two agreeing replies was applied.
    Stepped {
        /// Offset and delay of the confirming exchange.
        m: Measurement,
        /// Server stratum.
        stratum: u8,
    },
    /// The first time since boot, or a large step, was seen once; it is applied only if the
    /// next reply agrees.
    StepPending {
        /// The offset seen, µs.
        offset_us: i64,
    },
}

/// Why a reply did not update the clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyError {
    /// The packet itself was rejected.
    Packet(SntpError),
    /// No request is outstanding (late, duplicated or unsolicited reply).
    Unexpected,
    /// The round trip was longer than [`ClockConfig::max_delay_us`].
    TooSlow {
        /// Round-trip delay, µs.
        delay_us: i64,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Outstanding {
    sent_mono: u64,
    t1_us: i64,
    transmit: NtpTimestamp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Candidate {
    offset_us: i64,
    seen_mono: u64,
}

/// The board clock. All methods take `now`, the monotonic µs since boot.
#[derive(Clone, Debug)]
pub struct Clock {
    cfg: ClockConfig,
    synced: bool,
    base_mono: u64,
    base_utc: i64,
    drift_ppb: i64,
    last_sync_mono: Option<u64>,
    last_offset_us: Option<i64>,
    outstanding: Option<Outstanding>,
    next_poll_mono: u64,
    failures: u32,
    candidate: Option<Candidate>,
}

impl Clock {
    /// An unsynchronised clock that guesses `guess_utc_us` at monotonic time `now` (the last
    /// UTC the board knew before it rebooted; 0 when none) and starts from the drift learned
    /// before (`drift_ppb`, 0 when unknown: it belongs to the crystal, not to the boot).
    /// Polls at once.
    pub fn new(cfg: ClockConfig, now: u64, guess_utc_us: i64, drift_ppb: i64) -> Self {
        Clock {
            cfg,
            synced: false,
            base_mono: now,
            base_utc: guess_utc_us,
            drift_ppb: drift_ppb.clamp(-MAX_DRIFT_PPB, MAX_DRIFT_PPB),
            last_sync_mono: None,
            last_offset_us: None,
            outstanding: None,
            next_poll_mono: now,
            failures: 0,
            candidate: None,
        }
    }

    /// The board's best guess of UTC at `now`, synced or not.
    pub fn local_utc(&self, now: u64) -> i64 {
        // Signed: events logged before the last sync map to UTC before it.
        let elapsed = now as i128 - self.base_mono as i128;
        let corr = elapsed * self.drift_ppb as i128 / 1_000_000_000;
        (self.base_utc as i128 + elapsed + corr).clamp(i64::MIN as i128, i64::MAX as i128) as i64
    }

    /// UTC at `now`, µs since the Unix epoch, once the clock has been synced since boot.
    pub fn utc(&self, now: u64) -> Option<i64> {
        self.synced.then(|| self.local_utc(now))
    }

    /// Sync state at `now`.
    pub fn state(&self, now: u64) -> SyncState {
        match self.last_sync_mono {
            None => SyncState::Unsynced,
            Some(t) if now.saturating_sub(t) > self.cfg.holdover_us => SyncState::Holdover,
            Some(_) => SyncState::Synced,
        }
    }

    /// The correction the last applied sync made, µs.
    pub fn last_offset_us(&self) -> Option<i64> {
        self.last_offset_us
    }

    /// Estimated drift of the monotonic counter, parts per billion (positive: it runs slow).
    pub fn drift_ppb(&self) -> i64 {
        self.drift_ppb
    }

    /// Consecutive failed exchanges.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Whether a request is awaiting its reply.
    pub fn awaiting_reply(&self) -> bool {
        self.outstanding.is_some()
    }

    /// Expires an unanswered request and, when a poll is due, returns the request packet to
    /// send now (the caller sends it by UDP and passes the reply to [`Clock::on_reply`]).
    pub fn poll(&mut self, now: u64) -> Option<[u8; PACKET_LEN]> {
        if let Some(o) = self.outstanding {
            if now.saturating_sub(o.sent_mono) < self.cfg.timeout_us {
                return None;
            }
            self.outstanding = None;
            self.fail(now);
        }
        if now < self.next_poll_mono {
            return None;
        }
        let t1_us = self.local_utc(now);
        let transmit = NtpTimestamp::from_utc_us(t1_us);
        self.outstanding = Some(Outstanding {
            sent_mono: now,
            t1_us,
            transmit,
        });
        Some(sntp::build_request(transmit))
    }

    fn fail(&mut self, now: u64) {
        self.failures = self.failures.saturating_add(1);
        let shift = self.failures.saturating_sub(1).min(20);
        let wait = self
            .cfg
            .retry_us
            .saturating_mul(1u64 << shift)
            .min(self.cfg.poll_interval_us.max(self.cfg.retry_us));
        self.next_poll_mono = now.saturating_add(wait);
    }

    /// Handles a UDP reply received at `now`.
    pub fn on_reply(&mut self, now: u64, bytes: &[u8]) -> Result<SyncOutcome, ReplyError> {
        let o = self.outstanding.ok_or(ReplyError::Unexpected)?;
        let reply = match sntp::parse_reply(bytes, o.transmit) {
            Ok(r) => r,
            Err(e) => {
                // An origin mismatch is someone else's packet: keep waiting for ours.
                if !matches!(e, SntpError::OriginMismatch { .. }) {
                    self.outstanding = None;
                    self.fail(now);
                    if let SntpError::KissOfDeath { .. } = e {
                        // RATE, DENY, RSTR: back off to the regular interval at least.
                        self.next_poll_mono = self
                            .next_poll_mono
                            .max(now.saturating_add(self.cfg.poll_interval_us));
                    }
                }
                return Err(ReplyError::Packet(e));
            }
        };
        self.outstanding = None;
        let t4 = self.local_utc(now);
        let m = sntp::measure(
            o.t1_us,
            reply.receive.to_utc_us(),
            reply.transmit.to_utc_us(),
            t4,
        );
        if m.delay_us > self.cfg.max_delay_us {
            self.fail(now);
            return Err(ReplyError::TooSlow {
                delay_us: m.delay_us,
            });
        }
        self.failures = 0;
        let stratum = reply.stratum;
        if !self.synced {
            // Trust no single reply with the first time since boot: a wrong one would be
            // believed for an hour. Two agreeing replies, `step_confirm_us` apart.
            if !self.agrees(now, m.offset_us) {
                return Ok(self.hold_step(now, m.offset_us));
            }
            self.apply(now, t4, m.offset_us);
            self.synced = true;
            self.candidate = None;
            self.next_poll_mono = now.saturating_add(self.cfg.poll_interval_us);
            return Ok(SyncOutcome::First { m, stratum });
        }
        if m.offset_us.unsigned_abs() > self.cfg.step_threshold_us.unsigned_abs() {
            if self.agrees(now, m.offset_us) {
                self.candidate = None;
                self.apply(now, t4, m.offset_us);
                self.next_poll_mono = now.saturating_add(self.cfg.poll_interval_us);
                return Ok(SyncOutcome::Stepped { m, stratum });
            }
            return Ok(self.hold_step(now, m.offset_us));
        }
        self.candidate = None;
        if let Some(last) = self.last_sync_mono {
            let elapsed = now.saturating_sub(last);
            // Only learn drift over intervals long enough for the delay noise to vanish.
            if elapsed >= self.cfg.poll_interval_us / 4 && elapsed > 0 {
                let measured = (m.offset_us as i128 * 1_000_000_000 / elapsed as i128) as i64;
                // Half gain: smooths the delay asymmetry of single exchanges.
                self.drift_ppb =
                    (self.drift_ppb + measured / 2).clamp(-MAX_DRIFT_PPB, MAX_DRIFT_PPB);
            }
        }
        self.apply(now, t4, m.offset_us);
        self.next_poll_mono = now.saturating_add(self.cfg.poll_interval_us);
        Ok(SyncOutcome::Adjusted { m, stratum })
    }

    /// Keep `offset_us` as the candidate step and ask again `step_confirm_us` later.
    fn hold_step(&mut self, now: u64, offset_us: i64) -> SyncOutcome {
        self.candidate = Some(Candidate {
            offset_us,
            seen_mono: now,
        });
        self.next_poll_mono = now.saturating_add(self.cfg.step_confirm_us);
        SyncOutcome::StepPending { offset_us }
    }

    /// Whether `offset_us` agrees with the pending candidate (seen recently).
    fn agrees(&self, now: u64, offset_us: i64) -> bool {
        self.candidate.is_some_and(|c| {
            now.saturating_sub(c.seen_mono) <= self.cfg.step_confirm_us.saturating_mul(4)
                && c.offset_us.abs_diff(offset_us) <= self.cfg.step_agreement_us.unsigned_abs()
        })
    }

    fn apply(&mut self, now: u64, t4: i64, offset_us: i64) {
        self.base_mono = now;
        self.base_utc = t4.saturating_add(offset_us);
        self.last_sync_mono = Some(now);
        self.last_offset_us = Some(offset_us);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sntp::PACKET_LEN;

    const T2026: i64 = 1_767_225_600_000_000;
    const S: u64 = 1_000_000;

    /// A server that is `server_minus_mono` ahead of the monotonic counter and answers
    /// `request` (sent at `sent`) with `one_way` µs each way.
    fn answer(request: &[u8; PACKET_LEN], server_utc_at_send: i64, one_way: i64) -> [u8; 48] {
        let mut p = [0u8; PACKET_LEN];
        p[0] = (4 << 3) | 4;
        p[1] = 2;
        p[24..32].copy_from_slice(&request[40..48]);
        let t2 = NtpTimestamp::from_utc_us(server_utc_at_send + one_way);
        let t3 = NtpTimestamp::from_utc_us(server_utc_at_send + one_way + 100);
        p[32..40].copy_from_slice(&t2.0.to_be_bytes());
        p[40..48].copy_from_slice(&t3.0.to_be_bytes());
        p
    }

    fn cfg() -> ClockConfig {
        ClockConfig::default()
    }

    /// First sync: two agreeing exchanges against `server(mono)`, the first at `now`.
    /// Returns the monotonic time of the second reply.
    fn first_sync(c: &mut Clock, now: u64, server: impl Fn(u64) -> i64) -> u64 {
        let out = sync(c, now, server(now)).expect("first reply");
        assert!(matches!(out, SyncOutcome::StepPending { .. }), "{out:?}");
        assert_eq!(c.utc(now + 20_100), None);
        let now2 = now + 8 * S + 20_100;
        assert!(c.poll(now2 - 1).is_none());
        let out = sync(c, now2, server(now2)).expect("second reply");
        assert!(
            matches!(out, SyncOutcome::First { stratum: 2, .. }),
            "{out:?}"
        );
        now2
    }

    /// Syncs `c` at `now` against a server whose clock reads `server` at `now`.
    fn sync(c: &mut Clock, now: u64, server: i64) -> Result<SyncOutcome, ReplyError> {
        let req = c.poll(now).expect("a poll is due");
        let reply = answer(&req, server, 10_000);
        c.on_reply(now + 20_100, &reply)
    }

    #[test]
    fn unsynced_clock_has_no_utc() {
        // given a fresh clock; then no UTC and the first poll is immediate
        let mut c = Clock::new(cfg(), 5 * S, 0, 0);
        assert_eq!(c.utc(5 * S), None);
        assert_eq!(c.state(5 * S), SyncState::Unsynced);
        assert!(c.poll(5 * S).is_some());
    }

    #[test]
    fn first_reply_sets_utc() {
        // given an unsynced clock; when the server answers with 2026; then the clock reads 2026
        let mut c = Clock::new(cfg(), 5 * S, 0, 0);
        let now = first_sync(&mut c, 5 * S, |m| T2026 + m as i64) + 20_100;
        let utc = c.utc(now).expect("synced");
        assert!((utc - (T2026 + now as i64)).abs() < 5, "{utc}");
        assert_eq!(c.state(now), SyncState::Synced);
    }

    #[test]
    fn unanswered_request_times_out_and_backs_off() {
        // given a request sent at 0; when nothing comes back for the timeout; then the next
        // request waits retry_us, then twice that
        let mut c = Clock::new(cfg(), 0, 0, 0);
        assert!(c.poll(0).is_some());
        assert!(c.poll(4 * S).is_none());
        assert!(c.poll(5 * S).is_none()); // timed out, retry in 15 s
        assert_eq!(c.failures(), 1);
        assert!(c.poll(19 * S).is_none());
        assert!(c.poll(20 * S).is_some());
        assert!(c.poll(25 * S).is_none()); // second failure: 30 s
        assert!(c.poll(54 * S).is_none());
        assert!(c.poll(55 * S).is_some());
    }

    #[test]
    fn unexpected_reply_is_ignored() {
        let mut c = Clock::new(cfg(), 0, 0, 0);
        let bogus = [0u8; PACKET_LEN];
        assert_eq!(c.on_reply(0, &bogus), Err(ReplyError::Unexpected));
        assert_eq!(c.utc(0), None);
    }

    #[test]
    fn foreign_reply_keeps_the_request_open() {
        // given an outstanding request; when a reply to another request arrives; then it is
        // rejected and the real reply is still accepted
        let mut c = Clock::new(cfg(), 0, 0, 0);
        let req = c.poll(0).expect("poll");
        let mut other = req;
        other[47] ^= 1;
        let foreign = answer(&other, T2026, 1_000);
        assert!(matches!(
            c.on_reply(2_000, &foreign),
            Err(ReplyError::Packet(SntpError::OriginMismatch { .. }))
        ));
        let ours = answer(&req, T2026, 1_000);
        assert!(c.on_reply(2_100, &ours).is_ok());
    }

    #[test]
    fn slow_reply_is_discarded() {
        let mut c = Clock::new(cfg(), 0, 0, 0);
        let req = c.poll(0).expect("poll");
        let reply = answer(&req, T2026, 10_000);
        assert_eq!(
            c.on_reply(3 * S, &reply),
            Err(ReplyError::TooSlow {
                delay_us: 3 * S as i64 - 100
            })
        );
        assert_eq!(c.utc(3 * S), None);
    }

    #[test]
    fn drift_is_learned_and_compensated() {
        // given a counter that runs 50 ppm slow against the server
        let mut c = Clock::new(cfg(), 0, 0, 0);
        let server = |mono: u64| T2026 + mono as i64 + mono as i64 * 50 / 1_000_000;
        let mut now = first_sync(&mut c, 0, server);
        // when synced every hour for a day
        for _ in 0..24 {
            now += 3_601 * S;
            let out = sync(&mut c, now, server(now)).expect("sync");
            assert!(matches!(out, SyncOutcome::Adjusted { .. }), "{out:?}");
        }
        // then the drift estimate is close to 50 ppm and the error an hour later is small
        assert!((c.drift_ppb() - 50_000).abs() < 2_000, "{}", c.drift_ppb());
        let later = now + 3_600 * S;
        let err = c.local_utc(later) - server(later);
        assert!(err.abs() < 20_000, "error {err} µs");
    }

    #[test]
    fn known_drift_is_applied_from_boot() {
        // given a clock told at boot that its counter runs 40 ppm slow
        let mut c = Clock::new(cfg(), 0, 0, 40_000);
        let server = |m: u64| T2026 + (m as i64) * 1_000_040 / 1_000_000;
        first_sync(&mut c, 0, server);
        // then a day later it is within a few ms of a server 40 ppm faster
        let day = 86_400 * S;
        assert!((c.local_utc(day) - server(day)).abs() < 5_000);
    }

    #[test]
    fn single_large_step_waits_for_confirmation() {
        // given a synced clock
        let mut c = Clock::new(cfg(), 0, 0, 0);
        first_sync(&mut c, 0, |m| T2026 + m as i64);
        let now = 3_700 * S;
        let before = c.local_utc(now);
        // when one reply says the time is an hour later
        let out = sync(&mut c, now, T2026 + now as i64 + 3_600 * S as i64).expect("reply");
        // then nothing changes yet and a confirming poll comes soon
        assert!(matches!(out, SyncOutcome::StepPending { .. }));
        assert_eq!(c.local_utc(now), before);
        assert!(c.poll(now + 7 * S).is_none());
        // when the next reply is back to normal; then the outlier is forgotten
        let now2 = now + 9 * S;
        let out = sync(&mut c, now2, T2026 + now2 as i64).expect("reply");
        assert!(matches!(out, SyncOutcome::Adjusted { .. }), "{out:?}");
    }

    #[test]
    fn confirmed_step_is_applied() {
        let mut c = Clock::new(cfg(), 0, 0, 0);
        first_sync(&mut c, 0, |m| T2026 + m as i64);
        let jump = 3_600 * S as i64;
        let now = 3_700 * S;
        sync(&mut c, now, T2026 + now as i64 + jump).expect("reply");
        let now2 = now + 9 * S;
        let out = sync(&mut c, now2, T2026 + now2 as i64 + jump).expect("reply");
        assert!(matches!(out, SyncOutcome::Stepped { .. }), "{out:?}");
        let err = c.local_utc(now2 + 20_100) - (T2026 + (now2 + 20_100) as i64 + jump);
        assert!(err.abs() < 5, "{err}");
    }

    #[test]
    fn holdover_after_a_day_without_sync() {
        let mut c = Clock::new(cfg(), 0, 0, 0);
        first_sync(&mut c, 0, |m| T2026 + m as i64);
        assert_eq!(c.state(86_000 * S), SyncState::Synced);
        assert_eq!(c.state(86_409 * S), SyncState::Holdover);
        assert!(c.utc(86_401 * S).is_some());
    }

    #[test]
    fn kiss_o_death_backs_off_to_the_poll_interval() {
        let mut c = Clock::new(cfg(), 0, 0, 0);
        let req = c.poll(0).expect("poll");
        let mut kod = answer(&req, T2026, 1_000);
        kod[1] = 0;
        kod[12..16].copy_from_slice(b"RATE");
        assert!(c.on_reply(2_000, &kod).is_err());
        assert!(c.poll(3_599 * S).is_none());
        assert!(c.poll(3_600 * S + 2_000).is_some());
    }
}
