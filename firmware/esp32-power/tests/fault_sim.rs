//! Fault simulation: the controller against a simulated Pi, mains supply, SNTP server and a
//! noisy serial line (real vigil-wire frames), for years of schedule.
//!
//! Faults: mains power loss (board and Pi die), board-only reboots (any time, also
//! mid-window and mid-handshake), stalls of the board loop (its time jumps forward), crystal
//! drift, network outages, lost and wildly wrong SNTP replies (server clock jumps), a Pi that
//! hangs, a Pi that ignores halt notices, maintenance visits holding the override, and
//! dropped, flipped and inserted bytes on the UART in both directions.
//!
//! Properties (issue 4, item 6), checked as the simulation runs and at the end:
//! 1. the relay is never switched off while the Pi heartbeats and has not confirmed halting,
//!    unless the hard deadline since the board's halt notice has passed (nor while a
//!    confirmed Pi is still shutting down);
//! 2. once the board has time, no window start is missed by more than one heartbeat period;
//! 3. every board event ends up in the Pi's log (a set keyed by `(device, boot, seq)`)
//!    exactly once, with one content per key, unless the ring overflowed — then every event
//!    missing was dropped by the ring and counted.
//!
//! Default: 45 simulated days per configuration, a few seconds. `VIGIL_FAULT_YEARS=10` runs
//! ten years; `VIGIL_FAULT_SEED=n` picks another seed.

use std::collections::BTreeMap;

use vigil_esp32_power::ring::{BoardEvent, EventId};
use vigil_esp32_power::{Config, Input, Output};
use vigil_simworld::time::{utc, DAY, S, T2026};
use vigil_simworld::{
    next_of, Board, Mains, NoisyLine, PiPower as Pi, Rng, Rtt, Schedule, Simulation, SntpServer,
    WindowCheck, WindowWatch,
};
use vigil_wire::{
    encode_frame, Decoded, EventAck, FrameDecoder, HaltConfirm, Header, Heartbeat, Message, Packet,
    Window, Windows, MAX_FRAME_LEN,
};

const HB_PERIOD: u64 = 5 * S;
const DEVICE: u32 = 1;

// ---- the simulated Pi ------------------------------------------------------------------

struct PiSide {
    state: Pi,
    next_hb: u64,
    hang_at: Option<u64>,
    ignore_notices: bool,
    confirm_at: Option<(u64, i64)>,
    windows_acked: bool,
    next_push: u64,
    seq: u32,
    decoder: FrameDecoder,
    last_hb_sent: Option<u64>,
    /// The log: board events by (device, boot, seq).
    log: BTreeMap<(u32, u32, u32), Message>,
    duplicates: u64,
    to_board: Vec<u8>,
}

impl PiSide {
    fn heartbeating(&self) -> bool {
        self.state == Pi::Running
    }

    fn listening(&self) -> bool {
        self.state == Pi::Running
    }

    fn send(&mut self, message: impl Into<Message>) {
        self.seq += 1;
        let p = Packet::new(
            Header {
                device: DEVICE,
                boot: 9,
                seq: self.seq,
            },
            message,
        );
        let mut buf = [0u8; MAX_FRAME_LEN];
        if let Ok(n) = encode_frame(&p, &mut buf) {
            self.to_board.extend_from_slice(&buf[..n]);
        }
    }
}

// ---- the world -------------------------------------------------------------------------

/// Fault times of this simulation (the mains keeps its own).
struct Faults {
    link_cut: u64,
    board_reboot: u64,
    net_toggle: u64,
    stall: u64,
    maintenance: u64,
}

struct Stats {
    windows_checked: u64,
    handshakes: u64,
    hard_deadline_cuts: u64,
    link_cuts: u64,
    mains_losses: u64,
    board_reboots: u64,
    stalls: u64,
    sntp_glitches: u64,
    garbled_bytes: u64,
    dropped_events: u64,
    events: u64,
    max_clock_error_us: i64,
}

