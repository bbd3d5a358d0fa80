//! `vigil audit`: query the audit history by time, source, kind and class.
//!
//! Times are RFC 3339, or a local date / date-time in the station's zone (the zone of
//! `--config` if given, else of the last config the supervisor loaded, else UTC).

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context};
use chrono::{DateTime, NaiveDate, NaiveDateTime};
use chrono_tz::Tz;
use serde_json::Value;
use vigil_config::schedule::Bound;
use vigil_config::Schedule;
use vigil_events::{DataClass, EventKind, Source, UtcMicros};
use vigil_store::{Query, Store, StoreError, StoreOptions};

use crate::api;
use crate::cmd::common::{load_config, open_store_for_reading, DataArgs, OutputFormat};
use crate::exit::{Classify, CmdResult, Failure};
use crate::render::{csv_field, payload_summary, rfc3339};
use vigil_store::envelope_json;

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
    /// At most this many events; 0 means no limit (paged internally). When the limit cuts
    /// the answer, stderr says so and gives the `--cursor` to continue with.
    #[arg(long, default_value_t = 1000, allow_hyphen_values = true, value_parser = parse_limit)]
    limit: usize,
    /// Continue after this seq: the cursor a cut answer named on stderr.
    #[arg(long, value_name = "N")]
    cursor: Option<u64>,
    /// Newest first.
    #[arg(long)]
    newest_first: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    format: OutputFormat,
    /// Where one seq is: held (the event), purged by retention (and by which RecordsDestroyed),
    /// never recorded; a seq missing without a destruction record is a gap (exit 1).
    #[arg(long, value_name = "N")]
    seq: Option<u64>,
    /// The running supervisor's API, used when it holds the log (default: `[api] listen` of
    /// --config, else 127.0.0.1:8640).
    #[arg(long, value_name = "IP:PORT")]
    api: Option<SocketAddr>,
}

/// `--limit`: a count. A leading `-` reaches here (instead of clap reading `-1` as an
/// unknown flag) so the message can say what a limit is.
fn parse_limit(s: &str) -> Result<usize, String> {
    s.parse()
        .map_err(|_| format!("`{s}` is not a count: the limit must be a non-negative number"))
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
        [
            "%Y-%m-%dT%H:%M:%S",
            "%Y-%m-%d %H:%M:%S",
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%d %H:%M",
        ]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
    };
    let naive = naive.ok_or_else(|| {
        anyhow!(
            "`{s}` is not a time: use RFC 3339 (2026-06-01T06:00:00Z) or a local `2026-06-01 06:00` in {}",
            schedule.timezone()
        )
    })?;
    Ok(schedule
        .resolve_local(naive, Bound::Start)
        .timestamp_micros())
}

/// The schedule (zone and DST rules) local times are read in: `--config`'s, else the last
/// config the station recorded, else UTC.
pub fn station_schedule(config: Option<&Path>, store: &Store) -> anyhow::Result<Schedule> {
    let mut log = Log::Local(store);
    schedule_from(config, &mut log)
}

fn schedule_from(config: Option<&Path>, log: &mut Log<'_>) -> anyhow::Result<Schedule> {
    if let Some(path) = config {
        return Ok(vigil_config::Config::load(path)?.schedule);
    }
    let last = log.page(&Query {
        kind: Some(EventKind::ConfigLoaded),
        limit: 1,
        backward: true,
        ..Query::default()
    })?;
    if let Some(env) = last.0.first() {
        let text = env["payload"]["text"].as_str().unwrap_or_default();
        let path = env["payload"]["path"].as_str().unwrap_or_default();
        if let Ok(cfg) = vigil_config::Config::parse(text, path) {
            return Ok(cfg.schedule);
        }
    }
    Ok(Schedule::new(Tz::UTC, None, Vec::new())?)
}

/// Where the events come from: the log itself, or the running supervisor's API (sled lets
/// one process hold the log).
enum Log<'a> {
    Local(&'a Store),
    Api(SocketAddr),
}

