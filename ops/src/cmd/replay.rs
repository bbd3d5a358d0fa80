//! `vigil replay`: feed the log through the actor cores; `--check` verifies every recorded
//! decision and exits 1 at the first one the cores do not derive.

use std::io::Write;

use anyhow::anyhow;
use serde_json::json;
use vigil_actors::replay::{DeadlineHints, Replay};
use vigil_actors::station::replay_cores;

use crate::cmd::common::{open_store_for_reading, DataArgs};
use crate::exit::{Classify, CmdResult, Failure};
use crate::output::{refuse, OutputFormat};
use crate::progress::Progress;
use crate::render::rfc3339;

/// Arguments of `vigil replay`.
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Report decisions from this seq on (state is still rebuilt from the start).
    #[arg(long, default_value_t = 1)]
    from: u64,
    /// Exit 1 at the first recorded decision the cores do not derive.
    #[arg(long)]
    check: bool,
    /// Report format: table, json, or jsonl (the same report on one line). No csv: the
    /// report is nested (kinds, windows, decisions per source); csv is refused with exit 2.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    format: OutputFormat,
}

/// Run `vigil replay`.
pub fn run(args: ReplayArgs) -> CmdResult {
    if args.format == OutputFormat::Csv {
        return Err(refuse(
            "vigil replay",
            args.format,
            "the report is nested (kinds, windows, decisions per source); use json or jsonl",
        ));
    }
    let store = open_store_for_reading(&args.data)?;
    let factory = replay_cores;
    // First pass: where live runs took their deadlines among the events.
    let mut hints = DeadlineHints::default();
    let progress = Progress::bar("replay: finding deadlines", store.last_seq());
    for env in store.scan(1) {
        let env = env
            .map_err(|e| anyhow!(e).context("reading the log (run `vigil verify`)"))
            .check_failed()?;
        if env.is_sealed() {
            // The cores cannot re-derive decisions from a payload they cannot read.
            return Err(Failure::BadInput(anyhow!(
                "{}: seq {} ({}) is encrypted at rest (class core); replay needs the payloads: \
                 pass --encryption-key-file (the config's [store] encryption_key_file)",
                args.data.log_dir().display(),
                env.seq,
                env.kind.name()
            )));
        }
        hints.note(&env);
        progress.set(env.seq);
    }
    hints.finish();
    let mut replay = Replay::new(&factory, args.from).with_hints(hints);
    progress.say("replay: re-deriving decisions");
    progress.set(0);
    for env in store.scan(1) {
        let env = env
            .map_err(|e| anyhow!(e).context("reading the log (run `vigil verify`)"))
            .check_failed()?;
        replay.feed(&env);
        progress.set(env.seq);
    }
    drop(progress);
    let report = replay.finish();
    let checked: u64 = report.checked.values().sum();
    let matched: u64 = report.matched.values().sum();
    let out = std::io::stdout();
    let mut out = out.lock();
    let written: std::io::Result<()> = (|| {
        match args.format {
            OutputFormat::Json | OutputFormat::Jsonl | OutputFormat::Csv => {
                let doc = json!({
                    "events": report.events,
                    "first_seq": report.first_seq,
                    "last_seq": report.last_seq,
                    "sessions": report.sessions,
                    "by_kind": report.by_kind,
                    "windows": report.windows.iter().map(|w| json!({
                        "name": w.name,
                        "start": rfc3339(w.start_us),
                        "end": rfc3339(w.end_us),
                        "opened_seq": w.opened_seq,
                        "closed_seq": w.closed_seq,
                    })).collect::<Vec<_>>(),
                    "decisions": {
                        "checked": checked,
                        "rederived": matched,
                        "by_source": report.checked.iter().map(|(s, n)| (s.as_str().to_string(), json!({
                            "checked": n,
                            "rederived": report.matched.get(s).copied().unwrap_or(0),
                        }))).collect::<serde_json::Map<_, _>>(),
                        "cut_by_stop": report.cut_by_stop,
                    },
                    "mismatches": report.mismatches.iter().map(|m| json!({
                        "seq": m.seq, "source": m.source.as_str(), "problem": m.problem,
                    })).collect::<Vec<_>>(),
                });
                if args.format == OutputFormat::Json {
                    serde_json::to_writer_pretty(&mut out, &doc)?;
                } else {
                    serde_json::to_writer(&mut out, &doc)?;
                }
                writeln!(out)?;
            }
            OutputFormat::Table => {
                writeln!(
                    out,
                    "events {} (seq {}..{}), supervisor sessions {}",
                    report.events,
                    report.first_seq.unwrap_or(0),
                    report.last_seq.unwrap_or(0),
                    report.sessions
                )?;
                writeln!(out, "\n{:<24} {:>10}", "kind", "events")?;
                for (k, n) in &report.by_kind {
                    writeln!(out, "{k:<24} {n:>10}")?;
                }
                writeln!(out, "\nwindows")?;
                for w in &report.windows {
                    writeln!(
                        out,
                        "  {:<12} {} → {}  opened at seq {}{}",
                        w.name,
                        rfc3339(w.start_us),
                        rfc3339(w.end_us),
                        w.opened_seq,
                        w.closed_seq
                            .map(|s| format!(", closed at seq {s}"))
                            .unwrap_or_else(|| ", not closed".into())
                    )?;
                }
                writeln!(
                    out,
                    "\ndecisions re-derived: {matched} of {checked} recorded ({} derived but cut by a stop)",
                    report.cut_by_stop
                )?;
                for (s, n) in &report.checked {
                    writeln!(
                        out,
                        "  {:<10} {} of {}",
                        s.as_str(),
                        report.matched.get(s).copied().unwrap_or(0),
                        n
                    )?;
                }
                for m in &report.mismatches {
                    writeln!(
                        out,
                        "MISMATCH at seq {} ({}): {}",
                        m.seq, m.source, m.problem
                    )?;
                }
            }
        }
        Ok(())
    })();
    if let Err(e) = written {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            return Err(Failure::Failed(e.into()));
        }
    }
    if args.check {
        if let Some(m) = report.mismatches.first() {
            return Err(Failure::CheckFailed(anyhow!(
                "replay check failed at seq {} ({}): {}",
                m.seq,
                m.source,
                m.problem
            )));
        }
    }
    Ok(())
}
