//! Test rig of the rule tests: a controller on a [`MemStorage`], a hand-moved
//! monotonic clock, an SNTP server (the simulated world's, `vigil-simworld`) and helpers to
//! talk as the Pi.

#![allow(dead_code)] // each test binary uses a different part of the rig

use vigil_esp32_power::sntp::PACKET_LEN;
use vigil_esp32_power::store::MemStorage;
use vigil_esp32_power::{Config, Controller, Input, Output};
use vigil_wire::{Digest, Header, Message, Packet, Window, Windows};

pub use vigil_simworld::sntp::reply as sntp_reply;
pub use vigil_simworld::time::{H, MIN, S, T2026};

/// A Pi-side packet for the board.
pub fn from_pi(seq: u32, message: impl Into<Message>) -> Packet {
    Packet::new(
        Header {
            device: 0,
            boot: 77,
            seq,
        },
        message,
    )
}

/// A window list message.
pub fn windows(ws: &[(i64, i64)], digest: Digest) -> Windows {
    let mut v = vigil_wire::heapless::Vec::new();
    for &(s, e) in ws {
        v.push(Window {
            start_us: s,
            end_us: e,
        })
        .expect("test lists fit");
    }
    Windows { digest, windows: v }
}

/// The rig.
pub struct Rig {
    /// The controller (taken out for reboots).
    pub c: Option<Controller<MemStorage>>,
    /// Monotonic µs since the current boot.
    pub now: u64,
    /// Every output since the last [`Rig::take`].
    pub out: Vec<Output>,
    /// The outstanding SNTP request.
    pub sntp_request: Option<[u8; PACKET_LEN]>,
    /// Relay state as last commanded.
    pub relay: bool,
    /// Configuration used at every boot.
    pub cfg: Config,
    /// UTC minus monotonic time of the reference clock (what the SNTP server answers).
    pub utc_base: i64,
    pi_seq: u32,
}

impl Rig {
    /// Boots a fresh board at monotonic 0 whose SNTP server reads `utc_at_boot`.
    pub fn new(cfg: Config, utc_at_boot: i64) -> Self {
        Self::with_storage(cfg, utc_at_boot, MemStorage::new())
    }

    /// Boots on the given storage.
    pub fn with_storage(cfg: Config, utc_at_boot: i64, store: MemStorage) -> Self {
        let mut rig = Rig {
            c: None,
            now: 0,
            out: Vec::new(),
            sntp_request: None,
            relay: false,
            cfg,
            utc_base: utc_at_boot,
            pi_seq: 0,
        };
        let mut outs = Vec::new();
        let c = Controller::boot(cfg, store, 0, &mut |o| outs.push(o));
        rig.c = Some(c);
        rig.absorb(outs);
        rig
    }

    /// The controller.
    pub fn c(&self) -> &Controller<MemStorage> {
        self.c.as_ref().expect("booted")
    }

    /// Reference UTC now.
    pub fn utc(&self) -> i64 {
        self.utc_base + self.now as i64
    }

    fn absorb(&mut self, outs: Vec<Output>) {
        for o in &outs {
            match o {
                Output::Relay(on) => self.relay = *on,
                Output::Sntp(r) => self.sntp_request = Some(*r),
                Output::Send(_) => {}
            }
        }
        self.out.extend(outs);
    }

    /// Feeds one input at the current time.
    pub fn input(&mut self, input: Input<'_>) {
        let now = self.now;
        let mut outs = Vec::new();
        if let Some(c) = self.c.as_mut() {
            c.handle(now, input, &mut |o| outs.push(o));
        }
        self.absorb(outs);
    }

    /// Moves time to `t` (monotonic) in ticks of at most `step`.
    pub fn run_to(&mut self, t: u64, step: u64) {
        while self.now < t {
            self.now = (self.now + step).min(t);
            self.input(Input::Tick);
        }
    }

    /// Moves time forward by `d` in 100 ms ticks.
    pub fn advance(&mut self, d: u64) {
        let t = self.now + d;
        self.run_to(t, S / 10);
    }

    /// Answers the outstanding SNTP request with the reference clock plus `error_us`.
    pub fn answer_sntp(&mut self, error_us: i64) -> bool {
        let Some(req) = self.sntp_request.take() else {
            return false;
        };
        let reply = sntp_reply(&req, self.utc() + error_us);
        self.input(Input::Sntp(&reply));
        true
    }

    /// First sync after boot: answers the outstanding request, waits for the confirming
    /// request (the board wants two agreeing replies) and answers it too. Takes ~8 s.
    pub fn sync(&mut self) {
        assert!(self.answer_sntp(0), "no SNTP request outstanding");
        let limit = self.now + 30 * S;
        while self.sntp_request.is_none() && self.now < limit {
            self.advance(S / 10);
        }
        assert!(self.answer_sntp(0), "no confirming SNTP request");
        assert!(self.c().status(self.now).utc_us.is_some(), "not synced");
    }

    /// Sends a message as the Pi.
    pub fn pi(&mut self, message: impl Into<Message>) {
        self.pi_seq += 1;
        let p = from_pi(self.pi_seq, message);
        self.input(Input::Packet(p));
    }

    /// Takes the outputs collected so far.
    pub fn take(&mut self) -> Vec<Output> {
        std::mem::take(&mut self.out)
    }

    /// Messages sent to the Pi so far (outputs are kept).
    pub fn sent(&self) -> Vec<Packet> {
        self.out
            .iter()
            .filter_map(|o| match o {
                Output::Send(p) => Some(p.clone()),
                _ => None,
            })
            .collect()
    }

    /// Reboots the board (RAM lost, storage kept) with the reference clock running on.
    pub fn reboot(&mut self) {
        let c = self.c.take().expect("booted");
        let store = c.into_storage();
        self.utc_base += self.now as i64;
        self.now = 0;
        self.sntp_request = None;
        let cfg = self.cfg;
        let mut outs = Vec::new();
        let c = Controller::boot(cfg, store, 0, &mut |o| outs.push(o));
        self.c = Some(c);
        self.absorb(outs);
    }
}
