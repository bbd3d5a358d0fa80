//! Segments: several consecutive records stored as one sled value, so that one sled
//! operation carries many events. Pure encoding, no I/O.
//!
//! Layout (all integers little-endian):
//!
//! | bytes | field |
//! |-------|-------|
//! | 1     | format, `1` |
//! | 2     | record count `n` (≥ 1) |
//! | 32    | `prev`: chain hash before the first record |
//! | n ×   | `len: u32`, `hash: [u8; 32]`, `bytes: [u8; len]` |
//!
//! The segment's key holds the seq of its first record; record `i` has seq `first + i`.
//!
//! A **redaction** (a record purged by retention) has `len = u32::MAX` ([`REDACTED`]) and no
//! bytes: its stored hash is kept, so the link `prev_{n+1} = hash_n` still verifies across it;
//! only its own content can no longer be checked (the destruction record says why).

use vigil_events::Hash;

/// The length field of a redaction.
pub const REDACTED: u32 = u32::MAX;

/// Segment format byte.
pub const FORMAT: u8 = 1;
/// Fixed bytes before the records.
pub const HEADER_LEN: usize = 1 + 2 + 32;
/// Fixed bytes per record besides its bytes.
pub const PER_RECORD: usize = 4 + 32;
/// At most this many records per segment.
pub const MAX_RECORDS: usize = 64;
/// A segment is closed once its records (with their per-record overhead) reach this size. Sled leaves hold up to 17
/// entries and turn a node above 128 KiB into a separate blob file that sled never fsyncs;
/// 6 KiB segments keep every leaf far below that.
pub const TARGET_BYTES: usize = 6 * 1024;

/// One record inside a segment, borrowed from the segment's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordRef<'a> {
    /// Its seq.
    pub seq: u64,
    /// Chain hash of the previous record.
    pub prev: Hash,
    /// Its chain hash as stored.
    pub hash: Hash,
    /// The exact record bytes the hash covers (empty for a redaction).
    pub bytes: &'a [u8],
    /// True for a redaction: the record was purged, only its hash is left.
    pub redacted: bool,
}

/// Builds one segment value.
#[derive(Debug)]
pub struct SegmentWriter {
    buf: Vec<u8>,
    count: u16,
    record_bytes: usize,
}

impl SegmentWriter {
    /// A new segment whose first record follows `prev`.
    pub fn new(prev: &Hash) -> Self {
        let mut buf = Vec::with_capacity(TARGET_BYTES + 64 * PER_RECORD);
        buf.push(FORMAT);
        buf.extend_from_slice(&[0, 0]);
        buf.extend_from_slice(prev);
        SegmentWriter {
            buf,
            count: 0,
            record_bytes: 0,
        }
    }

    /// True when no more records should go in.
    pub fn is_full(&self) -> bool {
        usize::from(self.count) >= MAX_RECORDS || self.record_bytes >= TARGET_BYTES
    }

    /// True when a record of `len` bytes would push a non-empty segment past its target.
    pub fn would_overflow(&self, len: usize) -> bool {
        self.count > 0 && self.record_bytes + len + PER_RECORD > TARGET_BYTES
    }

    /// Number of records so far.
    pub fn len(&self) -> usize {
        usize::from(self.count)
    }

    /// True when there is no record yet.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Append a record. The caller keeps records under `u32::MAX` bytes and the count under
    /// [`MAX_RECORDS`].
    pub fn push(&mut self, hash: &Hash, bytes: &[u8]) {
        let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        self.buf.extend_from_slice(&len.to_le_bytes());
        self.buf.extend_from_slice(hash);
        self.buf.extend_from_slice(bytes);
        self.count += 1;
        self.record_bytes += bytes.len() + PER_RECORD;
        self.buf[1..3].copy_from_slice(&self.count.to_le_bytes());
    }

    /// Append a redaction: the record's stored hash without its bytes.
    pub fn push_redacted(&mut self, hash: &Hash) {
        self.buf.extend_from_slice(&REDACTED.to_le_bytes());
        self.buf.extend_from_slice(hash);
        self.count += 1;
        self.record_bytes += PER_RECORD;
        self.buf[1..3].copy_from_slice(&self.count.to_le_bytes());
    }

    /// The finished value.
    pub fn finish(self) -> Vec<u8> {
        self.buf
    }
}

/// Why a segment value does not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SegmentError {
    /// Shorter than its header says.
    #[error("segment truncated at byte {0}")]
    Truncated(usize),
    /// Unknown format byte.
    #[error("unknown segment format {0}")]
    Format(u8),
    /// Zero records, or bytes after the last record.
    #[error("segment malformed: {0}")]
    Malformed(String),
}

