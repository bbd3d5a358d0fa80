//! The message catalogue: every kind both boards and the Pi exchange, in both directions.
//!
//! A [`Packet`] is what one frame carries: a [`Header`] (who sent it, in which boot, with which
//! sequence number) and a [`Message`] (the kind and its payload). The exact byte layout of every
//! payload is in `docs/wire.md`; the field order of each struct below is the order of its
//! MessagePack array.
//!
//! Kind numbers ([`Kind`]) are append-only: a new message takes a number never used before, a
//! number is never reused, and a changed payload layout bumps [`crate::PROTOCOL_VERSION`].

use heapless::Vec;

/// Wire protocol (body layout) version this crate speaks. A body with another version is
/// rejected ([`crate::RejectReason::Version`]).
pub const PROTOCOL_VERSION: u8 = 1;

/// Most windows one [`Windows`] message carries (7 days of a schedule with up to four windows
/// a day, plus slack).
pub const MAX_WINDOWS: usize = 32;

/// Rows of an MLX90640 frame.
pub const THERMAL_ROWS: usize = 24;
/// Columns of an MLX90640 frame.
pub const THERMAL_COLS: usize = 32;
/// Readings in one thermal frame (24 × 32).
pub const THERMAL_PIXELS: usize = THERMAL_ROWS * THERMAL_COLS;

/// Largest valid confidence or threshold in per mille.
pub const PERMILLE_MAX: u16 = 1000;

/// A 32-byte digest chosen by the Pi for a window list (BLAKE3 of the list); the ESP32 stores
/// it with the windows and echoes it, so the Pi knows which list the board holds.
pub type Digest = [u8; 32];

/// The header every frame carries: `[version, device, boot, seq, …]` of the body.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Header {
    /// Device id of the board the link is about. Board → Pi: the sender's own id. Pi → board:
    /// the addressed board's id (0 while the Pi does not know it yet; a board accepts 0 or
    /// its own id).
    pub device: u32,
    /// Boot id of the sender: changes at every power-up (boards) or supervisor start (Pi).
    pub boot: u32,
    /// Sender's sequence number within `boot`, incremented for every new frame it sends. A
    /// buffered board event keeps its seq when it is sent again, so `(device, boot, seq)`
    /// identifies a board event for deduplication and for [`EventAck`].
    pub seq: u32,
}

/// One decoded frame: header plus message.
#[derive(Clone, Debug, PartialEq)]
pub struct Packet {
    /// Who sent it, in which boot, with which seq.
    pub header: Header,
    /// The kind and its payload.
    pub message: Message,
}

impl Packet {
    /// A packet from its parts.
    pub fn new(header: Header, message: impl Into<Message>) -> Self {
        Packet {
            header,
            message: message.into(),
        }
    }
}

/// Which way a kind travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Sent by the Pi to a board.
    ToBoard,
    /// Sent by a board to the Pi.
    ToPi,
}

/// Which board a kind belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BoardScope {
    /// Used with every board.
    Any,
    /// Only with the ESP32 power controller.
    Power,
    /// Only with the Pico thermal sensor.
    Thermal,
}

