//! MEDLINE text ("PubMed format", `.nbib`): tagged lines (`PMID- `, `TI  - `, `AB  - ` …) with
//! continuation lines indented by six spaces, one citation per blank-line-separated block.
//!
//! A citation read here must give the same `pubmed` record as the same citation read from
//! PubMed XML, so the mapping ends in `pubmed::citation_dataset`, which both formats share.
//! Tags that have no place in the normalized record are kept under their tag in `additional`.

use crate::pubmed::{self, normalize_orcid, Citation};
use crate::{raw_text, ParseContext, Sniff};
use opendi_model::{
    clean_value, Dataset, DateKind, DatedValue, Diagnostic, Item, Location, MeshHeading,
    PartialDate, Person, PersonRole, Publication, SourceRecord,
};
use std::io::BufRead;
use std::sync::LazyLock;

pub const FORMAT: &str = "medline";

/// A citation block larger than this is not MEDLINE text (or is broken): it is skipped and
/// reported rather than held in memory.
const MAX_RECORD: usize = 16 << 20;

/// MEDLINE text starts with a `PMID- ` line (after blank lines); nothing else does.
pub fn sniff(_name: &str, head: &[u8]) -> Sniff {
    let text = crate::detect::head_text(head);
    let first = text
        .lines()
        .map(str::trim_end)
        .find(|l| !l.trim().is_empty());
    match first {
        Some(l) if l.starts_with("PMID-") && tag_line(l).is_some() => Sniff::Yes,
        _ => Sniff::No,
    }
}

/// One block of lines, as read.
struct Block {
    line: u64,
    bytes: Vec<u8>,
    /// Set when the block outgrew `MAX_RECORD`; its bytes are then dropped.
    too_large: bool,
}

pub fn parse(
    reader: &mut dyn BufRead,
    ctx: &ParseContext,
    sink: &mut dyn FnMut(Item),
) -> std::io::Result<()> {
    let mut line_no = 0u64;
    let mut buf = Vec::new();
    let mut block: Option<Block> = None;
    let mut ordinal = 0u64;
    let mut flush = |b: Block, sink: &mut dyn FnMut(Item)| {
        ordinal += 1;
        if b.too_large {
            sink(Item::Diagnostic(Diagnostic::error(
                "record-too-large",
                format!("citation of more than {MAX_RECORD} bytes skipped"),
                Location::new(ctx.file)
                    .with_record(format!("#{ordinal}"))
                    .with_line(b.line),
            )));
        } else {
            sink(Item::Record(Box::new(parse_block(&b, ordinal, ctx))));
        }
    };
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        line_no += 1;
        if buf.iter().all(u8::is_ascii_whitespace) {
            if let Some(b) = block.take() {
                flush(b, sink);
            }
            continue;
        }
        let b = block.get_or_insert_with(|| Block {
            line: line_no,
            bytes: Vec::new(),
            too_large: false,
        });
        if b.bytes.len() + buf.len() > MAX_RECORD {
            b.too_large = true;
            b.bytes.clear();
        } else if !b.too_large {
            b.bytes.extend_from_slice(&buf);
        }
    }
    if let Some(b) = block.take() {
        flush(b, sink);
    }
    Ok(())
}

/// Splits `TAG - value` (the tag is up to four characters, padded with spaces).
fn tag_line(line: &str) -> Option<(&str, &str)> {
    let tag = line.get(..4)?;
    let rest = line.get(4..)?;
    let value = rest
        .strip_prefix("- ")
        .or_else(|| (rest == "-").then_some(""))?;
    let tag = tag.trim_end();
    let ok = !tag.is_empty()
        && tag
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    ok.then_some((tag, value))
}

/// One field: tag, and value with its continuation lines joined.
struct Field {
    tag: String,
    value: String,
}

/// An author as the tags describe it, before it becomes a `Person`.
#[derive(Default)]
struct Author {
    full: Option<String>,
    name: Option<String>,
    affiliations: Vec<String>,
    orcid: Option<String>,
}

