//! Property-style tests driven by a seeded PRNG (deterministic, fast): round trips, chunking,
//! error detection, garbage, bounds.

#![allow(clippy::unwrap_used)] // tests fail by panicking

mod common;

use common::*;
use vigil_wire::*;

fn outcome(ds: &[Decoded]) -> Vec<String> {
    ds.iter()
        .map(|d| match d {
            Decoded::Packet(p) => format!("{p:?}"),
            Decoded::Rejected(r) => format!("reject {r:?}"),
        })
        .collect()
}

#[test]
fn random_packets_round_trip_through_body_and_frame() {
    let mut rng = Rng::new(11);
    let mut body = [0u8; MAX_BODY_LEN];
    for _ in 0..5_000 {
        let p = random_packet(&mut rng);
        let n = encode_body(&p, &mut body).unwrap();
        assert_eq!(decode_body(&body[..n]).unwrap(), p);
        let f = frame(&p);
        assert!(f.len() <= MAX_FRAME_LEN);
        assert_eq!(
            f.iter().filter(|b| **b == 0).count(),
            1,
            "one delimiter, at the end"
        );
        assert_eq!(f.last(), Some(&0));
        let mut scratch = [0u8; MAX_ENCODED_LEN];
        assert_eq!(decode_frame(&f[..f.len() - 1], &mut scratch).unwrap(), p);
        let (out, dec) = decode_all(&f);
        assert_eq!(out, vec![Decoded::Packet(p)]);
        assert_eq!(dec.counts().accepted, 1);
        assert_eq!(dec.counts().total_rejected(), 0);
    }
}

#[test]
fn any_chunking_gives_the_same_result() {
    let mut rng = Rng::new(12);
    for _ in 0..200 {
        let mut stream = Vec::new();
        for _ in 0..1 + rng.below(8) {
            match rng.below(3) {
                0 => {
                    for _ in 0..rng.below(40) {
                        stream.push(if rng.below(8) == 0 { 0 } else { rng.byte() });
                    }
                }
                _ => stream.extend(frame(&random_packet(&mut rng))),
            }
        }
        stream.push(0);
        let (whole, _) = decode_all(&stream);
        let mut dec = FrameDecoder::<MAX_ENCODED_LEN>::new();
        let mut pieces = Vec::new();
        let mut rest: &[u8] = &stream;
        while !rest.is_empty() {
            let take = (rng.below(64) as usize).min(rest.len());
            let (a, b) = rest.split_at(take);
            // `feed` returns after one result: drain each piece through it by hand.
            let mut piece = a;
            loop {
                let (d, r) = dec.feed(piece);
                if let Some(d) = d {
                    pieces.push(d);
                }
                if r.is_empty() {
                    break;
                }
                piece = r;
            }
            rest = b;
        }
        assert_eq!(outcome(&pieces), outcome(&whole));
    }
}

/// Every single-bit flip, every single-byte deletion and every truncation of every sample
/// frame is rejected (exhaustive, so deterministic).
#[test]
fn every_single_bit_flip_deletion_and_truncation_of_the_samples_is_rejected() {
    for p in sample_packets() {
        let f = frame(&p);
        let body = &f[..f.len() - 1];
        let check = |bytes: &[u8], what: &str| {
            let mut s = bytes.to_vec();
            s.push(0);
            let (out, dec) = decode_all(&s);
            assert_eq!(
                dec.counts().accepted,
                0,
                "{:?}: {what} accepted",
                p.message.kind()
            );
            assert!(!out.is_empty() || bytes.is_empty());
        };
        for i in 0..body.len() {
            for bit in 0..8 {
                let mut c = body.to_vec();
                c[i] ^= 1 << bit;
                check(&c, &format!("flip byte {i} bit {bit}"));
            }
            let mut d = body.to_vec();
            d.remove(i);
            check(&d, &format!("delete byte {i}"));
            check(&body[..i], &format!("truncate at {i}"));
        }
    }
}

#[test]
fn garbage_never_panics_and_every_segment_is_counted() {
    let mut rng = Rng::new(13);
    for density in [2u64, 16, 256, 5_000] {
        let mut dec = FrameDecoder::<MAX_ENCODED_LEN>::new();
        let mut segments = 0u64;
        let mut current = 0usize;
        for _ in 0..200_000 {
            let b = if rng.below(density) == 0 {
                0
            } else {
                rng.byte() | 1
            };
            if b == 0 {
                if current > 0 {
                    segments += 1;
                }
                current = 0;
            } else {
                current += 1;
            }
            dec.push_byte(b);
        }
        dec.push_byte(0);
        if current > 0 {
            segments += 1;
        }
        let c = dec.counts();
        assert_eq!(
            c.accepted + c.total_rejected(),
            segments,
            "density {density}"
        );
        assert_eq!(dec.pending(), 0);
        if density == 5_000 {
            assert!(c.get(RejectReason::TooLong) > 0);
        }
    }
}

