//! `vigil sim summary`: what a (simulated) station run recorded, counted from the log — the
//! newcomer's end-of-run report that `ops/scripts/sim.sh` prints, and the three commands to
//! try next.

use std::path::Path;

use serde_json::json;
use vigil_events::{Event, EventKind};
use vigil_store::{Query, Store, StoreError};

use crate::cmd::common::{open_store_for_reading, DataArgs, OutputFormat};
use crate::exit::{Classify, CmdResult};

/// Arguments of `vigil sim summary`.
#[derive(Debug, clap::Args)]
pub struct SummaryArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Output format (`table` or `json`).
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    format: OutputFormat,
}

/// Counts of one run's log.
#[derive(Debug, Default, PartialEq, serde::Serialize)]
pub struct Summary {
    /// `WindowOpened` events.
    pub windows_opened: u64,
    /// `WindowClosed` events.
    pub windows_closed: u64,
    /// `FrameCaptured` events.
    pub frames: u64,
    /// `TimelapseBuilt` events.
    pub timelapses: u64,
    /// `Detection` events (the Pico's and the Pi's).
    pub detections: u64,
    /// Of those, classified as a person.
    pub person_detections: u64,
    /// Power cycles: `PowerSwitched` to on.
    pub power_on: u64,
    /// `PowerSwitched` to off.
    pub power_off: u64,
    /// Last seq.
    pub last_seq: u64,
    /// Hash of the last record, hex.
    pub head: String,
}

/// Visit every event of `kind` in `store`, page by page.
fn each(store: &Store, kind: EventKind, mut f: impl FnMut(&Event)) -> Result<u64, StoreError> {
    let mut q = Query {
        kind: Some(kind),
        limit: 1000,
        ..Query::default()
    };
    let mut n = 0;
    loop {
        let page = store.query(&q)?;
        for e in &page.items {
            f(&e.payload);
            n += 1;
        }
        match page.next_cursor {
            Some(c) => q.cursor = Some(c),
            None => return Ok(n),
        }
    }
}

/// Count what `store` recorded.
pub fn summarize(store: &Store) -> Result<Summary, StoreError> {
    let mut s = Summary {
        windows_opened: each(store, EventKind::WindowOpened, |_| {})?,
        windows_closed: each(store, EventKind::WindowClosed, |_| {})?,
        frames: each(store, EventKind::FrameCaptured, |_| {})?,
        timelapses: each(store, EventKind::TimelapseBuilt, |_| {})?,
        last_seq: store.last_seq(),
        head: hex::encode(store.head()),
        ..Summary::default()
    };
    let mut persons = 0;
    s.detections = each(store, EventKind::Detection, |p| {
        if let Event::Detection(d) = p {
            persons += u64::from(d.class == vigil_events::kinds::ThermalClass::Person);
        }
    })?;
    s.person_detections = persons;
    let (mut on, mut off) = (0, 0);
    each(store, EventKind::PowerSwitched, |p| {
        if let Event::PowerSwitched(x) = p {
            if x.on {
                on += 1;
            } else {
                off += 1;
            }
        }
    })?;
    (s.power_on, s.power_off) = (on, off);
    Ok(s)
}

/// The three commands a newcomer tries next on data directory `dir`.
pub fn next_commands(dir: &Path) -> [String; 3] {
    let d = dir.display();
    [
        format!("vigil audit --data {d} --kind Detection --limit 20"),
        format!("vigil verify --data {d}"),
        format!("vigil replay --data {d} --check"),
    ]
}

/// Run `vigil sim summary`.
pub fn run(a: SummaryArgs) -> CmdResult {
    let store = open_store_for_reading(&a.data)?;
    let s = summarize(&store).bad_input()?;
    let dir = a.data.dir();
    let next = next_commands(&dir);
    match a.format {
        OutputFormat::Json | OutputFormat::Jsonl => {
            let mut v = serde_json::to_value(&s).failed()?;
            v["data_dir"] = json!(dir.display().to_string());
            v["next"] = json!(next);
            println!("{v}");
        }
        OutputFormat::Table | OutputFormat::Csv => {
            let short = s.head.get(..16).unwrap_or(&s.head);
            println!("What the station recorded ({}):", dir.display());
            println!(
                "  windows       {} opened, {} closed",
                s.windows_opened, s.windows_closed
            );
            println!(
                "  camera        {} frames, {} timelapse videos",
                s.frames, s.timelapses
            );
            println!(
                "  detections    {} classified frames, {} with a person",
                s.detections, s.person_detections
            );
            println!(
                "  power         {} power cycles (the ESP32 switched the Pi on {}×, off {}×)",
                s.power_on, s.power_on, s.power_off
            );
            println!("  chain head    seq {}, hash {short}…", s.last_seq);
            println!("Try next:");
            for c in next {
                println!("  {c}");
            }
        }
    }
    Ok(())
}
