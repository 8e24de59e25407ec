//! Golden tests of `clinical-trials-jsonl` on the real ctrdata and TrialGPT files, plus the
//! project's own small fixtures for the single-document shapes and broken input.

use opendi_ingest::source::{expand, FileReport};
use opendi_model::{Item, PartialDate, Severity, SourceRecord};
use std::collections::BTreeMap;

fn today() -> PartialDate {
    PartialDate::ymd(2026, 1, 1).expect("date")
}

fn read(rel: &str) -> Option<(Vec<Item>, Vec<FileReport>)> {
    let p = opendi_corpora::corpus(rel)?;
    let inputs = expand(&[p.display().to_string()]).expect("expand");
    Some(opendi_ingest::read_all(&inputs, today()))
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

fn loose_diagnostics(items: &[Item]) -> Vec<&opendi_model::Diagnostic> {
    items
        .iter()
        .filter_map(|i| match i {
            Item::Diagnostic(d) => Some(d),
            _ => None,
        })
        .collect()
}

fn parse_str(text: &str) -> Vec<Item> {
    let f = opendi_ingest::format_by_name("clinical-trials-jsonl").expect("registered");
    opendi_ingest::parse_bytes(f, "fixture.jsonl", text.as_bytes(), today()).expect("parse")
}

fn by_accession<'a>(recs: &[&'a SourceRecord], acc: &str) -> &'a SourceRecord {
    recs.iter()
        .find(|r| r.dataset.accession == acc)
        .unwrap_or_else(|| panic!("{acc} missing"))
}

#[test]
fn ctrdata_demo_all_registries() {
    let Some((items, reports)) = read("clinical-trials/ctrdata-demo/demo-trials.jsonl") else {
        return;
    };
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].format, Some("clinical-trials-jsonl"));
    assert!(reports[0].error.is_none());
    let recs = records(&items);
    assert_eq!(recs.len(), 25);
    let mut per_repo: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &recs {
        *per_repo.entry(r.dataset.repository.as_str()).or_default() += 1;
        assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
        assert!(!r.dataset.title.is_empty());
        assert!(!r.dataset.description.is_empty(), "{}", r.dataset.accession);
        assert_eq!(r.dataset.omics_types, ["Clinical trial"]);
        assert!(r.dataset.full_dataset_link.is_some());
        assert!(r.raw.starts_with('{') && r.raw.ends_with('}'));
    }
    assert_eq!(
        per_repo,
        BTreeMap::from([
            ("clinicaltrials", 8),
            ("ctis", 4),
            ("euctr", 4),
            ("isrctn", 9)
        ])
    );
    // The only loose finding is ctrdata's query-history row on line 3.
    let loose = loose_diagnostics(&items);
    assert_eq!(loose.len(), 1);
    assert_eq!(loose[0].code, "not-a-trial");
    assert_eq!(loose[0].severity, Severity::Warning);
    assert_eq!(loose[0].location.line, Some(3));

    // Classic record: the EudraCT number among the secondary ids links the two registries.
    let harmony = by_accession(&recs, "NCT03325556");
    assert_eq!(harmony.location.line, Some(7));
    assert_eq!(harmony.dataset.secondary_accessions, ["2017-002227-13"]);
    assert!(harmony
        .dataset
        .cross_refs
        .iter()
        .any(|c| c.database == "euctr" && c.key == "2017-002227-13"));
    assert_eq!(harmony.dataset.additional["enrollment"], ["392"]);
    assert_eq!(harmony.dataset.additional["phase"], ["Phase 3"]);
    assert!(harmony
        .dataset
        .submitter_keywords
        .iter()
        .any(|k| k == "Dementia associated with Parkinson's disease"));

    // API v2 record: references with PMIDs, MeSH terms with ids, the investigator.
    let v2 = by_accession(&recs, "NCT00567567");
    let pmids: Vec<_> = v2
        .dataset
        .publications
        .iter()
        .filter_map(|p| p.pmid.as_deref())
        .collect();
    assert_eq!(pmids, ["40036726", "32530765", "31454045"]);
    assert!(v2
        .dataset
        .diseases
        .iter()
        .any(|t| t.label == "Neuroblastoma" && t.id.as_deref() == Some("MESH:D009447")));
    assert_eq!(v2.dataset.people[0].name, "Julie R Park");
    assert_eq!(
        v2.dataset.people[0].affiliation.as_deref(),
        Some("Children's Oncology Group")
    );
    assert_eq!(v2.dataset.additional["enrollment"], ["665"]);
    assert_eq!(
        v2.dataset.main_date().map(|d| d.to_string()).as_deref(),
        Some("2007-12-05")
    );

    // EU CTR names the NCT id of the same trial.
    let euctr = by_accession(&recs, "2019-002663-10");
    assert_eq!(euctr.dataset.secondary_accessions, ["NCT04089566"]);
    assert_eq!(euctr.dataset.additional["phase"], ["Phase II", "Phase III"]);
    // CTIS (both generations of its JSON) names the transitioned EudraCT number.
    let ctis_old = by_accession(&recs, "2023-508143-51-01");
    assert_eq!(ctis_old.dataset.secondary_accessions, ["2021-004994-30"]);
    let ctis_new = by_accession(&recs, "2024-510663-34-00");
    assert_eq!(
        ctis_new.dataset.secondary_accessions,
        ["2019-001588-63", "NCT04494412"]
    );
    // CTIS writes dd/mm/yyyy dates.
    assert!(ctis_new.dataset.dates.iter().any(|d| d.raw == "15/09/2025"
        && d.value.map(|v| v.to_string()).as_deref() == Some("2025-09-15")));
    let isrctn = by_accession(&recs, "ISRCTN96912679");
    assert!(isrctn
        .dataset
        .cross_refs
        .iter()
        .any(|c| c.database == "DOI" && c.key == "10.1186/ISRCTN96912679"));

    // One record of each shape, in full.
    let golden: Vec<_> = [
        "2023-508143-51-01",
        "2024-510663-34-00",
        "2019-002663-10",
        "NCT03325556",
        "NCT00567567",
        "ISRCTN96912679",
    ]
    .iter()
    .map(|a| &by_accession(&recs, a).dataset)
    .collect();
    insta::assert_json_snapshot!("ctrdata_demo_one_per_shape", golden);
}

