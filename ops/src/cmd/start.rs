//! `vigil start` (being built).

use crate::exit::{CmdResult, Failure};

/// Arguments of `vigil start`.
#[derive(Debug, clap::Args)]
pub struct StartArgs {}

/// Run `vigil start`.
pub fn run(_args: StartArgs) -> CmdResult {
    Err(Failure::Failed(anyhow::anyhow!("start: not built yet")))
}
