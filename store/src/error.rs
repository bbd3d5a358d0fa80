//! What can go wrong with a store, with what is needed to act on it.

use std::path::PathBuf;

/// An error of the event log store. Each variant names the file (and the seq, where there is
/// one) and its doc says how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process holds the store's lock. Stop it (`vigil start` owns the store while it
    /// runs; query through its local API instead), then retry.
    #[error("{path} is locked by another process (is `vigil start` running? stop it, or query through its API)")]
    Locked {
        /// The lock file.
        path: PathBuf,
    },
    /// The directory does not exist and the store was opened without `create`.
    #[error("{path}: no such store directory")]
    NotFound {
        /// The directory asked for.
        path: PathBuf,
    },
    /// The directory is not a vigil store (no marker file, or a marker that is not ours).
    /// Point `--data` at a vigil store, or at an empty or new directory.
    #[error("{path}: not a vigil store: {detail}")]
    NotAStore {
        /// The offending path.
        path: PathBuf,
        /// What was found instead.
        detail: String,
    },
    /// A file the store does not know sits in the store directory. Move it away; the store
    /// refuses to share its directory so that nothing foreign is mistaken for its data.
    #[error("{path}: foreign file in the store directory (move it away)")]
    Foreign {
        /// The foreign file.
        path: PathBuf,
    },
    /// The key file is missing, has the wrong size, is readable by group or others, or does
    /// not match the key the store was created with.
    #[error("{}", match needed_by {
        Some(dir) => format!("{}: {problem}", dir.display()),
        None => format!("key file {}: {problem}", path.display()),
    })]
    KeyFile {
        /// The key file (the store's marker file when a key is missing).
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
        /// Set when no key file was given for a keyed store: the store directory, which the
        /// message names instead of calling the marker a key file.
        needed_by: Option<PathBuf>,
    },
    /// The stored data is inconsistent at `seq`. Run `vigil verify` for the full report; restore
    /// from a backup or an export.
    #[error("{path}: store is corrupt at seq {seq}: {what}")]
    Corrupt {
        /// The store file (sled directory or marker file).
        path: PathBuf,
        /// First seq concerned (0 when not tied to a record).
        seq: u64,
        /// What is wrong.
        what: String,
    },
    /// sled reported an error.
    #[error("{path}: sled: {detail}")]
    Sled {
        /// The sled directory.
        path: PathBuf,
        /// sled's message.
        detail: String,
    },
    /// A file system operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// An event encodes to more bytes than one record may hold. Make the payload smaller
    /// (large data belongs in files, referenced by path and hash).
    #[error("event for seq {seq} ({kind}) encodes to {size} bytes; a record holds at most {max}")]
    TooLarge {
        /// The seq it would have got.
        seq: u64,
        /// Its kind name.
        kind: &'static str,
        /// Encoded size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// A query that cannot be answered as asked.
    #[error("bad query: {0}")]
    BadQuery(String),
    /// A previous append failed half-way (I/O error); the store refuses further appends until
    /// it is reopened, which recovers the last durable state.
    #[error(
        "{path}: an append at seq {seq} failed: {detail}; reopen the store before appending again"
    )]
    Poisoned {
        /// The sled directory.
        path: PathBuf,
        /// First seq of the failed batch.
        seq: u64,
        /// What became of the batch and why it failed.
        detail: String,
    },
    /// An export file is broken or does not chain. Nothing was imported.
    #[error("{path}: {what}{}", seq.map(|s| format!(" (record seq {s})")).unwrap_or_default())]
    BadExport {
        /// The export file.
        path: PathBuf,
        /// The record concerned, if any.
        seq: Option<u64>,
        /// What is wrong.
        what: String,
    },
    /// The store was opened read-only (`verify`, `audit`, `export`, `replay`, `timelapse`) and
    /// something asked it to write. Use a command that writes (`vigil repair`, `vigil start`).
    #[error("{path}: the store is open read-only; nothing was written")]
    ReadOnly {
        /// The store directory.
        path: PathBuf,
    },
    /// The file system holding `path` is full. Free space on that file system (old exports,
    /// backups, other files there; never files inside the store directory), then retry.
    #[error("{path}: disk full: {}{}; free at least {} MiB on the file system holding it (old exports, backups or other files there; never files inside the store directory), then retry",
        free.map(|f| format!("{f} bytes free")).unwrap_or_else(|| "no space left".into()),
        batch.as_ref().map(BatchOutcome::describe).unwrap_or_default(),
        FREE_MIB)]
    DiskFull {
        /// The file that could not be written.
        path: PathBuf,
        /// Bytes available to the store's user on that file system, when known.
        free: Option<u64>,
        /// The append that failed, when the error ended one.
        batch: Option<BatchOutcome>,
    },
    /// A read-only open reads a private copy of `sled/` (opening sled writes to its files);
    /// making that copy failed. Point `TMPDIR` at a file system with room for it.
    #[error("cannot read {store} without modifying it: copying its sled files to {scratch} failed: {detail}; set TMPDIR to a directory with at least {need} bytes free")]
    Scratch {
        /// The store's sled directory.
        store: PathBuf,
        /// The scratch directory.
        scratch: PathBuf,
        /// Bytes the copy needs.
        need: u64,
        /// What failed.
        detail: String,
    },
    /// A `core` payload could not be sealed (no randomness from the OS). Nothing was written.
    #[error("encryption key file {path}: cannot seal the payload of seq {seq}: {problem}")]
    Sealing {
        /// The encryption key file.
        path: PathBuf,
        /// The seq the event would have got.
        seq: u64,
        /// What failed.
        problem: String,
    },
    /// A sealed (encrypted) payload does not open with the given encryption key file and its
    /// keyring: another key file, a keyring missing a retired key, or an altered record. Pass
    /// the station's key file (`[store] encryption_key_file`) with its `.keyring` beside it.
    #[error("encryption key file {path}: the payload of seq {seq} does not open: {problem}")]
    Unsealable {
        /// The encryption key file.
        path: PathBuf,
        /// The first seq that does not open.
        seq: u64,
        /// Why.
        problem: String,
    },
    /// Import needs an empty store.
    #[error(
        "{path}: import needs an empty store, this one already holds events up to seq {last_seq}"
    )]
    NotEmpty {
        /// The store directory.
        path: PathBuf,
        /// Its last seq.
        last_seq: u64,
    },
}

