//! The power actor's performer: runs the Pi's side of the protocol ([`PowerProtocol`]) on the
//! shell's performer thread. It sends through the board link ([`crate::link::ToBoard`]),
//! reads the board's control packets from an inbox the link forwards to, flushes the journal
//! before confirming a halt, runs the poweroff command, and starts the in-process ESP32
//! simulator when the core says the station has started.

use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use vigil_events::kinds::PoweroffRun;
use vigil_events::{NewEvent, Source, UtcMicros};
use vigil_sim::esp32::{Esp32Sim, Esp32SimHandle};
use vigil_wire::Message;

use super::core::PowerCommand;
use super::protocol::{PowerProtocol, Step};
use crate::core::Performer;
use crate::link::BoardPacket;

/// Sends a message to the board.
pub type ToBoard = Box<dyn FnMut(Message) + Send>;
/// Appends events now (before a flush) — the journal's `Append`.
pub type AppendNow = Box<dyn FnMut(Vec<NewEvent>) + Send>;
/// Makes everything appended so far durable; the error says why not.
pub type FlushNow = Box<dyn FnMut() -> Result<u64, String> + Send>;

/// An in-process simulator waiting for the station to start, or running.
#[derive(Debug, Default)]
pub enum SimBoard {
    /// No simulator (a real board).
    #[default]
    None,
    /// Started at the first `Connect`, on this pty master (and the kept slave).
    Pending(Box<(Esp32Sim, serialport::TTYPort, serialport::TTYPort)>),
    /// Running.
    Running(Esp32SimHandle),
}

/// The power performer. See the module docs.
pub struct PowerPerformer {
    protocol: PowerProtocol,
    to_board: ToBoard,
    append: AppendNow,
    flush: FlushNow,
    inbox: mpsc::Receiver<BoardPacket>,
    poweroff: Vec<String>,
    poll: Duration,
    sim: SimBoard,
    relay_seen: Option<bool>,
}

impl std::fmt::Debug for PowerPerformer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PowerPerformer")
            .field("protocol", &self.protocol)
            .field("poweroff", &self.poweroff)
            .field("poll", &self.poll)
            .field("sim", &self.sim)
            .finish_non_exhaustive()
    }
}

impl PowerPerformer {
    /// A performer running `protocol`, sending with `to_board`, reading control packets
    /// from `inbox`, appending and flushing through `append` and `flush`, and running
    /// `poweroff` (program and arguments) to halt; `poll` is how often it looks at the time.
    pub fn new(
        protocol: PowerProtocol,
        to_board: ToBoard,
        append: AppendNow,
        flush: FlushNow,
        inbox: mpsc::Receiver<BoardPacket>,
        poweroff: Vec<String>,
        poll: Duration,
    ) -> Self {
        PowerPerformer {
            protocol,
            to_board,
            append,
            flush,
            inbox,
            poweroff,
            poll,
            sim: SimBoard::None,
            relay_seen: None,
        }
    }

    /// Start this simulator at the first `Connect` and stop it at release.
    pub fn with_sim(mut self, sim: SimBoard) -> Self {
        self.sim = sim;
        self
    }

    /// The protocol state (tests, status).
    pub fn protocol(&self) -> &PowerProtocol {
        &self.protocol
    }

    fn start_sim(&mut self) {
        if let SimBoard::Pending(p) = std::mem::take(&mut self.sim) {
            let (sim, master, keep) = *p;
            match sim.spawn(master, Some(keep)) {
                Ok(h) => self.sim = SimBoard::Running(h),
                Err(e) => tracing::error!(error = %e, "the ESP32 simulator could not start"),
            }
        }
    }

    /// With the in-process simulator and `model_power`, the simulated Pi is powered exactly
    /// while the simulated relay is on: feed its changes to the protocol.
    fn observe_relay(&mut self, now: UtcMicros) -> Vec<Step> {
        if !self.protocol.settings().model_power {
            return Vec::new();
        }
        let SimBoard::Running(h) = &self.sim else {
            return Vec::new();
        };
        let relay = h.relay();
        if self.relay_seen == Some(relay) {
            return Vec::new();
        }
        self.relay_seen = Some(relay);
        self.protocol.board_power(now, relay)
    }

    fn observes_relay(&self) -> bool {
        self.protocol.settings().model_power && matches!(self.sim, SimBoard::Running(_))
    }

    fn run_poweroff(&mut self, now: UtcMicros) -> NewEvent {
        let command = self.poweroff.join(" ");
        let exit_code = match self.poweroff.split_first() {
            Some((program, args)) => match Command::new(program).args(args).status() {
                Ok(status) => status.code(),
                Err(e) => {
                    tracing::error!(%command, error = %e, "the poweroff command did not start");
                    None
                }
            },
            None => None,
        };
        tracing::info!(%command, ?exit_code, "poweroff command ran");
        NewEvent::new(now, Source::Power, PoweroffRun { command, exit_code })
    }

    fn execute(&mut self, steps: Vec<Step>, now: UtcMicros) -> Vec<NewEvent> {
        let mut events = Vec::new();
        for step in steps {
            match step {
                Step::Send(m) => (self.to_board)(m),
                Step::Append(e) => events.push(NewEvent::new(now, Source::Power, e)),
                Step::Flush => {
                    // What this step recorded so far must be in the flushed log too.
                    if !events.is_empty() {
                        (self.append)(std::mem::take(&mut events));
                    }
                    if let Err(why) = (self.flush)() {
                        tracing::error!(%why, "journal flush before the halt failed");
                    }
                }
                Step::Poweroff => {
                    let ran = self.run_poweroff(now);
                    events.push(ran);
                }
            }
        }
        events
    }
}

impl Performer for PowerPerformer {
    type Command = PowerCommand;

    fn perform(&mut self, cmd: PowerCommand, now: UtcMicros) -> Vec<NewEvent> {
        let steps = match cmd {
            PowerCommand::Connect => {
                self.start_sim();
                self.protocol.start(now)
            }
            PowerCommand::LinkUp => self.protocol.link_up(now),
            PowerCommand::LinkDown => self.protocol.link_down(now),
            PowerCommand::Push(list) => self.protocol.push(now, list.to_wire()),
            PowerCommand::Shutdown { window_end_us } => self.protocol.shutdown(now, window_end_us),
            // The simulated relay itself is watched (the board's report may come late).
            PowerCommand::BoardPower { .. } if self.observes_relay() => Vec::new(),
            PowerCommand::BoardPower { on } => self.protocol.board_power(now, on),
        };
        self.execute(steps, now)
    }

    fn poll_interval(&self) -> Option<Duration> {
        Some(self.poll)
    }

    fn poll(&mut self, now: UtcMicros) -> Vec<NewEvent> {
        let mut steps = self.observe_relay(now);
        while let Ok(p) = self.inbox.try_recv() {
            steps.extend(self.protocol.on_message(p.at, &p.packet.message));
        }
        steps.extend(self.protocol.tick(now));
        self.execute(steps, now)
    }

    fn release(&mut self, _now: UtcMicros) -> Vec<NewEvent> {
        if let SimBoard::Running(h) = std::mem::take(&mut self.sim) {
            h.stop();
        }
        Vec::new()
    }
}
