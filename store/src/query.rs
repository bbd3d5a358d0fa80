//! Queries: a time range plus optional source / kind / class filters, forward or backward,
//! paged by a seq cursor. Results are in seq order. Only index ranges are read: the time index
//! (10-minute buckets of event `ts`, one entry per bucket a segment touches, so late events with
//! old timestamps are found too) and the `(source, kind)` index.

use std::collections::BTreeSet;

use vigil_events::{DataClass, Envelope, EventKind, RecordHeader, Source, UtcMicros};

use crate::segment::Segment;
use crate::{keys, Store, StoreError};

/// What to look for. `since` is inclusive, `until` exclusive (event `ts`, UTC µs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// Events with `ts >= since`.
    pub since: Option<UtcMicros>,
    /// Events with `ts < until`.
    pub until: Option<UtcMicros>,
    /// Only this source.
    pub source: Option<Source>,
    /// Only this kind.
    pub kind: Option<EventKind>,
    /// Only this data class.
    pub class: Option<DataClass>,
    /// Page size, at least 1.
    pub limit: usize,
    /// Newest first when true.
    pub backward: bool,
    /// Continue after this seq (the previous page's `next_cursor`).
    pub cursor: Option<u64>,
}

impl Default for Query {
    fn default() -> Self {
        Query {
            since: None,
            until: None,
            source: None,
            kind: None,
            class: None,
            limit: 100,
            backward: false,
            cursor: None,
        }
    }
}

/// One page of results.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// Matching events in seq order (descending when the query is backward).
    pub items: Vec<Envelope>,
    /// Pass as `cursor` to get the next page; `None` when there is no more.
    pub next_cursor: Option<u64>,
}

/// Above this many time candidates, a query that also filters on source/kind walks the
/// (source, kind) index and checks time membership instead of the reverse.
const PROBE_LIMIT: usize = 2048;

impl Query {
    fn matches(&self, h: &RecordHeader<'_>) -> bool {
        self.since.is_none_or(|s| h.ts >= s)
            && self.until.is_none_or(|u| h.ts < u)
            && self.source.is_none_or(|s| h.source == s)
            && self.kind.is_none_or(|k| h.kind == k)
            && self.class.is_none_or(|c| h.class == c)
    }
}

type SeqIter<'a> = Box<dyn Iterator<Item = Result<u64, StoreError>> + 'a>;

impl Store {
    fn sk_prefixes(&self, q: &Query) -> Vec<Vec<u8>> {
        match (q.source, q.kind) {
            (None, None) => Vec::new(),
            (Some(s), Some(k)) => vec![keys::sk_prefix(s, Some(k))],
            (Some(s), None) => EventKind::ALL
                .iter()
                .map(|&k| keys::sk_prefix(s, Some(k)))
                .collect(),
            (None, Some(k)) => Source::ALL
                .iter()
                .map(|&s| keys::sk_prefix(s, Some(k)))
                .collect(),
        }
    }

