//! BM25 statistics remembered per searcher generation.
//!
//! tantivy computes a query's BM25 weights from the document frequency of each term and the
//! token count of each field, summed over every segment, at every search. A search of the
//! portal expands to dozens of (field, term) pairs, so that was 11% of the search API's CPU.
//! The figures only change when a new searcher (a commit or merge) is opened: they are kept
//! here until the searcher generation changes.

use std::collections::HashMap;
use std::sync::Mutex;

use tantivy::query::Bm25StatisticsProvider;
use tantivy::schema::Field;
use tantivy::{Searcher, Term};

/// Terms remembered per generation; past it the map starts again (a bound on memory for
/// servers answering arbitrary words).
const MAX_TERMS: usize = 200_000;

#[derive(Default)]
pub(crate) struct StatsCache {
    current: Mutex<Generation>,
}

#[derive(Default)]
struct Generation {
    id: Option<u64>,
    docs: Option<u64>,
    tokens: HashMap<Field, u64>,
    doc_freq: HashMap<Term, u64>,
}

impl StatsCache {
    /// The statistics of `searcher`, read through this cache.
    pub(crate) fn of<'a>(&'a self, searcher: &'a Searcher) -> CachedStats<'a> {
        CachedStats {
            cache: self,
            searcher,
        }
    }

    /// Runs `f` on the figures of `searcher`'s generation, starting them afresh when the
    /// generation changed.
    fn with<T>(&self, searcher: &Searcher, f: impl FnOnce(&mut Generation) -> T) -> T {
        let mut g = self.current.lock().unwrap_or_else(|e| e.into_inner());
        let id = searcher.generation().generation_id();
        if g.id != Some(id) {
            *g = Generation {
                id: Some(id),
                ..Default::default()
            };
        }
        f(&mut g)
    }
}

pub(crate) struct CachedStats<'a> {
    cache: &'a StatsCache,
    searcher: &'a Searcher,
}

impl Bm25StatisticsProvider for CachedStats<'_> {
    fn total_num_tokens(&self, field: Field) -> tantivy::Result<u64> {
        if let Some(n) = self
            .cache
            .with(self.searcher, |g| g.tokens.get(&field).copied())
        {
            return Ok(n);
        }
        let n = Bm25StatisticsProvider::total_num_tokens(self.searcher, field)?;
        self.cache
            .with(self.searcher, |g| g.tokens.insert(field, n));
        Ok(n)
    }

    fn total_num_docs(&self) -> tantivy::Result<u64> {
        if let Some(n) = self.cache.with(self.searcher, |g| g.docs) {
            return Ok(n);
        }
        let n = Bm25StatisticsProvider::total_num_docs(self.searcher)?;
        self.cache.with(self.searcher, |g| g.docs = Some(n));
        Ok(n)
    }

    fn doc_freq(&self, term: &Term) -> tantivy::Result<u64> {
        if let Some(n) = self
            .cache
            .with(self.searcher, |g| g.doc_freq.get(term).copied())
        {
            return Ok(n);
        }
        let n = self.searcher.doc_freq(term)?;
        self.cache.with(self.searcher, |g| {
            if g.doc_freq.len() >= MAX_TERMS {
                g.doc_freq.clear();
            }
            g.doc_freq.insert(term.clone(), n)
        });
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::schema::{Schema, TEXT};
    use tantivy::{doc, Index};

    #[test]
    fn figures_follow_the_searcher_generation() {
        let mut b = Schema::builder();
        let body = b.add_text_field("body", TEXT);
        let index = Index::create_in_ram(b.build());
        let mut w = index.writer_with_num_threads(1, 15_000_000).unwrap();
        w.add_document(doc!(body => "aplastic anemia in children"))
            .unwrap();
        w.commit().unwrap();
        let reader = index.reader().unwrap();
        let cache = StatsCache::default();
        let term = Term::from_field_text(body, "anemia");

        let first = reader.searcher();
        let stats = cache.of(&first);
        assert_eq!(stats.doc_freq(&term).unwrap(), 1);
        assert_eq!(stats.total_num_docs().unwrap(), 1);
        assert_eq!(stats.total_num_tokens(body).unwrap(), 4);

        w.add_document(doc!(body => "anemia")).unwrap();
        w.commit().unwrap();
        reader.reload().unwrap();
        let second = reader.searcher();
        let stats = cache.of(&second);
        assert_eq!(stats.doc_freq(&term).unwrap(), 2);
        assert_eq!(stats.total_num_docs().unwrap(), 2);
        assert_eq!(stats.total_num_tokens(body).unwrap(), 5);
        // The old searcher still gets its own figures.
        assert_eq!(cache.of(&first).doc_freq(&term).unwrap(), 1);
    }
}
