//! Writes `src/link/bioregistry.tsv`, the compact table `opendi_ingest::link` embeds, from the
//! Bioregistry's `bioregistry.json` (CC0).
//!
//! ```text
//! cargo run -p opendi-ingest --example gen_bioregistry -- [path/to/bioregistry.json] [out.tsv]
//! ```
//!
//! Defaults: `../shared/corpora/vocab/bioregistry/bioregistry.json` beside the workspace, and
//! the table inside this crate. The Bioregistry version is read from the `PROVENANCE.md` beside
//! the JSON (`bioregistry==X.Y.Z`) and written into the table's header.
//!
//! The table has two kinds of rows:
//! - `L` (link): every namespace with a URL format, for link-outs and for resolving the
//!   database names sources write (`ClinicalTrials.gov`, `TAXONOMY`) through its synonyms.
//! - `S` (scan): the allow-listed namespaces worth recognising in free text, with the regex used
//!   for prose. Scanning prose with all 2,937 patterns would be garbage: most local ids are bare
//!   numbers (`^\d+$`: ChEBI, PubMed, NCBI Gene, OMIM …) or catch-alls (`^\w+$`). Only ids whose
//!   written form is self-describing (a literal prefix such as `GSE`, `PXD`, `NCT`), or that are
//!   written behind a label (`PMID:`, `CHEBI:`, `GenBank accession`), are scanned.

use serde_json::Value;
use std::fmt::Write as _;
use std::path::PathBuf;

/// One allow-listed namespace.
struct Scan {
    prefix: &'static str,
    /// A regex the id must follow (a label such as `PMID:`), or "" for self-describing ids.
    context: &'static str,
    /// The regex for prose when the Bioregistry pattern does not fit it, or None to derive it
    /// from the pattern (anchors dropped, `\d`/`\w` made ASCII).
    prose: Option<&'static str>,
    /// Also match lower-case writing (`gse12345`); the id is upper-cased. Only for ids that start
    /// with a literal of three or more letters.
    ci: bool,
    /// Why it is scanned, and why the pattern was replaced where it was.
    #[allow(dead_code)]
    why: &'static str,
}

const fn s(prefix: &'static str, ci: bool, why: &'static str) -> Scan {
    Scan {
        prefix,
        context: "",
        prose: None,
        ci,
        why,
    }
}
const fn o(prefix: &'static str, prose: &'static str, ci: bool, why: &'static str) -> Scan {
    Scan {
        prefix,
        context: "",
        prose: Some(prose),
        ci,
        why,
    }
}
const fn c(
    prefix: &'static str,
    context: &'static str,
    prose: Option<&'static str>,
    why: &'static str,
) -> Scan {
    Scan {
        prefix,
        context,
        prose,
        ci: false,
        why,
    }
}

