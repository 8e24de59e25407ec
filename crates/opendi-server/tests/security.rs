//! Issue 6, the web and access half, through `router(state).oneshot(…)` over real records:
//! security headers on every kind of response, private records kept from every public way
//! out, the admin endpoints (off by default, bearer token), size limits, queries of death,
//! the request deadline, per-client rate limiting, and graceful shutdown on a real socket.
//!
//! The fixture is its own engine (the seed record and the `ddi-annotation` OmicsDI dumps) plus
//! two private records: one alone in its own repository carrying a unique word, organism and
//! disease, and one sharing the seed record's accession (so it joins the seed's cluster) and
//! title (so it would be the seed's most similar dataset) — if anything let them through.

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use opendi_engine::{Change, Engine, EngineConfig, NewRecord};
use opendi_ingest::{read_all, source::expand};
use opendi_model::{Dataset, DateKind, DatedValue, Evidence, Item, Organism, PartialDate, Term};
use opendi_server::{router, Admin, AppError, AppState, Ingest, ServerConfig};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};
use tower::ServiceExt;

/// The private records' unique word, accessions, repository, organism and disease: none may
/// appear in anything an anonymous client receives.
const NEEDLES: [&str; 6] = [
    "zqxprivateword",
    "PRIV0001",
    "PXDPRIV42",
    "privrepo",
    "Privatus organismus",
    "Zqxitis",
];
const SEED_TITLE: &str = "Combination of umbilical cord mesenchymal stem cells and standard immunosuppressive regimen for pediatric patients with severe aplastic anemia.";

fn upserts(paths: &[PathBuf]) -> Vec<Change> {
    let sources: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    let (items, _) = read_all(
        &expand(&sources).expect("expand sources"),
        PartialDate::ymd(2026, 1, 1).expect("date"),
    );
    items
        .into_iter()
        .filter_map(|i| match i {
            Item::Record(r) => Some(Change::Upsert(Box::new(NewRecord::from_source(*r)))),
            _ => None,
        })
        .collect()
}

fn private_records() -> Vec<Change> {
    let mut a = Dataset::new("privrepo", "PRIV0001");
    a.title = format!("{SEED_TITLE} zqxprivateword");
    a.description = "Aplastic anemia in children, zqxprivateword cohort.".into();
    a.omics_types = vec!["Proteomics".into()];
    a.organisms = vec![Organism {
        taxon_id: None,
        name: "Privatus organismus".into(),
        evidence: Evidence::Declared,
    }];
    a.diseases = vec![Term::label("Zqxitis")];
    a.submitter_keywords = vec!["zqxprivateword".into()];
    a.dates = vec![DatedValue {
        kind: DateKind::Publication,
        value: PartialDate::parse("2030-01-01"),
        raw: "2030-01-01".into(),
    }];
    a.is_private = true;
    let mut b = Dataset::new("pride", "PXDPRIV42");
    b.secondary_accessions = vec!["S-EPMC7912947".into()];
    b.title = SEED_TITLE.into();
    b.description = "zqxprivateword".into();
    b.is_private = true;
    [a, b]
        .into_iter()
        .map(|d| {
            Change::Upsert(Box::new(NewRecord::new(
                d,
                String::new(),
                "test".into(),
                "test".into(),
                vec![],
                None,
            )))
        })
        .collect()
}

struct Fixture {
    _dir: tempfile::TempDir,
    engine: Arc<Engine>,
    /// Live public records.
    public: u64,
}

fn build_engine(dir: &Path) -> Option<(Engine, u64)> {
    let seed = opendi_corpora::seed("S-EPMC7912947.omicsdi.xml")?;
    let ddi = opendi_corpora::corpus("omicsdi-xml/ddi-annotation")?;
    let engine = Engine::open(EngineConfig::new(dir)).expect("open engine");
    let public = upserts(&[seed, ddi]);
    let n = public.len() as u64;
    engine.apply(&public, 1_700_000_000).expect("apply");
    engine
        .apply(&private_records(), 1_700_000_100)
        .expect("apply private");
    engine.commit().expect("commit");
    Some((engine, n))
}

static FIXTURE: LazyLock<Option<Fixture>> = LazyLock::new(|| {
    let dir = tempfile::tempdir().expect("temp dir");
    let (engine, public) = build_engine(dir.path())?;
    Some(Fixture {
        _dir: dir,
        engine: Arc::new(engine),
        public,
    })
});

