//! The record store: the source of truth. Raw and normalized records, provenance, history,
//! tombstones, shared publications and counters. The index is derived from it and can always
//! be rebuilt from its change log (`seq`).

pub mod packing;
mod postgres;
pub(crate) mod sqlite;
pub mod transfer;

pub use postgres::PgStore;
pub(crate) use sqlite::encode;
pub use sqlite::SqliteStore;

use crate::Result;
use opendi_model::{Dataset, Diagnostic, Publication};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};

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
    /// The normalized record's JSON, packed (`packing.rs`): alone, or with its raw source.
    pub dataset: Vec<u8>,
    /// The raw source text, packed: [`packing::RECORD_PAIR`] or [`packing::RECORD_TRIPLE`]
    /// alone when it is packed with the JSON in `dataset`, or (before its format has a
    /// dictionary) with the JSON as the dictionary (see `sqlite::pack_raw`).
    pub raw: Vec<u8>,
    pub diagnostics: String,
    /// The record's own publication, if it is one (and has a key): the data of its row in
    /// the shared `publications` table.
    pub publication: Option<PreparedPublication>,
    /// The record's index document, without its record id (known only once stored).
    pub document: Option<tantivy::TantivyDocument>,
}

/// Where a record's own publication is kept.
#[derive(Debug, Clone)]
pub enum PreparedPublication {
    /// In the record's triple ([`packing::RECORD_TRIPLE`]): the row names the record.
    InRecord,
    /// Packed alone (before the record's format has a dictionary): the row holds it.
    Packed(Vec<u8>),
}

impl PreparedPublication {
    /// The `data` of the publication's row, once the record's id is known.
    pub fn row(&self, record: i64) -> Vec<u8> {
        match self {
            PreparedPublication::InRecord => packing::publication_ref(record),
            PreparedPublication::Packed(data) => data.clone(),
        }
    }
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
    /// The live records among `ids`, in no particular order, each with only the fields a list
    /// entry shows ([`opendi_model::DatasetHead`]); missing and deleted ids are left out.
    /// What a search page reads for its hits: stores answer it in one statement.
    fn heads(&self, ids: &[i64]) -> Result<Vec<(i64, Dataset)>> {
        let mut out = Vec::with_capacity(ids.len());
        for &id in ids {
            if let Some(r) = self.get(id)?.filter(|r| !r.deleted) {
                out.push((id, r.dataset));
            }
        }
        Ok(out)
    }
    /// The raw source text of a record's current version.
    fn raw(&self, id: i64) -> Result<Option<String>>;
    fn by_key(&self, repository: &str, accession: &str) -> Result<Option<i64>>;
    /// The record of `(repository, accession)`, deleted or not (a dataset page's read).
    fn get_by_key(&self, repository: &str, accession: &str) -> Result<Option<StoredRecord>> {
        match self.by_key(repository, accession)? {
            Some(id) => self.get(id),
            None => Ok(None),
        }
    }
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
    /// Whether any similar list is stored. A store that cannot say answers false: the engine
    /// then recomputes lists after rebuilding its index, as it must when none were kept.
    fn has_similar_lists(&self) -> Result<bool> {
        Ok(false)
    }
    /// Around a rewrite of every similar list: `true` before, `false` after. A store may
    /// drop what serves only [`Store::similar_listing`] meanwhile and rebuild it once after:
    /// SQLite's index by neighbour took a random insert per list entry (20 per record). The
    /// lists themselves stay readable throughout.
    fn similar_bulk(&self, _rewriting: bool) -> Result<()> {
        Ok(())
    }
    /// A record's precomputed similar list, most similar first.
    fn similar(&self, id: i64) -> Result<Vec<Neighbour>>;
    /// The records whose similar lists name any of `ids` (sorted, distinct).
    fn similar_listing(&self, ids: &[i64]) -> Result<Vec<i64>>;
    /// A record's cluster and citation/reanalysis counts (what its index document carries).
    fn link_counts(&self, id: i64) -> Result<LinkCounts>;
    /// A record's cluster alone (its head's id; its own id when it is in none): what a
    /// similar list needs, without the counts' joins.
    fn cluster(&self, id: i64) -> Result<i64> {
        Ok(self.link_counts(id)?.cluster)
    }
    /// The live records among `ids`, in their order, each with its [`Store::cluster`]: what
    /// the all-records similar job reads for each list. SQLite reads them in one transaction;
    /// this default reads them one by one.
    fn records_with_clusters(&self, ids: &[i64]) -> Result<Vec<(StoredRecord, i64)>> {
        let mut out = Vec::with_capacity(ids.len());
        for &id in ids {
            if let Some(r) = self.get(id)?.filter(|r| !r.deleted) {
                out.push((r, self.cluster(id)?));
            }
        }
        Ok(out)
    }
    /// [`Store::link_counts`] of each of `ids`, in their order: what a batch's index documents
    /// carry. Stores read them in one transaction.
    fn link_counts_many(&self, ids: &[i64]) -> Result<Vec<LinkCounts>> {
        ids.iter().map(|&id| self.link_counts(id)).collect()
    }
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
    /// Records a curator's decision about two live records (`a` != `b`) and recomputes the
    /// clusters it changes, in one transaction: every record whose cluster changed takes a
    /// new `seq`. The decision is kept by repository and accession, so it outlives re-ingest,
    /// backup and `opendi migrate`; a later decision about the same pair replaces it.
    fn curate(
        &self,
        action: CurationAction,
        a: i64,
        b: i64,
        note: &str,
        now: i64,
    ) -> Result<Curated>;
    /// Every curation, oldest first.
    fn curations(&self) -> Result<Vec<Curation>>;
    /// Whether other processes may write this store at the same time (a shared database):
    /// then a node's index follows the change log instead of being written beside the store.
    fn shared(&self) -> bool {
        false
    }
    /// How this store compresses its blobs (its dictionaries): what [`encode`] packs with.
    fn packer(&self) -> &packing::Packer;
}

