//! Precomputed "similar datasets": the features a record is compared by, candidate generation
//! over the index's postings (an inverted index of those features), scoring and reasons.
//!
//! Every record gets a bag of features: the significant words of its title, description and
//! protocols, and its entities (keywords, organisms, diseases, tissues, cell types; chemical,
//! gene and protein cross-references; publications; trials; accessions it is or refers to).
//! The words are the terms of the text fields the search indexes anyway (`title`,
//! `description`, `protocol`); the entities are verbatim tokens of the `sim` field. Their
//! posting lists are the inverted index: a record's neighbours are found by walking the
//! postings of its most significant features only, skipping features too common to tell
//! records apart. Each posting list read is thus at
//! most [`Tuning::max_df`] long and each record reads a bounded number of them, so computing
//! every list grows linearly with the number of records, never with their pairs.
//!
//! The score is symmetric by construction (a sum over shared features of both sides' BM25
//! weights), so when a new record finds its neighbours, it can also enter their lists without
//! recomputing them.

use crate::index::Fields;
use crate::links::{is_literature, record_links};
use crate::text::{organism_label, strip_tags};
use crate::Result;
use opendi_model::Dataset;
use rustc_hash::FxHashMap;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use tantivy::columnar::Column;
use tantivy::fastfield::AliveBitSet;
use tantivy::fieldnorm::FieldNormReader;
use tantivy::postings::{Postings, TermInfo};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{DocId, DocSet, InvertedIndexReader, Searcher, Term, TERMINATED};

/// How many neighbours each record keeps.
pub const K: usize = 20;

/// Every weight of the similarity, in one place. Tuned on `pubmed20n0014` only (see
/// `bench/eval.py`); nothing here depends on a query or a record.
#[derive(Debug, Clone)]
pub struct Tuning {
    /// Features carried by more than this fraction of the records are skipped: they tell
    /// records apart too little to pay for their long posting lists.
    pub max_df_fraction: f64,
    /// ... and so are features carried by more than this many records, whatever the corpus
    /// size: the cap that keeps the work per record bounded (near-linear growth).
    pub max_df: u64,
    /// How many of a record's text features (words) are looked up, best first.
    pub max_text_features: usize,
    /// How many of its other features (entities, identifiers) are looked up.
    pub max_entity_features: usize,
    /// Postings one record's features may walk in all: features are taken by weight until
    /// it is spent (the first always). The bound that makes every list cost about the same
    /// however large the corpus: without it a record of common words walked up to 120 lists
    /// of `max_df` postings each. PubMed's lists (`bench/eval.py`) by this bound: nDCG@10
    /// 0.4173 at 30,000, 0.4166 at 15,000, 0.4164 at 10,000, 0.4138 at 6,000 (Lucene
    /// MoreLikeThis: 0.3663). `similar --all` on it, 4 alternated runs each: 5.52 s at 30,000
    /// against 4.73 s at 15,000; later 4.80 s at 15,000 against 4.34 s at 10,000.
    pub max_postings: u64,
    /// BM25 saturation and length normalisation. `b` swept on PubMed (similar nDCG@10): 0.5:
    /// 0.4173, 0.65: 0.4222, 0.75: 0.4241, 0.9: 0.4224.
    pub k1: f32,
    pub b: f32,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            max_df_fraction: 0.1,
            max_df: 5000,
            max_text_features: 60,
            max_entity_features: 60,
            max_postings: 10_000,
            k1: 1.2,
            b: 0.75,
        }
    }
}

/// The kinds of features, told apart by the prefix of their token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Kind {
    Word,
    Keyword,
    Organism,
    Disease,
    Tissue,
    CellType,
    Xref,
    Publication,
    Trial,
    Accession,
}

const KINDS: [(Kind, &str); 10] = [
    (Kind::Word, "w:"),
    (Kind::Keyword, "k:"),
    (Kind::Organism, "o:"),
    (Kind::Disease, "d:"),
    (Kind::Tissue, "t:"),
    (Kind::CellType, "c:"),
    (Kind::Xref, "x:"),
    (Kind::Publication, "pub:"),
    (Kind::Trial, "trial:"),
    (Kind::Accession, "a:"),
];

impl Kind {
    fn prefix(self) -> &'static str {
        KINDS
            .iter()
            .find(|(k, _)| *k == self)
            .map(|(_, p)| *p)
            .unwrap_or("")
    }

    fn of(token: &str) -> Option<(Kind, &str)> {
        KINDS
            .iter()
            .find_map(|(k, p)| token.strip_prefix(p).map(|rest| (*k, rest)))
    }

    /// How much sharing one feature of this kind counts, before its rarity (IDF). An explicit
    /// tie (the same publication, trial or a declared relation) outweighs any amount of text.
    fn boost(self) -> f32 {
        match self {
            Kind::Word => 1.0,
            Kind::Keyword => 1.5,
            Kind::Organism => 0.5,
            Kind::Disease | Kind::CellType => 2.0,
            Kind::Tissue => 1.5,
            Kind::Xref => 2.0,
            Kind::Publication | Kind::Trial | Kind::Accession => 8.0,
        }
    }

    fn is_text(self) -> bool {
        self == Kind::Word
    }
}

/// Words that carry no topic (the document-frequency cap removes most common words anyway).
const STOPWORDS: &[&str] = &[
    "a", "about", "after", "all", "also", "among", "an", "and", "any", "are", "as", "at", "be",
    "been", "before", "being", "between", "both", "but", "by", "can", "could", "did", "do", "does",
    "during", "each", "either", "for", "from", "had", "has", "have", "here", "how", "however",
    "if", "in", "into", "is", "it", "its", "may", "more", "most", "no", "nor", "not", "of", "on",
    "one", "only", "or", "other", "our", "over", "such", "than", "that", "the", "their", "them",
    "then", "there", "these", "they", "this", "those", "through", "thus", "to", "two", "under",
    "up", "upon", "using", "very", "via", "was", "we", "were", "what", "when", "where", "whether",
    "which", "while", "who", "whom", "why", "will", "with", "within", "without", "would", "yet",
];

/// The longest word of [`STOPWORDS`]: longer words are not looked for.
const STOPWORD_MAX: usize = 7;

/// [`STOPWORDS`] as a hash set: a binary search of the list, a string comparison per step,
/// was 2.4% of an ingest's CPU (every word of every text is looked for).
static STOPWORD_SET: std::sync::LazyLock<rustc_hash::FxHashSet<&'static str>> =
    std::sync::LazyLock::new(|| STOPWORDS.iter().copied().collect());

fn is_stopword(w: &str) -> bool {
    w.len() <= STOPWORD_MAX && STOPWORD_SET.contains(w)
}

