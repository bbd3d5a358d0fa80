//! The serial link to a board (the Pico and the ESP32 power controller): frames in, board
//! events into the log exactly once, replies and acks out. The link is an actor like the
//! others: a [`Core`](crate::core::Core) under the one shell ([`crate::shell::Shell`]).
//!
//! - [`actor`]: the link core ([`Link`]): primes from the journal's answer to its history
//!   query, and turns each committed board event into an ack command.
//! - [`performer`]: the port side ([`LinkPort`]) with a reader thread on the port, reconnects
//!   with backoff (`LinkDown` … `LinkUp`, the gap visible in the log), periodic `LinkStats`,
//!   a writer thread for Pi → board messages ([`ToBoard`] for the link's owner).
//! - [`core`]: the pure frame state machine the performer runs ([`LinkCore`]): identity by
//!   hello, deduplication of board events by `(device, boot, seq)`, rejects counted by reason,
//!   acks only for events the journal made durable.
//! - [`board`]: which wire messages become which events.
//! - [`port`]: opening ports (a path through `serialport`, or anything in tests).
//! - [`open`]: opening a board as the config says (simulator or device), for both boards.

pub mod actor;
pub mod board;
pub mod core;
pub mod open;
pub mod performer;
pub mod port;

pub use self::core::{reason, LinkAction, LinkCore, LinkCounters, LinkSpec};
pub use actor::{Link, LinkCommand, DEDUP_PRIMING};
pub use board::{board_event, board_kinds, PICO_ENGINE};
pub use open::{open_board, pi_boot, BoardPort, StationTime};
pub use performer::{BoardPacket, LinkPort, LinkTiming, ToBoard};
pub use port::{PortOpener, SerialPath};
