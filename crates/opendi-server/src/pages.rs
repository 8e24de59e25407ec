//! The portal: server-rendered HTML that works without JavaScript. Handlers gather what a page
//! shows on the blocking pool, then render an embedded minijinja template (autoescape on).
//! Record HTML goes through the sanitizer; every other value is escaped by the template.

use crate::api::{base_url, latest_hits, summaries, MAX_START};
use crate::dto::{self, PublicationDto};
use crate::params::Params;
use crate::render::{bar_chart, display_date, link_trials, query_value, render, sanitize};
use crate::{export, find_record, AppError, AppState, PageError};
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use minijinja::{context, Value};
use opendi_engine::text::organism_label;
use opendi_engine::{Engine, Highlighter, SearchRequest, SearchResult, Sort};
use serde::Serialize;
use std::collections::BTreeMap;

const PAGE_SIZE: usize = 20;
/// The facets the search page offers, in sidebar order, with their headings.
const SIDEBAR_FACETS: [(&str, &str); 6] = [
    ("repository", "Repository"),
    ("omics_type", "Omics type"),
    ("organism", "Organism"),
    ("disease", "Disease"),
    ("tissue", "Tissue"),
    ("year", "Year"),
];

/// The search page's orders: (parameter value, label). Views live in the store, the others in
/// the index.
const SORTS: [(&str, &str); 5] = [
    ("relevance", "Relevance"),
    ("date_desc", "Newest first"),
    ("date_asc", "Oldest first"),
    ("citations", "Most cited"),
    ("views", "Most viewed"),
];
/// How long a snippet may be, in characters.
const SNIPPET_CHARS: usize = 260;

