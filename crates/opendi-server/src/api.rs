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

/// Summaries of hits, their list fields read from the store in one query (a page is at most
/// 100).
pub fn summaries(
    engine: &Engine,
    hits: &[Hit],
    reason: Option<&str>,
) -> Result<Vec<dto::DatasetSummary>, AppError> {
    let ids: Vec<i64> = hits.iter().map(|h| h.rid as i64).collect();
    let heads: std::collections::HashMap<i64, _> = engine.heads(&ids)?.into_iter().collect();
    let mut out = Vec::with_capacity(hits.len());
    for h in hits {
        let Some(d) = heads.get(&(h.rid as i64)).filter(|d| !d.is_private) else {
            continue;
        };
        let mut s = dto::summary(d, h.score, reason);
        if !h.reasons.is_empty() {
            s.reason = Some(h.reasons.join("; "));
            s.reasons = h.reasons.clone();
        }
        out.push(s);
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
        expand: p.switch("expand", true)?,
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
                also_searched_for: res.also_searched_for,
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
            Ok(dto::detail_of(e, &rec)?)
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
            let datasets = summaries(e, &e.similar(rec.id, size)?, None)?;
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
        item("Datasets", s.indexed_documents),
        item("Repositories", s.public_per_repository.len() as u64),
        item("Omics types", facet_len("omics_type")),
        item("Organisms", facet_len("organism")),
        item("Publications", s.store.publications),
    ])))
}

