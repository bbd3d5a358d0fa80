//! The SNTP server the board asks for time: replies get lost, the network goes down, round
//! trips take time, and now and then the server's clock jumps for one reply.

use vigil_esp32_power::sntp::{NtpTimestamp, PACKET_LEN};

use crate::time::utc;
use crate::Rng;

/// A reply to `request` from a server whose clock reads `server_utc` (no network delay).
pub fn reply(request: &[u8; PACKET_LEN], server_utc: i64) -> [u8; PACKET_LEN] {
    let ts = NtpTimestamp::from_utc_us(server_utc).0.to_be_bytes();
    let mut p = [0u8; PACKET_LEN];
    p[0] = (4 << 3) | 4;
    p[1] = 2;
    p[24..32].copy_from_slice(&request[40..48]);
    p[32..40].copy_from_slice(&ts);
    p[40..48].copy_from_slice(&ts);
    p
}

/// How long a request and its reply take, µs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rtt {
    /// Always this long.
    Fixed(u64),
    /// Uniform between these many milliseconds (inclusive), drawn per request.
    RandomMs(u64, u64),
}

/// The server.
#[derive(Debug, Clone)]
pub struct SntpServer {
    /// Whether the network reaches the server.
    pub net_up: bool,
    /// The round trip.
    pub rtt: Rtt,
    /// Replies with a wrong clock (a minute to a day off) so far.
    pub jumps: u64,
}

impl SntpServer {
    /// A reachable server with the given round trip.
    pub fn new(rtt: Rtt) -> Self {
        SntpServer {
            net_up: true,
            rtt,
            jumps: 0,
        }
    }

    /// The answer to `request` sent at simulation time `t`: the reply and how long after the
    /// request it arrives; `None` when the network is down or the reply is lost (5 %).
    pub fn answer(
        &mut self,
        rng: &mut Rng,
        t: u64,
        request: &[u8; PACKET_LEN],
    ) -> Option<([u8; PACKET_LEN], u64)> {
        if !self.net_up || rng.chance(0.05) {
            return None;
        }
        let rtt = match self.rtt {
            Rtt::Fixed(us) => us,
            Rtt::RandomMs(lo, hi) => rng.range(lo, hi) * 1_000,
        };
        let mut server = utc(t) + (rtt / 2) as i64;
        if rng.chance(0.005) {
            // a server clock jump: one reply wrong by a minute to a day
            self.jumps += 1;
            let off = rng.range(60, 86_400) as i64 * 1_000_000;
            server += if rng.chance(0.5) { off } else { -off };
        }
        Some((reply(request, server), rtt))
    }
}
