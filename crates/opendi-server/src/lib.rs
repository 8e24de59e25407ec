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

mod admin;
mod api;
mod dto;
mod error;
mod export;
mod feeds;
mod guard;
mod oai;
mod openapi;
mod pages;
mod params;
mod render;
mod sitemap;
mod suggest;
mod v1;
mod wire;

pub use admin::{Admin, Ingest};
pub use error::{AppError, PageError};
pub use guard::CONTENT_SECURITY_POLICY;
pub use params::{MAX_QUERY_CHARS, MAX_QUERY_DEPTH, MAX_QUERY_TERMS};
pub use sitemap::MAX_URLS as SITEMAP_MAX_URLS;

/// The OpenAPI document `/openapi.json` serves.
pub fn openapi_document() -> serde_json::Value {
    openapi::document()
}

use axum::routing::{get, post};
use axum::Router;
use opendi_engine::{Engine, StoredRecord};
use std::sync::Arc;

/// What every handler shares: the engine, the service's settings and the rate limiter.
#[derive(Clone)]
pub struct AppState {
    engine: Arc<Engine>,
    config: ServerConfig,
    limiter: Arc<guard::RateLimiter>,
    /// Engine calls running at once. More than the cores only adds threads that wait for a
    /// core: with 64 connections and no bound, the blocking pool grew to 64 threads, each with
    /// its own allocator heap (919 MB serving a 10,000-record index) and a p99 of 394 ms.
    slots: Arc<tokio::sync::Semaphore>,
}

/// The service's settings.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// URLs per sitemap file (at most 50,000, the protocol's limit).
    pub sitemap_split: usize,
    /// Records per OAI-PMH list response before a resumption token.
    pub oai_page_size: usize,
    /// The OAI-PMH `adminEmail`.
    pub admin_email: String,
    /// Longest URL (path and query string) accepted, in bytes; longer ones get 414.
    pub max_uri_bytes: usize,
    /// Largest request body accepted (OAI-PMH POST), in bytes; larger ones get 413.
    pub max_body_bytes: usize,
    /// Largest file `POST /admin/ingest` accepts, in bytes.
    pub max_upload_bytes: usize,
    /// Deadline of a request (not of a streamed body once it started); then 503.
    pub request_timeout: std::time::Duration,
    /// Requests per second per client address on `/ws/`, `/api/`, feeds and exports
    /// (bursts of twice that); 0 turns rate limiting off.
    pub rate_limit: f64,
    /// The admin endpoints: `None` (the default) leaves them out (404).
    pub admin: Option<Admin>,
}

/// The default rate: a person, or a script paging politely, never meets it; a crawler
/// hammering the API is slowed to what one client may take of a small public server.
pub const DEFAULT_RATE_LIMIT: f64 = 20.0;

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            sitemap_split: sitemap::MAX_URLS,
            oai_page_size: 100,
            admin_email: "opendi@localhost".into(),
            // Browsers and proxies commonly cap URLs near 8 KiB; no search needs more.
            max_uri_bytes: 8 * 1024,
            max_body_bytes: 64 * 1024,
            max_upload_bytes: 1 << 30,
            request_timeout: std::time::Duration::from_secs(10),
            rate_limit: DEFAULT_RATE_LIMIT,
            admin: None,
        }
    }
}

impl AppState {
    pub fn new(engine: Engine) -> Self {
        Self::shared(Arc::new(engine))
    }

    /// The same engine with other settings.
    pub fn with_config(mut self, config: ServerConfig) -> Self {
        self.config = config;
        self
    }

    /// The state over an engine that other threads hold too (the change-log follower).
    pub fn shared(engine: Arc<Engine>) -> Self {
        AppState {
            engine,
            config: ServerConfig::default(),
            limiter: Arc::default(),
            slots: Arc::new(tokio::sync::Semaphore::new(engine_slots())),
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
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?;
        tokio::task::spawn_blocking(move || f(&engine)).await?
    }
}

/// Engine calls allowed at once: two per core, so a call waiting on the disk leaves its core
/// to another.
fn engine_slots() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get()) * 2
}

