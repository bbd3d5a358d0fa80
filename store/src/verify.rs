//! `verify`: walk the whole chain and both indexes, and name the first bad seq.

use std::fmt;

use vigil_events::{Envelope, Hash};

use crate::chain::chain_hash;
use crate::segment::Segment;
use crate::{keys, Store};

/// What is wrong at the first bad seq.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// A stored hash differs from BLAKE3 of its record, or a `prev` from the hash before it.
    HashMismatch,
    /// A seq is missing (or the log does not start where the store says).
    Gap,
    /// An index entry is missing or points to something that is not there.
    IndexDisagreement,
    /// A record or segment does not decode, or a record names another seq.
    Undecodable,
    /// The head record disagrees with the end of the log.
    HeadMismatch,
    /// Reading the store failed.
    ReadFailed,
    /// A sealed payload does not open with the given encryption key file (wrong key, a retired
    /// key missing from the keyring, or an altered record).
    Unsealable,
}

impl ProblemKind {
    /// Short name, as printed and recorded (`hash mismatch`, `gap`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemKind::HashMismatch => "hash mismatch",
            ProblemKind::Gap => "gap",
            ProblemKind::IndexDisagreement => "index disagreement",
            ProblemKind::Undecodable => "undecodable record",
            ProblemKind::HeadMismatch => "head mismatch",
            ProblemKind::ReadFailed => "read failed",
            ProblemKind::Unsealable => "sealed payload does not open",
        }
    }
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The first problem found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// First bad seq.
    pub seq: u64,
    /// What kind of problem.
    pub kind: ProblemKind,
    /// Details for people.
    pub detail: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "seq {}: {}: {}", self.seq, self.kind, self.detail)
    }
}

/// Result of [`Store::verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Records whose hash was recomputed and that decoded.
    pub checked: u64,
    /// First seq of the chain.
    pub first_seq: u64,
    /// Last seq according to the head.
    pub last_seq: u64,
    /// Head hash according to the head record.
    pub head: Hash,
    /// True when the chain is keyed.
    pub keyed: bool,
    /// Redactions walked: records purged by retention whose hash links were checked but
    /// whose content is gone.
    pub redacted: u64,
    /// Which destruction records (`RecordsDestroyed`, by seq) cover the redactions and the
    /// records before the base, with how many each: see `Store::purges`.
    pub destroyed_by: Vec<(u64, u64)>,
    /// Records whose payload is sealed (encrypted at rest). Their chain hashes are checked
    /// like any record's; their payloads are opened and decoded only when the store was opened
    /// with the encryption key.
    pub sealed: u64,
    /// The first problem, if any.
    pub problem: Option<Problem>,
}

impl VerifyReport {
    /// True when nothing is wrong.
    pub fn is_ok(&self) -> bool {
        self.problem.is_none()
    }
}

fn problem(seq: u64, kind: ProblemKind, detail: impl Into<String>) -> Problem {
    Problem {
        seq,
        kind,
        detail: detail.into(),
    }
}

impl Store {
    /// Walk the chain from the first record to the head, recomputing every hash, decoding every
    /// record, and check that the time and (source, kind) indexes hold exactly the entries the
    /// records call for. Reports the first bad seq.
    pub fn verify(&self) -> VerifyReport {
        let st = self.state();
        crate::quiet::quietly(|| self.verify_walk()).unwrap_or_else(|msg| VerifyReport {
            checked: 0,
            first_seq: st.base_seq,
            last_seq: st.last_seq,
            head: st.head,
            keyed: self.key.is_some(),
            redacted: 0,
            destroyed_by: Vec::new(),
            sealed: 0,
            problem: Some(problem(
                st.base_seq,
                ProblemKind::ReadFailed,
                format!(
                    "sled panicked while reading {}: {msg}; restore sled/ from a backup or import \
                     an export into a new directory",
                    self.sled_dir.join("db").display()
                ),
            )),
        })
    }

