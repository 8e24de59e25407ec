//! Golden tests of the GEO SOFT reader on the real files of `shared/corpora/geo`.

use opendi_ingest::{read_all, source};
use opendi_model::{Item, PartialDate, Severity, SourceRecord};
use serde_json::json;

fn today() -> PartialDate {
    PartialDate::ymd(2026, 1, 1).expect("date")
}

/// Reads one corpus file (with format detection) into its records and loose diagnostics.
fn read(rel: &str) -> Option<(Vec<SourceRecord>, Vec<String>)> {
    let path = opendi_corpora::corpus(rel)?;
    let inputs = source::expand(&[path.display().to_string()]).expect("expand");
    let (items, reports) = read_all(&inputs, today());
    assert!(
        reports.iter().all(|r| r.format == Some("geo-soft")),
        "{rel}: {reports:?}"
    );
    let mut recs = Vec::new();
    let mut loose = Vec::new();
    for i in items {
        match i {
            Item::Record(r) => recs.push(*r),
            Item::Diagnostic(d) => loose.push(d.code),
            Item::Delete { .. } => panic!("no deletions in SOFT"),
        }
    }
    Some((recs, loose))
}

/// The snapshot of one file: the normalized datasets and their findings (without the
/// machine-specific file path).
fn snapshot_value(recs: &[SourceRecord]) -> serde_json::Value {
    json!(recs
        .iter()
        .map(|r| json!({
            "record": r.location.record,
            "line": r.location.line,
            "raw_bytes": r.raw.len(),
            "dataset": r.dataset,
            "diagnostics": r.diagnostics.iter().map(|d| json!({
                "severity": d.severity,
                "code": d.code,
                "message": d.message,
                "line": d.location.line,
            })).collect::<Vec<_>>(),
        }))
        .collect::<Vec<_>>())
}

const FILES: &[&str] = &[
    "biopython/GSE16.txt",
    "biopython/GSM645.txt",
    "biopython/GSM691.txt",
    "biopython/GSM700.txt",
    "biopython/GSM804.txt",
    "biopython/soft_ex_affy.txt",
    "biopython/soft_ex_affy_chp.txt",
    "biopython/soft_ex_dual.txt",
    "biopython/soft_ex_family.txt",
    "biopython/soft_ex_platform.txt",
    "biopython/soft_ex_series.txt",
    "geoparse/GPL20814_family.soft",
    "geoparse/GPL4133.txt",
    "geoparse/GPL4134.txt",
    "geoparse/GSE105845_family.soft",
    "geoparse/GSM2795971.txt",
    "geoparse/GSM32878.txt",
    "geoparse/soft_ex_family.txt",
    "omicsdi-index-pipeline/GSE9309.txt",
    "omicsdi-index-pipeline/GSM629855.txt",
    "omicsdi-index-pipeline/GSM821262.txt",
];

