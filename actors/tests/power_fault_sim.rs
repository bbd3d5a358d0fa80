//! Fault simulation through the Pi side: the power actor's cores (clock, power), its protocol
//! and the shared board link's core against the real ESP32 `Controller`, talking real
//! vigil-wire frames over a noisy serial line, for a schedule of years.
//!
//! The Pi runs sessions like the supervisor does: at every boot fresh cores learn the config
//! from `SupervisorStarted` + `ConfigLoaded`, and the link is primed from the log (the journal
//! is a `Vec`; an append is durable — and acked to the board — one step later, and lost if the
//! Pi dies first).
//!
//! Faults: mains loss (board and Pi die), board reboots at any time (also mid-window and
//! mid-handshake), Pi reboots mid-window (slow ones, and supervisor restarts faster than the
//! board's link timeout, and crashes between a board event's commit and its ack), a hung Pi
//! (stops heartbeating), Pi clock jumps (minutes either way),
//! SNTP server jumps, serial cable cuts, and dropped, flipped and inserted bytes at 1e-3 per
//! byte in both directions.
//!
//! Properties, checked as it runs and at the end:
//! 1. power is never cut while the Pi heartbeats and has not confirmed halting, before the
//!    hard deadline since the board's first halt notice (nor while a confirmed Pi is still
//!    shutting down);
//! 2. once the board has time, no window start is missed by more than one heartbeat period;
//! 3. every board event reaches the log exactly once (never appended twice, even across Pi
//!    restarts; none left behind after a final drain).
//!
//! Default: 40 simulated days, a few seconds. `VIGIL_FAULT_YEARS=10` runs ten years;
//! `VIGIL_FAULT_SEED=n` picks another seed.

use std::collections::{BTreeMap, BTreeSet};

use vigil_actors::clock::{ClockCommand, ClockCore};
use vigil_actors::configured::Configured;
use vigil_actors::link::{LinkAction, LinkCore, LinkSpec};
use vigil_actors::power::{
    configured_power, PowerCommand, PowerCore, PowerProtocol, ProtocolSettings, Step,
};
use vigil_actors::{Core, Intent};
use vigil_config::Config;
use vigil_esp32_power::ring::EventId;
use vigil_esp32_power::sntp::{NtpTimestamp, PACKET_LEN};
use vigil_esp32_power::store::MemStorage;
use vigil_esp32_power::{Config as BoardConfig, Controller, Input, Output, Phase};
use vigil_events::kinds::{ConfigLoaded, SupervisorStarted};
use vigil_events::{BoardOrigin, Envelope, NewEvent, Source};
use vigil_wire::{encode_frame_to_vec, BoardRole, Decoded, FrameDecoder, Message};

const S: u64 = 1_000_000;
const DAY: u64 = 86_400 * S;
const HB: u64 = 5 * S;
/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600_000_000;

const CONFIG: &str = r#"
[schedule]
timezone = "Europe/Berlin"
location = { lat = 52.52, lon = 13.40 }
[[schedule.window]]
name = "morning"
days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
start = "07:00"
end = "07:40"
[[schedule.window]]
name = "noon"
days = ["mon", "wed", "fri"]
start = "12:00"
end = "12:25"
[[schedule.window]]
name = "dusk"
days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
start = "sunset-20m"
end = "sunset+10m"
[power]
heartbeat = "5s"
watchdog = "60s"
halt_grace = "15s"
hard_deadline = "5m"
"#;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
    fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
    fn exp(&mut self, mean: u64) -> u64 {
        let u = ((self.next() >> 11) as f64 + 1.0) / ((1u64 << 53) as f64 + 1.0);
        (-(u.ln()) * mean as f64) as u64
    }
}

fn utc(t: u64) -> i64 {
    T0 + t as i64
}

/// One supervisor session on the Pi.
struct Session {
    link: LinkCore,
    protocol: PowerProtocol,
    power: Configured<PowerCore>,
    clock: ClockCore,
}

