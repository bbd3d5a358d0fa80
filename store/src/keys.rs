//! sled keys. Everything lives in one sled tree so that a batch (segments, index entries and
//! the head) is one atomic `apply_batch`. Every key starts with a tag byte:
//!
//! | key | value |
//! |-----|-------|
//! | `S` ‖ first_seq (u64 BE) | a segment (see `segment`) |
//! | `T` ‖ bucket (i64, sign-flipped BE) ‖ first_seq | empty: the segment holds an event whose `ts` falls in that bucket |
//! | `K` ‖ source (u8) ‖ kind (u16 BE) ‖ first_seq | empty: the segment holds an event of that source and kind |
//! | `H` | head: last_seq (u64 BE) ‖ head hash (32) |
//! | `B` | base (only when the chain does not start at seq 1): first_seq (u64 BE) ‖ anchor (32) |

use vigil_events::{EventKind, Hash, Source, UtcMicros};

/// Tag of segment keys.
pub const SEG: u8 = b'S';
/// Tag of time-index keys.
pub const TIME: u8 = b'T';
/// Tag of (source, kind) index keys.
pub const SK: u8 = b'K';
/// The head key.
pub const HEAD: &[u8] = b"H";
/// The base key.
pub const BASE: &[u8] = b"B";

/// Width of a time-index bucket: 10 minutes.
pub const BUCKET_US: i64 = 600_000_000;

/// Bucket number of a timestamp.
pub fn bucket(ts: UtcMicros) -> i64 {
    ts.div_euclid(BUCKET_US)
}

fn sortable(v: i64) -> [u8; 8] {
    ((v as u64) ^ (1 << 63)).to_be_bytes()
}

fn u64_at(k: &[u8], at: usize) -> Option<u64> {
    let b: [u8; 8] = k.get(at..at + 8)?.try_into().ok()?;
    Some(u64::from_be_bytes(b))
}

/// Segment key.
pub fn seg(first_seq: u64) -> [u8; 9] {
    let mut k = [SEG; 9];
    k[1..].copy_from_slice(&first_seq.to_be_bytes());
    k
}

/// Time-index key.
pub fn time(bucket: i64, first_seq: u64) -> [u8; 17] {
    let mut k = [TIME; 17];
    k[1..9].copy_from_slice(&sortable(bucket));
    k[9..].copy_from_slice(&first_seq.to_be_bytes());
    k
}

/// (source, kind) index key.
pub fn sk(source: Source, kind: EventKind, first_seq: u64) -> [u8; 12] {
    let mut k = [SK; 12];
    k[1] = source.code();
    k[2..4].copy_from_slice(&kind.code().to_be_bytes());
    k[4..].copy_from_slice(&first_seq.to_be_bytes());
    k
}

/// Prefix of all index keys of `source` (and `kind`, when given).
pub fn sk_prefix(source: Source, kind: Option<EventKind>) -> Vec<u8> {
    let mut k = vec![SK, source.code()];
    if let Some(kind) = kind {
        k.extend_from_slice(&kind.code().to_be_bytes());
    }
    k
}

/// The first seq of a segment key.
pub fn seg_seq(k: &[u8]) -> Option<u64> {
    (k.len() == 9 && k[0] == SEG)
        .then(|| u64_at(k, 1))
        .flatten()
}

/// `(bucket, first_seq)` of a time-index key.
pub fn parse_time(k: &[u8]) -> Option<(i64, u64)> {
    if k.len() != 17 || k[0] != TIME {
        return None;
    }
    let b = (u64_at(k, 1)? ^ (1 << 63)) as i64;
    Some((b, u64_at(k, 9)?))
}

/// `(source, kind, first_seq)` of an index key.
pub fn parse_sk(k: &[u8]) -> Option<(Source, EventKind, u64)> {
    if k.len() != 12 || k[0] != SK {
        return None;
    }
    let source = Source::from_code(k[1])?;
    let kind = EventKind::from_code(u16::from_be_bytes([k[2], k[3]]))?;
    Some((source, kind, u64_at(k, 4)?))
}

/// Encode the head value.
pub fn head_value(last_seq: u64, head: &Hash) -> [u8; 40] {
    let mut v = [0; 40];
    v[..8].copy_from_slice(&last_seq.to_be_bytes());
    v[8..].copy_from_slice(head);
    v
}

/// Decode a head or base value.
pub fn parse_seq_hash(v: &[u8]) -> Option<(u64, Hash)> {
    if v.len() != 40 {
        return None;
    }
    let mut h = [0; 32];
    h.copy_from_slice(&v[8..]);
    Some((u64_at(v, 0)?, h))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_sort() {
        assert_eq!(seg_seq(&seg(42)), Some(42));
        assert!(seg(2) < seg(256));
        for b in [-5i64, -1, 0, 1, 1_000_000] {
            assert_eq!(parse_time(&time(b, 9)), Some((b, 9)));
        }
        assert!(time(-1, 5) < time(0, 1));
        assert!(time(3, 1) < time(3, 2));
        assert_eq!(
            parse_sk(&sk(Source::Pico, EventKind::Detection, 77)),
            Some((Source::Pico, EventKind::Detection, 77))
        );
        assert!(sk(Source::Pico, EventKind::Detection, 77)
            .starts_with(&sk_prefix(Source::Pico, Some(EventKind::Detection))));
        assert_eq!(bucket(-1), -1);
        assert_eq!(bucket(BUCKET_US), 1);
        assert_eq!(parse_seq_hash(&head_value(5, &[3; 32])), Some((5, [3; 32])));
    }
}
