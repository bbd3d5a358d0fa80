//! `[store]`: the event log's chain key, encryption key and group commit.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// `[store]`.
///
/// ```toml
/// [store]
/// # key_file = "/etc/vigil/chain.key"   # 32-byte key: keyed BLAKE3 chain (default: unkeyed)
/// # encryption_key_file = "/etc/vigil/data.key"  # 32-byte key: `core` payloads encrypted at rest
/// max_batch = 256                       # group commit: most appends per durable batch
/// max_delay = "2ms"                     # group commit: longest wait to fill a batch
/// ```
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// Key file for the keyed hash chain; `None` = unkeyed BLAKE3.
    #[serde(deserialize_with = "crate::values::opt_path")]
    pub key_file: Option<PathBuf>,
    /// Key file of the encryption at rest of `core` class payloads (XChaCha20-Poly1305; its
    /// retired keys in `FILE.keyring`). Required when `[classes]` raises a kind to `core`;
    /// separate from `key_file`.
    #[serde(deserialize_with = "crate::values::opt_path")]
    pub encryption_key_file: Option<PathBuf>,
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
            encryption_key_file: None,
            max_batch: 256,
            max_delay: Duration::from_millis(2),
        }
    }
}

impl StoreConfig {
    /// Cross-checks with `[classes]`: a kind raised to `core` needs an encryption key, and the
    /// encryption key is not the chain key. (The key files themselves are checked where they
    /// are read: `vigil config check` and every open of the store.)
    pub(crate) fn validate(
        &self,
        ctx: &crate::error::Ctx<'_>,
        classes: &crate::classes::Classes,
    ) -> Result<(), crate::ConfigError> {
        use crate::error::Problem;
        use vigil_events::DataClass;
        if self.encryption_key_file.is_none() {
            if let Some((kind, _)) = classes
                .raised
                .iter()
                .find(|(_, class)| **class == DataClass::Core)
            {
                return Err(ctx.invalid(
                    classes.spans.get(kind),
                    Problem::CoreWithoutEncryptionKey { kind: kind.name() },
                ));
            }
        }
        if let (Some(a), Some(b)) = (&self.key_file, &self.encryption_key_file) {
            if a == b {
                return Err(ctx.invalid(
                    None,
                    Problem::SameKeyFile {
                        path: a.display().to_string(),
                    },
                ));
            }
        }
        Ok(())
    }
}
