//! What `opendi gen` learns from real corpora before it writes anything: how often each word is
//! used, how long titles and descriptions are, and how often each vocabulary concept (disease,
//! tissue, cell type, organism) is mentioned. Only counts are kept, never a sentence: generated
//! text is words drawn one by one from these frequencies, so it has the corpora's term
//! statistics (Zipf's law included) without repeating what they say.

use super::alias::Alias;
use opendi_ingest::source::{self, ReadOptions};
use opendi_model::Item;
use opendi_vocab::{Annotator, Kind, VocabConfig, Vocabulary};
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::time::Instant;

/// The corpus folders read for statistics (whichever exist), relative to the corpora root.
const SOURCES: &[&str] = &[
    "pubmed/pubmed20n0014.xml.gz",
    "omicsdi-xml",
    "geo",
    "arrayexpress",
];

/// Words seen fewer times than this are not drawn by name: their share of all tokens goes to
/// a synthetic long tail, so the vocabulary keeps growing with the corpus (Heaps' law) the way
/// real text does, instead of stopping at the words of one sample.
const MIN_COUNT: u32 = 3;

/// A pool of labels drawn with learned weights.
pub struct Pool<T> {
    pub items: Vec<T>,
    alias: Alias,
}

impl<T> Pool<T> {
    fn new(weighted: Vec<(T, f64)>) -> Option<Pool<T>> {
        if weighted.is_empty() {
            return None;
        }
        let alias = Alias::new(&weighted.iter().map(|(_, w)| *w).collect::<Vec<_>>());
        Some(Pool {
            items: weighted.into_iter().map(|(t, _)| t).collect(),
            alias,
        })
    }

    pub fn draw(&self, rng: &mut impl rand::Rng) -> &T {
        &self.items[self.alias.sample(rng)]
    }
}

/// The learned statistics.
pub struct Learned {
    pub words: Pool<String>,
    /// Share of tokens that belong to the long tail (words seen fewer than [`MIN_COUNT`] times).
    pub tail_share: f64,
    pub title_words: Vec<u16>,
    pub dataset_description_words: Vec<u16>,
    pub abstract_words: Vec<u16>,
    pub diseases: Option<Pool<String>>,
    pub tissues: Option<Pool<String>>,
    pub cell_types: Option<Pool<String>>,
    /// (NCBI taxon id, scientific name)
    pub organisms: Option<Pool<(String, String)>>,
    pub summary: String,
}

/// Lower-cased word tokens (acronyms keep their case), as generated text will use them.
pub fn tokens(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '\''))
        .map(|t| t.trim_matches(|c| c == '-' || c == '\''))
        .filter(|t| !t.is_empty() && t.len() <= 40 && t.chars().any(char::is_alphabetic))
        .map(|t| {
            let acronym = t.len() > 1 && t.chars().all(|c| !c.is_lowercase());
            if acronym {
                t.to_string()
            } else {
                t.to_lowercase()
            }
        })
}

