//! `GET /v1/events/stream`: committed events as Server-Sent Events, for the dashboard and any
//! script that wants to follow the station live.
//!
//! Each event is one SSE message, `id: SEQ` and `data: ENVELOPE` (the one JSON rendering of
//! an envelope, as `/v1/events` gives it). A client resumes with the `Last-Event-ID` header or
//! `?since_seq=N` (both mean "I have everything up to N"): the stream first replays the log
//! after N, page by page, then goes live. Without either it starts live. `kind` and `source`
//! filter as in `/v1/events`. A comment line (`: heartbeat`) every [`HEARTBEAT`] keeps
//! proxies and dead-peer detection honest.
//!
//! Memory is bounded whatever clients do: the journal hands each committed envelope once to
//! one [`Hub`], which keeps the last [`LIVE_BUFFER`] of them in a ring shared by every client
//! (never waiting for anyone). A client that falls that far behind (it stopped reading) gets a
//! final `event: overflow` message naming the seq to resume after, and its stream ends; the
//! journal and the other clients never notice. During replay nothing is buffered beyond one
//! page: the next page is read only when the client has taken the last one.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::time::Instant;
use vigil_actors::journal::{Committed, Subscribe};
use vigil_actors::supervisor::Running;
use vigil_events::{Envelope, EventKind, Source};
use vigil_store::{envelope_json, EventLog, Query};

use super::error::ApiError;
use super::query::decode;

/// Committed envelopes the hub keeps for clients that are behind (shared by all clients).
pub const LIVE_BUFFER: usize = 4096;

/// Interval of the heartbeat comment.
pub const HEARTBEAT: Duration = Duration::from_secs(15);

/// Events read from the log per replay page.
const REPLAY_PAGE: usize = 256;

/// The fan-out of committed envelopes to stream clients: a bounded ring that never makes the
/// sender wait; each client reads it at its own pace.
#[derive(Debug, Clone)]
pub struct Hub {
    tx: broadcast::Sender<Arc<Envelope>>,
}

impl Hub {
    /// A hub keeping the last `capacity` envelopes for slow clients.
    pub fn new(capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(capacity.max(1));
        Hub { tx }
    }

    /// A hub of [`LIVE_BUFFER`] subscribed to every committed event of the running journal.
    /// Must be called on the supervisor's actix runtime.
    pub fn start(running: &Running) -> Self {
        let hub = Hub::new(LIVE_BUFFER);
        let feeder = Feeder { hub: hub.clone() }.start();
        running.journal.do_send(Subscribe {
            kinds: None,
            to: feeder.recipient(),
        });
        hub
    }

    /// Hand one committed envelope to every client (none listening is fine).
    pub fn publish(&self, env: Arc<Envelope>) {
        let _ = self.tx.send(env);
    }

    fn subscribe(&self) -> broadcast::Receiver<Arc<Envelope>> {
        self.tx.subscribe()
    }
}

/// The journal subscriber that feeds the hub.
struct Feeder {
    hub: Hub,
}

impl Actor for Feeder {
    type Context = Context<Self>;
}

impl Handler<Committed> for Feeder {
    type Result = ();
    fn handle(&mut self, msg: Committed, _: &mut Self::Context) {
        self.hub.publish(msg.0);
    }
}

/// Register `GET /v1/events/stream`, fed by `hub`.
pub fn configure(cfg: &mut web::ServiceConfig, hub: &Hub) {
    cfg.app_data(web::Data::new(hub.clone())).service(
        web::resource("/v1/events/stream")
            .route(web::get().to(stream))
            .default_service(web::to(super::method_not_allowed)),
    );
}

/// What a client asked for.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StreamQuery {
    /// Replay the log after this seq first; `None`: live only.
    pub after: Option<u64>,
    /// Only this kind.
    pub kind: Option<EventKind>,
    /// Only this source.
    pub source: Option<Source>,
}

impl StreamQuery {
    fn matches(&self, env: &Envelope) -> bool {
        self.kind.is_none_or(|k| k == env.kind) && self.source.is_none_or(|s| s == env.source)
    }
}

