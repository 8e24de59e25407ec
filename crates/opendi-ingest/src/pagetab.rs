//! BioStudies PageTab submissions, in JSON and in TSV. Both are read into one tree (submission,
//! sections, files, links, attributes with qualifiers) and each submission becomes one record:
//! `S-EPMC…` accessions belong to `biostudies-literature`, the others to `biostudies`.
//!
//! TSV layout (from the PageTab specification): blocks separated by blank lines; a block starts
//! with `Submission AccNo`, a section header `Type [AccNo [ParentAccNo]]`, `File path`,
//! `Link url`, or a table header (`Files …`, `Links …`, `Type[Parent] …`); `[Name]` and `(Name)`
//! lines qualify the attribute above them and `<name>` marks a reference to another section.

use crate::isatab::{self, Rows};
use crate::{raw_text, ParseContext, Sniff};
use opendi_model::{
    clean_value, Dataset, DateKind, DatedValue, Diagnostic, Evidence, Item, Location, Person,
    PersonRole, PublicationRef, SourceRecord,
};
use serde_json::Value;
use std::io::BufRead;

pub const FORMAT: &str = "biostudies-pagetab";

#[derive(Debug, Clone, Default)]
struct Attr {
    name: String,
    value: String,
    reference: bool,
    /// `[Name] value` qualifiers of the value (ontology, term id …).
    valqual: Vec<(String, String)>,
    /// `(Name) value` qualifiers of the name.
    nmqual: Vec<(String, String)>,
}

#[derive(Debug, Clone, Default)]
struct Entry {
    /// A file's path or a link's URL.
    target: String,
    attrs: Vec<Attr>,
}

#[derive(Debug, Clone, Default)]
struct Section {
    kind: String,
    accno: String,
    attrs: Vec<Attr>,
    files: Vec<Entry>,
    links: Vec<Entry>,
    subsections: Vec<Section>,
}

#[derive(Debug, Default)]
struct Submission {
    accno: String,
    attrs: Vec<Attr>,
    root: Option<Section>,
    line: u64,
    raw: String,
    diags: Vec<Diagnostic>,
}

fn attr_value<'a>(attrs: &'a [Attr], name: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|a| a.name.trim().eq_ignore_ascii_case(name))
        .map(|a| a.value.as_str())
}

/// JSON starts with an object or an array of objects; a TSV line may start with `[Ontology]`.
fn looks_like_json(t: &str) -> bool {
    match t.strip_prefix('[') {
        Some(rest) => matches!(rest.trim_start().chars().next(), Some('{' | ']') | None),
        None => t.starts_with('{'),
    }
}

pub fn sniff(_name: &str, head: &[u8]) -> Sniff {
    let text = crate::detect::head_text(head);
    let t = text.trim_start();
    if looks_like_json(t) && t.contains("\"accno\"") {
        return Sniff::Yes;
    }
    let first = t.split(['\n', '\r']).next().unwrap_or("");
    let cell = first
        .split('\t')
        .next()
        .unwrap_or("")
        .trim()
        .trim_matches('"');
    if cell.eq_ignore_ascii_case("Submission") {
        Sniff::Yes
    } else {
        Sniff::No
    }
}

pub fn parse(
    reader: &mut dyn BufRead,
    ctx: &ParseContext,
    sink: &mut dyn FnMut(Item),
) -> std::io::Result<()> {
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes)?;
    let (text, utf8_ok) = raw_text(&bytes);
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    let mut subs = if looks_like_json(trimmed) {
        match read_json(&text, ctx) {
            Ok(s) => s,
            Err(d) => {
                sink(Item::Diagnostic(d));
                return Ok(());
            }
        }
    } else {
        read_tsv(&text, ctx)
    };
    if subs.is_empty() {
        sink(Item::Diagnostic(Diagnostic::error(
            "no-submission",
            "no PageTab submission found",
            Location::new(ctx.file).with_line(1),
        )));
    }
    for (i, sub) in subs.iter_mut().enumerate() {
        if !utf8_ok {
            sub.diags.push(Diagnostic::warning(
                "invalid-utf8",
                "invalid UTF-8 replaced with U+FFFD",
                Location::new(ctx.file),
            ));
        }
        let rec = build(std::mem::take(sub), i + 1, ctx);
        sink(Item::Record(Box::new(rec)));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// JSON

fn json_str(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        _ => String::new(),
    }
}

