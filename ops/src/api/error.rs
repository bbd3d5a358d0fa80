//! The API's one error type: every failure answers `{"error": "…"}` with its status.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

/// Why a request was not answered with 200. The message is the `error` of the JSON body.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A bad query parameter; the message names it (400).
    #[error("{0}")]
    BadParam(String),
    /// No endpoint at this path (404).
    #[error("no such path `{0}`")]
    NotFound(String),
    /// The endpoint exists but not for this method (405).
    #[error("only GET is served")]
    MethodNotAllowed,
    /// The request target (path and query) is longer than the API reads (414). Ask for less:
    /// the filters of `/v1/events` fit in a few hundred bytes.
    #[error("the request target is {len} bytes; the API reads at most {max}")]
    UriTooLong {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The request's headers are larger than the API reads (431).
    #[error("the request headers are {len} bytes; the API reads at most {max}")]
    HeadersTooLarge {
        /// Their size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A frame's recorded path leads out of its directory (`..`, absolute, a symlink out):
    /// refused (403). The message names the seq; check the data directory for tampering.
    #[error("{0}")]
    OutsideFrames(String),
    /// The log could not answer (500).
    #[error("{0}")]
    Internal(String),
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadParam(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::UriTooLong { .. } => StatusCode::URI_TOO_LONG,
            ApiError::HeadersTooLarge { .. } => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ApiError::OutsideFrames(_) => StatusCode::FORBIDDEN,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status_code()).json(json!({ "error": self.to_string() }))
    }
}