/// Parse the query string and the `Last-Event-ID` header (the header wins: it is what the
/// client last received).
pub fn parse_stream_query(qs: &str, last_event_id: Option<&str>) -> Result<StreamQuery, ApiError> {
    let mut q = StreamQuery::default();
    let seq = |name: &str, v: &str| {
        v.trim().parse::<u64>().map_err(|_| {
            ApiError::BadParam(format!(
                "{name}: `{}` is not a seq",
                v.chars().take(64).collect::<String>()
            ))
        })
    };
    for pair in qs.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = decode(v);
        match k {
            "since_seq" => q.after = Some(seq("since_seq", &v)?),
            "kind" => {
                q.kind = Some(EventKind::from_name(&v).ok_or_else(|| {
                    ApiError::BadParam(format!(
                        "kind: unknown event kind `{}`",
                        v.chars().take(64).collect::<String>()
                    ))
                })?)
            }
            "source" => {
                q.source = Some(
                    v.parse::<Source>()
                        .map_err(|e| ApiError::BadParam(format!("source: {e}")))?,
                )
            }
            other => {
                return Err(ApiError::BadParam(format!(
                    "unknown parameter `{}` (known: since_seq, kind, source)",
                    other.chars().take(64).collect::<String>()
                )))
            }
        }
    }
    if let Some(id) = last_event_id {
        q.after = Some(seq("Last-Event-ID", id)?);
    }
    Ok(q)
}

async fn stream(
    req: HttpRequest,
    run: web::Data<Running>,
    hub: web::Data<Hub>,
) -> Result<HttpResponse, ApiError> {
    let last_id = match req.headers().get("last-event-id") {
        Some(v) => Some(
            v.to_str()
                .map_err(|_| ApiError::BadParam("Last-Event-ID: not a seq".to_string()))?,
        ),
        None => None,
    };
    let q = parse_stream_query(req.query_string(), last_id)?;
    let log: Arc<dyn EventLog> = run.store.clone();
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("cache-control", "no-cache"))
        .insert_header(("x-accel-buffering", "no"))
        .streaming(sse(log, &hub, q, HEARTBEAT)))
}

enum Phase {
    /// Reading the log; `live` is set once the log was exhausted once (one more read closes
    /// the race between the last read and the subscription).
    Replay {
        live: Option<broadcast::Receiver<Arc<Envelope>>>,
    },
    Live(broadcast::Receiver<Arc<Envelope>>),
    Done,
}

struct State {
    log: Arc<dyn EventLog>,
    hub: Hub,
    q: StreamQuery,
    /// Every event with a seq below this was sent or filtered out.
    next: u64,
    phase: Phase,
    out: VecDeque<Bytes>,
    heartbeat: Duration,
    beat_at: Instant,
}

/// One SSE message for `env`.
pub fn message(env: &Envelope) -> Bytes {
    Bytes::from(format!("id: {}\ndata: {}\n\n", env.seq, envelope_json(env)))
}

fn final_message(event: &str, error: &str, resume_after: u64) -> Bytes {
    let data = serde_json::json!({ "error": error, "resume_after": resume_after });
    Bytes::from(format!("event: {event}\ndata: {data}\n\n"))
}

