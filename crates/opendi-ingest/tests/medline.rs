//! MEDLINE text: golden snapshots of the three real files, and a fixture pair showing that the
//! same citation read from MEDLINE text and from PubMed XML gives the same `pubmed` record.
//! (The corpora hold no PMID in both formats, so the pair is written here.)

mod lit_support;

use lit_support::{read, records, snapshot, today};
use opendi_ingest::{format_by_name, parse_bytes};
use opendi_model::{CrossRef, DateKind, Evidence, Item, PartialDate, Publication, SourceRecord};

#[test]
fn real_files_golden() {
    let expect: [(&str, &[&str]); 3] = [
        ("pubmed_result1.txt", &["12230038"]),
        (
            "pubmed_result2.txt",
            &["16403221", "16377612", "14871861", "14630660"],
        ),
        ("pubmed_result3.txt", &["23039619"]),
    ];
    for (file, pmids) in expect {
        let Some(path) = opendi_corpora::corpus(&format!("entrez/Medline/{file}")) else {
            return;
        };
        let (items, reports) = read(&path);
        assert_eq!(reports[0].format, Some("medline"), "{file}");
        let recs = records(&items);
        let got: Vec<&str> = recs.iter().map(|r| r.dataset.accession.as_str()).collect();
        assert_eq!(got, pmids, "{file}");
        for r in &recs {
            assert!(r.diagnostics.is_empty(), "{file}: {:?}", r.diagnostics);
            assert_eq!(r.dataset.repository, "pubmed");
            assert_eq!(r.dataset.omics_types, vec!["Literature"]);
            assert!(!r.dataset.title.is_empty());
            assert!(r.raw.starts_with("PMID- "));
        }
        insta::assert_json_snapshot!(format!("medline-{file}"), snapshot(&items));
    }
}

#[test]
fn real_file_details() {
    let Some(path) = opendi_corpora::corpus("entrez/Medline/pubmed_result2.txt") else {
        return;
    };
    let (items, _) = read(&path);
    let r = records(&items)[0];
    let d = &r.dataset;
    let p = r.publication.as_ref().unwrap();
    assert_eq!(
        d.title,
        "A high level interface to SCOP and ASTRAL implemented in python."
    );
    assert!(d
        .description
        .starts_with("<h4>BACKGROUND</h4>Benchmarking algorithms"));
    assert!(d.description.contains(" <h4>RESULTS</h4>We have designed"));
    assert!(d.description.contains(" <h4>CONCLUSION</h4>The modules"));
    assert_eq!(p.authors, vec!["Casbon JA", "Crooks GE", "Saqi MA"]);
    // The one (pre-2014) affiliation belongs to the first author.
    assert!(d.people[0]
        .affiliation
        .as_deref()
        .unwrap()
        .starts_with("Bioinformatics, Institute of Cell"));
    assert_eq!(p.pmcid.as_deref(), Some("PMC1373603"));
    assert_eq!(p.doi.as_deref(), Some("10.1186/1471-2105-7-10"));
    assert_eq!(p.journal.as_deref(), Some("BMC bioinformatics"));
    let seq = p
        .mesh
        .iter()
        .find(|m| m.descriptor == "Sequence Alignment")
        .unwrap();
    assert!(seq.major);
    assert_eq!(seq.qualifiers, vec!["methods"]);
    assert_eq!(d.main_date(), PartialDate::parse("2006").as_ref());
    let created = d
        .dates
        .iter()
        .find(|x| x.kind == DateKind::Creation)
        .unwrap();
    assert_eq!(created.value, PartialDate::ymd(2006, 3, 14));
    assert!(d.additional["PT"].contains(&"Journal Article".to_string()));
}

