//! Accessions in free text, and links out to the databases they belong to.
//!
//! Both come from the Bioregistry (<https://bioregistry.io>, CC0), through the compact table
//! `bioregistry.tsv` beside this file: `examples/gen_bioregistry.rs` writes it from
//! `bioregistry.json` (its header names the Bioregistry version). Namespaces are named by their
//! Bioregistry prefix (`geo`, `pride.project`, `clinicaltrials`, `pubmed`).
//!
//! - [`find_accessions`] recognises the ids of an allow-list of namespaces (dataset archives,
//!   trial registries, literature, a few unambiguous molecule ids) in one pass of one regex.
//! - [`annotate`] adds what it finds in a record's text as cross-references found in text.
//! - [`link_url`] turns a cross-reference (under a Bioregistry prefix or a database name as
//!   sources write it: `ClinicalTrials.gov`, `TAXONOMY`) into a URL.

use opendi_model::{Dataset, Evidence, PublicationRef};
use regex::Regex;
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::LazyLock;

const TABLE_TSV: &str = include_str!("bioregistry.tsv");

/// One namespace of the table.
#[derive(Debug, Clone, Copy)]
pub struct Namespace {
    /// The Bioregistry prefix (`geo`, `pride.project`).
    pub prefix: &'static str,
    pub name: &'static str,
    /// URL with `$1` standing for the local id; empty when the Bioregistry has none.
    pub uri_format: &'static str,
    /// What is written before the local id when it is part of the accession (`CHEBI:`).
    pub banana: &'static str,
    /// Whether [`find_accessions`] looks for this namespace's ids.
    pub scanned: bool,
}

/// An accession found in text. `start..end` is the byte range of the id itself (a label such
/// as `PMID:` before it is not included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Bioregistry prefix: `geo`, `pride.project`, `clinicaltrials`, `pubmed`, `doi` …
    pub prefix: &'static str,
    /// The id as written, with letter case normalized where it is not significant
    /// (`gse123` -> `GSE123`, `chebi:15377` -> `CHEBI:15377`).
    pub id: String,
    pub start: usize,
    pub end: usize,
}

struct Rule {
    ns: usize,
    /// Index of the capture group around the id.
    group: usize,
    /// Matched case-insensitively: upper-case the id.
    upper: bool,
}

struct Table {
    version: &'static str,
    namespaces: Vec<Namespace>,
    /// Folded spelling (see [`fold`]) -> namespace.
    by_name: HashMap<String, usize>,
    rules: Vec<Rule>,
    /// One alternative per rule, capture group `k{i}` around the id.
    regex: Regex,
}

/// Database names sources write for the namespaces opendi scans, where the Bioregistry prefix
/// or its synonyms differ. These win over Bioregistry prefixes: OmicsDI's `pride` means PRIDE
/// projects (the Bioregistry's `pride` is an ontology), and GenBank, ENA and DDBJ share one
/// accession space (`insdc`).
const ALIASES: &[(&str, &str)] = &[
    ("pride", "pride.project"),
    ("proteomexchange", "pride.project"),
    ("px", "pride.project"),
    ("genbank", "insdc"),
    ("ddbj", "insdc"),
    ("embl", "insdc"),
    ("arrayexpress-repository", "arrayexpress"),
    ("ae", "arrayexpress"),
    ("metabolights_dataset", "metabolights"),
    ("metabolomics_workbench", "mw.study"),
    ("metabolomics workbench", "mw.study"),
    ("biostudies-literature", "biostudies"),
    ("biostudies-arrayexpress", "biostudies"),
    ("sra", "insdc.sra"),
    ("clinicaltrials.gov", "clinicaltrials"),
    ("eudract", "euclinicaltrials"),
    ("euctr", "euclinicaltrials"),
    ("eu ctr", "euclinicaltrials"),
    ("eu ctis", "ctis"),
    ("taxonomy", "ncbitaxon"),
    ("pubmed", "pubmed"),
    ("pmid", "pubmed"),
    ("medline", "pubmed"),
    ("pmc", "pmc"),
    ("pmcid", "pmc"),
    ("europe pmc", "pmc"),
    ("doi", "doi"),
];

