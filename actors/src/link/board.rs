//! Board messages that become log events, for both boards.
//!
//! Pico: `thermal_frame` → `ThermalFrame`, `detection` → `Detection` (engine `pico-int8`).
//! ESP32: `power_switched`, `watchdog_tripped`, `override_changed`, `sntp_synced` → the
//! events of the same names, with the board's own timestamp as `device_ts`. Pico messages
//! carry no board time; their `device_ts` is the Pi's receive time.

use vigil_events::kinds;
use vigil_events::{Event, EventKind, UtcMicros};
use vigil_wire::{Message, ThermalClass};

/// The engine name of the Pico's own detections.
pub const PICO_ENGINE: &str = "pico-int8";

/// The event class for a wire class.
pub fn event_class(c: ThermalClass) -> kinds::ThermalClass {
    match c {
        ThermalClass::Person => kinds::ThermalClass::Person,
        ThermalClass::Object => kinds::ThermalClass::Object,
        ThermalClass::Background => kinds::ThermalClass::Background,
    }
}

/// The log event for a board message, with the board's timestamp when it has one; `None` for
/// control messages (hello, status, replies).
pub fn board_event(msg: &Message) -> Option<(Event, Option<UtcMicros>)> {
    Some(match msg {
        Message::ThermalFrame(f) => (
            kinds::ThermalFrame {
                frame: f.frame,
                centi_c: f.centi_c.to_vec(),
            }
            .into(),
            None,
        ),
        Message::Detection(d) => (
            kinds::Detection {
                frame: d.frame,
                class: event_class(d.class),
                confidence_permille: d.confidence_permille,
                engine: PICO_ENGINE.to_string(),
                latency_us: d.latency_us,
                person_present: d.person_present,
            }
            .into(),
            None,
        ),
        Message::PowerSwitched(p) => (
            kinds::PowerSwitched {
                on: p.on,
                reason: p.reason.as_str().to_string(),
            }
            .into(),
            Some(p.at.utc_us),
        ),
        Message::WatchdogTripped(w) => (
            kinds::WatchdogTripped {
                silent_ms: w.silent_ms,
            }
            .into(),
            Some(w.at.utc_us),
        ),
        Message::OverrideChanged(o) => (
            kinds::OverrideChanged { active: o.active }.into(),
            Some(o.at.utc_us),
        ),
        Message::SntpSynced(s) => (
            kinds::SntpSynced {
                offset_us: s.offset_us,
                delay_us: s.delay_us,
                stratum: s.stratum,
            }
            .into(),
            Some(s.at.utc_us),
        ),
        // The board's ring overflowed: the drop is an event of its own, delivered and acked
        // in order like the others (else every later event would wait behind it).
        Message::EventsDropped(d) => (
            kinds::EventsDropped { count: d.count }.into(),
            Some(d.at.utc_us),
        ),
        _ => return None,
    })
}

/// The event kinds a board's messages become (what the link subscribes to for its acks).
pub fn board_kinds(role: vigil_wire::BoardRole) -> &'static [EventKind] {
    match role {
        vigil_wire::BoardRole::Thermal => &[EventKind::ThermalFrame, EventKind::Detection],
        vigil_wire::BoardRole::Power => &[
            EventKind::PowerSwitched,
            EventKind::WatchdogTripped,
            EventKind::OverrideChanged,
            EventKind::SntpSynced,
            EventKind::EventsDropped,
        ],
    }
}
