//! A query for `NOT` clauses whose scorer tantivy's exclusion can always probe.
//!
//! tantivy's `Exclude` asks its exclusion set `seek_danger(doc)` for every
//! candidate. A phrase scorer whose phrase never occurs in a segment starts out
//! terminated, and its `seek_danger` asserts that the target is not behind it,
//! so `leukemia -"marrow leukemia"` panicked (in debug builds; release builds
//! skip the assertion). [`Excluded`] wraps such a scorer and answers
//! `seek_danger` the safe way: a target at or behind the current document is
//! answered from `doc()`, anything further is a plain `seek`.

use tantivy::query::{
    AllScorer, EmptyScorer, EnableScoring, Explanation, Query, Scorer, TermQuery, Weight,
};
use tantivy::{DocId, DocSet, Score, SeekDangerResult, SegmentReader, Term, TERMINATED};

/// The clause of a `NOT`: matches what its query matches.
#[derive(Debug)]
pub struct Excluded(pub Box<dyn Query>);

impl Clone for Excluded {
    fn clone(&self) -> Self {
        Excluded(self.0.box_clone())
    }
}

impl Query for Excluded {
    fn weight(&self, enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let inner = self.0.weight(enable_scoring)?;
        // A term's scorer seeks safely, and tantivy's exclusion has a shortcut
        // for it: it goes through as it is.
        if self.0.is::<TermQuery>() {
            return Ok(inner);
        }
        Ok(Box::new(ExcludedWeight(inner)))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        self.0.query_terms(visitor)
    }
}

struct ExcludedWeight(Box<dyn Weight>);

impl Weight for ExcludedWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let inner = self.0.scorer(reader, boost)?;
        // tantivy recognises these in an exclusion (and their seeks are safe).
        if inner.is::<AllScorer>() || inner.is::<EmptyScorer>() {
            return Ok(inner);
        }
        Ok(Box::new(SafeSeek(inner)))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        self.0.explain(reader, doc)
    }
}

struct SafeSeek(Box<dyn Scorer>);

impl DocSet for SafeSeek {
    fn advance(&mut self) -> DocId {
        self.0.advance()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        let doc = self.0.doc();
        if doc >= target {
            return doc;
        }
        self.0.seek(target)
    }

    // The trait's default: never leaves the scorer in the "invalid" state.
    fn seek_danger(&mut self, target: DocId) -> SeekDangerResult {
        if target >= TERMINATED {
            return SeekDangerResult::SeekLowerBound(TERMINATED);
        }
        let doc = self.seek(target);
        if doc == target {
            SeekDangerResult::Found
        } else {
            SeekDangerResult::SeekLowerBound(doc)
        }
    }

    fn doc(&self) -> DocId {
        self.0.doc()
    }

    fn size_hint(&self) -> u32 {
        self.0.size_hint()
    }

    fn cost(&self) -> u64 {
        self.0.cost()
    }
}

impl Scorer for SafeSeek {
    fn score(&mut self) -> Score {
        self.0.score()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::collector::Count;
    use tantivy::query::{BooleanQuery, Occur, PhraseQuery, TermQuery};
    use tantivy::schema::{IndexRecordOption, Schema, TEXT};
    use tantivy::{doc, Index};

    #[test]
    fn a_phrase_that_never_occurs_excludes_nothing() {
        let mut schema = Schema::builder();
        let body = schema.add_text_field("body", TEXT);
        let index = Index::create_in_ram(schema.build());
        let mut w: tantivy::IndexWriter = index.writer(15_000_000).unwrap();
        w.add_document(doc!(body => "leukemia in bone marrow"))
            .unwrap();
        w.add_document(doc!(body => "marrow and leukemia")).unwrap();
        w.add_document(doc!(body => "liver")).unwrap();
        w.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        let term = |t: &str| Term::from_field_text(body, t);
        let leukemia = || -> Box<dyn Query> {
            Box::new(TermQuery::new(term("leukemia"), IndexRecordOption::Basic))
        };
        let count = |not: Box<dyn Query>| {
            let q = BooleanQuery::new(vec![
                (Occur::Must, leukemia()),
                (Occur::MustNot, Box::new(Excluded(not))),
            ]);
            searcher.search(&q, &Count).unwrap()
        };
        // Both words occur, never as this phrase: nothing is excluded.
        let absent = PhraseQuery::new(vec![term("leukemia"), term("bone")]);
        assert_eq!(count(Box::new(absent)), 2);
        // A phrase that occurs excludes its record.
        let present = PhraseQuery::new(vec![term("bone"), term("marrow")]);
        assert_eq!(count(Box::new(present)), 1);
    }
}
