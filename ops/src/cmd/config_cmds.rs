//! `vigil config check` and `vigil schedule`: validate a config file, and print the windows
//! its schedule resolves to.
//!
//! Without `--config`, both use the built-in simulated config (`config/default.toml`).
//! A refused config exits 2 with `path:line:col: message`.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{Days, NaiveDate, SecondsFormat, Utc};
use serde::Serialize;
use vigil_config::duration::Human;
use vigil_config::gpio::GpioBackend;
use vigil_config::{CameraBackend, Config, Engine, ResolvedWindow, DEFAULT_ORIGIN, DEFAULT_TOML};

use crate::exit::{Classify, CmdResult, Failure};
use crate::output::{print_document, print_rows, refuse, OutputFormat};

/// `vigil config …`
#[derive(Debug, clap::Subcommand)]
pub enum ConfigCommand {
    /// Parse and validate a config file; print a summary (exit 2 with file:line:col if refused).
    Check(CheckArgs),
}

/// Arguments of `vigil config check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Config file (default: the built-in simulated config).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Output format: table (a summary for people), json or jsonl (the summary as one
    /// object). No csv: the summary is nested; csv is refused with exit 2.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    format: OutputFormat,
}

/// Arguments of `vigil schedule`.
#[derive(Debug, clap::Args)]
pub struct ScheduleArgs {
    /// Config file (default: the built-in simulated config).
    #[arg(long)]
    config: Option<PathBuf>,
    /// First local date, YYYY-MM-DD, in the schedule's time zone (default: today there).
    #[arg(long, value_parser = parse_date)]
    from: Option<NaiveDate>,
    /// Number of days; windows overlapping [from 00:00, from+days 00:00) local are listed.
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=3660))]
    days: u32,
    /// Output format: table, json (an array of `{"name","start","end","local_start",
    /// "local_end"}`), jsonl (one window per line) or csv (those columns).
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    format: OutputFormat,
}

fn parse_date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|e| format!("invalid date \"{s}\" ({e}), expected YYYY-MM-DD"))
}

/// The config named by `--config`, or the built-in one; and its origin for messages.
fn load(path: Option<&Path>) -> Result<(Config, String), Failure> {
    match path {
        Some(p) => Ok((Config::load(p).bad_input()?, p.display().to_string())),
        None => Ok((
            Config::parse(DEFAULT_TOML, DEFAULT_ORIGIN).bad_input()?,
            DEFAULT_ORIGIN.to_string(),
        )),
    }
}

/// `vigil config …`
pub fn run(c: ConfigCommand) -> CmdResult {
    match c {
        ConfigCommand::Check(a) => check(a),
    }
}

fn check(a: CheckArgs) -> CmdResult {
    if a.format == OutputFormat::Csv {
        return Err(refuse(
            "vigil config check",
            a.format,
            "the summary is nested (one section each); use json or jsonl",
        ));
    }
    let (config, origin) = load(a.config.as_deref())?;
    // The key file is checked by the same function `vigil start` opens the store with, so a
    // config that passes here is not refused there for its key. One that does not exist yet
    // (a config checked before the key is installed) is a note, not a refusal.
    let mut note = None;
    if let Some(key) = &config.store.key_file {
        if key.exists() {
            vigil_store::read_key(key)
                .map_err(|e| anyhow::anyhow!("{origin}: [store] key_file: {e}"))
                .bad_input()?;
        } else {
            note = Some(format!(
                "  {:<11}note: key file {} does not exist yet; `vigil start` refuses to run \
                 until it holds 32 bytes with mode 600\n",
                "",
                key.display()
            ));
        }
    }
    // The encryption key file is checked the same way (mode 600, owner, 32 bytes).
    if let Some(key) = &config.store.encryption_key_file {
        if key.exists() {
            vigil_store::seal::read_key_file(key)
                .map_err(|e| anyhow::anyhow!("{origin}: [store] encryption_key_file: {e}"))
                .bad_input()?;
        } else {
            note.get_or_insert_with(String::new).push_str(&format!(
                "  {:<11}note: encryption key file {} does not exist yet; `vigil start` \
                 refuses to run until it holds 32 bytes with mode 600\n",
                "",
                key.display()
            ));
        }
    }
    let doc = summary_json(&config, &origin, note.as_deref().map(str::trim));
    print_document(a.format, &doc, || {
        let mut text = summary(&config, &origin);
        text.extend(note);
        text
    })
}

