//! `vigil retention [--dry-run] [--data D] [--config F] [--format table|json]`: what the
//! policy destroys and why, then (without `--dry-run`) the run itself: destruction records,
//! purges, media deletions, `RetentionRan`. The store must not be held by a running supervisor.

use std::path::PathBuf;

use anyhow::anyhow;
use serde_json::json;
use vigil_actors::retention::{run, RunOptions, RunReport, StatvfsFreeSpace};
use vigil_store::{Store, StoreOptions};

use crate::cmd::common::{load_config, DataArgs};
use crate::exit::{CmdResult, Failure};

/// Output of `vigil retention`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RetentionFormat {
    /// For people.
    Table,
    /// One JSON document.
    Json,
}

/// Arguments of `vigil retention`.
#[derive(Debug, clap::Args)]
pub struct RetentionArgs {
    /// Only show what would go and why; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub data: DataArgs,
    /// Config file with `[retention]` (default: the built-in simulated config).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = RetentionFormat::Table)]
    pub format: RetentionFormat,
    /// Evaluate the policy at this instant (RFC 3339) instead of now: for simulated stations.
    #[arg(long, value_name = "RFC3339")]
    pub now: Option<String>,
}

fn now(a: &RetentionArgs) -> Result<i64, Failure> {
    match &a.now {
        None => Ok(chrono::Utc::now().timestamp_micros()),
        Some(s) => chrono::DateTime::parse_from_rfc3339(s)
            .map(|t| t.timestamp_micros())
            .map_err(|e| Failure::BadInput(anyhow!("--now {s}: not an RFC 3339 time: {e}"))),
    }
}

/// Run `vigil retention`.
pub fn retention(a: RetentionArgs) -> CmdResult {
    let loaded = load_config(a.config.as_deref())?;
    let cfg = &loaded.config;
    let data_dir = a
        .data
        .data
        .clone()
        .unwrap_or_else(|| cfg.station.data_dir.clone());
    let log = vigil_actors::supervisor::log_dir(&data_dir);
    if !log.exists() {
        return Err(Failure::BadInput(anyhow!(
            "no event log at {} (pass the station's --data)",
            log.display()
        )));
    }
    let base = if a.dry_run {
        StoreOptions::existing()
    } else {
        StoreOptions {
            create: false,
            ..StoreOptions::default()
        }
    };
    let opts = StoreOptions {
        key_file: a.data.key_file.clone(),
        ..base
    };
    let store = Store::open(&log, opts).map_err(|e| {
        if e.is_bad_input() {
            Failure::BadInput(e.into())
        } else {
            Failure::Failed(e.into())
        }
    })?;
    let run_opts = RunOptions {
        data_dir: data_dir.clone(),
        dry_run: a.dry_run,
        now: now(&a)?,
        step_segments: 64,
    };
    let report = run(
        &store,
        &cfg.retention,
        &cfg.class_policy(),
        &StatvfsFreeSpace,
        &run_opts,
    )
    .map_err(|e| Failure::Failed(e.into()))?;
    print(&a, &report);
    Ok(())
}

fn print(a: &RetentionArgs, r: &RunReport) {
    let purges: Vec<_> = r
        .plan
        .purges
        .iter()
        .map(|p| {
            json!({
                "reason": p.reason.as_str(),
                "count": p.count,
                "bytes": p.bytes,
                "ranges": p.ranges.iter().map(|x| json!([x.from, x.to])).collect::<Vec<_>>(),
                "classes": p.classes.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
                "kinds": p.kinds.iter().map(|k| k.name()).collect::<Vec<_>>(),
                "files": p.files.len(),
                "file_bytes": p.file_bytes(),
            })
        })
        .collect();
    match a.format {
        RetentionFormat::Json => println!(
            "{}",
            json!({
                "dry_run": a.dry_run,
                "policy": r.plan.policy,
                "purges": purges,
                "exhausted": r.plan.exhausted,
                "protected_bytes": r.plan.protected_bytes,
                "destruction_seqs": r.destruction_seqs,
                "resumed": r.resumed,
                "purged": r.purged,
                "files_deleted": r.files_deleted,
                "bytes_freed": r.bytes_freed,
                "storage_exhausted_seq": r.exhausted_seq,
                "retention_ran_seq": r.ran_seq,
                "duration_ms": r.duration_ms,
            })
        ),
        RetentionFormat::Table => {
            println!("policy     {}", r.plan.policy);
            if let Some(seq) = r.resumed {
                println!("resumed    the purge of RecordsDestroyed seq {seq}, cut by a crash");
            }
            if r.plan.purges.is_empty() {
                println!("nothing is due");
            }
            let verb = if a.dry_run { "would go" } else { "went" };
            for (i, p) in r.plan.purges.iter().enumerate() {
                let kinds: Vec<&str> = p.kinds.iter().map(|k| k.name()).collect();
                let by = r
                    .destruction_seqs
                    .get(i)
                    .map(|s| format!(" (RecordsDestroyed seq {s})"))
                    .unwrap_or_default();
                println!(
                    "{:<10} {} records ({} bytes) and {} files ({} bytes) {verb}{by}: {}",
                    p.reason.as_str(),
                    p.count,
                    p.bytes,
                    p.files.len(),
                    p.file_bytes(),
                    kinds.join(", ")
                );
            }
            if r.plan.exhausted {
                println!(
                    "exhausted  free space stays below the floor; only protected data ({} bytes) \
                     is left{}",
                    r.plan.protected_bytes,
                    r.exhausted_seq
                        .map(|s| format!(": StorageExhausted at seq {s}"))
                        .unwrap_or_default()
                );
            }
            if let Some(seq) = r.ran_seq {
                println!(
                    "recorded   RetentionRan at seq {seq}: {} purged, {} files, {} bytes freed \
                     in {} ms",
                    r.purged, r.files_deleted, r.bytes_freed, r.duration_ms
                );
            }
        }
    }
}