impl StoreError {
    /// True when the error is the user's input (a foreign or corrupt file, a wrong key, a locked
    /// directory, a bad query or export): the CLI exits with code 2. Otherwise the run failed
    /// (exit code 1).
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            StoreError::Locked { .. }
                | StoreError::NotFound { .. }
                | StoreError::NotAStore { .. }
                | StoreError::Foreign { .. }
                | StoreError::KeyFile { .. }
                | StoreError::Unsealable { .. }
                | StoreError::Corrupt { .. }
                | StoreError::TooLarge { .. }
                | StoreError::BadQuery(_)
                | StoreError::BadExport { .. }
                | StoreError::NotEmpty { .. }
        )
    }

    /// What became of the append this error ended, when its outcome is reported (see
    /// [`BatchOutcome`]).
    pub fn batch(&self) -> Option<&BatchOutcome> {
        match self {
            StoreError::DiskFull { batch, .. } => batch.as_ref(),
            _ => None,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        let path = path.into();
        if is_disk_full(&source) {
            return StoreError::DiskFull {
                free: free_bytes(&path),
                path,
                batch: None,
            };
        }
        StoreError::Io { path, source }
    }

    /// The same error with the outcome of the failed append `first..=last` attached (disk
    /// full only; other errors are returned as they are).
    pub(crate) fn with_batch(self, first: u64, last: u64, rolled_back: bool) -> Self {
        match self {
            StoreError::DiskFull { path, free, .. } => StoreError::DiskFull {
                path,
                free,
                batch: Some(BatchOutcome {
                    first,
                    last,
                    rolled_back,
                }),
            },
            other => other,
        }
    }

    pub(crate) fn sled(path: impl Into<PathBuf>, e: sled::Error) -> Self {
        let path = path.into();
        match e {
            sled::Error::Io(source) => StoreError::io(path, source),
            sled::Error::Corruption { at, .. } => StoreError::Corrupt {
                seq: 0,
                what: format!(
                    "{} is damaged: sled found corrupt data {}",
                    path.join("db").display(),
                    disk_ptr(at)
                ),
                path,
            },
            sled::Error::Unsupported(m) if m.contains("earlier than 0.29") => StoreError::Corrupt {
                seq: 0,
                what: format!(
                    "{} is damaged or not sled's (sled cannot parse it); restore sled/ from a \
                     backup, or import an export into a new directory",
                    path.join("conf").display()
                ),
                path,
            },
            other => StoreError::Sled {
                path,
                detail: other.to_string(),
            },
        }
    }
}