/// The SSE body for `q`: replay (when asked), then live envelopes from `hub`, heartbeats every
/// `heartbeat`, ending with an `overflow` message when the client fell too far behind.
pub fn sse(
    log: Arc<dyn EventLog>,
    hub: &Hub,
    q: StreamQuery,
    heartbeat: Duration,
) -> impl futures_util::Stream<Item = Result<Bytes, Infallible>> {
    let (phase, next) = match q.after {
        Some(after) => (Phase::Replay { live: None }, after.saturating_add(1)),
        None => {
            // Subscribe before reading the head: anything committed after it comes live.
            let rx = hub.subscribe();
            (Phase::Live(rx), log.last_seq().saturating_add(1))
        }
    };
    let state = State {
        log,
        hub: hub.clone(),
        q,
        next,
        phase,
        out: VecDeque::new(),
        heartbeat,
        beat_at: Instant::now() + heartbeat,
    };
    // Start with a comment so the client sees the stream open before the first event.
    let mut first = VecDeque::new();
    first.push_back(Bytes::from_static(b": vigil event stream\n\n"));
    let state = State {
        out: first,
        ..state
    };
    futures_util::stream::unfold(state, |mut st| async move {
        loop {
            if let Some(b) = st.out.pop_front() {
                return Some((Ok(b), st));
            }
            match std::mem::replace(&mut st.phase, Phase::Done) {
                Phase::Done => return None,
                Phase::Replay { live } => st.replay_page(live).await,
                Phase::Live(rx) => st.live_step(rx).await,
            }
        }
    })
}

impl State {
    async fn replay_page(&mut self, live: Option<broadcast::Receiver<Arc<Envelope>>>) {
        let log = self.log.clone();
        let query = Query {
            kind: self.q.kind,
            source: self.q.source,
            cursor: Some(self.next.saturating_sub(1)),
            limit: REPLAY_PAGE,
            ..Query::default()
        };
        // sled reads block: off the executor. Everything up to `head` is covered once the
        // query says there is no more.
        let read = web::block(move || {
            let head = log.last_seq();
            log.query(&query).map(|page| (head, page))
        })
        .await;
        let (head, page) = match read {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => return self.fail(&format!("reading the log failed: {e}")),
            Err(e) => return self.fail(&format!("reading the log did not run: {e}")),
        };
        for env in &page.items {
            self.out.push_back(message(env));
            self.next = env.seq.saturating_add(1);
        }
        if page.next_cursor.is_some() {
            self.phase = Phase::Replay { live };
            return;
        }
        self.next = self.next.max(head.saturating_add(1));
        self.phase = match live {
            Some(rx) => Phase::Live(rx),
            None => Phase::Replay {
                live: Some(self.hub.subscribe()),
            },
        };
    }

    async fn live_step(&mut self, mut rx: broadcast::Receiver<Arc<Envelope>>) {
        match tokio::time::timeout_at(self.beat_at, rx.recv()).await {
            Err(_) => {
                self.out.push_back(Bytes::from_static(b": heartbeat\n\n"));
                self.beat_at = Instant::now() + self.heartbeat;
                self.phase = Phase::Live(rx);
            }
            Ok(Ok(env)) => {
                if env.seq >= self.next {
                    self.next = env.seq.saturating_add(1);
                    if self.q.matches(&env) {
                        self.out.push_back(message(&env));
                    }
                }
                self.phase = Phase::Live(rx);
            }
            Ok(Err(RecvError::Lagged(missed))) => {
                let after = self.next.saturating_sub(1);
                tracing::warn!(missed, after, "event stream client too slow; cut off");
                self.out.push_back(final_message(
                    "overflow",
                    &format!(
                        "this client fell {missed} events behind the live stream; reconnect \
                         with Last-Event-ID: {after} (or ?since_seq={after})"
                    ),
                    after,
                ));
            }
            Ok(Err(RecvError::Closed)) => {
                let after = self.next.saturating_sub(1);
                self.out
                    .push_back(final_message("closed", "the station is stopping", after));
            }
        }
    }

