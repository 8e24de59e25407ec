//! The English stemmer of the text fields, remembering the stems of frequent words.
//!
//! tantivy's `en_stem` analyzer runs the Snowball algorithm on every token: 9% of a PubMed
//! ingest's CPU. Text repeats its words (a Zipf vocabulary), so [`MemoStemmer`] keeps the
//! stems of recent words in a direct-mapped table of inline bytes and gives exactly the same
//! tokens. A first version with a hash map of every word was slower than stemming on
//! generated records: its look-ups missed the cache.
//!
//! There is one table per thread, shared by every field and segment that thread indexes, and
//! each slot is one cache line. A second version had a table per analyzer clone (tantivy
//! clones one per text field per segment): eleven cold 754 KB tables per indexing thread, and
//! the load of a slot was 68% of the look-up's samples (6.5% of an ingest's CPU). A thread
//! allocates its table only after its first [`WARM`] tokens: a query never pays for it.

use std::cell::RefCell;

use tantivy::tokenizer::{Token, TokenFilter, TokenStream, Tokenizer};

/// Slots of the table (a power of two): 1 MB a thread.
const SLOTS: usize = 16384;
/// The longest word (and stem) kept, in bytes; longer words are stemmed every time.
const WORD: usize = 30;
/// Tokens a thread stems before it allocates its table.
const WARM: u32 = 1024;

/// A token filter giving the stems of tantivy's `Stemmer::new(Language::English)`.
#[derive(Clone, Copy, Default)]
pub struct MemoStemmer;

impl TokenFilter for MemoStemmer {
    type Tokenizer<T: Tokenizer> = MemoStemmerFilter<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> MemoStemmerFilter<T> {
        MemoStemmerFilter { inner: tokenizer }
    }
}

#[derive(Clone)]
pub struct MemoStemmerFilter<T> {
    inner: T,
}

/// A word and its stem, in one cache line.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Slot {
    word_len: u8,
    stem_len: u8,
    word: [u8; WORD],
    stem: [u8; WORD],
}

const EMPTY: Slot = Slot {
    word_len: u8::MAX,
    stem_len: 0,
    word: [0; WORD],
    stem: [0; WORD],
};

struct Memo {
    stemmer: frostem::Stemmer,
    seen: u32,
    slots: Option<Box<[Slot]>>,
}

impl Default for Memo {
    fn default() -> Self {
        Memo {
            stemmer: frostem::Stemmer::new(frostem::Algorithm::English),
            seen: 0,
            slots: None,
        }
    }
}

thread_local! {
    static MEMO: RefCell<Memo> = RefCell::new(Memo::default());
}

fn slot_of(word: &[u8]) -> usize {
    use std::hash::Hasher;
    let mut h = rustc_hash::FxHasher::default();
    h.write(word);
    // The high bits of Fx's product are the well-mixed ones.
    (h.finish() >> 40) as usize & (SLOTS - 1)
}

impl Memo {
    /// Replaces `text` by its stem.
    fn stem(&mut self, text: &mut String) {
        let word = text.as_bytes();
        if word.len() <= WORD {
            if let Some(slots) = &mut self.slots {
                let slot = &mut slots[slot_of(word)];
                if usize::from(slot.word_len) == word.len() && slot.word[..word.len()] == *word {
                    if let Ok(stem) = std::str::from_utf8(&slot.stem[..usize::from(slot.stem_len)])
                    {
                        text.clear();
                        text.push_str(stem);
                        return;
                    }
                }
                let stem = self.stemmer.stem(text);
                if stem.len() <= WORD {
                    slot.word_len = word.len() as u8;
                    slot.word[..word.len()].copy_from_slice(word);
                    slot.stem_len = stem.len() as u8;
                    slot.stem[..stem.len()].copy_from_slice(stem.as_bytes());
                }
                let stem = stem.into_owned();
                *text = stem;
                return;
            }
            self.seen += 1;
            if self.seen >= WARM {
                self.slots = Some(vec![EMPTY; SLOTS].into_boxed_slice());
            }
        }
        let stem = self.stemmer.stem(text).into_owned();
        *text = stem;
    }
}

impl<T: Tokenizer> Tokenizer for MemoStemmerFilter<T> {
    type TokenStream<'a> = MemoStemmerStream<T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        MemoStemmerStream {
            tail: self.inner.token_stream(text),
        }
    }
}

pub struct MemoStemmerStream<T> {
    tail: T,
}

impl<T: TokenStream> TokenStream for MemoStemmerStream<T> {
    fn advance(&mut self) -> bool {
        if !self.tail.advance() {
            return false;
        }
        let text = &mut self.tail.token_mut().text;
        MEMO.with(|m| m.borrow_mut().stem(text));
        true
    }

    fn token(&self) -> &Token {
        self.tail.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::tokenizer::{
        Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, TextAnalyzer,
    };

    fn tokens(analyzer: &mut TextAnalyzer, text: &str) -> Vec<(String, usize, usize, usize)> {
        let mut out = Vec::new();
        let mut stream = analyzer.token_stream(text);
        while stream.advance() {
            let t = stream.token();
            out.push((t.text.clone(), t.offset_from, t.offset_to, t.position));
        }
        out
    }

    #[test]
    fn gives_the_tokens_of_tantivys_english_stemmer() {
        let mut theirs = TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(RemoveLongFilter::limit(40))
            .filter(LowerCaser)
            .filter(Stemmer::new(Language::English))
            .build();
        let mut ours = TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(RemoveLongFilter::limit(40))
            .filter(LowerCaser)
            .filter(MemoStemmer)
            .build();
        let texts = [
            "Mesenchymal stem cells transplanted into children with aplastic anemia",
            "The cells were transplanted; STEM cells, stemming, stems. Naïve T-cells générés",
            "running runs ran runner’s generalizations generalization generously 1990s CD34+",
            "",
        ];
        // Over and over: past the first [`WARM`] tokens, stems come from the table.
        for text in texts.iter().cycle().take(texts.len() * 200) {
            assert_eq!(tokens(&mut ours, text), tokens(&mut theirs, text), "{text}");
        }
    }

    #[test]
    fn slots_taken_over_by_other_words_still_give_their_stems() {
        let mut ours = TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(MemoStemmer)
            .build();
        let mut theirs = TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(Stemmer::new(Language::English))
            .build();
        // More distinct words than slots, then again, plus words too long for a slot.
        let mut text: String = (0..SLOTS * 3).map(|i| format!("running{i}s ")).collect();
        text.push_str(&text.clone());
        text.push_str(
            "internationalizations internationalization running runs pseudopseudohypoparathyroidisms",
        );
        let got = tokens(&mut ours, &text);
        assert_eq!(got.len(), SLOTS * 6 + 5);
        assert_eq!(got, tokens(&mut theirs, &text));
    }
}