/// A light plural folding ("cells" -> "cell", "therapies" -> "therapy") that keeps words
/// readable in reasons, unlike a full stemmer.
fn fold_into(w: &str, out: &mut String) {
    let n = w.len();
    if n > 4 && w.ends_with("ies") {
        out.push_str(&w[..n - 3]);
        out.push('y');
    } else if n > 3
        && w.ends_with('s')
        && !w.ends_with("ss")
        && !w.ends_with("us")
        && !w.ends_with("is")
    {
        out.push_str(&w[..n - 1]);
    } else {
        out.push_str(w);
    }
}

/// Walks the feature words of a text: `f(Some(word))` for each significant word, plurals
/// folded; `f(None)` where a phrase breaks (a dropped word, punctuation other than a space or
/// a hyphen). What [`text_features`] and the reasons' phrases both read.
fn feature_words(text: &str, mut f: impl FnMut(Option<&str>)) {
    let text = strip_tags(text).to_lowercase();
    let mut folded = String::new();
    for piece in text.split_inclusive(|c: char| !c.is_alphanumeric()) {
        let (word, sep) = match piece.char_indices().last() {
            Some((i, c)) if !c.is_alphanumeric() => (&piece[..i], Some(c)),
            _ => (piece, None),
        };
        if !word.is_empty() {
            let keep = word.chars().count() >= 3
                && !word.bytes().all(|b| b.is_ascii_digit())
                && !is_stopword(word);
            if keep {
                folded.clear();
                fold_into(word, &mut folded);
                f(Some(&folded));
            } else {
                f(None);
            }
        }
        if sep.is_some_and(|c| !(c.is_whitespace() || c == '-')) {
            f(None);
        }
    }
}

/// A significant word of a record's text, as the text fields index it.
#[derive(Debug, Clone, PartialEq)]
struct Word {
    /// The text fields' term: the analyzer's stem.
    stem: String,
    /// How reasons show it: its first spelling, lower case, plural folded.
    shown: String,
    /// How often it occurs, title words twice.
    tf: u32,
}

/// The significant words of a record's title, description and protocols, as the text fields'
/// analyzer gives them, less stopwords, numbers and words under three letters.
///
/// Word pairs were features too until measured: on the PubMed evaluation (`bench/eval.py`)
/// dropping them left similar nDCG@10 at 0.417 (0.415 with them) while they made a quarter of
/// a PubMed ingest's index work.
fn record_words(analyzer: &mut TextAnalyzer, d: &Dataset) -> Vec<Word> {
    let mut out: Vec<Word> = Vec::new();
    let mut at: FxHashMap<String, usize> = FxHashMap::default();
    let texts = [(d.title.as_str(), 2), (d.description.as_str(), 1)]
        .into_iter()
        .chain(
            d.data_protocols
                .iter()
                .chain(&d.sample_protocols)
                .map(|p| (p.as_str(), 1)),
        );
    let mut lower = String::new();
    for (text, times) in texts {
        let text = strip_tags(text);
        let mut stream = analyzer.token_stream(&text);
        while stream.advance() {
            let t = stream.token();
            let surface = &text[t.offset_from..t.offset_to];
            if surface.chars().nth(2).is_none() || surface.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            lower.clear();
            lower.extend(surface.chars().flat_map(char::to_lowercase));
            if is_stopword(&lower) {
                continue;
            }
            match at.get(&t.text) {
                Some(&i) => out[i].tf += times,
                None => {
                    at.insert(t.text.clone(), out.len());
                    let mut shown = String::new();
                    fold_into(&lower, &mut shown);
                    out.push(Word {
                        stem: t.text.clone(),
                        shown,
                        tf: times,
                    });
                }
            }
        }
    }
    out
}

/// Ends each feature token in [`features_text`]: the `sim` field holds a record's entity
/// features as one value, which [`FeatureTokenizer`] splits again (one value per token cost
/// tantivy a token stream and the document a string each).
pub const FEATURE_SEP: char = '\u{1f}';

/// The entity features of a record, each ended by [`FEATURE_SEP`]: the index's `sim` field
/// value.
///
/// A record's words are not in it: they are looked up in the text fields, which index them
/// anyway (`Computer::for_many` merges a word's postings of the title, description and
/// protocol fields into one list). Until this was measured they were indexed a second time
/// here, the largest cost left in an ingest: without them, alternated, `ingest --no-similar`
/// of 100,000 generated records 12.89 → 10.41 s, of PubMed's 30,000 records 3.98 → 3.42 s,
/// with the similar lists as good (PubMed similar nDCG@10 0.4164 → 0.4173 at the same BM25
/// `b`).
///
/// An earlier attempt (698ba38, reverted) summed a BM25 per text field (title boosted 4x) and
/// walked each field's list per record: as good, but the lists of 1M records took 54% longer.
/// Here `Computer::for_many` merges the fields' lists once into one list per word, which the
/// walk reads as before.
pub fn features_text(d: &Dataset) -> String {
    let mut out = String::new();
    for e in entity_features(d) {
        out.push_str(&e);
        out.push(FEATURE_SEP);
    }
    out
}

/// The entity feature tokens of a record, sorted, each once.
fn entity_features(d: &Dataset) -> Vec<String> {
    let mut entities: Vec<String> = Vec::new();
    for k in d.submitter_keywords.iter().chain(&d.curator_keywords) {
        let k = k.trim().to_lowercase();
        if !k.is_empty() {
            entities.push(format!("k:{k}"));
        }
    }
    for o in &d.organisms {
        let label = organism_label(o);
        if !label.is_empty() {
            entities.push(format!("o:{}", label.to_lowercase()));
        }
    }
    for (kind, terms) in [
        (Kind::Disease, &d.diseases),
        (Kind::Tissue, &d.tissues),
        (Kind::CellType, &d.cell_types),
    ] {
        for t in terms {
            let label = t.label.trim().to_lowercase();
            if !label.is_empty() {
                entities.push(format!("{}{label}", kind.prefix()));
            }
        }
    }
    let links = record_links(d);
    for c in &d.cross_refs {
        let db = c.database.trim().to_ascii_lowercase();
        let key = c.key.trim();
        if key.is_empty() {
            continue;
        }
        let upper = key.to_ascii_uppercase();
        if let Some(t) = trial_id(&db, &upper) {
            entities.push(format!("trial:{t}"));
        } else if let Some(p) = publication_token(&db, key) {
            entities.push(p);
        } else if is_entity_db(&db) {
            entities.push(format!("x:{db}:{upper}"));
        } else {
            // Another record's accession (a GEO series a paper names, a related dataset):
            // it meets that record's own accession token.
            entities.push(format!("a:{upper}"));
        }
    }
    for p in &d.publications {
        if let Some(pmid) = &p.pmid {
            entities.push(format!("pub:pmid:{}", pmid.trim()));
        } else if let Some(doi) = &p.doi {
            entities.push(format!("pub:doi:{}", doi.trim().to_ascii_lowercase()));
        } else if let Some(pmc) = &p.pmcid {
            entities.push(format!("pub:pmc:{}", pmc.trim().to_ascii_uppercase()));
        }
    }
    // A literature record is a publication: records citing it share its token.
    for key in &links.keys {
        if let Some(n) = key.strip_prefix("PMID:") {
            entities.push(format!("pub:pmid:{n}"));
        } else if let Some(doi) = key.strip_prefix("DOI:") {
            entities.push(format!("pub:doi:{}", doi.to_ascii_lowercase()));
        } else if is_trial(key) {
            entities.push(format!("trial:{key}"));
        } else {
            entities.push(format!("a:{key}"));
        }
    }
    for acc in &links.reanalyses {
        entities.push(format!("a:{acc}"));
    }
    // A separator inside a name would split it; a space reads the same.
    for e in &mut entities {
        if e.contains(FEATURE_SEP) {
            *e = e.replace(FEATURE_SEP, " ");
        }
    }
    entities.sort();
    entities.dedup();
    entities
}