#[derive(PartialEq, Clone, Copy, Debug)]
enum PiState {
    Off,
    Booting { ready_at: u64 },
    Running,
    Hung,
    ShuttingDown { halted_at: u64 },
    Halted,
}

struct Faults {
    mains: u64,
    board_reboot: u64,
    pi_reboot: u64,
    pi_clock: u64,
    cable: u64,
}

#[derive(Default, Debug)]
struct Stats {
    windows_checked: u64,
    handshakes: u64,
    graceful_cuts: u64,
    pi_sessions: u64,
    fast_restarts: u64,
    crashes_before_ack: u64,
    hangs: u64,
    mains_losses: u64,
    board_reboots: u64,
    cable_cuts: u64,
    clock_jumps: u64,
    sntp_jumps: u64,
    garbled: u64,
    lost_appends: u64,
    duplicates_dropped: u64,
}

struct Sim {
    rng: Rng,
    board_cfg: BoardConfig,
    t: u64,
    periods: Vec<(u64, u64)>,
    board: Option<Controller<MemStorage>>,
    store: Option<MemStorage>,
    board_boot_t: u64,
    board_decoder: FrameDecoder,
    synced_t: Option<u64>,
    relay: bool,
    mains: bool,
    mains_back: u64,
    cable_back: u64,
    override_until: u64,
    noise: f64,
    pi: PiState,
    session: Option<Session>,
    pi_offset: i64,
    pi_boot_id: u32,
    last_hb: Option<u64>,
    confirmed: bool,
    hang_at: Option<u64>,
    crash_before_ack: bool,
    to_board: Vec<u8>,
    /// The journal: durable events, and appends not yet durable.
    log: Vec<NewEvent>,
    keys: BTreeSet<(u32, u32, u32)>,
    pending: Vec<NewEvent>,
    first_notice: Option<u64>,
    generated: BTreeMap<EventId, ()>,
    last_ring: BTreeSet<EventId>,
    vanished: BTreeSet<EventId>,
    checked: BTreeSet<(usize, u64)>,
    faults: Faults,
    stats: Stats,
}

fn sntp_reply(req: &[u8; PACKET_LEN], server_utc: i64) -> [u8; PACKET_LEN] {
    let ts = NtpTimestamp::from_utc_us(server_utc).0.to_be_bytes();
    let mut p = [0u8; PACKET_LEN];
    p[0] = (4 << 3) | 4;
    p[1] = 2;
    p[24..32].copy_from_slice(&req[40..48]);
    p[32..40].copy_from_slice(&ts);
    p[40..48].copy_from_slice(&ts);
    p
}

impl Sim {
    fn new(seed: u64, until: u64) -> Self {
        let cfg = Config::parse(CONFIG, "fault.toml").expect("config");
        let from = chrono::DateTime::from_timestamp_micros(T0).expect("t0");
        let to = chrono::DateTime::from_timestamp_micros(utc(until + 10 * DAY)).expect("end");
        let periods = cfg
            .schedule
            .on_periods(from, to)
            .into_iter()
            .map(|p| {
                (
                    (p.start.timestamp_micros() - T0) as u64,
                    (p.end.timestamp_micros() - T0) as u64,
                )
            })
            .collect();
        let mut rng = Rng(seed);
        let faults = Faults {
            mains: rng.exp(20 * DAY),
            board_reboot: rng.exp(9 * DAY),
            pi_reboot: rng.exp(4 * DAY),
            pi_clock: rng.exp(6 * DAY),
            cable: rng.exp(15 * DAY),
        };
        let mut sim = Sim {
            rng,
            board_cfg: BoardConfig {
                device: 0xE5_0042,
                ..BoardConfig::default()
            },
            t: 0,
            periods,
            board: None,
            store: Some(MemStorage::new()),
            board_boot_t: 0,
            board_decoder: FrameDecoder::new(),
            synced_t: None,
            relay: false,
            mains: true,
            mains_back: 0,
            cable_back: 0,
            // Installation: the technician holds the override for half an hour.
            override_until: 30 * 60 * S,
            noise: 1e-3,
            pi: PiState::Off,
            session: None,
            pi_offset: 0,
            pi_boot_id: 0,
            last_hb: None,
            confirmed: false,
            hang_at: None,
            crash_before_ack: false,
            to_board: Vec::new(),
            log: Vec::new(),
            keys: BTreeSet::new(),
            pending: Vec::new(),
            first_notice: None,
            generated: BTreeMap::new(),
            last_ring: BTreeSet::new(),
            vanished: BTreeSet::new(),
            checked: BTreeSet::new(),
            faults,
            stats: Stats::default(),
        };
        sim.boot_board();
        sim
    }

