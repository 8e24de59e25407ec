//! Reading the vocabulary sources from a directory laid out like `shared/corpora/vocab`.

use crate::obo::{self, SynonymScope};
use crate::{Concept, Kind, NameUse, Vocabulary};
use std::collections::{HashMap, HashSet};
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Where the vocabularies are. `dir: None` means the built-in tables only.
#[derive(Debug, Clone, Default)]
pub struct VocabConfig {
    pub dir: Option<PathBuf>,
}

/// The directory used when `OPENDI_VOCAB` is not set, relative to the working directory.
pub const DEFAULT_DIR: &str = "../shared/corpora/vocab";

impl VocabConfig {
    pub fn dir(dir: impl Into<PathBuf>) -> Self {
        VocabConfig {
            dir: Some(dir.into()),
        }
    }

    /// `$OPENDI_VOCAB` (an empty value: built-in tables only), else [`DEFAULT_DIR`] when it
    /// exists, else the built-in tables only.
    pub fn from_env() -> Self {
        match std::env::var_os("OPENDI_VOCAB") {
            Some(v) if v.is_empty() => VocabConfig::default(),
            Some(v) => VocabConfig::dir(v),
            None => {
                let d = PathBuf::from(DEFAULT_DIR);
                if d.is_dir() {
                    VocabConfig::dir(d)
                } else {
                    tracing::info!(
                        "no vocabulary directory (set OPENDI_VOCAB; {DEFAULT_DIR} is absent): built-in organisms and tissues only"
                    );
                    VocabConfig::default()
                }
            }
        }
    }
}

/// What one source contributed.
#[derive(Debug, Clone)]
pub struct SourceReport {
    pub name: &'static str,
    pub path: Option<PathBuf>,
    /// Concepts the source gave (new ones and ones merged into a built-in entry).
    pub concepts: usize,
    pub millis: f64,
    /// Why the source contributed nothing (missing, unreadable), if it did not.
    pub problem: Option<String>,
}

/// Concepts being gathered, merged by id.
#[derive(Default)]
struct Builder {
    concepts: Vec<Concept>,
    by_id: HashMap<String, usize>,
}

impl Builder {
    fn entry(&mut self, id: &str, label: &str, kind: Kind) -> &mut Concept {
        let i = *self.by_id.entry(id.to_string()).or_insert_with(|| {
            self.concepts.push(Concept::new(id, label, kind));
            self.concepts.len() - 1
        });
        &mut self.concepts[i]
    }
}

pub(crate) fn load(config: &VocabConfig) -> Vocabulary {
    let mut b = Builder::default();
    let mut sources = Vec::new();
    let mut run = |name: &'static str,
                   path: Option<PathBuf>,
                   b: &mut Builder,
                   f: &dyn Fn(&Path, &mut Builder) -> Result<usize, String>| {
        let started = Instant::now();
        let mut concepts = 0;
        let problem = match &path {
            None => Some("no vocabulary directory".to_string()),
            Some(p) if !p.exists() => Some(format!("{} not found", p.display())),
            Some(p) => match f(p, b) {
                Ok(n) => {
                    concepts = n;
                    None
                }
                Err(e) => Some(format!("{}: {e}", p.display())),
            },
        };
        if let Some(why) = &problem {
            tracing::warn!(
                vocabulary = name,
                "vocabulary not loaded, fewer synonyms: {why}"
            );
        }
        let report = SourceReport {
            name,
            path,
            concepts,
            millis: started.elapsed().as_secs_f64() * 1000.0,
            problem,
        };
        tracing::info!(
            vocabulary = name,
            concepts = report.concepts,
            ms = report.millis,
            "vocabulary loaded"
        );
        sources.push(report);
    };
    let dir = config.dir.as_deref();
    let at = |rel: &str| dir.map(|d| d.join(rel));

    run("hpo", at("hpo/hp.obo"), &mut b, &|p, b| load_hpo(p, b));
    let hpoa = at("hpo/phenotype.hpoa.gz")
        .filter(|p| p.exists())
        .or_else(|| at("hpo/phenotype.hpoa"));
    run("hpo-diseases", hpoa, &mut b, &|p, b| load_hpoa(p, b));
    let mondo = at("mondo/mondo.obo")
        .filter(|p| p.exists())
        .or_else(|| at("small-ontologies/mondo-sample.obo"));
    run("mondo", mondo, &mut b, &|p, b| load_mondo(p, b));
    let cl = dir.and_then(|d| newest(&d.join("small-ontologies"), "cell_ontology_", ".jsonl"));
    let cl = cl.or_else(|| at("small-ontologies/cell_ontology.jsonl"));
    run("cell-ontology", cl, &mut b, &|p, b| {
        load_cell_ontology(p, b)
    });
    load_builtin_taxa(&mut b);
    run(
        "ncbi-taxonomy",
        at("small-ontologies/ncbi-taxonomy-efetch-sample.xml"),
        &mut b,
        &|p, b| load_taxonomy_xml(p, b),
    );
    load_builtin_tissues(&mut b);
    Vocabulary {
        concepts: b.concepts,
        sources,
    }
}

