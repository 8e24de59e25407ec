//! Clusters, citations and reanalyses: derived in the store as records arrive, updated and
//! deleted, and carried into the index (one hit per cluster, sort by citations).

use opendi_engine::{Change, Engine, EngineConfig, NewRecord, SearchRequest, Sort};
use opendi_model::{Dataset, Evidence};

fn record(repo: &str, acc: &str, title: &str, secondary: &[&str]) -> Dataset {
    let mut d = Dataset::new(repo, acc);
    d.title = title.into();
    d.description = format!("{title}: a record written for the links test");
    d.secondary_accessions = secondary.iter().map(|s| s.to_string()).collect();
    d
}

fn put(e: &Engine, datasets: Vec<Dataset>) {
    let batch: Vec<Change> = datasets
        .into_iter()
        .map(|d| {
            Change::Upsert(Box::new(NewRecord::new(
                d,
                "<raw/>".into(),
                "test".into(),
                "links.rs".into(),
                vec![],
                None,
            )))
        })
        .collect();
    e.apply(&batch, 1000).unwrap();
    e.commit().unwrap();
}

fn delete(e: &Engine, repository: &str, accession: &str) {
    e.apply(
        &[Change::Delete {
            repository: repository.into(),
            accession: accession.into(),
            source: "links.rs".into(),
        }],
        2000,
    )
    .unwrap();
    e.commit().unwrap();
}

fn id(e: &Engine, key: &str) -> i64 {
    e.resolve(key).unwrap()[0]
}

fn hits(e: &Engine, q: &str, expand: bool, sort: Sort) -> Vec<(String, Vec<String>)> {
    e.search(&SearchRequest {
        query: q.into(),
        limit: 20,
        expand_clusters: expand,
        sort,
        ..Default::default()
    })
    .unwrap()
    .hits
    .into_iter()
    .map(|h| {
        (
            h.accession,
            h.also_in.into_iter().map(|a| a.accession).collect(),
        )
    })
    .collect()
}

#[test]
fn mirrors_cluster_with_reasons_and_search_shows_one_hit() {
    let dir = tempfile::tempdir().unwrap();
    let e = Engine::open(EngineConfig::new(dir.path())).unwrap();
    put(
        &e,
        vec![
            record("geo", "GSE1234", "zebrafish fin regeneration", &[]),
            record(
                "arrayexpress-repository",
                "E-GEOD-1234",
                "zebrafish fin regeneration",
                &[],
            ),
            record("pride", "PXD000042", "zebrafish fin proteome", &[]),
            record("iprox", "IPX0001", "zebrafish fin proteome", &["PXD000042"]),
            record("geo", "GSE999", "zebrafish heart", &[]),
        ],
    );
    let geo = e.relations(id(&e, "geo/GSE1234")).unwrap();
    assert_eq!(geo.also_in.len(), 1);
    assert_eq!(geo.also_in[0].accession, "E-GEOD-1234");
    assert_eq!(geo.also_in[0].reason, "same GEO series GSE1234");
    let px = e.relations(id(&e, "IPX0001")).unwrap();
    assert_eq!(px.also_in[0].accession, "PXD000042");
    assert_eq!(
        px.also_in[0].reason,
        "same ProteomeXchange dataset PXD000042"
    );
    assert!(e.relations(id(&e, "GSE999")).unwrap().also_in.is_empty());

    // One hit per cluster by default, with the other members attached; all on request.
    let collapsed = hits(&e, "zebrafish", false, Sort::Relevance);
    assert_eq!(collapsed.len(), 3, "{collapsed:?}");
    assert!(
        collapsed.iter().any(|(_, also)| also == &["E-GEOD-1234"])
            || collapsed.iter().any(|(_, also)| also == &["GSE1234"])
    );
    assert_eq!(hits(&e, "zebrafish", true, Sort::Relevance).len(), 5);

    // Similar datasets leave the record's own cluster out (that is "also in").
    let similar = e.similar(id(&e, "geo/GSE1234"), 10).unwrap();
    assert!(similar.iter().all(|h| h.accession != "E-GEOD-1234"));
    assert!(!similar.is_empty());

    let clusters = e.store().clusters(10).unwrap();
    assert_eq!(clusters.len(), 2);
}

