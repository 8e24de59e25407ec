//! Facet filters that match much of the index.
//!
//! A filter used to be a required clause beside the query. tantivy intersects clauses by
//! driving one and seeking the others: a filter such as `organism=Homo sapiens` (half of a
//! million records) made the query's union of expanded terms seek at nearly every document,
//! 30% of the time of such a search. [`Filtered`] instead reads the filter's documents into a
//! bit set per segment and lets the query run over its own documents as it does unfiltered,
//! passing on those in the set. A filter matching few documents stays a plain clause:
//! driving by it skips most of the query.

use tantivy::query::{
    intersect_scorers, BitSetDocSet, EnableScoring, Explanation, Query, Scorer, Weight,
};
use tantivy::{BitSet, DocId, DocSet, Score, SegmentReader};

/// `query`, keeping the documents `filter` matches; scored by `query` alone.
#[derive(Debug)]
pub(crate) struct Filtered {
    pub query: Box<dyn Query>,
    pub filter: Box<dyn Query>,
}

impl Clone for Filtered {
    fn clone(&self) -> Self {
        Filtered {
            query: self.query.box_clone(),
            filter: self.filter.box_clone(),
        }
    }
}

impl Query for Filtered {
    fn weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let filter = match scoring.searcher() {
            Some(s) => self
                .filter
                .weight(EnableScoring::disabled_from_searcher(s))?,
            None => self
                .filter
                .weight(EnableScoring::disabled_from_schema(scoring.schema()))?,
        };
        Ok(Box::new(FilteredWeight {
            query: self.query.weight(scoring)?,
            filter,
        }))
    }
}

struct FilteredWeight {
    query: Box<dyn Weight>,
    filter: Box<dyn Weight>,
}

impl FilteredWeight {
    fn passing(&self, reader: &SegmentReader) -> tantivy::Result<BitSet> {
        let mut bits = BitSet::with_max_value(reader.max_doc());
        self.filter.for_each_no_score(reader, &mut |docs| {
            for &d in docs {
                bits.insert(d);
            }
        })?;
        Ok(bits)
    }
}

impl Weight for FilteredWeight {
    /// As a clause of another query: an intersection where the bit set never drives.
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let filter = Box::new(FilterScorer(BitSetDocSet::from(self.passing(reader)?)));
        Ok(intersect_scorers(
            vec![self.query.scorer(reader, boost)?, filter],
            reader.num_docs(),
        ))
    }

    fn for_each(
        &self,
        reader: &SegmentReader,
        callback: &mut dyn FnMut(DocId, Score),
    ) -> tantivy::Result<()> {
        let bits = self.passing(reader)?;
        self.query.for_each(reader, &mut |doc, score| {
            if bits.contains(doc) {
                callback(doc, score)
            }
        })
    }

    fn for_each_no_score(
        &self,
        reader: &SegmentReader,
        callback: &mut dyn FnMut(&[DocId]),
    ) -> tantivy::Result<()> {
        let bits = self.passing(reader)?;
        let mut kept = Vec::new();
        self.query.for_each_no_score(reader, &mut |docs| {
            kept.clear();
            kept.extend(docs.iter().copied().filter(|&d| bits.contains(d)));
            if !kept.is_empty() {
                callback(&kept);
            }
        })
    }

    fn for_each_pruning(
        &self,
        threshold: Score,
        reader: &SegmentReader,
        callback: &mut dyn FnMut(DocId, Score) -> Score,
    ) -> tantivy::Result<()> {
        let bits = self.passing(reader)?;
        // A document not kept leaves the threshold where the kept ones put it.
        let mut current = threshold;
        self.query
            .for_each_pruning(threshold, reader, &mut |doc, score| {
                if bits.contains(doc) {
                    current = callback(doc, score);
                }
                current
            })
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        if !self.passing(reader)?.contains(doc) {
            return Err(tantivy::TantivyError::InvalidArgument(format!(
                "document {doc} does not pass the filter"
            )));
        }
        self.query.explain(reader, doc)
    }
}