/// The tokenizer of the `sim` field: the pieces of a [`features_text`] between separators,
/// verbatim (an empty piece is no token).
#[derive(Clone, Default)]
pub struct FeatureTokenizer {
    token: tantivy::tokenizer::Token,
}

pub struct FeatureTokens<'a> {
    text: &'a str,
    at: usize,
    token: &'a mut tantivy::tokenizer::Token,
}

impl tantivy::tokenizer::Tokenizer for FeatureTokenizer {
    type TokenStream<'a> = FeatureTokens<'a>;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> FeatureTokens<'a> {
        self.token.reset();
        FeatureTokens {
            text,
            at: 0,
            token: &mut self.token,
        }
    }
}

impl tantivy::tokenizer::TokenStream for FeatureTokens<'_> {
    fn advance(&mut self) -> bool {
        while self.at < self.text.len() {
            let rest = &self.text[self.at..];
            let len = rest.find(FEATURE_SEP).unwrap_or(rest.len());
            let (from, to) = (self.at, self.at + len);
            self.at = to + FEATURE_SEP.len_utf8();
            if len > 0 {
                self.token.text.clear();
                self.token.text.push_str(&rest[..len]);
                self.token.offset_from = from;
                self.token.offset_to = to;
                self.token.position = self.token.position.wrapping_add(1);
                self.token.position_length = 1;
                return true;
            }
        }
        false
    }

    fn token(&self) -> &tantivy::tokenizer::Token {
        self.token
    }

    fn token_mut(&mut self) -> &mut tantivy::tokenizer::Token {
        self.token
    }
}

/// Databases of biological entities (chemicals, genes, proteins, pathways, ontology terms):
/// records naming the same one share a topic, not a study.
fn is_entity_db(db: &str) -> bool {
    const ENTITY_DBS: &[&str] = &[
        "chebi",
        "chembl",
        "drugbank",
        "ec",
        "ensembl",
        "entrez",
        "go",
        "hgnc",
        "interpro",
        "kegg",
        "mesh",
        "ncbigene",
        "omim",
        "orphanet",
        "pfam",
        "pubchem",
        "pubchem.compound",
        "reactome",
        "refseq",
        "taxonomy",
        "uniprot",
        "uniprotkb",
    ];
    ENTITY_DBS.contains(&db) || db.starts_with("ensembl") || db.starts_with("uniprot")
}

fn is_trial(key: &str) -> bool {
    let digits = |p: &str| {
        key.strip_prefix(p)
            .is_some_and(|r| r.len() >= 5 && r.bytes().all(|b| b.is_ascii_digit()))
    };
    digits("NCT") || digits("ISRCTN")
}

fn trial_id(db: &str, key: &str) -> Option<String> {
    if is_trial(key) || (db.contains("trial") || db == "eudract" || db == "ctis") {
        Some(key.to_string())
    } else {
        None
    }
}

fn publication_token(db: &str, key: &str) -> Option<String> {
    match db {
        "pubmed" | "pmid" | "medline" => {
            Some(format!("pub:pmid:{}", key.trim_start_matches("PMID:")))
        }
        "doi" => Some(format!("pub:doi:{}", key.to_ascii_lowercase())),
        "pmc" | "pmcid" => Some(format!("pub:pmc:{}", key.to_ascii_uppercase())),
        _ => None,
    }
}

/// One neighbour as computed: the reasons that do not depend on the direction (shared
/// features) and whether the two are explicitly related (the reasons of which do).
#[derive(Debug, Clone)]
pub(crate) struct Found {
    pub rid: i64,
    pub score: f32,
    pub reasons: Vec<String>,
    /// Shared accession features: a declared relation or citation between the two.
    pub related: bool,
}

/// A feature of the record being compared, looked up in the index.
struct Looked {
    /// How reasons name it: an entity token, or `w:` and the word as shown.
    token: String,
    /// Query-side weight: boost x IDF x saturated term frequency.
    weight: f32,
    idf: f32,
    /// Its document frequency (over all segments; for a word, the records having it in any
    /// of the text fields).
    df: u32,
    /// Its range in the [`DfTable`]'s spans with the table, else in `Scratch::own_spans`.
    spans: (usize, usize),
    /// Its postings' range per segment: in the [`DfTable`]'s `postings` with the table, else
    /// in the postings [`Computer::look_up`] decoded for this record.
    decoded: Vec<Option<(usize, usize)>>,
}

/// The fields features are looked up in, by source: the `sim` field holds the entities, the
/// text fields after it the words.
const SIM: usize = 0;
/// How many fields features are looked up in: `sim`, title, description, protocol.
const SOURCES: usize = 4;

/// One field features are looked up in.
struct Source {
    field: Field,
    /// How many times its tokens count in a record's features (a title's words twice).
    times: f32,
}

/// What the walk needs of one segment, opened once per [`Computer`] rather than per record.
struct SegmentParts {
    /// By source, in [`Computer`]'s `sources` order.
    fields: Vec<(Arc<InvertedIndexReader>, FieldNormReader)>,
    alive: Option<AliveBitSet>,
    rids: Column<u64>,
    clusters: Column<u64>,
    /// Each document's (record id, cluster) when many lists are computed, read from the two
    /// columns once ([`NONE`] where a column has no value): the ranking reads them for the
    /// best few hundred documents of every record, and decoding the columns' blocks each time
    /// was 7% of the all-records job at 1M records (then 99.8 → 96.0 s, alternated).
    ids: Vec<(u64, u64)>,
    /// Each document's number of features ([`Computer::features_of`]) when many lists are
    /// computed, read from the field norms once.
    lens: Vec<f32>,
    max_doc: u32,
}

/// "No value" in [`SegmentParts::ids`].
const NONE: u64 = u64::MAX;

