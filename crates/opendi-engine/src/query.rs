//! The query language users type, read by a small recursive-descent parser of our own into a
//! [`Node`] tree, then compiled into tantivy queries over the index's fields.
//!
//! Syntax: words, `"phrases"` (`"a b"~2` for slop), `AND`/`OR`/`NOT` (also `&&`, `||`, `!`),
//! `+word` (required), `-word` (excluded), parentheses, `field:value`, `field:"phrase"` and
//! `field:(…)` for every facet and text field (with the aliases users type), wildcards
//! (`leuk*`, `*emia`, `l?ukemia`, expanded over the term dictionary), fuzzy words
//! (`leukemai~`, `~1`, `~2`), boosts (`word^2`), ranges (`year:[2019 TO 2021]`,
//! `publication_date:{2019-01 TO *]`, `year:>=2019`) and single years or dates (`year:2021`).
//!
//! Parsing never fails: what cannot be read as written is repaired or read as words, with a
//! warning for the user. Limits (length, nesting, clauses, wildcard expansions) keep a hostile
//! query cheap: beyond them the query is cut, again with a warning.

use crate::exclude::Excluded;
use crate::index::{boosts, Fields};
use crate::Result;
use opendi_model::PartialDate;
use std::ops::Bound;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, EmptyQuery, FuzzyTermQuery, Occur, PhraseQuery, Query,
    RangeQuery, TermQuery, TermSetQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{Searcher, Term};

/// Longest query read, in characters; the rest is cut.
pub const MAX_QUERY_CHARS: usize = 4096;
/// Deepest nesting of parentheses; deeper ones are read as if absent.
pub const MAX_DEPTH: usize = 32;
/// Most words, phrases, wildcards and ranges one query may hold; the rest is left out.
pub const MAX_CLAUSES: usize = 1024;
/// Most dictionary terms all the wildcards of one query may expand to.
pub const MAX_EXPANSIONS: usize = 1024;
/// Most dictionary entries the wildcards of one query may read (`*a` reads every entry).
const MAX_SCANNED: usize = 2_000_000;
/// Longest word read as a wildcard pattern or a fuzzy word.
const MAX_PATTERN_CHARS: usize = 64;
/// Largest edit distance of a fuzzy word (what tantivy's automata support cheaply).
const MAX_FUZZY: u8 = 2;
/// Weight of the names a vocabulary adds to a query, against 1 for the user's own words.
pub const SYNONYM_WEIGHT: f32 = 0.5;

/// How a clause takes part in its group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Occ {
    Should,
    Must,
    MustNot,
}

/// A parsed query. Fields are canonical names (see [`canonical_field`]); `None` is every
/// default text field with its weight.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Term {
        field: Option<&'static str>,
        text: String,
    },
    Phrase {
        field: Option<&'static str>,
        text: String,
        slop: u32,
    },
    Wildcard {
        field: Option<&'static str>,
        pattern: String,
    },
    Fuzzy {
        field: Option<&'static str>,
        text: String,
        distance: u8,
    },
    Range {
        field: &'static str,
        lower: Bound<String>,
        upper: Bound<String>,
    },
    All,
    Bool(Vec<(Occ, Node)>),
    Boost(Box<Node>, f32),
    /// The user's words OR'ed, with a lower weight, with names a vocabulary gives for them.
    Synonyms {
        original: Box<Node>,
        added: Vec<String>,
        /// Concept ids (`NCBITaxon:9606`, `HP:0001915`), matched in cross-references.
        concepts: Vec<String>,
    },
}

/// The canonical field for a name users type (`species` -> `organism`), case-insensitive.
pub fn canonical_field(name: &str) -> Option<&'static str> {
    Some(match name.to_ascii_lowercase().as_str() {
        "organism" | "organisms" | "species" | "taxon" => "organism",
        "disease" | "diseases" => "disease",
        "tissue" | "tissues" => "tissue",
        "cell_type" | "celltype" | "cell" | "cell_types" => "cell_type",
        "repository" | "database" | "db" | "source" => "repository",
        "omics" | "omics_type" | "omicstype" => "omics_type",
        "accession" | "id" | "acc" => "accession",
        "title" | "name" => "title",
        "description" | "abstract" => "description",
        "keywords" | "keyword" => "keywords",
        "submitter" | "author" | "authors" | "people" => "people",
        "publication" | "publications" => "publication",
        "protocol" | "protocols" => "protocol",
        "instrument" | "instruments" => "instrument",
        "xref" | "cross_ref" | "crossref" => "xref",
        "year" => "year",
        "publication_date" | "date" => "date",
        _ => return None,
    })
}

/// Parses a query; never fails. Warnings say what was repaired, read as words or cut.
pub fn parse(q: &str) -> (Node, Vec<String>) {
    let mut warnings = Vec::new();
    let mut chars: Vec<char> = q.chars().collect();
    if chars.len() > MAX_QUERY_CHARS {
        chars.truncate(MAX_QUERY_CHARS);
        warnings.push(format!(
            "the query is longer than {MAX_QUERY_CHARS} characters: only its start was searched"
        ));
    }
    let trimmed: String = chars.iter().collect::<String>().trim().to_string();
    if trimmed.is_empty() || trimmed == "*" || trimmed == "*:*" {
        return (Node::All, warnings);
    }
    let mut p = Parser {
        s: chars,
        i: 0,
        depth: 0,
        skipped_opens: 0,
        clauses: 0,
        warnings,
    };
    let node = p.parse_or(None);
    let mut warnings = p.warnings;
    let mut seen = std::collections::HashSet::new();
    warnings.retain(|w| seen.insert(w.clone()));
    (node, warnings)
}