#[test]
fn golden_all_geo_files() {
    let mut counts = Vec::new();
    for rel in FILES {
        let Some((recs, loose)) = read(&format!("geo/{rel}")) else {
            return;
        };
        assert!(loose.is_empty(), "{rel}: {loose:?}");
        for r in &recs {
            assert_eq!(r.format, "geo-soft");
            assert_eq!(r.dataset.repository, "geo");
            assert!(!r.dataset.title.is_empty(), "{rel}");
        }
        counts.push(format!(
            "{rel}: {}",
            recs.iter()
                .map(|r| r.dataset.accession.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        let name = rel.replace(['/', '.'], "_");
        insta::assert_json_snapshot!(name, snapshot_value(&recs));
    }
    insta::assert_snapshot!("geo_records_per_file", counts.join("\n"));
}

#[test]
fn gse9309_series() {
    let Some((recs, _)) = read("geo/omicsdi-index-pipeline/GSE9309.txt") else {
        return;
    };
    assert_eq!(recs.len(), 1);
    let r = &recs[0];
    let d = &r.dataset;
    assert_eq!(d.accession, "GSE9309");
    assert!(d.title.starts_with("Recovery of biological information"));
    assert_eq!(d.omics_types, vec!["Transcriptomics"]);
    assert_eq!(d.organisms.len(), 1);
    assert_eq!(d.organisms[0].name, "Homo sapiens");
    assert_eq!(d.organisms[0].taxon_id.as_deref(), Some("9606"));
    assert_eq!(d.additional["Series_sample_id"].len(), 142);
    assert_eq!(d.additional["Series_platform_id"], vec!["GPL887"]);
    assert_eq!(
        d.main_date().map(|x| x.to_string()).as_deref(),
        Some("2007-10-20")
    );
    let submitter = d.submitters().next().expect("contact");
    assert_eq!(submitter.name, "Hsin-Chieh Yao");
    assert_eq!(submitter.email.as_deref(), Some("r95524023@ntu.edu.tw"));
    assert_eq!(
        submitter.affiliation.as_deref(),
        Some("National Taiwan University")
    );
    assert_eq!(d.people.len(), 12, "11 contributors and the contact");
    assert_eq!(
        d.files,
        vec!["ftp://ftp.ncbi.nlm.nih.gov/geo/series/GSE9nnn/GSE9309/suppl/GSE9309_RAW.tar"]
    );
    assert!(d
        .cross_refs
        .iter()
        .any(|c| c.database == "bioproject" && c.key == "PRJNA102963"));
    assert!(d.additional["Series_overall_design"][0].starts_with("98 of breast cancer"));
    // No tables in this file: the raw text is the whole file.
    let path = opendi_corpora::corpus("geo/omicsdi-index-pipeline/GSE9309.txt").expect("file");
    assert_eq!(r.raw, std::fs::read_to_string(path).expect("read"));
    assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
    // GEO does not name the ArrayExpress twin in the file: no ArrayExpress link is invented.
    assert!(!d
        .cross_refs
        .iter()
        .any(|c| c.database == "arrayexpress-repository"));
}

#[test]
fn family_files_fold_samples_and_platforms() {
    let Some((recs, _)) = read("geo/geoparse/GSE105845_family.soft") else {
        return;
    };
    assert_eq!(recs.len(), 1, "the platform is folded into the series");
    let d = &recs[0].dataset;
    assert_eq!(d.accession, "GSE105845");
    assert_eq!(d.omics_types, vec!["Transcriptomics"]);
    assert_eq!(d.instruments, vec!["Illumina HiSeq 2000 (Mus musculus)"]);
    assert_eq!(d.organisms[0].taxon_id.as_deref(), Some("10090"));

    let Some((recs, _)) = read("geo/biopython/soft_ex_family.txt") else {
        return;
    };
    assert_eq!(recs.len(), 1);
    let r = &recs[0];
    let d = &r.dataset;
    assert_eq!(d.accession, "Murine ES Cells");
    assert_eq!(d.organisms.len(), 1);
    assert_eq!(d.organisms[0].name, "Mus musculus");
    let tissues: Vec<&str> = d.tissues.iter().map(|t| t.label.as_str()).collect();
    assert_eq!(tissues, vec!["blastocytes", "whole embryo"]);
    assert_eq!(
        d.instruments,
        vec!["Murine 15K long oligo array version 2.0"]
    );
    assert_eq!(d.publications[0].pmid.as_deref(), Some("16390873"));
    // ISO-8859-1 file: read as Latin-1 and said so; example names are not GEO accessions.
    let codes: Vec<&str> = r.diagnostics.iter().map(|d| d.code.as_str()).collect();
    assert!(codes.contains(&"not-utf8"), "{codes:?}");
    assert!(codes.contains(&"no-geo-accession"), "{codes:?}");
    assert!(
        r.raw.contains('µ') || r.raw.contains('°'),
        "Latin-1 decoded"
    );
    assert!(!r.raw.contains('\u{fffd}'));
}

#[test]
fn broken_platform_table_in_gpl_family() {
    // GPL20814_family.soft opens a platform table and closes it with a *sample* table end.
    let Some((recs, _)) = read("geo/geoparse/GPL20814_family.soft") else {
        return;
    };
    assert_eq!(recs.len(), 1);
    let r = &recs[0];
    assert_eq!(r.dataset.accession, "GSE72138");
    assert_eq!(
        r.dataset.instruments,
        vec!["Human miRNA Array miRbase release 19"]
    );
    let d = r
        .diagnostics
        .iter()
        .find(|d| d.code == "mismatched-table-end")
        .expect("mismatched table end reported");
    assert_eq!(d.severity, Severity::Warning);
    assert_eq!(d.location.line, Some(42));
    assert!(d.message.contains("!platform_table_begin"), "{}", d.message);
}

#[test]
fn standalone_samples_and_platforms_are_records() {
    let Some((recs, _)) = read("geo/omicsdi-index-pipeline/GSM629855.txt") else {
        return;
    };
    assert_eq!(recs.len(), 1);
    let d = &recs[0].dataset;
    assert_eq!(d.accession, "GSM629855");
    assert_eq!(d.organisms[0].taxon_id.as_deref(), Some("9606"));
    assert_eq!(d.omics_types, vec!["Transcriptomics"]);
    assert!(d
        .cross_refs
        .iter()
        .any(|c| c.database == "geo" && c.key == "GSE25634"));
    assert!(d
        .cross_refs
        .iter()
        .any(|c| c.database == "geo" && c.key == "GSM821262"));
    assert!(!recs[0].raw.contains("1007_s_at"), "table rows are skipped");

    let Some((recs, _)) = read("geo/geoparse/GPL4133.txt") else {
        return;
    };
    assert_eq!(recs.len(), 1);
    let d = &recs[0].dataset;
    assert_eq!(d.accession, "GPL4133");
    assert!(d.instruments[0].starts_with("Agilent-014850"));
    assert_eq!(
        d.submitters().next().map(|p| p.name.as_str()),
        Some("Agilent Technologies")
    );

    let Some((recs, _)) = read("geo/biopython/soft_ex_dual.txt") else {
        return;
    };
    assert_eq!(recs.len(), 3, "three samples, no series");
}
