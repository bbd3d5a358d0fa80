//! `vigil load | verify | export | import | repair`: the event log's own tools.
//!
//! All of them open the store in `--data DIR` exclusively (a running supervisor holds the lock:
//! stop it, or use its API). `verify` and `export` only read: they never change a file of the
//! store (see `docs/store.md`); `repair` is the explicit step that writes a recovery. Exit
//! codes: 0 ok, 1 verification failed or the run failed, 2 bad input (a foreign or corrupt
//! file, a wrong key, a locked directory, a broken export).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::anyhow;
use serde_json::json;
use vigil_events::{kinds, ClassPolicy, NewEvent, Source};
use vigil_store::{synthetic_event, ExportFormat, Recovery, Store, StoreError, StoreOptions};

use vigil_actors::supervisor::log_dir;

use crate::exit::{CmdResult, Failure};
use crate::output::{print_document, OutputFormat};
use crate::progress::Progress;

/// Map a store error to the CLI contract: bad input (2) or a failed run (1); a corrupt store
/// found while checking counts as a failed check (1).
fn classify(e: StoreError) -> Failure {
    match e {
        StoreError::Corrupt { .. } => Failure::CheckFailed(e.into()),
        e if e.is_bad_input() => Failure::BadInput(e.into()),
        e => Failure::Failed(e.into()),
    }
}

/// How a tool opens the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Writes; creates a new store.
    Create,
    /// Writes to an existing store.
    Write,
    /// Reads only: nothing in the store changes.
    Read,
}

fn open(data: &Path, key_file: &Option<PathBuf>, access: Access) -> Result<Store, Failure> {
    open_with(data, key_file, &None, access)
}

