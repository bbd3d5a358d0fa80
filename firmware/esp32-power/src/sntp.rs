//! SNTP (RFC 4330) packet handling: build a client request, check and parse a server reply,
//! and compute the clock offset and round-trip delay from the four timestamps.
//!
//! Nothing here reads a clock or a socket: the caller passes the local times in and sends the
//! 48 bytes over UDP port 123 itself.
//!
//! Timestamps are 64-bit NTP timestamps (32 bits of seconds since 1900, 32 bits of fraction).
//! The seconds field wraps in February 2036; as RFC 4330 §3 says, a value with the top bit
//! set is read in era 0 (1968–2036) and one without it in era 1 (2036–2104).

use thiserror::Error;

/// Length of an SNTP packet without extension fields or authenticator.
pub const PACKET_LEN: usize = 48;

/// Seconds from 1900-01-01 (NTP era 0) to 1970-01-01 (Unix epoch).
const NTP_UNIX_OFFSET_S: i64 = 2_208_988_800;
/// Seconds in one NTP era (2^32).
const ERA_S: i64 = 1 << 32;
/// Microseconds per second.
const US_PER_S: i64 = 1_000_000;

/// Mode field value of a client request.
const MODE_CLIENT: u8 = 3;
/// Mode field value of a server reply.
const MODE_SERVER: u8 = 4;
/// Leap indicator value meaning "clock not synchronised".
const LEAP_ALARM: u8 = 3;

/// A 64-bit NTP timestamp: seconds since the era start in the high 32 bits, fraction of a
/// second in the low 32 bits. Zero means "not set".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct NtpTimestamp(pub u64);

impl NtpTimestamp {
    /// The NTP timestamp of a UTC instant in µs since the Unix epoch (wraps per era).
    pub fn from_utc_us(utc_us: i64) -> Self {
        let secs = utc_us.div_euclid(US_PER_S);
        let micros = utc_us.rem_euclid(US_PER_S);
        let ntp_secs = (secs + NTP_UNIX_OFFSET_S).rem_euclid(ERA_S) as u64;
        // micros < 10^6, so micros << 32 fits in 52 bits; round to nearest.
        let frac = (((micros as u64) << 32) + (US_PER_S as u64 / 2)) / US_PER_S as u64;
        NtpTimestamp((ntp_secs << 32) | (frac & 0xFFFF_FFFF))
    }

    /// The UTC instant in µs since the Unix epoch, with the era chosen by RFC 4330 §3: the
    /// top bit of the seconds set means 1968–2036, clear means 2036–2104.
    pub fn to_utc_us(self) -> i64 {
        let ntp_secs = (self.0 >> 32) as i64;
        let frac = self.0 & 0xFFFF_FFFF;
        let era_base = if ntp_secs & 0x8000_0000 != 0 {
            0
        } else {
            ERA_S
        };
        let secs = ntp_secs + era_base - NTP_UNIX_OFFSET_S;
        let micros = ((frac * US_PER_S as u64) + (1 << 31)) >> 32;
        secs * US_PER_S + micros as i64
    }

    /// Whether the timestamp is zero ("not set").
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    fn read(bytes: &[u8; PACKET_LEN], at: usize) -> Self {
        let mut b = [0u8; 8];
        b.copy_from_slice(&bytes[at..at + 8]);
        NtpTimestamp(u64::from_be_bytes(b))
    }
}

