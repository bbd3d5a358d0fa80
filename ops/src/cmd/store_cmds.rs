//! `vigil load | verify | export | import`: the event log's own tools.
//!
//! All of them open the store in `--data DIR` exclusively (a running supervisor holds the lock:
//! stop it, or use its API). Exit codes: 0 ok, 1 verification failed or the run failed, 2 bad
//! input (a foreign or corrupt file, a wrong key, a locked directory, a broken export).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::anyhow;
use serde_json::json;
use vigil_events::ClassPolicy;
use vigil_store::{synthetic_event, ExportFormat, Store, StoreError, StoreOptions};

use vigil_actors::supervisor::log_dir;

use crate::exit::{CmdResult, Failure};

/// Map a store error to the CLI contract: bad input (2) or a failed run (1); a corrupt store
/// found while checking counts as a failed check (1).
fn classify(e: StoreError) -> Failure {
    match e {
        StoreError::Corrupt { .. } => Failure::CheckFailed(e.into()),
        e if e.is_bad_input() => Failure::BadInput(e.into()),
        e => Failure::Failed(e.into()),
    }
}

fn open(data: &Path, key_file: &Option<PathBuf>, create: bool) -> Result<Store, Failure> {
    let opts = StoreOptions {
        key_file: key_file.clone(),
        create,
        ..StoreOptions::default()
    };
    Store::open(&log_dir(data), opts).map_err(|e| match e {
        // A store that does not open consistently is bad input for every tool but verify,
        // which reports it as a failed check.
        StoreError::Corrupt { .. } => Failure::BadInput(e.into()),
        e => classify(e),
    })
}

/// Arguments of `vigil load`.
#[derive(Debug, clap::Args)]
pub struct LoadArgs {
    /// Station data directory (the log is its `log/` subdirectory).
    #[arg(long, value_name = "DIR", default_value = "./vigil-data")]
    pub data: PathBuf,
    /// Number of events to append.
    #[arg(long, value_name = "N")]
    pub events: u64,
    /// Events per second (default: as fast as the store takes them).
    #[arg(long, value_name = "R")]
    pub rate: Option<f64>,
    /// Events per group commit.
    #[arg(long, value_name = "B", default_value_t = 100)]
    pub batch: usize,
    /// Print each acknowledged seq on its own line, flushed, once it is durable.
    #[arg(long)]
    pub print_acks: bool,
    /// 32-byte key file for a keyed chain.
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
}

/// Arguments of `vigil verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Station data directory (the log is its `log/` subdirectory).
    #[arg(long, value_name = "DIR", default_value = "./vigil-data")]
    pub data: PathBuf,
    /// 32-byte key file of a keyed store.
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,
}

/// Output of `vigil verify`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// Lines for people.
    Table,
    /// One JSON object.
    Json,
}

/// Export formats on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormatArg {
    /// Verifiable: header map, then one map per record (docs/store.md).
    Msgpack,
    /// One decoded event per line, for people.
    Jsonl,
}

/// Arguments of `vigil export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Station data directory (the log is its `log/` subdirectory).
    #[arg(long, value_name = "DIR", default_value = "./vigil-data")]
    pub data: PathBuf,
    /// Output format.
    #[arg(long, value_enum)]
    pub format: ExportFormatArg,
    /// Output file (written whole or not at all).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// First seq to export.
    #[arg(long, value_name = "SEQ", default_value_t = 1)]
    pub from: u64,
    /// 32-byte key file of a keyed store.
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
}

/// Arguments of `vigil import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// Station data directory (its `log/` must be new or empty).
    #[arg(long, value_name = "DIR", default_value = "./vigil-data")]
    pub data: PathBuf,
    /// The msgpack export to import.
    #[arg(long = "in", value_name = "FILE")]
    pub input: PathBuf,
    /// 32-byte key file (required when the export is keyed).
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
}

fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// `vigil load`.
pub fn load(a: LoadArgs) -> CmdResult {
    if a.batch == 0 {
        return Err(Failure::BadInput(anyhow!("--batch must be at least 1")));
    }
    if let Some(r) = a.rate {
        if !(r.is_finite() && r > 0.0) {
            return Err(Failure::BadInput(anyhow!(
                "--rate must be a positive number, got {r}"
            )));
        }
    }
    let store = open(&a.data, &a.key_file, true)?;
    let policy = ClassPolicy::default();
    let start = Instant::now();
    let stdout = std::io::stdout();
    let mut done = 0u64;
    let mut acks = String::new();
    while done < a.events {
        let n = (a.events - done).min(a.batch as u64);
        if let Some(rate) = a.rate {
            let due = Duration::from_secs_f64(done as f64 / rate);
            if let Some(wait) = due.checked_sub(start.elapsed()) {
                std::thread::sleep(wait);
            }
        }
        let ts = now_micros();
        let batch: Vec<_> = (0..n).map(|i| synthetic_event(done + i + 1, ts)).collect();
        let envs = store.append(&batch, &policy).map_err(classify)?;
        if a.print_acks {
            // `append` has returned: the batch is durable. One write per batch.
            acks.clear();
            for e in &envs {
                acks.push_str(&e.seq.to_string());
                acks.push('\n');
            }
            let mut out = stdout.lock();
            out.write_all(acks.as_bytes())
                .and_then(|()| out.flush())
                .map_err(|e| Failure::Failed(anyhow!("stdout: {e}")))?;
        }
        done += n;
    }
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "appended {done} events in {secs:.3} s ({:.0} events/s), last seq {}, head {}",
        done as f64 / secs.max(1e-9),
        store.last_seq(),
        hex::encode(store.head())
    );
    Ok(())
}

/// `vigil verify`.
pub fn verify(a: VerifyArgs) -> CmdResult {
    let store = Store::open(
        &log_dir(&a.data),
        StoreOptions {
            key_file: a.key_file.clone(),
            ..StoreOptions::existing()
        },
    )
    .map_err(classify)?;
    let r = store.verify();
    match a.format {
        ReportFormat::Json => {
            let v = json!({
                "ok": r.is_ok(),
                "checked": r.checked,
                "first_seq": r.first_seq,
                "last_seq": r.last_seq,
                "head": hex::encode(r.head),
                "keyed": r.keyed,
                "problem": r.problem.as_ref().map(|p| json!({
                    "seq": p.seq, "kind": p.kind.as_str(), "detail": p.detail,
                })),
            });
            println!("{v}");
        }
        ReportFormat::Table => {
            println!("store      {}", a.data.display());
            println!(
                "records    {}..={} ({} checked)",
                r.first_seq, r.last_seq, r.checked
            );
            println!("head       {}", hex::encode(r.head));
            println!("keyed      {}", r.keyed);
            match &r.problem {
                None => println!("result     ok"),
                Some(p) => println!(
                    "result     FAILED at seq {}: {}: {}",
                    p.seq, p.kind, p.detail
                ),
            }
        }
    }
    match r.problem {
        None => Ok(()),
        Some(p) => Err(Failure::CheckFailed(anyhow!(
            "{}: verification failed at seq {}: {}: {}",
            a.data.display(),
            p.seq,
            p.kind,
            p.detail
        ))),
    }
}

/// `vigil export`.
pub fn export(a: ExportArgs) -> CmdResult {
    let store = open(&a.data, &a.key_file, false)?;
    let format = match a.format {
        ExportFormatArg::Msgpack => ExportFormat::Msgpack,
        ExportFormatArg::Jsonl => ExportFormat::Jsonl,
    };
    let s = store.export(format, &a.out, a.from).map_err(|e| match e {
        StoreError::Corrupt { .. } => Failure::CheckFailed(e.into()),
        e => classify(e),
    })?;
    eprintln!(
        "exported {} records (seq {}..={}) to {}, head {}",
        s.count,
        s.first_seq,
        s.last_seq,
        a.out.display(),
        hex::encode(s.head)
    );
    Ok(())
}

/// `vigil import`.
pub fn import(a: ImportArgs) -> CmdResult {
    let file = std::fs::File::open(&a.input)
        .map_err(|e| Failure::BadInput(anyhow!("{}: {e}", a.input.display())))?;
    let store = open(&a.data, &a.key_file, true)?;
    let s = store.import_msgpack(file, &a.input).map_err(classify)?;
    eprintln!(
        "imported {} records (seq {}..={}) into {}, head {}",
        s.count,
        s.first_seq,
        s.last_seq,
        a.data.display(),
        hex::encode(s.head)
    );
    Ok(())
}
