//! BioStudies PageTab: golden tests on the project's own fixtures, written from what the
//! PageTab specification describes (no real submissions are in the corpora).

use opendi_ingest::{pagetab, ParseContext};
use opendi_model::{Item, PartialDate, Severity, SourceRecord};

fn today() -> PartialDate {
    PartialDate::ymd(2026, 1, 1).expect("date")
}

/// The file list beside the TSV fixture.
const FILE_LIST: &str = "Files\tCondition\tReplicate
counts/wt_1.tsv\twild type\t1
counts/ko_1.tsv\tknockout\t1
";

fn parse(name: &str, text: &str) -> Vec<Item> {
    let siblings = |n: &str| (n == "counts.tsv").then(|| FILE_LIST.as_bytes().to_vec());
    let ctx = ParseContext {
        file: name,
        today: today(),
        siblings: &siblings,
    };
    let mut out = Vec::new();
    let mut r = text.as_bytes();
    pagetab::parse(&mut r, &ctx, &mut |i| out.push(i)).expect("parse");
    out
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

fn codes(r: &SourceRecord) -> Vec<&str> {
    r.diagnostics.iter().map(|d| d.code.as_str()).collect()
}

/// A literature-derived submission in JSON: root section with abstract and organism, an
/// author table with affiliations by reference, a publication, files and typed links.
const JSON_SUBMISSION: &str = r#"{
  "accno": "S-EPMC1234567",
  "type": "submission",
  "attributes": [
    {"name": "Title", "value": "Circadian control of hepatic lipid droplets in zebrafish larvae"},
    {"name": "ReleaseDate", "value": "2021-03-15"},
    {"name": "AttachTo", "value": "EuropePMC"}
  ],
  "section": {
    "type": "Study",
    "accno": "s-root-1",
    "attributes": [
      {"name": "Title", "value": "Circadian control of hepatic lipid droplets in zebrafish larvae"},
      {"name": "Abstract", "value": "Lipid droplets in the larval liver change size across the day."},
      {"name": "Organism", "value": "Danio rerio",
       "valqual": [{"name": "Ontology", "value": "NCBITaxon"}, {"name": "TermId", "value": "NCBITaxon_7955"}]},
      {"name": "Organ", "value": "liver",
       "valqual": [{"name": "Ontology", "value": "UBERON"}, {"name": "TermId", "value": "UBERON_0002107"}]},
      {"name": "Keywords", "value": "circadian rhythm; lipid droplet"}
    ],
    "files": [
      {"path": "figures/figure1.tif", "attributes": [{"name": "Description", "value": "Droplet sizes"}]},
      [
        {"path": "supplement/table_s1.xlsx", "attributes": [{"name": "Type", "value": "Spreadsheet"}]},
        {"path": "supplement/movie_s1.mp4", "attributes": [{"name": "Type", "value": "Movie"}]}
      ]
    ],
    "links": [
      {"url": "GSE999001", "attributes": [{"name": "Type", "value": "GEO"}]},
      [
        {"url": "PRJEB99001", "attributes": [{"name": "Type", "value": "ENA"}]},
        {"url": "https://example.org/atlas", "attributes": []}
      ]
    ],
    "subsections": [
      [
        {"type": "Author", "attributes": [
          {"name": "Name", "value": "Kim Sato"},
          {"name": "E-mail", "value": "k.sato@example.org"},
          {"name": "affiliation", "value": "org-a", "isReference": true}
        ]},
        {"type": "Author", "attributes": [
          {"name": "Name", "value": "Lea Moreau"},
          {"name": "affiliation", "value": "org-a", "isReference": true},
          {"name": "affiliation", "value": "org-b", "isReference": true}
        ]}
      ],
      [
        {"type": "Organization", "accno": "org-a", "attributes": [{"name": "Name", "value": "Institute of Fish Physiology"}]},
        {"type": "Organization", "accno": "org-b", "attributes": [{"name": "Name", "value": "Northern Lipid Centre"}]}
      ],
      {"type": "Publication", "accno": "33445566", "attributes": [
        {"name": "Title", "value": "Circadian control of hepatic lipid droplets"},
        {"name": "Journal", "value": "J Imaginary Biol"},
        {"name": "DOI", "value": "10.9999/jib.2021.42"}
      ]}
    ]
  }
}"#;

