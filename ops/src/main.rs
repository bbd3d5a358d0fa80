//! `vigil`: the command line of the field-station supervisor.
//!
//! Exit codes: 0 success, 1 a check failed or the run failed, 2 bad input.

mod api;
mod cmd;
mod exit;
mod logging;
mod output;
mod progress;
mod render;
mod systemd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// vigil supervises an unattended Raspberry Pi field station: power windows, timelapse,
/// thermal person detection and GPIO, all recorded in a tamper-evident event log.
#[derive(Debug, Parser)]
#[command(name = "vigil", version, about, long_about = None)]
struct Cli {
    /// Log filter (tracing syntax, e.g. `info,vigil_store=debug`); overrides RUST_LOG.
    #[arg(long, global = true)]
    log: Option<String>,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = logging::LogFormat::Auto)]
    log_format: logging::LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the supervisor (all actors) until stopped or for a duration.
    Start(cmd::start::StartArgs),
    /// Feed the log through the actor cores; with --check, verify every recorded decision.
    Replay(cmd::replay::ReplayArgs),
    /// Query the audit history.
    Audit(cmd::audit::AuditArgs),
    /// Walk the hash chain and the indexes; name the first bad seq.
    Verify(cmd::store_cmds::VerifyArgs),
    /// Print the resolved schedule windows.
    Schedule(cmd::config_cmds::ScheduleArgs),
    /// Config file tools.
    #[command(subcommand)]
    Config(cmd::config_cmds::ConfigCommand),
    /// Append synthetic events through the real append path (load generator).
    Load(cmd::store_cmds::LoadArgs),
    /// Export the log (msgpack for machines, jsonl for people).
    Export(cmd::store_cmds::ExportArgs),
    /// Import a msgpack export into an empty store.
    Import(cmd::store_cmds::ImportArgs),
    /// Apply the retention policy: destruction records, purges, media deletion (--dry-run: show).
    Retention(cmd::retention::RetentionArgs),
    /// Back up the log, frames, videos and config into a backup root (incremental after the
    /// first), verify a backup root on its own, or run a recovery test.
    Backup(cmd::backup::BackupArgs),
    /// Restore a backup root into a new data directory.
    Restore(cmd::backup::RestoreArgs),
    /// Bring a store back after a crash (re-apply its journal) and record what was done.
    Repair(cmd::store_cmds::RepairArgs),
    /// Thermal datasets (synthetic labelled frames).
    #[command(subcommand)]
    Dataset(cmd::thermal_cmds::DatasetCommand),
    /// Train the thermal model (runs the vigil-train executable next to vigil).
    Train(cmd::thermal_cmds::TrainArgs),
    /// Quantize an f32 thermal model to int8; report its size and f32 vs int8 accuracy.
    Quantize(cmd::thermal_cmds::QuantizeArgs),
    /// Classify thermal frames (CSV files or directories) with the int8 model.
    Classify(cmd::thermal_cmds::ClassifyArgs),
    /// Assemble the frames the log lists into a video (hashes checked).
    Timelapse(cmd::timelapse::TimelapseArgs),
    /// Board simulators.
    #[command(subcommand)]
    Sim(cmd::sim_cmds::SimCommand),
    /// Serial wire protocol tools.
    #[command(subcommand)]
    Wire(cmd::wire_cmds::WireCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(cli.log.as_deref(), cli.log_format);
    let result = match cli.command {
        Command::Start(a) => cmd::start::run(a),
        Command::Replay(a) => cmd::replay::run(a),
        Command::Audit(a) => cmd::audit::run(a),
        Command::Verify(a) => cmd::store_cmds::verify(a),
        Command::Schedule(a) => cmd::config_cmds::schedule(a),
        Command::Config(c) => cmd::config_cmds::run(c),
        Command::Load(a) => cmd::store_cmds::load(a),
        Command::Export(a) => cmd::store_cmds::export(a),
        Command::Import(a) => cmd::store_cmds::import(a),
        Command::Backup(a) => cmd::backup::backup(a),
        Command::Restore(a) => cmd::backup::restore(a),
        Command::Repair(a) => cmd::store_cmds::repair(a),
        Command::Retention(a) => cmd::retention::retention(a),
        Command::Dataset(c) => cmd::thermal_cmds::dataset(c),
        Command::Train(a) => cmd::thermal_cmds::train(a),
        Command::Quantize(a) => cmd::thermal_cmds::quantize(a),
        Command::Classify(a) => cmd::thermal_cmds::classify(a),
        Command::Timelapse(a) => cmd::timelapse::run(a),
        Command::Sim(c) => cmd::sim_cmds::run(c),
        Command::Wire(c) => cmd::wire_cmds::run(c),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("vigil: {failure}");
            ExitCode::from(failure.code())
        }
    }
}
