//! The record store: the source of truth. Raw and normalized records, provenance, history,
//! tombstones, shared publications and counters. The index is derived from it and can always
//! be rebuilt from its change log (`seq`).

mod postgres;
pub(crate) mod sqlite;
pub mod transfer;

pub use postgres::PgStore;
pub(crate) use sqlite::encode;
pub use sqlite::SqliteStore;

use crate::Result;
use opendi_model::{Dataset, Diagnostic, Publication};
use serde::Serialize;

/// A record to write, as the ingest pipeline hands it over.
#[derive(Debug, Clone)]
pub struct NewRecord {
    pub dataset: Dataset,
    pub raw: String,
    pub format: String,
    /// Where it was read from (file or URL).
    pub source: String,
    pub diagnostics: Vec<Diagnostic>,
    pub publication: Option<Publication>,
    /// The database-free work of writing this record, done ahead of time (see [`Engine::prepare`](crate::Engine::prepare)).
    pub prepared: Option<Prepared>,
}

impl NewRecord {
    /// The record a parser produced, as the store takes it.
    pub fn from_source(r: opendi_model::SourceRecord) -> Self {
        NewRecord::new(
            r.dataset,
            r.raw,
            r.format.to_string(),
            r.location.file,
            r.diagnostics,
            r.publication,
        )
    }

    pub fn new(
        dataset: Dataset,
        raw: String,
        format: String,
        source: String,
        diagnostics: Vec<Diagnostic>,
        publication: Option<Publication>,
    ) -> Self {
        NewRecord {
            dataset,
            raw,
            format,
            source,
            diagnostics,
            publication,
            prepared: None,
        }
    }
}

/// What writing a record costs apart from the database itself: serializing, hashing and
/// compressing it, and building its index document. An ingest computes it on the reader
/// thread so the single writer thread only writes; a store computes it itself when absent.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub hash: [u8; 32],
    /// lz4-compressed JSON of the normalized record.
    pub dataset: Vec<u8>,
    /// lz4-compressed raw source text.
    pub raw: Vec<u8>,
    pub diagnostics: String,
    /// lz4-compressed JSON of the record's own publication, if it is one.
    pub publication: Option<Vec<u8>>,
    /// The record's index document, without its record id (known only once stored).
    pub document: Option<tantivy::TantivyDocument>,
}

/// One write of a batch.
#[derive(Debug, Clone)]
pub enum Change {
    Upsert(Box<NewRecord>),
    Delete {
        repository: String,
        accession: String,
        source: String,
    },
}

/// What a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    New,
    Updated,
    Unchanged,
    Deleted,
    /// A deletion of a record the store never had (kept as a tombstone all the same).
    DeletedUnknown,
}

/// A stored record with its provenance.
#[derive(Debug, Clone, Serialize)]
pub struct StoredRecord {
    pub id: i64,
    pub repository: String,
    pub accession: String,
    pub version: i64,
    pub content_hash: String,
    pub format: String,
    pub source: String,
    /// Unix seconds.
    pub first_ingested: i64,
    pub last_ingested: i64,
    pub deleted: bool,
    pub seq: i64,
    pub dataset: Dataset,
    pub diagnostics: Vec<Diagnostic>,
}

/// A previous version of a record.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryEntry {
    pub version: i64,
    pub content_hash: String,
    pub format: String,
    pub source: String,
    pub ingested: i64,
    pub replaced: i64,
    pub deleted: bool,
    pub dataset: Dataset,
}

/// One entry of the change log: the record as it is now (tombstones included).
#[derive(Debug, Clone)]
pub struct ChangeRow {
    pub seq: i64,
    pub record: StoredRecord,
}

/// Whole-store figures.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StoreStats {
    pub records: u64,
    pub deleted: u64,
    pub with_errors: u64,
    pub publications: u64,
    pub history_versions: u64,
    pub last_seq: i64,
    pub per_repository: Vec<(String, u64)>,
    pub per_format: Vec<(String, u64)>,
}