fn json_pairs(v: Option<&Value>) -> Vec<(String, String)> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|q| (json_str(q.get("name")), json_str(q.get("value"))))
                .collect()
        })
        .unwrap_or_default()
}

fn json_attrs(v: &Value) -> Vec<Attr> {
    let Some(list) = v.get("attributes").and_then(Value::as_array) else {
        return Vec::new();
    };
    list.iter()
        .map(|a| Attr {
            name: json_str(a.get("name")),
            value: json_str(a.get("value")),
            reference: matches!(a.get("isReference"), Some(Value::Bool(true)))
                || json_str(a.get("isReference")).eq_ignore_ascii_case("true"),
            valqual: json_pairs(a.get("valqual")),
            nmqual: json_pairs(a.get("nmqual")),
        })
        .collect()
}

/// Items of a list that may hold tables (nested arrays) as well as single items.
fn flat(v: Option<&Value>) -> Vec<&Value> {
    let mut out = Vec::new();
    if let Some(list) = v.and_then(Value::as_array) {
        for item in list {
            match item {
                Value::Array(table) => out.extend(table.iter()),
                other => out.push(other),
            }
        }
    }
    out
}

fn json_section(v: &Value) -> Section {
    Section {
        kind: json_str(v.get("type")),
        accno: json_str(v.get("accno")),
        attrs: json_attrs(v),
        files: flat(v.get("files"))
            .into_iter()
            .map(|f| Entry {
                target: json_str(f.get("path")),
                attrs: json_attrs(f),
            })
            .collect(),
        links: flat(v.get("links"))
            .into_iter()
            .map(|l| Entry {
                target: json_str(l.get("url")),
                attrs: json_attrs(l),
            })
            .collect(),
        subsections: flat(v.get("subsections"))
            .into_iter()
            .map(json_section)
            .collect(),
    }
}

/// Byte spans of the elements of a top-level JSON array, so each record keeps its own text.
fn array_spans(text: &str) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let Some(open) = b.iter().position(|c| *c == b'[') else {
        return Vec::new();
    };
    let (mut depth, mut in_str, mut esc) = (0i32, false, false);
    let mut start = None;
    let mut spans = Vec::new();
    for (i, &c) in b.iter().enumerate().skip(open + 1) {
        if in_str {
            match (esc, c) {
                (true, _) => esc = false,
                (false, b'\\') => esc = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match c {
            b'"' => {
                in_str = true;
                start.get_or_insert(i);
            }
            b'{' | b'[' => {
                start.get_or_insert(i);
                depth += 1;
            }
            b'}' | b']' if depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    if let Some(s) = start.take() {
                        spans.push((s, i + 1));
                    }
                }
            }
            b']' => break,
            _ => {}
        }
    }
    spans
}

fn line_at(text: &str, offset: usize) -> u64 {
    text.get(..offset)
        .map_or(1, |t| t.bytes().filter(|b| *b == b'\n').count() as u64 + 1)
}

