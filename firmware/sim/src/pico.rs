//! The Pico simulator: the real Pico core on synthetic scenes, speaking the wire protocol.
//!
//! [`PicoProtocol`] is the board side of the protocol as a pure state machine (headers and
//! seqs, hello, settings, frame mode, acks); [`PicoSim`] runs it with the real
//! [`vigil_pico_thermal::PicoCore`] on a thread, reading and writing a serial port (normally
//! the master of a [`crate::PtyPair`]).
//!
//! Timing: frames are due every `1 / refresh_hz` seconds of the given clock. When the clock
//! runs faster than real time, frames are still produced at most `max_real_fps` times per real
//! second, each at the clock's current time (missed frames are skipped, as a sensor's readings
//! are when nobody reads them). The scene cycle advances by frame, not by time, so every scene
//! is seen whatever the clock rate.
//!
//! The reported `latency_us` is the inference time measured on the host.

use std::io::{Read, Write};
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serialport::{SerialPort, TTYPort};
use vigil_int8::{Model, ModelError};
use vigil_pico_thermal::{DetectionOut, DetectorConfig, FrameOutput, PicoCore};
use vigil_wire::{
    encode_frame_to_vec, BoardRole, BoardTime, Decoded, Detection, FirmwareVersion, FrameDecoder,
    FrameMode, Header, Hello, Message, Packet, PicoConfig, ThermalClass, ThermalFrame,
    PROTOCOL_VERSION,
};

use crate::clock::SimClock;
use crate::led::{LedProbe, SimLed};
use crate::scenes::{SceneCycle, SceneKind, PIXELS};

/// Why a simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The model bytes are not a usable int8 model: give a model written by `vigil quantize`.
    #[error("model: {0}")]
    Model(ModelError),
    /// The model does not fit the Pico core (shape, classes, arena).
    #[error("the Pico core refuses the model: {0}")]
    Core(String),
    /// A pseudo-terminal could not be opened (no /dev/ptmx, or out of ptys).
    #[error("pseudo-terminal: {0}")]
    Pty(serialport::Error),
    /// The simulator thread could not be started.
    #[error("cannot start the simulator thread: {0}")]
    Thread(std::io::Error),
}

impl From<ModelError> for SimError {
    fn from(e: ModelError) -> Self {
        SimError::Model(e)
    }
}

/// The Pico firmware version the simulator reports.
pub const SIM_FIRMWARE: FirmwareVersion = FirmwareVersion {
    major: 0,
    minor: 1,
    patch: 0,
};

/// The detector settings of the core for wire settings (frames are gated by the protocol).
pub fn detector_config(s: &PicoConfig) -> DetectorConfig {
    DetectorConfig {
        threshold_permille: s.threshold_permille,
        raise_frames: s.hysteresis_frames.max(1),
        clear_frames: s.hysteresis_frames.max(1),
        output: FrameOutput::FullRate,
    }
}

/// What the protocol wants after a packet from the Pi.
#[derive(Debug, Default, PartialEq)]
pub struct Reaction {
    /// Packets to send, in order.
    pub replies: Vec<Packet>,
    /// New detector settings to apply to the core.
    pub reconfigure: Option<PicoConfig>,
}

/// The board side of the wire protocol for the Pico. Pure: time is passed in.
#[derive(Debug, Clone)]
pub struct PicoProtocol {
    device: u32,
    boot: u32,
    seq: u32,
    settings: PicoConfig,
    /// Real µs of the last valid frame from the Pi.
    last_pi: Option<i64>,
    /// Pi silence after which a heartbeat is answered with a new hello, µs.
    silence_us: i64,
    prev: Option<(ThermalClass, bool)>,
    acked: Option<(u32, u32)>,
    rx_rejects: u32,
}

impl PicoProtocol {
    /// A board with this identity and settings; `silence` is the Pi silence after which the
    /// board says hello again.
    pub fn new(device: u32, boot: u32, settings: PicoConfig, silence: Duration) -> Self {
        PicoProtocol {
            device,
            boot,
            seq: 0,
            settings,
            last_pi: None,
            silence_us: i64::try_from(silence.as_micros()).unwrap_or(i64::MAX),
            prev: None,
            acked: None,
            rx_rejects: 0,
        }
    }

