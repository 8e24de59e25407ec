//! PMC JATS full-text XML (one `<article>` per `.nxml` file, or a `<pmc-articleset>` from
//! efetch, streamed article by article). Each article becomes a literature record the way
//! BioStudies shows Europe PMC articles: repository `biostudies-literature`, accession
//! `S-EPMC<n>` for PMC<n>, omics type "Unknown", and the article's `Publication`.
//!
//! Accessions the article names in its data-availability statement (and data links the
//! publisher tagged with `ext-link-type`) become cross-references found in text.

use crate::link;
use crate::pubmed::normalize_orcid;
use crate::xml::{self, fold_ws, Element, Node};
use crate::xmlsplit::{Chunk, RecordSplitter};
use crate::{raw_text, ParseContext, Sniff};
use opendi_model::{
    clean_value, Dataset, DateKind, DatedValue, Diagnostic, Evidence, Item, Location, PartialDate,
    Person, PersonRole, Publication, PublicationRef, SourceRecord,
};
use std::cell::RefCell;
use std::collections::HashMap;
use std::io::{BufRead, Read};

pub const FORMAT: &str = "pmc-jats";
pub const REPOSITORY: &str = "biostudies-literature";

/// A single-article file is kept whole as the record's raw text up to this size; beyond it the
/// raw is the `<article>` element alone.
const MAX_WHOLE_FILE: usize = 64 << 20;

pub fn sniff(_name: &str, head: &[u8]) -> Sniff {
    match crate::detect::xml_root(head).as_deref() {
        Some("pmc-articleset") => Sniff::Yes,
        Some("article") => {
            // `<article>` is a common root name: ask for JATS structure or its DTD as well.
            let text = crate::detect::head_text(head);
            let jats = [
                "<front",
                "<article-meta",
                "<journal-meta",
                "JATS",
                "NLM//DTD",
            ]
            .iter()
            .any(|m| text.contains(m));
            if jats {
                Sniff::Yes
            } else {
                Sniff::No
            }
        }
        _ => Sniff::No,
    }
}

/// Keeps a copy of the bytes the splitter consumes while `log` is `Some`, so a one-article
/// file can keep its whole text (prolog and trailing newline included) as the raw record.
struct Recorder<'a, 'b> {
    inner: &'a mut dyn BufRead,
    log: &'b RefCell<Option<Vec<u8>>>,
}

impl Read for Recorder<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.keep(&buf[..n]);
        Ok(n)
    }
}

impl BufRead for Recorder<'_, '_> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }
    fn consume(&mut self, amt: usize) {
        // The bytes being consumed are the front of the buffer `fill_buf` just returned;
        // asking again does no I/O.
        if self.log.borrow().is_some() {
            if let Ok(b) = self.inner.fill_buf() {
                let b = b[..amt.min(b.len())].to_vec();
                self.keep(&b);
            }
        }
        self.inner.consume(amt);
    }
}

impl Recorder<'_, '_> {
    fn keep(&self, bytes: &[u8]) {
        let mut log = self.log.borrow_mut();
        if let Some(v) = log.as_mut() {
            if v.len() + bytes.len() > MAX_WHOLE_FILE {
                *log = None;
            } else {
                v.extend_from_slice(bytes);
            }
        }
    }
}

struct Pending {
    text: Vec<u8>,
    line: u64,
    complete: bool,
    ordinal: u64,
}

