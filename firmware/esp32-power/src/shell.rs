//! The thin I/O shell around [`Controller`]: a serial port (embedded-io), the relay output
//! and the override input (embedded-hal), the frame codec of vigil-wire. A board entry point
//! only has to build the peripherals, call [`Shell::poll`] in a loop with its monotonic
//! clock, and carry SNTP datagrams over UDP.
//!
//! # Troubleshooting
//!
//! - *The Pi never sees a frame*: check that the Pi's TXD goes to the board's RX and the
//!   Pi's RXD to the board's TX (crossed), that both sides use 115 200 baud 8N1, and that the
//!   grounds are joined. [`Status::rx_rejects`](crate::Status) rising steadily means noise or
//!   a baud-rate mismatch.
//! - *The relay clicks at every board reset*: a non-latching relay drops while the board
//!   resets; the controller re-asserts the persisted state within milliseconds of boot, but a
//!   latching relay (or a hold capacitor on the driver) keeps the Pi up through the reset.
//! - *Relay or pin errors*: [`ShellError::Pin`] is returned, the controller's decision is
//!   kept and the pin is driven again at every poll.

use embedded_hal::digital::{InputPin, OutputPin};
use embedded_io::{Read, ReadReady, Write};
use vigil_wire::{encode_frame, Decoded, FrameDecoder, MAX_FRAME_LEN};

use crate::controller::{Config, Controller, Input, Output};
use crate::sntp::PACKET_LEN;
use crate::store::Storage;

/// What went wrong talking to the hardware. The controller's state is never affected: a
/// failed write is retried by the controller's own resend logic, the relay is re-driven at
/// the next poll.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ShellError {
    /// The serial port failed; check wiring and the UART configuration.
    #[error("serial port error: {0:?}")]
    Uart(embedded_io::ErrorKind),
    /// The relay output or the override input failed.
    #[error("pin error: {0:?}")]
    Pin(embedded_hal::digital::ErrorKind),
    /// A packet did not fit a frame (a bug: every board message fits).
    #[error("a packet could not be encoded")]
    Encode,
}

fn uart_err(e: impl embedded_io::Error) -> ShellError {
    ShellError::Uart(e.kind())
}

fn pin_err(e: impl embedded_hal::digital::Error) -> ShellError {
    ShellError::Pin(e.kind())
}

/// Where the controller's outputs go (apart from the controller, so both can be borrowed).
#[derive(Debug)]
struct Io<U> {
    uart: U,
    relay_on: bool,
    sntp_out: Option<[u8; PACKET_LEN]>,
    tx_error: Option<ShellError>,
}

impl<U: Write> Io<U> {
    fn perform(&mut self, o: Output) {
        match o {
            Output::Relay(on) => self.relay_on = on,
            Output::Sntp(req) => self.sntp_out = Some(req),
            Output::Send(p) => {
                let mut frame = [0u8; MAX_FRAME_LEN];
                let res = match encode_frame(&p, &mut frame) {
                    Ok(n) => self.uart.write_all(&frame[..n]).map_err(uart_err),
                    Err(_) => Err(ShellError::Encode),
                };
                if let Err(e) = res {
                    self.tx_error.get_or_insert(e);
                }
            }
        }
    }
}

/// The controller wired to its peripherals.
#[derive(Debug)]
pub struct Shell<S: Storage, U, R, O> {
    core: Controller<S>,
    io: Io<U>,
    relay: R,
    override_pin: O,
    override_active_low: bool,
    decoder: FrameDecoder,
}

impl<S, U, R, O> Shell<S, U, R, O>
where
    S: Storage,
    U: Read + ReadReady + Write,
    R: OutputPin,
    O: InputPin,
{
    /// Boots the controller at monotonic time `now` and drives the relay to its restored
    /// state. `override_active_low`: the override switch pulls its input to ground.
    pub fn boot(
        cfg: Config,
        store: S,
        uart: U,
        relay: R,
        override_pin: O,
        override_active_low: bool,
        now: u64,
    ) -> Result<Self, ShellError> {
        let mut io = Io {
            uart,
            relay_on: false,
            sntp_out: None,
            tx_error: None,
        };
        let core = Controller::boot(cfg, store, now, &mut |o| io.perform(o));
        let mut shell = Shell {
            core,
            io,
            relay,
            override_pin,
            override_active_low,
            decoder: FrameDecoder::new(),
        };
        shell.drive_relay()?;
        shell.take_tx_error()?;
        Ok(shell)
    }

    /// One turn of the loop at monotonic time `now` (call at least every 100 ms): reads what
    /// the UART holds, samples the override, passes `sntp_reply` (a UDP datagram received
    /// since the last poll), runs the timers, writes frames, drives the relay. Returns the
    /// SNTP request to send by UDP, if one is due.
    pub fn poll(
        &mut self,
        now: u64,
        sntp_reply: Option<&[u8]>,
    ) -> Result<Option<[u8; PACKET_LEN]>, ShellError> {
        let mut buf = [0u8; 64];
        while self.io.uart.read_ready().map_err(uart_err)? {
            let n = self.io.uart.read(&mut buf).map_err(uart_err)?;
            if n == 0 {
                break;
            }
            let mut rest = &buf[..n];
            while !rest.is_empty() {
                let (decoded, r) = self.decoder.feed(rest);
                rest = r;
                match decoded {
                    Some(Decoded::Packet(p)) => self.input(now, Input::Packet(p)),
                    Some(Decoded::Rejected(_)) => self.input(now, Input::Rejected),
                    None => {}
                }
            }
        }
        if let Some(reply) = sntp_reply {
            self.input(now, Input::Sntp(reply));
        }
        let level = self.override_pin.is_high().map_err(pin_err)?;
        self.input(now, Input::Override(level != self.override_active_low));
        self.drive_relay()?;
        self.take_tx_error()?;
        Ok(self.io.sntp_out.take())
    }

    /// The controller (status, events, schedule).
    pub fn core(&self) -> &Controller<S> {
        &self.core
    }

    fn input(&mut self, now: u64, input: Input<'_>) {
        let io = &mut self.io;
        self.core.handle(now, input, &mut |o| io.perform(o));
    }

    fn drive_relay(&mut self) -> Result<(), ShellError> {
        if self.io.relay_on {
            self.relay.set_high().map_err(pin_err)
        } else {
            self.relay.set_low().map_err(pin_err)
        }
    }

    fn take_tx_error(&mut self) -> Result<(), ShellError> {
        match self.io.tx_error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}
