//! Serial noise: frames through a channel that flips bits, drops bytes and inserts bytes, each
//! at a rate of 1e-3 per byte. Properties, checked with exact counts on a seeded run:
//! - no corrupted frame is ever accepted (every accepted packet equals the one sent with its
//!   seq);
//! - the decoder is back in sync by the next intact frame: every frame that the channel left
//!   alone (its bytes and the delimiter before it) is accepted;
//! - a damaged frame is accepted only when the damage was a `0x00` inserted right next to a
//!   delimiter (an empty frame, which changes nothing).
//!
//! CRC-32 makes accepting a corrupted frame astronomically unlikely, not impossible: with a
//! fixed seed the run is deterministic, so this test either always passes or always fails.
//! `VIGIL_LONG_TESTS=1` runs ten times as many frames.

#![allow(clippy::unwrap_used)] // tests fail by panicking

mod common;

use common::*;
use vigil_wire::*;

const RATE: f64 = 1e-3;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Error {
    /// A bit of the byte at this position flipped.
    Flip,
    /// The byte at this position was lost.
    Drop,
    /// A byte (value given) arrived before the byte at this position.
    Insert(u8),
}

struct Run {
    frames: usize,
    damaged: usize,
    benign: usize,
    accepted: usize,
    corrupted_accepted: usize,
    resync_misses: usize,
    counts: RejectCounts,
    errors: usize,
}

fn run(seed: u64, n_frames: usize) -> Run {
    let mut rng = Rng::new(seed);
    // The transmitted stream: a leading delimiter, then the frames.
    let mut sent = Vec::with_capacity(n_frames);
    let mut stream = vec![0u8];
    // Frame i occupies stream[starts[i]..ends[i]], its delimiter at ends[i] - 1.
    let mut starts = Vec::new();
    let mut ends = Vec::new();
    for i in 0..n_frames {
        let mut p = random_packet(&mut rng);
        // Keep thermal frames to about 5 % so the stream is a realistic mix.
        while p.message.kind() == Kind::ThermalFrame && rng.below(10) != 0 {
            p = random_packet(&mut rng);
        }
        p.header.seq = i as u32;
        starts.push(stream.len());
        stream.extend_from_slice(&frame(&p));
        ends.push(stream.len());
        sent.push(p);
    }

    // The channel: errors per position.
    let mut received = Vec::with_capacity(stream.len() + stream.len() / 100);
    let mut errors: Vec<(usize, Error)> = Vec::new();
    for (pos, &b) in stream.iter().enumerate() {
        if rng.chance(RATE) {
            let v = rng.byte();
            errors.push((pos, Error::Insert(v)));
            received.push(v);
        }
        if rng.chance(RATE) {
            errors.push((pos, Error::Drop));
            continue;
        }
        if rng.chance(RATE) {
            errors.push((pos, Error::Flip));
            received.push(b ^ (1 << rng.below(8)));
            continue;
        }
        received.push(b);
    }

    // Which frames the model expects to be accepted: no error in the frame's bytes or the
    // delimiter before it, except a 0x00 inserted right at a delimiter boundary.
    let mut expect_ok = vec![true; n_frames];
    let mut damaged = vec![false; n_frames];
    for &(pos, e) in &errors {
        // Frame i holds stream[starts[i]..ends[i]], its delimiter last. A flip or drop of a
        // delimiter also damages the next frame (they merge). An inserted byte lands before
        // stream[pos], so it is inside frame i; a 0x00 inserted right after the previous
        // delimiter or right before the own one only makes an empty frame.
        let i = ends.partition_point(|&end| end <= pos);
        if i >= n_frames {
            continue;
        }
        damaged[i] = true;
        match e {
            Error::Insert(v) => {
                if !(v == 0 && (pos == starts[i] || pos == ends[i] - 1)) {
                    expect_ok[i] = false;
                }
            }
            Error::Flip | Error::Drop => {
                expect_ok[i] = false;
                if pos == ends[i] - 1 && i + 1 < n_frames {
                    damaged[i + 1] = true;
                    expect_ok[i + 1] = false;
                }
            }
        }
    }

    // Decode in random pieces.
    let mut dec = FrameDecoder::<MAX_ENCODED_LEN>::new();
    let mut got = vec![false; n_frames];
    let mut accepted = 0;
    let mut corrupted_accepted = 0;
    let mut rest: &[u8] = &received;
    while !rest.is_empty() {
        let take = (1 + rng.below(300) as usize).min(rest.len());
        let (piece, r) = rest.split_at(take);
        rest = r;
        dec.feed_all(piece, |d| {
            if let Decoded::Packet(p) = d {
                accepted += 1;
                let seq = p.header.seq as usize;
                if sent.get(seq) == Some(&p) && !got[seq] {
                    got[seq] = true;
                } else {
                    corrupted_accepted += 1;
                }
            }
        });
    }
    let resync_misses = (0..n_frames).filter(|&i| expect_ok[i] != got[i]).count();
    let n_damaged = damaged.iter().filter(|d| **d).count();
    let benign = (0..n_frames)
        .filter(|&i| damaged[i] && expect_ok[i])
        .count();
    Run {
        frames: n_frames,
        damaged: n_damaged,
        benign,
        accepted,
        corrupted_accepted,
        resync_misses,
        counts: *dec.counts(),
        errors: errors.len(),
    }
}