impl Log<'_> {
    /// One page of envelopes as JSON objects, and the cursor of the next.
    fn page(&mut self, q: &Query) -> anyhow::Result<(Vec<Value>, Option<u64>)> {
        match self {
            Log::Local(store) => {
                let page = store.query(q).context("querying the log")?;
                Ok((
                    page.items.iter().map(envelope_json).collect(),
                    page.next_cursor,
                ))
            }
            Log::Api(addr) => {
                let mut qs = vec![format!("limit={}", q.limit.min(api::MAX_PAGE))];
                let mut add = |k: &str, v: String| qs.push(format!("{k}={}", api::encode(&v)));
                if let Some(t) = q.since {
                    add("since", t.to_string());
                }
                if let Some(t) = q.until {
                    add("until", t.to_string());
                }
                if let Some(s) = q.source {
                    add("source", s.as_str().to_string());
                }
                if let Some(k) = q.kind {
                    add("kind", k.name().to_string());
                }
                if let Some(c) = q.class {
                    add("class", c.as_str().to_string());
                }
                if let Some(c) = q.cursor {
                    add("cursor", c.to_string());
                }
                if q.backward {
                    add("order", "newest".to_string());
                }
                let body = api::get(*addr, &format!("/v1/events?{}", qs.join("&")))?;
                let items = body["items"].as_array().cloned().unwrap_or_default();
                Ok((items, body["next_cursor"].as_u64()))
            }
        }
    }
}

/// Run `vigil audit`.
pub fn run(args: AuditArgs) -> CmdResult {
    let dir = args.data.log_dir();
    let opened = if dir.exists() {
        Some(Store::open(
            &dir,
            StoreOptions {
                key_file: args.data.key_file.clone(),
                encryption_key_file: args.data.encryption_key_file.clone(),
                ..StoreOptions::existing()
            },
        ))
    } else {
        None
    };
    let store;
    let mut log = match opened {
        Some(Ok(s)) => {
            store = s;
            Log::Local(&store)
        }
        // A running supervisor holds the log: ask it.
        Some(Err(StoreError::Locked { .. })) => {
            let addr = match args.api {
                Some(a) => a,
                None => load_config(args.config.as_deref())?.config.api.listen,
            };
            Log::Api(addr)
        }
        Some(Err(e)) => {
            return Err(anyhow!(e))
                .with_context(|| format!("cannot open the log in {}", dir.display()))
                .bad_input()
        }
        None => return open_store_for_reading(&args.data).map(|_| ()),
    };
    if let Some(seq) = args.seq {
        let Log::Local(store) = log else {
            return Err(anyhow!(
                "--seq reads the store itself: stop the supervisor (it holds {})",
                dir.display()
            ))
            .bad_input();
        };
        return locate(store, seq, args.format);
    }
    let schedule = schedule_from(args.config.as_deref(), &mut log).bad_input()?;
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
            return Err(anyhow!(
                "--until ({}) is not after --since ({})",
                rfc3339(b),
                rfc3339(a)
            ))
            .bad_input();
        }
    }
    let limit = if args.limit == 0 {
        usize::MAX
    } else {
        args.limit
    };
    let mut items: Vec<Value> = Vec::new();
    let mut cursor = args.cursor;
    let mut more = false;
    while items.len() < limit {
        let (page, next) = log
            .page(&Query {
                since,
                until,
                source: args.source,
                kind: args.kind,
                class: args.class,
                limit: (limit - items.len()).min(api::MAX_PAGE),
                backward: args.newest_first,
                cursor,
            })
            .map_err(|e| {
                // A wrong encryption key file is the caller's input (exit 2), naming the file
                // and the first seq that does not open.
                let bad = e
                    .downcast_ref::<StoreError>()
                    .is_some_and(StoreError::is_bad_input);
                if bad {
                    Failure::BadInput(e)
                } else {
                    Failure::Failed(e)
                }
            })?;
        items.extend(page);
        match next {
            Some(c) => {
                cursor = Some(c);
                more = true;
            }
            None => {
                more = false;
                break;
            }
        }
    }
    let printed = print_events(&items, args.format);
    // Never cut silently: the rest is one `--cursor` away.
    if more {
        if let Some(c) = cursor {
            eprintln!(
                "vigil audit: --limit {} cut the answer: more events match; continue with \
                 --cursor {c} (or --limit 0 for all)",
                args.limit
            );
        }
    }
    printed
}

