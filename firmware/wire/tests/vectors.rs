//! The hex test vectors in `vectors/`: every sample packet's frame is byte-exact with its file
//! (encode side) and every file decodes to what its `# expect:` line says (decode side).
//!
//! `VIGIL_BLESS=1 cargo test -p vigil-wire --test vectors` rewrites the files from the code;
//! review the diff: a changed valid vector means a changed wire layout (bump the version).

#![allow(clippy::unwrap_used)] // tests fail by panicking

mod common;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use common::*;
use vigil_wire::*;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors")
}

fn raw(body: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; MAX_FRAME_LEN];
    let n = encode_raw_frame(body, &mut out).unwrap();
    out.truncate(n);
    out
}

fn body_of(p: &Packet) -> Vec<u8> {
    let mut out = vec![0u8; MAX_BODY_LEN];
    let n = encode_body(p, &mut out).unwrap();
    out.truncate(n);
    out
}

/// Renders a vector file: comment lines, then the bytes as hex, 32 bytes a line.
fn render(title: &str, expect: &str, bytes: &[u8]) -> String {
    let mut s = format!("# vigil wire test vector: {title}\n# expect: {expect}\n");
    for chunk in bytes.chunks(32) {
        for b in chunk {
            write!(s, "{b:02x}").unwrap();
        }
        s.push('\n');
    }
    s
}

/// Parses a vector file: (expectation tokens, bytes).
fn parse(text: &str) -> (Vec<String>, Vec<u8>) {
    let mut expect = Vec::new();
    let mut hex = String::new();
    for line in text.lines() {
        if let Some(e) = line.strip_prefix("# expect:") {
            expect.extend(e.split_whitespace().map(str::to_owned));
        } else if !line.starts_with('#') {
            hex.extend(line.chars().filter(|c| !c.is_whitespace()));
        }
    }
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    (expect, bytes)
}

/// Every vector: file name, title, expectation, bytes, and the packets it must decode to.
/// A vector: file name, title, expectation, bytes, the packets it must decode to.
type Vector = (String, String, String, Vec<u8>, Vec<Packet>);

fn vectors() -> Vec<Vector> {
    let mut v = Vec::new();
    for p in sample_packets() {
        let k = p.message.kind();
        v.push((
            format!("{:02}_{}.hex", k.as_u8(), k.name()),
            format!("kind {} {}", k.as_u8(), k.name()),
            format!("packet:{}", k.name()),
            frame(&p),
            vec![p],
        ));
    }
    let samples = sample_packets();
    let hello = &samples[0];
    let heartbeat = &samples[1];

    // A flipped body bit with the original CRC.
    let mut body = body_of(hello);
    let crc = FRAME_CRC.checksum(&body).to_le_bytes();
    body[7] ^= 0x10;
    let mut with_crc = body.clone();
    with_crc.extend_from_slice(&crc);
    let mut flipped = cobs_stuff(&with_crc);
    flipped.push(0);
    v.push(bad(
        "bad_crc.hex",
        "hello with one body bit flipped",
        "reject:crc",
        flipped,
    ));

    v.push(bad(
        "bad_cobs.hex",
        "COBS code byte pointing past the frame end",
        "reject:cobs",
        vec![0x07, 0x11, 0x22, 0x33, 0x00],
    ));
    v.push(bad(
        "bad_short.hex",
        "two bytes after unstuffing",
        "reject:short",
        vec![0x03, 0xAA, 0xBB, 0x00],
    ));
    let mut long = vec![0x01u8; MAX_ENCODED_LEN + 1];
    long.push(0);
    v.push(bad(
        "bad_too_long.hex",
        "one byte more than the longest frame",
        "reject:too_long",
        long,
    ));
    v.push(bad(
        "bad_msgpack_not_array.hex",
        "body is a nil, not an array",
        "reject:msgpack",
        raw(&[0xC0]),
    ));
    let mut trailing = body_of(heartbeat);
    trailing.push(0xC0);
    v.push(bad(
        "bad_msgpack_trailing.hex",
        "heartbeat followed by an extra nil",
        "reject:msgpack",
        trailing_frame(&trailing),
    ));
    v.push(bad(
        "bad_version.hex",
        "version 2 body [2,1,1,1,2,[0]]",
        "reject:version",
        raw(&[0x96, 0x02, 0x01, 0x01, 0x01, 0x02, 0x91, 0x00]),
    ));
    v.push(bad(
        "bad_unknown_kind.hex",
        "kind 99 body [1,1,1,1,99,[]]",
        "reject:unknown_kind",
        raw(&[0x96, 0x01, 0x01, 0x01, 0x01, 0x63, 0x90]),
    ));
    v.push(bad(
        "bad_payload_heartbeat_empty.hex",
        "heartbeat with an empty payload [1,1,1,1,2,[]]",
        "reject:payload",
        raw(&[0x96, 0x01, 0x01, 0x01, 0x01, 0x02, 0x90]),
    ));
    v.push(bad(
        "bad_payload_detection_confidence.hex",
        "detection with confidence 1001 [1,1,1,1,49,[5,1,1001,true,0]]",
        "reject:payload",
        raw(&[
            0x96, 0x01, 0x01, 0x01, 0x01, 0x31, 0x95, 0x05, 0x01, 0xCD, 0x03, 0xE9, 0xC3, 0x00,
        ]),
    ));
    // Garbage, a frame cut short by a lost delimiter-free tail, then an intact heartbeat.
    let mut mixed = vec![0x55, 0xFF, 0x13, 0x00];
    let hb = frame(heartbeat);
    mixed.extend_from_slice(&hb[..hb.len() / 2]);
    mixed.push(0x00);
    mixed.extend_from_slice(&hb);
    v.push((
        "mixed_resync.hex".into(),
        "garbage, half a heartbeat, then an intact heartbeat".into(),
        "reject:cobs reject:crc packet:heartbeat".into(),
        mixed,
        vec![heartbeat.clone()],
    ));
    v.extend(edge_vectors());
    v
}

