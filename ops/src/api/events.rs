//! The log endpoints: `GET /v1/status` and `GET /v1/events`. Every `/v1/events` query,
//! answered or refused, is recorded as an `AuditQueried` event holding the parsed filters.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};
use vigil_actors::journal::Append;
use vigil_actors::supervisor::Running;
use vigil_events::kinds::AuditQueried;
use vigil_events::{NewEvent, Source};

use super::error::ApiError;
use super::query::{canonical, parse_query, BadParam};
use vigil_store::envelope_json;

/// Register the endpoints of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/v1/status")
            .route(web::get().to(status))
            .default_service(web::to(super::method_not_allowed)),
    )
    .service(
        web::resource("/v1/events")
            .route(web::get().to(events))
            .default_service(web::to(super::method_not_allowed)),
    );
}

/// `{"last_seq", "head"}`.
async fn status(run: web::Data<Running>) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "last_seq": run.store.last_seq(),
        "head": hex::encode(run.store.head()),
    }))
}

/// Record a query through the journal (fire and forget: the journal refuses, and logs, an
/// append it cannot hold without stopping).
fn record(run: &Running, query: String, results: u64, client: String, refused: Option<String>) {
    run.journal.do_send(Append(vec![NewEvent::new(
        run.clock.now(),
        Source::Ops,
        AuditQueried {
            via: "api".into(),
            query,
            results,
            client,
            refused,
        },
    )]));
}

/// `{"items": [envelope…], "next_cursor": seq|null}`.
async fn events(req: HttpRequest, run: web::Data<Running>) -> Result<HttpResponse, ApiError> {
    let client = req.peer_addr().map(|a| a.to_string()).unwrap_or_default();
    let q = match parse_query(req.query_string()) {
        Ok(q) => q,
        Err(BadParam(why)) => {
            record(&run, String::new(), 0, client, Some(why.clone()));
            return Err(ApiError::BadParam(why));
        }
    };
    let filters = canonical(&q);
    // sled reads block: off the worker's executor.
    let store = run.store.clone();
    let page = web::block(move || store.query(&q))
        .await
        .map_err(|e| ApiError::Internal(format!("the query did not run: {e}")))?
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    record(&run, filters, page.items.len() as u64, client, None);
    let items: Vec<Value> = page.items.iter().map(envelope_json).collect();
    Ok(HttpResponse::Ok().json(json!({ "items": items, "next_cursor": page.next_cursor })))
}