    fn header(&mut self) -> Header {
        self.seq = self.seq.wrapping_add(1);
        Header {
            device: self.device,
            boot: self.boot,
            seq: self.seq,
        }
    }

    /// The settings in force.
    pub fn settings(&self) -> PicoConfig {
        self.settings
    }

    /// The last `event_ack` received, as `(boot, seq)`.
    pub fn acked(&self) -> Option<(u32, u32)> {
        self.acked
    }

    /// Frames from the Pi that the board could not use (wrong device, wrong kind).
    pub fn rx_rejects(&self) -> u32 {
        self.rx_rejects
    }

    /// Forget when the Pi was last heard (the cable was unplugged): the next Pi frame gets a
    /// hello.
    pub fn line_reset(&mut self) {
        self.last_pi = None;
    }

    /// `hello` followed by the settings in force.
    pub fn hello(&mut self, board_utc_us: i64, uptime_ms: u64) -> Vec<Packet> {
        let hello = Hello {
            role: BoardRole::Thermal,
            protocol: PROTOCOL_VERSION,
            firmware: SIM_FIRMWARE,
            time: BoardTime {
                utc_us: board_utc_us,
                synced: false,
            },
            uptime_ms,
        };
        let h = self.header();
        let a = self.header();
        vec![
            Packet::new(h, hello),
            Packet::new(a, Message::PicoConfigAck(self.settings)),
        ]
    }

    /// A packet from the Pi at real time `real_us` (board clock `board_utc_us`).
    pub fn on_packet(
        &mut self,
        p: &Packet,
        real_us: i64,
        board_utc_us: i64,
        uptime_ms: u64,
    ) -> Reaction {
        let mut r = Reaction::default();
        if p.header.device != 0 && p.header.device != self.device {
            self.rx_rejects = self.rx_rejects.saturating_add(1);
            return r;
        }
        let silent = self
            .last_pi
            .is_none_or(|t| real_us.saturating_sub(t) > self.silence_us);
        self.last_pi = Some(real_us);
        match &p.message {
            Message::Heartbeat(_) => {
                if silent {
                    r.replies = self.hello(board_utc_us, uptime_ms);
                }
            }
            Message::PicoConfig(c) => {
                if c.threshold_permille != self.settings.threshold_permille
                    || c.hysteresis_frames != self.settings.hysteresis_frames
                {
                    r.reconfigure = Some(*c);
                }
                self.settings = *c;
                let h = self.header();
                r.replies.push(Packet::new(h, Message::PicoConfigAck(*c)));
            }
            Message::EventAck(a) => self.acked = Some((a.boot, a.seq)),
            _ => self.rx_rejects = self.rx_rejects.saturating_add(1),
        }
        r
    }

    /// Packets for one classified frame: the frame (per frame mode), then the detection.
    pub fn on_frame(
        &mut self,
        frame: u32,
        centi: &[i16; PIXELS],
        d: &DetectionOut,
        latency_us: u32,
    ) -> Vec<Packet> {
        let class = d.class;
        let now = (class, d.person_present);
        let send = match self.settings.frame_mode {
            FrameMode::Off => false,
            FrameMode::FullRate => true,
            FrameMode::OnChange => self.prev != Some(now),
        };
        self.prev = Some(now);
        let mut out = Vec::with_capacity(2);
        if send {
            let h = self.header();
            out.push(Packet::new(
                h,
                ThermalFrame {
                    frame,
                    centi_c: *centi,
                },
            ));
        }
        let h = self.header();
        out.push(Packet::new(
            h,
            Detection {
                frame,
                class,
                confidence_permille: d.confidence_permille.min(1000),
                person_present: d.person_present,
                latency_us,
            },
        ));
        out
    }
}