    fn pi_now(&self) -> i64 {
        utc(self.t) + self.pi_offset
    }

    // ---- the journal --------------------------------------------------------------------

    /// Appends become durable one step later; a Pi that dies first loses them. Now and then
    /// the supervisor crashes right after a board event became durable, before its ack.
    fn commit(&mut self) -> Vec<Envelope> {
        let mut out = Vec::new();
        for ev in std::mem::take(&mut self.pending) {
            if let Some(o) = ev.origin {
                assert!(
                    self.keys.insert((o.device, o.boot, o.seq)),
                    "property 3: board event {o:?} appended twice at t={} s",
                    self.t / S
                );
                if self.pi == PiState::Running && self.rng.chance(0.05) {
                    self.crash_before_ack = true;
                }
            }
            self.log.push(ev.clone());
            let class = ev.kind().default_class();
            out.push(Envelope::unchained(self.log.len() as u64, class, ev));
        }
        out
    }

    fn primed(&self) -> Vec<BoardOrigin> {
        self.log
            .iter()
            .rev()
            .filter(|e| e.source == Source::Esp32)
            .filter_map(|e| e.origin)
            .take(512)
            .collect()
    }

    // ---- the board ----------------------------------------------------------------------

    fn boot_board(&mut self) {
        let store = self.store.take().expect("storage kept while down");
        self.board_boot_t = self.t;
        self.board_decoder = FrameDecoder::new();
        self.synced_t = None;
        self.first_notice = None;
        let mut outs = Vec::new();
        let c = Controller::boot(self.board_cfg, store, 0, &mut |o| outs.push(o));
        self.board = Some(c);
        self.board_outputs(outs);
    }

    fn kill_board(&mut self) {
        if let Some(c) = self.board.take() {
            self.store = Some(c.into_storage());
        }
    }

    fn mono(&self) -> u64 {
        self.t - self.board_boot_t
    }

    fn board_input(&mut self, input: Input<'_>) {
        let now = self.mono();
        let mut outs = Vec::new();
        if let Some(c) = self.board.as_mut() {
            c.handle(now, input, &mut |o| outs.push(o));
        }
        self.board_outputs(outs);
    }

    fn board_outputs(&mut self, outs: Vec<Output>) {
        self.track_events();
        for o in outs {
            match o {
                Output::Relay(on) => self.set_relay(on),
                Output::Sntp(req) => {
                    if self.rng.chance(0.05) {
                        continue;
                    }
                    let mut server = utc(self.t) + 10_000;
                    if self.rng.chance(0.005) {
                        self.stats.sntp_jumps += 1;
                        let off = self.rng.range(60, 86_400) as i64 * 1_000_000;
                        server += if self.rng.chance(0.5) { off } else { -off };
                    }
                    let reply = sntp_reply(&req, server);
                    let now = self.mono() + 20_000;
                    let mut more = Vec::new();
                    if let Some(c) = self.board.as_mut() {
                        c.handle(now, Input::Sntp(&reply), &mut |o| more.push(o));
                    }
                    self.board_outputs(more);
                }
                Output::Send(p) => {
                    if matches!(p.message, Message::HaltNotice(_)) && self.first_notice.is_none() {
                        self.first_notice = Some(self.t);
                        self.stats.handshakes += 1;
                    }
                    let Ok(bytes) = encode_frame_to_vec(&p) else {
                        continue;
                    };
                    let bytes = self.garble(&bytes);
                    self.pi_receive(&bytes);
                }
            }
        }
    }