const XML: &str = r#"<?xml version="1.0"?>
<PubmedArticleSet>
<PubmedArticle><MedlineCitation Status="MEDLINE" Owner="NLM"><PMID Version="1">99000001</PMID>
<DateCompleted><Year>2021</Year><Month>03</Month><Day>02</Day></DateCompleted>
<DateRevised><Year>2022</Year><Month>11</Month><Day>30</Day></DateRevised>
<Article PubModel="Print-Electronic"><Journal><JournalIssue CitedMedium="Internet"><Volume>12</Volume><Issue>4</Issue><PubDate><Year>2021</Year><Month>Feb</Month></PubDate></JournalIssue><Title>Journal of invented results</Title><ISOAbbreviation>J Invent Res</ISOAbbreviation></Journal>
<ArticleTitle>Counting imaginary cells in a made-up organ.</ArticleTitle>
<Pagination><MedlinePgn>101-9</MedlinePgn></Pagination>
<ELocationID EIdType="doi" ValidYN="Y">10.0000/jir.2021.1</ELocationID>
<Abstract><AbstractText Label="BACKGROUND">Nobody has counted them.</AbstractText><AbstractText Label="METHODS">We counted them twice (n = 12, P &lt; 0.05).</AbstractText><AbstractText Label="CONCLUSIONS">There are many.</AbstractText></Abstract>
<AuthorList CompleteYN="Y"><Author ValidYN="Y"><LastName>Doe</LastName><ForeName>Jane Q</ForeName><Initials>JQ</Initials><Identifier Source="ORCID">0000-0002-1825-0097</Identifier><AffiliationInfo><Affiliation>Department of Examples, Nowhere University.</Affiliation></AffiliationInfo><AffiliationInfo><Affiliation>Institute of Tests, Elsewhere.</Affiliation></AffiliationInfo></Author><Author ValidYN="Y"><LastName>Roe</LastName><ForeName>Richard</ForeName><Initials>R</Initials></Author><Author ValidYN="Y"><CollectiveName>Imaginary Cells Consortium</CollectiveName></Author></AuthorList>
<Language>eng</Language>
<DataBankList CompleteYN="Y"><DataBank><DataBankName>ClinicalTrials.gov</DataBankName><AccessionNumberList><AccessionNumber>NCT09999999</AccessionNumber></AccessionNumberList></DataBank><DataBank><DataBankName>GEO</DataBankName><AccessionNumberList><AccessionNumber>GSE99999</AccessionNumber></AccessionNumberList></DataBank></DataBankList>
<PublicationTypeList><PublicationType UI="D016428">Journal Article</PublicationType></PublicationTypeList>
</Article>
<ChemicalList><Chemical><RegistryNumber>0</RegistryNumber><NameOfSubstance UI="D000001">Imaginary Substance</NameOfSubstance></Chemical><Chemical><RegistryNumber>EC 3.1.1.3</RegistryNumber><NameOfSubstance UI="D008049">Lipase</NameOfSubstance></Chemical></ChemicalList>
<MeshHeadingList><MeshHeading><DescriptorName UI="D000818" MajorTopicYN="N">Animals</DescriptorName></MeshHeading><MeshHeading><DescriptorName UI="D002452" MajorTopicYN="N">Cell Count</DescriptorName><QualifierName UI="Q000379" MajorTopicYN="Y">methods</QualifierName><QualifierName UI="Q000592" MajorTopicYN="N">standards</QualifierName></MeshHeading><MeshHeading><DescriptorName UI="D009928" MajorTopicYN="Y">Organ Specificity</DescriptorName></MeshHeading></MeshHeadingList>
<KeywordList Owner="NOTNLM"><Keyword MajorTopicYN="N">cell counting</Keyword><Keyword MajorTopicYN="N">imaginary organs</Keyword></KeywordList>
</MedlineCitation>
<PubmedData><ArticleIdList><ArticleId IdType="pubmed">99000001</ArticleId><ArticleId IdType="doi">10.0000/jir.2021.1</ArticleId><ArticleId IdType="pmc">PMC9900001</ArticleId></ArticleIdList></PubmedData>
</PubmedArticle>
</PubmedArticleSet>
"#;

const MEDLINE: &str = "
PMID- 99000001
OWN - NLM
STAT- MEDLINE
DCOM- 20210302
LR  - 20221130
IS  - 0000-0000 (Electronic)
VI  - 12
IP  - 4
DP  - 2021 Feb
TI  - Counting imaginary cells in a made-up
      organ.
PG  - 101-9
LID - 10.0000/jir.2021.1 [doi]
AB  - BACKGROUND: Nobody has counted them. METHODS: We counted them twice (n =
      12, P < 0.05). CONCLUSIONS: There are many.