fn parse_block(b: &Block, ordinal: u64, ctx: &ParseContext) -> SourceRecord {
    let (raw, utf8_ok) = raw_text(&b.bytes);
    let mut fields: Vec<Field> = Vec::new();
    let mut bad_lines = Vec::new();
    for (i, line) in raw.lines().enumerate() {
        let n = b.line + i as u64;
        let line = line.trim_end_matches('\r');
        if let Some((tag, value)) = tag_line(line) {
            fields.push(Field {
                tag: tag.to_string(),
                value: value.trim().to_string(),
            });
        } else if line.starts_with([' ', '\t']) && !fields.is_empty() {
            if let Some(f) = fields.last_mut() {
                f.value.push(' ');
                f.value.push_str(line.trim());
            }
        } else {
            bad_lines.push(n);
        }
    }
    let pmid = fields
        .iter()
        .find(|f| f.tag == "PMID")
        .and_then(|f| clean_value(&f.value));
    let label = pmid.clone().unwrap_or_else(|| format!("#{ordinal}"));
    let loc = |l: u64| {
        Location::new(ctx.file)
            .with_record(label.clone())
            .with_line(l)
    };
    let mut diags = Vec::new();
    if !utf8_ok {
        diags.push(Diagnostic::warning(
            "invalid-utf8",
            "invalid UTF-8 replaced with U+FFFD",
            loc(b.line),
        ));
    }
    for n in bad_lines {
        diags.push(Diagnostic::warning(
            "malformed-line",
            "line is neither a `TAG - value` line nor an indented continuation; kept only in the raw record",
            loc(n),
        ));
    }
    if pmid.is_none() {
        diags.push(Diagnostic::error(
            "missing-id",
            "the citation has no PMID",
            loc(b.line),
        ));
    }

    let mut p = Publication {
        pmid: pmid.clone(),
        ..Default::default()
    };
    let mut authors: Vec<Author> = Vec::new();
    // Before 2014 MEDLINE gave one affiliation, ahead of the authors: it is the first author's.
    let mut early_affiliations: Vec<String> = Vec::new();
    let mut pub_date: Option<DatedValue> = None;
    let mut completed: Option<DatedValue> = None;
    let mut revised: Option<DatedValue> = None;
    let mut databanks = Vec::new();
    let mut elocation_doi = None;
    let mut article_doi = None;
    let (mut book_title, mut vernacular_title, mut title_abbrev) = (None, None, None);
    let mut other = Vec::new();
    for f in &fields {
        let v = xml_fold(&f.value);
        match f.tag.as_str() {
            "PMID" => {}
            "TI" => p.title = v,
            "BTI" => book_title = Some(v),
            "TT" => vernacular_title = Some(v),
            "AB" => p.abstract_text = structured_abstract(&v),
            "FAU" => {
                // PubMed names people "Family Initials"; the full name stays searchable here.
                other.push(f);
                authors.push(Author {
                    full: Some(v),
                    ..Default::default()
                })
            }
            "AU" => match authors.last_mut() {
                Some(a) if a.name.is_none() && a.full.is_some() => a.name = Some(v),
                _ => authors.push(Author {
                    name: Some(v),
                    ..Default::default()
                }),
            },
            "CN" => authors.push(Author {
                name: Some(v),
                ..Default::default()
            }),
            "AD" => match authors.last_mut() {
                Some(a) => a.affiliations.extend(clean_value(&v)),
                None => early_affiliations.extend(clean_value(&v)),
            },
            "AUID" => {
                if let (Some(a), Some(o)) = (authors.last_mut(), orcid_of(&v)) {
                    a.orcid.get_or_insert(o);
                } else {
                    other.push(f);
                }
            }
            "JT" => p.journal = Some(v),
            "TA" => title_abbrev = Some(v),
            "VI" => p.volume = Some(v),
            "IP" => p.issue = Some(v),
            "PG" => p.pages = clean_value(&v),
            "DP" => {
                let value = medline_date(&v);
                p.date = value;
                pub_date = Some(DatedValue {
                    kind: DateKind::Publication,
                    value,
                    raw: v,
                });
            }
            "DCOM" => {
                completed = Some(DatedValue {
                    kind: DateKind::Creation,
                    value: PartialDate::parse(&v),
                    raw: v,
                })
            }
            "LR" => {
                revised = Some(DatedValue {
                    kind: DateKind::Updated,
                    value: PartialDate::parse(&v),
                    raw: v,
                })
            }
            "LID" | "AID" => match v.strip_suffix("[doi]") {
                Some(doi) => {
                    let slot = if f.tag == "LID" {
                        &mut elocation_doi
                    } else {
                        &mut article_doi
                    };
                    slot.get_or_insert(doi.trim().to_string());
                }
                None => other.push(f),
            },
            "PMC" => p.pmcid = clean_value(&v),
            "MH" => p.mesh.extend(mesh_heading(&v)),
            "OT" => Dataset::push_unique(&mut p.keywords, &v),
            "RN" => Dataset::push_unique(&mut p.chemicals, substance_name(&v)),
            "SI" => match v.split_once('/') {
                Some((db, acc)) => databanks.push((db.trim().to_string(), acc.trim().to_string())),
                None => other.push(f),
            },
            _ => other.push(f),
        }
    }
    if p.title.is_empty() {
        p.title = book_title.or(vernacular_title).unwrap_or_default();
    }
    if p.title.is_empty() {
        diags.push(Diagnostic::warning(
            "missing-title",
            "the citation has no title (TI)",
            loc(b.line),
        ));
    }
    p.journal = p.journal.or(title_abbrev);
    p.doi = elocation_doi.or(article_doi);
    if let Some(first) = authors.first_mut() {
        let mut affs = std::mem::take(&mut early_affiliations);
        affs.append(&mut first.affiliations);
        first.affiliations = affs;
    }
    let mut people = Vec::new();
    for a in authors {
        let Some(name) = a.name.or_else(|| a.full.as_deref().map(name_from_full)) else {
            continue;
        };
        let mut person = Person::new(name.clone(), PersonRole::Author);
        if !a.affiliations.is_empty() {
            person.affiliation = Some(a.affiliations.join("; "));
        }
        person.orcid = a.orcid;
        p.authors.push(name);
        people.push(person);
    }
    let dates = [pub_date, completed, revised]
        .into_iter()
        .flatten()
        .collect();
    let mut d = pubmed::citation_dataset(
        &Citation {
            publication: p.clone(),
            people,
            dates,
            databanks,
        },
        ordinal,
    );
    for f in other {
        d.push_additional(&f.tag, &f.value);
    }
    SourceRecord {
        dataset: d,
        publication: Some(p),
        raw,
        format: FORMAT,
        location: loc(b.line),
        diagnostics: diags,
    }
}