/// Every route of the service, defined once (the OpenAPI document lists the `/ws/` ones).
pub fn router(state: AppState) -> Router {
    let admin = state
        .config
        .admin
        .is_some()
        .then(|| admin::routes(state.clone()));
    let upload = state.config.max_upload_bytes;
    let body = state.config.max_body_bytes;
    let mut app = Router::new()
        .route("/", get(pages::home))
        .route("/search", get(pages::search))
        .route("/stats", get(pages::stats))
        .route("/dataset/{repository}/{accession}", get(pages::dataset))
        .route(
            "/dataset/{repository}/{accession}/export/{format}",
            get(pages::export),
        )
        .route("/static/style.css", get(pages::stylesheet))
        .route("/static/app.js", get(pages::script))
        .route("/api/v1/suggest", get(suggest::suggest))
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
        .route(
            "/ws/dataset/getSimilarByPubmed",
            get(api::similar_by_pubmed),
        )
        .route("/ws/dataset/mostAccessed", get(api::most_accessed))
        .route("/ws/dataset/batch", get(api::batch))
        .route("/ws/publication/list", get(api::publication_list))
        .route("/ws/statistics/organisms", get(api::statistics_organisms))
        .route("/ws/statistics/tissues", get(api::statistics_tissues))
        .route("/ws/statistics/diseases", get(api::statistics_diseases))
        .route(
            "/ws/statistics/omicsByYear",
            get(api::statistics_omics_by_year),
        )
        .route("/ws/term/getTermByPattern", get(api::term_by_pattern))
        .route("/ws/term/frequentlyTerm/list", get(api::frequent_terms))
        .route("/api/v1/search", get(v1::search))
        .route("/api/v1/changes", get(v1::changes))
        .route("/api/v1/similar", get(v1::similar))
        .route("/oai", get(oai::oai_get).merge(post(oai::oai_post)))
        .route("/sitemap.xml", get(sitemap::index))
        .route("/sitemap/{file}", get(sitemap::file))
        .route("/search.atom", get(feeds::atom))
        .route("/search.csv", get(feeds::csv))
        .route("/search.jsonl", get(feeds::jsonl))
        .route("/export.jsonl", get(feeds::export_all));
    if let Some(admin) = admin {
        app = app.merge(admin.layer(axum::extract::DefaultBodyLimit::max(upload)));
    }
    app.fallback(fallback)
        .layer(axum::extract::DefaultBodyLimit::max(body))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::guard,
        ))
        .with_state(state)
}

/// Unknown routes: JSON under the API prefixes, an HTML page elsewhere.
async fn fallback(uri: axum::http::Uri) -> axum::response::Response {
    use axum::response::IntoResponse;
    let err = AppError::NotFound(format!("no route for {}", uri.path()));
    let machine = ["/ws/", "/api/", "/admin/"];
    if machine.iter().any(|p| uri.path().starts_with(p)) {
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
    let mut rec = engine.store().get_by_key(&repo, accession)?;
    if rec.is_none() {
        // Another spelling of the accession (case, a secondary accession).
        for id in engine.store().find_accession(accession)? {
            if let Some(r) = engine.record(id)?.filter(|r| r.repository == repo) {
                rec = Some(r);
                break;
            }
        }
    }
    let rec = rec.ok_or_else(not_found)?;
    if rec.deleted || rec.dataset.is_private {
        return Err(not_found());
    }
    Ok(rec)
}

/// Whether the change log's machine readers (OAI-PMH, `/api/v1/changes`) may name a record
/// at all: it is public now, or some earlier version of it was (then it is announced deleted,
/// so harvesters drop their copy). A record that was always private is not named, not even
/// as deleted: its accession would tell who is about to publish what (embargoed datasets are
/// the usual private records).
pub(crate) fn announced(engine: &Engine, rec: &StoredRecord) -> Result<bool, AppError> {
    if !rec.dataset.is_private {
        return Ok(true);
    }
    Ok(engine
        .store()
        .history(rec.id)?
        .iter()
        .any(|h| !h.deleted && !h.dataset.is_private))
}

/// Binds `addr`, tells `on_ready` the address it got (port 0 picks one), and serves `state`
/// until Ctrl-C or SIGTERM. Builds its own runtime, so callers need not know tokio.
pub fn serve(
    state: AppState,
    addr: &str,
    on_ready: impl FnOnce(std::net::SocketAddr),
) -> std::io::Result<()> {
    serve_until(state, addr, on_ready, stop_signal())
}

/// [`serve`] until `stop` completes. Then no new connection is accepted, and requests in
/// flight (a streaming export among them) finish before this returns.
pub fn serve_until(
    state: AppState,
    addr: &str,
    on_ready: impl FnOnce(std::net::SocketAddr),
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        tracing::info!(url = %format!("http://{local}/"), "serving");
        on_ready(local);
        // The peer address is the rate limiter's client key.
        let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                stop.await;
                tracing::info!("stopping: finishing the requests in flight");
            })
            .await
    })
}

/// Ctrl-C, or SIGTERM (what service managers and `docker stop` send) on Unix.
async fn stop_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    {
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                // Without a SIGTERM handler, Ctrl-C still stops the server.
                Err(_) => std::future::pending().await,
            }
        };
        tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    }
    #[cfg(not(unix))]
    ctrl_c.await;
}