macro_rules! kinds {
    ($( $(#[$doc:meta])* $name:ident = $num:literal, $dir:ident, $scope:ident, $label:literal; )*) => {
        /// The kind number of a message (the body's fifth element). Append-only.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum Kind {
            $( $(#[$doc])* $name = $num, )*
        }

        impl Kind {
            /// Every kind, in number order.
            pub const ALL: &'static [Kind] = &[$(Kind::$name,)*];

            /// The kind with this number, if known.
            pub fn from_u8(n: u8) -> Option<Kind> {
                match n {
                    $( $num => Some(Kind::$name), )*
                    _ => None,
                }
            }

            /// Which way this kind travels.
            pub fn direction(self) -> Direction {
                match self {
                    $( Kind::$name => Direction::$dir, )*
                }
            }

            /// Which board this kind belongs to.
            pub fn scope(self) -> BoardScope {
                match self {
                    $( Kind::$name => BoardScope::$scope, )*
                }
            }

            /// Stable snake_case name (used in logs, JSON and `docs/wire.md`).
            pub fn name(self) -> &'static str {
                match self {
                    $( Kind::$name => $label, )*
                }
            }
        }
    };
}

kinds! {
    /// Board → Pi, first frame after the board's link comes up: [`Hello`].
    Hello = 1, ToPi, Any, "hello";
    /// Pi → board, periodically: [`Heartbeat`].
    Heartbeat = 2, ToBoard, Any, "heartbeat";
    /// Pi → board: start of a clock-offset exchange, [`TimeRequest`].
    TimeRequest = 3, ToBoard, Any, "time_request";
    /// Board → Pi: answer to a [`TimeRequest`], [`TimeReply`].
    TimeReply = 4, ToPi, Any, "time_reply";
    /// Pi → board: board events up to `(boot, seq)` are durable, [`EventAck`].
    EventAck = 5, ToBoard, Any, "event_ack";
    /// Pi → ESP32: the next windows in UTC, [`Windows`].
    Windows = 16, ToBoard, Power, "windows";
    /// ESP32 → Pi: windows stored, [`WindowsAck`].
    WindowsAck = 17, ToPi, Power, "windows_ack";
    /// ESP32 → Pi: the window ended, halt now, [`HaltNotice`].
    HaltNotice = 18, ToPi, Power, "halt_notice";
    /// Pi → ESP32: the Pi is halting now, [`HaltConfirm`].
    HaltConfirm = 19, ToBoard, Power, "halt_confirm";
    /// ESP32 → Pi: periodic state of the controller, [`PowerStatus`].
    PowerStatus = 20, ToPi, Power, "power_status";
    /// ESP32 → Pi, board event: relay switched, [`PowerSwitched`].
    PowerSwitched = 32, ToPi, Power, "power_switched";
    /// ESP32 → Pi, board event: heartbeat watchdog power-cycled the Pi, [`WatchdogTripped`].
    WatchdogTripped = 33, ToPi, Power, "watchdog_tripped";
    /// ESP32 → Pi, board event: maintenance override changed, [`OverrideChanged`].
    OverrideChanged = 34, ToPi, Power, "override_changed";
    /// ESP32 → Pi, board event: SNTP synchronised, [`SntpSynced`].
    SntpSynced = 35, ToPi, Power, "sntp_synced";
    /// ESP32 → Pi, board event: the event ring overflowed and dropped its oldest entries,
    /// [`EventsDropped`].
    EventsDropped = 36, ToPi, Power, "events_dropped";
    /// Pico → Pi: one thermal frame, [`ThermalFrame`].
    ThermalFrame = 48, ToPi, Thermal, "thermal_frame";
    /// Pico → Pi: the Pico's classification of a frame, [`Detection`].
    Detection = 49, ToPi, Thermal, "detection";
    /// Pi → Pico: detection and streaming settings, [`PicoConfig`].
    PicoConfig = 50, ToBoard, Thermal, "pico_config";
    /// Pico → Pi: the settings now in force (echo of [`PicoConfig`]).
    PicoConfigAck = 51, ToPi, Thermal, "pico_config_ack";
}

impl Kind {
    /// The kind number on the wire.
    pub fn as_u8(self) -> u8 {
        self as u8
    }

    /// True for the ESP32's board events: buffered, re-sent until acked, deduplicated by
    /// `(device, boot, seq)`.
    pub fn is_board_event(self) -> bool {
        matches!(
            self,
            Kind::PowerSwitched
                | Kind::WatchdogTripped
                | Kind::OverrideChanged
                | Kind::SntpSynced
                | Kind::EventsDropped
        )
    }
}

/// Every message, one variant per [`Kind`].
///
/// Variants differ much in size (a [`ThermalFrame`] is about 1.5 KB): boards have no heap to
/// box them, so the enum is as large as its largest payload.
#[derive(Clone, Debug, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum Message {
    /// See [`Hello`].
    Hello(Hello),
    /// See [`Heartbeat`].
    Heartbeat(Heartbeat),
    /// See [`TimeRequest`].
    TimeRequest(TimeRequest),
    /// See [`TimeReply`].
    TimeReply(TimeReply),
    /// See [`EventAck`].
    EventAck(EventAck),
    /// See [`Windows`].
    Windows(Windows),
    /// See [`WindowsAck`].
    WindowsAck(WindowsAck),
    /// See [`HaltNotice`].
    HaltNotice(HaltNotice),
    /// See [`HaltConfirm`].
    HaltConfirm(HaltConfirm),
    /// See [`PowerStatus`].
    PowerStatus(PowerStatus),
    /// See [`PowerSwitched`].
    PowerSwitched(PowerSwitched),
    /// See [`WatchdogTripped`].
    WatchdogTripped(WatchdogTripped),
    /// See [`OverrideChanged`].
    OverrideChanged(OverrideChanged),
    /// See [`SntpSynced`].
    SntpSynced(SntpSynced),
    /// See [`EventsDropped`].
    EventsDropped(EventsDropped),
    /// See [`ThermalFrame`].
    ThermalFrame(ThermalFrame),
    /// See [`Detection`].
    Detection(Detection),
    /// Pi → Pico settings, see [`PicoConfig`].
    PicoConfig(PicoConfig),
    /// Pico → Pi echo of the settings in force, same payload as [`PicoConfig`].
    PicoConfigAck(PicoConfig),
}

impl Message {
    /// The kind of this message.
    pub fn kind(&self) -> Kind {
        match self {
            Message::Hello(_) => Kind::Hello,
            Message::Heartbeat(_) => Kind::Heartbeat,
            Message::TimeRequest(_) => Kind::TimeRequest,
            Message::TimeReply(_) => Kind::TimeReply,
            Message::EventAck(_) => Kind::EventAck,
            Message::Windows(_) => Kind::Windows,
            Message::WindowsAck(_) => Kind::WindowsAck,
            Message::HaltNotice(_) => Kind::HaltNotice,
            Message::HaltConfirm(_) => Kind::HaltConfirm,
            Message::PowerStatus(_) => Kind::PowerStatus,
            Message::PowerSwitched(_) => Kind::PowerSwitched,
            Message::WatchdogTripped(_) => Kind::WatchdogTripped,
            Message::OverrideChanged(_) => Kind::OverrideChanged,
            Message::SntpSynced(_) => Kind::SntpSynced,
            Message::EventsDropped(_) => Kind::EventsDropped,
            Message::ThermalFrame(_) => Kind::ThermalFrame,
            Message::Detection(_) => Kind::Detection,
            Message::PicoConfig(_) => Kind::PicoConfig,
            Message::PicoConfigAck(_) => Kind::PicoConfigAck,
        }
    }

    /// The board's timestamp of a board event (`None` for other kinds).
    pub fn board_event_time(&self) -> Option<BoardTime> {
        match self {
            Message::PowerSwitched(m) => Some(m.at),
            Message::WatchdogTripped(m) => Some(m.at),
            Message::OverrideChanged(m) => Some(m.at),
            Message::SntpSynced(m) => Some(m.at),
            Message::EventsDropped(m) => Some(m.at),
            _ => None,
        }
    }
}

macro_rules! from_payload {
    ($($ty:ident),*) => {
        $(impl From<$ty> for Message {
            fn from(m: $ty) -> Message {
                Message::$ty(m)
            }
        })*
    };
}
from_payload!(
    Hello,
    Heartbeat,
    TimeRequest,
    TimeReply,
    EventAck,
    Windows,
    WindowsAck,
    HaltNotice,
    HaltConfirm,
    PowerStatus,
    PowerSwitched,
    WatchdogTripped,
    OverrideChanged,
    SntpSynced,
    EventsDropped,
    ThermalFrame,
    Detection
);

/// A board's clock reading: UTC µs since the Unix epoch, and whether the clock was
/// synchronised (SNTP) when it was read. An unsynchronised board clock counts from whatever
/// it last knew (possibly 0 at power-up); the Pi must not trust it as UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct BoardTime {
    /// Board clock, UTC µs since 1970-01-01T00:00:00Z.
    pub utc_us: i64,
    /// Whether the board's clock was SNTP-synchronised at that moment.
    pub synced: bool,
}

