//! ISA-JSON golden tests on the BII studies, checked against the same studies in ISA-Tab.

use opendi_ingest::{isajson, ParseContext};
use opendi_model::{Item, PartialDate, Severity, SourceRecord};
use std::path::Path;

fn today() -> PartialDate {
    PartialDate::ymd(2026, 1, 1).expect("date")
}

fn read(path: &Path) -> Vec<SourceRecord> {
    let inputs = opendi_ingest::source::expand(&[path.display().to_string()]).expect("expand");
    let (items, _) = opendi_ingest::read_all(&inputs, today());
    items
        .into_iter()
        .filter_map(|i| match i {
            Item::Record(r) => Some(*r),
            _ => None,
        })
        .collect()
}

#[test]
fn bii_json_matches_tab() {
    let (Some(json), Some(tab)) = (
        opendi_corpora::corpus("isa-tab/bii/json"),
        opendi_corpora::corpus("isa-tab/bii/tab"),
    ) else {
        return;
    };
    let records = read(&json);
    let accs: Vec<&str> = records
        .iter()
        .map(|r| r.dataset.accession.as_str())
        .collect();
    assert_eq!(accs, vec!["BII-S-1", "BII-S-2", "BII-S-3", "BII-S-7"]);
    let tab_records = read(&tab);
    for r in &records {
        assert_eq!(r.format, "isa-json");
        assert_eq!(r.dataset.repository, "bii");
        assert!(!r.has_errors(), "{:?}", r.diagnostics);
        assert!(r.raw.trim_start().starts_with('{'));
        let t = tab_records
            .iter()
            .find(|t| t.dataset.accession == r.dataset.accession)
            .expect("same study in ISA-Tab");
        // Both serializations of a study normalize to the same headline facts.
        let (a, b) = (&r.dataset, &t.dataset);
        assert_eq!(a.title, b.title);
        assert_eq!(a.omics_types, b.omics_types, "{}", a.accession);
        let taxa = |d: &opendi_model::Dataset| {
            d.organisms
                .iter()
                .map(|o| o.taxon_id.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(taxa(a), taxa(b), "{}", a.accession);
        assert_eq!(a.publications, b.publications, "{}", a.accession);
        assert_eq!(a.people.len(), b.people.len(), "{}", a.accession);
    }
    let s3 = &records[2];
    assert!(s3.location.line.is_some_and(|l| l > 1));
    assert_eq!(s3.dataset.organisms[0].taxon_id.as_deref(), Some("408172"));
    insta::assert_json_snapshot!("bii_json_BII-S-3", s3.dataset);
    insta::assert_json_snapshot!("bii_json_BII-S-7", records[3].dataset);
}

fn parse(text: &str) -> Vec<Item> {
    let none = |_: &str| None;
    let ctx = ParseContext {
        file: "fixture.json",
        today: today(),
        siblings: &none,
    };
    let mut out = Vec::new();
    let mut r = text.as_bytes();
    isajson::parse(&mut r, &ctx, &mut |i| out.push(i)).expect("parse");
    out
}

#[test]
fn small_fixture_and_broken_inputs() {
    let items = parse(
        r##"{"identifier": "inv", "studies": [{"identifier": "BII-S-99", "title": "A made-up study",
        "publicReleaseDate": "2010-01-02",
        "characteristicCategories": [{"@id": "#c/org", "characteristicType": {"annotationValue": "organism"}}],
        "materials": {"sources": [{"characteristics": [{"category": {"@id": "#c/org"},
            "value": {"annotationValue": "Homo sapiens", "termSource": "NCBITAXON",
                      "termAccession": "http://purl.obolibrary.org/obo/NCBITaxon_9606"}}]}]},
        "assays": [{"measurementType": {"annotationValue": "protein expression profiling"},
                    "dataFiles": [{"name": "run1.raw"}]}]}]}"##,
    );
    let Item::Record(r) = &items[0] else {
        panic!("expected a record")
    };
    assert_eq!(r.dataset.accession, "BII-S-99");
    assert_eq!(r.dataset.organisms[0].taxon_id.as_deref(), Some("9606"));
    assert_eq!(r.dataset.omics_types, vec!["Proteomics"]);
    assert_eq!(r.dataset.files, vec!["run1.raw"]);
    assert_eq!(r.location.line, Some(1));

    let bad = parse("{\"studies\": [");
    match &bad[..] {
        [Item::Diagnostic(d)] => {
            assert_eq!(d.code, "json-syntax");
            assert_eq!(d.severity, Severity::Error);
        }
        other => panic!("{other:?}"),
    }
    match &parse("{\"identifier\": \"x\", \"studies\": []}")[..] {
        [Item::Diagnostic(d)] => assert_eq!(d.code, "no-study"),
        other => panic!("{other:?}"),
    }
    // Wrong types everywhere must not panic.
    let odd = parse(
        r#"{"studies": [{"identifier": 5, "people": "x", "assays": [1, null], "materials": []}]}"#,
    );
    assert_eq!(odd.len(), 1);
}