fn open_with(
    data: &Path,
    key_file: &Option<PathBuf>,
    encryption_key_file: &Option<PathBuf>,
    access: Access,
) -> Result<Store, Failure> {
    let base = match access {
        Access::Read => StoreOptions::existing(),
        Access::Write => StoreOptions {
            create: false,
            ..StoreOptions::default()
        },
        Access::Create => StoreOptions::default(),
    };
    let opts = StoreOptions {
        key_file: key_file.clone(),
        encryption_key_file: encryption_key_file.clone(),
        ..base
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
    /// 32-byte encryption key file: `core` payloads are sealed with it.
    #[arg(long, value_name = "FILE")]
    pub encryption_key_file: Option<PathBuf>,
    /// A station config: its `[classes]` decide each event's class (a kind raised to `core`
    /// is encrypted) and its `[store]` key files are used unless given here.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Fill each payload with this text instead of pseudo-random bytes (to check, e.g., that
    /// `core` payloads never reach the disk in clear: grep the data directory for it).
    #[arg(long, value_name = "TEXT")]
    pub filler: Option<String>,
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
    /// Encryption key file of `core` payloads: when given, every sealed payload is also
    /// opened and decoded (not needed to check the chain).
    #[arg(long, value_name = "FILE")]
    pub encryption_key_file: Option<PathBuf>,
    /// Output format: lines for people, or the report as one JSON object (json, jsonl) or
    /// one CSV row (nested fields as JSON text).
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
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
    /// Encryption key file: jsonl then shows `core` payloads in clear (msgpack always holds
    /// the stored, sealed bytes).
    #[arg(long, value_name = "FILE")]
    pub encryption_key_file: Option<PathBuf>,
}

/// Arguments of `vigil repair`.
#[derive(Debug, clap::Args)]
pub struct RepairArgs {
    /// Station data directory (the log is its `log/` subdirectory).
    #[arg(long, value_name = "DIR", default_value = "./vigil-data")]
    pub data: PathBuf,
    /// 32-byte key file of a keyed store.
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
    /// Only say what a repair would do; change nothing.
    #[arg(long)]
    pub dry_run: bool,
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

/// Wall-clock time in UTC µs, the `ts` of the events the store tools record.
pub(crate) fn now_micros() -> i64 {
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
    let (policy, key_file, encryption_key_file) = match &a.config {
        None => (
            ClassPolicy::default(),
            a.key_file.clone(),
            a.encryption_key_file.clone(),
        ),
        Some(p) => {
            let c = crate::cmd::common::load_config(Some(p))?.config;
            let key = a.key_file.clone().or(c.store.key_file.clone());
            let enc = a
                .encryption_key_file
                .clone()
                .or(c.store.encryption_key_file.clone());
            (c.class_policy(), key, enc)
        }
    };
    let store = open_with(&a.data, &key_file, &encryption_key_file, Access::Create)?;
    let start = Instant::now();
    let stdout = std::io::stdout();
    let mut done = 0u64;
    let mut acks = String::new();
    let progress = Progress::bar("appending events", a.events);
    while done < a.events {
        let n = (a.events - done).min(a.batch as u64);
        if let Some(rate) = a.rate {
            let due = Duration::from_secs_f64(done as f64 / rate);
            if let Some(wait) = due.checked_sub(start.elapsed()) {
                std::thread::sleep(wait);
            }
        }
        let ts = now_micros();
        let batch: Vec<_> = (0..n)
            .map(|i| {
                let mut ev = synthetic_event(done + i + 1, ts);
                if let (Some(text), vigil_events::Event::LoadGenerated(p)) =
                    (&a.filler, &mut ev.event)
                {
                    p.filler = text.as_bytes().to_vec();
                }
                ev
            })
            .collect();
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
        progress.inc(n);
    }
    drop(progress);
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
            encryption_key_file: a.encryption_key_file.clone(),
            ..StoreOptions::existing()
        },
    )
    .map_err(classify)?;
    let spinner = Progress::spinner(&format!(
        "verifying the chain up to seq {}",
        store.last_seq()
    ));
    let r = store.verify();
    drop(spinner);
    let pending = store.recovery().reapplied;
    let doc = json!({
        "journal_pending": pending.map(|(f, l)| json!([f, l])),
        "ok": r.is_ok(),
        "checked": r.checked,
        "first_seq": r.first_seq,
        "last_seq": r.last_seq,
        "head": hex::encode(r.head),
        "keyed": r.keyed,
        "sealed": r.sealed,
        "redacted": r.redacted,
        "destroyed_by": r.destroyed_by.iter()
            .map(|(seq, n)| json!({"seq": seq, "records": n}))
            .collect::<Vec<_>>(),
        "problem": r.problem.as_ref().map(|p| json!({
            "seq": p.seq, "kind": p.kind.as_str(), "detail": p.detail,
        })),
    });
    print_document(a.format, &doc, || {
        let mut t = format!("store      {}\n", a.data.display());
        t += &format!(
            "records    {}..={} ({} checked)\n",
            r.first_seq, r.last_seq, r.checked
        );
        t += &format!("head       {}\n", hex::encode(r.head));
        t += &format!("keyed      {}\n", r.keyed);
        if r.sealed > 0 {
            let how = if a.encryption_key_file.is_some() {
                "opened and decoded with the encryption key"
            } else {
                "chain checked; payloads not opened without the encryption key"
            };
            t += &format!(
                "sealed     {} records encrypted at rest ({how})\n",
                r.sealed
            );
        }
        if r.redacted > 0 || !r.destroyed_by.is_empty() {
            let by: Vec<String> = r
                .destroyed_by
                .iter()
                .map(|(seq, n)| format!("{n} under RecordsDestroyed seq {seq}"))
                .collect();
            t += &format!(
                "redacted   {} records purged by retention (hash links checked): {}\n",
                r.redacted,
                by.join(", ")
            );
        }
        if let Some((f, l)) = pending {
            t += &format!(
                "journal    seqs {f}..={l} acknowledged, read from the journal (sled does not \
                 hold them yet; `vigil repair` or `vigil start` writes them to sled)\n"
            );
        }
        match &r.problem {
            None => t += "result     ok\n",
            Some(p) => {
                t += &format!(
                    "result     FAILED at seq {}: {}: {}\n",
                    p.seq, p.kind, p.detail
                )
            }
        }
        t
    })?;
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
    check_out_dir(&a.out)?;
    let store = open_with(&a.data, &a.key_file, &a.encryption_key_file, Access::Read)?;
    let format = match a.format {
        ExportFormatArg::Msgpack => ExportFormat::Msgpack,
        ExportFormatArg::Jsonl => ExportFormat::Jsonl,
    };
    let spinner = Progress::spinner(&format!(
        "exporting seq {}..={} to {}",
        a.from,
        store.last_seq(),
        a.out.display()
    ));
    let s = store.export(format, &a.out, a.from).map_err(|e| match e {
        StoreError::Corrupt { .. } => Failure::CheckFailed(e.into()),
        e => classify(e),
    })?;
    drop(spinner);
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

/// `--out FILE` must name a file in an existing directory: that is bad input (exit 2), found
/// before the store is opened.
fn check_out_dir(out: &Path) -> Result<(), Failure> {
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if out.file_name().is_none() {
        return Err(Failure::BadInput(anyhow!(
            "--out {}: name a file, not a directory",
            out.display()
        )));
    }
    match std::fs::metadata(parent) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(Failure::BadInput(anyhow!(
            "--out {}: {} is not a directory",
            out.display(),
            parent.display()
        ))),
        Err(_) => Err(Failure::BadInput(anyhow!(
            "--out {}: directory {} does not exist (create it first)",
            out.display(),
            parent.display()
        ))),
    }
}

