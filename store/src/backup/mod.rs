//! Backups: a backup root of chained increments, each one directory holding a msgpack export
//! (with its trailer) of the records new since the previous increment, the frame and video
//! files new since then, the config file, and a manifest that hashes all of it.
//!
//! ```text
//! ROOT/vigil-backup.json          root marker: {"vigil_backup": 1, "keyed": bool}
//! ROOT/0001-full/                 the first increment: every record from the store's first
//!     manifest.json               what the increment holds, each file with size and BLAKE3
//!     manifest.blake3             BLAKE3 of manifest.json (hex): chains the next increment
//!     log.msgpack                 export v2 of the records (header, records, trailer)
//!     config.toml                 the config file the station ran with (when given)
//!     files/frames/..., files/videos/...
//! ROOT/0002-incr/                 records from the previous last seq + 1 (anchored on its
//!     ...                         head) and the files that are new
//! ```
//!
//! An increment is built in `ROOT/.NNNN-KIND.partial`, every file fsynced, and renamed into
//! place only when complete; a crash leaves the earlier increments untouched and at most a
//! `.partial` directory, which verify ignores and the next backup removes.
//!
//! Pure file handling given paths: [`make_backup`] reads a [`Store`] (only exports from it),
//! [`verify_backup`] needs no store, [`restore_backup`] builds a new data directory through the
//! store's import path, [`recovery_test`] restores into a scratch directory and checks it.

mod layout;
mod make;
mod restore;
mod verify;

use std::path::PathBuf;

pub use layout::{
    FileEntry, Manifest, ManifestConfig, ManifestLog, Previous, FILES_DIR, LOG_FILE, MANIFEST,
    MANIFEST_HASH, ROOT_MARKER,
};
pub use make::{make_backup, BackupSource, MadeIncrement};
pub use restore::{recovery_test, restore_backup, RecoveryTest, RestoreReport, RESTORED_CONFIG};
pub use verify::{verify_backup, BackupReport, IncrementReport};

use crate::StoreError;

/// What can go wrong with a backup root.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The directory holds files but is not a vigil backup root (no `vigil-backup.json`):
    /// name an empty or new directory, or an existing backup root.
    #[error("{path}: not empty and not a vigil backup root (no {ROOT_MARKER}); name an empty directory or an existing backup root")]
    NotABackupRoot {
        /// The directory.
        path: PathBuf,
    },
    /// The backup root holds no complete increment yet: make a backup first.
    #[error("{path}: no backup in this backup root yet (run `vigil backup --out {path}` first)")]
    NoBackup {
        /// The backup root.
        path: PathBuf,
    },
    /// The target data directory of a restore is not empty: name a new or empty directory.
    #[error("{path}: not empty; a restore only writes into a new or empty data directory")]
    TargetNotEmpty {
        /// The directory.
        path: PathBuf,
    },
    /// The backup or the store does not fit (keyed vs unkeyed, a store that does not continue
    /// the backup's chain): say which and what to do.
    #[error("{path}: {what}")]
    Mismatch {
        /// The file or directory concerned.
        path: PathBuf,
        /// What does not fit.
        what: String,
    },
    /// A check failed: the backup is damaged (a wrong hash, a missing file, a cut export, a
    /// broken chain between increments). Names the file and, for a record, its seq.
    #[error("{path}: {what}{}", seq.map(|s| format!(" (seq {s})")).unwrap_or_default())]
    Check {
        /// The file that failed.
        path: PathBuf,
        /// The record concerned, if any.
        seq: Option<u64>,
        /// What is wrong.
        what: String,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        error: std::io::Error,
    },
    /// The store refused (open, export, import, append).
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl BackupError {
    /// True when the caller gave something unusable (exit 2); false for a failed check or run.
    pub fn is_bad_input(&self) -> bool {
        match self {
            BackupError::NotABackupRoot { .. }
            | BackupError::NoBackup { .. }
            | BackupError::TargetNotEmpty { .. }
            | BackupError::Mismatch { .. } => true,
            BackupError::Check { .. } | BackupError::Io { .. } => false,
            BackupError::Store(e) => e.is_bad_input(),
        }
    }

    /// True when a check of the backup failed (exit 1).
    pub fn is_check_failed(&self) -> bool {
        matches!(self, BackupError::Check { .. })
    }

    pub(crate) fn io(path: &std::path::Path) -> impl Fn(std::io::Error) -> BackupError + '_ {
        move |error| BackupError::Io {
            path: path.to_path_buf(),
            error,
        }
    }
}

#[cfg(test)]
mod tests;