/// The summary as one JSON object (`config check --format json`); durations in the
/// config's own notation (`30s`, `2m`).
fn summary_json(c: &Config, origin: &str, note: Option<&str>) -> serde_json::Value {
    let d = |v: std::time::Duration| Human(v).to_string();
    serde_json::json!({
        "origin": origin,
        "ok": true,
        "station": {"name": c.station.name, "data_dir": c.station.data_dir.display().to_string()},
        "schedule": {
            "timezone": c.schedule.timezone().name(),
            "windows": c.schedule.window_specs().iter().map(|w| serde_json::json!({
                "name": w.name, "days": w.days.to_string(), "start": w.start.to_string(), "end": w.end.to_string(),
            })).collect::<Vec<_>>(),
        },
        "store": {
            "key_file": c.store.key_file.as_ref().map(|k| k.display().to_string()),
            "encryption_key_file": c.store.encryption_key_file.as_ref().map(|k| k.display().to_string()),
            "max_batch": c.store.max_batch,
            "max_delay": d(c.store.max_delay),
        },
        "retention": {
            "general_days": c.retention.general_days,
            "important_days": c.retention.important_days,
            "core_days": c.retention.core_days,
            "kind_overrides": c.retention.kinds.len(),
        },
        "power": {
            "port": c.power.port.to_string(),
            "heartbeat": d(c.power.heartbeat),
            "watchdog": d(c.power.watchdog),
            "halt_grace": d(c.power.halt_grace),
            "hard_deadline": d(c.power.hard_deadline),
            "poweroff_command": c.power.poweroff_command,
        },
        "supervisor": {"stop_timeout": d(c.supervisor.stop_timeout)},
        "api": {"enabled": c.api.enabled, "listen": c.api.listen.to_string()},
        "note": note,
    })
}

fn summary(c: &Config, origin: &str) -> String {
    let mut s = format!("{origin}: ok\n");
    let mut line = |key: &str, value: String| s.push_str(&format!("  {key:<11}{value}\n"));
    line(
        "station",
        format!(
            "{}, data in {}",
            c.station.name,
            c.station.data_dir.display()
        ),
    );
    let sched = &c.schedule;
    let windows: Vec<String> = sched
        .window_specs()
        .iter()
        .map(|w| format!("{} ({} {}–{})", w.name, w.days, w.start, w.end))
        .collect();
    line(
        "schedule",
        format!(
            "{}{}, {} window(s){}{}",
            sched.timezone().name(),
            sched
                .location()
                .map(|l| format!(" at {:.4}, {:.4}", l.lat, l.lon))
                .unwrap_or_default(),
            windows.len(),
            if windows.is_empty() { "" } else { ": " },
            windows.join(", ")
        ),
    );
    if windows.is_empty() {
        line(
            "",
            "note: no windows, so nothing is ever scheduled on".to_string(),
        );
    }
    line(
        "store",
        format!(
            "chain {}, group commit ≤ {} appends / {}",
            c.store
                .key_file
                .as_ref()
                .map_or("unkeyed".to_string(), |k| format!(
                    "keyed by {}",
                    k.display()
                )),
            c.store.max_batch,
            Human(c.store.max_delay)
        ),
    );
    line(
        "retention",
        format!(
            "general {} d, important {} d, core {} d, {} kind override(s), audit kinds ≥ {} d",
            c.retention.general_days,
            c.retention.important_days,
            c.retention.core_days,
            c.retention.kinds.len(),
            vigil_config::retention::AUDIT_MIN_DAYS
        ),
    );
    if !c.classes.is_empty() {
        let raised: Vec<String> = c
            .classes
            .iter()
            .map(|(k, cl)| format!("{}={cl}", k.name()))
            .collect();
        line("classes", raised.join(", "));
    }
    line(
        "power",
        format!(
            "{} @ {} baud, heartbeat {}, watchdog {}, halt grace {}, deadline {}, poweroff `{}`",
            c.power.port,
            c.power.baud,
            Human(c.power.heartbeat),
            Human(c.power.watchdog),
            Human(c.power.halt_grace),
            Human(c.power.hard_deadline),
            c.power.poweroff_command.join(" ")
        ),
    );
    line(
        "camera",
        format!(
            "{} {} every {}, JPEG q{}, floor {} MiB, {} fps videos",
            match c.camera.backend {
                CameraBackend::Synthetic => "synthetic",
                CameraBackend::V4l2 => "v4l2",
            },
            c.camera.resolution,
            Human(c.camera.interval),
            c.camera.jpeg_quality,
            c.camera.min_free_mb,
            c.camera.fps
        ),
    );
    line(
        "gpio",
        format!(
            "{}: {} input(s), {} output(s), {} pwm, {} rule(s)",
            match c.gpio.backend {
                GpioBackend::Sim => "sim",
                GpioBackend::Rppal => "rppal",
            },
            c.gpio.inputs.len(),
            c.gpio.outputs.len(),
            c.gpio.pwms.len(),
            c.gpio.rules.len()
        ),
    );
    line(
        "classifier",
        format!(
            "{}, threshold {:.2}, hysteresis {} frame(s), model {}",
            match c.classifier.engine {
                Engine::Int8 => "int8",
                Engine::F32 => "f32",
            },
            c.classifier.threshold,
            c.classifier.hysteresis_frames,
            c.classifier
                .model
                .as_ref()
                .map_or("built in".to_string(), |m| m.display().to_string())
        ),
    );
    line(
        "pico",
        format!(
            "{} @ {} baud, {} Hz",
            c.pico.port, c.pico.baud, c.pico.refresh_hz
        ),
    );
    line(
        "api",
        if c.api.enabled {
            format!("http://{}", c.api.listen)
        } else {
            "off".to_string()
        },
    );
    s
}

