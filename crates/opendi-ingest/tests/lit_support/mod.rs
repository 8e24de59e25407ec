//! Shared by the literature-format tests (jats, medline, entrez): read corpus files through
//! auto-detection and turn the items into JSON with machine-independent file names.

#![allow(dead_code)]

use opendi_ingest::source::FileReport;
use opendi_model::{Item, PartialDate, SourceRecord};
use serde_json::{json, Value};
use std::path::Path;

pub fn today() -> PartialDate {
    PartialDate::ymd(2026, 1, 1).expect("date")
}

/// Reads one path (file or folder) with auto-detection.
pub fn read(path: &Path) -> (Vec<Item>, Vec<FileReport>) {
    let inputs = opendi_ingest::source::expand(&[path.display().to_string()]).expect("expand");
    opendi_ingest::read_all(&inputs, today())
}

pub fn records(items: &[Item]) -> Vec<&SourceRecord> {
    items
        .iter()
        .filter_map(|i| match i {
            Item::Record(r) => Some(r.as_ref()),
            _ => None,
        })
        .collect()
}

/// Replaces the corpora folder in file names so snapshots do not depend on the checkout.
fn relative(s: &str) -> String {
    let root = opendi_corpora::corpora_path();
    let root = root.canonicalize().unwrap_or(root);
    let mut out = s.replace(&format!("{}/", root.display()), "");
    let raw = opendi_corpora::corpora_path();
    out = out.replace(&format!("{}/", raw.display()), "");
    out
}

/// The items as JSON: each record's dataset, publication, location and diagnostics.
pub fn snapshot(items: &[Item]) -> Value {
    let v: Vec<Value> = items
        .iter()
        .map(|i| match i {
            Item::Record(r) => json!({
                "location": relative(&r.location.to_string()),
                "format": r.format,
                "dataset": r.dataset,
                "publication": r.publication,
                "diagnostics": r.diagnostics.iter().map(|d| relative(&d.to_string())).collect::<Vec<_>>(),
            }),
            Item::Delete { repository, accession, location } => json!({
                "delete": format!("{repository}:{accession}"),
                "location": relative(&location.to_string()),
            }),
            Item::Diagnostic(d) => json!({ "diagnostic": relative(&d.to_string()) }),
        })
        .collect();
    Value::Array(v)
}
