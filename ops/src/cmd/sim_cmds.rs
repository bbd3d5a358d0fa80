//! `vigil sim pico`: the Pico simulator — the real Pico core (int8 model, threshold,
//! hysteresis, LED) on synthetic scenes (a person walking through, an empty room, a hot
//! object), speaking the wire protocol on a pseudo-terminal.
//!
//! - `--pty`: print the pty path (open it like a serial device, e.g. set `[pico] port` to
//!   it, or `vigil wire decode` a capture of it) and serve until interrupted.
//! - without `--pty`: read the simulator's own line here and print every detection with the
//!   scene it shows and the LED, for `--frames` frames.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use serde_json::json;
use vigil_actors::classifier::check_model;
use vigil_sim::pico::Observation;
use vigil_sim::{PicoSim, PicoSimConfig, PtyPair, ScaledClock, SimClock, WallClock};
use vigil_wire::{Decoded, FrameDecoder, Message, PicoConfig};

use crate::exit::{Classify, CmdResult};

/// `vigil sim …`
#[derive(Debug, clap::Subcommand)]
pub enum SimCommand {
    /// Run the Pico thermal-sensor simulator.
    Pico(PicoArgs),
    /// Run the ESP32 power-controller simulator.
    Esp32(crate::cmd::sim_cmds::esp32::Esp32Args),
    /// Summarise what a station run recorded (windows, frames, detections, power, chain head).
    Summary(crate::cmd::sim_summary::SummaryArgs),
}

/// Output format of `vigil sim pico` without `--pty`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SimFormat {
    /// Aligned lines for people.
    Table,
    /// One JSON object per detection.
    Jsonl,
}

/// Arguments of `vigil sim pico`.
#[derive(Debug, clap::Args)]
pub struct PicoArgs {
    /// Serve on a pseudo-terminal (its path is printed) until interrupted.
    #[arg(long)]
    pty: bool,
    /// Scene seed: the same seed shows the same scenes, frame for frame.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// int8 model file (from `vigil quantize`); default: the stand-in model of the simulator.
    #[arg(long, value_name = "FILE")]
    model: Option<PathBuf>,
    /// Sensor refresh rate in Hz: 1, 2, 4, 8, 16, 32 or 64.
    #[arg(long, default_value_t = 2)]
    refresh_hz: u32,
    /// Clock speed (station seconds per real second); frames stay at most 16 per real second.
    #[arg(long, default_value_t = 1.0)]
    speed: f64,
    /// Person confidence threshold (0.01–1) until the Pi sends its own.
    #[arg(long, default_value_t = 0.90)]
    threshold: f64,
    /// Frames in a row to raise or clear a person (1–255) until the Pi sends its own.
    #[arg(long, default_value_t = 3)]
    hysteresis: u8,
    /// Without --pty: stop after this many frames (one scene cycle is 78).
    #[arg(long, default_value_t = 78)]
    frames: u32,
    /// Output format without --pty.
    #[arg(long, value_enum, default_value_t = SimFormat::Table)]
    format: SimFormat,
}

/// `vigil sim …`
pub fn run(c: SimCommand) -> CmdResult {
    match c {
        SimCommand::Pico(a) => pico(a),
        SimCommand::Esp32(a) => esp32::run(a),
        SimCommand::Summary(a) => crate::cmd::sim_summary::run(a),
    }
}