struct Parser {
    s: Vec<char>,
    i: usize,
    depth: usize,
    /// `(` read past because of [`MAX_DEPTH`]: their `)` are read past too.
    skipped_opens: usize,
    clauses: usize,
    warnings: Vec<String>,
}

fn is_empty(n: &Node) -> bool {
    matches!(n, Node::Bool(c) if c.is_empty())
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.s.get(self.i).copied()
    }

    fn peek_at(&self, k: usize) -> Option<char> {
        self.s.get(self.i + k).copied()
    }

    fn eof(&self) -> bool {
        self.i >= self.s.len()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.i += 1;
        }
    }

    fn warn(&mut self, w: impl Into<String>) {
        self.warnings.push(w.into());
    }

    /// Whether a keyword operator (`AND`, `OR`, `NOT`: upper case, whole word) starts here.
    fn at_keyword(&self, word: &str) -> bool {
        let n = word.chars().count();
        word.chars()
            .enumerate()
            .all(|(k, c)| self.peek_at(k) == Some(c))
            && self
                .peek_at(n)
                .is_none_or(|c| c.is_whitespace() || c == '(' || c == '"')
    }

    fn at_symbol(&self, sym: &str) -> bool {
        sym.chars()
            .enumerate()
            .all(|(k, c)| self.peek_at(k) == Some(c))
    }

    /// Consumes `OR`/`||` (or `AND`/`&&`) if one starts here.
    fn eat_operator(&mut self, keyword: &str, symbol: &str) -> bool {
        if self.at_keyword(keyword) {
            self.i += keyword.len();
            true
        } else if self.at_symbol(symbol) {
            self.i += symbol.len();
            true
        } else {
            false
        }
    }

    fn at_binary_operator(&self) -> bool {
        self.at_keyword("AND")
            || self.at_keyword("OR")
            || self.at_symbol("&&")
            || self.at_symbol("||")
    }

    fn parse_or(&mut self, field: Option<&'static str>) -> Node {
        let mut alts = vec![self.parse_and(field)];
        loop {
            self.skip_ws();
            if !self.eat_operator("OR", "||") {
                break;
            }
            alts.push(self.parse_and(field));
        }
        self.join(alts, Occ::Should, "OR")
    }

    fn parse_and(&mut self, field: Option<&'static str>) -> Node {
        let mut all = vec![self.parse_seq(field)];
        loop {
            self.skip_ws();
            if !self.eat_operator("AND", "&&") {
                break;
            }
            all.push(self.parse_seq(field));
        }
        self.join(all, Occ::Must, "AND")
    }

    fn join(&mut self, mut parts: Vec<Node>, occ: Occ, op: &str) -> Node {
        if parts.len() == 1 {
            return parts.pop().unwrap_or(Node::Bool(vec![]));
        }
        let before = parts.len();
        parts.retain(|n| !is_empty(n));
        if parts.len() < before {
            self.warn(format!("{op} needs words on both sides: it was left out"));
        }
        match parts.len() {
            0 => Node::Bool(vec![]),
            1 => parts.pop().unwrap_or(Node::Bool(vec![])),
            _ => Node::Bool(parts.into_iter().map(|n| (occ, n)).collect()),
        }
    }

    /// Clauses side by side (`a +b -c`): plain ones are optional, as in Lucene.
    fn parse_seq(&mut self, field: Option<&'static str>) -> Node {
        let mut clauses = Vec::new();
        loop {
            self.skip_ws();
            let Some(c) = self.peek() else { break };
            if c == ')' {
                if self.skipped_opens > 0 {
                    self.skipped_opens -= 1;
                    self.i += 1;
                    continue;
                }
                if self.depth > 0 {
                    break;
                }
                self.warn("a closing parenthesis without an opening one was left out");
                self.i += 1;
                continue;
            }
            if self.at_binary_operator() {
                break;
            }
            if self.clauses >= MAX_CLAUSES {
                self.warn(format!(
                    "the query has more than {MAX_CLAUSES} clauses: the rest was left out"
                ));
                self.i = self.s.len();
                break;
            }
            if let Some(clause) = self.parse_unary(field) {
                clauses.push(clause);
            }
        }
        Node::Bool(clauses)
    }

    fn parse_unary(&mut self, field: Option<&'static str>) -> Option<(Occ, Node)> {
        let mut occ = Occ::Should;
        loop {
            match self.peek() {
                Some('+') => {
                    occ = Occ::Must;
                    self.i += 1;
                }
                Some('-') | Some('!') => {
                    occ = Occ::MustNot;
                    self.i += 1;
                }
                _ if self.at_keyword("NOT") => {
                    occ = Occ::MustNot;
                    self.i += 3;
                    self.skip_ws();
                }
                _ => break,
            }
        }
        if self.eof() || self.peek().is_some_and(char::is_whitespace) {
            if occ != Occ::Should {
                self.warn("an operator (+, -, !, NOT) with nothing after it was left out");
            }
            return None;
        }
        if self.peek() == Some(')') || self.at_binary_operator() {
            if occ != Occ::Should {
                self.warn("an operator (+, -, !, NOT) with nothing after it was left out");
            }
            return None;
        }
        let node = self.parse_primary(field)?;
        Some((occ, node))
    }

    fn parse_primary(&mut self, field: Option<&'static str>) -> Option<Node> {
        match self.peek()? {
            '(' => self.parse_group(field),
            '"' => self.parse_phrase(field),
            _ => {
                if let Some((name, len)) = self.field_prefix() {
                    match canonical_field(&name) {
                        Some(f) => {
                            self.i += len + 1;
                            return self.parse_field_value(f);
                        }
                        None => {
                            // Read as words below (`HP:0001915` and `taxonomy:9606` are ids
                            // the index holds whole); a warning only when it looks meant
                            // as a field.
                            let next = self.peek_at(len + 1);
                            let looks_like_id = next.is_some_and(|c| c.is_ascii_digit())
                                || name.chars().all(|c| c.is_ascii_uppercase());
                            if !looks_like_id {
                                self.warn(format!(
                                    "unknown field {name:?}: searched as words (fields: organism, disease, tissue, cell_type, repository, omics_type, accession, title, description, keywords, author, publication, year, publication_date)"
                                ));
                                // `foo:bar` reads as the words `foo bar`.
                                self.i += len + 1;
                                self.clauses += 1;
                                let mut clauses = vec![(Occ::Should, term(&name))];
                                if self.peek().is_some_and(|c| !c.is_whitespace() && c != ')') {
                                    let value = match self.peek() {
                                        Some('"') => self.parse_phrase(field),
                                        Some('(') => self.parse_group(field),
                                        _ => {
                                            let (word, escaped) = self.read_word();
                                            self.word_node(field, &word, escaped)
                                        }
                                    };
                                    if let Some(value) = value {
                                        clauses.push((Occ::Should, value));
                                    }
                                }
                                return Some(Node::Bool(clauses));
                            }
                        }
                    }
                }
                let (word, escaped) = self.read_word();
                self.word_node(field, &word, escaped)
            }
        }
    }

    /// `name:` at the cursor: (name, its length in chars).
    fn field_prefix(&self) -> Option<(String, usize)> {
        let mut k = 0;
        let mut name = String::new();
        while let Some(c) = self.peek_at(k) {
            if c.is_ascii_alphanumeric() || c == '_' {
                name.push(c);
                k += 1;
            } else {
                break;
            }
        }
        (k > 0
            && self.peek_at(k) == Some(':')
            && name.starts_with(|c: char| c.is_ascii_alphabetic()))
        .then_some((name, k))
    }

    fn parse_group(&mut self, field: Option<&'static str>) -> Option<Node> {
        self.i += 1; // '('
        if self.depth >= MAX_DEPTH {
            self.warn(format!(
                "parentheses nested deeper than {MAX_DEPTH} levels were read as if absent"
            ));
            self.skipped_opens += 1;
            return None;
        }
        self.depth += 1;
        let node = self.parse_or(field);
        self.depth -= 1;
        self.skip_ws();
        if self.peek() == Some(')') {
            self.i += 1;
        } else {
            self.warn("an unclosed parenthesis was closed at the end of the query");
        }
        (!is_empty(&node)).then_some(node)
    }

    fn parse_phrase(&mut self, field: Option<&'static str>) -> Option<Node> {
        self.i += 1; // '"'
        let mut text = String::new();
        let mut closed = false;
        while let Some(c) = self.peek() {
            self.i += 1;
            if c == '"' {
                closed = true;
                break;
            }
            text.push(c);
        }
        if !closed {
            self.warn("an unclosed quote was closed at the end of the query");
        }
        let mut slop = 0;
        let mut boost = None;
        loop {
            match self.peek() {
                Some('~') => {
                    self.i += 1;
                    let n = self.read_number();
                    slop = n.and_then(|n| n.parse::<u32>().ok()).unwrap_or(2).min(100);
                }
                Some('^') => {
                    self.i += 1;
                    boost = self.read_number().and_then(|n| n.parse::<f32>().ok());
                }
                _ => break,
            }
        }
        self.clauses += 1;
        if text.trim().is_empty() {
            return None;
        }
        let node = Node::Phrase { field, text, slop };
        Some(boosted(node, boost))
    }

    fn read_number(&mut self) -> Option<String> {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit() || c == '.') {
            self.i += 1;
        }
        (self.i > start).then(|| self.s[start..self.i].iter().collect())
    }

    /// A word: up to white space, a parenthesis or a quote; `\` escapes the next character.
    /// Returns the word and whether it held escapes (then it is read literally).
    fn read_word(&mut self) -> (String, bool) {
        let mut w = String::new();
        let mut escaped = false;
        while let Some(c) = self.peek() {
            if c.is_whitespace() || c == '(' || c == ')' || c == '"' {
                break;
            }
            self.i += 1;
            if c == '\\' {
                if let Some(n) = self.peek() {
                    w.push(n);
                    self.i += 1;
                    escaped = true;
                }
                continue;
            }
            w.push(c);
        }
        (w, escaped)
    }

    fn parse_field_value(&mut self, f: &'static str) -> Option<Node> {
        match self.peek() {
            Some('(') => self.parse_group(Some(f)),
            Some('"') => self.parse_phrase(Some(f)),
            Some('[') | Some('{') => self.parse_range(f),
            Some('>') | Some('<') => self.parse_comparison(f),
            None => {
                self.warn(format!("{f}: has no value: it was left out"));
                None
            }
            Some(c) if c.is_whitespace() || c == ')' => {
                self.warn(format!("{f}: has no value: it was left out"));
                None
            }
            _ => {
                let (word, escaped) = self.read_word();
                self.word_node(Some(f), &word, escaped)
            }
        }
    }

    fn parse_range(&mut self, f: &'static str) -> Option<Node> {
        let lower_inclusive = self.peek() == Some('[');
        self.i += 1;
        let mut inner = String::new();
        let mut upper_inclusive = None;
        while let Some(c) = self.peek() {
            self.i += 1;
            match c {
                ']' => {
                    upper_inclusive = Some(true);
                    break;
                }
                '}' => {
                    upper_inclusive = Some(false);
                    break;
                }
                c => inner.push(c),
            }
        }
        self.clauses += 1;
        let upper_inclusive = upper_inclusive.unwrap_or_else(|| {
            self.warn("an unclosed range was closed at the end of the query");
            true
        });
        let parts: Vec<&str> = inner.split_whitespace().collect();
        let (lo, hi) = match parts.as_slice() {
            [lo, to, hi] if to.eq_ignore_ascii_case("to") => (*lo, *hi),
            [lo, hi] => (*lo, *hi),
            _ => {
                self.warn(format!(
                    "{f}:[{inner}] is not a range (write {f}:[2019 TO 2021]): it was left out"
                ));
                return None;
            }
        };
        let bound = |v: &str, inclusive: bool| {
            if v == "*" {
                Bound::Unbounded
            } else if inclusive {
                Bound::Included(v.to_string())
            } else {
                Bound::Excluded(v.to_string())
            }
        };
        Some(Node::Range {
            field: f,
            lower: bound(lo, lower_inclusive),
            upper: bound(hi, upper_inclusive),
        })
    }

    fn parse_comparison(&mut self, f: &'static str) -> Option<Node> {
        let greater = self.peek() == Some('>');
        self.i += 1;
        let inclusive = self.peek() == Some('=');
        if inclusive {
            self.i += 1;
        }
        let (value, _) = self.read_word();
        self.clauses += 1;
        if value.is_empty() {
            self.warn(format!("{f}: comparison without a value: it was left out"));
            return None;
        }
        let b = if inclusive {
            Bound::Included(value)
        } else {
            Bound::Excluded(value)
        };
        Some(if greater {
            Node::Range {
                field: f,
                lower: b,
                upper: Bound::Unbounded,
            }
        } else {
            Node::Range {
                field: f,
                lower: Bound::Unbounded,
                upper: b,
            }
        })
    }

    /// A word as a term, wildcard or fuzzy term, with its boost.
    fn word_node(
        &mut self,
        field: Option<&'static str>,
        word: &str,
        escaped: bool,
    ) -> Option<Node> {
        self.clauses += 1;
        if word.is_empty() {
            return None;
        }
        if escaped {
            return Some(Node::Term {
                field,
                text: word.to_string(),
            });
        }
        let (word, boost) = match word.rsplit_once('^') {
            Some((w, b)) if !w.is_empty() => match b.parse::<f32>() {
                Ok(b) if b.is_finite() && b >= 0.0 => (w, Some(b.min(1000.0))),
                _ => (word, None),
            },
            _ => (word, None),
        };
        if word == "*" || word == "*:*" {
            return Some(Node::All);
        }
        // Fuzzy automata and wildcard matching cost grows with the word: a long one is a word.
        if word.chars().count() > MAX_PATTERN_CHARS {
            if word.contains(['*', '?', '~']) {
                self.warn(format!(
                    "wildcards and fuzzy matching apply to words of at most {MAX_PATTERN_CHARS} characters: a longer one was searched as written"
                ));
            }
            return Some(boosted(
                Node::Term {
                    field,
                    text: word.to_string(),
                },
                boost,
            ));
        }
        if let Some((w, d)) = word.rsplit_once('~') {
            if !w.is_empty() && !w.contains(['*', '?']) {
                let distance = if d.is_empty() {
                    Some(MAX_FUZZY)
                } else if let Ok(n) = d.parse::<u32>() {
                    if n > u32::from(MAX_FUZZY) {
                        self.warn(format!(
                            "{word}: fuzzy distance is at most {MAX_FUZZY}: {MAX_FUZZY} was used"
                        ));
                    }
                    Some(n.min(u32::from(MAX_FUZZY)) as u8)
                } else if d.parse::<f32>().is_ok() {
                    // Lucene's old similarity form (`word~0.8`): the default distance.
                    Some(MAX_FUZZY)
                } else {
                    None
                };
                if let Some(distance) = distance {
                    return Some(boosted(
                        Node::Fuzzy {
                            field,
                            text: w.to_string(),
                            distance,
                        },
                        boost,
                    ));
                }
            }
        }
        let node = if word.contains(['*', '?']) {
            if word.chars().all(|c| c == '*' || c == '?') {
                Node::All
            } else {
                Node::Wildcard {
                    field,
                    pattern: word.to_string(),
                }
            }
        } else {
            Node::Term {
                field,
                text: word.to_string(),
            }
        };
        Some(boosted(node, boost))
    }
}

