//! Fuzz the streaming decoder: arbitrary bytes in arbitrary pieces never panic, counters add
//! up, and every accepted packet survives a re-encode / decode round trip unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_wire::{
    decode_body, encode_frame, Decoded, FrameDecoder, MAX_ENCODED_LEN, MAX_FRAME_LEN,
};

fuzz_target!(|data: &[u8]| {
    // The first byte chooses the piece size, so the fuzzer explores chunk boundaries too.
    let (piece, bytes) = match data.split_first() {
        Some((p, rest)) => (usize::from(*p).max(1), rest),
        None => return,
    };
    let mut dec = FrameDecoder::<MAX_ENCODED_LEN>::new();
    let mut outcomes = 0u64;
    for chunk in bytes.chunks(piece) {
        dec.feed_all(chunk, |d| {
            outcomes += 1;
            if let Decoded::Packet(p) = d {
                let mut out = [0u8; MAX_FRAME_LEN];
                let n = encode_frame(&p, &mut out).expect("an accepted packet re-encodes");
                let mut again = FrameDecoder::<MAX_ENCODED_LEN>::new();
                let mut seen = None;
                again.feed_all(&out[..n], |d2| seen = Some(d2));
                assert_eq!(
                    seen,
                    Some(Decoded::Packet(p)),
                    "round trip changed the packet"
                );
            }
        });
    }
    let c = dec.counts();
    assert_eq!(c.accepted + c.total_rejected(), outcomes);
    assert!(dec.pending() <= bytes.len());
    // The body decoder alone, on the raw input.
    let _ = decode_body(bytes);
});