/// What kind of board says hello.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BoardRole {
    /// The ESP32 power controller (wire value 1).
    Power,
    /// The Pico thermal sensor (wire value 2).
    Thermal,
}

impl BoardRole {
    /// Wire value.
    pub fn as_u8(self) -> u8 {
        match self {
            BoardRole::Power => 1,
            BoardRole::Thermal => 2,
        }
    }

    /// The role with this wire value.
    pub fn from_u8(n: u8) -> Option<BoardRole> {
        match n {
            1 => Some(BoardRole::Power),
            2 => Some(BoardRole::Thermal),
            _ => None,
        }
    }

    /// Stable name: `power`, `thermal`.
    pub fn name(self) -> &'static str {
        match self {
            BoardRole::Power => "power",
            BoardRole::Thermal => "thermal",
        }
    }
}

/// A firmware version `major.minor.patch`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct FirmwareVersion {
    /// Major.
    pub major: u8,
    /// Minor.
    pub minor: u8,
    /// Patch.
    pub patch: u8,
}

/// Board → Pi, kind 1: the first frame a board sends when its link comes up (and again when
/// the Pi has been silent for a while), so the Pi learns who is there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Hello {
    /// Which board.
    pub role: BoardRole,
    /// Highest wire protocol version the firmware speaks.
    pub protocol: u8,
    /// Firmware version.
    pub firmware: FirmwareVersion,
    /// Board clock when the hello was sent.
    pub time: BoardTime,
    /// Milliseconds since the board powered up.
    pub uptime_ms: u64,
}

