//! Sequential reads for replay and export: segments in seq order, every hash recomputed and
//! every link checked on the way.

use std::path::PathBuf;

use vigil_events::{Envelope, Hash};

use crate::chain::{chain_hash, Key};
use crate::segment::Segment;
use crate::{keys, StoreError};

/// A record as stored: its seq, chain hashes and exact bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRecord {
    /// Its seq.
    pub seq: u64,
    /// Chain hash of the previous record.
    pub prev: Hash,
    /// Its chain hash.
    pub hash: Hash,
    /// The exact stored bytes (a MessagePack record, see `vigil_events::RecordHeader`).
    pub bytes: Vec<u8>,
}

/// A record borrowed from the current segment: seq, prev, hash, bytes.
pub(crate) type RecordView<'a> = (u64, Hash, Hash, &'a [u8]);

/// One record inside the current segment: seq, hashes and its byte range in the value.
#[derive(Debug, Clone, Copy)]
struct Slot {
    seq: u64,
    prev: Hash,
    hash: Hash,
    start: usize,
    end: usize,
}

/// The shared engine of [`Scan`] and [`RawScan`]: walks segments from the one holding
/// `from_seq` up to the last seq durable when the scan began, checking seq density, the
/// link between segments and every record's hash.
pub(crate) struct Walker {
    iter: sled::Iter,
    key: Option<Key>,
    path: PathBuf,
    from: u64,
    last: u64,
    expect_seq: Option<u64>,
    expect_prev: Option<Hash>,
    value: sled::IVec,
    slots: Vec<Slot>,
    pos: usize,
    done: bool,
    error: Option<StoreError>,
}

impl std::fmt::Debug for Walker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Walker")
            .field("path", &self.path)
            .field("from", &self.from)
            .field("last", &self.last)
            .field("expect_seq", &self.expect_seq)
            .finish_non_exhaustive()
    }
}

impl Walker {
    pub(crate) fn new(
        db: &sled::Db,
        path: PathBuf,
        key: Option<Key>,
        start_seg: u64,
        from: u64,
        last: u64,
    ) -> Self {
        Walker {
            iter: db.range(keys::seg(start_seg)..=keys::seg(last)),
            key,
            path,
            from,
            last,
            expect_seq: None,
            expect_prev: None,
            value: sled::IVec::default(),
            slots: Vec::new(),
            pos: 0,
            done: from > last,
            error: None,
        }
    }

    fn corrupt(&self, seq: u64, what: String) -> StoreError {
        StoreError::Corrupt {
            path: self.path.clone(),
            seq,
            what,
        }
    }

    fn load(&mut self) -> Result<bool, StoreError> {
        let Some(item) = self.iter.next() else {
            if let Some(s) = self.expect_seq.filter(|&s| s <= self.last) {
                return Err(self.corrupt(s, "gap: the log ends before the head".into()));
            }
            return Ok(false);
        };
        let (k, v) = item.map_err(|e| StoreError::sled(&self.path, e))?;
        let first =
            keys::seg_seq(&k).ok_or_else(|| self.corrupt(0, "malformed segment key".into()))?;
        if let Some(s) = self.expect_seq {
            if first != s {
                return Err(self.corrupt(s, format!("gap: next segment starts at seq {first}")));
            }
        }
        let seg = Segment::decode(first, &v).map_err(|e| self.corrupt(first, e.to_string()))?;
        if let Some(p) = self.expect_prev {
            if seg.prev != p {
                return Err(self.corrupt(
                    first,
                    "hash mismatch: prev does not match the previous record's hash".into(),
                ));
            }
        }
        self.slots.clear();
        let base = v.as_ptr() as usize;
        for r in &seg.records {
            let computed = chain_hash(self.key.as_ref(), &r.prev, r.seq, r.bytes);
            if computed != r.hash {
                return Err(self.corrupt(
                    r.seq,
                    "hash mismatch: stored hash differs from BLAKE3 of the record".into(),
                ));
            }
            if r.seq >= self.from && r.seq <= self.last {
                let start = r.bytes.as_ptr() as usize - base;
                self.slots.push(Slot {
                    seq: r.seq,
                    prev: r.prev,
                    hash: r.hash,
                    start,
                    end: start + r.bytes.len(),
                });
            }
        }
        self.expect_seq = Some(seg.last_seq() + 1);
        self.expect_prev = Some(seg.last_hash());
        drop(seg);
        self.value = v;
        self.pos = 0;
        Ok(true)
    }