    fn garble(&mut self, bytes: &[u8]) -> Vec<u8> {
        if self.t < self.cable_back {
            return Vec::new();
        }
        let mut out = Vec::with_capacity(bytes.len() + 2);
        for &b in bytes {
            if self.rng.chance(self.noise) {
                self.stats.garbled += 1;
                continue;
            }
            if self.rng.chance(self.noise) {
                self.stats.garbled += 1;
                out.push(b ^ (1 << (self.rng.next() % 8)));
            } else {
                out.push(b);
            }
            if self.rng.chance(self.noise) {
                self.stats.garbled += 1;
                out.push(self.rng.next() as u8);
            }
        }
        out
    }

    fn set_relay(&mut self, on: bool) {
        if on == self.relay {
            return;
        }
        if !on {
            self.check_cut();
        }
        self.relay = on;
        self.update_pi_power();
    }

    fn run_board(&mut self) {
        let bytes = std::mem::take(&mut self.to_board);
        if self.board.is_none() {
            return;
        }
        let bytes = self.garble(&bytes);
        let mut got = Vec::new();
        self.board_decoder.feed_all(&bytes, |d| got.push(d));
        for d in got {
            match d {
                Decoded::Packet(p) => self.board_input(Input::Packet(p)),
                Decoded::Rejected(_) => self.board_input(Input::Rejected),
            }
        }
        self.board_input(Input::Override(self.t < self.override_until));
        self.board_input(Input::Tick);
        let now = self.mono();
        if let Some(c) = self.board.as_ref() {
            let st = c.status(now);
            if self.synced_t.is_none() && st.utc_us.is_some() {
                self.synced_t = Some(self.t);
            }
            if matches!(st.phase, Phase::On | Phase::Off | Phase::Cycling) {
                self.first_notice = None;
            }
        }
        self.track_events();
    }

    fn track_events(&mut self) {
        let Some(c) = self.board.as_ref() else {
            return;
        };
        let ids: BTreeSet<EventId> = c.events().map(|e| e.id).collect();
        if ids == self.last_ring {
            return;
        }
        for id in &ids {
            self.generated.entry(*id).or_insert(());
        }
        let device = self.board_cfg.device;
        for id in self.last_ring.difference(&ids) {
            if !self.keys.contains(&(device, id.boot, id.seq)) {
                self.vanished.insert(*id);
            }
        }
        self.last_ring = ids;
    }

    // ---- the Pi -------------------------------------------------------------------------

    fn update_pi_power(&mut self) {
        let powered = self.mains && self.relay;
        match (powered, self.pi) {
            (false, PiState::Off) | (true, PiState::Booting { .. }) => {}
            (false, _) => self.pi_dies(),
            (true, PiState::Off) => {
                let ready_at = self.t + self.rng.range(20, 90) * S;
                self.pi = PiState::Booting { ready_at };
                self.hang_at = self
                    .rng
                    .chance(0.03)
                    .then(|| ready_at + self.rng.range(10, 1_800) * S);
            }
            (true, _) => {}
        }
    }

    fn pi_dies(&mut self) {
        self.pi = PiState::Off;
        self.session = None;
        if !self.pending.is_empty() {
            self.stats.lost_appends += self.pending.len() as u64;
            self.pending.clear();
        }
        self.to_board.clear();
    }

