//! Query expansion: a term of a query also searches for its synonyms.

use crate::annotate::Matcher;
use crate::load::is_acronym;
use crate::text;
use crate::{Concept, NameUse, Vocabulary};
use std::collections::HashSet;

/// At most this many alternatives per term: a query stays readable and fast, and the UI's
/// "also searched for …" line short. Labels and exact synonyms come first.
const MAX_ALTERNATIVES: usize = 6;

/// One term of a query and what it was expanded with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expansion {
    /// The words of the query, as written.
    pub term: String,
    /// The other names searched for.
    pub added: Vec<String>,
    /// The concepts the term names (`HP:0001915`, `NCBITaxon:9606`).
    pub concepts: Vec<String>,
}

/// Finds vocabulary names in queries and offers their synonyms. Build once, share freely.
pub struct Synonyms {
    concepts: Vec<Concept>,
    matcher: Matcher,
    /// Every name a user may type, by lower-case key (sorted), for completions.
    names: Vec<(String, u32)>,
}

/// A vocabulary name that completes what a user is typing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// The name as the vocabulary writes it.
    pub name: String,
    /// What the concept is about.
    pub kind: crate::Kind,
    /// The concept's CURIE.
    pub concept: String,
}

/// Which names of a concept a query may use and be expanded with.
fn query_forms(n: &crate::Name) -> Vec<(String, bool)> {
    let Some(key) = text::name_key(&n.text) else {
        return Vec::new();
    };
    let chars = key.chars().filter(|c| c.is_alphanumeric()).count();
    match n.usage {
        NameUse::Context => Vec::new(),
        // A taxon id is safe to recognise: a query "9606" means the taxon.
        NameUse::Identifier => vec![(n.text.clone(), false)],
        NameUse::Abbreviation if chars < 4 => Vec::new(),
        NameUse::Abbreviation => vec![(n.text.clone(), true)],
        _ if chars < 3 => Vec::new(),
        _ => vec![(n.text.clone(), is_acronym(&n.text) && chars < 4)],
    }
}

impl Synonyms {
    /// Takes the vocabulary's concepts over: a server keeps no other copy of them.
    pub fn new(vocab: Vocabulary) -> Synonyms {
        let concepts = vocab.concepts;
        let matcher = Matcher::build(&concepts, |_, n| query_forms(n));
        let mut names = Vec::new();
        for (i, c) in concepts.iter().enumerate() {
            for n in &c.names {
                // Completions offer words to read: no ids, no context words, no short
                // abbreviations (they complete too much and say too little).
                let offered = match n.usage {
                    NameUse::Label | NameUse::Exact | NameUse::Related => true,
                    NameUse::Abbreviation => n.text.chars().count() >= 4,
                    NameUse::Identifier | NameUse::Context => false,
                };
                if offered {
                    names.push((n.text.to_lowercase(), i as u32));
                }
            }
        }
        names.sort();
        names.dedup();
        Synonyms {
            concepts,
            matcher,
            names,
        }
    }

    /// Names starting with `prefix` (letter case ignored), shortest first, at most `limit`
    /// (one per name; a name several concepts share comes once). A binary search over the
    /// sorted names, so cheap enough for every keystroke.
    pub fn complete(&self, prefix: &str, limit: usize) -> Vec<Completion> {
        let p = prefix.trim().to_lowercase();
        if p.is_empty() || limit == 0 {
            return Vec::new();
        }
        let start = self.names.partition_point(|(k, _)| k.as_str() < p.as_str());
        let mut found: Vec<&(String, u32)> = Vec::new();
        // Read a bounded run: a two-letter prefix may start thousands of names, and the
        // shortest ones are the likeliest completions anyway.
        for entry in self.names[start..].iter().take(5_000) {
            if !entry.0.starts_with(&p) {
                break;
            }
            if found.last().is_none_or(|l| l.0 != entry.0) {
                found.push(entry);
            }
        }
        found.sort_by(|a, b| a.0.len().cmp(&b.0.len()).then_with(|| a.0.cmp(&b.0)));
        found
            .into_iter()
            .take(limit)
            .filter_map(|(key, i)| {
                let c = self.concepts.get(*i as usize)?;
                let name = c
                    .names
                    .iter()
                    .find(|n| n.text.to_lowercase() == *key)
                    .map_or_else(|| key.clone(), |n| n.text.clone());
                Some(Completion {
                    name,
                    kind: c.kind,
                    concept: c.id.clone(),
                })
            })
            .collect()
    }

