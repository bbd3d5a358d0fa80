//! The power actor: the Pi's side of the ESP32 power controller.
//!
//! - [`core`] ([`PowerCore`], pure, replayed): pushes the next `push_days` of on-periods in
//!   UTC to the board (`WindowsPushed`) at start, on config change, at every link up and as
//!   the horizon moves; decides the shutdown at a `WindowClosed` after which nothing runs
//!   (`ShutdownRequested`).
//! - [`protocol`] ([`PowerProtocol`], pure): heartbeats, the time exchange
//!   (`ClockOffsetMeasured`: Pi vs ESP32 vs SNTP, the time-source audit), window pushes until
//!   acked, and the halt handshake (flush, `halt_confirm`, poweroff command → `PoweroffRun`).
//! - [`performer`] ([`PowerPerformer`]): runs the protocol on the shell's performer thread.
//!
//! The serial link itself is the shared board link ([`crate::link`]): it reads the port,
//! reconnects with backoff (`LinkDown` … `LinkUp`, the gap visible in the log), counts rejects
//! by reason (`LinkStats`), appends the ESP32's buffered events with their board timestamps
//! (`PowerSwitched`, `WatchdogTripped`, `OverrideChanged`, `SntpSynced`; source `esp32`, with
//! `origin = (device, boot, seq, device_ts)`), deduplicated by `(device, boot, seq)` and primed
//! from the log through the journal ([`crate::link::Link`]), and acks each one only once the journal has made it
//! durable. Control packets (`halt_notice`, `time_reply`, `windows_ack`, `power_status`) are
//! forwarded to this actor's performer over a channel, and it sends through the link's
//! [`crate::link::ToBoard`] handle.
//!
//! # The simulated station
//!
//! With `[power] port = "sim"` the ESP32 simulator ([`vigil_sim::esp32`]) runs the real
//! controller core in-process behind a pseudo-terminal, on the station clock (so it follows
//! `--clock sim:…@3600x`), with a simulated relay and SNTP server. It boots when the station
//! has started (the first `ConfigLoaded`), so its hello and `LinkUp` come after
//! `SupervisorStarted`.
//!
//! When the simulator cuts the Pi's power, nothing dies: the supervisor keeps running, because
//! on this machine there is no Pi to switch off. The cut is recorded honestly as what it is —
//! the board's `PowerSwitched{on: false}` — and the power actor then behaves as a Pi without
//! power would: it stops heartbeating until the board reports power on again, and then
//! starts over as a freshly booted Pi would. The other actors go on recording (the camera
//! stops by itself at `WindowClosed`), so the log of a simulated station shows events between
//! a cut and the next window that a real station would not have.
//!
//! The simulator's line timeouts (watchdog, link timeout, hard deadline) are stretched to at
//! least half a second of real time at fast clock rates (see
//! [`vigil_sim::esp32::Esp32SimConfig::stretched`]); at real time they are the config's.
//!
//! # Troubleshooting
//!
//! - No `LinkUp` on a real station: check `[power] port` and the wiring (GPIO 14/15 are the
//!   header UART, board:8/10); the `LinkDown` events say why the port could not be opened.
//! - `LinkStats` with many `crc` or `cobs` rejects: a noisy line or a baud rate mismatch.
//! - `ShutdownRequested` with reason `halt notice`: the board ended a window the Pi's schedule
//!   did not (an override ended, or the board's clock is far from the Pi's; compare the
//!   `ClockOffsetMeasured` events).

pub mod core;
pub mod performer;
pub mod protocol;

use std::sync::{mpsc, Arc};
use std::time::Duration;

use actix::prelude::*;
use vigil_config::{Config, PowerConfig};
use vigil_events::Source;
use vigil_sim::esp32::{Esp32Sim, Esp32SimConfig, SIM_ESP32_DEVICE};
use vigil_sim::SimError;
use vigil_wire::BoardRole;

pub use self::core::{
    digest_of, window_list, PowerCommand, PowerCore, WindowList, MERGE_GAP_US, NOTICE_REASON,
    POWER_DECISIONS, POWER_SUBSCRIPTIONS, SHUTDOWN_REASON,
};
pub use self::performer::{PowerPerformer, SimBoard};
pub use self::protocol::{Phase, PowerProtocol, ProtocolSettings, Step};

use crate::configured::Configured;
use crate::journal::{Append, Flush, Journal};
use crate::link::{
    open_board, pi_boot, Link, LinkCore, LinkPort, LinkSpec, LinkTiming, StationTime,
};
use crate::replay::ReplayCore;
use crate::shell::{Shell, Stop};
use crate::station_clock::StationClock;

/// Real time the simulator's line timeouts are stretched to at least.
pub const SIM_TIMEOUT_FLOOR: Duration = Duration::from_millis(500);

