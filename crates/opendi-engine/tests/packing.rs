//! The store's blobs packed with trained dictionaries (`store/packing.rs`), end to end on the
//! embedded store: records written before and after a kind's dictionary read back exactly, in
//! this process and after reopening, and the dictionaries are saved with the blobs.

use opendi_engine::store::packing::{RECORD_PAIR, SAMPLES};
use opendi_engine::store::transfer::Transfer;
use opendi_engine::store::{Change, NewRecord, SqliteStore, Store};
use opendi_model::Dataset;

#[path = "support/publications.rs"]
mod publications;

const TISSUES: &[&str] = &["liver", "bone marrow", "kidney", "lung", "brain", "skin"];
const STUDIES: &[&str] = &[
    "expression profiling",
    "proteome",
    "methylation",
    "metabolome",
];

/// A record and its raw source, different for each `i`, alike in shape.
fn record(i: usize) -> (Dataset, String) {
    let mut d = Dataset::new("test", &format!("TST{i:06}"));
    let tissue = TISSUES[i % TISSUES.len()];
    let study = STUDIES[i / 7 % STUDIES.len()];
    d.title = format!("{study} of human {tissue} in cohort {}", i * 7919 % 1000);
    d.description = format!(
        "Samples of {tissue} were taken from {} donors; {study} was measured at {} time points \
         and compared with matched controls (batch {}).",
        i % 40 + 3,
        i % 5 + 2,
        i * 31 % 97
    );
    let raw = format!(
        "<entry id=\"TST{i:06}\"><name>{}</name><description>{}</description>\
         <additional_fields><field name=\"repository\">test</field>\
         <field name=\"tissue\">{tissue}</field></additional_fields></entry>",
        d.title, d.description
    );
    (d, raw)
}

fn upsert(i: usize) -> Change {
    upsert_as(i, "omicsdi-xml")
}

fn upsert_as(i: usize, format: &str) -> Change {
    let (d, raw) = record(i);
    Change::Upsert(Box::new(NewRecord::new(
        d,
        raw,
        format.into(),
        "test.xml".into(),
        vec![],
        None,
    )))
}

fn ingest(store: &SqliteStore, range: std::ops::Range<usize>) {
    let ids: Vec<usize> = range.collect();
    for chunk in ids.chunks(100) {
        let batch: Vec<Change> = chunk.iter().map(|&i| upsert(i)).collect();
        store.apply(&batch, 1_000).unwrap();
    }
}

fn check_all(store: &SqliteStore, n: usize) {
    for i in 0..n {
        let (d, raw) = record(i);
        let id = store.by_key("test", &d.accession).unwrap().unwrap();
        let got = store.get(id).unwrap().unwrap();
        assert_eq!(got.dataset, d, "record {i}");
        assert_eq!(store.raw(id).unwrap().unwrap(), raw, "raw of record {i}");
    }
}

/// The format the store at `path` says it is written in.
fn format_version(path: &std::path::Path) -> String {
    rusqlite::Connection::open(path)
        .unwrap()
        .query_row(
            "SELECT value FROM meta WHERE key = 'format_version'",
            [],
            |r| r.get(0),
        )
        .unwrap()
}

const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

#[test]
fn blobs_before_and_after_a_dictionary_read_back_here_and_after_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.sqlite");
    let n = SAMPLES + 400;
    {
        let store = SqliteStore::open(&path).unwrap();
        ingest(&store, 0..n);
        check_all(&store, n);

        let kinds: Vec<String> = store
            .export_dictionaries()
            .unwrap()
            .into_iter()
            .map(|d| d.kind)
            .collect();
        assert_eq!(kinds, ["record omicsdi-xml"]);
        let rows = store.export(0, i64::MAX).unwrap().records;
        assert_eq!(rows.len(), n);
        // The samples were packed alone (lz4), the rest as pairs with the dictionary, and
        // smaller.
        assert!(rows[..SAMPLES - 1]
            .iter()
            .all(|r| !r.dataset.starts_with(&ZSTD_MAGIC) && !r.raw.starts_with(&ZSTD_MAGIC)));
        assert!(rows[SAMPLES..]
            .iter()
            .all(|r| r.dataset.starts_with(&RECORD_PAIR) && r.raw == RECORD_PAIR));
        let size = |rows: &[opendi_engine::store::transfer::RecordRow]| {
            rows.iter()
                .map(|r| r.dataset.len() + r.raw.len())
                .sum::<usize>()
                / rows.len()
        };
        let (alone, packed) = (size(&rows[..SAMPLES]), size(&rows[SAMPLES..]));
        assert!(
            packed * 2 < alone,
            "{packed} bytes a record against {alone}"
        );
    }
    let format = format_version(&path);
    assert_eq!(
        format, "6",
        "a store with record pairs is marked for the builds that read it"
    );

    // Reopened (another process would do the same): every record reads back, and new records
    // pack with the saved dictionaries instead of training others.
    let store = SqliteStore::open(&path).unwrap();
    check_all(&store, n);
    ingest(&store, n..n + 50);
    check_all(&store, n + 50);
    assert_eq!(store.export_dictionaries().unwrap().len(), 1);
    let rows = store.export(0, i64::MAX).unwrap().records;
    assert!(rows[n..].iter().all(|r| r.raw == RECORD_PAIR));
}

/// A format of too few records to train its pair's dictionary packs its JSON with the
/// dictionary every format's JSON trained, and its raw source against that JSON.
#[test]
fn a_format_of_few_records_packs_its_json_with_the_shared_dictionary() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("store.sqlite")).unwrap();
    ingest(&store, 0..SAMPLES + 20);
    let few = SAMPLES + 20..SAMPLES + 80;
    for chunk in few.clone().collect::<Vec<_>>().chunks(25) {
        let batch: Vec<Change> = chunk.iter().map(|&i| upsert_as(i, "geo-soft")).collect();
        store.apply(&batch, 1_000).unwrap();
    }
    check_all(&store, few.end);
    let mut kinds: Vec<String> = store
        .export_dictionaries()
        .unwrap()
        .into_iter()
        .map(|d| d.kind)
        .collect();
    kinds.sort();
    assert_eq!(kinds, ["dataset", "record omicsdi-xml"]);
    let rows = store.export(0, i64::MAX).unwrap().records;
    assert!(rows[few.start + 1..]
        .iter()
        .all(|r| r.dataset.starts_with(&ZSTD_MAGIC) && r.raw.starts_with(&[0xff; 4])));
}

#[test]
fn a_store_opened_before_a_dictionary_was_saved_reads_blobs_packed_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.sqlite");
    let writer = SqliteStore::open(&path).unwrap();
    let reader = SqliteStore::open(&path).unwrap();
    let n = SAMPLES + 100;
    ingest(&writer, 0..n);
    check_all(&reader, n);
}

#[test]
fn a_record_that_is_a_publication_keeps_it_in_its_frame_and_the_store_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.sqlite");
    {
        let store = SqliteStore::open(&path).unwrap();
        publications::publications_kept_in_records_read_back_whatever_happens_to_them(&store);
    }
    let format = format_version(&path);
    assert_eq!(
        format, "7",
        "rows naming records are for the builds that read them"
    );
    // Reopened: the publications still read from their records.
    let store = SqliteStore::open(&path).unwrap();
    for i in SAMPLES + 7..SAMPLES + 120 {
        let p = publications::publication(i);
        assert_eq!(
            store.publication(p.pmid.as_deref(), None, None).unwrap(),
            Some(p)
        );
    }
}
