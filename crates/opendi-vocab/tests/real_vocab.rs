//! The vocabularies as published (shared/corpora/vocab), the seed record, and real PubMed
//! abstracts checked against their MeSH headings.

use opendi_model::{Evidence, Item};
use opendi_vocab::{Annotator, Kind, Synonyms, VocabConfig, Vocabulary};
use std::sync::OnceLock;

fn vocab() -> Option<&'static Vocabulary> {
    static V: OnceLock<Option<Vocabulary>> = OnceLock::new();
    V.get_or_init(|| {
        let dir = opendi_corpora::corpus("vocab/hpo/hp.obo")?;
        let dir = dir.parent()?.parent()?.to_path_buf();
        Some(Vocabulary::load(&VocabConfig::dir(dir)))
    })
    .as_ref()
}

fn annotator() -> Option<&'static Annotator> {
    static A: OnceLock<Option<Annotator>> = OnceLock::new();
    A.get_or_init(|| vocab().map(Annotator::new)).as_ref()
}

#[test]
fn every_source_loads_and_obsolete_hpo_terms_are_left_out() {
    let Some(v) = vocab() else { return };
    for s in &v.sources {
        assert!(s.problem.is_none(), "{}: {:?}", s.name, s.problem);
        assert!(s.concepts > 0, "{} contributed nothing", s.name);
    }
    // hp.obo 2025-01-16: 19,484 stanzas, of which ~450 obsolete and ~1,000 outside the
    // phenotypic-abnormality branch.
    let phenotypes = v.count(Kind::Phenotype);
    assert!((15_000..19_000).contains(&phenotypes), "{phenotypes}");
    assert!(v.count(Kind::Disease) > 12_000);
    assert!(v.count(Kind::CellType) > 3_000);
    let has = |id: &str| v.concepts.iter().any(|c| c.id == id);
    assert!(has("HP:0001915") && has("OMIM:609135") && has("CL:0000134"));
    assert!(!has("HP:0000005"), "mode of inheritance is not a phenotype");
    // An obsolete stanza of this release.
    let obsolete_line =
        std::fs::read_to_string(opendi_corpora::corpus("vocab/hpo/hp.obo").unwrap())
            .unwrap()
            .split("\n\n")
            .find(|s| s.contains("is_obsolete: true"))
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("id: "))
                    .map(str::to_string)
            })
            .unwrap();
    assert!(!has(&obsolete_line), "{obsolete_line} is obsolete");
    // The dog of the NCBI Taxonomy sample joined the built-in taxon, with its synonyms.
    let dog = v
        .concepts
        .iter()
        .find(|c| c.id == "NCBITaxon:9615")
        .unwrap();
    assert!(dog.names.iter().any(|n| n.text == "Canis familiaris"));
}

#[test]
fn the_seed_record_is_about_aplastic_anemia_in_humans() {
    let Some(a) = annotator() else { return };
    let Some(path) = opendi_corpora::seed("S-EPMC7912947.omicsdi.xml") else {
        return;
    };
    let bytes = std::fs::read(&path).unwrap();
    let format = opendi_ingest::format_by_name("omicsdi-xml").unwrap();
    let items = opendi_ingest::parse_bytes(format, "seed.xml", &bytes, today()).unwrap();
    let Some(Item::Record(rec)) = items.into_iter().find(|i| matches!(i, Item::Record(_))) else {
        panic!("the seed has a record");
    };
    let mut d = rec.dataset;
    let added = a.annotate_dataset(&mut d);
    let diseases: Vec<&str> = d.diseases.iter().map(|t| t.label.as_str()).collect();
    assert!(
        d.diseases
            .iter()
            .any(|t| t.label.eq_ignore_ascii_case("aplastic anemia")
                && t.evidence == Evidence::FoundInText
                && t.id.is_some()),
        "diseases: {diseases:?}"
    );
    let human = d
        .organisms
        .iter()
        .find(|o| o.taxon_id.as_deref() == Some("9606"));
    let human = human.unwrap_or_else(|| panic!("organisms: {:?}", d.organisms));
    assert_eq!(human.name, "Homo sapiens");
    assert_eq!(human.evidence, Evidence::FoundInText);
    let cells: Vec<&str> = d.cell_types.iter().map(|t| t.label.as_str()).collect();
    assert!(cells.contains(&"mesenchymal stem cell"), "cells: {cells:?}");
    eprintln!("seed annotation: {added:#?}");
}

