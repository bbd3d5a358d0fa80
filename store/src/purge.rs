//! Retention's side of the store: per-record purge into *redactions*, removal of whole leading
//! segments with a new base, the index of records retention plans from, and where a seq went.
//!
//! A purge is executed in bounded steps, each one atomic sled batch taken under the writer
//! lock, so appends wait for at most one step. Steps are idempotent: the destruction record
//! (`RecordsDestroyed`, appended and durable *before* the first step) is the intent, and
//! [`Store::resume_purge`] re-executes the latest one, so a purge cut by a crash is completed
//! by the next retention run. Steps are not flushed one by one; the last one checkpoints.

use std::collections::BTreeSet;

use vigil_events::kinds::{RecordsDestroyed, SeqRange};
use vigil_events::{
    decode_payload, DataClass, Envelope, Event, EventKind, Hash, RecordHeader, Source, UtcMicros,
};

use crate::segment::{Segment, SegmentWriter};
use crate::{keys, Store, StoreError};

/// One record as retention sees it: enough to decide whether it is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedRecord {
    /// Its seq.
    pub seq: u64,
    /// Its timestamp.
    pub ts: UtcMicros,
    /// Its source.
    pub source: Source,
    /// Its kind.
    pub kind: EventKind,
    /// The class it was recorded with.
    pub class: DataClass,
    /// Stored bytes.
    pub len: u64,
    /// First seq of the segment holding it.
    pub segment: u64,
}

/// What one purge step did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PurgeStep {
    /// Records turned into redactions by this step.
    pub redacted: u64,
    /// Segments removed outright (all their records due, at the start of the log).
    pub segments_removed: u64,
    /// Record bytes freed.
    pub bytes: u64,
    /// Where the next step starts (first seq of the next segment to look at); `None` when the
    /// purge is complete.
    pub next: Option<u64>,
}

/// Where a seq is: held, purged (by which destruction record), never recorded, or missing.
#[derive(Debug, Clone, PartialEq)]
pub enum SeqStatus {
    /// The store holds the event.
    Held(Box<Envelope>),
    /// Purged by retention: a redaction (`in_log`) or removed with its segment before the
    /// base; `by` is the seq of the `RecordsDestroyed` that covers it, when one does.
    Purged {
        /// The destruction record.
        by: Option<u64>,
        /// True when a redaction is still in the log (its hash links are checked).
        in_log: bool,
    },
    /// Never recorded: beyond the last seq, or seq 0.
    NeverRecorded,
    /// Before the base of a store imported from a partial export (not purged here).
    NotImported,
}

/// True when `seq` lies in one of the sorted, disjoint `ranges`.
pub(crate) fn covers(ranges: &[SeqRange], seq: u64) -> bool {
    let i = ranges.partition_point(|r| r.to < seq);
    ranges.get(i).is_some_and(|r| r.from <= seq)
}

/// Verify's bookkeeping of redactions and destruction records.
#[derive(Debug, Default)]
pub(crate) struct Redactions {
    /// Redacted seqs as ranges, in order.
    redacted: Vec<SeqRange>,
    /// (seq, ranges, base after) of every destruction record walked.
    destroyed: Vec<(u64, Vec<SeqRange>, u64)>,
}

impl Redactions {
    pub(crate) fn redacted(&mut self, seq: u64) {
        match self.redacted.last_mut() {
            Some(r) if r.to + 1 == seq => r.to = seq,
            _ => self.redacted.push(SeqRange { from: seq, to: seq }),
        }
    }

    pub(crate) fn saw(&mut self, env: &Envelope) {
        if let Event::RecordsDestroyed(d) = &env.payload {
            self.destroyed.push((env.seq, d.ranges.clone(), d.base_seq));
        }
    }

