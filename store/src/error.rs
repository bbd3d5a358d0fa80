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
    #[error("key file {path}: {problem}")]
    KeyFile {
        /// The key file (or the store's marker file when a key is missing).
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
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
    #[error("{path}: an append at seq {seq} failed; reopen the store before appending again")]
    Poisoned {
        /// The sled directory.
        path: PathBuf,
        /// First seq of the failed batch.
        seq: u64,
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
                | StoreError::Corrupt { .. }
                | StoreError::TooLarge { .. }
                | StoreError::BadQuery(_)
                | StoreError::BadExport { .. }
                | StoreError::NotEmpty { .. }
        )
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        StoreError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn sled(path: impl Into<PathBuf>, e: sled::Error) -> Self {
        let path = path.into();
        match e {
            sled::Error::Io(source) => StoreError::Io { path, source },
            sled::Error::Corruption { at, .. } => StoreError::Corrupt {
                path,
                seq: 0,
                what: format!("sled found corrupt data at {at:?}"),
            },
            other => StoreError::Sled {
                path,
                detail: other.to_string(),
            },
        }
    }
}