struct Sim {
    rng: Rng,
    t: u64,
    schedule: Schedule,
    board: Board,
    crystal_ppb: i64,
    board_down_until: Option<u64>,
    stalled_until: u64,
    mains: Mains,
    sntp: SntpServer,
    line: NoisyLine,
    next_cut_len: Option<u64>,
    relay: bool,
    override_on: bool,
    override_until: u64,
    pi: PiSide,
    windows: WindowWatch,
    faults: Faults,
    stats: Stats,
}

impl Sim {
    fn new(seed: u64, cfg: Config, until: u64) -> Self {
        let mut rng = Rng(seed);
        let schedule = Schedule::random(&mut rng, until + 8 * DAY);
        let link_cut = rng.exp(30 * DAY);
        let mains = Mains::new(&mut rng, 20 * DAY);
        let faults = Faults {
            link_cut,
            board_reboot: rng.exp(9 * DAY),
            net_toggle: rng.exp(12 * DAY),
            stall: rng.exp(2 * DAY),
            maintenance: rng.exp(45 * DAY),
        };
        let mut sim = Sim {
            rng,
            t: 0,
            schedule,
            board: Board::new(cfg),
            crystal_ppb: 0,
            board_down_until: None,
            stalled_until: 0,
            mains,
            sntp: SntpServer::new(Rtt::RandomMs(2, 80)),
            line: NoisyLine::new(1e-3),
            next_cut_len: None,
            relay: false,
            // installation: the technician holds the override for half an hour
            override_on: true,
            override_until: 30 * 60 * S,
            pi: PiSide {
                state: Pi::Off,
                next_hb: 0,
                hang_at: None,
                ignore_notices: false,
                confirm_at: None,
                windows_acked: false,
                next_push: 0,
                seq: 0,
                decoder: FrameDecoder::new(),
                last_hb_sent: None,
                log: BTreeMap::new(),
                duplicates: 0,
                to_board: Vec::new(),
            },
            windows: WindowWatch::default(),
            faults,
            stats: Stats {
                windows_checked: 0,
                handshakes: 0,
                hard_deadline_cuts: 0,
                link_cuts: 0,
                mains_losses: 0,
                board_reboots: 0,
                stalls: 0,
                sntp_glitches: 0,
                garbled_bytes: 0,
                dropped_events: 0,
                events: 0,
                max_clock_error_us: 0,
            },
        };
        sim.crystal_ppb = sim.rng.range(0, 100_000) as i64 - 50_000;
        sim.boot_board();
        sim
    }

    fn mono(&self) -> u64 {
        self.board.mono(self.t)
    }

