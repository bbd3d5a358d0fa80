//! Old schema versions, kept forever so that old logs stay readable. Each old payload type
//! converts into the current one. When a kind's layout changes: copy its current struct here as
//! `<Kind>V<n>`, bump the schema in the catalogue, add an arm to [`upcast`] and a fixture.

use serde::{Deserialize, Serialize};

use crate::kinds::{AuditQueried, WindowOpened};
use crate::{Event, EventKind};

/// `WindowOpened` as written by schema 1: no local times, no zone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WindowOpenedV1 {
    /// Window name.
    pub name: String,
    /// Resolved start, UTC µs.
    pub start_us: i64,
    /// Resolved end, UTC µs.
    pub end_us: i64,
}

impl From<WindowOpenedV1> for WindowOpened {
    fn from(v: WindowOpenedV1) -> Self {
        WindowOpened {
            name: v.name,
            start_us: v.start_us,
            end_us: v.end_us,
            local_start: String::new(),
            local_end: String::new(),
            timezone: String::new(),
        }
    }
}

/// `AuditQueried` as written by schema 1: the raw query string, answered queries only.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditQueriedV1 {
    /// `api` or `cli`.
    pub via: String,
    /// The query as the client gave it.
    pub query: String,
    /// Records returned.
    pub results: u64,
    /// Peer address or user, when known.
    pub client: String,
}

impl From<AuditQueriedV1> for AuditQueried {
    fn from(v: AuditQueriedV1) -> Self {
        AuditQueried {
            via: v.via,
            query: v.query,
            results: v.results,
            client: v.client,
            refused: None,
        }
    }
}

/// Decode an old version of `kind`'s payload into the current type; `None` when no such
/// version was ever written.
pub(crate) fn upcast(
    kind: EventKind,
    schema: u16,
    bytes: &[u8],
) -> Option<Result<Event, rmp_serde::decode::Error>> {
    match (kind, schema) {
        (EventKind::WindowOpened, 1) => Some(
            rmp_serde::from_slice::<WindowOpenedV1>(bytes)
                .map(|v| Event::WindowOpened(WindowOpened::from(v))),
        ),
        (EventKind::AuditQueried, 1) => Some(
            rmp_serde::from_slice::<AuditQueriedV1>(bytes)
                .map(|v| Event::AuditQueried(AuditQueried::from(v))),
        ),
        _ => None,
    }
}

/// Every old (kind, schema) ever written, with a sample payload encoded in that version.
/// The fixture test keeps a byte-exact copy of each.
pub fn old_versions() -> Vec<(EventKind, u16, Vec<u8>)> {
    let v1 = WindowOpenedV1 {
        name: "day".into(),
        start_us: 1_780_286_400_000_000,
        end_us: 1_780_331_400_000_000,
    };
    let audit_v1 = AuditQueriedV1 {
        via: "api".into(),
        query: "since=2026-06-01T00:00:00Z&kind=WindowOpened".into(),
        results: 3,
        client: "127.0.0.1:50412".into(),
    };
    vec![
        (
            EventKind::WindowOpened,
            1,
            rmp_serde::to_vec_named(&v1).expect("plain struct encodes"),
        ),
        (
            EventKind::AuditQueried,
            1,
            rmp_serde::to_vec_named(&audit_v1).expect("plain struct encodes"),
        ),
    ]
}
