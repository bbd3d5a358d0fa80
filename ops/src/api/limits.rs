//! Bounds on what a client may send. The HTTP layer itself stops reading a request head at
//! 128 KiB (answering 431 without a body); below that, a request whose target or headers
//! exceed the limits here is answered 414 or 431 with a JSON error before any endpoint sees
//! it, so nothing unbounded reaches an endpoint or the log.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::Error;

use super::error::ApiError;

/// Longest request target (path and query string) served, bytes.
pub const MAX_TARGET: usize = 8 * 1024;

/// Largest total of header names and values served, bytes.
pub const MAX_HEADERS: usize = 8 * 1024;

/// Middleware: refuse over-long targets (414) and over-large headers (431).
pub async fn bounded(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let target = req.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    if target > MAX_TARGET {
        return Err(ApiError::UriTooLong {
            len: target,
            max: MAX_TARGET,
        }
        .into());
    }
    let headers: usize = req
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if headers > MAX_HEADERS {
        return Err(ApiError::HeadersTooLarge {
            len: headers,
            max: MAX_HEADERS,
        }
        .into());
    }
    next.call(req).await
}