/// Settings of a simulated Pico.
#[derive(Debug, Clone)]
pub struct PicoSimConfig {
    /// Device id in every frame header.
    pub device: u32,
    /// Boot id (a real board counts its power-ups).
    pub boot: u32,
    /// Scene seed.
    pub seed: u64,
    /// Scene order (empty: the default cycle).
    pub order: Vec<SceneKind>,
    /// Sensor refresh rate, frames per second of the clock.
    pub refresh_hz: u32,
    /// Most frames per real second (when the clock runs fast).
    pub max_real_fps: f64,
    /// Settings at power-up (until the Pi sends `pico_config`).
    pub settings: PicoConfig,
    /// Pi silence after which a heartbeat gets a new hello.
    pub hello_after_silence: Duration,
    /// Keep a copy of every frame's outcome for [`PicoSimHandle::observations`].
    pub observe: bool,
}

impl Default for PicoSimConfig {
    fn default() -> Self {
        PicoSimConfig {
            device: 0x0050_1C00,
            boot: 1,
            seed: 1,
            order: Vec::new(),
            refresh_hz: 2,
            max_real_fps: 16.0,
            settings: PicoConfig::default(),
            hello_after_silence: Duration::from_millis(1500),
            observe: false,
        }
    }
}

/// One simulated frame as the board saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observation {
    /// Frame counter.
    pub frame: u32,
    /// Scene shown.
    pub scene: SceneKind,
    /// The core's class.
    pub class: ThermalClass,
    /// Its confidence, ‰.
    pub confidence_permille: u16,
    /// Person state after the frame (the LED).
    pub person_present: bool,
    /// Clock time of the frame, UTC µs.
    pub at_us: i64,
}

/// Counters of a running simulator.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PicoSimStats {
    /// Frames classified.
    pub frames: u64,
    /// Frames after which a person was present.
    pub person_frames: u64,
    /// Packets written.
    pub packets_sent: u64,
    /// Packets that could not be written (line full, unplugged).
    pub packets_dropped: u64,
    /// Hellos sent.
    pub hellos: u64,
    /// Valid frames from the Pi.
    pub rx_packets: u64,
    /// Frames from the Pi the decoder rejected.
    pub rx_rejected: u64,
    /// `pico_config` messages applied.
    pub configs: u64,
    /// Last `event_ack` seq received.
    pub last_ack_seq: Option<u32>,
}

enum Ctl {
    Unplug,
    Plug(TTYPort, Option<TTYPort>),
}

/// A simulated Pico, ready to run on a port.
pub struct PicoSim {
    config: PicoSimConfig,
    model: Vec<u8>,
    clock: Arc<dyn SimClock>,
}

impl std::fmt::Debug for PicoSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PicoSim")
            .field("config", &self.config)
            .field("model_bytes", &self.model.len())
            .finish_non_exhaustive()
    }
}

/// The running simulator.
#[derive(Debug)]
pub struct PicoSimHandle {
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<JoinHandle<()>>,
    ctl: mpsc::Sender<Ctl>,
    led: LedProbe,
    stats: Arc<Mutex<PicoSimStats>>,
    observations: Option<Receiver<Observation>>,
}

impl PicoSim {
    /// A simulator running `model` (int8 model file bytes) on `clock`. Checks the model now.
    pub fn new(
        config: PicoSimConfig,
        model: Vec<u8>,
        clock: Arc<dyn SimClock>,
    ) -> Result<Self, SimError> {
        let m = Model::parse(&model)?;
        let mut arena = vec![0i8; m.arena_len()];
        PicoCore::new(
            m,
            &mut arena,
            detector_config(&config.settings),
            SimLed::new(),
        )
        .map_err(|e| SimError::Core(e.to_string()))?;
        Ok(PicoSim {
            config,
            model,
            clock,
        })
    }

