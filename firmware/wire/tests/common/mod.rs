//! Shared test helpers: a seeded PRNG, one fixed sample packet per kind, random packets.
#![allow(dead_code)]
#![allow(clippy::unwrap_used)] // tests fail by panicking

use vigil_wire::*;

/// SplitMix64: tiny, seeded, good enough to drive property tests deterministically.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        vigil_simworld::splitmix64(&mut self.0)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }
    pub fn bool(&mut self) -> bool {
        self.next_u64() & 1 == 1
    }
    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    pub fn byte(&mut self) -> u8 {
        self.next_u64() as u8
    }
    /// An integer of random magnitude (small values and extremes are frequent).
    pub fn i64(&mut self) -> i64 {
        match self.below(6) {
            0 => self.below(128) as i64,
            1 => -(self.below(40) as i64),
            2 => i64::MAX - self.below(3) as i64,
            3 => i64::MIN + self.below(3) as i64,
            4 => 1_700_000_000_000_000 + self.below(1 << 40) as i64,
            _ => self.next_u64() as i64,
        }
    }
    pub fn u64(&mut self) -> u64 {
        match self.below(4) {
            0 => self.below(256),
            1 => u64::MAX - self.below(3),
            2 => self.below(1 << 33),
            _ => self.next_u64(),
        }
    }
    pub fn u32(&mut self) -> u32 {
        self.u64() as u32
    }
    pub fn digest(&mut self) -> Digest {
        let mut d = [0u8; 32];
        for b in &mut d {
            *b = self.byte();
        }
        d
    }
}

pub fn hdr(device: u32, boot: u32, seq: u32) -> Header {
    Header { device, boot, seq }
}

fn t(utc_us: i64, synced: bool) -> BoardTime {
    BoardTime { utc_us, synced }
}

/// 2025-06-01T06:00:00Z in µs.
pub const T0: i64 = 1_748_757_600_000_000;

