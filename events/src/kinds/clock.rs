//! Schedule windows and time sources.

use serde::{Deserialize, Serialize};

/// A scheduled window opened. Current schema: 2 (v1 lacked the local times and the zone).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WindowOpened {
    /// Window name from config.
    pub name: String,
    /// Resolved start, UTC µs.
    pub start_us: i64,
    /// Resolved end, UTC µs.
    pub end_us: i64,
    /// Start as RFC 3339 in the schedule's zone (empty when upcast from v1).
    pub local_start: String,
    /// End as RFC 3339 in the schedule's zone (empty when upcast from v1).
    pub local_end: String,
    /// IANA zone of the schedule (empty when upcast from v1).
    pub timezone: String,
}

/// A scheduled window closed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WindowClosed {
    /// Window name from config.
    pub name: String,
    /// Resolved start, UTC µs.
    pub start_us: i64,
    /// Resolved end, UTC µs.
    pub end_us: i64,
}

/// Which time source the station runs on, recorded at start and on change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimeSourceRecorded {
    /// `system`, `sim`, `esp32`, `sntp`.
    pub source: String,
    /// Free detail, e.g. the simulated start and rate.
    pub detail: String,
}

/// The wall clock moved against the monotonic clock by more than the tolerance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClockJumped {
    /// Wall time expected from the monotonic clock, UTC µs.
    pub expected_us: i64,
    /// Wall time observed, UTC µs.
    pub observed_us: i64,
    /// observed − expected, µs (negative: jumped back).
    pub jump_us: i64,
}
