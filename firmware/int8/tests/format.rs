//! The model format: round trip, every typed error, and no panic on damaged bytes.

mod common;

use common::random_model;
use vigil_int8::crc::crc32;
use vigil_int8::encode::{encode, QuantModel};
use vigil_int8::{Model, ModelError, FORMAT_VERSION};

fn bytes() -> Vec<u8> {
    encode(&random_model(11, Some(2))).expect("encodes")
}

/// Rewrites the checksum after a deliberate edit, so the parser gets past it.
fn reseal(b: &mut [u8]) {
    let n = b.len();
    let crc = crc32(&b[..n - 4]);
    b[n - 4..].copy_from_slice(&crc.to_le_bytes());
}

#[test]
fn encode_parse_encode_is_byte_identical() {
    for (seed, book) in [
        (1, None),
        (2, Some(1)),
        (3, Some(2)),
        (4, Some(4)),
        (5, Some(8)),
    ] {
        let q = random_model(seed, book);
        let b = encode(&q).expect("encodes");
        let m = Model::parse(&b).expect("parses");
        let back = QuantModel::from_model(&m);
        assert_eq!(back, q, "seed {seed}");
        assert_eq!(encode(&back).expect("re-encodes"), b);
        assert_eq!(m.byte_len(), b.len());
        assert_eq!(m.layers().len(), 6);
    }
}

#[test]
fn truncated_file_is_reported_with_both_lengths() {
    let b = bytes();
    let cut = &b[..b.len() - 10];
    assert_eq!(
        Model::parse(cut).expect_err("must be refused"),
        ModelError::Truncated {
            needed: b.len(),
            found: b.len() - 10
        }
    );
    assert!(matches!(
        Model::parse(&b[..10]).expect_err("must be refused"),
        ModelError::Truncated { .. }
    ));
    assert!(matches!(
        Model::parse(&[]).expect_err("must be refused"),
        ModelError::Truncated { .. }
    ));
}

#[test]
fn other_format_version_is_refused_before_anything_else() {
    let mut b = bytes();
    b[4..6].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
    assert_eq!(
        Model::parse(&b).expect_err("must be refused"),
        ModelError::UnsupportedVersion {
            found: FORMAT_VERSION + 1,
            supported: FORMAT_VERSION
        }
    );
}

#[test]
fn a_flipped_bit_fails_the_checksum() {
    let mut b = bytes();
    let mid = b.len() / 2;
    b[mid] ^= 0x10;
    assert!(matches!(
        Model::parse(&b).expect_err("must be refused"),
        ModelError::BadChecksum { .. }
    ));
}

#[test]
fn wrong_magic_and_trailing_bytes_are_named() {
    let mut b = bytes();
    b[0] = b'X';
    assert!(
        matches!(Model::parse(&b).expect_err("must be refused"), ModelError::BadMagic { found } if found[0] == b'X')
    );
    let mut b = bytes();
    b.push(0);
    assert!(matches!(
        Model::parse(&b).expect_err("must be refused"),
        ModelError::TrailingBytes { .. }
    ));
    assert!(matches!(
        Model::parse(b"PK\x03\x04 a zip file").expect_err("must be refused"),
        ModelError::BadMagic { .. }
    ));
}

#[test]
fn inconsistent_layers_are_rejected_even_with_a_valid_checksum() {
    // Header at 0..20; layer count at byte 17.
    let mut b = bytes();
    b[17] = 0;
    reseal(&mut b);
    assert!(matches!(
        Model::parse(&b).expect_err("must be refused"),
        ModelError::Malformed { offset: 17, .. }
    ));
    let mut b = bytes();
    b[18] = 4; // 4 classes, the last layer gives 3
    reseal(&mut b);
    assert!(matches!(
        Model::parse(&b).expect_err("must be refused"),
        ModelError::ClassCountMismatch {
            declared: 4,
            produced: 3
        }
    ));
}

#[test]
fn no_damaged_model_ever_panics() {
    let b = bytes();
    for n in 0..b.len() {
        let _ = Model::parse(&b[..n]);
    }
    // Flip every byte, then reseal so the structure checks (not the CRC) must catch it.
    let mut accepted = 0;
    for i in 0..b.len() - 4 {
        for flip in [0x01u8, 0x80, 0xFF] {
            let mut d = b.clone();
            d[i] ^= flip;
            reseal(&mut d);
            if let Ok(m) = Model::parse(&d) {
                accepted += 1;
                let mut arena = vec![0i8; m.arena_len()];
                let frame = vec![2500i16; m.input_shape().h * m.input_shape().w];
                let _ = m.infer(&frame, &mut arena);
            }
        }
    }
    // Weight and bias bytes are free-form, so many edits stay valid; structure edits must not.
    assert!(accepted > 0);
}

#[test]
fn the_inference_path_has_no_floating_point() {
    // The engine, the format and the fixed-point helpers must stay integer-only.
    for file in [
        "src/engine.rs",
        "src/format.rs",
        "src/fixed.rs",
        "src/shape.rs",
        "src/crc.rs",
        "src/prepared.rs",
        "src/simd/mod.rs",
        "src/simd/avx2.rs",
    ] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
        let text = std::fs::read_to_string(&path).expect("source is readable");
        let code: String = text
            .lines()
            .take_while(|l| !l.starts_with("#[cfg(test)]"))
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        for banned in ["f32", "f64"] {
            assert!(!code.contains(banned), "{file} mentions {banned}");
        }
    }
}
