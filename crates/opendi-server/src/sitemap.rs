//! `/sitemap.xml` (a sitemap index) and `/sitemap/{n}.xml` (the dataset pages, split at
//! 50,000 URLs per file as the sitemaps protocol requires).
//!
//! Files are cut from the live records in id order: ids never change, so a dataset stays in
//! the same file when it is updated, and only the last file grows as records arrive. `lastmod`
//! is when the record last changed here (for the index: the newest change in the file).

use crate::api::base_url;
use crate::wire::{utc, xml};
use crate::{dto, AppError, AppState};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use std::fmt::Write;

/// The sitemaps protocol's limit of URLs per file.
pub const MAX_URLS: usize = 50_000;

fn xml_response(body: String) -> Response {
    (
        [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
        body,
    )
        .into_response()
}

pub async fn index(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let base = base_url(&headers);
    let split = state.config.sitemap_split.clamp(1, MAX_URLS);
    let body = state
        .blocking(move |e| {
            let mut out = String::from(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
            );
            let mut n = 0u64;
            loop {
                let keys = e.store().live_keys(n * split as u64, split)?;
                if keys.is_empty() && n > 0 {
                    break;
                }
                n += 1;
                let _ = write!(out, "<sitemap><loc>{}</loc>", xml(&format!("{base}/sitemap/{n}.xml")));
                if let Some(last) = keys.iter().map(|k| k.last_ingested).max() {
                    let _ = write!(out, "<lastmod>{}</lastmod>", utc(last));
                }
                out.push_str("</sitemap>\n");
                if keys.len() < split {
                    break;
                }
            }
            out.push_str("</sitemapindex>\n");
            Ok(out)
        })
        .await?;
    Ok(xml_response(body))
}

/// `/sitemap/{n}.xml`, n from 1.
pub async fn file(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Response, AppError> {
    let missing = format!("no sitemap {name}");
    let not_found = move || AppError::NotFound(missing.clone());
    let n: u64 = name
        .strip_suffix(".xml")
        .and_then(|n| n.parse().ok())
        .filter(|n| *n >= 1)
        .ok_or_else(not_found.clone())?;
    let base = base_url(&headers);
    let split = state.config.sitemap_split.clamp(1, MAX_URLS);
    let body = state
        .blocking(move |e| {
            let keys = e.store().live_keys((n - 1) * split as u64, split)?;
            if keys.is_empty() && n > 1 {
                return Err(not_found());
            }
            let mut out = String::from(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
            );
            for k in keys {
                // Private records have no public page; they are rare (draft DOIs), so reading
                // each record to check costs little.
                if e.record(k.id)?.is_none_or(|r| r.dataset.is_private) {
                    continue;
                }
                let _ = writeln!(
                    out,
                    "<url><loc>{}</loc><lastmod>{}</lastmod></url>",
                    xml(&format!("{base}{}", dto::dataset_url(&k.repository, &k.accession))),
                    utc(k.last_ingested)
                );
            }
            out.push_str("</urlset>\n");
            Ok(out)
        })
        .await?;
    Ok(xml_response(body))
}