    fn start_session(&mut self) {
        self.stats.pi_sessions += 1;
        self.pi_boot_id += 1;
        self.confirmed = false;
        let mut link = LinkCore::new(LinkSpec {
            board: Source::Esp32,
            owner: Source::Power,
            role: BoardRole::Power,
            port: "/dev/serial0".into(),
            pi_boot: self.pi_boot_id,
            on_link_up: Vec::new(),
        });
        link.prime(self.primed());
        let now = self.pi_now();
        link.opened(now);
        let s = Session {
            link,
            protocol: PowerProtocol::new(ProtocolSettings::new(HB as i64)),
            power: configured_power(),
            clock: ClockCore::new(),
        };
        let start = [
            NewEvent::new(
                now,
                Source::Ops,
                SupervisorStarted {
                    version: "sim".into(),
                    clock: "sim".into(),
                    pid: self.pi_boot_id,
                    host: "pi".into(),
                },
            ),
            NewEvent::new(
                now,
                Source::Ops,
                ConfigLoaded {
                    path: "fault.toml".into(),
                    hash: String::new(),
                    text: CONFIG.into(),
                },
            ),
        ];
        self.pending.extend(start);
        self.pi = PiState::Running;
        self.session = Some(s);
        let committed = self.commit();
        self.deliver(committed);
    }

    /// Committed events go to the link (acks) and the cores.
    fn deliver(&mut self, committed: Vec<Envelope>) {
        if std::mem::take(&mut self.crash_before_ack) {
            self.stats.crashes_before_ack += 1;
            self.pi_dies();
            self.pi = PiState::Booting {
                ready_at: self.t + 2 * S,
            };
            return;
        }
        for env in committed {
            let Some(mut s) = self.session.take() else {
                return;
            };
            let acts = s.link.on_committed(&env);
            let mut intents = Vec::new();
            if s.clock.subscriptions().contains(&env.kind) {
                intents.extend(tag(s.clock.on_event(&env), env.ts));
            }
            let power = s.power.on_event(&env);
            self.session = Some(s);
            self.link_actions(acts);
            self.intents(intents);
            self.power_intents(power);
        }
    }

    fn intents(&mut self, events: Vec<NewEvent>) {
        self.pending.extend(events);
    }

    fn power_intents(&mut self, intents: Vec<Intent<PowerCommand>>) {
        let now = self.pi_now();
        for i in intents {
            match i {
                Intent::Emit(e) => self.pending.push(NewEvent::new(now, Source::Power, e)),
                Intent::Do(cmd) => {
                    let Some(s) = self.session.as_mut() else {
                        return;
                    };
                    let p = &mut s.protocol;
                    let steps = match cmd {
                        PowerCommand::Connect => p.start(now),
                        PowerCommand::LinkUp => p.link_up(now),
                        PowerCommand::LinkDown => p.link_down(now),
                        PowerCommand::Push(list) => p.push(now, list.to_wire()),
                        PowerCommand::Shutdown { window_end_us } => p.shutdown(now, window_end_us),
                        PowerCommand::BoardPower { on } => p.board_power(now, on),
                    };
                    self.steps(steps);
                }
            }
        }
    }

    fn steps(&mut self, steps: Vec<Step>) {
        let now = self.pi_now();
        for step in steps {
            match step {
                Step::Send(m) => {
                    if matches!(m, Message::Heartbeat(_)) {
                        self.last_hb = Some(self.t);
                    }
                    if matches!(m, Message::HaltConfirm(_)) {
                        self.confirmed = true;
                    }
                    let Some(s) = self.session.as_mut() else {
                        return;
                    };
                    let p = s.link.outgoing(m);
                    if let Ok(bytes) = encode_frame_to_vec(&p) {
                        self.to_board.extend_from_slice(&bytes);
                    }
                }
                Step::Append(e) => self.pending.push(NewEvent::new(now, Source::Power, e)),
                Step::Flush => {
                    let c = self.commit();
                    self.deliver(c);
                }
                Step::Poweroff => {
                    // The OS halts a few seconds later; the supervisor is gone now.
                    let halted_at = self.t + self.rng.range(3, 12) * S;
                    self.pi = PiState::ShuttingDown { halted_at };
                    self.session = None;
                    self.pending.clear();
                    return;
                }
            }
        }
    }