/// The filter's documents; scores nothing and never drives an intersection.
struct FilterScorer(BitSetDocSet);

impl DocSet for FilterScorer {
    fn advance(&mut self) -> DocId {
        self.0.advance()
    }
    fn seek(&mut self, target: DocId) -> DocId {
        self.0.seek(target)
    }
    fn doc(&self) -> DocId {
        self.0.doc()
    }
    fn size_hint(&self) -> u32 {
        self.0.size_hint()
    }
    fn cost(&self) -> u64 {
        // Above any query's cost: the other clauses drive, this one is tested.
        u64::MAX / 4
    }
}

impl Scorer for FilterScorer {
    fn score(&mut self) -> Score {
        0.0
    }
}

/// Whether `docs` of the documents passing a filter is enough for [`Filtered`] to be the
/// cheaper plan: from one in eight documents.
pub(crate) fn is_dense(docs: u64, total: u64) -> bool {
    docs * 8 >= total && docs > 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::collector::{Count, TopDocs};
    use tantivy::query::{BooleanQuery, Occur, TermQuery};
    use tantivy::schema::{IndexRecordOption, Schema, STRING, TEXT};
    use tantivy::{doc, Index, Term};

    #[test]
    fn a_filtered_query_keeps_the_same_documents_as_a_clause() {
        let mut b = Schema::builder();
        let body = b.add_text_field("body", TEXT);
        let kind = b.add_text_field("kind", STRING);
        let index = Index::create_in_ram(b.build());
        let mut w = index.writer_with_num_threads(1, 15_000_000).unwrap();
        for i in 0..500u32 {
            let words = if i % 3 == 0 {
                "anemia marrow"
            } else {
                "marrow"
            };
            let k = if i % 2 == 0 { "human" } else { "mouse" };
            w.add_document(doc!(body => words, kind => k)).unwrap();
            if i == 250 {
                w.commit().unwrap();
            }
        }
        w.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        let q = || -> Box<dyn Query> {
            Box::new(TermQuery::new(
                Term::from_field_text(body, "anemia"),
                IndexRecordOption::WithFreqs,
            ))
        };
        let f = || -> Box<dyn Query> {
            Box::new(TermQuery::new(
                Term::from_field_text(kind, "human"),
                IndexRecordOption::Basic,
            ))
        };
        let plain = || BooleanQuery::new(vec![(Occur::Must, q()), (Occur::Must, f())]);
        let filtered = || Filtered {
            query: q(),
            filter: f(),
        };
        let docs = |v: Vec<(f32, tantivy::DocAddress)>| {
            let mut d: Vec<_> = v.into_iter().map(|(_, a)| a).collect();
            d.sort();
            d
        };
        let top = || TopDocs::with_limit(1000).order_by_score();
        // Every document at once (for_each), as a search with a count runs it.
        let (a, n) = searcher.search(&plain(), &(top(), Count)).unwrap();
        let (b, m) = searcher.search(&filtered(), &(top(), Count)).unwrap();
        assert_eq!(n, 84); // i % 6 == 0 below 500
        assert_eq!(n, m);
        let expected = docs(a);
        assert_eq!(docs(b), expected);
        // The best few alone (for_each_pruning).
        let few = TopDocs::with_limit(5).order_by_score();
        assert_eq!(searcher.search(&filtered(), &few).unwrap().len(), 5);
        // Without scores (for_each_no_score).
        assert_eq!(searcher.search(&filtered(), &Count).unwrap(), 84);
        // As a clause of another query (scorer).
        let nested = BooleanQuery::new(vec![
            (Occur::Must, Box::new(filtered()) as Box<dyn Query>),
            (Occur::Must, q()),
        ]);
        assert_eq!(docs(searcher.search(&nested, &top()).unwrap()), expected);
    }

    #[test]
    fn density_threshold() {
        assert!(is_dense(125, 1000));
        assert!(!is_dense(124, 1000));
        assert!(!is_dense(0, 0));
    }
}
