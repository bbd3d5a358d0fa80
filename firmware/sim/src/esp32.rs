//! The ESP32 simulator: the real power-controller core ([`vigil_esp32_power::Controller`]) on
//! the host, behind a serial port (normally the master of a [`crate::PtyPair`]), with a
//! simulated relay, a simulated SNTP server and time from a [`SimClock`] (so it follows a
//! simulated station clock running faster than real time).
//!
//! - **Time.** The board's monotonic clock is the given clock's time since the simulator
//!   started (never going backwards). Its own UTC comes only from SNTP, exactly as on the
//!   board: until the first two agreeing replies (8 s apart) it has no time and switches
//!   nothing by the windows.
//! - **SNTP.** Every request is answered at once by a server whose clock reads the given
//!   clock plus [`Esp32SimConfig::sntp_offset_us`], with a round trip of
//!   [`Esp32SimConfig::sntp_delay_us`] (the reply is handed to the core that much later on its
//!   monotonic clock). [`Esp32SimHandle::set_network`] takes the network down.
//! - **Relay.** A flag ([`Esp32SimHandle::relay`]); every switch is counted.
//! - **Storage.** RAM ([`MemStorage`]): it survives [`Esp32SimHandle::reboot`] (a board
//!   reset, flash kept) but not the simulator.
//! - **Override.** [`Esp32SimHandle::set_override`] sets the maintenance input's level.
//!
//! When the clock runs fast, one real millisecond of loop jitter is seconds of board time.
//! The core's "waiting for the Pi" timeouts are station times; [`Esp32SimConfig::stretched`]
//! stretches them to a floor of real time so that a busy host does not look like a hung Pi.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use serialport::{SerialPort, TTYPort};
use vigil_esp32_power::sntp::{NtpTimestamp, PACKET_LEN};
use vigil_esp32_power::{Config, Controller, Input, MemStorage, Output, Status};
use vigil_wire::{encode_frame_to_vec, Decoded, FrameDecoder};

use crate::clock::SimClock;
use crate::pico::SimError;

/// Device id of a simulated ESP32 unless configured otherwise.
pub const SIM_ESP32_DEVICE: u32 = 0x00E5_3201;

/// Settings of a simulated ESP32.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Esp32SimConfig {
    /// The controller's settings (device id, timings, as the firmware has them).
    pub controller: Config,
    /// The SNTP server's clock minus the simulator's clock, µs.
    pub sntp_offset_us: i64,
    /// Round trip of an SNTP exchange, µs (board time).
    pub sntp_delay_us: i64,
    /// Stratum the SNTP server reports (1–15).
    pub sntp_stratum: u8,
    /// Longest real time between two loop turns (the port read timeout).
    pub loop_period: Duration,
}

impl Default for Esp32SimConfig {
    fn default() -> Self {
        Esp32SimConfig {
            controller: Config {
                device: SIM_ESP32_DEVICE,
                ..Config::default()
            },
            sntp_offset_us: 0,
            sntp_delay_us: 20_000,
            sntp_stratum: 2,
            loop_period: Duration::from_millis(2),
        }
    }
}

impl Esp32SimConfig {
    /// The same settings with the core's timeouts that wait for the Pi (heartbeat watchdog,
    /// link timeout, hard deadline, notice repeat, event resend) and its stall threshold
    /// stretched to at least `floor` of real time at `rate` station seconds per real second
    /// (the stall threshold to a fifth of it). At rate 1 nothing changes for any sensible
    /// floor.
    pub fn stretched(mut self, rate: f64, floor: Duration) -> Self {
        let rate = if rate.is_finite() && rate > 0.0 {
            rate
        } else {
            1.0
        };
        let floor_us = (floor.as_secs_f64() * rate * 1e6).min(u64::MAX as f64) as u64;
        let c = &mut self.controller;
        c.heartbeat_timeout_us = c.heartbeat_timeout_us.max(floor_us);
        c.link_timeout_us = c.link_timeout_us.max(floor_us);
        c.hard_deadline_us = c.hard_deadline_us.max(floor_us.saturating_mul(2));
        c.notice_repeat_us = c.notice_repeat_us.max(floor_us / 4);
        c.event_resend_us = c.event_resend_us.max(floor_us / 4);
        c.stall_threshold_us = c.stall_threshold_us.max(floor_us / 5);
        if c.hard_deadline_us <= c.halt_grace_us {
            c.hard_deadline_us = c.halt_grace_us.saturating_mul(2);
        }
        self
    }
}

