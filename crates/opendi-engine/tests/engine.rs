//! The engine on real records: store + index round trips, re-ingest as a no-op, updates with
//! history, deletions as tombstones, search ranking of known records, MoreLikeThis.

use opendi_engine::{Change, Engine, EngineConfig, NewRecord, Outcome, SearchRequest};
use opendi_ingest::{read_all, source::expand};
use opendi_model::{Item, PartialDate};

fn changes(rel: &str) -> Option<Vec<Change>> {
    let path = opendi_corpora::corpus(rel)?;
    let (items, _) = read_all(
        &expand(&[path.display().to_string()]).unwrap(),
        PartialDate::ymd(2026, 1, 1).unwrap(),
    );
    Some(
        items
            .into_iter()
            .filter_map(|i| match i {
                Item::Record(r) => Some(Change::Upsert(Box::new(NewRecord::from_source(*r)))),
                Item::Delete {
                    repository,
                    accession,
                    location,
                } => Some(Change::Delete {
                    repository,
                    accession,
                    source: location.file,
                }),
                Item::Diagnostic(_) => None,
            })
            .collect(),
    )
}

fn search(e: &Engine, q: &str) -> Vec<String> {
    e.search(&SearchRequest {
        query: q.into(),
        limit: 10,
        ..Default::default()
    })
    .unwrap()
    .hits
    .into_iter()
    .map(|h| h.accession)
    .collect()
}

fn count(outcomes: &[(Outcome, i64)], o: Outcome) -> usize {
    outcomes.iter().filter(|(x, _)| *x == o).count()
}

#[test]
fn omicsdi_round_trip_reingest_update_delete() {
    let Some(batch) = changes("omicsdi-xml") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let e = Engine::open(EngineConfig::new(dir.path())).unwrap();

    let first = e.apply(&batch, 1000).unwrap();
    e.commit().unwrap();
    // Some entries appear in two files (the validator copies): the second is an update or unchanged.
    let stored = count(&first, Outcome::New);
    assert!(stored >= 100, "{stored}");
    let seq = e.store().last_seq().unwrap();

    // Known records come first.
    assert_eq!(search(&e, "PXD000005")[0], "PXD000005");
    assert_eq!(search(&e, "Fbw7 NF-kB")[0], "PXD000005");
    assert_eq!(
        search(&e, "tyrosine phosphorylation dimethyl labeling")[0],
        "PRD000123"
    );
    assert_eq!(search(&e, "\"Snake Venom\"")[0], "PXD002837");

    // Re-ingesting the same records changes nothing. (The whole folder holds two different
    // versions of PXD002837, so one folder re-ingest would flip between them; one file does not.)
    let dumps = changes("omicsdi-xml/ddi-annotation").unwrap();
    let again = e.apply(&dumps, 2000).unwrap();
    assert_eq!(count(&again, Outcome::Unchanged), dumps.len());
    assert_eq!(
        e.store().last_seq().unwrap(),
        seq,
        "no change took a sequence number"
    );

    // A changed record is updated, its previous version kept in history.
    let Change::Upsert(mut rec) = batch
        .iter()
        .find(|c| matches!(c, Change::Upsert(r) if r.dataset.accession == "PXD000005"))
        .unwrap()
        .clone()
    else {
        unreachable!()
    };
    rec.dataset.title =
        "Proteomic screen reveals Fbw7 as a modulator of the NF-kB pathway (revised)".into();
    rec.raw = rec.raw.replace(
        "modulator of the NF-kB pathway<",
        "modulator of the NF-kB pathway (revised)<",
    );
    let out = e.apply(&[Change::Upsert(rec)], 3000).unwrap();
    assert_eq!(out[0].0, Outcome::Updated);
    e.commit().unwrap();
    let id = out[0].1;
    let now = e.record(id).unwrap().unwrap();
    assert_eq!(now.version, 2);
    assert!(now.dataset.title.ends_with("(revised)"));
    let history = e.store().history(id).unwrap();
    assert_eq!(history.len(), 1);
    assert!(!history[0].dataset.title.ends_with("(revised)"));
    assert!(e.store().raw(id).unwrap().unwrap().contains("(revised)"));
    assert_eq!(search(&e, "revised Fbw7")[0], "PXD000005");

    // A deletion is a tombstone: gone from search, kept in the store.
    let out = e
        .apply(
            &[Change::Delete {
                repository: "pride".into(),
                accession: "PXD000005".into(),
                source: "test".into(),
            }],
            4000,
        )
        .unwrap();
    assert_eq!(out[0].0, Outcome::Deleted);
    e.commit().unwrap();
    assert!(!search(&e, "PXD000005").contains(&"PXD000005".to_string()));
    assert!(e.record(id).unwrap().unwrap().deleted);
    assert_eq!(e.store().history(id).unwrap().len(), 2);
}