fn read_json(text: &str, ctx: &ParseContext) -> Result<Vec<Submission>, Diagnostic> {
    let root: Value = serde_json::from_str(text.trim_start_matches('\u{feff}')).map_err(|e| {
        Diagnostic::error(
            "json-syntax",
            format!("not valid JSON: {e}"),
            Location::new(ctx.file).with_line(e.line() as u64),
        )
    })?;
    let one = |v: &Value, raw: String, line: u64| Submission {
        accno: json_str(v.get("accno")),
        attrs: json_attrs(v),
        root: v.get("section").map(json_section),
        line,
        raw,
        diags: Vec::new(),
    };
    // A single submission, a list of them, or the `{"submissions": […]}` envelope.
    let list = match &root {
        Value::Array(a) => Some(a),
        Value::Object(o) => o.get("submissions").and_then(Value::as_array),
        _ => None,
    };
    match list {
        Some(items) => {
            let inner = match &root {
                Value::Array(_) => Some(text),
                _ => text.find("\"submissions\"").and_then(|i| text.get(i..)),
            };
            let base = text.len() - inner.map_or(text.len(), str::len);
            let spans = inner.map(array_spans).unwrap_or_default();
            Ok(items
                .iter()
                .enumerate()
                .map(
                    |(i, v)| match spans.get(i).filter(|_| spans.len() == items.len()) {
                        Some((s, e)) => one(
                            v,
                            text.get(base + s..base + e).unwrap_or(text).to_string(),
                            line_at(text, base + s),
                        ),
                        None => one(v, text.to_string(), 1),
                    },
                )
                .collect())
        }
        None => Ok(vec![one(&root, text.to_string(), 1)]),
    }
}

// ---------------------------------------------------------------------------------------------
// TSV

/// Where attribute lines of the current block go.
#[derive(Clone, Copy, PartialEq)]
enum Target {
    None,
    Submission,
    Section,
    File,
    Link,
}

/// The table a block is, when it is one: column names and the section type for sections tables.
enum Table {
    Files(Vec<String>),
    Links(Vec<String>),
    Sections {
        kind: String,
        parent: String,
        columns: Vec<String>,
    },
}

/// A section being built, with the accession of its parent section (empty: the root).
struct Pending {
    section: Section,
    parent: String,
    line: u64,
}

struct TsvState<'a> {
    ctx: &'a ParseContext<'a>,
    subs: Vec<Submission>,
    sections: Vec<Pending>,
    target: Target,
    table: Option<Table>,
    diags: Vec<Diagnostic>,
    start_offset: usize,
}

impl TsvState<'_> {
    fn loc(&self, line: u64) -> Location {
        let mut l = Location::new(self.ctx.file).with_line(line);
        if let Some(s) = self.subs.last() {
            if !s.accno.is_empty() {
                l = l.with_record(s.accno.clone());
            }
        }
        l
    }

    fn current_attrs(&mut self) -> Option<&mut Vec<Attr>> {
        match self.target {
            Target::None => None,
            Target::Submission => self.subs.last_mut().map(|s| &mut s.attrs),
            Target::Section => self.sections.last_mut().map(|p| &mut p.section.attrs),
            Target::File => self
                .sections
                .last_mut()
                .and_then(|p| p.section.files.last_mut())
                .map(|f| &mut f.attrs),
            Target::Link => self
                .sections
                .last_mut()
                .and_then(|p| p.section.links.last_mut())
                .map(|f| &mut f.attrs),
        }
    }

    /// Assembles the sections read for the last submission into its tree.
    fn finish_submission(&mut self, text: &str, end: usize) {
        let pending = std::mem::take(&mut self.sections);
        let Some(sub) = self.subs.last_mut() else {
            return;
        };
        sub.raw = text.get(self.start_offset..end).unwrap_or("").to_string();
        sub.diags.append(&mut self.diags);
        let mut iter = pending.into_iter();
        let Some(first) = iter.next() else { return };
        let mut root = first.section;
        for p in iter {
            let parent = p.parent.trim();
            if parent.is_empty() || parent == root.accno {
                root.subsections.push(p.section);
            } else if let Some(s) = find_section(&mut root, parent) {
                s.subsections.push(p.section);
            } else {
                sub.diags.push(Diagnostic::warning(
                    "unknown-parent",
                    format!(
                        "section {:?} names parent {parent:?}, which is not defined before it; attached to the root section",
                        p.section.accno
                    ),
                    Location::new(self.ctx.file)
                        .with_record(sub.accno.clone())
                        .with_line(p.line),
                ));
                root.subsections.push(p.section);
            }
        }
        sub.root = Some(root);
    }
}

