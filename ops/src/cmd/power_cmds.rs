//! `vigil sim esp32`: the ESP32 power-controller simulator — the real controller core (SNTP
//! time, windows, halt handshake, heartbeat watchdog, event ring) with a simulated relay and
//! SNTP server, speaking the wire protocol on a pseudo-terminal.
//!
//! - `--pty`: print the pty path (set `[power] port` to it, or open it with any client written
//!   from `docs/wire.md`) and serve until interrupted.
//! - without `--pty`: a built-in Pi drives the board on its own line — it heartbeats, pushes
//!   one window starting a minute from now and lasting two, acks the board's events and
//!   answers the halt notice — and every frame both ways is printed, for `--minutes` of
//!   simulated time at `--speed`.

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context};
use serde_json::json;
use vigil_actors::power::{digest_of, PowerProtocol, ProtocolSettings, Step, WindowList};
use vigil_sim::esp32::{Esp32Sim, Esp32SimConfig};
use vigil_sim::{PtyPair, ScaledClock, SimClock, WallClock};
use vigil_wire::{encode_frame_to_vec, Decoded, EventAck, FrameDecoder, Header, Message, Packet};

use crate::exit::{Classify, CmdResult};

/// Output format of `vigil sim esp32` without `--pty`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Esp32Format {
    /// Aligned lines for people.
    Table,
    /// One JSON object per frame.
    Jsonl,
}

/// Arguments of `vigil sim esp32`.
#[derive(Debug, clap::Args)]
pub struct Esp32Args {
    /// Serve on a pseudo-terminal (its path is printed) until interrupted.
    #[arg(long)]
    pty: bool,
    /// Clock speed (simulated seconds per real second); default 1 with --pty, 60 without.
    #[arg(long)]
    speed: Option<f64>,
    /// The SNTP server's error, ms (its clock minus the true time).
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    sntp_offset_ms: i64,
    /// Hold the maintenance override from the start.
    #[arg(long)]
    override_on: bool,
    /// Without --pty: simulated minutes to run.
    #[arg(long, default_value_t = 5)]
    minutes: u32,
    /// Output format without --pty.
    #[arg(long, value_enum, default_value_t = Esp32Format::Table)]
    format: Esp32Format,
}

/// `vigil sim esp32`.
pub fn run(a: Esp32Args) -> CmdResult {
    let speed = a.speed.unwrap_or(if a.pty { 1.0 } else { 60.0 });
    if !(speed.is_finite() && speed > 0.0 && speed <= 1e7) {
        return Err(anyhow!(
            "--speed {speed} must be above 0 and at most 10000000"
        ))
        .bad_input();
    }
    if a.minutes == 0 || a.minutes > 7 * 24 * 60 {
        return Err(anyhow!(
            "--minutes {} must be within 1–10080 (a week)",
            a.minutes
        ))
        .bad_input();
    }
    let clock: Arc<dyn SimClock> = if speed == 1.0 {
        Arc::new(WallClock)
    } else {
        Arc::new(ScaledClock::new(WallClock.now_us(), speed))
    };
    let mut config = Esp32SimConfig {
        sntp_offset_us: a.sntp_offset_ms.saturating_mul(1_000),
        ..Esp32SimConfig::default()
    };
    config = config.stretched(speed, Duration::from_millis(500));
    let pair = PtyPair::open()
        .context("opening a pseudo-terminal")
        .failed()?;
    let path = pair.path().display().to_string();
    let (master, slave) = pair.into_parts();
    let sim = Esp32Sim::new(config, clock.clone());
    if a.pty {
        let handle = sim
            .spawn(master, Some(slave))
            .context("starting the simulator")
            .failed()?;
        handle.set_override(a.override_on);
        return super::serve(
            &path,
            &format!("vigil sim esp32: serving on {path} at {speed}x; Ctrl-C stops"),
            || handle.is_finished(),
        );
    }
    let handle = sim
        .spawn(master, None)
        .context("starting the simulator")
        .failed()?;
    handle.set_override(a.override_on);
    let result = drive(clock.as_ref(), slave, &a);
    let relay = handle.relay();
    let stats = handle.stats();
    handle.stop();
    result?;
    if a.format == Esp32Format::Table {
        println!(
            "relay {} at the end; {} relay switches, {} SNTP replies, {} frames sent, {} received",
            if relay { "on" } else { "off" },
            stats.relay_switches,
            stats.sntp_answered,
            stats.packets_sent,
            stats.rx_packets
        );
    }
    Ok(())
}