fn static_file(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

pub async fn stylesheet() -> Response {
    static_file("text/css; charset=utf-8", include_str!("static/style.css"))
}

/// The one script: progressive enhancements (autocomplete, sort on change). A file, never
/// inline, so a Content-Security-Policy without 'unsafe-inline' allows it.
pub async fn script() -> Response {
    static_file(
        "text/javascript; charset=utf-8",
        include_str!("static/app.js"),
    )
}

pub fn error_page(status: StatusCode, message: &str) -> String {
    render(
        "error.html",
        context! { status => status.as_u16(), reason => status.canonical_reason().unwrap_or(""), message },
    )
    .unwrap_or_else(|_| "<!doctype html><title>error</title><p>error</p>".to_string())
}

fn search_href(
    q: &str,
    expand: bool,
    filters: &[(String, String)],
    sort: &str,
    page: usize,
) -> String {
    let mut s = format!("/search?q={}", query_value(q));
    if !expand {
        s.push_str("&expand=off");
    }
    for (k, v) in filters {
        s.push_str(&format!("&filter={}", query_value(&format!("{k}:{v}"))));
    }
    if sort != "relevance" {
        s.push_str(&format!("&sort={sort}"));
    }
    if page > 1 {
        s.push_str(&format!("&page={page}"));
    }
    s
}

fn filter_href(facet: &str, value: &str) -> String {
    search_href(
        "",
        true,
        &[(facet.to_string(), value.to_string())],
        "relevance",
        1,
    )
}

#[derive(Serialize)]
struct ResultItem {
    accession: String,
    repository: String,
    repository_name: String,
    title: String,
    /// The title with the query's words in `<mark>` (escaped), when any is in it.
    title_html: Option<Value>,
    url: String,
    date: Option<String>,
    omics: Vec<String>,
    organisms: Vec<String>,
    snippet: String,
    /// The passage holding the query's words, escaped, words in `<mark>`.
    snippet_html: Option<Value>,
    reason: Option<String>,
    /// Why a similar dataset is listed, one reason per entry.
    reasons: Vec<String>,
    views: Option<u64>,
}

fn result_item(s: dto::DatasetSummary) -> ResultItem {
    highlighted_item(s, None)
}

fn highlighted_item(s: dto::DatasetSummary, hl: Option<&Highlighter>) -> ResultItem {
    let snippet: String = if s.description.chars().count() > SNIPPET_CHARS {
        s.description
            .chars()
            .take(SNIPPET_CHARS - 1)
            .chain(['…'])
            .collect()
    } else {
        s.description.clone()
    };
    ResultItem {
        title_html: hl
            .and_then(|h| h.title(&s.title))
            .map(Value::from_safe_string),
        snippet_html: hl
            .and_then(|h| h.snippet(&s.description))
            .map(Value::from_safe_string),
        views: None,
        repository_name: opendi_model::repository_name(&s.source).to_string(),
        date: s.publication_date.map(|d| {
            opendi_model::PartialDate::parse(&d)
                .map(|p| display_date(&p, false))
                .unwrap_or(d)
        }),
        organisms: s.organisms.into_iter().map(|o| o.name).collect(),
        omics: s.omics_type,
        accession: s.id,
        repository: s.source,
        title: s.title,
        url: s.url,
        snippet,
        reason: s.reason,
        reasons: s.reasons,
    }
}

/// A similar dataset as the dataset page lists it: link, repository, title and reasons, all
/// of which the index keeps (no store read per neighbour).
fn similar_item(h: opendi_engine::Hit) -> ResultItem {
    ResultItem {
        repository_name: opendi_model::repository_name(&h.repository).to_string(),
        url: dto::dataset_url(&h.repository, &h.accession),
        accession: h.accession,
        repository: h.repository,
        title: h.title,
        title_html: None,
        date: h.year.map(|y| y.to_string()),
        omics: Vec::new(),
        organisms: Vec::new(),
        snippet: String::new(),
        snippet_html: None,
        reason: (!h.reasons.is_empty()).then(|| h.reasons.join("; ")),
        reasons: h.reasons,
        views: None,
    }
}

/// Runs a search in the order the page asked for.
fn run_search(e: &Engine, req: &SearchRequest, sort: &str) -> Result<SearchResult, AppError> {
    Ok(match sort {
        "views" => e.search_by_views(req)?,
        _ => e.search(req)?,
    })
}

#[derive(Serialize)]
struct CountLink {
    label: String,
    count: u64,
    href: String,
    selected: bool,
}

pub async fn home(State(state): State<AppState>) -> Result<Html<String>, PageError> {
    let (stats, latest, viewed) = state
        .blocking(|e| {
            let stats = e.stats()?;
            let latest = summaries(e, &latest_hits(e, 10)?, None)?;
            let mut viewed = Vec::new();
            for (id, views) in e.most_viewed(10)? {
                if let Some(rec) = e.record(id)? {
                    if !rec.deleted && !rec.dataset.is_private {
                        let mut item = result_item(dto::summary(&rec.dataset, 0.0, None));
                        item.views = Some(views);
                        viewed.push(item);
                    }
                }
            }
            Ok((stats, latest, viewed))
        })
        .await?;
    let repos: Vec<CountLink> = stats
        .public_per_repository
        .iter()
        .map(|(k, n)| CountLink {
            label: opendi_model::repository_name(k).to_string(),
            count: *n,
            href: filter_href("repository", k),
            selected: false,
        })
        .collect();
    let omics: Vec<CountLink> = stats
        .facets
        .get("omics_type")
        .into_iter()
        .flatten()
        .map(|c| CountLink {
            label: c.value.clone(),
            count: c.count,
            href: filter_href("omics_type", &c.value),
            selected: false,
        })
        .collect();
    let latest: Vec<ResultItem> = latest.into_iter().map(result_item).collect();
    Ok(Html(render(
        "home.html",
        context! { total => stats.indexed_documents, repos, omics, latest, viewed },
    )?))
}

#[derive(Serialize)]
struct FacetBlock {
    name: String,
    heading: String,
    values: Vec<CountLink>,
}

#[derive(Serialize)]
struct ActiveFilter {
    facet: String,
    value: String,
    remove_href: String,
}

#[derive(Serialize)]
struct PageLink {
    number: usize,
    href: String,
    current: bool,
}

pub async fn search(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Html<String>, PageError> {
    let p = Params::parse(raw.as_deref())?;
    let q = p.get("q").unwrap_or("").to_string();
    let filters = p.filters()?;
    let sort_name = p.get("sort").unwrap_or("relevance").to_string();
    let sort = match sort_name.as_str() {
        "relevance" | "views" => Sort::Relevance,
        "date_desc" => Sort::DateDesc,
        "date_asc" => Sort::DateAsc,
        "citations" => Sort::Citations,
        other => {
            let known: Vec<&str> = SORTS.iter().map(|(k, _)| *k).collect();
            return Err(AppError::BadRequest(format!(
                "sort must be one of {}, not {other:?}",
                known.join(", ")
            ))
            .into());
        }
    };
    let page = p.number("page", 1, 1, MAX_START / PAGE_SIZE)?;
    let expand = p.switch("expand", true)?;
    let req = SearchRequest {
        query: q.clone(),
        limit: PAGE_SIZE,
        offset: (page - 1) * PAGE_SIZE,
        facets: true,
        filters: filters.clone(),
        sort,
        facet_size: 15,
        expand,
        ..Default::default()
    };
    let sort_for_engine = sort_name.clone();
    let (res, items) = state
        .blocking(move |e| {
            let res = run_search(e, &req, &sort_for_engine)?;
            let hl = if req.query.trim().is_empty() {
                None
            } else {
                Some(e.highlighter(&req, SNIPPET_CHARS)?)
            };
            let items: Vec<ResultItem> = summaries(e, &res.hits, None)?
                .into_iter()
                .map(|s| highlighted_item(s, hl.as_ref()))
                .collect();
            Ok((res, items))
        })
        .await?;
    let facets: Vec<FacetBlock> = SIDEBAR_FACETS
        .iter()
        .filter_map(|(name, heading)| {
            let counts = res.facets.get(*name)?;
            let values: Vec<CountLink> = counts
                .iter()
                .map(|c| {
                    let selected = filters.iter().any(|(k, v)| k == name && v == &c.value);
                    let mut f = filters.clone();
                    if selected {
                        f.retain(|(k, v)| !(k == name && v == &c.value));
                    } else {
                        f.push((name.to_string(), c.value.clone()));
                    }
                    CountLink {
                        label: if *name == "repository" {
                            opendi_model::repository_name(&c.value).to_string()
                        } else {
                            c.value.clone()
                        },
                        count: c.count,
                        href: search_href(&q, expand, &f, &sort_name, 1),
                        selected,
                    }
                })
                .collect();
            (!values.is_empty()).then(|| FacetBlock {
                name: name.to_string(),
                heading: heading.to_string(),
                values,
            })
        })
        .collect();
    let active: Vec<ActiveFilter> = filters
        .iter()
        .map(|(k, v)| {
            let rest: Vec<(String, String)> = filters
                .iter()
                .filter(|(a, b)| !(a == k && b == v))
                .cloned()
                .collect();
            ActiveFilter {
                facet: SIDEBAR_FACETS
                    .iter()
                    .find(|(n, _)| n == k)
                    .map(|(_, h)| h.to_string())
                    .unwrap_or_else(|| k.clone()),
                value: if k == "repository" {
                    opendi_model::repository_name(v).to_string()
                } else {
                    v.clone()
                },
                remove_href: search_href(&q, expand, &rest, &sort_name, 1),
            }
        })
        .collect();
    let pages = (res.count as usize).div_ceil(PAGE_SIZE);
    let window: Vec<PageLink> = (page.saturating_sub(3).max(1)..=(page + 3).min(pages))
        .map(|n| PageLink {
            number: n,
            href: search_href(&q, expand, &filters, &sort_name, n),
            current: n == page,
        })
        .collect();
    let sorts: Vec<(String, String, String)> = SORTS
        .iter()
        .map(|(k, l)| {
            (
                k.to_string(),
                l.to_string(),
                search_href(&q, expand, &filters, k, 1),
            )
        })
        .collect();
    let href_to = |n: usize| search_href(&q, expand, &filters, &sort_name, n);
    let prev_href = (page > 1).then(|| href_to(page - 1));
    let next_href = (page < pages).then(|| href_to(page + 1));
    let first_href = (page > 1).then(|| href_to(1));
    let ctx = context! {
        q,
        count => res.count,
        items,
        facets,
        active,
        filters => filters.iter().map(|(k, v)| format!("{k}:{v}")).collect::<Vec<_>>(),
        sort => sort_name,
        sorts,
        page,
        pages,
        window,
        first => (page - 1) * PAGE_SIZE + 1,
        prev_href,
        next_href,
        first_href,
        clear_href => search_href(&q, expand, &[], &sort_name, 1),
        warnings => res.warnings,
        also_searched_for => res.also_searched_for,
        expand,
        expand_off_href => search_href(&q, false, &filters, &sort_name, 1),
        expand_on_href => search_href(&q, true, &filters, &sort_name, 1),
    };
    Ok(Html(render("search.html", ctx)?))
}

#[derive(Serialize)]
struct Link {
    label: String,
    href: Option<String>,
}

#[derive(Serialize)]
struct PubView {
    title: String,
    authors: Vec<String>,
    journal: Option<String>,
    date: Option<String>,
    abstract_html: Value,
    links: Vec<Link>,
    citation: Option<String>,
}

/// A link for a cross-reference, where the database is one we know how to address; otherwise
/// a search for the key in opendi itself (the dataset may be here under another repository).
fn xref_href(db: &str, key: &str) -> String {
    let k = query_value(key);
    let folded: String = db
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    match folded.as_str() {
        "pmc" | "pmcid" | "europepmc" => format!("https://europepmc.org/article/PMC/{k}"),
        "pubmed" | "pmid" | "medline" => format!("https://pubmed.ncbi.nlm.nih.gov/{k}/"),
        "doi" => format!("https://doi.org/{key}"),
        "clinicaltrialsgov" | "clinicaltrials" | "nct" => {
            format!("https://clinicaltrials.gov/study/{k}")
        }
        "taxonomy" | "ncbitaxon" => {
            format!("https://www.ncbi.nlm.nih.gov/Taxonomy/Browser/wwwtax.cgi?id={k}")
        }
        "uniprot" | "uniprotkb" => format!("https://www.uniprot.org/uniprotkb/{k}"),
        "chebi" => format!("https://www.ebi.ac.uk/chebi/searchId.do?chebiId={k}"),
        "ensembl" => format!("https://www.ensembl.org/id/{k}"),
        "pride" => format!("https://www.ebi.ac.uk/pride/archive/projects/{k}"),
        "geo" => format!("https://www.ncbi.nlm.nih.gov/geo/query/acc.cgi?acc={k}"),
        "arrayexpress" => format!("https://www.ebi.ac.uk/biostudies/arrayexpress/studies/{k}"),
        "metabolights" => format!("https://www.ebi.ac.uk/metabolights/{k}"),
        _ => format!("/search?q={k}"),
    }
}

/// Only web links become `href`s; anything else (a bare file name, `javascript:`) is text.
fn web_link(s: &str) -> Option<String> {
    let l = s.trim().to_ascii_lowercase();
    (l.starts_with("http://") || l.starts_with("https://") || l.starts_with("ftp://"))
        .then(|| s.trim().to_string())
}

fn pub_view(p: &PublicationDto) -> PubView {
    let mut links = Vec::new();
    if let Some(x) = &p.pmid {
        links.push(Link {
            label: format!("PubMed {x}"),
            href: Some(xref_href("pubmed", x)),
        });
    }
    if let Some(x) = &p.doi {
        links.push(Link {
            label: format!("DOI {x}"),
            href: Some(xref_href("doi", x)),
        });
    }
    if let Some(x) = &p.pmcid {
        links.push(Link {
            label: x.clone(),
            href: Some(xref_href("pmc", x)),
        });
    }
    PubView {
        title: p.title.clone(),
        authors: p.authors.clone(),
        journal: p.journal.clone(),
        date: p
            .date
            .as_deref()
            .and_then(opendi_model::PartialDate::parse)
            .map(|d| display_date(&d, true)),
        abstract_html: Value::from_safe_string(sanitize(&p.abstract_text)),
        links,
        citation: p.citation.clone().filter(|c| c != &p.title),
    }
}

fn term_links(facet: &str, labels: impl Iterator<Item = String>) -> Vec<Link> {
    labels
        .map(|l| Link {
            href: Some(filter_href(facet, &l)),
            label: l,
        })
        .collect()
}

pub async fn dataset(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((repository, accession)): Path<(String, String)>,
) -> Result<Html<String>, PageError> {
    let base = base_url(&headers);
    let (rec, pubs, counters, similar, rel) = state
        .blocking(move |e| {
            let rec = find_record(e, &repository, &accession)?;
            // A view is counted before reading the counters, so the page includes itself.
            if let Err(err) = e.add_view(rec.id) {
                tracing::warn!(%err, id = rec.id, "could not count a view");
            }
            let pubs = dto::publications(e, &rec.dataset)?;
            let counters = e.counters(rec.id)?;
            let similar = e.similar_to(&rec, 10)?;
            let rel = e.relations(rec.id)?;
            Ok((rec, pubs, counters, similar, rel))
        })
        .await?;
    let d = &rec.dataset;
    let jsonld = export::script_json(&export::schema_org(&rec, &pubs, &base));
    let metrics = dto::counters(d, counters, &rel);
    let related = |list: &[opendi_engine::RecordRef]| -> Vec<Value> {
        list.iter()
            .map(|r| {
                context! {
                    accession => r.accession,
                    repository => r.repository,
                    repository_name => opendi_model::repository_name(&r.repository),
                    url => dto::dataset_url(&r.repository, &r.accession),
                    reason => r.reason,
                }
            })
            .collect()
    };
    let xrefs: Vec<(String, Vec<Link>)> = {
        let mut by_db: BTreeMap<String, Vec<Link>> = BTreeMap::new();
        for c in &d.cross_refs {
            by_db.entry(c.database.clone()).or_default().push(Link {
                label: c.key.clone(),
                href: Some(xref_href(&c.database, &c.key)),
            });
        }
        by_db.into_iter().collect()
    };
    let protocols: Vec<(String, Value)> = [
        ("Sample protocol", &d.sample_protocols),
        ("Data protocol", &d.data_protocols),
    ]
    .iter()
    .flat_map(|(k, v)| {
        v.iter()
            .map(move |p| (k.to_string(), Value::from_safe_string(sanitize(p))))
    })
    .collect();
    let files: Vec<Link> = d
        .files
        .iter()
        .map(|f| Link {
            label: f.clone(),
            href: web_link(f),
        })
        .collect();
    let export_base = dto::dataset_url(&d.repository, &d.accession);
    let exports: Vec<(String, String)> = [
        ("JSON", "json"),
        ("JSON-LD", "jsonld"),
        ("BibTeX", "bibtex"),
        ("RIS", "ris"),
    ]
    .iter()
    .map(|(l, f)| (l.to_string(), format!("{export_base}/export/{f}")))
    .collect();
    let meta_description: String = crate::render::plain_text(&d.description)
        .chars()
        .take(300)
        .collect();
    let ctx = context! {
        title => d.title,
        accession => d.accession,
        repository => d.repository,
        repository_name => opendi_model::repository_name(&d.repository),
        repository_href => filter_href("repository", &d.repository),
        secondary => d.secondary_accessions,
        omics => term_links("omics_type", d.omics_types.iter().cloned()),
        description_html => Value::from_safe_string(link_trials(&sanitize(&d.description))),
        meta_description,
        submitters => d.submitters().map(|p| p.name.clone()).collect::<Vec<_>>(),
        lab_heads => d.people.iter().filter(|p| p.role == opendi_model::PersonRole::LabHead).map(|p| p.name.clone()).collect::<Vec<_>>(),
        date => d.main_date().map(|x| display_date(x, false)),
        metrics,
        also_in => related(&rel.also_in),
        cited_by => related(&rel.cited_by),
        reanalysed_by => related(&rel.reanalysed_by),
        organisms => term_links("organism", d.organisms.iter().map(organism_label).filter(|s| !s.is_empty())),
        diseases => term_links("disease", d.diseases.iter().map(|t| t.label.clone())),
        tissues => term_links("tissue", d.tissues.iter().map(|t| t.label.clone())),
        cell_types => term_links("cell_type", d.cell_types.iter().map(|t| t.label.clone())),
        keywords => dto::keywords(d),
        instruments => d.instruments,
        protocols,
        modifications => d.modifications,
        software => d.software,
        files,
        full_link => d.full_dataset_link.as_deref().and_then(web_link),
        license => d.license,
        xrefs,
        publications => pubs.iter().map(pub_view).collect::<Vec<_>>(),
        similar => similar.into_iter().map(similar_item).collect::<Vec<_>>(),
        exports,
        bibtex => export::bibtex(&rec, &base),
        jsonld => Value::from_safe_string(jsonld),
    };
    Ok(Html(render("dataset.html", ctx)?))
}

pub async fn export(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((repository, accession, format)): Path<(String, String, String)>,
) -> Result<Response, PageError> {
    let Some((_, content_type, ext)) = export::FORMATS.iter().find(|(f, _, _)| *f == format) else {
        return Err(AppError::NotFound(format!(
            "no export format {format:?} (json, jsonld, bibtex, ris)"
        ))
        .into());
    };
    let base = base_url(&headers);
    let fmt = format.clone();
    let (body, acc) = state
        .blocking(move |e| {
            let rec = find_record(e, &repository, &accession)?;
            if let Err(err) = e.add_download(rec.id) {
                tracing::warn!(%err, id = rec.id, "could not count a download");
            }
            let body = match fmt.as_str() {
                "json" => serde_json::to_string_pretty(&dto::detail_of(e, &rec)?)?,
                "jsonld" => {
                    let pubs = dto::publications(e, &rec.dataset)?;
                    serde_json::to_string_pretty(&export::schema_org(&rec, &pubs, &base))?
                }
                "bibtex" => export::bibtex(&rec, &base),
                _ => export::ris(&rec, &base),
            };
            Ok((body, rec.accession.clone()))
        })
        .await?;
    let safe_name: String = acc
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{safe_name}.{ext}\""),
            ),
        ],
        body,
    )
        .into_response())
}