    /// The names found in a run of plain query words, each a whole run of words, with the
    /// byte range it covers in `words` and its alternatives. For callers that build queries
    /// themselves rather than rewrite query text (see [`Synonyms::expand_query`]).
    pub fn expansions(&self, words: &str) -> Vec<(std::ops::Range<usize>, Expansion)> {
        let n = text::normalize(words);
        let mut out = Vec::new();
        for hit in self.matcher.find(words, &n) {
            // The name must cover whole query words: "cell-based" does not hold "cell".
            let whole = |at: usize| {
                at == 0
                    || at == words.len()
                    || words.as_bytes()[at - 1].is_ascii_whitespace()
                    || words.as_bytes()[at].is_ascii_whitespace()
            };
            if !whole(hit.start) || !whole(hit.end) {
                continue;
            }
            let term = &words[hit.start..hit.end];
            if let Some(e) = self.expand(term).into_iter().find(|e| e.term == term) {
                out.push((hit.start..hit.end, e));
            }
        }
        out
    }

    /// The alternatives for names found in `phrase`: each name (a whole run of words, the
    /// longest the vocabulary knows) with the other names of the concepts it names.
    pub fn expand(&self, phrase: &str) -> Vec<Expansion> {
        let n = text::normalize(phrase);
        let mut out = Vec::new();
        for hit in self.matcher.find(phrase, &n) {
            let term = phrase[hit.start..hit.end].to_string();
            let own = text::name_key(&term);
            let mut seen: HashSet<String> = own.into_iter().collect();
            let mut added = Vec::new();
            let mut concepts = Vec::new();
            // Each concept's names by usage: labels and exact synonyms before related ones.
            let mut names: Vec<(NameUse, usize, &str)> = Vec::new();
            for t in &hit.targets {
                let c = &self.concepts[t.concept as usize];
                if !concepts.contains(&c.id) {
                    concepts.push(c.id.clone());
                }
                for (i, nm) in c.names.iter().enumerate() {
                    if matches!(nm.usage, NameUse::Context) {
                        continue;
                    }
                    names.push((nm.usage, i, &nm.text));
                }
            }
            names.sort_by_key(|&(u, i, _)| (u, i));
            for (_, _, name) in names {
                if added.len() >= MAX_ALTERNATIVES {
                    break;
                }
                if let Some(k) = text::name_key(name) {
                    if seen.insert(k) {
                        added.push(name.replace('"', ""));
                    }
                }
            }
            if !added.is_empty() {
                out.push(Expansion {
                    term,
                    added,
                    concepts,
                });
            }
        }
        out
    }

    /// Rewrites a query so each vocabulary term in it also matches its synonyms
    /// (`human cells` -> `(human OR "Homo sapiens" OR 9606) cells`); returns the rewritten
    /// query and the names added, for the UI's "also searched for …".
    ///
    /// Only plain words and whole quoted phrases are expanded. Field clauses
    /// (`organism:human`), operators, `+`/`-` prefixed words, wildcards, fuzzy terms, ranges
    /// and parentheses are left exactly as written, so the query means what it meant plus
    /// the synonyms.
    pub fn expand_query(&self, q: &str) -> (String, Vec<String>) {
        let segments = segment(q);
        let mut out = String::with_capacity(q.len() * 2);
        let mut added = Vec::new();
        let mut j = 0;
        while j < segments.len() {
            let (seg, s, e) = segments[j];
            match seg {
                Seg::Plain => {
                    // A run of plain words and the spaces between them.
                    let mut end = e;
                    let mut k = j + 1;
                    while k + 1 < segments.len()
                        && segments[k].0 == Seg::Space
                        && segments[k + 1].0 == Seg::Plain
                    {
                        end = segments[k + 1].2;
                        k += 2;
                    }
                    out.push_str(&self.rewrite_words(&q[s..end], &mut added));
                    j = k;
                    continue;
                }
                Seg::Phrase => out.push_str(&self.rewrite_phrase(&q[s + 1..e - 1], &mut added)),
                Seg::Space | Seg::Other => out.push_str(&q[s..e]),
            }
            j += 1;
        }
        (out, added)
    }