/// White space folded, as the XML reader's `text()` gives it.
fn xml_fold(s: &str) -> String {
    crate::xml::fold_ws(s)
}

/// `AUID- ORCID: https://orcid.org/0000-…` → the bare ORCID.
fn orcid_of(v: &str) -> Option<String> {
    let rest = v.trim();
    let rest = rest
        .get(..6)
        .filter(|p| p.eq_ignore_ascii_case("orcid:"))
        .and_then(|_| rest.get(6..))?;
    normalize_orcid(rest)
}

/// "Casbon, James A" → "Casbon JA", PubMed's display form, for an `FAU` without its `AU`.
fn name_from_full(full: &str) -> String {
    match full.split_once(',') {
        Some((last, fore)) => {
            let initials: String = fore
                .split([' ', '-', '.'])
                .filter_map(|w| w.chars().next())
                .filter(|c| c.is_alphabetic())
                .flat_map(char::to_uppercase)
                .collect();
            format!("{} {}", last.trim(), initials).trim().to_string()
        }
        None => full.trim().to_string(),
    }
}

/// `DP` values: "2002 Sep", "2006 Mar 1", "1979 Jun-Jul", "1999 Dec-2000 Jan", "2001 Winter".
fn medline_date(v: &str) -> Option<PartialDate> {
    PartialDate::parse(v)
        .or_else(|| PartialDate::parse(v.split(['-', '/']).next().unwrap_or("")))
        .or_else(|| PartialDate::parse(v.get(..4).unwrap_or("")))
}

