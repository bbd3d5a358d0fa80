//! `[store]`: the event log's chain key and group commit.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// `[store]`.
///
/// ```toml
/// [store]
/// # key_file = "/etc/vigil/chain.key"   # 32-byte key: keyed BLAKE3 chain (default: unkeyed)
/// max_batch = 256                       # group commit: most appends per durable batch
/// max_delay = "2ms"                     # group commit: longest wait to fill a batch
/// ```
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// Key file for the keyed hash chain; `None` = unkeyed BLAKE3.
    #[serde(deserialize_with = "crate::values::opt_path")]
    pub key_file: Option<PathBuf>,
    /// Group commit: the most appends in one durable batch (1–65536). Default 256.
    #[serde(deserialize_with = "crate::values::u32_in::<_, 1, 65536>")]
    pub max_batch: u32,
    /// Group commit: how long the writer waits for more appends before flushing
    /// (0 to 1 s). Default 2 ms.
    #[serde(deserialize_with = "crate::duration::de_in::<_, 0, 1000>")]
    pub max_delay: Duration,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            key_file: None,
            max_batch: 256,
            max_delay: Duration::from_millis(2),
        }
    }
}