/// What [`Store::apply`] did.
#[derive(Debug, Clone, Default)]
pub struct Applied {
    pub outcomes: Vec<(Outcome, i64)>,
    /// Records outside the batch that took a new seq (a new cluster member, a new citation).
    pub touched: Vec<i64>,
}

/// What a curator decided about two records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CurationAction {
    /// The two are one study: one cluster, whatever their identity keys say.
    Merge,
    /// The two are not one study: they are never in one cluster, however they are
    /// connected (see `Curations` in `store/mod.rs` for where a record tied to both goes).
    Split,
}

impl CurationAction {
    /// The name stored in the curations table.
    pub fn as_str(self) -> &'static str {
        match self {
            CurationAction::Merge => "merge",
            CurationAction::Split => "split",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "merge" => Some(CurationAction::Merge),
            "split" => Some(CurationAction::Split),
            _ => None,
        }
    }
}

/// A stored curation. The pair is kept in a canonical order (`a` sorts before `b` by
/// repository, then accession), so one pair has one row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Curation {
    pub action: CurationAction,
    pub a_repository: String,
    pub a_accession: String,
    pub b_repository: String,
    pub b_accession: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub note: String,
    /// Unix seconds.
    pub created: i64,
}

/// What [`Store::curate`] did.
#[derive(Debug, Clone, Default)]
pub struct Curated {
    /// Records whose cluster changed (they took new seqs).
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

/// A member's reason when a curator merged it: with the curator's note, and the record it
/// was merged with when that is not the record whose page lists it.
pub(crate) fn merged_reason(note: &str, with: Option<&str>) -> String {
    let mut s = "merged by curator".to_string();
    if let Some(w) = with {
        s.push_str(&format!(" with {w}"));
    }
    if !note.trim().is_empty() {
        s.push_str(&format!(": {}", note.trim()));
    }
    s
}

/// The curations between stored records, as the cluster walk reads them: live merges are
/// edges; a split is a cannot-link constraint.
///
/// A split keeps its two records out of one cluster however they are connected: the walk
/// never takes in a record split from one it has taken, and a record tied to both sides
/// stays with the side the walk reaches first (the walk starts from the lowest record id
/// and visits keys and holders in order, so the result is deterministic; in practice the
/// side stored first). A split therefore wins over merges that contradict it.
#[derive(Debug, Default)]
pub(crate) struct Curations {
    merges: HashMap<i64, Vec<i64>>,
    splits: HashMap<i64, Vec<i64>>,
}

impl Curations {
    /// From (record, other, is a merge, both live) rows, each pair seen from both sides.
    pub(crate) fn from_edges(edges: Vec<(i64, i64, bool, bool)>) -> Self {
        let mut c = Curations::default();
        for (r, o, merge, live) in edges {
            match (merge, live) {
                (true, true) => c.merges.entry(r).or_default().push(o),
                (false, _) => c.splits.entry(r).or_default().push(o),
                // A merge with a deleted record joins nothing (until it comes back).
                (true, false) => {}
            }
        }
        c
    }
}

/// One cluster walk (see `component` in each store): the stores feed it keys and holders
/// in their order; it decides who is taken in.
pub(crate) struct Walk<'a> {
    curations: &'a Curations,
    placed: &'a BTreeSet<i64>,
    seen: BTreeSet<i64>,
    /// Records split from a member: never taken in.
    banned: BTreeSet<i64>,
    seen_keys: BTreeSet<String>,
    frontier: Vec<i64>,
}

