//! `[station]`: what this station is called and where it keeps its data.

use std::path::PathBuf;

use serde::Deserialize;

/// `[station]`.
///
/// ```toml
/// [station]
/// name = "vigil-sim"
/// data_dir = "./vigil-data"   # relative paths are relative to the working directory
/// ```
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StationConfig {
    /// Station name, shown in events and the dashboard. Default `vigil-sim`.
    #[serde(deserialize_with = "crate::values::non_empty")]
    pub name: String,
    /// Data directory (event log, frames, videos). Default `./vigil-data`.
    #[serde(deserialize_with = "crate::values::non_empty_path")]
    pub data_dir: PathBuf,
}

impl Default for StationConfig {
    fn default() -> Self {
        StationConfig {
            name: "vigil-sim".to_string(),
            data_dir: PathBuf::from("./vigil-data"),
        }
    }
}