/// "Information Storage and Retrieval/*methods": descriptor, qualifiers, `*` for major topics.
fn mesh_heading(v: &str) -> Option<MeshHeading> {
    let mut parts = v.split('/');
    let desc = parts.next()?.trim();
    let mut major = desc.starts_with('*');
    let descriptor = desc.trim_start_matches('*').trim().to_string();
    if descriptor.is_empty() {
        return None;
    }
    let mut qualifiers = Vec::new();
    for q in parts {
        major |= q.trim_start().starts_with('*');
        let q = q.trim().trim_start_matches('*').trim();
        if !q.is_empty() {
            qualifiers.push(q.to_string());
        }
    }
    Some(MeshHeading {
        descriptor,
        descriptor_id: None,
        major,
        qualifiers,
    })
}

/// "0 (Lipids)", "EC 3.1.1.3 (Lipase)" → the substance name in the parentheses.
fn substance_name(v: &str) -> &str {
    match v.split_once(" (") {
        Some((_, name)) => name.strip_suffix(')').unwrap_or(name).trim(),
        None => v.trim(),
    }
}

static LABEL_RE: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new(r"\b([A-Z][A-Z0-9 ,&/'()-]*[A-Z0-9)]):\s").expect("regex"));

/// MEDLINE writes a structured abstract as "BACKGROUND: … METHODS: …". PubMed XML gives the
/// sections as labelled `AbstractText`s, which the XML reader renders `<h4>LABEL</h4>text`
/// joined by spaces; the same rendering is rebuilt here from the capitalised labels that
/// start the text or a sentence.
fn structured_abstract(ab: &str) -> String {
    let mut cuts: Vec<(usize, usize, &str)> = Vec::new(); // (label start, text start, label)
    for c in LABEL_RE.captures_iter(ab) {
        let (Some(m), Some(whole)) = (c.get(1), c.get(0)) else {
            continue;
        };
        let label = m.as_str();
        let letters = label.chars().filter(char::is_ascii_uppercase).count();
        let before = ab[..m.start()].trim_end();
        let at_sentence_start = before.is_empty() || before.ends_with(['.', '?', '!', ')', ']']);
        if letters >= 2 && at_sentence_start {
            cuts.push((m.start(), whole.end(), label));
        }
    }
    let esc = |s: &str| quick_xml::escape::partial_escape(s).into_owned();
    if cuts.is_empty() {
        return esc(ab);
    }
    let mut parts = Vec::new();
    let lead = ab[..cuts[0].0].trim();
    if !lead.is_empty() {
        parts.push(esc(lead));
    }
    for (i, (_, text_start, label)) in cuts.iter().enumerate() {
        let end = cuts.get(i + 1).map(|c| c.0).unwrap_or(ab.len());
        let body = ab.get(*text_start..end).unwrap_or("").trim();
        parts.push(format!(
            "<h4>{}</h4>{}",
            quick_xml::escape::escape(*label),
            esc(body)
        ));
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_and_labels() {
        assert_eq!(tag_line("PMID- 123"), Some(("PMID", "123")));
        assert_eq!(tag_line("TI  - A title"), Some(("TI", "A title")));
        assert_eq!(tag_line("      continued"), None);
        assert_eq!(tag_line("é"), None);
        assert_eq!(
            structured_abstract("BACKGROUND: One. Two (X). RESULTS: Three 95% CI: 1.2."),
            "<h4>BACKGROUND</h4>One. Two (X). <h4>RESULTS</h4>Three 95% CI: 1.2."
        );
        assert_eq!(
            structured_abstract("Plain text: P < 0.05 & no label."),
            "Plain text: P &lt; 0.05 &amp; no label."
        );
        assert_eq!(name_from_full("Saqi, Mansoor A S"), "Saqi MAS");
        assert_eq!(substance_name("EC 3.1.1.3 (Lipase)"), "Lipase");
        assert_eq!(
            substance_name("0 (Receptors, IL-2 (human))"),
            "Receptors, IL-2 (human)"
        );
        let m = mesh_heading("Sequence Alignment/*methods/standards").unwrap();
        assert!(m.major);
        assert_eq!(m.qualifiers, vec!["methods", "standards"]);
        assert_eq!(
            orcid_of("ORCID: https://orcid.org/0000-0002-4590-7461").as_deref(),
            Some("0000-0002-4590-7461")
        );
    }
}
