//! Supervisor lifecycle and operator actions: the audit trail of who did what to the station
//! and its log. All timestamps are UTC microseconds since the Unix epoch.

use serde::{Deserialize, Serialize};

/// The supervisor started and owns the data directory.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SupervisorStarted {
    /// vigil's version.
    pub version: String,
    /// Which clock drives it: `real` or `sim:<start>@<rate>x`.
    pub clock: String,
    /// Process id.
    pub pid: u32,
    /// Host name of the machine.
    pub host: String,
}

/// The supervisor stopped cleanly after a final flush.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SupervisorStopped {
    /// Why: `signal SIGINT`, `signal SIGTERM`, `duration elapsed`, ...
    pub reason: String,
    /// Seconds of (station) time since start.
    pub uptime_s: u64,
}

/// A config file was loaded; the whole text is kept so replay needs nothing but the log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConfigLoaded {
    /// Path as given.
    pub path: String,
    /// BLAKE3 of the text, hex.
    pub hash: String,
    /// The config file's text.
    pub text: String,
}

/// A running station switched to a changed config file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConfigChanged {
    /// Path as given.
    pub path: String,
    /// BLAKE3 of the previous text, hex.
    pub old_hash: String,
    /// BLAKE3 of the new text, hex.
    pub new_hash: String,
    /// The new text.
    pub text: String,
}

/// A chain and index verification ran.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VerificationRan {
    /// True when the whole log verified.
    pub ok: bool,
    /// Records checked.
    pub checked: u64,
    /// First bad seq, when not ok.
    pub first_bad_seq: Option<u64>,
    /// What was wrong, when not ok.
    pub problem: Option<String>,
}

/// A retention run finished (each purge it made has its own [`RecordsDestroyed`]).
/// Schema 2 (schema 1 is [`crate::legacy::RetentionRanV1`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RetentionRan {
    /// Records purged in total (redacted or removed with their segment).
    pub purged: u64,
    /// Rules evaluated (class and kind entries of the policy).
    pub rules: u32,
    /// Dry runs record what they would have purged.
    pub dry_run: bool,
    /// Destruction records appended by this run.
    pub destruction_records: u32,
    /// Media files (frames, videos) deleted.
    pub files_deleted: u64,
    /// Bytes freed: record bytes plus media file bytes.
    pub bytes_freed: u64,
    /// Wall time the run took, milliseconds.
    pub duration_ms: u64,
}

/// An inclusive range of seqs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeqRange {
    /// First seq of the range.
    pub from: u64,
    /// Last seq of the range (inclusive).
    pub to: u64,
}

/// A media file deleted together with its event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DestroyedFile {
    /// Path relative to the data directory.
    pub path: String,
    /// Size in bytes.
    pub bytes: u64,
    /// BLAKE3 of the file as deleted, hex (empty when the file was already missing).
    pub blake3: String,
    /// Seq of the event that recorded the file.
    pub seq: u64,
}

/// Destruction record: records of the log (and media files) are about to be purged under a
/// retention policy. Appended, and durable, *before* anything is deleted. Schema 2 (schema 1
/// is [`crate::legacy::RecordsDestroyedV1`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecordsDestroyed {
    /// The purged seqs, as sorted, disjoint inclusive ranges.
    pub ranges: Vec<SeqRange>,
    /// How many records were destroyed.
    pub count: u64,
    /// Stored bytes of the destroyed records.
    pub bytes: u64,
    /// Classes of the destroyed records (`general`, `important`, `core`).
    pub classes: Vec<String>,
    /// Kinds of the destroyed records.
    pub kinds: Vec<String>,
    /// Why: `age`, `disk_pressure` or `operator`.
    pub reason: String,
    /// The policy that asked for it, e.g. `general 30 d, ThermalFrame 7 d`.
    pub policy: String,
    /// First seq the store holds after the purge (its base); equal to the old base when no
    /// whole segment at the start of the log went.
    pub base_seq: u64,
    /// Chain hash before `base_seq`: the anchor from which the remaining chain verifies.
    #[serde(with = "serde_bytes")]
    pub anchor: Vec<u8>,
    /// Media files deleted with their events, each with its hash.
    pub files: Vec<DestroyedFile>,
}

/// Free space stayed below `[retention] disk_floor_mb` and only protected data (core,
/// audit-relevant, evidence near a person detection) was left to delete: nothing more is
/// deleted and the camera stops capturing until space comes back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StorageExhausted {
    /// Free bytes on the data directory's file system.
    pub free_bytes: u64,
    /// The configured floor, bytes.
    pub floor_bytes: u64,
    /// The configured target, bytes.
    pub target_bytes: u64,
    /// Bytes of protected media that retention may not delete.
    pub protected_bytes: u64,
}

/// The log was exported.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExportMade {
    /// Output path.
    pub path: String,
    /// `msgpack` or `jsonl`.
    pub format: String,
    /// First exported seq.
    pub first_seq: u64,
    /// Last exported seq.
    pub last_seq: u64,
    /// Records written.
    pub count: u64,
}

