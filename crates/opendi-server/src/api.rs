//! The JSON API: OmicsDI-compatible endpoints under `/ws/`, with OmicsDI's parameter names
//! and response shapes (see `dto.rs`). Handlers extract, validate, call the engine on the
//! blocking pool, convert to DTOs and respond.

use crate::dto::{self, ListResponse, SearchResponse};
use crate::params::Params;
use crate::{export, find_record, AppError, AppState};
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use opendi_engine::{Engine, Hit, SearchRequest, Sort};
use serde_json::{json, Value};

/// Deepest `start` accepted. Paging has no 10,000-hit cap; this bound only keeps one request
/// from asking the collector for a heap of billions of entries.
pub const MAX_START: usize = 10_000_000;
/// Largest page (OmicsDI's own limit).
pub const MAX_SIZE: usize = 100;

/// `http://host` of the request, for the absolute URLs JSON-LD wants.
pub fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c))
        })
        .unwrap_or("localhost");
    format!("http://{host}")
}

/// OmicsDI's `sortfield`/`order` as an engine sort.
fn sort(p: &Params) -> Result<Sort, AppError> {
    let descending = match p.get("order") {
        None | Some("descending") | Some("desc") => true,
        Some("ascending") | Some("asc") => false,
        Some(o) => {
            return Err(AppError::BadRequest(format!(
                "parameter order must be ascending or descending, not {o:?}"
            )))
        }
    };
    match p.get("sortfield") {
        None | Some("") | Some("relevance") | Some("score") => Ok(Sort::Relevance),
        Some("publication_date") | Some("date") => Ok(if descending {
            Sort::DateDesc
        } else {
            Sort::DateAsc
        }),
        Some(s) => Err(AppError::BadRequest(format!(
            "parameter sortfield must be relevance or publication_date, not {s:?}"
        ))),
    }
}

/// Summaries of hits, reading each record from the store (a page is at most 100).
pub fn summaries(
    engine: &Engine,
    hits: &[Hit],
    reason: Option<&str>,
) -> Result<Vec<dto::DatasetSummary>, AppError> {
    let mut out = Vec::with_capacity(hits.len());
    for h in hits {
        if let Some(rec) = engine.record(h.rid as i64)? {
            if !rec.deleted && !rec.dataset.is_private {
                out.push(dto::summary(&rec.dataset, h.score, reason));
            }
        }
    }
    Ok(out)
}

