//! The redo journal in front of sled: what makes an append durable with one device flush.
//!
//! Every committed batch is first written as one *frame* at the end of `DIR/vigil.journal`
//! and acknowledged after one `fdatasync` of that file; the same batch goes to sled with
//! `apply_batch` but without `flush()`. sled is made durable at a *checkpoint* (`flush()` +
//! `fdatasync(sled/db)`), after which the journal starts again at offset 0. At open, frames
//! whose records sled does not hold are applied to sled again (chain continuity checked), so
//! the store reopens to a prefix holding every acknowledged batch. See `docs/store.md`.
//!
//! The file is grown in zero-filled steps of [`GROW`] bytes and then reused, so that the
//! `fdatasync` of an append overwrites allocated blocks and needs no metadata commit.
//!
//! Frame layout (integers little-endian):
//!
//! | bytes | field |
//! |------:|-------|
//! | 4     | magic `VJF1` |
//! | 4     | body length |
//! | 8     | first seq |
//! | 4     | record count `n` (≥ 1) |
//! | 1     | flags: bit 0 = the frame sets the chain base (import of a partial export) |
//! | 3     | zero |
//! | 8     | first 8 bytes of BLAKE3 of the 24 bytes above |
//! | 32    | body: `prev`, chain hash before the first record |
//! | n ×   | body: `len: u32`, `hash: [u8; 32]`, `bytes` |
//!
//! A frame is valid when its header check matches, its body fits in the file, and every record
//! hash recomputes from `prev`, seq and bytes (with the store's key). A torn frame (power loss
//! during the write, never acknowledged) therefore fails and ends the journal.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use vigil_events::Hash;

use crate::chain::{chain_hash, Key};
use crate::store::Pending;
use crate::StoreError;

/// Journal file name in the store directory.
pub const JOURNAL: &str = "vigil.journal";
/// A checkpoint is taken once the journal holds this many bytes.
pub const CHECKPOINT_BYTES: u64 = 8 << 20;
/// The file grows in zero-filled steps of this size.
pub const GROW: u64 = 1 << 20;
const MAGIC: &[u8; 4] = b"VJF1";
const HEADER: usize = 32;
const FLAG_BASE: u8 = 1;

/// One record of a frame read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JournalRecord {
    pub seq: u64,
    pub prev: Hash,
    pub hash: Hash,
    pub bytes: Vec<u8>,
}

/// A valid frame read back at open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Frame {
    /// The frame sets the chain base to its first seq, with `prev` of its first record as anchor.
    pub sets_base: bool,
    /// Its records, in seq order, hashes checked.
    pub records: Vec<JournalRecord>,
}

/// The open journal file.
#[derive(Debug)]
pub(crate) struct Journal {
    path: PathBuf,
    file: File,
    /// Where the next frame goes.
    end: u64,
    /// Length of the file (all of it allocated: written frames or zeros).
    len: u64,
    buf: Vec<u8>,
}

fn header_check(h: &[u8]) -> [u8; 8] {
    let mut c = [0u8; 8];
    c.copy_from_slice(&blake3::hash(&h[..24]).as_bytes()[..8]);
    c
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// Parse one frame at the start of `b`: the frame and its length, or `None` when there is no
/// valid frame there (zeros, stale or torn bytes).
fn parse_frame(b: &[u8], key: Option<&Key>) -> Option<(Frame, usize)> {
    let h = b.get(..HEADER)?;
    if &h[..4] != MAGIC || h[24..32] != header_check(h) {
        return None;
    }
    let body_len = u32_at(h, 4)? as usize;
    let first = u64_at(h, 8)?;
    let count = u32_at(h, 16)? as usize;
    let flags = h[20];
    let body = b.get(HEADER..HEADER.checked_add(body_len)?)?;
    if count == 0 || body.len() < 32 {
        return None;
    }
    let mut prev: Hash = body[..32].try_into().ok()?;
    let mut at = 32;
    let mut records = Vec::with_capacity(count.min(body_len / 36));
    for i in 0..count {
        let len = u32_at(body, at)? as usize;
        let hash: Hash = body.get(at + 4..at + 36)?.try_into().ok()?;
        let bytes = body.get(at + 36..(at + 36).checked_add(len)?)?;
        let seq = first.checked_add(i as u64)?;
        if chain_hash(key, &prev, seq, bytes) != hash {
            return None;
        }
        records.push(JournalRecord {
            seq,
            prev,
            hash,
            bytes: bytes.to_vec(),
        });
        prev = hash;
        at += 36 + len;
    }
    if at != body.len() {
        return None;
    }
    Some((
        Frame {
            sets_base: flags & FLAG_BASE != 0,
            records,
        },
        HEADER + body_len,
    ))
}

/// A frame whose header is intact and continues the journal's seqs but whose body fails its
/// check: the journal itself is damaged there (or the frame was torn, never acknowledged).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DamagedFrame {
    /// Byte offset of the frame in the journal file.
    pub offset: u64,
    /// First seq the frame's header names.
    pub first_seq: u64,
    /// Last seq the frame's header names.
    pub last_seq: u64,
}

