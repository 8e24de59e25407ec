//! Curated cluster merges and splits on the embedded store: a real GEO series, its
//! ArrayExpress import (written here: the corpora hold no two records of one study) and an
//! unrelated real GEO series. Merges join what no key joins, splits separate what a key
//! joins, and both survive re-ingest, deletion and later records sharing the key; the index
//! (one hit per cluster) follows every decision.

use opendi_engine::{
    Change, CurationAction, Engine, EngineConfig, EngineError, NewRecord, SearchRequest,
};
use opendi_model::{Dataset, Item, PartialDate};

/// ArrayExpress's import of GSE9309, as ArrayExpress exports GEO imports.
const AE_TWIN: &str = "<experiments><experiment><id>1</id><accession>E-GEOD-9309</accession>\
<secondaryaccession>GSE9309</secondaryaccession><name>Recovery of biological information \
under heterogeneous experimental conditions using subgroup standardization.</name>\
<experimenttype>transcription profiling by array</experimenttype><releasedate>2008-06-14\
</releasedate><sampleattribute category=\"Organism\" value=\"Homo sapiens\"/>\
<description>ArrayExpress mirror written for the curation test.</description></experiment></experiments>";

fn parse(format: &str, file: &str, bytes: &[u8]) -> Vec<NewRecord> {
    let spec = opendi_ingest::format_by_name(format).unwrap();
    opendi_ingest::parse_bytes(spec, file, bytes, PartialDate::ymd(2026, 1, 1).unwrap())
        .unwrap()
        .into_iter()
        .filter_map(|i| match i {
            Item::Record(r) => Some(NewRecord::from_source(*r)),
            _ => None,
        })
        .collect()
}

/// GSE9309 and GSE105845 (real GEO SOFT files), E-GEOD-9309 (the twin above); None without the
/// corpora.
fn corpus_records() -> Option<(NewRecord, NewRecord, NewRecord)> {
    let gse9309 = opendi_corpora::corpus("geo/omicsdi-index-pipeline/GSE9309.txt")?;
    let gse105845 = opendi_corpora::corpus("geo/geoparse/GSE105845_family.soft")?;
    let pick = |v: Vec<NewRecord>, acc: &str| {
        v.into_iter()
            .find(|r| r.dataset.accession == acc)
            .unwrap_or_else(|| panic!("{acc} not in its file"))
    };
    Some((
        pick(
            parse("geo-soft", "GSE9309.txt", &std::fs::read(gse9309).unwrap()),
            "GSE9309",
        ),
        pick(
            parse("arrayexpress-xml", "ae.xml", AE_TWIN.as_bytes()),
            "E-GEOD-9309",
        ),
        pick(
            parse(
                "geo-soft",
                "GSE105845_family.soft",
                &std::fs::read(gse105845).unwrap(),
            ),
            "GSE105845",
        ),
    ))
}

/// A generated record naming GSE9309 as one of its accessions (a third copy of the study).
fn third_copy() -> NewRecord {
    let mut d = Dataset::new("biostudies-arrays", "E-GEOD-9309-COPY");
    d.title = "a third copy of GSE9309".into();
    d.secondary_accessions = vec!["GSE9309".into()];
    NewRecord::new(
        d,
        "<raw/>".into(),
        "test".into(),
        "test".into(),
        vec![],
        None,
    )
}

fn put(e: &Engine, records: Vec<NewRecord>, now: i64) {
    let batch: Vec<Change> = records
        .into_iter()
        .map(|r| Change::Upsert(Box::new(r)))
        .collect();
    e.apply(&batch, now).unwrap();
    e.commit().unwrap();
}

fn id(e: &Engine, repository: &str, accession: &str) -> i64 {
    e.store().by_key(repository, accession).unwrap().unwrap()
}

