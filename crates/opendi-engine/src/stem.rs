//! The English stemmer of the text fields, remembering the stems it computed.
//!
//! tantivy's `en_stem` analyzer runs the Snowball algorithm on every token: 9% of a PubMed
//! ingest's CPU. Text repeats its words (a Zipf vocabulary), so [`MemoStemmer`] keeps the
//! stems of the words it has seen and gives exactly the same tokens. Each analyzer clone (one
//! per indexing thread and segment, one per query) has its own memo: no locks.

use rustc_hash::FxHashMap;
use tantivy::tokenizer::{Token, TokenFilter, TokenStream, Tokenizer};

/// Words remembered per analyzer; past this the memo starts again (a bounded memory of a
/// few megabytes).
const MEMO_WORDS: usize = 100_000;

/// A token filter giving the stems of tantivy's `Stemmer::new(Language::English)`.
#[derive(Clone, Copy, Default)]
pub struct MemoStemmer;

impl TokenFilter for MemoStemmer {
    type Tokenizer<T: Tokenizer> = MemoStemmerFilter<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> MemoStemmerFilter<T> {
        MemoStemmerFilter {
            inner: tokenizer,
            memo: Memo::default(),
        }
    }
}

pub struct MemoStemmerFilter<T> {
    inner: T,
    memo: Memo,
}

/// A clone starts with an empty memo: analyzers are cloned for every query parsed.
impl<T: Clone> Clone for MemoStemmerFilter<T> {
    fn clone(&self) -> Self {
        MemoStemmerFilter {
            inner: self.inner.clone(),
            memo: Memo::default(),
        }
    }
}

struct Memo {
    stemmer: frostem::Stemmer,
    stems: FxHashMap<Box<str>, Box<str>>,
}

impl Default for Memo {
    fn default() -> Self {
        Memo {
            stemmer: frostem::Stemmer::new(frostem::Algorithm::English),
            stems: FxHashMap::default(),
        }
    }
}

impl<T: Tokenizer> Tokenizer for MemoStemmerFilter<T> {
    type TokenStream<'a> = MemoStemmerStream<'a, T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        MemoStemmerStream {
            tail: self.inner.token_stream(text),
            memo: &mut self.memo,
        }
    }
}

pub struct MemoStemmerStream<'a, T> {
    tail: T,
    memo: &'a mut Memo,
}

impl<T: TokenStream> TokenStream for MemoStemmerStream<'_, T> {
    fn advance(&mut self) -> bool {
        if !self.tail.advance() {
            return false;
        }
        let text = &mut self.tail.token_mut().text;
        if let Some(stem) = self.memo.stems.get(text.as_str()) {
            text.clear();
            text.push_str(stem);
            return true;
        }
        let stem: Box<str> = self.memo.stemmer.stem(text).into();
        if self.memo.stems.len() >= MEMO_WORDS {
            self.memo.stems.clear();
        }
        let word = std::mem::replace(text, stem.to_string()).into_boxed_str();
        self.memo.stems.insert(word, stem);
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
        // Twice over: the second pass reads every stem from the memo.
        for text in texts.iter().chain(texts.iter()) {
            assert_eq!(tokens(&mut ours, text), tokens(&mut theirs, text), "{text}");
        }
    }

    #[test]
    fn a_full_memo_starts_again() {
        let mut ours = TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(MemoStemmer)
            .build();
        let mut theirs = TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(Stemmer::new(Language::English))
            .build();
        let text: String = (0..MEMO_WORDS + 10)
            .map(|i| format!("running{i} "))
            .chain(["running1 running "].map(String::from))
            .collect();
        let got = tokens(&mut ours, &text);
        assert_eq!(got.len(), MEMO_WORDS + 12);
        assert_eq!(got, tokens(&mut theirs, &text));
    }
}
