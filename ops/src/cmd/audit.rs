//! `vigil audit` (being built).

use crate::exit::{CmdResult, Failure};

/// Arguments of `vigil audit`.
#[derive(Debug, clap::Args)]
pub struct AuditArgs {}

/// Run `vigil audit`.
pub fn run(_args: AuditArgs) -> CmdResult {
    Err(Failure::Failed(anyhow::anyhow!("audit: not built yet")))
}
