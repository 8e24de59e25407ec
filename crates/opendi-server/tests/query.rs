//! The query language and synonym expansion over HTTP: "also searched for" in both JSON APIs
//! and on the search page, `expand=off` everywhere (cursors keep it), malformed queries as
//! warnings with status 200, and vocabulary names in autocomplete. A small written fixture,
//! with the built-in vocabulary tables only, so the same on every machine.

mod common;

use axum::http::StatusCode;
use common::get;
use opendi_engine::{Change, Engine, EngineConfig, NewRecord, VocabConfig};
use opendi_model::Dataset;
use opendi_server::AppState;
use std::sync::LazyLock;

struct Fixture {
    _dir: tempfile::TempDir,
    state: AppState,
}

/// Two records say "Homo sapiens" only in their text (no organism field, which would add
/// "human"); one is about mouse liver.
static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let dir = tempfile::tempdir().unwrap();
    let mut config = EngineConfig::new(dir.path());
    config.vocab = VocabConfig::default();
    let engine = Engine::open(config).unwrap();
    let records = [
        (
            "MTBLS1",
            "Sleep cohort",
            "Blood from Homo sapiens volunteers.",
        ),
        ("MTBLS2", "Diet cohort", "Urine of Homo sapiens adults."),
        ("MTBLS3", "Liver lipids", "Mouse liver extracts."),
    ];
    let batch: Vec<Change> = records
        .iter()
        .map(|(acc, title, description)| {
            let mut d = Dataset::new("metabolights", acc);
            d.title = title.to_string();
            d.description = description.to_string();
            Change::Upsert(Box::new(NewRecord::new(
                d,
                String::new(),
                "test".into(),
                "query.rs".into(),
                vec![],
                None,
            )))
        })
        .collect();
    engine.apply(&batch, 1_700_000_000).unwrap();
    engine.commit().unwrap();
    Fixture {
        _dir: dir,
        state: AppState::new(engine),
    }
});

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn omicsdi_search_reports_and_switches_expansion() {
    let s = &FIXTURE.state;
    let v = get(s, "/ws/dataset/search?query=human").await.json();
    assert_eq!(v["count"], 2, "{v}");
    assert!(
        strings(&v["alsoSearchedFor"]).contains(&"Homo sapiens".to_string()),
        "{v}"
    );

    let v = get(s, "/ws/dataset/search?query=human&expand=off")
        .await
        .json();
    assert_eq!(v["count"], 0, "{v}");
    assert!(v.get("alsoSearchedFor").is_none(), "{v}");

    let r = get(s, "/ws/dataset/search?query=human&expand=sometimes").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("expand"), "{}", r.body);
}

#[tokio::test]
async fn v1_search_reports_expansion_and_cursors_keep_the_switch() {
    let s = &FIXTURE.state;
    let v = get(s, "/api/v1/search?q=human&size=1").await.json();
    assert_eq!(v["count"], 2, "{v}");
    assert!(
        strings(&v["also_searched_for"]).contains(&"Homo sapiens".to_string()),
        "{v}"
    );
    let next = v["next"].as_str().expect("a next cursor").to_string();
    let v2 = get(s, &format!("/api/v1/search?cursor={next}"))
        .await
        .json();
    assert_eq!(v2["results"].as_array().unwrap().len(), 1, "{v2}");
    assert_ne!(v2["results"][0]["id"], v["results"][0]["id"]);

    let off = get(s, "/api/v1/search?q=human&expand=off").await.json();
    assert_eq!(off["count"], 0, "{off}");
    assert!(strings(&off["also_searched_for"]).is_empty(), "{off}");
    // A cursor is the whole search: a switch beside it is refused.
    let r = get(s, &format!("/api/v1/search?cursor={next}&expand=off")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn search_page_shows_what_was_added_and_links_to_the_words_alone() {
    let s = &FIXTURE.state;
    let r = get(s, "/search?q=human").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("Also searched for"), "{}", r.body);
    assert!(r.body.contains("<q>Homo sapiens</q>"), "{}", r.body);
    assert!(
        r.body.contains("search?q=human&amp;expand=off"),
        "{}",
        r.body
    );
    // The synonym is marked in the snippet too.
    assert!(r.body.contains("<mark>Homo"), "{}", r.body);

    let r = get(s, "/search?q=human&expand=off").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("No datasets match"), "{}", r.body);
    assert!(r.body.contains("Synonyms are off"), "{}", r.body);
    assert!(
        r.body.contains(r#"name="expand" value="off""#),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn malformed_queries_answer_200_with_warnings() {
    let s = &FIXTURE.state;
    for q in [
        "%28%28%28liver",
        "%22unclosed",
        "year%3A%5B2019",
        "colour%3Aliver",
        "liver~9",
        "%29%29%29",
        "%5C",
        "AND%20OR%20NOT",
    ] {
        let v = get(s, &format!("/ws/dataset/search?query={q}")).await;
        assert_eq!(v.status, StatusCode::OK, "{q}: {}", v.body);
        assert!(
            !strings(&v.json()["warnings"]).is_empty(),
            "{q}: {}",
            v.body
        );
        let v = get(s, &format!("/api/v1/search?q={q}")).await;
        assert_eq!(v.status, StatusCode::OK, "{q}: {}", v.body);
        assert!(
            !strings(&v.json()["warnings"]).is_empty(),
            "{q}: {}",
            v.body
        );
        let page = get(s, &format!("/search?q={q}")).await;
        assert_eq!(page.status, StatusCode::OK, "{q}");
        assert!(page.body.contains("Note on the query"), "{q}");
    }
    let v = get(s, "/ws/dataset/search?query=%28liver").await.json();
    assert_eq!(
        strings(
            &v["datasets"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["id"].clone())
                .collect()
        ),
        vec!["MTBLS3"]
    );
}

#[tokio::test]
async fn autocomplete_offers_vocabulary_names_the_index_holds() {
    let s = &FIXTURE.state;
    let v = get(s, "/api/v1/suggest?q=blood%20homo").await.json();
    let found: Vec<(String, String)> = v["suggestions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["value"].as_str().unwrap().to_string(),
                x["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        found.contains(&("blood \"Homo sapiens\"".to_string(), "organism".to_string())),
        "{found:?}"
    );
    // Names no record holds are not offered: no record is about rats.
    let v = get(s, "/api/v1/suggest?q=rattus").await.json();
    assert!(v["suggestions"].as_array().unwrap().is_empty(), "{v}");

    let v = get(s, "/ws/term/getTermByPattern?q=homo").await.json();
    let names = strings(&serde_json::Value::Array(
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["name"].clone())
            .collect(),
    ));
    assert!(names.contains(&"Homo sapiens".to_string()), "{names:?}");
}
