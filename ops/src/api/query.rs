//! The query string of `GET /v1/events`: parsed into a store [`Query`], and rendered back in
//! canonical form for the audit record (the parsed filters, never the client's raw text).

use chrono::DateTime;
use vigil_events::{DataClass, EventKind, Source, UtcMicros};
use vigil_store::Query;

/// Most events one page returns.
pub const MAX_PAGE: usize = 1000;

/// Default page size.
pub const DEFAULT_PAGE: usize = 100;

/// Most characters of a client's value quoted back in an error message.
const QUOTED: usize = 64;

/// A bad request parameter; the message names it.
#[derive(Debug, PartialEq)]
pub struct BadParam(pub String);

/// `v` as quoted in an error message: at most [`QUOTED`] characters, so an error (which is
/// recorded) never holds more than a little of what a client sent.
fn shown(v: &str) -> String {
    match v.char_indices().nth(QUOTED) {
        Some((cut, _)) => format!("{}…", &v[..cut]),
        None => v.to_string(),
    }
}

fn time_param(name: &str, v: &str) -> Result<UtcMicros, BadParam> {
    if let Ok(us) = v.parse::<i64>() {
        return Ok(us);
    }
    DateTime::parse_from_rfc3339(v)
        .map(|t| t.timestamp_micros())
        .map_err(|_| {
            BadParam(format!(
                "{name}: `{}` is neither RFC 3339 nor UTC microseconds",
                shown(v)
            ))
        })
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-decode a query value (`+` is a space); malformed escapes stay as they are.
pub(crate) fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) => hex_val(h).zip(hex_val(l)).map(|(h, l)| h * 16 + l),
            _ => None,
        };
        match (bytes[i], escaped) {
            (_, Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b'+', None) => {
                out.push(b' ');
                i += 1;
            }
            (b, None) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parse the query string of `/v1/events`.
pub fn parse_query(qs: &str) -> Result<Query, BadParam> {
    let mut q = Query {
        limit: DEFAULT_PAGE,
        ..Query::default()
    };
    for pair in qs.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = decode(v);
        match k {
            "since" => q.since = Some(time_param(k, &v)?),
            "until" => q.until = Some(time_param(k, &v)?),
            "source" => {
                q.source = Some(
                    v.parse::<Source>()
                        .map_err(|e| BadParam(format!("source: {}", shown(&e.to_string()))))?,
                )
            }
            "kind" => {
                q.kind =
                    Some(EventKind::from_name(&v).ok_or_else(|| {
                        BadParam(format!("kind: unknown event kind `{}`", shown(&v)))
                    })?)
            }
            "class" => {
                q.class = Some(
                    v.parse::<DataClass>()
                        .map_err(|e| BadParam(format!("class: {}", shown(&e.to_string()))))?,
                )
            }
            "limit" => {
                q.limit = v
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_PAGE).contains(n))
                    .ok_or_else(|| {
                        BadParam(format!("limit: `{}` is not 1 to {MAX_PAGE}", shown(&v)))
                    })?
            }
            "cursor" => {
                q.cursor = Some(
                    v.parse()
                        .map_err(|_| BadParam(format!("cursor: `{}` is not a seq", shown(&v))))?,
                )
            }
            "order" => {
                q.backward = match v.as_str() {
                    "newest" => true,
                    "oldest" => false,
                    _ => {
                        return Err(BadParam(format!(
                            "order: `{}` is not newest or oldest",
                            shown(&v)
                        )))
                    }
                }
            }
            other => {
                return Err(BadParam(format!(
                    "unknown parameter `{}`",
                    shown(&decode(other))
                )))
            }
        }
    }
    if let (Some(a), Some(b)) = (q.since, q.until) {
        if b <= a {
            return Err(BadParam("until is not after since".into()));
        }
    }
    Ok(q)
}

/// The parsed filters of `q` in canonical form, as recorded in `AuditQueried`: parameters in a
/// fixed order, times as UTC µs, the page size always, `order=newest` only when asked. Its
/// length is bounded whatever the client sent.
pub fn canonical(q: &Query) -> String {
    let mut parts = Vec::new();
    if let Some(t) = q.since {
        parts.push(format!("since={t}"));
    }
    if let Some(t) = q.until {
        parts.push(format!("until={t}"));
    }
    if let Some(s) = q.source {
        parts.push(format!("source={}", s.as_str()));
    }
    if let Some(k) = q.kind {
        parts.push(format!("kind={}", k.name()));
    }
    if let Some(c) = q.class {
        parts.push(format!("class={}", c.as_str()));
    }
    parts.push(format!("limit={}", q.limit));
    if let Some(c) = q.cursor {
        parts.push(format!("cursor={c}"));
    }
    if q.backward {
        parts.push("order=newest".into());
    }
    parts.join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_parse_and_bad_ones_name_the_parameter() {
        let q =
            parse_query("since=2026-06-01T04%3A00%3A00Z&kind=WindowOpened&limit=5&order=newest")
                .expect("parses");
        assert_eq!(q.since, Some(1_780_286_400_000_000));
        assert_eq!(q.kind, Some(EventKind::WindowOpened));
        assert_eq!((q.limit, q.backward), (5, true));
        for (bad, name) in [
            ("kind=Nope", "kind"),
            ("limit=0", "limit"),
            ("limit=5000", "limit"),
            ("since=yesterday", "since"),
            ("colour=red", "colour"),
            ("since=10&until=5", "until"),
        ] {
            let err = parse_query(bad).expect_err(bad);
            assert!(err.0.contains(name), "{bad}: {}", err.0);
        }
    }

    #[test]
    fn percent_decoding_survives_truncated_escapes() {
        assert_eq!(decode("a%3Ab+c%"), "a:b c%");
        assert_eq!(decode("%zz"), "%zz");
    }

    #[test]
    fn the_canonical_form_holds_the_parsed_filters_not_the_raw_text() {
        let raw = format!(
            "{}since=2026-06-01T04%3A00%3A00Z&&kind=WindowOpened&order=newest&limit=5",
            "&".repeat(10_000)
        );
        let q = parse_query(&raw).expect("parses");
        assert_eq!(
            canonical(&q),
            "since=1780286400000000&kind=WindowOpened&limit=5&order=newest"
        );
        assert_eq!(canonical(&parse_query("").expect("empty")), "limit=100");
        assert_eq!(parse_query(&canonical(&q)), Ok(q));
    }

    #[test]
    fn errors_quote_at_most_a_little_of_the_client_value() {
        let long = "x".repeat(5000);
        let err = parse_query(&format!("kind={long}")).expect_err("bad kind");
        assert_eq!(
            err.0,
            format!("kind: unknown event kind `{}…`", "x".repeat(QUOTED))
        );
        let err = parse_query(&format!("{long}=1")).expect_err("bad name");
        assert!(err.0.len() < 100, "{}", err.0);
    }
}