/// Order matters where two patterns match at the same place: the first wins (EGA study before
/// any EGA id, CTIS before EudraCT).
const ALLOW: &[Scan] = &[
    // Functional genomics and sequencing archives.
    s("geo", true, "GSE/GSM/GPL/GDS: the letters are part of the accession"),
    o("arrayexpress", r"E-[A-Z]{4}-[0-9]+", true, "experiments only: the Bioregistry pattern [AEP]-… also covers arrays (A-) and protocols (P-)"),
    o("arrayexpress.platform", r"A-[A-Z]{4}-[0-9]+", true, "array designs (A-AFFY-44); the shared pattern narrowed to A-"),
    o("biostudies", r"S-[A-Z]{4}[-_A-Z0-9]*[0-9]", false, "S-BSST…, S-EPMC…; must end in a digit so all-caps chemical names (S-ADENOSYL-…) stay out"),
    s("pride.project", true, "PXD/PRD/PAD and six digits"),
    o("massive", r"MSV[0-9]{9}", true, "MassIVE ids have nine digits; MSV+digits alone also names maize streak virus isolates"),
    s("metabolights", true, "MTBLS studies (and MTBLC compounds)"),
    s("mw.study", false, "ST and six digits"),
    s("ega.study", true, "EGAS + 11 digits"),
    s("ega.dataset", true, "EGAD + 11 digits"),
    s("ega", true, "other EGA objects (EGAC, EGAN, EGAF …)"),
    s("bioproject", true, "PRJNA/PRJEB/PRJDB"),
    s("biosample", true, "SAMN/SAMEA/SAMD"),
    o("insdc.sra", r"[SED]R[APRSXZ][0-9]{6,}", true, "SRA/ENA/DDBJ study, run, experiment …; at least six digits, shorter ones are abbreviations"),
    o("dbgap", r"phs[0-9]{6}(?:\.v[0-9]+\.p[0-9]+)?", false, "dbGaP studies; the Bioregistry pattern leaves its dots unescaped"),
    s("emdb", true, "EMD-nnnn cryo-EM maps"),
    s("insdc.gca", false, "GCA_ genome assemblies"),
    s("refseq", false, "NM_/NP_/NC_ …: the underscore makes them unambiguous"),
    c("pdb", r"(?i:PDB(?:\s+(?:ID|code|entry|accession)s?)?)[\s:#]+", None, "four characters such as 2019 or 1A2B: only behind a PDB label"),
    c("insdc", r"(?i:(?:GenBank|EMBL|DDBJ|ENA|INSDC)(?:\s+(?:nucleotide|sequence))?(?:\s+accession)?(?:\s+(?:numbers?|nos?\.?|ids?))?)[\s:#]+", None, "GenBank/ENA/DDBJ sequences: AB123456 is also a catalogue number, so only behind a label"),
    // Clinical trials.
    s("clinicaltrials", true, "NCT and eight digits"),
    o("ctis", r"(?:19|20)[0-9]{2}-5[0-9]{5}-[0-9]{2}-[0-9]{2}", false, "EU CTIS numbers; the Bioregistry pattern accepts any four number groups"),
    o("euclinicaltrials", r"(?:19|20)[0-9]{2}-[0-9]{6}-[0-9]{2}", false, "EudraCT: year-number-check; the year keeps phone-like numbers out"),
    s("isrctn", true, "ISRCTN and digits"),
    s("drks", true, "DRKS and digits"),
    s("anzctr", true, "ACTRN and digits"),
    s("chictr", false, "ChiCTR and digits (mixed case as written)"),
    s("jrct", false, "jRCT ids"),
    s("ctri", true, "CTRI/yyyy/nn/n"),
    // Literature.
    o("pmc", r"PMC[0-9]+", true, "PMC ids; the optional version suffix is dropped (a sentence may end in PMC123.)"),
    c("pubmed", r"(?i:(?:PMID|PubMed\s*ID)\s*:?|PubMed\s*:)\s*", Some(r"[0-9]{1,9}"), "bare numbers are ambiguous: only behind PMID or PubMed:"),
    o("doi", r"10\.[0-9]{4,9}/[^\s\x22<>]+", false, "the Bioregistry pattern ends in .*; prose stops at white space and trailing punctuation is trimmed"),
    // Molecules and genes where the written form is unambiguous.
    c("uniprot", r"(?i:UniProt(?:KB)?(?:/Swiss-?Prot)?|Swiss-?Prot|TrEMBL)(?:\s+(?:accession|entry|ID)s?)?(?:\s+(?:numbers?|nos?\.?))?[\s:#]+", None, "only behind a UniProt label: bare, the shape also fits space groups (P41212) and mouse strains (C3D2F1)"),
    s("chebi", true, "written with its CHEBI: prefix (the local id alone is a bare number)"),
    o("ensembl", r"ENS[A-Z]{0,6}[EFGPRT][0-9]{11}(?:\.[0-9]+)?", false, "Ensembl stable ids with species codes (ENSMUSG…); the Bioregistry pattern ends in a catch-all"),
    s("interpro", false, "IPR and six digits"),
    s("dbsnp", false, "rs numbers"),
];