impl SegmentParts {
    /// The record id and cluster of a document (its own id when it has no cluster).
    #[inline]
    fn ids_of(&self, doc: DocId) -> Option<(u64, u64)> {
        if let Some(&(rid, cluster)) = self.ids.get(doc as usize) {
            return (rid != NONE).then_some((rid, if cluster == NONE { rid } else { cluster }));
        }
        let rid = self.rids.first(doc)?;
        Some((rid, self.clusters.first(doc).unwrap_or(rid)))
    }
}

/// Computes neighbour lists over one searcher (a committed state of the index).
pub(crate) struct Computer<'a> {
    tuning: &'a Tuning,
    n_docs: f32,
    max_df: u64,
    /// The `sim` field ([`SIM`]), then the text fields words are found in.
    sources: Vec<Source>,
    /// The average number of a record's features, words and entities (the length
    /// normalisation of the query side).
    avg_features: f32,
    /// The text fields' analyzer, which gives a record's words as those fields hold them.
    analyzer: TextAnalyzer,
    segments: Vec<SegmentParts>,
    /// Document frequency by token hash, of the tokens worth looking up (df between 2 and
    /// `max_df`), when many lists are computed: one pass over the term dictionaries replaces
    /// a dictionary lookup per feature per segment per record (the largest cost of the
    /// all-records job in the profile: 30% of its time in `Fst::get` at 100,000 records).
    df_table: Option<DfTable>,
}

/// Features worth looking up, read from the term dictionaries in one merged pass: by token
/// hash, the document frequency and where in `spans` the segments holding it are listed.
///
/// Their postings are decoded once, here, with each posting's saturated term frequency
/// already computed: the all-records job walks a posting list once per record that looks its
/// feature up (on PubMed, 30,000 records walk up to 10,000 postings each, of 1,130,031 in the
/// table), and decoding tantivy's blocks again each time (`read_postings_from_terminfo`) was
/// 12% of the job's samples, before the field norm and saturation read per posting.
/// Measured (alternated, lists byte-identical): PubMed `similar --all` 3.56 → 2.99 s; 1M
/// generated records 143.5 → 119.5 s, for 261 MB more memory (the decoded postings).
#[derive(Default)]
struct DfTable {
    by_hash: FxHashMap<u64, (u32, usize, usize)>,
    /// (segment, range in `postings`) of each feature, segment after segment.
    spans: Vec<(u32, usize, usize)>,
    /// (document, saturated term frequency) of every posting of every feature in the table.
    postings: Vec<(DocId, f32)>,
}

/// Per-thread scratch space of [`Computer::neighbours`]: one score per document of the largest
/// segment, reused from record to record.
#[derive(Default)]
pub(crate) struct Scratch {
    scores: Vec<f32>,
    touched: Vec<DocId>,
    /// The best-scored documents of a segment so far.
    best: Vec<(f32, DocId)>,
    /// Every posting's (document, contribution), feature after feature and segment after
    /// segment: the reasons of the records listed are looked up in it.
    contributions: Vec<(DocId, f32)>,
    /// Without the table: the postings of the record's features, decoded by `look_up`, and
    /// their (segment, range in `own`), as the table's `postings` and `spans`.
    own: Vec<(DocId, f32)>,
    own_spans: Vec<(u32, usize, usize)>,
    /// Where one field's postings of a word are decoded before they join the others'.
    field: Vec<(DocId, f32)>,
    merged: Vec<(DocId, f32)>,
}

/// BM25's saturation of term frequency `tf` in a record of `len` features (average `avg_len`).
fn sat(t: &Tuning, tf: f32, len: f32, avg_len: f32) -> f32 {
    tf * (t.k1 + 1.0) / (tf + t.k1 * (1.0 - t.b + t.b * len / avg_len))
}

