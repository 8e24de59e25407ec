use super::*;
use opendi_model::CrossRef;

fn ids(text: &str) -> Vec<(&'static str, String)> {
    find_accessions(text)
        .into_iter()
        .map(|f| (f.prefix, f.id))
        .collect()
}

fn one(text: &str, prefix: &str, id: &str) {
    assert_eq!(
        ids(text),
        vec![(namespace(prefix).unwrap().prefix, id.to_string())],
        "in {text:?}"
    );
}

#[test]
fn table_loads() {
    assert_eq!(bioregistry_version(), "0.15.6");
    let scanned = namespaces().iter().filter(|n| n.scanned).count();
    assert!(scanned >= 30, "{scanned}");
    assert!(namespaces().len() > 2000);
    for n in namespaces().iter().filter(|n| n.scanned) {
        assert_eq!(namespace(n.prefix).map(|x| x.prefix), Some(n.prefix));
    }
}

#[test]
fn each_kind() {
    one("series GSE12345 was used", "geo", "GSE12345");
    one("samples (GSM1)", "geo", "GSM1");
    one("platform GPL570.", "geo", "GPL570");
    one("GDS4879;", "geo", "GDS4879");
    one(
        "in ArrayExpress under E-MTAB-1234.",
        "arrayexpress",
        "E-MTAB-1234",
    );
    one("E-GEOD-21034", "arrayexpress", "E-GEOD-21034");
    one("array A-AFFY-44", "arrayexpress.platform", "A-AFFY-44");
    one("ProteomeXchange PXD000001", "pride.project", "PXD000001");
    one("MassIVE MSV000082131", "massive", "MSV000082131");
    one("MetaboLights (MTBLS77)", "metabolights", "MTBLS77");
    one(
        "Metabolomics Workbench study ST000900",
        "mw.study",
        "ST000900",
    );
    one("BioStudies S-BSST123", "biostudies", "S-BSST123");
    one("see S-EPMC7912947", "biostudies", "S-EPMC7912947");
    one("EGA study EGAS00001000001", "ega.study", "EGAS00001000001");
    one("dataset EGAD00001008392", "ega.dataset", "EGAD00001008392");
    one("file EGAF00001234567", "ega", "EGAF00001234567");
    one("BioProject PRJNA123456", "bioproject", "PRJNA123456");
    one("ENA project PRJEB1234", "bioproject", "PRJEB1234");
    one("BioSample SAMN02588091", "biosample", "SAMN02588091");
    one("reads in SRP012345", "insdc.sra", "SRP012345");
    one("ERP001234", "insdc.sra", "ERP001234");
    one("run SRR1234567", "insdc.sra", "SRR1234567");
    one("dbGaP phs000768.v2.p1.", "dbgap", "phs000768.v2.p1");
    one("map EMD-1001", "emdb", "EMD-1001");
    one("assembly GCA_000001405.15", "insdc.gca", "GCA_000001405.15");
    one("transcript NM_000546.6", "refseq", "NM_000546.6");
    one("PDB ID: 1ABC", "pdb", "1ABC");
    one("GenBank accession no. EF432310 (", "insdc", "EF432310");
    one(
        "ClinicalTrials.gov, identifier: NCT02218437 (registered)",
        "clinicaltrials",
        "NCT02218437",
    );
    one(
        "EudraCT 2008-005144-16",
        "euclinicaltrials",
        "2008-005144-16",
    );
    one("CTIS 2023-503698-40-00", "ctis", "2023-503698-40-00");
    one("ISRCTN10175490", "isrctn", "ISRCTN10175490");
    one("DRKS00031815", "drks", "DRKS00031815");
    one("ACTRN12623000498695", "anzctr", "ACTRN12623000498695");
    one("ChiCTR2300070727", "chictr", "ChiCTR2300070727");
    one("jRCTs041220087", "jrct", "jRCTs041220087");
    one("CTRI/2023/04/052053", "ctri", "CTRI/2023/04/052053");
    one("Europe PMC: PMC3084216.", "pmc", "PMC3084216");
    one("PMID: 16333295", "pubmed", "16333295");
    one("(PMID 16333295)", "pubmed", "16333295");
    one("PubMed ID: 16333295", "pubmed", "16333295");
    one(
        "doi:10.1038/s41597-022-01807-3.",
        "doi",
        "10.1038/s41597-022-01807-3",
    );
    one(
        "https://doi.org/10.5061/dryad.1234abc)",
        "doi",
        "10.5061/dryad.1234abc",
    );
    one(
        "(doi: 10.1016/S0140-6736(20)30183-5).",
        "doi",
        "10.1016/S0140-6736(20)30183-5",
    );
    one("UniProt P04637 (p53)", "uniprot", "P04637");
    one("UniProtKB/Swiss-Prot: Q9Y6K9-binding", "uniprot", "Q9Y6K9");
    one("glucose (CHEBI:17234)", "chebi", "CHEBI:17234");
    one("chebi:17234", "chebi", "CHEBI:17234");
    one("ENSG00000141510 and", "ensembl", "ENSG00000141510");
    one("ENSMUSG00000059552.3", "ensembl", "ENSMUSG00000059552.3");
    one("domain IPR016380", "interpro", "IPR016380");
    one("SNP rs121909098 was", "dbsnp", "rs121909098");
}

