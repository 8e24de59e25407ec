//! Any search as a feed or a file: `/search.atom` (the newest matching datasets, for feed
//! readers), `/search.csv` and `/search.jsonl` (every matching record, streamed), and
//! `/export.jsonl` (every public record, streamed). They take the search page's parameters
//! (`q`, `filter=FACET:VALUE`, `sort`), so a search's URL turns into its feed by its path.

use crate::api::base_url;
use crate::params::Params;
use crate::wire::{csv_field, stream_body, utc, xml, Sink, Stop};
use crate::{dto, AppError, AppState};
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use opendi_engine::{ChangeFilter, Engine, SearchRequest, Sort, StoredRecord};
use std::fmt::Write;

/// The search a feed or download is of.
fn request(p: &Params, default_sort: Sort) -> Result<SearchRequest, AppError> {
    let sort = match p.get("sort") {
        None => default_sort,
        Some("relevance") => Sort::Relevance,
        Some("date_desc") => Sort::DateDesc,
        Some("date_asc") => Sort::DateAsc,
        Some(other) => {
            return Err(AppError::BadRequest(format!(
                "sort must be relevance, date_desc or date_asc, not {other:?}"
            )))
        }
    };
    Ok(SearchRequest {
        query: p.get("q").unwrap_or("").to_string(),
        filters: p.filters()?,
        sort,
        expand: p.switch("expand", true)?,
        ..Default::default()
    })
}

