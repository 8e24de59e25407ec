//! What the portal needs from the index beyond search: completions from the term
//! dictionaries, the most frequent title words, highlighted snippets, and the "most viewed"
//! order. Kept apart from `index.rs` because none of it changes what is indexed: every function
//! here reads the index as it is.

use crate::index::{FacetCount, Prepared, SearchIndex, SearchRequest, SearchResult};
use crate::{Engine, Result};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::TermQuery;
use tantivy::schema::{Field, IndexRecordOption, Value};
use tantivy::snippet::SnippetGenerator;
use tantivy::{Searcher, TantivyDocument, Term};

/// One completion of what a user is typing.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Suggestion {
    /// The word or value as it reads (`anemia`, `Homo sapiens`, `PXD000001`).
    pub text: String,
    /// Where it comes from: `term` (title words), `accession`, or a facet name.
    pub kind: String,
    /// How many datasets carry it (before deletions are merged away: an estimate).
    pub count: u64,
}

/// A word and how many dataset titles use it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TermCount {
    pub term: String,
    pub count: u64,
}

/// Facets whose values are offered as completions, with their index fields' names.
const SUGGESTED_FACETS: [(&str, &str); 4] = [
    ("omics_type", "facet_omics"),
    ("organism", "facet_organism"),
    ("disease", "facet_disease"),
    ("tissue", "facet_tissue"),
];

/// How many dictionary entries one prefix scan reads at most: a one-letter prefix of a large
/// index must not walk the whole dictionary on every keystroke.
const SCAN_LIMIT: usize = 20_000;

/// Words too common in titles to say anything in a term cloud (stems as the index holds them).
const STOP: &[&str] = &[
    "a", "about", "after", "against", "all", "also", "among", "an", "and", "ani", "are", "as",
    "at", "base", "be", "between", "both", "by", "can", "case", "data", "dataset", "do", "dure",
    "effect", "for", "from", "has", "have", "high", "how", "human", "i", "identifi", "ii", "in",
    "into", "is", "it", "its", "low", "new", "non", "not", "of", "on", "or", "over", "per",
    "profil", "report", "result", "role", "s", "studi", "than", "that", "the", "their", "through",
    "to", "toward", "two", "under", "use", "versus", "via", "vs", "was", "we", "which", "with",
    "within", "without",
];

/// Dictionary entries of `field` starting with `prefix`, summed over segments (at most
/// [`SCAN_LIMIT`] per segment).
fn prefix_terms(searcher: &Searcher, field: Field, prefix: &str) -> Result<BTreeMap<String, u64>> {
    let mut out: BTreeMap<String, u64> = BTreeMap::new();
    for seg in searcher.segment_readers() {
        let inverted = seg.inverted_index(field)?;
        let mut stream = inverted
            .terms()
            .range()
            .ge(prefix.as_bytes())
            .into_stream()?;
        let mut read = 0;
        while stream.advance() && read < SCAN_LIMIT {
            read += 1;
            let key = stream.key();
            if !key.starts_with(prefix.as_bytes()) {
                break;
            }
            if let Ok(s) = std::str::from_utf8(key) {
                *out.entry(s.to_string()).or_default() += u64::from(stream.value().doc_freq);
            }
        }
    }
    Ok(out)
}

/// The `n` entries with the highest counts, highest first (ties alphabetical).
fn top(map: BTreeMap<String, u64>, n: usize) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = map.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(n);
    v
}

