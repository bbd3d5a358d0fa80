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

use std::collections::BTreeSet;

use vigil_actors::clock::{ClockCommand, ClockCore};
use vigil_actors::configured::Configured;
use vigil_actors::link::{LinkAction, LinkCore, LinkSpec};
use vigil_actors::power::{
    configured_power, PowerCommand, PowerCore, PowerProtocol, ProtocolSettings, Step,
};
use vigil_actors::{Core, Intent};
use vigil_config::Config;
use vigil_esp32_power::{Config as BoardConfig, Input, Output};
use vigil_events::kinds::{ConfigLoaded, SupervisorStarted};
use vigil_events::{BoardOrigin, Envelope, NewEvent, Source};
use vigil_simworld::time::{utc, DAY, S, T2026 as T0};
use vigil_simworld::{
    next_of, Board, Mains, NoisyLine, PiPower as PiState, Rng, Rtt, Schedule, Simulation,
    SntpServer, WindowCheck, WindowWatch,
};
use vigil_wire::{encode_frame_to_vec, BoardRole, Message};

const HB: u64 = 5 * S;

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

/// One supervisor session on the Pi.
struct Session {
    link: LinkCore,
    protocol: PowerProtocol,
    power: Configured<PowerCore>,
    clock: ClockCore,
}

struct Faults {
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
    t: u64,
    periods: Schedule,
    board: Board,
    relay: bool,
    mains: Mains,
    sntp: SntpServer,
    line: NoisyLine,
    override_until: u64,
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
    windows: WindowWatch,
    faults: Faults,
    stats: Stats,
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
        let mains = Mains::new(&mut rng, 20 * DAY);
        let faults = Faults {
            board_reboot: rng.exp(9 * DAY),
            pi_reboot: rng.exp(4 * DAY),
            pi_clock: rng.exp(6 * DAY),
            cable: rng.exp(15 * DAY),
        };
        let mut sim = Sim {
            rng,
            t: 0,
            periods: Schedule(periods),
            board: Board::new(BoardConfig {
                device: 0xE5_0042,
                ..BoardConfig::default()
            }),
            relay: false,
            mains,
            sntp: SntpServer::new(Rtt::Fixed(20_000)),
            line: NoisyLine::new(1e-3),
            // Installation: the technician holds the override for half an hour.
            override_until: 30 * 60 * S,
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
            windows: WindowWatch::default(),
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
        let outs = self.board.boot(self.t, 0);
        self.board_outputs(outs);
    }

    fn mono(&self) -> u64 {
        self.board.mono(self.t)
    }

    fn board_input(&mut self, input: Input<'_>) {
        let outs = self.board.handle(self.mono(), input);
        self.board_outputs(outs);
    }