/// A decoded segment: its records, borrowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment<'a> {
    /// Chain hash before the first record.
    pub prev: Hash,
    /// The records in seq order.
    pub records: Vec<RecordRef<'a>>,
}

impl<'a> Segment<'a> {
    /// Decode a segment value whose key says it starts at `first_seq`.
    pub fn decode(first_seq: u64, value: &'a [u8]) -> Result<Self, SegmentError> {
        if value.len() < HEADER_LEN {
            return Err(SegmentError::Truncated(value.len()));
        }
        if value[0] != FORMAT {
            return Err(SegmentError::Format(value[0]));
        }
        let count = usize::from(u16::from_le_bytes([value[1], value[2]]));
        if count == 0 {
            return Err(SegmentError::Malformed("no records".into()));
        }
        let mut prev: Hash = [0; 32];
        prev.copy_from_slice(&value[3..HEADER_LEN]);
        let seg_prev = prev;
        let mut records = Vec::with_capacity(count);
        let mut at = HEADER_LEN;
        for i in 0..count {
            if value.len() < at + PER_RECORD {
                return Err(SegmentError::Truncated(value.len()));
            }
            let mut lenb = [0u8; 4];
            lenb.copy_from_slice(&value[at..at + 4]);
            let raw_len = u32::from_le_bytes(lenb);
            let redacted = raw_len == REDACTED;
            let len = if redacted { 0 } else { raw_len as usize };
            let mut hash: Hash = [0; 32];
            hash.copy_from_slice(&value[at + 4..at + PER_RECORD]);
            let start = at + PER_RECORD;
            let end = start
                .checked_add(len)
                .filter(|&e| e <= value.len())
                .ok_or(SegmentError::Truncated(value.len()))?;
            records.push(RecordRef {
                seq: first_seq + i as u64,
                prev,
                hash,
                bytes: &value[start..end],
                redacted,
            });
            prev = hash;
            at = end;
        }
        if at != value.len() {
            return Err(SegmentError::Malformed(format!(
                "{} bytes after the last record",
                value.len() - at
            )));
        }
        Ok(Segment {
            prev: seg_prev,
            records,
        })
    }

    /// Chain hash of the last record.
    pub fn last_hash(&self) -> Hash {
        self.records.last().map(|r| r.hash).unwrap_or(self.prev)
    }

    /// Seq of the last record.
    pub fn last_seq(&self) -> u64 {
        self.records.last().map(|r| r.seq).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_every_truncation_fails() {
        let mut w = SegmentWriter::new(&[1; 32]);
        w.push(&[2; 32], b"first");
        w.push(&[3; 32], b"");
        w.push(&[4; 32], b"third record");
        let v = w.finish();
        let s = Segment::decode(10, &v).expect("decodes");
        assert_eq!(s.prev, [1; 32]);
        assert_eq!(s.records.len(), 3);
        assert_eq!(s.records[1].seq, 11);
        assert_eq!(s.records[1].prev, [2; 32]);
        assert_eq!(s.records[2].bytes, b"third record");
        assert_eq!(s.last_hash(), [4; 32]);
        assert_eq!(s.last_seq(), 12);
        for cut in 0..v.len() {
            assert!(Segment::decode(10, &v[..cut]).is_err(), "cut {cut}");
        }
        let mut longer = v.clone();
        longer.push(0);
        assert!(Segment::decode(10, &longer).is_err());
        let mut bad = v;
        bad[0] = 9;
        assert_eq!(Segment::decode(10, &bad), Err(SegmentError::Format(9)));
    }

    #[test]
    fn redaction_keeps_its_hash_and_links() {
        let mut w = SegmentWriter::new(&[1; 32]);
        w.push(&[2; 32], b"kept");
        w.push_redacted(&[3; 32]);
        w.push(&[4; 32], b"after");
        let v = w.finish();
        let s = Segment::decode(5, &v).expect("decodes");
        assert!(!s.records[0].redacted && s.records[1].redacted && !s.records[2].redacted);
        assert_eq!(s.records[1].hash, [3; 32]);
        assert!(s.records[1].bytes.is_empty());
        assert_eq!(s.records[2].prev, [3; 32]);
        for cut in 0..v.len() {
            assert!(Segment::decode(5, &v[..cut]).is_err(), "cut {cut}");
        }
    }

    #[test]
    fn huge_length_field_is_an_error_not_a_panic() {
        let mut w = SegmentWriter::new(&[0; 32]);
        w.push(&[2; 32], b"x");
        let mut v = w.finish();
        v[HEADER_LEN..HEADER_LEN + 4].copy_from_slice(&(u32::MAX - 1).to_le_bytes());
        assert!(matches!(
            Segment::decode(1, &v),
            Err(SegmentError::Truncated(_))
        ));
    }
}