/// The valid frames at the start of `data` (each continuing the one before), where they end,
/// and the damaged frame after them, if there is one.
fn read_frames(data: &[u8], key: Option<&Key>) -> (Vec<Frame>, usize, Option<DamagedFrame>) {
    let mut frames: Vec<Frame> = Vec::new();
    let mut at = 0usize;
    while let Some((frame, n)) = parse_frame(&data[at..], key) {
        let continues = match frames.last().and_then(|f| f.records.last()) {
            None => true,
            Some(last) => {
                frame.records[0].seq == last.seq + 1 && frame.records[0].prev == last.hash
            }
        };
        if !continues {
            break;
        }
        frames.push(frame);
        at += n;
    }
    let damaged = data.get(at..at + HEADER).and_then(|h| {
        if &h[..4] != MAGIC || h[24..32] != header_check(h) {
            return None;
        }
        let first_seq = u64_at(h, 8)?;
        let count = u64::from(u32_at(h, 16)?);
        let next = frames
            .last()
            .and_then(|f| f.records.last())
            .map(|r| r.seq + 1);
        (count > 0 && next.is_none_or(|n| n == first_seq)).then(|| DamagedFrame {
            offset: at as u64,
            first_seq,
            last_seq: first_seq + count - 1,
        })
    });
    (frames, at, damaged)
}

/// What a read-only open finds in the journal of `dir`, without creating or changing it: its
/// valid frames and a damaged frame after them (nothing when there is no journal).
pub(crate) fn read_only(
    dir: &Path,
    key: Option<&Key>,
) -> Result<(Vec<Frame>, Option<DamagedFrame>), StoreError> {
    let path = dir.join(JOURNAL);
    let data = match std::fs::read(&path) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), None)),
        Err(e) => return Err(StoreError::io(&path, e)),
    };
    let (frames, _, damaged) = read_frames(&data, key);
    Ok((frames, damaged))
}