#[test]
fn reopening_catches_up_an_index_that_lags_the_store() {
    let Some(batch) = changes("omicsdi-xml/ddi-annotation") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    {
        let e = Engine::open(EngineConfig::new(dir.path())).unwrap();
        // Written to the store, never committed to the index: what a crash leaves behind.
        e.apply(&batch, 1).unwrap();
    }
    let e = Engine::open(EngineConfig::new(dir.path())).unwrap();
    let stats = e.stats().unwrap();
    assert_eq!(stats.indexed_documents, stats.store.records);
    assert_eq!(stats.index_seq, stats.store.last_seq);
    assert_eq!(search(&e, "ST000001")[0], "ST000001");
}

/// A lost index is rebuilt from the store on the next open, committing every few changes
/// (here 7): each record comes back once, in its latest version, and the index ends at the
/// store's last change.
#[test]
fn a_rebuilt_index_holds_each_record_once_in_its_latest_version() {
    let Some(batch) = changes("omicsdi-xml/ddi-annotation") else {
        return;
    };
    let updated: Vec<Change> = batch
        .iter()
        .map(|c| match c {
            Change::Upsert(r) => {
                let mut r = r.clone();
                r.dataset.title = format!("{} zymurgical revision", r.dataset.title);
                Change::Upsert(r)
            }
            other => other.clone(),
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let records = {
        let e = Engine::open(EngineConfig::new(dir.path())).unwrap();
        e.apply(&batch, 1).unwrap();
        e.apply(&updated, 2).unwrap();
        e.commit().unwrap();
        e.stats().unwrap().indexed_documents
    };
    assert!(records >= 50, "{records}");
    std::fs::remove_dir_all(dir.path().join("index")).unwrap();
    let mut config = EngineConfig::new(dir.path());
    config.catch_up_commit = 7;
    let e = Engine::open(config).unwrap();
    let stats = e.stats().unwrap();
    assert_eq!(stats.indexed_documents, records);
    assert_eq!(stats.index_seq, stats.store.last_seq);
    let hits = e
        .search(&SearchRequest {
            query: "zymurgical".into(),
            limit: 1,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(hits.count, records, "every record in its updated version");
    assert_eq!(search(&e, "ST000001")[0], "ST000001");
}

/// An index committed under an earlier layout (here: layout 2, whose `sim` field also held the
/// records' words) is rebuilt from the store on open, and then carries the current layout.
#[test]
fn an_index_of_an_earlier_layout_is_rebuilt_on_open() {
    let Some(batch) = changes("omicsdi-xml/ddi-annotation") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let records = {
        let e = Engine::open(EngineConfig::new(dir.path())).unwrap();
        e.apply(&batch, 1).unwrap();
        e.commit().unwrap();
        e.stats().unwrap().indexed_documents
    };
    let meta = dir.path().join("index").join("meta.json");
    let current = std::fs::read_to_string(&meta).unwrap();
    assert!(current.contains("layout=3"), "{current}");
    std::fs::write(&meta, current.replace("layout=3", "layout=2")).unwrap();
    let e = Engine::open(EngineConfig::new(dir.path())).unwrap();
    let stats = e.stats().unwrap();
    assert_eq!(stats.indexed_documents, records);
    assert_eq!(stats.index_seq, stats.store.last_seq);
    let rebuilt = std::fs::read_to_string(&meta).unwrap();
    assert!(rebuilt.contains("layout=3"), "{rebuilt}");
    assert_eq!(search(&e, "ST000001")[0], "ST000001");
}

#[test]
fn lookup_by_any_accession_facets_and_similar() {
    let Some(mut batch) = changes("omicsdi-xml/ddi-annotation") else {
        return;
    };
    let Some(pubmed) = changes("pubmed/pubmed-29768149.xml") else {
        return;
    };
    batch.extend(pubmed);
    let dir = tempfile::tempdir().unwrap();
    let e = Engine::open(EngineConfig::new(dir.path())).unwrap();
    e.apply(&batch, 1).unwrap();
    e.commit().unwrap();
    // REPOSITORY/ACCESSION and bare accession, case-insensitive.
    assert_eq!(e.resolve("pride/PXD000005").unwrap().len(), 1);
    assert_eq!(e.resolve("pxd000005").unwrap().len(), 1);
    assert_eq!(e.resolve("29768149").unwrap().len(), 1);

    let res = e
        .search(&SearchRequest {
            query: "*".into(),
            limit: 5,
            facets: true,
            facet_size: 10,
            ..Default::default()
        })
        .unwrap();
    let repos = &res.facets["repository"];
    assert_eq!(repos[0].value, "metabolights_dataset");
    assert_eq!(repos[0].count, 94);
    let filtered = e
        .search(&SearchRequest {
            query: "*".into(),
            limit: 5,
            filters: vec![
                ("repository".into(), "pride".into()),
                ("organism".into(), "Homo sapiens".into()),
            ],
            ..Default::default()
        })
        .unwrap();
    assert_eq!(filtered.count, 1, "{:?}", filtered.hits);
    assert_eq!(filtered.hits[0].accession, "PXD000005");

    let id = e.resolve("MTBLS1").unwrap()[0];
    let similar = e.similar(id, 5).unwrap();
    assert_eq!(similar.len(), 5);
    assert!(similar.iter().all(|h| h.accession != "MTBLS1"));
}

/// Facet counts added up over several segments (one per commit, a deletion in between) agree
/// with the number of documents a filter on each value finds.
#[test]
fn facet_counts_over_segments_agree_with_filters() {
    let Some(batch) = changes("omicsdi-xml/ddi-annotation") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let e = Engine::open(EngineConfig::new(dir.path())).unwrap();
    for (i, part) in batch.chunks(batch.len() / 3 + 1).enumerate() {
        e.apply(part, i as i64 + 1).unwrap();
        e.commit().unwrap();
    }
    assert!(e.index().segment_count() >= 2, "needs several segments");
    let Change::Upsert(first) = &batch[0] else {
        panic!("first change is a record");
    };
    let gone = Change::Delete {
        repository: first.dataset.repository.clone(),
        accession: first.dataset.accession.clone(),
        source: "test".into(),
    };
    e.apply(&[gone], 9).unwrap();
    e.commit().unwrap();

    let all = |filters: Vec<(String, String)>, facet_size: usize| {
        e.search(&SearchRequest {
            query: "*".into(),
            limit: 1,
            facets: true,
            facet_size,
            filters,
            expand_clusters: true,
            ..Default::default()
        })
        .unwrap()
    };
    let res = all(vec![], 1000);
    assert_eq!(res.count as usize, batch.len() - 1);
    let total: u64 = res.facets["repository"].iter().map(|f| f.count).sum();
    assert_eq!(total, res.count, "every document has one repository");
    let mut checked = 0;
    for facet in [
        "repository",
        "omics_type",
        "organism",
        "disease",
        "tissue",
        "year",
    ] {
        let counts = &res.facets[facet];
        for w in counts.windows(2) {
            if facet == "year" {
                assert!(w[0].value > w[1].value, "years latest first: {counts:?}");
            } else {
                assert!(
                    w[0].count > w[1].count
                        || (w[0].count == w[1].count && w[0].value < w[1].value),
                    "{facet}: most first, ties by value: {counts:?}"
                );
            }
        }
        for f in counts.iter().take(8) {
            let n = all(vec![(facet.into(), f.value.clone())], 1).count;
            assert_eq!(n, f.count, "{facet}={}", f.value);
            checked += 1;
        }
    }
    assert!(checked > 20, "only {checked} values checked");
    // A smaller facet size keeps the most frequent values.
    let top2 = all(vec![], 2);
    assert_eq!(top2.facets["organism"][..], res.facets["organism"][..2]);
}
