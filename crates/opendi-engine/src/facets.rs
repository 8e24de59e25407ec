//! Facet counts: one pass over the matching documents that counts the term ordinals of each
//! facet column, then names only the values that made the top of each facet.
//!
//! A segment numbers its terms on its own, so the counts of several segments are added up
//! through global ordinals: each segment's ordinals are mapped once (when the segment is first
//! counted) to numbers shared by every segment, and the maps are kept until the segment goes.
//! This replaces tantivy's term aggregation, which described each request in JSON and looked
//! every counted term up in the segment's dictionary at every search (measured: 38% of the
//! search API's CPU).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::Column;
use tantivy::index::SegmentId;
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

/// Values of one facet, all segments together.
#[derive(Default)]
struct Interner {
    ids: HashMap<String, u32>,
    terms: Vec<String>,
}

impl Interner {
    fn id(&mut self, term: &str) -> u32 {
        if let Some(&id) = self.ids.get(term) {
            return id;
        }
        let id = self.terms.len() as u32;
        self.terms.push(term.to_string());
        self.ids.insert(term.to_string(), id);
        id
    }
}

/// What a segment's facets need at search time, read from its columns once: for each string
/// facet the segment's term ordinal → global ordinal and each document's term ordinals, and
/// each document's year. Reading a column per document and facet at every search cost ~100 ns
/// per matching document (measured: p99 111 ms with facets at 1M records); an array read
/// costs a few.
struct SegmentMaps {
    to_global: Vec<Vec<u32>>,
    ords: Vec<DocOrds>,
    /// Year per document as an offset from `first_year` plus one, 0 for none.
    years: Vec<u16>,
    first_year: u64,
    /// Distinct offsets (the size of a segment's year counts).
    year_span: usize,
    max_doc: u32,
    /// Counts over every document of the segment, deleted ones included: a query matching
    /// most documents is counted as these minus the documents it did not match.
    /// Computed at the first query that needs them.
    all: std::sync::OnceLock<(Vec<Vec<u32>>, Vec<u32>)>,
}

impl SegmentMaps {
    /// Counts the values of documents `docs`: per string facet (local ordinals) and per year
    /// offset. One facet at a time, so that each pass streams one column into one small
    /// count array (a document at a time across every facet was three times slower at a
    /// million records).
    fn histogram(&self, docs: &[DocId]) -> (Vec<Vec<u32>>, Vec<u32>) {
        let counts = self
            .ords
            .iter()
            .zip(&self.to_global)
            .map(|(ords, map)| {
                let mut c = Counter::new(map.len());
                ords.count_docs(docs, &mut c);
                c.finish()
            })
            .collect();
        let mut years = Counter::new(self.year_span);
        for &doc in docs {
            if let Some(&y) = self.years.get(doc as usize) {
                years.add(y as u32);
            }
        }
        (counts, years.finish())
    }
}

/// Occurrences of each value below `n`. A facet with few values (a repository, a year)
/// repeats the same ones, and incrementing one counter again and again waits on the
/// previous increment each time: small histograms are spread over four interleaved copies
/// that are summed at the end.
struct Counter {
    lanes: Vec<u32>,
    width: usize,
    i: usize,
}

impl Counter {
    const LANES: usize = 4;

    fn new(n: usize) -> Counter {
        let width = if n > 4096 { 1 } else { Self::LANES };
        Counter {
            lanes: vec![0; n * width],
            width,
            i: 0,
        }
    }

    #[inline]
    fn add(&mut self, v: u32) {
        // `width` is 1 or 4: a mask, not a division per value.
        let slot = v as usize * self.width + (self.i & (self.width - 1));
        if let Some(c) = self.lanes.get_mut(slot) {
            *c += 1;
        }
        self.i += 1;
    }

    fn finish(self) -> Vec<u32> {
        if self.width == 1 {
            return self.lanes;
        }
        self.lanes
            .chunks_exact(self.width)
            .map(|l| l.iter().sum())
            .collect()
    }
}

