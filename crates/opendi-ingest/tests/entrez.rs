//! NCBI Entrez files: the PubMed XML efetch results go through the PubMed XML reader (golden
//! snapshots); BioSample, Taxonomy and Cellosaurus files are not dataset records and must not
//! be mistaken for a supported format.

mod lit_support;

use lit_support::{read, records, snapshot};
use opendi_model::{DateKind, Item, PartialDate};

#[test]
fn pubmed_xml_files_golden() {
    let expect: [(&str, &[&str]); 7] = [
        ("entrez/Entrez/pubmed1.xml", &["12091962", "9997"]),
        ("entrez/Entrez/pubmed2.xml", &["11748933", "11700088"]),
        ("entrez/Entrez/pubmed4.xml", &["27797938"]),
        ("entrez/Entrez/pubmed5.xml", &["28775130"]),
        ("entrez/Entrez/pubmed6.xml", &["30108519"]),
        ("entrez/Entrez/pubmed7.xml", &["29963580"]),
        ("pubmed/pubmed-29768149.xml", &["29768149"]),
    ];
    for (file, pmids) in expect {
        let Some(path) = opendi_corpora::corpus(file) else {
            return;
        };
        let (items, reports) = read(&path);
        assert_eq!(reports[0].format, Some("pubmed-xml"), "{file}");
        let recs = records(&items);
        let got: Vec<&str> = recs.iter().map(|r| r.dataset.accession.as_str()).collect();
        assert_eq!(got, pmids, "{file}");
        assert_eq!(items.len(), recs.len(), "{file}");
        for r in &recs {
            assert!(r.diagnostics.is_empty(), "{file}: {:?}", r.diagnostics);
            assert!(!r.dataset.title.is_empty(), "{file}");
            assert!(r.dataset.main_date().is_some(), "{file}");
        }
        let name = file.rsplit('/').next().unwrap();
        insta::assert_json_snapshot!(format!("entrez-{name}"), snapshot(&items));
    }
}

#[test]
fn pubmed_xml_details() {
    let Some(path) = opendi_corpora::corpus("entrez/Entrez/pubmed7.xml") else {
        return;
    };
    let (items, _) = read(&path);
    let d = &records(&items)[0].dataset;
    // ORCIDs and every affiliation of an author are kept.
    let capaldi = d.people.iter().find(|p| p.name == "Capaldi D").unwrap();
    assert_eq!(capaldi.orcid.as_deref(), Some("0000-0002-4590-7461"));
    assert!(capaldi.affiliation.as_deref().unwrap().contains("; "));
    assert!(d
        .people
        .iter()
        .any(|p| p.name == "Canadian Respiratory Research Network"));
    // Numeric months are read as months, not dropped.
    let revised = d
        .dates
        .iter()
        .find(|x| x.kind == DateKind::Updated)
        .unwrap();
    assert_eq!(revised.value.and_then(|v| v.month), Some(11));

    let Some(path) = opendi_corpora::corpus("entrez/Entrez/pubmed1.xml") else {
        return;
    };
    let (items, _) = read(&path);
    let d = &records(&items)[0].dataset;
    let pubdate = d
        .dates
        .iter()
        .find(|x| x.kind == DateKind::Publication)
        .unwrap();
    assert_eq!(pubdate.raw, "1990 Spring");
    assert_eq!(pubdate.value, PartialDate::parse("1990"));
    let completed = d
        .dates
        .iter()
        .find(|x| x.kind == DateKind::Creation)
        .unwrap();
    assert_eq!(completed.value, PartialDate::ymd(1991, 1, 22));

    let Some(path) = opendi_corpora::corpus("pubmed/pubmed-29768149.xml") else {
        return;
    };
    let (items, _) = read(&path);
    let d = &records(&items)[0].dataset;
    assert!(d
        .cross_refs
        .iter()
        .any(|c| c.database == "ClinicalTrials.gov"));
    assert!(d.description.starts_with("<h4>BACKGROUND</h4>"));
}

#[test]
fn non_dataset_files_are_not_recognised() {
    for file in [
        "entrez/Entrez/biosample.xml",
        "entrez/Entrez/taxonomy.xml",
        "entrez/Cellosaurus/cell_lines_1.txt",
        "entrez/Cellosaurus/cell_lines_2.txt",
        "entrez/Cellosaurus/cell_lines_3.txt",
    ] {
        let Some(path) = opendi_corpora::corpus(file) else {
            return;
        };
        let (items, reports) = read(&path);
        assert!(items.is_empty(), "{file}: {items:?}");
        assert_eq!(reports.len(), 1);
        assert_eq!(reports[0].format, None, "{file}");
        assert_eq!(
            reports[0].skipped.as_deref(),
            Some("format not recognised"),
            "{file}"
        );
    }
    // Nothing else in the Entrez folders trips an error either.
    let Some(dir) = opendi_corpora::corpus("entrez") else {
        return;
    };
    let (items, reports) = read(&dir);
    assert!(reports.iter().all(|r| r.error.is_none()));
    assert!(
        !items.iter().any(|i| matches!(i, Item::Diagnostic(_))),
        "{items:?}"
    );
}

/// The PubMed XML reader's changes for the Entrez files (ORCIDs, all affiliations, numeric
/// months, escaped plain-text abstracts) keep the baseline file whole: 30,000 clean citations.
#[test]
fn pubmed_baseline_still_reads() {
    let Some(path) = opendi_corpora::corpus("pubmed/pubmed20n0014.xml.gz") else {
        return;
    };
    let (items, reports) = read(&path);
    assert_eq!(reports[0].format, Some("pubmed-xml"));
    let recs = records(&items);
    assert_eq!(recs.len(), 30_000);
    assert!(recs.iter().all(|r| !r.has_errors()));
    assert!(recs.iter().all(|r| r.dataset.main_date().is_some()));
    // DateCompleted is written with numeric months: it must be read to the day.
    let completed = recs
        .iter()
        .filter_map(|r| {
            r.dataset
                .dates
                .iter()
                .find(|d| d.kind == DateKind::Creation)
        })
        .filter(|d| d.value.and_then(|v| v.day).is_some())
        .count();
    assert!(completed > 25_000, "{completed}");
}
