//! The opendi web portal and API: server-rendered HTML for people and JSON for programs
//! (OmicsDI-compatible endpoints under `/ws/`), both over one [`Engine`].
//!
//! This crate knows HTTP only. It never parses a source format and never touches tantivy or
//! the database: every read and every counter goes through `opendi_engine::Engine`, inside
//! `spawn_blocking`, because engine calls do disk I/O and may take milliseconds.
//! [`router`] is separate from [`serve`] so tests drive the whole app without a socket.

// The OpenAPI document is written as `serde_json::json!` literals, whose expansion nests deeper
// than the default limit of 128.
#![recursion_limit = "256"]

mod api;
mod dto;
mod error;
mod export;
mod openapi;
mod pages;
mod params;
mod render;

pub use error::{AppError, PageError};

use axum::routing::get;
use axum::Router;
use opendi_engine::{Engine, StoredRecord};
use std::sync::Arc;

/// What every handler shares: the engine.
#[derive(Clone)]
pub struct AppState {
    engine: Arc<Engine>,
}

impl AppState {
    pub fn new(engine: Engine) -> Self {
        AppState {
            engine: Arc::new(engine),
        }
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Runs `f` on the blocking pool: engine calls read files and must not stall the reactor.
    pub(crate) async fn blocking<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&Engine) -> Result<T, AppError> + Send + 'static,
    {
        let engine = self.engine.clone();
        tokio::task::spawn_blocking(move || f(&engine)).await?
    }
}

/// Every route of the service, defined once (the OpenAPI document lists the `/ws/` ones).
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(pages::home))
        .route("/search", get(pages::search))
        .route("/stats", get(pages::stats))
        .route("/dataset/{repository}/{accession}", get(pages::dataset))
        .route(
            "/dataset/{repository}/{accession}/export/{format}",
            get(pages::export),
        )
        .route("/static/style.css", get(pages::stylesheet))
        .route("/openapi.json", get(openapi::openapi))
        .route("/ws/dataset/search", get(api::search))
        .route("/ws/dataset/get", get(api::get))
        .route("/ws/dataset/getSimilar", get(api::similar))
        .route("/ws/dataset/latest", get(api::latest))
        .route("/ws/dataset/{database}/{accession}", get(api::get_by_path))
        .route("/ws/statistics/general", get(api::statistics_general))
        .route("/ws/statistics/domains", get(api::statistics_domains))
        .route("/ws/statistics/omics", get(api::statistics_omics))
        .route("/ws/database/all", get(api::database_all))
        .route(
            "/ws/seo/schema/{database}/{accession}",
            get(api::seo_schema),
        )
        .fallback(fallback)
        .with_state(state)
}

/// Unknown routes: JSON under the API prefixes, an HTML page elsewhere.
async fn fallback(uri: axum::http::Uri) -> axum::response::Response {
    use axum::response::IntoResponse;
    let err = AppError::NotFound(format!("no route for {}", uri.path()));
    if uri.path().starts_with("/ws/") {
        err.into_response()
    } else {
        err.into_page()
    }
}

/// Finds the live, public record `repository/accession` (the repository in any spelling
/// OmicsDI uses; the accession in any case), or `NotFound`.
pub(crate) fn find_record(
    engine: &Engine,
    repository: &str,
    accession: &str,
) -> Result<StoredRecord, AppError> {
    let repo = opendi_model::repository_key(repository);
    let not_found = || AppError::NotFound(format!("no dataset {accession} in {repository}"));
    let id = match engine.store().by_key(&repo, accession)? {
        Some(id) => Some(id),
        None => {
            let mut found = None;
            for id in engine.store().find_accession(accession)? {
                if engine.record(id)?.is_some_and(|r| r.repository == repo) {
                    found = Some(id);
                    break;
                }
            }
            found
        }
    };
    let rec = engine
        .record(id.ok_or_else(not_found)?)?
        .ok_or_else(not_found)?;
    if rec.deleted || rec.dataset.is_private {
        return Err(not_found());
    }
    Ok(rec)
}

/// Binds `addr`, tells `on_ready` the address it got (port 0 picks one), and serves `state`
/// until Ctrl-C. Builds its own runtime, so callers need not know tokio.
pub fn serve(
    state: AppState,
    addr: &str,
    on_ready: impl FnOnce(std::net::SocketAddr),
) -> std::io::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        tracing::info!(url = %format!("http://{local}/"), "serving");
        on_ready(local);
        axum::serve(listener, router(state))
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
    })
}
