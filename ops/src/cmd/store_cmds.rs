//! `vigil load | verify | export | import` (being built by the store work).

use crate::exit::{CmdResult, Failure};

/// Arguments of `vigil load`.
#[derive(Debug, clap::Args)]
pub struct LoadArgs {}
/// Arguments of `vigil verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {}
/// Arguments of `vigil export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {}
/// Arguments of `vigil import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {}

fn todo_(what: &str) -> CmdResult {
    Err(Failure::Failed(anyhow::anyhow!("{what}: not built yet")))
}
/// `vigil load`.
pub fn load(_a: LoadArgs) -> CmdResult {
    todo_("load")
}
/// `vigil verify`.
pub fn verify(_a: VerifyArgs) -> CmdResult {
    todo_("verify")
}
/// `vigil export`.
pub fn export(_a: ExportArgs) -> CmdResult {
    todo_("export")
}
/// `vigil import`.
pub fn import(_a: ImportArgs) -> CmdResult {
    todo_("import")
}
