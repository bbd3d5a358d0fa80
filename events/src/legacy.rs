//! Old schema versions, kept forever so that old logs stay readable. Each old payload type
//! converts into the current one. When a kind's layout changes: copy its current struct here as
//! `<Kind>V<n>`, bump the schema in the catalogue, add an arm to [`upcast`] and a fixture.

use serde::{Deserialize, Serialize};

use crate::kinds::{
    AuditQueried, BackupMade, RecordsDestroyed, RetentionRan, SeqRange, WindowOpened,
};
use crate::{Event, EventKind};

/// `WindowOpened` as written by schema 1: no local times, no zone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WindowOpenedV1 {
    /// Window name.
    pub name: String,
    /// Resolved start, UTC µs.
    pub start_us: i64,
    /// Resolved end, UTC µs.
    pub end_us: i64,
}

impl From<WindowOpenedV1> for WindowOpened {
    fn from(v: WindowOpenedV1) -> Self {
        WindowOpened {
            name: v.name,
            start_us: v.start_us,
            end_us: v.end_us,
            local_start: String::new(),
            local_end: String::new(),
            timezone: String::new(),
        }
    }
}

/// `AuditQueried` as written by schema 1: the raw query string, answered queries only.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditQueriedV1 {
    /// `api` or `cli`.
    pub via: String,
    /// The query as the client gave it.
    pub query: String,
    /// Records returned.
    pub results: u64,
    /// Peer address or user, when known.
    pub client: String,
}

impl From<AuditQueriedV1> for AuditQueried {
    fn from(v: AuditQueriedV1) -> Self {
        AuditQueried {
            via: v.via,
            query: v.query,
            results: v.results,
            client: v.client,
            refused: None,
        }
    }
}

/// `RetentionRan` as written by schema 1: counts only.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RetentionRanV1 {
    /// Records purged in total.
    pub purged: u64,
    /// Rules evaluated.
    pub rules: u32,
    /// Dry runs record what they would have purged.
    pub dry_run: bool,
}

impl From<RetentionRanV1> for RetentionRan {
    /// Schema 1 did not say what it freed or how long it took: zeros.
    fn from(v: RetentionRanV1) -> Self {
        RetentionRan {
            purged: v.purged,
            rules: v.rules,
            dry_run: v.dry_run,
            destruction_records: 0,
            files_deleted: 0,
            bytes_freed: 0,
            duration_ms: 0,
        }
    }
}

/// `RecordsDestroyed` as written by schema 1: one range, a free-text reason.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecordsDestroyedV1 {
    /// First purged seq.
    pub from_seq: u64,
    /// Last purged seq.
    pub to_seq: u64,
    /// How many records were destroyed.
    pub count: u64,
    /// Classes of the destroyed records.
    pub classes: Vec<String>,
    /// The rule and reason, e.g. `general older than 30 days`.
    pub reason: String,
    /// Chain hash of `to_seq`.
    #[serde(with = "serde_bytes")]
    pub anchor: Vec<u8>,
}

impl From<RecordsDestroyedV1> for RecordsDestroyed {
    /// Schema 1 purged one leading range of whole segments under an age rule: its range,
    /// `age` as the reason, the old free text as the policy, and the base after `to_seq`.
    fn from(v: RecordsDestroyedV1) -> Self {
        RecordsDestroyed {
            ranges: vec![SeqRange {
                from: v.from_seq,
                to: v.to_seq,
            }],
            count: v.count,
            bytes: 0,
            classes: v.classes,
            kinds: Vec::new(),
            reason: "age".into(),
            policy: v.reason,
            base_seq: v.to_seq + 1,
            anchor: v.anchor,
            files: Vec::new(),
        }
    }
}

/// `BackupMade` as written by schema 1: one backup file, no increments.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BackupMadeV1 {
    /// Backup path.
    pub path: String,
    /// Last seq contained.
    pub last_seq: u64,
    /// Size in bytes.
    pub bytes: u64,
    /// BLAKE3 of the backup file, hex.
    pub hash: String,
}

