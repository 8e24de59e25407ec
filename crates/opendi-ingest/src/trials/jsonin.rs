//! Reading JSON inputs that are either JSON Lines (one record a line, streamed) or one JSON
//! document (pretty-printed, an array, an API envelope). Shared by the JSON formats
//! (`clinical-trials-jsonl`, `schema-org`, `datacite-json`).

use opendi_model::{Diagnostic, Location, PartialDate};
use serde_json::value::RawValue;
use serde_json::Value;
use std::io::BufRead;

/// One unit of a JSON input, as the reader found it.
pub enum Piece {
    /// One non-blank line of a JSON Lines file (trailing `\r\n` removed).
    Line {
        text: String,
        line: u64,
        utf8_ok: bool,
    },
    /// The whole file, when its first line is not a complete JSON value.
    Document {
        text: String,
        /// 1-based line where the document starts (after leading blank lines).
        line: u64,
        utf8_ok: bool,
    },
}

fn trim_eol(mut b: &[u8]) -> &[u8] {
    while let Some((last, rest)) = b.split_last() {
        if *last == b'\n' || *last == b'\r' {
            b = rest;
        } else {
            break;
        }
    }
    b
}

fn is_complete_json(text: &str) -> Result<(), serde_json::Error> {
    serde_json::from_str::<serde::de::IgnoredAny>(text).map(|_| ())
}

/// Splits the input into pieces and calls `f` for each, reading one line at a time in JSON
/// Lines mode. The mode is chosen from the first non-blank line: a complete JSON value (or a
/// line with a syntax error, reported per line) means JSON Lines; an incomplete value (a
/// pretty-printed `{`) means one document.
pub fn read_pieces(reader: &mut dyn BufRead, f: &mut dyn FnMut(Piece)) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    let mut mode_jsonl: Option<bool> = None;
    let mut doc: Vec<u8> = Vec::new();
    let mut doc_line = 0u64;
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf)?;
        if n == 0 {
            break;
        }
        line_no += 1;
        if mode_jsonl == Some(false) {
            doc.extend_from_slice(&buf);
            continue;
        }
        let body = trim_eol(&buf);
        let body = if line_no == 1 {
            body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body)
        } else {
            body
        };
        if body.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let (text, utf8_ok) = crate::raw_text(body);
        if mode_jsonl.is_none() {
            let trimmed = text.trim_start();
            let incomplete = match is_complete_json(&text) {
                Ok(()) => false,
                Err(e) => e.is_eof(),
            };
            // HTML and XML-ish content is a document too (schema.org JSON-LD in a page).
            if incomplete || trimmed.starts_with('<') {
                mode_jsonl = Some(false);
                doc_line = line_no;
                doc.extend_from_slice(body);
                doc.push(b'\n');
                continue;
            }
            mode_jsonl = Some(true);
        }
        f(Piece::Line {
            text,
            line: line_no,
            utf8_ok,
        });
    }
    if mode_jsonl == Some(false) {
        let (text, utf8_ok) = crate::raw_text(&doc);
        f(Piece::Document {
            text,
            line: doc_line,
            utf8_ok,
        });
    }
    Ok(())
}

/// A parse error as a diagnostic at its line (serde_json counts lines from 1 within `text`).
pub fn syntax_diagnostic(
    e: &serde_json::Error,
    file: &str,
    first_line: u64,
    what: &str,
) -> Diagnostic {
    let line = first_line + (e.line() as u64).saturating_sub(1);
    Diagnostic::error(
        "json-syntax",
        format!("{what} is not valid JSON: {e}"),
        Location::new(file).with_line(line),
    )
}

/// The 1-based line of `part` inside `whole` (which starts at `first_line`), when `part` is a
/// sub-slice of `whole`.
pub fn line_of(whole: &str, part: &str, first_line: u64) -> u64 {
    let start = whole.as_ptr() as usize;
    let p = part.as_ptr() as usize;
    if p < start || p > start + whole.len() {
        return first_line;
    }
    let offset = p - start;
    let newlines = whole
        .as_bytes()
        .get(..offset)
        .map(|b| b.iter().filter(|c| **c == b'\n').count())
        .unwrap_or(0);
    first_line + newlines as u64
}

/// The records of a JSON text: its elements when it is an array, else the text itself, each
/// as the exact source slice.
pub fn split_top(text: &str) -> Result<Vec<&RawValue>, serde_json::Error> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('[') {
        serde_json::from_str::<Vec<&RawValue>>(text)
    } else {
        serde_json::from_str::<&RawValue>(text).map(|r| vec![r])
    }
}

/// The members of an object as exact source slices, in source order.
pub fn members(text: &str) -> Option<Vec<(String, &RawValue)>> {
    // A Vec of pairs keeps order; serde_json maps would sort or need a feature.
    struct Pairs<'a>(Vec<(String, &'a RawValue)>);
    impl<'de: 'a, 'a> serde::Deserialize<'de> for Pairs<'a> {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V<'a>(std::marker::PhantomData<&'a ()>);
            impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
                type Value = Pairs<'a>;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("a JSON object")
                }
                fn visit_map<M: serde::de::MapAccess<'de>>(
                    self,
                    mut m: M,
                ) -> Result<Pairs<'a>, M::Error> {
                    let mut out = Vec::new();
                    while let Some((k, v)) = m.next_entry::<String, &'de RawValue>()? {
                        out.push((k, v));
                    }
                    Ok(Pairs(out))
                }
            }
            d.deserialize_map(V(std::marker::PhantomData))
        }
    }
    serde_json::from_str::<Pairs>(text).ok().map(|p| p.0)
}

// ---- value access helpers -------------------------------------------------------------

/// Follows object keys; `None` when a step is missing.
pub fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut cur = v;
    for k in path {
        cur = cur.as_object()?.get(*k)?;
    }
    Some(cur)
}

/// A scalar as trimmed text (strings, numbers, booleans); `None` for empty values,
/// objects and arrays.
pub fn scalar(v: &Value) -> Option<String> {
    let s = match v {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => return None,
    };
    (!s.is_empty()).then_some(s)
}

/// `scalar` at a path.
pub fn s(v: &Value, path: &[&str]) -> Option<String> {
    at(v, path).and_then(scalar)
}

/// A value that may be one item or a list of items, as a list (empty objects and nulls
/// dropped: XML-to-JSON converters write `{}` for empty elements).
pub fn list(v: Option<&Value>) -> Vec<&Value> {
    match v {
        Some(Value::Array(a)) => a.iter().filter(|x| !is_empty(x)).collect(),
        Some(x) if !is_empty(x) => vec![x],
        _ => Vec::new(),
    }
}

pub fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::Array(a) => a.iter().all(is_empty),
        _ => false,
    }
}

/// The scalars of a one-or-many value.
pub fn strings(v: Option<&Value>) -> Vec<String> {
    list(v).into_iter().filter_map(scalar).collect()
}

/// Parses a date the way sources write them, adding `dd/mm/yyyy` (CTIS, ISRCTN) to what
/// `PartialDate::parse` reads.
pub fn parse_date(raw: &str) -> Option<PartialDate> {
    PartialDate::parse(raw).or_else(|| {
        let t = raw.trim();
        let first = t.split_whitespace().next().unwrap_or("");
        let parts: Vec<&str> = first.split('/').collect();
        if let [d, m, y] = parts.as_slice() {
            if y.len() == 4 {
                return PartialDate::ymd(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
            }
        }
        None
    })
}