fn boosted(node: Node, boost: Option<f32>) -> Node {
    match boost {
        Some(b) if (b - 1.0).abs() > f32::EPSILON => Node::Boost(Box::new(node), b),
        _ => node,
    }
}

/// Expands the plain words and phrases of a query with a vocabulary's synonyms (see
/// [`Node::Synonyms`]). Runs of adjacent optional words are read together, so a name of
/// several words (`aplastic anemia`) is found; fielded, excluded, wildcard and fuzzy
/// clauses stay as written. `added` collects the names added, for "also searched for".
pub fn expand(node: Node, syn: &opendi_vocab::Synonyms, added: &mut Vec<String>) -> Node {
    match node {
        Node::Bool(clauses) => Node::Bool(expand_clauses(clauses, syn, added)),
        Node::Boost(n, b) => Node::Boost(Box::new(expand(*n, syn, added)), b),
        Node::Phrase {
            field: None,
            text,
            slop: 0,
        } => {
            let original = Node::Phrase {
                field: None,
                text: text.clone(),
                slop: 0,
            };
            let whole = text.trim();
            match syn
                .expansions(whole)
                .into_iter()
                .find(|(span, _)| span.start == 0 && span.end == whole.len())
            {
                Some((_, e)) => synonyms_node(original, e, added),
                None => original,
            }
        }
        other => other,
    }
}