/// Pi → board, kind 2: the Pi is alive. The ESP32's watchdog power-cycles a Pi that stops
/// sending these inside a window (unless it confirmed halting).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Heartbeat {
    /// Pi clock when sent, UTC µs.
    pub pi_utc_us: i64,
}

/// Pi → board, kind 3: start of an NTP-style clock-offset exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TimeRequest {
    /// t1: Pi clock when the request was sent, UTC µs.
    pub t1_us: i64,
}

/// Board → Pi, kind 4: answer to a [`TimeRequest`]. With t4 = Pi clock at reception, the Pi
/// computes offset = ((t2 − t1) + (t3 − t4)) / 2 (board minus Pi) and
/// round trip = (t4 − t1) − (t3 − t2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TimeReply {
    /// t1 echoed from the request.
    pub t1_us: i64,
    /// t2: board clock when the request arrived, UTC µs.
    pub t2_us: i64,
    /// t3: board clock when the reply was sent, UTC µs.
    pub t3_us: i64,
    /// Whether the board's clock is SNTP-synchronised.
    pub synced: bool,
    /// The correction the board's last SNTP sync applied, µs (`None` when never synced).
    pub sntp_offset_us: Option<i64>,
}

/// Pi → board, kind 5: every board event of this board with `(boot, seq)` less than or equal
/// to the pair given (lexicographic order) is durable in the Pi's log; the board may delete
/// those from its buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EventAck {
    /// Board boot id of the newest durable event.
    pub boot: u32,
    /// Board seq of the newest durable event.
    pub seq: u32,
}

/// One scheduled power window in UTC: power on at `start_us`, halt handshake at `end_us`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Window {
    /// Start, UTC µs. Strictly less than `end_us`.
    pub start_us: i64,
    /// End, UTC µs.
    pub end_us: i64,
}

/// Pi → ESP32, kind 16: the upcoming windows, already resolved to UTC, sorted by start and
/// non-overlapping (each start ≥ the previous end). Replaces whatever list the board held.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Windows {
    /// Digest of this list, chosen by the Pi (BLAKE3); echoed in [`WindowsAck`] and
    /// [`PowerStatus`].
    pub digest: Digest,
    /// At most [`MAX_WINDOWS`] windows.
    pub windows: Vec<Window, MAX_WINDOWS>,
}

impl Windows {
    /// Whether the list is well-formed: every window has `start_us < end_us`, and windows are
    /// sorted and do not overlap. The decoder rejects a list that is not.
    pub fn is_well_formed(&self) -> bool {
        windows_well_formed(&self.windows)
    }
}

/// Whether windows are each non-empty, sorted and non-overlapping.
pub(crate) fn windows_well_formed(ws: &[Window]) -> bool {
    ws.iter().all(|w| w.start_us < w.end_us)
        && ws.windows(2).all(|p| match p {
            [a, b] => a.end_us <= b.start_us,
            _ => true,
        })
}

/// ESP32 → Pi, kind 17: the board stored (persisted) a [`Windows`] list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct WindowsAck {
    /// The digest of the list now stored.
    pub digest: Digest,
    /// How many windows it holds.
    pub count: u8,
}

/// ESP32 → Pi, kind 18: the current window ended; the Pi should halt and answer with
/// [`HaltConfirm`]. Re-sent until confirmed or the deadline passes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HaltNotice {
    /// Start of the window that ended, UTC µs (0 when the board has no window, e.g. an
    /// override ended outside any window).
    pub window_start_us: i64,
    /// End of that window, UTC µs (0 likewise).
    pub window_end_us: i64,
    /// Hard deadline: power is cut then whatever the Pi does, UTC µs (board clock).
    pub deadline_us: i64,
}

/// Pi → ESP32, kind 19: the Pi is halting now; heartbeats stop, and the board cuts power
/// after its grace period.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HaltConfirm {
    /// `window_end_us` of the [`HaltNotice`] this answers; 0 for a halt the Pi started on
    /// its own (operator), which the board must not treat as a hung Pi.
    pub window_end_us: i64,
}

