//! Arguments and helpers several commands share.

use std::path::{Path, PathBuf};

use anyhow::Context;
use vigil_config::Config;
use vigil_store::{Store, StoreOptions};

use crate::exit::{Classify, Failure};

/// `--data DIR`: the data directory holding the log.
#[derive(Debug, Clone, clap::Args)]
pub struct DataArgs {
    /// Data directory (default: the config's `station.data_dir`, `./vigil-data`).
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// The 32-byte key file of a keyed store (the config's `store.key_file`).
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
    /// The encryption key file of `core` payloads (the config's `store.encryption_key_file`);
    /// without it they show as `<encrypted>`.
    #[arg(long, value_name = "FILE")]
    pub encryption_key_file: Option<PathBuf>,
}

impl DataArgs {
    /// The data directory: `--data`, else the built-in default config's.
    pub fn dir(&self) -> PathBuf {
        self.data
            .clone()
            .unwrap_or_else(|| Config::builtin_default().station.data_dir.clone())
    }

    /// The event log inside the data directory.
    pub fn log_dir(&self) -> PathBuf {
        vigil_actors::supervisor::log_dir(&self.dir())
    }
}

pub use crate::output::OutputFormat;

/// A loaded config: the typed value, its text and where it came from.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    /// Typed, validated config.
    pub config: Config,
    /// The text it was parsed from.
    pub text: String,
    /// Its path, or [`vigil_config::DEFAULT_ORIGIN`].
    pub path: String,
}

/// Load `--config`, or the built-in simulated default.
pub fn load_config(path: Option<&Path>) -> Result<LoadedConfig, Failure> {
    match path {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read config {}", p.display()))
                .bad_input()?;
            let config = Config::parse(&text, &p.display().to_string()).bad_input()?;
            Ok(LoadedConfig {
                config,
                text,
                path: p.display().to_string(),
            })
        }
        None => Ok(LoadedConfig {
            config: Config::builtin_default(),
            text: vigil_config::DEFAULT_TOML.to_string(),
            path: vigil_config::DEFAULT_ORIGIN.to_string(),
        }),
    }
}

/// Open an existing store for a read-only command. A missing store, a store locked by a
/// running supervisor and a corrupt store are bad input (exit 2).
pub fn open_store_for_reading(data: &DataArgs) -> Result<Store, Failure> {
    let dir = data.log_dir();
    if !dir.exists() {
        return Err(Failure::BadInput(anyhow::anyhow!(
            "no event log at {} (start the supervisor, or pass the station's --data)",
            dir.display()
        )));
    }
    let opts = StoreOptions {
        key_file: data.key_file.clone(),
        encryption_key_file: data.encryption_key_file.clone(),
        ..StoreOptions::existing()
    };
    Store::open(&dir, opts)
        .with_context(|| format!("cannot open the log in {}", dir.display()))
        .bad_input()
}
