//! One error type for every handler, and the stable table that maps it to HTTP.
//!
//! API clients get `{"error": {"code", "message"}}` with the status of the table below; page
//! visitors get the same status with an HTML page. Internal failures are logged with their
//! cause and answered with a generic message: a broken disk is nobody's business but ours.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use opendi_engine::EngineError;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No such dataset, page or route.
    #[error("{0}")]
    NotFound(String),
    /// A parameter the client sent cannot be used.
    #[error("{0}")]
    BadRequest(String),
    /// Another process holds the data directory in a way that stops this request.
    #[error("the index is busy; try again shortly")]
    Busy,
    /// An admin route without the right bearer token.
    #[error("{0}")]
    Unauthorized(String),
    /// A request body over the limit of its route.
    #[error("{0}")]
    TooLarge(String),
    /// A URL (path and query string) over the limit.
    #[error("{0}")]
    UriTooLong(String),
    /// This client sent more requests than the rate limit allows.
    #[error("too many requests from this address (at most {per_second} per second); retry after {retry_after} s")]
    RateLimited { per_second: f64, retry_after: u64 },
    /// The request did not finish within the server's deadline.
    #[error("{0}")]
    Timeout(String),
    /// Anything else: logged, never shown.
    #[error("internal error")]
    Internal(String),
}

impl AppError {
    /// The table: (status, stable machine-readable code).
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            AppError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            AppError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            AppError::Busy => (StatusCode::SERVICE_UNAVAILABLE, "busy"),
            AppError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            AppError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            AppError::UriTooLong(_) => (StatusCode::URI_TOO_LONG, "uri_too_long"),
            AppError::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            AppError::Timeout(_) => (StatusCode::SERVICE_UNAVAILABLE, "timeout"),
            AppError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }

    /// The message a client may see (internal causes stay in the log).
    pub fn public_message(&self) -> String {
        self.to_string()
    }

    /// Headers the status calls for (`Retry-After` on 429, `WWW-Authenticate` on 401).
    fn add_headers(&self, resp: &mut Response) {
        let h = resp.headers_mut();
        match self {
            AppError::RateLimited { retry_after, .. } => {
                h.insert(header::RETRY_AFTER, (*retry_after).into());
            }
            AppError::Unauthorized(_) => {
                h.insert(
                    header::WWW_AUTHENTICATE,
                    header::HeaderValue::from_static("Bearer"),
                );
            }
            _ => {}
        }
    }

    fn log(&self) {
        if let AppError::Internal(cause) = self {
            tracing::error!(%cause, "request failed");
        }
    }

    /// The same error as an HTML page (for the portal's routes).
    pub fn into_page(self) -> Response {
        self.log();
        let (status, _) = self.status_and_code();
        let body = crate::pages::error_page(status, &self.public_message());
        let mut resp = (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            body,
        )
            .into_response();
        self.add_headers(&mut resp);
        resp
    }
}

impl From<EngineError> for AppError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Busy => AppError::Busy,
            EngineError::NotFound(m) => AppError::NotFound(m),
            EngineError::Invalid(m) => AppError::BadRequest(m),
            e => AppError::Internal(e.to_string()),
        }
    }
}

impl From<tokio::task::JoinError> for AppError {
    fn from(e: tokio::task::JoinError) -> Self {
        AppError::Internal(format!("blocking task failed: {e}"))
    }
}

impl From<minijinja::Error> for AppError {
    fn from(e: minijinja::Error) -> Self {
        AppError::Internal(format!("template: {e:#}"))
    }
}

impl From<serde_json::Error> for AppError {
    fn from(e: serde_json::Error) -> Self {
        AppError::Internal(format!("json: {e}"))
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.log();
        let (status, code) = self.status_and_code();
        let body = json!({ "error": { "code": code, "message": self.public_message() } });
        let mut resp = (status, axum::Json(body)).into_response();
        self.add_headers(&mut resp);
        resp
    }
}

/// An [`AppError`] answered as an HTML page: the error type of page handlers.
#[derive(Debug)]
pub struct PageError(pub AppError);

impl From<AppError> for PageError {
    fn from(e: AppError) -> Self {
        PageError(e)
    }
}

impl From<minijinja::Error> for PageError {
    fn from(e: minijinja::Error) -> Self {
        PageError(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        self.0.into_page()
    }
}