/// A body with header `[1, 1, 1, 1, kind, …]` and the given payload bytes.
fn body(kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut b = vec![0x96, 0x01, 0x01, 0x01, 0x01, kind];
    b.extend_from_slice(payload);
    b
}

/// Several frames in one vector file.
fn frames(bodies: &[Vec<u8>]) -> Vec<u8> {
    bodies.iter().flat_map(|b| raw(b)).collect()
}

/// A thermal frame whose frame content (body ‖ CRC) ends in a run of exactly 254 non-zero
/// bytes after a zero: the COBS edge case `docs/wire.md` §1 settles. Reading 642's high byte
/// is the zero (`200` = `c8 00`); every later byte and the CRC are non-zero (the frame
/// counter is the first from 1 whose CRC has no zero byte).
fn final_run_254_packet() -> Packet {
    let mut centi_c = [0i16; THERMAL_PIXELS];
    for (i, v) in centi_c.iter_mut().enumerate() {
        *v = 2150 + (i % THERMAL_COLS) as i16;
    }
    centi_c[642] = 200;
    for frame in 1u32.. {
        let p = Packet::new(hdr(0x91C0_0002, 3, 40), ThermalFrame { frame, centi_c });
        let b = body_of(&p);
        if FRAME_CRC.checksum(&b).to_le_bytes().iter().all(|x| *x != 0) {
            return p;
        }
    }
    unreachable!("some frame counter gives a CRC without a zero byte")
}