fn find_section<'a>(s: &'a mut Section, accno: &str) -> Option<&'a mut Section> {
    if s.accno == accno {
        return Some(s);
    }
    s.subsections
        .iter_mut()
        .find_map(|c| find_section(c, accno))
}

/// Byte offset of the start of a 1-based line.
fn line_offsets(text: &str) -> Vec<usize> {
    let mut v = vec![0];
    for (i, b) in text.bytes().enumerate() {
        if b == b'\n' {
            v.push(i + 1);
        }
    }
    v
}

fn read_tsv(text: &str, ctx: &ParseContext) -> Vec<Submission> {
    let offsets = line_offsets(text);
    let offset_of = |line: u64| {
        offsets
            .get(line.saturating_sub(1) as usize)
            .copied()
            .unwrap_or(text.len())
    };
    let mut st = TsvState {
        ctx,
        subs: Vec::new(),
        sections: Vec::new(),
        target: Target::None,
        table: None,
        diags: Vec::new(),
        start_offset: 0,
    };
    let mut block_start = true;
    let mut rows = Rows::new(text);
    for row in rows.by_ref() {
        let cells: Vec<String> = row.cells.iter().map(|c| c.trim().to_string()).collect();
        let filled = cells
            .iter()
            .rposition(|c| !c.is_empty())
            .map_or(0, |i| i + 1);
        if filled == 0 {
            block_start = true;
            st.table = None;
            continue;
        }
        let cells = &cells[..filled];
        let head = cells[0].as_str();
        let val = cells.get(1).cloned().unwrap_or_default();

        if head.eq_ignore_ascii_case("Submission") {
            if !st.subs.is_empty() {
                st.finish_submission(text, offset_of(row.line));
            }
            // The first submission keeps any lines before it; later ones start at their line.
            st.start_offset = if st.subs.is_empty() {
                0
            } else {
                offset_of(row.line)
            };
            st.subs.push(Submission {
                accno: val,
                line: row.line,
                ..Default::default()
            });
            st.target = Target::Submission;
            st.table = None;
            block_start = false;
            continue;
        }
        if st.subs.is_empty() {
            st.diags.push(Diagnostic::warning(
                "outside-submission",
                format!("line before any Submission line ignored: {head:?}"),
                Location::new(ctx.file).with_line(row.line),
            ));
            continue;
        }
        // Rows of a table block.
        if let Some(table) = &st.table {
            let loc = st.loc(row.line);
            let columns = match table {
                Table::Files(c) | Table::Links(c) => c,
                Table::Sections { columns, .. } => columns,
            };
            if cells.len() > columns.len() + 1 {
                st.diags.push(Diagnostic::warning(
                    "ragged-row",
                    format!(
                        "table row has {} values for {} columns; the extra values are ignored",
                        cells.len() - 1,
                        columns.len()
                    ),
                    loc,
                ));
            }
            let attrs: Vec<Attr> = columns
                .iter()
                .zip(cells.iter().skip(1))
                .filter(|(_, v)| !v.is_empty())
                .map(|(n, v)| Attr {
                    name: n.clone(),
                    value: v.clone(),
                    ..Default::default()
                })
                .collect();
            let entry = Entry {
                target: head.to_string(),
                attrs: attrs.clone(),
            };
            match table {
                Table::Files(_) => {
                    if let Some(p) = st.sections.last_mut() {
                        p.section.files.push(entry);
                    }
                }
                Table::Links(_) => {
                    if let Some(p) = st.sections.last_mut() {
                        p.section.links.push(entry);
                    }
                }
                Table::Sections { kind, parent, .. } => {
                    let (kind, parent) = (kind.clone(), parent.clone());
                    st.sections.push(Pending {
                        section: Section {
                            kind,
                            accno: head.to_string(),
                            attrs,
                            ..Default::default()
                        },
                        parent,
                        line: row.line,
                    });
                }
            }
            continue;
        }
        // Qualifiers and references.
        let bracketed = |open: char, close: char| {
            head.strip_prefix(open)
                .and_then(|r| r.strip_suffix(close))
                .map(str::to_string)
        };
        if let Some(q) = bracketed('[', ']') {
            let loc = st.loc(row.line);
            match st.current_attrs().and_then(|a| a.last_mut()) {
                Some(a) => a.valqual.push((q, val)),
                None => st.diags.push(Diagnostic::warning(
                    "orphan-qualifier",
                    format!("value qualifier [{q}] has no attribute before it"),
                    loc,
                )),
            }
            block_start = false;
            continue;
        }
        if let Some(q) = bracketed('(', ')') {
            let loc = st.loc(row.line);
            match st.current_attrs().and_then(|a| a.last_mut()) {
                Some(a) => a.nmqual.push((q, val)),
                None => st.diags.push(Diagnostic::warning(
                    "orphan-qualifier",
                    format!("name qualifier ({q}) has no attribute before it"),
                    loc,
                )),
            }
            block_start = false;
            continue;
        }
        if block_start {
            block_start = false;
            let columns: Vec<String> = cells[1..].to_vec();
            if head.eq_ignore_ascii_case("Files") {
                st.table = Some(Table::Files(columns));
                st.target = Target::None;
                continue;
            }
            if head.eq_ignore_ascii_case("Links") {
                st.table = Some(Table::Links(columns));
                st.target = Target::None;
                continue;
            }
            if head.eq_ignore_ascii_case("File") || head.eq_ignore_ascii_case("Link") {
                let entry = Entry {
                    target: val,
                    attrs: Vec::new(),
                };
                match st.sections.last_mut() {
                    Some(p) if head.eq_ignore_ascii_case("File") => {
                        p.section.files.push(entry);
                        st.target = Target::File;
                    }
                    Some(p) => {
                        p.section.links.push(entry);
                        st.target = Target::Link;
                    }
                    None => {
                        let loc = st.loc(row.line);
                        st.diags.push(Diagnostic::warning(
                            "no-section",
                            format!(
                                "{head} {:?} comes before any section and is ignored",
                                entry.target
                            ),
                            loc,
                        ));
                        st.target = Target::None;
                    }
                }
                continue;
            }
            if let Some((kind, parent)) = head.strip_suffix(']').and_then(|h| h.split_once('[')) {
                st.table = Some(Table::Sections {
                    kind: kind.trim().to_string(),
                    parent: parent.trim().to_string(),
                    columns,
                });
                st.target = Target::None;
                continue;
            }
            // A section header: Type, AccNo, ParentAccNo.
            st.sections.push(Pending {
                section: Section {
                    kind: head.to_string(),
                    accno: val,
                    ..Default::default()
                },
                parent: cells.get(2).cloned().unwrap_or_default(),
                line: row.line,
            });
            st.target = Target::Section;
            continue;
        }
        // An attribute line.
        let (name, reference) = match bracketed('<', '>') {
            Some(n) => (n, true),
            None => (head.to_string(), false),
        };
        let loc = st.loc(row.line);
        match st.current_attrs() {
            Some(attrs) => attrs.push(Attr {
                name,
                value: val,
                reference,
                ..Default::default()
            }),
            None => st.diags.push(Diagnostic::warning(
                "orphan-attribute",
                format!("attribute {name:?} has nothing to belong to"),
                loc,
            )),
        }
    }
    for line in &rows.unclosed {
        st.diags.push(Diagnostic::warning(
            "unclosed-quote",
            "a quoted value is never closed; the quote is read as a character",
            Location::new(ctx.file).with_line(*line),
        ));
    }
    if st.subs.is_empty() {
        return Vec::new();
    }
    st.finish_submission(text, text.len());
    st.subs
}