/// Where a value may stand: the Bioregistry's own field first, then the registries it imports.
const SOURCES: &[&str] = &[
    "miriam",
    "n2t",
    "prefixcommons",
    "cellosaurus.resource",
    "wikidata",
    "go.resource",
    "biocontext",
    "ols",
    "obofoundry",
    "ontobee",
    "bartoc",
    "uniprot.resource",
    "fairsharing",
    "integbio",
    "re3data",
    "edam.data",
];

fn field<'a>(e: &'a Value, key: &str) -> Option<&'a str> {
    e.get(key).and_then(Value::as_str).or_else(|| {
        SOURCES
            .iter()
            .find_map(|s| e.get(*s).and_then(|m| m.get(key)).and_then(Value::as_str))
    })
}

fn example(e: &Value) -> Option<&str> {
    e.get("example").and_then(Value::as_str).or_else(|| {
        SOURCES.iter().find_map(|s| {
            e.get(*s)
                .and_then(|m| m.get("examples"))
                .and_then(|x| x.get(0))
                .and_then(Value::as_str)
        })
    })
}

/// The text written before the local id when the namespace is part of it (`CHEBI:`), and the
/// separator: the Bioregistry's `banana`, or the upper-cased prefix when MIRIAM says the
/// namespace is embedded in the local id.
fn banana(prefix: &str, e: &Value) -> Option<String> {
    let embedded = e
        .get("namespace_in_lui")
        .and_then(Value::as_bool)
        .or_else(|| {
            e.pointer("/miriam/extras/namespaceEmbeddedInLui")
                .and_then(Value::as_bool)
        })
        .unwrap_or(false);
    let peel = e.get("banana_peel").and_then(Value::as_str).unwrap_or(":");
    match e.get("banana").and_then(Value::as_str) {
        Some(b) if embedded => Some(format!("{b}{peel}")),
        None if embedded => Some(format!(
            "{}{peel}",
            e.get("preferred_prefix")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| prefix.to_ascii_uppercase())
        )),
        _ => None,
    }
}

/// A Bioregistry pattern for prose: anchors dropped, `\d` and `\w` ASCII, groups non-capturing.
fn prose(pattern: &str) -> String {
    let p = pattern.trim_start_matches('^').trim_end_matches('$');
    let mut out = String::new();
    let mut chars = p.chars().peekable();
    let mut in_class = false;
    while let Some(ch) = chars.next() {
        match ch {
            '\\' => match chars.next() {
                Some('d') if in_class => out.push_str("0-9"),
                Some('w') if in_class => out.push_str("A-Za-z0-9_"),
                Some('d') => out.push_str("[0-9]"),
                Some('w') => out.push_str("[A-Za-z0-9_]"),
                Some(x) => {
                    out.push('\\');
                    out.push(x);
                }
                None => out.push('\\'),
            },
            '[' => {
                in_class = true;
                out.push(ch);
            }
            ']' => {
                in_class = false;
                out.push(ch);
            }
            '(' if !in_class && chars.peek() != Some(&'?') => out.push_str("(?:"),
            _ => out.push(ch),
        }
    }
    out
}

