//! `vigil timelapse`: assemble the frames the log lists into a video. Every frame's size and
//! BLAKE3 hash is checked against its `FrameCaptured` record first; missing or altered frames
//! are left out and reported, and the command then exits 1 (the video is still written).

use std::path::PathBuf;

use anyhow::{anyhow, Context};
use chrono::NaiveDate;
use vigil_actors::camera::timelapse::{build, TimelapseSettings};
use vigil_events::kinds::FrameCaptured;
use vigil_events::{Event, EventKind, UtcMicros};
use vigil_store::{Query, Store};

use crate::cmd::audit::{parse_time, station_schedule};
use crate::cmd::common::{open_store_for_reading, DataArgs};
use crate::exit::{Classify, CmdResult, Failure};
use crate::output::{print_document, refuse, OutputFormat};
use crate::progress::Progress;
use crate::render::rfc3339;

/// Arguments of `vigil timelapse`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("range").required(true).args(["window", "since"])))]
pub struct TimelapseArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Config whose zone reads dates (default: the last config the station loaded).
    #[arg(long)]
    config: Option<PathBuf>,
    /// The windows that started on this local date (YYYY-MM-DD).
    #[arg(long, value_name = "DATE", conflicts_with_all = ["since", "until"])]
    window: Option<NaiveDate>,
    /// Only the window of this name (with --window).
    #[arg(long, requires = "window")]
    name: Option<String>,
    /// Frames scheduled from this time (RFC 3339 or local).
    #[arg(long, requires = "until")]
    since: Option<String>,
    /// Frames scheduled before this time.
    #[arg(long, requires = "since")]
    until: Option<String>,
    /// Frames per second of the video (1 to 240); checked before the log is read.
    #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(u32).range(1..=240))]
    fps: u32,
    /// The ffmpeg program.
    #[arg(long, default_value = "ffmpeg")]
    ffmpeg: PathBuf,
    /// Output video (.mp4).
    #[arg(long)]
    out: PathBuf,
    /// Report format: table, json or jsonl (`{"out","frames","bytes","up_to_date","missing",
    /// "altered"}`). No csv: the report holds lists; csv is refused with exit 2.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    format: OutputFormat,
}

fn frames_between(
    store: &Store,
    from: UtcMicros,
    to: UtcMicros,
) -> anyhow::Result<Vec<FrameCaptured>> {
    let mut frames = Vec::new();
    let mut cursor = None;
    loop {
        // A frame is recorded just after it is due: look a little past the range's end.
        let page = store.query(&Query {
            since: Some(from),
            until: Some(to.saturating_add(600_000_000)),
            kind: Some(EventKind::FrameCaptured),
            limit: 1000,
            cursor,
            ..Query::default()
        })?;
        for env in &page.items {
            if let Event::FrameCaptured(f) = &env.payload {
                if f.scheduled_us >= from && f.scheduled_us < to {
                    frames.push(f.clone());
                }
            }
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    frames.sort_by_key(|f| f.scheduled_us);
    Ok(frames)
}

/// Windows (name, start, end) opened on local `date`, from the log.
fn windows_on(
    store: &Store,
    schedule: &vigil_config::Schedule,
    date: NaiveDate,
    name: Option<&str>,
) -> anyhow::Result<Vec<(String, UtcMicros, UtcMicros)>> {
    let day_start = schedule.start_of_day(date).timestamp_micros();
    let next = date
        .succ_opt()
        .ok_or_else(|| anyhow!("{date} is the last date there is"))?;
    let day_end = schedule.start_of_day(next).timestamp_micros();
    let page = store.query(&Query {
        since: Some(day_start.saturating_sub(86_400_000_000)),
        until: Some(day_end.saturating_add(86_400_000_000)),
        kind: Some(EventKind::WindowOpened),
        limit: 10_000,
        ..Query::default()
    })?;
    let mut out: Vec<(String, UtcMicros, UtcMicros)> = Vec::new();
    for env in &page.items {
        if let Event::WindowOpened(w) = &env.payload {
            let wanted = name.is_none_or(|n| n == w.name);
            let on_day = w.start_us >= day_start && w.start_us < day_end;
            if wanted && on_day && !out.iter().any(|(n, s, _)| *n == w.name && *s == w.start_us) {
                out.push((w.name.clone(), w.start_us, w.end_us));
            }
        }
    }
    Ok(out)
}

/// Run `vigil timelapse`.
pub fn run(args: TimelapseArgs) -> CmdResult {
    if args.format == OutputFormat::Csv {
        return Err(refuse(
            "vigil timelapse",
            args.format,
            "the report holds lists of missing and altered frames; use json or jsonl",
        ));
    }
    let store = open_store_for_reading(&args.data)?;
    let schedule = station_schedule(args.config.as_deref(), &store).bad_input()?;
    let ranges = match (&args.window, &args.since, &args.until) {
        (Some(date), _, _) => {
            let w = windows_on(&store, &schedule, *date, args.name.as_deref()).failed()?;
            if w.is_empty() {
                return Err(Failure::BadInput(anyhow!(
                    "the log records no window{} opening on {date}",
                    args.name
                        .as_deref()
                        .map(|n| format!(" `{n}`"))
                        .unwrap_or_default()
                )));
            }
            w
        }
        (None, Some(since), Some(until)) => {
            let a = parse_time(since, &schedule)
                .context("--since")
                .bad_input()?;
            let b = parse_time(until, &schedule)
                .context("--until")
                .bad_input()?;
            if b <= a {
                return Err(Failure::BadInput(anyhow!("--until is not after --since")));
            }
            vec![("range".to_string(), a, b)]
        }
        _ => {
            return Err(Failure::BadInput(anyhow!(
                "give --window DATE or --since and --until"
            )))
        }
    };
    let mut frames = Vec::new();
    for (name, from, to) in &ranges {
        let found = frames_between(&store, *from, *to).failed()?;
        eprintln!(
            "window {name} {} → {}: {} frames listed",
            rfc3339(*from),
            rfc3339(*to),
            found.len()
        );
        frames.extend(found);
    }
    let settings = TimelapseSettings {
        ffmpeg: args.ffmpeg.clone(),
        fps: args.fps,
        ..TimelapseSettings::default()
    };
    let spinner = Progress::spinner(&format!(
        "checking {} frames and encoding {}",
        frames.len(),
        args.out.display()
    ));
    let built = build(&args.data.dir(), &settings, &frames, &args.out);
    drop(spinner);
    let report = built
        .map_err(|e| anyhow!(e).context(format!("building {}", args.out.display())))
        .failed()?;
    let doc = serde_json::json!({
        "out": report.out.display().to_string(),
        "frames": report.frames,
        "bytes": report.bytes,
        "up_to_date": report.up_to_date,
        "missing": report.missing.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "altered": report.altered.iter().map(ToString::to_string).collect::<Vec<_>>(),
    });
    print_document(args.format, &doc, || {
        let mut t = format!(
            "{}: {} frames, {} bytes{}\n",
            report.out.display(),
            report.frames,
            report.bytes,
            if report.up_to_date {
                " (already up to date)"
            } else {
                ""
            }
        );
        for m in &report.missing {
            t += &format!("missing  {m}\n");
        }
        for a in &report.altered {
            t += &format!("altered  {a}\n");
        }
        t
    })?;
    if !report.missing.is_empty() || !report.altered.is_empty() {
        return Err(Failure::CheckFailed(anyhow!(
            "{} frames missing and {} altered (left out of the video)",
            report.missing.len(),
            report.altered.len()
        )));
    }
    Ok(())
}