/// The fixture, or None where the corpora are absent (`opendi_corpora` said why, or failed
/// the test under `OPENDI_REQUIRE_CORPORA=1`).
fn fixture() -> Option<&'static Fixture> {
    FIXTURE.as_ref()
}

fn state_with(config: ServerConfig) -> Option<AppState> {
    fixture().map(|f| AppState::shared(f.engine.clone()).with_config(config))
}

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| {
            panic!("not JSON ({e}): {}", &self.body[..self.body.len().min(300)])
        })
    }
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

async fn send(state: &AppState, req: Request<Body>) -> Reply {
    let res = router(state.clone())
        .oneshot(req)
        .await
        .expect("infallible");
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

async fn get(state: &AppState, uri: &str) -> Reply {
    send(
        state,
        Request::get(uri)
            .header("host", "opendi.test")
            .body(Body::empty())
            .expect("request"),
    )
    .await
}

fn post(uri: &str, token: Option<&str>, body: Vec<u8>) -> Request<Body> {
    let mut r = Request::post(uri).header("host", "opendi.test");
    if let Some(t) = token {
        r = r.header("authorization", format!("Bearer {t}"));
    }
    r.body(Body::from(body)).expect("request")
}

fn assert_secure(uri: &str, r: &Reply) {
    let csp = r.header("content-security-policy");
    assert_eq!(csp, opendi_server::CONTENT_SECURITY_POLICY, "{uri}");
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"));
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"));
    assert_eq!(r.header("x-content-type-options"), "nosniff", "{uri}");
    assert_eq!(r.header("x-frame-options"), "DENY", "{uri}");
    assert_eq!(
        r.header("referrer-policy"),
        "strict-origin-when-cross-origin",
        "{uri}"
    );
}

/// Inline script (other than JSON-LD data blocks), `<style>` or `style=` in a page: what the
/// CSP would block, so the page must not need it.
fn assert_no_inline_code(uri: &str, html: &str) {
    let lower = html.to_ascii_lowercase();
    for (i, _) in lower.match_indices("<script") {
        let tag = &lower[i..i + lower[i..].find('>').unwrap_or(0)];
        assert!(
            tag.contains(" src=") || tag.contains("type=\"application/ld+json\""),
            "{uri}: inline script {tag}"
        );
    }
    assert!(!lower.contains("<style"), "{uri}: <style> element");
    assert!(!lower.contains(" style=\""), "{uri}: style attribute");
}

#[tokio::test]
async fn security_headers_on_every_kind_of_response() {
    let Some(state) = state_with(ServerConfig::default()) else {
        return;
    };
    let long = format!("/ws/dataset/search?query={}", "a".repeat(9000));
    let cases: [(&str, u16); 17] = [
        ("/", 200),
        ("/search?q=aplastic", 200),
        ("/dataset/biostudies-literature/S-EPMC7912947", 200),
        ("/stats", 200),
        ("/static/style.css", 200),
        ("/static/app.js", 200),
        ("/ws/dataset/search?query=anemia", 200),
        ("/api/v1/suggest?q=apl", 200),
        ("/oai?verb=Identify", 200),
        ("/sitemap.xml", 200),
        ("/export.jsonl", 200),
        ("/search.atom?q=anemia", 200),
        ("/no/such/page", 404),
        ("/ws/no/such", 404),
        ("/search?sort=bogus", 400),
        ("/admin/reindex", 404),
        (&long, 414),
    ];
    for (uri, status) in cases {
        let r = get(&state, uri).await;
        assert_eq!(r.status.as_u16(), status, "{uri}: {}", r.body);
        assert_secure(uri, &r);
        if r.header("content-type").starts_with("text/html") {
            assert_no_inline_code(uri, &r.body);
        }
    }
    eprintln!("security headers checked on {} responses", cases.len());
}

#[tokio::test]
async fn private_records_reach_no_anonymous_reader() {
    let Some(state) = state_with(ServerConfig {
        sitemap_split: 20,
        oai_page_size: 1000,
        ..Default::default()
    }) else {
        return;
    };
    let f = fixture().expect("fixture");
    let seed_page = "/dataset/biostudies-literature/S-EPMC7912947";
    // The seed page is viewed once so "most viewed" lists have an entry.
    assert_eq!(get(&state, seed_page).await.status, StatusCode::OK);

    // Every public way out, none of which names a private record in its request: the body
    // must not name one either.
    let listing = [
        "/",
        "/search?q=",
        "/search?q=aplastic%20anemia",
        "/search?q=&filter=omics_type:Proteomics",
        "/search?q=&sort=date_desc",
        "/stats",
        seed_page,
        "/dataset/biostudies-literature/S-EPMC7912947/export/json",
        "/dataset/biostudies-literature/S-EPMC7912947/export/jsonld",
        "/api/v1/suggest?q=zqx",
        "/api/v1/suggest?q=priv",
        "/api/v1/suggest?q=Privatu",
        "/api/v1/search?q=&facets=1000&size=100",
        "/api/v1/search?q=aplastic",
        "/api/v1/changes?limit=1000",
        "/ws/dataset/search?query=&size=100",
        "/ws/dataset/search?query=aplastic%20anemia",
        "/ws/dataset/getSimilar?accession=S-EPMC7912947&database=biostudies-literature",
        "/ws/dataset/latest?size=100",
        "/ws/dataset/mostAccessed",
        "/ws/dataset/biostudies-literature/S-EPMC7912947",
        "/ws/dataset/get?accession=S-EPMC7912947&database=biostudies-literature",
        "/ws/statistics/general",
        "/ws/statistics/domains",
        "/ws/statistics/omics",
        "/ws/statistics/organisms",
        "/ws/statistics/tissues",
        "/ws/statistics/diseases",
        "/ws/statistics/omicsByYear",
        "/ws/database/all",
        "/ws/term/getTermByPattern?q=zqx",
        "/ws/term/getTermByPattern?q=priv",
        "/ws/term/frequentlyTerm/list?size=100",
        "/ws/publication/list?acc=S-EPMC7912947",
        "/oai?verb=ListRecords&metadataPrefix=oai_dc",
        "/oai?verb=ListRecords&metadataPrefix=oai_datacite",
        "/oai?verb=ListIdentifiers&metadataPrefix=oai_dc",
        "/oai?verb=ListSets",
        "/sitemap.xml",
        "/sitemap/1.xml",
        "/sitemap/2.xml",
        "/sitemap/3.xml",
        "/search.atom?q=",
        "/search.csv?q=",
        "/search.jsonl?q=",
        "/export.jsonl",
    ];
    for uri in listing {
        let r = get(&state, uri).await;
        assert!(
            r.status == StatusCode::OK || uri.starts_with("/sitemap/"),
            "{uri}: {} {}",
            r.status,
            &r.body[..r.body.len().min(300)]
        );
        let body = r.body.to_lowercase();
        for n in NEEDLES {
            assert!(
                !body.contains(&n.to_lowercase()),
                "{uri} names the private {n:?}"
            );
        }
    }
    // A search for the private word, by any way in, finds nothing (the word is echoed back
    // as the query, so here the counts are checked).
    for uri in [
        "/ws/dataset/search?query=zqxprivateword",
        "/api/v1/search?q=zqxprivateword",
    ] {
        let v = get(&state, uri).await.json();
        let n = v["count"].as_u64().or(v["total"].as_u64());
        assert_eq!(n, Some(0), "{uri}: {v}");
    }
    let page = get(&state, "/search?q=zqxprivateword").await;
    assert!(page.body.contains("No datasets match"), "search page");
    for uri in [
        "/search.jsonl?q=zqxprivateword",
        "/search.csv?q=zqxprivateword",
    ] {
        let r = get(&state, uri).await;
        assert!(!r.body.contains("PRIV0001"), "{uri}");
    }
    // Asking for a private record by name: not found, as if it did not exist.
    let direct = [
        "/dataset/privrepo/PRIV0001",
        "/dataset/pride/PXDPRIV42",
        "/dataset/privrepo/PRIV0001/export/json",
        "/ws/dataset/privrepo/PRIV0001",
        "/ws/dataset/get?accession=PRIV0001&database=privrepo",
        "/ws/seo/schema/privrepo/PRIV0001",
        "/ws/dataset/getSimilar?accession=PRIV0001&database=privrepo",
    ];
    for uri in direct {
        let r = get(&state, uri).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{uri}: {}", r.body);
    }
    let batch = get(
        &state,
        "/ws/dataset/batch?accession=PRIV0001&database=privrepo",
    )
    .await
    .json();
    assert_eq!(batch["datasets"], json!([]), "batch: {batch}");
    let oai = get(
        &state,
        "/oai?verb=GetRecord&metadataPrefix=oai_dc&identifier=oai:opendi:privrepo/PRIV0001",
    )
    .await;
    assert!(
        oai.body.contains("idDoesNotExist") && !oai.body.contains("zqx"),
        "{}",
        oai.body
    );

    // Counts leave the private records out: totals, facets and per-repository figures.
    let general = get(&state, "/ws/statistics/general").await.json();
    assert_eq!(
        general[0]["value"],
        json!(f.public.to_string()),
        "{general}"
    );
    let all = get(&state, "/ws/dataset/search?query=&size=1").await.json();
    assert_eq!(all["count"], json!(f.public), "search count");
    let v1 = get(&state, "/api/v1/search?q=&facets=1000").await.json();
    let proteomics = v1["facets"]["omics_type"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["value"] == json!("Proteomics"))
        .and_then(|c| c["count"].as_u64());
    let filtered = get(
        &state,
        "/ws/dataset/search?query=&size=1&filter=omics_type:Proteomics",
    )
    .await
    .json();
    assert_eq!(
        proteomics,
        filtered["count"].as_u64(),
        "facet count = filtered search count"
    );
    let exported = get(&state, "/export.jsonl").await.body.lines().count() as u64;
    assert_eq!(exported, f.public, "export lines");
    // The operator's view (the CLI's `stats`) still counts them.
    let store = f.engine.stats().expect("stats").store;
    assert_eq!(store.records, f.public + 2);
    eprintln!(
        "private records: {} listing endpoints named neither of them, {} direct requests answered 404 (GetRecord idDoesNotExist), counts = {} public of {} stored",
        listing.len(),
        direct.len(),
        f.public,
        store.records
    );
}

/// The ingest pipeline for these tests: the real parsers (`read_all`, format recognised from
/// the content) into the engine, then commit. The binary wires `opendi ingest`'s own pipeline
/// (`crates/opendi/tests/cli.rs` drives that one over HTTP).
struct TestIngest;

impl Ingest for TestIngest {
    fn ingest(
        &self,
        engine: Arc<Engine>,
        file: &Path,
        format: Option<&str>,
        _strict: bool,
    ) -> Result<Value, AppError> {
        if let Some(f) = format {
            return Err(AppError::BadRequest(format!("unknown format {f:?}")));
        }
        let (items, _) = read_all(
            &expand(&[file.display().to_string()])
                .map_err(|e| AppError::BadRequest(e.to_string()))?,
            PartialDate::ymd(2026, 1, 1).expect("date"),
        );
        let mut changes = Vec::new();
        let mut diagnostics = Vec::new();
        for i in items {
            match i {
                Item::Record(r) => {
                    diagnostics.extend(r.diagnostics.iter().map(|d| d.to_string()));
                    changes.push(Change::Upsert(Box::new(NewRecord::from_source(*r))));
                }
                Item::Diagnostic(d) => diagnostics.push(d.to_string()),
                Item::Delete { .. } => {}
            }
        }
        let outcomes = engine.apply(&changes, 1_800_000_000)?;
        engine.commit()?;
        Ok(json!({ "records": outcomes.len(), "diagnostics": diagnostics }))
    }
}

const TOKEN: &str = "test-token-0123456789abcdef";

#[tokio::test]
async fn admin_routes_need_the_configured_token() {
    let Some(file) = opendi_corpora::corpus("pubmed/pubmed-29768149.xml") else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let Some((engine, public)) = build_engine(dir.path()) else {
        return;
    };
    let engine = Arc::new(engine);

    // Off by default: the routes do not exist.
    let off = AppState::shared(engine.clone());
    for uri in ["/admin/ingest", "/admin/reindex"] {
        let r = send(&off, post(uri, Some(TOKEN), b"x".to_vec())).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(r.json()["error"]["code"], json!("not_found"));
    }

    let on = AppState::shared(engine.clone()).with_config(ServerConfig {
        admin: Some(Admin {
            token: TOKEN.into(),
            ingest: Some(Arc::new(TestIngest)),
        }),
        max_upload_bytes: 8 << 20,
        ..Default::default()
    });
    for (token, what) in [
        (None, "missing"),
        (Some("wrong-token-0123456789abcdef"), "wrong"),
        (Some("test-token-0123456789abcde"), "a prefix"),
        (Some(""), "empty"),
    ] {
        for uri in ["/admin/ingest", "/admin/reindex"] {
            let r = send(&on, post(uri, token, b"x".to_vec())).await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{what} token on {uri}");
            assert_eq!(r.header("www-authenticate"), "Bearer");
            assert_eq!(r.json()["error"]["code"], json!("unauthorized"));
        }
    }
    // GET is not a write (with the token: 405; without, the 401 above comes first).
    let r = send(
        &on,
        Request::get("/admin/reindex")
            .header("authorization", format!("Bearer {TOKEN}"))
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);

    // Reindex: every public record again, the private ones still out.
    let r = send(&on, post("/admin/reindex", Some(TOKEN), vec![])).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["indexed"], json!(public));
    let all = get(&on, "/ws/dataset/search?query=&size=1").await.json();
    assert_eq!(all["count"], json!(public));

    // Ingest: a real PubMed file as the body; its record becomes searchable at once.
    let name = "pubmed-29768149.xml";
    let body = std::fs::read(&file).expect("read the PubMed file");
    let before = get(&on, "/ws/dataset/search?query=29768149").await.json();
    assert_eq!(before["count"], json!(0), "{before}");
    let r = send(
        &on,
        post(
            &format!("/admin/ingest?name={name}"),
            Some(TOKEN),
            body.clone(),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    let added = v["summary"]["records"].as_u64().unwrap_or(0);
    assert!(added >= 1, "{v}");
    assert_eq!(v["bytes"], json!(body.len()));
    let after = get(&on, "/ws/dataset/search?query=29768149").await.json();
    assert_eq!(
        after["count"],
        json!(1),
        "the ingested article is searchable: {after}"
    );
    // The upload is not left behind.
    let uploads = engine.data_dir().join("uploads");
    assert_eq!(
        std::fs::read_dir(&uploads).map(|d| d.count()).unwrap_or(0),
        0,
        "uploads removed"
    );
    // A broken file: the summary carries the diagnostics, nothing fails.
    let r = send(
        &on,
        post(
            "/admin/ingest?name=broken.xml",
            Some(TOKEN),
            b"<database><entries><entry id=\"X1\"><name>unclosed".to_vec(),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // Mistakes of the caller: 400 with a message; too large: 413.
    let r = send(
        &on,
        post("/admin/ingest?format=nope", Some(TOKEN), b"x".to_vec()),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let r = send(&on, post("/admin/ingest", Some(TOKEN), vec![])).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let r = send(
        &on,
        post("/admin/ingest", Some(TOKEN), vec![b' '; (8 << 20) + 1]),
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    assert_eq!(r.json()["error"]["code"], json!("too_large"));
}

/// Two public records of the fixture that no key clusters: (id, "repository/accession").
fn two_loners(engine: &Engine) -> Vec<(i64, String)> {
    let mut out = Vec::new();
    for k in engine.store().live_keys(0, 500).expect("keys") {
        let alone = !engine.store().link_counts(k.id).expect("counts").clustered;
        if alone && engine.is_public(k.id).expect("public") {
            out.push((k.id, format!("{}/{}", k.repository, k.accession)));
        }
        if out.len() == 2 {
            break;
        }
    }
    out
}

fn curation(a: &str, b: &str, note: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({ "a": a, "b": b, "note": note })).expect("json")
}

/// Curated merge and unmerge: behind the same token, mistakes answered 400 or 404, the
/// merge shown on the record's page with the curator's note and undone by the unmerge.
#[tokio::test]
async fn curators_merge_and_unmerge_clusters_through_the_admin_routes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let Some((engine, _)) = build_engine(dir.path()) else {
        return;
    };
    let engine = Arc::new(engine);
    let pair = two_loners(&engine);
    assert_eq!(pair.len(), 2, "the fixture has two records no key joins");
    let (a, b) = (pair[0].1.clone(), pair[1].1.clone());
    let body = curation(&a, &b, "same samples, checked by hand");
    let routes = [
        "/admin/clusters/merge",
        "/admin/clusters/unmerge",
        "/admin/clusters/curations",
    ];

    // Off by default: the routes do not exist.
    let off = AppState::shared(engine.clone());
    for uri in routes {
        let r = send(&off, post(uri, Some(TOKEN), body.clone())).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{uri}");
    }
    let on = AppState::shared(engine.clone()).with_config(ServerConfig {
        admin: Some(Admin {
            token: TOKEN.into(),
            ingest: None,
        }),
        ..Default::default()
    });
    for token in [None, Some("wrong-token-0123456789abcdef")] {
        for uri in &routes[..2] {
            let r = send(&on, post(uri, token, body.clone())).await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{token:?} on {uri}");
        }
    }
    assert!(engine.store().curations().expect("list").is_empty());

    // The caller's mistakes.
    let unknown = "geo/GSE-NO-SUCH-SERIES";
    for (bad, status) in [
        (b"not json".to_vec(), StatusCode::BAD_REQUEST),
        (br#"{"a": "geo/GSE1"}"#.to_vec(), StatusCode::BAD_REQUEST),
        (
            serde_json::to_vec(&json!({"a": a, "b": b, "nite": "typo"})).expect("json"),
            StatusCode::BAD_REQUEST,
        ),
        (curation(&a, &a, ""), StatusCode::BAD_REQUEST),
        (curation(&a, "GSE1", ""), StatusCode::BAD_REQUEST),
        (curation(&a, &b, &"x".repeat(1001)), StatusCode::BAD_REQUEST),
        (curation(&a, unknown, ""), StatusCode::NOT_FOUND),
    ] {
        let r = send(&on, post(routes[0], Some(TOKEN), bad.clone())).await;
        assert_eq!(
            r.status,
            status,
            "{}: {}",
            String::from_utf8_lossy(&bad),
            r.body
        );
        assert!(!r.json()["error"]["message"]
            .as_str()
            .unwrap_or("")
            .is_empty());
    }
    assert!(engine.store().curations().expect("list").is_empty());

    // Merge: one cluster, the reason on both sides and on the page.
    let page_b = format!("/dataset/{b}");
    assert!(!get(&on, &page_b).await.body.contains("merged by curator"));
    let r = send(&on, post(routes[0], Some(TOKEN), body.clone())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    assert_eq!(v["action"], json!("merge"));
    assert_eq!(v["same_cluster"], json!(true));
    assert_eq!(v["a"]["record"], json!(a));
    assert_eq!(
        v["a"]["also_in"],
        json!([{"record": b, "reason": "merged by curator: same samples, checked by hand"}])
    );
    assert_eq!(v["b"]["also_in"][0]["record"], json!(a));
    let page = get(&on, &page_b).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains("merged by curator: same samples, checked by hand"),
        "{}",
        page.body
    );
    let listed = send(
        &on,
        Request::get(routes[2])
            .header("authorization", format!("Bearer {TOKEN}"))
            .body(Body::empty())
            .expect("request"),
    )
    .await
    .json();
    assert_eq!(listed["count"], json!(1));
    assert_eq!(listed["curations"][0]["action"], json!("merge"));
    assert_eq!(
        listed["curations"][0]["note"],
        json!("same samples, checked by hand")
    );

    // Unmerge: apart again, the merge replaced by a split.
    let r = send(&on, post(routes[1], Some(TOKEN), curation(&b, &a, ""))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    assert_eq!(v["action"], json!("split"));
    assert_eq!(v["same_cluster"], json!(false));
    assert_eq!(v["a"]["also_in"], json!([]));
    assert!(!get(&on, &page_b).await.body.contains("merged by curator"));
    let listed = engine.store().curations().expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].action, opendi_engine::CurationAction::Split);
}

#[tokio::test]
async fn limits_and_queries_of_death() {
    let Some(state) = state_with(ServerConfig::default()) else {
        return;
    };
    // URL over 8 KiB: 414, JSON under /ws/, a page elsewhere.
    let q = "a".repeat(9000);
    let r = get(&state, &format!("/ws/dataset/search?query={q}")).await;
    assert_eq!(r.status, StatusCode::URI_TOO_LONG);
    assert_eq!(r.json()["error"]["code"], json!("uri_too_long"));
    let r = get(&state, &format!("/search?q={q}")).await;
    assert_eq!(r.status, StatusCode::URI_TOO_LONG);
    assert!(r.header("content-type").starts_with("text/html"));
    // A 60 KB query: refused the same way, before anything reads it (a 1 MB one does not
    // fit an `http::Uri`; see `a_megabyte_query_over_a_real_socket`).
    let r = get(&state, &format!("/api/v1/search?q={}", "x".repeat(60_000))).await;
    assert_eq!(r.status, StatusCode::URI_TOO_LONG);
    // A body over 64 KiB (OAI-PMH POST): 413.
    let r = send(
        &state,
        Request::post("/oai")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(format!(
                "verb=Identify&x={}",
                "y".repeat(70_000)
            )))
            .expect("request"),
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);

    // Queries of death that fit the URL: each refused with a 400 naming the limit, or
    // answered; never a 500.
    let enc = |s: &str| {
        s.bytes()
            .map(|c| match c {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => (c as char).to_string(),
                _ => format!("%{c:02X}"),
            })
            .collect::<String>()
    };
    let deep = format!("{}anemia{}", "(".repeat(40), ")".repeat(40));
    let unbalanced = "(".repeat(2000);
    let many_terms = vec!["a"; 300].join(" ");
    let many_ors = vec!["anemia"; 200].join(" OR ");
    let wildcards = vec!["a*"; 100].join(" ");
    let cases: Vec<(&str, String, Option<&str>)> = vec![
        ("40-deep nesting", deep, Some("nests parentheses 40 deep")),
        ("2,000 open parentheses", unbalanced, Some("2000 deep")),
        ("300 terms", many_terms, Some("has 300 words")),
        ("200 ORed terms", many_ors, None),
        ("100 wildcards", wildcards, None),
        ("a* alone", "a*".into(), None),
        ("*:*", "*:*".into(), None),
        ("unclosed quote", "\"aplastic anemia".into(), None),
        ("field of nothing", "title: AND OR NOT ((".into(), None),
        ("range", "year:[0 TO 99999999999]".into(), None),
        ("regex-like", "/.*.*.*.*/".into(), None),
        ("fuzzy", "anemia~2 cell~2".into(), None),
    ];
    let mut refused = 0;
    for (what, q, refusal) in &cases {
        for prefix in [
            "/ws/dataset/search?query=",
            "/api/v1/search?q=",
            "/search?q=",
            "/search.jsonl?q=",
        ] {
            let r = get(&state, &format!("{prefix}{}", enc(q))).await;
            match refusal {
                Some(msg) => {
                    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{what} on {prefix}");
                    assert!(r.body.contains(msg), "{what} on {prefix}: {}", r.body);
                    refused += 1;
                }
                None => assert!(
                    r.status == StatusCode::OK || r.status == StatusCode::BAD_REQUEST,
                    "{what} on {prefix}: {} {}",
                    r.status,
                    &r.body[..r.body.len().min(300)]
                ),
            }
        }
    }
    // The server still answers normally after all that.
    let r = get(&state, "/ws/dataset/search?query=aplastic").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.json()["count"].as_u64().unwrap_or(0) >= 1);
    eprintln!(
        "queries of death: {} kinds x 4 endpoints, {refused} refused with 400, the rest answered",
        cases.len()
    );
}

/// A request body that never arrives (a client that stalls after its headers).
struct Stalled;

impl futures_core::Stream for Stalled {
    type Item = Result<axum::body::Bytes, std::io::Error>;
    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        std::task::Poll::Pending
    }
}

#[tokio::test]
async fn the_deadline_answers_503() {
    // A client that sends its headers and then stalls: the handler waits for the body
    // forever, so the deadline (not a timing of ours) is what answers.
    let Some(state) = state_with(ServerConfig {
        request_timeout: std::time::Duration::from_millis(300),
        ..Default::default()
    }) else {
        return;
    };
    let r = send(
        &state,
        Request::post("/oai")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("content-length", "100")
            .body(Body::from_stream(Stalled))
            .expect("request"),
    )
    .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    let v = r.json();
    assert_eq!(v["error"]["code"], json!("timeout"));
    assert!(v["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("took longer than 300 ms")));
    assert_secure("timeout", &r);
    // The server goes on answering.
    let r = get(&state, "/ws/dataset/search?query=anemia").await;
    assert_eq!(r.status, StatusCode::OK);
}

fn from(ip: [u8; 4], uri: &str) -> Request<Body> {
    let mut r = Request::get(uri).body(Body::empty()).expect("request");
    r.extensions_mut()
        .insert(ConnectInfo(SocketAddr::from((ip, 40000))));
    r
}

#[tokio::test]
async fn rate_limit_per_client_answers_429_with_retry_after() {
    // One request per 100 s (a burst of one): the second request within the test is over.
    let Some(state) = state_with(ServerConfig {
        rate_limit: 0.01,
        ..Default::default()
    }) else {
        return;
    };
    let a = [10, 0, 0, 1];
    let limited = [
        "/ws/statistics/general",
        "/api/v1/suggest?q=ane",
        "/api/v1/search?q=anemia",
        "/search.csv?q=anemia",
        "/export.jsonl",
        "/dataset/biostudies-literature/S-EPMC7912947/export/bibtex",
    ];
    for uri in limited {
        // A fresh state per path: a fresh limiter (the bucket is per client, not per path).
        let Some(state) = state_with(ServerConfig {
            rate_limit: 0.01,
            ..Default::default()
        }) else {
            return;
        };
        let first = send(&state, from(a, uri)).await;
        assert_eq!(first.status, StatusCode::OK, "{uri}");
        let second = send(&state, from(a, uri)).await;
        assert_eq!(second.status, StatusCode::TOO_MANY_REQUESTS, "{uri}");
        let wait: u64 = second.header("retry-after").parse().expect("Retry-After");
        assert!((1..=100).contains(&wait), "Retry-After {wait}");
        let v = second.json();
        assert_eq!(v["error"]["code"], json!("rate_limited"));
        assert!(v["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("retry after")));
        assert_secure(uri, &second);
        // Another client is not slowed by the first; pages are not limited.
        let other = send(&state, from([10, 0, 0, 2], uri)).await;
        assert_eq!(other.status, StatusCode::OK, "{uri} from another client");
        for _ in 0..3 {
            assert_eq!(send(&state, from(a, "/")).await.status, StatusCode::OK);
        }
    }
    // Over the limit on one path is over it on every limited path.
    let r = send(&state, from(a, "/ws/statistics/general")).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = send(&state, from(a, "/api/v1/search?q=anemia")).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    eprintln!(
        "rate limit: {} limited paths answered 429 with Retry-After",
        limited.len()
    );
    // Limit 0 turns it off.
    let Some(off) = state_with(ServerConfig {
        rate_limit: 0.0,
        ..Default::default()
    }) else {
        return;
    };
    for _ in 0..50 {
        let r = send(&off, from(a, "/ws/statistics/general")).await;
        assert_eq!(r.status, StatusCode::OK);
    }
}

/// Serves `state` on a loopback port until the returned sender is used (or dropped).
fn start(
    state: AppState,
) -> (
    SocketAddr,
    std::sync::mpsc::Sender<()>,
    std::thread::JoinHandle<std::io::Result<()>>,
) {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    let server = std::thread::spawn(move || {
        opendi_server::serve_until(
            state,
            "127.0.0.1:0",
            |addr| {
                let _ = ready_tx.send(addr);
            },
            async move {
                let _ = tokio::task::spawn_blocking(move || stop_rx.recv()).await;
            },
        )
    });
    let addr = ready_rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("server started");
    (addr, stop_tx, server)
}

/// Sends raw request bytes on a fresh connection and reads the whole answer.
fn raw(addr: SocketAddr, request: &[u8]) -> String {
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    // The server may answer and close before reading everything sent: ignore write errors.
    let _ = s.write_all(request);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn a_megabyte_query_over_a_real_socket() {
    let Some(state) = state_with(ServerConfig::default()) else {
        return;
    };
    let (addr, stop, server) = start(state);
    let huge = format!(
        "GET /ws/dataset/search?query={} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
        "a".repeat(1 << 20)
    );
    let answer = raw(addr, huge.as_bytes());
    let status: u16 = answer.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    // hyper refuses a head this large itself (414 or 431) before any handler runs.
    assert!(
        (400..500).contains(&status),
        "a 1 MB URL: {}",
        &answer[..answer.len().min(200)]
    );
    let ok = raw(
        addr,
        b"GET /ws/dataset/search?query=anemia HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    );
    assert!(
        ok.starts_with("HTTP/1.1 200"),
        "{}",
        &ok[..ok.len().min(200)]
    );
    stop.send(()).expect("stop");
    server.join().expect("server thread").expect("served");
    eprintln!("a 1 MB query over TCP: status {status}; the next request answered 200");
}

#[test]
fn graceful_shutdown_finishes_the_request_in_flight() {
    let Some(state) = state_with(ServerConfig::default()) else {
        return;
    };
    let public = fixture().expect("fixture").public;
    let (addr, stop_tx, server) = start(state);
    // A streamed export: the response head arrives, then the stop signal, then the body.
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.write_all(b"GET /export.jsonl HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .expect("send");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).expect("response head");
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    stop_tx.send(()).expect("stop");
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).expect("the rest of the body");
    let text = String::from_utf8_lossy(&rest);
    let records = text
        .lines()
        .filter(|l| l.starts_with('{') && l.contains("\"accession\""))
        .count() as u64;
    assert_eq!(
        records, public,
        "every record of the export arrived after the stop"
    );
    assert!(text.ends_with("0\r\n\r\n"), "the chunked body is complete");
    server.join().expect("server thread").expect("served");
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "no new connections after shutdown"
    );
}