fn clean(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut args = std::env::args().skip(1);
    let input = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../../../shared/corpora/vocab/bioregistry/bioregistry.json"));
    let output = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("src/link/bioregistry.tsv"));
    let text =
        std::fs::read_to_string(&input).unwrap_or_else(|e| panic!("{}: {e}", input.display()));
    let registry: serde_json::Map<String, Value> =
        serde_json::from_str(&text).expect("bioregistry.json is a JSON object");
    let provenance =
        std::fs::read_to_string(input.with_file_name("PROVENANCE.md")).unwrap_or_default();
    let version = provenance
        .split("bioregistry==")
        .nth(1)
        .map(|v| {
            v.split(|c: char| !(c.is_ascii_alphanumeric() || c == '.'))
                .next()
                .unwrap_or("")
        })
        .filter(|v| !v.is_empty())
        .unwrap_or("unknown version");

    let mut out = String::new();
    writeln!(
        out,
        "# Bioregistry {version} (https://bioregistry.io, CC0-1.0), {} namespaces.",
        registry.len()
    )
    .unwrap();
    writeln!(out, "# Generated by `cargo run -p opendi-ingest --example gen_bioregistry`; do not edit by hand.").unwrap();
    writeln!(out, "# kind\tprefix\tname\turi_format\tbanana\tsynonyms\tpattern\texample\tcontext\tscan\tflags").unwrap();
    writeln!(out, "# kind S: scanned in free text (context: regex the id follows; scan: regex for the id). kind L: link-out only.").unwrap();

    let mut scanned = 0;
    for a in ALLOW {
        let e = registry.get(a.prefix).unwrap_or_else(|| {
            panic!("allow-listed prefix {} is not in the Bioregistry", a.prefix)
        });
        let pattern = field(e, "pattern").unwrap_or("");
        let b = banana(a.prefix, e);
        let scan = match (a.prose, &b) {
            (Some(p), _) => p.to_string(),
            (None, Some(b)) => format!("(?i:{}){}", regex::escape(b), prose(pattern)),
            (None, None) => {
                assert!(!pattern.is_empty(), "{} has no pattern", a.prefix);
                prose(pattern)
            }
        };
        let ex = example(e).unwrap_or("");
        // The example must be recognised, as it is written (with its banana where it has one).
        let written = match &b {
            Some(b) if !ex.starts_with(b.as_str()) => format!("{b}{ex}"),
            _ => ex.to_string(),
        };
        let whole = regex::Regex::new(&format!("^(?:{scan})$")).expect("scan regex");
        assert!(
            whole.is_match(&written),
            "{}: example {written} does not match {scan}",
            a.prefix
        );
        write_row(
            &mut out,
            "S",
            a.prefix,
            e,
            b.as_deref(),
            pattern,
            ex,
            a.context,
            &scan,
            if a.ci { "ci" } else { "" },
        );
        scanned += 1;
    }
    let mut linked = 0;
    for (prefix, e) in &registry {
        if ALLOW.iter().any(|a| a.prefix == prefix) {
            continue;
        }
        if e.get("deprecated").and_then(Value::as_bool) == Some(true) {
            continue;
        }
        if field(e, "uri_format").is_none() {
            continue;
        }
        let b = banana(prefix, e);
        write_row(&mut out, "L", prefix, e, b.as_deref(), "", "", "", "", "");
        linked += 1;
    }
    std::fs::write(&output, &out).unwrap_or_else(|e| panic!("{}: {e}", output.display()));
    eprintln!(
        "{}: Bioregistry {version}, {scanned} scanned + {linked} link-out namespaces, {} bytes",
        output.display(),
        out.len()
    );
}

#[allow(clippy::too_many_arguments)]
fn write_row(
    out: &mut String,
    kind: &str,
    prefix: &str,
    e: &Value,
    banana: Option<&str>,
    pattern: &str,
    example: &str,
    context: &str,
    scan: &str,
    flags: &str,
) {
    let name = clean(field(e, "name").unwrap_or(""));
    let uri = clean(field(e, "uri_format").unwrap_or(""));
    let mut synonyms: Vec<String> = e
        .get("synonyms")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(clean).collect())
        .unwrap_or_default();
    if let Some(p) = e.get("preferred_prefix").and_then(Value::as_str) {
        synonyms.insert(0, clean(p));
    }
    synonyms.retain(|s| !s.is_empty() && !s.contains('|') && !s.eq_ignore_ascii_case(prefix));
    synonyms.dedup();
    for v in [pattern, example, context, scan] {
        assert!(
            !v.contains('\t') && !v.contains('\n'),
            "{prefix}: tab or newline in {v}"
        );
    }
    writeln!(
        out,
        "{kind}\t{prefix}\t{name}\t{uri}\t{}\t{}\t{pattern}\t{example}\t{context}\t{scan}\t{flags}",
        banana.unwrap_or(""),
        synonyms.join("|")
    )
    .unwrap();
}
