//! Pseudo-terminal pairs: the simulator holds the master, the Pi side opens the slave's path
//! like any serial device.
//!
//! The pair's own slave handle is kept open for as long as the pair lives, so that the Pi side
//! can close and reopen the path without the master seeing a hang-up. Dropping the pair (or
//! the simulator that owns it) hangs the line up: the Pi side then reads an error, as when a
//! USB serial device is unplugged.

use std::path::{Path, PathBuf};

use serialport::{SerialPort, TTYPort};

use crate::pico::SimError;

/// A pseudo-terminal pair. See the module docs.
#[derive(Debug)]
pub struct PtyPair {
    master: TTYPort,
    slave: TTYPort,
    path: PathBuf,
}

impl PtyPair {
    /// Opens a new pair.
    pub fn open() -> Result<Self, SimError> {
        let (master, slave) = TTYPort::pair().map_err(SimError::Pty)?;
        let path = slave.name().map(PathBuf::from).ok_or_else(|| {
            SimError::Pty(serialport::Error::new(
                serialport::ErrorKind::Unknown,
                "the pseudo-terminal has no slave path",
            ))
        })?;
        Ok(PtyPair {
            master,
            slave,
            path,
        })
    }

    /// The path the Pi side opens (e.g. `/dev/pts/3`).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The master end (for the simulator) and the kept slave handle.
    pub fn into_parts(self) -> (TTYPort, TTYPort) {
        (self.master, self.slave)
    }
}