/// One line of `vigil schedule --format json`.
#[derive(Debug, Serialize)]
struct WindowJson {
    name: String,
    start: String,
    end: String,
    local_start: String,
    local_end: String,
}

impl From<&ResolvedWindow> for WindowJson {
    fn from(w: &ResolvedWindow) -> Self {
        WindowJson {
            name: w.name.clone(),
            start: w.start.to_rfc3339_opts(SecondsFormat::Secs, true),
            end: w.end.to_rfc3339_opts(SecondsFormat::Secs, true),
            local_start: w.local_start.to_rfc3339_opts(SecondsFormat::Secs, false),
            local_end: w.local_end.to_rfc3339_opts(SecondsFormat::Secs, false),
        }
    }
}

/// `vigil schedule`.
pub fn schedule(a: ScheduleArgs) -> CmdResult {
    let (config, _) = load(a.config.as_deref())?;
    let sched = &config.schedule;
    let tz = sched.timezone();
    let from_date = a
        .from
        .unwrap_or_else(|| Utc::now().with_timezone(&tz).date_naive());
    let to_date = from_date
        .checked_add_days(Days::new(u64::from(a.days)))
        .ok_or_else(|| {
            Failure::BadInput(anyhow::anyhow!(
                "--from {from_date} + {} days is out of range",
                a.days
            ))
        })?;
    let (from, to) = (sched.start_of_day(from_date), sched.start_of_day(to_date));
    let windows = sched.windows(from, to);
    if a.format == OutputFormat::Table {
        return std::io::stdout()
            .lock()
            .write_all(table(&windows).as_bytes())
            .failed();
    }
    let structs: Vec<WindowJson> = windows.iter().map(WindowJson::from).collect();
    // Serialized from the struct, so the keys keep their documented order.
    match a.format {
        OutputFormat::Json => {
            let mut s = serde_json::to_string_pretty(&structs).failed()?;
            s.push('\n');
            return crate::output::write_stdout(&s);
        }
        OutputFormat::Jsonl => {
            let mut s = String::new();
            for w in &structs {
                s.push_str(&serde_json::to_string(w).failed()?);
                s.push('\n');
            }
            return crate::output::write_stdout(&s);
        }
        OutputFormat::Table | OutputFormat::Csv => {}
    }
    let rows: Vec<serde_json::Value> = windows
        .iter()
        .map(|w| serde_json::to_value(WindowJson::from(w)).unwrap_or_default())
        .collect();
    print_rows(
        a.format,
        &["name", "start", "end", "local_start", "local_end"],
        &rows,
    )
}

fn table(windows: &[ResolvedWindow]) -> String {
    let name_w = windows
        .iter()
        .map(|w| w.name.chars().count())
        .max()
        .unwrap_or(4)
        .max(4);
    let mut s = format!(
        "{:<name_w$}  {:<25}  {:<25}  {:<20}  {:<20}  LENGTH\n",
        "NAME", "LOCAL START", "LOCAL END", "UTC START", "UTC END"
    );
    for w in windows {
        let len = (w.end - w.start).num_seconds().max(0).unsigned_abs();
        s.push_str(&format!(
            "{:<name_w$}  {:<25}  {:<25}  {:<20}  {:<20}  {}\n",
            w.name,
            w.local_start.to_rfc3339_opts(SecondsFormat::Secs, false),
            w.local_end.to_rfc3339_opts(SecondsFormat::Secs, false),
            w.start.to_rfc3339_opts(SecondsFormat::Secs, true),
            w.end.to_rfc3339_opts(SecondsFormat::Secs, true),
            Human(std::time::Duration::from_secs(len))
        ));
    }
    if windows.is_empty() {
        s.push_str("(no windows in this range)\n");
    }
    s
}