pub async fn search(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Json<SearchResponse>, AppError> {
    let p = Params::parse(q.as_deref())?;
    let req = SearchRequest {
        query: p.get("query").or(p.get("q")).unwrap_or("").to_string(),
        limit: p.number("size", 20, 0, MAX_SIZE)?,
        offset: p.number("start", 0, 0, MAX_START)?,
        facets: true,
        filters: p.filters()?,
        sort: sort(&p)?,
        facet_size: p.number("faceCount", 20, 0, 1000)?,
        expand_clusters: p.get("clusters") == Some("expand"),
    };
    let size = req.limit;
    let res = state
        .blocking(move |e| {
            let res = e.search(&req)?;
            let datasets = summaries(e, &res.hits[..res.hits.len().min(size)], None)?;
            Ok(SearchResponse {
                count: res.count,
                datasets,
                facets: dto::facets(&res.facets),
                warnings: res.warnings,
            })
        })
        .await?;
    Ok(Json(res))
}

async fn detail(
    state: AppState,
    database: String,
    accession: String,
) -> Result<Response, AppError> {
    let body = state
        .blocking(move |e| {
            let rec = find_record(e, &database, &accession)?;
            let pubs = dto::publications(e, &rec.dataset)?;
            let counters = e.store().counters(rec.id)?;
            Ok(dto::detail(&rec, &pubs, counters, &e.relations(rec.id)?))
        })
        .await?;
    Ok(Json(body).into_response())
}

pub async fn get(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Response, AppError> {
    let p = Params::parse(q.as_deref())?;
    let accession = p.required("accession")?.to_string();
    let database = p.required("database")?.to_string();
    detail(state, database, accession).await
}

pub async fn get_by_path(
    State(state): State<AppState>,
    Path((database, accession)): Path<(String, String)>,
) -> Result<Response, AppError> {
    detail(state, database, accession).await
}

pub async fn similar(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Json<ListResponse>, AppError> {
    let p = Params::parse(q.as_deref())?;
    let accession = p.required("accession")?.to_string();
    let database = p.required("database")?.to_string();
    let size = p.number("size", 10, 1, MAX_SIZE)?;
    let res = state
        .blocking(move |e| {
            let rec = find_record(e, &database, &accession)?;
            let hits = e.similar(rec.id, size)?;
            let datasets = summaries(e, &hits, Some("similar text"))?;
            Ok(ListResponse {
                count: datasets.len(),
                datasets,
            })
        })
        .await?;
    Ok(Json(res))
}

/// The most recently published datasets.
pub fn latest_hits(e: &Engine, size: usize) -> Result<Vec<Hit>, AppError> {
    Ok(e.search(&SearchRequest {
        query: String::new(),
        limit: size,
        sort: Sort::DateDesc,
        ..Default::default()
    })?
    .hits)
}

pub async fn latest(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Json<ListResponse>, AppError> {
    let p = Params::parse(q.as_deref())?;
    let size = p.number("size", 20, 1, MAX_SIZE)?;
    let res = state
        .blocking(move |e| {
            let datasets = summaries(e, &latest_hits(e, size)?, None)?;
            Ok(ListResponse {
                count: datasets.len(),
                datasets,
            })
        })
        .await?;
    Ok(Json(res))
}

fn item(label: &str, value: u64) -> Value {
    json!({ "label": label, "value": value.to_string() })
}

pub async fn statistics_general(State(state): State<AppState>) -> Result<Json<Value>, AppError> {
    let s = state.blocking(|e| Ok(e.stats()?)).await?;
    let facet_len = |name: &str| s.facets.get(name).map_or(0, |v| v.len() as u64);
    Ok(Json(json!([
        item("Datasets", s.store.records),
        item("Repositories", s.store.per_repository.len() as u64),
        item("Omics types", facet_len("omics_type")),
        item("Organisms", facet_len("organism")),
        item("Publications", s.store.publications),
    ])))
}

pub async fn statistics_domains(State(state): State<AppState>) -> Result<Json<Value>, AppError> {
    let s = state.blocking(|e| Ok(e.stats()?)).await?;
    let out: Vec<Value> = s
        .store
        .per_repository
        .iter()
        .map(|(key, n)| {
            json!({
                "domain": {
                    "name": key,
                    "label": opendi_model::repository_name(key),
                    "value": n.to_string(),
                },
                "subdomains": [],
            })
        })
        .collect();
    Ok(Json(Value::Array(out)))
}

pub async fn statistics_omics(State(state): State<AppState>) -> Result<Json<Value>, AppError> {
    let s = state.blocking(|e| Ok(e.stats()?)).await?;
    let out: Vec<Value> = s
        .facets
        .get("omics_type")
        .into_iter()
        .flatten()
        .map(|c| item(&c.value, c.count))
        .collect();
    Ok(Json(Value::Array(out)))
}

pub async fn database_all(State(state): State<AppState>) -> Result<Json<Value>, AppError> {
    let s = state.blocking(|e| Ok(e.store().stats()?)).await?;
    let out: Vec<Value> = s
        .per_repository
        .iter()
        .map(|(key, n)| {
            json!({
                "source": key,
                "databaseName": opendi_model::repository_name(key),
                "datasetCount": n,
                "url": format!("/search?filter=repository:{}", crate::render::query_value(key)),
            })
        })
        .collect();
    Ok(Json(Value::Array(out)))
}

pub async fn seo_schema(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((database, accession)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let base = base_url(&headers);
    let doc = state
        .blocking(move |e| {
            let rec = find_record(e, &database, &accession)?;
            let pubs = dto::publications(e, &rec.dataset)?;
            Ok(export::schema_org(&rec, &pubs, &base))
        })
        .await?;
    Ok((
        [(header::CONTENT_TYPE, "application/ld+json")],
        doc.to_string(),
    )
        .into_response())
}