    /// Plain words: each name found (whole words only) becomes `(words OR "alt" …)`.
    fn rewrite_words(&self, words: &str, added_all: &mut Vec<String>) -> String {
        let mut out = String::new();
        let mut last = 0;
        for (span, e) in self.expansions(words) {
            let term = &words[span.clone()];
            out.push_str(&words[last..span.start]);
            let own = if term.contains(char::is_whitespace) {
                format!("\"{term}\"")
            } else {
                term.to_string()
            };
            out.push_str(&alternatives(&own, &e.added));
            note(added_all, &e.added);
            last = span.end;
        }
        out.push_str(&words[last..]);
        out
    }

    fn rewrite_phrase(&self, phrase: &str, added_all: &mut Vec<String>) -> String {
        let own = format!("\"{phrase}\"");
        match self.expand(phrase).into_iter().next() {
            Some(e) if e.term.trim() == phrase.trim() => {
                note(added_all, &e.added);
                alternatives(&own, &e.added)
            }
            _ => own,
        }
    }
}

fn note(all: &mut Vec<String>, added: &[String]) {
    for a in added {
        if !all.contains(a) {
            all.push(a.clone());
        }
    }
}

/// `(own OR "alt one" OR alt)`; single words go unquoted, so a taxon id stays a term.
fn alternatives(own: &str, added: &[String]) -> String {
    let mut s = format!("({own}");
    for a in added {
        if a.contains(|c: char| !c.is_alphanumeric()) {
            s.push_str(&format!(" OR \"{a}\""));
        } else {
            s.push_str(&format!(" OR {a}"));
        }
    }
    s.push(')');
    s
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seg {
    Space,
    /// A word the query language reads as a plain term.
    Plain,
    /// A closed `"…"` phrase with no `~` or `^` after it.
    Phrase,
    /// Anything to copy as written: fields, operators, parentheses, modified phrases.
    Other,
}

/// Cuts a query into (kind, start, end) segments that together cover it exactly.
fn segment(q: &str) -> Vec<(Seg, usize, usize)> {
    let bytes = q.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < q.len() {
        let start = i;
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            while i < q.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            out.push((Seg::Space, start, i));
        } else if c == b'(' || c == b')' {
            i += 1;
            out.push((Seg::Other, start, i));
        } else if c == b'"' {
            match q[i + 1..].find('"') {
                Some(p) => {
                    i += p + 2;
                    // `"…"~2` (proximity) and `"…"^3` (boost) are clauses to keep.
                    let modified = q[i..].starts_with(['~', '^'])
                        || (start > 0 && !matches!(bytes[start - 1], b' ' | b'\t' | b'\n' | b'('));
                    while modified && i < q.len() && !bytes[i].is_ascii_whitespace() {
                        i += 1;
                    }
                    out.push((if modified { Seg::Other } else { Seg::Phrase }, start, i));
                }
                None => {
                    i = q.len();
                    out.push((Seg::Other, start, i));
                }
            }
        } else {
            while i < q.len()
                && !bytes[i].is_ascii_whitespace()
                && !matches!(bytes[i], b'"' | b'(' | b')')
            {
                i += 1;
            }
            // A word glued to a quote or a parenthesis is part of a clause (`field:"x"`).
            let glued = i < q.len() && bytes[i] == b'"';
            let plain = !glued && is_plain_word(&q[start..i]);
            out.push((if plain { Seg::Plain } else { Seg::Other }, start, i));
        }
    }
    out
}