    fn link_actions(&mut self, acts: Vec<LinkAction>) {
        let now = self.pi_now();
        for a in acts {
            match a {
                LinkAction::Append(e) => self.pending.push(e),
                LinkAction::Send(p) => {
                    if let Ok(bytes) = encode_frame_to_vec(&p) {
                        self.to_board.extend_from_slice(&bytes);
                    }
                }
                LinkAction::Forward(p) => {
                    let Some(s) = self.session.as_mut() else {
                        return;
                    };
                    let steps = s.protocol.on_message(now, &p.message);
                    self.steps(steps);
                }
            }
        }
    }

    fn pi_receive(&mut self, bytes: &[u8]) {
        if self.pi != PiState::Running {
            return;
        }
        let now = self.pi_now();
        let Some(s) = self.session.as_mut() else {
            return;
        };
        let before = s
            .link
            .counters()
            .rejects
            .get("duplicate")
            .copied()
            .unwrap_or(0);
        let acts = s.link.on_bytes(bytes, now);
        let after = s
            .link
            .counters()
            .rejects
            .get("duplicate")
            .copied()
            .unwrap_or(0);
        self.stats.duplicates_dropped += after - before;
        self.link_actions(acts);
    }

    fn run_pi(&mut self) {
        match self.pi {
            PiState::Booting { ready_at } if self.t >= ready_at => self.start_session(),
            PiState::ShuttingDown { halted_at } if self.t >= halted_at => self.pi = PiState::Halted,
            PiState::Running => {
                if self.hang_at.is_some_and(|h| self.t >= h) {
                    self.stats.hangs += 1;
                    self.pi = PiState::Hung;
                    self.session = None;
                    self.pending.clear();
                    return;
                }
                let committed = self.commit();
                self.deliver(committed);
                let now = self.pi_now();
                let Some(mut s) = self.session.take() else {
                    return;
                };
                let mut clock_events = Vec::new();
                while let Some(d) = s.clock.next_deadline() {
                    if d > now {
                        break;
                    }
                    clock_events.extend(tag(s.clock.on_tick(d), d));
                }
                let mut power = Vec::new();
                while let Some(d) = s.power.next_deadline() {
                    if d > now {
                        break;
                    }
                    power.extend(s.power.on_tick(d));
                }
                let steps = s.protocol.tick(now);
                self.session = Some(s);
                self.intents(clock_events);
                self.power_intents(power);
                self.steps(steps);
            }
            _ => {}
        }
    }

    // ---- properties ---------------------------------------------------------------------

    fn heartbeats_reach_board(&self) -> bool {
        self.pi == PiState::Running
            && !self.confirmed
            && self.last_hb.is_some_and(|h| self.t <= h + 2 * HB)
            && self.t >= self.cable_back + 2 * HB
    }

    fn check_cut(&mut self) {
        let deadline_passed = self
            .first_notice
            .is_some_and(|n| self.t + 2 * S >= n + self.board_cfg.hard_deadline_us);
        assert!(
            !self.heartbeats_reach_board() || deadline_passed,
            "property 1: power cut at t={} s while the Pi heartbeats unconfirmed (last at {:?} s, \
             notice at {:?} s, pi clock {:+} µs)",
            self.t / S,
            self.last_hb.map(|h| h / S),
            self.first_notice.map(|n| n / S),
            self.pi_offset
        );
        if let PiState::ShuttingDown { halted_at } = self.pi {
            assert!(
                deadline_passed,
                "property 1: power cut at t={} s while the Pi is still halting (done at {} s)",
                self.t / S,
                halted_at / S
            );
        }
        if self.confirmed {
            self.stats.graceful_cuts += 1;
        }
    }

