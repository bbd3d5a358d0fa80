//! The retention planner: a pure function of the policy, `now`, the records held, their media
//! files, the person detections and the free space. No I/O; tested directly.
//!
//! Rules:
//! - **age**: a record is due once older than its kind's days (or its class's days). Frames
//!   within `evidence_span` of a person detection count as class `important`. Destruction
//!   records (`RecordsDestroyed`) are never due: they prove why redactions are there.
//! - **disk pressure**: when free space is below the floor, media records (`FrameCaptured`,
//!   `TimelapseBuilt`) not yet due go, lowest class first and oldest first, until the target is
//!   met. Never: class `core`, protected evidence, audit-relevant kinds. When that cannot reach
//!   the target, the plan says `exhausted` (the executor records `StorageExhausted`).

use std::collections::BTreeSet;

use vigil_config::RetentionConfig;
use vigil_events::kinds::SeqRange;
use vigil_events::{DataClass, EventKind, UtcMicros};
use vigil_store::IndexedRecord;

const DAY_US: i64 = 86_400_000_000;

/// Why a purge happens, as `RecordsDestroyed.reason` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    /// Older than the policy keeps.
    Age,
    /// Free space below `[retention] disk_floor_mb`.
    DiskPressure,
}

impl Reason {
    /// `age` or `disk_pressure`.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Age => "age",
            Reason::DiskPressure => "disk_pressure",
        }
    }
}

/// A media file recorded by an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    /// Seq of the `FrameCaptured` / `TimelapseBuilt`.
    pub seq: u64,
    /// Path relative to the data directory.
    pub path: String,
    /// File size as recorded.
    pub bytes: u64,
}

/// Free space of the data directory's file system against the configured floor and target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskState {
    /// Free bytes now.
    pub free_bytes: u64,
    /// `disk_floor_mb` in bytes.
    pub floor_bytes: u64,
    /// `disk_target_mb` in bytes.
    pub target_bytes: u64,
}

/// Everything the planner looks at.
#[derive(Debug, Clone)]
pub struct PlanInput<'a> {
    /// The policy.
    pub policy: &'a RetentionConfig,
    /// Now (the station clock).
    pub now: UtcMicros,
    /// Records held, in seq order (redactions left out).
    pub records: &'a [IndexedRecord],
    /// Media files of the records that have one.
    pub media: &'a [Media],
    /// Times of detections with a person present.
    pub person_at: &'a [UtcMicros],
    /// Free space, when a disk rule is configured.
    pub disk: Option<DiskState>,
}

/// One purge of the plan: one destruction record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedPurge {
    /// Why.
    pub reason: Reason,
    /// The seqs, as sorted disjoint ranges.
    pub ranges: Vec<SeqRange>,
    /// How many records.
    pub count: u64,
    /// Their stored bytes.
    pub bytes: u64,
    /// Their classes.
    pub classes: BTreeSet<DataClass>,
    /// Their kinds.
    pub kinds: BTreeSet<EventKind>,
    /// Media files that go with them.
    pub files: Vec<Media>,
}

impl PlannedPurge {
    fn new(reason: Reason) -> Self {
        PlannedPurge {
            reason,
            ranges: Vec::new(),
            count: 0,
            bytes: 0,
            classes: BTreeSet::new(),
            kinds: BTreeSet::new(),
            files: Vec::new(),
        }
    }

    fn add(&mut self, r: &IndexedRecord, class: DataClass) {
        match self.ranges.last_mut() {
            Some(last) if last.to + 1 == r.seq => last.to = r.seq,
            _ => self.ranges.push(SeqRange {
                from: r.seq,
                to: r.seq,
            }),
        }
        self.count += 1;
        self.bytes += r.len;
        self.classes.insert(class);
        self.kinds.insert(r.kind);
    }

    /// Media file bytes.
    pub fn file_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }
}

/// What a retention run would do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// At most one purge per reason, age first.
    pub purges: Vec<PlannedPurge>,
    /// Free space stays below the floor with only protected data left.
    pub exhausted: bool,
    /// Bytes of protected media (evidence, core) that disk pressure may not touch.
    pub protected_bytes: u64,
    /// Rules of the policy (three classes plus the kind overrides).
    pub rules: u32,
    /// The policy in words, for `RecordsDestroyed.policy`.
    pub policy: String,
}

