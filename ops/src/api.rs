//! The supervisor's local HTTP API. sled lets one process hold the log, so while the
//! supervisor runs, `vigil audit` (and any script) queries through here. Every query is itself
//! recorded as an `AuditQueried` event.
//!
//! - `GET /v1/status` → `{"last_seq", "head"}`
//! - `GET /v1/events?since=&until=&source=&kind=&class=&limit=&cursor=&order=newest` →
//!   `{"items": [envelope…], "next_cursor": seq|null}`; `since`/`until` are RFC 3339 or UTC µs,
//!   `limit` at most 1000 (default 100).
//!
//! Errors are JSON `{"error": "..."}` with 400 (bad parameter, naming it), 404, 405 or 500.
//! It listens on loopback by default (`[api] listen`); it has no authentication, so do not
//! bind it to a public address.

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::{self, JoinHandle};

use chrono::DateTime;
use serde_json::{json, Value};
use tiny_http::{Header, Method, Request, Response, Server};
use vigil_actors::journal::Append;
use vigil_actors::supervisor::Running;
use vigil_events::kinds::AuditQueried;
use vigil_events::{DataClass, EventKind, NewEvent, Source, UtcMicros};
use vigil_store::Query;

use vigil_store::envelope_json;

/// Most events one page returns.
pub const MAX_PAGE: usize = 1000;

/// The running API; dropping it stops the server and joins its thread.
pub struct ApiGuard {
    server: Arc<Server>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for ApiGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiGuard").finish_non_exhaustive()
    }
}

impl Drop for ApiGuard {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Serve the API on `listen` until the guard is dropped.
pub fn serve(listen: SocketAddr, running: &Running) -> Result<ApiGuard, String> {
    let server = Arc::new(
        Server::http(listen).map_err(|e| format!("cannot serve the API on {listen}: {e}"))?,
    );
    let (srv, run) = (server.clone(), running.clone());
    let thread = thread::Builder::new()
        .name("vigil-api".into())
        .spawn(move || {
            for request in srv.incoming_requests() {
                handle(request, &run);
            }
        })
        .map_err(|e| format!("cannot start the API thread: {e}"))?;
    tracing::info!(%listen, "local API listening");
    Ok(ApiGuard {
        server,
        thread: Some(thread),
    })
}

/// A bad request parameter.
#[derive(Debug, PartialEq)]
pub struct BadParam(pub String);

fn time_param(name: &str, v: &str) -> Result<UtcMicros, BadParam> {
    if let Ok(us) = v.parse::<i64>() {
        return Ok(us);
    }
    DateTime::parse_from_rfc3339(v)
        .map(|t| t.timestamp_micros())
        .map_err(|_| {
            BadParam(format!(
                "{name}: `{v}` is neither RFC 3339 nor UTC microseconds"
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
fn decode(s: &str) -> String {
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
        limit: 100,
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
                        .map_err(|e| BadParam(format!("source: {e}")))?,
                )
            }
            "kind" => {
                q.kind = Some(
                    EventKind::from_name(&v)
                        .ok_or_else(|| BadParam(format!("kind: unknown event kind `{v}`")))?,
                )
            }
            "class" => {
                q.class = Some(
                    v.parse::<DataClass>()
                        .map_err(|e| BadParam(format!("class: {e}")))?,
                )
            }
            "limit" => {
                q.limit = v
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_PAGE).contains(n))
                    .ok_or_else(|| BadParam(format!("limit: `{v}` is not 1 to {MAX_PAGE}")))?
            }
            "cursor" => {
                q.cursor = Some(
                    v.parse()
                        .map_err(|_| BadParam(format!("cursor: `{v}` is not a seq")))?,
                )
            }
            "order" => {
                q.backward = match v.as_str() {
                    "newest" => true,
                    "oldest" => false,
                    _ => return Err(BadParam(format!("order: `{v}` is not newest or oldest"))),
                }
            }
            other => return Err(BadParam(format!("unknown parameter `{other}`"))),
        }
    }
    if let (Some(a), Some(b)) = (q.since, q.until) {
        if b <= a {
            return Err(BadParam("until is not after since".into()));
        }
    }
    Ok(q)
}

