#![doc = include_str!("../README.md")]

pub mod backup;
mod chain;
mod error;
mod export;
mod journal;
mod keys;
mod open;
mod purge;
mod query;
mod quiet;
mod scan;
pub mod seal;
pub mod segment;
mod store;
mod synthetic;
mod verify;

use std::path::PathBuf;

use vigil_events::{ClassPolicy, Envelope, Hash, NewEvent};

pub use chain::{chain_hash, Key, ZERO_HASH};
pub use error::{BatchOutcome, StoreError};
pub use export::{
    envelope_json, ts_json, write_header, write_record, ExportFormat, ExportSummary, EXPORT_VERSION,
};
pub use journal::JOURNAL;
pub use keys::BUCKET_US;
pub use open::{read_key, LOCK, MARKER, SLED, WATERMARK};
pub use purge::{IndexedRecord, PurgeStep, SeqStatus};
pub use query::{Page, Query};
pub use scan::{RawRecord, RawScan, Scan};
pub use store::{Recovery, Store, MAX_RECORD};
pub use synthetic::{synthetic_event, FILLER_BYTES};
pub use verify::{Problem, ProblemKind, VerifyReport};

/// How to open a store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    /// A 32-byte key file: the chain then uses keyed BLAKE3. Must be `chmod 600` (no access
    /// for group or others). A keyed store refuses to open without its key.
    pub key_file: Option<PathBuf>,
    /// The 32-byte encryption key file (`[store] encryption_key_file`): `core` class payloads
    /// are sealed with it on append, and sealed payloads are opened on read (with the retired
    /// keys of its `.keyring` file). Without it, appends of `core` events are written clear
    /// (config validation refuses a station config that raises a kind to `core` without a
    /// key), and sealed payloads read as [`vigil_events::Event::Sealed`] (`<encrypted>`).
    pub encryption_key_file: Option<PathBuf>,
    /// Create the store when the directory is missing or empty (default). Tools that only
    /// read (`verify`, `export`) set this to false.
    pub create: bool,
    /// sled's page cache size in bytes (default 64 MiB).
    pub cache_bytes: u64,
    /// Open without writing anything in the store directory (verify, audit, export, replay,
    /// timelapse): sled is opened on a private copy of `sled/` in `TMPDIR`, the journal's
    /// acknowledged batches are applied to that copy only, no lock, journal or watermark file
    /// is created, and appends are refused ([`StoreError::ReadOnly`]).
    pub read_only: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            key_file: None,
            encryption_key_file: None,
            create: true,
            cache_bytes: 64 << 20,
            read_only: false,
        }
    }
}

impl StoreOptions {
    /// Options for tools that only read: the store must exist and is opened read-only
    /// (see [`StoreOptions::read_only`]).
    pub fn existing() -> Self {
        StoreOptions {
            create: false,
            read_only: true,
            ..StoreOptions::default()
        }
    }

    /// The same options with an encryption key file.
    pub fn with_encryption_key_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.encryption_key_file = Some(path.into());
        self
    }

    /// The same options with a key file.
    pub fn with_key_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.key_file = Some(path.into());
        self
    }
}

/// The event log as the rest of vigil sees it, so that a backend can be swapped. [`Store`]
/// (sled 0.34) is the one backend.
pub trait EventLog: Send + Sync {
    /// Append `batch` as one durable group commit; returns the committed envelopes (seq, prev
    /// and hash filled) only once they are durable.
    fn append(&self, batch: &[NewEvent], policy: &ClassPolicy)
        -> Result<Vec<Envelope>, StoreError>;
    /// Last durable seq (0 when empty).
    fn last_seq(&self) -> u64;
    /// Hash of the last durable record.
    fn head(&self) -> Hash;
    /// The event at `seq`.
    fn get(&self, seq: u64) -> Result<Option<Envelope>, StoreError>;
    /// Events from `from_seq` in seq order, every hash and link checked.
    fn scan(
        &self,
        from_seq: u64,
    ) -> Box<dyn Iterator<Item = Result<Envelope, StoreError>> + Send + 'static>;
    /// A page of events matching `q`.
    fn query(&self, q: &Query) -> Result<Page, StoreError>;
    /// Walk the chain and the indexes.
    fn verify(&self) -> VerifyReport;
}

impl EventLog for Store {
    fn append(
        &self,
        batch: &[NewEvent],
        policy: &ClassPolicy,
    ) -> Result<Vec<Envelope>, StoreError> {
        Store::append(self, batch, policy)
    }
    fn last_seq(&self) -> u64 {
        Store::last_seq(self)
    }
    fn head(&self) -> Hash {
        Store::head(self)
    }
    fn get(&self, seq: u64) -> Result<Option<Envelope>, StoreError> {
        Store::get(self, seq)
    }
    fn scan(
        &self,
        from_seq: u64,
    ) -> Box<dyn Iterator<Item = Result<Envelope, StoreError>> + Send + 'static> {
        Box::new(Store::scan(self, from_seq))
    }
    fn query(&self, q: &Query) -> Result<Page, StoreError> {
        Store::query(self, q)
    }
    fn verify(&self) -> VerifyReport {
        Store::verify(self)
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod seal_tests;