/// The last (by name, so the newest dated) file `prefix*suffix` of a folder.
fn newest(dir: &Path, prefix: &str, suffix: &str) -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix) && n.ends_with(suffix))
        })
        .collect();
    found.sort();
    found.pop()
}

fn read_text(path: &Path) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    if path.extension().is_some_and(|e| e == "gz") {
        let mut s = String::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_string(&mut s)
            .map_err(|e| format!("gzip: {e}"))?;
        Ok(s)
    } else {
        String::from_utf8(bytes).map_err(|e| format!("not UTF-8: {e}"))
    }
}

/// Calls `each` with every line of a text file (gzip or not), one line in memory at a time.
/// The HPO annotations are 33 MB unpacked, for 13,000 disease names: read whole (a string
/// that doubled as it grew), they were 76 of a CLI search's 186 MB at 1M records, and
/// zeroing that fresh memory was half of the samples of its start in the profile.
fn for_each_line(path: &Path, mut each: impl FnMut(&str)) -> Result<(), String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut reader: Box<dyn BufRead> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(std::io::BufReader::new(flate2::read::GzDecoder::new(file)))
    } else {
        Box::new(std::io::BufReader::new(file))
    };
    let mut line = String::new();
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) => return Ok(()),
            Ok(_) => each(line.trim_end_matches(['\n', '\r'])),
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// HPO's root of phenotypic abnormalities. Only its descendants are phenotypes: the other
/// branches (mode of inheritance, onset, frequency, clinical modifiers) hold words such as
/// "Severe", "Frequent" or "Childhood onset" that describe, not name, a condition.
const HPO_PHENOTYPE_ROOT: &str = "HP:0000118";

fn load_hpo(path: &Path, b: &mut Builder) -> Result<usize, String> {
    let text = read_text(path)?;
    let terms = obo::parse(&text);
    if terms.is_empty() {
        return Err("no [Term] stanzas".into());
    }
    let mut children: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, t) in terms.iter().enumerate() {
        for p in &t.is_a {
            children.entry(p.as_str()).or_default().push(i);
        }
    }
    let mut keep = HashSet::new();
    let mut stack = vec![HPO_PHENOTYPE_ROOT];
    while let Some(id) = stack.pop() {
        for &c in children.get(id).map(Vec::as_slice).unwrap_or(&[]) {
            if keep.insert(c) {
                stack.push(&terms[c].id);
            }
        }
    }
    for (i, t) in terms.iter().enumerate() {
        if t.obsolete || !keep.contains(&i) || t.name.is_empty() {
            continue;
        }
        let c = b.entry(&t.id, &t.name, Kind::Phenotype);
        add_obo_synonyms(c, &t.synonyms);
    }
    Ok(keep.len())
}

fn add_obo_synonyms(c: &mut Concept, synonyms: &[obo::Synonym]) {
    for s in synonyms {
        let kind = s.kind.as_deref().unwrap_or("");
        if kind == "obsolete_synonym" || kind == "DEPRECATED" {
            continue;
        }
        let usage = match s.scope {
            SynonymScope::Exact if kind.eq_ignore_ascii_case("abbreviation") => {
                NameUse::Abbreviation
            }
            SynonymScope::Exact => NameUse::Exact,
            SynonymScope::Related => NameUse::Related,
            // Broader or narrower names would say something else than the term.
            SynonymScope::Broad | SynonymScope::Narrow => continue,
        };
        c.add_name(&s.text, usage);
    }
}