fn reply(request: Request, status: u16, body: &Value) {
    let mut resp = Response::from_string(body.to_string()).with_status_code(status);
    if let Ok(h) = Header::from_bytes(&b"Content-Type"[..], &b"application/json"[..]) {
        resp = resp.with_header(h);
    }
    if let Err(e) = request.respond(resp) {
        tracing::debug!(error = %e, "API client went away");
    }
}

fn handle(request: Request, run: &Running) {
    let url = request.url().to_string();
    let (path, qs) = url.split_once('?').unwrap_or((url.as_str(), ""));
    if *request.method() != Method::Get {
        return reply(request, 405, &json!({"error": "only GET is served"}));
    }
    match path {
        "/v1/status" => {
            let body = json!({
                "last_seq": run.store.last_seq(),
                "head": hex::encode(run.store.head()),
            });
            reply(request, 200, &body)
        }
        "/v1/events" => {
            let q = match parse_query(qs) {
                Ok(q) => q,
                Err(BadParam(e)) => return reply(request, 400, &json!({ "error": e })),
            };
            match run.store.query(&q) {
                Ok(page) => {
                    let client = request
                        .remote_addr()
                        .map(|a| a.to_string())
                        .unwrap_or_default();
                    run.journal.do_send(Append(vec![NewEvent::new(
                        run.clock.now(),
                        Source::Ops,
                        AuditQueried {
                            via: "api".into(),
                            query: qs.to_string(),
                            results: page.items.len() as u64,
                            client,
                        },
                    )]));
                    let items: Vec<Value> = page.items.iter().map(envelope_json).collect();
                    reply(
                        request,
                        200,
                        &json!({ "items": items, "next_cursor": page.next_cursor }),
                    )
                }
                Err(e) => reply(request, 500, &json!({ "error": e.to_string() })),
            }
        }
        _ => reply(
            request,
            404,
            &json!({ "error": format!("no such path `{path}`") }),
        ),
    }
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
}

/// A failed API call.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Nothing answered at the address.
    #[error("no vigil API at {addr}: {source}")]
    Connect {
        /// Address tried.
        addr: SocketAddr,
        /// OS error.
        source: std::io::Error,
    },
    /// The API answered with an error.
    #[error("the API at {addr} answered {status}: {message}")]
    Status {
        /// Address.
        addr: SocketAddr,
        /// HTTP status.
        status: u16,
        /// Its error message.
        message: String,
    },
    /// The answer was not HTTP with a JSON body.
    #[error("the API at {addr} sent an unreadable answer: {0}", addr = .1)]
    Garbled(String, SocketAddr),
}

/// `GET path` on the local API; the JSON body of a 200 answer.
pub fn get(addr: SocketAddr, path: &str) -> Result<Value, ClientError> {
    use std::io::{Read, Write};
    let timeout = std::time::Duration::from_secs(10);
    let mut stream = std::net::TcpStream::connect_timeout(&addr, timeout)
        .map_err(|source| ClientError::Connect { addr, source })?;
    let _ = stream.set_read_timeout(Some(timeout));
    let request =
        format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\nAccept: application/json\r\n\r\n");
    let mut raw = Vec::new();
    stream
        .write_all(request.as_bytes())
        .and_then(|_| stream.read_to_end(&mut raw))
        .map_err(|source| ClientError::Connect { addr, source })?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| ClientError::Garbled("no header end".into(), addr))?;
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| ClientError::Garbled("no status line".into(), addr))?;
    let body: Value = serde_json::from_str(body)
        .map_err(|e| ClientError::Garbled(format!("body is not JSON: {e}"), addr))?;
    if status != 200 {
        let message = body["error"].as_str().unwrap_or("").to_string();
        return Err(ClientError::Status {
            addr,
            status,
            message,
        });
    }
    Ok(body)
}

/// Percent-encode a query value.
pub fn encode(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