fn check(seed: u64, n: usize) -> Run {
    let r = run(seed, n);
    println!(
        "seed {seed}: {} frames, {} channel errors, {} damaged ({} benign), {} accepted, rejects {:?}",
        r.frames,
        r.errors,
        r.damaged,
        r.benign,
        r.accepted,
        r.counts.iter().filter(|(_, c)| *c > 0).collect::<Vec<_>>()
    );
    assert_eq!(r.corrupted_accepted, 0, "a corrupted frame was accepted");
    assert_eq!(
        r.resync_misses, 0,
        "accepted set differs from the intact frames"
    );
    assert_eq!(r.accepted, r.frames - r.damaged + r.benign);
    assert_eq!(r.counts.accepted as usize, r.accepted);
    // Every damaged (not benign) frame left at least one reject behind, shared at most by
    // two frames merged by a lost delimiter.
    assert!(r.counts.total_rejected() as usize * 2 >= r.damaged - r.benign);
    r
}

#[test]
fn serial_noise_accepts_no_corrupted_frame_and_resyncs_on_the_next_intact_one() {
    let long = std::env::var_os("VIGIL_LONG_TESTS").is_some();
    let n = if long { 500_000 } else { 50_000 };
    let r = check(0x5EED_0001, n);
    if !long {
        // The seeded run, pinned: a change here means the channel, the generator or the
        // decoder changed behaviour.
        assert_eq!(
            (r.errors, r.damaged, r.benign, r.accepted),
            (9632, 7001, 0, 42999)
        );
        assert_eq!(
            (
                r.counts.get(RejectReason::Cobs),
                r.counts.get(RejectReason::Crc)
            ),
            (4699, 2240)
        );
    }
    // The channel really did damage a good share of frames (not a test that cannot fail).
    assert!(r.damaged > n / 20, "only {} frames damaged", r.damaged);
    assert!(r.counts.get(RejectReason::Crc) > 0 && r.counts.get(RejectReason::Cobs) > 0);
}

#[test]
fn serial_noise_other_seeds() {
    for seed in [1, 2, 3] {
        check(seed, 3_000);
    }
}

/// The decoder is back in sync by the next intact frame, case by case.
#[test]
fn resync_by_the_next_intact_frame() {
    let s = sample_packets();
    let (a, b, c) = (frame(&s[0]), frame(&s[1]), frame(&s[2]));
    let summary = |parts: &[&[u8]]| -> Vec<String> {
        decode_all(&parts.concat())
            .0
            .iter()
            .map(|d| match d {
                Decoded::Packet(p) => p.message.kind().name().to_owned(),
                Decoded::Rejected(_) => "reject".to_owned(),
            })
            .collect()
    };
    let no_delim = |f: &[u8]| f[..f.len() - 1].to_vec();

    // A lost delimiter merges a and b: one reject, then c.
    assert_eq!(
        summary(&[&no_delim(&a), &b, &c]),
        ["reject", "time_request"]
    );
    // A 0x00 inserted inside a splits it: two rejects, then b.
    let mut split = a.clone();
    split.insert(a.len() / 2, 0);
    assert_eq!(summary(&[&split, &b]), ["reject", "reject", "heartbeat"]);
    // A 0x00 inserted right before a delimiter or right after one changes nothing.
    assert_eq!(
        summary(&[&no_delim(&a), &[0, 0], &[0], &b]),
        ["hello", "heartbeat"]
    );
    // Garbage longer than any frame, then b: one too_long, then b.
    let garbage = vec![0x42u8; MAX_ENCODED_LEN * 3];
    let (out, dec) = decode_all(&[&garbage[..], &[0], &b].concat());
    assert!(matches!(out[0], Decoded::Rejected(Reject::TooLong { len }) if len == garbage.len()));
    assert_eq!(out[1], Decoded::Packet(s[1].clone()));
    assert_eq!(dec.counts().get(RejectReason::TooLong), 1);
    // Garbage glued in front of a frame (no delimiter between): that frame is lost, the next
    // one is not.
    assert_eq!(summary(&[&[0x13, 0x37], &a, &b]), ["reject", "heartbeat"]);
    // Half a frame at the start of a capture (joined mid-stream), then a, b.
    assert_eq!(
        summary(&[&b[b.len() / 2..], &a, &b]),
        ["reject", "hello", "heartbeat"]
    );
}