/// One fixed sample packet per kind, in kind order (the test vectors).
pub fn sample_packets() -> Vec<Packet> {
    let esp = |seq| hdr(0xE5_0001, 7, seq);
    let pi = |seq| hdr(0xE5_0001, 42, seq);
    let pico = |seq| hdr(0x91C0_0002, 3, seq);
    let pi_pico = |seq| hdr(0x91C0_0002, 42, seq);
    let mut windows = heapless::Vec::new();
    for day in 0..3i64 {
        let start = T0 + day * 86_400_000_000;
        windows
            .push(Window {
                start_us: start,
                end_us: start + 2 * 3_600_000_000,
            })
            .unwrap();
    }
    let digest: Digest = core::array::from_fn(|i| i as u8 * 7 + 1);
    let mut centi_c = [0i16; THERMAL_PIXELS];
    for (i, v) in centi_c.iter_mut().enumerate() {
        let (r, c) = ((i / THERMAL_COLS) as i16, (i % THERMAL_COLS) as i16);
        *v = 2150 + r * 10 - c * 3
            + if (10..14).contains(&r) && (12..18).contains(&c) {
                1200
            } else {
                0
            };
    }
    centi_c[0] = -4000;
    centi_c[767] = 30000;
    vec![
        Packet::new(
            esp(1),
            Hello {
                role: BoardRole::Power,
                protocol: PROTOCOL_VERSION,
                firmware: FirmwareVersion {
                    major: 0,
                    minor: 1,
                    patch: 0,
                },
                time: t(T0 + 123_456, true),
                uptime_ms: 5_321,
            },
        ),
        Packet::new(
            pi(1),
            Heartbeat {
                pi_utc_us: T0 + 1_000_000,
            },
        ),
        Packet::new(
            pi(2),
            TimeRequest {
                t1_us: T0 + 2_000_000,
            },
        ),
        Packet::new(
            esp(2),
            TimeReply {
                t1_us: T0 + 2_000_000,
                t2_us: T0 + 2_004_100,
                t3_us: T0 + 2_004_350,
                synced: true,
                sntp_offset_us: Some(-1_250),
            },
        ),
        Packet::new(pi(3), EventAck { boot: 7, seq: 12 }),
        Packet::new(pi(4), Windows { digest, windows }),
        Packet::new(esp(3), WindowsAck { digest, count: 3 }),
        Packet::new(
            esp(4),
            HaltNotice {
                window_start_us: T0,
                window_end_us: T0 + 7_200_000_000,
                deadline_us: T0 + 7_200_000_000 + 300_000_000,
            },
        ),
        Packet::new(
            pi(5),
            HaltConfirm {
                window_end_us: T0 + 7_200_000_000,
            },
        ),
        Packet::new(
            esp(5),
            PowerStatus {
                relay_on: true,
                override_active: false,
                windows_count: 3,
                windows_digest: digest,
                pending_events: 2,
                rx_rejects: 1,
            },
        ),
        Packet::new(
            esp(6),
            PowerSwitched {
                at: t(T0, true),
                on: true,
                reason: PowerReason::WindowStart,
            },
        ),
        Packet::new(
            esp(7),
            WatchdogTripped {
                at: t(T0 + 600_000_000, true),
                silent_ms: 65_000,
            },
        ),
        Packet::new(
            esp(8),
            OverrideChanged {
                at: t(5_000_000, false),
                active: true,
            },
        ),
        Packet::new(
            esp(9),
            SntpSynced {
                at: t(T0 - 10_000_000, true),
                offset_us: 1_748_757_589_000_000,
                delay_us: 23_456,
                stratum: 2,
            },
        ),
        Packet::new(
            esp(10),
            EventsDropped {
                at: t(T0 + 3_600_000_000, true),
                count: 17,
            },
        ),
        Packet::new(
            pico(1),
            ThermalFrame {
                frame: 1234,
                centi_c,
            },
        ),
        Packet::new(
            pico(2),
            Detection {
                frame: 1234,
                class: ThermalClass::Person,
                confidence_permille: 947,
                person_present: true,
                latency_us: 11_800,
            },
        ),
        Packet::new(
            pi_pico(1),
            Message::PicoConfig(PicoConfig {
                threshold_permille: 900,
                hysteresis_frames: 3,
                frame_mode: FrameMode::OnChange,
            }),
        ),
        Packet::new(
            pico(3),
            Message::PicoConfigAck(PicoConfig {
                threshold_permille: 900,
                hysteresis_frames: 3,
                frame_mode: FrameMode::OnChange,
            }),
        ),
    ]
}