#[test]
fn literature_clusters_through_pmc_and_pmid_and_splits_when_the_bridge_goes() {
    let dir = tempfile::tempdir().unwrap();
    let e = Engine::open(EngineConfig::new(dir.path())).unwrap();
    put(
        &e,
        vec![
            record(
                "biostudies-literature",
                "S-EPMC7912947",
                "stem cells in aplastic anemia",
                &[],
            ),
            record(
                "pubmed",
                "33640123",
                "stem cells in aplastic anemia",
                &["PMC7912947"],
            ),
            record("clinicaltrials", "NCT02218437", "stem cell trial", &[]),
            record(
                "euctr",
                "2014-000001-11",
                "stem cell trial",
                &["NCT02218437"],
            ),
        ],
    );
    let lit = e.relations(id(&e, "S-EPMC7912947")).unwrap();
    assert_eq!(lit.also_in.len(), 1);
    assert_eq!(
        lit.also_in[0].reason,
        "same PubMed Central article PMC7912947"
    );
    let trial = e.relations(id(&e, "2014-000001-11")).unwrap();
    assert_eq!(trial.also_in[0].accession, "NCT02218437");
    assert_eq!(trial.also_in[0].reason, "same clinical trial NCT02218437");

    // A third member joined through the second only: its reason names the bridge.
    put(
        &e,
        vec![record(
            "pmc",
            "PMC7912947",
            "stem cells in aplastic anemia",
            &["33640123"],
        )],
    );
    let lit = e.relations(id(&e, "S-EPMC7912947")).unwrap();
    assert_eq!(lit.also_in.len(), 2, "{:?}", lit.also_in);

    // Deleting the PubMed record leaves S-EPMC and PMC joined by the PMC id; deleting the
    // PMC one too leaves S-EPMC alone.
    delete(&e, "pubmed", "33640123");
    assert_eq!(
        e.relations(id(&e, "S-EPMC7912947")).unwrap().also_in.len(),
        1
    );
    delete(&e, "pmc", "PMC7912947");
    assert!(e
        .relations(id(&e, "S-EPMC7912947"))
        .unwrap()
        .also_in
        .is_empty());
    assert_eq!(hits(&e, "aplastic", false, Sort::Relevance).len(), 1);
}

#[test]
fn citations_and_reanalyses_follow_the_literature_as_it_arrives_and_leaves() {
    let dir = tempfile::tempdir().unwrap();
    let e = Engine::open(EngineConfig::new(dir.path())).unwrap();
    put(
        &e,
        vec![
            record("geo", "GSE555", "liver fibrosis transcriptome", &[]),
            record(
                "arrayexpress-repository",
                "E-GEOD-555",
                "liver fibrosis transcriptome",
                &["GSE555"],
            ),
            record("geo", "GSE777", "liver fibrosis time course", &[]),
        ],
    );
    assert_eq!(e.relations(id(&e, "geo/GSE555")).unwrap().citations, 0);

    // Two papers mention GSE555 (found in their abstracts), one mentions GSE777.
    let mut papers = Vec::new();
    for (pmid, acc) in [("1001", "GSE555"), ("1002", "GSE555"), ("1003", "GSE777")] {
        let mut p = record("pubmed", pmid, "a liver paper", &[]);
        p.add_cross_ref("geo", acc, Evidence::FoundInText);
        papers.push(p);
    }
    put(&e, papers);
    let rel = e.relations(id(&e, "geo/GSE555")).unwrap();
    assert_eq!(rel.citations, 2);
    assert_eq!(rel.cited_by.len(), 2);
    // The ArrayExpress mirror names GSE555 as its secondary accession: cited as well.
    assert_eq!(e.relations(id(&e, "E-GEOD-555")).unwrap().citations, 2);
    assert_eq!(e.relations(id(&e, "GSE777")).unwrap().citations, 1);

    // The index carries the counts: most cited first.
    let by_citations = hits(&e, "fibrosis", true, Sort::Citations);
    assert_eq!(by_citations.last().unwrap().0, "GSE777", "{by_citations:?}");

    // A paper withdrawn: the count drops, in the store and the index.
    delete(&e, "pubmed", "1001");
    delete(&e, "pubmed", "1002");
    assert_eq!(e.relations(id(&e, "geo/GSE555")).unwrap().citations, 0);
    let by_citations = hits(&e, "fibrosis", true, Sort::Citations);
    assert_eq!(by_citations[0].0, "GSE777", "{by_citations:?}");

    // A declared reanalysis.
    let mut re = record("pride", "PXD000777", "fibrosis reanalysed", &[]);
    re.push_additional("reanalysis_of", "GSE777");
    put(&e, vec![re]);
    let rel = e.relations(id(&e, "GSE777")).unwrap();
    assert_eq!(rel.reanalyses, 1);
    assert_eq!(rel.reanalysed_by[0].accession, "PXD000777");
}