/// The policy in words: `general 90 d, important 400 d, core 1825 d, ThermalFrame 7 d`.
pub fn describe(policy: &RetentionConfig) -> String {
    let mut out = format!(
        "general {} d, important {} d, core {} d",
        policy.general_days, policy.important_days, policy.core_days
    );
    for (k, d) in &policy.kinds {
        out.push_str(&format!(", {} {d} d", k.name()));
    }
    if let Some(f) = policy.disk_floor_mb {
        out.push_str(&format!(
            ", disk floor {f} MiB target {} MiB",
            policy.disk_target_mb.unwrap_or(f)
        ));
    }
    out
}

fn is_media(kind: EventKind) -> bool {
    matches!(kind, EventKind::FrameCaptured | EventKind::TimelapseBuilt)
}

fn rank(c: DataClass) -> u8 {
    match c {
        DataClass::General => 0,
        DataClass::Important => 1,
        DataClass::Core => 2,
    }
}

/// The plan (see the module docs for the rules).
pub fn plan(input: &PlanInput<'_>) -> Plan {
    let span = i64::try_from(input.policy.evidence_span.as_micros()).unwrap_or(i64::MAX);
    let mut person: Vec<UtcMicros> = input.person_at.to_vec();
    person.sort_unstable();
    let evidence = |ts: UtcMicros| {
        let i = person.partition_point(|&p| p < ts.saturating_sub(span));
        person.get(i).is_some_and(|&p| p <= ts.saturating_add(span))
    };
    let media_of = |seq: u64| {
        input
            .media
            .binary_search_by_key(&seq, |m| m.seq)
            .ok()
            .map(|i| &input.media[i])
    };
    let effective = |r: &IndexedRecord| {
        if r.kind == EventKind::FrameCaptured && evidence(r.ts) && rank(r.class) < 1 {
            DataClass::Important
        } else {
            r.class
        }
    };
    let mut age = PlannedPurge::new(Reason::Age);
    let mut rest: Vec<(&IndexedRecord, DataClass)> = Vec::new();
    for r in input.records {
        if r.kind == EventKind::RecordsDestroyed {
            continue;
        }
        let class = effective(r);
        let days = i64::from(input.policy.keep_days(r.kind, class));
        if input.now.saturating_sub(r.ts) > days.saturating_mul(DAY_US) {
            age.add(r, class);
            if let Some(m) = media_of(r.seq) {
                age.files.push(m.clone());
            }
        } else if is_media(r.kind) {
            rest.push((r, class));
        }
    }
    let mut out = Plan {
        purges: Vec::new(),
        exhausted: false,
        protected_bytes: 0,
        rules: 3 + input.policy.kinds.len() as u32,
        policy: describe(input.policy),
    };
    let freed_by_age = age.file_bytes();
    if age.count > 0 {
        out.purges.push(age);
    }
    let Some(disk) = input.disk else {
        return out;
    };
    if disk.free_bytes.saturating_add(freed_by_age) >= disk.floor_bytes {
        return out;
    }
    let mut need = disk
        .target_bytes
        .saturating_sub(disk.free_bytes.saturating_add(freed_by_age));
    let (mut open, protected): (Vec<_>, Vec<_>) = rest.into_iter().partition(|(r, class)| {
        *class != DataClass::Core
            && !r.kind.is_audit()
            && !(r.kind == EventKind::FrameCaptured && evidence(r.ts))
    });
    out.protected_bytes = protected
        .iter()
        .filter_map(|(r, _)| media_of(r.seq))
        .map(|m| m.bytes)
        .sum();
    open.sort_by_key(|(r, class)| (rank(*class), r.ts, r.seq));
    let mut chosen: Vec<(&IndexedRecord, DataClass)> = Vec::new();
    for (r, class) in open {
        if need == 0 {
            break;
        }
        let Some(m) = media_of(r.seq) else { continue };
        need = need.saturating_sub(m.bytes);
        chosen.push((r, class));
    }
    out.exhausted = need > 0;
    if !chosen.is_empty() {
        chosen.sort_by_key(|(r, _)| r.seq);
        let mut p = PlannedPurge::new(Reason::DiskPressure);
        for (r, class) in chosen {
            p.add(r, class);
            if let Some(m) = media_of(r.seq) {
                p.files.push(m.clone());
            }
        }
        out.purges.push(p);
    }
    out
}
