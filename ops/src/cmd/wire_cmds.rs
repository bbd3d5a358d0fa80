//! `vigil wire decode` (being built by the wire work).

use crate::exit::{CmdResult, Failure};

/// `vigil wire …`
#[derive(Debug, clap::Subcommand)]
pub enum WireCommand {
    /// Decode a raw serial capture from stdin.
    Decode,
}
/// `vigil wire …`
pub fn run(_c: WireCommand) -> CmdResult {
    Err(Failure::Failed(anyhow::anyhow!("wire: not built yet")))
}
