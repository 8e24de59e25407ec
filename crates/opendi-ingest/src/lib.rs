//! Parsers from repository formats to opendi records, and the sources they read from.
//!
//! Every format is one module with a pure parser: bytes in, `Item`s (records, deletions,
//! diagnostics) out. `FORMATS` is the one table that lists them; `--format auto` asks each
//! entry's `sniff` in turn. `source` turns paths, directories, URLs, gzip and zip into byte
//! streams for the parsers. This crate must never know how records are stored or indexed.

pub mod arrayexpress;
pub mod datacite;
mod detect;
pub mod geo_soft;
pub mod isajson;
pub mod isatab;
pub mod jats;
pub mod link;
pub mod magetab;
pub mod medline;
pub mod omicsdi;
pub mod pagetab;
pub mod pubmed;
pub mod schemaorg;
pub mod source;
pub mod trials;
pub mod xml;
pub mod xmlsplit;

pub use detect::{detect, Sniff};
use opendi_model::{Item, PartialDate};
use std::io::BufRead;

/// What a parser may know about its input besides the bytes: its display name, today's date
/// (for "no dates in the future") and the files beside it (for multi-file formats such as
/// ISA-Tab and MAGE-TAB). Parsers never touch the file system, the network or the clock.
pub struct ParseContext<'a> {
    pub file: &'a str,
    pub today: PartialDate,
    /// Reads a file beside this one by its relative name (same folder, or same zip archive).
    pub siblings: &'a dyn Fn(&str) -> Option<Vec<u8>>,
}

pub type ParseFn = fn(&mut dyn BufRead, &ParseContext, &mut dyn FnMut(Item)) -> std::io::Result<()>;
pub type SniffFn = fn(name: &str, head: &[u8]) -> Sniff;

/// One source format: its `--format` name, how to recognise it and how to parse it.
pub struct FormatSpec {
    pub name: &'static str,
    pub description: &'static str,
    pub sniff: SniffFn,
    pub parse: ParseFn,
}

/// Every format opendi reads. Order matters for `auto`: the first `Yes` wins.
pub static FORMATS: &[FormatSpec] = &[
    FormatSpec {
        name: omicsdi::FORMAT,
        description: "OmicsDI / EB-eye XML dumps",
        sniff: detect::omicsdi,
        parse: omicsdi::parse,
    },
    FormatSpec { name: arrayexpress::FORMAT, description: "ArrayExpress experiments XML", sniff: arrayexpress::sniff, parse: arrayexpress::parse },
    FormatSpec { name: magetab::FORMAT, description: "MAGE-TAB (IDF with its SDRF)", sniff: magetab::sniff, parse: magetab::parse },
    FormatSpec { name: geo_soft::FORMAT, description: "GEO SOFT (series, family, sample, platform)", sniff: geo_soft::sniff, parse: geo_soft::parse },
    FormatSpec {
        name: pubmed::FORMAT,
        description: "PubMed XML (baseline, update files, efetch)",
        sniff: detect::pubmed,
        parse: pubmed::parse,
    },
    FormatSpec { name: datacite::FORMAT, description: "DataCite JSON (REST API and metadata schema)", sniff: datacite::sniff, parse: datacite::parse },
    FormatSpec { name: schemaorg::FORMAT, description: "schema.org Dataset JSON-LD (JSON, JSON Lines or embedded in HTML)", sniff: schemaorg::sniff, parse: schemaorg::parse },
    FormatSpec { name: trials::FORMAT, description: "Clinical-trial registry JSON (ClinicalTrials.gov, EU CTR, CTIS, ISRCTN), JSON Lines or one document", sniff: trials::sniff, parse: trials::parse },
    FormatSpec {
        name: jats::FORMAT,
        description: "PMC JATS full-text XML (articles, efetch pmc-articleset)",
        sniff: jats::sniff,
        parse: jats::parse,
    },
    FormatSpec {
        name: medline::FORMAT,
        description: "MEDLINE text / nbib (PubMed format)",
        sniff: medline::sniff,
        parse: medline::parse,
    },
    FormatSpec { name: isajson::FORMAT, description: "ISA-JSON investigations", sniff: isajson::sniff, parse: isajson::parse },
    FormatSpec { name: isatab::FORMAT, description: "ISA-Tab investigations with their study and assay tables", sniff: isatab::sniff, parse: isatab::parse },
    FormatSpec { name: pagetab::FORMAT, description: "BioStudies PageTab submissions (JSON and TSV)", sniff: pagetab::sniff, parse: pagetab::parse },
];

/// Looks a format up by its `--format` name.
pub fn format_by_name(name: &str) -> Option<&'static FormatSpec> {
    FORMATS.iter().find(|f| f.name.eq_ignore_ascii_case(name))
}

/// The record's text for the store: UTF-8 as given, or with invalid bytes replaced (the
/// caller reports that). Returns (text, was valid UTF-8).
pub fn raw_text(bytes: &[u8]) -> (String, bool) {
    match std::str::from_utf8(bytes) {
        Ok(s) => (s.to_string(), true),
        Err(_) => (String::from_utf8_lossy(bytes).into_owned(), false),
    }
}

/// A record chunk's text for the store, and whether it was valid UTF-8: the chunk itself when
/// it was (records almost always are), without the copy [`raw_text`] makes; with invalid bytes
/// replaced otherwise. Copying every PubMed article was 1.8% of a PubMed ingest's CPU time,
/// most of it the kernel zeroing fresh pages for the copies.
pub fn chunk_text(bytes: Vec<u8>) -> (String, bool) {
    match String::from_utf8(bytes) {
        Ok(s) => (s, true),
        Err(e) => (String::from_utf8_lossy(e.as_bytes()).into_owned(), false),
    }
}

/// Parses an in-memory input with a known format (tests, HTTP ingest).
pub fn parse_bytes(
    format: &FormatSpec,
    file: &str,
    bytes: &[u8],
    today: PartialDate,
) -> std::io::Result<Vec<Item>> {
    let mut out = Vec::new();
    let none = |_: &str| None;
    let ctx = ParseContext {
        file,
        today,
        siblings: &none,
    };
    let mut reader: &[u8] = bytes;
    (format.parse)(&mut reader, &ctx, &mut |i| out.push(i))?;
    Ok(out)
}

/// Reads every input with format detection and collects the items: the entry point tests use.
pub fn read_all(
    inputs: &[source::Input],
    today: PartialDate,
) -> (Vec<Item>, Vec<source::FileReport>) {
    let opts = source::ReadOptions {
        format: None,
        today,
    };
    let progress = std::sync::atomic::AtomicU64::new(0);
    let mut items = Vec::new();
    let mut reports = Vec::new();
    for i in inputs {
        reports.extend(source::read(i, &opts, &progress, &mut |it| items.push(it)));
    }
    (items, reports)
}