/// Random upserts and deletions over a small set of shared identifiers: after every batch,
/// the incrementally kept clusters equal the connected components computed from scratch.
#[test]
fn incremental_clusters_match_a_from_scratch_computation() {
    use std::collections::{BTreeMap, BTreeSet};
    let dir = tempfile::tempdir().unwrap();
    let e = Engine::open(EngineConfig::new(dir.path())).unwrap();
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    // Live records: accession -> the shared identifiers it declares.
    let mut live: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for round in 0..40 {
        let mut batch = Vec::new();
        for _ in 0..(1 + next(4)) {
            let acc = format!("R{}", next(25));
            if next(5) == 0 && live.contains_key(&acc) {
                live.remove(&acc);
                batch.push(Change::Delete {
                    repository: "test".into(),
                    accession: acc,
                    source: "links.rs".into(),
                });
            } else {
                let shared: Vec<String> = (0..next(3))
                    .map(|_| format!("PXD{:06}", next(12)))
                    .collect();
                let refs: Vec<&str> = shared.iter().map(String::as_str).collect();
                let d = record("test", &acc, "random", &refs);
                live.insert(acc, shared);
                batch.push(Change::Upsert(Box::new(NewRecord::new(
                    d,
                    format!("<raw round='{round}'/>"),
                    "test".into(),
                    "links.rs".into(),
                    vec![],
                    None,
                ))));
            }
        }
        e.apply(&batch, 1000 + round).unwrap();

        // From scratch: union of records sharing an identifier.
        let accs: Vec<&String> = live.keys().collect();
        let mut parent: Vec<usize> = (0..accs.len()).collect();
        fn find(p: &mut [usize], x: usize) -> usize {
            let mut r = x;
            while p[r] != r {
                r = p[r];
            }
            p[x] = r;
            r
        }
        for i in 0..accs.len() {
            for j in i + 1..accs.len() {
                if live[accs[i]].iter().any(|k| live[accs[j]].contains(k)) {
                    let (a, b) = (find(&mut parent, i), find(&mut parent, j));
                    parent[a] = b;
                }
            }
        }
        let mut expected: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
        for (i, acc) in accs.iter().enumerate() {
            let r = find(&mut parent, i);
            expected.entry(r).or_default().insert((*acc).clone());
        }
        let expected: BTreeSet<BTreeSet<String>> =
            expected.into_values().filter(|c| c.len() > 1).collect();
        let got: BTreeSet<BTreeSet<String>> = e
            .store()
            .clusters(1000)
            .unwrap()
            .into_iter()
            .map(|c| c.into_iter().map(|m| m.accession).collect())
            .collect();
        assert_eq!(got, expected, "round {round}");
    }
}

/// A dataset citing a paper shows and finds the paper's title whichever arrived first.
#[test]
fn shared_publications_reach_datasets_ingested_before_them() {
    let dir = tempfile::tempdir().unwrap();
    let e = Engine::open(EngineConfig::new(dir.path())).unwrap();
    let mut data = record("pride", "PXD004242", "phosphoproteome of yeast", &[]);
    data.add_publication(opendi_model::PublicationRef {
        pmid: Some("4242".into()),
        ..Default::default()
    });
    put(&e, vec![data.clone()]);
    assert!(hits(&e, "quinoa", true, Sort::Relevance).is_empty());
    assert!(e.cited_publications(&data, None).unwrap().is_empty());

    // The paper arrives as a PubMed record carrying its publication.
    let paper = record(
        "pubmed",
        "4242",
        "Quinoa saponins and the yeast kinome",
        &[],
    );
    let publication = opendi_model::Publication {
        pmid: Some("4242".into()),
        title: "Quinoa saponins and the yeast kinome".into(),
        ..Default::default()
    };
    e.apply(
        &[Change::Upsert(Box::new(NewRecord::new(
            paper,
            "<raw/>".into(),
            "test".into(),
            "links.rs".into(),
            vec![],
            Some(publication),
        )))],
        3000,
    )
    .unwrap();
    e.commit().unwrap();
    let found: Vec<String> = hits(&e, "quinoa", true, Sort::Relevance)
        .into_iter()
        .map(|(a, _)| a)
        .collect();
    assert!(found.contains(&"PXD004242".to_string()), "{found:?}");
    assert_eq!(
        e.cited_publications(&data, None).unwrap()[0].title,
        "Quinoa saponins and the yeast kinome"
    );
}