pub fn parse(
    reader: &mut dyn BufRead,
    ctx: &ParseContext,
    sink: &mut dyn FnMut(Item),
) -> std::io::Result<()> {
    let log = RefCell::new(Some(Vec::new()));
    let recorder = Recorder {
        inner: reader,
        log: &log,
    };
    let mut splitter = RecordSplitter::new(recorder, &["article"]);
    let mut ordinal = 0u64;
    // A file whose prolog holds no element is one `<article>`: its record waits for the end
    // of input so that the raw text can be the whole file.
    let mut single = false;
    let mut pending: Option<Pending> = None;
    let emit = |p: Pending, whole: Option<Vec<u8>>, sink: &mut dyn FnMut(Item)| {
        let rec = parse_article(&p.text, p.line, p.ordinal, p.complete, whole, ctx);
        sink(Item::Record(Box::new(rec)));
    };
    while let Some(chunk) = splitter.next_chunk()? {
        match chunk {
            Chunk::Header { text } => {
                single = crate::detect::xml_root(&text).is_none();
                if !single {
                    *log.borrow_mut() = None;
                }
            }
            Chunk::Record {
                text,
                line,
                complete,
                ..
            } => {
                ordinal += 1;
                let p = Pending {
                    text,
                    line,
                    complete,
                    ordinal,
                };
                if single && ordinal == 1 {
                    pending = Some(p);
                    continue;
                }
                // More than one article after all: none of them is the whole file.
                *log.borrow_mut() = None;
                if let Some(first) = pending.take() {
                    emit(first, None, sink);
                }
                emit(p, None, sink);
            }
            Chunk::TooLarge { line, bytes, .. } => {
                ordinal += 1;
                sink(Item::Diagnostic(Diagnostic::error(
                    "record-too-large",
                    format!("article of {bytes} bytes skipped: larger than the record limit"),
                    Location::new(ctx.file)
                        .with_record(format!("#{ordinal}"))
                        .with_line(line),
                )));
            }
        }
    }
    drop(splitter);
    if let Some(p) = pending.take() {
        let whole = log.borrow_mut().take();
        emit(p, whole, sink);
    }
    if ordinal == 0 {
        sink(Item::Diagnostic(Diagnostic::error(
            "no-article",
            "no <article> element found",
            Location::new(ctx.file).with_line(1),
        )));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Text and markup

/// Elements that separate words: their text is set off by spaces when flattened.
fn is_block(name: &str) -> bool {
    matches!(
        name,
        "p" | "sec"
            | "title"
            | "label"
            | "list"
            | "list-item"
            | "def-list"
            | "def-item"
            | "term"
            | "def"
            | "disp-quote"
            | "disp-formula"
            | "table-wrap"
            | "table"
            | "tr"
            | "td"
            | "th"
            | "caption"
            | "fig"
            | "break"
            | "statement"
            | "boxed-text"
    )
}

fn collect_plain(el: &Element, out: &mut String, skip: &dyn Fn(&Element) -> bool) {
    for n in &el.children {
        match n {
            Node::Text(t) => out.push_str(t),
            Node::Element(e) if skip(e) => {}
            Node::Element(e) => {
                let block = is_block(&e.name);
                if block {
                    out.push(' ');
                }
                collect_plain(e, out, skip);
                if block {
                    out.push(' ');
                }
            }
        }
    }
}

/// The element's text with inline markup dropped and white space folded: `M<italic>m</italic>PPOX`
/// stays one word (the generic `Element::text` would split it).
fn plain(el: &Element) -> String {
    let mut s = String::new();
    collect_plain(el, &mut s, &|_| false);
    fold_ws(&s)
}

fn esc(s: &str) -> std::borrow::Cow<'_, str> {
    quick_xml::escape::partial_escape(s)
}

/// Renders JATS inline content as the small HTML subset the page sanitizer keeps (`i`, `b`,
/// `sup`, `sub`, `u`, `code`, lists); other elements give their text.
fn render_inline(el: &Element, out: &mut String) {
    for n in &el.children {
        match n {
            Node::Text(t) => out.push_str(&esc(t)),
            Node::Element(e) => {
                let tag = match &*e.name {
                    "italic" => Some("i"),
                    "bold" => Some("b"),
                    "sup" => Some("sup"),
                    "sub" => Some("sub"),
                    "underline" => Some("u"),
                    "monospace" => Some("code"),
                    _ => None,
                };
                match (tag, &*e.name) {
                    (Some(t), _) => {
                        out.push_str(&format!("<{t}>"));
                        render_inline(e, out);
                        out.push_str(&format!("</{t}>"));
                    }
                    (None, "list") => {
                        let t = if e.attr("list-type") == Some("order") {
                            "ol"
                        } else {
                            "ul"
                        };
                        out.push_str(&format!("<{t}>"));
                        for item in e.children_named("list-item") {
                            out.push_str("<li>");
                            let mut li = String::new();
                            render_inline(item, &mut li);
                            out.push_str(&fold_ws(&li));
                            out.push_str("</li>");
                        }
                        out.push_str(&format!("</{t}>"));
                    }
                    (None, "break") => out.push(' '),
                    (None, n) if is_block(n) => {
                        out.push(' ');
                        render_inline(e, out);
                        out.push(' ');
                    }
                    _ => render_inline(e, out),
                }
            }
        }
    }
}

fn inline_markup(el: &Element) -> String {
    let mut s = String::new();
    render_inline(el, &mut s);
    fold_ws(&s)
}

/// An abstract (or one of its sections) as Europe PMC renders it: each titled section as
/// `<h4>Title</h4>` followed by its text; a lone paragraph stays bare, several are `<p>`s.
fn render_container(el: &Element, out: &mut String) {
    let paras = el
        .elements()
        .filter(|e| !matches!(&*e.name, "sec" | "title" | "label"))
        .count();
    for e in el.elements() {
        match &*e.name {
            "title" | "label" => {}
            "sec" => {
                let title = e.child("title").map(inline_markup).unwrap_or_default();
                if !title.is_empty() {
                    out.push_str(&format!("<h4>{title}</h4>"));
                }
                render_container(e, out);
            }
            _ => {
                let body = if e.name == "p" {
                    inline_markup(e)
                } else {
                    let mut s = String::new();
                    render_inline(
                        &Element {
                            children: vec![Node::Element(e.clone())],
                            ..Default::default()
                        },
                        &mut s,
                    );
                    fold_ws(&s)
                };
                if body.is_empty() {
                    continue;
                }
                if paras > 1 && e.name == "p" {
                    out.push_str(&format!("<p>{body}</p>"));
                } else {
                    out.push_str(&body);
                }
            }
        }
    }
}

fn render_abstract(abs: &Element) -> String {
    let mut s = String::new();
    render_container(abs, &mut s);
    s.trim().to_string()
}

// ---------------------------------------------------------------------------------------
// Accessions

/// The database (Bioregistry prefix) an `ext-link-type` names, for the types that point at data
/// records.
fn ext_link_database(kind: &str) -> Option<&'static str> {
    let kind = kind.to_ascii_lowercase();
    let name = match kind.as_str() {
        "gen" | "genbank" | "ddbj/embl/genbank" => "genbank",
        "clinicaltrials" | "clintrialgov" | "clinical-trial" => "clinicaltrials",
        "swissprot" => "uniprot",
        k @ ("geo" | "arrayexpress" | "pdb" | "uniprot" | "sra" | "bioproject" | "biosample"
        | "ega" | "pride" | "proteomexchange" | "metabolights" | "refseq" | "ensembl"
        | "omim" | "dbsnp") => k,
        _ => return None,
    };
    link::prefix_for(name)
}

