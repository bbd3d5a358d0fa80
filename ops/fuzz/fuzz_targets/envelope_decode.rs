//! Fuzz the event envelope decoder (a stored record: MessagePack header and payload): any
//! bytes decode to an envelope or give a `DecodeError`; never a panic. A decoded envelope's
//! payload decodes too, or errs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_events::{Envelope, RecordHeader};

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = RecordHeader::decode(data) {
        let _ = h.decode_event();
    }
    match Envelope::decode(data, [0; 32], [0; 32]) {
        Ok(env) => {
            let _ = format!("{env:?}");
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
