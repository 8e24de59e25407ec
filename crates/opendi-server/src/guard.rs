//! What stands between the network and the handlers, for every route: security headers on
//! every response, limits on URL and body sizes, a deadline per request and per-client rate
//! limiting of the machine endpoints. One middleware ([`guard`]) so no route can miss them.

use crate::{AppError, AppState};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The Content-Security-Policy of every response. No `'unsafe-inline'`: the pages load one
/// script and one stylesheet from this origin and carry no inline script, style or event
/// attribute (a `<script type="application/ld+json">` is a data block, never executed). So
/// markup that slipped into a page could still not run script, load a style or a frame, or
/// send a form elsewhere. `img-src data:` is for the inline SVG charts' fallbacks only.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
manifest-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// Adds the security headers to a response (kept when a handler set one itself).
fn secure(headers: &mut HeaderMap) {
    let set = [
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        // For browsers older than CSP's frame-ancestors.
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        // Links out to repositories keep telling them where readers come from (the origin),
        // never which search or page (the path and query may name a patient's disease).
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        ),
        (
            header::HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ),
    ];
    for (name, value) in set {
        headers.entry(name).or_insert(value);
    }
}

/// How errors of a path are answered: an HTML page for the portal, JSON elsewhere.
fn is_page(path: &str) -> bool {
    const MACHINE: [&str; 8] = [
        "/ws/",
        "/api/",
        "/admin/",
        "/oai",
        "/sitemap",
        "/openapi.json",
        "/export.jsonl",
        "/static/",
    ];
    !MACHINE.iter().any(|p| path.starts_with(p))
        && !path.starts_with("/search.")
        && !path.contains("/export/")
}

/// The paths rate limiting applies to: the API, the feeds and the exports (the pages are
/// cheap to serve and a person reading them never comes near a limit).
fn is_limited(path: &str) -> bool {
    path.starts_with("/ws/")
        || path.starts_with("/api/")
        || path.starts_with("/search.")
        || path.starts_with("/export.")
        || path.contains("/export/")
}

fn answer(err: AppError, page: bool) -> Response {
    if page {
        err.into_page()
    } else {
        err.into_response()
    }
}

/// The middleware every request passes: limits, rate, deadline, then the security headers.
pub async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let page = is_page(&path);
    let mut resp = match check(&state, &req, &path) {
        Err(e) => answer(e, page),
        // Admin ingests run as long as their file needs; the deadline is for the public.
        Ok(()) if path.starts_with("/admin/") => next.run(req).await,
        Ok(()) => {
            let limit = state.config.request_timeout;
            match tokio::time::timeout(limit, next.run(req)).await {
                Ok(r) => r,
                Err(_) => {
                    // The engine call may still finish on the blocking pool; its result is
                    // dropped. The deadline frees the connection and tells the client why.
                    tracing::warn!(%path, ?limit, "request timed out");
                    answer(
                        AppError::Timeout(format!(
                            "the request took longer than {} ms and was stopped; narrow the query or try again later",
                            limit.as_millis()
                        )),
                        page,
                    )
                }
            }
        }
    };
    secure(resp.headers_mut());
    resp
}

fn check(state: &AppState, req: &Request, path: &str) -> Result<(), AppError> {
    let c = &state.config;
    let uri_len = req.uri().path().len() + req.uri().query().map_or(0, |q| q.len() + 1);
    if uri_len > c.max_uri_bytes {
        return Err(AppError::UriTooLong(format!(
            "the URL is {uri_len} bytes long; at most {} are accepted",
            c.max_uri_bytes
        )));
    }
    let max_body = if path == "/admin/ingest" {
        c.max_upload_bytes
    } else {
        c.max_body_bytes
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(n) = declared.filter(|n| *n > max_body as u64) {
        return Err(AppError::TooLarge(format!(
            "the request body is {n} bytes; at most {max_body} are accepted here"
        )));
    }
    if c.rate_limit > 0.0 && is_limited(path) {
        // Requests without a peer address come from inside the process (tests, tools).
        if let Some(ConnectInfo(addr)) = req.extensions().get::<ConnectInfo<SocketAddr>>() {
            state
                .limiter
                .take(addr.ip(), c.rate_limit, Instant::now())
                .map_err(|wait| AppError::RateLimited {
                    per_second: c.rate_limit,
                    retry_after: wait.as_secs_f64().ceil().max(1.0) as u64,
                })?;
        }
    }
    Ok(())
}

/// Token buckets per client address: each holds up to `2 × rate` tokens (a burst, a page
/// of suggestions as someone types), refills at `rate` per second, and a request takes one.
///
/// The client is the connection's peer address: `X-Forwarded-For` is not trusted, since any
/// client can send it. Behind a reverse proxy, the proxy should rate-limit instead.
#[derive(Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

#[derive(Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Buckets kept before idle ones are dropped (a full bucket is the same as no bucket).
const MAX_BUCKETS: usize = 10_000;

impl RateLimiter {
    /// Takes a token for `ip`, or says how long until one is there.
    pub fn take(&self, ip: IpAddr, rate: f64, now: Instant) -> Result<(), Duration> {
        let burst = (rate * 2.0).max(1.0);
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_BUCKETS && !buckets.contains_key(&ip) {
            buckets.retain(|_, b| {
                b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * rate < burst
            });
        }
        let b = buckets.entry(ip).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * rate).min(burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - b.tokens) / rate))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_a_burst_then_refills_at_the_rate() {
        let l = RateLimiter::default();
        let ip: IpAddr = [10, 0, 0, 1].into();
        let t0 = Instant::now();
        for _ in 0..10 {
            assert!(l.take(ip, 5.0, t0).is_ok());
        }
        let wait = l.take(ip, 5.0, t0).expect_err("burst of 10 used up");
        assert_eq!(wait, Duration::from_millis(200));
        // Another client has its own bucket.
        assert!(l.take([10, 0, 0, 2].into(), 5.0, t0).is_ok());
        // 200 ms later (a clock given, not waited for) one more request fits.
        let t1 = t0 + Duration::from_millis(200);
        assert!(l.take(ip, 5.0, t1).is_ok());
        assert!(l.take(ip, 5.0, t1).is_err());
    }

    #[test]
    fn pages_answer_html_and_the_api_json() {
        assert!(is_page("/") && is_page("/search") && is_page("/dataset/pride/PXD1"));
        assert!(!is_page("/ws/dataset/search") && !is_page("/search.csv"));
        assert!(!is_page("/dataset/pride/PXD1/export/json"));
        assert!(is_limited("/api/v1/suggest") && is_limited("/export.jsonl"));
        assert!(!is_limited("/search") && !is_limited("/oai"));
    }

    #[test]
    fn a_timeout_is_a_page_for_people_and_json_for_programs() {
        let page = answer(AppError::Timeout("slow".into()), true);
        assert_eq!(page.status(), axum::http::StatusCode::SERVICE_UNAVAILABLE);
        let ct = |r: &Response| {
            r.headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        assert_eq!(ct(&page).as_deref(), Some("text/html; charset=utf-8"));
        let json = answer(AppError::Timeout("slow".into()), false);
        assert_eq!(ct(&json).as_deref(), Some("application/json"));
    }
}