    /// The next record: seq, prev, hash and bytes borrowed from the current segment.
    pub(crate) fn next_ref(&mut self) -> Option<Result<RecordView<'_>, StoreError>> {
        if let Some(e) = self.error.take() {
            self.done = true;
            return Some(Err(e));
        }
        while !self.done && self.pos >= self.slots.len() {
            match self.load() {
                Ok(true) => {}
                Ok(false) => self.done = true,
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
        if self.pos >= self.slots.len() {
            return None;
        }
        let s = self.slots[self.pos];
        self.pos += 1;
        Some(Ok((s.seq, s.prev, s.hash, &self.value[s.start..s.end])))
    }
}

/// Iterator over decoded events from a seq on (see [`crate::Store::scan`]).
#[derive(Debug)]
pub struct Scan {
    pub(crate) walker: Walker,
    pub(crate) failed: bool,
}

impl Iterator for Scan {
    type Item = Result<Envelope, StoreError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let item = match self.walker.next_ref()? {
            Err(e) => Err(e),
            Ok((seq, prev, hash, bytes)) => match Envelope::decode(bytes, prev, hash) {
                Ok(env) if env.seq == seq => Ok(env),
                Ok(env) => Err(StoreError::Corrupt {
                    path: self.walker.path.clone(),
                    seq,
                    what: format!("record says seq {}", env.seq),
                }),
                Err(e) => Err(StoreError::Corrupt {
                    path: self.walker.path.clone(),
                    seq,
                    what: format!("undecodable record: {e}"),
                }),
            },
        };
        self.failed = item.is_err();
        Some(item)
    }
}

/// Iterator over raw records from a seq on (see [`crate::Store::scan_raw`]).
#[derive(Debug)]
pub struct RawScan {
    pub(crate) walker: Walker,
}

impl Iterator for RawScan {
    type Item = Result<RawRecord, StoreError>;
    fn next(&mut self) -> Option<Self::Item> {
        Some(
            self.walker
                .next_ref()?
                .map(|(seq, prev, hash, bytes)| RawRecord {
                    seq,
                    prev,
                    hash,
                    bytes: bytes.to_vec(),
                }),
        )
    }
}

impl RawScan {
    /// Visit every remaining record without copying its bytes; stops at the first error.
    pub fn for_each_ref(
        mut self,
        mut f: impl FnMut(u64, &Hash, &Hash, &[u8]) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        let mut n = 0;
        while let Some(r) = self.walker.next_ref() {
            let (seq, prev, hash, bytes) = r?;
            f(seq, &prev, &hash, bytes)?;
            n += 1;
        }
        Ok(n)
    }
}

impl crate::Store {
    fn walker(&self, from_seq: u64) -> Result<Walker, StoreError> {
        let st = self.state();
        let from = from_seq.max(st.base_seq);
        let start_seg = if from > st.last_seq {
            from
        } else {
            self.segment_of(from)?.map(|(s, _)| s).unwrap_or(from)
        };
        Ok(Walker::new(
            &self.db,
            self.sled_dir.clone(),
            self.key,
            start_seg,
            from,
            st.last_seq,
        ))
    }

    /// Decoded events from `from_seq` (or the first held) up to the last seq durable now, in
    /// seq order, each hash recomputed and each link checked; the first problem is returned as
    /// an error and ends the iteration. This is replay's fast path.
    pub fn scan(&self, from_seq: u64) -> Scan {
        match self.walker(from_seq) {
            Ok(walker) => Scan {
                walker,
                failed: false,
            },
            Err(e) => Scan {
                walker: self.failed_walker(e),
                failed: false,
            },
        }
    }

    /// Like [`crate::Store::scan`] but yields the raw stored records (export, benchmarks).
    pub fn scan_raw(&self, from_seq: u64) -> RawScan {
        match self.walker(from_seq) {
            Ok(walker) => RawScan { walker },
            Err(e) => RawScan {
                walker: self.failed_walker(e),
            },
        }
    }

    fn failed_walker(&self, e: StoreError) -> Walker {
        let mut w = Walker::new(&self.db, self.sled_dir.clone(), self.key, 1, 1, 0);
        w.error = Some(e);
        w
    }
}
