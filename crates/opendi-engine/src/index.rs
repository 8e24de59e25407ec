//! The search index (tantivy): field definitions, document building, search with facets,
//! and MoreLikeThis. Derived data: always rebuildable from the store's change log.
//!
//! Invariant: the commit payload holds the highest store `seq` whose change is in the index;
//! every change up to it is applied, none after it is required.

use crate::facets::{FacetCache, FacetCollector, FacetCounts};
use crate::query::{self, Compiler};
use crate::store::{LinkCounts, StoredRecord};
use crate::text::{organism_label, strip_tags};
use crate::{EngineError, Result};
use opendi_model::Publication;
use serde::Serialize;
use std::collections::BTreeMap;
use std::collections::HashMap;
use std::path::Path;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{BooleanQuery, EmptyQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions, Value, FAST,
    INDEXED, STORED, STRING,
};
use tantivy::tokenizer::{
    LowerCaser, RawTokenizer, RemoveLongFilter, SimpleTokenizer, TextAnalyzer,
};
use tantivy::{
    index::SegmentId, DocAddress, DocId, Index, IndexReader, IndexWriter, Order, ReloadPolicy,
    TantivyDocument, Term,
};

/// Tokenizer for identifiers: the whole value, lower-cased (`PXD000005` == `pxd000005`).
const ID_TOKENIZER: &str = "id_lower";
/// Tokenizer for prose: words, lower-cased, English stemming.
const TEXT_TOKENIZER: &str = "en_stem";
/// Tokenizer of the `sim` field: a record's similarity features, one token each.
const FEATURE_TOKENIZER: &str = "features";

/// What the documents of a committed index mean beyond its schema, recorded in the commit
/// payload after the seq; an index of an earlier layout is rebuilt from the store on open.
/// Layout 2: private records are not indexed (layout 1 indexed them). Layout 3: the `sim`
/// field holds a record's entity features only (layout 2 held its words too, which the
/// similar lists now read from the text fields).
const LAYOUT: &str = "layout=3";

/// Whether a committed index was written with the current [`LAYOUT`] (an index never
/// committed holds nothing, so it is current too).
fn current_layout(index: &Index) -> Result<bool> {
    let metas = index.load_metas()?;
    Ok(match metas.payload.as_deref() {
        None => true,
        Some(p) => p.split_whitespace().any(|t| t == LAYOUT),
    })
}

/// Every field of the index, defined once. Text fields carry the names users type in
/// `field:value` queries; `facet_*` fields hold exact values for counting and filtering.
#[derive(Clone)]
pub struct Fields {
    pub rid: Field,
    pub accession: Field,
    pub repository: Field,
    pub omics_type: Field,
    pub title: Field,
    pub description: Field,
    pub keywords: Field,
    pub organism: Field,
    pub disease: Field,
    pub tissue: Field,
    pub cell_type: Field,
    pub people: Field,
    pub protocol: Field,
    pub instrument: Field,
    pub publication: Field,
    pub xref: Field,
    pub year: Field,
    pub date: Field,
    pub facet_repository: Field,
    pub facet_omics: Field,
    pub facet_organism: Field,
    pub facet_disease: Field,
    pub facet_tissue: Field,
    pub facet_cell_type: Field,
    pub stored_title: Field,
    /// A hash of the title reduced to its words ([`title_hash`]), for exact-title matches.
    pub title_hash: Field,
    /// The record's cluster head (its own id when alone): one hit per cluster.
    pub cluster: Field,
    /// 1 when the cluster has other members.
    pub clustered: Field,
    pub citations: Field,
    pub reanalyses: Field,
    /// The entity features of the record (see `similar.rs`), verbatim tokens: with the words
    /// of the title, description and protocol fields, the inverted index that similar lists
    /// are computed over. Not searched by queries.
    pub sim: Field,
}

/// The facets the search offers, with the fields behind them.
pub const FACETS: [(&str, &str); 7] = [
    ("repository", "facet_repository"),
    ("omics_type", "facet_omics"),
    ("organism", "facet_organism"),
    ("disease", "facet_disease"),
    ("tissue", "facet_tissue"),
    ("cell_type", "facet_cell_type"),
    ("year", "year"),
];

/// The facets counted over string columns (all but the year), in [`FACETS`] order.
const STRING_FACETS: &[(&str, &str)] = FACETS.split_at(6).0;

/// The analyzer of the text fields: tantivy's `en_stem`, the same tokens, with the stems it
/// computed remembered.
pub(crate) fn text_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(crate::stem::MemoStemmer)
        .build()
}