fn pico(a: PicoArgs) -> CmdResult {
    if ![1, 2, 4, 8, 16, 32, 64].contains(&a.refresh_hz) {
        return Err(anyhow!(
            "--refresh-hz {} is not an MLX90640 rate, expected 1, 2, 4, 8, 16, 32 or 64",
            a.refresh_hz
        ))
        .bad_input();
    }
    if !(a.speed.is_finite() && a.speed > 0.0 && a.speed <= 1e7) {
        return Err(anyhow!(
            "--speed {} must be above 0 and at most 10000000",
            a.speed
        ))
        .bad_input();
    }
    if !(0.01..=1.0).contains(&a.threshold) || a.hysteresis == 0 {
        return Err(anyhow!(
            "--threshold must be within 0.01–1 and --hysteresis at least 1 (got {} and {})",
            a.threshold,
            a.hysteresis
        ))
        .bad_input();
    }
    let model = match &a.model {
        Some(path) => {
            let bytes = std::fs::read(path)
                .with_context(|| format!("cannot read model {}", path.display()))
                .bad_input()?;
            check_model(&bytes)
                .with_context(|| format!("{}", path.display()))
                .bad_input()?;
            bytes
        }
        // The model the Pico firmware ships with.
        None => vigil_int8::shipped::INT8.to_vec(),
    };
    let clock: Arc<dyn SimClock> = if a.speed == 1.0 {
        Arc::new(WallClock)
    } else {
        Arc::new(ScaledClock::new(WallClock.now_us(), a.speed))
    };
    let config = PicoSimConfig {
        seed: a.seed,
        refresh_hz: a.refresh_hz,
        settings: PicoConfig {
            threshold_permille: (a.threshold * 1000.0).round() as u16,
            hysteresis_frames: a.hysteresis,
            ..PicoConfig::default()
        },
        observe: !a.pty,
        ..PicoSimConfig::default()
    };
    let sim = PicoSim::new(config, model, clock)
        .context("Pico simulator")
        .bad_input()?;
    let pair = PtyPair::open()
        .context("opening a pseudo-terminal")
        .failed()?;
    let path = pair.path().display().to_string();
    let (master, slave) = pair.into_parts();
    if a.pty {
        let handle = sim
            .spawn(master, Some(slave))
            .context("starting the simulator")
            .failed()?;
        return serve(
            &path,
            &format!(
                "vigil sim pico: serving on {path} (seed {}); Ctrl-C stops",
                a.seed
            ),
            || handle.is_finished(),
        );
    }
    let handle = sim
        .spawn(master, None)
        .context("starting the simulator")
        .failed()?;
    watch(&handle, slave, &a)
}

/// A simulator serving on the pty `path`: print the path on stdout (for scripts), `banner` on
/// stderr, and wait until the simulator stops, which is a failure (it serves until Ctrl-C).
fn serve(path: &str, banner: &str, finished: impl Fn() -> bool) -> CmdResult {
    println!("{path}");
    let _ = std::io::stdout().flush();
    eprintln!("{banner}");
    while !finished() {
        std::thread::sleep(Duration::from_millis(200));
    }
    Err(anyhow!("the simulator stopped")).failed()
}

fn watch(handle: &vigil_sim::PicoSimHandle, mut line: impl Read, a: &PicoArgs) -> CmdResult {
    let mut decoder: FrameDecoder = FrameDecoder::new();
    let mut scenes: BTreeMap<u32, Observation> = BTreeMap::new();
    let mut buf = [0u8; 4096];
    let mut printed = 0u32;
    let out = std::io::stdout();
    let mut out = out.lock();
    if a.format == SimFormat::Table {
        writeln!(
            out,
            "{:>6}  {:<12} {:<10} {:>5}  LED",
            "frame", "scene", "class", "conf"
        )
        .failed()?;
    }
    let started = Instant::now();
    let limit = Duration::from_secs(3600);
    while printed < a.frames {
        if started.elapsed() > limit || handle.is_finished() {
            return Err(anyhow!("the simulator stopped after {printed} frames")).failed();
        }
        if let Some(rx) = handle.observations() {
            while let Ok(o) = rx.try_recv() {
                scenes.insert(o.frame, o);
            }
        }
        let n = match line.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => 0,
            Err(e) => return Err(e).context("reading the simulator's line").failed(),
        };
        let mut dets = Vec::new();
        decoder.feed_all(&buf[..n], |d| {
            if let Decoded::Packet(p) = d {
                if let Message::Detection(det) = p.message {
                    dets.push(det);
                }
            }
        });
        for d in dets {
            if let Some(rx) = handle.observations() {
                while let Ok(o) = rx.try_recv() {
                    scenes.insert(o.frame, o);
                }
            }
            let scene = scenes.remove(&d.frame).map_or("?", |o| o.scene.name());
            match a.format {
                SimFormat::Table => writeln!(
                    out,
                    "{:>6}  {:<12} {:<10} {:>5}  {}",
                    d.frame,
                    scene,
                    d.class.name(),
                    d.confidence_permille,
                    if d.person_present { "on" } else { "off" }
                ),
                SimFormat::Jsonl => writeln!(
                    out,
                    "{}",
                    json!({
                        "frame": d.frame,
                        "scene": scene,
                        "class": d.class.name(),
                        "confidence_permille": d.confidence_permille,
                        "person_present": d.person_present,
                        "latency_us": d.latency_us,
                    })
                ),
            }
            .failed()?;
            printed += 1;
            if printed >= a.frames {
                break;
            }
        }
    }
    let s = handle.stats();
    if a.format == SimFormat::Table {
        writeln!(
            out,
            "{} frames, {} with a person present, LED switched {} times",
            s.frames,
            s.person_frames,
            handle.led().switches()
        )
        .failed()?;
    }
    Ok(())
}

#[path = "power_cmds.rs"]
pub mod esp32;