pub async fn statistics_domains(State(state): State<AppState>) -> Result<Json<Value>, AppError> {
    let s = state.blocking(|e| Ok(e.stats()?)).await?;
    let out: Vec<Value> = s
        .public_per_repository
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
    let s = state
        .blocking(|e| Ok(e.index().repository_counts()?))
        .await?;
    let out: Vec<Value> = s
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

/// OmicsDI's list parameters come repeated (`acc=1&acc=2`) or comma-separated (`acc=1,2`).
fn list_param(p: &Params, key: &str) -> Vec<String> {
    p.all(key)
        .flat_map(|v| v.split(','))
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect()
}

/// Datasets citing a PubMed id: `[{accession, database, source, name, description, url}]`.
pub async fn similar_by_pubmed(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Json<Value>, AppError> {
    let p = Params::parse(q.as_deref())?;
    let pmid = p.required("pubmed")?.to_string();
    if !pmid.chars().all(|c| c.is_ascii_digit()) {
        return Err(AppError::BadRequest(format!(
            "parameter pubmed must be a PubMed id (digits), not {pmid:?}"
        )));
    }
    let out = state
        .blocking(move |e| {
            // PMIDs are indexed as identifiers; the record check drops other kinds of
            // identifiers that happen to be the same digits.
            let ids = e.matching_ids(&SearchRequest {
                query: format!("xref:{pmid}"),
                ..Default::default()
            })?;
            let mut out = Vec::new();
            for id in ids.into_iter().take(1000) {
                let Some(r) = e.record(id)? else { continue };
                let d = &r.dataset;
                if r.deleted
                    || d.is_private
                    || !d
                        .publications
                        .iter()
                        .any(|x| x.pmid.as_deref() == Some(&pmid))
                {
                    continue;
                }
                out.push(json!({
                    "accession": d.accession,
                    "database": opendi_model::repository_name(&d.repository),
                    "source": d.repository,
                    "name": d.title,
                    "description": crate::render::plain_text(&d.description),
                    "url": dto::dataset_url(&d.repository, &d.accession),
                }));
            }
            Ok(out)
        })
        .await?;
    Ok(Json(Value::Array(out)))
}

/// The datasets whose pages were viewed most: `{count, datasets: [summary + viewsCount]}`.
pub async fn most_accessed(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Json<ListResponse>, AppError> {
    let p = Params::parse(q.as_deref())?;
    let size = p.number("size", 20, 1, MAX_SIZE)?;
    let res = state
        .blocking(move |e| {
            let mut datasets = Vec::new();
            // Page views are batched in memory: write them first so the order is current.
            e.flush_counts()?;
            for (id, c) in e.store().most_viewed(size * 2)? {
                if let Some(r) = e.record(id)? {
                    if !r.deleted && !r.dataset.is_private && datasets.len() < size {
                        let mut s = dto::summary(&r.dataset, 0.0, None);
                        s.views_count = Some(c.views);
                        datasets.push(s);
                    }
                }
            }
            Ok(ListResponse {
                count: datasets.len(),
                datasets,
            })
        })
        .await?;
    Ok(Json(res))
}

/// Several datasets at once: `accession` and `database` lists matched by position.
/// Answers `{datasets: [detail], failure: [{database, accession}]}` like OmicsDI.
pub async fn batch(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Json<Value>, AppError> {
    let p = Params::parse(q.as_deref())?;
    let accs = list_param(&p, "accession");
    let dbs = list_param(&p, "database");
    if accs.is_empty() {
        return Err(AppError::BadRequest("missing parameter accession".into()));
    }
    if accs.len() != dbs.len() {
        return Err(AppError::BadRequest(format!(
            "{} accessions but {} databases: they are matched by position",
            accs.len(),
            dbs.len()
        )));
    }
    if accs.len() > MAX_SIZE {
        return Err(AppError::BadRequest(format!(
            "at most {MAX_SIZE} datasets per batch"
        )));
    }
    let body = state
        .blocking(move |e| {
            let mut datasets = Vec::new();
            let mut failure = Vec::new();
            for (acc, db) in accs.iter().zip(&dbs) {
                match find_record(e, db, acc) {
                    Ok(rec) => datasets.push(serde_json::to_value(dto::detail_of(e, &rec)?)?),
                    Err(AppError::NotFound(_)) => {
                        failure.push(json!({ "database": db, "accession": acc }))
                    }
                    Err(other) => return Err(other),
                }
            }
            Ok(json!({ "datasets": datasets, "failure": failure }))
        })
        .await?;
    Ok(Json(body))
}

/// Publications by PubMed id, DOI or PMCID (`acc`, repeatable or comma-separated), in
/// OmicsDI's `PublicationDetail` shape.
pub async fn publication_list(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Json<Value>, AppError> {
    let p = Params::parse(q.as_deref())?;
    let accs = list_param(&p, "acc");
    if accs.is_empty() {
        return Err(AppError::BadRequest("missing parameter acc".into()));
    }
    if accs.len() > MAX_SIZE {
        return Err(AppError::BadRequest(format!(
            "at most {MAX_SIZE} publications per request"
        )));
    }
    let body = state
        .blocking(move |e| {
            let mut pubs = Vec::new();
            for acc in &accs {
                let found = if acc.starts_with("10.") {
                    e.store().publication(None, Some(acc), None)?
                } else if acc.to_ascii_uppercase().starts_with("PMC") {
                    e.store().publication(None, None, Some(acc))?
                } else {
                    e.store().publication(Some(acc), None, None)?
                };
                let Some(x) = found else { continue };
                let id = x.pmid.clone().or(x.doi.clone()).or(x.pmcid.clone());
                pubs.push(json!({
                    "id": id,
                    "source": if x.pmid.is_some() { "pubmed" } else { "doi" },
                    "title": x.title,
                    "authors": x.authors,
                    "pubAbstract": if x.abstract_text.is_empty() { vec![] } else { vec![crate::render::plain_text(&x.abstract_text)] },
                    "journal": x.journal,
                    "date": x.date.map(|d| dto::compact_date(&d)),
                    "keywords": Vec::<String>::new(),
                    "affiliation": Vec::<String>::new(),
                }));
            }
            Ok(json!({ "count": pubs.len(), "publications": pubs }))
        })
        .await?;
    Ok(Json(body))
}

/// `[{label, value, id}]` for the top values of one facet over all datasets.
async fn facet_statistics(
    state: AppState,
    q: Option<String>,
    facet: &'static str,
) -> Result<Json<Value>, AppError> {
    let p = Params::parse(q.as_deref())?;
    let size = p.number("size", 20, 1, 1000)?;
    let counts = state
        .blocking(move |e| {
            let res = e.search(&SearchRequest {
                limit: 1,
                facets: true,
                facet_size: size,
                ..Default::default()
            })?;
            Ok(res.facets.get(facet).cloned().unwrap_or_default())
        })
        .await?;
    let out: Vec<Value> = counts
        .iter()
        .take(size)
        .map(|c| json!({ "label": c.value, "value": c.count.to_string(), "id": c.value }))
        .collect();
    Ok(Json(Value::Array(out)))
}

pub async fn statistics_organisms(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Json<Value>, AppError> {
    facet_statistics(state, q, "organism").await
}

pub async fn statistics_tissues(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Json<Value>, AppError> {
    facet_statistics(state, q, "tissue").await
}

pub async fn statistics_diseases(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Json<Value>, AppError> {
    facet_statistics(state, q, "disease").await
}

/// Datasets per year and omics type: `[{year, <omics type in lower case>: count, …}]`, newest
/// year first, counts as strings (OmicsDI's shape).
pub async fn statistics_omics_by_year(
    State(state): State<AppState>,
) -> Result<Json<Value>, AppError> {
    let rows = state
        .blocking(|e| {
            let all = e.search(&SearchRequest {
                limit: 1,
                facets: true,
                facet_size: 50,
                ..Default::default()
            })?;
            let mut years: std::collections::BTreeMap<String, serde_json::Map<String, Value>> =
                Default::default();
            let omics: Vec<String> = all
                .facets
                .get("omics_type")
                .into_iter()
                .flatten()
                .map(|c| c.value.clone())
                .collect();
            for t in &omics {
                let res = e.search(&SearchRequest {
                    limit: 1,
                    facets: true,
                    facet_size: 1,
                    filters: vec![("omics_type".into(), t.clone())],
                    ..Default::default()
                })?;
                for y in res.facets.get("year").into_iter().flatten() {
                    years
                        .entry(y.value.clone())
                        .or_default()
                        .insert(t.to_lowercase(), json!(y.count.to_string()));
                }
            }
            Ok(years
                .into_iter()
                .rev()
                .map(|(year, mut m)| {
                    for t in &omics {
                        m.entry(t.to_lowercase()).or_insert(json!("0"));
                    }
                    m.insert("year".into(), json!(year));
                    Value::Object(m)
                })
                .collect::<Vec<_>>())
        })
        .await?;
    Ok(Json(Value::Array(rows)))
}

/// Suggestions for a typed pattern (`q`, at least 3 characters as in OmicsDI): organism,
/// disease, tissue, cell type and omics labels holding a word that starts with it.
/// `{total_count, items: [{name}]}`.
pub async fn term_by_pattern(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Json<Value>, AppError> {
    let p = Params::parse(q.as_deref())?;
    let pattern = p.get("q").unwrap_or("").to_string();
    let size = p.number("size", 10, 1, MAX_SIZE)?;
    if pattern.chars().count() < 3 {
        return Ok(Json(json!({ "total_count": 0, "items": [] })));
    }
    let found = state
        .blocking(move |e| Ok(e.terms_matching(&pattern, size)?))
        .await?;
    let items: Vec<Value> = found.iter().map(|c| json!({ "name": c.value })).collect();
    Ok(Json(json!({ "total_count": items.len(), "items": items })))
}

/// Words too common to say anything about a dataset.
const STOP_WORDS: &[&str] = &[
    "the",
    "and",
    "for",
    "with",
    "from",
    "this",
    "that",
    "were",
    "was",
    "are",
    "been",
    "have",
    "has",
    "had",
    "which",
    "these",
    "those",
    "their",
    "there",
    "into",
    "than",
    "then",
    "also",
    "using",
    "used",
    "use",
    "can",
    "not",
    "but",
    "all",
    "our",
    "its",
    "between",
    "both",
    "each",
    "other",
    "such",
    "more",
    "most",
    "here",
    "however",
    "may",
    "well",
    "two",
    "one",
    "three",
    "data",
    "dataset",
    "study",
    "studies",
    "results",
    "result",
    "based",
    "after",
    "during",
    "within",
    "under",
    "over",
    "about",
    "through",
    "while",
    "where",
    "when",
    "who",
    "how",
    "what",
    "would",
    "could",
    "should",
    "will",
    "did",
    "does",
    "being",
    "only",
    "some",
    "any",
    "new",
    "high",
    "low",
    "different",
    "show",
    "shows",
    "shown",
    "found",
    "including",
    "without",
    "via",
    "per",
    "non",
    "among",
    "against",
    "further",
    "thus",
    "whether",
    "various",
    "several",
];

/// Records read to count frequent terms (the newest of the domain): a bounded sample keeps
/// the request fast on any corpus; the words that lead it lead the whole corpus too.
const TERM_SAMPLE: usize = 5_000;

/// The most frequent words of a field in one repository (`domain`; `omics` or absent for
/// all): `[{label, frequent}]` with counts as strings, as OmicsDI answers.
pub async fn frequent_terms(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Json<Value>, AppError> {
    let p = Params::parse(q.as_deref())?;
    let size = p.number("size", 20, 1, MAX_SIZE)?;
    let field = p.get("field").unwrap_or("description").to_string();
    if !["description", "name", "title", "keywords"].contains(&field.as_str()) {
        return Err(AppError::BadRequest(format!(
            "parameter field must be description, name, title or keywords, not {field:?}"
        )));
    }
    let domain = p
        .get("domain")
        .filter(|d| !d.eq_ignore_ascii_case("omics"))
        .map(opendi_model::repository_key);
    let terms = state
        .blocking(move |e| {
            let filters = domain
                .map(|d| vec![("repository".to_string(), d)])
                .unwrap_or_default();
            let ids = e.matching_ids(&SearchRequest {
                filters,
                sort: Sort::DateDesc,
                ..Default::default()
            })?;
            let mut counts: std::collections::HashMap<String, u64> = Default::default();
            for id in ids.into_iter().take(TERM_SAMPLE) {
                let Some(r) = e.record(id)? else { continue };
                let d = &r.dataset;
                let text = match field.as_str() {
                    "description" => crate::render::plain_text(&d.description),
                    "keywords" => dto::keywords(d).join(" "),
                    _ => d.title.clone(),
                };
                let mut seen = std::collections::HashSet::new();
                for w in text.split(|c: char| !c.is_alphanumeric() && c != '-') {
                    let w = w.trim_matches('-').to_lowercase();
                    if w.chars().count() < 3
                        || w.chars().all(|c| c.is_ascii_digit())
                        || STOP_WORDS.contains(&w.as_str())
                    {
                        continue;
                    }
                    if seen.insert(w.clone()) {
                        *counts.entry(w).or_default() += 1;
                    }
                }
            }
            let mut v: Vec<(String, u64)> = counts.into_iter().collect();
            v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            v.truncate(size);
            Ok(v)
        })
        .await?;
    let out: Vec<Value> = terms
        .iter()
        .map(|(w, n)| json!({ "label": w, "frequent": n.to_string() }))
        .collect();
    Ok(Json(Value::Array(out)))
}