#[test]
fn trialgpt_corpus() {
    let Some((items, reports)) = read("clinical-trials/trialgpt-testfile") else {
        return;
    };
    // The query set beside the corpus is not a trial file and is left alone.
    let skipped: Vec<_> = reports.iter().filter(|r| r.skipped.is_some()).collect();
    assert_eq!(skipped.len(), 1);
    assert!(skipped[0].name.ends_with("queries.jsonl"));
    let recs = records(&items);
    assert_eq!(recs.len(), 50);
    assert!(loose_diagnostics(&items).is_empty());
    let mut accs: Vec<_> = recs.iter().map(|r| r.dataset.accession.as_str()).collect();
    accs.sort();
    accs.dedup();
    assert_eq!(accs.len(), 50);
    for r in &recs {
        assert_eq!(r.dataset.repository, "clinicaltrials");
        assert!(r.dataset.accession.starts_with("NCT"));
        assert!(r.diagnostics.is_empty());
        assert!(!r.dataset.title.is_empty());
    }
    let first = by_accession(&recs, "NCT00995306");
    assert_eq!(first.location.line, Some(1));
    insta::assert_json_snapshot!("trialgpt_first", first.dataset);
}

#[test]
fn broken_line_is_reported_and_the_rest_goes_in() {
    let text = concat!(
        r#"{"_id": "NCT00000001", "title": "First trial", "text": "Summary: one."}"#,
        "\n",
        r#"{"_id": "NCT00000002", "title": "Broken trial", "text": "#,
        "\n\n",
        r#"{"_id": "NCT00000003", "title": "Third trial", "text": "Summary: three."}"#,
        "\n",
        r#""not a record""#,
        "\n",
    );
    let items = parse_str(text);
    let recs = records(&items);
    let accs: Vec<_> = recs.iter().map(|r| r.dataset.accession.as_str()).collect();
    assert_eq!(accs, ["NCT00000001", "NCT00000003"]);
    assert_eq!(recs[1].location.line, Some(4));
    let loose = loose_diagnostics(&items);
    assert_eq!(loose.len(), 2);
    assert_eq!(loose[0].code, "json-syntax");
    assert_eq!(loose[0].severity, Severity::Error);
    assert_eq!(loose[0].location.line, Some(2));
    assert_eq!(loose[0].location.file, "fixture.jsonl");
    assert!(loose[0].message.contains("line 2"), "{}", loose[0].message);
    // A line that is JSON but no trial record: a warning, not silence.
    assert_eq!(loose[1].code, "unknown-record-shape");
    assert_eq!(loose[1].location.line, Some(5));
}

const V2_DOC: &str = r#"{
  "protocolSection": {
    "identificationModule": {
      "nctId": "NCT09999991",
      "orgStudyIdInfo": {"id": "OPENDI-01"},
      "secondaryIdInfos": [{"id": "2024-000001-11", "type": "EUDRACT_NUMBER"}],
      "briefTitle": "A fixture trial of vitamin D in asthma",
      "officialTitle": "A randomised fixture trial"
    },
    "statusModule": {
      "overallStatus": "RECRUITING",
      "studyFirstSubmitDate": "2024-02-01",
      "studyFirstPostDateStruct": {"date": "2024-02-05", "type": "ACTUAL"},
      "lastUpdatePostDateStruct": {"date": "2024-03", "type": "ACTUAL"}
    },
    "descriptionModule": {"briefSummary": "Does vitamin D help?"},
    "conditionsModule": {"conditions": ["Asthma"]},
    "designModule": {"phases": ["PHASE2"], "enrollmentInfo": {"count": 40}}
  }
}
"#;