/// Sections and notes that state where the data are.
fn is_data_statement(e: &Element) -> bool {
    let typed = ["sec-type", "notes-type", "specific-use", "content-type"]
        .iter()
        .filter_map(|a| e.attr(a))
        .any(|t| t.to_ascii_lowercase().contains("data-avail"));
    if typed {
        return true;
    }
    let title = e
        .child("title")
        .map(plain)
        .unwrap_or_default()
        .to_ascii_lowercase();
    (title.contains("availability") && title.contains("data"))
        || title.contains("accession number")
        || title.contains("data deposition")
        || title.contains("data access")
}

fn data_statements<'a, 's>(el: &'a Element<'s>, out: &mut Vec<&'a Element<'s>>) {
    for e in el.elements() {
        if matches!(&*e.name, "sec" | "notes") && is_data_statement(e) {
            out.push(e);
            continue;
        }
        // PLoS: <custom-meta><meta-name>Data Availability</meta-name><meta-value>…
        if e.name == "custom-meta"
            && e.child("meta-name").is_some_and(|n| {
                let t = plain(n).to_ascii_lowercase();
                t.contains("data") && t.contains("availab")
            })
        {
            if let Some(v) = e.child("meta-value") {
                out.push(v);
            }
            continue;
        }
        data_statements(e, out);
    }
}

// ---------------------------------------------------------------------------------------
// People

