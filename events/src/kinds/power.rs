//! The serial link to the ESP32 and power decisions. Board events (source `esp32`) carry a
//! [`crate::BoardOrigin`] with the board's own boot, seq and timestamp.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The serial link to a board came up (hello exchanged).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinkUp {
    /// Serial port path (or `sim`).
    pub port: String,
    /// Board's device id.
    pub device: u32,
    /// Board's boot id.
    pub boot: u32,
    /// Board firmware's wire protocol version.
    pub protocol: u8,
}

/// The serial link to a board went down.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinkDown {
    /// Serial port path.
    pub port: String,
    /// Why: `port vanished`, `no heartbeat`, ...
    pub reason: String,
    /// Next reconnect attempt in ms.
    pub retry_in_ms: u64,
}

/// Periodic link health: frame and reject counters since the link came up.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinkStats {
    /// Serial port path.
    pub port: String,
    /// Frames accepted.
    pub frames: u64,
    /// Rejected frames by reason (`crc`, `cobs`, `too_long`, `msgpack`, `version`, ...).
    pub rejects: BTreeMap<String, u64>,
    /// Reconnects since start.
    pub reconnects: u64,
}

/// Pi, ESP32 and SNTP time compared (the time-source audit).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClockOffsetMeasured {
    /// Pi time minus ESP32 time, µs (midpoint of the round trip).
    pub pi_minus_board_us: i64,
    /// Round-trip time of the exchange, µs.
    pub rtt_us: i64,
    /// Whether the board's clock is SNTP-synchronised.
    pub board_synced: bool,
    /// The board's last SNTP offset, µs, when synced.
    pub board_sntp_offset_us: Option<i64>,
}

/// The Pi pushed the next windows, resolved to UTC, to the ESP32.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WindowsPushed {
    /// Windows sent.
    pub count: u32,
    /// First start, UTC µs (0 when none).
    pub first_start_us: i64,
    /// Last end, UTC µs (0 when none).
    pub last_end_us: i64,
    /// BLAKE3 of the pushed list, hex (the board echoes it).
    pub digest: String,
}

/// Power decision: the Pi asks to be shut down (window closed, or operator).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShutdownRequested {
    /// Window that closed, or empty.
    pub window: String,
    /// Why.
    pub reason: String,
    /// Hard deadline after which the board cuts power anyway, UTC µs.
    pub deadline_us: i64,
}

/// The configured poweroff command ran.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PoweroffRun {
    /// Command line.
    pub command: String,
    /// Exit code (`None` when killed or not started).
    pub exit_code: Option<i32>,
}

/// Board event: the ESP32 switched the Pi's power.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PowerSwitched {
    /// New state of the relay.
    pub on: bool,
    /// `window start`, `halt confirmed`, `hard deadline`, `watchdog`, `override`, ...
    pub reason: String,
}

/// Board event: the Pi stopped heartbeating inside a window and was power-cycled.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WatchdogTripped {
    /// Milliseconds since the last heartbeat.
    pub silent_ms: u64,
}

/// Board event: the maintenance override input changed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OverrideChanged {
    /// True while maintenance keeps the power on.
    pub active: bool,
}

/// Board event: the ESP32 synchronised its clock over SNTP.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SntpSynced {
    /// Correction applied, µs.
    pub offset_us: i64,
    /// Round-trip delay, µs.
    pub delay_us: i64,
    /// Server stratum.
    pub stratum: u8,
}

/// Board event: the ESP32's event ring was full and dropped its oldest entries before the Pi
/// acked them; those events are lost, this marker counts them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventsDropped {
    /// Events dropped (since the previous marker).
    pub count: u32,
}

/// Buffered board events delivered after a reconnect were appended (and acked to the board).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BoardBacklogDelivered {
    /// Board device id.
    pub device: u32,
    /// Events appended.
    pub appended: u64,
    /// Duplicates dropped (already in the log).
    pub duplicates: u64,
}