#[test]
fn single_v2_document() {
    let items = parse_str(V2_DOC);
    let recs = records(&items);
    assert_eq!(recs.len(), 1);
    let r = recs[0];
    assert_eq!(r.raw, V2_DOC.trim_end());
    assert_eq!(r.location.line, Some(1));
    assert_eq!(r.dataset.accession, "NCT09999991");
    assert_eq!(r.dataset.secondary_accessions, ["2024-000001-11"]);
    assert_eq!(r.dataset.additional["phase"], ["PHASE2"]);
    assert_eq!(r.dataset.additional["enrollment"], ["40"]);
    assert_eq!(r.dataset.diseases[0].label, "Asthma");
    assert!(r.diagnostics.is_empty());
}

#[test]
fn api_envelopes_and_classic_document() {
    let envelope = format!(
        "{{\"studies\": [\n{V2_DOC},\n{}\n], \"nextPageToken\": null}}",
        V2_DOC.replace("NCT09999991", "NCT09999992")
    );
    let items = parse_str(&envelope);
    let recs = records(&items);
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[0].location.line, Some(2));
    assert_eq!(recs[1].dataset.accession, "NCT09999992");
    assert!(recs[1].location.line > Some(20));

    let classic = r##"{"clinical_study": {
  "id_info": {"org_study_id": "X-1", "secondary_id": ["ISRCTN12345678", "Grant 7"], "nct_id": "NCT09999993"},
  "brief_title": "Classic fixture &amp; friends",
  "brief_summary": {"textblock": "\n      Line one\r\n      continues.\n    "},
  "condition": "Malaria",
  "phase": "Phase 1",
  "enrollment": {"#text": "12", "@attributes": {"type": "Actual"}},
  "study_first_posted": "January 5, 2020",
  "overall_official": {"first_name": "Ada", "last_name": "Lovelace", "role": "Principal Investigator", "affiliation": "Analytical Engine Hospital"},
  "reference": [{"citation": "Lovelace A. Notes. 1843.", "PMID": "12345"}]
}}"##;
    let items = parse_str(classic);
    let recs = records(&items);
    assert_eq!(recs.len(), 1);
    let d = &recs[0].dataset;
    assert_eq!(d.accession, "NCT09999993");
    assert_eq!(d.title, "Classic fixture & friends");
    assert_eq!(d.description, "Line one continues.");
    assert_eq!(d.secondary_accessions, ["ISRCTN12345678"]);
    assert_eq!(d.additional["secondary_id"], ["Grant 7"]);
    assert_eq!(d.additional["enrollment"], ["12"]);
    assert_eq!(d.people[0].name, "Ada Lovelace");
    assert_eq!(d.publications[0].pmid.as_deref(), Some("12345"));
    assert_eq!(
        d.main_date().map(|x| x.to_string()).as_deref(),
        Some("2020-01-05")
    );

    let api = r#"{"FullStudiesResponse": {"NStudiesFound": 1, "FullStudies": [{"Rank": 1, "Study": {
  "ProtocolSection": {
    "IdentificationModule": {"NCTId": "NCT09999994", "BriefTitle": "Classic API fixture"},
    "StatusModule": {"OverallStatus": "Completed", "StudyFirstPostDateStruct": {"StudyFirstPostDate": "March 3, 2019"}},
    "ConditionsModule": {"ConditionList": {"Condition": ["Gout"]}},
    "ReferencesModule": {"ReferenceList": {"Reference": [{"ReferencePMID": "999", "ReferenceCitation": "Gout paper."}]}}
  }}}]}}"#;
    let items = parse_str(api);
    let recs = records(&items);
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].dataset.accession, "NCT09999994");
    assert_eq!(recs[0].dataset.diseases[0].label, "Gout");
    assert_eq!(recs[0].dataset.publications[0].pmid.as_deref(), Some("999"));
    assert_eq!(recs[0].location.line, Some(1));
}

#[test]
fn broken_document_and_missing_id() {
    let items =
        parse_str("{\n  \"protocolSection\": {\n    \"identificationModule\": {\n  oops\n}\n");
    assert!(records(&items).is_empty());
    let loose = loose_diagnostics(&items);
    assert_eq!(loose.len(), 1);
    assert_eq!(loose[0].code, "json-syntax");
    assert_eq!(loose[0].location.line, Some(4));

    let items = parse_str(
        "{\"protocolSection\": {\"identificationModule\": {\"briefTitle\": \"No id\"}}}\n",
    );
    let recs = records(&items);
    assert_eq!(recs.len(), 1);
    assert!(recs[0].has_errors());
    assert_eq!(recs[0].diagnostics[0].code, "missing-id");
    assert_eq!(recs[0].dataset.accession, "clinicaltrials-entry-1");
}
