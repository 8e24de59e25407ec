//! The PostgreSQL store against a real server (a throwaway cluster per test): the same
//! semantics as the embedded store, row for row; counters; concurrent writers from separate
//! pools (as from separate processes) with a follower that must never skip a change; nodes
//! following the change log; the embedded -> PostgreSQL -> embedded round trip.

use opendi_corpora::postgres::Cluster;
use opendi_engine::store::transfer::{copy, Dump, Transfer};
use opendi_engine::{
    Change, Counters, CurationAction, Engine, EngineConfig, Neighbour, NewRecord, Outcome, PgStore,
    SearchRequest, SqliteStore, Store,
};
use opendi_ingest::{read_all, source::expand};
use opendi_model::{Dataset, Item, PartialDate};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

#[path = "support/publications.rs"]
mod publications;

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

/// The OmicsDI folder and a PubMed record (a record that is a shared publication).
fn corpus_batch() -> Option<Vec<Change>> {
    let mut batch = changes("omicsdi-xml")?;
    batch.extend(changes("pubmed/pubmed-29768149.xml")?);
    Some(batch)
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

fn pg_engine(dir: &std::path::Path, url: &str) -> Engine {
    let mut config = EngineConfig::new(dir);
    config.database = Some(url.to_string());
    Engine::open(config).unwrap()
}

fn upsert(repo: &str, acc: &str, title: &str) -> Change {
    let mut d = Dataset::new(repo, acc);
    d.title = title.into();
    Change::Upsert(Box::new(NewRecord::new(
        d,
        format!("<raw>{title}</raw>"),
        "test".into(),
        "test".into(),
        vec![],
        None,
    )))
}

fn delete(repo: &str, acc: &str) -> Change {
    Change::Delete {
        repository: repo.into(),
        accession: acc.into(),
        source: "test".into(),
    }
}

/// Every row of a store, in a comparable order.
fn everything(s: &dyn Transfer) -> (Dump, Vec<opendi_engine::store::transfer::PublicationRow>) {
    let mut d = s.export(0, i64::MAX).unwrap();
    d.accessions.sort();
    d.link_keys.sort();
    d.mentions.sort();
    (d, s.export_publications("", usize::MAX >> 1).unwrap())
}

/// The script both stores run: a corpus, a re-ingest, an update, deletions (known and
/// unknown), a record changed twice in one batch, a deleted record coming back.
fn script(s: &dyn Store, batch: &[Change]) -> Vec<Vec<(Outcome, i64)>> {
    let mut touched = Vec::new();
    let mut run = |b: &[Change], now: i64| {
        let a = s.apply(b, now).unwrap();
        touched.push(a.touched);
        a.outcomes
    };
    let mut out = vec![run(batch, 1000)];
    out.push(run(batch, 2000));
    out.push(run(
        &[
            upsert("pride", "PXD000005", "revised once"),
            delete("pride", "PXD000001"),
            delete("geo", "GSE-NEVER-SEEN"),
            upsert("test", "T1", "first"),
            upsert("test", "T1", "second"),
            delete("test", "T1"),
            upsert("test", "T1", "third"),
            upsert("test", "T2", "two"),
        ],
        3000,
    ));
    out.push(run(
        &[
            delete("pride", "PXD000005"),
            delete("pride", "PXD000005"),
            upsert("test", "T2", "two"),
        ],
        4000,
    ));
    out.push(run(&[upsert("pride", "PXD000005", "back again")], 5000));
    // Records re-indexed for their links' sake, as outcomes of their own.
    out.extend(
        touched
            .into_iter()
            .map(|t| t.into_iter().map(|id| (Outcome::Updated, id)).collect()),
    );
    out
}

#[test]
fn same_semantics_as_the_embedded_store_row_for_row() {
    let Some(batch) = corpus_batch() else {
        return;
    };
    let Some(pg) = Cluster::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let lite = SqliteStore::open(&dir.path().join("store.sqlite")).unwrap();
    let pgs = PgStore::open(&pg.url()).unwrap();

    let a = script(&lite, &batch);
    let b = script(&pgs, &batch);
    assert_eq!(a, b, "outcomes and record ids");
    assert!(a[0].iter().filter(|o| o.0 == Outcome::New).count() >= 100);
    // Re-ingested: unchanged, but for the records the folder holds in two versions (the
    // validator copies), which flip between them.
    let unchanged = a[1].iter().filter(|o| o.0 == Outcome::Unchanged).count();
    assert!(
        unchanged * 10 > a[1].len() * 9,
        "{unchanged} of {}",
        a[1].len()
    );
    assert_eq!(a[2][2].0, Outcome::DeletedUnknown);
    assert_eq!(a[3][1].0, Outcome::Unchanged, "a second delete is a no-op");

    let (ld, lp) = everything(&lite);
    let (pd, pp) = everything(&pgs);
    assert_eq!(ld.records.len(), pd.records.len());
    for (x, y) in ld.records.iter().zip(&pd.records) {
        assert_eq!(x, y, "record {}/{}", x.repository, x.accession);
    }
    assert_eq!(ld.history, pd.history);
    assert_eq!(ld.accessions, pd.accessions);
    assert_eq!(ld.link_keys, pd.link_keys);
    assert_eq!(ld.mentions, pd.mentions);
    assert_eq!(lp, pp);
    assert!(!ld.history.is_empty() && !lp.is_empty());

    // The read side agrees too.
    let ls = lite.stats().unwrap();
    let ps = pgs.stats().unwrap();
    assert_eq!(
        serde_json::to_value(&ls).unwrap(),
        serde_json::to_value(&ps).unwrap()
    );
    let id = pgs.by_key("pride", "PXD000005").unwrap().unwrap();
    assert_eq!(pgs.find_accession("pxd000005").unwrap(), vec![id]);
    assert_eq!(
        lite.find_accession("PXD000005").unwrap(),
        pgs.find_accession(" PXD000005 ").unwrap()
    );
    let h = pgs.history(id).unwrap();
    assert_eq!(
        serde_json::to_value(&h).unwrap(),
        serde_json::to_value(lite.history(id).unwrap()).unwrap()
    );
    // Version 1, then version 2 as it was when it came back (deleted): a tombstone keeps its
    // version number, so its archive replaces the live version-2 entry, as in SQLite.
    assert_eq!(h.len(), 2);
    assert!(!h[0].deleted && h[1].deleted);
    assert_eq!(pgs.get(id).unwrap().unwrap().dataset.title, "back again");
    assert_eq!(pgs.raw(id).unwrap(), lite.raw(id).unwrap());
    let changes_l = lite.changes_since(10, 50).unwrap();
    let changes_p = pgs.changes_since(10, 50).unwrap();
    assert_eq!(
        changes_l
            .iter()
            .map(|c| (c.seq, c.record.id))
            .collect::<Vec<_>>(),
        changes_p
            .iter()
            .map(|c| (c.seq, c.record.id))
            .collect::<Vec<_>>()
    );
    assert_eq!(lite.last_seq().unwrap(), pgs.last_seq().unwrap());

    // List entries, read in one statement, carry what the whole record says; deleted and
    // unknown ids are left out.
    let ids: Vec<i64> = (0..=ld.records.len() as i64 + 2).collect();
    let heads = list_entries(&lite, &ids);
    assert_eq!(heads, list_entries(&pgs, &ids));
    let live = ids
        .iter()
        .filter(|&&id| lite.get(id).unwrap().is_some_and(|r| !r.deleted))
        .count();
    assert_eq!(heads.len(), live);
    assert!(live > 100 && live < ids.len(), "{live} of {}", ids.len());
}

/// Each list entry of `ids` beside the same fields of the whole record.
fn list_entries(s: &dyn Store, ids: &[i64]) -> BTreeMap<i64, Dataset> {
    let mut out = BTreeMap::new();
    for (id, head) in s.heads(ids).unwrap() {
        let whole = s.get(id).unwrap().unwrap().dataset;
        let expected = Dataset {
            repository: whole.repository,
            accession: whole.accession,
            title: whole.title,
            description: whole.description,
            omics_types: whole.omics_types,
            dates: whole.dates,
            submitter_keywords: whole.submitter_keywords,
            curator_keywords: whole.curator_keywords,
            organisms: whole.organisms,
            is_private: whole.is_private,
            ..Default::default()
        };
        assert_eq!(head, expected, "record {id}");
        out.insert(id, head);
    }
    out
}

#[test]
fn engine_on_postgres_searches_updates_and_deletes() {
    let Some(batch) = changes("omicsdi-xml/ddi-annotation") else {
        return;
    };
    let Some(pubmed) = changes("pubmed/pubmed-29768149.xml") else {
        return;
    };
    let Some(pg) = Cluster::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let e = pg_engine(dir.path(), &pg.url());
    assert!(e.follows_store());
    e.apply(&batch, 1).unwrap();
    e.apply(&pubmed, 1).unwrap();
    e.commit().unwrap();
    assert_eq!(search(&e, "PXD000005")[0], "PXD000005");
    assert_eq!(search(&e, "Fbw7 NF-kB")[0], "PXD000005");
    assert_eq!(e.resolve("pride/PXD000005").unwrap().len(), 1);
    assert_eq!(e.resolve("29768149").unwrap().len(), 1);
    let stats = e.stats().unwrap();
    assert_eq!(stats.indexed_documents, stats.store.records);
    assert_eq!(stats.index_seq, stats.store.last_seq);

    let out = e
        .apply(&[upsert("pride", "PXD000005", "Fbw7 revised screen")], 2)
        .unwrap();
    assert_eq!(out[0].0, Outcome::Updated);
    e.apply(&[delete("metabolights_dataset", "MTBLS1")], 3)
        .unwrap();
    e.commit().unwrap();
    assert_eq!(search(&e, "revised screen")[0], "PXD000005");
    assert!(!search(&e, "MTBLS1").contains(&"MTBLS1".to_string()));
    let id = e.resolve("MTBLS1").unwrap()[0];
    assert!(e.record(id).unwrap().unwrap().deleted);
    let similar = e.similar(e.resolve("MTBLS2").unwrap()[0], 5).unwrap();
    assert_eq!(similar.len(), 5);
}

#[test]
fn counters_persist_and_take_no_seq() {
    let Some(pg) = Cluster::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let id = {
        let e = pg_engine(dir.path(), &pg.url());
        let id = e.apply(&[upsert("pride", "PXD000001", "t")], 1).unwrap()[0].1;
        assert_eq!(e.store().counters(id).unwrap(), Counters::default());
        let seq = e.store().last_seq().unwrap();
        e.store().add_view(id).unwrap();
        e.store().add_view(id).unwrap();
        e.store().add_download(id).unwrap();
        // The engine's batched page views land in one transaction.
        e.add_view(id).unwrap();
        e.add_download(id).unwrap();
        e.flush_counts().unwrap();
        assert_eq!(
            e.store().last_seq().unwrap(),
            seq,
            "counters are not changes"
        );
        id
    };
    // Another node sees the same counters.
    let other = tempfile::tempdir().unwrap();
    let e = pg_engine(other.path(), &pg.url());
    assert_eq!(
        e.store().counters(id).unwrap(),
        Counters {
            views: 3,
            downloads: 2
        }
    );
    assert_eq!(e.store().counters(id + 1).unwrap(), Counters::default());
}

#[test]
fn concurrent_writers_lose_nothing_and_a_follower_skips_nothing() {
    let Some(pg) = Cluster::start() else { return };
    let url = pg.url();
    // Schema first, so the writers do not race on it (they would serialize anyway).
    drop(PgStore::open(&url).unwrap());
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    // A follower polling the change log the way a node does, keeping the last seq it saw.
    let follower = {
        let url = url.clone();
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            let s = PgStore::open(&url).unwrap();
            let mut after = 0;
            let mut seen: BTreeMap<i64, String> = BTreeMap::new();
            loop {
                let finished = done.load(std::sync::atomic::Ordering::SeqCst);
                loop {
                    let rows = s.changes_since(after, 500).unwrap();
                    if rows.is_empty() {
                        break;
                    }
                    for r in rows {
                        assert!(r.seq > after, "seq went backwards");
                        after = r.seq;
                        seen.insert(r.record.id, r.record.dataset.title.clone());
                    }
                }
                if finished {
                    return seen;
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        })
    };
    // Four writers, each with its own pool (as separate processes would be), writing
    // overlapping keys in small batches.
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let url = url.clone();
            std::thread::spawn(move || {
                let s = PgStore::open(&url).unwrap();
                for round in 0..25 {
                    let batch: Vec<Change> = (0..40)
                        .map(|i| {
                            let k = (round * 40 + i + w * 300) % 2000;
                            upsert("test", &format!("K{k}"), &format!("w{w} r{round}"))
                        })
                        .collect();
                    s.apply(&batch, round as i64).unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let seen = follower.join().unwrap();

    let s = PgStore::open(&url).unwrap();
    let (dump, _) = everything(&s);
    let keys: BTreeSet<&str> = dump.records.iter().map(|r| r.accession.as_str()).collect();
    assert_eq!(keys.len(), dump.records.len(), "no duplicate records");
    let expected: BTreeSet<String> = (0..4)
        .flat_map(|w| (0..1000).map(move |n| format!("K{}", (n + w * 300) % 2000)))
        .collect();
    assert_eq!(keys.len(), expected.len());
    let seqs: BTreeSet<i64> = dump.records.iter().map(|r| r.seq).collect();
    assert_eq!(seqs.len(), dump.records.len(), "seqs are unique");
    // The follower ends with exactly the store's current state: every record, newest title.
    assert_eq!(seen.len(), dump.records.len());
    for r in &dump.records {
        let rec = s.get(r.id).unwrap().unwrap();
        assert_eq!(seen.get(&r.id), Some(&rec.dataset.title), "{}", r.accession);
    }
}

#[test]
fn nodes_follow_the_change_log_and_a_new_node_builds_its_index() {
    let Some(batch) = changes("omicsdi-xml/ddi-annotation") else {
        return;
    };
    let Some(pg) = Cluster::start() else { return };
    let url = pg.url();
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = pg_engine(da.path(), &url);
    let b = pg_engine(db.path(), &url);
    a.apply(&batch, 1).unwrap();
    a.commit().unwrap();
    assert_eq!(search(&a, "ST000001")[0], "ST000001");
    assert!(search(&b, "ST000001").is_empty(), "b has not followed yet");
    assert!(b.follow().unwrap() > 0);
    assert_eq!(search(&b, "ST000001")[0], "ST000001");
    assert_eq!(b.follow().unwrap(), 0, "nothing new");

    // A change through b reaches a.
    b.apply(
        &[upsert("test", "NEWREC1", "zebrafish fin regeneration")],
        2,
    )
    .unwrap();
    assert_eq!(a.follow().unwrap(), 1);
    assert_eq!(search(&a, "zebrafish regeneration")[0], "NEWREC1");

    // A node that starts later builds its index from the database on open.
    let dc = tempfile::tempdir().unwrap();
    let c = pg_engine(dc.path(), &url);
    let s = c.stats().unwrap();
    assert_eq!(s.indexed_documents, s.store.records);
    assert_eq!(search(&c, "zebrafish regeneration")[0], "NEWREC1");

    // The background follower does the same by itself.
    let c = Arc::new(c);
    opendi_engine::spawn_follower(Arc::clone(&c), std::time::Duration::from_millis(100)).unwrap();
    a.apply(&[upsert("test", "NEWREC2", "axolotl limb")], 3)
        .unwrap();
    let mut found = false;
    for _ in 0..300 {
        if search(&c, "axolotl").first().map(String::as_str) == Some("NEWREC2") {
            found = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(
        found,
        "the follower indexed a record written by another node"
    );
}

#[test]
fn embedded_to_postgres_and_back_loses_nothing() {
    let Some(batch) = corpus_batch() else {
        return;
    };
    let Some(pg) = Cluster::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let lite = SqliteStore::open(&dir.path().join("store.sqlite")).unwrap();
    script(&lite, &batch);
    let id = lite.by_key("pride", "PXD000005").unwrap().unwrap();
    lite.add_view(id).unwrap();
    lite.add_download(id).unwrap();
    // Curations travel too (by repository and accession, with their clusters).
    let t2 = lite.by_key("test", "T2").unwrap().unwrap();
    lite.curate(CurationAction::Merge, id, t2, "checked", 6000)
        .unwrap();
    lite.curate(CurationAction::Split, id, t2, "rechecked", 6001)
        .unwrap();
    lite.curate(
        CurationAction::Merge,
        t2,
        lite.by_key("test", "T1").unwrap().unwrap(),
        "",
        6002,
    )
    .unwrap();

    let pgs = PgStore::open(&pg.url()).unwrap();
    let mut steps = 0;
    let n = copy(&lite, &pgs, |_, _| steps += 1).unwrap();
    assert!(steps > 0);
    assert_eq!(n as usize, lite.export(0, i64::MAX).unwrap().records.len());
    // Refused into a store that is not empty.
    assert!(copy(&lite, &pgs, |_, _| {}).is_err());

    let back_dir = tempfile::tempdir().unwrap();
    let back = SqliteStore::open(&back_dir.path().join("store.sqlite")).unwrap();
    copy(&pgs, &back, |_, _| {}).unwrap();
    let (l, lp) = everything(&lite);
    let (p, pp) = everything(&pgs);
    let (r, rp) = everything(&back);
    assert_eq!(l, p);
    assert_eq!(l, r);
    assert_eq!(lp, pp);
    assert_eq!(lp, rp);
    let curations = lite.curations().unwrap();
    assert_eq!(curations.len(), 2);
    assert_eq!(pgs.curations().unwrap(), curations);
    assert_eq!(back.curations().unwrap(), curations);
    assert!(!lp.is_empty() && !l.history.is_empty() && l.records.iter().any(|r| r.deleted));
    assert_eq!(
        back.counters(id).unwrap(),
        Counters {
            views: 1,
            downloads: 1
        }
    );
    // The migrated database keeps taking ids and seqs after the copied ones.
    let out = pgs
        .apply(&[upsert("test", "AFTER", "after")], 9)
        .unwrap()
        .outcomes;
    assert_eq!(
        out[0].1,
        lite.export(0, i64::MAX).unwrap().records.last().unwrap().id + 1
    );
    assert_eq!(pgs.last_seq().unwrap(), lite.last_seq().unwrap() + 1);
}

fn linked(repo: &str, acc: &str, secondary: &[&str], cites: &[&str]) -> Change {
    let mut d = Dataset::new(repo, acc);
    d.title = format!("{acc} liver fibrosis");
    d.secondary_accessions = secondary.iter().map(|s| s.to_string()).collect();
    for c in cites {
        d.add_cross_ref("geo", c, opendi_model::Evidence::FoundInText);
    }
    Change::Upsert(Box::new(NewRecord::new(
        d,
        format!("<raw>{acc}</raw>"),
        "test".into(),
        "test".into(),
        vec![],
        None,
    )))
}

#[test]
fn clusters_citations_and_touched_records_match_the_embedded_store() {
    let Some(pg) = Cluster::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let lite = SqliteStore::open(&dir.path().join("store.sqlite")).unwrap();
    let pgs = PgStore::open(&pg.url()).unwrap();
    let steps: Vec<Vec<Change>> = vec![
        vec![
            linked("geo", "GSE555", &[], &[]),
            linked("arrayexpress-repository", "E-GEOD-555", &["GSE555"], &[]),
            linked("geo", "GSE777", &[], &[]),
            linked("pride", "PXD000042", &[], &[]),
        ],
        // Papers arrive: citations for GSE555 and GSE777, a mirror joins the PRIDE record.
        vec![
            linked("pubmed", "1001", &[], &["GSE555"]),
            linked("pubmed", "1002", &[], &["GSE555", "GSE777"]),
            linked("iprox", "IPX0001", &["PXD000042"], &[]),
        ],
        // A paper leaves, the mirror drops its bridge, GSE777 joins the GSE555 cluster.
        vec![
            delete("pubmed", "1001"),
            linked("iprox", "IPX0001", &[], &[]),
            linked("geo", "GSE777", &["GSE555"], &[]),
        ],
    ];
    for (i, step) in steps.iter().enumerate() {
        let a = lite.apply(step, 100 + i as i64).unwrap();
        let b = pgs.apply(step, 100 + i as i64).unwrap();
        assert_eq!(a.outcomes, b.outcomes, "step {i}");
        assert_eq!(
            a.touched, b.touched,
            "step {i}: records re-indexed for links"
        );
    }
    let (ld, _) = everything(&lite);
    let (pd, _) = everything(&pgs);
    assert_eq!(ld, pd, "rows, clusters, link keys and mentions");
    assert!(ld.records.iter().any(|r| r.cluster.is_some()));
    for r in &ld.records {
        assert_eq!(
            serde_json::to_value(lite.relations(r.id).unwrap()).unwrap(),
            serde_json::to_value(pgs.relations(r.id).unwrap()).unwrap(),
            "{}",
            r.accession
        );
        assert_eq!(
            lite.link_counts(r.id).unwrap(),
            pgs.link_counts(r.id).unwrap()
        );
    }
    let gse = pgs.by_key("geo", "GSE555").unwrap().unwrap();
    assert!(pgs.relations(gse).unwrap().citations >= 1);
    assert_eq!(
        lite.clusters(10).unwrap(),
        pgs.clusters(10).unwrap(),
        "cluster listing"
    );
    let f = opendi_engine::ChangeFilter {
        repository: Some("geo".into()),
        include_deleted: false,
        ..Default::default()
    };
    let ids = |rows: Vec<opendi_engine::ChangeRow>| -> Vec<i64> {
        rows.iter().map(|r| r.record.id).collect()
    };
    assert_eq!(
        ids(lite.changes_filtered(0, 100, &f).unwrap()),
        ids(pgs.changes_filtered(0, 100, &f).unwrap())
    );
    assert_eq!(
        lite.live_keys(1, 100).unwrap(),
        pgs.live_keys(1, 100).unwrap()
    );
    lite.add_view(gse).unwrap();
    pgs.add_view(gse).unwrap();
    assert_eq!(lite.most_viewed(5).unwrap(), pgs.most_viewed(5).unwrap());
}

/// The precomputed similar lists are the same on PostgreSQL as on the embedded store, after
/// arrivals, an update and a deletion (each through the incremental path).
#[test]
fn similar_lists_match_the_embedded_store() {
    let Some(batch) = changes("omicsdi-xml/ddi-annotation") else {
        return;
    };
    let Some(pg) = Cluster::start() else { return };
    let lite_dir = tempfile::tempdir().unwrap();
    let pg_dir = tempfile::tempdir().unwrap();
    let lite = Engine::open(EngineConfig::new(lite_dir.path())).unwrap();
    let pge = pg_engine(pg_dir.path(), &pg.url());
    let steps: Vec<Vec<Change>> = vec![
        batch,
        vec![upsert(
            "pride",
            "PXD000005",
            "Fbw7 NF-kB proteome revisited",
        )],
        vec![delete("metabolights_dataset", "MTBLS1")],
    ];
    for (i, step) in steps.iter().enumerate() {
        for e in [&lite, &pge] {
            e.apply(step, 10 + i as i64).unwrap();
            e.commit().unwrap();
        }
        let keys: Vec<(i64, String)> = lite
            .store()
            .live_keys(0, 1000)
            .unwrap()
            .into_iter()
            .map(|k| (k.id, format!("{}/{}", k.repository, k.accession)))
            .collect();
        assert!(keys.len() > 10);
        let mut listed = 0;
        for (id, acc) in &keys {
            let a: Vec<(String, Vec<String>)> = lite
                .similar(*id, 20)
                .unwrap()
                .into_iter()
                .map(|h| (h.accession, h.reasons))
                .collect();
            let b: Vec<(String, Vec<String>)> = pge
                .similar(pge.resolve(acc).unwrap()[0], 20)
                .unwrap()
                .into_iter()
                .map(|h| (h.accession, h.reasons))
                .collect();
            assert_eq!(a, b, "step {i}: similar list of {acc}");
            assert!(a.iter().all(|(n, _)| n != "MTBLS1" || i < 2));
            listed += usize::from(!a.is_empty());
        }
        assert!(
            listed > keys.len() / 2,
            "step {i}: most records have neighbours"
        );
        // Stored, not computed on the fly.
        let (some, key) = &keys[0];
        assert_eq!(
            lite.store().similar(*some).unwrap().len(),
            pge.store()
                .similar(pge.resolve(key).unwrap()[0])
                .unwrap()
                .len()
        );
    }
}

/// Schema 5 keeps a similar list per row: lists as schema 4 wrote them (a row per
/// neighbour, reasons as JSON text) are converted by the migration, read back as they were,
/// name their neighbours for `similar_listing` and are replaced like any other.
#[test]
fn similar_lists_of_schema_4_are_converted() {
    let Some(pg) = Cluster::start() else { return };
    let url = pg.url();
    let n = |id: i64, score: f32, reason: &str| Neighbour {
        id,
        score,
        reasons: vec![reason.to_string()],
    };
    let flat = |list: Vec<Neighbour>| -> Vec<(i64, f32, Vec<String>)> {
        list.into_iter()
            .map(|n| (n.id, n.score, n.reasons))
            .collect()
    };
    let s = PgStore::open(&url).unwrap();
    s.set_similar(&[(
        1,
        vec![
            n(2, 416.954_9, "shared terms: marrow, anemia"),
            n(3, 4.25, "same organism: Homo sapiens"),
        ],
    )])
    .unwrap();
    let written = flat(s.similar(1).unwrap());
    assert_eq!(written.len(), 2);
    assert_eq!(s.similar_listing(&[3]).unwrap(), vec![1]);
    drop(s);
    let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    c.batch_execute(
        r#"DROP TABLE neighbour_lists;
        DELETE FROM schema_version WHERE version >= 5;
        CREATE TABLE similar_lists (
            record_id BIGINT NOT NULL, rank INTEGER NOT NULL, neighbour BIGINT NOT NULL,
            score REAL NOT NULL, reasons TEXT NOT NULL, PRIMARY KEY (record_id, rank)
        );
        CREATE INDEX similar_neighbour ON similar_lists (neighbour);
        INSERT INTO similar_lists VALUES
            (1, 1, 3, 4.25, '["same organism: Homo sapiens"]'),
            (1, 0, 2, 416.9549, '["shared terms: marrow, anemia"]'),
            (2, 0, 1, 416.9549, '[]');"#,
    )
    .unwrap();
    let s = PgStore::open(&url).unwrap();
    assert_eq!(flat(s.similar(1).unwrap()), written);
    assert!(s.similar(2).unwrap()[0].reasons.is_empty());
    assert_eq!(s.similar_listing(&[3]).unwrap(), vec![1]);
    assert_eq!(s.similar_listing(&[1]).unwrap(), vec![2]);
    let version: i32 = c
        .query_one("SELECT max(version) FROM schema_version", &[])
        .unwrap()
        .get(0);
    assert_eq!(version, 7);
    s.set_similar(&[(1, vec![n(9, 1.0, "x")]), (2, Vec::new())])
        .unwrap();
    assert_eq!(s.similar_listing(&[1, 3, 9]).unwrap(), vec![1]);
    assert!(s.similar(2).unwrap().is_empty());
}

/// Curated merges and splits behave the same on PostgreSQL as on the embedded store: the
/// same clusters, reasons and re-indexed records after each decision, a split that holds
/// when a later record shares the key and a merge that holds through re-ingest; and the
/// engine on PostgreSQL makes a merge searchable as one hit.
#[test]
fn curations_match_the_embedded_store() {
    let Some(pg) = Cluster::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let lite = SqliteStore::open(&dir.path().join("store.sqlite")).unwrap();
    let pgs = PgStore::open(&pg.url()).unwrap();
    let both = |f: &dyn Fn(&dyn Store) -> Vec<i64>| {
        let (a, b) = (f(&lite), f(&pgs));
        assert_eq!(a, b, "re-indexed records");
    };
    let put =
        |step: Vec<Change>, now: i64| move |s: &dyn Store| s.apply(&step, now).unwrap().touched;
    both(&put(
        vec![
            linked("geo", "GSE555", &[], &[]),
            linked("arrayexpress-repository", "E-GEOD-555", &["GSE555"], &[]),
            linked("geo", "GSE777", &[], &[]),
        ],
        100,
    ));
    let id = |acc: &str| lite.find_accession(acc).unwrap()[0];
    let (gse, mirror, other) = (id("GSE555"), id("E-GEOD-555"), id("GSE777"));
    both(&|s| {
        s.curate(CurationAction::Merge, gse, other, "same lab", 200)
            .unwrap()
            .touched
    });
    both(&|s| {
        s.curate(CurationAction::Split, gse, mirror, "", 300)
            .unwrap()
            .touched
    });
    // A later record sharing the key, and a re-ingest of the merged record.
    both(&put(
        vec![
            linked("biostudies-arrays", "E-GEOD-555-COPY", &["GSE555"], &[]),
            linked("geo", "GSE777", &["PXD1"], &[]),
        ],
        400,
    ));
    let (ld, _) = everything(&lite);
    let (pd, _) = everything(&pgs);
    assert_eq!(ld, pd, "rows and clusters");
    for r in &ld.records {
        assert_eq!(
            serde_json::to_value(lite.relations(r.id).unwrap()).unwrap(),
            serde_json::to_value(pgs.relations(r.id).unwrap()).unwrap(),
            "{}",
            r.accession
        );
    }
    let rel = pgs.relations(gse).unwrap();
    let members: Vec<(&str, &str)> = rel
        .also_in
        .iter()
        .map(|m| (m.accession.as_str(), m.reason.as_str()))
        .collect();
    assert_eq!(
        members,
        vec![
            ("GSE777", "merged by curator: same lab"),
            ("E-GEOD-555-COPY", "same GEO series GSE555")
        ]
    );
    assert!(pgs.relations(mirror).unwrap().also_in.is_empty());
    assert_eq!(pgs.curations().unwrap(), lite.curations().unwrap());

    // Through the engine (the index follows the change log): the merge is one hit.
    let e = pg_engine(dir.path().join("pg-node").as_path(), &pg.url());
    e.commit().unwrap();
    let one = |e: &Engine| {
        e.search(&SearchRequest {
            query: "GSE777 OR GSE555".into(),
            limit: 10,
            ..Default::default()
        })
        .unwrap()
        .hits
        .len()
    };
    assert_eq!(one(&e), 2, "the merged pair and the split mirror");
    e.curate(CurationAction::Split, gse, other, "", 500)
        .unwrap();
    assert_eq!(one(&e), 3);
    assert!(matches!(
        e.curate(CurationAction::Merge, gse, gse, "", 600),
        Err(opendi_engine::EngineError::Invalid(_))
    ));
}

/// Enough records for the stores to train their dictionaries (`store/packing.rs`).
fn many_records() -> Vec<Change> {
    const WORDS: &[&str] = &[
        "liver",
        "marrow",
        "kidney",
        "proteome",
        "methylation",
        "cohort",
    ];
    (0..opendi_engine::store::packing::SAMPLES + 150)
        .map(|i| {
            let title = format!(
                "{} and {} of donor {} in study {}",
                WORDS[i % WORDS.len()],
                WORDS[i / 5 % WORDS.len()],
                i * 7919 % 1000,
                i / 13
            );
            upsert("test", &format!("MANY{i:05}"), &title)
        })
        .collect()
}

#[test]
fn both_stores_train_the_same_dictionaries_and_a_migration_carries_them() {
    let Some(pg) = Cluster::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let lite = SqliteStore::open(&dir.path().join("store.sqlite")).unwrap();
    let pgs = PgStore::open(&pg.url()).unwrap();
    let batch = many_records();
    for chunk in batch.chunks(100) {
        lite.apply(chunk, 5).unwrap();
        pgs.apply(chunk, 5).unwrap();
    }
    let dictionaries = |s: &dyn Transfer| {
        let mut d = s.export_dictionaries().unwrap();
        d.sort_by(|a, b| a.kind.cmp(&b.kind));
        d
    };
    let dicts = dictionaries(&lite);
    assert_eq!(
        dicts.iter().map(|d| d.kind.as_str()).collect::<Vec<_>>(),
        ["record test"]
    );
    // Trained on the same records in the same order, they are the same: so are the blobs.
    assert_eq!(dictionaries(&pgs), dicts);
    assert_eq!(everything(&lite), everything(&pgs));

    // PostgreSQL to a new embedded store: dictionaries first, then blobs as they are; every
    // record reads back, there and after reopening.
    let back_dir = tempfile::tempdir().unwrap();
    let back_path = back_dir.path().join("store.sqlite");
    let back = SqliteStore::open(&back_path).unwrap();
    copy(&pgs, &back, |_, _| {}).unwrap();
    assert_eq!(dictionaries(&back), dicts);
    assert_eq!(everything(&back), everything(&lite));
    drop(back);
    let back = SqliteStore::open(&back_path).unwrap();
    for (i, change) in batch.iter().enumerate() {
        let Change::Upsert(r) = change else {
            unreachable!()
        };
        let id = back.by_key("test", &r.dataset.accession).unwrap().unwrap();
        assert_eq!(
            back.get(id).unwrap().unwrap().dataset,
            r.dataset,
            "record {i}"
        );
        assert_eq!(back.raw(id).unwrap().unwrap(), r.raw, "raw of record {i}");
        assert_eq!(
            pgs.raw(id).unwrap().unwrap(),
            r.raw,
            "raw of record {i} in PostgreSQL"
        );
    }
    // The migrated store packs new records with the dictionaries it received.
    back.apply(&[upsert("test", "AFTER", "liver and marrow of donor 1")], 6)
        .unwrap();
    assert_eq!(back.export_dictionaries().unwrap().len(), 1);
}

#[test]
fn publications_kept_in_records_read_back_and_a_migration_carries_them() {
    let Some(pg) = Cluster::start() else { return };
    let pgs = PgStore::open(&pg.url()).unwrap();
    publications::publications_kept_in_records_read_back_whatever_happens_to_them(&pgs);
    // The rows naming records, and the records, go over as they are: every publication reads
    // the same from the embedded copy.
    let dir = tempfile::tempdir().unwrap();
    let back = SqliteStore::open(&dir.path().join("store.sqlite")).unwrap();
    copy(&pgs, &back, |_, _| {}).unwrap();
    let (_, rows) = everything(&pgs);
    assert!(rows.iter().any(|r| r.data.starts_with(&[0xfb; 4])));
    for r in &rows {
        let pmid = r.pmid.as_deref();
        assert_eq!(
            back.publication(pmid, None, None).unwrap(),
            pgs.publication(pmid, None, None).unwrap(),
            "{}",
            r.key
        );
    }
}
