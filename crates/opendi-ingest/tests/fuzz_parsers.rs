//! Every parser of the `FORMATS` table, fed real files of the corpora mutated at random
//! (issue 6): cut short, bytes flipped, markup inserted or removed, spans duplicated, and fed
//! to the other parsers too. A parser must return (never panic) with output bounded by its
//! input. Case counts are bounded so CI stays quick; `fuzz/` has the long-running
//! cargo-fuzz targets for the same parsers.

use opendi_ingest::{parse_bytes, FormatSpec, FORMATS};
use opendi_model::{Item, PartialDate};
use proptest::prelude::*;
use std::sync::LazyLock;

/// One real input per format: (format name, corpus file; `@fixtures/` names a file of
/// `tests/fixtures`, written for this project, where the corpora hold none of the format).
const SEEDS: &[(&str, &str)] = &[
    (
        "omicsdi-xml",
        "omicsdi-xml/ddi-annotation/ddi-annotation__PRIDE_EBEYE_PXD000005.xml",
    ),
    (
        "arrayexpress-xml",
        "arrayexpress/ae-experiments-example.xml",
    ),
    ("mage-tab", "arrayexpress/E-MEXP-986.idf.txt"),
    ("geo-soft", "geo/omicsdi-index-pipeline/GSE9309.txt"),
    ("pubmed-xml", "pubmed/pubmed-29768149.xml"),
    ("datacite-json", "@fixtures/datacite/metadata-schema.json"),
    ("schema-org", "@fixtures/schemaorg/zenodo-dataset.jsonld"),
    (
        "clinical-trials-jsonl",
        "clinical-trials/ctrdata-demo/demo-trials.jsonl",
    ),
    ("pmc-jats", "pmc-jats/pone.0046493.nxml"),
    ("medline", "entrez/Medline/pubmed_result2.txt"),
    ("isa-json", "isa-tab/bii/json/BII-I-1/BII-I-1.json"),
    ("isa-tab", "isa-tab/bii/tab/BII-S-3/i_gilbert.txt"),
    (
        "biostudies-pagetab",
        "biostudies-pagetab-spec/AllInOneExample.md",
    ),
];

/// Inputs larger than this are cut (at a line end) so that each case stays cheap.
const MAX_SEED: usize = 48 * 1024;

struct Seed {
    format: &'static FormatSpec,
    bytes: Vec<u8>,
}

fn load(path: &str) -> Option<Vec<u8>> {
    if let Some(rel) = path.strip_prefix("@fixtures/") {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(rel);
        return Some(std::fs::read(p).expect("fixture"));
    }
    let bytes = std::fs::read(opendi_corpora::corpus(path)?).unwrap();
    if path.ends_with(".md") {
        // The PageTab specification's example submission: its JSON code block.
        let text = String::from_utf8(bytes).unwrap();
        let start = text.find("```json").expect("a JSON example") + "```json".len();
        let end = start + text[start..].find("```").expect("closed");
        return Some(text[start..end].trim().as_bytes().to_vec());
    }
    Some(bytes)
}

static SEEDS_LOADED: LazyLock<Option<Vec<Seed>>> = LazyLock::new(|| {
    let mut out = Vec::new();
    for (name, path) in SEEDS {
        let format = opendi_ingest::format_by_name(name).expect("a known format");
        let mut bytes = load(path)?;
        if bytes.len() > MAX_SEED {
            // At a line end: the last before the limit, or the first after it (one JSON
            // Lines record can be longer than the limit).
            let cut = bytes[..MAX_SEED]
                .iter()
                .rposition(|&b| b == b'\n')
                .or_else(|| {
                    bytes[MAX_SEED..]
                        .iter()
                        .position(|&b| b == b'\n')
                        .map(|i| MAX_SEED + i)
                })
                .unwrap_or(bytes.len() - 1);
            bytes.truncate(cut + 1);
        }
        out.push(Seed { format, bytes });
    }
    Some(out)
});

#[test]
fn every_format_has_a_real_seed_that_parses() {
    let Some(seeds) = SEEDS_LOADED.as_ref() else {
        return;
    };
    for f in FORMATS {
        assert!(
            seeds.iter().any(|s| s.format.name == f.name),
            "format {} has no seed input in SEEDS",
            f.name
        );
    }
    for s in seeds {
        let items = parse(s.format, &s.bytes);
        let records = items
            .iter()
            .filter(|i| matches!(i, Item::Record(_)))
            .count();
        assert!(records >= 1, "{}: the seed yields no record", s.format.name);
    }
}

