//! Issue 6: an update and a deletion, applied while the server runs, reach every way out: the
//! search index, the dataset pages and the API, the sitemap and OAI-PMH (new datestamp and
//! metadata for the update, a deleted header for the deletion).

mod common;

use common::get;
use opendi_engine::{Change, Engine, EngineConfig, NewRecord};
use opendi_ingest::{read_all, source::expand};
use opendi_model::{Item, PartialDate};
use opendi_server::AppState;
use std::sync::Arc;

const T1: i64 = 1_600_000_000;
const T2: i64 = 1_700_000_000; // 2023-11-14T22:13:20Z
const MARK: &str = "quetzalrevision";

async fn count(s: &AppState, query: &str) -> u64 {
    let r = get(s, &format!("/ws/dataset/search?query={query}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["count"].as_u64().unwrap()
}

/// Every `<url>` block of every sitemap file.
async fn sitemap_urls(s: &AppState) -> Vec<String> {
    let index = get(s, "/sitemap.xml").await.body;
    let mut out = Vec::new();
    for loc in index.split("<loc>").skip(1) {
        let loc = loc.split("</loc>").next().unwrap();
        let path = loc.strip_prefix("http://opendi.test").unwrap();
        let file = get(s, path).await.body;
        out.extend(
            file.split("<url>")
                .skip(1)
                .map(|u| u.split("</url>").next().unwrap().to_string()),
        );
    }
    out
}

async fn oai_record(s: &AppState, id: &str) -> String {
    get(
        s,
        &format!("/oai?verb=GetRecord&identifier=oai:opendi:{id}&metadataPrefix=oai_dc"),
    )
    .await
    .body
}

#[tokio::test]
async fn updates_and_deletions_reach_search_pages_sitemap_and_oai() {
    let Some(ddi) = opendi_corpora::corpus("omicsdi-xml/ddi-annotation") else {
        return;
    };
    let (items, _) = read_all(
        &expand(&[ddi.display().to_string()]).unwrap(),
        PartialDate::ymd(2026, 1, 1).unwrap(),
    );
    let batch: Vec<Change> = items
        .into_iter()
        .filter_map(|i| match i {
            Item::Record(r) => Some(Change::Upsert(Box::new(NewRecord::from_source(*r)))),
            _ => None,
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let engine = Arc::new(Engine::open(EngineConfig::new(dir.path())).unwrap());
    engine.apply(&batch, T1).unwrap();
    engine.commit().unwrap();
    let s = AppState::shared(Arc::clone(&engine));

    assert_eq!(get(&s, "/dataset/pride/PXD000001").await.status, 200);
    assert_eq!(count(&s, "PXD000001").await, 1);
    assert_eq!(count(&s, MARK).await, 0);
    let before = sitemap_urls(&s).await;
    assert!(before.iter().any(|u| u.contains("/pride/PXD000001<")));

    // While the server runs: PXD000005 gets a new title, PXD000001 is withdrawn.
    let id = engine.resolve("pride/PXD000005").unwrap()[0];
    let old = engine.record(id).unwrap().unwrap();
    let old_title = old.dataset.title.clone();
    let mut d = old.dataset.clone();
    d.title = format!("{} ({MARK})", d.title);
    let raw = engine.store().raw(id).unwrap().unwrap();
    let update = NewRecord::new(d, raw, old.format.clone(), old.source.clone(), vec![], None);
    let outcomes = engine
        .apply(
            &[
                Change::Upsert(Box::new(update)),
                Change::Delete {
                    repository: "pride".into(),
                    accession: "PXD000001".into(),
                    source: "withdrawn".into(),
                },
            ],
            T2,
        )
        .unwrap();
    assert_eq!(outcomes.len(), 2);
    engine.commit().unwrap();

    // Search: the new title is found, the withdrawn record is not.
    assert_eq!(count(&s, MARK).await, 1);
    assert_eq!(count(&s, "PXD000001").await, 0);

    // Pages and the API: the new title; the withdrawn record is gone.
    let page = get(&s, "/dataset/pride/PXD000005").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(MARK));
    let api = get(&s, "/ws/dataset/get?accession=PXD000005&database=pride").await;
    assert!(
        api.json()["name"].as_str().unwrap().contains(MARK),
        "{}",
        api.body
    );
    assert_eq!(get(&s, "/dataset/pride/PXD000001").await.status, 404);
    assert_eq!(
        get(&s, "/ws/dataset/get?accession=PXD000001&database=pride")
            .await
            .status,
        404
    );

    // Sitemap: the withdrawn record leaves it, the updated one carries its new date.
    let after = sitemap_urls(&s).await;
    assert_eq!(after.len(), before.len() - 1);
    assert!(!after.iter().any(|u| u.contains("/pride/PXD000001<")));
    let updated = after
        .iter()
        .find(|u| u.contains("/pride/PXD000005<"))
        .expect("updated record listed");
    assert!(updated.contains("2023-11-14"), "{updated}");

    // OAI-PMH: a deleted header; the update's new datestamp and metadata.
    let gone = oai_record(&s, "pride/PXD000001").await;
    assert!(gone.contains("<header status=\"deleted\">"), "{gone}");
    assert!(!gone.contains("<metadata>"));
    let rec = oai_record(&s, "pride/PXD000005").await;
    assert!(
        rec.contains("<datestamp>2023-11-14T22:13:20Z</datestamp>"),
        "{rec}"
    );
    assert!(rec.contains(MARK) && rec.contains(&old_title));
    let changed = get(
        &s,
        "/oai?verb=ListIdentifiers&metadataPrefix=oai_dc&from=2023-11-14",
    )
    .await
    .body;
    assert!(changed.contains("oai:opendi:pride/PXD000005"), "{changed}");
    assert!(changed.contains("oai:opendi:pride/PXD000001"), "{changed}");
    assert_eq!(changed.matches("<header").count(), 2, "{changed}");
}