/// Bodies with a valid CRC but random or mutated content: never a panic, never a frame-level
/// reason (the CRC passed), and anything accepted re-encodes to a body that decodes the same.
#[test]
fn crc_valid_random_and_mutated_bodies_are_judged_by_the_body_decoder() {
    let mut rng = Rng::new(14);
    let mut out = vec![0u8; MAX_FRAME_LEN];
    let mut body = [0u8; MAX_BODY_LEN];
    let mut accepted = 0;
    let mut seen = std::collections::BTreeSet::new();
    for i in 0..20_000 {
        let p = random_packet(&mut rng);
        let n = encode_body(&p, &mut body).unwrap();
        let mut b = body[..n].to_vec();
        if i % 4 == 0 {
            let len = 1 + rng.below(64) as usize;
            b = (0..len).map(|_| rng.byte()).collect();
            // Often start like a body so the decoder gets past the header.
            if rng.bool() {
                b.splice(
                    0..0,
                    [0x96, 0x01, 0x01, 0x01, 0x01, 1 + rng.below(60) as u8],
                );
            }
        } else {
            for _ in 0..1 + rng.below(3) {
                let at = rng.below(b.len() as u64) as usize;
                b[at] = rng.byte();
            }
        }
        let len = encode_raw_frame(&b, &mut out).unwrap();
        let (res, _) = decode_all(&out[..len]);
        assert_eq!(res.len(), 1);
        match &res[0] {
            Decoded::Packet(q) => {
                accepted += 1;
                let m = encode_body(q, &mut body).unwrap();
                assert_eq!(&decode_body(&body[..m]).unwrap(), q);
            }
            Decoded::Rejected(r) => {
                let reason = r.reason();
                assert!(
                    !matches!(
                        reason,
                        RejectReason::Cobs | RejectReason::Crc | RejectReason::Short
                    ),
                    "{reason:?}"
                );
                seen.insert(reason);
            }
        }
    }
    assert!(accepted > 0);
    for r in [
        RejectReason::MsgPack,
        RejectReason::Version,
        RejectReason::UnknownKind,
        RejectReason::Payload,
    ] {
        assert!(seen.contains(&r), "{r:?} never produced");
    }
}

#[test]
fn the_largest_messages_fit_the_limits() {
    let h = hdr(u32::MAX, u32::MAX, u32::MAX);
    let frame_msg = ThermalFrame {
        frame: u32::MAX,
        centi_c: [i16::MIN; THERMAL_PIXELS],
    };
    let mut windows = heapless::Vec::new();
    for i in 0..MAX_WINDOWS as i64 {
        windows
            .push(Window {
                start_us: i64::MIN + 2 * i,
                end_us: i64::MIN + 2 * i + 1,
            })
            .unwrap();
    }
    for p in [
        Packet::new(h, frame_msg),
        Packet::new(
            h,
            Windows {
                digest: [0xFF; 32],
                windows,
            },
        ),
    ] {
        let mut body = [0u8; MAX_BODY_LEN];
        let n = encode_body(&p, &mut body).unwrap();
        assert!(n <= MAX_BODY_LEN);
        let f = frame(&p);
        assert!(f.len() <= MAX_FRAME_LEN, "{} > {MAX_FRAME_LEN}", f.len());
        assert_eq!(decode_all(&f).0, vec![Decoded::Packet(p)]);
    }
}

#[test]
fn too_small_buffers_give_an_error_never_a_panic() {
    for p in sample_packets() {
        let need = frame(&p).len();
        for size in 0..need {
            let mut out = vec![0u8; size];
            assert_eq!(
                encode_frame(&p, &mut out),
                Err(EncodeError::BufferTooSmall),
                "size {size}"
            );
        }
        let mut body = [0u8; MAX_BODY_LEN];
        let n = encode_body(&p, &mut body).unwrap();
        for size in 0..n {
            let mut out = vec![0u8; size];
            assert_eq!(encode_body(&p, &mut out), Err(EncodeError::BufferTooSmall));
        }
    }
}

