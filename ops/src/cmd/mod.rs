//! One module per command family.

pub mod audit;
pub mod backup;
pub mod common;
pub mod config_cmds;
pub mod replay;
pub mod retention;
pub mod sim_cmds;
pub mod sim_summary;
pub mod start;
pub mod store_cmds;
pub mod thermal_cmds;
pub mod timelapse;
pub mod wire_cmds;