/// Case, spaces, `_`, `-` and `.` do not distinguish database names (`ClinicalTrials.gov`,
/// `clinicaltrials_gov`).
fn fold(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-' | '.'))
        .flat_map(char::to_lowercase)
        .collect()
}

static TABLE: LazyLock<Table> = LazyLock::new(|| load(TABLE_TSV));

fn load(tsv: &'static str) -> Table {
    let mut version = "";
    let mut namespaces = Vec::new();
    let mut synonyms: Vec<(&str, usize)> = Vec::new();
    let mut rules = Vec::new();
    let mut alternatives = Vec::new();
    for line in tsv.lines() {
        if let Some(comment) = line.strip_prefix("# Bioregistry ") {
            version = comment.split_whitespace().next().unwrap_or("");
        }
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let f: Vec<&'static str> = line.split('\t').collect();
        let col = |i: usize| f.get(i).copied().unwrap_or("");
        let scanned = col(0) == "S";
        let i = namespaces.len();
        namespaces.push(Namespace {
            prefix: col(1),
            name: col(2),
            uri_format: col(3),
            banana: col(4),
            scanned,
        });
        synonyms.extend(col(5).split('|').filter(|s| !s.is_empty()).map(|s| (s, i)));
        if scanned {
            let upper = col(10).split(',').any(|f| f == "ci");
            let id = if upper {
                format!("(?i:{})", col(9))
            } else {
                col(9).to_string()
            };
            // ASCII word boundaries keep the whole regex in the fast DFA on any text.
            alternatives.push(format!(
                r"(?-u:\b)(?:{})(?P<k{}>{id})(?-u:\b)",
                col(8),
                rules.len()
            ));
            rules.push(Rule {
                ns: i,
                group: 0,
                upper,
            });
        }
    }
    let mut by_name = HashMap::new();
    for (alias, prefix) in ALIASES {
        if let Some(i) = namespaces.iter().position(|n| n.prefix == *prefix) {
            by_name.insert(fold(alias), i);
        }
    }
    for (i, n) in namespaces.iter().enumerate() {
        by_name.entry(fold(n.prefix)).or_insert(i);
    }
    for (s, i) in synonyms {
        by_name.entry(fold(s)).or_insert(i);
    }
    let regex = Regex::new(&alternatives.join("|")).expect("bioregistry scan patterns compile");
    let groups: Vec<Option<&str>> = regex.capture_names().collect();
    for (i, r) in rules.iter_mut().enumerate() {
        let name = format!("k{i}");
        r.group = groups
            .iter()
            .position(|g| *g == Some(name.as_str()))
            .expect("every rule has its group");
    }
    Table {
        version,
        namespaces,
        by_name,
        rules,
        regex,
    }
}

/// The Bioregistry version the table was generated from (`0.15.6`).
pub fn bioregistry_version() -> &'static str {
    TABLE.version
}

/// The namespace a Bioregistry prefix, one of its synonyms, or a database name as sources
/// write it (`GEO`, `ClinicalTrials.gov`, `PRIDE`, `TAXONOMY`) stands for.
pub fn namespace(prefix_or_database: &str) -> Option<&'static Namespace> {
    let t = &*TABLE;
    t.by_name
        .get(&fold(prefix_or_database.trim()))
        .map(|&i| &t.namespaces[i])
}

/// The Bioregistry prefix for a database name (see [`namespace`]).
pub fn prefix_for(prefix_or_database: &str) -> Option<&'static str> {
    namespace(prefix_or_database).map(|n| n.prefix)
}

/// Every namespace of the table: the scanned ones first, then all others with a URL format.
pub fn namespaces() -> &'static [Namespace] {
    &TABLE.namespaces
}