/// MiB the disk-full message asks to free: room for the journal to grow (1 MiB steps) and for
/// sled to write its buffers (512 KiB segments) and a checkpoint.
const FREE_MIB: u64 = 16;

/// What became of an append that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Its first seq.
    pub first: u64,
    /// Its last seq.
    pub last: u64,
    /// True when it was rolled back: none of its records is stored, now or after a reopen,
    /// so sending it again does not duplicate anything. False when its outcome is unknown
    /// (the rollback itself could not be made durable): after freeing space, `vigil verify`
    /// shows the last stored seq.
    pub rolled_back: bool,
}

impl BatchOutcome {
    fn describe(&self) -> String {
        if self.rolled_back {
            format!(
                "; seqs {}..={} were not stored (rolled back; sending them again duplicates nothing)",
                self.first, self.last
            )
        } else {
            format!(
                "; seqs {}..={} may or may not be stored (the rollback could not be made durable): after freeing space, `vigil verify` shows the last stored seq",
                self.first, self.last
            )
        }
    }
}

/// True for "no space left on device" (also for sled's copies of it, which keep the kind).
pub(crate) fn is_disk_full(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::StorageFull
        || e.kind() == std::io::ErrorKind::QuotaExceeded
        || e.raw_os_error() == Some(28)
}

/// Free bytes on the file system holding `path` (or its nearest existing ancestor).
fn free_bytes(path: &std::path::Path) -> Option<u64> {
    path.ancestors()
        .find(|p| p.exists())
        .and_then(|p| fs2::available_space(p).ok())
}

/// Where sled says its corrupt data is, for people.
fn disk_ptr(at: Option<sled::DiskPtr>) -> String {
    match at {
        Some(sled::DiskPtr::Inline(off)) => format!("at byte offset {off} of its log file `db`"),
        Some(sled::DiskPtr::Blob(_, blob)) => format!("in its blob file `blobs/{blob}`"),
        None => "(sled did not say where)".into(),
    }
}

/// sled's read error `e` for people: which file is damaged and where, without Rust's debug
/// format.
pub(crate) fn describe_sled(sled_dir: &std::path::Path, e: &sled::Error) -> String {
    match e {
        sled::Error::Corruption { at, .. } => format!(
            "{} is damaged: sled found corrupt data {}",
            sled_dir.join("db").display(),
            disk_ptr(*at)
        ),
        sled::Error::Io(io) if is_disk_full(io) => format!("{}: disk full", sled_dir.display()),
        sled::Error::Io(io) => format!("{}: {}", sled_dir.display(), io.kind()),
        other => format!("{}: sled: {other}", sled_dir.display()),
    }
}

/// What to say after a read failure at `first_bad`: what is still readable, what is not, and
/// what to do.
pub(crate) fn read_failure_advice(base_seq: u64, first_bad: u64, last_seq: u64) -> String {
    let good = if first_bad > base_seq {
        format!("the log is readable up to seq {}", first_bad - 1)
    } else {
        "no record could be read".to_string()
    };
    format!(
        "{good}, seqs {first_bad}..={last_seq} cannot be read; export what is readable \
         (`vigil export`), then restore sled/ from a backup or import an export into a new \
         directory"
    )
}
