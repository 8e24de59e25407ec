//! Test support: one engine per test binary, built in a temporary directory from real records
//! (the seed record and the `ddi-annotation` OmicsDI dumps) plus one hostile record, and a
//! driver that sends requests through `router(state).oneshot(…)` with no socket.

#![allow(dead_code)]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use opendi_engine::{Change, Engine, EngineConfig, NewRecord};
use opendi_ingest::{read_all, source::expand};
use opendi_model::{Dataset, DateKind, DatedValue, Item, PartialDate};
use opendi_server::{router, AppState};
use std::path::PathBuf;
use std::sync::LazyLock;
use tower::ServiceExt;

pub const XSS_TITLE: &str = "Hostile <script>alert(1)</script> title";
pub const XSS_DESCRIPTION: &str = "<h4>Intro</h4>Text <img src=x onerror=alert(1)> and <script>alert(1)</script> and <a href=\"javascript:alert(1)\">a link</a>.";

fn changes(paths: &[PathBuf]) -> Vec<Change> {
    let sources: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    let (items, _) = read_all(
        &expand(&sources).expect("expand sources"),
        PartialDate::ymd(2026, 1, 1).unwrap(),
    );
    items
        .into_iter()
        .filter_map(|i| match i {
            Item::Record(r) => Some(Change::Upsert(Box::new(NewRecord::from_source(*r)))),
            _ => None,
        })
        .collect()
}

fn hostile() -> Change {
    let mut d = Dataset::new("pride", "XSS0001");
    d.title = XSS_TITLE.to_string();
    d.description = XSS_DESCRIPTION.to_string();
    d.omics_types = vec!["Proteomics".into()];
    d.dates = vec![DatedValue {
        kind: DateKind::Publication,
        value: PartialDate::parse("2020-01-02"),
        raw: "2020-01-02".into(),
    }];
    d.submitter_keywords = vec!["<b>kw</b>".into()];
    Change::Upsert(Box::new(NewRecord::new(
        d,
        String::new(),
        "test".into(),
        "test".into(),
        vec![],
        None,
    )))
}

pub struct Fixture {
    _dir: tempfile::TempDir,
    pub state: AppState,
}

/// The shared fixture, or None (test skips) where the corpora are absent.
pub static FIXTURE: LazyLock<Option<Fixture>> = LazyLock::new(|| {
    let seed = opendi_corpora::seed("S-EPMC7912947.omicsdi.xml")?;
    let ddi = opendi_corpora::corpus("omicsdi-xml/ddi-annotation")?;
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(EngineConfig::new(dir.path())).unwrap();
    let mut batch = changes(&[seed, ddi]);
    batch.push(hostile());
    engine.apply(&batch, 1_700_000_000).unwrap();
    engine.commit().unwrap();
    Some(Fixture {
        _dir: dir,
        state: AppState::new(engine),
    })
});

pub fn state() -> Option<AppState> {
    FIXTURE.as_ref().map(|f| f.state.clone())
}

pub struct Reply {
    pub status: StatusCode,
    pub content_type: String,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| {
            panic!("not JSON ({e}): {}", &self.body[..self.body.len().min(300)])
        })
    }
}

pub async fn get(state: &AppState, uri: &str) -> Reply {
    let res = router(state.clone())
        .oneshot(
            Request::get(uri)
                .header("host", "opendi.test")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let content_type = headers
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        content_type,
        headers,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}
