//! What every fuzz target does: parse the input with one format (or the detected one) and
//! check what the parser promises beyond not panicking.

use opendi_ingest::{detect, format_by_name, parse_bytes, FormatSpec};
use opendi_model::{Item, PartialDate};

fn today() -> PartialDate {
    PartialDate::ymd(2026, 1, 1).expect("a date")
}

fn check(format: &FormatSpec, data: &[u8]) {
    let Ok(items) = parse_bytes(format, "fuzz-input", data, today()) else {
        return;
    };
    // Entities are never expanded and nothing is fetched: output stays within a small factor
    // of the input.
    let out: usize = items
        .iter()
        .map(|i| match i {
            Item::Record(r) => r.raw.len() + r.dataset.title.len() + r.dataset.description.len(),
            Item::Diagnostic(d) => d.message.len(),
            Item::Delete { accession, .. } => accession.len(),
        })
        .sum();
    assert!(
        out <= 8 * data.len() + 64 * 1024,
        "{}: {out} bytes out of {} in",
        format.name,
        data.len()
    );
}

pub fn parse_as(name: &str, data: &[u8]) {
    check(format_by_name(name).expect("a format of FORMATS"), data);
}

pub fn detect_and_parse(data: &[u8]) {
    if let Some((format, _)) = detect("fuzz-input", data) {
        check(format, data);
    }
}
