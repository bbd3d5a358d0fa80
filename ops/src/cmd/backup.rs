//! `vigil backup --out DIR | --verify DIR | --test [--from DIR]` and `vigil restore`.
//!
//! The format, verify and restore live in `vigil_store::backup` (shared with the supervisor's
//! backup actor); this module parses arguments, opens the store, records `BackupMade` /
//! `BackupTested` and maps errors to exit codes: 2 bad input (a directory that is neither
//! empty nor a backup root, a non-empty restore target, a locked store), 1 a failed check (a
//! wrong hash, a missing file, a cut export: named by file and seq) or a failed recovery test.

use crate::cmd::store_cmds::now_micros;
use std::path::{Path, PathBuf};

use anyhow::anyhow;
use serde_json::json;
use vigil_events::{kinds, ClassPolicy, NewEvent, Source};
use vigil_store::backup::{
    make_backup, recovery_test, restore_backup, verify_backup, BackupError, BackupSource,
};
use vigil_store::{read_key, Store, StoreError, StoreOptions};

use vigil_actors::supervisor::log_dir;

use crate::cmd::common::load_config;
use crate::exit::{CmdResult, Failure};

/// Arguments of `vigil backup`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("action").required(true).args(["out", "verify", "test"])))]
pub struct BackupArgs {
    /// Write the next increment into this backup root (a new or empty directory gets the full
    /// first one).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Check the backup root on its own (no store needed).
    #[arg(long, value_name = "DIR")]
    pub verify: Option<PathBuf>,
    /// Restore the latest backup into a scratch directory, check it, record `BackupTested`.
    #[arg(long)]
    pub test: bool,
    /// With --test: the backup root (default: the config's `backup.dir`).
    #[arg(long, value_name = "DIR", requires = "test")]
    pub from: Option<PathBuf>,
    /// Station data directory (default: the config's `station.data_dir`).
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Config file (copied into the backup; its `[backup]` and `[store]` are used).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// 32-byte key file of a keyed store (default: the config's `store.key_file`).
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,
}

/// Arguments of `vigil restore`.
#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    /// The backup root to restore (every increment, in order).
    #[arg(long, value_name = "DIR")]
    pub from: PathBuf,
    /// The new data directory (must be missing or empty).
    #[arg(long, value_name = "NEW_DIR")]
    pub data: PathBuf,
    /// 32-byte key file of a keyed backup.
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
}

/// Record one backup event in the live store; its seq.
fn record(store: &Store, ev: impl Into<vigil_events::Event>) -> Result<u64, Failure> {
    let env = store
        .append(
            &[NewEvent::new(now_micros(), Source::Ops, ev)],
            &ClassPolicy::default(),
        )
        .map_err(store_failure)?;
    Ok(env.first().map_or(0, |e| e.seq))
}

/// A backup error as a CLI failure: a failed check exits 1, bad input 2.
fn classify(e: BackupError) -> Failure {
    if e.is_check_failed() {
        Failure::CheckFailed(e.into())
    } else if e.is_bad_input() {
        Failure::BadInput(e.into())
    } else {
        Failure::Failed(e.into())
    }
}

fn store_failure(e: StoreError) -> Failure {
    if e.is_bad_input() {
        Failure::BadInput(e.into())
    } else {
        Failure::Failed(e.into())
    }
}

/// `vigil backup`.
pub fn backup(a: BackupArgs) -> CmdResult {
    let loaded = load_config(a.config.as_deref())?;
    let config = &loaded.config;
    let data = a
        .data
        .clone()
        .unwrap_or_else(|| config.station.data_dir.clone());
    let key_file = a.key_file.clone().or_else(|| config.store.key_file.clone());
    if let Some(root) = &a.verify {
        return verify(root, key_file.as_deref(), a.format);
    }
    let store = open_live(&data, key_file.as_deref())?;
    if let Some(root) = &a.out {
        return make(&store, root, &data, a.config.as_deref(), a.format);
    }
    let root = a
        .from
        .clone()
        .or_else(|| config.backup.dir.clone())
        .ok_or_else(|| {
            Failure::BadInput(anyhow!(
                "vigil backup --test: no backup root: pass --from DIR or set [backup] dir in the \
                 config"
            ))
        })?;
    test(&store, &root, key_file.as_deref(), a.format)
}

/// The live store, opened for writing (`BackupMade`/`BackupTested` are appended); a running
/// supervisor holds the lock and is refused as bad input.
fn open_live(data: &Path, key_file: Option<&Path>) -> Result<Store, Failure> {
    let dir = log_dir(data);
    if !dir.exists() {
        return Err(Failure::BadInput(anyhow!(
            "no event log at {} (pass the station's --data)",
            dir.display()
        )));
    }
    Store::open(
        &dir,
        StoreOptions {
            key_file: key_file.map(Path::to_path_buf),
            create: false,
            ..StoreOptions::default()
        },
    )
    .map_err(store_failure)
}