    /// How many redactions (and records before the base) each destruction record covers;
    /// an error (seq, detail) when a redaction is covered by none: that is a gap.
    pub(crate) fn attribute(&self, base_seq: u64) -> Result<Vec<(u64, u64)>, (u64, String)> {
        let mut by: std::collections::BTreeMap<u64, u64> = Default::default();
        if base_seq > 1 {
            if let Some((seq, _, _)) = self.destroyed.iter().rev().find(|d| d.2 == base_seq) {
                *by.entry(*seq).or_default() += base_seq - 1;
            }
        }
        for r in &self.redacted {
            let mut s = r.from;
            while s <= r.to {
                // The latest record covering `s` names it (a resumed purge repeats ranges).
                let Some((dseq, ranges, _)) = self
                    .destroyed
                    .iter()
                    .rev()
                    .find(|(dseq, rs, _)| *dseq > s && covers(rs, s))
                else {
                    return Err((
                        s,
                        format!(
                            "seq {s} is a redaction but no RecordsDestroyed record covers it: \
                             records were removed without a destruction record"
                        ),
                    ));
                };
                let i = ranges.partition_point(|x| x.to < s);
                let end = ranges[i].to.min(r.to);
                *by.entry(*dseq).or_default() += end - s + 1;
                s = end + 1;
            }
        }
        Ok(by.into_iter().collect())
    }
}

/// Index keys a segment's live (not redacted) records call for.
fn index_keys(first: u64, seg: &Segment<'_>) -> Result<BTreeSet<Vec<u8>>, (u64, String)> {
    let mut out = BTreeSet::new();
    for r in seg.records.iter().filter(|r| !r.redacted) {
        let h = RecordHeader::decode(r.bytes).map_err(|e| (r.seq, e.to_string()))?;
        out.insert(keys::time(keys::bucket(h.ts), first).to_vec());
        out.insert(keys::sk(h.source, h.kind, first).to_vec());
    }
    Ok(out)
}

impl Store {
    /// The stored `prev` of `seq` (held or redacted), read from its segment.
    pub(crate) fn prev_of(&self, seq: u64) -> Result<Hash, StoreError> {
        let Some((first, v)) = self.segment_of(seq)? else {
            return Err(self.corrupt(seq, "missing"));
        };
        let seg = Segment::decode(first, &v).map_err(|e| self.corrupt(first, e.to_string()))?;
        let idx = usize::try_from(seq - first).unwrap_or(usize::MAX);
        seg.records
            .get(idx)
            .map(|r| r.prev)
            .ok_or_else(|| self.corrupt(seq, "missing"))
    }

    /// Every record held from `from_seq` on (redactions left out), in seq order, with what
    /// retention needs to plan. Reads segments directly; the chain is not re-verified here.
    pub fn retention_index(
        &self,
        from_seq: u64,
        mut f: impl FnMut(IndexedRecord) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let st = self.state();
        let from = from_seq.max(st.base_seq);
        let start = self.segment_of(from)?.map_or(from, |(s, _)| s);
        for kv in self.db.range(keys::seg(start)..=keys::seg(st.last_seq)) {
            let (k, v) = kv.map_err(|e| StoreError::sled(&self.sled_dir, e))?;
            let Some(first) = keys::seg_seq(&k) else {
                continue;
            };
            let seg = Segment::decode(first, &v).map_err(|e| self.corrupt(first, e.to_string()))?;
            for r in seg.records.iter().filter(|r| !r.redacted && r.seq >= from) {
                if r.seq > st.last_seq {
                    return Ok(());
                }
                let h = RecordHeader::decode(r.bytes).map_err(|e| self.decode_err(r.seq, e))?;
                f(IndexedRecord {
                    seq: r.seq,
                    ts: h.ts,
                    source: h.source,
                    kind: h.kind,
                    class: h.class,
                    len: r.bytes.len() as u64,
                    segment: first,
                })?;
            }
        }
        Ok(())
    }

    /// The base a purge of `ranges` leaves: the first seq of the first segment that keeps a
    /// record, and the chain hash before it. Segments at the start of the log whose every
    /// record is due (or already redacted) are removed outright.
    pub fn purge_base(&self, ranges: &[SeqRange]) -> Result<(u64, Hash), StoreError> {
        let st = self.state();
        let (mut base, mut anchor) = (st.base_seq, st.anchor);
        for kv in self
            .db
            .range(keys::seg(st.base_seq)..=keys::seg(st.last_seq))
        {
            let (k, v) = kv.map_err(|e| StoreError::sled(&self.sled_dir, e))?;
            let Some(first) = keys::seg_seq(&k) else {
                break;
            };
            let seg = Segment::decode(first, &v).map_err(|e| self.corrupt(first, e.to_string()))?;
            // The segment holding the head is never removed: the head must stay readable.
            if seg.last_seq() >= st.last_seq
                || !seg
                    .records
                    .iter()
                    .all(|r| r.redacted || covers(ranges, r.seq))
            {
                break;
            }
            base = seg.last_seq() + 1;
            anchor = seg.last_hash();
        }
        Ok((base, anchor))
    }

