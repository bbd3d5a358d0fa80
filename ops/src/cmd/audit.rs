//! `vigil audit`: query the audit history by time, source, kind and class.
//!
//! Times are RFC 3339, or a local date / date-time in the station's zone (the zone of
//! `--config` if given, else of the last config the supervisor loaded, else UTC).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context};
use chrono::{DateTime, NaiveDate, NaiveDateTime};
use chrono_tz::Tz;
use vigil_config::schedule::Bound;
use vigil_config::Schedule;
use vigil_events::{DataClass, Event, EventKind, Source, UtcMicros};
use vigil_store::{Query, Store};

use crate::cmd::common::{open_store_for_reading, DataArgs, OutputFormat};
use crate::exit::{Classify, CmdResult};
use crate::render::{csv_field, envelope_json, payload_summary, rfc3339};

/// Arguments of `vigil audit`.
#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Config whose time zone reads local times (default: the last config the station loaded).
    #[arg(long)]
    config: Option<PathBuf>,
    /// From this time on (RFC 3339, or local `YYYY-MM-DD[ HH:MM[:SS]]`).
    #[arg(long)]
    since: Option<String>,
    /// Up to (excluding) this time.
    #[arg(long)]
    until: Option<String>,
    /// Only events from this source (clock, power, camera, gpio, classifier, esp32, pico, ops, journal).
    #[arg(long)]
    source: Option<Source>,
    /// Only events of this kind (e.g. WindowOpened).
    #[arg(long, value_parser = parse_kind)]
    kind: Option<EventKind>,
    /// Only events of this class (general, important, core).
    #[arg(long)]
    class: Option<DataClass>,
    /// At most this many events.
    #[arg(long, default_value_t = 1000)]
    limit: usize,
    /// Newest first.
    #[arg(long)]
    newest_first: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    format: OutputFormat,
}

fn parse_kind(s: &str) -> Result<EventKind, String> {
    EventKind::from_name(s).ok_or_else(|| {
        let names: Vec<&str> = EventKind::ALL.iter().map(|k| k.name()).collect();
        format!("unknown event kind `{s}`; kinds are: {}", names.join(", "))
    })
}

/// Parse a `--since`/`--until` value: RFC 3339, or a local date / date-time in the
/// schedule's zone resolved with the schedule's DST rules (a gap → the instant it ends).
pub fn parse_time(s: &str, schedule: &Schedule) -> anyhow::Result<UtcMicros> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.timestamp_micros());
    }
    let naive = if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        d.and_hms_opt(0, 0, 0)
    } else {
        ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
    };
    let naive = naive.ok_or_else(|| {
        anyhow!(
            "`{s}` is not a time: use RFC 3339 (2026-06-01T06:00:00Z) or a local `2026-06-01 06:00` in {}",
            schedule.timezone()
        )
    })?;
    Ok(schedule.resolve_local(naive, Bound::Start).timestamp_micros())
}

/// The schedule (zone and DST rules) local times are read in: `--config`'s, else the last
/// config the station recorded, else UTC.
pub fn station_schedule(config: Option<&Path>, store: &Store) -> anyhow::Result<Schedule> {
    if let Some(path) = config {
        return Ok(vigil_config::Config::load(path)?.schedule);
    }
    let last = store.query(&Query {
        kind: Some(EventKind::ConfigLoaded),
        limit: 1,
        backward: true,
        ..Query::default()
    })?;
    if let Some(env) = last.items.first() {
        if let Event::ConfigLoaded(c) = &env.payload {
            if let Ok(cfg) = vigil_config::Config::parse(&c.text, &c.path) {
                return Ok(cfg.schedule);
            }
        }
    }
    Ok(Schedule::new(Tz::UTC, None, Vec::new())?)
}

/// Run `vigil audit`.
pub fn run(args: AuditArgs) -> CmdResult {
    let store = open_store_for_reading(&args.data)?;
    let schedule = station_schedule(args.config.as_deref(), &store).bad_input()?;
    let since = args
        .since
        .as_deref()
        .map(|s| parse_time(s, &schedule).context("--since"))
        .transpose()
        .bad_input()?;
    let until = args
        .until
        .as_deref()
        .map(|s| parse_time(s, &schedule).context("--until"))
        .transpose()
        .bad_input()?;
    if let (Some(a), Some(b)) = (since, until) {
        if b <= a {
            return Err(anyhow!("--until ({}) is not after --since ({})", rfc3339(b), rfc3339(a)))
                .bad_input();
        }
    }
    let mut items = Vec::new();
    let mut cursor = None;
    while items.len() < args.limit {
        let page = store
            .query(&Query {
                since,
                until,
                source: args.source,
                kind: args.kind,
                class: args.class,
                limit: (args.limit - items.len()).min(1000),
                backward: args.newest_first,
                cursor,
            })
            .context("querying the log")
            .failed()?;
        items.extend(page.items);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let out = std::io::stdout();
    let mut out = out.lock();
    let res: std::io::Result<()> = (|| {
        match args.format {
            OutputFormat::Json => {
                let arr: Vec<_> = items.iter().map(envelope_json).collect();
                serde_json::to_writer_pretty(&mut out, &arr)?;
                writeln!(out)?;
            }
            OutputFormat::Jsonl => {
                for env in &items {
                    serde_json::to_writer(&mut out, &envelope_json(env))?;
                    writeln!(out)?;
                }
            }
            OutputFormat::Csv => {
                writeln!(out, "seq,ts,source,kind,class,payload")?;
                for env in &items {
                    let payload = serde_json::to_string(&env.payload).unwrap_or_default();
                    writeln!(
                        out,
                        "{},{},{},{},{},{}",
                        env.seq,
                        rfc3339(env.ts),
                        env.source,
                        env.kind.name(),
                        env.class,
                        csv_field(&payload)
                    )?;
                }
            }
            OutputFormat::Table => {
                writeln!(
                    out,
                    "{:>8}  {:<27}  {:<10}  {:<20}  {:<9}  payload",
                    "seq", "ts (UTC)", "source", "kind", "class"
                )?;
                for env in &items {
                    writeln!(
                        out,
                        "{:>8}  {:<27}  {:<10}  {:<20}  {:<9}  {}",
                        env.seq,
                        rfc3339(env.ts),
                        env.source,
                        env.kind.name(),
                        env.class,
                        payload_summary(env, 100)
                    )?;
                }
                writeln!(out, "({} events)", items.len())?;
            }
        }
        Ok(())
    })();
    match res {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.failed(),
    }
}