/// "Jean-François" → "JF", "K K" → "KK", "G. A." → "GA"; already-initials ("JA") stay.
fn initials(given: &str) -> String {
    let g = given.trim();
    if !g.is_empty() && g.chars().count() <= 3 && g.chars().all(|c| c.is_uppercase()) {
        return g.to_string();
    }
    g.split([' ', '-', '.', '\u{2010}'])
        .filter_map(|w| w.chars().next())
        .filter(|c| c.is_alphabetic())
        .flat_map(char::to_uppercase)
        .collect()
}

/// (display name "Surname Initials" as PubMed and Europe PMC write it, full name "Given Surname").
fn contrib_names(c: &Element) -> Option<(String, String)> {
    let name = c
        .child("name")
        .or_else(|| c.child("name-alternatives").and_then(|n| n.child("name")));
    if let Some(n) = name {
        let surname = n.child("surname").map(plain).unwrap_or_default();
        let given = n.child("given-names").map(plain).unwrap_or_default();
        let suffix = n.child("suffix").map(plain).unwrap_or_default();
        if surname.is_empty() && given.is_empty() {
            return None;
        }
        let display = format!("{} {}", surname, initials(&given))
            .trim()
            .to_string();
        let full = [given.as_str(), surname.as_str(), suffix.as_str()]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" ");
        return Some((display, full));
    }
    let other = c.child("string-name").or_else(|| c.child("collab"))?;
    let n = plain(other);
    (!n.is_empty()).then(|| (n.clone(), n))
}

/// An affiliation's text without its label ("1"), with `<institution>, <country>` spacing tidied.
fn aff_text(aff: &Element) -> String {
    let mut s = String::new();
    collect_plain(aff, &mut s, &|e: &Element| {
        matches!(&*e.name, "label" | "sup")
            && e.elements().next().is_none()
            && e.text_raw()
                .chars()
                .all(|c| !c.is_alphabetic() || c.is_uppercase())
            && e.text_raw().chars().count() <= 3
    });
    fold_ws(&s)
        .replace(" ,", ",")
        .trim_matches([' ', ',', ';'])
        .to_string()
}

// ---------------------------------------------------------------------------------------
// Dates

