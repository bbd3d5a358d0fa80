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
    v
}

fn bad(name: &str, title: &str, expect: &str, bytes: Vec<u8>) -> Vector {
    (name.into(), title.into(), expect.into(), bytes, vec![])
}

fn trailing_frame(body: &[u8]) -> Vec<u8> {
    raw(body)
}

/// Plain COBS stuffing (written out here so the corrupted-CRC vector does not depend on the
/// crate's own encoder).
fn cobs_stuff(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8];
    let mut code_at = 0;
    let mut code = 1u8;
    for &b in data {
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
            }
        }
    }
    out[code_at] = code;
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