/// Vectors for the edge cases `docs/wire.md` settles (issue 19, item 11). Appended after the
/// first thirty; like them, never rewritten.
fn edge_vectors() -> Vec<Vector> {
    let mut v = Vec::new();
    let esp = |seq| hdr(0xE5_0001, 7, seq);
    let digest: Digest = core::array::from_fn(|i| i as u8 * 7 + 1);

    // COBS: a final run of 254 non-zero bytes ends with the 0xFF block, no code after it...
    let run = final_run_254_packet();
    let f = frame(&run);
    v.push((
        "edge_cobs_final_run_254.hex".into(),
        "thermal frame whose content ends in a 254-byte run: last block ff, no code after it"
            .into(),
        "packet:thermal_frame".into(),
        f.clone(),
        vec![run.clone()],
    ));
    // ... and a receiver also accepts the other convention's extra `01` code there.
    let mut extra = f[..f.len() - 1].to_vec();
    extra.extend_from_slice(&[0x01, 0x00]);
    v.push((
        "edge_cobs_final_run_254_extra_code.hex".into(),
        "the same frame with an extra final code byte 01: the same packet".into(),
        "packet:thermal_frame".into(),
        extra,
        vec![run],
    ));

    // Header fields: a version that is not a u8 (256, -1, nil, 1.0) is `msgpack`.
    v.push(bad(
        "bad_msgpack_version_not_u8.hex",
        "version 256, -1, nil, 1.0 (float64) in [v,1,1,1,2,[0]]",
        "reject:msgpack reject:msgpack reject:msgpack reject:msgpack",
        frames(&[
            vec![0x96, 0xCD, 0x01, 0x00, 0x01, 0x01, 0x01, 0x02, 0x91, 0x00],
            vec![0x96, 0xFF, 0x01, 0x01, 0x01, 0x02, 0x91, 0x00],
            vec![0x96, 0xC0, 0x01, 0x01, 0x01, 0x02, 0x91, 0x00],
            vec![
                0x96, 0xCB, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0, 0x01, 0x01, 0x01, 0x02, 0x91, 0x00,
            ],
        ]),
    ));
    // Version 2 is `version` whatever the array's length.
    v.push(bad(
        "bad_version_any_length.hex",
        "version 2 in arrays of 1, 5 and 7 elements",
        "reject:version reject:version reject:version",
        frames(&[
            vec![0x91, 0x02],
            vec![0x95, 0x02, 0x01, 0x01, 0x01, 0x02],
            vec![0x97, 0x02, 0x01, 0x01, 0x01, 0x02, 0x91, 0x00, 0xC0],
        ]),
    ));
    // Version 1 in an array of 5 or 7 (or 0) elements is `msgpack`.
    v.push(bad(
        "bad_msgpack_array_5_7_0.hex",
        "version 1 in arrays of 5, 7 and 0 elements",
        "reject:msgpack reject:msgpack reject:msgpack",
        frames(&[
            vec![0x95, 0x01, 0x01, 0x01, 0x01, 0x02],
            vec![0x97, 0x01, 0x01, 0x01, 0x01, 0x02, 0x91, 0x00, 0xC0],
            vec![0x90],
        ]),
    ));
    // Wrong types in the header (or a map for the body) are `msgpack`.
    v.push(bad(
        "bad_msgpack_header_types.hex",
        "body a map {1:1}; device 1.0 (float64); boot true; seq \"1\" (string)",
        "reject:msgpack reject:msgpack reject:msgpack reject:msgpack",
        frames(&[
            vec![0x81, 0x01, 0x01],
            vec![
                0x96, 0x01, 0xCB, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0, 0x01, 0x01, 0x02, 0x91, 0x00,
            ],
            vec![0x96, 0x01, 0x01, 0xC3, 0x01, 0x02, 0x91, 0x00],
            vec![0x96, 0x01, 0x01, 0x01, 0xA1, 0x31, 0x02, 0x91, 0x00],
        ]),
    ));
    // A kind above 255 (or negative) is out of its field's range: `msgpack`.
    v.push(bad(
        "bad_msgpack_kind_not_u8.hex",
        "kind 256 and kind -1 in [1,1,1,1,k,[0]]",
        "reject:msgpack reject:msgpack",
        frames(&[
            vec![0x96, 0x01, 0x01, 0x01, 0x01, 0xCD, 0x01, 0x00, 0x91, 0x00],
            vec![0x96, 0x01, 0x01, 0x01, 0x01, 0xFF, 0x91, 0x00],
        ]),
    ));
    // Anything wrong inside the payload element is `payload`: not an array, or a map,
    // string, float or bin where an integer belongs.
    v.push(bad(
        "bad_payload_types.hex",
        "heartbeat payload 0; nil; {0:1}; bin; [\"x\"]; [1.5 float64]; [1.5 float32]; [{}]",
        "reject:payload reject:payload reject:payload reject:payload reject:payload \
         reject:payload reject:payload reject:payload",
        frames(&[
            body(2, &[0x00]),
            body(2, &[0xC0]),
            body(2, &[0x81, 0x00, 0x01]),
            body(2, &[0xC4, 0x01, 0x01]),
            body(2, &[0x91, 0xA1, 0x78]),
            body(2, &[0x91, 0xCB, 0x3F, 0xF8, 0, 0, 0, 0, 0, 0]),
            body(2, &[0x91, 0xCA, 0x3F, 0xC0, 0, 0]),
            body(2, &[0x91, 0x80]),
        ]),
    ));
    // A window list holds at most 32 windows.
    let mut w33 = vec![0x92, 0xC4, 0x20];
    w33.extend_from_slice(&digest);
    w33.extend_from_slice(&[0xDC, 0x00, 0x21]);
    for i in 0..33u8 {
        w33.extend_from_slice(&[0x92, 2 * i, 2 * i + 1]);
    }
    v.push(bad(
        "bad_payload_windows_33.hex",
        "windows with 33 windows [[0,1],[2,3],…,[64,65]]",
        "reject:payload",
        raw(&body(16, &w33)),
    ));

    // Negative times are valid (before 1970): decoded as sent.
    let mut neg = heapless::Vec::new();
    for (s, e) in [
        (-7_200_000_000, -3_600_000_000),
        (-3_600_000_000, 0),
        (0, 1),
    ] {
        neg.push(Window {
            start_us: s,
            end_us: e,
        })
        .unwrap();
    }
    let neg = Packet::new(
        hdr(0xE5_0001, 42, 9),
        Windows {
            digest,
            windows: neg,
        },
    );
    v.push((
        "edge_windows_negative_times.hex".into(),
        "windows [[-7200000000,-3600000000],[-3600000000,0],[0,1]]: valid".into(),
        "packet:windows".into(),
        frame(&neg),
        vec![neg],
    ));
    // Window counts above 32 are not rejected (informational; the digest decides).
    let counts = vec![
        Packet::new(esp(30), WindowsAck { digest, count: 255 }),
        Packet::new(
            esp(31),
            PowerStatus {
                relay_on: false,
                override_active: false,
                windows_count: 255,
                windows_digest: digest,
                pending_events: 0,
                rx_rejects: 0,
            },
        ),
    ];
    v.push((
        "edge_window_counts_255.hex".into(),
        "windows_ack count 255 and power_status windows_count 255: valid".into(),
        "packet:windows_ack packet:power_status".into(),
        counts.iter().flat_map(frame).collect(),
        counts,
    ));
    // Reason code 0 (never assigned) and 200 (not assigned yet) decode as `other`.
    let reasons: Vec<Packet> = [0u8, 200]
        .iter()
        .zip(32u32..)
        .map(|(code, seq)| {
            Packet::new(
                esp(seq),
                PowerSwitched {
                    at: BoardTime {
                        utc_us: T0,
                        synced: true,
                    },
                    on: false,
                    reason: PowerReason::from_u8(*code),
                },
            )
        })
        .collect();
    v.push((
        "edge_power_switched_reason_0_200.hex".into(),
        "power_switched with reason 0 and 200: valid, logged as other".into(),
        "packet:power_switched packet:power_switched".into(),
        reasons.iter().flat_map(frame).collect(),
        reasons,
    ));
    // Integers beyond 2^53 (JSON renders them exactly).
    let big = vec![
        Packet::new(
            hdr(u32::MAX, u32::MAX, u32::MAX),
            Hello {
                role: BoardRole::Power,
                protocol: 255,
                firmware: FirmwareVersion {
                    major: 255,
                    minor: 0,
                    patch: 255,
                },
                time: BoardTime {
                    utc_us: i64::MIN,
                    synced: false,
                },
                uptime_ms: u64::MAX,
            },
        ),
        Packet::new(
            esp(34),
            WatchdogTripped {
                at: BoardTime {
                    utc_us: i64::MAX,
                    synced: true,
                },
                silent_ms: (1 << 53) + 1,
            },
        ),
        Packet::new(
            esp(35),
            SntpSynced {
                at: BoardTime {
                    utc_us: -1,
                    synced: true,
                },
                offset_us: i64::MIN,
                delay_us: i64::MAX,
                stratum: 0,
            },
        ),
    ];
    v.push((
        "edge_integers_beyond_2_53.hex".into(),
        "hello, watchdog_tripped, sntp_synced with u64/i64 extremes and 2^53+1".into(),
        "packet:hello packet:watchdog_tripped packet:sntp_synced".into(),
        big.iter().flat_map(frame).collect(),
        big,
    ));
    v
}

