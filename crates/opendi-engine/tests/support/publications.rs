//! What both stores must do with records that are publications (PubMed articles, PMC papers):
//! the publication is kept in the record's frame (`packing::RECORD_TRIPLE`), its row in the
//! shared `publications` table names the record, and it reads back as it was written however
//! the record changes afterwards (updated with another publication or none, deleted) and
//! whichever record writes its key last.

use opendi_engine::store::packing::{publication_ref, RECORD_TRIPLE, SAMPLES};
use opendi_engine::store::transfer::Transfer;
use opendi_engine::store::{Change, NewRecord, Store};
use opendi_model::{Dataset, MeshHeading, Publication};

/// The publication of article `i` (PMID `7000000 + i`).
pub fn publication(i: usize) -> Publication {
    let words = ["marrow", "anemia", "liver", "proteome", "cohort", "kinase"];
    Publication {
        pmid: Some(format!("{}", 7_000_000 + i)),
        doi: Some(format!("10.5555/test.{i}")),
        title: format!(
            "{} and {} in patients of cohort {}",
            words[i % 6],
            words[i / 6 % 6],
            i * 7919 % 1000
        ),
        authors: vec![format!("Author{} A", i % 17), "Doe J".into()],
        journal: Some("Journal of Tests".into()),
        volume: Some(format!("{}", i % 40)),
        abstract_text: format!(
            "We followed {} patients for {} years; {} was measured in {} (batch {}).",
            i % 90 + 10,
            i % 7 + 1,
            words[i / 3 % 6],
            words[i / 2 % 6],
            i * 31 % 97
        ),
        mesh: vec![MeshHeading {
            descriptor: "Humans".into(),
            descriptor_id: Some("D006801".into()),
            major: i.is_multiple_of(2),
            qualifiers: vec![],
        }],
        ..Default::default()
    }
}

/// A record in `repository` whose text is `p`'s, carrying `p` as its own publication if
/// `own`.
pub fn article(repository: &str, accession: &str, p: &Publication, own: bool) -> Change {
    let mut d = Dataset::new(repository, accession);
    d.title = p.title.clone();
    d.description = p.abstract_text.clone();
    let raw = format!(
        "<PubmedArticle><PMID>{accession}</PMID><ArticleTitle>{}</ArticleTitle>\
         <AbstractText>{}</AbstractText></PubmedArticle>",
        p.title, p.abstract_text
    );
    Change::Upsert(Box::new(NewRecord::new(
        d,
        raw,
        "pubmed-xml".into(),
        "test.xml".into(),
        vec![],
        own.then(|| p.clone()),
    )))
}

fn pmid(p: &Publication) -> String {
    p.pmid.clone().unwrap()
}

fn read(store: &dyn Store, p: &Publication) -> Publication {
    store
        .publication(p.pmid.as_deref(), None, None)
        .unwrap()
        .unwrap_or_else(|| panic!("publication {} not found", pmid(p)))
}

fn row(store: &dyn Transfer, p: &Publication) -> Vec<u8> {
    let key = p.key().unwrap();
    let rows = store.export_publications("", usize::MAX >> 2).unwrap();
    rows.into_iter().find(|r| r.key == key).unwrap().data
}