    /// Runs on `port` (its own thread). `keep` is held open with it (a pty pair's slave).
    pub fn spawn(self, port: TTYPort, keep: Option<TTYPort>) -> Result<PicoSimHandle, SimError> {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (ctl_tx, ctl_rx) = mpsc::channel();
        let led = SimLed::new();
        let probe = led.probe();
        let stats = Arc::new(Mutex::new(PicoSimStats::default()));
        let (obs_tx, obs_rx) = if self.config.observe {
            let (t, r) = mpsc::sync_channel(4096);
            (Some(t), Some(r))
        } else {
            (None, None)
        };
        let run = Runner {
            sim: self,
            port: Some((port, keep)),
            stop: stop.clone(),
            ctl: ctl_rx,
            stats: stats.clone(),
            obs: obs_tx,
        };
        let thread = thread::Builder::new()
            .name("vigil-sim-pico".into())
            .spawn(move || run.run(led))
            .map_err(SimError::Thread)?;
        Ok(PicoSimHandle {
            stop,
            thread: Some(thread),
            ctl: ctl_tx,
            led: probe,
            stats,
            observations: obs_rx,
        })
    }
}

impl PicoSimHandle {
    /// The simulated LED.
    pub fn led(&self) -> &LedProbe {
        &self.led
    }

    /// Counters so far.
    pub fn stats(&self) -> PicoSimStats {
        self.stats.lock().map(|s| *s).unwrap_or_default()
    }

    /// Every frame's outcome, when the config asked to observe.
    pub fn observations(&self) -> Option<&Receiver<Observation>> {
        self.observations.as_ref()
    }

    /// Pull the cable: the board keeps running, what it sends is lost.
    pub fn unplug(&self) {
        let _ = self.ctl.send(Ctl::Unplug);
    }

    /// Plug a (new) line in; `keep` is held open with it.
    pub fn plug(&self, port: TTYPort, keep: Option<TTYPort>) {
        let _ = self.ctl.send(Ctl::Plug(port, keep));
    }

    /// Whether the simulator thread has ended (it ends only when stopped or on a core error).
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(|t| t.is_finished())
    }

    /// Stop the simulator and wait for its thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for PicoSimHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

struct Runner {
    sim: PicoSim,
    port: Option<(TTYPort, Option<TTYPort>)>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    ctl: Receiver<Ctl>,
    stats: Arc<Mutex<PicoSimStats>>,
    obs: Option<SyncSender<Observation>>,
}

impl Runner {
    fn bump(&self, f: impl FnOnce(&mut PicoSimStats)) {
        if let Ok(mut s) = self.stats.lock() {
            f(&mut s);
        }
    }

    fn write(&mut self, packets: &[Packet]) {
        let mut sent = 0u64;
        let mut dropped = 0u64;
        let mut dead = false;
        let mut hellos = 0u64;
        for p in packets {
            if matches!(p.message, Message::Hello(_)) {
                hellos += 1;
            }
            let Ok(bytes) = encode_frame_to_vec(p) else {
                dropped += 1;
                continue;
            };
            match self.port.as_mut() {
                Some((port, _)) => match port.write_all(&bytes) {
                    Ok(()) => sent += 1,
                    Err(e) if e.kind() == std::io::ErrorKind::TimedOut => dropped += 1,
                    Err(_) => {
                        dropped += 1;
                        dead = true;
                    }
                },
                None => dropped += 1,
            }
        }
        if dead {
            self.port = None;
        }
        self.bump(|s| {
            s.packets_sent += sent;
            s.packets_dropped += dropped;
            s.hellos += hellos;
        });
    }

