//! ISA-Tab golden tests on the real corpora (MetaboLights, Scientific Data zips, BII) and
//! diagnostics on broken investigations written here.

use opendi_ingest::{isatab, ParseContext};
use opendi_model::{Dataset, Item, PartialDate, Severity, SourceRecord};
use std::collections::BTreeSet;
use std::path::Path;

fn today() -> PartialDate {
    PartialDate::ymd(2026, 1, 1).expect("date")
}

/// Reads a corpus folder or file with auto-detection; returns records and stray diagnostics.
fn read(path: &Path) -> (Vec<SourceRecord>, Vec<String>) {
    let inputs = opendi_ingest::source::expand(&[path.display().to_string()]).expect("expand");
    let (items, _) = opendi_ingest::read_all(&inputs, today());
    let mut records = Vec::new();
    let mut other = Vec::new();
    for it in items {
        match it {
            Item::Record(r) => records.push(*r),
            Item::Diagnostic(d) => other.push(d.code),
            Item::Delete { .. } => other.push("delete".into()),
        }
    }
    (records, other)
}

fn codes(r: &SourceRecord) -> Vec<&str> {
    r.diagnostics.iter().map(|d| d.code.as_str()).collect()
}

/// One line per record: what the facets and lists hold, for corpus-wide snapshots.
fn summary(r: &SourceRecord) -> String {
    let d = &r.dataset;
    let orgs: Vec<String> = d
        .organisms
        .iter()
        .map(|o| format!("{}={}", o.name, o.taxon_id.as_deref().unwrap_or("?")))
        .collect();
    let terms = |t: &[opendi_model::Term]| {
        t.iter()
            .map(|t| match &t.id {
                Some(id) => format!("{} {id}", t.label),
                None => t.label.clone(),
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    format!(
        "{} | orgs [{}] | tissues [{}] | diseases [{}] | omics {:?} | people {} | pubs {} | files {} | xrefs {} | diags {:?}",
        d.accession,
        orgs.join("; "),
        terms(&d.tissues),
        terms(&d.diseases),
        d.omics_types,
        d.people.len(),
        d.publications.len(),
        d.files.len(),
        d.cross_refs.len(),
        codes(r),
    )
}

fn find<'a>(records: &'a [SourceRecord], acc: &str) -> &'a SourceRecord {
    records
        .iter()
        .find(|r| r.dataset.accession == acc)
        .unwrap_or_else(|| panic!("no record {acc}"))
}

#[test]
fn metabolights_studies() {
    let Some(p) = opendi_corpora::corpus("isa-tab/metabolights") else {
        return;
    };
    let (records, other) = read(&p);
    // The search-API JSON beside the studies is not ISA-Tab and is left alone.
    assert!(other.is_empty(), "{other:?}");
    assert_eq!(records.len(), 16);
    let accs: BTreeSet<&str> = records
        .iter()
        .map(|r| r.dataset.accession.as_str())
        .collect();
    assert_eq!(accs.len(), 16);
    for r in &records {
        assert_eq!(r.format, "isa-tab");
        assert_eq!(r.dataset.repository, "metabolights_dataset");
        assert!(r.dataset.accession.starts_with("MTBLS"));
        assert!(!r.dataset.title.is_empty(), "{}", r.dataset.accession);
        assert_eq!(r.dataset.omics_types, vec!["Metabolomics"]);
        assert!(!r.has_errors(), "{:?}", r.diagnostics);
        assert!(r.raw.starts_with("ONTOLOGY SOURCE REFERENCE"));
    }

    let m1 = find(&records, "MTBLS1");
    let d = &m1.dataset;
    assert_eq!(
        d.title,
        "A metabolomic study of urinary changes in type 2 diabetes in human compared to the control group"
    );
    assert_eq!(d.organisms.len(), 1);
    assert_eq!(d.organisms[0].taxon_id.as_deref(), Some("9606"));
    assert_eq!(d.tissues[0].id.as_deref(), Some("BTO:0001419"));
    assert_eq!(d.publications[0].pmid.as_deref(), Some("17190852"));
    assert_eq!(d.people[0].email.as_deref(), Some("rms72@cam.ac.uk"));
    assert_eq!(m1.location.line, Some(35));
    assert_eq!(
        d.main_date().map(|x| x.to_string()).as_deref(),
        Some("2012-02-14")
    );

    // Real gaps in the corpus: MTBLS453 lacks its study file, MTBLS373 its assay file.
    assert!(codes(find(&records, "MTBLS453")).contains(&"missing-study-file"));
    assert!(codes(find(&records, "MTBLS373")).contains(&"missing-assay-file"));
    // Organism given as "Homo sapiens;Plasmodium vivax;Plasmodium falciparum".
    let m664 = &find(&records, "MTBLS664").dataset;
    assert_eq!(m664.organisms.len(), 3);
    // Diseases come from Factor Value[Disease].
    assert_eq!(find(&records, "MTBLS4861").dataset.diseases.len(), 4);
    // MTBLS66 lists 8,000+ data files: the list is capped and says so.
    let m66 = find(&records, "MTBLS66");
    assert_eq!(m66.dataset.files.len(), isatab::MAX_FILES);
    assert!(codes(m66).contains(&"values-capped"));

    let mut lines: Vec<String> = records.iter().map(summary).collect();
    lines.sort();
    insta::assert_json_snapshot!("metabolights_summary", lines);
    insta::assert_json_snapshot!("metabolights_MTBLS1", d);
    insta::assert_json_snapshot!(
        "metabolights_MTBLS2075",
        find(&records, "MTBLS2075").dataset
    );
}

#[test]
fn scientific_data_zips() {
    let Some(p) = opendi_corpora::corpus("isa-tab/scientific-data/records") else {
        return;
    };
    let (records, other) = read(&p);
    assert!(other.is_empty(), "{other:?}");
    // 119 archives; ten of them also carry another descriptor's archive inside, read as well.
    assert_eq!(records.len(), 129);
    let accs: BTreeSet<&str> = records
        .iter()
        .map(|r| r.dataset.accession.as_str())
        .collect();
    assert_eq!(accs.len(), 119);
    for r in &records {
        let d = &r.dataset;
        assert_eq!(d.repository, "scientific_data");
        assert!(d.accession.starts_with("10.1038/sdata."), "{}", d.accession);
        assert!(!d.title.is_empty());
        assert!(d.full_dataset_link.is_some());
        assert!(!r.has_errors(), "{} {:?}", d.accession, r.diagnostics);
        assert!(r.location.file.contains(".zip!"));
        // dd/mm/yyyy dates are read.
        assert!(d.dates.iter().all(|x| x.value.is_some()), "{:?}", d.dates);
    }
    let with_taxon = records
        .iter()
        .filter(|r| r.dataset.organisms.iter().any(|o| o.taxon_id.is_some()))
        .count();
    assert!(with_taxon > 60, "{with_taxon}");

    let first = &find(&records, "10.1038/sdata.2014.1").dataset;
    assert_eq!(
        first.title,
        "Global integrated drought monitoring and prediction system"
    );
    assert_eq!(first.dates[0].raw, "12/11/2013");
    assert_eq!(
        first.dates[0].value.map(|x| x.to_string()).as_deref(),
        Some("2013-11-12")
    );
    assert_eq!(
        first.full_dataset_link.as_deref(),
        Some("http://www.nature.com/articles/sdata20141")
    );
    assert!(first
        .cross_refs
        .iter()
        .any(|c| c.database == "figshare" && c.key == "doi:10.6084/m9.figshare.853801"));
    let rnaseq = &find(&records, "10.1038/sdata.2014.20").dataset;
    assert_eq!(rnaseq.omics_types, vec!["Transcriptomics"]);
    assert!(rnaseq
        .cross_refs
        .iter()
        .any(|c| c.database == "geo" && c.key == "GSE47774"));

    let mut lines: Vec<String> = records.iter().map(summary).collect();
    lines.sort();
    lines.dedup();
    insta::assert_json_snapshot!("sdata_summary", lines);
    insta::assert_json_snapshot!("sdata_2014_1", first);
    insta::assert_json_snapshot!(
        "sdata_2014_3",
        find(&records, "10.1038/sdata.2014.3").dataset
    );
}

#[test]
fn bii_studies() {
    let Some(p) = opendi_corpora::corpus("isa-tab/bii/tab") else {
        return;
    };
    let (records, other) = read(&p);
    assert!(other.is_empty(), "{other:?}");
    // BII-I-1 holds two studies; BII-S-7's investigation ends its lines with bare CRs.
    let accs: Vec<&str> = records
        .iter()
        .map(|r| r.dataset.accession.as_str())
        .collect();
    assert_eq!(
        accs,
        vec!["BII-S-1", "BII-S-2", "BII-S-3", "BII-S-4", "BII-S-5", "BII-S-6", "BII-S-7"]
    );
    for r in &records {
        assert_eq!(r.dataset.repository, "bii");
        assert!(!r.has_errors(), "{:?}", r.diagnostics);
    }
    let s1 = &records[0].dataset;
    assert_eq!(
        s1.omics_types,
        vec!["Proteomics", "Metabolomics", "Transcriptomics"]
    );
    // Investigation contacts and publications apply to both studies of BII-I-1.
    assert_eq!(records[1].dataset.people.len(), s1.people.len());
    // NEWT accession "10116" and BTO "759" (unpadded) are normalized.
    let s6 = &records[5].dataset;
    assert_eq!(s6.organisms[0].taxon_id.as_deref(), Some("10116"));
    assert_eq!(s6.tissues[0].id.as_deref(), Some("BTO:0000759"));

    let lines: Vec<String> = records.iter().map(summary).collect();
    insta::assert_json_snapshot!("bii_summary", lines);
    insta::assert_json_snapshot!("bii_BII-S-3", records[2].dataset);
}

const BROKEN_INVESTIGATION: &str = "INVESTIGATION
Investigation Identifier\tMTBLS90001
Investigation Title\tTwo studies, both damaged
STUDY
Study Identifier\tMTBLS90001
Study Title\tStudy whose assay table went missing
Study Public Release Date\t2031-05-01
Study File Name\ts_present.txt
STUDY ASSAYS
Study Assay File Name\ta_absent.txt
Study Assay Measurement Type\tmetabolite profiling
STUDY CONTACTS
Study Person Last Name\tOne\tTwo
Study Person First Name\tAda\tBob
Study Person Email\ta@example.org\tb@example.org\tstray@example.org
STUDY
Study Title\tStudy without identifier
Study Submission Date\tsometime in spring
Study File Name\ts_gone.txt
Study Description\t\"starts quoted and never ends
";

const PRESENT_SAMPLES: &str = "Source Name\tCharacteristics[Organism]\tTerm Source REF\tTerm Accession Number\tCharacteristics[Organism part]\tTerm Source REF\tTerm Accession Number\tProtocol REF\tSample Name
src1\tMus musculus\tNCBITAXON\thttp://purl.obolibrary.org/obo/NCBITaxon_10090\tliver\tUBERON\tUBERON_0002107\tSample collection\ts1
src2\tMus musculus\tNCBITAXON\thttp://purl.obolibrary.org/obo/NCBITaxon_10090\tliver\tUBERON\tUBERON_0002107\tSample collection\ts2\textra cell
";

fn parse_fixture(text: &str) -> Vec<Item> {
    let siblings =
        |name: &str| (name == "s_present.txt").then(|| PRESENT_SAMPLES.as_bytes().to_vec());
    let ctx = ParseContext {
        file: "fixture/i_broken.txt",
        today: today(),
        siblings: &siblings,
    };
    let mut items = Vec::new();
    let mut reader = text.as_bytes();
    isatab::parse(&mut reader, &ctx, &mut |i| items.push(i)).expect("parse");
    items
}

#[test]
fn broken_investigation_diagnostics() {
    let items = parse_fixture(BROKEN_INVESTIGATION);
    let records: Vec<&SourceRecord> = items
        .iter()
        .filter_map(|i| match i {
            Item::Record(r) => Some(r.as_ref()),
            _ => None,
        })
        .collect();
    assert_eq!(records.len(), 2, "both studies still go in");

    let first = records[0];
    let d: &Dataset = &first.dataset;
    assert_eq!(d.accession, "MTBLS90001");
    assert_eq!(d.organisms[0].taxon_id.as_deref(), Some("10090"));
    assert_eq!(d.tissues[0].id.as_deref(), Some("UBERON:0002107"));
    assert_eq!(
        d.people.len(),
        3,
        "the stray email is kept as a third contact"
    );
    let c = codes(first);
    for expected in [
        "missing-assay-file",
        "ragged-row",
        "future-date",
        "unclosed-quote",
    ] {
        assert!(c.contains(&expected), "{expected} not in {c:?}");
    }
    let ragged: Vec<_> = first
        .diagnostics
        .iter()
        .filter(|x| x.code == "ragged-row")
        .collect();
    // One for the contacts row in the investigation, one for the sample table row.
    assert_eq!(ragged.len(), 2, "{ragged:?}");
    assert_eq!(ragged[0].location.line, Some(15));
    assert_eq!(ragged[1].location.file, "fixture/s_present.txt");
    assert_eq!(ragged[1].location.line, Some(3));
    let missing = first
        .diagnostics
        .iter()
        .find(|x| x.code == "missing-assay-file")
        .expect("missing assay");
    assert_eq!(missing.severity, Severity::Warning);
    assert!(missing.message.contains("a_absent.txt"));
    assert_eq!(missing.location.record.as_deref(), Some("MTBLS90001"));

    let second = records[1];
    let c = codes(second);
    for expected in ["missing-study-identifier", "missing-study-file", "bad-date"] {
        assert!(c.contains(&expected), "{expected} not in {c:?}");
    }
    assert!(second.has_errors());
    assert_eq!(second.dataset.accession, "MTBLS90001-study-2");
    assert_eq!(second.location.record.as_deref(), Some("#2"));
    assert_eq!(second.dataset.dates[0].raw, "sometime in spring");
    assert_eq!(second.dataset.dates[0].value, None);
    // The unclosed quote is read as a character rather than swallowing the file.
    assert!(second.dataset.description.starts_with("\"starts quoted"));
}

#[test]
fn investigation_without_study() {
    let items = parse_fixture("INVESTIGATION\nInvestigation Identifier\tX\n");
    assert_eq!(items.len(), 1);
    match &items[0] {
        Item::Diagnostic(d) => {
            assert_eq!(d.code, "no-study");
            assert_eq!(d.severity, Severity::Error);
        }
        other => panic!("expected a diagnostic, got {other:?}"),
    }
}

#[test]
fn garbage_never_panics() {
    for text in [
        "",
        "\"",
        "STUDY\n\"",
        "STUDY\nStudy Identifier\t\"a\"\"\nStudy File Name\ts_present.txt",
        "STUDY\r\rStudy Identifier\tÄ\u{0}\t\"\r",
        "INVESTIGATION\tSTUDY\nSTUDY ASSAYS\nStudy Assay File Name\t\t\t\ts_present.txt",
    ] {
        let _ = parse_fixture(text);
    }
}