/// ESP32 → Pi, kind 20: the controller's state, sent after [`Hello`] and then periodically.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PowerStatus {
    /// Relay state: true while the Pi is powered.
    pub relay_on: bool,
    /// Maintenance override input active.
    pub override_active: bool,
    /// Windows stored.
    pub windows_count: u8,
    /// Digest of the stored window list (all zero when none was ever received).
    pub windows_digest: Digest,
    /// Board events buffered and not yet acked.
    pub pending_events: u32,
    /// Frames the board rejected since it powered up.
    pub rx_rejects: u32,
}

/// Why the ESP32 switched the relay. Wire values are append-only; an unknown value decodes as
/// [`PowerReason::Other`] so an older Pi still logs (and acks) a newer board's events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PowerReason {
    /// 1: a window started.
    WindowStart,
    /// 2: the Pi confirmed halting and the grace period passed.
    HaltConfirmed,
    /// 3: the hard deadline passed without a confirmed halt.
    HardDeadline,
    /// 4: the heartbeat watchdog power-cycled a silent Pi.
    Watchdog,
    /// 5: the maintenance override turned power on.
    Override,
    /// 6: the maintenance override ended outside a window.
    OverrideEnded,
    /// 7: the board powered up and restored the state its windows call for.
    BoardBoot,
    /// Any other wire value (from a newer firmware).
    Other(u8),
}

impl PowerReason {
    /// Wire value.
    pub fn as_u8(self) -> u8 {
        match self {
            PowerReason::WindowStart => 1,
            PowerReason::HaltConfirmed => 2,
            PowerReason::HardDeadline => 3,
            PowerReason::Watchdog => 4,
            PowerReason::Override => 5,
            PowerReason::OverrideEnded => 6,
            PowerReason::BoardBoot => 7,
            PowerReason::Other(n) => n,
        }
    }

    /// The reason for this wire value (never fails: unknown values become `Other`).
    pub fn from_u8(n: u8) -> PowerReason {
        match n {
            1 => PowerReason::WindowStart,
            2 => PowerReason::HaltConfirmed,
            3 => PowerReason::HardDeadline,
            4 => PowerReason::Watchdog,
            5 => PowerReason::Override,
            6 => PowerReason::OverrideEnded,
            7 => PowerReason::BoardBoot,
            other => PowerReason::Other(other),
        }
    }

    /// The text used in the `PowerSwitched` event's `reason` field: `window start`,
    /// `halt confirmed`, `hard deadline`, `watchdog`, `override`, `override ended`,
    /// `board boot`, `other` (for [`PowerReason::Other`], whose number the caller may append).
    pub fn as_str(self) -> &'static str {
        match self {
            PowerReason::WindowStart => "window start",
            PowerReason::HaltConfirmed => "halt confirmed",
            PowerReason::HardDeadline => "hard deadline",
            PowerReason::Watchdog => "watchdog",
            PowerReason::Override => "override",
            PowerReason::OverrideEnded => "override ended",
            PowerReason::BoardBoot => "board boot",
            PowerReason::Other(_) => "other",
        }
    }
}

/// ESP32 → Pi, kind 32, board event: the relay switched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PowerSwitched {
    /// Board clock when it happened.
    pub at: BoardTime,
    /// New relay state.
    pub on: bool,
    /// Why.
    pub reason: PowerReason,
}

/// ESP32 → Pi, kind 33, board event: the Pi stopped heartbeating inside a window and was
/// power-cycled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct WatchdogTripped {
    /// Board clock when it happened.
    pub at: BoardTime,
    /// Milliseconds since the last heartbeat.
    pub silent_ms: u64,
}

/// ESP32 → Pi, kind 34, board event: the maintenance override input changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OverrideChanged {
    /// Board clock when it happened.
    pub at: BoardTime,
    /// True while maintenance keeps the power on.
    pub active: bool,
}

/// ESP32 → Pi, kind 35, board event: the board synchronised its clock over SNTP.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SntpSynced {
    /// Board clock right after the correction.
    pub at: BoardTime,
    /// Correction applied, µs (server minus board).
    pub offset_us: i64,
    /// Round-trip delay of the SNTP exchange, µs.
    pub delay_us: i64,
    /// Server stratum (1–15).
    pub stratum: u8,
}

