//! The catalogue: every kind with its default class, current schema version and whether it is
//! audit-relevant. Append new kinds at the end; never reorder or remove (codes are stored).

use serde::Serialize;

use crate::kinds;
use crate::DataClass;

macro_rules! catalogue {
    ($( $(#[$doc:meta])* $kind:ident => class: $class:ident, schema: $schema:literal, audit: $audit:literal; )*) => {
        /// The kind of an event. The code (declaration order) is stored in index keys.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum EventKind {
            $( $(#[$doc])* $kind, )*
        }

        impl EventKind {
            /// Every kind, in code order.
            pub const ALL: &'static [EventKind] = &[$(EventKind::$kind,)*];

            /// The kind's name as stored and shown (`WindowOpened`).
            pub fn name(self) -> &'static str {
                match self { $(EventKind::$kind => stringify!($kind),)* }
            }

            /// Look a kind up by its name.
            pub fn from_name(name: &str) -> Option<Self> {
                match name { $(stringify!($kind) => Some(EventKind::$kind),)* _ => None }
            }

            /// The class events of this kind get unless config raises it.
            pub fn default_class(self) -> DataClass {
                match self { $(EventKind::$kind => DataClass::$class,)* }
            }

            /// The schema version new events of this kind are written with.
            pub fn current_schema(self) -> u16 {
                match self { $(EventKind::$kind => $schema,)* }
            }

            /// Audit-relevant kinds are kept at least 180 days, whatever retention says.
            pub fn is_audit(self) -> bool {
                match self { $(EventKind::$kind => $audit,)* }
            }

            /// Two-byte code, stable forever (used in index keys).
            pub fn code(self) -> u16 {
                self as u16
            }

            /// Inverse of [`EventKind::code`].
            pub fn from_code(code: u16) -> Option<Self> {
                Self::ALL.get(usize::from(code)).copied()
            }
        }

        /// A typed event payload: one variant per kind. Serializes as the bare payload.
        #[derive(Clone, Debug, PartialEq, Serialize)]
        #[serde(untagged)]
        pub enum Event {
            $( $(#[$doc])* $kind(kinds::$kind), )*
            /// A payload stored sealed (encrypted at rest), read without its encryption key.
            /// Not a kind of its own: [`Event::kind`] is the sealed payload's kind.
            Sealed(crate::SealedPayload),
        }

        impl Event {
            /// The kind of this payload.
            pub fn kind(&self) -> EventKind {
                match self {
                    $(Event::$kind(_) => EventKind::$kind,)*
                    Event::Sealed(s) => s.kind,
                }
            }

            /// Encode the payload alone (MessagePack map with field names). A sealed payload
            /// that was never opened has no clear bytes: it encodes as the string
            /// `<encrypted>` (the store refuses to append it).
            pub fn encode_payload(&self) -> Vec<u8> {
                // Encoding plain structs of strings, numbers and vectors into a Vec cannot
                // fail; an error here is a bug in a payload type, not bad input.
                let out = match self {
                    $(Event::$kind(p) => rmp_serde::to_vec_named(p),)*
                    Event::Sealed(p) => rmp_serde::to_vec_named(p),
                };
                out.expect("payload types always encode")
            }
        }

        $(
            impl From<kinds::$kind> for Event {
                fn from(p: kinds::$kind) -> Self { Event::$kind(p) }
            }
        )*

        /// Decode a payload written with the current schema of `kind`.
        pub(crate) fn decode_current(kind: EventKind, bytes: &[u8]) -> Result<Event, rmp_serde::decode::Error> {
            Ok(match kind {
                $(EventKind::$kind => Event::$kind(rmp_serde::from_slice(bytes)?),)*
            })
        }
    };
}

catalogue! {
    /// Supervisor started.
    SupervisorStarted => class: Important, schema: 1, audit: true;
    /// Supervisor stopped cleanly.
    SupervisorStopped => class: Important, schema: 1, audit: true;
    /// Config loaded.
    ConfigLoaded => class: Important, schema: 1, audit: true;
    /// Config changed while running.
    ConfigChanged => class: Important, schema: 1, audit: true;
    /// Verification ran.
    VerificationRan => class: Important, schema: 1, audit: true;
    /// Retention ran.
    RetentionRan => class: Important, schema: 2, audit: true;
    /// Destruction record of a purge.
    RecordsDestroyed => class: Important, schema: 2, audit: true;
    /// Log exported.
    ExportMade => class: Important, schema: 1, audit: true;
    /// Export imported.
    ImportMade => class: Important, schema: 1, audit: true;
    /// Backup written.
    BackupMade => class: Important, schema: 2, audit: true;
    /// Backup restored or test-restored.
    BackupRestored => class: Important, schema: 1, audit: true;
    /// Audit history queried through the API (answered or refused).
    AuditQueried => class: Important, schema: 2, audit: true;
    /// Synthetic load event.
    LoadGenerated => class: General, schema: 1, audit: false;
    /// Window opened.
    WindowOpened => class: Important, schema: 2, audit: true;
    /// Window closed.
    WindowClosed => class: Important, schema: 1, audit: true;
    /// Time source recorded.
    TimeSourceRecorded => class: Important, schema: 1, audit: true;
    /// Wall clock jumped.
    ClockJumped => class: Important, schema: 1, audit: true;
    /// Serial link up.
    LinkUp => class: General, schema: 1, audit: false;
    /// Serial link down.
    LinkDown => class: General, schema: 1, audit: false;
    /// Serial link counters.
    LinkStats => class: General, schema: 1, audit: false;
    /// Pi vs board vs SNTP time.
    ClockOffsetMeasured => class: Important, schema: 1, audit: true;
    /// Windows pushed to the ESP32.
    WindowsPushed => class: Important, schema: 1, audit: true;
    /// Shutdown requested.
    ShutdownRequested => class: Important, schema: 1, audit: true;
    /// Poweroff command ran.
    PoweroffRun => class: Important, schema: 1, audit: true;
    /// Board switched power.
    PowerSwitched => class: Important, schema: 1, audit: true;
    /// Board watchdog power-cycled the Pi.
    WatchdogTripped => class: Important, schema: 1, audit: true;
    /// Maintenance override changed.
    OverrideChanged => class: Important, schema: 1, audit: true;
    /// Board synchronised over SNTP.
    SntpSynced => class: General, schema: 1, audit: false;
    /// Buffered board events delivered.
    BoardBacklogDelivered => class: General, schema: 1, audit: false;
    /// Frame captured.
    FrameCaptured => class: General, schema: 1, audit: false;
    /// Shot skipped.
    CaptureSkipped => class: General, schema: 1, audit: false;
    /// Camera fault.
    CameraFault => class: General, schema: 1, audit: false;
    /// Timelapse built.
    TimelapseBuilt => class: General, schema: 1, audit: false;
    /// Timelapse failed.
    TimelapseFailed => class: General, schema: 1, audit: false;
    /// Debounced input edge.
    GpioEdge => class: General, schema: 1, audit: false;
    /// Output set by a rule.
    OutputChanged => class: General, schema: 1, audit: false;
    /// PWM set by a rule.
    PwmChanged => class: General, schema: 1, audit: false;
    /// Thermal frame.
    ThermalFrame => class: General, schema: 1, audit: false;
    /// Classification.
    Detection => class: General, schema: 1, audit: false;
    /// Pi vs Pico classification.
    DetectionCompared => class: General, schema: 1, audit: false;
    /// Board event: the ESP32's event ring overflowed and dropped events unseen.
    EventsDropped => class: Important, schema: 1, audit: true;
    /// `vigil repair` recovered the store (what it re-applied and removed).
    StoreRepaired => class: Important, schema: 1, audit: true;
    /// The previous run ended without `SupervisorStopped`; recorded at the next start.
    UncleanStopDetected => class: Important, schema: 1, audit: true;
    /// Disk below the retention floor with only protected data left; capture stops.
    StorageExhausted => class: Important, schema: 1, audit: true;
    /// A recovery test restored the latest backup and checked it (result, what failed).
    BackupTested => class: Important, schema: 1, audit: true;
}
