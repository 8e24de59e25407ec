//! Golden tests of the MAGE-TAB reader on the real E-MEXP-986 bundle and its broken variants.

use opendi_ingest::{magetab, read_all, source, ParseContext};
use opendi_model::{Item, PartialDate, Severity, SourceRecord};
use serde_json::json;
use std::path::Path;

fn today() -> PartialDate {
    PartialDate::ymd(2026, 1, 1).expect("date")
}

fn records(items: Vec<Item>) -> Vec<SourceRecord> {
    items
        .into_iter()
        .filter_map(|i| match i {
            Item::Record(r) => Some(*r),
            _ => None,
        })
        .collect()
}

fn read(rel: &str) -> Option<Vec<SourceRecord>> {
    let path = opendi_corpora::corpus(rel)?;
    let inputs = source::expand(&[path.display().to_string()]).expect("expand");
    let (items, reports) = read_all(&inputs, today());
    assert_eq!(reports[0].format, Some("mage-tab"), "{reports:?}");
    Some(records(items))
}

fn snapshot_value(r: &SourceRecord) -> serde_json::Value {
    json!({
        "record": r.location.record,
        "dataset": r.dataset,
        "diagnostics": r.diagnostics.iter().map(|d| json!({
            "severity": d.severity,
            "code": d.code,
            "message": d.message,
            "file": Path::new(&d.location.file).file_name().map(|f| f.to_string_lossy()),
            "line": d.location.line,
        })).collect::<Vec<_>>(),
    })
}

#[test]
fn golden_idf_with_sdrf() {
    let Some(recs) = read("arrayexpress/E-MEXP-986.idf.txt") else {
        return;
    };
    assert_eq!(recs.len(), 1);
    let r = &recs[0];
    let d = &r.dataset;
    assert_eq!(d.repository, "arrayexpress-repository");
    assert_eq!(d.accession, "E-MEXP-986");
    assert_eq!(
        d.title,
        "Transcription profiling of wild type and DREB2C over-expression Arabidopsis plants"
    );
    assert_eq!(d.organisms.len(), 1);
    assert_eq!(d.organisms[0].name, "Arabidopsis thaliana");
    assert_eq!(d.instruments, vec!["A-MEXP-187"]);
    assert_eq!(d.omics_types, vec!["Transcriptomics"]);
    assert_eq!(
        d.main_date().map(|x| x.to_string()).as_deref(),
        Some("2007-03-10")
    );
    let p = d.submitters().next().expect("submitter");
    assert_eq!(p.name, "Kyung Ae Yang");
    assert_eq!(p.email.as_deref(), Some("colimpbl@naver.com"));
    assert_eq!(d.sample_protocols.len() + d.data_protocols.len(), 7);
    assert!(d.files.iter().any(|f| f.ends_with("E-MEXP-986.raw.1.zip")));
    assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
    let idf = std::fs::read_to_string(
        opendi_corpora::corpus("arrayexpress/E-MEXP-986.idf.txt").expect("idf"),
    )
    .expect("read");
    assert_eq!(r.raw, idf, "the raw is the IDF text");
    insta::assert_json_snapshot!("mage_tab_E_MEXP_986", snapshot_value(r));
}

#[test]
fn idf_without_sdrf_reference() {
    let Some(recs) = read("arrayexpress/E-MEXP-986_no_sdrf.idf.txt") else {
        return;
    };
    assert_eq!(recs.len(), 1, "the record still goes in");
    let r = &recs[0];
    assert_eq!(r.dataset.accession, "E-MEXP-986");
    assert!(r.dataset.organisms.is_empty());
    let d = r
        .diagnostics
        .iter()
        .find(|d| d.code == "missing-sdrf-reference")
        .expect("diagnostic");
    assert_eq!(d.severity, Severity::Error);
    assert!(
        d.message.contains("E-MEXP-986_no_sdrf.idf.txt"),
        "{}",
        d.message
    );
    insta::assert_json_snapshot!("mage_tab_no_sdrf", snapshot_value(r));
}