fn make(
    store: &Store,
    root: &Path,
    data: &Path,
    config: Option<&Path>,
    f: ReportFormat,
) -> CmdResult {
    let src = BackupSource {
        store,
        data_dir: data,
        config,
        now_us: now_micros(),
    };
    let made = make_backup(root, &src).map_err(classify)?;
    let m = &made.manifest;
    let ev = kinds::BackupMade {
        path: made.dir.display().to_string(),
        increment: m.increment,
        full: m.full,
        first_seq: m.log.first_seq,
        last_seq: m.log.last_seq,
        files: m.files.len() as u64,
        bytes: made.bytes,
        manifest_hash: made.manifest_hash.clone(),
    };
    let seq = record(store, ev)?;
    match f {
        ReportFormat::Json => println!(
            "{}",
            json!({
                "dir": made.dir.display().to_string(),
                "increment": m.increment,
                "full": m.full,
                "first_seq": m.log.first_seq,
                "last_seq": m.log.last_seq,
                "records": m.log.count,
                "files": m.files.len(),
                "bytes": made.bytes,
                "manifest_hash": made.manifest_hash,
                "recorded_seq": seq,
            })
        ),
        ReportFormat::Table => {
            println!(
                "backup     {} ({})",
                made.dir.display(),
                if m.full { "full" } else { "incremental" }
            );
            println!(
                "records    {} (seq {}..={})",
                m.log.count, m.log.first_seq, m.log.last_seq
            );
            println!("files      {} new", m.files.len());
            println!("bytes      {}", made.bytes);
            println!("manifest   {}", made.manifest_hash);
            println!("recorded   BackupMade at seq {seq}");
        }
    }
    Ok(())
}

fn verify(root: &Path, key_file: Option<&Path>, f: ReportFormat) -> CmdResult {
    let key = key_file.map(read_key).transpose().map_err(store_failure)?;
    let r = verify_backup(root, key.as_ref()).map_err(classify)?;
    match f {
        ReportFormat::Json => {
            let incs: Vec<_> = r
                .increments
                .iter()
                .map(|i| {
                    json!({
                        "dir": i.dir.display().to_string(),
                        "increment": i.manifest.increment,
                        "full": i.manifest.full,
                        "first_seq": i.manifest.log.first_seq,
                        "last_seq": i.manifest.log.last_seq,
                        "records": i.manifest.log.count,
                        "files": i.manifest.files.len(),
                        "manifest_hash": i.manifest_hash,
                    })
                })
                .collect();
            println!(
                "{}",
                json!({"ok": true, "root": root.display().to_string(), "keyed": r.keyed,
                       "last_seq": r.last_seq(), "records": r.records(), "files": r.files(),
                       "increments": incs})
            );
        }
        ReportFormat::Table => {
            println!("backup     {}", root.display());
            for i in &r.increments {
                println!(
                    "  {}  seq {}..={}  {} records  {} files  manifest {}",
                    i.dir
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    i.manifest.log.first_seq,
                    i.manifest.log.last_seq,
                    i.manifest.log.count,
                    i.manifest.files.len(),
                    i.manifest_hash
                );
            }
            println!(
                "result     ok ({} increments, last seq {}, {} files)",
                r.increments.len(),
                r.last_seq(),
                r.files()
            );
        }
    }
    Ok(())
}

fn test(store: &Store, root: &Path, key_file: Option<&Path>, f: ReportFormat) -> CmdResult {
    let t = recovery_test(root, key_file, &std::env::temp_dir(), now_micros());
    let seq = record(store, t.event())?;
    match f {
        ReportFormat::Json => println!(
            "{}",
            json!({"ok": t.failure.is_none(), "path": t.path, "increment": t.increment,
                   "last_seq": t.last_seq, "failure": t.failure, "duration_ms": t.duration_ms,
                   "recorded_seq": seq})
        ),
        ReportFormat::Table => {
            println!("backup     {} (increment {})", t.path, t.increment);
            println!("restored   up to seq {}", t.last_seq);
            println!("took       {} ms", t.duration_ms);
            match &t.failure {
                None => println!("result     ok"),
                Some(why) => println!("result     FAILED: {why}"),
            }
            println!("recorded   BackupTested at seq {seq}");
        }
    }
    match t.failure {
        None => Ok(()),
        Some(why) => Err(Failure::CheckFailed(anyhow!(
            "recovery test of {} failed: {why}",
            root.display()
        ))),
    }
}

/// `vigil restore`.
pub fn restore(a: RestoreArgs) -> CmdResult {
    let r = restore_backup(&a.from, &a.data, a.key_file.as_deref(), false, now_micros())
        .map_err(classify)?;
    println!("restored   {} into {}", a.from.display(), a.data.display());
    println!(
        "records    {} increments up to seq {}; BackupRestored recorded at seq {}",
        r.backup.increments.len(),
        r.last_seq,
        r.restored_seq
    );
    println!("files      {}", r.files);
    Ok(())
}

/// Output of `vigil backup`: lines for people or one JSON object (the backup reports are
/// nested documents, so no csv).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// Lines for people.
    Table,
    /// One JSON object.
    Json,
}