pub async fn stats(State(state): State<AppState>) -> Result<Html<String>, PageError> {
    let (s, terms) = state
        .blocking(|e| Ok((e.stats()?, e.frequent_terms(60)?)))
        .await?;
    let cloud = term_cloud(terms);
    let rows = |name: &str, n: usize| -> Vec<(String, u64)> {
        s.facets
            .get(name)
            .into_iter()
            .flatten()
            .take(n)
            .map(|c| (c.value.clone(), c.count))
            .collect()
    };
    let repo_rows: Vec<(String, u64)> = s
        .public_per_repository
        .iter()
        .map(|(k, n)| (k.clone(), *n))
        .collect();
    let mut years = rows("year", 500);
    years.sort_by(|a, b| a.0.cmp(&b.0));
    let chart = |title: &str, facet: &'static str, rows: &[(String, u64)]| {
        Value::from_safe_string(bar_chart(title, rows, |l| Some(filter_href(facet, l))))
    };
    let charts = vec![
        (
            "Datasets per repository",
            chart("Datasets per repository", "repository", &repo_rows),
            repo_rows.len(),
        ),
        (
            "Datasets per omics type",
            chart(
                "Datasets per omics type",
                "omics_type",
                &rows("omics_type", 20),
            ),
            rows("omics_type", 20).len(),
        ),
        (
            "Datasets per year",
            chart("Datasets per publication year", "year", &years),
            years.len(),
        ),
        (
            "Top organisms",
            chart("Top organisms", "organism", &rows("organism", 15)),
            rows("organism", 15).len(),
        ),
        (
            "Top diseases",
            chart("Top diseases", "disease", &rows("disease", 15)),
            rows("disease", 15).len(),
        ),
        (
            "Top tissues",
            chart("Top tissues", "tissue", &rows("tissue", 15)),
            rows("tissue", 15).len(),
        ),
    ];
    Ok(Html(render(
        "stats.html",
        context! {
            records => s.indexed_documents,
            publications => s.store.publications,
            repositories => s.public_per_repository.len(),
            charts,
            cloud,
        },
    )?))
}

#[derive(Serialize)]
struct CloudTerm {
    term: String,
    count: u64,
    href: String,
    /// Size class 1..=6 (a class, not a `style` attribute: the CSP allows no inline styles).
    weight: u8,
}

/// Frequent terms as a cloud: alphabetical, sized by the logarithm of their counts.
fn term_cloud(terms: Vec<opendi_engine::TermCount>) -> Vec<CloudTerm> {
    let max = terms.iter().map(|t| t.count).max().unwrap_or(1).max(1) as f64;
    let min = terms.iter().map(|t| t.count).min().unwrap_or(1).max(1) as f64;
    let span = (max.ln() - min.ln()).max(f64::EPSILON);
    let mut out: Vec<CloudTerm> = terms
        .into_iter()
        .map(|t| CloudTerm {
            weight: 1 + ((((t.count.max(1) as f64).ln() - min.ln()) / span) * 5.0).round() as u8,
            href: format!("/search?q={}", query_value(&t.term)),
            term: t.term,
            count: t.count,
        })
        .collect();
    out.sort_by_key(|t| t.term.to_lowercase());
    out
}