    /// One bounded step of a purge of `ranges` (sorted, disjoint), from the segment starting at
    /// `from` (use the purge's first seq to start), touching at most `max_segments` segments:
    /// records in the ranges become redactions, segments below `new_base` go with their index
    /// entries, the `B` key follows. One atomic sled batch under the writer lock. Idempotent:
    /// repeating a step (or the whole purge) changes nothing more. Refuses to purge any seq at
    /// or after `destruction_seq` (the destruction record itself and what came after it).
    pub fn purge_step(
        &self,
        ranges: &[SeqRange],
        new_base: u64,
        destruction_seq: u64,
        from: u64,
        max_segments: usize,
    ) -> Result<PurgeStep, StoreError> {
        let mut out = PurgeStep::default();
        let Some(end) = ranges.last().map(|r| r.to) else {
            return Ok(out);
        };
        if end >= destruction_seq {
            return Err(self.corrupt(
                end,
                format!(
                    "a purge may only destroy records before its destruction record (seq \
                     {destruction_seq})"
                ),
            ));
        }
        let writer = self.lock_writer();
        let st = self.check_writable(&writer)?;
        let sled_err = |e| StoreError::sled(&self.sled_dir, e);
        let from = from.max(st.base_seq);
        let start = self.segment_of(from)?.map_or(from, |(s, _)| s);
        let mut batch = sled::Batch::default();
        let mut touched = 0usize;
        let mut scanned = 0usize;
        let mut next_base: Option<(u64, Hash)> = None;
        let mut iter = self
            .db
            .range(keys::seg(start)..=keys::seg(end.min(st.last_seq)));
        loop {
            let Some(kv) = iter.next() else {
                out.next = None;
                break;
            };
            let (k, v) = kv.map_err(sled_err)?;
            let Some(first) = keys::seg_seq(&k) else {
                continue;
            };
            scanned += 1;
            // Bound the time under the lock also where most segments keep everything.
            if touched >= max_segments || scanned > max_segments.saturating_mul(8) {
                out.next = Some(first);
                break;
            }
            let seg = Segment::decode(first, &v).map_err(|e| self.corrupt(first, e.to_string()))?;
            let due: Vec<bool> = seg
                .records
                .iter()
                .map(|r| !r.redacted && covers(ranges, r.seq))
                .collect();
            let remove = seg.last_seq() < new_base && first >= st.base_seq;
            if !remove && !due.iter().any(|&d| d) {
                continue;
            }
            touched += 1;
            let old_keys = index_keys(first, &seg).map_err(|(s, e)| self.decode_err(s, e))?;
            for (r, &d) in seg.records.iter().zip(&due) {
                if d || (remove && !r.redacted) {
                    out.redacted += 1;
                    out.bytes += r.bytes.len() as u64;
                }
            }
            if remove {
                out.segments_removed += 1;
                batch.remove(&k);
                for key in old_keys {
                    batch.remove(key);
                }
                next_base = Some((seg.last_seq() + 1, seg.last_hash()));
                continue;
            }
            let mut w = SegmentWriter::new(&seg.prev);
            for (r, &d) in seg.records.iter().zip(&due) {
                if d || r.redacted {
                    w.push_redacted(&r.hash);
                } else {
                    w.push(&r.hash, r.bytes);
                }
            }
            let value = w.finish();
            let new_seg =
                Segment::decode(first, &value).map_err(|e| self.corrupt(first, e.to_string()))?;
            let new_keys = index_keys(first, &new_seg).map_err(|(s, e)| self.decode_err(s, e))?;
            for key in old_keys.difference(&new_keys) {
                batch.remove(key.clone());
            }
            batch.insert(&k, value);
        }
        if let Some((b, anchor)) = next_base {
            batch.insert(keys::BASE, &keys::head_value(b, &anchor)[..]);
        }
        if touched > 0 {
            crate::quiet::quietly(|| self.db.apply_batch(batch))
                .unwrap_or_else(|msg| {
                    Err(sled::Error::ReportableBug(format!("sled panicked: {msg}")))
                })
                .map_err(sled_err)?;
            if let Some((b, anchor)) = next_base {
                self.publish_base(b, anchor);
            }
        }
        drop(writer);
        if out.next.is_none() {
            // The purge is complete: make it durable (sled flush + fdatasync).
            self.checkpoint()?;
        }
        Ok(out)
    }

