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
                // The document keeps its bytes as they are (line ends included), minus a BOM.
                let first = if line_no == 1 {
                    buf.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&buf)
                } else {
                    &buf
                };
                doc.extend_from_slice(first);
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

/// A value for `additional`: scalars as text, anything else as compact JSON.
pub fn as_text(v: &Value) -> Option<String> {
    if jsonin_is_blank(v) {
        return None;
    }
    scalar(v).or_else(|| serde_json::to_string(v).ok())
}

fn jsonin_is_blank(v: &Value) -> bool {
    is_empty(v)
}

/// The bare ORCID iD (`0000-0002-1825-0097`) in a value such as `https://orcid.org/0000-…`.
pub fn orcid(v: &str) -> Option<String> {
    let t = v.trim();
    let tail = t.rsplit('/').next().unwrap_or(t);
    let tail = tail.strip_prefix("orcid:").unwrap_or(tail);
    let ok = tail.len() == 19
        && tail.char_indices().all(|(i, c)| {
            if i % 5 == 4 {
                c == '-'
            } else {
                c.is_ascii_digit() || (i == 18 && (c == 'X' || c == 'x'))
            }
        });
    ok.then(|| tail.to_ascii_uppercase())
}

/// The DOI in a value (`10.5061/dryad.x`, `doi:10.…`, `https://doi.org/10.…`), lower-cased:
/// DOIs are case-insensitive and sources disagree on case.
pub fn doi(v: &str) -> Option<String> {
    let t = v.trim();
    let lower = t.to_ascii_lowercase();
    let start = lower.find("10.")?;
    let prefix = &lower[..start];
    let allowed = prefix.is_empty()
        || prefix == "doi:"
        || prefix.ends_with("doi.org/")
        || prefix.ends_with("dx.doi.org/");
    let rest = &lower[start..];
    let (reg, suffix) = rest.split_once('/')?;
    let reg_ok = reg.len() > 3 && reg[3..].chars().all(|c| c.is_ascii_digit() || c == '.');
    (allowed && reg_ok && !suffix.trim().is_empty() && !rest.contains(char::is_whitespace))
        .then(|| rest.to_string())
}

/// The PMID in a value (`PMID:123`, `pubmed:123`, a PubMed URL, or bare digits when `bare`).
pub fn pmid(v: &str, bare: bool) -> Option<String> {
    let t = v.trim();
    let lower = t.to_ascii_lowercase();
    let digits = if let Some(i) = lower.find("pubmed.ncbi.nlm.nih.gov/") {
        &t[i + "pubmed.ncbi.nlm.nih.gov/".len()..]
    } else if let Some(i) = lower.find("/pubmed/") {
        &t[i + "/pubmed/".len()..]
    } else if let Some(r) = lower
        .strip_prefix("pmid:")
        .or_else(|| lower.strip_prefix("pubmed:"))
    {
        &t[t.len() - r.len()..]
    } else if bare {
        t
    } else {
        return None;
    };
    let d: String = digits
        .trim()
        .trim_end_matches('/')
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let whole = digits.trim().trim_end_matches('/').len() == d.len();
    (!d.is_empty() && d.len() <= 9 && whole).then_some(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        assert_eq!(
            doi("https://doi.org/10.5061/DRYAD.abc"),
            Some("10.5061/dryad.abc".into())
        );
        assert_eq!(doi("doi:10.5281/zenodo.1"), Some("10.5281/zenodo.1".into()));
        assert_eq!(doi("https://example.org/10.5/x"), None);
        assert_eq!(doi("version 10.2"), None);
        assert_eq!(
            orcid("https://orcid.org/0000-0002-1825-009X"),
            Some("0000-0002-1825-009X".into())
        );
        assert_eq!(orcid("https://example.org/me"), None);
        assert_eq!(pmid("PMID:12345", false), Some("12345".into()));
        assert_eq!(
            pmid("https://pubmed.ncbi.nlm.nih.gov/12345/", false),
            Some("12345".into())
        );
        assert_eq!(pmid("12345", false), None);
        assert_eq!(pmid("12345", true), Some("12345".into()));
        assert_eq!(
            parse_date("15/09/2025").map(|d| d.to_string()),
            Some("2025-09-15".into())
        );
    }

    #[test]
    fn documents_keep_their_bytes() {
        let mut pieces = Vec::new();
        let mut input: &[u8] = b"\n{\r\n  \"a\": 1\r\n}";
        read_pieces(&mut input, &mut |p| pieces.push(p)).expect("read");
        match pieces.as_slice() {
            [Piece::Document { text, line, .. }] => {
                assert_eq!(text, "{\r\n  \"a\": 1\r\n}");
                assert_eq!(*line, 2);
            }
            _ => panic!("one document expected"),
        }
    }
}
