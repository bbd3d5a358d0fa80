//! The link as a [`Core`] under the one shell ([`crate::shell::Shell`]): what the link
//! derives from the log.
//!
//! The port side — bytes, hello, deduplication, heartbeats, `LinkUp`/`LinkDown`/`LinkStats` —
//! is the link's performer ([`super::LinkPort`], running the pure [`super::LinkCore`]); those
//! are observations of the port, never decisions. From the log the link needs two things, and
//! this core is exactly them:
//!
//! - **history**: at start, the origins of the board's last events ([`DEDUP_PRIMING`] of
//!   them), asked of the journal ([`Core::history`]), so that what a board re-sends after a Pi
//!   restart is not appended twice. The performer opens the port only once it has them
//!   ([`LinkCommand::Start`]).
//! - **durability**: each committed board event ([`LinkCommand::Durable`]), after which (and
//!   only after which) the performer acks it to the board.
//!
//! The link emits no decisions, so replay has nothing of it to check; it is replayable like
//! any core (replay drops its commands).

use vigil_events::{BoardOrigin, Envelope, EventKind, Source, UtcMicros};
use vigil_store::Query;
use vigil_wire::BoardRole;

use super::board::board_kinds;
use super::core::LinkSpec;
use crate::core::{Core, Intent};

/// Board events remembered from the log at start to keep board events exactly-once across
/// restarts of the Pi.
pub const DEDUP_PRIMING: usize = 4096;

/// What the link core asks of its performer.
#[derive(Debug, Clone, PartialEq)]
pub enum LinkCommand {
    /// Remember these origins (already in the log), then open the port.
    Start(Vec<BoardOrigin>),
    /// This board event is durable: ack it.
    Durable(BoardOrigin),
}

/// The link core. See the module docs.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    board: Source,
    owner: Source,
    role: BoardRole,
}

impl Link {
    /// The link core for a board of `spec`.
    pub fn new(spec: &LinkSpec) -> Self {
        Link::of(spec.board, spec.owner, spec.role)
    }

    /// The link core for the board `board` of `role`, owned by `owner` (for replay, which has
    /// no port).
    pub fn of(board: Source, owner: Source, role: BoardRole) -> Self {
        Link { board, owner, role }
    }
}

impl Core for Link {
    type Command = LinkCommand;

    fn source(&self) -> Source {
        self.owner
    }

    fn subscriptions(&self) -> &'static [EventKind] {
        board_kinds(self.role)
    }

    fn decisions(&self) -> &'static [EventKind] {
        &[]
    }

    fn history(&self) -> Option<Query> {
        Some(Query {
            source: Some(self.board),
            limit: DEDUP_PRIMING,
            backward: true,
            ..Query::default()
        })
    }

    fn on_history(&mut self, events: Vec<Envelope>) -> Vec<Intent<LinkCommand>> {
        let seen = events
            .iter()
            .filter(|e| e.source == self.board)
            .filter_map(|e| e.origin)
            .collect();
        vec![Intent::Do(LinkCommand::Start(seen))]
    }

    fn on_event(&mut self, env: &Envelope) -> Vec<Intent<LinkCommand>> {
        match env.origin {
            Some(o) if env.source == self.board => vec![Intent::Do(LinkCommand::Durable(o))],
            _ => Vec::new(),
        }
    }

    fn next_deadline(&self) -> Option<UtcMicros> {
        None
    }

    fn on_tick(&mut self, _now: UtcMicros) -> Vec<Intent<LinkCommand>> {
        Vec::new()
    }
}
