//! Synthetic events for the load generator and the benchmarks: `LoadGenerated` events of about
//! 150 encoded bytes whose filler varies (so that nothing compresses unrealistically well).

use vigil_events::kinds::LoadGenerated;
use vigil_events::{NewEvent, Source, UtcMicros};

/// Filler bytes that bring a synthetic event to about 150 encoded bytes.
pub const FILLER_BYTES: usize = 96;

/// The `n`-th synthetic event, at `ts`.
pub fn synthetic_event(n: u64, ts: UtcMicros) -> NewEvent {
    let mut x = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let filler = (0..FILLER_BYTES)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    NewEvent::new(ts, Source::Ops, LoadGenerated { n, filler })
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_events::DataClass;

    #[test]
    fn synthetic_events_are_about_150_bytes() {
        let len = synthetic_event(123_456, 1_780_286_400_000_000)
            .encode(9_999_999, DataClass::General)
            .len();
        assert!((140..=160).contains(&len), "{len}");
    }
}