/// ESP32 → Pi, kind 36, board event: the board's event ring was full, so its oldest entries
/// were dropped before the Pi acked them. One marker counts every entry dropped since the
/// previous marker was delivered; the dropped events themselves are gone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EventsDropped {
    /// Board clock when the (latest) drop happened.
    pub at: BoardTime,
    /// Events dropped.
    pub count: u32,
}

/// Pico → Pi, kind 48: one MLX90640 frame.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ThermalFrame {
    /// The Pico's frame counter (wraps).
    pub frame: u32,
    /// 24 rows × 32 columns, row-major, hundredths of a degree Celsius.
    pub centi_c: [i16; THERMAL_PIXELS],
}

/// Classes of the thermal classifier; wire values match the training-file labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ThermalClass {
    /// 1: a person.
    Person,
    /// 2: a warm or cold object.
    Object,
    /// 3: nothing of note.
    Background,
}

impl ThermalClass {
    /// Every class, in the order of a model's outputs (and of the wire values 1, 2, 3).
    pub const ALL: [ThermalClass; 3] = [
        ThermalClass::Person,
        ThermalClass::Object,
        ThermalClass::Background,
    ];

    /// The model output index: 0 Person, 1 Object, 2 Background (the wire value − 1).
    pub fn index(self) -> usize {
        usize::from(self.as_u8() - 1)
    }

    /// The class for a model output index (0 Person, 1 Object, 2 Background).
    pub fn from_index(i: usize) -> Option<ThermalClass> {
        ThermalClass::ALL.get(i).copied()
    }

    /// Wire value (the training label).
    pub fn as_u8(self) -> u8 {
        match self {
            ThermalClass::Person => 1,
            ThermalClass::Object => 2,
            ThermalClass::Background => 3,
        }
    }

    /// The class with this wire value.
    pub fn from_u8(n: u8) -> Option<ThermalClass> {
        match n {
            1 => Some(ThermalClass::Person),
            2 => Some(ThermalClass::Object),
            3 => Some(ThermalClass::Background),
            _ => None,
        }
    }

    /// Lowercase name, as in the event catalogue: `person`, `object`, `background`.
    pub fn name(self) -> &'static str {
        match self {
            ThermalClass::Person => "person",
            ThermalClass::Object => "object",
            ThermalClass::Background => "background",
        }
    }
}

impl core::fmt::Display for ThermalClass {
    /// The lowercase [`name`](ThermalClass::name).
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// Pico → Pi, kind 49: the Pico's own classification of a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Detection {
    /// Frame counter of the classified frame.
    pub frame: u32,
    /// Winning class.
    pub class: ThermalClass,
    /// Confidence of the winning class, 0–1000.
    pub confidence_permille: u16,
    /// Whether the person rule (threshold + hysteresis) holds after this frame (the LED).
    pub person_present: bool,
    /// Inference time on the Pico, µs.
    pub latency_us: u32,
}

/// When the Pico sends [`ThermalFrame`]s.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FrameMode {
    /// 0: never (detections only).
    Off,
    /// 1: every frame.
    FullRate,
    /// 2: only frames whose detection differs from the previous frame's (class or
    /// `person_present`).
    OnChange,
}

impl FrameMode {
    /// Wire value.
    pub fn as_u8(self) -> u8 {
        match self {
            FrameMode::Off => 0,
            FrameMode::FullRate => 1,
            FrameMode::OnChange => 2,
        }
    }

    /// The mode with this wire value.
    pub fn from_u8(n: u8) -> Option<FrameMode> {
        match n {
            0 => Some(FrameMode::Off),
            1 => Some(FrameMode::FullRate),
            2 => Some(FrameMode::OnChange),
            _ => None,
        }
    }

    /// Stable name: `off`, `full_rate`, `on_change`.
    pub fn name(self) -> &'static str {
        match self {
            FrameMode::Off => "off",
            FrameMode::FullRate => "full_rate",
            FrameMode::OnChange => "on_change",
        }
    }
}

/// Pi → Pico, kind 50 (and Pico → Pi, kind 51, as the echo of what is in force): detection
/// and streaming settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PicoConfig {
    /// Person confidence needed to count a frame as a person, 0–1000 (default 900).
    pub threshold_permille: u16,
    /// Consecutive frames needed to raise or clear `person_present`, at least 1.
    pub hysteresis_frames: u8,
    /// When to stream frames.
    pub frame_mode: FrameMode,
}

impl Default for PicoConfig {
    fn default() -> Self {
        PicoConfig {
            threshold_permille: 900,
            hysteresis_frames: 3,
            frame_mode: FrameMode::FullRate,
        }
    }
}