/// Parses the real IDF with its `SDRF File` served from another file (or from nowhere).
fn parse_with_sdrf(sdrf: Option<&'static str>) -> Option<SourceRecord> {
    let idf_path = opendi_corpora::corpus("arrayexpress/E-MEXP-986.idf.txt")?;
    let dir = idf_path.parent().expect("dir").to_path_buf();
    let idf = std::fs::read(&idf_path).expect("idf");
    let siblings = move |name: &str| {
        assert_eq!(name, "E-MEXP-986.sdrf.txt");
        sdrf.and_then(|s| std::fs::read(dir.join(s)).ok())
    };
    let ctx = ParseContext {
        file: "bundle/E-MEXP-986.idf.txt",
        today: today(),
        siblings: &siblings,
    };
    let mut items = Vec::new();
    let mut reader: &[u8] = &idf;
    magetab::parse(&mut reader, &ctx, &mut |i| items.push(i)).expect("parse");
    let mut recs = records(items);
    assert_eq!(recs.len(), 1);
    recs.pop()
}

#[test]
fn sdrf_with_wrong_headers() {
    let Some(r) = parse_with_sdrf(Some("E-MEXP-986.wrong-headers.sdrf.txt")) else {
        return;
    };
    // The record goes in with what could be read.
    assert_eq!(r.dataset.accession, "E-MEXP-986");
    assert_eq!(r.dataset.organisms[0].name, "Arabidopsis thaliana");
    let unknown = r
        .diagnostics
        .iter()
        .find(|d| d.code == "unknown-sdrf-column")
        .expect("unknown headers reported");
    assert_eq!(unknown.severity, Severity::Error);
    assert_eq!(unknown.location.file, "bundle/E-MEXP-986.sdrf.txt");
    assert_eq!(unknown.location.line, Some(1));
    assert!(
        unknown.message.contains("11 (\"blah blah\")"),
        "{}",
        unknown.message
    );
    assert!(
        unknown.message.contains("35 (\"blah\")"),
        "{}",
        unknown.message
    );
    let misspelt = r
        .diagnostics
        .iter()
        .find(|d| d.code == "nonstandard-sdrf-column")
        .expect("misspelt header reported");
    assert!(
        misspelt.message.contains("FactorValue [genotype]"),
        "{}",
        misspelt.message
    );
    insta::assert_json_snapshot!("mage_tab_wrong_headers", snapshot_value(&r));
}

#[test]
fn named_sdrf_file_missing() {
    let Some(r) = parse_with_sdrf(None) else {
        return;
    };
    let d = r
        .diagnostics
        .iter()
        .find(|d| d.code == "missing-sdrf-file")
        .expect("missing file reported");
    assert_eq!(d.severity, Severity::Error);
    assert!(d.message.contains("E-MEXP-986.sdrf.txt"), "{}", d.message);
    assert_eq!(d.location.line, Some(45));
    assert!(!r.dataset.title.is_empty(), "the record still goes in");
}

#[test]
fn directory_of_the_bundle() {
    let Some(dir) = opendi_corpora::corpus("arrayexpress") else {
        return;
    };
    let inputs = source::expand(&[dir.display().to_string()]).expect("expand");
    let (items, reports) = read_all(&inputs, today());
    let by_name = |suffix: &str| {
        reports
            .iter()
            .find(|r| r.name.ends_with(suffix))
            .unwrap_or_else(|| panic!("{suffix}"))
    };
    // SDRFs are parts of their bundle: recognised, not read by themselves.
    for sdrf in ["E-MEXP-986.sdrf.txt", "E-MEXP-986.wrong-headers.sdrf.txt"] {
        let rep = by_name(sdrf);
        assert_eq!(rep.format, Some("mage-tab"));
        assert!(rep.skipped.is_some());
    }
    let recs = records(items);
    let mage: Vec<&SourceRecord> = recs.iter().filter(|r| r.format == "mage-tab").collect();
    assert_eq!(mage.len(), 2);
    assert_eq!(
        recs.iter()
            .filter(|r| r.format == "arrayexpress-xml")
            .count(),
        256
    );
}

#[test]
fn sdrf_given_directly_is_refused_with_a_reason() {
    let Some(p) = opendi_corpora::corpus("arrayexpress/E-MEXP-986.sdrf.txt") else {
        return;
    };
    let spec = opendi_ingest::format_by_name("mage-tab").expect("format");
    let items = opendi_ingest::parse_bytes(
        spec,
        "x.sdrf.txt",
        &std::fs::read(p).expect("read"),
        today(),
    )
    .expect("parse");
    assert!(matches!(&items[..], [Item::Diagnostic(d)] if d.code == "sdrf-without-idf"));
}