/// Disease names of `phenotype.hpoa` (OMIM, ORPHA, DECIPHER), with the variants text uses.
fn load_hpoa(path: &Path, b: &mut Builder) -> Result<usize, String> {
    let mut seen = HashSet::new();
    for_each_line(path, |line| {
        if line.starts_with('#') || line.starts_with("database_id") {
            return;
        }
        let mut cols = line.split('\t');
        let (Some(id), Some(name)) = (cols.next(), cols.next()) else {
            return;
        };
        let (id, name) = (id.trim(), name.trim());
        if id.is_empty() || name.is_empty() || seen.contains(id) {
            return;
        }
        seen.insert(id.to_string());
        let c = b.entry(id, name, Kind::Disease);
        add_disease_variants(c, name);
    })?;
    if seen.is_empty() {
        return Err("no disease lines".into());
    }
    Ok(seen.len())
}

/// OMIM and DECIPHER write "Williams-Beuren Syndrome (WBS)" and "Anemia, aplastic": text
/// writes "Williams-Beuren syndrome", "WBS" and "aplastic anemia".
fn add_disease_variants(c: &mut Concept, name: &str) {
    let mut base = name.to_string();
    if let (Some(open), true) = (name.rfind(" ("), name.ends_with(')')) {
        let inner = &name[open + 2..name.len() - 1];
        base = name[..open].trim().to_string();
        c.add_name(&base, NameUse::Exact);
        if is_acronym(inner) {
            c.add_name(inner, NameUse::Abbreviation);
        } else if !inner.to_ascii_lowercase().starts_with("type") {
            c.add_name(inner, NameUse::Exact);
        }
    }
    // One comma and no number: an inverted name ("Myopathy, congenital"). Names with
    // numbers ("Deafness, autosomal dominant 54") are catalogue entries text never writes.
    let parts: Vec<&str> = base.split(", ").collect();
    if parts.len() == 2 && !base.chars().any(|c| c.is_ascii_digit()) {
        c.add_name(&format!("{} {}", parts[1], parts[0]), NameUse::Exact);
    }
}

pub(crate) fn is_acronym(s: &str) -> bool {
    s.len() >= 2
        && s.chars().any(|c| c.is_ascii_uppercase())
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-')
}

fn load_mondo(path: &Path, b: &mut Builder) -> Result<usize, String> {
    let text = read_text(path)?;
    let terms = obo::parse(&text);
    if terms.is_empty() {
        return Err("no [Term] stanzas".into());
    }
    let mut n = 0;
    for t in terms {
        // The root ("disease") names no disease.
        if t.obsolete || t.name.is_empty() || t.is_a.is_empty() {
            continue;
        }
        let c = b.entry(&t.id, &t.name, Kind::Disease);
        add_obo_synonyms(c, &t.synonyms);
        n += 1;
    }
    Ok(n)
}

#[derive(serde::Deserialize)]
struct ClLine {
    norm_concept_id: String,
    norm_preferred_label: String,
    #[serde(default)]
    synonyms: Vec<String>,
}

fn load_cell_ontology(path: &Path, b: &mut Builder) -> Result<usize, String> {
    let text = read_text(path)?;
    let mut bad = 0usize;
    let mut good = 0usize;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let Ok(t) = serde_json::from_str::<ClLine>(line) else {
            bad += 1;
            continue;
        };
        good += 1;
        // CL:0000000 is "cell" itself.
        if t.norm_concept_id == "CL:0000000" || t.norm_preferred_label.is_empty() {
            continue;
        }
        let label = strip_qualifier(&t.norm_preferred_label);
        let c = b.entry(&t.norm_concept_id, &t.norm_preferred_label, Kind::CellType);
        c.add_name(label, NameUse::Exact);
        for s in &t.synonyms {
            let s = strip_qualifier(s);
            // The file does not give synonym scopes; CL's are mostly exact, but one-word
            // synonyms such as "basal", "band" or "delta" are everyday words in abstracts:
            // a single word names a cell only when it looks like a cell's name.
            let usage = if is_acronym(s) {
                NameUse::Abbreviation
            } else if s.contains(' ') || looks_like_cell_word(s) {
                NameUse::Exact
            } else {
                NameUse::Related
            };
            c.add_name(s, usage);
        }
    }
    if good == 0 {
        return Err(format!("no readable lines ({bad} unreadable)"));
    }
    if bad > 0 {
        tracing::warn!(
            unreadable = bad,
            "cell ontology: some lines were not understood"
        );
    }
    Ok(good)
}