fn print_events(items: &[Value], format: OutputFormat) -> CmdResult {
    let out = std::io::stdout();
    let mut out = out.lock();
    let text = |v: &Value| {
        v.as_str()
            .map(str::to_string)
            .unwrap_or_else(|| v.to_string())
    };
    let res: std::io::Result<()> = (|| {
        match format {
            OutputFormat::Json => {
                serde_json::to_writer_pretty(&mut out, items)?;
                writeln!(out)?;
            }
            OutputFormat::Jsonl => {
                for env in items {
                    serde_json::to_writer(&mut out, env)?;
                    writeln!(out)?;
                }
            }
            OutputFormat::Csv => {
                writeln!(out, "seq,ts,source,kind,class,payload")?;
                for env in items {
                    writeln!(
                        out,
                        "{},{},{},{},{},{}",
                        env["seq"],
                        text(&env["ts"]),
                        text(&env["source"]),
                        text(&env["kind"]),
                        text(&env["class"]),
                        csv_field(&env["payload"].to_string())
                    )?;
                }
            }
            OutputFormat::Table => {
                writeln!(
                    out,
                    "{:>8}  {:<27}  {:<10}  {:<20}  {:<9}  payload",
                    "seq", "ts (UTC)", "source", "kind", "class"
                )?;
                for env in items {
                    // As text: a JSON value ignores width and alignment.
                    writeln!(
                        out,
                        "{:>8}  {:<27}  {:<10}  {:<20}  {:<9}  {}",
                        text(&env["seq"]),
                        text(&env["ts"]),
                        text(&env["source"]),
                        text(&env["kind"]),
                        text(&env["class"]),
                        payload_summary(&env["payload"], 100)
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

/// `vigil audit --seq N`: held, purged (by which destruction record), never recorded, or a gap.
fn locate(store: &Store, seq: u64, format: OutputFormat) -> CmdResult {
    use vigil_store::SeqStatus;
    let status = match store.locate(seq) {
        Ok(s) => s,
        Err(e @ StoreError::Corrupt { .. }) => {
            return Err(crate::exit::Failure::CheckFailed(anyhow!(
                "seq {seq} is a gap: the log should hold it but does not, and no destruction \
                 record covers it ({e}); run `vigil verify`"
            )))
        }
        Err(e) => return Err(anyhow!(e)).failed(),
    };
    let (name, by, in_log, event) = match &status {
        SeqStatus::Held(env) => ("held", None, true, Some(vigil_store::envelope_json(env))),
        SeqStatus::Purged { by, in_log } => ("purged", *by, *in_log, None),
        SeqStatus::NeverRecorded => ("never_recorded", None, false, None),
        SeqStatus::NotImported => ("not_imported", None, false, None),
    };
    match format {
        OutputFormat::Table | OutputFormat::Csv => match &status {
            SeqStatus::Held(env) => println!("seq {seq}: held: {} {}", env.kind.name(), rfc3339(env.ts)),
            SeqStatus::Purged { by: Some(b), in_log } => println!(
                "seq {seq}: purged by retention under RecordsDestroyed seq {b} ({})",
                if *in_log { "a redaction: its hash links still verify" } else { "before the base, removed with its segment" }
            ),
            SeqStatus::Purged { by: None, .. } => println!("seq {seq}: purged, but no destruction record names it"),
            SeqStatus::NeverRecorded => println!(
                "seq {seq}: never recorded (the log holds seqs up to {})",
                store.last_seq()
            ),
            SeqStatus::NotImported => println!(
                "seq {seq}: before the base of a store imported from a partial export (first seq {})",
                store.base().0
            ),
        },
        OutputFormat::Json | OutputFormat::Jsonl => println!(
            "{}",
            serde_json::json!({"seq": seq, "status": name, "destroyed_by": by, "in_log": in_log, "event": event})
        ),
    }
    Ok(())
}