/// The reply of an SNTP server whose clock read `receive_utc_us` when `request` arrived and
/// `transmit_utc_us` when the reply left.
pub fn sntp_server_reply(
    request: &[u8; PACKET_LEN],
    receive_utc_us: i64,
    transmit_utc_us: i64,
    stratum: u8,
) -> [u8; PACKET_LEN] {
    let mut p = [0u8; PACKET_LEN];
    // leap 0, version 4, mode 4 (server)
    p[0] = (4 << 3) | 4;
    p[1] = stratum.clamp(1, 15);
    // poll 6 (64 s), precision -20 (about 1 µs)
    p[2] = 6;
    p[3] = 0xEC;
    // reference id "SIM\0"
    p[12..16].copy_from_slice(b"SIM\0");
    let receive = NtpTimestamp::from_utc_us(receive_utc_us).0.to_be_bytes();
    let transmit = NtpTimestamp::from_utc_us(transmit_utc_us).0.to_be_bytes();
    p[16..24].copy_from_slice(&receive);
    p[24..32].copy_from_slice(&request[40..48]);
    p[32..40].copy_from_slice(&receive);
    p[40..48].copy_from_slice(&transmit);
    p
}

/// Counters of a running simulator.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Esp32SimStats {
    /// Boots of the simulated board (1 after start).
    pub boots: u32,
    /// Relay switches (on and off).
    pub relay_switches: u64,
    /// Packets written to the Pi.
    pub packets_sent: u64,
    /// Packets that could not be written (line gone).
    pub packets_dropped: u64,
    /// Valid frames from the Pi.
    pub rx_packets: u64,
    /// Frames from the Pi the decoder rejected.
    pub rx_rejected: u64,
    /// SNTP requests answered.
    pub sntp_answered: u64,
    /// SNTP requests lost (network down).
    pub sntp_lost: u64,
}

/// What the simulator shares with its handle.
#[derive(Debug, Default)]
struct Shared {
    relay: AtomicBool,
    stats: Mutex<Esp32SimStats>,
    status: Mutex<Option<Status>>,
}

enum Ctl {
    Override(bool),
    Network(bool),
    Reboot,
}

/// A simulated ESP32, ready to run on a port.
pub struct Esp32Sim {
    config: Esp32SimConfig,
    clock: Arc<dyn SimClock>,
}

impl std::fmt::Debug for Esp32Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Esp32Sim")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The running simulator. Dropping it stops the simulator (and hangs the line up).
#[derive(Debug)]
pub struct Esp32SimHandle {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    ctl: mpsc::Sender<Ctl>,
    shared: Arc<Shared>,
}

impl Esp32Sim {
    /// A simulator with these settings on `clock`.
    pub fn new(config: Esp32SimConfig, clock: Arc<dyn SimClock>) -> Self {
        Esp32Sim { config, clock }
    }

    /// Runs on `port` (its own thread). `keep` is held open with it (a pty pair's slave).
    pub fn spawn(self, port: TTYPort, keep: Option<TTYPort>) -> Result<Esp32SimHandle, SimError> {
        let stop = Arc::new(AtomicBool::new(false));
        let (ctl_tx, ctl_rx) = mpsc::channel();
        let shared = Arc::new(Shared::default());
        let runner = Runner {
            config: self.config,
            clock: self.clock,
            port: Some(port),
            _keep: keep,
            stop: stop.clone(),
            ctl: ctl_rx,
            shared: shared.clone(),
            override_level: false,
            network: true,
        };
        let thread = thread::Builder::new()
            .name("vigil-sim-esp32".into())
            .spawn(move || runner.run())
            .map_err(SimError::Thread)?;
        Ok(Esp32SimHandle {
            stop,
            thread: Some(thread),
            ctl: ctl_tx,
            shared,
        })
    }
}

impl Esp32SimHandle {
    /// Whether the simulated relay powers the Pi.
    pub fn relay(&self) -> bool {
        self.shared.relay.load(Ordering::SeqCst)
    }

    /// Counters so far.
    pub fn stats(&self) -> Esp32SimStats {
        self.shared.stats.lock().map(|s| *s).unwrap_or_default()
    }

    /// The controller's last status snapshot (`None` before the first loop turn).
    pub fn status(&self) -> Option<Status> {
        self.shared.status.lock().ok().and_then(|s| *s)
    }

    /// Sets the level of the maintenance override input.
    pub fn set_override(&self, active: bool) {
        let _ = self.ctl.send(Ctl::Override(active));
    }

    /// Takes the network (SNTP) down or brings it back.
    pub fn set_network(&self, up: bool) {
        let _ = self.ctl.send(Ctl::Network(up));
    }

    /// Resets the board: RAM is lost, the flash (storage) kept; it boots again at once.
    pub fn reboot(&self) {
        let _ = self.ctl.send(Ctl::Reboot);
    }

    /// Whether the simulator thread has ended.
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(|t| t.is_finished())
    }

    /// Stops the simulator and waits for its thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Esp32SimHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

