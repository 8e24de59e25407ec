//! `datacite-json` on the project's own fixtures (DataCite REST API single record and page,
//! plain metadata-schema JSON), written from the DataCite Metadata Schema 4.x.

use opendi_ingest::source::expand;
use opendi_model::{DateKind, Item, PartialDate, Severity, SourceRecord};
use std::path::PathBuf;

fn today() -> PartialDate {
    PartialDate::ymd(2026, 1, 1).expect("date")
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/datacite")
}

fn records(items: &[Item]) -> Vec<&SourceRecord> {
    items
        .iter()
        .filter_map(|i| match i {
            Item::Record(r) => Some(r.as_ref()),
            _ => None,
        })
        .collect()
}

fn parse_str(text: &str) -> Vec<Item> {
    let f = opendi_ingest::format_by_name("datacite-json").expect("registered");
    opendi_ingest::parse_bytes(f, "fixture.jsonl", text.as_bytes(), today()).expect("parse")
}

#[test]
fn fixtures_golden() {
    let inputs = expand(&[fixtures().display().to_string()]).expect("expand");
    let (items, reports) = opendi_ingest::read_all(&inputs, today());
    assert_eq!(reports.len(), 3);
    for r in &reports {
        assert_eq!(r.format, Some("datacite-json"), "{}", r.name);
        assert!(r.error.is_none() && r.skipped.is_none());
    }
    let recs = records(&items);
    assert_eq!(recs.len(), 4);
    assert_eq!(items.len(), 4, "no loose diagnostics");

    // Page of the REST API: one record per element, raw = the element.
    let dryad = recs[0];
    assert_eq!(dryad.dataset.accession, "10.5061/dryad.x0000abc");
    assert_eq!(dryad.dataset.repository, "datacite");
    assert_eq!(dryad.location.line, Some(3));
    assert!(dryad.raw.starts_with('{') && dryad.raw.contains("dryad.dryad"));
    assert!(!dryad.raw.contains("PXD099002"));
    assert_eq!(
        dryad.dataset.publications[0].doi.as_deref(),
        Some("10.1000/gut.2021.7")
    );
    // An impossible date is kept raw and reported.
    assert_eq!(dryad.diagnostics.len(), 1);
    assert_eq!(dryad.diagnostics[0].code, "bad-date");
    assert_eq!(dryad.diagnostics[0].severity, Severity::Warning);
    // publicationYear stands in for the missing Issued date.
    assert_eq!(dryad.dataset.main_date().map(|d| d.year), Some(2021));

    let pride = recs[1];
    assert_eq!(pride.dataset.repository, "pride");
    assert_eq!(pride.dataset.accession, "10.6019/pxd099002");
    assert!(pride.dataset.is_private, "draft DOIs are not public");

    // Plain metadata-schema JSON: publisher object, alternate identifier, PMID relation.
    let ega = recs[2];
    assert_eq!(ega.dataset.repository, "ega");
    assert_eq!(ega.dataset.secondary_accessions, ["EGAS00001009999"]);
    assert_eq!(
        ega.dataset.publications[0].pmid.as_deref(),
        Some("31000001")
    );
    assert_eq!(ega.dataset.people[1].name, "Amara Diallo");
    assert_eq!(
        ega.dataset.people[1].orcid.as_deref(),
        Some("0000-0003-1000-0002")
    );
    assert_eq!(
        ega.raw,
        std::fs::read_to_string(fixtures().join("metadata-schema.json"))
            .unwrap()
            .trim_end()
    );

    // REST single record: the whole file is the raw record.
    let zenodo = recs[3];
    let d = &zenodo.dataset;
    assert_eq!(d.accession, "10.5281/zenodo.7000001");
    assert_eq!(d.repository, "datacite");
    assert_eq!(
        d.title,
        "Plasma proteome of children with severe malaria (LC-MS/MS raw files)"
    );
    assert_eq!(d.people[0].orcid.as_deref(), Some("0000-0001-5000-0007"));
    assert_eq!(
        d.people[0].affiliation.as_deref(),
        Some("University of Lagos")
    );
    assert_eq!(d.license.as_deref(), Some("cc-by-4.0"));
    assert_eq!(
        d.full_dataset_link.as_deref(),
        Some("https://zenodo.org/record/7000001")
    );
    assert_eq!(d.publications.len(), 2);
    assert!(d
        .cross_refs
        .iter()
        .any(|c| c.database == "Other" && c.key == "PXD099001"));
    assert!(d
        .dates
        .iter()
        .any(|x| x.kind == DateKind::Other("collected".into()) && x.value.is_some()));
    assert!(zenodo.diagnostics.is_empty());

    let all: Vec<_> = recs.iter().map(|r| &r.dataset).collect();
    insta::assert_json_snapshot!("datacite_fixtures", all);
}

#[test]
fn jsonl_with_a_broken_line() {
    let text = concat!(
        r#"{"doi": "10.1234/a", "titles": [{"title": "A"}]}"#,
        "\n",
        r#"{"doi": "10.1234/b", "titles": [{"title": "#,
        "\n",
        r#"{"titles": [{"title": "No DOI"}]}"#,
        "\n",
        r#"{"hello": "world"}"#,
        "\n",
    );
    let items = parse_str(text);
    let recs = records(&items);
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[0].dataset.accession, "10.1234/a");
    assert_eq!(recs[1].location.line, Some(3));
    assert_eq!(recs[1].diagnostics[0].code, "missing-id");
    assert!(recs[1].has_errors());
    let loose: Vec<_> = items
        .iter()
        .filter_map(|i| match i {
            Item::Diagnostic(d) => Some(d),
            _ => None,
        })
        .collect();
    assert_eq!(loose.len(), 2);
    assert_eq!(loose[0].code, "json-syntax");
    assert_eq!(loose[0].location.line, Some(2));
    assert_eq!(loose[1].code, "unknown-record-shape");
    assert_eq!(loose[1].location.line, Some(4));
}
