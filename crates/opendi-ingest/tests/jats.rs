//! PMC JATS articles: golden snapshots of the eight open-access articles and the efetch
//! `pmc-articleset`, plus small fixtures for what those files do not show (data-availability
//! statements, ORCIDs, several articles in one set, broken input).

mod lit_support;

use lit_support::{read, records, snapshot, today};
use opendi_ingest::{format_by_name, parse_bytes};
use opendi_model::{CrossRef, DateKind, Evidence, Item, PartialDate, PersonRole, Severity};

const ARTICLES: [(&str, &str, &str); 8] = [
    ("1471-2180-11-174.nxml", "S-EPMC3166277", "21810267"),
    ("1472-6831-8-11.nxml", "S-EPMC2329613", "18405359"),
    ("6605965a.nxml", "S-EPMC2994229", "21045829"),
    ("ehp-116-1694.nxml", "S-EPMC2599765", "19079722"),
    ("mds526.nxml", "S-EPMC3574550", "23149571"),
    ("pntd.0002065.nxml", "S-EPMC3585041", "23469300"),
    ("pone.0000217.nxml", "S-EPMC1790863", "17299597"),
    ("pone.0046493.nxml", "S-EPMC3460867", "23029536"),
];

#[test]
fn real_articles_golden() {
    for (file, accession, pmid) in ARTICLES {
        let Some(path) = opendi_corpora::corpus(&format!("pmc-jats/{file}")) else {
            return;
        };
        let (items, reports) = read(&path);
        assert_eq!(reports.len(), 1);
        assert_eq!(reports[0].format, Some("pmc-jats"), "{file}");
        let recs = records(&items);
        assert_eq!(recs.len(), 1, "{file}");
        assert_eq!(items.len(), 1, "{file}: no stray diagnostics");
        let r = recs[0];
        let d = &r.dataset;
        assert_eq!(d.repository, "biostudies-literature");
        assert_eq!(d.accession, accession);
        assert_eq!(d.omics_types, vec!["Unknown"]);
        assert!(d.secondary_accessions.contains(&pmid.to_string()));
        assert!(d
            .secondary_accessions
            .contains(&accession["S-E".len()..].to_string()));
        assert!(!d.title.is_empty() && !d.description.is_empty(), "{file}");
        assert!(!d.people.is_empty(), "{file}");
        assert!(d.main_date().is_some(), "{file}");
        assert!(r.diagnostics.is_empty(), "{file}: {:?}", r.diagnostics);
        // A one-article file keeps its whole text as the raw record.
        let whole = std::fs::read_to_string(&path).expect("read");
        assert_eq!(r.raw, whole, "{file}");
        let p = r.publication.as_ref().expect("publication");
        assert_eq!(p.pmid.as_deref(), Some(pmid));
        assert_eq!(
            d.full_dataset_link.as_deref(),
            Some(format!("https://www.ebi.ac.uk/biostudies/studies/{accession}").as_str())
        );
        insta::assert_json_snapshot!(format!("jats-{file}"), snapshot(&items));
    }
}

#[test]
fn real_article_details() {
    let Some(path) = opendi_corpora::corpus("pmc-jats/pone.0046493.nxml") else {
        return;
    };
    let (items, _) = read(&path);
    let r = records(&items)[0];
    let d = &r.dataset;
    // Inline markup in the title must not split words.
    assert!(
        d.title
            .starts_with("MmPPOX Inhibits Mycobacterium tuberculosis"),
        "{}",
        d.title
    );
    assert!(d.description.contains("<i>Mycobacterium tuberculosis</i>"));
    assert_eq!(d.people.len(), 9, "the editor is not an author");
    assert_eq!(d.people[0].name, "Delorme V");
    assert_eq!(
        d.people[0].affiliation.as_deref(),
        Some("CNRS - Aix-Marseille Université - Enzymologie Interfaciale et Physiologie de la Lipolyse - UMR 7282, Marseille, France; CNRS - UMR 7313, Ecole Centrale Marseille - Université Paul Cézanne, Equipe Chirosciences, Marseille, France")
    );
    // The corresponding author's e-mail comes through the corresp note.
    assert_eq!(d.people[8].email.as_deref(), Some("canaan@imm.cnrs.fr"));
    assert_eq!(d.additional["editor"], vec!["Manganelli R"]);
    assert_eq!(d.files.len(), 4);
    assert!(d.files[0].starts_with("https://www.ncbi.nlm.nih.gov/pmc/articles/PMC3460867/bin/"));
    let pubd = d
        .dates
        .iter()
        .find(|x| x.kind == DateKind::Publication)
        .unwrap();
    assert_eq!(pubd.value, PartialDate::ymd(2012, 9, 28));
    assert!(d.dates.iter().any(|x| x.kind == DateKind::Submission));

    // Structured abstract, keywords, licence URL, epub preferred over ppub.
    let Some(path) = opendi_corpora::corpus("pmc-jats/mds526.nxml") else {
        return;
    };
    let (items, _) = read(&path);
    let r = records(&items)[0];
    let d = &r.dataset;
    assert!(
        d.description
            .starts_with("<h4>Background</h4>Understanding"),
        "{}",
        d.description
    );
    assert!(d.description.contains("<h4>Conclusions</h4>"));
    assert_eq!(d.submitter_keywords.len(), 6);
    assert_eq!(
        d.license.as_deref(),
        Some("http://creativecommons.org/licenses/by-nc/3.0")
    );
    assert_eq!(d.main_date(), PartialDate::ymd(2012, 11, 12).as_ref());
    let p = r.publication.as_ref().unwrap();
    assert_eq!(p.pages.as_deref(), Some("843-850"));
    assert_eq!(p.journal.as_deref(), Some("Annals of Oncology"));
    assert_eq!(p.authors[1], "Abel GA");
}