/// (date, raw) from `<pub-date>`/`<date>`: `iso-8601-date` when given, else year/month/day.
fn read_date(el: &Element) -> (Option<PartialDate>, String) {
    if let Some(iso) = el.attr("iso-8601-date").filter(|s| !s.trim().is_empty()) {
        return (PartialDate::parse(iso), iso.trim().to_string());
    }
    let part = |n: &str| el.child(n).map(plain).unwrap_or_default();
    let (y, m, d, season) = (part("year"), part("month"), part("day"), part("season"));
    if y.is_empty() {
        let s = el.child("string-date").map(plain).unwrap_or_default();
        return (PartialDate::parse(&s), s);
    }
    let numeric = !m.is_empty() && m.bytes().all(|b| b.is_ascii_digit());
    let raw = if numeric {
        [y.as_str(), m.as_str(), d.as_str()]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join("-")
    } else {
        [y.as_str(), m.as_str(), d.as_str(), season.as_str()]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let value = if numeric {
        let mut iso = format!("{y}-{m:0>2}");
        if !d.is_empty() {
            iso.push_str(&format!("-{d:0>2}"));
        }
        PartialDate::parse(&iso)
    } else {
        PartialDate::parse(&raw)
    };
    (value, raw)
}

/// The kind of a `<pub-date>`: `pub-type` (JATS 1.0 and older) or `date-type` with
/// `publication-format` (JATS 1.1+).
fn pub_date_kind(el: &Element) -> String {
    if let Some(t) = el.attr("pub-type") {
        return t.trim().to_string();
    }
    match (el.attr("date-type"), el.attr("publication-format")) {
        (Some("pub"), Some("electronic")) => "epub".into(),
        (Some("pub"), Some("print")) => "ppub".into(),
        (Some(t), _) => t.trim().to_string(),
        (None, _) => "pub".into(),
    }
}

/// Lower is preferred as the publication date: electronic, print, then unspecified publication.
fn pub_date_rank(kind: &str) -> u8 {
    match kind {
        "epub" => 0,
        "ppub" => 1,
        "pub" => 2,
        "epub-ppub" | "epreprint" => 3,
        "collection" => 4,
        _ => 5,
    }
}

// ---------------------------------------------------------------------------------------
// The article

fn parse_article(
    text: &[u8],
    line: u64,
    ordinal: u64,
    complete: bool,
    whole_file: Option<Vec<u8>>,
    ctx: &ParseContext,
) -> SourceRecord {
    let (raw, utf8_ok) = raw_text(whole_file.as_deref().unwrap_or(text));
    let (art, problems) = xml::parse(text);
    let empty = Element::default();
    let front = art.child("front").unwrap_or(&empty);
    let meta = front.child("article-meta").unwrap_or(&empty);
    let jmeta = front.child("journal-meta").unwrap_or(&empty);

    let mut d = Dataset::default();
    let mut p = Publication::default();
    let mut other_ids = Vec::new();
    for id in meta.children_named("article-id") {
        let v = plain(id);
        if v.is_empty() {
            continue;
        }
        match id.attr("pub-id-type").unwrap_or("") {
            "pmc" | "pmcid" => {
                let digits = v
                    .strip_prefix("PMC")
                    .or_else(|| v.strip_prefix("pmc"))
                    .unwrap_or(&v);
                if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                    p.pmcid.get_or_insert(format!("PMC{digits}"));
                } else {
                    other_ids.push((id.attr("pub-id-type").unwrap_or("pmc").to_string(), v));
                }
            }
            "pmid" => {
                p.pmid.get_or_insert(v);
            }
            "doi" => {
                p.doi.get_or_insert(v);
            }
            t => other_ids.push((t.to_string(), v)),
        }
    }
    let label = p
        .pmcid
        .as_ref()
        .map(|c| format!("S-E{c}"))
        .unwrap_or_else(|| format!("#{ordinal}"));
    let loc = |l: u64| {
        Location::new(ctx.file)
            .with_record(label.clone())
            .with_line(l)
    };
    let mut diags = xml::chunk_findings(&loc, line, utf8_ok, complete, "</article>", problems);
    d.repository = REPOSITORY.to_string();
    match &p.pmcid {
        Some(pmc) => d.accession = format!("S-E{pmc}"),
        None => {
            diags.push(Diagnostic::error(
                "missing-id",
                "the article has no PMC id (article-id pub-id-type=\"pmc\")",
                loc(line),
            ));
            d.accession = format!("{REPOSITORY}-entry-{ordinal}");
        }
    }
    for (t, v) in &other_ids {
        d.push_additional(&format!("article-id {t}"), v);
    }
    if let Some(t) = art.attr("article-type") {
        d.push_additional("article_type", t);
    }

    // Title.
    let tg = meta.child("title-group").unwrap_or(&empty);
    p.title = tg.child("article-title").map(plain).unwrap_or_default();
    if p.title.is_empty() {
        diags.push(Diagnostic::warning(
            "missing-title",
            "the article has no <article-title>",
            loc(line),
        ));
    }
    for (tag, key) in [("subtitle", "subtitle"), ("alt-title", "alt_title")] {
        for e in tg.children_named(tag) {
            d.push_additional(key, &plain(e));
        }
    }
    if let Some(tt) = tg.child("trans-title-group") {
        d.push_additional("trans_title", &plain(tt));
    }

    // Abstract: the main one (no abstract-type); others (author summary, teaser) kept aside.
    let abstracts: Vec<&Element> = meta.children_named("abstract").collect();
    let main_abs = abstracts
        .iter()
        .find(|a| a.attr("abstract-type").is_none())
        .or(abstracts.first())
        .copied();
    if let Some(a) = main_abs {
        p.abstract_text = render_abstract(a);
    }
    for a in abstracts
        .iter()
        .filter(|a| main_abs.is_none_or(|m| !std::ptr::eq(**a, m)))
    {
        let kind = a.attr("abstract-type").unwrap_or("other");
        d.push_additional(&format!("abstract {kind}"), &render_abstract(a));
    }

    // People. Affiliations are looked up by id wherever they stand in the front matter.
    let mut affs_by_id: HashMap<&str, String> = HashMap::new();
    let mut all_affs = Vec::new();
    front.descendants("aff", &mut all_affs);
    for a in &all_affs {
        if let Some(id) = a.attr("id") {
            affs_by_id.insert(id, aff_text(a));
        }
    }
    let mut corresp_email: HashMap<&str, String> = HashMap::new();
    let mut corresps = Vec::new();
    meta.descendants("corresp", &mut corresps);
    for c in &corresps {
        let mut emails = Vec::new();
        c.descendants("email", &mut emails);
        if let (Some(id), [one]) = (c.attr("id"), emails.as_slice()) {
            corresp_email.insert(id, plain(one));
        }
    }
    let mut people = Vec::new();
    for group in meta.children_named("contrib-group") {
        let group_affs: Vec<String> = group.children_named("aff").map(aff_text).collect();
        for c in group.children_named("contrib") {
            let Some((display, full)) = contrib_names(c) else {
                continue;
            };
            let role = c.attr("contrib-type").unwrap_or("author");
            if role != "author" {
                d.push_additional(role, &display);
                continue;
            }
            let mut person = Person::new(display.clone(), PersonRole::Author);
            let mut affs: Vec<String> = Vec::new();
            let mut has_aff_xref = false;
            for x in c.children_named("xref") {
                let rids = x.attr("rid").unwrap_or("").split_whitespace();
                match x.attr("ref-type") {
                    Some("aff") => {
                        has_aff_xref = true;
                        for rid in rids {
                            if let Some(a) = affs_by_id.get(rid) {
                                affs.push(a.clone());
                            }
                        }
                    }
                    Some("corresp") => {
                        for rid in rids {
                            if let Some(e) = corresp_email.get(rid) {
                                person.email.get_or_insert(e.clone());
                            }
                        }
                    }
                    _ => {}
                }
            }
            affs.extend(c.children_named("aff").map(aff_text));
            if affs.is_empty() && !has_aff_xref {
                // No links at all: the group's own affiliations, or the article's only one.
                if !group_affs.is_empty() {
                    affs = group_affs.clone();
                } else if all_affs.len() == 1 {
                    affs.push(aff_text(all_affs[0]));
                }
            }
            affs.retain(|a| !a.is_empty());
            affs.dedup();
            if !affs.is_empty() {
                person.affiliation = Some(affs.join("; "));
            }
            if let Some(e) = c.child("email").or_else(|| c.path(&["address", "email"])) {
                person.email = clean_value(&plain(e)).or(person.email);
            }
            person.orcid = c
                .children_named("contrib-id")
                .filter(|i| {
                    i.attr("contrib-id-type")
                        .is_some_and(|t| t.eq_ignore_ascii_case("orcid"))
                        || plain(i).contains("orcid.org")
                })
                .find_map(|i| normalize_orcid(&plain(i)));
            if full != display {
                d.push_additional("author", &full);
            }
            p.authors.push(display);
            people.push(person);
        }
    }
    d.people = people;

    // Journal and citation details.
    p.journal = jmeta
        .path(&["journal-title-group", "journal-title"])
        .or_else(|| jmeta.child("journal-title"))
        .map(plain)
        .filter(|s| !s.is_empty())
        .or_else(|| {
            jmeta
                .children_named("journal-id")
                .find(|j| j.attr("journal-id-type") == Some("nlm-ta"))
                .map(plain)
        });
    if let Some(j) = &p.journal {
        d.push_additional("journal", j);
    }
    if let Some(pubr) = jmeta.path(&["publisher", "publisher-name"]) {
        d.push_additional("publisher", &plain(pubr));
    }
    for issn in jmeta.children_named("issn") {
        d.push_additional("issn", &plain(issn));
    }
    p.volume = meta.child("volume").map(plain).filter(|s| !s.is_empty());
    p.issue = meta.child("issue").map(plain).filter(|s| !s.is_empty());
    let fpage = meta.child("fpage").map(plain).unwrap_or_default();
    let lpage = meta.child("lpage").map(plain).unwrap_or_default();
    p.pages = match (fpage.is_empty(), lpage.is_empty()) {
        (false, false) if fpage != lpage => Some(format!("{fpage}-{lpage}")),
        (false, _) => Some(fpage),
        _ => meta
            .child("page-range")
            .or_else(|| meta.child("elocation-id"))
            .map(plain)
            .filter(|s| !s.is_empty()),
    };

    // Dates: the preferred publication date, then the others under their own names.
    let pub_dates: Vec<(String, Option<PartialDate>, String)> = meta
        .children_named("pub-date")
        .map(|e| {
            let (v, raw) = read_date(e);
            (pub_date_kind(e), v, raw)
        })
        .collect();
    let best = pub_dates
        .iter()
        .enumerate()
        .filter(|(_, (_, v, _))| v.is_some())
        .min_by_key(|(i, (k, _, _))| (pub_date_rank(k), *i))
        .map(|(i, _)| i);
    for (i, (kind, value, raw)) in pub_dates.iter().enumerate() {
        let kind = if Some(i) == best {
            p.date = *value;
            DateKind::Publication
        } else {
            DateKind::Other(kind.clone())
        };
        d.dates.push(DatedValue {
            kind,
            value: *value,
            raw: raw.clone(),
        });
    }
    if let Some(h) = meta.child("history") {
        for e in h.children_named("date") {
            let (value, raw) = read_date(e);
            let kind = match e.attr("date-type").unwrap_or("") {
                "received" => DateKind::Submission,
                other => DateKind::Other(other.to_string()),
            };
            d.dates.push(DatedValue { kind, value, raw });
        }
    }
    if let Some(v) = p.date {
        if v.to_ymd() > ctx.today.to_ymd() {
            diags.push(Diagnostic::warning(
                "future-date",
                format!("publication date {v} is in the future"),
                loc(line),
            ));
        }
    }
    d.dates.sort_by_key(|x| x.kind != DateKind::Publication);

    // Keywords and subjects.
    for g in meta.children_named("kwd-group") {
        for k in g.children_named("kwd") {
            Dataset::push_unique(&mut p.keywords, &plain(k));
        }
    }
    d.submitter_keywords = p.keywords.clone();
    if let Some(cats) = meta.child("article-categories") {
        collect_subjects(cats, &mut d);
    }

    // Licence and rights.
    if let Some(perm) = meta.child("permissions") {
        let lic = perm.child("license");
        let mut refs = Vec::new();
        if let Some(l) = lic {
            l.descendants("license_ref", &mut refs);
        }
        d.license = refs
            .first()
            .map(|r| plain(r))
            .and_then(|s| clean_value(&s))
            .or_else(|| lic.and_then(|l| l.attr("href")).and_then(clean_value))
            .or_else(|| lic.map(plain).and_then(|s| clean_value(&s)))
            .or_else(|| {
                lic.and_then(|l| l.attr("license-type"))
                    .and_then(clean_value)
            });
        if let Some(c) = perm.child("copyright-statement") {
            d.push_additional("copyright", &plain(c));
        }
    } else if let Some(c) = meta.child("copyright-statement") {
        // Archiving DTD 2.x puts the statement straight in <article-meta>.
        d.push_additional("copyright", &plain(c));
    }
    let mut funding = Vec::new();
    meta.descendants("funding-statement", &mut funding);
    for f in funding {
        d.push_additional("funding", &plain(f));
    }
    for ra in meta.children_named("related-article") {
        let kind = ra.attr("related-article-type").unwrap_or("related");
        let target = ra
            .attr("href")
            .map(str::to_string)
            .unwrap_or_else(|| plain(ra));
        d.push_additional("related_article", &format!("{kind}: {target}"));
    }

    // Supplementary files, as links into the article's PMC folder when given relative.
    let mut supp = Vec::new();
    for tag in [
        "supplementary-material",
        "inline-supplementary-material",
        "media",
    ] {
        art.descendants(tag, &mut supp);
    }
    for s in supp {
        if let Some(href) = s.attr("href").and_then(clean_value) {
            let url = match (&p.pmcid, href.contains("://")) {
                (Some(pmc), false) => {
                    format!("https://www.ncbi.nlm.nih.gov/pmc/articles/{pmc}/bin/{href}")
                }
                _ => href,
            };
            Dataset::push_unique(&mut d.files, &url);
        }
    }

    // Identifiers and what the article points at.
    if let Some(pmc) = &p.pmcid {
        d.secondary_accessions.push(pmc.clone());
        d.add_cross_ref("PMC", pmc, Evidence::Declared);
    }
    if let Some(pmid) = &p.pmid {
        d.secondary_accessions.push(pmid.clone());
        d.add_cross_ref("pubmed", pmid, Evidence::Declared);
    }
    if let Some(doi) = &p.doi {
        d.secondary_accessions.push(doi.clone());
        d.add_cross_ref("DOI", doi, Evidence::Declared);
    }
    let mut statements = Vec::new();
    data_statements(&art, &mut statements);
    for s in statements {
        let text = plain(s);
        let text = match s.child("title") {
            Some(t) => text
                .strip_prefix(&plain(t))
                .map(str::trim)
                .unwrap_or(&text)
                .to_string(),
            None => text,
        };
        add_found(&mut d, &text);
        d.push_additional("data_availability", &text);
    }
    // Trial registrations and accessions in the abstract (BioStudies shows these too).
    if let Some(a) = main_abs {
        add_found(&mut d, &plain(a));
    }
    let mut links = Vec::new();
    art.descendants("ext-link", &mut links);
    for l in links {
        let Some(db) = l.attr("ext-link-type").and_then(ext_link_database) else {
            continue;
        };
        let t = plain(l);
        let key = if !t.is_empty() && !t.contains(' ') {
            t
        } else {
            l.attr("href").unwrap_or("").trim().to_string()
        };
        d.add_cross_ref(db, &key, Evidence::FoundInText);
    }

    d.title = p.title.clone();
    d.description = p.abstract_text.clone();
    d.omics_types.push("Unknown".to_string());
    if let Some(pmc) = &p.pmcid {
        d.full_dataset_link = Some(format!("https://www.ebi.ac.uk/biostudies/studies/S-E{pmc}"));
    }
    d.add_publication(PublicationRef {
        pmid: p.pmid.clone(),
        doi: p.doi.clone(),
        pmcid: p.pmcid.clone(),
        citation: None,
    });
    SourceRecord {
        dataset: d,
        publication: Some(p),
        raw,
        format: FORMAT,
        location: loc(line),
        diagnostics: diags,
    }
}