impl<'a> Walk<'a> {
    pub(crate) fn new(seed: i64, curations: &'a Curations, placed: &'a BTreeSet<i64>) -> Self {
        let mut w = Walk {
            curations,
            placed,
            seen: BTreeSet::new(),
            banned: BTreeSet::new(),
            seen_keys: BTreeSet::new(),
            frontier: Vec::new(),
        };
        w.admit(seed);
        w
    }

    /// The next member whose keys and merges to follow.
    #[allow(clippy::should_implement_trait)]
    pub(crate) fn next(&mut self) -> Option<i64> {
        self.frontier.pop()
    }

    /// Whether a key was followed already, with every holder taken in.
    pub(crate) fn key_done(&self, key: &str) -> bool {
        self.seen_keys.contains(key)
    }

    /// Takes in a key's holders. False when the cluster reached its size cap.
    pub(crate) fn take_key(&mut self, key: String, holders: Vec<i64>) -> bool {
        // A key with a holder left out stays open: it is followed again from each member
        // holding it (the left-out record stays out: `banned` only grows).
        let mut complete = true;
        for h in holders {
            if self.seen.contains(&h) {
                continue;
            }
            if self.banned.contains(&h) || self.placed.contains(&h) {
                complete = false;
                continue;
            }
            if self.seen.len() >= MAX_WALK {
                tracing::warn!(key = %key, "cluster capped at {MAX_WALK} records");
                return false;
            }
            self.admit(h);
        }
        if complete {
            self.seen_keys.insert(key);
        }
        true
    }

    /// Takes in the records a curator merged with `r`. False at the size cap.
    pub(crate) fn take_merged(&mut self, r: i64) -> bool {
        let curations = self.curations;
        for &o in curations.merges.get(&r).into_iter().flatten() {
            if self.seen.contains(&o) || self.banned.contains(&o) || self.placed.contains(&o) {
                continue;
            }
            if self.seen.len() >= MAX_WALK {
                tracing::warn!("cluster capped at {MAX_WALK} records");
                return false;
            }
            self.admit(o);
        }
        true
    }

    fn admit(&mut self, r: i64) {
        self.seen.insert(r);
        self.banned
            .extend(self.curations.splits.get(&r).into_iter().flatten());
        self.frontier.push(r);
    }

    pub(crate) fn members(self) -> BTreeSet<i64> {
        self.seen
    }
}

/// Components larger than this stop growing: a key shared by thousands of records is a
/// catalogue-wide identifier, not one study.
pub(crate) const MAX_WALK: usize = 500;

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