fn synonyms_node(original: Node, e: opendi_vocab::Expansion, added: &mut Vec<String>) -> Node {
    for a in &e.added {
        if !added.contains(a) {
            added.push(a.clone());
        }
    }
    Node::Synonyms {
        original: Box::new(original),
        added: e.added,
        concepts: e.concepts,
    }
}

fn plain_word(n: &Node) -> Option<&str> {
    match n {
        Node::Term { field: None, text } if !text.contains(':') => Some(text),
        _ => None,
    }
}

fn expand_clauses(
    clauses: Vec<(Occ, Node)>,
    syn: &opendi_vocab::Synonyms,
    added: &mut Vec<String>,
) -> Vec<(Occ, Node)> {
    let mut out = Vec::with_capacity(clauses.len());
    let mut run: Vec<String> = Vec::new();
    let flush = |run: &mut Vec<String>, out: &mut Vec<(Occ, Node)>, added: &mut Vec<String>| {
        if run.is_empty() {
            return;
        }
        let words = std::mem::take(run);
        let joined = words.join(" ");
        // Byte range of each word in `joined`.
        let mut spans = Vec::with_capacity(words.len());
        let mut at = 0;
        for w in &words {
            spans.push((at, at + w.len()));
            at += w.len() + 1;
        }
        let found = syn.expansions(&joined);
        let mut k = 0;
        for (span, e) in found {
            let Some(first) = spans.iter().position(|s| s.0 == span.start) else {
                continue;
            };
            let Some(last) = spans.iter().position(|s| s.1 == span.end) else {
                continue;
            };
            if first < k || last < first {
                continue;
            }
            for w in &words[k..first] {
                out.push((Occ::Should, term(w)));
            }
            let original = if first == last {
                term(&words[first])
            } else {
                Node::Bool(
                    words[first..=last]
                        .iter()
                        .map(|w| (Occ::Should, term(w)))
                        .collect(),
                )
            };
            out.push((Occ::Should, synonyms_node(original, e, added)));
            k = last + 1;
        }
        for w in &words[k..] {
            out.push((Occ::Should, term(w)));
        }
    };
    for (occ, node) in clauses {
        match (occ, plain_word(&node)) {
            (Occ::Should, Some(w)) => run.push(w.to_string()),
            _ => {
                flush(&mut run, &mut out, added);
                let node = match occ {
                    Occ::MustNot => node,
                    _ => match plain_word(&node) {
                        Some(w) => {
                            let w = w.to_string();
                            match syn
                                .expansions(&w)
                                .into_iter()
                                .find(|(s, _)| s.start == 0 && s.end == w.len())
                            {
                                Some((_, e)) => synonyms_node(node, e, added),
                                None => node,
                            }
                        }
                        None => expand(node, syn, added),
                    },
                };
                out.push((occ, node));
            }
        }
    }
    flush(&mut run, &mut out, added);
    out
}