#[test]
fn efetch_article_set_golden() {
    let Some(path) = opendi_corpora::corpus("entrez/Entrez/efetch_pmc.xml") else {
        return;
    };
    let (items, reports) = read(&path);
    assert_eq!(reports[0].format, Some("pmc-jats"));
    let recs = records(&items);
    assert_eq!(recs.len(), 1);
    let d = &recs[0].dataset;
    assert_eq!(d.accession, "S-EPMC8435807");
    assert_eq!(
        d.secondary_accessions,
        vec!["PMC8435807", "34527728", "10.1183/23120541.50193-2021"]
    );
    assert_eq!(
        d.license.as_deref(),
        Some("https://creativecommons.org/licenses/by-nc/4.0/")
    );
    assert!(
        recs[0].raw.starts_with("<article "),
        "in a set, the raw is the article"
    );
    assert!(recs[0].diagnostics.is_empty(), "{:?}", recs[0].diagnostics);
    insta::assert_json_snapshot!("jats-efetch_pmc", snapshot(&items));
}

const SET: &str = r#"<?xml version="1.0"?>
<pmc-articleset>
<article xmlns:xlink="http://www.w3.org/1999/xlink" article-type="research-article">
<front>
<journal-meta><journal-title-group><journal-title>Journal of Tests</journal-title></journal-title-group></journal-meta>
<article-meta>
<article-id pub-id-type="pmc">PMC100</article-id>
<article-id pub-id-type="pmid">900</article-id>
<title-group><article-title>A study with data</article-title></title-group>
<contrib-group>
<contrib contrib-type="author"><contrib-id contrib-id-type="orcid">https://orcid.org/0000-0002-1825-0097</contrib-id><name><surname>Tester</surname><given-names>Ada B.</given-names></name><email>ada@example.org</email></contrib>
<contrib contrib-type="author"><collab>The Test Consortium</collab></contrib>
<aff id="a1">Institute of Examples, Nowhere</aff>
</contrib-group>
<pub-date date-type="pub" publication-format="print"><year>2020</year><month>Mar</month></pub-date>
<pub-date date-type="pub" publication-format="electronic" iso-8601-date="2020-02-14"><day>14</day><month>02</month><year>2020</year></pub-date>
<abstract><p>Registered as NCT01234567.</p></abstract>
<abstract abstract-type="summary"><p>For everyone.</p></abstract>
</article-meta>
</front>
<body><p>See <ext-link ext-link-type="gen" xlink:href="AB123456">AB123456</ext-link>.</p></body>
<back>
<sec sec-type="data-availability"><title>Data Availability</title><p>Raw data are in GEO (GSE99999) and PRIDE (PXD012345); code at E-MTAB-42.</p></sec>
<notes><title>Availability of data and materials</title><p>Also MTBLS77 and EGAS00001000001.</p></notes>
<supplementary-material><media xlink:href="https://example.org/s1.csv"/></supplementary-material>
</back>
</article>
<article><front><article-meta><title-group><article-title>No ids</article-title></title-group></article-meta></front></article>
<article><front><article-meta><article-id pub-id-type="pmc">101</article-id><title-group><article-title>Broken <italic>tag</bold></article-title></title-group></article-meta></front></article>
</pmc-articleset>
"#;

