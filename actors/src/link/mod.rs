//! The serial link to a board (the Pico now, the ESP32 power controller too): frames in,
//! board events into the log exactly once, replies and acks out.
//!
//! - [`core`]: the pure state machine ([`LinkCore`]): identity by hello, deduplication of
//!   board events by `(device, boot, seq)` (primed from the log at start), rejects counted by
//!   reason, acks only for events the journal made durable.
//! - [`shell`]: the actix actor ([`LinkShell`]) with a reader thread on the port, reconnects
//!   with backoff (`LinkDown` … `LinkUp`, the gap visible in the log), periodic `LinkStats`,
//!   a writer thread for Pi → board messages, and [`SendToBoard`] for the link's owner.
//! - [`board`]: which wire messages become which events.
//! - [`port`]: opening ports (a path through `serialport`, or anything in tests).

pub mod board;
pub mod core;
pub mod port;
pub mod shell;

pub use self::core::{reason, LinkAction, LinkCore, LinkCounters, LinkSpec};
pub use board::{board_event, board_kinds, PICO_ENGINE};
pub use port::{PortOpener, SerialPath};
pub use shell::{recent_origins, BoardPacket, LinkShell, LinkTiming, SendToBoard};