/// The store's contract. The embedded default is SQLite; a PostgreSQL store for multi-node
/// deployments implements the same trait.
///
/// Invariant: every write that changes a record (insert, update, tombstone) takes a new,
/// strictly increasing `seq`, in the same transaction as the write.
pub trait Store: Send + Sync {
    /// Applies a batch in one transaction: each change's outcome and record id, and the other
    /// records whose cluster or counts the batch changed (they took new seqs too).
    fn apply(&self, batch: &[Change], now: i64) -> Result<Applied>;
    fn get(&self, id: i64) -> Result<Option<StoredRecord>>;
    /// The raw source text of a record's current version.
    fn raw(&self, id: i64) -> Result<Option<String>>;
    fn by_key(&self, repository: &str, accession: &str) -> Result<Option<i64>>;
    /// Records answering to an accession (primary or secondary), case-insensitively.
    fn find_accession(&self, accession: &str) -> Result<Vec<i64>>;
    fn history(&self, id: i64) -> Result<Vec<HistoryEntry>>;
    /// Changes with `seq > after`, oldest first, at most `limit`.
    fn changes_since(&self, after: i64, limit: usize) -> Result<Vec<ChangeRow>>;
    fn last_seq(&self) -> Result<i64>;
    /// A shared publication by PMID, DOI or PMCID.
    fn publication(
        &self,
        pmid: Option<&str>,
        doi: Option<&str>,
        pmcid: Option<&str>,
    ) -> Result<Option<Publication>>;
    fn stats(&self) -> Result<StoreStats>;
    /// Counts one view of a record's page (not a record change: no `seq`).
    fn add_view(&self, id: i64) -> Result<()>;
    /// Counts one download (export) of a record (not a record change: no `seq`).
    fn add_download(&self, id: i64) -> Result<()>;
    /// Adds many records' counts in one transaction (the engine batches page views).
    fn add_counts(&self, counts: &[(i64, Counters)]) -> Result<()>;
    fn counters(&self, id: i64) -> Result<Counters>;
    /// Replaces the precomputed similar lists of the given records, in one transaction (an
    /// empty list removes a record's list). Derived data: no `seq`.
    fn set_similar(&self, lists: &[(i64, Vec<Neighbour>)]) -> Result<()>;
    /// A record's precomputed similar list, most similar first.
    fn similar(&self, id: i64) -> Result<Vec<Neighbour>>;
    /// The records whose similar lists name any of `ids` (sorted, distinct).
    fn similar_listing(&self, ids: &[i64]) -> Result<Vec<i64>>;
    /// A record's cluster and citation/reanalysis counts (what its index document carries).
    fn link_counts(&self, id: i64) -> Result<LinkCounts>;
    /// A record's relations to other records, with reasons.
    fn relations(&self, id: i64) -> Result<Relations>;
    /// The other members of a record's cluster, with reasons (a cheap part of `relations`).
    fn also_in(&self, id: i64) -> Result<Vec<RecordRef>>;
    /// Clusters of more than one live record, largest first; each lists its members, the
    /// first (the cluster's head) without a reason, the others with theirs.
    fn clusters(&self, limit: usize) -> Result<Vec<Vec<RecordRef>>>;
    /// Like [`Store::changes_since`], restricted by `filter` (what harvesters and change feeds
    /// ask for: one repository, a window of ingest times, live records only).
    fn changes_filtered(
        &self,
        after: i64,
        limit: usize,
        filter: &ChangeFilter,
    ) -> Result<Vec<ChangeRow>>;
    /// Identity and ingest time of live records in id order (ids never change, so pages of
    /// this listing are stable), skipping the first `offset`.
    fn live_keys(&self, offset: u64, limit: usize) -> Result<Vec<RecordKey>>;
    /// The records with the most page views, most first (ties by id).
    fn most_viewed(&self, limit: usize) -> Result<Vec<(i64, Counters)>>;
    /// Whether other processes may write this store at the same time (a shared database):
    /// then a node's index follows the change log instead of being written beside the store.
    fn shared(&self) -> bool {
        false
    }
}

/// What [`Store::apply`] did.
#[derive(Debug, Clone, Default)]
pub struct Applied {
    pub outcomes: Vec<(Outcome, i64)>,
    /// Records outside the batch that took a new seq (a new cluster member, a new citation).
    pub touched: Vec<i64>,
}

/// Another record, named by a relation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordRef {
    pub id: i64,
    pub repository: String,
    pub accession: String,
    /// Why it is related, in words ("same GEO series GSE1234").
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reason: String,
}

/// A record's relations: its cluster ("also in"), the literature citing it and the records
/// declaring to reanalyse it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Relations {
    /// The cluster's head record id (the record's own id when it is alone).
    pub cluster: i64,
    pub also_in: Vec<RecordRef>,
    pub citations: u64,
    /// The citing records (the 50 latest).
    pub cited_by: Vec<RecordRef>,
    pub reanalyses: u64,
    pub reanalysed_by: Vec<RecordRef>,
}

/// One entry of a precomputed similar list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Neighbour {
    pub id: i64,
    pub score: f32,
    /// Why it is similar, in words ("same publication: PMID 33640016").
    pub reasons: Vec<String>,
}

/// The link figures an index document carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LinkCounts {
    pub cluster: i64,
    /// Whether the cluster has other members.
    pub clustered: bool,
    pub citations: u64,
    pub reanalyses: u64,
}

/// What [`Store::changes_filtered`] keeps. Times are unix seconds of `last_ingested`,
/// both bounds inclusive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeFilter {
    pub repository: Option<String>,
    pub from: Option<i64>,
    pub until: Option<i64>,
    /// Keep tombstones (harvesters and change feeds need them; exports do not).
    pub include_deleted: bool,
}

/// A record's identity and ingest time, without its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordKey {
    pub id: i64,
    pub repository: String,
    pub accession: String,
    pub last_ingested: i64,
}

/// Opens the store a deployment names: `database` is a `postgres://` URL, or `None` for the
/// embedded SQLite file in `data_dir`.
pub fn open(database: Option<&str>, data_dir: &std::path::Path) -> Result<Box<dyn Store>> {
    match database {
        None => Ok(Box::new(SqliteStore::open(&data_dir.join("store.sqlite"))?)),
        Some(url) if is_postgres_url(url) => Ok(Box::new(PgStore::open(url)?)),
        Some(other) => Err(crate::EngineError::Incompatible(format!(
            "unsupported database {other:?}: give a postgres:// URL, or none for the embedded store"
        ))),
    }
}

/// Whether `url` names a PostgreSQL database.
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Usage counters of a record, kept by the server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    pub views: u64,
    pub downloads: u64,
}