/// `vigil import`.
pub fn import(a: ImportArgs) -> CmdResult {
    let file = std::fs::File::open(&a.input)
        .map_err(|e| Failure::BadInput(anyhow!("{}: {}", a.input.display(), e.kind())))?;
    let opts = StoreOptions {
        key_file: a.key_file.clone(),
        ..StoreOptions::default()
    };
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let progress = Progress::bytes("importing (checking every record first)", size);
    let s = Store::import_into(&log_dir(&a.data), opts, progress.wrap_read(file), &a.input)
        .map_err(|e| match e {
            StoreError::Corrupt { .. } => Failure::BadInput(e.into()),
            e => classify(e),
        })?;
    drop(progress);
    if !s.trailer {
        eprintln!(
            "note: {} is a version 1 export without a trailer: every record checked, but a cut \
             at a record boundary cannot be detected (re-export with this vigil to get one)",
            a.input.display()
        );
    }
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

fn describe_recovery(r: &Recovery) -> Vec<String> {
    let mut out = Vec::new();
    if let Some((f, l)) = r.reapplied {
        out.push(format!(
            "re-apply seqs {f}..={l} ({} acknowledged records) from the journal to sled, which \
             held the log up to seq {}",
            r.reapplied_count(),
            r.sled_last_seq
        ));
    }
    if r.strays_removed > 0 {
        out.push(format!(
            "remove {} sled keys beyond the head (an unacknowledged batch a crash cut short)",
            r.strays_removed
        ));
    }
    if r.checkpointed {
        out.push("make sled durable and empty the journal (checkpoint)".into());
    }
    out
}

/// `vigil repair`: open the store for writing, which brings it to its last acknowledged state
/// (re-applies the journal, removes what a crash left beyond the head), and record what was
/// done as a `StoreRepaired` event. With `--dry-run`, only say what it would do.
pub fn repair(a: RepairArgs) -> CmdResult {
    let access = if a.dry_run {
        Access::Read
    } else {
        Access::Write
    };
    let store = open(&a.data, &a.key_file, access)?;
    let r = store.recovery();
    if r.is_clean() {
        println!(
            "{}: nothing to repair (last seq {})",
            a.data.display(),
            store.last_seq()
        );
        return Ok(());
    }
    if a.dry_run {
        println!("{}: a repair would", a.data.display());
        for line in describe_recovery(&r) {
            println!("  - {line}");
        }
        println!("run `vigil repair --data {}` to do it", a.data.display());
        return Ok(());
    }
    let (first, last) = r.reapplied.unzip();
    let ev = NewEvent::new(
        now_micros(),
        Source::Ops,
        kinds::StoreRepaired {
            sled_last_seq: r.sled_last_seq,
            reapplied_first: first,
            reapplied_last: last,
            reapplied: r.reapplied_count(),
            strays_removed: r.strays_removed,
            last_seq: store.last_seq(),
        },
    );
    let env = store
        .append(&[ev], &ClassPolicy::default())
        .map_err(classify)?;
    println!("{}: repaired", a.data.display());
    for line in describe_recovery(&r) {
        println!("  - did: {line}");
    }
    if let Some(e) = env.first() {
        println!("recorded as StoreRepaired at seq {}", e.seq);
    }
    Ok(())
}