/// The other members of a record's cluster: (accession, reason), as its page shows them.
fn also_in(e: &Engine, id: i64) -> Vec<(String, String)> {
    e.relations(id)
        .unwrap()
        .also_in
        .into_iter()
        .map(|r| (r.accession, r.reason))
        .collect()
}

/// Hits of a search, one per cluster unless `expand`: (accession, other members).
fn hits(e: &Engine, q: &str, expand: bool) -> Vec<(String, Vec<String>)> {
    let mut v: Vec<(String, Vec<String>)> = e
        .search(&SearchRequest {
            query: q.into(),
            limit: 20,
            expand_clusters: expand,
            ..Default::default()
        })
        .unwrap()
        .hits
        .into_iter()
        .map(|h| {
            let mut also: Vec<String> = h.also_in.into_iter().map(|a| a.accession).collect();
            also.sort();
            (h.accession, also)
        })
        .collect();
    v.sort();
    v
}

const QUERY: &str = "GSE9309 OR GSE105845";

#[test]
fn merges_and_splits_survive_reingest_deletion_and_new_records() {
    let Some((gse9309, twin, gse105845)) = corpus_records() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let e = Engine::open(EngineConfig::new(dir.path())).unwrap();
    put(&e, vec![gse9309.clone(), twin, gse105845.clone()], 1000);
    let (a, b, c) = (
        id(&e, "geo", "GSE9309"),
        id(&e, "arrayexpress-repository", "E-GEOD-9309"),
        id(&e, "geo", "GSE105845"),
    );
    // The key joins the twins; nothing joins GSE105845.
    assert_eq!(
        also_in(&e, a),
        vec![("E-GEOD-9309".into(), "same GEO series GSE9309".into())]
    );
    assert!(also_in(&e, c).is_empty());
    assert_eq!(hits(&e, QUERY, false).len(), 2);

    // Merge: GSE105845 joins the cluster, with the curator's reason; its seq moves, so the index
    // and followers re-read it; search shows the three as one hit.
    let seq_before = e.store().get(c).unwrap().unwrap().seq;
    let done = e
        .curate(CurationAction::Merge, a, c, "same lab, same samples", 2000)
        .unwrap();
    assert!(done.touched.contains(&c), "{:?}", done.touched);
    assert!(e.store().get(c).unwrap().unwrap().seq > seq_before);
    let merged = "merged by curator: same lab, same samples".to_string();
    assert!(also_in(&e, a).contains(&("GSE105845".into(), merged.clone())));
    assert_eq!(also_in(&e, c)[0], ("GSE9309".into(), merged.clone()));
    let one = hits(&e, QUERY, false);
    assert_eq!(one.len(), 1, "{one:?}");
    assert_eq!(one[0].1.len(), 2, "{one:?}");
    assert_eq!(hits(&e, QUERY, true).len(), 3);

    // Re-ingest of a changed GSE105845 keeps the merge; so does its deletion and return.
    let mut changed = gse105845.clone();
    changed.dataset.title.push_str(" (revised)");
    put(&e, vec![changed], 3000);
    assert_eq!(also_in(&e, c)[0], ("GSE9309".into(), merged.clone()));
    e.apply(
        &[Change::Delete {
            repository: "geo".into(),
            accession: "GSE105845".into(),
            source: "test".into(),
        }],
        3500,
    )
    .unwrap();
    e.commit().unwrap();
    assert!(also_in(&e, a).iter().all(|(acc, _)| acc != "GSE105845"));
    assert_eq!(hits(&e, QUERY, true).len(), 2);
    put(&e, vec![gse105845], 3600);
    assert_eq!(also_in(&e, c)[0], ("GSE9309".into(), merged.clone()));
    assert_eq!(hits(&e, QUERY, false).len(), 1);

    // Unmerge of two records sharing a real key: the twin leaves; GSE105845 stays with GSE9309.
    e.curate(CurationAction::Split, a, b, "", 4000).unwrap();
    assert!(also_in(&e, b).is_empty(), "{:?}", also_in(&e, b));
    assert_eq!(also_in(&e, a), vec![("GSE105845".into(), merged.clone())]);
    let two = hits(&e, QUERY, false);
    assert_eq!(two.len(), 2, "{two:?}");

    // A later record sharing the key joins one side only; the split holds, and holds again
    // when the twin is re-ingested.
    put(&e, vec![third_copy()], 5000);
    let x = id(&e, "biostudies-arrays", "E-GEOD-9309-COPY");
    let with_a: Vec<String> = also_in(&e, a).into_iter().map(|m| m.0).collect();
    assert_eq!(with_a, vec!["GSE105845", "E-GEOD-9309-COPY"]);
    assert!(also_in(&e, b).is_empty());
    assert_eq!(e.store().link_counts(x).unwrap().cluster, a.min(c));
    let twin_again = parse(
        "arrayexpress-xml",
        "ae2.xml",
        AE_TWIN.replace("mirror", "copy").as_bytes(),
    );
    put(&e, twin_again, 6000);
    assert!(also_in(&e, b).is_empty());
    assert_ne!(
        e.store().link_counts(b).unwrap().cluster,
        e.store().link_counts(a).unwrap().cluster
    );

    // Merging the pair again replaces the split: one row per pair.
    e.curate(CurationAction::Merge, b, a, "", 7000).unwrap();
    assert_eq!(also_in(&e, b).len(), 3);
    let listed = e.store().curations().unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(listed.iter().all(|c| c.action == CurationAction::Merge
        && (&c.a_repository, &c.a_accession) < (&c.b_repository, &c.b_accession)));

    // Curations live in the store: a reopened engine (and index) sees the same clusters.
    drop(e);
    let e = Engine::open(EngineConfig::new(dir.path())).unwrap();
    assert_eq!(also_in(&e, b).len(), 3);
    assert_eq!(hits(&e, QUERY, false).len(), 1);
}

