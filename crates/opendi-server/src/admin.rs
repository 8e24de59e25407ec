//! The write and admin endpoints: off unless a token is configured (`opendi serve
//! --admin-token`), then reachable only with `Authorization: Bearer TOKEN`.
//!
//! | route | what |
//! |---|---|
//! | `POST /admin/ingest?name=FILE&format=auto&strict=false` | the body is one file in any supported format (plain, gzip or zip); it goes through the normal ingest pipeline; answers its summary (counts and diagnostics) |
//! | `POST /admin/reindex` | rebuilds the search index from the store |
//! | `POST /admin/clusters/merge` | body `{"a": "REPOSITORY/ACCESSION", "b": "…", "note": "…"}`: a curator puts the two records in one cluster (reason "merged by curator: NOTE"); answers both records' clusters |
//! | `POST /admin/clusters/unmerge` | same body: the two records are never in one cluster again (a curated merge between them is replaced); answers both records' clusters |
//! | `GET /admin/clusters/curations` | every curation (merge or split), oldest first |
//!
//! Curations are kept by repository and accession, so they outlive re-ingest, backup and
//! `opendi migrate`; the records whose cluster changed are re-indexed before the answer.
//!
//! Without a token the routes do not exist (404, as any unknown path): a scan learns nothing.

use crate::{AppError, AppState};
use axum::extract::{RawQuery, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use http_body_util::BodyExt;
use opendi_engine::{CurationAction, Engine};
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
        .route("/admin/clusters/merge", post(merge))
        .route("/admin/clusters/unmerge", post(unmerge))
        .route("/admin/clusters/curations", get(curations))
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

/// The body of the cluster routes.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CurateBody {
    a: String,
    b: String,
    #[serde(default)]
    note: String,
}

/// Longest curator's note kept (it is shown on record pages).
const MAX_NOTE_CHARS: usize = 1000;

async fn merge(
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, AppError> {
    curate(state, CurationAction::Merge, &body).await
}

async fn unmerge(
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, AppError> {
    curate(state, CurationAction::Split, &body).await
}

/// `REPOSITORY/ACCESSION` -> the parts (accessions may hold `/`, repositories do not).
fn record_name(name: &str) -> Result<(String, String), AppError> {
    match name.trim().split_once('/') {
        Some((r, a)) if !r.is_empty() && !a.is_empty() => Ok((r.to_string(), a.to_string())),
        _ => Err(AppError::BadRequest(format!(
            "{name:?} is not a record name: give REPOSITORY/ACCESSION, as in geo/GSE1234"
        ))),
    }
}

async fn curate(
    state: AppState,
    action: CurationAction,
    body: &[u8],
) -> Result<Json<Value>, AppError> {
    let req: CurateBody = serde_json::from_slice(body).map_err(|e| {
        AppError::BadRequest(format!(
            "the body must be JSON {{\"a\": \"REPOSITORY/ACCESSION\", \"b\": \"REPOSITORY/ACCESSION\", \"note\": \"…\"}}: {e}"
        ))
    })?;
    let (a, b) = (record_name(&req.a)?, record_name(&req.b)?);
    if a == b {
        return Err(AppError::BadRequest(format!(
            "a and b name the same record {}/{}",
            a.0, a.1
        )));
    }
    if req.note.chars().count() > MAX_NOTE_CHARS {
        return Err(AppError::BadRequest(format!(
            "the note is longer than {MAX_NOTE_CHARS} characters"
        )));
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    state
        .blocking(move |e| {
            let id = |(repo, acc): &(String, String)| -> Result<i64, AppError> {
                let found = e.store().by_key(repo, acc)?;
                let live = match found {
                    Some(id) => e.store().get(id)?.is_some_and(|r| !r.deleted).then_some(id),
                    None => None,
                };
                live.ok_or_else(|| AppError::NotFound(format!("no record {repo}/{acc}")))
            };
            let (ia, ib) = (id(&a)?, id(&b)?);
            let done = e.curate(action, ia, ib, req.note.trim(), now)?;
            let cluster = |id: i64, name: &(String, String)| -> Result<Value, AppError> {
                let rel = e.store().relations(id)?;
                let members: Vec<Value> = rel
                    .also_in
                    .iter()
                    .map(|m| {
                        json!({
                            "record": format!("{}/{}", m.repository, m.accession),
                            "reason": m.reason,
                        })
                    })
                    .collect();
                Ok(json!({
                    "record": format!("{}/{}", name.0, name.1),
                    "cluster": rel.cluster,
                    "also_in": members,
                }))
            };
            let (ca, cb) = (cluster(ia, &a)?, cluster(ib, &b)?);
            Ok(Json(json!({
                "action": action.as_str(),
                "same_cluster": ca["cluster"] == cb["cluster"],
                "reindexed": done.touched.len(),
                "a": ca,
                "b": cb,
            })))
        })
        .await
}

async fn curations(State(state): State<AppState>) -> Result<Json<Value>, AppError> {
    let list = state.blocking(|e| Ok(e.store().curations()?)).await?;
    let rows: Vec<Value> = list
        .iter()
        .map(|c| {
            json!({
                "action": c.action.as_str(),
                "a": format!("{}/{}", c.a_repository, c.a_accession),
                "b": format!("{}/{}", c.b_repository, c.b_accession),
                "note": c.note,
                "created": c.created,
            })
        })
        .collect();
    Ok(Json(json!({ "count": rows.len(), "curations": rows })))
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
    fn record_names_split_at_the_first_slash() {
        assert_eq!(
            record_name(" geo/GSE1 ").ok(),
            Some(("geo".into(), "GSE1".into()))
        );
        assert_eq!(
            record_name("datacite/10.5061/dryad.1").ok(),
            Some(("datacite".into(), "10.5061/dryad.1".into()))
        );
        for bad in ["GSE1", "/GSE1", "geo/", ""] {
            assert!(record_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(token_matches("s3cret", "s3cret"));
        assert!(!token_matches("s3cret", "s3cre"));
        assert!(!token_matches("s3cret", "s3cret!"));
        assert!(!token_matches("s3cret", "S3cret"));
    }
}
