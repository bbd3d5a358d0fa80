//! One module per command family.

pub mod audit;
pub mod config_cmds;
pub mod replay;
pub mod start;
pub mod store_cmds;
pub mod wire_cmds;
