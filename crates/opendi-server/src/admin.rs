//! The write and admin endpoints: off unless a token is configured (`opendi serve
//! --admin-token`), then reachable only with `Authorization: Bearer TOKEN`.
//!
//! | route | what |
//! |---|---|
//! | `POST /admin/ingest?name=FILE&format=auto&strict=false` | the body is one file in any supported format (plain, gzip or zip); it goes through the normal ingest pipeline; answers its summary (counts and diagnostics) |
//! | `POST /admin/reindex` | rebuilds the search index from the store |
//!
//! Without a token the routes do not exist (404, as any unknown path): a scan learns nothing.

use crate::{AppError, AppState};
use axum::extract::{RawQuery, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::post;
use axum::{Json, Router};
use http_body_util::BodyExt;
use opendi_engine::Engine;
use serde_json::{json, Value};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// Runs one uploaded file through the ingest pipeline. The binary provides it (the pipeline
/// lives there, beside the CLI's `ingest`), so an upload is ingested exactly as a file given
/// to `opendi ingest` would be.
pub trait Ingest: Send + Sync {
    /// Ingests `file` (`format`: a format name, or `None` to recognise it from the content;
    /// `strict`: leave records with errors out) and commits; returns the summary as JSON.
    /// A mistake of the caller (an unknown format) is `AppError::BadRequest`.
    fn ingest(
        &self,
        engine: Arc<Engine>,
        file: &Path,
        format: Option<&str>,
        strict: bool,
    ) -> Result<Value, AppError>;
}

/// The admin endpoints' settings.
#[derive(Clone)]
pub struct Admin {
    /// The bearer token the admin routes require.
    pub token: String,
    /// The ingest pipeline behind `POST /admin/ingest` (absent: that route answers 501).
    pub ingest: Option<Arc<dyn Ingest>>,
}

impl std::fmt::Debug for Admin {
    // The token never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admin")
            .field("token", &"…")
            .field("ingest", &self.ingest.is_some())
            .finish()
    }
}

pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/admin/ingest", post(ingest))
        .route("/admin/reindex", post(reindex))
        .route_layer(axum::middleware::from_fn_with_state(state, require_token))
}

/// Whether `given` is the configured token, in time independent of where they differ (only
/// the length can be learned from timing, and a token's length is no secret worth keeping).
fn token_matches(expected: &str, given: &str) -> bool {
    expected.as_bytes().ct_eq(given.as_bytes()).into()
}

async fn require_token(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Result<Response, AppError> {
    let Some(admin) = &state.config.admin else {
        return Err(AppError::NotFound(format!(
            "no route for {}",
            req.uri().path()
        )));
    };
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match given {
        Some(t) if !admin.token.is_empty() && token_matches(&admin.token, t) => {
            Ok(next.run(req).await)
        }
        Some(_) => Err(AppError::Unauthorized("wrong admin token".into())),
        None => Err(AppError::Unauthorized(
            "this route needs the header Authorization: Bearer TOKEN".into(),
        )),
    }
}

/// A file name safe to create: the last path segment, other characters than letters,
/// digits, `.`, `-` and `_` replaced. The name matters: sniffers look at its extension.
fn safe_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let s: String = base
        .chars()
        .take(100)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let s = s.trim_start_matches('.').to_string();
    if s.is_empty() {
        "upload".into()
    } else {
        s
    }
}

/// Removes the uploaded file however the request ends.
struct Upload(std::path::PathBuf);

impl Drop for Upload {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

static UPLOADS: AtomicU64 = AtomicU64::new(0);

async fn ingest(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    req: Request,
) -> Result<Json<Value>, AppError> {
    let p = crate::params::Params::parse(raw.as_deref())?;
    let Some(pipeline) = state.config.admin.as_ref().and_then(|a| a.ingest.clone()) else {
        return Err(AppError::NotFound(
            "this server has no ingest pipeline configured".into(),
        ));
    };
    let format = p.get("format").filter(|f| *f != "auto").map(str::to_string);
    let strict = match p.get("strict") {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(AppError::BadRequest(format!(
                "parameter strict must be true or false, not {other:?}"
            )))
        }
    };
    let dir = state.engine().data_dir().join("uploads");
    std::fs::create_dir_all(&dir)
        .map_err(|e| AppError::Internal(format!("create {}: {e}", dir.display())))?;
    let n = UPLOADS.fetch_add(1, Ordering::Relaxed);
    let path = dir.join(format!(
        "{}-{n}-{}",
        std::process::id(),
        safe_name(p.get("name").unwrap_or("upload"))
    ));
    let upload = Upload(path.clone());
    // Streamed to disk, not buffered: uploads may be large (`max_upload_bytes`).
    let limit = state.config.max_upload_bytes as u64;
    let mut file = std::fs::File::create(&path)
        .map_err(|e| AppError::Internal(format!("create {}: {e}", path.display())))?;
    let mut body = req.into_body();
    let mut written = 0u64;
    while let Some(frame) = body.frame().await {
        let frame = frame
            .map_err(|e| AppError::BadRequest(format!("the upload could not be read: {e}")))?;
        if let Some(data) = frame.data_ref() {
            written += data.len() as u64;
            if written > limit {
                return Err(AppError::TooLarge(format!(
                    "the upload exceeds {limit} bytes"
                )));
            }
            file.write_all(data)
                .map_err(|e| AppError::Internal(format!("write {}: {e}", path.display())))?;
        }
    }
    file.sync_all()
        .map_err(|e| AppError::Internal(format!("write {}: {e}", path.display())))?;
    drop(file);
    if written == 0 {
        return Err(AppError::BadRequest(
            "the request body is empty; send the file to ingest as the body".into(),
        ));
    }
    let engine = state.engine.clone();
    let summary = tokio::task::spawn_blocking(move || {
        let _upload = upload;
        pipeline.ingest(engine, &path, format.as_deref(), strict)
    })
    .await??;
    Ok(Json(json!({ "bytes": written, "summary": summary })))
}

async fn reindex(State(state): State<AppState>) -> Result<Json<Value>, AppError> {
    let indexed = state.blocking(|e| Ok(e.reindex()?)).await?;
    Ok(Json(json!({ "indexed": indexed })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_leave_the_upload_folder() {
        assert_eq!(safe_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_name("a b/c d.xml.gz"), "c_d.xml.gz");
        assert_eq!(safe_name(".."), "upload");
        assert_eq!(safe_name(""), "upload");
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(token_matches("s3cret", "s3cret"));
        assert!(!token_matches("s3cret", "s3cre"));
        assert!(!token_matches("s3cret", "s3cret!"));
        assert!(!token_matches("s3cret", "S3cret"));
    }
}
