//! `vigil replay` (being built).

use crate::exit::{CmdResult, Failure};

/// Arguments of `vigil replay`.
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {}

/// Run `vigil replay`.
pub fn run(_args: ReplayArgs) -> CmdResult {
    Err(Failure::Failed(anyhow::anyhow!("replay: not built yet")))
}