/// Adds `b`'s values to `a`'s (both sorted by document) into `out`: a document in both gets
/// the sum.
fn merge_sum(a: &[(DocId, f32)], b: &[(DocId, f32)], out: &mut Vec<(DocId, f32)>) {
    out.reserve(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => {
                out.push(a[i]);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push(b[j]);
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                out.push((a[i].0, a[i].1 + b[j].1));
                i += 1;
                j += 1;
            }
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
}

impl<'a> Computer<'a> {
    pub fn new(searcher: &'a Searcher, fields: &Fields, tuning: &'a Tuning) -> Result<Self> {
        let n = searcher.num_docs().max(1);
        // (field, how many times its tokens count in a record's features)
        let wanted: [(Field, f32); SOURCES] = [
            (fields.sim, 1.0),
            (fields.title, 2.0),
            (fields.description, 1.0),
            (fields.protocol, 1.0),
        ];
        let mut tokens = vec![0u64; wanted.len()];
        let mut segments = Vec::new();
        for seg in searcher.segment_readers() {
            let mut parts = Vec::with_capacity(wanted.len());
            for (i, &(field, _)) in wanted.iter().enumerate() {
                let inverted = seg.inverted_index(field)?;
                tokens[i] += inverted.total_num_tokens();
                parts.push((inverted, seg.get_fieldnorms_reader(field)?));
            }
            segments.push(SegmentParts {
                fields: parts,
                alive: seg.alive_bitset().cloned(),
                rids: seg.fast_fields().u64("rid")?,
                clusters: seg.fast_fields().u64("cluster")?,
                ids: Vec::new(),
                lens: Vec::new(),
                max_doc: seg.max_doc(),
            });
        }
        let max_df = ((n as f64 * tuning.max_df_fraction) as u64)
            .max(20)
            .min(tuning.max_df);
        let avg_features = wanted
            .iter()
            .zip(&tokens)
            .map(|(&(_, times), &tokens)| times * tokens as f32 / n as f32)
            .sum::<f32>();
        let sources = wanted
            .iter()
            .map(|&(field, times)| Source { field, times })
            .collect();
        Ok(Computer {
            tuning,
            n_docs: n as f32,
            max_df,
            sources,
            avg_features: f32::max(avg_features, 1.0),
            analyzer: searcher.index().tokenizer_for_field(fields.title)?,
            segments,
            df_table: None,
        })
    }

    /// A computer for many lists: it first reads every feature's document frequency in one
    /// merged pass over the segments' term dictionaries, and decodes the postings of those
    /// worth looking up.
    pub fn for_many(searcher: &'a Searcher, fields: &Fields, tuning: &'a Tuning) -> Result<Self> {
        let mut c = Self::new(searcher, fields, tuning)?;
        for seg in &mut c.segments {
            seg.ids = (0..seg.max_doc)
                .map(|doc| {
                    let rid = seg.rids.first(doc).unwrap_or(NONE);
                    (rid, seg.clusters.first(doc).unwrap_or(NONE))
                })
                .collect();
        }
        let lens: Vec<Vec<f32>> = c
            .segments
            .iter()
            .map(|seg| {
                (0..seg.max_doc)
                    .map(|doc| c.features_of(seg, doc))
                    .collect()
            })
            .collect();
        for (seg, lens) in c.segments.iter_mut().zip(lens) {
            seg.lens = lens;
        }
        let mut table = DfTable::default();
        let mut scratch = Scratch::default();
        // The entities, then the words: each pass merges the term dictionaries of its fields
        // in every segment, and `places` lists (segment, source, where) of the current term.
        for words in [false, true] {
            let mut owners: Vec<(usize, usize)> = Vec::new();
            let mut dicts = Vec::new();
            for (s, seg) in c.segments.iter().enumerate() {
                for (source, (inverted, _)) in seg.fields.iter().enumerate() {
                    if (source != SIM) == words {
                        owners.push((s, source));
                        dicts.push(inverted.terms());
                    }
                }
            }
            let streams = dicts
                .iter()
                .map(|d| d.stream())
                .collect::<std::io::Result<Vec<_>>>()?;
            let mut merged = tantivy::termdict::TermMerger::new(streams);
            let mut places: Vec<(usize, usize, TermInfo)> = Vec::new();
            while merged.advance() {
                // An index written before words left the `sim` field still has them there.
                if !words && merged.key().starts_with(b"w:") {
                    continue;
                }
                places.clear();
                places.extend(
                    merged
                        .current_segment_ords_and_term_infos()
                        .map(|(ord, info)| (owners[ord].0, owners[ord].1, info)),
                );
                if !c.worth_decoding(&places) {
                    continue;
                }
                places.sort_by_key(|&(seg, source, _)| (seg, source));
                let (start, from) = (table.spans.len(), table.postings.len());
                let df =
                    c.decode_places(&places, &mut table.postings, &mut table.spans, &mut scratch)?;
                if df < 2 || df as u64 > c.max_df {
                    table.spans.truncate(start);
                    table.postings.truncate(from);
                    continue;
                }
                let key = if words {
                    word_key(merged.key())
                } else {
                    token_hash(merged.key())
                };
                table
                    .by_hash
                    .insert(key, (df as u32, start, table.spans.len()));
            }
        }
        tracing::debug!(
            features = table.by_hash.len(),
            postings = table.postings.len(),
            "similar: document frequencies read, postings decoded"
        );
        c.df_table = Some(table);
        Ok(c)
    }

    /// Whether a term found in `places` (segment, source, where) can have a document frequency
    /// from 2 to `max_df`: in one field, its document frequency is known; across fields (a
    /// word), the records having it are at least as many as in any one field and at most
    /// the sum.
    fn worth_decoding(&self, places: &[(usize, usize, TermInfo)]) -> bool {
        let mut by_source = [0u64; SOURCES];
        for &(_, source, ref info) in places {
            by_source[source] += u64::from(info.doc_freq);
        }
        by_source.iter().sum::<u64>() >= 2 && by_source.iter().all(|&df| df <= self.max_df)
    }

    /// Appends the postings of a term found in `places` (segment, source, where; in that
    /// order), one merged list per segment, to `out`, and each list's (segment, range in
    /// `out`) to `spans`. Returns the term's document frequency: the postings appended.
    fn decode_places(
        &self,
        places: &[(usize, usize, TermInfo)],
        out: &mut Vec<(DocId, f32)>,
        spans: &mut Vec<(u32, usize, usize)>,
        scratch: &mut Scratch,
    ) -> Result<usize> {
        let from = out.len();
        for group in places.chunk_by(|a, b| a.0 == b.0) {
            let at = out.len();
            self.decode_merged(group, out, scratch)?;
            spans.push((group[0].0 as u32, at, out.len()));
        }
        Ok(out.len() - from)
    }

    /// Appends the postings of one term in one segment, found in `group` (segment, source,
    /// where; the same segment, sources in order) as (document, saturated term frequency).
    ///
    /// A word's term frequency is its count in the title (twice), the description and the
    /// protocols, and the length it is saturated by is the record's number of features, as
    /// when the words were indexed a second time in one field of their own. Measured on
    /// PubMed (similar nDCG@10, BM25 `b` 0.5): 0.4173 this way, 0.4164 with the words in
    /// `sim`, 0.4121 summing a BM25 per field with the title boosted 4x.
    fn decode_merged(
        &self,
        group: &[(usize, usize, TermInfo)],
        out: &mut Vec<(DocId, f32)>,
        scratch: &mut Scratch,
    ) -> Result<()> {
        let start = out.len();
        for (i, &(seg, source, ref info)) in group.iter().enumerate() {
            if i == 0 {
                self.decode(seg, source, info, out)?;
                continue;
            }
            scratch.field.clear();
            self.decode(seg, source, info, &mut scratch.field)?;
            scratch.merged.clear();
            merge_sum(&out[start..], &scratch.field, &mut scratch.merged);
            out.truncate(start);
            out.extend_from_slice(&scratch.merged);
        }
        let seg = &self.segments[group[0].0];
        for p in &mut out[start..] {
            p.1 = sat(
                self.tuning,
                p.1,
                self.features_of(seg, p.0),
                self.avg_features,
            );
        }
        Ok(())
    }

    /// The number of features of a document: its field norms (lengths), each field's counted
    /// as often as its tokens are.
    #[inline]
    fn features_of(&self, seg: &SegmentParts, doc: DocId) -> f32 {
        if let Some(&len) = seg.lens.get(doc as usize) {
            return len;
        }
        let mut len = 0.0;
        for (source, (_, norms)) in self.sources.iter().zip(&seg.fields) {
            len += source.times * FieldNormReader::id_to_fieldnorm(norms.fieldnorm_id(doc)) as f32;
        }
        len
    }

    /// Appends the (document, term frequency counted as often as the field's tokens are)
    /// postings of a term of segment `seg` in the field of `source`.
    fn decode(
        &self,
        seg: usize,
        source: usize,
        info: &TermInfo,
        out: &mut Vec<(DocId, f32)>,
    ) -> Result<()> {
        let inverted = &self.segments[seg].fields[source].0;
        let mut postings =
            inverted.read_postings_from_terminfo(info, IndexRecordOption::WithFreqs)?;
        out.reserve(info.doc_freq as usize);
        let times = self.sources[source].times;
        let mut doc = postings.doc();
        while doc != TERMINATED {
            out.push((doc, times * postings.term_freq() as f32));
            doc = postings.advance();
        }
        Ok(())
    }

    /// Without the table: where a term is in every segment, as (segment, source, where), of
    /// the term `text` in the fields of `sources`.
    fn locate(
        &self,
        text: &str,
        sources: std::ops::Range<usize>,
    ) -> Result<Vec<(usize, usize, TermInfo)>> {
        let mut places = Vec::new();
        for (s, seg) in self.segments.iter().enumerate() {
            for source in sources.clone() {
                let term = Term::from_field_text(self.sources[source].field, text);
                if let Some(info) = seg.fields[source].0.get_term_info(&term)? {
                    places.push((s, source, info));
                }
            }
        }
        Ok(places)
    }

    /// The record's features worth looking up, with their weights. Without the table, their
    /// postings are decoded into `scratch.own`.
    fn look_up(&self, d: &Dataset, scratch: &mut Scratch) -> Result<Vec<Looked>> {
        let words = record_words(&mut self.analyzer.clone(), d);
        let entities = entity_features(d);
        let len = (words.iter().map(|w| w.tf).sum::<u32>() as usize + entities.len()) as f32;
        // (token shown, term frequency, table key, term in the index, sources)
        let features = words
            .iter()
            .map(|w| {
                (
                    format!("w:{}", w.shown),
                    w.tf,
                    word_key(w.stem.as_bytes()),
                    w.stem.as_str(),
                    SIM + 1..self.sources.len(),
                )
            })
            .chain(entities.iter().map(|e| {
                (
                    e.clone(),
                    1,
                    token_hash(e.as_bytes()),
                    e.as_str(),
                    SIM..SIM + 1,
                )
            }));
        scratch.own.clear();
        scratch.own_spans.clear();
        let mut text = Vec::new();
        let mut other = Vec::new();
        for (token, n, key, term, sources) in features {
            let Some((kind, _)) = Kind::of(&token) else {
                continue;
            };
            let mut spans = (0, 0);
            let df = match &self.df_table {
                Some(table) => match table.by_hash.get(&key) {
                    Some(&(df, start, end)) => {
                        spans = (start, end);
                        u64::from(df)
                    }
                    None => 0,
                },
                None => {
                    let places = self.locate(term, sources)?;
                    if !self.worth_decoding(&places) {
                        continue;
                    }
                    let (mut own, mut own_spans) = (
                        std::mem::take(&mut scratch.own),
                        std::mem::take(&mut scratch.own_spans),
                    );
                    let start = own_spans.len();
                    let df = self.decode_places(&places, &mut own, &mut own_spans, scratch)?;
                    spans = (start, own_spans.len());
                    (scratch.own, scratch.own_spans) = (own, own_spans);
                    df as u64
                }
            };
            // df 1 is the record itself (it is indexed before its list is computed). The
            // count includes deleted documents not yet merged away, as Lucene's does.
            if df <= 1 || df > self.max_df {
                continue;
            }
            let dff = df as f32;
            let idf = (1.0 + (self.n_docs - dff + 0.5) / (dff + 0.5)).ln();
            let weight = kind.boost() * idf * sat(self.tuning, n as f32, len, self.avg_features);
            let l = Looked {
                token,
                weight,
                idf,
                df: df as u32,
                spans,
                decoded: Vec::new(),
            };
            if kind.is_text() {
                text.push(l);
            } else {
                other.push(l);
            }
        }
        let by_weight = |a: &Looked, b: &Looked| {
            b.weight
                .total_cmp(&a.weight)
                .then_with(|| a.token.cmp(&b.token))
        };
        text.sort_by(by_weight);
        text.truncate(self.tuning.max_text_features);
        other.sort_by(by_weight);
        other.truncate(self.tuning.max_entity_features);
        text.extend(other);
        text.sort_by(by_weight);
        let mut spent = 0u64;
        let mut kept = 0;
        for l in &text {
            spent += l.df as u64;
            if kept > 0 && spent > self.tuning.max_postings {
                break;
            }
            kept += 1;
        }
        text.truncate(kept);
        // The features kept find their decoded postings per segment.
        let all_spans = match &self.df_table {
            Some(table) => &table.spans,
            None => &scratch.own_spans,
        };
        for l in text.iter_mut() {
            l.decoded = vec![None; self.segments.len()];
            for &(seg, from, to) in &all_spans[l.spans.0..l.spans.1] {
                l.decoded[seg as usize] = Some((from, to));
            }
        }
        Ok(text)
    }

    /// The `k` most similar records to `d` (record `rid` of cluster `cluster`), one per
    /// cluster, leaving out its own cluster.
    pub fn neighbours(
        &self,
        rid: i64,
        cluster: u64,
        d: &Dataset,
        k: usize,
        scratch: &mut Scratch,
    ) -> Result<Vec<Found>> {
        let looked = self.look_up(d, scratch)?;
        // The postings of the features: the table's, or those `look_up` decoded.
        let own = std::mem::take(&mut scratch.own);
        let postings: &[(DocId, f32)] = match &self.df_table {
            Some(table) => &table.postings,
            None => &own,
        };
        // (score, record id, its cluster, segment, doc)
        let mut ranked: Vec<(f32, u64, u64, usize, DocId)> = Vec::new();
        // Per segment, where each looked-up feature's (document, contribution) list lies in
        // `scratch.contributions`: the reasons of the few documents listed in the end are read
        // from them. One buffer reused from record to record: a vector per feature per
        // segment cost PubMed's `similar --all` 6% (3.62 against 3.40 s, alternated).
        let mut by_segment: Vec<Vec<(usize, usize)>> = Vec::with_capacity(self.segments.len());
        scratch.contributions.clear();
        // Enough per segment to survive collapsing by cluster and leaving out the record.
        let keep = k * 3 + 8;
        for (seg_ord, seg) in self.segments.iter().enumerate() {
            // Only the scores touched last time are reset: clearing a score per document of
            // every segment for every record made the all-records job quadratic (4 MB of
            // zeroes per record at 1M records).
            if scratch.scores.len() < seg.max_doc as usize {
                scratch.scores.resize(seg.max_doc as usize, 0.0);
            }
            for &doc in &scratch.touched {
                scratch.scores[doc as usize] = 0.0;
            }
            scratch.touched.clear();
            let mut contributions: Vec<(usize, usize)> = Vec::with_capacity(looked.len());
            for l in &looked {
                let start = scratch.contributions.len();
                if let Some(Some((from, to))) = l.decoded.get(seg_ord) {
                    scratch.add_all(&postings[*from..*to], l.weight * l.idf);
                }
                contributions.push((start, scratch.contributions.len()));
            }
            let order =
                |a: &(f32, DocId), b: &(f32, DocId)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
            // Only the best few are kept. A buffer of twice that many is cut back to the best
            // `keep` whenever it fills, and a score below the last one kept then cannot enter:
            // most touched documents are passed over with one comparison (collecting them
            // all, then selecting, was 15% of the all-records job).
            let local = &mut scratch.best;
            local.clear();
            let mut floor = f32::NEG_INFINITY;
            for &doc in &scratch.touched {
                let score = scratch.scores[doc as usize];
                if score < floor || seg.alive.as_ref().is_some_and(|a| !a.is_alive(doc)) {
                    continue;
                }
                local.push((score, doc));
                if local.len() == 2 * keep {
                    local.select_nth_unstable_by(keep - 1, order);
                    local.truncate(keep);
                    floor = local[keep - 1].0;
                }
            }
            if local.len() > keep {
                local.select_nth_unstable_by(keep - 1, order);
                local.truncate(keep);
            }
            local.sort_by(order);
            for &(score, doc) in local.iter() {
                let Some((other, other_cluster)) = seg.ids_of(doc) else {
                    continue;
                };
                if other == rid as u64 || other_cluster == cluster {
                    continue;
                }
                ranked.push((score, other, other_cluster, seg_ord, doc));
            }
            by_segment.push(contributions);
        }
        // Ties go to the smaller record id: the same order whatever the index's segments.
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut phrases = Phrases { d, pairs: None };
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for (score, other, other_cluster, seg_ord, doc) in ranked {
            if !seen.insert(other_cluster) {
                continue;
            }
            let shared: Vec<(usize, f32)> = by_segment[seg_ord]
                .iter()
                .enumerate()
                .filter_map(|(i, &(start, end))| {
                    let list = &scratch.contributions[start..end];
                    let p = list.binary_search_by_key(&doc, |(d, _)| *d).ok()?;
                    Some((i, list[p].1))
                })
                .collect();
            let (reasons, related) = shared_reasons(&looked, &shared, &mut phrases);
            out.push(Found {
                rid: other as i64,
                score,
                reasons,
                related,
            });
            if out.len() == k {
                break;
            }
        }
        scratch.own = own;
        Ok(out)
    }
}

impl Scratch {
    /// Adds every decoded posting (document, saturation) of a feature of weight `weight` to
    /// the documents' scores, and keeps each contribution for the reasons. The buffers are borrowed apart, so the loop keeps them in registers
    /// instead of reading them again through `self` after every push (measured, alternated:
    /// CPU of the all-records job -2.5% to -6% on PubMed, -3% at 1M records).
    #[inline]
    fn add_all(&mut self, postings: &[(DocId, f32)], weight: f32) {
        let Scratch {
            scores,
            touched,
            contributions,
            ..
        } = self;
        let scores = &mut scores[..];
        contributions.reserve(postings.len());
        for &(doc, sat) in postings {
            let w = weight * sat;
            let s = &mut scores[doc as usize];
            if *s == 0.0 {
                touched.push(doc);
            }
            *s += w;
            contributions.push((doc, w));
        }
    }
}

/// The key of a feature in [`Computer`]'s document-frequency table.
fn token_hash(token: &[u8]) -> u64 {
    use std::hash::Hasher;
    let mut h = rustc_hash::FxHasher::default();
    h.write(token);
    h.finish()
}

/// The key of a word (a term of the text fields) in [`Computer`]'s document-frequency table.
fn word_key(stem: &[u8]) -> u64 {
    use std::hash::Hasher;
    let mut h = rustc_hash::FxHasher::default();
    h.write(b"w:");
    h.write(stem);
    h.finish()
}

/// The word pairs of a record's text ("stem cell"), read only when its reasons show two
/// shared words: two shared words side by side in the record's text are shown as the phrase
/// they make. (Pairs are not features: measured, they did not make the lists better.)
struct Phrases<'a> {
    d: &'a Dataset,
    pairs: Option<HashSet<u64>>,
}

