//! A small XML tree for one record chunk, built leniently.
//!
//! Records are small (kilobytes), so a tree per record is cheap and keeps every parser
//! simple. Names, attribute values and texts borrow from the chunk where they can (valid
//! UTF-8, no entity to decode): a string per element, attribute and text was most of the
//! PubMed reader's allocations. The builder never fails: a syntax error or a mismatched end
//! tag becomes a finding with its line, and the tree holds what was read around it.

use quick_xml::events::Event;
use quick_xml::Reader;
use std::borrow::Cow;

#[derive(Debug, Clone, Default)]
pub struct Element<'a> {
    pub name: Cow<'a, str>,
    pub attrs: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    pub children: Vec<Node<'a>>,
    /// Byte range of the element's content (between its tags) in the source chunk.
    pub inner: (usize, usize),
}

#[derive(Debug, Clone)]
pub enum Node<'a> {
    Element(Element<'a>),
    Text(Cow<'a, str>),
}

/// A problem found while building the tree: a message and the 1-based line within the chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlProblem {
    pub line: u64,
    pub message: String,
}

/// The chunk being parsed, and the same bytes as text when they are valid UTF-8 (checked once):
/// then every name and text is a slice of it, not decoded piece by piece (decoding each piece
/// with `from_utf8_lossy` was a fifth of the PubMed reader's time).
struct Source<'a> {
    bytes: &'a [u8],
    text: Option<&'a str>,
    /// Whether the chunk has a NUL anywhere: looked for once, not in every text.
    has_nul: bool,
}

impl<'a> Source<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Source {
            bytes,
            text: std::str::from_utf8(bytes).ok(),
            has_nul: memchr::memchr(0, bytes).is_some(),
        }
    }

    /// `piece` as text: borrowed from the chunk when it is a slice of it (as quick-xml's
    /// events over a byte slice are); copied otherwise, with invalid UTF-8 replaced.
    fn str(&self, piece: &[u8]) -> Cow<'a, str> {
        if let Some(text) = self.text {
            let at = (piece.as_ptr() as usize).wrapping_sub(self.bytes.as_ptr() as usize);
            if let Some(s) = at
                .checked_add(piece.len())
                .and_then(|end| text.get(at..end))
            {
                return Cow::Borrowed(s);
            }
        }
        Cow::Owned(String::from_utf8_lossy(piece).into_owned())
    }
}

/// Strips a namespace prefix: `dc:title` -> `title`.
fn local<'a>(src: &Source<'a>, name: &[u8]) -> Cow<'a, str> {
    src.str(local_bytes(name))
}

fn local_bytes(name: &[u8]) -> &[u8] {
    // Names are short: a plain scan beats memchr's set-up.
    match name.iter().rposition(|&b| b == b':') {
        Some(i) => &name[i + 1..],
        None => name,
    }
}

fn line_at(src: &[u8], pos: usize) -> u64 {
    1 + memchr::memchr_iter(b'\n', &src[..pos.min(src.len())]).count() as u64
}

/// Unescapes XML text; on an unknown entity (HTML's `&nbsp;` in a description) keeps the text
/// as written rather than losing it.
fn unescape<'a>(src: &Source<'a>, raw: &[u8]) -> (Cow<'a, str>, bool) {
    let s = src.str(raw);
    if memchr::memchr(b'&', raw).is_none() {
        return (s, true);
    }
    match quick_xml::escape::unescape(&s) {
        Ok(u) => (Cow::Owned(u.into_owned()), true),
        Err(_) => (s, false),
    }
}

/// NUL is not allowed in XML (nor in PostgreSQL text): dropped, and reported.
fn drop_nul<'a>(
    text: Cow<'a, str>,
    src: &Source,
    at: usize,
    problems: &mut Vec<XmlProblem>,
) -> Cow<'a, str> {
    if !src.has_nul || !text.contains('\0') {
        return text;
    }
    problems.push(XmlProblem {
        line: line_at(src.bytes, at),
        message: "NUL characters in text were dropped".into(),
    });
    Cow::Owned(text.replace('\0', ""))
}

