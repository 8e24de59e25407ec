//! The versioned API beside the OmicsDI-compatible one, where OmicsDI's shapes are awkward:
//! `/api/v1/search` pages with an opaque cursor that carries the query, filters and sort (so
//! following `next` can neither drop a filter nor reorder), with facets as objects; and
//! `/api/v1/changes?since=SEQ` follows the store's change log, deletions included.

use crate::api::{summaries, MAX_SIZE, MAX_START};
use crate::params::Params;
use crate::wire::{from_token, to_token, utc};
use crate::{dto, AppError, AppState};
use axum::extract::{RawQuery, State};
use axum::Json;
use opendi_engine::{ChangeFilter, SearchRequest, Sort};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// What a cursor carries: the whole search and where the next page starts.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Cursor {
    q: String,
    f: Vec<(String, String)>,
    s: Sort,
    o: usize,
    /// Synonym expansion (absent in cursors issued before it existed: on).
    #[serde(default = "on")]
    e: bool,
}

fn on() -> bool {
    true
}

fn sort_param(p: &Params) -> Result<Sort, AppError> {
    match p.get("sort") {
        None | Some("relevance") => Ok(Sort::Relevance),
        Some("date_desc") => Ok(Sort::DateDesc),
        Some("date_asc") => Ok(Sort::DateAsc),
        Some(other) => Err(AppError::BadRequest(format!(
            "sort must be relevance, date_desc or date_asc, not {other:?}"
        ))),
    }
}

fn bad_cursor() -> AppError {
    AppError::BadRequest("cursor is not one this API issued".into())
}

pub async fn search(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, AppError> {
    let p = Params::parse(raw.as_deref())?;
    let size = p.number("size", 20, 1, MAX_SIZE)?;
    let cursor = match p.get("cursor") {
        Some(c) => {
            // The cursor is the search: sending a query or filters beside it would be
            // ambiguous, so it is refused rather than half-honoured.
            if p.get("q").is_some()
                || p.get("filter").is_some()
                || p.get("sort").is_some()
                || p.get("expand").is_some()
            {
                return Err(AppError::BadRequest(
                    "send either cursor or q/filter/sort/expand, not both".into(),
                ));
            }
            let s = from_token(c).ok_or_else(bad_cursor)?;
            serde_json::from_str::<Cursor>(&s).map_err(|_| bad_cursor())?
        }
        None => Cursor {
            q: p.get("q").unwrap_or("").to_string(),
            f: p.filters()?,
            s: sort_param(&p)?,
            o: 0,
            e: p.switch("expand", true)?,
        },
    };
    if cursor.o > MAX_START {
        return Err(bad_cursor());
    }
    let facet_size = p.number("facets", 10, 0, 1000)?;
    let req = SearchRequest {
        query: cursor.q.clone(),
        limit: size,
        offset: cursor.o,
        facets: facet_size > 0,
        filters: cursor.f.clone(),
        sort: cursor.s,
        facet_size: facet_size.max(1),
        // Every record its own hit: pages then add up to `count`, and an offset cursor
        // walks one fixed order.
        expand_clusters: true,
        expand: cursor.e,
    };
    let (res, items) = state
        .blocking(move |e| {
            let res = e.search(&req)?;
            let hits = &res.hits[..res.hits.len().min(size)];
            let items = summaries(e, hits, None)?;
            Ok((res, items))
        })
        .await?;
    let end = cursor.o + size;
    let next = (end < res.count as usize && end <= MAX_START).then(|| {
        let c = Cursor { o: end, ..cursor };
        to_token(&serde_json::to_string(&c).unwrap_or_default())
    });
    let mut facets = Map::new();
    for (name, counts) in &res.facets {
        let values: Vec<Value> = counts
            .iter()
            .map(|c| json!({ "value": c.value, "count": c.count }))
            .collect();
        facets.insert(name.clone(), Value::Array(values));
    }
    Ok(Json(json!({
        "count": res.count,
        "results": items,
        "facets": facets,
        "next": next,
        "warnings": res.warnings,
        "also_searched_for": res.also_searched_for,
    })))
}

/// Largest page of the change feed.
pub const MAX_CHANGES: usize = 1000;

pub async fn changes(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, AppError> {
    let p = Params::parse(raw.as_deref())?;
    let since = p.number("since", 0, 0, i64::MAX as usize)? as i64;
    let limit = p.number("limit", 100, 1, MAX_CHANGES)?;
    let body = state
        .blocking(move |e| {
            let filter = ChangeFilter {
                include_deleted: true,
                ..Default::default()
            };
            let rows = e.store().changes_filtered(since, limit, &filter)?;
            let last = e.store().last_seq()?;
            let mut out = Vec::with_capacity(rows.len());
            for row in &rows {
                let r = &row.record;
                if !crate::announced(e, r)? {
                    continue;
                }
                let gone = r.deleted || r.dataset.is_private;
                let mut v = json!({
                    "seq": row.seq,
                    "repository": r.repository,
                    "accession": r.accession,
                    "deleted": gone,
                    "datestamp": utc(r.last_ingested),
                });
                if !gone {
                    v["dataset"] = serde_json::to_value(dto::detail_of(e, r)?)?;
                }
                out.push(v);
            }
            let next = rows.last().map_or(since, |r| r.seq);
            Ok(json!({
                "changes": out,
                "next": next,
                "more": next < last,
                "last_seq": last,
            }))
        })
        .await?;
    Ok(Json(body))
}

/// `/api/v1/similar?accession=…[&database=…][&size=…]`: a dataset's precomputed similar list,
/// each entry with its reasons and the other repositories holding the same study.
pub async fn similar(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, AppError> {
    let p = Params::parse(raw.as_deref())?;
    let accession = p.required("accession")?.to_string();
    let database = p.get("database").map(str::to_string);
    let size = p.number("size", 20, 1, MAX_SIZE)?;
    let res = state
        .blocking(move |e| {
            let key = match &database {
                Some(db) => format!("{db}/{accession}"),
                None => accession.clone(),
            };
            let id = *e
                .resolve(&key)?
                .first()
                .ok_or_else(|| AppError::NotFound(format!("no dataset {key}")))?;
            let hits = e.similar(id, size)?;
            let similar: Vec<Value> = hits
                .iter()
                .map(|h| {
                    json!({
                        "accession": h.accession,
                        "repository": h.repository,
                        "title": h.title,
                        "score": h.score,
                        "reasons": h.reasons,
                        "also_in": h.also_in,
                        "url": format!("/dataset/{}/{}", h.repository, h.accession),
                    })
                })
                .collect();
            Ok(json!({ "accession": key, "count": similar.len(), "similar": similar }))
        })
        .await?;
    Ok(Json(res))
}