// ---------------------------------------------------------------------------------------------
// Normalization

/// The ontology id an attribute's qualifiers give (`[TermId] UBERON_0000178`, `[Ontology] UBERON`).
fn qualified_id(a: &Attr) -> Option<String> {
    let q = |n: &str| {
        a.valqual
            .iter()
            .find(|(k, _)| k.trim().eq_ignore_ascii_case(n))
            .map(|(_, v)| v.as_str())
    };
    let term = q("TermId").or(q("Term Id")).or(q("Accession"))?;
    isatab::term_id(term, q("Ontology").unwrap_or(""))
}

fn is_kind(s: &Section, kind: &str) -> bool {
    s.kind.trim().eq_ignore_ascii_case(kind)
}

fn walk<'a>(s: &'a Section, out: &mut Vec<&'a Section>) {
    out.push(s);
    for c in &s.subsections {
        walk(c, out);
    }
}

/// Applies an attribute of the submission or of a descriptive section.
fn apply_attr(d: &mut Dataset, a: &Attr, prefix: &str) {
    let Some(v) = clean_value(&a.value) else {
        return;
    };
    let id = qualified_id(a);
    let key = a.name.trim().to_ascii_lowercase();
    match key.as_str() {
        "title" | "releasedate" | "release date" if prefix.is_empty() => {}
        "description" | "abstract" if prefix.is_empty() && d.description.is_empty() => {
            d.description = a.value.trim().to_string();
        }
        "organism" | "species" => {
            let taxon = id
                .as_deref()
                .and_then(|i| i.strip_prefix("NCBITaxon:"))
                .map(str::to_string);
            d.push_organism(&v, taxon.as_deref(), Evidence::Declared);
        }
        "organ" | "tissue" | "tissue type" | "organism part" => {
            Dataset::push_term(&mut d.tissues, &v, id.as_deref(), Evidence::Declared)
        }
        "cell type" => Dataset::push_term(&mut d.cell_types, &v, id.as_deref(), Evidence::Declared),
        "disease" => Dataset::push_term(&mut d.diseases, &v, id.as_deref(), Evidence::Declared),
        "keyword" | "keywords" => {
            for k in v.split([';', ',']) {
                Dataset::push_unique(&mut d.submitter_keywords, k);
            }
        }
        "license" | "licence" => d.license = Some(v.clone()),
        _ => {
            let name = if prefix.is_empty() {
                a.name.trim().to_string()
            } else {
                format!("{prefix}: {}", a.name.trim())
            };
            d.push_additional(&name, &v);
        }
    }
    // Qualifiers are kept too, beside the attribute they qualify.
    for (q, qv) in a.valqual.iter().chain(&a.nmqual) {
        if clean_value(qv).is_some() {
            d.push_additional(&format!("{} [{}]", a.name.trim(), q.trim()), qv.trim());
        }
    }
}

