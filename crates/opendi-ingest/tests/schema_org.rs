//! `schema-org` on the project's own fixtures (a Zenodo-like JSON-LD object, an `@graph` with
//! a DataCatalog, a Dryad-like HTML page), written from the schema.org Dataset vocabulary.

use opendi_ingest::source::expand;
use opendi_model::{Item, PartialDate, Severity, SourceRecord};
use std::path::PathBuf;

fn today() -> PartialDate {
    PartialDate::ymd(2026, 1, 1).expect("date")
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schemaorg")
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

fn loose(items: &[Item]) -> Vec<&opendi_model::Diagnostic> {
    items
        .iter()
        .filter_map(|i| match i {
            Item::Diagnostic(d) => Some(d),
            _ => None,
        })
        .collect()
}

fn parse_str(text: &str) -> Vec<Item> {
    let f = opendi_ingest::format_by_name("schema-org").expect("registered");
    opendi_ingest::parse_bytes(f, "fixture.jsonld", text.as_bytes(), today()).expect("parse")
}

#[test]
fn fixtures_golden() {
    let inputs = expand(&[fixtures().display().to_string()]).expect("expand");
    let (items, reports) = opendi_ingest::read_all(&inputs, today());
    assert_eq!(reports.len(), 3);
    for r in &reports {
        assert_eq!(r.format, Some("schema-org"), "{}", r.name);
    }
    assert!(loose(&items).is_empty());
    let recs = records(&items);
    assert_eq!(recs.len(), 4);

    // @graph: references resolved, the catalog names the repository.
    let nash = recs[0];
    let d = &nash.dataset;
    assert_eq!(d.repository, "arrayexpress-repository");
    assert_eq!(d.accession, "E-MTAB-99901");
    assert_eq!(d.secondary_accessions, ["10.6019/e-mtab-99901"]);
    assert_eq!(d.people[0].name, "Rosa Fernández");
    assert_eq!(d.people[0].orcid.as_deref(), Some("0000-0001-9000-0004"));
    assert_eq!(
        d.people[0].affiliation.as_deref(),
        Some("Centre for Genomic Regulation")
    );
    assert_eq!(d.diseases[0].id.as_deref(), Some("MONDO:0007027"));
    assert_eq!(d.organisms[0].taxon_id.as_deref(), Some("9606"));
    assert_eq!(d.submitter_keywords, ["RNA-seq", "liver", "NASH"]);
    assert_eq!(
        d.additional["variable_measured"],
        ["gene expression", "fibrosis stage"]
    );
    assert!(nash.raw.starts_with('{') && nash.raw.contains("E-MTAB-99901"));
    assert!(!nash.raw.contains("E-MTAB-99902"));
    assert_eq!(nash.location.line, Some(7));
    let second = recs[1];
    assert_eq!(second.dataset.accession, "E-MTAB-99902");
    assert_eq!(second.diagnostics.len(), 1);
    assert_eq!(second.diagnostics[0].code, "bad-date");

    // HTML page: the JSON-LD block is the raw record; Dryad names itself.
    let dryad = recs[2];
    assert_eq!(dryad.dataset.repository, "dryad");
    assert_eq!(dryad.dataset.accession, "10.5061/dryad.q0000xyz");
    assert_eq!(dryad.location.line, Some(8));
    assert!(dryad.raw.starts_with('{') && dryad.raw.ends_with('}'));
    assert_eq!(
        dryad.dataset.publications[0].doi.as_deref(),
        Some("10.1000/sleep.2024.3")
    );
    assert_eq!(dryad.dataset.diseases[0].label, "type 1 diabetes mellitus");
    assert_eq!(dryad.dataset.files.len(), 1);

    // One object: raw is the whole file; DOI identifier is the accession, publisher the repository.
    let zen = recs[3];
    let d = &zen.dataset;
    assert_eq!(
        zen.raw,
        std::fs::read_to_string(fixtures().join("zenodo-dataset.jsonld"))
            .expect("fixture")
            .trim_end()
    );
    assert_eq!(d.repository, "zenodo");
    assert_eq!(d.accession, "10.5281/zenodo.8000002");
    assert_eq!(
        d.full_dataset_link.as_deref(),
        Some("https://zenodo.org/records/8000002")
    );
    assert_eq!(d.people[0].orcid.as_deref(), Some("0000-0002-7000-0003"));
    assert_eq!(d.people[1].name, "Airway Cell Atlas Network");
    assert_eq!(
        d.license.as_deref(),
        Some("https://creativecommons.org/licenses/by/4.0/legalcode")
    );
    assert_eq!(d.publications.len(), 2);
    assert_eq!(d.publications[1].pmid.as_deref(), Some("37000003"));
    assert_eq!(d.files.len(), 2);
    assert!(zen.diagnostics.is_empty());

    let all: Vec<_> = recs.iter().map(|r| &r.dataset).collect();
    insta::assert_json_snapshot!("schema_org_fixtures", all);
}

#[test]
fn arrays_jsonl_and_broken_blocks() {
    let array = r#"[
  {"@context": "https://schema.org", "@type": "Dataset", "name": "A", "url": "https://data.example.org/a"},
  {"@context": "https://schema.org", "@type": "Dataset", "name": "B"},
  {"@context": "https://schema.org", "@type": "Person", "name": "C"}
]"#;
    let items = parse_str(array);
    let recs = records(&items);
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[0].dataset.repository, "data_example_org");
    assert_eq!(recs[0].dataset.accession, "https://data.example.org/a");
    assert_eq!(recs[1].location.line, Some(3));
    assert_eq!(recs[1].dataset.repository, "schema_org");
    assert_eq!(recs[1].diagnostics[0].code, "missing-id");

    let jsonl = concat!(
        r#"{"@type": "Dataset", "identifier": "X1", "name": "One"}"#,
        "\n",
        r#"{"@type": "Dataset", "identifier": "X2", "name": "#,
        "\n",
        r#"{"@type": "DataCatalog", "name": "Empty catalog"}"#,
        "\n",
        r#"{"@type": "Dataset", "identifier": "X4", "name": "Four"}"#,
        "\n",
    );
    let items = parse_str(jsonl);
    let accs: Vec<_> = records(&items)
        .iter()
        .map(|r| r.dataset.accession.clone())
        .collect();
    assert_eq!(accs, ["X1", "X4"]);
    let l = loose(&items);
    assert_eq!(l.len(), 2);
    assert_eq!(
        (l[0].code.as_str(), l[0].location.line),
        ("json-syntax", Some(2))
    );
    assert_eq!(l[0].severity, Severity::Error);
    assert_eq!(
        (l[1].code.as_str(), l[1].location.line),
        ("no-dataset", Some(3))
    );

    let html = "<html>\n<head>\n<script type=\"application/ld+json\">\n{\"@type\": \"Dataset\",\n \"name\": oops}\n</script>\n</head></html>\n";
    let items = parse_str(html);
    assert!(records(&items).is_empty());
    let l = loose(&items);
    assert_eq!(l.len(), 1);
    assert_eq!(l[0].code, "json-syntax");
    assert_eq!(l[0].location.line, Some(5));
}
