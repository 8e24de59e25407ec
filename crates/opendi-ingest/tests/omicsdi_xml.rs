//! OmicsDI XML on the real dumps: record counts, the validator's findings on the deliberately
//! broken files, and golden normalized records.

use opendi_ingest::{read_all, source::expand};
use opendi_model::{Dataset, Diagnostic, Item, PartialDate, Severity};
use std::collections::BTreeSet;

fn today() -> PartialDate {
    PartialDate::ymd(2026, 1, 1).unwrap()
}

struct Read {
    records: Vec<(Dataset, Vec<Diagnostic>)>,
    file_findings: Vec<Diagnostic>,
}

fn read(rel: &str) -> Option<Read> {
    let path = opendi_corpora::corpus(rel)?;
    let (items, reports) = read_all(&expand(&[path.display().to_string()]).unwrap(), today());
    assert_eq!(reports.len(), 1);
    assert_eq!(
        reports[0].format,
        Some("omicsdi-xml"),
        "{rel} detected as {:?}",
        reports[0]
    );
    let mut out = Read {
        records: vec![],
        file_findings: vec![],
    };
    for i in items {
        match i {
            Item::Record(r) => out.records.push((r.dataset, r.diagnostics)),
            Item::Diagnostic(d) => out.file_findings.push(d),
            Item::Delete { .. } => panic!("no deletions in OmicsDI XML"),
        }
    }
    Some(out)
}

fn codes(diags: &[Diagnostic], severity: Severity) -> BTreeSet<String> {
    diags
        .iter()
        .filter(|d| d.severity == severity)
        .map(|d| d.code.clone())
        .collect()
}

fn all_codes(r: &Read, severity: Severity) -> BTreeSet<String> {
    let mut c = codes(&r.file_findings, severity);
    for (_, d) in &r.records {
        c.extend(codes(d, severity));
    }
    c
}

#[test]
fn every_file_ingests_with_expected_counts() {
    let expected = [
        (
            "omicsdi-xml/ddi-annotation/ddi-annotation__MetaboLights_test_export.xml",
            94,
        ),
        (
            "omicsdi-xml/ddi-annotation/ddi-annotation__PRIDE_EBEYE_PXD000001.xml",
            1,
        ),
        (
            "omicsdi-xml/ddi-annotation/ddi-annotation__PRIDE_EBEYE_PXD000005.xml",
            1,
        ),
        (
            "omicsdi-xml/ddi-annotation/ddi-annotation__MetabolomicsWorkbench_EBEYE_ST000001.xml",
            1,
        ),
        ("omicsdi-xml/xml-validator/BIOMODELS.xml", 1),
        ("omicsdi-xml/xml-validator/PRIDE_EBEYE_PXD002837.xml", 1),
        (
            "omicsdi-xml/xml-validator/PRIDE_EBEYE_PXD002837_bycovid.xml",
            1,
        ),
        ("omicsdi-xml/xml-validator/PRIDE_EBEYE_PXD007896.xml", 1),
        (
            "omicsdi-xml/xml-validator/PRIDE_EBEYE_Wrong_PRD000123.xml",
            1,
        ),
        ("omicsdi-xml/xml-validator/by-covid_cessda_omicsdi.xml", 3),
        (
            "omicsdi-xml/xml-validator/by-covid_cessda_omicsdi_noid.xml",
            3,
        ),
        (
            "omicsdi-xml/xml-validator/by-covid_cessda_omicsdi_warnings.xml",
            3,
        ),
        ("omicsdi-xml/xml-validator/px_example_data.xml", 1),
    ];
    for (rel, n) in expected {
        let Some(r) = read(rel) else { return };
        assert_eq!(r.records.len(), n, "{rel}");
        for (d, _) in &r.records {
            assert!(!d.accession.is_empty(), "{rel}: a record without accession");
        }
    }
}

#[test]
fn valid_files_have_no_errors() {
    for rel in [
        "omicsdi-xml/ddi-annotation/ddi-annotation__PRIDE_EBEYE_PXD000005.xml",
        "omicsdi-xml/xml-validator/PRIDE_EBEYE_PXD007896.xml",
    ] {
        let Some(r) = read(rel) else { return };
        assert!(
            all_codes(&r, Severity::Error).is_empty(),
            "{rel}: {:?}",
            all_codes(&r, Severity::Error)
        );
    }
}