    fn verify_walk(&self) -> VerifyReport {
        let st = self.state();
        let mut report = VerifyReport {
            checked: 0,
            first_seq: st.base_seq,
            last_seq: st.last_seq,
            head: st.head,
            keyed: self.key.is_some(),
            redacted: 0,
            destroyed_by: Vec::new(),
            sealed: 0,
            problem: None,
        };
        let mut redactions = crate::purge::Redactions::default();
        let mut chain_problem: Option<Problem> = None;
        let mut expected: Vec<Vec<u8>> = Vec::new();
        let mut next_seq = st.base_seq;
        let mut prev = st.anchor;
        // Index entries are compared only for segments walked completely.
        let mut walked_below = u64::MAX;
        let mut seg_keys: Vec<Vec<u8>> = Vec::new();
        let read_failed = |e: sled::Error, at: u64| {
            problem(
                at,
                ProblemKind::ReadFailed,
                format!(
                    "{}; {}",
                    crate::error::describe_sled(&self.sled_dir, &e),
                    crate::error::read_failure_advice(st.base_seq, at, st.last_seq)
                ),
            )
        };
        'walk: for item in self.db.range(keys::seg(0)..=keys::seg(u64::MAX)) {
            walked_below = next_seq;
            let (k, v) = match item {
                Ok(kv) => kv,
                Err(e) => {
                    chain_problem = Some(read_failed(e, next_seq));
                    break;
                }
            };
            let Some(first) = keys::seg_seq(&k) else {
                chain_problem = Some(problem(
                    next_seq,
                    ProblemKind::Undecodable,
                    "malformed segment key",
                ));
                break;
            };
            if first != next_seq {
                chain_problem = Some(problem(
                    next_seq.min(first),
                    ProblemKind::Gap,
                    format!("expected a segment starting at seq {next_seq}, found one at {first}"),
                ));
                break;
            }
            let seg = match Segment::decode(first, &v) {
                Ok(s) => s,
                Err(e) => {
                    chain_problem = Some(problem(first, ProblemKind::Undecodable, e.to_string()));
                    break;
                }
            };
            if seg.prev != prev {
                chain_problem = Some(problem(
                    first,
                    ProblemKind::HashMismatch,
                    "prev does not equal the hash of the record before it",
                ));
                break;
            }
            for r in &seg.records {
                if r.redacted {
                    redactions.redacted(r.seq);
                    report.redacted += 1;
                    continue;
                }
                if chain_hash(self.key.as_ref(), &r.prev, r.seq, r.bytes) != r.hash {
                    chain_problem = Some(problem(
                        r.seq,
                        ProblemKind::HashMismatch,
                        if self.key.is_some() {
                            "stored hash differs from keyed BLAKE3 of the record"
                        } else {
                            "stored hash differs from BLAKE3 of the record"
                        },
                    ));
                    break 'walk;
                }
                match Envelope::decode(r.bytes, r.prev, r.hash) {
                    Ok(env) if env.seq == r.seq => {
                        redactions.saw(&env);
                        seg_keys.push(keys::time(keys::bucket(env.ts), first).to_vec());
                        seg_keys.push(keys::sk(env.source, env.kind, first).to_vec());
                        if env.is_sealed() {
                            report.sealed += 1;
                            if let Err(e) = self.unseal(env) {
                                let kind = match e {
                                    crate::StoreError::Unsealable { .. } => ProblemKind::Unsealable,
                                    _ => ProblemKind::Undecodable,
                                };
                                chain_problem = Some(problem(r.seq, kind, e.to_string()));
                                break 'walk;
                            }
                        }
                    }
                    Ok(env) => {
                        chain_problem = Some(problem(
                            r.seq,
                            ProblemKind::Undecodable,
                            format!("record says seq {}", env.seq),
                        ));
                        break 'walk;
                    }
                    Err(e) => {
                        chain_problem =
                            Some(problem(r.seq, ProblemKind::Undecodable, e.to_string()));
                        break 'walk;
                    }
                }
                report.checked += 1;
            }
            expected.append(&mut seg_keys);
            next_seq = seg.last_seq() + 1;
            prev = seg.last_hash();
            walked_below = u64::MAX;
        }
        if chain_problem.is_none() && (next_seq - 1 != st.last_seq || prev != st.head) {
            chain_problem = Some(problem(
                (next_seq - 1).min(st.last_seq).max(st.base_seq),
                ProblemKind::HeadMismatch,
                format!(
                    "the log ends at seq {} but the head says {}{}",
                    next_seq - 1,
                    st.last_seq,
                    if next_seq - 1 == st.last_seq {
                        " with another hash"
                    } else {
                        ""
                    }
                ),
            ));
        }
        if chain_problem.is_none() {
            match redactions.attribute(st.base_seq) {
                Ok(by) => report.destroyed_by = by,
                Err((seq, detail)) => {
                    chain_problem = Some(problem(seq, ProblemKind::Gap, detail));
                }
            }
        }
        // Index entries of the segments walked (up to the chain break, if any).
        expected.sort_unstable();
        expected.dedup();
        let index_problem = self.compare_index(&expected, walked_below);
        report.problem = match (chain_problem, index_problem) {
            (Some(c), Some(i)) => Some(if i.seq < c.seq { i } else { c }),
            (c, i) => c.or(i),
        };
        report
    }

    /// Compare the actual `T` and `K` entries with `expected` (sorted), ignoring entries of
    /// segments at or after `below`.
    fn compare_index(&self, expected: &[Vec<u8>], below: u64) -> Option<Problem> {
        let mut worst: Option<Problem> = None;
        let mut note = |seq: u64, detail: String| {
            if worst.as_ref().is_none_or(|w| seq < w.seq) {
                worst = Some(problem(seq, ProblemKind::IndexDisagreement, detail));
            }
        };
        let seg_of = |k: &[u8]| {
            keys::parse_time(k)
                .map(|(_, s)| s)
                .or_else(|| keys::parse_sk(k).map(|(_, _, s)| s))
        };
        let mut exp = expected.iter().peekable();
        let actual = self
            .db
            .range(&[keys::SK][..]..&[keys::SK + 1][..])
            .chain(self.db.range(&[keys::TIME][..]..&[keys::TIME + 1][..]));
        let describe = |k: &[u8]| {
            if let Some((b, _)) = keys::parse_time(k) {
                format!("time bucket {b}")
            } else if let Some((s, kind, _)) = keys::parse_sk(k) {
                format!("({s}, {})", kind.name())
            } else {
                format!("key {}", hex::encode(k))
            }
        };
        for item in actual {
            let (k, _) = match item {
                Ok(kv) => kv,
                Err(e) => {
                    return Some(problem(
                        0,
                        ProblemKind::ReadFailed,
                        format!(
                            "reading the indexes: {}; restore sled/ from a backup or import an \
                             export into a new directory",
                            crate::error::describe_sled(&self.sled_dir, &e)
                        ),
                    ))
                }
            };
            let Some(seg) = seg_of(&k) else {
                note(0, format!("malformed index key {}", hex::encode(&k)));
                continue;
            };
            if seg >= below {
                continue;
            }
            while let Some(e) = exp.peek() {
                if e.as_slice() < &k[..] {
                    let s = seg_of(e).unwrap_or(0);
                    note(
                        s,
                        format!(
                            "index entry {} of the segment at {s} is missing",
                            describe(e)
                        ),
                    );
                    exp.next();
                } else {
                    break;
                }
            }
            if exp.peek().is_some_and(|e| e.as_slice() == &k[..]) {
                exp.next();
            } else {
                note(
                    seg,
                    format!("index entry {} points to the segment at {seg}, whose records do not call for it", describe(&k)),
                );
            }
        }
        for e in exp {
            let s = seg_of(e).unwrap_or(0);
            note(
                s,
                format!(
                    "index entry {} of the segment at {s} is missing",
                    describe(e)
                ),
            );
        }
        worst
    }
}