fn looks_like_cell_word(w: &str) -> bool {
    let w = w.to_ascii_lowercase();
    let w = w.trim_end_matches('s');
    [
        "cyte", "blast", "clast", "phage", "phil", "cell", "neuron", "fiber", "fibre",
    ]
    .iter()
    .any(|suffix| w.ends_with(suffix))
}

/// "neuronal receptor cell (sensu Animalia)" is written "neuronal receptor cell" in text.
fn strip_qualifier(s: &str) -> &str {
    match s.rfind(" (") {
        Some(i) if s.ends_with(')') => s[..i].trim(),
        _ => s.trim(),
    }
}

/// Names text uses for an organism beyond its scientific and common names: irregular plurals
/// and "murine". Other adjectives were tried and dropped: "bovine" and "porcine" in
/// abstracts name reagents ("bovine serum albumin", "porcine insulin") more often than the
/// animal studied.
const EXTRA_TAXON_NAMES: &[(&str, &str)] = &[
    ("10090", "mice"),
    ("10090", "murine"),
    ("10090", "laboratory mouse"),
    ("10116", "rats"),
    ("9606", "humans"),
    ("9606", "human subjects"),
    ("7227", "Drosophila"),
    ("6239", "C. elegans"),
    ("562", "Escherichia coli"),
    ("4932", "yeast"),
    ("4932", "S. cerevisiae"),
    ("9823", "swine"),
    ("9031", "chickens"),
    ("9544", "rhesus macaque"),
];

/// Words that, where an abstract uses them, mean its subjects are people: the "patients" of
/// clinical papers are human even where "human" is never written.
const HUMAN_CONTEXT: &[&str] = &[
    "patient",
    "patients",
    "inpatients",
    "outpatients",
    "children",
    "infants",
    "women",
    "men",
    "volunteers",
    "healthy subjects",
    "participants",
    "adolescents",
];

/// Laboratory animals missing from `opendi-model`'s table (which serves organism facets):
/// named in abstracts often enough that "guinea pigs" must not read as pigs.
const EXTRA_TAXA: &[(&str, &str, &str)] = &[
    ("10141", "Cavia porcellus", "guinea pig"),
    ("9986", "Oryctolagus cuniculus", "rabbit"),
    ("9685", "Felis catus", "cat"),
    ("9796", "Equus caballus", "horse"),
];

fn load_builtin_taxa(b: &mut Builder) {
    for (taxon, sci, common) in opendi_model::COMMON_TAXA.iter().chain(EXTRA_TAXA) {
        // Strains share the species' common name; the species keeps it.
        let c = b.entry(&format!("NCBITaxon:{taxon}"), sci, Kind::Organism);
        if !sci.contains(" S288C") {
            c.add_name(common, NameUse::Exact);
        }
        c.add_name(taxon, NameUse::Identifier);
    }
    for (taxon, name) in EXTRA_TAXON_NAMES {
        if let Some(&i) = b.by_id.get(&format!("NCBITaxon:{taxon}")) {
            b.concepts[i].add_name(name, NameUse::Exact);
        }
    }
    if let Some(&i) = b.by_id.get("NCBITaxon:9606") {
        for w in HUMAN_CONTEXT {
            b.concepts[i].add_name(w, NameUse::Context);
        }
    }
}

fn load_builtin_tissues(b: &mut Builder) {
    for (id, label, names) in crate::tissues::TISSUES {
        let c = b.entry(id, label, Kind::Tissue);
        for n in *names {
            c.add_name(n, NameUse::Exact);
        }
    }
}

