//! `vigil config check` and `vigil schedule` (being built by the config work).

use crate::exit::{CmdResult, Failure};

/// `vigil config …`
#[derive(Debug, clap::Subcommand)]
pub enum ConfigCommand {
    /// Parse and validate a config file.
    Check,
}
/// Arguments of `vigil schedule`.
#[derive(Debug, clap::Args)]
pub struct ScheduleArgs {}

/// `vigil config …`
pub fn run(_c: ConfigCommand) -> CmdResult {
    Err(Failure::Failed(anyhow::anyhow!("config: not built yet")))
}
/// `vigil schedule`.
pub fn schedule(_a: ScheduleArgs) -> CmdResult {
    Err(Failure::Failed(anyhow::anyhow!("schedule: not built yet")))
}