/// Term ordinals per document. Most documents have at most one value of a facet, so each
/// has one dense slot: 0 for none, the ordinal plus one for one value, or the top bit and
/// the row of its values in `starts`/`values` (compressed rows) for several. Counting a
/// facet then reads one array at the matched documents (a starts array and a values array
/// cost twice the memory traffic), of two bytes per document where the segment's values
/// and rows allow (most facets): a common word matches a large part of a segment, and its
/// facet counts stream these arrays.
#[derive(Default)]
struct DocOrds {
    first: Slots,
    starts: Vec<u32>,
    values: Vec<u32>,
}

enum Slots {
    Narrow(Vec<u16>),
    Wide(Vec<u32>),
}

impl Default for Slots {
    fn default() -> Self {
        Slots::Narrow(Vec::new())
    }
}

/// A slot: its width's top bit marks a row of several values.
trait Slot: Copy {
    const MULTI: u32;
    fn get(self) -> u32;
}

impl Slot for u16 {
    const MULTI: u32 = 1 << 15;
    fn get(self) -> u32 {
        self as u32
    }
}

impl Slot for u32 {
    const MULTI: u32 = 1 << 31;
    fn get(self) -> u32 {
        self
    }
}

impl DocOrds {
    fn read(col: &Column<u64>, max_doc: u32) -> DocOrds {
        Self::from_values(max_doc, |doc, vals| {
            vals.extend(col.values_for_doc(doc).map(|o| o as u32))
        })
    }

    /// `values_of(doc, out)` appends the ordinals of `doc` to `out`.
    fn from_values(max_doc: u32, mut values_of: impl FnMut(DocId, &mut Vec<u32>)) -> DocOrds {
        let mut out = DocOrds::default();
        let mut wide: Vec<u32> = Vec::with_capacity(max_doc as usize);
        let mut vals: Vec<u32> = Vec::new();
        // Built wide, narrowed when every value and row index fits in 15 bits.
        for doc in 0..max_doc {
            vals.clear();
            values_of(doc, &mut vals);
            wide.push(match vals[..] {
                [] => 0,
                [v] => v + 1,
                _ => {
                    out.starts.push(out.values.len() as u32);
                    out.values.extend_from_slice(&vals);
                    u32::MULTI | (out.starts.len() as u32 - 1)
                }
            });
        }
        out.starts.push(out.values.len() as u32);
        // The same slot in two bytes, when its value or row fits in 15 bits.
        let narrow = |s: u32| {
            let low = s & !u32::MULTI;
            let flag = if s & u32::MULTI != 0 { u16::MULTI } else { 0 };
            (low < u16::MULTI).then_some((flag | low) as u16)
        };
        out.first = match wide
            .iter()
            .map(|&s| narrow(s))
            .collect::<Option<Vec<u16>>>()
        {
            Some(slots) => Slots::Narrow(slots),
            None => Slots::Wide(wide),
        };
        out
    }

    /// Adds the ordinals of each of `docs` to `c`.
    fn count_docs(&self, docs: &[DocId], c: &mut Counter) {
        match &self.first {
            Slots::Narrow(slots) => self.count(slots, docs, c),
            Slots::Wide(slots) => self.count(slots, docs, c),
        }
    }

    /// Adds the ordinals of each of `docs` to `c`, through `slots` (this facet's `first`).
    #[inline]
    fn count<S: Slot>(&self, slots: &[S], docs: &[DocId], c: &mut Counter) {
        for &doc in docs {
            let Some(s) = slots.get(doc as usize) else {
                continue;
            };
            let v = s.get();
            if v & S::MULTI == 0 {
                if v != 0 {
                    c.add(v - 1);
                }
                continue;
            }
            let row = (v & !S::MULTI) as usize;
            if let (Some(&a), Some(&b)) = (self.starts.get(row), self.starts.get(row + 1)) {
                for &o in &self.values[a as usize..b as usize] {
                    c.add(o);
                }
            }
        }
    }
}