fn bad(name: &str, title: &str, expect: &str, bytes: Vec<u8>) -> Vector {
    (name.into(), title.into(), expect.into(), bytes, vec![])
}

fn trailing_frame(body: &[u8]) -> Vec<u8> {
    raw(body)
}

/// Plain COBS stuffing (written out here so the corrupted-CRC vector does not depend on the
/// crate's own encoder). A final run of 254 non-zero bytes ends with its `0xFF` block and no
/// code after it (`docs/wire.md` §1).
fn cobs_stuff(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8];
    let mut code_at = 0;
    let mut code = 1u8;
    // True right after a full 254-byte block, before any further byte.
    let mut after_full_block = false;
    for &b in data {
        after_full_block = false;
        if b == 0 {
            out[code_at] = code;
            code_at = out.len();
            out.push(0);
            code = 1;
        } else {
            out.push(b);
            code += 1;
            if code == 0xFF {
                out[code_at] = code;
                code_at = out.len();
                out.push(0);
                code = 1;
                after_full_block = true;
            }
        }
    }
    if after_full_block {
        out.pop();
    } else {
        out[code_at] = code;
    }
    out
}

#[test]
fn vectors_are_byte_exact_and_decode_as_expected() {
    let bless = std::env::var_os("VIGIL_BLESS").is_some();
    let mut names = BTreeSet::new();
    for (name, title, expect, bytes, packets) in vectors() {
        let path = dir().join(&name);
        let rendered = render(&title, &expect, &bytes);
        if bless {
            std::fs::create_dir_all(dir()).unwrap();
            std::fs::write(&path, &rendered).unwrap();
        }
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (VIGIL_BLESS=1 writes it)", path.display()));
        let (file_expect, file_bytes) = parse(&text);
        assert_eq!(
            file_bytes, bytes,
            "{name}: encoder output differs from the vector"
        );
        assert_eq!(text, rendered, "{name}: file text differs");

        // Decode side: from the file, in one piece and byte by byte.
        let (out, dec) = decode_all(&file_bytes);
        let mut got = Vec::new();
        let mut decoded = Vec::new();
        for d in &out {
            match d {
                Decoded::Packet(p) => {
                    got.push(format!("packet:{}", p.message.kind().name()));
                    decoded.push(p.clone());
                }
                Decoded::Rejected(r) => got.push(format!("reject:{}", r.reason())),
            }
        }
        assert_eq!(got, file_expect, "{name}: decode outcome");
        assert_eq!(decoded, packets, "{name}: decoded packets");
        assert_eq!(dec.counts().accepted as usize, packets.len());
        assert_eq!(dec.pending(), 0, "{name}: vector must end with a delimiter");
        let mut byte_dec = FrameDecoder::<MAX_ENCODED_LEN>::new();
        let mut byte_out = Vec::new();
        for b in &file_bytes {
            if let Some(d) = byte_dec.push_byte(*b) {
                byte_out.push(d);
            }
        }
        assert_eq!(byte_out, out, "{name}: byte-by-byte differs");
        names.insert(name);
    }
    // No stray files: every vector in the folder is checked here.
    for entry in std::fs::read_dir(dir()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".hex") {
            assert!(
                names.contains(&name),
                "vectors/{name} is not checked by this test"
            );
        }
    }
}