struct Runner {
    config: Esp32SimConfig,
    clock: Arc<dyn SimClock>,
    port: Option<TTYPort>,
    _keep: Option<TTYPort>,
    stop: Arc<AtomicBool>,
    ctl: mpsc::Receiver<Ctl>,
    shared: Arc<Shared>,
    override_level: bool,
    network: bool,
}

/// One booted board: the controller and its monotonic time base.
struct Board {
    controller: Controller<MemStorage>,
    /// Clock time (µs) of this boot's monotonic zero.
    zero_us: i64,
    /// Last monotonic time given to the controller.
    last: u64,
}

impl Runner {
    fn bump(&self, f: impl FnOnce(&mut Esp32SimStats)) {
        if let Ok(mut s) = self.shared.stats.lock() {
            f(&mut s);
        }
    }

    fn boot(&mut self, store: MemStorage) -> Board {
        let zero_us = self.clock.now_us();
        let mut outs = VecDeque::new();
        let controller =
            Controller::boot(self.config.controller, store, 0, &mut |o| outs.push_back(o));
        self.bump(|s| s.boots += 1);
        let mut board = Board {
            controller,
            zero_us,
            last: 0,
        };
        self.perform(&mut board, outs);
        board
    }

    fn mono(&self, board: &Board) -> u64 {
        let t = self.clock.now_us().saturating_sub(board.zero_us).max(0) as u64;
        t.max(board.last)
    }

    fn input(&mut self, board: &mut Board, now: u64, input: Input<'_>) {
        let now = now.max(board.last);
        board.last = now;
        let mut outs = VecDeque::new();
        board
            .controller
            .handle(now, input, &mut |o| outs.push_back(o));
        self.perform(board, outs);
    }

    fn perform(&mut self, board: &mut Board, mut outs: VecDeque<Output>) {
        while let Some(o) = outs.pop_front() {
            match o {
                Output::Relay(on) => {
                    let was = self.shared.relay.swap(on, Ordering::SeqCst);
                    if was != on {
                        self.bump(|s| s.relay_switches += 1);
                    }
                }
                Output::Send(p) => {
                    let sent = match (encode_frame_to_vec(&p), self.port.as_mut()) {
                        (Ok(bytes), Some(port)) => match port.write_all(&bytes) {
                            Ok(()) => true,
                            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => false,
                            Err(_) => {
                                self.port = None;
                                false
                            }
                        },
                        _ => false,
                    };
                    self.bump(|s| {
                        if sent {
                            s.packets_sent += 1;
                        } else {
                            s.packets_dropped += 1;
                        }
                    });
                }
                Output::Sntp(req) => {
                    if !self.network {
                        self.bump(|s| s.sntp_lost += 1);
                        continue;
                    }
                    let c = &self.config;
                    let delay = c.sntp_delay_us.max(0);
                    let sent_at = board.last;
                    let server = self.clock.now_us() + c.sntp_offset_us + delay / 2;
                    let reply = sntp_server_reply(&req, server, server, c.sntp_stratum);
                    let at = sent_at.saturating_add(delay as u64);
                    board.last = board.last.max(at);
                    board
                        .controller
                        .handle(board.last, Input::Sntp(&reply), &mut |o| outs.push_back(o));
                    self.bump(|s| s.sntp_answered += 1);
                }
            }
        }
    }

