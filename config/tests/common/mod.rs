//! Helpers shared by the integration tests (included with `mod common;`).
#![allow(dead_code)]

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use vigil_config::{Config, ConfigError, Schedule};

/// Parse or fail the test with the error.
pub fn parse(text: &str) -> Config {
    match Config::parse(text, "t.toml") {
        Ok(c) => c,
        Err(e) => panic!("config refused: {e}\n---\n{text}"),
    }
}

/// The error of a config that must be refused.
pub fn refuse(text: &str) -> ConfigError {
    match Config::parse(text, "t.toml") {
        Ok(_) => panic!("config accepted but should be refused:\n{text}"),
        Err(e) => e,
    }
}

/// Assert the error position and that the message contains `needle`.
#[track_caller]
pub fn assert_refused(text: &str, line: usize, column: usize, needle: &str) {
    let e = refuse(text);
    let shown = e.to_string();
    let pos = e.position().cloned();
    assert_eq!(
        pos.as_ref().map(|p| (p.line, p.column)),
        Some((line, column)),
        "position of: {shown}"
    );
    assert!(
        shown.starts_with(&format!("t.toml:{line}:{column}: ")),
        "{shown}"
    );
    assert!(shown.contains(needle), "message `{shown}` lacks `{needle}`");
}

/// A schedule in `tz` with the given `[[schedule.window]]` blocks.
pub fn schedule(tz: &str, extra: &str, windows: &[(&str, &str, &str)]) -> Schedule {
    let mut text = format!("[schedule]\ntimezone = \"{tz}\"\n{extra}\n");
    for (name, start, end) in windows {
        text.push_str(&format!(
            "[[schedule.window]]\nname = \"{name}\"\nstart = \"{start}\"\nend = \"{end}\"\n"
        ));
    }
    parse(&text).schedule
}

/// An instant from RFC 3339.
pub fn t(s: &str) -> DateTime<Utc> {
    match DateTime::parse_from_rfc3339(s) {
        Ok(t) => t.with_timezone(&Utc),
        Err(e) => panic!("bad instant {s}: {e}"),
    }
}

/// RFC 3339 with `Z`.
pub fn utc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// RFC 3339 with the offset.
pub fn local(t: DateTime<FixedOffset>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// `(name, utc start, utc end, local start, local end)` of every window in `[from, to)`.
pub fn resolved(
    s: &Schedule,
    from: &str,
    to: &str,
) -> Vec<(String, String, String, String, String)> {
    s.windows(t(from), t(to))
        .into_iter()
        .map(|w| {
            (
                w.name,
                utc(w.start),
                utc(w.end),
                local(w.local_start),
                local(w.local_end),
            )
        })
        .collect()
}

/// Owned tuple for comparisons.
pub fn row(
    name: &str,
    s: &str,
    e: &str,
    ls: &str,
    le: &str,
) -> (String, String, String, String, String) {
    (name.into(), s.into(), e.into(), ls.into(), le.into())
}