    fn board_outputs(&mut self, outs: Vec<Output>) {
        self.track_events();
        for o in outs {
            match o {
                Output::Relay(on) => self.set_relay(on),
                Output::Sntp(req) => {
                    let Some((reply, rtt)) = self.sntp.answer(&mut self.rng, self.t, &req) else {
                        continue;
                    };
                    let more = self.board.handle(self.mono() + rtt, Input::Sntp(&reply));
                    self.board_outputs(more);
                }
                Output::Send(p) => {
                    if matches!(p.message, Message::HaltNotice(_)) && self.board.notice_sent(self.t)
                    {
                        self.stats.handshakes += 1;
                    }
                    let Ok(bytes) = encode_frame_to_vec(&p) else {
                        continue;
                    };
                    let bytes = self.line.carry(&mut self.rng, self.t, &bytes);
                    self.pi_receive(&bytes);
                }
            }
        }
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

    fn track_events(&mut self) {
        let (device, keys) = (self.board.cfg.device, &self.keys);
        self.board
            .track(|boot, seq| keys.contains(&(device, boot, seq)));
    }

    // ---- the Pi -------------------------------------------------------------------------

    fn update_pi_power(&mut self) {
        let powered = self.mains.on && self.relay;
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
        let duplicates = |link: &LinkCore| {
            link.counters()
                .rejects
                .get("duplicate")
                .copied()
                .unwrap_or(0)
        };
        let before = duplicates(&s.link);
        let acts = s.link.on_bytes(bytes, now);
        let after = duplicates(&s.link);
        self.stats.duplicates_dropped += after - before;
        self.link_actions(acts);
    }

    // ---- properties ---------------------------------------------------------------------

    fn heartbeats_reach_board(&self) -> bool {
        self.pi == PiState::Running
            && !self.confirmed
            && self.last_hb.is_some_and(|h| self.t <= h + 2 * HB)
            && self.t >= self.line.cut_until + 2 * HB
    }

    fn check_cut(&mut self) {
        let deadline_passed = self.board.deadline_passed(self.t);
        assert!(
            !self.heartbeats_reach_board() || deadline_passed,
            "property 1: power cut at t={} s while the Pi heartbeats unconfirmed (last at {:?} s, \
             notice at {:?} s, pi clock {:+} µs)",
            self.t / S,
            self.last_hb.map(|h| h / S),
            self.board.first_notice.map(|n| n / S),
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

    // ---- faults and the loop ------------------------------------------------------------

    /// After the faults: mains on, cable in, no noise, a maintenance visit holding the
    /// override long enough for the Pi to deliver everything the board holds.
    fn drain(&mut self) {
        self.faults = Faults {
            board_reboot: u64::MAX,
            pi_reboot: u64::MAX,
            pi_clock: u64::MAX,
            cable: u64::MAX,
        };
        self.mains.next_loss = u64::MAX;
        self.line.noise = 0.0;
        self.line.cut_until = 0;
        self.hang_at = None;
        if !self.mains.on {
            self.mains.on = true;
            self.boot_board();
        }
        if !self.board.is_up() {
            self.boot_board();
        }
        if !matches!(self.pi, PiState::Running | PiState::Booting { .. }) {
            self.pi_dies();
        }
        self.update_pi_power();
        self.override_until = u64::MAX;
        self.settle(30 * 60 * S);
        let c = self.commit();
        self.deliver(c);
        // what the world's parts counted
        self.stats.mains_losses = self.mains.losses;
        self.stats.sntp_jumps = self.sntp.jumps;
        self.stats.garbled = self.line.garbled;
    }

    fn verify(&self) {
        let c = self.board.controller().expect("board up after the drain");
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
        let device = self.board.cfg.device;
        let ring = &self.board.ring;
        for id in ring.generated.keys() {
            assert!(
                self.keys.contains(&(device, id.boot, id.seq)),
                "property 3: board event {id:?} never reached the log (vanished unlogged: {})",
                ring.vanished.contains(id)
            );
        }
        assert_eq!(self.keys.len(), ring.generated.len());
    }
}

impl Simulation for Sim {
    fn time(&mut self) -> &mut u64 {
        &mut self.t
    }

    fn step_len(&self) -> u64 {
        let busy = self.relay || self.pi != PiState::Off || !self.board.is_idle(self.t);
        let f = &self.faults;
        let next_fault = next_of(&[
            self.mains.next_loss,
            f.board_reboot,
            f.pi_reboot,
            f.pi_clock,
            f.cable,
        ]);
        self.periods.step_len(self.t, busy, next_fault)
    }

    fn faults(&mut self) {
        let t = self.t;
        if self.mains.fails(&mut self.rng, t) {
            self.board.kill();
            self.update_pi_power();
        }
        if self.mains.returns(t) {
            self.boot_board();
            self.update_pi_power();
        }
        if t >= self.faults.board_reboot {
            self.faults.board_reboot = t + self.rng.exp(9 * DAY);
            if self.board.is_up() {
                self.stats.board_reboots += 1;
                self.board.kill();
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
            self.line.cut_until = t + self.rng.range(60, DAY / S) * S;
            self.faults.cable = self.line.cut_until + self.rng.exp(15 * DAY);
        }
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

    fn run_board(&mut self) {
        let bytes = std::mem::take(&mut self.to_board);
        if !self.board.is_up() {
            return;
        }
        let bytes = self.line.carry(&mut self.rng, self.t, &bytes);
        for input in self.board.receive(&bytes) {
            self.board_input(input);
        }
        self.board_input(Input::Override(self.t < self.override_until));
        self.board_input(Input::Tick);
        self.board.after_step(self.t);
        self.track_events();
    }

    fn check_window_start(&mut self) {
        let check = self
            .windows
            .check(&self.board, &self.periods, self.t, self.mains.on, HB, 0);
        let WindowCheck::Checked {
            index: i,
            start,
            end,
            synced_t,
            status: st,
        } = check
        else {
            return;
        };
        self.stats.windows_checked += 1;
        assert!(
            check.held(),
            "property 2: period {i} ({}–{} s) started, board has time since {} s, relay off at \
             {} s: {st:?}",
            start / S,
            end / S,
            synced_t / S,
            self.t / S
        );
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
    vigil_simworld::span(40)
}

fn seed() -> u64 {
    vigil_simworld::seed(0x51DE_2026)
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