/// `abc` -> `Abc`: facet values keep the case sources give, and most start with a capital.
fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn escape_html(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// `text` escaped, with the byte ranges `marks` (sorted, within `text`, on char boundaries)
/// wrapped in `<mark>`.
fn marked_html(text: &str, marks: &[std::ops::Range<usize>]) -> String {
    let mut out = String::with_capacity(text.len() + 16 * marks.len());
    let mut at = 0;
    for m in marks {
        if m.start < at || m.end > text.len() || m.start >= m.end {
            continue;
        }
        let (Some(before), Some(inner)) = (text.get(at..m.start), text.get(m.clone())) else {
            continue;
        };
        escape_html(before, &mut out);
        out.push_str("<mark>");
        escape_html(inner, &mut out);
        out.push_str("</mark>");
        at = m.end;
    }
    escape_html(text.get(at..).unwrap_or(""), &mut out);
    out
}

/// Highlights the words of one query in titles and descriptions (plain text in, escaped HTML
/// with `<mark>` out). Built once per search page and used for each hit.
pub struct Highlighter {
    title: SnippetGenerator,
    description: SnippetGenerator,
}

impl Highlighter {
    /// The whole title, its query words marked; None when no word of the query is in it.
    pub fn title(&self, text: &str) -> Option<String> {
        let s = self.title.snippet(text);
        if s.is_empty() {
            return None;
        }
        let offset = s.fragment_range().start;
        let marks: Vec<_> = tantivy::snippet::collapse_overlapped_ranges(s.highlighted())
            .into_iter()
            .map(|r| r.start + offset..r.end + offset)
            .collect();
        Some(marked_html(text, &marks))
    }

    /// The passage of `text` (plain text) that holds the most query words, with `…` where it
    /// was cut; None when no word of the query is in it.
    pub fn snippet(&self, text: &str) -> Option<String> {
        let s = self.description.snippet(text);
        if s.is_empty() {
            return None;
        }
        let range = s.fragment_range();
        let marks = tantivy::snippet::collapse_overlapped_ranges(s.highlighted());
        let mut html = String::new();
        if range.start > 0 {
            html.push('…');
        }
        html.push_str(&marked_html(s.fragment(), &marks));
        if range.end < text.trim_end().len() {
            html.push('…');
        }
        Some(html)
    }
}

impl SearchIndex {
    /// Completions for the word being typed (`prefix`, at least two characters): title words
    /// (their stems read back into words), accessions and facet values, most frequent first.
    pub fn suggest(&self, prefix: &str, limit: usize) -> Result<Vec<Suggestion>> {
        let p = prefix.trim().to_lowercase();
        if p.chars().count() < 2 || limit == 0 {
            return Ok(vec![]);
        }
        let searcher = self.searcher();
        let schema = searcher.schema().clone();
        let mut out: Vec<Suggestion> = Vec::new();

        // Facet values, as sources spell them: try the prefix as typed, lower case and
        // capitalized; keep those whose lower case starts with the typed prefix.
        let mut facet_hits: Vec<Suggestion> = Vec::new();
        for (name, field_name) in SUGGESTED_FACETS {
            let Ok(field) = schema.get_field(field_name) else {
                continue;
            };
            let mut seen: BTreeMap<String, u64> = BTreeMap::new();
            for variant in [prefix.trim().to_string(), p.clone(), capitalized(&p)] {
                for (v, n) in prefix_terms(&searcher, field, &variant)? {
                    seen.insert(v, n);
                }
            }
            facet_hits.extend(
                top(seen, limit)
                    .into_iter()
                    .map(|(text, count)| Suggestion {
                        text,
                        kind: name.to_string(),
                        count,
                    }),
            );
        }
        facet_hits.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.text.cmp(&b.text)));
        out.extend(facet_hits.into_iter().take(limit.div_ceil(3)));

        // Accessions (indexed whole, lower case) only when the prefix looks like one.
        if p.chars().any(|c| c.is_ascii_digit()) {
            let accs = prefix_terms(&searcher, self.fields.accession, &p)?;
            for (acc, count) in top(accs, 3) {
                out.push(Suggestion {
                    text: acc.to_uppercase(),
                    kind: "accession".into(),
                    count,
                });
            }
        }

        // Title words: the dictionary holds stems, so scan by the prefix and by its stem
        // (`proteomics` is stored as `proteom`), then read each stem back as a word.
        let mut stems = prefix_terms(&searcher, self.fields.title, &p)?;
        if let Some(stem) = self.stem(self.fields.title, &p) {
            if stem != p {
                for (k, v) in prefix_terms(&searcher, self.fields.title, &stem)? {
                    stems.insert(k, v);
                }
            }
        }
        let room = limit.saturating_sub(out.len());
        for (stem, count) in top(stems, room * 2) {
            if out.len() >= limit {
                break;
            }
            let word = self
                .surface_word(&searcher, &stem)?
                .unwrap_or_else(|| stem.clone());
            // The word read back must still complete what was typed.
            if !word.to_lowercase().starts_with(&p) && !stem.starts_with(&p) {
                continue;
            }
            if out
                .iter()
                .any(|s| s.text.eq_ignore_ascii_case(&word) && s.kind == "term")
            {
                continue;
            }
            out.push(Suggestion {
                text: word,
                kind: "term".into(),
                count,
            });
        }
        out.truncate(limit);
        Ok(out)
    }

    /// The most frequent title words (stop words left out), most frequent first, as words.
    pub fn frequent_terms(&self, limit: usize) -> Result<Vec<TermCount>> {
        let searcher = self.searcher();
        let mut all: BTreeMap<String, u64> = BTreeMap::new();
        for seg in searcher.segment_readers() {
            let inverted = seg.inverted_index(self.fields.title)?;
            let mut stream = inverted.terms().stream()?;
            while stream.advance() {
                let Ok(s) = std::str::from_utf8(stream.key()) else {
                    continue;
                };
                if s.chars().count() < 3
                    || s.chars().all(|c| c.is_ascii_digit())
                    || STOP.contains(&s)
                {
                    continue;
                }
                *all.entry(s.to_string()).or_default() += u64::from(stream.value().doc_freq);
            }
        }
        let mut out = Vec::new();
        for (stem, count) in top(all, limit) {
            let term = self.surface_word(&searcher, &stem)?.unwrap_or(stem);
            out.push(TermCount { term, count });
        }
        Ok(out)
    }

    /// A highlighter for `query` (the query string as the user typed it); with `synonyms`,
    /// the names a vocabulary adds are marked too.
    pub fn highlighter(
        &self,
        query: &str,
        synonyms: Option<&opendi_vocab::Synonyms>,
        max_chars: usize,
    ) -> Result<Highlighter> {
        let searcher = self.searcher();
        let q = self.parse_query(query, synonyms)?.query;
        let title = SnippetGenerator::create(&searcher, &*q, self.fields.title)?;
        let mut description = SnippetGenerator::create(&searcher, &*q, self.fields.description)?;
        description.set_max_num_chars(max_chars);
        Ok(Highlighter { title, description })
    }

    /// Searches like [`SearchIndex::search`], ordered by `rank` (record id -> figure, highest
    /// first; absent ids count 0) and then by relevance. For orders the index does not hold,
    /// such as page views, which change on every visit and so live in the store.
    pub fn search_ranked(
        &self,
        req: &SearchRequest,
        rank: Arc<HashMap<u64, u64>>,
        synonyms: Option<&opendi_vocab::Synonyms>,
    ) -> Result<SearchResult> {
        let searcher = self.searcher();
        let Prepared {
            query,
            warnings,
            also_searched_for,
            ..
        } = self.prepare(req, synonyms)?;
        let top = TopDocs::with_limit(req.limit.max(1))
            .and_offset(req.offset)
            .tweak_score(move |seg: &tantivy::SegmentReader| {
                let rids = seg
                    .fast_fields()
                    .u64("rid")
                    .ok()
                    .map(|c| c.first_or_default_col(0));
                let rank = rank.clone();
                move |doc: tantivy::DocId, score: tantivy::Score| {
                    let figure = rids
                        .as_ref()
                        .and_then(|c| rank.get(&c.get_val(doc)).copied())
                        .unwrap_or(0);
                    (figure, score)
                }
            });
        let (docs, count) = searcher.search(&query, &(top, Count))?;
        let mut hits = Vec::with_capacity(docs.len());
        for ((_, score), addr) in docs {
            hits.push(self.hit(&searcher, addr, score)?);
        }
        let facets = if req.facets {
            self.facet_counts(&*query, req.facet_size.max(1))?
        } else {
            BTreeMap::new()
        };
        Ok(SearchResult {
            count: count as u64,
            hits,
            facets,
            warnings,
            also_searched_for,
        })
    }

    /// `word` as the index's analyzer for `field` stores it (lower case, stemmed).
    fn stem(&self, field: Field, word: &str) -> Option<String> {
        let mut analyzer = self.searcher().index().tokenizer_for_field(field).ok()?;
        let mut stream = analyzer.token_stream(word);
        let mut out = None;
        while let Some(t) = stream.next() {
            out = Some(t.text.clone());
        }
        out
    }

    /// The word a title stem came from, read from one title that holds it (lower case unless
    /// the title writes it in capitals, as acronyms are).
    fn surface_word(&self, searcher: &Searcher, stem: &str) -> Result<Option<String>> {
        let f = &self.fields;
        let q = TermQuery::new(
            Term::from_field_text(f.title, stem),
            IndexRecordOption::Basic,
        );
        let found = searcher.search(&q, &TopDocs::with_limit(1).order_by_score())?;
        let Some((_, addr)) = found.first() else {
            return Ok(None);
        };
        let doc: TantivyDocument = searcher.doc(*addr)?;
        let Some(title) = doc.get_first(f.stored_title).and_then(|v| v.as_str()) else {
            return Ok(None);
        };
        let mut analyzer = searcher.index().tokenizer_for_field(f.title)?;
        let mut stream = analyzer.token_stream(title);
        while let Some(t) = stream.next() {
            if t.text == stem {
                let word = title.get(t.offset_from..t.offset_to).unwrap_or(stem);
                let acronym = word.chars().filter(|c| c.is_alphabetic()).count() > 1
                    && word.chars().all(|c| !c.is_alphabetic() || c.is_uppercase());
                return Ok(Some(if acronym {
                    word.to_string()
                } else {
                    word.to_lowercase()
                }));
            }
        }
        Ok(None)
    }
}