impl Phrases<'_> {
    fn contains(&mut self, first: &str, second: &str) -> bool {
        let d = self.d;
        let pairs = self.pairs.get_or_insert_with(|| {
            let mut pairs = HashSet::new();
            let texts = [&d.title, &d.description]
                .into_iter()
                .chain(&d.data_protocols)
                .chain(&d.sample_protocols);
            for text in texts {
                word_pairs(text, &mut pairs);
            }
            pairs
        });
        pairs.contains(&pair_key(
            token_hash(first.as_bytes()),
            token_hash(second.as_bytes()),
        ))
    }
}

/// The key of the word pair (first, second) from the words' hashes: keys, not strings, so
/// that reading a record's pairs allocates nothing per word.
fn pair_key(first: u64, second: u64) -> u64 {
    first.rotate_left(23) ^ second.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Adds the keys of the pairs of adjacent feature words of `text` (see [`feature_words`]).
fn word_pairs(text: &str, out: &mut HashSet<u64>) {
    let mut prev: Option<u64> = None;
    feature_words(text, |w| match w {
        Some(w) => {
            let h = token_hash(w.as_bytes());
            if let Some(p) = prev {
                out.insert(pair_key(p, h));
            }
            prev = Some(h);
        }
        None => prev = None,
    });
}

/// Reasons from the shared features (by index into `looked`, with their contributions).
fn shared_reasons(
    looked: &[Looked],
    shared: &[(usize, f32)],
    phrases: &mut Phrases<'_>,
) -> (Vec<String>, bool) {
    let mut by_kind: BTreeMap<Kind, Vec<(f32, &str)>> = BTreeMap::new();
    for &(i, w) in shared {
        let l = &looked[i];
        if let Some((kind, value)) = Kind::of(&l.token) {
            by_kind.entry(kind).or_default().push((w, value));
        }
    }
    for v in by_kind.values_mut() {
        v.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    }
    let mut reasons = Vec::new();
    if let Some(pubs) = by_kind.get(&Kind::Publication) {
        for (_, p) in pubs {
            let shown = if let Some(n) = p.strip_prefix("pmid:") {
                format!("PMID {n}")
            } else if let Some(doi) = p.strip_prefix("doi:") {
                format!("doi {doi}")
            } else {
                p.strip_prefix("pmc:").unwrap_or(p).to_string()
            };
            reasons.push(format!("same publication: {shown}"));
        }
    }
    if let Some(trials) = by_kind.get(&Kind::Trial) {
        for (_, t) in trials {
            reasons.push(format!("same trial: {t}"));
        }
    }
    let related = by_kind.contains_key(&Kind::Accession);
    // Named things first (curated or recognised terms), then the text's own words; a word
    // already inside a listed term is not repeated.
    let mut terms: Vec<(f32, &str)> = Vec::new();
    for kind in [
        Kind::Disease,
        Kind::CellType,
        Kind::Tissue,
        Kind::Keyword,
        Kind::Organism,
    ] {
        terms.extend(by_kind.get(&kind).into_iter().flatten().copied());
    }
    terms.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut shown: Vec<String> = terms.iter().map(|t| t.1.to_string()).take(4).collect();
    let named = shown.len();
    let mut words: Vec<(f32, &str)> = by_kind.get(&Kind::Word).cloned().unwrap_or_default();
    words.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    for (_, w) in words {
        if shown.len() >= 6 {
            break;
        }
        if shown.iter().any(|s| s.split(' ').any(|x| x == w)) {
            continue;
        }
        // A shared word beside another shown one in this record's text joins it.
        let mut joined = false;
        for s in shown[named..].iter_mut().filter(|s| !s.contains(' ')) {
            if phrases.contains(s, w) {
                *s = format!("{s} {w}");
            } else if phrases.contains(w, s) {
                *s = format!("{w} {s}");
            } else {
                continue;
            }
            joined = true;
            break;
        }
        if !joined {
            shown.push(w.to_string());
        }
    }
    if !shown.is_empty() {
        reasons.push(format!("shared terms: {}", shown.join(", ")));
    }
    if let Some(x) = by_kind.get(&Kind::Xref) {
        let ids: Vec<String> = x
            .iter()
            .take(5)
            .map(|(_, v)| match v.split_once(':') {
                Some((db, key)) if !key.to_ascii_lowercase().starts_with(db) => {
                    format!("{db}:{key}")
                }
                Some((_, key)) => key.to_string(),
                None => v.to_string(),
            })
            .collect();
        reasons.push(format!("shared identifiers: {}", ids.join(", ")));
    }
    (reasons, related)
}

/// The reasons for an explicit relation between `this` record and its neighbour `other`,
/// seen from `this` one ("reanalysis of GSE1", "cited by 123").
pub(crate) fn relation_reasons(this: &Dataset, other: &Dataset) -> Vec<String> {
    let mine = record_links(this);
    let theirs = record_links(other);
    let owns = |d: &Dataset, acc: &str| d.all_accessions().any(|a| a.eq_ignore_ascii_case(acc));
    let mut out = Vec::new();
    for acc in &mine.reanalyses {
        if owns(other, acc) {
            out.push(format!("reanalysis of {}", other.accession));
        }
    }
    for acc in &theirs.reanalyses {
        if owns(this, acc) {
            out.push(format!("reanalysed by {}", other.accession));
        }
    }
    for acc in &mine.mentions {
        if owns(other, acc) {
            out.push(format!("cites {}", other.accession));
        }
    }
    for acc in &theirs.mentions {
        if owns(this, acc) {
            out.push(format!("cited by {} {}", other.repository, other.accession));
        }
    }
    if out.is_empty() {
        let both: Vec<&String> = mine
            .mentions
            .iter()
            .chain(&mine.reanalyses)
            .filter(|a| theirs.mentions.contains(a) || theirs.reanalyses.contains(a))
            .collect();
        if let Some(a) = both.first() {
            let verb = if is_literature(&this.repository) && is_literature(&other.repository) {
                "both cite"
            } else {
                "both refer to"
            };
            out.push(format!("{verb} {a}"));
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stopword_is_found_and_no_other_word() {
        assert!(STOPWORDS.iter().all(|w| is_stopword(w)));
        assert_eq!(STOPWORDS.iter().map(|w| w.len()).max(), Some(STOPWORD_MAX));
        for w in ["marrow", "anemia", "th", "wit", "withinn", "", "The"] {
            assert!(!is_stopword(w), "{w}");
        }
    }

    #[test]
    fn the_sim_field_tokenizer_gives_the_entities_one_by_one() {
        use tantivy::tokenizer::TokenStream;
        let mut d = Dataset::new("geo", "GSE1");
        d.title = "Bone marrow of aplastic anemia patients".into();
        d.description = "Marrow cells.".into();
        d.submitter_keywords = vec!["bone marrow".into(), "odd\u{1f}name".into()];
        let text = features_text(&d);
        let mut analyzer = TextAnalyzer::from(FeatureTokenizer::default());
        let mut stream = analyzer.token_stream(&text);
        let mut tokens = Vec::new();
        while stream.advance() {
            tokens.push(stream.token().text.clone());
        }
        assert_eq!(tokens, entity_features(&d));
        // Names whole, a separator in one read as a space; the words are the text fields'.
        assert!(tokens.contains(&"k:bone marrow".to_string()), "{tokens:?}");
        assert!(tokens.contains(&"k:odd name".to_string()), "{tokens:?}");
        assert!(!tokens.iter().any(|t| t.starts_with("w:")), "{tokens:?}");
    }

    #[test]
    fn record_words_are_stems_shown_folded_without_stopwords_title_twice() {
        let mut d = Dataset::new("geo", "GSE1");
        d.title = "Mesenchymal stem-cells in <i>aplastic</i> anemia".into();
        d.description = "Stem cell therapies, 2021, of the marrow.".into();
        let words = record_words(&mut crate::index::text_analyzer(), &d);
        let got: Vec<(&str, &str, u32)> = words
            .iter()
            .map(|w| (w.stem.as_str(), w.shown.as_str(), w.tf))
            .collect();
        assert_eq!(
            got,
            [
                ("mesenchym", "mesenchymal", 2),
                ("stem", "stem", 3),
                ("cell", "cell", 3),
                ("aplast", "aplastic", 2),
                ("anemia", "anemia", 2),
                ("therapi", "therapy", 1),
                ("marrow", "marrow", 1),
            ]
        );
    }

    #[test]
    fn word_pairs_join_adjacent_feature_words_only() {
        let mut pairs = HashSet::new();
        word_pairs(
            "Mesenchymal stem-cells, in aplastic anemia of the bone marrow.",
            &mut pairs,
        );
        let has = |a: &str, b: &str| {
            pairs.contains(&pair_key(
                token_hash(a.as_bytes()),
                token_hash(b.as_bytes()),
            ))
        };
        // a comma ends a phrase; a stopword parts two words
        for (a, b) in [
            ("aplastic", "anemia"),
            ("bone", "marrow"),
            ("mesenchymal", "stem"),
            ("stem", "cell"),
        ] {
            assert!(has(a, b), "{a} {b}");
        }
        for (a, b) in [
            ("cell", "aplastic"),
            ("anemia", "bone"),
            ("stem", "mesenchymal"),
            ("marrow", "bone"),
        ] {
            assert!(!has(a, b), "{a} {b}");
        }
        assert_eq!(pairs.len(), 4);
    }

    #[test]
    fn entities_become_features() {
        let mut d = Dataset::new("pubmed", "123");
        d.add_cross_ref(
            "clinicaltrials",
            "NCT02218437",
            opendi_model::Evidence::FoundInText,
        );
        d.add_cross_ref("chebi", "CHEBI:15377", opendi_model::Evidence::Declared);
        let f = entity_features(&d);
        assert!(f.contains(&"trial:NCT02218437".to_string()), "{f:?}");
        assert!(f.contains(&"pub:pmid:123".to_string()), "{f:?}");
        assert!(f.contains(&"x:chebi:CHEBI:15377".to_string()), "{f:?}");
    }
}