fn build_schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = |stored: bool| {
        let idx = TextFieldIndexing::default()
            .set_tokenizer(TEXT_TOKENIZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions);
        let o = TextOptions::default().set_indexing_options(idx);
        if stored {
            o.set_stored()
        } else {
            o
        }
    };
    let id_text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(ID_TOKENIZER)
            .set_index_option(IndexRecordOption::Basic),
    );
    let facet = STRING | FAST;
    let fields = Fields {
        rid: b.add_u64_field(
            "rid",
            NumericOptions::default()
                .set_indexed()
                .set_fast()
                .set_stored(),
        ),
        accession: b.add_text_field("accession", id_text.clone().set_stored()),
        repository: b.add_text_field("repository", id_text.clone().set_stored()),
        omics_type: b.add_text_field("omics_type", text(false)),
        title: b.add_text_field("title", text(false)),
        description: b.add_text_field("description", text(false)),
        keywords: b.add_text_field("keywords", text(false)),
        organism: b.add_text_field("organism", text(false)),
        disease: b.add_text_field("disease", text(false)),
        tissue: b.add_text_field("tissue", text(false)),
        cell_type: b.add_text_field("cell_type", text(false)),
        people: b.add_text_field("people", text(false)),
        protocol: b.add_text_field("protocol", text(false)),
        instrument: b.add_text_field("instrument", text(false)),
        publication: b.add_text_field("publication", text(false)),
        xref: b.add_text_field("xref", id_text),
        year: b.add_u64_field("year", INDEXED | FAST | STORED),
        date: b.add_i64_field("date", INDEXED | FAST),
        facet_repository: b.add_text_field("facet_repository", facet.clone()),
        facet_omics: b.add_text_field("facet_omics", facet.clone()),
        facet_organism: b.add_text_field("facet_organism", facet.clone()),
        facet_disease: b.add_text_field("facet_disease", facet.clone()),
        facet_tissue: b.add_text_field("facet_tissue", facet.clone()),
        facet_cell_type: b.add_text_field("facet_cell_type", facet),
        stored_title: b.add_text_field("stored_title", STORED),
        // Eight bytes a title, not the title itself: a term per record, and the whole title
        // as a term cost the term dictionary's FST a node per byte (measured: 8.9% of a
        // PubMed ingest's CPU in building it).
        title_hash: b.add_u64_field("title_hash", INDEXED),
        cluster: b.add_u64_field("cluster", INDEXED | FAST | STORED),
        clustered: b.add_u64_field("clustered", STORED),
        citations: b.add_u64_field("citations", FAST | STORED),
        reanalyses: b.add_u64_field("reanalyses", FAST | STORED),
        sim: b.add_text_field(
            "sim",
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(FEATURE_TOKENIZER)
                    .set_index_option(IndexRecordOption::WithFreqs),
            ),
        ),
    };
    (b.build(), fields)
}

/// Ranked documents (score, address), the match count, and the facets when asked for.
type Ranked = (Vec<(f32, DocAddress)>, usize, Option<FacetCounts>);

/// The `size` most frequent values of each facet (most first, ties by value), and every year
/// (latest first).
fn facet_map(counts: &FacetCounts, size: usize) -> BTreeMap<String, Vec<FacetCount>> {
    let mut out = BTreeMap::new();
    for (i, (name, _)) in STRING_FACETS.iter().enumerate() {
        let top = counts.top(i, size);
        out.insert(
            name.to_string(),
            top.into_iter()
                .map(|(value, count)| FacetCount { value, count })
                .collect(),
        );
    }
    out.insert(
        "year".to_string(),
        counts
            .years
            .iter()
            .take(500)
            .map(|&(y, count)| FacetCount {
                value: y.to_string(),
                count,
            })
            .collect(),
    );
    out
}

/// The first eight bytes of the BLAKE3 hash of `s`'s [`title_key`], None when it has no words.
/// Stable across versions: it is what the index holds. Two keys that collide (one pair in
/// ~10^19) only both rank first for a query that matches both anyway.
pub fn title_hash(s: &str) -> Option<u64> {
    let key = title_key(s);
    if key.is_empty() {
        return None;
    }
    let h = blake3::hash(key.as_bytes());
    let (first, _) = h.as_bytes().split_first_chunk::<8>()?;
    Some(u64::from_le_bytes(*first))
}

/// A title or query reduced to its words: lower case, one space between runs of letters and
/// digits. Two titles with the same key read the same to a user.
pub fn title_key(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for w in s
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(w.chars().flat_map(char::to_lowercase));
    }
    out
}

/// Field weights for free-text queries (BM25 per field, summed). The one place they live:
/// the query compiler (`query.rs`) reads them for every unfielded clause.
pub(crate) fn boosts(f: &Fields) -> Vec<(Field, f32)> {
    vec![
        (f.accession, 20.0),
        (f.title, 3.0),
        (f.keywords, 1.5),
        (f.organism, 1.2),
        (f.disease, 1.5),
        (f.tissue, 1.2),
        (f.cell_type, 1.2),
        (f.omics_type, 1.0),
        (f.description, 1.0),
        (f.people, 1.0),
        (f.publication, 0.6),
        (f.protocol, 0.4),
        (f.instrument, 0.6),
        (f.xref, 2.0),
    ]
}

pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    pub fields: Fields,
    facets: FacetCache,
    stats: crate::bm25::StatsCache,
    results: crate::cache::ResultCache,
}

/// Sort orders for search results.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    #[default]
    Relevance,
    DateDesc,
    DateAsc,
    /// Most cited first.
    Citations,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SearchRequest {
    pub query: String,
    pub limit: usize,
    pub offset: usize,
    pub facets: bool,
    /// Facet filters: (facet name from [`FACETS`], exact value). Values of one facet are ORed,
    /// facets are ANDed.
    pub filters: Vec<(String, String)>,
    pub sort: Sort,
    pub facet_size: usize,
    /// Every member of a cluster as its own hit (by default a cluster shows as one hit, its
    /// best-ranked member, with the others in [`Hit::also_in`]).
    pub expand_clusters: bool,
    /// Also search for the synonyms a vocabulary gives for the query's words (on by default).
    pub expand: bool,
}

