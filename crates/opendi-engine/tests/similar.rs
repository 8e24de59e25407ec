//! Precomputed similar lists: kept current as records arrive, change and leave, with reasons
//! for shared publications, trials, terms and declared relations.

use opendi_engine::{Change, Engine, EngineConfig, Hit, NewRecord};
use opendi_model::{Dataset, Evidence, PublicationRef, Term};

/// Unrelated records, so that the records under test are few among many (their changes go
/// through the incremental path, not a recomputation of everything) and their shared words
/// are rare enough to count.
fn filler(i: usize) -> Dataset {
    let topics = [
        "zebrafish fin regeneration time course",
        "soil microbiome nitrogen fixation survey",
        "yeast heat shock proteome",
        "arabidopsis drought response transcriptome",
        "coral bleaching metagenome",
        "wheat rust resistance genes",
    ];
    let mut d = Dataset::new("geo", &format!("GSE9{i:04}"));
    d.title = format!("{} study {i}", topics[i % topics.len()]);
    d.description = format!(
        "Samples of the {} collection, batch {i}.",
        topics[i % topics.len()]
    );
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
                "similar.rs".into(),
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
            source: "similar.rs".into(),
        }],
        2000,
    )
    .unwrap();
    e.commit().unwrap();
}

fn id(e: &Engine, key: &str) -> i64 {
    e.resolve(key).unwrap()[0]
}

fn similar(e: &Engine, key: &str) -> Vec<Hit> {
    e.similar(id(e, key), 20).unwrap()
}

fn find<'a>(hits: &'a [Hit], accession: &str) -> Option<&'a Hit> {
    hits.iter().find(|h| h.accession == accession)
}

fn anemia(acc: &str, title: &str, pmid: &str) -> Dataset {
    let mut d = Dataset::new("biostudies-literature", acc);
    d.title = title.into();
    d.description = "Children with aplastic anemia received mesenchymal stem cells \
                     alongside haploidentical transplantation."
        .into();
    d.diseases.push(Term {
        label: "aplastic anemia".into(),
        id: Some("HP:0001915".into()),
        evidence: Evidence::FoundInText,
    });
    d.publications.push(PublicationRef {
        pmid: Some(pmid.into()),
        ..Default::default()
    });
    d
}

fn engine(dir: &tempfile::TempDir) -> Engine {
    let e = Engine::open(EngineConfig::new(dir.path())).unwrap();
    put(&e, (0..30).map(filler).collect());
    e
}

#[test]
fn lists_follow_arrivals_deletions_and_changes() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(&dir);
    put(
        &e,
        vec![anemia(
            "S-EPMC1",
            "Mesenchymal stem cells in aplastic anemia",
            "33640016",
        )],
    );
    put(
        &e,
        vec![anemia(
            "S-EPMC2",
            "Aplastic anemia treated with stem cells",
            "33640016",
        )],
    );
    // B arrived after A: it entered A's list, with its reasons.
    let a = similar(&e, "S-EPMC1");
    let b = find(&a, "S-EPMC2").expect("B in A's list");
    assert!(
        b.reasons
            .contains(&"same publication: PMID 33640016".to_string()),
        "{:?}",
        b.reasons
    );
    let terms = b
        .reasons
        .iter()
        .find(|r| r.starts_with("shared terms: "))
        .expect("shared terms");
    assert!(terms.contains("aplastic anemia"), "{terms}");
    assert!(find(&similar(&e, "S-EPMC2"), "S-EPMC1").is_some());

    // B leaves every list.
    delete(&e, "biostudies-literature", "S-EPMC2");
    assert!(find(&similar(&e, "S-EPMC1"), "S-EPMC2").is_none());
    assert!(e.similar(id(&e, "S-EPMC2"), 20).unwrap().is_empty());

    // A changes topic: it leaves for the yeast records and they list it.
    let mut changed = Dataset::new("biostudies-literature", "S-EPMC1");
    changed.title = "yeast heat shock proteome revisited".into();
    changed.description = "Samples of the yeast heat shock proteome collection.".into();
    put(&e, vec![changed]);
    let a = similar(&e, "S-EPMC1");
    assert!(
        a.first()
            .is_some_and(|h| h.title.starts_with("yeast heat shock")),
        "{a:?}"
    );
    assert!(a
        .iter()
        .all(|h| h.reasons.iter().all(|r| !r.contains("PMID"))));
    let yeast = a[0].accession.clone();
    let theirs = similar(&e, &yeast);
    let back = find(&theirs, "S-EPMC1").expect("A entered its neighbour's list");
    assert!(back.reasons.iter().any(|r| r.contains("yeast")), "{back:?}");
}