/// Why the power actors could not start.
#[derive(Debug, thiserror::Error)]
pub enum PowerSpawnError {
    /// The in-process ESP32 simulator could not start (no pseudo-terminal available: check
    /// that /dev/ptmx exists and the process may open it).
    #[error("ESP32 simulator: {0}")]
    Sim(#[from] SimError),
}

/// The power core as the station runs it: built from the config recorded in the log.
pub fn configured_power() -> Configured<PowerCore> {
    Configured::new(
        Source::Power,
        POWER_SUBSCRIPTIONS,
        POWER_DECISIONS,
        |cfg: &Config| Some(PowerCore::new(cfg)),
    )
}

/// Fresh power cores as a starting supervisor has them (for replay).
pub fn power_replay_cores() -> Vec<Box<dyn ReplayCore>> {
    vec![
        Box::new(configured_power()),
        Box::new(Link::of(Source::Esp32, Source::Power, BoardRole::Power)),
    ]
}

fn us(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

fn rate(clock: &StationClock) -> f64 {
    match clock {
        StationClock::Real => 1.0,
        StationClock::Sim { rate, .. } => *rate,
    }
}

/// The Pi side's timings for `[power]` on `clock`: at fast clock rates the waits for the
/// board's answers are stretched to a floor of real time (a busy host is not a silent board).
pub fn protocol_settings(
    p: &PowerConfig,
    clock: &StationClock,
    model_power: bool,
) -> ProtocolSettings {
    let r = rate(clock);
    let floor = |real_ms: f64, station_us: i64| station_us.max((real_ms * 1e3 * r) as i64);
    let mut s = ProtocolSettings::new(us(p.heartbeat));
    s.notice_wait_us = floor(250.0, s.notice_wait_us);
    s.time_timeout_us = floor(200.0, s.time_timeout_us);
    s.windows_resend_us = floor(250.0, s.windows_resend_us);
    s.hello_after_us = floor(1_000.0, s.hello_after_us);
    s.model_power = model_power;
    s
}

/// The simulated board for `[power]` on `clock`: the config's watchdog, halt grace and hard
/// deadline, stretched to [`SIM_TIMEOUT_FLOOR`] of real time.
pub fn sim_board_config(p: &PowerConfig, clock: &StationClock) -> Esp32SimConfig {
    let mut c = Esp32SimConfig::default();
    let u = |d: Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
    c.controller.device = SIM_ESP32_DEVICE;
    c.controller.heartbeat_timeout_us = u(p.watchdog);
    c.controller.halt_grace_us = u(p.halt_grace);
    c.controller.hard_deadline_us = u(p.hard_deadline);
    c.stretched(rate(clock), SIM_TIMEOUT_FLOOR)
}

/// How often the performer looks at the time: a quarter heartbeat of real time, between 1 ms
/// and 250 ms.
fn poll_every(p: &PowerConfig, clock: &StationClock) -> Duration {
    clock
        .real_for(p.heartbeat / 4)
        .clamp(Duration::from_millis(1), Duration::from_millis(250))
}

/// Make everything appended so far durable, waiting on the performer thread (which may
/// block): the flush is sent from the actor system's own arbiter, and the answer comes back
/// over a channel, with `timeout`.
fn flush_blocking(
    journal: &Addr<Journal>,
    arbiter: &ArbiterHandle,
    timeout: Duration,
) -> Result<u64, String> {
    let (tx, rx) = mpsc::channel();
    let j = journal.clone();
    let sent = arbiter.spawn(async move {
        let _ = tx.send(j.send(Flush).await);
    });
    if !sent {
        return Err("the actor system has stopped".to_string());
    }
    match rx.recv_timeout(timeout) {
        Ok(Ok(Ok(seq))) => Ok(seq),
        Ok(Ok(Err(e))) => Err(e.to_string()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!(
            "the journal did not answer within {} s",
            timeout.as_secs()
        )),
    }
}

/// Start the ESP32 link and the power actor (with the in-process simulator when
/// `[power] port = "sim"`). The link primes its duplicate filter from the journal
/// ([`crate::link::Link`]), so that nothing the board re-sends after a Pi restart is appended
/// twice. Returns what the supervisor stops, in order (the link first, then the power actor,
/// which stops the simulator).
pub fn spawn_power(
    cfg: &Config,
    journal: &Addr<Journal>,
    clock: StationClock,
) -> Result<Vec<Recipient<Stop>>, PowerSpawnError> {
    let p = &cfg.power;
    let board = open_board(&p.port, p.baud)?;
    let sim = match board.sim_end {
        Some((master, keep)) => {
            let sim = Esp32Sim::new(sim_board_config(p, &clock), Arc::new(StationTime(clock)));
            SimBoard::Pending(Box::new((sim, master, keep)))
        }
        None => SimBoard::None,
    };
    let model_power = p.port.is_sim();

    let (tx, rx) = mpsc::channel();
    let core = LinkCore::new(LinkSpec {
        board: Source::Esp32,
        owner: Source::Power,
        role: BoardRole::Power,
        port: board.name,
        pi_boot: pi_boot(&clock),
        on_link_up: Vec::new(),
    });
    let timing = LinkTiming {
        heartbeat: None,
        ..LinkTiming::default()
    };
    let link = LinkPort::new(core, Box::new(board.opener), timing).forward_to(tx);
    let to_link = link.to_board();
    let link = link.spawn(journal.clone(), clock);

    let to_board: performer::ToBoard = Box::new(move |m| to_link.send(m));
    let j = journal.clone();
    let append: performer::AppendNow = Box::new(move |events| j.do_send(Append(events)));
    let (j, arbiter) = (journal.clone(), Arbiter::current());
    let flush: performer::FlushNow =
        Box::new(move || flush_blocking(&j, &arbiter, Duration::from_secs(5)));
    let protocol = PowerProtocol::new(protocol_settings(p, &clock, model_power));
    let performer = PowerPerformer::new(
        protocol,
        to_board,
        append,
        flush,
        rx,
        p.poweroff_command.clone(),
        poll_every(p, &clock),
    )
    .with_sim(sim);
    let power = Shell::new(configured_power(), performer, journal.clone(), clock).spawn();
    Ok(vec![link.recipient(), power.recipient()])
}