impl From<BackupMadeV1> for BackupMade {
    /// A schema 1 backup was one whole file: a full backup numbered 1 from seq 1, its file
    /// hash standing for the manifest hash, no frame files.
    fn from(v: BackupMadeV1) -> Self {
        BackupMade {
            path: v.path,
            increment: 1,
            full: true,
            first_seq: 1,
            last_seq: v.last_seq,
            files: 0,
            bytes: v.bytes,
            manifest_hash: v.hash,
        }
    }
}

/// Decode an old version of `kind`'s payload into the current type; `None` when no such
/// version was ever written.
pub(crate) fn upcast(
    kind: EventKind,
    schema: u16,
    bytes: &[u8],
) -> Option<Result<Event, rmp_serde::decode::Error>> {
    match (kind, schema) {
        (EventKind::WindowOpened, 1) => Some(
            rmp_serde::from_slice::<WindowOpenedV1>(bytes)
                .map(|v| Event::WindowOpened(WindowOpened::from(v))),
        ),
        (EventKind::AuditQueried, 1) => Some(
            rmp_serde::from_slice::<AuditQueriedV1>(bytes)
                .map(|v| Event::AuditQueried(AuditQueried::from(v))),
        ),
        (EventKind::RetentionRan, 1) => Some(
            rmp_serde::from_slice::<RetentionRanV1>(bytes)
                .map(|v| Event::RetentionRan(RetentionRan::from(v))),
        ),
        (EventKind::RecordsDestroyed, 1) => Some(
            rmp_serde::from_slice::<RecordsDestroyedV1>(bytes)
                .map(|v| Event::RecordsDestroyed(RecordsDestroyed::from(v))),
        ),
        (EventKind::BackupMade, 1) => Some(
            rmp_serde::from_slice::<BackupMadeV1>(bytes)
                .map(|v| Event::BackupMade(BackupMade::from(v))),
        ),
        _ => None,
    }
}

/// Every old (kind, schema) ever written, with a sample payload encoded in that version.
/// The fixture test keeps a byte-exact copy of each.
pub fn old_versions() -> Vec<(EventKind, u16, Vec<u8>)> {
    let v1 = WindowOpenedV1 {
        name: "day".into(),
        start_us: 1_780_286_400_000_000,
        end_us: 1_780_331_400_000_000,
    };
    let audit_v1 = AuditQueriedV1 {
        via: "api".into(),
        query: "since=2026-06-01T00:00:00Z&kind=WindowOpened".into(),
        results: 3,
        client: "127.0.0.1:50412".into(),
    };
    let backup_v1 = BackupMadeV1 {
        path: "backups/2026-06-01.vigil-backup".into(),
        last_seq: 500,
        bytes: 65_536,
        hash: "ef".repeat(32),
    };
    let retention_v1 = RetentionRanV1 {
        purged: 120,
        rules: 3,
        dry_run: false,
    };
    let destroyed_v1 = RecordsDestroyedV1 {
        from_seq: 1,
        to_seq: 120,
        count: 120,
        classes: vec!["general".into()],
        reason: "general older than 30 days".into(),
        anchor: vec![7; 32],
    };
    vec![
        (
            EventKind::RetentionRan,
            1,
            rmp_serde::to_vec_named(&retention_v1).expect("plain struct encodes"),
        ),
        (
            EventKind::RecordsDestroyed,
            1,
            rmp_serde::to_vec_named(&destroyed_v1).expect("plain struct encodes"),
        ),
        (
            EventKind::BackupMade,
            1,
            rmp_serde::to_vec_named(&backup_v1).expect("plain struct encodes"),
        ),
        (
            EventKind::WindowOpened,
            1,
            rmp_serde::to_vec_named(&v1).expect("plain struct encodes"),
        ),
        (
            EventKind::AuditQueried,
            1,
            rmp_serde::to_vec_named(&audit_v1).expect("plain struct encodes"),
        ),
    ]
}