/// The deepest element nesting [`parse`] builds.
pub const MAX_DEPTH: usize = 256;

/// Builds the tree of `src`. Returns the first top-level element (an empty element named
/// `""` when there is none) and the problems found.
pub fn parse(src: &[u8]) -> (Element<'_>, Vec<XmlProblem>) {
    parse_source(Source::new(src))
}

/// [`parse`] of text known to be UTF-8 (not checked again).
pub fn parse_str(src: &str) -> (Element<'_>, Vec<XmlProblem>) {
    parse_source(Source {
        bytes: src.as_bytes(),
        text: Some(src),
        has_nul: memchr::memchr(0, src.as_bytes()).is_some(),
    })
}

fn parse_source(source: Source<'_>) -> (Element<'_>, Vec<XmlProblem>) {
    let src = source.bytes;
    let mut reader = Reader::from_reader(src);
    reader.config_mut().check_end_names = false;
    let mut problems = Vec::new();
    let mut stack: Vec<Element> = vec![Element::default()];
    // Elements nested deeper than MAX_DEPTH are not built (their text still is): no record
    // format needs that depth, and the tree's readers (and its drop) recurse.
    let mut too_deep = 0usize;
    loop {
        let before = reader.buffer_position() as usize;
        let ev = reader.read_event();
        let after = reader.buffer_position() as usize;
        match ev {
            Ok(Event::Start(_)) if stack.len() > MAX_DEPTH => {
                if too_deep == 0 {
                    problems.push(XmlProblem {
                        line: line_at(src, before),
                        message: format!(
                            "elements nested deeper than {MAX_DEPTH} levels are read as text"
                        ),
                    });
                }
                too_deep += 1;
            }
            Ok(Event::End(_)) if too_deep > 0 => too_deep -= 1,
            Ok(Event::Start(e)) => {
                let mut el = Element {
                    name: local(&source, e.name().as_ref()),
                    ..Default::default()
                };
                read_attrs(&source, &e, &mut el, before, &mut problems);
                el.inner = (after, after);
                stack.push(el);
            }
            Ok(Event::Empty(e)) => {
                let mut el = Element {
                    name: local(&source, e.name().as_ref()),
                    ..Default::default()
                };
                read_attrs(&source, &e, &mut el, before, &mut problems);
                el.inner = (after, after);
                stack
                    .last_mut()
                    .expect("root")
                    .children
                    .push(Node::Element(el));
            }
            Ok(Event::End(e)) => {
                let raw = e.name();
                let raw = raw.as_ref();
                // A broken end tag such as `</name\n <description>` is read as one tag: take
                // the name up to the first white space.
                let first = raw
                    .split(|b| b.is_ascii_whitespace() || *b == b'<')
                    .next()
                    .unwrap_or(raw);
                // Borrowed, not copied, when the name is UTF-8 as it should be.
                let name = source.str(local_bytes(first));
                if first.len() != raw.len() {
                    problems.push(XmlProblem {
                        line: line_at(src, before),
                        message: format!(
                            "malformed end tag </{}>",
                            String::from_utf8_lossy(raw).trim()
                        ),
                    });
                }
                match stack.iter().rposition(|el| el.name == name) {
                    Some(idx) if idx > 0 => {
                        if idx != stack.len() - 1 {
                            problems.push(XmlProblem {
                                line: line_at(src, before),
                                message: format!(
                                    "end tag </{name}> closes <{}>, which was not closed",
                                    stack.last().expect("root").name
                                ),
                            });
                        }
                        while stack.len() > idx {
                            let mut el = stack.pop().expect("non-empty");
                            el.inner.1 = before;
                            stack
                                .last_mut()
                                .expect("root")
                                .children
                                .push(Node::Element(el));
                        }
                    }
                    _ => problems.push(XmlProblem {
                        line: line_at(src, before),
                        message: format!("unexpected end tag </{name}>"),
                    }),
                }
            }
            Ok(Event::Text(t)) => {
                let (text, ok) = unescape(&source, t.as_ref());
                if !ok {
                    problems.push(XmlProblem {
                        line: line_at(src, before),
                        message: "unknown entity in text, kept as written".into(),
                    });
                }
                let text = drop_nul(text, &source, before, &mut problems);
                push_text(stack.last_mut().expect("root"), text);
            }
            Ok(Event::CData(t)) => {
                let text = source.str(t.as_ref());
                let text = drop_nul(text, &source, before, &mut problems);
                push_text(stack.last_mut().expect("root"), text)
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => {
                problems.push(XmlProblem {
                    line: line_at(src, reader.error_position() as usize),
                    message: format!("xml syntax: {e}"),
                });
                break;
            }
        }
    }
    if stack.len() > 1 {
        problems.push(XmlProblem {
            line: line_at(src, src.len()),
            message: format!("input ended inside <{}>", stack.last().expect("root").name),
        });
        while stack.len() > 1 {
            let mut el = stack.pop().expect("non-empty");
            el.inner.1 = src.len();
            stack
                .last_mut()
                .expect("root")
                .children
                .push(Node::Element(el));
        }
    }
    let root = stack.pop().expect("root");
    let top = root.children.into_iter().find_map(|n| match n {
        Node::Element(e) => Some(e),
        Node::Text(_) => None,
    });
    (top.unwrap_or_default(), problems)
}

fn push_text<'a>(el: &mut Element<'a>, text: Cow<'a, str>) {
    if let Some(Node::Text(prev)) = el.children.last_mut() {
        prev.to_mut().push_str(&text);
    } else {
        el.children.push(Node::Text(text));
    }
}

