//! The supervisor's local HTTP API (actix-web, on the supervisor's actix runtime). sled lets
//! one process hold the log, so while the supervisor runs, `vigil audit` (and any script)
//! queries through here. Every `/v1/events` query, answered or refused, is itself recorded as
//! an `AuditQueried` event holding the parsed filters, never the client's raw text.
//!
//! - `GET /v1/status` → `{"last_seq", "head"}`
//! - `GET /v1/events?since=&until=&source=&kind=&class=&limit=&cursor=&order=newest` →
//!   `{"items": [envelope…], "next_cursor": seq|null}`; `since`/`until` are RFC 3339 or UTC µs,
//!   `limit` at most 1000 (default 100).
//! - `GET /v1/events/stream?since_seq=&kind=&source=` → Server-Sent Events of committed
//!   events, resumable with `Last-Event-ID` ([`stream`]).
//! - `GET /v1/frames/{seq}` → the still or video a frame event lists ([`frames`]).
//! - `GET /` → the dashboard ([`dashboard`], docs/dashboard.md).
//!
//! Errors are JSON `{"error": "..."}` with 400 (bad parameter, naming it), 404, 405, 414 (target
//! over 8 KiB), 431 (headers over 8 KiB) or 500. It listens on loopback by default
//! (`[api] listen`); it has no authentication, so do not bind it to a public address.
//!
//! A misbehaving client holds no other up: connections are served concurrently by a fixed
//! number of workers, a client must send its request head within [`REQUEST_TIMEOUT`], idle
//! connections close after [`KEEP_ALIVE`], and one that sends requests but never reads the
//! answers only stalls its own connection.
//!
//! One module per concern: [`query`] (parameters), [`events`] (the log endpoints), [`limits`]
//! (size bounds), [`error`] (the shared error type), [`client`] (the CLI's side).

pub mod client;
pub mod dashboard;
pub mod error;
pub mod events;
pub mod frames;
pub mod limits;
pub mod query;
pub mod stream;

use std::net::SocketAddr;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use vigil_actors::supervisor::Running;

pub use client::{encode, get};
pub use error::ApiError;
pub use query::MAX_PAGE;

/// Worker threads serving the API (each serves many connections at once).
pub const WORKERS: usize = 2;

/// Most connections each worker holds open; more wait in the listen backlog.
pub const MAX_CONNECTIONS: usize = 64;

/// Time a client has to send a whole request head after connecting.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Time an idle connection is kept open between requests.
pub const KEEP_ALIVE: Duration = Duration::from_secs(5);

/// The running API; dropping it stops the server (in-flight requests get a moment to finish).
pub struct ApiGuard {
    handle: ServerHandle,
}

impl std::fmt::Debug for ApiGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiGuard").finish_non_exhaustive()
    }
}

impl Drop for ApiGuard {
    fn drop(&mut self) {
        actix_web::rt::spawn(self.handle.stop(true));
    }
}

async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound(req.path().to_string()))
}

async fn method_not_allowed() -> Result<HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed)
}

/// Serve the API on `listen` until the guard is dropped. Must be called on the supervisor's
/// actix runtime (the server task is spawned there).
pub fn serve(listen: SocketAddr, running: &Running) -> Result<ApiGuard, String> {
    let state = web::Data::new(running.clone());
    let hub = stream::Hub::start(running);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .wrap(actix_web::middleware::from_fn(limits::bounded))
            .configure(events::configure)
            .configure(|c| stream::configure(c, &hub))
            .configure(frames::configure)
            .configure(dashboard::configure)
            .default_service(web::to(not_found))
    })
    .workers(WORKERS)
    .max_connections(MAX_CONNECTIONS)
    .backlog(128)
    .keep_alive(KEEP_ALIVE)
    .client_request_timeout(REQUEST_TIMEOUT)
    .client_disconnect_timeout(Duration::from_secs(1))
    .shutdown_timeout(2)
    .disable_signals()
    .bind(listen)
    .map_err(|e| format!("cannot serve the API on {listen}: {e}"))?
    .run();
    let handle = server.handle();
    actix_web::rt::spawn(async move {
        if let Err(e) = server.await {
            tracing::error!(error = %e, "local API stopped");
        }
    });
    tracing::info!(%listen, "local API listening");
    Ok(ApiGuard { handle })
}