fn build(sub: Submission, ordinal: usize, ctx: &ParseContext) -> SourceRecord {
    let mut diags = sub.diags;
    let accno = clean_value(&sub.accno);
    let label = accno.clone().unwrap_or_else(|| format!("#{ordinal}"));
    let loc = Location::new(ctx.file)
        .with_record(label.clone())
        .with_line(sub.line.max(1));
    let mut d = Dataset::default();
    match &accno {
        Some(a) => d.accession = a.clone(),
        None => {
            diags.push(Diagnostic::error(
                "missing-accession",
                "the submission has no accession (accno)",
                loc.clone(),
            ));
            d.accession = format!("pagetab-{ordinal}");
        }
    }
    d.repository = if d.accession.to_ascii_uppercase().starts_with("S-EPMC") {
        "biostudies-literature".to_string()
    } else {
        "biostudies".to_string()
    };
    d.full_dataset_link = accno
        .as_ref()
        .map(|a| format!("https://www.ebi.ac.uk/biostudies/studies/{a}"));

    let empty = Section::default();
    let root = sub.root.as_ref().unwrap_or(&empty);
    if sub.root.is_none() {
        diags.push(Diagnostic::warning(
            "missing-section",
            "the submission has no root section",
            loc.clone(),
        ));
    }
    d.title = attr_value(&sub.attrs, "Title")
        .and_then(clean_value)
        .or_else(|| attr_value(&root.attrs, "Title").and_then(clean_value))
        .unwrap_or_default();
    if d.title.is_empty() {
        diags.push(Diagnostic::error(
            "missing-title",
            "the submission has no Title attribute",
            loc.clone(),
        ));
    }
    if let Some(raw) = attr_value(&sub.attrs, "ReleaseDate").and_then(clean_value) {
        let value = isatab::parse_date(&raw);
        match &value {
            None => diags.push(Diagnostic::warning(
                "bad-date",
                format!("release date {raw:?} is not a date this reader knows"),
                loc.clone(),
            )),
            Some(v) if v.to_ymd() > ctx.today.to_ymd() => diags.push(Diagnostic::warning(
                "future-date",
                format!("release date {v} is in the future"),
                loc.clone(),
            )),
            Some(_) => {}
        }
        d.dates.push(DatedValue {
            kind: DateKind::Publication,
            value,
            raw,
        });
    }
    for a in &sub.attrs {
        apply_attr(&mut d, a, "");
    }

    let mut all = Vec::new();
    walk(root, &mut all);
    // Organizations first: authors refer to them by accession.
    let orgs: Vec<(&str, String)> = all
        .iter()
        .filter(|s| is_kind(s, "Organization") || is_kind(s, "Organisation"))
        .map(|s| {
            (
                s.accno.as_str(),
                attr_value(&s.attrs, "Name")
                    .unwrap_or("")
                    .trim()
                    .to_string(),
            )
        })
        .collect();
    for (i, s) in all.iter().enumerate() {
        if is_kind(s, "Author") {
            let name = attr_value(&s.attrs, "Name").and_then(clean_value);
            let mut p = Person::new(name.clone().unwrap_or_default(), PersonRole::Author);
            p.email = attr_value(&s.attrs, "E-mail")
                .or(attr_value(&s.attrs, "Email"))
                .and_then(clean_value);
            p.orcid = attr_value(&s.attrs, "ORCID").and_then(clean_value);
            let mut affs = Vec::new();
            for a in s.attrs.iter().filter(|a| {
                let n = a.name.trim().to_ascii_lowercase();
                n == "affiliation" || n == "affiliations"
            }) {
                let org = if a.reference {
                    let found = orgs.iter().find(|(acc, _)| *acc == a.value.trim());
                    if found.is_none() {
                        diags.push(Diagnostic::warning(
                            "unknown-reference",
                            format!(
                                "author {:?} refers to organization {:?}, which is not defined",
                                p.name,
                                a.value.trim()
                            ),
                            loc.clone(),
                        ));
                    }
                    found.map(|(_, n)| n.clone())
                } else {
                    clean_value(&a.value)
                };
                if let Some(o) = org.filter(|o| !o.is_empty()) {
                    affs.push(o);
                }
            }
            if !affs.is_empty() {
                p.affiliation = Some(affs.join("; "));
            }
            for a in &s.attrs {
                let n = a.name.trim().to_ascii_lowercase();
                if ![
                    "name",
                    "e-mail",
                    "email",
                    "orcid",
                    "affiliation",
                    "affiliations",
                ]
                .contains(&n.as_str())
                {
                    apply_attr(&mut d, a, "Author");
                }
            }
            if name.is_some() || p.email.is_some() {
                d.people.push(p);
            }
        } else if is_kind(s, "Organization") || is_kind(s, "Organisation") {
            // Read through the authors' references; other attributes are kept.
            for a in s
                .attrs
                .iter()
                .filter(|a| !a.name.trim().eq_ignore_ascii_case("Name"))
            {
                apply_attr(&mut d, a, &s.kind);
            }
        } else if is_kind(s, "Publication") {
            let get = |names: &[&str]| {
                names
                    .iter()
                    .find_map(|n| attr_value(&s.attrs, n))
                    .and_then(clean_value)
            };
            let accno_pmid = Some(s.accno.trim().to_string())
                .filter(|a| !a.is_empty() && a.bytes().all(|b| b.is_ascii_digit()));
            let pmid = get(&["Pubmed ID", "PMID", "PubMed"]).or(accno_pmid);
            let doi = get(&["DOI"]).and_then(|x| isatab::normalize_doi(&x));
            let citation = [
                get(&["Authors"]),
                get(&["Title"]),
                get(&["Journal"]),
                get(&["Year", "Publication date"]),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(". ");
            d.add_publication(PublicationRef {
                pmid,
                doi,
                pmcid: get(&["PMCID", "PMC ID"]),
                citation: (!citation.is_empty()).then_some(citation),
            });
        } else {
            let prefix = if i == 0 {
                String::new()
            } else {
                s.kind.trim().to_string()
            };
            if !s.accno.trim().is_empty() {
                d.push_additional(&format!("{}: accno", s.kind.trim()), s.accno.trim());
            }
            for a in &s.attrs {
                if a.name.trim().eq_ignore_ascii_case("File List") {
                    read_file_list(&mut d, a.value.trim(), ctx, &loc, &mut diags);
                }
                apply_attr(&mut d, a, &prefix);
            }
        }
        for f in &s.files {
            Dataset::push_unique(&mut d.files, &f.target);
            for a in &f.attrs {
                apply_attr(&mut d, a, "File");
            }
        }
        for l in &s.links {
            for a in l
                .attrs
                .iter()
                .filter(|a| !a.name.trim().eq_ignore_ascii_case("Type"))
            {
                apply_attr(&mut d, a, "Link");
            }
            match attr_value(&l.attrs, "Type").and_then(clean_value) {
                Some(t) => d.add_cross_ref(&t, &l.target, Evidence::Declared),
                None => Dataset::push_unique(
                    d.additional.entry("Link".to_string()).or_default(),
                    &l.target,
                ),
            }
        }
    }
    if d.files.len() > isatab::MAX_FILES {
        let over = d.files.len() - isatab::MAX_FILES;
        d.files.truncate(isatab::MAX_FILES);
        diags.push(Diagnostic::warning(
            "values-capped",
            format!(
                "the submission lists more than {} files; {over} more are not kept",
                isatab::MAX_FILES
            ),
            loc.clone(),
        ));
    }
    SourceRecord {
        dataset: d,
        publication: None,
        raw: sub.raw,
        format: FORMAT,
        location: loc,
        diagnostics: diags,
    }
}

/// A `File List` attribute names a file beside the submission holding a files table (TSV
/// `Files …` rows, or a JSON array of files).
fn read_file_list(
    d: &mut Dataset,
    name: &str,
    ctx: &ParseContext,
    loc: &Location,
    diags: &mut Vec<Diagnostic>,
) {
    if name.is_empty() {
        return;
    }
    let Some(bytes) = (ctx.siblings)(name) else {
        diags.push(Diagnostic::warning(
            "missing-file-list",
            format!("file list {name:?} is not beside the submission"),
            loc.clone(),
        ));
        return;
    };
    let (text, _) = raw_text(&bytes);
    let t = text.trim_start();
    if t.starts_with('[') {
        match serde_json::from_str::<Value>(t) {
            Ok(v) => {
                for f in flat(Some(&v)) {
                    d.files.push(json_str(f.get("path")));
                }
            }
            Err(e) => diags.push(Diagnostic::warning(
                "bad-file-list",
                format!("file list {name:?} is not valid JSON: {e}"),
                loc.clone(),
            )),
        }
    } else {
        for row in Rows::new(&text).skip(1) {
            if let Some(p) = row.cells.first().and_then(|c| clean_value(c)) {
                d.files.push(p);
            }
        }
    }
    d.files.retain(|f| !f.trim().is_empty());
    let mut seen = std::collections::HashSet::new();
    d.files.retain(|f| seen.insert(f.clone()));
}