/// The page of `key` in its database, from the Bioregistry's URL format. The key may carry its
/// namespace where that is part of the accession (`CHEBI:15377`).
pub fn link_url(prefix_or_database: &str, key: &str) -> Option<String> {
    let ns = namespace(prefix_or_database)?;
    let key = key.trim();
    if ns.uri_format.is_empty() || key.is_empty() {
        return None;
    }
    let local = strip_banana(ns, key);
    Some(ns.uri_format.replace("$1", &escape_url(local)))
}

fn strip_banana<'a>(ns: &Namespace, key: &'a str) -> &'a str {
    let b = ns.banana;
    if !b.is_empty() && key.len() > b.len() && key.is_char_boundary(b.len()) {
        let (head, rest) = key.split_at(b.len());
        if head.eq_ignore_ascii_case(b) {
            return rest;
        }
    }
    key
}

/// Percent-encodes what may not stand in a URL as is; keeps `/`, `:` and the like that ids use.
fn escape_url(s: &str) -> Cow<'_, str> {
    let bad = |b: u8| {
        !b.is_ascii_graphic()
            || matches!(
                b,
                b'"' | b'<'
                    | b'>'
                    | b'#'
                    | b'%'
                    | b'{'
                    | b'}'
                    | b'|'
                    | b'\\'
                    | b'^'
                    | b'`'
                    | b'?'
                    | b'&'
            )
    };
    if !s.bytes().any(bad) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for b in s.bytes() {
        if bad(b) {
            out.push_str(&format!("%{b:02X}"));
        } else {
            out.push(b as char);
        }
    }
    Cow::Owned(out)
}

/// Accessions of the scanned namespaces in `text`, in text order. PubMed ids are only taken
/// behind `PMID`/`PubMed:`, GenBank/ENA and PDB ids only behind their database's name; DOIs
/// lose trailing punctuation and unbalanced closing brackets.
pub fn find_accessions(text: &str) -> Vec<Found> {
    let t = &*TABLE;
    let mut found = Vec::new();
    for caps in t.regex.captures_iter(text) {
        let Some((rule, m)) = t
            .rules
            .iter()
            .find_map(|r| caps.get(r.group).map(|m| (r, m)))
        else {
            continue;
        };
        let ns = &t.namespaces[rule.ns];
        let mut id = m.as_str();
        if ns.prefix == "doi" {
            id = trim_doi(id);
        }
        let id = if rule.upper {
            id.to_ascii_uppercase()
        } else {
            id.to_string()
        };
        found.push(Found {
            prefix: ns.prefix,
            start: m.start(),
            end: m.start() + id.len(),
            id,
        });
    }
    found
}

/// A DOI ends before trailing sentence punctuation and before a closing bracket it did not open.
fn trim_doi(mut s: &str) -> &str {
    loop {
        let before = s.len();
        s = s.trim_end_matches(['.', ',', ';', ':', '\'', '"']);
        for (open, close) in [('(', ')'), ('[', ']'), ('{', '}')] {
            if s.ends_with(close) && s.matches(open).count() < s.matches(close).count() {
                s = &s[..s.len() - 1];
            }
        }
        if s.len() == before {
            return s;
        }
    }
}

/// DOI prefixes of data repositories: a DOI behind `doi:` under one of these is a dataset, not
/// a publication (Zenodo, Dryad, figshare, Mendeley Data, Harvard Dataverse, GBIF, PANGAEA).
const DATA_DOI_PREFIXES: &[&str] = &[
    "10.5281/",
    "10.5061/",
    "10.6084/",
    "10.17632/",
    "10.7910/",
    "10.15468/",
    "10.1594/",
];

/// True when `text` labels the DOI at `start` as one (`doi:`, `DOI `, `doi.org/`).
fn labelled_doi(text: &str, start: usize) -> bool {
    let before = text[..start].trim_end();
    let tail: String = before
        .chars()
        .rev()
        .take(8)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect::<String>()
        .to_ascii_lowercase();
    tail.ends_with("doi:") || tail.ends_with("doi") || tail.ends_with("doi.org/")
}