    fn run(mut self) {
        let mut board = self.boot(MemStorage::new());
        let mut decoder: FrameDecoder = FrameDecoder::new();
        let mut buf = [0u8; 1024];
        while !self.stop.load(Ordering::SeqCst) {
            while let Ok(c) = self.ctl.try_recv() {
                match c {
                    Ctl::Override(level) => self.override_level = level,
                    Ctl::Network(up) => self.network = up,
                    Ctl::Reboot => {
                        decoder.clear();
                        board = self.boot(board.controller.into_storage());
                    }
                }
            }
            let mut got: Vec<Decoded> = Vec::new();
            match self.port.as_mut() {
                Some(port) => {
                    let _ = port.set_timeout(self.config.loop_period);
                    match port.read(&mut buf) {
                        Ok(n) => decoder.feed_all(&buf[..n], |d| got.push(d)),
                        Err(e)
                            if matches!(
                                e.kind(),
                                std::io::ErrorKind::TimedOut | std::io::ErrorKind::Interrupted
                            ) => {}
                        // The other end hung up: a pty master reads EIO while no one has the
                        // slave open; keep the board running and try again next turn.
                        Err(_) => thread::sleep(self.config.loop_period),
                    }
                }
                None => thread::sleep(self.config.loop_period),
            }
            let now = self.mono(&board);
            let (mut packets, mut rejected) = (0u64, 0u64);
            for d in got {
                match d {
                    Decoded::Packet(p) => {
                        packets += 1;
                        self.input(&mut board, now, Input::Packet(p));
                    }
                    Decoded::Rejected(_) => {
                        rejected += 1;
                        self.input(&mut board, now, Input::Rejected);
                    }
                }
            }
            if packets + rejected > 0 {
                self.bump(|s| {
                    s.rx_packets += packets;
                    s.rx_rejected += rejected;
                });
            }
            let level = self.override_level;
            self.input(&mut board, now, Input::Override(level));
            self.input(&mut board, now, Input::Tick);
            if let Ok(mut s) = self.shared.status.lock() {
                *s = Some(board.controller.status(board.last));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::time::Instant;

    use vigil_esp32_power::sntp::{build_request, parse_reply};
    use vigil_wire::{Header, Heartbeat, Message, Packet, Window, Windows};

    use super::*;
    use crate::clock::ScaledClock;

    #[test]
    fn the_sntp_reply_parses_with_the_servers_times() {
        let sent = NtpTimestamp::from_utc_us(1_780_000_000_000_000);
        let req = build_request(sent);
        let reply = sntp_server_reply(&req, 1_780_000_000_500_000, 1_780_000_000_600_000, 2);
        let r = parse_reply(&reply, sent).expect("a valid reply");
        assert_eq!(r.stratum, 2);
        assert_eq!(r.receive.to_utc_us(), 1_780_000_000_500_000);
        assert_eq!(r.transmit.to_utc_us(), 1_780_000_000_600_000);
    }

    #[test]
    fn stretching_keeps_real_time_timeouts_and_leaves_rate_one_alone() {
        let c = Esp32SimConfig::default();
        assert_eq!(c.stretched(1.0, Duration::from_millis(500)), c);
        let fast = c.stretched(3600.0, Duration::from_millis(500)).controller;
        assert_eq!(fast.heartbeat_timeout_us, 1_800_000_000);
        assert_eq!(fast.hard_deadline_us, 3_600_000_000);
        assert!(fast.stall_threshold_us < fast.heartbeat_timeout_us);
        assert_eq!(fast.halt_grace_us, c.controller.halt_grace_us);
    }

    #[test]
    fn on_a_pty_the_board_syncs_stores_windows_and_powers_the_pi_at_a_window() {
        let pair = crate::PtyPair::open().expect("pty");
        let path = pair.path().to_path_buf();
        let (master, slave) = pair.into_parts();
        let clock = Arc::new(ScaledClock::new(1_780_000_000_000_000, 60.0));
        let now = clock.now_us();
        let cfg = Esp32SimConfig::default().stretched(60.0, Duration::from_millis(500));
        let h = Esp32Sim::new(cfg, clock.clone())
            .spawn(master, Some(slave))
            .expect("spawn");
        let mut line = serialport::new(path.display().to_string(), 115_200)
            .timeout(Duration::from_millis(20))
            .open_native()
            .expect("open the slave");
        let mut ws = vigil_wire::heapless::Vec::new();
        ws.push(Window {
            start_us: now + 30_000_000,
            end_us: now + 3_600_000_000,
        })
        .expect("fits");
        let mut seq = 0;
        let mut send = |line: &mut serialport::TTYPort, m: Message| {
            seq += 1;
            let p = Packet::new(
                Header {
                    device: 0,
                    boot: 1,
                    seq,
                },
                m,
            );
            let bytes = encode_frame_to_vec(&p).expect("encodes");
            line.write_all(&bytes).expect("write");
        };
        send(
            &mut line,
            Message::Windows(Windows {
                digest: [7; 32],
                windows: ws,
            }),
        );
        let mut decoder: FrameDecoder = FrameDecoder::new();
        let mut kinds = Vec::new();
        let started = Instant::now();
        let mut buf = [0u8; 512];
        while !h.relay() && started.elapsed() < Duration::from_secs(10) {
            send(
                &mut line,
                Message::Heartbeat(Heartbeat {
                    pi_utc_us: clock.now_us(),
                }),
            );
            if let Ok(n) = line.read(&mut buf) {
                decoder.feed_all(&buf[..n], |d| {
                    if let Decoded::Packet(p) = d {
                        kinds.push(p.message.kind().name());
                    }
                });
            }
        }
        assert!(h.relay(), "no power at the window; board said {kinds:?}");
        let st = h.status().expect("status");
        assert!(st.utc_us.is_some(), "no time: {st:?}");
        assert_eq!(st.windows, 1);
        assert!(
            kinds.contains(&"hello") && kinds.contains(&"windows_ack"),
            "{kinds:?}"
        );
        assert!(h.stats().sntp_answered >= 2);
        h.stop();
    }
}
