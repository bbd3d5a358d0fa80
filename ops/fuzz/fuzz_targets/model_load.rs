//! Fuzz the int8 model-file loader: any bytes parse into a validated `Model` or give a
//! `ModelError`; never a panic. The bytes are tried twice: as they are, and with their length
//! field and CRC-32 made right (so the fuzzer gets past the checksum into the layer checks).
//! A model that parses must also run: inference on a frame of the right size either gives a
//! result or a `RunError`, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_int8::crc::crc32;
use vigil_int8::Model;

/// Largest arena (and frame) tried, so a model declaring huge tensors does not exhaust memory.
const MAX_ARENA: usize = 1 << 22;

fn try_model(bytes: &[u8]) {
    let Ok(m) = Model::parse(bytes) else {
        return;
    };
    let shape = m.input_shape();
    let pixels = shape.h.saturating_mul(shape.w);
    if m.arena_len() > MAX_ARENA || pixels > MAX_ARENA {
        return;
    }
    let mut arena = vec![0i8; m.arena_len()];
    // Frame values from the model bytes, so they vary with the input.
    let frame: Vec<i16> = (0..pixels)
        .map(|i| {
            let b = bytes.get(i % bytes.len().max(1)).copied().unwrap_or(0);
            i16::from(b as i8) * 100
        })
        .collect();
    if let Ok(out) = m.infer(&frame, &mut arena) {
        assert!(out.confidence_permille <= 1000);
    }
}

fuzz_target!(|data: &[u8]| {
    try_model(data);
    if data.len() >= 24 {
        let mut fixed = data.to_vec();
        let n = fixed.len();
        fixed[8..12].copy_from_slice(&(n as u32).to_le_bytes());
        let crc = crc32(&fixed[..n - 4]);
        fixed[n - 4..].copy_from_slice(&crc.to_le_bytes());
        try_model(&fixed);
    }
});