#[test]
fn case_and_positions() {
    let text = "Data: gse12345 and pxd000001.";
    let f = find_accessions(text);
    assert_eq!(f.len(), 2);
    assert_eq!((f[0].prefix, f[0].id.as_str()), ("geo", "GSE12345"));
    assert_eq!(&text[f[0].start..f[0].end], "gse12345");
    assert_eq!(
        (f[1].prefix, f[1].id.as_str()),
        ("pride.project", "PXD000001")
    );
    // The label is not part of the id's range.
    let text = "see PMID: 123456.";
    let f = find_accessions(text);
    assert_eq!(&text[f[0].start..f[0].end], "123456");
    // Several in a row, in text order.
    assert_eq!(
        ids("GSE1,GSE2;E-MTAB-3 NCT00000001"),
        vec![
            ("geo", "GSE1".into()),
            ("geo", "GSE2".into()),
            ("arrayexpress", "E-MTAB-3".into()),
            ("clinicaltrials", "NCT00000001".into()),
        ]
    );
}

#[test]
fn no_false_positives_on_prose() {
    for text in [
        "In 2019 and 2020, 1234 patients (p < 0.05, n = 56789) were enrolled.",
        "Mutations in TP53, BRCA1, BRCA2, KRAS and EGFR were common; CD4+ T cells and IL-6.",
        "The HER2 status, the H1N1 strain, C57BL6 mice and HEK293T cells.",
        "We searched PubMed 2000-2020 and MEDLINE for 12345 articles.",
        "Serial number 12345678, catalogue AB123456 and phone 0049-123456-78.",
        "S-ADENOSYLMETHIONINE and S-NITROSOGLUTATHIONE IN RAT LIVER",
        "A 10.5 mm lesion, 10.1 % of cases, ratio 10.20/30.",
        "The GSE and PXD prefixes; NCT numbers; the GEO database; E-MTAB files.",
        "ST segment elevation in ST1 and ST131 isolates; the PDB file format.",
        "Mascot 2.3, version 10.1038 of the software, 3.5 kDa",
        "ENSG genes and rs numbers, SRA and ERA data, MSV1 isolates, SRR files",
        "Crystals in space group P41212 or P43212; B6C3F1 and C3D2F1 mice; p53 (P04637).",
    ] {
        assert_eq!(ids(text), vec![], "{text}");
    }
    // Inside longer words nothing is taken.
    assert_eq!(
        ids("XGSE12345 GSE12345X S-EPMC1"),
        vec![("biostudies", "S-EPMC1".to_string())]
    );
}

#[test]
fn seed_abstract() {
    let text =
        "Concomitant use of IST and UC-MSCs in SAA children is safe but may not necessarily \
        improve the early response rate and long-term outcomes. This clinical trial was \
        registered at ClinicalTrials.gov, identifier: NCT02218437 (registered October 2013).";
    assert_eq!(
        ids(text),
        vec![("clinicaltrials", "NCT02218437".to_string())]
    );
}