FAU - Doe, Jane Q
AU  - Doe JQ
AUID- ORCID: 0000-0002-1825-0097
AD  - Department of Examples, Nowhere University.
AD  - Institute of Tests, Elsewhere.
FAU - Roe, Richard
AU  - Roe R
CN  - Imaginary Cells Consortium
LA  - eng
SI  - ClinicalTrials.gov/NCT09999999
SI  - GEO/GSE99999
PT  - Journal Article
TA  - J Invent Res
JT  - Journal of invented results
RN  - 0 (Imaginary Substance)
RN  - EC 3.1.1.3 (Lipase)
MH  - Animals
MH  - Cell Count/*methods/standards
MH  - *Organ Specificity
OTO - NOTNLM
OT  - cell counting
OT  - imaginary organs
PMC - PMC9900001
AID - 10.0000/jir.2021.1 [doi]
SO  - J Invent Res. 2021 Feb;12(4):101-9.
";

fn only_record(items: Vec<Item>) -> SourceRecord {
    let mut recs: Vec<SourceRecord> = items
        .into_iter()
        .filter_map(|i| match i {
            Item::Record(r) => Some(*r),
            _ => None,
        })
        .collect();
    assert_eq!(recs.len(), 1);
    recs.remove(0)
}

/// Drops what only one of the formats carries: MeSH descriptor UIs (XML only), the raw text
/// of dates (each format writes dates its own way) and the fields kept verbatim.
fn comparable(mut r: SourceRecord) -> (serde_json::Value, Publication) {
    let mut p = r.publication.take().expect("publication");
    for m in &mut p.mesh {
        m.descriptor_id = None;
    }
    for d in &mut r.dataset.dates {
        d.raw.clear();
    }
    let journal = r.dataset.additional.remove("journal");
    r.dataset.additional.clear();
    if let Some(j) = journal {
        r.dataset.additional.insert("journal".into(), j);
    }
    (serde_json::to_value(&r.dataset).unwrap(), p)
}

#[test]
fn medline_and_pubmed_xml_agree() {
    let xml = only_record(
        parse_bytes(
            format_by_name("pubmed-xml").unwrap(),
            "a.xml",
            XML.as_bytes(),
            today(),
        )
        .unwrap(),
    );
    let txt = only_record(
        parse_bytes(
            format_by_name("medline").unwrap(),
            "a.nbib",
            MEDLINE.as_bytes(),
            today(),
        )
        .unwrap(),
    );
    assert!(xml.diagnostics.is_empty() && txt.diagnostics.is_empty());
    assert_eq!(txt.location.line, Some(2));
    assert!(txt.dataset.additional.contains_key("SO"));
    let (xd, xp) = comparable(xml);
    let (td, tp) = comparable(txt);
    assert_eq!(td, xd);
    assert_eq!(tp, xp);
    // And the shared values are the right ones.
    let d: opendi_model::Dataset = serde_json::from_value(td).unwrap();
    assert_eq!(d.accession, "99000001");
    assert_eq!(
        d.description,
        "<h4>BACKGROUND</h4>Nobody has counted them. <h4>METHODS</h4>We counted them twice (n = 12, P &lt; 0.05). <h4>CONCLUSIONS</h4>There are many."
    );
    assert_eq!(d.people.len(), 3);
    assert_eq!(
        d.people[0].affiliation.as_deref(),
        Some("Department of Examples, Nowhere University.; Institute of Tests, Elsewhere.")
    );
    assert_eq!(d.people[0].orcid.as_deref(), Some("0000-0002-1825-0097"));
    assert!(d.cross_refs.contains(&CrossRef {
        database: "GEO".into(),
        key: "GSE99999".into(),
        evidence: Evidence::Declared
    }));
    assert_eq!(d.main_date(), PartialDate::parse("2021-02").as_ref());
    assert_eq!(
        d.dates
            .iter()
            .find(|x| x.kind == DateKind::Creation)
            .and_then(|x| x.value),
        PartialDate::ymd(2021, 3, 2)
    );
    assert_eq!(
        d.curator_keywords,
        vec![
            "Animals",
            "Cell Count",
            "Organ Specificity",
            "Imaginary Substance",
            "Lipase"
        ]
    );
    assert_eq!(tp.mesh[1].qualifiers, vec!["methods", "standards"]);
    assert!(tp.mesh[1].major && tp.mesh[2].major && !tp.mesh[0].major);
}

#[test]
fn broken_medline_input() {
    let f = format_by_name("medline").unwrap();
    let input =
        "PMID- 1\nTI  - One\nthis line is junk\n\nTI  - no pmid here\n\nPMID- 3\nAB  - no title\n";
    let items = parse_bytes(f, "b.txt", input.as_bytes(), today()).unwrap();
    let recs: Vec<&SourceRecord> = items
        .iter()
        .filter_map(|i| match i {
            Item::Record(r) => Some(r.as_ref()),
            _ => None,
        })
        .collect();
    assert_eq!(recs.len(), 3);
    assert_eq!(recs[0].dataset.title, "One");
    let junk = &recs[0].diagnostics[0];
    assert_eq!(junk.code, "malformed-line");
    assert_eq!(junk.location.line, Some(3));
    assert_eq!(recs[1].dataset.accession, "pubmed-entry-2");
    assert!(recs[1].diagnostics.iter().any(|d| d.code == "missing-id"));
    assert!(recs[2]
        .diagnostics
        .iter()
        .any(|d| d.code == "missing-title"));
    // Invalid UTF-8 is replaced and reported, not fatal.
    let items = parse_bytes(f, "u.txt", b"PMID- 4\nTI  - caf\xe9\n", today()).unwrap();
    let Item::Record(r) = &items[0] else { panic!() };
    assert!(r.diagnostics.iter().any(|d| d.code == "invalid-utf8"));
    assert_eq!(
        opendi_ingest::detect("x.nbib", b"\nPMID- 4\nTI  - x\n").map(|(f, _)| f.name),
        Some("medline")
    );
}

#[test]
fn never_panics_on_cut_or_garbled_input() {
    let f = format_by_name("medline").unwrap();
    let bytes = MEDLINE.as_bytes();
    for end in 0..bytes.len() {
        parse_bytes(f, "cut.txt", &bytes[..end], today()).unwrap();
    }
    let mut garbled = bytes.to_vec();
    for i in (0..garbled.len()).step_by(5) {
        garbled[i] = [b'\n', b' ', b'-', 0xc3, b'*'][i % 5];
    }
    parse_bytes(f, "garbled.txt", &garbled, today()).unwrap();
    // Windows line ends read like Unix ones.
    let crlf = MEDLINE.replace('\n', "\r\n");
    let items = parse_bytes(f, "crlf.txt", crlf.as_bytes(), today()).unwrap();
    let Item::Record(r) = &items[0] else { panic!() };
    assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
    assert_eq!(
        r.dataset.title,
        "Counting imaginary cells in a made-up organ."
    );
}