/// Why a server reply was rejected. Every variant is a reason to ignore the reply and try
/// again later; none changes the clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum SntpError {
    /// The datagram is shorter than the 48-byte SNTP header; check the UDP receive buffer.
    #[error("SNTP reply is {len} bytes, shorter than 48")]
    TooShort {
        /// Bytes received.
        len: usize,
    },
    /// The mode field is not 4 (server): not an answer to a unicast request.
    #[error("SNTP reply has mode {mode}, expected 4 (server)")]
    WrongMode {
        /// Mode received.
        mode: u8,
    },
    /// The version field is not 1–4.
    #[error("SNTP reply has version {version}, expected 1 to 4")]
    BadVersion {
        /// Version received.
        version: u8,
    },
    /// Kiss-o'-death (stratum 0): the server refuses service; `code` is its ASCII reason
    /// (`RATE`: poll less often, `DENY`/`RSTR`: stop asking this server).
    #[error("SNTP kiss-o'-death {:?}", core::str::from_utf8(code).unwrap_or("????"))]
    KissOfDeath {
        /// The four-letter kiss code from the reference id field.
        code: [u8; 4],
    },
    /// Stratum 16 or more, or leap indicator 3: the server itself is not synchronised.
    #[error("SNTP server is unsynchronised (stratum {stratum}, leap {leap})")]
    Unsynchronised {
        /// Stratum received.
        stratum: u8,
        /// Leap indicator received.
        leap: u8,
    },
    /// The transmit (or receive) timestamp is zero: the reply carries no time.
    #[error("SNTP reply has a zero transmit or receive timestamp")]
    ZeroTimestamp,
    /// The originate timestamp is not the transmit timestamp of our request: a stale,
    /// duplicated or forged reply.
    #[error("SNTP reply answers another request (originate {got:#x}, ours {expected:#x})")]
    OriginMismatch {
        /// Transmit timestamp of our request.
        expected: u64,
        /// Originate timestamp of the reply.
        got: u64,
    },
}

/// A client request (mode 3, version 4) whose transmit timestamp is `transmit` (the local
/// clock at sending, t1). The server copies it into the reply's originate field, which is
/// how [`parse_reply`] matches the reply to the request.
pub fn build_request(transmit: NtpTimestamp) -> [u8; PACKET_LEN] {
    let mut p = [0u8; PACKET_LEN];
    p[0] = (4 << 3) | MODE_CLIENT;
    p[40..48].copy_from_slice(&transmit.0.to_be_bytes());
    p
}

/// The fields of a checked server reply that the clock needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reply {
    /// Server stratum, 1–15.
    pub stratum: u8,
    /// Leap indicator, 0–2.
    pub leap: u8,
    /// t2: server clock when our request arrived.
    pub receive: NtpTimestamp,
    /// t3: server clock when the reply left.
    pub transmit: NtpTimestamp,
}

/// Checks a server reply to the request whose transmit timestamp was `sent` and returns its
/// timestamps. Rejects short packets, wrong mode or version, kiss-o'-death, unsynchronised
/// servers, zero timestamps and replies to another request.
pub fn parse_reply(bytes: &[u8], sent: NtpTimestamp) -> Result<Reply, SntpError> {
    let p: &[u8; PACKET_LEN] = bytes
        .get(..PACKET_LEN)
        .and_then(|b| b.try_into().ok())
        .ok_or(SntpError::TooShort { len: bytes.len() })?;
    let leap = p[0] >> 6;
    let version = (p[0] >> 3) & 0x7;
    let mode = p[0] & 0x7;
    let stratum = p[1];
    if mode != MODE_SERVER {
        return Err(SntpError::WrongMode { mode });
    }
    if !(1..=4).contains(&version) {
        return Err(SntpError::BadVersion { version });
    }
    if stratum == 0 {
        let mut code = [0u8; 4];
        code.copy_from_slice(&p[12..16]);
        return Err(SntpError::KissOfDeath { code });
    }
    if stratum >= 16 || leap == LEAP_ALARM {
        return Err(SntpError::Unsynchronised { stratum, leap });
    }
    let originate = NtpTimestamp::read(p, 24);
    let receive = NtpTimestamp::read(p, 32);
    let transmit = NtpTimestamp::read(p, 40);
    if transmit.is_zero() || receive.is_zero() {
        return Err(SntpError::ZeroTimestamp);
    }
    if originate != sent {
        return Err(SntpError::OriginMismatch {
            expected: sent.0,
            got: originate.0,
        });
    }
    Ok(Reply {
        stratum,
        leap,
        receive,
        transmit,
    })
}