#[test]
fn every_kind_has_a_vector() {
    let kinds: BTreeSet<Kind> = sample_packets().iter().map(|p| p.message.kind()).collect();
    assert_eq!(kinds.len(), Kind::ALL.len());
}

#[test]
fn cobs_stuffing_helper_agrees_with_the_crate() {
    for p in sample_packets() {
        let body = body_of(&p);
        let mut content = body.clone();
        content.extend_from_slice(&FRAME_CRC.checksum(&body).to_le_bytes());
        let mut mine = cobs_stuff(&content);
        mine.push(0);
        assert_eq!(mine, frame(&p), "{:?}", p.message.kind());
    }
}

#[test]
fn cobs_final_run_vector_ends_in_a_254_byte_block_without_a_code_after_it() {
    let p = final_run_254_packet();
    let mut content = body_of(&p);
    content.extend_from_slice(&FRAME_CRC.checksum(&content.clone()).to_le_bytes());
    let n = content.len();
    assert_eq!(content[n - 255], 0, "a zero right before the final run");
    assert!(
        content[n - 254..].iter().all(|b| *b != 0),
        "254 non-zero bytes"
    );
    let f = frame(&p);
    // ... ff d1 … d254 00: the last code is ff, right before the 254 data bytes.
    assert_eq!(f.len() - 256, f.iter().rposition(|b| *b == 0xFF).unwrap());
    assert_eq!(&f[f.len() - 255..f.len() - 1], &content[n - 254..]);
    assert_eq!(f.last(), Some(&0));
}

#[test]
fn cobs_stuffing_helper_agrees_with_the_crate_on_a_final_254_byte_run() {
    for data in [
        (1..=254u8).collect::<Vec<u8>>(),
        [&[0u8][..], &(1..=254u8).collect::<Vec<u8>>()].concat(),
        [&(1..=254u8).collect::<Vec<u8>>()[..], &[0u8][..]].concat(),
        (1..=255u8).collect::<Vec<u8>>(),
    ] {
        let mut mine = cobs_stuff(&data);
        mine.push(0);
        assert_eq!(mine, raw_cobs(&data), "{} bytes", data.len());
    }
    let p = final_run_254_packet();
    let body = body_of(&p);
    let mut content = body.clone();
    content.extend_from_slice(&FRAME_CRC.checksum(&body).to_le_bytes());
    let mut mine = cobs_stuff(&content);
    mine.push(0);
    assert_eq!(mine, frame(&p));
}

/// `data` stuffed by the `cobs` crate's encoder (the one `encode_raw_frame` uses), plus the
/// delimiter.
fn raw_cobs(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; data.len() + data.len() / 254 + 2];
    let mut enc = cobs::CobsEncoder::new(&mut out);
    enc.push(data).unwrap();
    let n = enc.finalize();
    out.truncate(n);
    out.push(0);
    out
}
