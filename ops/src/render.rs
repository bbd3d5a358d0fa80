//! Envelopes as people and scripts read them: table rows and CSV lines. (The one JSON
//! rendering of an envelope is [`vigil_store::envelope_json`].)

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;
use vigil_events::UtcMicros;

/// RFC 3339 UTC with `Z` and microseconds when needed.
pub fn rfc3339(t: UtcMicros) -> String {
    match DateTime::<Utc>::from_timestamp_micros(t) {
        Some(d) => d.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        None => format!("{t}µs"),
    }
}

/// A short one-line summary of a payload (as JSON) for tables.
pub fn payload_summary(payload: &Value, width: usize) -> String {
    let mut s = match payload {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => format!("{k}={s}"),
                Value::Array(a) if a.len() > 8 => format!("{k}=[{} items]", a.len()),
                other => format!("{k}={other}"),
            })
            .collect::<Vec<_>>()
            .join(" "),
        other => other.to_string(),
    };
    s = s.replace('\n', "\\n");
    if s.chars().count() > width {
        s = s.chars().take(width.saturating_sub(1)).collect::<String>() + "…";
    }
    s
}

/// Quote a CSV field when needed (RFC 4180).
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