fn read_attrs<'a>(
    src: &Source<'a>,
    e: &quick_xml::events::BytesStart,
    el: &mut Element<'a>,
    pos: usize,
    problems: &mut Vec<XmlProblem>,
) {
    for a in e.attributes().with_checks(false) {
        match a {
            Ok(a) => {
                let (v, _) = unescape(src, &a.value);
                el.attrs.push((local(src, a.key.as_ref()), v));
            }
            Err(err) => problems.push(XmlProblem {
                line: line_at(src.bytes, pos),
                message: format!("bad attribute: {err}"),
            }),
        }
    }
}

impl<'s> Element<'s> {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_ref())
    }

    pub fn elements(&self) -> impl Iterator<Item = &Element<'s>> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    /// Direct children with this name.
    pub fn children_named<'a>(
        &'a self,
        name: &'a str,
    ) -> impl Iterator<Item = &'a Element<'s>> + 'a {
        self.elements().filter(move |e| e.name == name)
    }

    pub fn child(&self, name: &str) -> Option<&Element<'s>> {
        self.elements().find(|e| e.name == name)
    }

    /// Follows a path of child names: `el.path(&["Article", "Journal", "Title"])`.
    pub fn path(&self, names: &[&str]) -> Option<&Element<'s>> {
        let mut cur = self;
        for n in names {
            cur = cur.child(n)?;
        }
        Some(cur)
    }

    /// All descendants (depth first) with this name.
    pub fn descendants<'a>(&'a self, name: &'a str, out: &mut Vec<&'a Element<'s>>) {
        for e in self.elements() {
            if e.name == name {
                out.push(e);
            }
            e.descendants(name, out);
        }
    }

    /// The concatenated text of the element and its descendants, white space folded.
    pub fn text(&self) -> String {
        let mut s = String::new();
        self.collect_text(&mut s);
        fold_ws(&s)
    }

    fn collect_text(&self, out: &mut String) {
        for n in &self.children {
            match n {
                Node::Text(t) => out.push_str(t),
                Node::Element(e) => {
                    e.collect_text(out);
                    out.push(' ');
                }
            }
        }
    }

    /// The content as markup when it has child elements (rich text such as `<p>`, `<i>`), else
    /// its text. Sanitizing is the renderer's job; here nothing is lost.
    pub fn inner_markup(&self, src: &[u8]) -> String {
        if self.elements().next().is_none() {
            return self.text_raw();
        }
        let (a, b) = self.inner;
        if a <= b && b <= src.len() {
            String::from_utf8_lossy(&src[a..b]).trim().to_string()
        } else {
            self.text()
        }
    }

    /// Text of direct text children, trimmed, inner white space kept.
    pub fn text_raw(&self) -> String {
        let mut s = String::new();
        for n in &self.children {
            if let Node::Text(t) = n {
                s.push_str(t);
            }
        }
        s.trim().to_string()
    }
}