/// `q=…&filter=…` of a search, for links back to it.
fn search_query(req: &SearchRequest) -> String {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    if !req.query.is_empty() {
        pairs.push(("q", req.query.clone()));
    }
    for (k, v) in &req.filters {
        pairs.push(("filter", format!("{k}:{v}")));
    }
    if !req.expand {
        pairs.push(("expand", "off".into()));
    }
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

fn describe(req: &SearchRequest) -> String {
    let mut s = if req.query.trim().is_empty() {
        "all datasets".to_string()
    } else {
        format!("datasets matching “{}”", req.query.trim())
    };
    for (k, v) in &req.filters {
        let _ = write!(s, ", {k}: {v}");
    }
    s
}

/// A public record (live and not private), or None.
fn public(e: &Engine, id: i64) -> Result<Option<StoredRecord>, AppError> {
    Ok(e.record(id)?
        .filter(|r| !r.deleted && !r.dataset.is_private))
}

fn date_time(d: &opendi_model::PartialDate) -> String {
    let (y, m, day) = d.to_ymd();
    format!("{y:04}-{m:02}-{day:02}T00:00:00Z")
}

/// Entries in an Atom feed (RFC 4287).
const ATOM_SIZE: usize = 50;

pub async fn atom(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, AppError> {
    let p = Params::parse(raw.as_deref())?;
    let mut req = request(&p, Sort::DateDesc)?;
    req.limit = p.number("size", ATOM_SIZE, 1, crate::api::MAX_SIZE)?;
    let base = base_url(&headers);
    let body = state
        .blocking(move |e| {
            let res = e.search(&req)?;
            let mut records = Vec::new();
            for h in &res.hits {
                if let Some(r) = public(e, h.rid as i64)? {
                    records.push(r);
                }
            }
            let qs = search_query(&req);
            let self_href = format!("{base}/search.atom?{qs}");
            let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n");
            let _ = writeln!(out, "<title>opendi: {}</title>", xml(&describe(&req)));
            let _ = writeln!(out, "<id>{}</id>", xml(&self_href));
            let _ = writeln!(out, "<link rel=\"self\" type=\"application/atom+xml\" href=\"{}\"/>", xml(&self_href));
            let _ = writeln!(out, "<link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>", xml(&format!("{base}/search?{qs}")));
            let updated = records.iter().map(|r| r.last_ingested).max().unwrap_or(0);
            let _ = writeln!(out, "<updated>{}</updated>", utc(updated));
            out.push_str("<author><name>opendi</name></author>\n<generator>opendi</generator>\n");
            for r in &records {
                let d = &r.dataset;
                let url = format!("{base}{}", dto::dataset_url(&d.repository, &d.accession));
                out.push_str("<entry>");
                let _ = write!(out, "<title>{}</title><id>{}</id>", xml(&d.title), xml(&url));
                let _ = write!(out, "<link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>", xml(&url));
                let _ = write!(out, "<updated>{}</updated>", utc(r.last_ingested));
                if let Some(date) = d.main_date() {
                    let _ = write!(out, "<published>{}</published>", date_time(date));
                }
                for t in &d.omics_types {
                    let _ = write!(out, "<category term=\"{}\"/>", xml(t));
                }
                let text = crate::render::plain_text(&d.description);
                let summary: String = text.chars().take(600).collect();
                let _ = write!(
                    out,
                    "<summary>{} | {}{}</summary>",
                    xml(&d.accession),
                    xml(opendi_model::repository_name(&d.repository)),
                    if summary.trim().is_empty() { String::new() } else { format!(" — {}", xml(summary.trim())) }
                );
                out.push_str("</entry>\n");
            }
            out.push_str("</feed>\n");
            Ok(out)
        })
        .await?;
    Ok((
        [(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")],
        body,
    )
        .into_response())
}

/// The record's line in JSONL downloads: the API's dataset detail shape.
fn json_line(e: &Engine, r: &StoredRecord, sink: &mut Sink) -> Result<(), Stop> {
    let mut line = serde_json::to_string(&dto::detail_of(e, r)?)?;
    line.push('\n');
    Ok(sink.write(&line)?)
}

const CSV_HEADER: &str = "repository,accession,title,omics_types,organisms,diseases,tissues,publication_date,url,description\r\n";

fn csv_line(r: &StoredRecord, base: &str, sink: &mut Sink) -> Result<(), Stop> {
    let d = &r.dataset;
    let join = |v: Vec<String>| v.join("; ");
    let fields = [
        d.repository.clone(),
        d.accession.clone(),
        d.title.clone(),
        join(d.omics_types.clone()),
        join(dto::organisms(d).into_iter().map(|o| o.name).collect()),
        join(d.diseases.iter().map(|t| t.label.clone()).collect()),
        join(d.tissues.iter().map(|t| t.label.clone()).collect()),
        d.main_date().map(|x| x.to_string()).unwrap_or_default(),
        format!("{base}{}", dto::dataset_url(&d.repository, &d.accession)),
        crate::render::plain_text(&d.description),
    ];
    let mut line = fields
        .iter()
        .map(|f| csv_field(f))
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    Ok(sink.write(&line)?)
}

fn download(content_type: &'static str, filename: &str, body: axum::body::Body) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// Streams every record a search matches, `line` writing each.
fn stream_search(
    state: &AppState,
    req: SearchRequest,
    head: &'static str,
    line: impl Fn(&Engine, &StoredRecord, &mut Sink) -> Result<(), Stop> + Send + 'static,
) -> axum::body::Body {
    stream_body(state, move |e, sink| {
        sink.write(head)?;
        for id in e.matching_ids(&req)? {
            if let Some(r) = public(e, id)? {
                line(e, &r, sink)?;
            }
        }
        Ok(())
    })
}

pub async fn csv(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, AppError> {
    let p = Params::parse(raw.as_deref())?;
    let req = request(&p, Sort::Relevance)?;
    let base = base_url(&headers);
    let body = stream_search(&state, req, CSV_HEADER, move |_, r, sink| {
        csv_line(r, &base, sink)
    });
    Ok(download(
        "text/csv; charset=utf-8",
        "opendi-search.csv",
        body,
    ))
}

pub async fn jsonl(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, AppError> {
    let p = Params::parse(raw.as_deref())?;
    let req = request(&p, Sort::Relevance)?;
    let body = stream_search(&state, req, "", json_line);
    Ok(download(
        "application/x-ndjson",
        "opendi-search.jsonl",
        body,
    ))
}

/// Every public record, in change-log order (so a dump can be followed by
/// `/api/v1/changes?since=` the last `seq` it saw: the `X-Opendi-Seq` header).
pub async fn export_all(State(state): State<AppState>) -> Result<Response, AppError> {
    let last = state.blocking(|e| Ok(e.store().last_seq()?)).await?;
    let body = stream_body(&state, move |e, sink| {
        let mut after = 0;
        loop {
            let rows = e
                .store()
                .changes_filtered(after, 500, &ChangeFilter::default())?;
            let Some(end) = rows.last().map(|r| r.seq) else {
                break;
            };
            for row in rows {
                // Changes after the dump began are the change feed's to report.
                if row.seq > last {
                    return Ok(());
                }
                if !row.record.dataset.is_private {
                    json_line(e, &row.record, sink)?;
                }
            }
            after = end;
        }
        Ok(())
    });
    let mut res = download("application/x-ndjson", "opendi-export.jsonl", body);
    res.headers_mut()
        .insert("x-opendi-seq", axum::http::HeaderValue::from(last));
    Ok(res)
}