#[test]
fn reasons_for_trials_identifiers_relations_and_mirrors() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(&dir);
    let mut trial_a = Dataset::new("pubmed", "111");
    trial_a.title = "Eltrombopag for refractory thrombocytopenia".into();
    trial_a.add_cross_ref("clinicaltrials", "NCT02218437", Evidence::FoundInText);
    trial_a.add_cross_ref("chebi", "CHEBI:85010", Evidence::Declared);
    let mut trial_b = Dataset::new("clinicaltrials", "NCT02218437");
    trial_b.title = "Eltrombopag dosing in thrombocytopenia".into();
    trial_b.add_cross_ref("chebi", "CHEBI:85010", Evidence::Declared);
    let mut original = Dataset::new("pride", "PXD000001");
    original.title = "Phosphoproteome of liver".into();
    let mut reanalysis = Dataset::new("pride", "PXD000777");
    reanalysis.title = "Liver phosphoproteome reprocessed".into();
    reanalysis.push_additional("reanalysis_of", "PXD000001");
    let mut geo = Dataset::new("geo", "GSE4242");
    geo.title = "Liver phosphoproteome transcript companion".into();
    let mut mirror = Dataset::new("arrayexpress-repository", "E-GEOD-4242");
    mirror.title = "Liver phosphoproteome transcript companion".into();
    mirror.secondary_accessions.push("GSE4242".into());
    put(
        &e,
        vec![trial_a, trial_b, original, reanalysis, geo, mirror],
    );

    let list = similar(&e, "pubmed/111");
    let t = find(&list, "NCT02218437").expect("the trial record");
    assert!(
        t.reasons.contains(&"same trial: NCT02218437".to_string()),
        "{t:?}"
    );
    assert!(
        t.reasons.iter().any(|r| r.contains("CHEBI:85010")),
        "{:?}",
        t.reasons
    );

    let list = similar(&e, "PXD000777");
    let o = find(&list, "PXD000001").expect("the original");
    assert!(
        o.reasons.contains(&"reanalysis of PXD000001".to_string()),
        "{o:?}"
    );
    let list = similar(&e, "PXD000001");
    let r = find(&list, "PXD000777").expect("the reanalysis");
    assert!(
        r.reasons.contains(&"reanalysed by PXD000777".to_string()),
        "{r:?}"
    );
    // The GEO series and its ArrayExpress mirror are one entry, which says so.
    let mirrored: Vec<&Hit> = list
        .iter()
        .filter(|h| h.accession == "GSE4242" || h.accession == "E-GEOD-4242")
        .collect();
    assert_eq!(mirrored.len(), 1, "{list:?}");
    assert!(
        mirrored[0]
            .reasons
            .iter()
            .any(|r| r.starts_with("same study also in ")),
        "{:?}",
        mirrored[0].reasons
    );
    // A record never lists its own cluster.
    assert!(find(&similar(&e, "GSE4242"), "E-GEOD-4242").is_none());
}

#[test]
fn recomputing_everything_gives_the_lists_ingest_kept() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(&dir);
    put(
        &e,
        vec![anemia(
            "S-EPMC1",
            "Mesenchymal stem cells in aplastic anemia",
            "1",
        )],
    );
    put(
        &e,
        vec![anemia(
            "S-EPMC2",
            "Aplastic anemia treated with stem cells",
            "2",
        )],
    );
    // Compared as sets: scores of lists computed earlier used the word rarities of that time.
    let keys = ["S-EPMC1", "S-EPMC2", "GSE90000", "GSE90001"];
    let lists = |e: &Engine| -> Vec<std::collections::BTreeSet<String>> {
        keys.iter()
            .map(|k| similar(e, k).into_iter().map(|h| h.accession).collect())
            .collect()
    };
    let before = lists(&e);
    assert!(before[0].contains("S-EPMC2"));
    let n = e.recompute_similar(&|_, _| {}).unwrap();
    assert_eq!(n, 32);
    assert_eq!(before, lists(&e));
}

/// Rebuilding the index (a new schema, a deleted index directory, a restore) keeps the stored
/// lists: the rebuilt index holds the same records. A list planted in the store survives the
/// rebuild; recomputing everything would have replaced it.
#[test]
fn a_rebuilt_index_keeps_the_stored_lists() {
    let dir = tempfile::tempdir().unwrap();
    {
        let e = engine(&dir);
        put(
            &e,
            vec![
                anemia("S-EPMC1", "Mesenchymal stem cells in aplastic anemia", "1"),
                anemia("S-EPMC2", "Aplastic anemia treated with stem cells", "2"),
            ],
        );
        assert_eq!(similar(&e, "S-EPMC1")[0].accession, "S-EPMC2");
        let planted = opendi_engine::Neighbour {
            id: id(&e, "GSE90003"),
            score: 0.5,
            reasons: vec!["planted".into()],
        };
        e.store()
            .set_similar(&[(id(&e, "S-EPMC1"), vec![planted])])
            .unwrap();
    }
    std::fs::remove_dir_all(dir.path().join("index")).unwrap();
    let e = Engine::open(EngineConfig::new(dir.path())).unwrap();
    assert_eq!(e.stats().unwrap().indexed_documents, 32);
    let hits = similar(&e, "S-EPMC1");
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0].accession, "GSE90003");
    assert_eq!(hits[0].reasons, ["planted"]);
}