#[test]
fn invalid_messages_are_not_encoded() {
    let h = hdr(1, 1, 1);
    let mut windows = heapless::Vec::new();
    windows
        .push(Window {
            start_us: 10,
            end_us: 20,
        })
        .unwrap();
    windows
        .push(Window {
            start_us: 15,
            end_us: 30,
        })
        .unwrap();
    let overlapping = Packet::new(
        h,
        Windows {
            digest: [0; 32],
            windows,
        },
    );
    let empty_window = {
        let mut w = heapless::Vec::new();
        w.push(Window {
            start_us: 10,
            end_us: 10,
        })
        .unwrap();
        Packet::new(
            h,
            Windows {
                digest: [0; 32],
                windows: w,
            },
        )
    };
    let confident = Packet::new(
        h,
        Detection {
            frame: 1,
            class: ThermalClass::Object,
            confidence_permille: 1001,
            person_present: false,
            latency_us: 1,
        },
    );
    let no_hysteresis = Packet::new(
        h,
        Message::PicoConfig(PicoConfig {
            hysteresis_frames: 0,
            ..PicoConfig::default()
        }),
    );
    let mut out = [0u8; MAX_FRAME_LEN];
    for p in [overlapping, empty_window, confident, no_hysteresis] {
        assert_eq!(
            encode_frame(&p, &mut out),
            Err(EncodeError::Invalid(p.message.kind()))
        );
    }
}

#[test]
fn a_future_version_is_rejected_as_version_whatever_its_layout() {
    let mut out = [0u8; MAX_FRAME_LEN];
    for body in [
        &[0x93u8, 0x02, 0xC0, 0xC0][..],
        &[0x91, 0x07],
        &[0x9F, 0xCC, 0xFF],
    ] {
        let n = encode_raw_frame(body, &mut out).unwrap();
        let (res, _) = decode_all(&out[..n]);
        assert!(
            matches!(res[..], [Decoded::Rejected(Reject::Version(_))]),
            "{res:?}"
        );
    }
}

#[test]
fn non_canonical_integer_widths_are_accepted() {
    // [1, 1, 1, 1, 2, [5]] with every integer as uint32 / int64.
    let body = [
        0x96, 0xCE, 0, 0, 0, 1, 0xCE, 0, 0, 0, 1, 0xCE, 0, 0, 0, 1, 0xCE, 0, 0, 0, 1, 0xD3, 0, 0,
        0, 0, 0, 0, 0, 2, 0x91, 0xD3, 0, 0, 0, 0, 0, 0, 0, 5,
    ];
    let p = decode_body(&body).unwrap();
    assert_eq!(p, Packet::new(hdr(1, 1, 1), Heartbeat { pi_utc_us: 5 }));
}

#[test]
fn a_small_decoder_rejects_big_frames_as_too_long_and_keeps_going() {
    let samples = sample_packets();
    let thermal = samples
        .iter()
        .find(|p| p.message.kind() == Kind::ThermalFrame)
        .unwrap();
    let hb = &samples[1];
    let mut stream = frame(thermal);
    stream.extend(frame(hb));
    let mut dec = FrameDecoder::<64>::new();
    let mut out = Vec::new();
    dec.feed_all(&stream, |d| out.push(d));
    assert!(matches!(out[0], Decoded::Rejected(Reject::TooLong { .. })));
    assert_eq!(out[1], Decoded::Packet(hb.clone()));
    assert_eq!(out.len(), 2);
}

#[test]
fn unknown_power_reasons_survive_as_other() {
    let p = Packet::new(
        hdr(1, 2, 3),
        PowerSwitched {
            at: BoardTime {
                utc_us: 1,
                synced: false,
            },
            on: false,
            reason: PowerReason::from_u8(200),
        },
    );
    assert_eq!(decode_all(&frame(&p)).0, vec![Decoded::Packet(p)]);
    for n in 0..=255u8 {
        assert_eq!(PowerReason::from_u8(n).as_u8(), n);
    }
}

#[test]
fn kind_numbers_are_stable() {
    // Append-only: these numbers are on the wire; never change one.
    let expected: [(Kind, u8); 19] = [
        (Kind::Hello, 1),
        (Kind::Heartbeat, 2),
        (Kind::TimeRequest, 3),
        (Kind::TimeReply, 4),
        (Kind::EventAck, 5),
        (Kind::Windows, 16),
        (Kind::WindowsAck, 17),
        (Kind::HaltNotice, 18),
        (Kind::HaltConfirm, 19),
        (Kind::PowerStatus, 20),
        (Kind::PowerSwitched, 32),
        (Kind::WatchdogTripped, 33),
        (Kind::OverrideChanged, 34),
        (Kind::SntpSynced, 35),
        (Kind::EventsDropped, 36),
        (Kind::ThermalFrame, 48),
        (Kind::Detection, 49),
        (Kind::PicoConfig, 50),
        (Kind::PicoConfigAck, 51),
    ];
    assert_eq!(Kind::ALL.len(), expected.len());
    for (k, n) in expected {
        assert_eq!(k.as_u8(), n);
        assert_eq!(Kind::from_u8(n), Some(k));
    }
    assert_eq!(PROTOCOL_VERSION, 1);
}

#[test]
fn crc_is_the_zlib_crc32() {
    assert_eq!(FRAME_CRC.checksum(b"123456789"), 0xCBF4_3926);
}