#[test]
fn links() {
    assert_eq!(
        link_url("geo", "GSE16").as_deref(),
        Some("https://www.ncbi.nlm.nih.gov/geo/query/acc.cgi?acc=GSE16")
    );
    assert_eq!(
        link_url("ClinicalTrials.gov", "NCT02218437").as_deref(),
        Some("https://www.clinicaltrials.gov/study/NCT02218437")
    );
    assert_eq!(
        link_url("PRIDE", "PXD000001").as_deref(),
        Some("https://www.ebi.ac.uk/pride/archive/projects/PXD000001")
    );
    assert_eq!(
        link_url("pubmed", "16333295").as_deref(),
        Some("https://pubmed.ncbi.nlm.nih.gov/16333295/")
    );
    assert_eq!(
        link_url("ChEBI", "CHEBI:15377").as_deref(),
        Some("http://purl.obolibrary.org/obo/CHEBI_15377")
    );
    assert_eq!(
        link_url("TAXONOMY", "9606").as_deref(),
        Some("http://purl.obolibrary.org/obo/NCBITaxon_9606")
    );
    assert_eq!(
        link_url("DOI", "10.1000/a b").as_deref(),
        Some("https://doi.org/10.1000/a%20b")
    );
    assert_eq!(prefix_for("GenBank"), Some("insdc"));
    assert_eq!(prefix_for("arrayexpress-repository"), Some("arrayexpress"));
    assert_eq!(prefix_for("MetaboLights"), Some("metabolights"));
    assert_eq!(prefix_for("Metabolomics Workbench"), Some("mw.study"));
    assert_eq!(prefix_for("UniProtKB"), Some("uniprot"));
    assert_eq!(prefix_for("Ensembl"), Some("ensembl"));
    // A namespace that is only linked, not scanned.
    assert!(link_url("hgnc", "11998").is_some());
    assert_eq!(link_url("no such database", "1"), None);
}

#[test]
fn annotate_record() {
    let mut d = Dataset::new("pride", "PXD000001");
    d.title = "Proteome of X (see also PXD000002)".into();
    d.description =
        "<p>Transcripts in <b>GSE12345</b> and GSE<i>99</i>; PMID: 123456; own PXD000001.</p>\
        <p>Trial NCT02218437, doi:10.1038/nature12345 and data doi:10.5281/zenodo.1234.</p>"
            .into();
    d.data_protocols = vec!["Reads at SRR1234567".into()];
    d.submitter_keywords = vec!["E-MTAB-5".into()];
    d.push_additional("dataset_link", "PMC3084216");
    d.add_cross_ref("ClinicalTrials.gov", "NCT02218437", Evidence::Declared);
    d.add_cross_ref("ArrayExpress", "e-mtab-5", Evidence::Declared);
    d.add_cross_ref("pubmed", "123456", Evidence::Declared);
    annotate(&mut d);
    let found: Vec<(&str, &str)> = d
        .cross_refs
        .iter()
        .filter(|c| c.evidence == Evidence::FoundInText)
        .map(|c| (c.database.as_str(), c.key.as_str()))
        .collect();
    assert_eq!(
        found,
        vec![
            ("pride.project", "PXD000002"),
            ("geo", "GSE12345"),
            ("geo", "GSE99"),
            ("doi", "10.1038/nature12345"),
            ("doi", "10.5281/zenodo.1234"),
            ("insdc.sra", "SRR1234567"),
            ("pmc", "PMC3084216"),
        ],
        "{:?}",
        d.cross_refs
    );
    let pubs: Vec<_> = d
        .publications
        .iter()
        .map(|p| (p.pmid.as_deref(), p.doi.as_deref(), p.pmcid.as_deref()))
        .collect();
    assert_eq!(
        pubs,
        vec![
            (Some("123456"), None, None),
            (None, Some("10.1038/nature12345"), None),
            (None, None, Some("PMC3084216")),
        ]
    );
    // Running twice adds nothing.
    let before = d.clone();
    annotate(&mut d);
    assert_eq!(d, before);
    // A declared trial is not added again under its Bioregistry prefix.
    assert!(!d.cross_refs.contains(&CrossRef {
        database: "clinicaltrials".into(),
        key: "NCT02218437".into(),
        evidence: Evidence::FoundInText,
    }));
}

#[test]
fn markup_is_stripped() {
    assert_eq!(
        strip_markup("<h4>A</h4>GSE1<sup>2</sup> &amp; x"),
        " A GSE12 & x"
    );
    assert_eq!(trim_doi("10.1/a(b)c)."), "10.1/a(b)c");
    assert_eq!(trim_doi("10.1/x],"), "10.1/x");
}