/// An export was imported into this store.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImportMade {
    /// Input path.
    pub path: String,
    /// First imported seq.
    pub first_seq: u64,
    /// Last imported seq.
    pub last_seq: u64,
    /// Records imported.
    pub count: u64,
}

/// A backup increment was written (`vigil backup --out`, or the supervisor's `[backup] every`).
///
/// Schema 2: one increment of a backup root (`docs/operations.md`, "Backups"): its number,
/// whether it is the full first one, the seq range and files it carries and the BLAKE3 of its
/// manifest, which chains it to the next increment. Schema 1 ([`crate::legacy::BackupMadeV1`])
/// described one backup file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BackupMade {
    /// The increment's directory (`ROOT/0002-incr`).
    pub path: String,
    /// Increment number, 1 for the full backup.
    pub increment: u32,
    /// True for the first (full) increment of a backup root.
    pub full: bool,
    /// First seq the increment's export holds (`last_seq + 1` when it holds none).
    pub first_seq: u64,
    /// Last seq contained (in this increment or the ones before it).
    pub last_seq: u64,
    /// Frame and video files the increment carries (new since the previous one).
    pub files: u64,
    /// Bytes written (export, files, config, manifest).
    pub bytes: u64,
    /// BLAKE3 of the increment's `manifest.json`, hex.
    pub manifest_hash: String,
}

/// A recovery test ran (`vigil backup --test`, or the supervisor's `[backup] test_every`): the
/// latest backup was restored into a scratch directory, its chain and every manifest hash
/// checked. A failed test says what failed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BackupTested {
    /// The latest increment's directory, the one tested (with all before it).
    pub path: String,
    /// Its increment number (0 when no increment was found).
    pub increment: u32,
    /// Last seq the restored store held (0 when the restore failed).
    pub last_seq: u64,
    /// True when the restore, the chain and every manifest hash checked.
    pub ok: bool,
    /// What failed (file and seq), `None` when the test passed.
    pub failure: Option<String>,
    /// How long the test took, ms.
    pub duration_ms: u64,
}

/// A backup was restored (or test-restored) and verified.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BackupRestored {
    /// Backup path.
    pub path: String,
    /// Last seq restored.
    pub last_seq: u64,
    /// True for a recovery test into a scratch directory.
    pub test_only: bool,
    /// Whether the restored chain verified.
    pub verified: bool,
}

/// Someone queried the audit history through the local API, answered or refused.
///
/// Schema 2: `query` holds the filters as vigil parsed them, never the client's raw text (so
/// a client cannot make the log store what it likes), and refused queries are recorded too.
/// Schema 1 ([`crate::legacy::AuditQueriedV1`]) stored the raw query string.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditQueried {
    /// `api` or `cli`.
    pub via: String,
    /// The parsed filters in canonical form, e.g. `kind=WindowOpened&limit=100` (times as UTC
    /// µs, defaults included); empty when the query was refused. Records of schema 1 hold the
    /// query as the client gave it.
    pub query: String,
    /// Records returned.
    pub results: u64,
    /// Peer address or user, when known.
    pub client: String,
    /// Why the query was refused (the API answered 400): the message the client got, naming
    /// the parameter. `None` when it was answered.
    pub refused: Option<String>,
}

/// Synthetic event written by `vigil load` through the real append path.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoadGenerated {
    /// Running number within the load run.
    pub n: u64,
    /// Filler that brings the event to a realistic size.
    #[serde(with = "serde_bytes")]
    pub filler: Vec<u8>,
}

/// `vigil repair` brought a store back to a consistent state after a crash: it let sled
/// recover its log, removed what a crash left beyond the head and re-applied the acknowledged
/// batches of the store's journal that sled had not written. Recorded as the first event
/// after the repair, so the audit trail says what was done to the log and when.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoreRepaired {
    /// Last seq sled held before the repair.
    pub sled_last_seq: u64,
    /// First seq re-applied from the journal (`None` when nothing was re-applied).
    pub reapplied_first: Option<u64>,
    /// Last seq re-applied from the journal.
    pub reapplied_last: Option<u64>,
    /// Records re-applied from the journal.
    pub reapplied: u64,
    /// sled keys beyond the head (the unacknowledged part of a torn batch) that were removed.
    pub strays_removed: u64,
    /// Last seq after the repair (before this event).
    pub last_seq: u64,
}

/// The previous run ended without `SupervisorStopped` (killed, crashed, power lost), noticed
/// and recorded by the next start, right before its `SupervisorStarted`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UncleanStopDetected {
    /// Seq of the last event the previous run recorded.
    pub last_seq: u64,
    /// That event's kind.
    pub last_kind: String,
    /// That event's time, UTC µs.
    pub last_ts: i64,
    /// Station time from that event to this start, µs (negative when the clock went back).
    pub since_us: i64,
    /// Records the store re-applied from its journal when it opened (durable in the journal,
    /// not yet in sled); 0 when nothing had to be re-applied.
    pub reapplied: u64,
}