/// Markup removed for scanning: inline tags vanish (`GSE<b>1</b>2` is not split), other tags
/// and the common entities become the text they stand for.
fn strip_markup(s: &str) -> Cow<'_, str> {
    if !s.contains('<') && !s.contains('&') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        let Some(j) = rest[i..].find('>') else {
            out.push_str(&rest[i..]);
            rest = "";
            break;
        };
        let tag = rest[i + 1..i + j].trim_start_matches('/');
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        let inline = matches!(
            name.as_str(),
            "i" | "b"
                | "em"
                | "strong"
                | "sup"
                | "sub"
                | "u"
                | "span"
                | "a"
                | "code"
                | "tt"
                | "small"
        );
        if !inline {
            out.push(' ');
        }
        rest = &rest[i + j + 1..];
    }
    out.push_str(rest);
    if out.contains('&') {
        out = out
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&apos;", "'")
            .replace("&nbsp;", " ")
            .replace("&amp;", "&");
    }
    Cow::Owned(out)
}

/// Adds the accessions named in the record's text (title, description, protocols, keywords and
/// additional fields) as cross-references found in text, under their Bioregistry prefix. The
/// record's own accessions are skipped, and so are keys a cross-reference already has (under
/// any spelling of the same database; for non-numeric keys, under any database). PubMed and
/// PMC ids, and DOIs written behind `doi:` (data repositories' DOIs aside), also become
/// publication references.
pub fn annotate(dataset: &mut Dataset) {
    let mut found = Vec::new();
    {
        let d = &*dataset;
        let mut scan = |text: &str| {
            let text = strip_markup(text);
            for f in find_accessions(&text) {
                let publication = match f.prefix {
                    "pubmed" | "pmc" => true,
                    "doi" => {
                        labelled_doi(&text, f.start)
                            && !DATA_DOI_PREFIXES.iter().any(|p| f.id.starts_with(p))
                    }
                    _ => false,
                };
                found.push((f, publication));
            }
        };
        scan(&d.title);
        scan(&d.description);
        for list in [
            &d.data_protocols,
            &d.sample_protocols,
            &d.submitter_keywords,
            &d.curator_keywords,
        ] {
            list.iter().for_each(|t| scan(t));
        }
        for values in d.additional.values() {
            values.iter().for_each(|t| scan(t));
        }
    }
    for (f, publication) in found {
        if dataset
            .all_accessions()
            .any(|a| a.eq_ignore_ascii_case(&f.id))
        {
            continue;
        }
        if publication {
            let mut r = PublicationRef::default();
            match f.prefix {
                "pubmed" => r.pmid = Some(f.id.clone()),
                "pmc" => r.pmcid = Some(f.id.clone()),
                _ => r.doi = Some(f.id.clone()),
            }
            dataset.add_publication(r);
        }
        if known(dataset, f.prefix, &f.id) {
            continue;
        }
        dataset.add_cross_ref(f.prefix, &f.id, Evidence::FoundInText);
    }
}

/// Whether the record already has this key as a cross-reference: same key (ignoring case and a
/// written namespace such as `CHEBI:`), and the same database unless the key says which it is.
fn known(d: &Dataset, prefix: &str, id: &str) -> bool {
    let ns = namespace(prefix);
    let bare = |db: Option<&Namespace>, k: &str| -> String {
        match db {
            Some(n) => strip_banana(n, k).to_ascii_lowercase(),
            None => k.to_ascii_lowercase(),
        }
    };
    let key = bare(ns, id);
    let numeric = key.bytes().all(|b| b.is_ascii_digit());
    d.cross_refs.iter().any(|c| {
        let cns = namespace(&c.database);
        let same_db =
            cns.map(|n| n.prefix) == Some(prefix) || c.database.eq_ignore_ascii_case(prefix);
        (same_db || !numeric) && bare(if same_db { ns } else { cns }, &c.key) == key
    })
}

#[cfg(test)]
mod tests;