/// `BIOMODELS.xml`: its `<name>` is commented out, and it has no omics type.
#[test]
fn biomodels_misses_name_and_omics_type() {
    let Some(r) = read("omicsdi-xml/xml-validator/BIOMODELS.xml") else {
        return;
    };
    let (d, diags) = &r.records[0];
    assert_eq!(d.accession, "MODEL00002243.1");
    assert!(d.title.is_empty());
    let msgs: Vec<&str> = diags
        .iter()
        .filter(|x| x.severity == Severity::Error)
        .map(|x| x.message.as_str())
        .collect();
    assert!(msgs.iter().any(|m| m.contains("no <name>")), "{msgs:?}");
    assert!(msgs.iter().any(|m| m.contains("omics type")), "{msgs:?}");
    // The validator's warnings for this file: no TAXONOMY, no pubmed, no instrument, no submitter e-mail.
    let warns: Vec<&str> = diags
        .iter()
        .filter(|x| x.severity == Severity::Warning)
        .map(|x| x.message.as_str())
        .collect();
    // (It does give a submitter e-mail, as `submitter_mail`, which opendi accepts.)
    for w in ["TAXONOMY", "pubmed", "instrument_platform"] {
        assert!(warns.iter().any(|m| m.contains(w)), "{w} not in {warns:?}");
    }
}

/// `PRIDE_EBEYE_Wrong_PRD000123.xml`: submission and updated dates but no publication date,
/// which the reference validator requires.
#[test]
fn wrong_file_misses_publication_date() {
    let Some(r) = read("omicsdi-xml/xml-validator/PRIDE_EBEYE_Wrong_PRD000123.xml") else {
        return;
    };
    let (d, diags) = &r.records[0];
    assert_eq!(d.accession, "PRD000123");
    assert!(d.title.starts_with(
        "Large scale qualitative and quantitative profiling of tyrosine phosphorylation"
    ));
    let err = diags
        .iter()
        .find(|x| x.code == "missing-publication-date")
        .expect("missing publication date reported");
    assert_eq!(err.severity, Severity::Error);
    assert_eq!(err.location.line, Some(8));
    assert!(err
        .location
        .file
        .ends_with("PRIDE_EBEYE_Wrong_PRD000123.xml"));
    assert_eq!(err.location.record.as_deref(), Some("PRD000123"));
}

