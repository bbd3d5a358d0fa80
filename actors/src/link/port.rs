//! Opening serial ports: a path through `serialport` (a UART, a USB CDC device, a pty), or
//! anything else that yields a port (tests).
//!
//! # Troubleshooting
//!
//! - `Permission denied`: the user running vigil must be in the `dialout` group (or the udev
//!   rules in `ops/` must grant the device).
//! - `Device or resource busy`: another program holds the port (ModemManager likes to probe
//!   new USB serial devices; disable it or exclude the device).
//! - `No such file or directory`: the board is unplugged, or the path changed; prefer the
//!   stable `/dev/serial/by-id/…` links. vigil keeps retrying with backoff.

use std::time::Duration;

use serialport::SerialPort;

/// Something that can open the link's port (again and again, after it was lost).
pub trait PortOpener: Send + 'static {
    /// Open the port; the error says why not, in words.
    fn open(&mut self) -> Result<Box<dyn SerialPort>, String>;
    /// The port's name for events and logs.
    fn name(&self) -> String;
}

/// A serial device by path, 8N1 at `baud`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialPath {
    /// Device path, e.g. `/dev/serial0` or `/dev/pts/3`.
    pub path: String,
    /// Baud rate (ignored by pseudo-terminals).
    pub baud: u32,
    /// Lock the port against other openers (TIOCEXCL and flock). Off for a pty whose other
    /// end is held by the simulator.
    pub exclusive: bool,
}

impl PortOpener for SerialPath {
    fn open(&mut self) -> Result<Box<dyn SerialPort>, String> {
        let port = serialport::new(&self.path, self.baud)
            .timeout(Duration::from_millis(50))
            .open_native()
            .map_err(|e| format!("{}: {e}", self.path))?;
        let mut port = port;
        if !self.exclusive {
            port.set_exclusive(false)
                .map_err(|e| format!("{}: {e}", self.path))?;
        }
        Ok(Box::new(port))
    }

    fn name(&self) -> String {
        self.path.clone()
    }
}