/// A random valid packet of a random kind.
pub fn random_packet(rng: &mut Rng) -> Packet {
    let header = hdr(rng.u32(), rng.u32(), rng.u32());
    let kind = Kind::ALL[rng.below(Kind::ALL.len() as u64) as usize];
    let bt = |rng: &mut Rng| BoardTime {
        utc_us: rng.i64(),
        synced: rng.bool(),
    };
    let cfg = |rng: &mut Rng| PicoConfig {
        threshold_permille: rng.below(1001) as u16,
        hysteresis_frames: 1 + rng.below(255) as u8,
        frame_mode: FrameMode::from_u8(rng.below(3) as u8).unwrap(),
    };
    let message: Message = match kind {
        Kind::Hello => Hello {
            role: BoardRole::from_u8(1 + rng.below(2) as u8).unwrap(),
            protocol: rng.byte(),
            firmware: FirmwareVersion {
                major: rng.byte(),
                minor: rng.byte(),
                patch: rng.byte(),
            },
            time: bt(rng),
            uptime_ms: rng.u64(),
        }
        .into(),
        Kind::Heartbeat => Heartbeat {
            pi_utc_us: rng.i64(),
        }
        .into(),
        Kind::TimeRequest => TimeRequest { t1_us: rng.i64() }.into(),
        Kind::TimeReply => TimeReply {
            t1_us: rng.i64(),
            t2_us: rng.i64(),
            t3_us: rng.i64(),
            synced: rng.bool(),
            sntp_offset_us: if rng.bool() { Some(rng.i64()) } else { None },
        }
        .into(),
        Kind::EventAck => EventAck {
            boot: rng.u32(),
            seq: rng.u32(),
        }
        .into(),
        Kind::Windows => {
            let n = rng.below(MAX_WINDOWS as u64 + 1);
            let mut at = rng.i64() / 4 - (1 << 60);
            let mut windows = heapless::Vec::new();
            for _ in 0..n {
                let start = at + rng.below(1 << 40) as i64;
                let end = start + 1 + rng.below(1 << 38) as i64;
                windows
                    .push(Window {
                        start_us: start,
                        end_us: end,
                    })
                    .unwrap();
                at = end;
            }
            Windows {
                digest: rng.digest(),
                windows,
            }
            .into()
        }
        Kind::WindowsAck => WindowsAck {
            digest: rng.digest(),
            count: rng.byte(),
        }
        .into(),
        Kind::HaltNotice => HaltNotice {
            window_start_us: rng.i64(),
            window_end_us: rng.i64(),
            deadline_us: rng.i64(),
        }
        .into(),
        Kind::HaltConfirm => HaltConfirm {
            window_end_us: rng.i64(),
        }
        .into(),
        Kind::PowerStatus => PowerStatus {
            relay_on: rng.bool(),
            override_active: rng.bool(),
            windows_count: rng.byte(),
            windows_digest: rng.digest(),
            pending_events: rng.u32(),
            rx_rejects: rng.u32(),
        }
        .into(),
        Kind::PowerSwitched => PowerSwitched {
            at: bt(rng),
            on: rng.bool(),
            reason: PowerReason::from_u8(rng.byte()),
        }
        .into(),
        Kind::WatchdogTripped => WatchdogTripped {
            at: bt(rng),
            silent_ms: rng.u64(),
        }
        .into(),
        Kind::OverrideChanged => OverrideChanged {
            at: bt(rng),
            active: rng.bool(),
        }
        .into(),
        Kind::SntpSynced => SntpSynced {
            at: bt(rng),
            offset_us: rng.i64(),
            delay_us: rng.i64(),
            stratum: rng.byte(),
        }
        .into(),
        Kind::EventsDropped => EventsDropped {
            at: bt(rng),
            count: rng.u32(),
        }
        .into(),
        Kind::ThermalFrame => {
            let mut centi_c = [0i16; THERMAL_PIXELS];
            for v in &mut centi_c {
                *v = rng.next_u64() as i16;
            }
            ThermalFrame {
                frame: rng.u32(),
                centi_c,
            }
            .into()
        }
        Kind::Detection => Detection {
            frame: rng.u32(),
            class: ThermalClass::from_u8(1 + rng.below(3) as u8).unwrap(),
            confidence_permille: rng.below(1001) as u16,
            person_present: rng.bool(),
            latency_us: rng.u32(),
        }
        .into(),
        Kind::PicoConfig => Message::PicoConfig(cfg(rng)),
        Kind::PicoConfigAck => Message::PicoConfigAck(cfg(rng)),
    };
    Packet { header, message }
}

/// The complete frame of `p`.
pub fn frame(p: &Packet) -> Vec<u8> {
    let mut out = vec![0u8; MAX_FRAME_LEN];
    let n = encode_frame(p, &mut out).expect("sample packets encode");
    out.truncate(n);
    out
}

/// Feeds `bytes` through a fresh decoder in one piece; returns what came out and the decoder.
pub fn decode_all(bytes: &[u8]) -> (Vec<Decoded>, FrameDecoder) {
    let mut d = FrameDecoder::<MAX_ENCODED_LEN>::new();
    let mut out = Vec::new();
    d.feed_all(bytes, |x| out.push(x));
    (out, d)
}