/// The findings any XML record chunk can carry, located in the file: invalid UTF-8, input that
/// ended before the record's end tag (`end` says which), and the tree builder's problems (whose
/// lines count from the chunk's first line, `line`).
pub fn chunk_findings(
    loc: &dyn Fn(u64) -> opendi_model::Location,
    line: u64,
    utf8_ok: bool,
    complete: bool,
    end: &str,
    problems: Vec<XmlProblem>,
) -> Vec<opendi_model::Diagnostic> {
    use opendi_model::Diagnostic;
    let mut diags = Vec::new();
    if !utf8_ok {
        diags.push(Diagnostic::warning(
            "invalid-utf8",
            "invalid UTF-8 replaced with U+FFFD",
            loc(line),
        ));
    }
    if !complete {
        diags.push(Diagnostic::error(
            "truncated-record",
            format!("input ended before {end}"),
            loc(line),
        ));
    }
    for p in problems {
        diags.push(Diagnostic::error(
            "xml-syntax",
            p.message,
            loc(line + p.line - 1),
        ));
    }
    diags
}

pub fn fold_ws(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for w in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_tree() {
        let src = br#"<entry id="a"><name>T &amp; U</name><d><p>x <b>y</b></p></d><e/></entry>"#;
        let (el, problems) = parse(src);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(el.attr("id"), Some("a"));
        assert_eq!(el.child("name").unwrap().text(), "T & U");
        assert_eq!(
            el.child("d").unwrap().inner_markup(src),
            "<p>x <b>y</b></p>"
        );
        assert!(el.child("e").is_some());
    }

    #[test]
    fn recovers_from_broken_end_tag() {
        let src = b"<entry>\n<name>Title</name\n<description>D</description>\n<x>1</x></entry>";
        let (el, problems) = parse(src);
        assert_eq!(el.child("name").unwrap().text(), "Title");
        assert_eq!(el.child("x").unwrap().text(), "1");
        assert_eq!(problems[0].line, 2);
        assert!(
            problems[0].message.contains("malformed end tag"),
            "{problems:?}"
        );
    }

    #[test]
    fn deep_nesting_is_capped_not_a_stack_overflow() {
        let depth = 200_000;
        let src = format!(
            "<r><t>{}x{}</t><u>after</u></r>",
            "<a>".repeat(depth),
            "</a>".repeat(depth)
        );
        let (root, problems) = parse(src.as_bytes());
        assert_eq!(root.child("u").map(|u| u.text()).as_deref(), Some("after"));
        assert!(root.child("t").is_some_and(|t| t.text().contains('x')));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].message.contains("nested deeper"));
    }

    #[test]
    fn names_and_text_read_alike_whether_the_chunk_is_valid_utf8_or_not() {
        let valid = "<x:r a=\"é\"><x:t>Müller &amp; β-cell</x:t><u>\u{0}ok</u><v>Z</v></x:r>";
        let mut invalid = valid.as_bytes().to_vec();
        let z = invalid.iter().position(|&b| b == b'Z').unwrap();
        invalid[z] = 0xff;
        for (src, v) in [(valid.as_bytes(), "Z"), (&invalid[..], "\u{fffd}")] {
            let (el, problems) = parse(src);
            assert_eq!(el.name, "r");
            assert_eq!(el.attr("a"), Some("é"));
            assert_eq!(el.child("t").unwrap().text(), "Müller & β-cell");
            assert_eq!(el.child("u").unwrap().text(), "ok");
            assert_eq!(el.child("v").unwrap().text(), v);
            assert_eq!(problems.len(), 1, "{problems:?}");
            assert!(problems[0].message.contains("NUL"));
        }
    }

    #[test]
    fn unclosed_input() {
        let (el, problems) = parse(b"<a><b>text");
        assert_eq!(el.child("b").unwrap().text(), "text");
        assert_eq!(problems.len(), 1);
    }
}