/// Global ordinals of the string facets, and the maps of the segments counted so far.
pub(crate) struct FacetCache {
    fields: Vec<&'static str>,
    year_field: &'static str,
    inner: Mutex<Inner>,
}

struct Inner {
    interners: Vec<Interner>,
    segments: HashMap<SegmentId, Arc<SegmentMaps>>,
}

impl FacetCache {
    /// `fields`: the names of the string fast fields counted, in the order results come back;
    /// `year_field`: the u64 fast field of years, counted apart.
    pub(crate) fn new(fields: Vec<&'static str>, year_field: &'static str) -> FacetCache {
        let interners = fields.iter().map(|_| Interner::default()).collect();
        FacetCache {
            fields,
            year_field,
            inner: Mutex::new(Inner {
                interners,
                segments: HashMap::new(),
            }),
        }
    }

    fn maps(&self, segment: &SegmentReader) -> tantivy::Result<Arc<SegmentMaps>> {
        let id = segment.segment_id();
        if let Some(m) = self.lock().segments.get(&id) {
            return Ok(m.clone());
        }
        // Read the columns outside the lock, intern under it.
        let max_doc = segment.max_doc();
        let mut terms: Vec<Vec<String>> = Vec::with_capacity(self.fields.len());
        let mut ords = Vec::with_capacity(self.fields.len());
        for name in &self.fields {
            let mut list = Vec::new();
            if let Some(col) = segment.fast_fields().str(name)? {
                let mut stream = col.dictionary().stream()?;
                while stream.advance() {
                    list.push(String::from_utf8_lossy(stream.key()).into_owned());
                }
                ords.push(DocOrds::read(col.ords(), max_doc));
            } else {
                ords.push(DocOrds::default());
            }
            terms.push(list);
        }
        let doc_years: Vec<Option<u64>> = match segment.fast_fields().u64(self.year_field) {
            Ok(col) => (0..max_doc).map(|d| col.first(d)).collect(),
            Err(_) => Vec::new(),
        };
        let first_year = doc_years.iter().flatten().min().copied().unwrap_or(0);
        let last_year = doc_years.iter().flatten().max().copied().unwrap_or(0);
        // Years are small; a span too wide for u16 (a corrupt date) drops the outliers.
        let years: Vec<u16> = doc_years
            .iter()
            .map(|y| match y {
                Some(y) if y - first_year < u16::MAX as u64 => (y - first_year + 1) as u16,
                _ => 0,
            })
            .collect();
        let year_span = (last_year - first_year + 2).min(u16::MAX as u64) as usize;
        let mut inner = self.lock();
        let to_global = terms
            .iter()
            .zip(inner.interners.iter_mut())
            .map(|(list, interner)| list.iter().map(|t| interner.id(t)).collect())
            .collect();
        let maps = SegmentMaps {
            to_global,
            ords,
            years,
            first_year,
            year_span,
            max_doc,
            all: std::sync::OnceLock::new(),
        };
        let maps = Arc::new(maps);
        inner.segments.insert(id, maps.clone());
        Ok(maps)
    }

