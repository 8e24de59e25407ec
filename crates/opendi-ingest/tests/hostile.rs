//! Hostile XML: entity bombs, external entities, extreme nesting, oversized records, NUL
//! bytes and invalid UTF-8. Each gives a diagnostic with its location and the record after it
//! still goes in; nothing is expanded, fetched or read from the file system.

use opendi_ingest::{read_all, source::expand};
use opendi_model::{Item, PartialDate};

fn entry(i: usize, extra: &str) -> String {
    format!(
        r#"<entry id="E{i}"><name>Title {i} {extra}</name><description>Record {i}, written for the hostile input tests.</description>
<dates><date type="publication" value="2020-01-01"/></dates><additional_fields><field name="repository">pride</field>
<field name="omics_type">Proteomics</field><field name="full_dataset_link">https://example.org/{i}</field>
<field name="submitter">A Tester</field></additional_fields></entry>
"#
    )
}

fn file(prolog: &str, first: &str) -> Vec<u8> {
    format!(
        "<?xml version=\"1.0\"?>\n{prolog}<database><name>PRIDE</name><entries>\n{}{}</entries></database>\n",
        entry(1, first),
        entry(2, "")
    )
    .into_bytes()
}

/// Ingests `bytes` as a file; returns (accession, title) per record and every diagnostic as
/// "code@line: message".
fn ingest(bytes: &[u8]) -> (Vec<(String, String)>, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hostile.xml");
    std::fs::write(&path, bytes).unwrap();
    let (items, _) = read_all(
        &expand(&[path.display().to_string()]).unwrap(),
        PartialDate::ymd(2026, 1, 1).unwrap(),
    );
    let mut records = Vec::new();
    let mut diags = Vec::new();
    for it in items {
        match it {
            Item::Record(r) => {
                for d in &r.diagnostics {
                    diags.push(format!(
                        "{}@{}: {}",
                        d.code,
                        d.location.line.unwrap_or(0),
                        d.message
                    ));
                }
                records.push((r.dataset.accession.clone(), r.dataset.title.clone()));
            }
            Item::Diagnostic(d) => diags.push(format!(
                "{}@{}: {}",
                d.code,
                d.location.line.unwrap_or(0),
                d.message
            )),
            Item::Delete { .. } => {}
        }
    }
    (records, diags)
}

fn both_records_in(records: &[(String, String)]) {
    let accs: Vec<&str> = records.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(accs, ["E1", "E2"], "{records:?}");
}

#[test]
fn entity_bombs_are_not_expanded() {
    let lol = r#"<!DOCTYPE database [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;"><!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;"><!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;"><!ENTITY h "&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;"><!ENTITY i "&h;&h;&h;&h;&h;&h;&h;&h;&h;&h;">]>
"#;
    let (records, diags) = ingest(&file(lol, "&i;"));
    both_records_in(&records);
    assert!(
        records[0].1.len() < 100,
        "expanded: {} bytes",
        records[0].1.len()
    );
    assert!(diags.iter().any(|d| d.contains("@")), "{diags:?}");
}

#[test]
fn external_entities_are_never_resolved() {
    let xxe = "<!DOCTYPE database [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n";
    let (records, _) = ingest(&file(xxe, "&xxe;"));
    both_records_in(&records);
    assert!(!records[0].1.contains("root:"), "{}", records[0].1);
}

#[test]
fn a_million_levels_of_nesting_give_a_diagnostic() {
    let deep = format!("{}x{}", "<a>".repeat(1_000_000), "</a>".repeat(1_000_000));
    let (records, diags) = ingest(&file("", &deep));
    both_records_in(&records);
    assert!(
        diags
            .iter()
            .any(|d| d.contains("nested deeper") && d.contains("@3")),
        "{diags:?}"
    );
}

#[test]
fn an_oversized_record_is_skipped_with_its_line() {
    let big = "x".repeat(opendi_ingest::xmlsplit::MAX_RECORD + 1);
    let (records, diags) = ingest(&file("", &big));
    let accs: Vec<&str> = records.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(accs, ["E2"]);
    assert!(diags.iter().any(|d| d.contains("@3")), "{diags:?}");
}

#[test]
fn nul_bytes_and_invalid_utf8_are_reported_and_the_rest_goes_in() {
    let mut bytes = file("", "A\u{0}B");
    let (records, diags) = ingest(&bytes);
    both_records_in(&records);
    assert!(!records[0].1.contains('\u{0}'));
    assert!(
        diags.iter().any(|d| d.contains("NUL") && d.contains("@3")),
        "{diags:?}"
    );

    bytes = file("", "ZZ");
    let at = bytes.windows(2).position(|w| w == b"ZZ").unwrap();
    bytes[at] = 0xff;
    bytes[at + 1] = 0xfe;
    let (records, diags) = ingest(&bytes);
    both_records_in(&records);
    assert!(
        diags.iter().any(|d| d.starts_with("invalid-utf8@")),
        "{diags:?}"
    );
}