/// Adds the accessions `text` names as cross-references found in text, under their Bioregistry
/// prefix, except the article's own ids.
fn add_found(d: &mut Dataset, text: &str) {
    for f in link::find_accessions(text) {
        if !d.all_accessions().any(|a| a.eq_ignore_ascii_case(&f.id)) {
            d.add_cross_ref(f.prefix, &f.id, Evidence::FoundInText);
        }
    }
}

/// `subj-group-type="heading"` subjects are the journal's section names; other subject groups
/// (PLoS subject areas …) are topic terms the publisher assigned.
fn collect_subjects(el: &Element, d: &mut Dataset) {
    for g in el.children_named("subj-group") {
        let heading = g
            .attr("subj-group-type")
            .is_some_and(|t| t.eq_ignore_ascii_case("heading"));
        for s in g.children_named("subject") {
            let t = plain(s);
            if heading {
                d.push_additional("article_category", &t);
            } else {
                Dataset::push_unique(&mut d.curator_keywords, &t);
            }
        }
        collect_subjects(g, d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initials_and_accessions() {
        assert_eq!(initials("Jean-François"), "JF");
        assert_eq!(initials("K K"), "KK");
        assert_eq!(initials("G. A."), "GA");
        assert_eq!(initials("JA"), "JA");
        assert_eq!(initials("Victor P. M. G."), "VPMG");
        assert_eq!(ext_link_database("GEN"), Some("insdc"));
        assert_eq!(ext_link_database("pride"), Some("pride.project"));
        assert_eq!(ext_link_database("clintrialgov"), Some("clinicaltrials"));
        assert_eq!(ext_link_database("uri"), None);
    }

    #[test]
    fn abstract_markup() {
        let src = br#"<abstract><title>Abstract</title><sec><title>Background</title><p>A <italic>B</italic> x 10<sup>6</sup> &lt; 5.</p></sec><sec><title>Methods</title><p>One.</p><p>Two.</p></sec></abstract>"#;
        let (el, _) = xml::parse(src);
        assert_eq!(
            render_abstract(&el),
            "<h4>Background</h4>A <i>B</i> x 10<sup>6</sup> &lt; 5.<h4>Methods</h4><p>One.</p><p>Two.</p>"
        );
        let (t, _) = xml::parse(b"<t>M<italic>m</italic>PPOX in <bold>x</bold></t>");
        assert_eq!(plain(&t), "MmPPOX in x");
    }
}
