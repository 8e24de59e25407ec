//! Results of recent searches, kept until the index changes.
//!
//! A portal's searches repeat: the home page's links, the first page of popular terms, the
//! facet a user clicks again after going back. Over a million records a broad search with
//! facets walks hundreds of thousands of matches (around 10 ms of CPU); the same search
//! answered from here costs a hash lookup. Solr's query result cache and Elasticsearch's
//! request cache do the same. Entries belong to one searcher generation: a commit or merge
//! opens a new searcher, and the first lookup of the new generation drops everything.
//!
//! Eviction is by two generations of maps rather than exact LRU: entries go into `hot`;
//! when `hot` is full it becomes `cold` (the previous `cold` is dropped), and a hit in
//! `cold` moves the entry back into `hot`. Recently used entries survive, and the cost per
//! lookup stays one or two hash probes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::index::{SearchRequest, SearchResult};

#[derive(Default)]
pub(crate) struct ResultCache {
    inner: Mutex<Maps>,
}

#[derive(Default)]
struct Maps {
    /// Entries per map; 0 keeps nothing.
    half: usize,
    generation: Option<u64>,
    hot: HashMap<SearchRequest, Arc<SearchResult>>,
    cold: HashMap<SearchRequest, Arc<SearchResult>>,
}

impl Maps {
    /// Forgets everything when the generation changed.
    fn at(&mut self, generation: u64) {
        if self.generation != Some(generation) {
            self.generation = Some(generation);
            self.hot.clear();
            self.cold.clear();
        }
    }
}

impl ResultCache {
    /// Keeps about `entries` results (0: none, and drops those kept).
    pub(crate) fn set_capacity(&self, entries: usize) {
        let mut m = self.lock();
        m.half = entries.div_ceil(2);
        m.hot.clear();
        m.cold.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Maps> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn get(&self, generation: u64, req: &SearchRequest) -> Option<Arc<SearchResult>> {
        let mut m = self.lock();
        if m.half == 0 {
            return None;
        }
        m.at(generation);
        if let Some(r) = m.hot.get(req) {
            return Some(r.clone());
        }
        let r = m.cold.remove(req)?;
        m.insert(req.clone(), r.clone());
        Some(r)
    }

    pub(crate) fn put(&self, generation: u64, req: &SearchRequest, res: Arc<SearchResult>) {
        let mut m = self.lock();
        if m.half == 0 {
            return;
        }
        m.at(generation);
        m.insert(req.clone(), res);
    }
}

impl Maps {
    fn insert(&mut self, req: SearchRequest, res: Arc<SearchResult>) {
        if self.hot.len() >= self.half {
            self.cold = std::mem::take(&mut self.hot);
        }
        self.hot.insert(req, res);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(q: &str) -> SearchRequest {
        SearchRequest {
            query: q.into(),
            limit: 10,
            ..Default::default()
        }
    }

    fn result(count: u64) -> Arc<SearchResult> {
        Arc::new(SearchResult {
            count,
            hits: Vec::new(),
            facets: Default::default(),
            warnings: Vec::new(),
            also_searched_for: Vec::new(),
        })
    }

    #[test]
    fn keeps_recent_results_of_one_generation() {
        let c = ResultCache::default();
        c.put(1, &req("anemia"), result(3));
        assert!(
            c.get(1, &req("anemia")).is_none(),
            "off until given a capacity"
        );

        c.set_capacity(4);
        c.put(1, &req("anemia"), result(3));
        assert_eq!(c.get(1, &req("anemia")).unwrap().count, 3);
        // Another page or another filter is another search.
        let mut page2 = req("anemia");
        page2.offset = 10;
        assert!(c.get(1, &page2).is_none());
        // A new generation (a commit) forgets it.
        assert!(c.get(2, &req("anemia")).is_none());
        assert!(c.get(1, &req("anemia")).is_none());

        // The recently used survive; the rest go.
        for (i, q) in ["a", "b", "c", "d", "e"].iter().enumerate() {
            c.put(2, &req(q), result(i as u64));
            assert!(c.get(2, &req("a")).is_some(), "used after each insert: {q}");
        }
        assert!(c.get(2, &req("b")).is_none());
        assert_eq!(c.get(2, &req("e")).unwrap().count, 4);

        c.set_capacity(0);
        assert!(c.get(2, &req("e")).is_none());
    }
}