/// Offset and delay of one exchange, µs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Measurement {
    /// What to add to the local clock to get the server's: ((t2 − t1) + (t3 − t4)) / 2.
    pub offset_us: i64,
    /// Round-trip delay: (t4 − t1) − (t3 − t2).
    pub delay_us: i64,
}

/// Offset and delay from the four timestamps (µs): t1 request sent (local), t2 request
/// received (server), t3 reply sent (server), t4 reply received (local).
pub fn measure(t1: i64, t2: i64, t3: i64, t4: i64) -> Measurement {
    // Halve each difference separately so the sum cannot overflow for any clock pair within
    // ±146 000 years; i128 keeps the exact value anyway.
    let sum = (t2 as i128 - t1 as i128) + (t3 as i128 - t4 as i128);
    let offset = sum.div_euclid(2);
    let delay = (t4 as i128 - t1 as i128) - (t3 as i128 - t2 as i128);
    Measurement {
        offset_us: clamp_i64(offset),
        delay_us: clamp_i64(delay),
    }
}

fn clamp_i64(v: i128) -> i64 {
    v.clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-01-01T00:00:00Z in µs.
    const T2026: i64 = 1_767_225_600_000_000;

    /// A server reply as RFC 4330 lays it out.
    fn reply(
        leap: u8,
        mode: u8,
        stratum: u8,
        originate: NtpTimestamp,
        t2: NtpTimestamp,
        t3: NtpTimestamp,
    ) -> [u8; PACKET_LEN] {
        let mut p = [0u8; PACKET_LEN];
        p[0] = (leap << 6) | (4 << 3) | mode;
        p[1] = stratum;
        p[2] = 6; // poll
        p[3] = 0xEC; // precision -20
        p[12..16].copy_from_slice(b"GPS\0");
        p[16..24].copy_from_slice(&t3.0.to_be_bytes()); // reference
        p[24..32].copy_from_slice(&originate.0.to_be_bytes());
        p[32..40].copy_from_slice(&t2.0.to_be_bytes());
        p[40..48].copy_from_slice(&t3.0.to_be_bytes());
        p
    }

    #[test]
    fn request_is_mode_3_version_4_with_transmit_time() {
        // given a local clock reading; when a request is built; then mode 3, version 4 and
        // the transmit field carries the timestamp, everything else zero.
        let t1 = NtpTimestamp::from_utc_us(T2026);
        let p = build_request(t1);
        assert_eq!(p[0], 0x23);
        assert_eq!(&p[40..48], &t1.0.to_be_bytes());
        assert!(p[1..40].iter().all(|&b| b == 0));
    }

    #[test]
    fn timestamp_round_trips_to_the_microsecond_in_both_eras() {
        for utc in [
            0,
            T2026,
            T2026 + 123_456,
            2_085_978_495_999_999, // 2036-02-07T06:28:15.999999Z, last of era 0
            2_085_978_496_000_000, // first second of era 1
            2_085_978_496_000_001 + 10 * 365 * 86_400 * 1_000_000,
        ] {
            assert_eq!(NtpTimestamp::from_utc_us(utc).to_utc_us(), utc, "{utc}");
        }
    }

    #[test]
    fn known_timestamp_matches_rfc_epoch() {
        // 1970-01-01 is 2 208 988 800 s after 1900-01-01.
        assert_eq!(NtpTimestamp::from_utc_us(0).0, 2_208_988_800u64 << 32);
        // half a second is fraction 2^31.
        assert_eq!(NtpTimestamp::from_utc_us(500_000).0 & 0xFFFF_FFFF, 1 << 31);
        // era 1 starts at NTP seconds 0.
        assert_eq!(NtpTimestamp::from_utc_us(2_085_978_496_000_000).0, 0);
    }

    #[test]
    fn good_reply_yields_offset_and_delay() {
        // given t1..t4 with the server 1.5 s ahead and 20 ms each way (2 ms in the server)
        let t1 = T2026;
        let t2 = T2026 + 1_500_000 + 20_000;
        let t3 = t2 + 2_000;
        let t4 = t1 + 42_000;
        let sent = NtpTimestamp::from_utc_us(t1);
        let p = reply(
            0,
            4,
            2,
            sent,
            NtpTimestamp::from_utc_us(t2),
            NtpTimestamp::from_utc_us(t3),
        );
        // when parsed and measured
        let r = parse_reply(&p, sent).expect("valid reply");
        let m = measure(t1, r.receive.to_utc_us(), r.transmit.to_utc_us(), t4);
        // then offset 1.5 s, delay 40 ms
        assert_eq!(r.stratum, 2);
        assert_eq!(m.offset_us, 1_500_000);
        assert_eq!(m.delay_us, 40_000);
    }

    #[test]
    fn offset_formula_matches_rfc_for_negative_offsets() {
        let m = measure(1_000, 500, 600, 1_300);
        assert_eq!(m.offset_us, ((500 - 1_000) + (600 - 1_300)) / 2);
        assert_eq!(m.delay_us, (1_300 - 1_000) - (600 - 500));
    }

    fn good_parts() -> (NtpTimestamp, NtpTimestamp, NtpTimestamp) {
        (
            NtpTimestamp::from_utc_us(T2026),
            NtpTimestamp::from_utc_us(T2026 + 10),
            NtpTimestamp::from_utc_us(T2026 + 20),
        )
    }

    #[test]
    fn wrong_mode_is_rejected() {
        let (s, t2, t3) = good_parts();
        // a client packet echoed back, and a broadcast
        for mode in [3, 5] {
            let p = reply(0, mode, 2, s, t2, t3);
            assert_eq!(parse_reply(&p, s), Err(SntpError::WrongMode { mode }));
        }
    }

    #[test]
    fn zero_transmit_time_is_rejected() {
        let (s, t2, _) = good_parts();
        let p = reply(0, 4, 2, s, t2, NtpTimestamp(0));
        assert_eq!(parse_reply(&p, s), Err(SntpError::ZeroTimestamp));
    }

    #[test]
    fn kiss_o_death_is_rejected_with_its_code() {
        let (s, t2, t3) = good_parts();
        let mut p = reply(0, 4, 0, s, t2, t3);
        p[12..16].copy_from_slice(b"RATE");
        assert_eq!(
            parse_reply(&p, s),
            Err(SntpError::KissOfDeath { code: *b"RATE" })
        );
    }

    #[test]
    fn stratum_16_and_leap_alarm_are_rejected() {
        let (s, t2, t3) = good_parts();
        let p = reply(0, 4, 16, s, t2, t3);
        assert_eq!(
            parse_reply(&p, s),
            Err(SntpError::Unsynchronised {
                stratum: 16,
                leap: 0
            })
        );
        let p = reply(3, 4, 2, s, t2, t3);
        assert_eq!(
            parse_reply(&p, s),
            Err(SntpError::Unsynchronised {
                stratum: 2,
                leap: 3
            })
        );
    }

    #[test]
    fn origin_mismatch_is_rejected() {
        let (s, t2, t3) = good_parts();
        let p = reply(0, 4, 2, NtpTimestamp(s.0 + 1), t2, t3);
        assert_eq!(
            parse_reply(&p, s),
            Err(SntpError::OriginMismatch {
                expected: s.0,
                got: s.0 + 1
            })
        );
    }

    #[test]
    fn short_packet_is_rejected() {
        let (s, t2, t3) = good_parts();
        let p = reply(0, 4, 2, s, t2, t3);
        assert_eq!(
            parse_reply(&p[..47], s),
            Err(SntpError::TooShort { len: 47 })
        );
        // extension fields after 48 bytes are ignored
        let mut long = [0u8; 68];
        long[..48].copy_from_slice(&p);
        assert!(parse_reply(&long, s).is_ok());
    }

    #[test]
    fn bad_version_is_rejected() {
        let (s, t2, t3) = good_parts();
        let mut p = reply(0, 4, 2, s, t2, t3);
        p[0] = (7 << 3) | 4;
        assert_eq!(
            parse_reply(&p, s),
            Err(SntpError::BadVersion { version: 7 })
        );
    }
}