/// A dataset submission in TSV with a subsection, a sections table, a file list and link table.
const TSV_SUBMISSION: &str = "Submission\tS-BSST9001
Title\tKnockout of gene X changes root hair growth in Arabidopsis
ReleaseDate\t2020-11-02
RootPath\tS-BSST9001

Study\tSTUDY-1
Title\tKnockout of gene X changes root hair growth in Arabidopsis
Description\t\"Root hairs were imaged for seven days.
Counts are in the file list.\"
Organism\tArabidopsis thaliana
[Ontology]\tNCBITaxon
[TermId]\tNCBITaxon:3702
Cell Type\troot hair cell
(Stage)\tseedling
File List\tcounts.tsv

Author
Name\tAnna Berg
Email\tanna.berg@example.org
<affiliation>\tORG-1

Organization\tORG-1
Name\tPlant Cell Lab

Publication\tPUB-1
Pubmed ID\t31000111
DOI\tdoi:10.9999/plants.77

File\timages/overview.png
Description\tOverview of the imaging plates

Links\tType\tDescription
E-MTAB-99001\tArrayExpress\tExpression data
ERP999001\tENA\tReads

Imaging\tIMG-1\tSTUDY-1
Microscope\tconfocal

Sample[IMG-1]\tGenotype\tAge
SMP-1\twild type\t5 days
SMP-2\tknockout\t5 days
";

#[test]
fn json_submission() {
    let items = parse("fixture/S-EPMC1234567.json", JSON_SUBMISSION);
    let recs = records(&items);
    assert_eq!(recs.len(), 1);
    let r = recs[0];
    let d = &r.dataset;
    assert_eq!(r.format, "biostudies-pagetab");
    assert_eq!(d.repository, "biostudies-literature");
    assert_eq!(d.accession, "S-EPMC1234567");
    assert_eq!(
        d.title,
        "Circadian control of hepatic lipid droplets in zebrafish larvae"
    );
    assert_eq!(
        d.description,
        "Lipid droplets in the larval liver change size across the day."
    );
    assert_eq!(
        d.dates[0].value.map(|x| x.to_string()).as_deref(),
        Some("2021-03-15")
    );
    assert_eq!(d.organisms[0].taxon_id.as_deref(), Some("7955"));
    assert_eq!(d.tissues[0].id.as_deref(), Some("UBERON:0002107"));
    assert_eq!(d.people.len(), 2);
    assert_eq!(
        d.people[0].affiliation.as_deref(),
        Some("Institute of Fish Physiology")
    );
    assert_eq!(
        d.people[1].affiliation.as_deref(),
        Some("Institute of Fish Physiology; Northern Lipid Centre")
    );
    assert_eq!(d.publications[0].pmid.as_deref(), Some("33445566"));
    assert_eq!(
        d.publications[0].doi.as_deref(),
        Some("10.9999/jib.2021.42")
    );
    assert_eq!(d.files.len(), 3);
    let xrefs: Vec<(&str, &str)> = d
        .cross_refs
        .iter()
        .map(|c| (c.database.as_str(), c.key.as_str()))
        .collect();
    assert_eq!(xrefs, vec![("GEO", "GSE999001"), ("ENA", "PRJEB99001")]);
    assert_eq!(d.additional["Link"], vec!["https://example.org/atlas"]);
    assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
    assert_eq!(r.raw, JSON_SUBMISSION);
    insta::assert_json_snapshot!("pagetab_json", d);
}