fn time_text(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| us.to_string())
}

fn print(format: Esp32Format, now: i64, dir: &str, p: &Packet) -> CmdResult {
    let kind = p.message.kind().name();
    let line = match format {
        Esp32Format::Table => format!("{}  {dir}  {kind:<16} {:?}", time_text(now), p.message),
        Esp32Format::Jsonl => json!({
            "t": time_text(now),
            "dir": dir,
            "kind": kind,
            "device": p.header.device,
            "boot": p.header.boot,
            "seq": p.header.seq,
            "payload": format!("{:?}", p.message),
        })
        .to_string(),
    };
    println!("{line}");
    Ok(())
}

/// The built-in Pi: runs until `--minutes` of simulated time passed.
fn drive(clock: &dyn SimClock, mut line: impl Read + Write, a: &Esp32Args) -> CmdResult {
    let start = clock.now_us();
    let end = start + i64::from(a.minutes) * 60_000_000;
    let mut protocol = PowerProtocol::new(ProtocolSettings::new(5_000_000));
    let windows = vec![(start + 60_000_000, start + 180_000_000)];
    let list = WindowList {
        digest: digest_of(&windows),
        windows,
    };
    let mut seq = 0u32;
    let mut steps = protocol.start(start);
    steps.extend(protocol.push(start, list.to_wire()));
    let mut decoder: FrameDecoder = FrameDecoder::new();
    let mut buf = [0u8; 2048];
    loop {
        let now = clock.now_us();
        for step in std::mem::take(&mut steps) {
            match step {
                Step::Send(m) => {
                    seq = seq.wrapping_add(1);
                    let p = Packet::new(
                        Header {
                            device: 0,
                            boot: 1,
                            seq,
                        },
                        m,
                    );
                    if !matches!(p.message, Message::Heartbeat(_)) {
                        print(a.format, now, "pi→", &p)?;
                    }
                    let bytes = encode_frame_to_vec(&p)
                        .map_err(|e| anyhow!("encoding {:?}: {e:?}", p.message.kind()))
                        .failed()?;
                    line.write_all(&bytes)
                        .context("writing to the simulator's line")
                        .failed()?;
                }
                Step::Append(e) => {
                    if a.format == Esp32Format::Table {
                        println!("{}  pi   records {e:?}", time_text(now));
                    }
                }
                Step::Flush => {}
                Step::Poweroff => {
                    if a.format == Esp32Format::Table {
                        println!("{}  pi   halts (simulated poweroff)", time_text(now));
                    }
                }
            }
        }
        if now >= end {
            return Ok(());
        }
        let n = match line.read(&mut buf) {
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::TimedOut
                        | std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::Interrupted
                ) =>
            {
                0
            }
            Err(e) => return Err(e).context("reading the simulator's line").failed(),
        };
        if n == 0 {
            std::thread::sleep(Duration::from_millis(2));
        }
        let mut packets = Vec::new();
        decoder.feed_all(&buf[..n], |d| {
            if let Decoded::Packet(p) = d {
                packets.push(p);
            }
        });
        for p in packets {
            print(a.format, now, "←esp", &p)?;
            if p.message.kind().is_board_event() {
                steps.push(Step::Send(Message::EventAck(EventAck {
                    boot: p.header.boot,
                    seq: p.header.seq,
                })));
            } else {
                steps.extend(protocol.on_message(now, &p.message));
            }
        }
        if protocol.phase() == vigil_actors::power::Phase::Running {
            // The demo Pi's link is up as soon as the board speaks.
            if !protocol.linked() && !steps.is_empty() {
                steps.extend(protocol.link_up(now));
            }
        }
        // The window ends at the third minute: the demo Pi decides to shut down then.
        if now >= start + 180_000_000
            && matches!(
                protocol.phase(),
                vigil_actors::power::Phase::Running
                    | vigil_actors::power::Phase::NoticePending { .. }
            )
        {
            steps.extend(protocol.shutdown(now, start + 180_000_000));
        }
        steps.extend(protocol.tick(now));
    }
}