impl Default for SearchRequest {
    fn default() -> Self {
        SearchRequest {
            query: String::new(),
            limit: 0,
            offset: 0,
            facets: false,
            filters: Vec::new(),
            sort: Sort::default(),
            facet_size: 0,
            expand_clusters: false,
            expand: true,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    #[serde(skip)]
    pub rid: u64,
    pub accession: String,
    pub repository: String,
    pub title: String,
    pub score: f32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub year: Option<u64>,
    #[serde(skip)]
    pub cluster: u64,
    #[serde(skip)]
    pub clustered: bool,
    pub citations: u64,
    /// The other members of this hit's cluster (filled in by the engine).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub also_in: Vec<crate::RecordRef>,
    /// Why this hit is listed (similar datasets only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FacetCount {
    pub value: String,
    pub count: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SearchResult {
    pub count: u64,
    pub hits: Vec<Hit>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub facets: BTreeMap<String, Vec<FacetCount>>,
    /// Parts of the query that could not be read as written and were read as plain terms.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Names the vocabularies added to the query ("also searched for …").
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub also_searched_for: Vec<String>,
}

/// A user's query read and compiled.
pub struct ParsedQuery {
    pub query: Box<dyn Query>,
    /// What was repaired, read as words or cut.
    pub warnings: Vec<String>,
    /// Names the vocabularies added.
    pub also_searched_for: Vec<String>,
}

/// A request's query as the index runs it.
pub(crate) struct Prepared {
    pub query: Box<dyn Query>,
    pub warnings: Vec<String>,
    pub also_searched_for: Vec<String>,
    /// Documents that match the query exactly (2: an accession, 1: the whole title), which
    /// relevance order puts first.
    pub exact: Tiers,
}

/// Per segment, the documents ranked ahead of BM25 order, with their tier.
pub(crate) type Tiers = HashMap<SegmentId, HashMap<DocId, u8>>;

/// How many exact matches of each kind are ranked first (an accession names one record or a
/// cluster; a title a handful).
const MAX_EXACT: usize = 100;
/// Decompressed document-store blocks (16 KB each) a searcher keeps per segment.
const DOC_STORE_BLOCKS: usize = 400;

impl SearchIndex {
    pub fn open(dir: &Path) -> Result<SearchIndex> {
        std::fs::create_dir_all(dir)?;
        let (schema, fields) = build_schema();
        let mmap = tantivy::directory::MmapDirectory::open(dir)
            .map_err(|e| EngineError::Index(e.to_string()))?;
        let exists = Index::exists(&mmap).map_err(|e| EngineError::Index(e.to_string()))?;
        let mut index = match exists.then(|| Index::open(mmap.clone())).transpose()? {
            Some(index) if index.schema() == schema && current_layout(&index)? => index,
            Some(_) => {
                // The index is derived data: one written by another version is rebuilt from
                // the store (the engine catches up from seq 0).
                tracing::warn!(dir = %dir.display(), "search index schema or layout changed; rebuilding it from the store");
                drop(mmap);
                std::fs::remove_dir_all(dir)?;
                std::fs::create_dir_all(dir)?;
                let mmap = tantivy::directory::MmapDirectory::open(dir)
                    .map_err(|e| EngineError::Index(e.to_string()))?;
                Index::create(mmap, schema, Default::default())?
            }
            None => Index::create(mmap, schema, Default::default())?,
        };
        // Segments are searched in parallel, one thread per core: a search over a million
        // records spans a dozen segments.
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        if threads > 1 {
            index.set_multithread_executor(threads)?;
        }
        // tantivy's `en_stem`, the same tokens, with the stems it computed remembered.
        index.tokenizers().register(TEXT_TOKENIZER, text_analyzer());
        index.tokenizers().register(
            FEATURE_TOKENIZER,
            crate::similar::FeatureTokenizer::default(),
        );
        index.tokenizers().register(
            ID_TOKENIZER,
            TextAnalyzer::builder(RawTokenizer::default())
                .filter(LowerCaser)
                .build(),
        );
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            // Hits read their accession and title from the document store: keep a few
            // megabytes of decompressed blocks per segment (tantivy keeps 100 blocks).
            .doc_store_cache_num_blocks(DOC_STORE_BLOCKS)
            .try_into()?;
        Ok(SearchIndex {
            index,
            reader,
            fields,
            facets: FacetCache::new(STRING_FACETS.iter().map(|(_, f)| *f).collect(), "year"),
            stats: Default::default(),
            results: Default::default(),
        })
    }

    pub fn writer(&self, heap_bytes: usize) -> Result<IndexWriter> {
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .clamp(1, 4);
        // tantivy wants 15 MB to under 4 GB a thread.
        let heap = heap_bytes.clamp((threads * 16) << 20, (threads * 4000) << 20);
        Ok(self.index.writer_with_num_threads(threads, heap)?)
    }

    /// The highest store seq the last commit covers.
    pub fn committed_seq(&self) -> Result<i64> {
        let metas = self.index.load_metas()?;
        Ok(metas
            .payload
            .as_deref()
            .and_then(|p| p.split_whitespace().next()?.strip_prefix("seq="))
            .and_then(|s| s.parse().ok())
            .unwrap_or(0))
    }

    /// Commits the writer's pending changes, recording the seq they reach.
    pub fn commit(&self, writer: &mut IndexWriter, seq: i64) -> Result<()> {
        let mut prepared = writer.prepare_commit()?;
        prepared.set_payload(&format!("seq={seq} {LAYOUT}"));
        prepared.commit()?;
        self.reader.reload()?;
        Ok(())
    }

    pub fn reload(&self) -> Result<()> {
        Ok(self.reader.reload()?)
    }

    /// Removes every document, in order with the writes before and after it: documents added
    /// after this call survive it. (Not `IndexWriter::delete_all_documents`: it rewinds the
    /// writer's operation stamps to where the writer opened, not to its last commit, so the
    /// documents added next can be stamped older than deletes queued before that commit and
    /// be dropped by them. A rebuild lost 25 of 98 records that way once.)
    pub fn delete_all(&self, writer: &IndexWriter) -> Result<()> {
        delete_all(writer)
    }

    /// Removes a record's document (before re-adding it, or for a tombstone).
    pub fn delete(&self, writer: &IndexWriter, rid: i64) {
        writer.delete_term(Term::from_field_u64(self.fields.rid, rid as u64));
    }

    /// Builds the document of a live record. `pubs` are the shared publications it cites.
    pub fn document(
        &self,
        rec: &StoredRecord,
        pubs: &[Publication],
        links: LinkCounts,
    ) -> TantivyDocument {
        let mut doc = self.document_without_id(&rec.dataset, pubs);
        self.add_identity(&mut doc, rec.id, links);
        doc
    }

    /// Adds what only the store knows to a document: its record id, cluster and counts.
    pub fn add_identity(&self, doc: &mut TantivyDocument, id: i64, links: LinkCounts) {
        doc.add_u64(self.fields.rid, id as u64);
        doc.add_u64(self.fields.cluster, links.cluster as u64);
        doc.add_u64(self.fields.clustered, links.clustered as u64);
        doc.add_u64(self.fields.citations, links.citations);
        doc.add_u64(self.fields.reanalyses, links.reanalyses);
    }

    /// The document of a dataset, lacking only its record id (see [`SearchIndex::document`]).
    pub fn document_without_id(
        &self,
        d: &opendi_model::Dataset,
        pubs: &[Publication],
    ) -> TantivyDocument {
        let f = &self.fields;
        let mut doc = TantivyDocument::default();
        for acc in d.all_accessions() {
            doc.add_text(f.accession, acc);
        }
        doc.add_text(f.repository, &d.repository);
        doc.add_text(f.facet_repository, &d.repository);
        for o in &d.omics_types {
            doc.add_text(f.omics_type, o);
            doc.add_text(f.facet_omics, o);
        }
        doc.add_text(f.title, &d.title);
        doc.add_text(f.stored_title, &d.title);
        if let Some(h) = title_hash(&d.title) {
            doc.add_u64(f.title_hash, h);
        }
        doc.add_text(f.description, strip_tags(&d.description));
        for k in d.submitter_keywords.iter().chain(&d.curator_keywords) {
            doc.add_text(f.keywords, k);
        }
        for o in &d.organisms {
            let label = organism_label(o);
            if !o.name.is_empty() {
                doc.add_text(f.organism, &o.name);
            }
            if !label.is_empty() {
                doc.add_text(f.organism, &label);
                doc.add_text(f.facet_organism, &label);
                // `organism:mouse` finds Mus musculus (fuller synonyms come from the vocabularies).
                if let Some((_, _, common)) = opendi_model::COMMON_TAXA
                    .iter()
                    .find(|(_, sci, _)| *sci == label)
                {
                    doc.add_text(f.organism, common);
                }
            }
            if let Some(t) = &o.taxon_id {
                doc.add_text(f.xref, format!("taxonomy:{t}"));
            }
        }
        for (terms, text_field, facet_field) in [
            (&d.diseases, f.disease, f.facet_disease),
            (&d.tissues, f.tissue, f.facet_tissue),
            (&d.cell_types, f.cell_type, f.facet_cell_type),
        ] {
            for t in terms {
                doc.add_text(text_field, &t.label);
                doc.add_text(facet_field, &t.label);
                if let Some(id) = &t.id {
                    doc.add_text(f.xref, id);
                }
            }
        }
        for p in &d.people {
            doc.add_text(f.people, &p.name);
        }
        for p in d
            .data_protocols
            .iter()
            .chain(&d.sample_protocols)
            .chain(&d.modifications)
            .chain(&d.software)
        {
            doc.add_text(f.protocol, strip_tags(p));
        }
        for i in &d.instruments {
            doc.add_text(f.instrument, i);
        }
        for c in &d.cross_refs {
            doc.add_text(f.xref, format!("{}:{}", c.database, c.key));
            doc.add_text(f.xref, &c.key);
        }
        for r in &d.publications {
            if let Some(c) = &r.citation {
                doc.add_text(f.publication, c);
            }
            for id in [&r.pmid, &r.doi, &r.pmcid].into_iter().flatten() {
                doc.add_text(f.xref, id);
            }
        }
        for p in pubs {
            // A record that is itself this publication already has its text in title/description.
            if p.title != d.title {
                doc.add_text(f.publication, &p.title);
                doc.add_text(f.publication, strip_tags(&p.abstract_text));
            }
        }
        doc.add_text(f.sim, crate::similar::features_text(d));
        if let Some(date) = d.main_date() {
            doc.add_u64(f.year, date.year.max(0) as u64);
            doc.add_i64(f.date, date.days_since_epoch());
        }
        doc
    }

    fn facet_field(&self, name: &str) -> Option<Field> {
        let f = &self.fields;
        Some(match name {
            "repository" => f.facet_repository,
            "omics_type" => f.facet_omics,
            "organism" => f.facet_organism,
            "disease" => f.facet_disease,
            "tissue" => f.facet_tissue,
            "cell_type" => f.facet_cell_type,
            _ => return None,
        })
    }

    /// Reads a user query in opendi's query language (`query.rs`); never fails on the
    /// query's text: what cannot be read as written is repaired or read as words, with
    /// warnings. With `synonyms`, plain words also search for the vocabulary's names for them;
    /// the names added are returned.
    pub fn parse_query(
        &self,
        q: &str,
        synonyms: Option<&opendi_vocab::Synonyms>,
    ) -> Result<ParsedQuery> {
        let (mut node, mut warnings) = query::parse(q);
        let mut added = Vec::new();
        if let Some(syn) = synonyms {
            node = query::expand(node, syn, &mut added);
        }
        let searcher = self.reader.searcher();
        let mut compiler = Compiler::new(&self.fields, &searcher);
        let compiled = compiler.compile(&node)?;
        warnings.append(&mut compiler.warnings);
        let query: Box<dyn Query> = match compiled {
            Some(q) => q,
            None => {
                warnings.push("nothing in the query could be searched for".into());
                Box::new(EmptyQuery)
            }
        };
        Ok(ParsedQuery {
            query,
            warnings,
            also_searched_for: added,
        })
    }

    /// The query, filters and exact matches of a request.
    pub(crate) fn prepare(
        &self,
        req: &SearchRequest,
        synonyms: Option<&opendi_vocab::Synonyms>,
    ) -> Result<Prepared> {
        let synonyms = synonyms.filter(|_| req.expand);
        let ParsedQuery {
            query,
            mut warnings,
            also_searched_for,
        } = self.parse_query(&req.query, synonyms)?;
        let query = self.with_filters(query, &req.filters, &mut warnings);
        let exact = if req.sort == Sort::Relevance {
            self.exact_matches(&req.query, &*query)?
        } else {
            Tiers::new()
        };
        Ok(Prepared {
            query,
            warnings,
            also_searched_for,
            exact,
        })
    }

    /// Documents matching `query` whose accession is the whole query (tier 2) or whose title
    /// reads as the whole query (tier 1). BM25 alone can rank a long title that repeats the
    /// words above the record the user named exactly.
    fn exact_matches(&self, raw: &str, query: &dyn Query) -> Result<Tiers> {
        let mut tiers = Tiers::new();
        let text = raw.trim();
        let text = text
            .strip_prefix('"')
            .and_then(|t| t.strip_suffix('"'))
            .unwrap_or(text)
            .trim();
        if text.is_empty() {
            return Ok(tiers);
        }
        let searcher = self.reader.searcher();
        let f = &self.fields;
        let mut probes: Vec<(u8, Term)> = Vec::new();
        if !text.contains(char::is_whitespace) {
            probes.push((2, Term::from_field_text(f.accession, &text.to_lowercase())));
        }
        if let Some(h) = title_hash(text) {
            probes.push((1, Term::from_field_u64(f.title_hash, h)));
        }
        for (tier, term) in probes {
            // Most queries name no accession and no title: skip building a second weight.
            if searcher.doc_freq(&term)? == 0 {
                continue;
            }
            let probe = BooleanQuery::new(vec![
                (
                    Occur::Must,
                    Box::new(TermQuery::new(term, IndexRecordOption::Basic)) as Box<dyn Query>,
                ),
                (Occur::Must, query.box_clone()),
            ]);
            let top = self.scored(
                &searcher,
                &probe,
                &TopDocs::with_limit(MAX_EXACT).order_by_score(),
            )?;
            for (_, addr) in top {
                let seg = searcher.segment_reader(addr.segment_ord).segment_id();
                let t = tiers
                    .entry(seg)
                    .or_default()
                    .entry(addr.doc_id)
                    .or_insert(0);
                *t = (*t).max(tier);
            }
        }
        Ok(tiers)
    }

    pub(crate) fn with_filters(
        &self,
        query: Box<dyn Query>,
        filters: &[(String, String)],
        warnings: &mut Vec<String>,
    ) -> Box<dyn Query> {
        if filters.is_empty() {
            return query;
        }
        let mut by_facet: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (k, v) in filters {
            by_facet.entry(k.as_str()).or_default().push(v.as_str());
        }
        let searcher = self.reader.searcher();
        let mut groups: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        // Documents passing the filter, at most: the smallest group's postings.
        let mut passing = u64::MAX;
        for (facet, values) in by_facet {
            let terms: Vec<Term> = values
                .iter()
                .filter_map(|v| {
                    Some(if facet == "year" {
                        Term::from_field_u64(self.fields.year, v.parse().ok()?)
                    } else {
                        Term::from_field_text(self.facet_field(facet)?, v)
                    })
                })
                .collect();
            if terms.is_empty() {
                warnings.push(format!("unknown facet filter {facet}={values:?}"));
                continue;
            }
            let docs: u64 = terms
                .iter()
                .map(|t| searcher.doc_freq(t).unwrap_or(0))
                .sum();
            passing = passing.min(docs);
            let terms = terms
                .into_iter()
                .map(|t| {
                    (
                        Occur::Should,
                        Box::new(TermQuery::new(t, IndexRecordOption::Basic)) as Box<dyn Query>,
                    )
                })
                .collect();
            groups.push((Occur::Must, Box::new(BooleanQuery::new(terms))));
        }
        if groups.is_empty() {
            return query;
        }
        // A filter selects, it does not rank: it adds nothing to the score either way.
        let filter: Box<dyn Query> = Box::new(BooleanQuery::new(groups));
        if crate::filter::is_dense(passing, searcher.num_docs()) {
            return Box::new(crate::filter::Filtered { query, filter });
        }
        Box::new(BooleanQuery::new(vec![
            (Occur::Must, query),
            (
                Occur::Must,
                Box::new(tantivy::query::ConstScoreQuery::new(filter, 0.0)),
            ),
        ]))
    }

    pub fn search(
        &self,
        req: &SearchRequest,
        synonyms: Option<&opendi_vocab::Synonyms>,
    ) -> Result<SearchResult> {
        let searcher = self.reader.searcher();
        let generation = searcher.generation().generation_id();
        if let Some(r) = self.results.get(generation, req) {
            return Ok((*r).clone());
        }
        let Prepared {
            query,
            warnings,
            also_searched_for,
            exact,
        } = self.prepare(req, synonyms)?;
        let limit = req.limit.max(1);
        let (hits, count, counts) = if req.expand_clusters {
            let (ranked, count, counts) = self.ranked(
                &searcher,
                &*query,
                req.sort,
                &exact,
                limit,
                req.offset,
                req.facets.then_some(req.facet_size.max(1)),
            )?;
            let hits = ranked
                .into_iter()
                .map(|(score, addr)| self.hit(&searcher, addr, score))
                .collect::<Result<Vec<_>>>()?;
            (hits, count, counts)
        } else {
            self.collapsed(&searcher, &*query, req, &exact, limit)?
        };
        let facets = match counts {
            Some(c) => facet_map(&c, req.facet_size.max(1)),
            None => BTreeMap::new(),
        };
        let res = SearchResult {
            count: count as u64,
            hits,
            facets,
            warnings,
            also_searched_for,
        };
        self.results
            .put(generation, req, std::sync::Arc::new(res.clone()));
        Ok(res)
    }

    /// Keeps the results of about `entries` recent searches until the index changes
    /// (0, the default: none).
    pub fn set_result_cache(&self, entries: usize) {
        self.results.set_capacity(entries);
    }

    /// One hit per cluster: ranks a window of documents, keeps each cluster's best-ranked
    /// member, and widens the window until the page is full or the matches run out. The
    /// cluster is read from its fast field, so skipped members cost no document load.
    fn collapsed(
        &self,
        searcher: &tantivy::Searcher,
        query: &dyn Query,
        req: &SearchRequest,
        exact: &Tiers,
        limit: usize,
    ) -> Result<(Vec<Hit>, usize, Option<FacetCounts>)> {
        let want = req.offset + limit;
        let mut window = want + want / 2 + 10;
        // Facets are counted in the first pass only; a wider window matches the same documents.
        let mut facets = None;
        loop {
            let (ranked, count, counts) = self.ranked(
                searcher,
                query,
                req.sort,
                exact,
                window,
                0,
                (req.facets && facets.is_none()).then_some(req.facet_size.max(1)),
            )?;
            if facets.is_none() {
                facets = counts;
            }
            let mut seen = std::collections::HashSet::new();
            let mut hits = Vec::with_capacity(limit);
            let mut skipped = 0;
            // Each segment's cluster column, opened once (opening it per document was a third
            // of a deep page's time).
            let mut columns: Vec<Option<tantivy::columnar::Column<u64>>> =
                vec![None; searcher.segment_readers().len()];
            for &(score, addr) in &ranked {
                let column = match &mut columns[addr.segment_ord as usize] {
                    Some(c) => c,
                    slot => slot.insert(
                        searcher
                            .segment_reader(addr.segment_ord)
                            .fast_fields()
                            .u64("cluster")?,
                    ),
                };
                let cluster = column
                    .first(addr.doc_id)
                    .unwrap_or(u64::MAX - addr.doc_id as u64);
                if !seen.insert(cluster) {
                    continue;
                }
                if skipped < req.offset {
                    skipped += 1;
                    continue;
                }
                hits.push(self.hit(searcher, addr, score)?);
                if hits.len() == limit {
                    break;
                }
            }
            if hits.len() == limit || ranked.len() < window || window >= count {
                return Ok((hits, count, facets));
            }
            window *= 2;
        }
    }

    /// The `limit` best documents after `offset` in the requested order, and the match count.
    /// In relevance order, exact matches (`exact`) come first, by tier, then BM25.
    /// With `facets` (values kept per facet), the same pass over the matches also counts the
    /// facets.
    #[allow(clippy::too_many_arguments)]
    fn ranked(
        &self,
        searcher: &tantivy::Searcher,
        query: &dyn Query,
        sort: Sort,
        exact: &Tiers,
        limit: usize,
        offset: usize,
        facets: Option<usize>,
    ) -> Result<Ranked> {
        let top = TopDocs::with_limit(limit.max(1)).and_offset(offset);
        if facets.is_some() {
            self.facets.warm(searcher)?;
        }
        let fc = FacetCollector {
            cache: &self.facets,
            keep: facets,
        };
        let (ranked, count, counts) = match sort {
            Sort::Relevance if !exact.is_empty() => {
                let exact = std::sync::Arc::new(exact.clone());
                let tweaked = top.tweak_score(move |seg: &tantivy::SegmentReader| {
                    let tiers = exact.get(&seg.segment_id()).cloned().unwrap_or_default();
                    move |doc: DocId, score: tantivy::Score| {
                        (tiers.get(&doc).copied().unwrap_or(0), score)
                    }
                });
                let (docs, count, counts) = self.scored(searcher, query, &(tweaked, Count, fc))?;
                (
                    docs.into_iter()
                        .map(|((_, score), addr)| (score, addr))
                        .collect(),
                    count,
                    counts,
                )
            }
            // One scored pass with the count and facets. Two passes (the top with tantivy's
            // block-max WAND pruning, then count and facets unscored) measured slower over
            // the benchmark's mixed queries at 1M records (facets p99 12.7 vs 9.0 ms): phrases
            // and deep pages pay their matching twice.
            Sort::Relevance => self.scored(searcher, query, &(top.order_by_score(), Count, fc))?,
            Sort::DateDesc | Sort::DateAsc => {
                let order = if sort == Sort::DateDesc {
                    Order::Desc
                } else {
                    Order::Asc
                };
                let (docs, count, counts) = searcher.search(
                    query,
                    &(top.order_by_fast_field::<i64>("date", order), Count, fc),
                )?;
                (
                    docs.into_iter().map(|(_, a)| (0.0, a)).collect(),
                    count,
                    counts,
                )
            }
            Sort::Citations => {
                let (docs, count, counts) = searcher.search(
                    query,
                    &(
                        top.order_by_fast_field::<u64>("citations", Order::Desc),
                        Count,
                        fc,
                    ),
                )?;
                (
                    docs.into_iter().map(|(_, a)| (0.0, a)).collect(),
                    count,
                    counts,
                )
            }
        };
        if facets.is_some() {
            self.forget_gone_segments(searcher);
        }
        Ok((ranked, count, counts))
    }

    /// Runs `query` with BM25 statistics read through the per-generation cache.
    fn scored<C: tantivy::collector::Collector>(
        &self,
        searcher: &tantivy::Searcher,
        query: &dyn Query,
        collector: &C,
    ) -> tantivy::Result<C::Fruit> {
        searcher.search_with_statistics_provider(query, collector, &self.stats.of(searcher))
    }

    pub(crate) fn hit(
        &self,
        searcher: &tantivy::Searcher,
        addr: DocAddress,
        score: f32,
    ) -> Result<Hit> {
        let doc: TantivyDocument = searcher.doc(addr)?;
        let s = |f: Field| {
            doc.get_first(f)
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string()
        };
        let u = |f: Field| doc.get_first(f).and_then(|v| v.as_u64());
        let rid = u(self.fields.rid).unwrap_or(0);
        Ok(Hit {
            rid,
            accession: s(self.fields.accession),
            repository: s(self.fields.repository),
            title: s(self.fields.stored_title),
            score,
            year: u(self.fields.year),
            cluster: u(self.fields.cluster).unwrap_or(rid),
            clustered: u(self.fields.clustered) == Some(1),
            citations: u(self.fields.citations).unwrap_or(0),
            also_in: Vec::new(),
            reasons: Vec::new(),
        })
    }

    /// Counts per facet value over the documents matching `query`: the `size` most frequent
    /// values of each facet (most first, ties by value), every year (latest first).
    pub fn facet_counts(
        &self,
        query: &dyn Query,
        size: usize,
    ) -> Result<BTreeMap<String, Vec<FacetCount>>> {
        Ok(facet_map(&self.count_facets(query)?, size))
    }

    fn count_facets(&self, query: &dyn Query) -> Result<FacetCounts> {
        let searcher = self.reader.searcher();
        self.facets.warm(&searcher)?;
        let counts = searcher.search(
            query,
            &FacetCollector {
                cache: &self.facets,
                keep: Some(usize::MAX),
            },
        )?;
        self.forget_gone_segments(&searcher);
        counts.ok_or_else(|| EngineError::Index("facets were not counted".into()))
    }

    fn forget_gone_segments(&self, searcher: &tantivy::Searcher) {
        let live: std::collections::HashSet<_> = searcher
            .segment_readers()
            .iter()
            .map(|s| s.segment_id())
            .collect();
        self.facets.retain(&live);
    }

    /// Searchable documents per repository (every repository, most documents first).
    pub fn repository_counts(&self) -> Result<Vec<(String, u64)>> {
        Ok(self
            .count_facets(&tantivy::query::AllQuery)?
            .top(0, usize::MAX))
    }

    /// The hit of record `rid` if it is indexed (live and public), read through the record id
    /// postings of each segment rather than a search.
    pub(crate) fn hit_of(
        &self,
        searcher: &tantivy::Searcher,
        rid: i64,
        score: f32,
    ) -> Result<Option<Hit>> {
        let term = Term::from_field_u64(self.fields.rid, rid as u64);
        for (ord, seg) in searcher.segment_readers().iter().enumerate() {
            let inverted = seg.inverted_index(self.fields.rid)?;
            let Some(mut postings) = inverted.read_postings(&term, IndexRecordOption::Basic)?
            else {
                continue;
            };
            let mut doc = tantivy::DocSet::doc(&postings);
            while doc != tantivy::TERMINATED {
                if !seg.is_deleted(doc) {
                    let addr = DocAddress::new(ord as u32, doc);
                    return self.hit(searcher, addr, score).map(Some);
                }
                doc = tantivy::DocSet::advance(&mut postings);
            }
        }
        Ok(None)
    }

    /// The document address of a record, if indexed.
    pub fn address(&self, rid: i64) -> Result<Option<DocAddress>> {
        let searcher = self.reader.searcher();
        let q = TermQuery::new(
            Term::from_field_u64(self.fields.rid, rid as u64),
            IndexRecordOption::Basic,
        );
        let top = searcher.search(&q, &TopDocs::with_limit(1).order_by_score())?;
        Ok(top.first().map(|(_, a)| *a))
    }

    /// Segments in the searched index (each one multiplies per-segment work).
    pub fn segment_count(&self) -> usize {
        self.reader.searcher().segment_readers().len()
    }

    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// The record ids of every document matching `req` (query and filters), in the request's
    /// sort order, every cluster member included; `limit` and `offset` are ignored. For exports that stream a whole result:
    /// ids come from the `rid` fast field, so no stored document is read.
    pub fn matching_rids(
        &self,
        req: &SearchRequest,
        synonyms: Option<&opendi_vocab::Synonyms>,
    ) -> Result<Vec<u64>> {
        let searcher = self.reader.searcher();
        let Prepared { query, exact, .. } = self.prepare(req, synonyms)?;
        let count = searcher.search(&query, &Count)?;
        if count == 0 {
            return Ok(Vec::new());
        }
        let (ranked, _, _) = self.ranked(&searcher, &*query, req.sort, &exact, count, 0, None)?;
        let addrs: Vec<DocAddress> = ranked.into_iter().map(|(_, a)| a).collect();
        let columns = searcher
            .segment_readers()
            .iter()
            .map(|s| s.fast_fields().u64("rid"))
            .collect::<tantivy::Result<Vec<_>>>()?;
        Ok(addrs
            .into_iter()
            .filter_map(|a| columns.get(a.segment_ord as usize)?.first(a.doc_id))
            .collect())
    }

    /// Facet values (organism, disease, tissue, cell type, omics type) holding a word that
    /// starts with `pattern` (case-insensitive), with how many documents carry each, most
    /// frequent first. Facet values are whole labels as sources wrote them, unlike the stemmed
    /// text fields, so they make readable suggestions.
    pub fn facet_values_matching(&self, pattern: &str, limit: usize) -> Result<Vec<FacetCount>> {
        let pattern = pattern.trim().to_lowercase();
        let searcher = self.reader.searcher();
        let f = &self.fields;
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        for field in [
            f.facet_organism,
            f.facet_disease,
            f.facet_tissue,
            f.facet_cell_type,
            f.facet_omics,
        ] {
            for seg in searcher.segment_readers() {
                let inverted = seg.inverted_index(field)?;
                let mut stream = inverted.terms().stream()?;
                while stream.advance() {
                    let Ok(value) = std::str::from_utf8(stream.key()) else {
                        continue;
                    };
                    let lower = value.to_lowercase();
                    let hit = lower
                        .split(|c: char| !c.is_alphanumeric())
                        .any(|w| w.starts_with(&pattern));
                    if hit {
                        *counts.entry(value.to_string()).or_default() +=
                            u64::from(stream.value().doc_freq);
                    }
                }
            }
        }
        let mut out: Vec<FacetCount> = counts
            .into_iter()
            .map(|(value, count)| FacetCount { value, count })
            .collect();
        out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
        out.truncate(limit);
        Ok(out)
    }

    /// The searcher of the last reload (for the read-only helpers in `portal.rs`).
    pub(crate) fn searcher(&self) -> tantivy::Searcher {
        self.reader.searcher()
    }
}

/// See [`SearchIndex::delete_all`].
fn delete_all(writer: &IndexWriter) -> Result<()> {
    writer.delete_query(Box::new(tantivy::query::AllQuery))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::schema::{Schema, FAST, INDEXED};
    use tantivy::{doc, Index};

    /// The writes of a rebuild after earlier commits on the same writer, as `Engine::reindex`
    /// does them: delete everything, then put every record again. With tantivy's
    /// `delete_all_documents` in place of `delete_all`, a few of these rounds lose documents
    /// (each of five runs failed, at rounds 9 to 81).
    #[test]
    fn documents_added_after_delete_all_survive_it() {
        let mut sb = Schema::builder();
        let rid = sb.add_u64_field("rid", INDEXED | FAST);
        let text = sb.add_text_field("text", tantivy::schema::TEXT);
        let schema = sb.build();
        let put = |w: &IndexWriter, i: u64| {
            w.delete_term(Term::from_field_u64(rid, i));
            w.add_document(doc!(rid => i, text => format!("record {i} about cells")))
                .unwrap();
        };
        let n = 120;
        for round in 0..150 {
            let index = Index::create_in_ram(schema.clone());
            let reader = index.reader().unwrap();
            let mut writer: IndexWriter = index.writer_with_num_threads(2, 32 << 20).unwrap();
            // Earlier writes, stamped later than the rebuild's puts of the same records.
            for i in 0..n {
                put(&writer, i);
            }
            for i in 3 * n / 4..n {
                put(&writer, i);
            }
            writer.commit().unwrap();
            delete_all(&writer).unwrap();
            for i in 0..n {
                put(&writer, i);
            }
            writer.commit().unwrap();
            reader.reload().unwrap();
            assert_eq!(reader.searcher().num_docs(), n, "round {round}");
        }
    }
}