#[test]
fn tsv_submission() {
    let items = parse("fixture/S-BSST9001.tsv", TSV_SUBMISSION);
    let recs = records(&items);
    assert_eq!(recs.len(), 1);
    let r = recs[0];
    let d = &r.dataset;
    assert_eq!(d.repository, "biostudies");
    assert_eq!(d.accession, "S-BSST9001");
    assert_eq!(r.location.line, Some(1));
    assert!(d.description.contains("seven days.\nCounts"));
    assert_eq!(d.organisms[0].taxon_id.as_deref(), Some("3702"));
    assert_eq!(d.cell_types[0].label, "root hair cell");
    assert_eq!(d.people[0].name, "Anna Berg");
    assert_eq!(d.people[0].affiliation.as_deref(), Some("Plant Cell Lab"));
    assert_eq!(d.publications[0].pmid.as_deref(), Some("31000111"));
    assert_eq!(d.publications[0].doi.as_deref(), Some("10.9999/plants.77"));
    // The file list beside the submission adds its files.
    assert_eq!(
        d.files,
        vec!["counts/wt_1.tsv", "counts/ko_1.tsv", "images/overview.png"]
    );
    assert!(d
        .cross_refs
        .iter()
        .any(|c| c.database == "ArrayExpress" && c.key == "E-MTAB-99001"));
    // Subsection and sections table below it are kept.
    assert_eq!(d.additional["Imaging: Microscope"], vec!["confocal"]);
    assert_eq!(
        d.additional["Sample: Genotype"],
        vec!["wild type", "knockout"]
    );
    assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
    assert_eq!(r.raw, TSV_SUBMISSION);
    insta::assert_json_snapshot!("pagetab_tsv", d);
}

#[test]
fn json_and_tsv_are_detected() {
    let detect =
        |name: &str, text: &str| opendi_ingest::detect(name, text.as_bytes()).map(|(f, _)| f.name);
    assert_eq!(
        detect("a.json", JSON_SUBMISSION),
        Some("biostudies-pagetab")
    );
    assert_eq!(detect("a.tsv", TSV_SUBMISSION), Some("biostudies-pagetab"));
}

#[test]
fn broken_tsv_diagnostics() {
    let text = "[Ontology]\tEFO
Submission\t
ReleaseDate\tnext week

Study\tS1
Title\t
File List\tnot-there.tsv

Author
Name\tNo Org
<affiliation>\tORG-404

Links\tType
X1\tENA\tstray

Child\tC1\tNO-SUCH-PARENT
Note\torphaned

Submission\tS-BSST2
Title\tSecond submission in the same file
";
    let items = parse("fixture/broken.tsv", text);
    let recs = records(&items);
    assert_eq!(recs.len(), 2, "the second submission still goes in");
    let c = codes(recs[0]);
    for expected in [
        "outside-submission",
        "missing-accession",
        "missing-title",
        "bad-date",
        "missing-file-list",
        "unknown-reference",
        "ragged-row",
        "unknown-parent",
    ] {
        assert!(c.contains(&expected), "{expected} not in {c:?}");
    }
    assert!(recs[0].has_errors());
    let ragged = recs[0]
        .diagnostics
        .iter()
        .find(|d| d.code == "ragged-row")
        .expect("ragged");
    assert_eq!(ragged.location.line, Some(14));
    assert_eq!(ragged.severity, Severity::Warning);
    let second = recs[1];
    assert_eq!(second.dataset.accession, "S-BSST2");
    assert_eq!(codes(second), vec!["missing-section"]);
    assert!(second.raw.starts_with("Submission\tS-BSST2"));
    assert_eq!(second.location.line, Some(19));
}

#[test]
fn json_list_and_broken_json() {
    let list = format!("[{JSON_SUBMISSION},\n{{\"accno\": \"S-BSST3\", \"attributes\": [{{\"name\": \"Title\", \"value\": \"Third\"}}]}}]");
    let items = parse("fixture/list.json", &list);
    let recs = records(&items);
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[0].raw, JSON_SUBMISSION);
    assert_eq!(recs[1].dataset.accession, "S-BSST3");
    assert!(recs[1].raw.starts_with("{\"accno\": \"S-BSST3\""));
    assert!(codes(recs[1]).contains(&"missing-section"));

    let items = parse("fixture/bad.json", "{\"accno\": \"S-1\", ");
    match &items[..] {
        [Item::Diagnostic(d)] => assert_eq!(d.code, "json-syntax"),
        other => panic!("{other:?}"),
    }
    for odd in [
        "[]",
        "[1, \"x\", null]",
        "{\"accno\": 7, \"section\": []}",
        "Submission",
        "\"",
    ] {
        let _ = parse("fixture/odd", odd);
    }
}