    /// Segment first-seqs from one (source, kind) index within `[lo, hi]`.
    fn sk_stream(&self, prefix: &[u8], lo: u64, hi: u64, backward: bool) -> SeqIter<'_> {
        let mut start = prefix.to_vec();
        let mut end = prefix.to_vec();
        start.extend_from_slice(&lo.to_be_bytes());
        end.extend_from_slice(&hi.to_be_bytes());
        let iter = self.db.range(start..=end);
        let path = self.sled_dir.clone();
        let map =
            move |r: sled::Result<(sled::IVec, sled::IVec)>| -> Option<Result<u64, StoreError>> {
                match r {
                    Err(e) => Some(Err(StoreError::sled(&path, e))),
                    Ok((k, _)) => keys::parse_sk(&k)
                        .map(|(_, _, s)| s)
                        .filter(|s| (lo..=hi).contains(s))
                        .map(Ok),
                }
            };
        if backward {
            Box::new(iter.rev().filter_map(map))
        } else {
            Box::new(iter.filter_map(map))
        }
    }

    /// Union of several ordered streams, in order, without duplicates.
    fn merge<'a>(streams: Vec<SeqIter<'a>>, backward: bool) -> SeqIter<'a> {
        let mut streams: Vec<_> = streams.into_iter().map(|s| s.peekable()).collect();
        let mut last: Option<u64> = None;
        Box::new(std::iter::from_fn(move || loop {
            let mut best: Option<(usize, u64)> = None;
            for (i, s) in streams.iter_mut().enumerate() {
                match s.peek() {
                    None => {}
                    Some(Err(_)) => return s.next(),
                    Some(Ok(v)) => {
                        let better = match best {
                            None => true,
                            Some((_, b)) => (backward && *v > b) || (!backward && *v < b),
                        };
                        if better {
                            best = Some((i, *v));
                        }
                    }
                }
            }
            let (i, v) = best?;
            streams[i].next();
            if last != Some(v) {
                last = Some(v);
                return Some(Ok(v));
            }
        }))
    }

    fn time_candidates(&self, q: &Query, lo: u64, hi: u64) -> Result<BTreeSet<u64>, StoreError> {
        let b_lo = q.since.map(keys::bucket).unwrap_or(i64::MIN);
        let b_hi = q.until.map(|u| keys::bucket(u - 1)).unwrap_or(i64::MAX);
        let mut out = BTreeSet::new();
        for r in self
            .db
            .range(keys::time(b_lo, 0)..=keys::time(b_hi, u64::MAX))
        {
            let (k, _) = r.map_err(|e| StoreError::sled(&self.sled_dir, e))?;
            if let Some((_, s)) = keys::parse_time(&k) {
                if (lo..=hi).contains(&s) {
                    out.insert(s);
                }
            }
        }
        Ok(out)
    }

    /// Run a query. Touches only the index range the query names and the segments it points
    /// to; returns stored hashes without recomputing them.
    pub fn query(&self, q: &Query) -> Result<Page, StoreError> {
        if q.limit == 0 {
            return Err(StoreError::BadQuery("limit must be at least 1".into()));
        }
        if let (Some(s), Some(u)) = (q.since, q.until) {
            if s >= u {
                return Err(StoreError::BadQuery(format!(
                    "since ({s}) must be before until ({u})"
                )));
            }
        }
        let st = self.state();
        let empty = Page {
            items: Vec::new(),
            next_cursor: None,
        };
        // Seq window of the records this page may return.
        let (lo, hi) = if q.backward {
            let hi = match q.cursor {
                Some(0) => return Ok(empty),
                Some(c) => st.last_seq.min(c - 1),
                None => st.last_seq,
            };
            (st.base_seq, hi)
        } else {
            let lo = q
                .cursor
                .map_or(st.base_seq, |c| c.saturating_add(1).max(st.base_seq));
            (lo, st.last_seq)
        };
        if lo > hi {
            return Ok(empty);
        }
        let seg_lo = self.segment_of(lo)?.map_or(lo, |(s, _)| s);
        let prefixes = self.sk_prefixes(q);
        let candidates: SeqIter<'_> = if q.since.is_some() || q.until.is_some() {
            let t = self.time_candidates(q, seg_lo, hi)?;
            if prefixes.is_empty() {
                if q.backward {
                    Box::new(t.into_iter().rev().map(Ok))
                } else {
                    Box::new(t.into_iter().map(Ok))
                }
            } else if t.len() <= PROBE_LIMIT {
                let ordered: Vec<u64> = if q.backward {
                    t.into_iter().rev().collect()
                } else {
                    t.into_iter().collect()
                };
                let mut keep = Vec::with_capacity(ordered.len());
                for s in ordered {
                    for p in &prefixes {
                        if self.has_sk(p, s)? {
                            keep.push(s);
                            break;
                        }
                    }
                }
                Box::new(keep.into_iter().map(Ok))
            } else {
                let streams = prefixes
                    .iter()
                    .map(|p| self.sk_stream(p, seg_lo, hi, q.backward))
                    .collect();
                Box::new(
                    Self::merge(streams, q.backward)
                        .filter(move |r| r.as_ref().map_or(true, |s| t.contains(s))),
                )
            }
        } else if !prefixes.is_empty() {
            let streams = prefixes
                .iter()
                .map(|p| self.sk_stream(p, seg_lo, hi, q.backward))
                .collect();
            Self::merge(streams, q.backward)
        } else {
            let iter = self.db.range(keys::seg(seg_lo)..=keys::seg(hi));
            let path = self.sled_dir.clone();
            let map = move |r: sled::Result<(sled::IVec, sled::IVec)>| match r {
                Err(e) => Some(Err(StoreError::sled(&path, e))),
                Ok((k, _)) => keys::seg_seq(&k).map(Ok),
            };
            if q.backward {
                Box::new(iter.rev().filter_map(map))
            } else {
                Box::new(iter.filter_map(map))
            }
        };
        let mut items: Vec<Envelope> = Vec::with_capacity(q.limit.min(4096));
        let mut more = false;
        // One segment: its matching records into `items`; false once the page is full.
        let mut process = |first: u64, value: &[u8]| -> Result<bool, StoreError> {
            let seg =
                Segment::decode(first, value).map_err(|e| self.corrupt(first, e.to_string()))?;
            let mut visit = |r: &crate::segment::RecordRef<'_>| -> Result<bool, StoreError> {
                if r.seq < lo || r.seq > hi || r.redacted {
                    return Ok(true);
                }
                let h = RecordHeader::decode(r.bytes).map_err(|e| self.decode_err(r.seq, e))?;
                if !q.matches(&h) {
                    return Ok(true);
                }
                if items.len() == q.limit {
                    more = true;
                    return Ok(false);
                }
                let env = Envelope::decode(r.bytes, r.prev, r.hash)
                    .map_err(|e| self.decode_err(r.seq, e))?;
                items.push(self.unseal(env)?);
                Ok(true)
            };
            if q.backward {
                for r in seg.records.iter().rev() {
                    if !visit(r)? {
                        return Ok(false);
                    }
                }
            } else {
                for r in &seg.records {
                    if !visit(r)? {
                        return Ok(false);
                    }
                }
            }
            Ok(true)
        };
        for first in candidates {
            let first = first?;
            let Some(value) = self.load_segment(first)? else {
                return Err(self.corrupt(first, "index points to a missing segment"));
            };
            if !process(first, &value)? {
                break;
            }
        }
        let next_cursor = if more {
            items.last().map(|e| e.seq)
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    fn has_sk(&self, prefix: &[u8], seg: u64) -> Result<bool, StoreError> {
        let mut k = prefix.to_vec();
        k.extend_from_slice(&seg.to_be_bytes());
        self.db
            .contains_key(k)
            .map_err(|e| StoreError::sled(&self.sled_dir, e))
    }
}