impl Journal {
    /// Open (or create) the journal of `dir` and read its valid frames: from offset 0, each
    /// frame continuing the seqs of the one before; the first invalid or discontinuous frame
    /// ends the journal. Creating the file syncs `dir`.
    pub(crate) fn open(
        dir: &Path,
        key: Option<&Key>,
    ) -> Result<(Journal, Vec<Frame>, Option<DamagedFrame>), StoreError> {
        let path = dir.join(JOURNAL);
        let existed = path.exists();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| StoreError::io(&path, e))?;
        if !existed {
            crate::open::sync_dir(dir)?;
        }
        let len = file.metadata().map_err(|e| StoreError::io(&path, e))?.len();
        let mut data = vec![0u8; usize::try_from(len).unwrap_or(usize::MAX)];
        file.read_exact_at(&mut data, 0)
            .map_err(|e| StoreError::io(&path, e))?;
        let (frames, at, damaged) = read_frames(&data, key);
        Ok((
            Journal {
                path,
                file,
                end: at as u64,
                len,
                buf: Vec::new(),
            },
            frames,
            damaged,
        ))
    }

    /// Undo a frame written at `at` whose batch failed: zero its header (bytes already
    /// allocated, so this needs no free space) and sync, so that no later open re-applies it.
    pub(crate) fn rollback(&mut self, at: u64) -> Result<(), StoreError> {
        self.end = at;
        if at + HEADER as u64 <= self.len {
            self.file
                .write_all_at(&[0u8; HEADER], at)
                .map_err(|e| StoreError::io(&self.path, e))?;
        }
        self.sync()
    }

    /// Bytes of frames since the last checkpoint.
    pub(crate) fn used(&self) -> u64 {
        self.end
    }

    /// Write the frame of records `first_seq ..` (chained from `prev`) at the end of the journal.
    /// Not yet durable: call [`Journal::sync`].
    pub(crate) fn write(
        &mut self,
        first_seq: u64,
        prev: &Hash,
        records: &[Pending],
        sets_base: bool,
    ) -> Result<(), StoreError> {
        let body_len: usize = 32 + records.iter().map(|r| 36 + r.bytes.len()).sum::<usize>();
        let body_len32 = u32::try_from(body_len).map_err(|_| {
            StoreError::io(
                &self.path,
                std::io::Error::new(std::io::ErrorKind::InvalidInput, "batch too large"),
            )
        })?;
        let buf = &mut self.buf;
        buf.clear();
        buf.reserve(HEADER + body_len);
        buf.extend_from_slice(MAGIC);
        buf.extend_from_slice(&body_len32.to_le_bytes());
        buf.extend_from_slice(&first_seq.to_le_bytes());
        buf.extend_from_slice(&(records.len() as u32).to_le_bytes());
        buf.extend_from_slice(&[if sets_base { FLAG_BASE } else { 0 }, 0, 0, 0]);
        let check = header_check(buf);
        buf.extend_from_slice(&check);
        buf.extend_from_slice(prev);
        for r in records {
            buf.extend_from_slice(&(r.bytes.len() as u32).to_le_bytes());
            buf.extend_from_slice(&r.hash);
            buf.extend_from_slice(&r.bytes);
        }
        let need = self.end + buf.len() as u64;
        if need > self.len {
            // Grow with zeros so that later overwrites need no metadata; the fdatasync of this
            // frame commits the new size.
            let new_len = need.div_ceil(GROW) * GROW;
            let zeros = vec![0u8; GROW as usize];
            let mut at = self.len;
            while at < new_len {
                let n = (new_len - at).min(GROW) as usize;
                self.file
                    .write_all_at(&zeros[..n], at)
                    .map_err(|e| StoreError::io(&self.path, e))?;
                at += n as u64;
            }
            self.len = new_len;
        }
        self.file
            .write_all_at(&self.buf, self.end)
            .map_err(|e| StoreError::io(&self.path, e))?;
        self.end = need;
        Ok(())
    }

    /// `fdatasync` of the journal: makes every written frame durable.
    pub(crate) fn sync(&self) -> Result<(), StoreError> {
        self.file
            .sync_data()
            .map_err(|e| StoreError::io(&self.path, e))
    }

    /// After a checkpoint (sled durable): start again at offset 0. The first frame header is
    /// zeroed (not synced: stale frames hold seqs sled already has, and at open they are
    /// skipped; zeroing only keeps a later open from re-reading them).
    pub(crate) fn reset(&mut self) -> Result<(), StoreError> {
        if self.end > 0 {
            self.file
                .write_all_at(&[0u8; HEADER], 0)
                .map_err(|e| StoreError::io(&self.path, e))?;
        }
        self.end = 0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(prev: &Hash, first: u64, n: u64) -> Vec<Pending> {
        let mut prev = *prev;
        (first..first + n)
            .map(|seq| {
                let bytes = format!("record {seq}").into_bytes();
                let hash = chain_hash(None, &prev, seq, &bytes);
                prev = hash;
                Pending {
                    bytes,
                    hash,
                    ts: 0,
                    source: vigil_events::Source::Ops,
                    kind: vigil_events::EventKind::LoadGenerated,
                }
            })
            .collect()
    }

    #[test]
    fn frames_round_trip_and_a_torn_tail_ends_the_journal() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let (mut j, frames, _) = Journal::open(tmp.path(), None).expect("open");
        assert!(frames.is_empty());
        let a = pending(&[0; 32], 1, 3);
        let b = pending(&a[2].hash, 4, 2);
        j.write(1, &[0; 32], &a, false).expect("write a");
        j.write(4, &a[2].hash, &b, false).expect("write b");
        j.sync().expect("sync");
        let used = j.used();
        drop(j);
        assert_eq!(
            std::fs::metadata(tmp.path().join(JOURNAL))
                .expect("meta")
                .len(),
            GROW
        );
        let (_, frames, _) = Journal::open(tmp.path(), None).expect("reopen");
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[1].records[1].seq, 5);
        assert_eq!(frames[1].records[1].bytes, b"record 5");
        // Tear the second frame anywhere: only the first survives.
        let path = tmp.path().join(JOURNAL);
        let data = std::fs::read(&path).expect("read");
        for cut in [used as usize - 1, used as usize - 10, 200] {
            let mut torn = data.clone();
            torn[cut] ^= 0x40;
            std::fs::write(&path, &torn).expect("write");
            let (j, frames, _) = Journal::open(tmp.path(), None).expect("reopen");
            assert_eq!(frames.len(), 1, "cut {cut}");
            let first_len: usize = HEADER
                + 32
                + frames[0]
                    .records
                    .iter()
                    .map(|r| 36 + r.bytes.len())
                    .sum::<usize>();
            assert_eq!(j.used(), first_len as u64, "cut {cut}");
        }
    }

    #[test]
    fn reset_starts_over_and_stale_frames_are_not_read_as_new() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let (mut j, _, _) = Journal::open(tmp.path(), None).expect("open");
        let a = pending(&[0; 32], 1, 50);
        j.write(1, &[0; 32], &a, false).expect("write");
        j.reset().expect("reset");
        let (_, frames, _) = Journal::open(tmp.path(), None).expect("reopen");
        assert!(frames.is_empty(), "reset hides the old frames");
        let b = pending(&a[49].hash, 51, 1);
        j.write(51, &a[49].hash, &b, true).expect("write");
        j.sync().expect("sync");
        let (_, frames, _) = Journal::open(tmp.path(), None).expect("reopen");
        assert_eq!(frames.len(), 1, "the rest of the old frame is not a frame");
        assert!(frames[0].sets_base);
        assert_eq!(frames[0].records[0].seq, 51);
    }
}