/// A malformed entry is reported with file, record and line, and the entries after it still go in.
#[test]
fn malformed_entry_is_reported_and_the_rest_goes_in() {
    let xml = "<database><name>PRIDE</name><entries>\n<entry id=\"A\">\n<name>First</name\n<description>D</description></entry>\n\
               <entry id=\"B\"><name>Second</name><description>ok</description></entry>\n\
               <entry id=\"C\"><name>Third &bogus; entity</name></entry>\n</entries></database>";
    let fmt = opendi_ingest::format_by_name("omicsdi-xml").unwrap();
    let items = opendi_ingest::parse_bytes(fmt, "fixture.xml", xml.as_bytes(), today()).unwrap();
    let recs: Vec<_> = items
        .iter()
        .filter_map(|i| {
            if let Item::Record(r) = i {
                Some(r)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(
        recs.iter()
            .map(|r| r.dataset.accession.as_str())
            .collect::<Vec<_>>(),
        ["A", "B", "C"]
    );
    let a = recs[0]
        .diagnostics
        .iter()
        .find(|d| d.code == "xml-syntax")
        .expect("syntax error reported");
    assert_eq!(
        (
            a.location.file.as_str(),
            a.location.record.as_deref(),
            a.location.line
        ),
        ("fixture.xml", Some("A"), Some(3))
    );
    assert_eq!(recs[0].dataset.title, "First");
    assert!(!recs[1].diagnostics.iter().any(|d| d.code == "xml-syntax"));
    assert_eq!(
        recs[2].dataset.title, "Third &bogus; entity",
        "an unknown entity is kept as written"
    );
}

/// `…_noid.xml`: the first entry has no name, no description and no publication date.
#[test]
fn noid_file_reports_missing_mandatory_fields() {
    let Some(r) = read("omicsdi-xml/xml-validator/by-covid_cessda_omicsdi_noid.xml") else {
        return;
    };
    let first = codes(&r.records[0].1, Severity::Error);
    for c in ["missing-name", "missing-description", "missing-field"] {
        assert!(first.contains(c), "{c} not in {first:?}");
    }
    assert!(first.contains("missing-publication-date"));
    // The other entries are complete enough to have names.
    assert!(!r.records[1].0.title.is_empty());
    assert!(!r.records[2].0.title.is_empty());
}

/// `…_warnings.xml`: the database header lacks its name (an error) and its description, url,
/// keywords, entry count and release date (warnings).
#[test]
fn warnings_file_reports_database_header_findings() {
    let Some(r) = read("omicsdi-xml/xml-validator/by-covid_cessda_omicsdi_warnings.xml") else {
        return;
    };
    assert!(codes(&r.file_findings, Severity::Error).contains("missing-database-name"));
    let warns: Vec<&str> = r
        .file_findings
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .map(|d| d.message.as_str())
        .collect();
    for w in [
        "description",
        "url",
        "keywords",
        "entry count",
        "release date",
    ] {
        assert!(warns.iter().any(|m| m.contains(w)), "{w} not in {warns:?}");
    }
    // The same file with its header present has no header findings.
    let Some(ok) = read("omicsdi-xml/xml-validator/by-covid_cessda_omicsdi.xml") else {
        return;
    };
    assert!(ok.file_findings.is_empty(), "{:?}", ok.file_findings);
}

/// `px_example_data.xml`: a Java `Date.toString()` date, empty fields and duplicated refs.
#[test]
fn messy_values_are_normalized_and_raw_kept() {
    let Some(r) = read("omicsdi-xml/xml-validator/px_example_data.xml") else {
        return;
    };
    let (d, diags) = &r.records[0];
    let date = d
        .dates
        .iter()
        .find(|x| x.raw == "Wed Dec 06 00:00:00 GMT 2017")
        .expect("raw date kept");
    assert_eq!(
        date.value.map(|v| v.to_string()).as_deref(),
        Some("2017-12-06")
    );
    assert!(diags.iter().any(|x| x.code == "nonstandard-date"));
    let mut keys: Vec<(String, String)> = d
        .cross_refs
        .iter()
        .map(|c| (c.database.to_lowercase(), c.key.clone()))
        .collect();
    let before = keys.len();
    keys.sort();
    keys.dedup();
    assert_eq!(before, keys.len(), "duplicated references are kept once");
    assert!(d.full_dataset_link.is_none(), "an empty link is no link");
}

#[test]
fn golden_pxd000005() {
    let Some(r) = read("omicsdi-xml/ddi-annotation/ddi-annotation__PRIDE_EBEYE_PXD000005.xml")
    else {
        return;
    };
    let d = &r.records[0].0;
    assert_eq!(d.repository, "pride");
    assert_eq!(
        d.organisms.len(),
        1,
        "species and TAXONOMY ref are one organism: {:?}",
        d.organisms
    );
    assert_eq!(d.organisms[0].taxon_id.as_deref(), Some("9606"));
    assert_eq!(d.files.len(), 150);
    assert_eq!(d.publications[0].pmid.as_deref(), Some("22864569"));
    insta::assert_json_snapshot!("PXD000005", d);
}

#[test]
fn golden_st000001() {
    let Some(r) =
        read("omicsdi-xml/ddi-annotation/ddi-annotation__MetabolomicsWorkbench_EBEYE_ST000001.xml")
    else {
        return;
    };
    let d = &r.records[0].0;
    assert_eq!(d.repository, "metabolomics_workbench");
    assert!(d.cross_refs.iter().any(|c| c.database == "ChEBI"));
    // Its only date, `13-01-15`, is read as 2013-01-15; the validator requires a publication date.
    assert_eq!(
        d.dates[0].value.map(|v| v.to_string()).as_deref(),
        Some("2013-01-15")
    );
    let errors = codes(&r.records[0].1, Severity::Error);
    assert_eq!(
        errors,
        BTreeSet::from(["missing-publication-date".to_string()])
    );
    insta::assert_json_snapshot!("ST000001", d);
}

#[test]
fn seed_record() {
    let Some(p) = opendi_corpora::seed("S-EPMC7912947.omicsdi.xml") else {
        return;
    };
    let (items, _) = read_all(&expand(&[p.display().to_string()]).unwrap(), today());
    let r = items
        .iter()
        .find_map(|i| {
            if let Item::Record(r) = i {
                Some(r)
            } else {
                None
            }
        })
        .expect("one record");
    let d = &r.dataset;
    assert_eq!(
        (d.repository.as_str(), d.accession.as_str()),
        ("biostudies-literature", "S-EPMC7912947")
    );
    assert!(d.description.starts_with("<h4>Background</h4>"));
    assert_eq!(d.publications[0].pmcid.as_deref(), Some("PMC7912947"));
    assert!(d.cross_refs.iter().any(|c| c.key == "NCT02218437"));
    assert!(!r.has_errors(), "{:?}", r.diagnostics);
}