    /// Reads the segments not yet mapped, on all cores (at the first facet search after the
    /// index opens or changes; each segment is read once).
    pub(crate) fn warm(&self, searcher: &tantivy::Searcher) -> tantivy::Result<()> {
        let missing: Vec<&SegmentReader> = {
            let inner = self.lock();
            searcher
                .segment_readers()
                .iter()
                .filter(|s| !inner.segments.contains_key(&s.segment_id()))
                .collect()
        };
        if missing.len() < 2 {
            return Ok(());
        }
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(missing.len());
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let missing = &missing;
                    scope.spawn(move || -> tantivy::Result<()> {
                        for seg in missing.iter().skip(t).step_by(threads) {
                            self.maps(seg)?;
                        }
                        Ok(())
                    })
                })
                .collect();
            for h in handles {
                h.join().unwrap_or_else(|_| {
                    Err(tantivy::TantivyError::InternalError(
                        "facet warm-up panicked".into(),
                    ))
                })?;
            }
            Ok(())
        })
    }

    /// Forgets the maps of segments no longer in the index (merged or deleted).
    pub(crate) fn retain(&self, live: &HashSet<SegmentId>) {
        self.lock().segments.retain(|id, _| live.contains(id));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Counts of every value of every facet over the documents collected: for each string facet
/// (in the cache's order) the (value, count) pairs, and the counts per year.
pub(crate) struct FacetCounts {
    pub strings: Vec<Vec<(String, u64)>>,
    pub years: Vec<(u64, u64)>,
}

impl FacetCounts {
    /// The `size` most frequent values of string facet `i`, ties by value.
    pub(crate) fn top(&self, i: usize, size: usize) -> Vec<(String, u64)> {
        let mut v = self.strings[i].clone();
        let by = |a: &(String, u64), b: &(String, u64)| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0));
        if v.len() > size {
            v.select_nth_unstable_by(size, by);
            v.truncate(size);
        }
        v.sort_unstable_by(by);
        v
    }
}

pub(crate) struct FacetCollector<'a> {
    pub cache: &'a FacetCache,
    /// Values kept per facet: the `keep` most frequent and those tied with the last of them,
    /// so that names are copied only for values a response can show. `None`: counts nothing
    /// and gives `None`, so that a search can always carry the collector in its one pass over
    /// the matches.
    pub keep: Option<usize>,
}

pub(crate) struct SegmentFacets {
    /// `None` when the collector counts nothing.
    maps: Option<Arc<SegmentMaps>>,
    /// The matched documents (one bit each), counted at harvest: then the cheaper of the
    /// matched documents and their complement is walked.
    matched: Vec<u64>,
    n: u32,
}

/// What a segment counted, by global ordinal.
pub(crate) struct SegmentFruit {
    strings: Vec<Vec<(u32, u32)>>,
    years: Vec<(u64, u32)>,
}