/// An NCBI Taxonomy efetch `TaxaSet`: each top-level `Taxon` with its names. The lineage
/// taxa inside it (`LineageEx`) are ranks above species ("Metazoa", "Chordata") and are left
/// out: they would make every mention of "mammals" an organism.
fn load_taxonomy_xml(path: &Path, b: &mut Builder) -> Result<usize, String> {
    use quick_xml::events::Event;
    let text = read_text(path)?;
    let mut reader = quick_xml::Reader::from_str(&text);
    let mut stack: Vec<String> = Vec::new();
    let mut taxon: Option<(String, String, Vec<String>)> = None;
    let mut found = 0;
    loop {
        match reader.read_event() {
            Err(e) => return Err(format!("xml: {e}")),
            Ok(Event::Eof) => break,
            Ok(Event::Start(e)) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                if name == "Taxon" && stack.len() == 1 {
                    taxon = Some(Default::default());
                }
                stack.push(name);
            }
            Ok(Event::End(_)) => {
                let name = stack.pop().unwrap_or_default();
                if name == "Taxon" && stack.len() == 1 {
                    if let Some((id, sci, others)) = taxon.take() {
                        if !id.is_empty() && !sci.is_empty() {
                            found += 1;
                            let c = b.entry(&format!("NCBITaxon:{id}"), &sci, Kind::Organism);
                            c.add_name(&id, NameUse::Identifier);
                            for o in others {
                                c.add_name(&o, NameUse::Exact);
                            }
                        }
                    }
                }
            }
            Ok(Event::Text(t)) => {
                let Some(tx) = taxon.as_mut() else { continue };
                let value = t.unescape().map_err(|e| format!("xml: {e}"))?;
                let value = value.trim();
                let path: Vec<&str> = stack.iter().map(String::as_str).collect();
                match path.as_slice() {
                    [_, "Taxon", "TaxId"] => tx.0 = value.to_string(),
                    [_, "Taxon", "ScientificName"] => tx.1 = value.to_string(),
                    [_, "Taxon", "OtherNames", "GenbankCommonName" | "CommonName" | "Synonym" | "EquivalentName"
                    | "Includes"] => tx.2.push(value.to_string()),
                    _ => {}
                }
            }
            Ok(_) => {}
        }
    }
    if found == 0 {
        return Err("no Taxon entries".into());
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disease_names_get_the_variants_text_uses() {
        let mut c = Concept::new(
            "DECIPHER:3",
            "Williams-Beuren Syndrome (WBS)",
            Kind::Disease,
        );
        add_disease_variants(&mut c, "Williams-Beuren Syndrome (WBS)");
        let names: Vec<(&str, NameUse)> =
            c.names.iter().map(|n| (n.text.as_str(), n.usage)).collect();
        assert!(names.contains(&("Williams-Beuren Syndrome", NameUse::Exact)));
        assert!(names.contains(&("WBS", NameUse::Abbreviation)));

        let mut c = Concept::new("OMIM:1", "Myopathy, congenital", Kind::Disease);
        add_disease_variants(&mut c, "Myopathy, congenital");
        assert_eq!(c.names[1].text, "congenital Myopathy");

        let mut c = Concept::new("OMIM:2", "Deafness, autosomal dominant 54", Kind::Disease);
        add_disease_variants(&mut c, "Deafness, autosomal dominant 54");
        assert_eq!(c.names.len(), 1);
    }

    #[test]
    fn builtins_alone_know_human_and_common_tissues() {
        let v = load(&VocabConfig::default());
        let human = v
            .concepts
            .iter()
            .find(|c| c.id == "NCBITaxon:9606")
            .unwrap();
        assert_eq!(human.label, "Homo sapiens");
        assert!(human.names.iter().any(|n| n.text == "human"));
        assert!(human
            .names
            .iter()
            .any(|n| n.text == "9606" && n.usage == NameUse::Identifier));
        assert!(v.count(Kind::Tissue) > 50);
        assert!(v.sources.iter().all(|s| s.problem.is_some()));
    }
}