    fn check_window_start(&mut self) {
        let Some(c) = self.board.as_ref() else {
            return;
        };
        let (Some(synced_t), true) = (self.synced_t, self.mains) else {
            return;
        };
        let i = self.periods.partition_point(|&(_, e)| e <= self.t);
        let Some(&(start, end)) = self.periods.get(i) else {
            return;
        };
        if start > self.t {
            return;
        }
        let from = start.max(synced_t).max(self.board_boot_t);
        let now = self.mono();
        let late = c
            .status(now)
            .utc_us
            .map_or(0, |u| (utc(self.t) - u).max(0) as u64);
        let check_at = from + HB + late;
        if self.t < check_at || self.t >= end || !self.checked.insert((i, from)) {
            return;
        }
        let covered = c
            .schedule()
            .span_at(
                utc(start),
                self.board_cfg.merge_gap_us as i64,
                self.board_cfg.repeat_period_us as i64,
            )
            .is_some();
        if !covered || self.t > check_at + 2 * S {
            return;
        }
        self.stats.windows_checked += 1;
        let st = c.status(now);
        assert!(
            st.relay_on || st.phase == Phase::Cycling,
            "property 2: period {i} ({}–{} s) started, board has time since {} s, relay off at \
             {} s: {st:?}",
            start / S,
            end / S,
            synced_t / S,
            self.t / S
        );
    }

    // ---- faults and the loop ------------------------------------------------------------

    fn faults(&mut self) {
        let t = self.t;
        if t >= self.faults.mains {
            self.stats.mains_losses += 1;
            self.mains = false;
            self.mains_back = t + self.rng.range(1, 7_200) * S;
            self.faults.mains = self.mains_back + self.rng.exp(20 * DAY);
            self.kill_board();
            self.update_pi_power();
        }
        if !self.mains && t >= self.mains_back {
            self.mains = true;
            self.boot_board();
            self.update_pi_power();
        }
        if t >= self.faults.board_reboot {
            self.faults.board_reboot = t + self.rng.exp(9 * DAY);
            if self.board.is_some() {
                self.stats.board_reboots += 1;
                self.kill_board();
                self.boot_board();
            }
        }
        if t >= self.faults.pi_reboot {
            self.faults.pi_reboot = t + self.rng.exp(4 * DAY);
            if matches!(self.pi, PiState::Running | PiState::Hung) {
                self.pi_dies();
                if self.rng.chance(0.5) {
                    // The supervisor restarts in two seconds (faster than the board's link
                    // timeout: the board says no hello on its own).
                    self.stats.fast_restarts += 1;
                    self.pi = PiState::Booting {
                        ready_at: t + 2 * S,
                    };
                } else {
                    self.pi = PiState::Booting {
                        ready_at: t + self.rng.range(20, 90) * S,
                    };
                }
                self.hang_at = None;
            }
        }
        if t >= self.faults.pi_clock {
            self.faults.pi_clock = t + self.rng.exp(6 * DAY);
            self.stats.clock_jumps += 1;
            self.pi_offset = if self.pi_offset != 0 && self.rng.chance(0.5) {
                0
            } else {
                (self.rng.range(0, 180) as i64 - 90) * 1_000_000
            };
        }
        if t >= self.faults.cable {
            self.stats.cable_cuts += 1;
            self.cable_back = t + self.rng.range(60, DAY / S) * S;
            self.faults.cable = self.cable_back + self.rng.exp(15 * DAY);
        }
    }

    fn step_len(&self) -> u64 {
        let i = self.periods.partition_point(|&(_, e)| e <= self.t);
        let in_period = self.periods.get(i).is_some_and(|p| p.0 <= self.t);
        let busy = self.relay
            || in_period
            || self.pi != PiState::Off
            || self
                .board
                .as_ref()
                .is_some_and(|c| c.status(self.mono()).phase != Phase::Off);
        if busy || self.board.is_none() {
            return S;
        }
        let next_start = self.periods.get(i).map_or(u64::MAX, |p| p.0);
        let f = &self.faults;
        let next_fault = [f.mains, f.board_reboot, f.pi_reboot, f.pi_clock, f.cable]
            .into_iter()
            .min()
            .unwrap_or(u64::MAX);
        let until = next_start.saturating_sub(120 * S).min(next_fault);
        until.saturating_sub(self.t).clamp(S, 60 * S)
    }