fn term(w: &str) -> Node {
    Node::Term {
        field: None,
        text: w.to_string(),
    }
}

/// Compiles a parsed query against an index's fields and term dictionaries.
pub(crate) struct Compiler<'a> {
    fields: &'a Fields,
    searcher: &'a Searcher,
    pub warnings: Vec<String>,
    expansions_left: usize,
    scanned: usize,
}

/// Fields holding whole identifiers (no positions, no frequencies).
fn is_id_field(f: &Fields, field: Field) -> bool {
    field == f.accession || field == f.repository || field == f.xref
}

/// `2019-06` -> the first and the last day it can mean, as days since the epoch.
fn date_span(v: &str) -> Option<(i64, i64)> {
    let d = PartialDate::parse(v)?;
    let first = d.days_since_epoch();
    let next = match (d.month, d.day) {
        (Some(_), Some(_)) => return Some((first, first)),
        (Some(12), None) => PartialDate::parse(&format!("{}-01-01", d.year + 1))?,
        (Some(m), None) => PartialDate::parse(&format!("{}-{:02}-01", d.year, m + 1))?,
        _ => PartialDate::parse(&format!("{}-01-01", d.year + 1))?,
    };
    Some((first, next.days_since_epoch() - 1))
}

/// Does `text` match a glob of `*` (any run) and `?` (one character)?
fn glob(pattern: &[char], text: &[char]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

impl<'a> Compiler<'a> {
    pub fn new(fields: &'a Fields, searcher: &'a Searcher) -> Self {
        Compiler {
            fields,
            searcher,
            warnings: Vec::new(),
            expansions_left: MAX_EXPANSIONS,
            scanned: 0,
        }
    }

    fn field(&self, name: &str) -> Option<Field> {
        let f = self.fields;
        Some(match name {
            "organism" => f.organism,
            "disease" => f.disease,
            "tissue" => f.tissue,
            "cell_type" => f.cell_type,
            "repository" => f.repository,
            "omics_type" => f.omics_type,
            "accession" => f.accession,
            "title" => f.title,
            "description" => f.description,
            "keywords" => f.keywords,
            "people" => f.people,
            "publication" => f.publication,
            "protocol" => f.protocol,
            "instrument" => f.instrument,
            "xref" => f.xref,
            _ => return None,
        })
    }

    /// The text fields a clause searches, with their weights.
    fn targets(&self, field: Option<&str>) -> Vec<(Field, f32)> {
        match field {
            None => boosts(self.fields),
            Some(name) => self.field(name).map(|f| (f, 1.0)).into_iter().collect(),
        }
    }

    /// Compiles a tree; `None` means "no constraint" (a clause with nothing searchable).
    pub fn compile(&mut self, node: &Node) -> Result<Option<Box<dyn Query>>> {
        Ok(match node {
            Node::All => Some(Box::new(AllQuery)),
            Node::Term { field, text } => self.text(*field, text, 0)?,
            Node::Phrase { field, text, slop } => self.text(*field, text, *slop)?,
            Node::Wildcard { field, pattern } => Some(self.wildcard(*field, pattern)?),
            Node::Fuzzy {
                field,
                text,
                distance,
            } => self.fuzzy(*field, text, *distance)?,
            Node::Range {
                field,
                lower,
                upper,
            } => self.range(field, lower, upper),
            Node::Boost(n, b) => self
                .compile(n)?
                .map(|q| Box::new(BoostQuery::new(q, *b)) as Box<dyn Query>),
            Node::Bool(clauses) => {
                let mut out: Vec<(Occur, Box<dyn Query>)> = Vec::with_capacity(clauses.len());
                for (occ, n) in clauses {
                    if let Some(q) = self.compile(n)? {
                        out.push(match occ {
                            Occ::Should => (Occur::Should, q),
                            Occ::Must => (Occur::Must, q),
                            Occ::MustNot => (Occur::MustNot, Box::new(Excluded(q))),
                        });
                    }
                }
                if out.is_empty() {
                    return Ok(None);
                }
                if out.iter().all(|(o, _)| *o == Occur::MustNot) {
                    // Only exclusions: they exclude from everything.
                    out.push((Occur::Must, Box::new(AllQuery)));
                }
                if out.len() == 1 && out[0].0 != Occur::MustNot {
                    return Ok(out.pop().map(|(_, q)| q));
                }
                Some(Box::new(BooleanQuery::new(out)))
            }
            Node::Synonyms {
                original,
                added,
                concepts,
            } => {
                let Some(own) = self.compile(original)? else {
                    return Ok(None);
                };
                let mut out: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Should, own)];
                for a in added {
                    if let Some(q) = self.text(None, a, 0)? {
                        out.push((Occur::Should, Box::new(BoostQuery::new(q, SYNONYM_WEIGHT))));
                    }
                }
                for c in concepts {
                    let key = match c.strip_prefix("NCBITaxon:") {
                        Some(t) => format!("taxonomy:{t}"),
                        None => c.to_lowercase(),
                    };
                    let q = TermQuery::new(
                        Term::from_field_text(self.fields.xref, &key),
                        IndexRecordOption::Basic,
                    );
                    out.push((
                        Occur::Should,
                        Box::new(BoostQuery::new(Box::new(q), SYNONYM_WEIGHT)),
                    ));
                }
                Some(Box::new(BooleanQuery::new(out)))
            }
        })
    }

    /// A word or phrase over the target fields: one term, or a phrase when the field's
    /// analyzer cuts it into several.
    fn text(
        &mut self,
        field: Option<&str>,
        text: &str,
        slop: u32,
    ) -> Result<Option<Box<dyn Query>>> {
        match field {
            Some("year") => return Ok(self.year_value(text)),
            Some("date") => return Ok(self.date_value(text)),
            _ => {}
        }
        let mut per_field: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for (f, boost) in self.targets(field) {
            let mut analyzer = self.searcher.index().tokenizer_for_field(f)?;
            let mut stream = analyzer.token_stream(text);
            let mut tokens: Vec<(usize, Term)> = Vec::new();
            while let Some(t) = stream.next() {
                tokens.push((t.position, Term::from_field_text(f, &t.text)));
            }
            let id = is_id_field(self.fields, f);
            let q: Box<dyn Query> = match tokens.len() {
                0 => continue,
                1 => {
                    let (_, t) = tokens.remove(0);
                    let opt = if id {
                        IndexRecordOption::Basic
                    } else {
                        IndexRecordOption::WithFreqs
                    };
                    Box::new(TermQuery::new(t, opt))
                }
                _ if id => Box::new(BooleanQuery::new(
                    tokens
                        .into_iter()
                        .map(|(_, t)| {
                            (
                                Occur::Must,
                                Box::new(TermQuery::new(t, IndexRecordOption::Basic))
                                    as Box<dyn Query>,
                            )
                        })
                        .collect(),
                )),
                _ => Box::new(PhraseQuery::new_with_offset_and_slop(tokens, slop)),
            };
            per_field.push((Occur::Should, weighted(q, boost)));
        }
        Ok(match per_field.len() {
            0 => None,
            1 => per_field.pop().map(|(_, q)| q),
            _ => Some(Box::new(BooleanQuery::new(per_field))),
        })
    }

    fn year_value(&mut self, v: &str) -> Option<Box<dyn Query>> {
        match v.trim().parse::<u64>() {
            Ok(y) => Some(Box::new(TermQuery::new(
                Term::from_field_u64(self.fields.year, y),
                IndexRecordOption::Basic,
            ))),
            Err(_) => match date_span(v) {
                // `year:2019-06` means that month.
                Some(_) => self.date_value(v),
                None => {
                    self.warnings
                        .push(format!("year:{v} is not a year: it was left out"));
                    None
                }
            },
        }
    }

    fn date_value(&mut self, v: &str) -> Option<Box<dyn Query>> {
        match date_span(v) {
            Some((a, b)) => Some(Box::new(RangeQuery::new(
                Bound::Included(Term::from_field_i64(self.fields.date, a)),
                Bound::Included(Term::from_field_i64(self.fields.date, b)),
            ))),
            None => {
                self.warnings.push(format!(
                    "publication_date:{v} is not a date (write 2021, 2021-06 or 2021-06-30): it was left out"
                ));
                None
            }
        }
    }

    fn range(
        &mut self,
        field: &str,
        lower: &Bound<String>,
        upper: &Bound<String>,
    ) -> Option<Box<dyn Query>> {
        match field {
            "year" => {
                let f = self.fields.year;
                let num = |v: &str| -> Option<u64> {
                    v.split('-').next().and_then(|y| y.trim().parse().ok())
                };
                let conv = |b: &Bound<String>| -> Option<Bound<Term>> {
                    Some(match b {
                        Bound::Unbounded => Bound::Unbounded,
                        Bound::Included(v) => Bound::Included(Term::from_field_u64(f, num(v)?)),
                        Bound::Excluded(v) => Bound::Excluded(Term::from_field_u64(f, num(v)?)),
                    })
                };
                match (conv(lower), conv(upper)) {
                    // tantivy needs one bound: `[* TO *]` is every record with a year.
                    (Some(Bound::Unbounded), Some(Bound::Unbounded)) => {
                        Some(Box::new(RangeQuery::new(
                            Bound::Included(Term::from_field_u64(f, 0)),
                            Bound::Unbounded,
                        )))
                    }
                    (Some(lo), Some(hi)) => Some(Box::new(RangeQuery::new(lo, hi))),
                    _ => {
                        self.warnings.push(
                            "a year range needs years (year:[2019 TO 2021]): it was left out"
                                .into(),
                        );
                        None
                    }
                }
            }
            "date" => {
                let f = self.fields.date;
                let lo = match lower {
                    Bound::Unbounded => Some(Bound::Unbounded),
                    Bound::Included(v) => date_span(v).map(|(a, _)| Bound::Included(a)),
                    Bound::Excluded(v) => date_span(v).map(|(_, b)| Bound::Excluded(b)),
                };
                let hi = match upper {
                    Bound::Unbounded => Some(Bound::Unbounded),
                    Bound::Included(v) => date_span(v).map(|(_, b)| Bound::Included(b)),
                    Bound::Excluded(v) => date_span(v).map(|(a, _)| Bound::Excluded(a)),
                };
                let term = |b: Bound<i64>| match b {
                    Bound::Unbounded => Bound::Unbounded,
                    Bound::Included(d) => Bound::Included(Term::from_field_i64(f, d)),
                    Bound::Excluded(d) => Bound::Excluded(Term::from_field_i64(f, d)),
                };
                match (lo, hi) {
                    (Some(Bound::Unbounded), Some(Bound::Unbounded)) => {
                        Some(Box::new(RangeQuery::new(
                            Bound::Included(Term::from_field_i64(f, i64::MIN)),
                            Bound::Unbounded,
                        )))
                    }
                    (Some(lo), Some(hi)) => Some(Box::new(RangeQuery::new(term(lo), term(hi)))),
                    _ => {
                        self.warnings.push(
                            "a date range needs dates (publication_date:[2019-01 TO 2021-06]): it was left out"
                                .into(),
                        );
                        None
                    }
                }
            }
            other => {
                self.warnings.push(format!(
                    "ranges work on year and publication_date, not {other}: it was left out"
                ));
                None
            }
        }
    }

    /// A wildcard expanded over the term dictionaries of the target fields, within the
    /// query's expansion budget. Matches nothing when no term fits.
    fn wildcard(&mut self, field: Option<&str>, pattern: &str) -> Result<Box<dyn Query>> {
        if matches!(field, Some("year") | Some("date")) {
            self.warnings.push(format!(
                "wildcards do not apply to {}: left out",
                field.unwrap_or("")
            ));
            return Ok(Box::new(EmptyQuery));
        }
        let lower = pattern.to_lowercase();
        let pat: Vec<char> = lower.chars().collect();
        let prefix: String = lower
            .chars()
            .take_while(|c| *c != '*' && *c != '?')
            .collect();
        let mut per_field: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut cut = false;
        for (f, boost) in self.targets(field) {
            let mut terms: Vec<Term> = Vec::new();
            let mut seen = std::collections::HashSet::new();
            'segments: for seg in self.searcher.segment_readers() {
                let inverted = seg.inverted_index(f)?;
                let dict = inverted.terms();
                let mut stream = if prefix.is_empty() {
                    dict.stream()?
                } else {
                    dict.range().ge(prefix.as_bytes()).into_stream()?
                };
                while stream.advance() {
                    self.scanned += 1;
                    if self.scanned > MAX_SCANNED {
                        cut = true;
                        break 'segments;
                    }
                    let key = stream.key();
                    if !key.starts_with(prefix.as_bytes()) {
                        break;
                    }
                    let Ok(s) = std::str::from_utf8(key) else {
                        continue;
                    };
                    let chars: Vec<char> = s.chars().collect();
                    if glob(&pat, &chars) && seen.insert(s.to_string()) {
                        if self.expansions_left == 0 {
                            cut = true;
                            break 'segments;
                        }
                        self.expansions_left -= 1;
                        terms.push(Term::from_field_text(f, s));
                    }
                }
            }
            if !terms.is_empty() {
                // Every expanded term scores alike (as Lucene's constant-score rewrite), so
                // a pattern matching many rare words does not outrank the user's plain words.
                per_field.push((
                    Occur::Should,
                    weighted(Box::new(TermSetQuery::new(terms)), boost),
                ));
            }
        }
        if cut {
            self.warnings.push(format!(
                "{pattern} matches too many words: only the first {MAX_EXPANSIONS} words of all wildcards were searched"
            ));
        }
        Ok(match per_field.len() {
            0 => Box::new(EmptyQuery),
            1 => per_field
                .pop()
                .map(|(_, q)| q)
                .unwrap_or_else(|| Box::new(EmptyQuery)),
            _ => Box::new(BooleanQuery::new(per_field)),
        })
    }

    fn fuzzy(
        &mut self,
        field: Option<&str>,
        text: &str,
        distance: u8,
    ) -> Result<Option<Box<dyn Query>>> {
        if matches!(field, Some("year") | Some("date")) {
            return self.text(field, text, 0);
        }
        let mut per_field: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for (f, boost) in self.targets(field) {
            // Identifiers are matched exactly unless the user names their field.
            if field.is_none() && is_id_field(self.fields, f) {
                continue;
            }
            let mut analyzer = self.searcher.index().tokenizer_for_field(f)?;
            let mut stream = analyzer.token_stream(text);
            let mut tokens = Vec::new();
            while let Some(t) = stream.next() {
                tokens.push(t.text.clone());
            }
            let word = match tokens.as_slice() {
                [one] => one.clone(),
                [] => continue,
                _ => text.to_lowercase(),
            };
            let q = FuzzyTermQuery::new(Term::from_field_text(f, &word), distance, true);
            per_field.push((Occur::Should, weighted(Box::new(q), boost)));
        }
        Ok(match per_field.len() {
            0 => None,
            1 => per_field.pop().map(|(_, q)| q),
            _ => Some(Box::new(BooleanQuery::new(per_field))),
        })
    }
}