/// A word the query language reads as a plain term: no field, operator, prefix, wildcard,
/// fuzziness, boost, range or grouping.
fn is_plain_word(w: &str) -> bool {
    !w.is_empty()
        && !matches!(w, "AND" | "OR" | "NOT" | "&&" | "||" | "TO")
        && !w.starts_with(['+', '-', '!'])
        && !w.contains([
            ':', '*', '?', '~', '^', '(', ')', '[', ']', '{', '}', '\\', '/',
        ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Concept, Kind};

    fn synonyms() -> Synonyms {
        let mut v = crate::load::load(&crate::VocabConfig::default());
        let mut aa = Concept::new("HP:0001915", "Aplastic anemia", Kind::Phenotype);
        aa.add_name("Aplastic anaemia", NameUse::Exact);
        v.concepts.push(aa);
        Synonyms::new(v)
    }

    #[test]
    fn human_is_homo_sapiens_is_9606_in_every_direction() {
        let s = synonyms();
        let added = |t: &str| {
            s.expand(t)
                .into_iter()
                .flat_map(|e| e.added)
                .collect::<Vec<_>>()
        };
        let h = added("human");
        assert!(
            h.contains(&"Homo sapiens".to_string()) && h.contains(&"9606".to_string()),
            "{h:?}"
        );
        let h = added("9606");
        assert!(
            h.contains(&"Homo sapiens".to_string()) && h.contains(&"human".to_string()),
            "{h:?}"
        );
        let h = added("homo sapiens");
        assert!(h.contains(&"human".to_string()), "{h:?}");
        assert!(!h.iter().any(|x| x.eq_ignore_ascii_case("homo sapiens")));
    }

    #[test]
    fn query_rewrite_keeps_syntax_and_expands_plain_terms_and_phrases() {
        let s = synonyms();
        let (q, added) = s.expand_query("aplastic anemia human");
        assert!(
            q.starts_with(
                "(\"aplastic anemia\" OR \"Aplastic anaemia\") (human OR \"Homo sapiens\" OR "
            ),
            "{q}"
        );
        assert!(added.contains(&"Aplastic anaemia".to_string()));

        let (q, _) = s.expand_query("\"aplastic anaemia\" AND organism:human -mouse");
        assert_eq!(
            q,
            "(\"aplastic anaemia\" OR \"Aplastic anemia\") AND organism:human -mouse"
        );

        for fixed in [
            "organism:human",
            "hum*",
            "human~1",
            "\"human\"~2",
            "(",
            "\"unclosed human",
            "year:[2019 TO 2021]",
            "",
        ] {
            let (q, added) = s.expand_query(fixed);
            assert_eq!(q, fixed);
            assert!(added.is_empty(), "{fixed}: {added:?}");
        }
        let (q, _) = s.expand_query("(human OR title:\"human\")");
        assert_eq!(q, "((human OR \"Homo sapiens\" OR humans OR \"human subjects\" OR 9606) OR title:\"human\")");
        let (q, _) = s.expand_query("cell-based  assay");
        assert_eq!(q, "cell-based  assay");
    }

    #[test]
    fn spans_of_names_in_plain_words() {
        let s = synonyms();
        let found = s.expansions("severe aplastic anemia in human");
        let spans: Vec<_> = found
            .iter()
            .map(|(r, e)| (r.clone(), e.term.as_str()))
            .collect();
        assert_eq!(spans, vec![(7..22, "aplastic anemia"), (26..31, "human")]);
        assert!(s.expansions("cell-based").is_empty());
    }

    #[test]
    fn completes_names_shortest_first() {
        let s = synonyms();
        let c = s.complete("aplastic an", 5);
        let names: Vec<_> = c.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, vec!["Aplastic anemia", "Aplastic anaemia"]);
        assert_eq!(c[0].concept, "HP:0001915");
        assert!(s.complete("zzzzq", 5).is_empty());
        assert!(s.complete("", 5).is_empty());
        assert!(s
            .complete("Homo", 3)
            .iter()
            .any(|c| c.name == "Homo sapiens"));
    }
}