    fn run(mut self, led: SimLed) {
        let started = Instant::now();
        let clock = self.sim.clock.clone();
        let cfg = self.sim.config.clone();
        let model_bytes = std::mem::take(&mut self.sim.model);
        let Ok(model) = Model::parse(&model_bytes) else {
            return;
        };
        let mut arena = vec![0i8; model.arena_len()];
        let mut proto =
            PicoProtocol::new(cfg.device, cfg.boot, cfg.settings, cfg.hello_after_silence);
        let Ok(mut core) = PicoCore::new(model, &mut arena, detector_config(&cfg.settings), led)
        else {
            return;
        };
        let mut frame_base: u32 = 0;
        let mut last_core_frame: u32 = 0;
        let mut scenes = SceneCycle::with_order(cfg.seed, &cfg.order);
        let mut decoder: FrameDecoder = FrameDecoder::new();
        let period_us = 1_000_000 / i64::from(cfg.refresh_hz.max(1));
        let min_gap = Duration::from_secs_f64(1.0 / cfg.max_real_fps.clamp(0.1, 1000.0));
        let uptime = |started: Instant| u64::try_from(started.elapsed().as_millis()).unwrap_or(0);
        let hello = proto.hello(clock.now_us(), 0);
        self.write(&hello);
        let mut next_frame = clock.now_us() + period_us;
        let mut last_frame_real: Option<Instant> = None;
        let mut buf = [0u8; 2048];
        while !self.stop.load(std::sync::atomic::Ordering::SeqCst) {
            loop {
                match self.ctl.try_recv() {
                    Ok(Ctl::Unplug) => {
                        self.port = None;
                        decoder.clear();
                    }
                    Ok(Ctl::Plug(p, keep)) => {
                        self.port = Some((p, keep));
                        decoder.clear();
                        proto.line_reset();
                    }
                    Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
                }
            }
            let wait = clock
                .real_until(next_frame)
                .clamp(Duration::from_millis(1), Duration::from_millis(20));
            let mut got: Vec<Packet> = Vec::new();
            let mut rejected = 0u64;
            let mut dead = false;
            match self.port.as_mut() {
                Some((port, _)) => {
                    let _ = port.set_timeout(wait);
                    match port.read(&mut buf) {
                        Ok(0) => {}
                        Ok(n) => decoder.feed_all(&buf[..n], |d| match d {
                            Decoded::Packet(p) => got.push(p),
                            Decoded::Rejected(_) => rejected += 1,
                        }),
                        Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(_) => dead = true,
                    }
                }
                None => thread::sleep(wait),
            }
            if dead {
                // The other end hung up for good (our pty pair was dropped): wait for a plug.
                self.port = None;
            }
            if !got.is_empty() || rejected > 0 {
                let n = got.len() as u64;
                self.bump(|s| {
                    s.rx_packets += n;
                    s.rx_rejected += rejected;
                });
            }
            for p in got {
                let real_us = i64::try_from(started.elapsed().as_micros()).unwrap_or(i64::MAX);
                let r = proto.on_packet(&p, real_us, clock.now_us(), uptime(started));
                if let Some(new) = r.reconfigure {
                    // The core restarts with the new rule (person state cleared, LED off);
                    // the frame counter carries on.
                    frame_base = frame_base.wrapping_add(last_core_frame);
                    last_core_frame = 0;
                    let led = core.release();
                    match PicoCore::new(model, &mut arena, detector_config(&new), led) {
                        Ok(c) => core = c,
                        Err(_) => return,
                    }
                    self.bump(|s| s.configs += 1);
                }
                if let Some((_, seq)) = proto.acked() {
                    self.bump(|s| s.last_ack_seq = Some(seq));
                }
                self.write(&r.replies);
            }
            let now = clock.now_us();
            let gap_ok = last_frame_real.is_none_or(|t| t.elapsed() >= min_gap);
            if now >= next_frame && gap_ok {
                let (scene, centi) = scenes.next_frame();
                let t0 = Instant::now();
                let Ok(outcome) = core.on_frame(&centi) else {
                    return;
                };
                let latency = u32::try_from(t0.elapsed().as_micros()).unwrap_or(u32::MAX);
                last_core_frame = outcome.frame;
                let frame = frame_base.wrapping_add(outcome.frame);
                let d = outcome.detection;
                let packets = proto.on_frame(frame, &centi, &d, latency);
                self.bump(|s| {
                    s.frames += 1;
                    s.person_frames += u64::from(d.person_present);
                });
                // Observed before it is on the line, so a reader never sees it first.
                if let Some(tx) = &self.obs {
                    let _ = tx.try_send(Observation {
                        frame,
                        scene,
                        class: d.class,
                        confidence_permille: d.confidence_permille,
                        person_present: d.person_present,
                        at_us: now,
                    });
                }
                self.write(&packets);
                next_frame += period_us;
                if next_frame <= now {
                    next_frame = now + period_us;
                }
                last_frame_real = Some(Instant::now());
            }
        }
    }
}
