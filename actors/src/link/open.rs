//! Opening a board, the one way both boards are opened (the Pico for the classifier, the ESP32
//! for the power actor): the port from the config (`"sim"` or a device path), the name the
//! link records for it, the Pi's boot id in link headers, and the station clock as the time
//! source of an in-process simulator.
//!
//! With `port = "sim"` a pseudo-terminal pair is opened; the link reads the slave's path
//! (shared, not exclusive) and the simulator gets the master (and keeps the slave open, so
//! the line does not hang up between the link's reconnects). A device path is opened
//! exclusively.
//!
//! # Troubleshooting
//!
//! - `pseudo-terminal: …` at start: the simulated station needs `/dev/ptmx` (a container
//!   without devpts cannot run it; point `port` at a real device or mount devpts).

use std::time::Duration;

use serialport::TTYPort;
use vigil_config::PortSpec;
use vigil_sim::{PtyPair, SimClock, SimError};

use super::port::SerialPath;
use crate::station_clock::StationClock;

/// The station clock as a simulator's time source.
#[derive(Debug, Clone, Copy)]
pub struct StationTime(pub StationClock);

impl SimClock for StationTime {
    fn now_us(&self) -> i64 {
        self.0.now()
    }
    fn real_until(&self, t_us: i64) -> Duration {
        self.0.real_until(t_us)
    }
}

/// The Pi's boot id in link headers: the start second (changes at every supervisor start).
pub fn pi_boot(clock: &StationClock) -> u32 {
    (clock.now().div_euclid(1_000_000) & 0xFFFF_FFFF) as u32
}

/// A board's port, opened as the config says.
#[derive(Debug)]
pub struct BoardPort {
    /// How the link opens (and reopens) the port.
    pub opener: SerialPath,
    /// The port's name in `LinkUp`/`LinkDown`/`LinkStats` (`sim:<pty>` for the simulator).
    pub name: String,
    /// For `port = "sim"`: the pty master for the simulator, and the slave it keeps open.
    pub sim_end: Option<(TTYPort, TTYPort)>,
}

/// Open the board port `port` at `baud`: a pseudo-terminal for an in-process simulator, or
/// the device path.
pub fn open_board(port: &PortSpec, baud: u32) -> Result<BoardPort, SimError> {
    Ok(match port {
        PortSpec::Sim => {
            let pair = PtyPair::open()?;
            let path = pair.path().display().to_string();
            BoardPort {
                opener: SerialPath {
                    path: path.clone(),
                    baud,
                    exclusive: false,
                },
                name: format!("sim:{path}"),
                sim_end: Some(pair.into_parts()),
            }
        }
        PortSpec::Device(d) => {
            let path = d.display().to_string();
            BoardPort {
                opener: SerialPath {
                    path: path.clone(),
                    baud,
                    exclusive: true,
                },
                name: path,
                sim_end: None,
            }
        }
    })
}