    fn run(&mut self, until: u64) {
        while self.t < until {
            self.t += self.step_len();
            self.faults();
            self.run_pi();
            self.run_board();
            self.check_window_start();
        }
    }

    /// After the faults: mains on, cable in, no noise, a maintenance visit holding the
    /// override long enough for the Pi to deliver everything the board holds.
    fn drain(&mut self) {
        self.faults = Faults {
            mains: u64::MAX,
            board_reboot: u64::MAX,
            pi_reboot: u64::MAX,
            pi_clock: u64::MAX,
            cable: u64::MAX,
        };
        self.noise = 0.0;
        self.cable_back = 0;
        self.hang_at = None;
        if !self.mains {
            self.mains = true;
            self.boot_board();
        }
        if self.board.is_none() {
            self.boot_board();
        }
        if !matches!(self.pi, PiState::Running | PiState::Booting { .. }) {
            self.pi_dies();
        }
        self.update_pi_power();
        self.override_until = u64::MAX;
        let end = self.t + 30 * 60 * S;
        while self.t < end {
            self.t += S;
            self.run_pi();
            self.run_board();
        }
        let c = self.commit();
        self.deliver(c);
    }

    fn verify(&self) {
        let c = self.board.as_ref().expect("board up after the drain");
        let st = c.status(self.mono());
        assert_eq!(
            st.events_dropped, 0,
            "the ring overflowed; this test keeps cable cuts short enough that it should not"
        );
        assert_eq!(
            c.events().count(),
            0,
            "property 3: still undelivered after the drain: {:?}",
            c.events().collect::<Vec<_>>()
        );
        let device = self.board_cfg.device;
        for id in self.generated.keys() {
            assert!(
                self.keys.contains(&(device, id.boot, id.seq)),
                "property 3: board event {id:?} never reached the log (vanished unlogged: {})",
                self.vanished.contains(id)
            );
        }
        assert_eq!(self.keys.len(), self.generated.len());
    }
}

/// A clock core's decisions as the shell records them: at `ts`, source `clock`.
fn tag(intents: Vec<Intent<ClockCommand>>, ts: i64) -> Vec<NewEvent> {
    intents
        .into_iter()
        .filter_map(|i| match i {
            Intent::Emit(e) => Some(NewEvent::new(ts, Source::Clock, e)),
            Intent::Do(_) => None,
        })
        .collect()
}

fn span() -> u64 {
    match std::env::var("VIGIL_FAULT_YEARS") {
        Ok(y) => (y.parse::<f64>().unwrap_or(10.0) * 365.25 * DAY as f64) as u64,
        Err(_) => 40 * DAY,
    }
}

fn seed() -> u64 {
    std::env::var("VIGIL_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x51DE_2026)
}

#[test]
fn years_of_faults_through_the_pi_side_keep_the_three_properties() {
    let until = span();
    let mut sim = Sim::new(seed(), until);
    sim.run(until);
    sim.drain();
    sim.verify();
    let s = &sim.stats;
    eprintln!(
        "power fault sim: {} days, {} board events logged once ({} duplicate deliveries \
         dropped, {} appends lost with a dying Pi), {s:?}",
        until / DAY,
        sim.keys.len(),
        s.duplicates_dropped,
        s.lost_appends
    );
    let days = until / DAY;
    assert!(
        s.windows_checked >= days,
        "{} windows checked",
        s.windows_checked
    );
    assert!(s.handshakes >= days, "{} handshakes", s.handshakes);
    assert!(
        s.graceful_cuts >= days / 2,
        "{} graceful cuts",
        s.graceful_cuts
    );
    assert!(s.garbled > 0 && s.pi_sessions > days);
    assert!(sim.keys.len() as u64 > 3 * days);
}