#[test]
fn synonyms_of_real_hpo_terms_go_both_ways() {
    let Some(v) = vocab() else { return };
    let s = Synonyms::new(v.clone());
    let (q, added) = s.expand_query("aplastic anemia");
    assert!(
        added.iter().any(|a| a == "Aplastic anaemia"),
        "{q} {added:?}"
    );
    // From a synonym back to the label.
    let e = s.expand("Aplastic anaemia");
    assert!(e[0].added.iter().any(|a| a == "Aplastic anemia"), "{e:?}");
    assert!(e[0].concepts.contains(&"HP:0001915".to_string()));
    let (_, added) = s.expand_query("human");
    assert!(added.contains(&"Homo sapiens".to_string()) && added.contains(&"9606".to_string()));
}

/// MeSH names a descriptor "Anemia, Aplastic"; text writes "aplastic anemia".
fn uninvert(d: &str) -> String {
    match d.split_once(", ") {
        Some((a, b)) if !b.contains(", ") => format!("{b} {a}"),
        _ => d.to_string(),
    }
}

/// MeSH check tags for the organisms of the built-in table.
fn mesh_for_taxon(taxon: &str) -> Option<&'static str> {
    Some(match taxon {
        "9606" => "Humans",
        "10090" => "Mice",
        "10116" => "Rats",
        "9615" => "Dogs",
        "9913" => "Cattle",
        "9823" => "Swine",
        "9940" => "Sheep",
        "9031" => "Chickens",
        "562" => "Escherichia coli",
        "4932" => "Saccharomyces cerevisiae",
        "7227" => "Drosophila melanogaster",
        "9544" => "Macaca mulatta",
        _ => return None,
    })
}

/// Precision of annotation on real abstracts, with MeSH as the judge: an organism is right
/// when the article carries its check tag; a disease, phenotype, cell type or tissue when a
/// MeSH heading of the article names it (the annotator run on the heading finds it). MeSH
/// indexes what an article is about, not all it mentions, so this is a lower bound.
#[test]
fn annotation_precision_against_mesh_on_pubmed() {
    let Some(a) = annotator() else { return };
    let Some(path) = opendi_corpora::corpus("pubmed/pubmed20n0014.xml.gz") else {
        return;
    };
    let stats = precision(a, &path, 3000);
    eprintln!("{stats:#?}");
    let organism = stats.organism.0 as f64 / stats.organism.1.max(1) as f64;
    let terms = stats.terms.0 as f64 / stats.terms.1.max(1) as f64;
    assert!(stats.organism.1 > 500 && organism > 0.85, "{stats:?}");
    assert!(stats.terms.1 > 500 && terms > 0.35, "{stats:?}");
}

#[derive(Debug, Default)]
pub struct Precision {
    pub articles: usize,
    /// (confirmed by MeSH, found) for organisms.
    pub organism: (usize, usize),
    /// (confirmed, found) for diseases, phenotypes, cell types and tissues.
    pub terms: (usize, usize),
}

fn today() -> opendi_model::PartialDate {
    opendi_model::PartialDate::ymd(2025, 1, 1).unwrap()
}

/// Reads the first `limit` articles with an abstract and MeSH headings (a prefix of the
/// decompressed file is enough: the parser reports the cut last record and goes on).
fn precision(a: &Annotator, path: &std::path::Path, limit: usize) -> Precision {
    use std::io::Read;
    let file = std::fs::File::open(path).unwrap();
    let head = flate2::read::GzDecoder::new(file).take(40 << 20);
    let mut reader = std::io::BufReader::new(head);
    let none = |_: &str| None;
    let ctx = opendi_ingest::ParseContext {
        file: "pubmed20n0014.xml.gz",
        today: today(),
        siblings: &none,
    };
    let mut p = Precision::default();
    let mut sink = |item: Item| {
        let Item::Record(rec) = item else { return };
        let Some(publication) = &rec.publication else {
            return;
        };
        if publication.abstract_text.is_empty()
            || publication.mesh.is_empty()
            || p.articles >= limit
        {
            return;
        }
        p.articles += 1;
        let mesh: Vec<&str> = publication
            .mesh
            .iter()
            .map(|m| m.descriptor.as_str())
            .collect();
        let mut mesh_ids = std::collections::HashSet::new();
        for m in &mesh {
            for f in a.annotate(m).into_iter().chain(a.annotate(&uninvert(m))) {
                mesh_ids.insert(f.id);
            }
        }
        let text = format!("{}\n<p>{}", publication.title, publication.abstract_text);
        for f in a.annotate(&text) {
            if f.kind == Kind::Organism {
                let taxon = f.id.trim_start_matches("NCBITaxon:");
                if let Some(tag) = mesh_for_taxon(taxon) {
                    p.organism.1 += 1;
                    if mesh.contains(&tag) {
                        p.organism.0 += 1;
                    }
                }
            } else {
                p.terms.1 += 1;
                if mesh_ids.contains(&f.id) {
                    p.terms.0 += 1;
                }
            }
        }
    };
    opendi_ingest::pubmed::parse(&mut reader, &ctx, &mut sink).unwrap();
    p
}
