//! Sequential reads for replay and export: segments in seq order, every hash recomputed and
//! every link checked on the way.

use std::path::PathBuf;
use std::sync::mpsc::TrySendError;

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
    /// The exact stored bytes (a MessagePack record, see `vigil_events::RecordHeader`);
    /// empty for a redaction.
    pub bytes: Vec<u8>,
    /// True for a redaction (purged by retention; only its hash is left).
    pub redacted: bool,
}

/// A record borrowed from the current segment: seq, prev, hash, bytes, redacted.
pub(crate) type RecordView<'a> = (u64, Hash, Hash, &'a [u8], bool);

/// One record inside the current segment: seq, hashes and its byte range in the value.
#[derive(Debug, Clone, Copy)]
struct Slot {
    seq: u64,
    prev: Hash,
    hash: Hash,
    start: usize,
    end: usize,
    redacted: bool,
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
    /// Leave the hashes of the records it yields to the caller (the pipelined scan checks
    /// them on the decoding side); records before `from` are still checked here.
    defer_hashes: bool,
    /// The hashes of the current segment's records were checked here.
    checked: bool,
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
            defer_hashes: false,
            checked: true,
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
        let iter = &mut self.iter;
        let next = crate::quiet::quietly(|| iter.next()).map_err(|msg| {
            let at = self.expect_seq.unwrap_or(self.from);
            self.corrupt(
                at,
                format!(
                    "{} is damaged: sled panicked while reading it ({msg}); {}",
                    self.path.join("db").display(),
                    crate::error::read_failure_advice(self.from.min(at), at, self.last)
                ),
            )
        })?;
        let Some(item) = next else {
            if let Some(s) = self.expect_seq.filter(|&s| s <= self.last) {
                return Err(self.corrupt(s, "gap: the log ends before the head".into()));
            }
            return Ok(false);
        };
        let (k, v) = item.map_err(|e| {
            let at = self.expect_seq.unwrap_or(self.from);
            self.corrupt(
                at,
                format!(
                    "{}; {}",
                    crate::error::describe_sled(&self.path, &e),
                    crate::error::read_failure_advice(self.from.min(at), at, self.last)
                ),
            )
        })?;
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
        // Measured: reading is the heavier side, so a piped scan leaves all the hashing of
        // the records it yields to the decoding side (splitting it half-half was slower).
        let defer = self.defer_hashes;
        self.checked = !defer;
        for r in &seg.records {
            let yielded = r.seq >= self.from && r.seq <= self.last;
            // A redaction has no bytes to hash: its stored hash carries the chain on.
            if !(r.redacted || yielded && defer)
                && chain_hash(self.key.as_ref(), &r.prev, r.seq, r.bytes) != r.hash
            {
                return Err(hash_mismatch(&self.path, r.seq));
            }
            if yielded {
                let start = r.bytes.as_ptr() as usize - base;
                self.slots.push(Slot {
                    seq: r.seq,
                    prev: r.prev,
                    hash: r.hash,
                    start,
                    end: start + r.bytes.len(),
                    redacted: r.redacted,
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

    /// The next segment's value and its records in range (hashes checked), for the pipelined
    /// scan; `None` at the end.
    fn next_segment(&mut self) -> Option<Result<Chunk, StoreError>> {
        if let Some(e) = self.error.take() {
            self.done = true;
            return Some(Err(e));
        }
        while !self.done {
            match self.load() {
                Ok(true) if self.slots.is_empty() => {}
                Ok(true) => {
                    return Some(Ok(Chunk::Raw {
                        value: std::mem::take(&mut self.value),
                        slots: std::mem::take(&mut self.slots),
                        checked: self.checked,
                    }))
                }
                Ok(false) => self.done = true,
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
        None
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
        Some(Ok((
            s.seq,
            s.prev,
            s.hash,
            &self.value[s.start..s.end],
            s.redacted,
        )))
    }
}

/// A verified segment handed from the reading thread to the decoding one: raw, or already
/// decoded when the decoding side was behind.
#[derive(Debug)]
enum Chunk {
    Raw {
        value: sled::IVec,
        slots: Vec<Slot>,
        /// The reader already checked the hashes.
        checked: bool,
    },
    Decoded(std::vec::IntoIter<Result<Envelope, StoreError>>),
}

impl Chunk {
    /// Check and decode every record, up to and including the first error.
    fn decode(self, path: &std::path::Path, key: Option<&Key>) -> Chunk {
        let Chunk::Raw {
            value,
            slots,
            checked,
        } = self
        else {
            return self;
        };
        let mut out = Vec::with_capacity(slots.len());
        for s in slots.iter().filter(|s| !s.redacted) {
            let r = check_and_decode(path, key, checked, s, &value[s.start..s.end]);
            let bad = r.is_err();
            out.push(r);
            if bad {
                break;
            }
        }
        Chunk::Decoded(out.into_iter())
    }
}

/// Scans of at least this many records read segments on a second thread while the caller's
/// thread checks the hashes and decodes.
const PIPELINE_MIN: u64 = 8192;
/// Verified segments buffered between the two threads.
const PIPELINE_DEPTH: usize = 16;

#[derive(Debug)]
enum Feed {
    /// Read, verify and decode on the caller's thread.
    Inline(Box<Walker>),
    /// A reader thread reads segments (density, links); this side checks the hashes and
    /// decodes.
    Piped {
        /// In a mutex only so that `Scan` stays `Sync`; used through `get_mut` (no locking).
        rx: std::sync::Mutex<std::sync::mpsc::Receiver<Result<Chunk, StoreError>>>,
        chunk: Option<Chunk>,
        pos: usize,
    },
    /// The reader thread could not be started.
    Failed(Option<StoreError>),
}

/// Iterator over decoded events from a seq on (see [`crate::Store::scan`]).
#[derive(Debug)]
pub struct Scan {
    feed: Feed,
    path: PathBuf,
    key: Option<Key>,
    /// Opens sealed payloads (on the caller's thread), when the store has the key.
    keyring: Option<std::sync::Arc<crate::seal::Keyring>>,
    failed: bool,
}

fn hash_mismatch(path: &std::path::Path, seq: u64) -> StoreError {
    StoreError::Corrupt {
        path: path.to_path_buf(),
        seq,
        what: "hash mismatch: stored hash differs from BLAKE3 of the record".into(),
    }
}

/// Check a record's hash, then decode it (the decoding side of the pipelined scan).
fn check_and_decode(
    path: &std::path::Path,
    key: Option<&Key>,
    checked: bool,
    s: &Slot,
    bytes: &[u8],
) -> Result<Envelope, StoreError> {
    if !checked && chain_hash(key, &s.prev, s.seq, bytes) != s.hash {
        return Err(hash_mismatch(path, s.seq));
    }
    decode_checked(path, s.seq, s.prev, s.hash, bytes)
}

fn decode_checked(
    path: &std::path::Path,
    seq: u64,
    prev: Hash,
    hash: Hash,
    bytes: &[u8],
) -> Result<Envelope, StoreError> {
    match Envelope::decode(bytes, prev, hash) {
        Ok(env) if env.seq == seq => Ok(env),
        Ok(env) => Err(StoreError::Corrupt {
            path: path.to_path_buf(),
            seq,
            what: format!("record says seq {}", env.seq),
        }),
        Err(e) => Err(StoreError::Corrupt {
            path: path.to_path_buf(),
            seq,
            what: format!("undecodable record: {e}"),
        }),
    }
}

impl Scan {
    fn new(walker: Walker) -> Self {
        let path = walker.path.clone();
        let key = walker.key;
        let long =
            walker.last.saturating_sub(walker.from) >= PIPELINE_MIN && walker.error.is_none();
        let feed = if long {
            let (tx, rx) = std::sync::mpsc::sync_channel(PIPELINE_DEPTH);
            let mut walker = walker;
            walker.defer_hashes = true;
            let spawned = std::thread::Builder::new()
                .name("vigil-scan".into())
                .spawn(move || {
                    while let Some(item) = walker.next_segment() {
                        let item = match tx.try_send(item) {
                            Ok(()) => continue,
                            // The scan was dropped early.
                            Err(TrySendError::Disconnected(_)) => break,
                            Err(TrySendError::Full(item)) => item,
                        };
                        // The decoding side is behind: decode this segment here, so that
                        // both threads share the decoding.
                        let item = item.map(|c| c.decode(&walker.path, walker.key.as_ref()));
                        if tx.send(item).is_err() {
                            break;
                        }
                    }
                });
            match spawned {
                Ok(_) => Feed::Piped {
                    rx: std::sync::Mutex::new(rx),
                    chunk: None,
                    pos: 0,
                },
                Err(e) => Feed::Failed(Some(StoreError::io(&path, e))),
            }
        } else {
            Feed::Inline(Box::new(walker))
        };
        Scan {
            feed,
            path,
            key,
            keyring: None,
            failed: false,
        }
    }
}

impl Iterator for Scan {
    type Item = Result<Envelope, StoreError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let ring = self.keyring.as_deref();
        let path = &self.path;
        let open = |r: Result<Envelope, StoreError>| {
            r.and_then(|env| crate::store::unseal(ring, path, env))
        };
        let item = match &mut self.feed {
            // Redactions are skipped: they hold no event.
            Feed::Inline(walker) => loop {
                match walker.next_ref()? {
                    Err(e) => break Err(e),
                    Ok((_, _, _, _, true)) => continue,
                    Ok((seq, prev, hash, bytes, false)) => {
                        break open(decode_checked(path, seq, prev, hash, bytes))
                    }
                }
            },
            Feed::Failed(e) => Err(e.take()?),
            Feed::Piped { rx, chunk, pos } => loop {
                match chunk {
                    Some(Chunk::Raw {
                        value,
                        slots,
                        checked,
                    }) => {
                        while slots.get(*pos).is_some_and(|s| s.redacted) {
                            *pos += 1;
                        }
                        if let Some(s) = slots.get(*pos) {
                            *pos += 1;
                            let bytes = &value[s.start..s.end];
                            break open(check_and_decode(
                                path,
                                self.key.as_ref(),
                                *checked,
                                s,
                                bytes,
                            ));
                        }
                    }
                    Some(Chunk::Decoded(it)) => {
                        if let Some(r) = it.next() {
                            break open(r);
                        }
                    }
                    None => {}
                }
                match rx.get_mut().unwrap_or_else(|e| e.into_inner()).recv() {
                    Ok(Ok(c)) => {
                        *chunk = Some(c);
                        *pos = 0;
                    }
                    Ok(Err(e)) => break Err(e),
                    // The reader thread is done (or died): the end.
                    Err(_) => return None,
                }
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
                .map(|(seq, prev, hash, bytes, redacted)| RawRecord {
                    seq,
                    prev,
                    hash,
                    bytes: bytes.to_vec(),
                    redacted,
                }),
        )
    }
}

impl RawScan {
    /// Visit every remaining record that holds an event (redactions skipped) without copying
    /// its bytes; stops at the first error.
    pub fn for_each_ref(
        self,
        mut f: impl FnMut(u64, &Hash, &Hash, &[u8]) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        self.for_each_stored(|seq, prev, hash, bytes| match bytes {
            Some(b) => f(seq, prev, hash, b),
            None => Ok(()),
        })
    }

    /// Visit every remaining stored record, redactions included (`None` bytes), without
    /// copying; stops at the first error. Returns how many were visited.
    pub fn for_each_stored(
        mut self,
        mut f: impl FnMut(u64, &Hash, &Hash, Option<&[u8]>) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        let mut n = 0;
        while let Some(r) = self.walker.next_ref() {
            let (seq, prev, hash, bytes, redacted) = r?;
            f(seq, &prev, &hash, (!redacted).then_some(bytes))?;
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
    ///
    /// Long scans read and verify segments on a second thread while the caller's thread
    /// decodes (the order and the errors are the same).
    pub fn scan(&self, from_seq: u64) -> Scan {
        let mut scan = match self.walker(from_seq) {
            Ok(walker) => Scan::new(walker),
            Err(e) => Scan::new(self.failed_walker(e)),
        };
        scan.keyring = self.keyring.clone();
        scan
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