/// Reads the corpora under `root` and learns; None when none of [`SOURCES`] is there.
pub fn learn(root: &Path, vocab_dir: Option<&Path>) -> Option<Learned> {
    let started = Instant::now();
    let args: Vec<String> = SOURCES
        .iter()
        .map(|s| root.join(s))
        .filter(|p| p.exists())
        .map(|p| p.display().to_string())
        .collect();
    if args.is_empty() {
        return None;
    }
    let inputs = source::expand(&args).ok()?;
    let opts = ReadOptions {
        format: None,
        today: crate::ingest_cmd::today(),
    };
    let vocab = Vocabulary::load(&match vocab_dir {
        Some(d) => VocabConfig::dir(d),
        None => VocabConfig::dir(root.join("vocab")),
    });
    let annotator = Annotator::new(&vocab);
    let mut counts: HashMap<String, u32> = HashMap::new();
    let mut mentions: HashMap<String, u32> = HashMap::new();
    let (mut titles, mut descriptions, mut abstracts) = (Vec::new(), Vec::new(), Vec::new());
    let mut records = 0usize;
    let progress = AtomicU64::new(0);
    for input in &inputs {
        source::read(input, &opts, &progress, &mut |item| {
            let Item::Record(r) = item else { return };
            let d = &r.dataset;
            records += 1;
            let text = opendi_engine::text::strip_tags(&d.description);
            let mut n = 0;
            for t in tokens(&d.title) {
                *counts.entry(t).or_default() += 1;
                n += 1;
            }
            titles.push(n.min(u16::MAX as usize) as u16);
            let mut n = 0;
            for t in tokens(&text) {
                *counts.entry(t).or_default() += 1;
                n += 1;
            }
            if n > 0 {
                let lengths = if r.publication.is_some() {
                    &mut abstracts
                } else {
                    &mut descriptions
                };
                lengths.push(n.min(u16::MAX as usize) as u16);
            }
            for f in annotator.annotate(&format!("{}. {text}", d.title)) {
                *mentions.entry(f.id).or_default() += 1;
            }
        });
    }
    let total: u64 = counts.values().map(|&c| c as u64).sum();
    let mut kept: Vec<(String, u32)> = counts
        .into_iter()
        .filter(|(_, c)| *c >= MIN_COUNT)
        .collect();
    // Deterministic order whatever the hash map did.
    kept.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let kept_total: u64 = kept.iter().map(|(_, c)| *c as u64).sum();
    let tail_share = if total == 0 {
        0.0
    } else {
        1.0 - kept_total as f64 / total as f64
    };
    let vocabulary_size = kept.len();
    let words = Pool::new(kept.into_iter().map(|(w, c)| (w, c as f64)).collect())?;
    // A concept mentioned in the corpora is drawn in proportion to its mentions; one never
    // mentioned still comes up now and then, so large corpora use the whole vocabulary.
    let pool = |kind: Kind| {
        let mut v: Vec<(String, f64)> = vocab
            .concepts
            .iter()
            .filter(|c| c.kind == kind)
            .map(|c| {
                let seen = mentions.get(&c.id).copied().unwrap_or(0) as f64;
                (c.label.clone(), 1.0 + 200.0 * seen)
            })
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v.dedup_by(|a, b| a.0 == b.0);
        Pool::new(v)
    };
    let organisms = {
        let mut v: Vec<((String, String), f64)> = vocab
            .concepts
            .iter()
            .filter(|c| c.kind == Kind::Organism)
            .filter_map(|c| {
                let seen = mentions.get(&c.id).copied().unwrap_or(0) as f64;
                Some((
                    (c.taxon_id()?.to_string(), c.label.clone()),
                    1.0 + 200.0 * seen,
                ))
            })
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        Pool::new(v)
    };
    let summary = format!(
        "learned from {records} real records in {:.1} s: {vocabulary_size} words (tail {:.1}% of tokens), {} concepts, {} mentioned",
        started.elapsed().as_secs_f64(),
        tail_share * 100.0,
        vocab.concepts.len(),
        mentions.len()
    );
    Some(Learned {
        words,
        tail_share,
        title_words: titles,
        dataset_description_words: descriptions,
        abstract_words: abstracts,
        diseases: pool(Kind::Disease),
        tissues: pool(Kind::Tissue),
        cell_types: pool(Kind::CellType),
        organisms,
        summary,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_lowercase_words_and_keep_acronyms() {
        let t: Vec<String> = tokens("RNA-seq of T-cells (n=12) in Mice's liver; 3'UTR").collect();
        assert_eq!(
            t,
            ["rna-seq", "of", "t-cells", "n", "in", "mice's", "liver", "3'UTR"]
        );
        let t: Vec<String> = tokens("DNA and HIV-1 -- 42").collect();
        assert_eq!(t, ["DNA", "and", "HIV-1"]);
    }
}