/// The facet a vocabulary concept's names belong to, as suggestions name it.
fn vocab_kind(k: opendi_vocab::Kind) -> &'static str {
    match k {
        opendi_vocab::Kind::Disease | opendi_vocab::Kind::Phenotype => "disease",
        opendi_vocab::Kind::CellType => "cell_type",
        opendi_vocab::Kind::Tissue => "tissue",
        opendi_vocab::Kind::Organism => "organism",
    }
}

/// Vocabulary names read per completion request at most: each is counted in the index.
const VOCAB_CANDIDATES: usize = 12;

impl SearchIndex {
    /// How many documents hold `name` as a phrase in any default text field.
    fn phrase_count(&self, searcher: &Searcher, name: &str) -> Result<u64> {
        let quoted = format!("\"{}\"", name.replace('"', " "));
        let q = self.parse_query(&quoted, None)?.query;
        Ok(searcher.search(&*q, &Count)? as u64)
    }
}

impl Engine {
    /// Vocabulary names (labels and synonyms) completing `prefix` that the index holds, with
    /// how many datasets hold each, at most `limit`.
    pub fn vocabulary_completions(&self, prefix: &str, limit: usize) -> Result<Vec<Suggestion>> {
        if prefix.trim().chars().count() < 3 || limit == 0 {
            return Ok(vec![]);
        }
        let searcher = self.index().searcher();
        let mut out: Vec<Suggestion> = Vec::new();
        for c in self.synonyms().complete(prefix, VOCAB_CANDIDATES) {
            if out.iter().any(|s| s.text.eq_ignore_ascii_case(&c.name)) {
                continue;
            }
            let count = self.index().phrase_count(&searcher, &c.name)?;
            if count > 0 {
                out.push(Suggestion {
                    text: c.name,
                    kind: vocab_kind(c.kind).to_string(),
                    count,
                });
            }
        }
        out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.text.cmp(&b.text)));
        out.truncate(limit);
        Ok(out)
    }

    /// Completions for the word being typed: the index's own (see [`SearchIndex::suggest`])
    /// with vocabulary names that datasets hold, placed after facet values and accessions and
    /// before title words.
    pub fn suggest(&self, prefix: &str, limit: usize) -> Result<Vec<Suggestion>> {
        let own = self.index().suggest(prefix, limit)?;
        let vocab = self.vocabulary_completions(prefix, limit.div_ceil(3))?;
        let (mut out, terms): (Vec<Suggestion>, Vec<Suggestion>) =
            own.into_iter().partition(|s| s.kind != "term");
        for v in vocab {
            if !out.iter().any(|s| s.text.eq_ignore_ascii_case(&v.text)) {
                out.push(v);
            }
        }
        for t in terms {
            if !out.iter().any(|s| s.text.eq_ignore_ascii_case(&t.text)) {
                out.push(t);
            }
        }
        out.truncate(limit);
        Ok(out)
    }

    /// Facet values and vocabulary names matching a typed pattern (OmicsDI's
    /// `getTermByPattern`): facet values holding a word starting with it, then vocabulary names
    /// starting with it that datasets hold.
    pub fn terms_matching(&self, pattern: &str, limit: usize) -> Result<Vec<FacetCount>> {
        let mut out = self.index().facet_values_matching(pattern, limit)?;
        for v in self.vocabulary_completions(pattern, limit)? {
            if out.len() >= limit {
                break;
            }
            if !out.iter().any(|c| c.value.eq_ignore_ascii_case(&v.text)) {
                out.push(FacetCount {
                    value: v.text,
                    count: v.count,
                });
            }
        }
        Ok(out)
    }

    /// The most frequent title words; see [`SearchIndex::frequent_terms`].
    pub fn frequent_terms(&self, limit: usize) -> Result<Vec<TermCount>> {
        self.index().frequent_terms(limit)
    }

    /// Searches ordered by page views (most viewed first, then by relevance).
    pub fn search_by_views(&self, req: &SearchRequest) -> Result<SearchResult> {
        self.flush_counts()?;
        let views: HashMap<u64, u64> = self
            .store()
            .most_viewed(usize::MAX)?
            .into_iter()
            .map(|(id, c)| (id as u64, c.views))
            .collect();
        let synonyms = self.synonyms_for(req);
        self.index()
            .search_ranked(req, Arc::new(views), synonyms.as_deref())
    }

    /// A highlighter for a request's query, marking the synonyms it would search for too.
    pub fn highlighter(&self, req: &SearchRequest, max_chars: usize) -> Result<Highlighter> {
        let synonyms = self.synonyms_for(req);
        self.index()
            .highlighter(&req.query, synonyms.as_deref(), max_chars)
    }

    /// Record ids with their page views, most viewed first, at most `limit`.
    pub fn most_viewed(&self, limit: usize) -> Result<Vec<(i64, u64)>> {
        self.flush_counts()?;
        Ok(self
            .store()
            .most_viewed(limit)?
            .into_iter()
            .map(|(id, c)| (id, c.views))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_are_escaped_and_wrapped() {
        let html = marked_html("a <b> & c", &[3..4, 8..9]);
        assert_eq!(html, "a &lt;<mark>b</mark>&gt; &amp; <mark>c</mark>");
    }

    #[test]
    fn marks_off_char_boundaries_are_skipped() {
        // 'é' is two bytes: a range ending inside it is ignored, not a panic.
        let inside_e = std::ops::Range { start: 0, end: 1 };
        assert_eq!(marked_html("é<", &[inside_e]), "é&lt;");
    }

    #[test]
    fn capitalizes_first_letter() {
        assert_eq!(capitalized("homo"), "Homo");
        assert_eq!(capitalized(""), "");
    }
}