#[test]
fn fixture_set_with_data_statements() {
    let f = format_by_name("pmc-jats").unwrap();
    assert_eq!(
        opendi_ingest::detect("set.xml", SET.as_bytes()).map(|(f, _)| f.name),
        Some("pmc-jats")
    );
    let items = parse_bytes(f, "set.xml", SET.as_bytes(), today()).unwrap();
    let recs: Vec<_> = items
        .iter()
        .filter_map(|i| match i {
            Item::Record(r) => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(recs.len(), 3, "a broken article does not stop the set");
    let d = &recs[0].dataset;
    assert_eq!(d.accession, "S-EPMC100");
    assert_eq!(recs[0].location.line, Some(3));
    let found = |db: &str, key: &str| CrossRef {
        database: db.into(),
        key: key.into(),
        evidence: Evidence::FoundInText,
    };
    for want in [
        found("geo", "GSE99999"),
        found("pride.project", "PXD012345"),
        found("arrayexpress", "E-MTAB-42"),
        found("metabolights", "MTBLS77"),
        found("ega.study", "EGAS00001000001"),
        found("clinicaltrials", "NCT01234567"),
        found("insdc", "AB123456"),
    ] {
        assert!(
            d.cross_refs.contains(&want),
            "{want:?} in {:?}",
            d.cross_refs
        );
    }
    assert_eq!(d.additional["data_availability"].len(), 2);
    assert_eq!(d.additional["abstract summary"], vec!["For everyone."]);
    assert_eq!(d.people.len(), 2);
    let ada = &d.people[0];
    assert_eq!(ada.name, "Tester AB");
    assert_eq!(ada.role, PersonRole::Author);
    assert_eq!(ada.orcid.as_deref(), Some("0000-0002-1825-0097"));
    assert_eq!(ada.email.as_deref(), Some("ada@example.org"));
    // An affiliation nobody links to belongs to the whole group.
    assert_eq!(
        ada.affiliation.as_deref(),
        Some("Institute of Examples, Nowhere")
    );
    assert_eq!(d.people[1].name, "The Test Consortium");
    // JATS 1.1 dates: the electronic one is preferred.
    assert_eq!(d.main_date(), PartialDate::ymd(2020, 2, 14).as_ref());
    assert_eq!(d.files, vec!["https://example.org/s1.csv"]);
    assert_eq!(d.description, "Registered as NCT01234567.");

    let missing = &recs[1];
    assert_eq!(missing.dataset.accession, "biostudies-literature-entry-2");
    assert!(missing
        .diagnostics
        .iter()
        .any(|x| x.code == "missing-id" && x.severity == Severity::Error));

    let broken = &recs[2];
    assert_eq!(broken.dataset.accession, "S-EPMC101");
    assert!(
        broken.diagnostics.iter().any(|x| x.code == "xml-syntax"),
        "{:?}",
        broken.diagnostics
    );
}

#[test]
fn fixture_truncated_and_empty_inputs() {
    let f = format_by_name("pmc-jats").unwrap();
    let cut = &SET[..SET.find("<body>").unwrap()];
    let items = parse_bytes(f, "cut.xml", cut.as_bytes(), today()).unwrap();
    let Item::Record(r) = &items[0] else {
        panic!("expected a record: {items:?}")
    };
    assert!(r.diagnostics.iter().any(|x| x.code == "truncated-record"));
    assert_eq!(r.dataset.accession, "S-EPMC100");

    let items = parse_bytes(f, "none.xml", b"<pmc-articleset></pmc-articleset>", today()).unwrap();
    assert!(matches!(&items[..], [Item::Diagnostic(d)] if d.code == "no-article"));

    // Not JATS: an <article> root without any JATS structure.
    assert!(opendi_ingest::detect("a.xml", b"<article><h1>blog</h1></article>").is_none());
}

#[test]
fn never_panics_on_cut_or_garbled_input() {
    let f = format_by_name("pmc-jats").unwrap();
    let bytes = SET.as_bytes();
    for end in (0..bytes.len()).step_by(7) {
        parse_bytes(f, "cut.xml", &bytes[..end], today()).unwrap();
    }
    let mut garbled = bytes.to_vec();
    for i in (0..garbled.len()).step_by(13) {
        garbled[i] = [b'<', b'>', b'&', 0xff, b'"'][i % 5];
    }
    let items = parse_bytes(f, "garbled.xml", &garbled, today()).unwrap();
    assert!(!items.is_empty());
}