fn parse(format: &FormatSpec, bytes: &[u8]) -> Vec<Item> {
    // An I/O error cannot come from a byte slice; a parser may still report one.
    parse_bytes(
        format,
        "fuzz-input",
        bytes,
        PartialDate::ymd(2026, 1, 1).unwrap(),
    )
    .unwrap_or_default()
}

/// What a parser returned, in bytes: records (raw text, title, description) and diagnostics.
fn output_size(items: &[Item]) -> usize {
    items
        .iter()
        .map(|i| match i {
            Item::Record(r) => {
                r.raw.len()
                    + r.dataset.title.len()
                    + r.dataset.description.len()
                    + r.diagnostics.iter().map(|d| d.message.len()).sum::<usize>()
            }
            Item::Diagnostic(d) => d.message.len(),
            Item::Delete { accession, .. } => accession.len(),
        })
        .sum()
}

#[derive(Debug, Clone)]
enum Mutation {
    /// Keep this fraction (per mille) of the input.
    Truncate(u16),
    /// XOR bytes at a position (per mille of the length).
    Flip(u16, u8, u8),
    Insert(u16, &'static str),
    /// Remove up to this many bytes at a position.
    Remove(u16, u16),
    /// Repeat a span (position, length in bytes) right after itself.
    Duplicate(u16, u16),
}

const MARKUP: &[&str] = &[
    "<",
    ">",
    "</",
    "/>",
    "<entry>",
    "</entry>",
    "<PubmedArticle>",
    "</PubmedArticle>",
    "<![CDATA[",
    "]]>",
    "<!--",
    "&amp;",
    "&#0;",
    "&#x110000;",
    "&undefined;",
    "{",
    "}",
    "[",
    "]",
    "\"",
    ":",
    ",",
    "\\u0000",
    "\\ud800",
    "\t",
    "\n",
    "\r\n",
    "\0",
    "\u{feff}",
    "\u{fffd}",
    "!Series_title = ",
    "Investigation Title\t",
    "PMID- ",
    "^SERIES = ",
];

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (0u16..1000).prop_map(Mutation::Truncate),
        (0u16..1000, 1u8..=255, 1u8..=16).prop_map(|(p, x, n)| Mutation::Flip(p, x, n)),
        (0u16..1000, proptest::sample::select(MARKUP)).prop_map(|(p, s)| Mutation::Insert(p, s)),
        (0u16..1000, 1u16..2048).prop_map(|(p, n)| Mutation::Remove(p, n)),
        (0u16..1000, 1u16..4096).prop_map(|(p, n)| Mutation::Duplicate(p, n)),
    ]
}

fn at(per_mille: u16, len: usize) -> usize {
    (len * per_mille as usize / 1000).min(len)
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    let len = bytes.len();
    match *m {
        Mutation::Truncate(k) => bytes.truncate(at(k, len)),
        Mutation::Flip(p, x, n) => {
            let p = at(p, len);
            for b in bytes.iter_mut().skip(p).take(n as usize) {
                *b ^= x;
            }
        }
        Mutation::Insert(p, s) => {
            let p = at(p, len);
            bytes.splice(p..p, s.bytes());
        }
        Mutation::Remove(p, n) => {
            let p = at(p, len);
            bytes.drain(p..(p + n as usize).min(len));
        }
        Mutation::Duplicate(p, n) => {
            let p = at(p, len);
            let span = bytes[p..(p + n as usize).min(len)].to_vec();
            let end = p + span.len();
            bytes.splice(end..end, span);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        // 2,000 in CI (a few seconds); PROPTEST_CASES=N for a longer run.
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(2000),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Mutated real inputs through their own parser and through another one.
    #[test]
    fn parsers_survive_mutated_real_inputs(
        which in 0usize..SEEDS.len(),
        other in 0usize..FORMATS.len(),
        mutations in proptest::collection::vec(mutation(), 1..5),
    ) {
        let Some(seeds) = SEEDS_LOADED.as_ref() else {
            return Ok(());
        };
        let seed = &seeds[which];
        let mut bytes = seed.bytes.clone();
        for m in &mutations {
            apply(&mut bytes, m);
        }
        // Output is bounded by the input: no record is expanded beyond a small factor of the
        // bytes it came from (entities are never expanded, nothing is fetched).
        let bound = 8 * bytes.len() + 64 * 1024;
        for format in [seed.format, &FORMATS[other]] {
            let items = parse(format, &bytes);
            let size = output_size(&items);
            prop_assert!(
                size <= bound,
                "{}: {} bytes out of {} in ({:?})",
                format.name, size, bytes.len(), mutations
            );
        }
    }
}