fn weighted(q: Box<dyn Query>, boost: f32) -> Box<dyn Query> {
    if (boost - 1.0).abs() > f32::EPSILON {
        Box::new(BoostQuery::new(q, boost))
    } else {
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(text: &str) -> Node {
        term(text)
    }

    #[test]
    fn parses_each_construct() {
        let cases: Vec<(&str, Node)> = vec![
            ("leukemia", Node::Bool(vec![(Occ::Should, t("leukemia"))])),
            (
                "a +b -c",
                Node::Bool(vec![
                    (Occ::Should, t("a")),
                    (Occ::Must, t("b")),
                    (Occ::MustNot, t("c")),
                ]),
            ),
            (
                "a AND b",
                Node::Bool(vec![
                    (Occ::Must, Node::Bool(vec![(Occ::Should, t("a"))])),
                    (Occ::Must, Node::Bool(vec![(Occ::Should, t("b"))])),
                ]),
            ),
            (
                "\"mass spec\"~3",
                Node::Bool(vec![(
                    Occ::Should,
                    Node::Phrase {
                        field: None,
                        text: "mass spec".into(),
                        slop: 3,
                    },
                )]),
            ),
            (
                "species:human",
                Node::Bool(vec![(
                    Occ::Should,
                    Node::Term {
                        field: Some("organism"),
                        text: "human".into(),
                    },
                )]),
            ),
            (
                "year:[2019 TO *}",
                Node::Bool(vec![(
                    Occ::Should,
                    Node::Range {
                        field: "year",
                        lower: Bound::Included("2019".into()),
                        upper: Bound::Unbounded,
                    },
                )]),
            ),
            (
                "leukemai~1",
                Node::Bool(vec![(
                    Occ::Should,
                    Node::Fuzzy {
                        field: None,
                        text: "leukemai".into(),
                        distance: 1,
                    },
                )]),
            ),
            (
                "l?uk*",
                Node::Bool(vec![(
                    Occ::Should,
                    Node::Wildcard {
                        field: None,
                        pattern: "l?uk*".into(),
                    },
                )]),
            ),
        ];
        for (q, want) in cases {
            let (got, warnings) = parse(q);
            assert_eq!(got, want, "{q}");
            assert!(warnings.is_empty(), "{q}: {warnings:?}");
        }
    }

    #[test]
    fn repairs_and_warns() {
        for q in [
            "(a b",
            "a b)",
            "\"a b",
            "AND a",
            "a OR",
            "- a",
            "foo:bar",
            "year:[2019]",
        ] {
            let (_, w) = parse(q);
            assert!(!w.is_empty(), "{q}: no warning");
        }
        // Ids with a prefix are words, silently.
        assert!(parse("HP:0001915").1.is_empty());
    }

    #[test]
    fn globs() {
        let g = |p: &str, t: &str| {
            glob(
                &p.chars().collect::<Vec<_>>(),
                &t.chars().collect::<Vec<_>>(),
            )
        };
        assert!(g("leuk*", "leukemia"));
        assert!(g("*emia", "leukemia"));
        assert!(g("l?ukemia", "leukemia"));
        assert!(g("*e*i*", "leukemia"));
        assert!(!g("l?ukemia", "lukemia"));
        assert!(!g("*emia", "emiar"));
    }

    #[test]
    fn date_spans() {
        let d = |s: &str| PartialDate::parse(s).map(|d| d.days_since_epoch());
        assert_eq!(
            date_span("2020-02"),
            Some((d("2020-02-01").unwrap(), d("2020-02-29").unwrap()))
        );
        assert_eq!(
            date_span("2019"),
            Some((d("2019-01-01").unwrap(), d("2019-12-31").unwrap()))
        );
        assert_eq!(
            date_span("2019-12"),
            Some((d("2019-12-01").unwrap(), d("2019-12-31").unwrap()))
        );
        assert_eq!(date_span("nonsense"), None);
    }
}