impl Collector for FacetCollector<'_> {
    type Fruit = Option<FacetCounts>;
    type Child = SegmentFacets;

    fn for_segment(
        &self,
        _segment_local_id: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<SegmentFacets> {
        let maps = match self.keep {
            Some(_) => Some(self.cache.maps(segment)?),
            None => None,
        };
        let words = maps
            .as_ref()
            .map_or(0, |m| (m.max_doc as usize).div_ceil(64));
        Ok(SegmentFacets {
            maps,
            matched: vec![0; words],
            n: 0,
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<SegmentFruit>) -> tantivy::Result<Option<FacetCounts>> {
        let Some(keep) = self.keep else {
            return Ok(None);
        };
        let n = self.cache.fields.len();
        let mut totals: Vec<HashMap<u32, u64>> = vec![HashMap::new(); n];
        let mut years: HashMap<u64, u64> = HashMap::new();
        for fruit in fruits {
            for (i, list) in fruit.strings.into_iter().enumerate() {
                for (g, c) in list {
                    *totals[i].entry(g).or_insert(0) += c as u64;
                }
            }
            for (y, c) in fruit.years {
                *years.entry(y).or_insert(0) += c as u64;
            }
        }
        let inner = self.cache.lock();
        let strings = totals
            .into_iter()
            .enumerate()
            .map(|(i, t)| {
                let mut t: Vec<(u32, u64)> = t.into_iter().collect();
                if t.len() > keep && keep > 0 {
                    t.select_nth_unstable_by(keep - 1, |a, b| b.1.cmp(&a.1));
                    let least = t[keep - 1].1;
                    t.retain(|&(_, c)| c >= least);
                }
                t.into_iter()
                    .map(|(g, c)| (inner.interners[i].terms[g as usize].clone(), c))
                    .collect()
            })
            .collect();
        let mut years: Vec<(u64, u64)> = years.into_iter().collect();
        years.sort_unstable_by_key(|&(y, _)| std::cmp::Reverse(y));
        Ok(Some(FacetCounts { strings, years }))
    }
}

impl SegmentCollector for SegmentFacets {
    type Fruit = SegmentFruit;

    fn collect(&mut self, doc: DocId, _score: Score) {
        if let Some(w) = self.matched.get_mut(doc as usize / 64) {
            *w |= 1 << (doc % 64);
            self.n += 1;
        }
    }

    fn harvest(self) -> SegmentFruit {
        let Some(maps) = &self.maps else {
            // Nothing counted: empty fruit.
            return SegmentFruit {
                strings: Vec::new(),
                years: Vec::new(),
            };
        };
        let is_set = |doc: u32| self.matched[doc as usize / 64] & (1 << (doc % 64)) != 0;
        let (counts, years) = if self.n as u64 * 2 > maps.max_doc as u64 {
            let (all, all_years) = maps.all.get_or_init(|| {
                let every: Vec<DocId> = (0..maps.max_doc).collect();
                maps.histogram(&every)
            });
            let missed: Vec<DocId> = (0..maps.max_doc).filter(|&d| !is_set(d)).collect();
            let (less, less_years) = maps.histogram(&missed);
            let minus = |all: &[u32], less: &[u32]| -> Vec<u32> {
                all.iter()
                    .zip(less)
                    .map(|(a, b)| a.saturating_sub(*b))
                    .collect()
            };
            (
                all.iter().zip(&less).map(|(a, b)| minus(a, b)).collect(),
                minus(all_years, &less_years),
            )
        } else {
            let mut docs = Vec::with_capacity(self.n as usize);
            for (i, &word) in self.matched.iter().enumerate() {
                let mut w = word;
                while w != 0 {
                    docs.push(i as u32 * 64 + w.trailing_zeros());
                    w &= w - 1;
                }
            }
            maps.histogram(&docs)
        };
        let strings = counts
            .into_iter()
            .zip(maps.to_global.iter())
            .map(|(counts, map): (Vec<u32>, _)| {
                counts
                    .into_iter()
                    .enumerate()
                    .filter(|&(_, c)| c > 0)
                    .map(|(ord, c)| (map[ord], c))
                    .collect()
            })
            .collect();
        // Offset 0 is "no year".
        let first = maps.first_year;
        let years = years
            .iter()
            .enumerate()
            .skip(1)
            .filter(|&(_, &c)| c > 0)
            .map(|(i, &c)| (first + i as u64 - 1, c))
            .collect();
        SegmentFruit { strings, years }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts through `DocOrds` against counting the values directly, for narrow slots
    /// (small ordinals) and wide ones (an ordinal past 15 bits), with documents of none,
    /// one and several values.
    #[test]
    fn dense_slots_count_what_the_rows_hold() {
        for top in [40u32, 70_000] {
            let n = 1_000u32;
            let values = |doc: u32| -> Vec<u32> {
                match doc % 5 {
                    0 => vec![],
                    1 | 2 => vec![(doc * 71) % top],
                    3 => vec![doc % top, (doc * 13 + 1) % top],
                    _ => vec![top - 1, 0, (doc * 3) % top],
                }
            };
            let ords = DocOrds::from_values(n, |doc, out| out.extend(values(doc)));
            assert_eq!(matches!(ords.first, Slots::Wide(_)), top > 0x8000);
            let docs: Vec<DocId> = (0..n).filter(|d| d % 3 != 1).collect();
            let mut c = Counter::new(top as usize);
            ords.count_docs(&docs, &mut c);
            let mut want = vec![0u32; top as usize];
            for &d in &docs {
                for v in values(d) {
                    want[v as usize] += 1;
                }
            }
            assert_eq!(c.finish(), want, "values below {top}");
        }
    }
}