#[test]
fn mistakes_are_refused_and_a_curated_store_is_format_3() {
    let dir = tempfile::tempdir().unwrap();
    let e = Engine::open(EngineConfig::new(dir.path())).unwrap();
    // Without similar lists: a store holding lists is format 5 whatever its curations.
    e.defer_similar_lists();
    let rec = |acc: &str| {
        let mut d = Dataset::new("geo", acc);
        d.title = format!("{acc} generated for the curation test");
        NewRecord::new(
            d,
            "<raw/>".into(),
            "test".into(),
            "test".into(),
            vec![],
            None,
        )
    };
    put(&e, vec![rec("GSE1"), rec("GSE2")], 1);
    let version = || -> String {
        rusqlite::Connection::open(dir.path().join("store.sqlite"))
            .unwrap()
            .query_row(
                "SELECT value FROM meta WHERE key = 'format_version'",
                [],
                |r| r.get(0),
            )
            .unwrap()
    };
    // A store without curations stays format 2, so older builds keep opening it.
    assert_eq!(version(), "2");
    let (a, b) = (id(&e, "geo", "GSE1"), id(&e, "geo", "GSE2"));
    assert!(matches!(
        e.curate(CurationAction::Merge, a, a, "", 2),
        Err(EngineError::Invalid(_))
    ));
    assert!(matches!(
        e.curate(CurationAction::Merge, a, 9999, "", 2),
        Err(EngineError::NotFound(_))
    ));
    assert!(e.store().curations().unwrap().is_empty());
    e.apply(
        &[Change::Delete {
            repository: "geo".into(),
            accession: "GSE2".into(),
            source: "test".into(),
        }],
        3,
    )
    .unwrap();
    assert!(matches!(
        e.curate(CurationAction::Merge, a, b, "", 4),
        Err(EngineError::NotFound(_))
    ));
    put(&e, vec![rec("GSE2")], 5);
    e.curate(CurationAction::Merge, a, b, "", 6).unwrap();
    assert_eq!(version(), "3");
}