/// Runs the scenario on an empty store.
pub fn publications_kept_in_records_read_back_whatever_happens_to_them<S: Store + Transfer>(
    store: &S,
) {
    let n = SAMPLES + 120;
    let originals: Vec<Publication> = (0..n).map(publication).collect();
    let batch: Vec<Change> = originals
        .iter()
        .map(|p| article("pubmed", &pmid(p), p, true))
        .collect();
    for chunk in batch.chunks(100) {
        store.apply(chunk, 10).unwrap();
    }
    let id =
        |repository: &str, p: &Publication| store.by_key(repository, &pmid(p)).unwrap().unwrap();
    for p in &originals {
        assert_eq!(&read(store, p), p);
    }
    // By DOI too, any case.
    let p = &originals[SAMPLES + 7];
    let by_doi = store
        .publication(None, Some(&p.doi.as_ref().unwrap().to_uppercase()), None)
        .unwrap();
    assert_eq!(by_doi.as_ref(), Some(p));
    // Once the format's dictionary is trained, the records are triples and their
    // publications' rows name them.
    let records = store.export(0, i64::MAX).unwrap().records;
    assert!(records[SAMPLES..]
        .iter()
        .all(|r| r.dataset.starts_with(&RECORD_TRIPLE) && r.raw == RECORD_TRIPLE));
    for p in &originals[SAMPLES..] {
        assert_eq!(row(store, p), publication_ref(id("pubmed", p)));
    }
    assert_ne!(
        row(store, &originals[3]).len(),
        12,
        "packed alone before training"
    );

    let at = |k: usize| &originals[SAMPLES + k];
    let changed = |p: &Publication, what: &str| Publication {
        abstract_text: format!("{} ({what})", p.abstract_text),
        ..p.clone()
    };
    // Updated without its publication; updated with its publication changed; updated with
    // another publication; deleted; updated without its publication while a new record of
    // another repository writes that publication's key in the same batch.
    let renamed = Publication {
        pmid: Some("7999999".into()),
        doi: None,
        ..changed(at(3), "another")
    };
    let taken = changed(at(6), "taken over");
    let second = vec![
        article(
            "pubmed",
            &pmid(at(1)),
            &changed(at(1), "no publication"),
            false,
        ),
        article("pubmed", &pmid(at(2)), &changed(at(2), "revised"), true),
        article("pubmed", &pmid(at(3)), &renamed, true),
        Change::Delete {
            repository: "pubmed".into(),
            accession: pmid(at(4)),
            source: "deletes.xml".into(),
        },
        article(
            "pubmed",
            &pmid(at(6)),
            &changed(at(6), "no publication"),
            false,
        ),
        article("europepmc", "PMC6", &taken, true),
        // Another repository's record takes over article 5's publication.
        article("europepmc", "PMC5", &changed(at(5), "europepmc"), true),
    ];
    store.apply(&second, 20).unwrap();
    assert_eq!(
        &read(store, at(1)),
        at(1),
        "kept after its record dropped it"
    );
    assert_ne!(row(store, at(1)).len(), 12, "packed into its row");
    assert_eq!(read(store, at(2)), changed(at(2), "revised"));
    assert_eq!(row(store, at(2)), publication_ref(id("pubmed", at(2))));
    assert_eq!(
        &read(store, at(3)),
        at(3),
        "kept after its record named another"
    );
    assert_eq!(read(store, &renamed), renamed);
    assert_eq!(&read(store, at(4)), at(4), "kept in its deleted record");
    assert_eq!(
        read(store, at(6)),
        taken,
        "the last record to write it wins"
    );
    assert_eq!(read(store, at(5)), changed(at(5), "europepmc"));

    // The record of another repository drops article 5's publication: its row keeps
    // that record's version.
    store
        .apply(
            &[article(
                "europepmc",
                "PMC5",
                &changed(at(5), "dropped"),
                false,
            )],
            30,
        )
        .unwrap();
    assert_eq!(read(store, at(5)), changed(at(5), "europepmc"));
    assert_ne!(row(store, at(5)).len(), 12);
    // Untouched publications still read from their records.
    for p in &originals[SAMPLES + 7..] {
        assert_eq!(&read(store, p), p);
        assert_eq!(row(store, p), publication_ref(id("pubmed", p)));
    }
    // Every record's text and raw source still read back.
    for p in &originals[SAMPLES + 7..SAMPLES + 20] {
        let rec = store.get(id("pubmed", p)).unwrap().unwrap();
        assert_eq!(rec.dataset.title, p.title);
        assert!(store
            .raw(id("pubmed", p))
            .unwrap()
            .unwrap()
            .contains(&p.abstract_text));
    }
}