    fn boot_board(&mut self) {
        // the crystal's own error plus a little temperature wander per boot
        let drift = self.crystal_ppb + self.rng.range(0, 2_000) as i64 - 1_000;
        self.stalled_until = 0;
        let outs = self.board.boot(self.t, drift);
        self.perform(outs);
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

    fn update_pi_power(&mut self) {
        let powered = self.mains.on && self.relay;
        match (powered, self.pi.state) {
            (false, Pi::Off) | (true, Pi::Booting { .. }) => {}
            (false, _) => self.pi.state = Pi::Off,
            (true, Pi::Off) => {
                let boot = self.rng.range(20, 90) * S;
                self.pi.state = Pi::Booting {
                    ready_at: self.t + boot,
                };
                self.pi.decoder = FrameDecoder::new();
                self.pi.hang_at = if self.rng.chance(0.03) {
                    Some(self.t + boot + self.rng.range(10, 1800) * S)
                } else {
                    None
                };
                self.pi.ignore_notices = self.rng.chance(0.02);
            }
            (true, _) => {}
        }
    }

    /// Whether the Pi heartbeats as far as the board can know: it runs, and the serial cable
    /// has been connected for two heartbeat periods (a cut cable silences any Pi).
    fn heartbeats_reach_board(&self) -> bool {
        self.pi.heartbeating() && self.t >= self.line.cut_until + 2 * HB_PERIOD
    }

    /// Property 1, at a board-commanded cut.
    fn check_cut(&mut self) {
        let c = self.board.controller().expect("only a live board cuts");
        let deadline_passed = self.board.deadline_passed(self.t);
        if self.heartbeats_reach_board() && !deadline_passed {
            panic!(
                "property 1: power cut at t={} s (board {} s since boot) while the Pi \
                 heartbeats unconfirmed (last sent at {:?} s; notice at {:?}; status {:?}; \
                 stalled until {} s; link cut until {} s; last event {:?})",
                self.t / S,
                self.mono() / S,
                self.pi.last_hb_sent.map(|t| t / S),
                self.board.first_notice.map(|n| n / S),
                c.status(self.mono()),
                self.stalled_until / S,
                self.line.cut_until / S,
                c.events().last()
            );
        }
        if let Pi::ShuttingDown { halted_at } = self.pi.state {
            assert!(
                deadline_passed,
                "property 1: power cut at t={} s while the Pi is still halting (done at {} s)",
                self.t / S,
                halted_at / S
            );
        }
        if deadline_passed && self.heartbeats_reach_board() {
            self.stats.hard_deadline_cuts += 1;
        }
    }

    fn perform(&mut self, outs: Vec<Output>) {
        // register what the ring holds before anything it holds reaches the Pi
        self.track_events();
        for o in outs {
            match o {
                Output::Relay(on) => self.set_relay(on),
                Output::Sntp(req) => self.sntp(req),
                Output::Send(p) => {
                    if let Message::HaltNotice(_) = p.message {
                        if self.board.notice_sent(self.t) {
                            self.stats.handshakes += 1;
                        }
                    }
                    let mut buf = [0u8; MAX_FRAME_LEN];
                    if let Ok(n) = encode_frame(&p, &mut buf) {
                        if self.pi.listening() {
                            let bytes = self.line.carry(&mut self.rng, self.t, &buf[..n]);
                            let mut got = Vec::new();
                            self.pi.decoder.feed_all(&bytes, |d| got.push(d));
                            for d in got {
                                if let Decoded::Packet(p) = d {
                                    self.pi_receive(p);
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    fn sntp(&mut self, req: [u8; 48]) {
        if let Some((reply, rtt)) = self.sntp.answer(&mut self.rng, self.t, &req) {
            let now = self.mono() + rtt;
            self.board_input(now, Input::Sntp(&reply));
        }
    }

    fn board_input(&mut self, now: u64, input: Input<'_>) {
        let outs = self.board.handle(now, input);
        self.perform(outs);
    }

    fn pi_receive(&mut self, p: Packet) {
        if p.header.device != DEVICE {
            return;
        }
        match p.message {
            ref m if m.kind().is_board_event() => {
                let key = (p.header.device, p.header.boot, p.header.seq);
                match self.pi.log.get(&key) {
                    Some(prev) => {
                        assert_eq!(prev, m, "property 3: two contents for board event {key:?}");
                        self.pi.duplicates += 1;
                    }
                    None => {
                        let id = EventId {
                            boot: key.1,
                            seq: key.2,
                        };
                        assert!(
                            self.board.ring.generated.contains_key(&id),
                            "property 3: the Pi logged {key:?}, which the board never generated"
                        );
                        self.pi.log.insert(key, m.clone());
                    }
                }
                self.pi.send(EventAck {
                    boot: p.header.boot,
                    seq: p.header.seq,
                });
            }
            Message::HaltNotice(n) if !self.pi.ignore_notices && self.pi.confirm_at.is_none() => {
                let prep = self.rng.range(0, 20) * S;
                self.pi.confirm_at = Some((self.t + prep, n.window_end_us));
            }
            Message::WindowsAck(_) => self.pi.windows_acked = true,
            _ => {}
        }
    }

    fn push_windows(&mut self) {
        let now = self.t;
        let mut ws = vigil_wire::heapless::Vec::<Window, { vigil_wire::MAX_WINDOWS }>::new();
        for &(s, e) in self
            .schedule
            .0
            .iter()
            .filter(|(_, e)| *e > now && *e <= now + 7 * DAY)
        {
            if ws
                .push(Window {
                    start_us: utc(s),
                    end_us: utc(e),
                })
                .is_err()
            {
                break;
            }
        }
        let mut digest = [0u8; 32];
        digest[..8].copy_from_slice(&now.to_le_bytes());
        self.pi.send(Windows {
            digest,
            windows: ws,
        });
        self.pi.windows_acked = false;
        self.pi.next_push = now + 30 * S;
    }

    /// Property 3 bookkeeping (see [`vigil_simworld::RingWatch`]).
    fn track_events(&mut self) {
        let log = &self.pi.log;
        self.board
            .track(|boot, seq| log.contains_key(&(DEVICE, boot, seq)));
    }

    /// After the faults: mains on, network up, a maintenance visit long enough for the Pi to
    /// deliver everything the board holds.
    fn drain(&mut self) {
        self.line.cut_until = 0;
        self.faults = Faults {
            link_cut: u64::MAX,
            board_reboot: u64::MAX,
            net_toggle: u64::MAX,
            stall: u64::MAX,
            maintenance: u64::MAX,
        };
        self.mains.next_loss = u64::MAX;
        self.line.noise = 0.0;
        if !self.mains.on {
            self.mains.on = true;
            self.update_pi_power();
            self.boot_board();
        }
        if !self.board.is_up() {
            self.board_down_until = None;
            self.boot_board();
        }
        self.sntp.net_up = true;
        self.override_on = true;
        self.override_until = u64::MAX;
        self.pi.hang_at = None;
        self.pi.ignore_notices = false;
        if !matches!(self.pi.state, Pi::Running | Pi::Booting { .. }) {
            // the technician restarts a stuck or halted Pi by hand
            self.pi.state = Pi::Off;
            self.update_pi_power();
        }
        self.settle(30 * 60 * S);
    }

    fn verify_delivery(&mut self) {
        let c = self.board.controller().expect("board up after drain");
        let st = c.status(self.mono());
        self.stats.dropped_events = st.events_dropped;
        let ring = &self.board.ring;
        let mut missing = Vec::new();
        for (id, ev) in &ring.generated {
            if matches!(ev, BoardEvent::EventsDropped { .. }) {
                continue; // the marker: checked below against the counted drops
            }
            if !self.pi.log.contains_key(&(DEVICE, id.boot, id.seq)) {
                missing.push(*id);
            }
        }
        let held_real = c
            .events()
            .filter(|e| !matches!(e.event, BoardEvent::EventsDropped { .. }))
            .count();
        assert_eq!(
            held_real,
            0,
            "property 3: events still undelivered after the drain: {:?}",
            c.events().collect::<Vec<_>>()
        );
        for id in &missing {
            assert!(
                ring.vanished.contains(id),
                "property 3: event {id:?} never reached the Pi and was not dropped"
            );
        }
        assert!(
            missing.len() as u64 <= st.events_dropped,
            "property 3: {} events missing, only {} drops counted",
            missing.len(),
            st.events_dropped
        );
        // markers are logged too (kind 36): count the events they stand for separately
        let logged = self
            .pi
            .log
            .values()
            .filter(|m| !matches!(m, Message::EventsDropped(_)))
            .count() as u64;
        let real = ring
            .generated
            .values()
            .filter(|e| !matches!(e, BoardEvent::EventsDropped { .. }))
            .count() as u64;
        assert_eq!(logged + missing.len() as u64, real);
    }
}

impl Simulation for Sim {
    fn time(&mut self) -> &mut u64 {
        &mut self.t
    }

    /// The step to take: fine while anything happens, coarse while all sleeps.
    fn step_len(&self) -> u64 {
        let busy = self.relay
            || self.override_on
            || self.pi.state != Pi::Off
            || !self.board.is_idle(self.t);
        let f = &self.faults;
        let next_fault = next_of(&[
            self.mains.next_loss,
            f.link_cut,
            f.board_reboot,
            f.net_toggle,
            f.stall,
            f.maintenance,
        ]);
        self.schedule.step_len(self.t, busy, next_fault)
    }

    fn faults(&mut self) {
        let t = self.t;
        if self.mains.fails(&mut self.rng, t) {
            self.board.kill();
            self.board_down_until = None;
            self.update_pi_power();
        }
        if self.mains.returns(t) {
            self.update_pi_power();
            self.boot_board();
        }
        if t >= self.faults.board_reboot {
            self.faults.board_reboot = t + self.rng.exp(9 * DAY);
            if self.board.is_up() {
                self.stats.board_reboots += 1;
                self.board.kill();
                self.board_down_until = Some(t + self.rng.range(1, 5) * S);
            }
        }
        if self.board_down_until.is_some_and(|u| t >= u) && self.mains.on {
            self.board_down_until = None;
            self.boot_board();
        }
        if t >= self.faults.link_cut {
            self.stats.link_cuts += 1;
            let len = match self.next_cut_len.take() {
                Some(l) => l,
                None => self.rng.range(3_600, 5 * 86_400) * S,
            };
            self.line.cut_until = t + len;
            self.faults.link_cut = self.line.cut_until + self.rng.exp(30 * DAY);
        }
        if t >= self.faults.net_toggle {
            self.sntp.net_up = !self.sntp.net_up;
            self.faults.net_toggle = if self.sntp.net_up {
                t + self.rng.exp(12 * DAY)
            } else {
                t + self.rng.range(60, 3 * 86_400) * S
            };
        }
        if t >= self.faults.stall {
            self.faults.stall = t + self.rng.exp(2 * DAY);
            self.stats.stalls += 1;
            self.stalled_until = t + self.rng.range(2, 60) * S;
        }
        if t >= self.faults.maintenance {
            self.faults.maintenance = t + self.rng.exp(45 * DAY);
            self.override_on = true;
            self.override_until = t + self.rng.range(1_800, 3 * 3_600) * S;
        }
        if self.override_on && t >= self.override_until {
            self.override_on = false;
        }
    }

    /// The Pi's own progress and what it sends this step.
    fn run_pi(&mut self) {
        match self.pi.state {
            Pi::Booting { ready_at } if self.t >= ready_at => {
                self.pi.state = Pi::Running;
                self.pi.next_hb = self.t;
                self.pi.confirm_at = None;
                self.push_windows();
            }
            Pi::Running => {
                if self.pi.hang_at.is_some_and(|h| self.t >= h) {
                    self.pi.state = Pi::Hung;
                    self.pi.to_board.clear();
                    return;
                }
                if let Some((at, window_end_us)) = self.pi.confirm_at {
                    if self.t >= at {
                        // Confirm twice, then the supervisor exits and the OS halts.
                        self.pi.send(HaltConfirm { window_end_us });
                        self.pi.send(HaltConfirm { window_end_us });
                        self.pi.confirm_at = None;
                        self.pi.state = Pi::ShuttingDown {
                            halted_at: self.t + self.rng.range(3, 12) * S,
                        };
                        return;
                    }
                }
                if !self.pi.windows_acked && self.t >= self.pi.next_push {
                    self.push_windows();
                }
                if self.t >= self.pi.next_hb {
                    self.pi.send(Heartbeat {
                        pi_utc_us: utc(self.t),
                    });
                    self.pi.next_hb = self.t + HB_PERIOD;
                    self.pi.last_hb_sent = Some(self.t);
                }
            }
            Pi::ShuttingDown { halted_at } if self.t >= halted_at => self.pi.state = Pi::Halted,
            _ => {}
        }
    }

    /// The board's step: bytes from the Pi, the override pin, a tick.
    fn run_board(&mut self) {
        let bytes = std::mem::take(&mut self.pi.to_board);
        if !self.board.is_up() || self.t < self.stalled_until {
            return; // lost in a dead or stalled UART
        }
        let now = self.mono();
        let bytes = self.line.carry(&mut self.rng, self.t, &bytes);
        for input in self.board.receive(&bytes) {
            self.board_input(now, input);
        }
        self.board_input(now, Input::Override(self.override_on));
        self.board_input(now, Input::Tick);
        if let (Some(e), Some(st)) = (self.board.utc_error(self.t), self.board.status(self.t)) {
            // Synced within a day: a wrong SNTP reply (minutes to a day off) never got in.
            if st.sync == vigil_esp32_power::clock::SyncState::Synced {
                assert!(
                    e.abs() < 5_000_000,
                    "board clock off by {e} µs at t={} s",
                    self.t / S
                );
                self.stats.max_clock_error_us = self.stats.max_clock_error_us.max(e.abs());
            }
        }
        self.board.after_step(self.t);
        self.track_events();
    }

    /// Property 2: the window containing `t`, once the board has time.
    fn check_window_start(&mut self) {
        let check = self.windows.check(
            &self.board,
            &self.schedule,
            self.t,
            self.mains.on,
            HB_PERIOD,
            self.stalled_until,
        );
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
        if !check.held() {
            let recent: Vec<_> = self
                .board
                .controller()
                .into_iter()
                .flat_map(|c| c.events().rev().take(6))
                .map(|e| (e.at.utc_us - T2026, e.event))
                .collect();
            panic!(
                "property 2: window {i} ({}–{} s) started, board has time since {} s (boot at \
                 {} s), relay off at {} s; previous window {:?}; {st:?}; recent events \
                 (µs since T2026) {recent:?}",
                start / S,
                end / S,
                synced_t / S,
                self.board.boot_t / S,
                self.t / S,
                i.checked_sub(1)
                    .and_then(|j| self.schedule.0.get(j))
                    .map(|w| (w.0 / S, w.1 / S)),
            );
        }
    }
}

fn sim_span() -> u64 {
    vigil_simworld::span(45)
}

fn seed() -> u64 {
    vigil_simworld::seed(0x5EED_2026)
}

fn run(cfg: Config, seed: u64) -> Stats {
    let span = sim_span();
    finish(Sim::new(seed, cfg, span), span)
}

fn finish(mut sim: Sim, span: u64) -> Stats {
    sim.run(span);
    sim.drain();
    sim.verify_delivery();
    let mut s = sim.stats;
    // what the world's parts counted
    s.mains_losses = sim.mains.losses;
    s.sntp_glitches = sim.sntp.jumps;
    s.garbled_bytes = sim.line.garbled;
    s.events = sim.board.ring.generated.len() as u64;
    eprintln!(
        "fault sim: {} days, max clock error {} µs, {} windows checked, {} handshakes, {} \
         hard-deadline cuts of a heartbeating Pi, {} serial cable cuts, {} mains losses, {} board reboots, {} stalls, {} SNTP jumps, {} \
         garbled bytes, {} board events ({} logged, {} dup deliveries), {} dropped",
        span / DAY,
        s.max_clock_error_us,
        s.windows_checked,
        s.handshakes,
        s.hard_deadline_cuts,
        s.link_cuts,
        s.mains_losses,
        s.board_reboots,
        s.stalls,
        s.sntp_glitches,
        s.garbled_bytes,
        s.events,
        sim.pi.log.len(),
        sim.pi.duplicates,
        s.dropped_events,
    );
    s
}

#[test]
fn years_of_faults_keep_the_three_properties() {
    let s = run(Config::default(), seed());
    // the run must have exercised what it claims to check
    assert!(s.windows_checked > 20, "{}", s.windows_checked);
    assert!(s.handshakes > 20);
    assert!(s.events > 100);
    assert!(s.garbled_bytes > 0);
}

#[test]
fn a_small_ring_overflows_and_counts_every_drop() {
    let cfg = Config {
        ring_capacity: 4,
        ..Config::default()
    };
    let span = sim_span();
    let mut sim = Sim::new(seed() ^ 0xA5A5, cfg, span);
    // the serial cable comes off on day 3 for two days while windows keep coming
    sim.faults.link_cut = 3 * DAY;
    sim.next_cut_len = Some(2 * DAY);
    let s = finish(sim, span);
    assert!(s.dropped_events > 0, "the small ring never overflowed");
}