    fn fail(&mut self, why: &str) {
        tracing::error!(error = why, "event stream ended");
        let after = self.next.saturating_sub(1);
        self.out.push_back(final_message("error", why, after));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;
    use vigil_events::kinds::LinkStats;
    use vigil_events::{ClassPolicy, NewEvent};
    use vigil_store::{Store, StoreOptions};

    fn stats(n: u64) -> NewEvent {
        NewEvent::new(
            1_780_000_000_000_000 + n as i64,
            Source::Esp32,
            LinkStats {
                port: "sim".into(),
                frames: n,
                rejects: Default::default(),
                reconnects: 0,
            },
        )
    }

    fn store() -> (tempfile::TempDir, Arc<Store>) {
        let tmp = tempfile::tempdir().expect("tmp");
        let s = Store::open(tmp.path(), StoreOptions::default()).expect("store");
        (tmp, Arc::new(s))
    }

    fn append(store: &Store, hub: &Hub, n: u64) {
        let envs = store
            .append(&[stats(n)], &ClassPolicy::default())
            .expect("append");
        for e in envs {
            hub.publish(Arc::new(e));
        }
    }

    fn ids(chunks: &[Bytes]) -> Vec<u64> {
        chunks
            .iter()
            .filter_map(|b| {
                let s = std::str::from_utf8(b).ok()?;
                s.strip_prefix("id: ")?.split('\n').next()?.parse().ok()
            })
            .collect()
    }

    #[test]
    fn replay_then_live_sends_every_seq_once_in_order() {
        actix_web::rt::System::new().block_on(async {
            let (_tmp, store) = store();
            let hub = Hub::new(64);
            for n in 0..600 {
                append(&store, &hub, n);
            }
            let q = StreamQuery {
                after: Some(10),
                ..StreamQuery::default()
            };
            let mut s = Box::pin(sse(store.clone(), &hub, q, HEARTBEAT));
            let mut got = Vec::new();
            // The opening comment and the replay (three pages).
            while ids(&got).len() < 590 {
                got.push(s.next().await.expect("item").expect("ok"));
            }
            // Now live: appended after the replay caught up.
            for n in 600..605 {
                append(&store, &hub, n);
            }
            while ids(&got).len() < 595 {
                got.push(s.next().await.expect("item").expect("ok"));
            }
            assert_eq!(ids(&got), (11..=605).collect::<Vec<u64>>());
        });
    }

    #[test]
    fn a_client_that_stops_reading_is_cut_off_with_a_resume_point() {
        actix_web::rt::System::new().block_on(async {
            let (_tmp, store) = store();
            let hub = Hub::new(8);
            let mut s = Box::pin(sse(store.clone(), &hub, StreamQuery::default(), HEARTBEAT));
            let opening = s.next().await.expect("opening").expect("ok");
            assert!(opening.starts_with(b":"));
            // The client reads nothing while 20 events are committed: the hub keeps 8.
            for n in 0..20 {
                append(&store, &hub, n);
            }
            let rest: Vec<Bytes> = s.map(|b| b.expect("ok")).collect().await;
            assert_eq!(ids(&rest), Vec::<u64>::new(), "nothing before the overflow");
            let last = std::str::from_utf8(rest.last().expect("final")).expect("utf8");
            assert!(last.starts_with("event: overflow\n"), "{last}");
            assert!(last.contains("\"resume_after\":0"), "{last}");
        });
    }

    #[test]
    fn filters_and_heartbeat() {
        actix_web::rt::System::new().block_on(async {
            let (_tmp, store) = store();
            let hub = Hub::new(64);
            append(&store, &hub, 1);
            let q = parse_stream_query("since_seq=0&kind=WindowOpened", None).expect("query");
            let mut s = Box::pin(sse(store.clone(), &hub, q, Duration::from_millis(50)));
            let mut got = Vec::new();
            while !got.iter().any(|b: &Bytes| b.starts_with(b": heartbeat")) {
                got.push(s.next().await.expect("item").expect("ok"));
            }
            assert_eq!(ids(&got), Vec::<u64>::new(), "LinkStats filtered out");
        });
    }

    #[test]
    fn bad_parameters_name_themselves() {
        for (qs, id, needle) in [
            ("since_seq=x", None, "since_seq"),
            ("kind=Nope", None, "kind"),
            ("source=mars", None, "source"),
            ("limit=3", None, "limit"),
            ("", Some("abc"), "Last-Event-ID"),
        ] {
            let err = parse_stream_query(qs, id).expect_err(qs);
            assert!(err.to_string().contains(needle), "{qs}: {err}");
        }
        let q = parse_stream_query("since_seq=5", Some("9")).expect("ok");
        assert_eq!(q.after, Some(9), "the header is what the client last got");
    }
}