    /// Run a whole purge in steps of `max_segments` segments, releasing the writer lock
    /// between steps. Returns the summed steps.
    pub fn purge(
        &self,
        destroyed: &RecordsDestroyed,
        destruction_seq: u64,
        max_segments: usize,
    ) -> Result<PurgeStep, StoreError> {
        let mut total = PurgeStep::default();
        let Some(first) = destroyed.ranges.first() else {
            return Ok(total);
        };
        let mut from = first.from.min(destroyed.base_seq);
        loop {
            let step = self.purge_step(
                &destroyed.ranges,
                destroyed.base_seq,
                destruction_seq,
                from,
                max_segments.max(1),
            )?;
            total.redacted += step.redacted;
            total.segments_removed += step.segments_removed;
            total.bytes += step.bytes;
            match step.next {
                Some(n) => from = n,
                None => return Ok(total),
            }
        }
    }

    /// Every destruction record held, oldest first: its seq and payload.
    pub fn destruction_records(&self) -> Result<Vec<(u64, RecordsDestroyed)>, StoreError> {
        let mut out = Vec::new();
        let st = self.state();
        for source in Source::ALL {
            let prefix = keys::sk_prefix(source, Some(EventKind::RecordsDestroyed));
            for kv in self.db.scan_prefix(prefix) {
                let (k, _) = kv.map_err(|e| StoreError::sled(&self.sled_dir, e))?;
                let Some((_, _, first)) = keys::parse_sk(&k) else {
                    continue;
                };
                let Some(v) = self.load_segment(first)? else {
                    continue;
                };
                let seg =
                    Segment::decode(first, &v).map_err(|e| self.corrupt(first, e.to_string()))?;
                for r in seg
                    .records
                    .iter()
                    .filter(|r| !r.redacted && r.seq <= st.last_seq)
                {
                    let h = RecordHeader::decode(r.bytes).map_err(|e| self.decode_err(r.seq, e))?;
                    if h.kind != EventKind::RecordsDestroyed {
                        continue;
                    }
                    let ev = decode_payload(h.kind, h.schema, h.payload)
                        .map_err(|e| self.decode_err(r.seq, e))?;
                    if let Event::RecordsDestroyed(d) = ev {
                        out.push((r.seq, d));
                    }
                }
            }
        }
        out.sort_by_key(|(s, _)| *s);
        out.dedup_by_key(|(s, _)| *s);
        Ok(out)
    }

    /// Complete the latest destruction record's purge if a crash cut it (idempotent; a
    /// complete purge costs one read of its segments). Returns what it still had to do.
    pub fn resume_purge(
        &self,
        max_segments: usize,
    ) -> Result<Option<(u64, PurgeStep)>, StoreError> {
        let Some((seq, d)) = self.destruction_records()?.pop() else {
            return Ok(None);
        };
        let step = self.purge(&d, seq, max_segments)?;
        Ok((step.redacted > 0 || step.segments_removed > 0).then_some((seq, step)))
    }

    /// Where `seq` is (see [`SeqStatus`]).
    pub fn locate(&self, seq: u64) -> Result<SeqStatus, StoreError> {
        let st = self.state();
        if seq == 0 || seq > st.last_seq {
            return Ok(SeqStatus::NeverRecorded);
        }
        let by = |in_log: bool| -> Result<SeqStatus, StoreError> {
            let by = self
                .destruction_records()?
                .into_iter()
                .rev()
                .find(|(dseq, d)| {
                    *dseq > seq && (covers(&d.ranges, seq) || (!in_log && seq < d.base_seq))
                })
                .map(|(s, _)| s);
            Ok(SeqStatus::Purged { by, in_log })
        };
        if seq < st.base_seq {
            let status = by(false)?;
            if matches!(status, SeqStatus::Purged { by: None, .. }) {
                return Ok(SeqStatus::NotImported);
            }
            return Ok(status);
        }
        match self.get(seq)? {
            Some(env) => Ok(SeqStatus::Held(Box::new(env))),
            None => by(true),
        }
    }
}
