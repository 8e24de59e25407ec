//! The opendi engine: the record store (source of truth), the search index derived from it,
//! similarity and statistics, behind one `Engine` facade.
//!
//! The engine receives normalized records; it never parses a source format, and it knows
//! nothing of HTTP or the command line.

pub mod backup;
mod bm25;
mod cache;
mod exclude;
mod facets;
mod filter;
mod index;
pub mod links;
mod portal;
pub mod query;
pub mod similar;
mod stem;
pub mod store;
pub mod text;

pub use index::{
    FacetCount, Hit, ParsedQuery, SearchIndex, SearchRequest, SearchResult, Sort, FACETS,
};
use opendi_model::{Dataset, Publication};
pub use opendi_vocab::VocabConfig;
pub use portal::{Highlighter, Suggestion, TermCount};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
pub use store::{
    Applied, Change, ChangeFilter, ChangeRow, Counters, Curated, Curation, CurationAction,
    HistoryEntry, LinkCounts, Neighbour, NewRecord, Outcome, PgStore, RecordKey, RecordRef,
    Relations, SqliteStore, Store, StoreStats, StoredRecord,
};
use tantivy::IndexWriter;

/// Engine failures. `NotFound` and `Incompatible` are the caller's to explain; the rest are
/// internal (a broken disk, a bug).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A file-system operation failed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The embedded database failed.
    #[error("store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The shared database (PostgreSQL) failed or could not be reached.
    #[error("database: {0}")]
    Database(String),
    /// The search index failed.
    #[error("index: {0}")]
    Index(String),
    /// A stored record could not be decoded.
    #[error("corrupt stored record: {0}")]
    Corrupt(String),
    /// The data directory was written by another version and cannot be used as is.
    #[error("{0}")]
    Incompatible(String),
    /// A record the caller named does not exist (or is deleted).
    #[error("{0}")]
    NotFound(String),
    /// The caller asked for something that cannot be done as asked.
    #[error("{0}")]
    Invalid(String),
    /// Another process holds the index writer.
    #[error("another opendi process is writing to this data directory")]
    Busy,
}

impl From<tantivy::TantivyError> for EngineError {
    fn from(e: tantivy::TantivyError) -> Self {
        match e {
            tantivy::TantivyError::LockFailure(..) => EngineError::Busy,
            e => EngineError::Index(e.to_string()),
        }
    }
}

impl From<serde_json::Error> for EngineError {
    fn from(e: serde_json::Error) -> Self {
        EngineError::Corrupt(e.to_string())
    }
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;

/// Where and how the engine keeps its data.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub data_dir: PathBuf,
    /// A `postgres://` URL of a shared store; `None` is the embedded store in `data_dir`.
    pub database: Option<String>,
    /// Memory the index writer may buffer before flushing a segment ([`default_index_heap`]).
    pub index_heap_bytes: usize,
    /// Where the vocabularies for query synonyms are (read at the first search that needs
    /// them).
    pub vocab: VocabConfig,
    /// Changes a catch-up of the index applies between commits (see [`Engine::catch_up`]).
    pub catch_up_commit: u64,
}

impl EngineConfig {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        EngineConfig {
            data_dir: data_dir.into(),
            database: None,
            index_heap_bytes: default_index_heap(),
            vocab: VocabConfig::from_env(),
            catch_up_commit: INDEX_COMMIT_EVERY,
        }
    }
}

/// Records a bulk load (an ingest, an index catch-up) adds between index commits: searchable in
/// steps, and a killed load re-indexes at most this many from the store. With the default
/// [`default_index_heap`] each indexing thread's segment fills at about this many records
/// (about 2 KB of buffer a record), so a commit seldom cuts a segment short. Every 200,000
/// with a 256 MB heap, a 1M-record ingest wrote about 20 segments of 50,000 records and merged
/// 16 of them while it ran (10% of its CPU in the merge thread); now it writes 4 of 250,000
/// and merges none.
pub const INDEX_COMMIT_EVERY: u64 = 500_000;

/// The index writer's buffer: `$OPENDI_INDEX_HEAP_MB` megabytes when set, else 1 GB, or an
/// eighth of the machine's memory when that is less (at least 256 MB). Anserini gives Lucene
/// 2 GB by default; here 2 GB (committing every 1M records) measured no faster than 1 GB on
/// 1M generated records, and held 1.1 GB more.
pub fn default_index_heap() -> usize {
    let total = std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| {
        let line = m.lines().find(|l| l.starts_with("MemTotal:"))?;
        let kb: usize = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb * 1024)
    });
    index_heap(std::env::var("OPENDI_INDEX_HEAP_MB").ok().as_deref(), total)
}

/// [`default_index_heap`] from the variable's value and the machine's memory in bytes.
fn index_heap(setting: Option<&str>, memory: Option<usize>) -> usize {
    const MB: usize = 1 << 20;
    if let Some(mb) = setting.and_then(|v| v.trim().parse::<usize>().ok()) {
        return mb.max(64) * MB;
    }
    memory.map_or(1024 * MB, |bytes| (bytes / 8).clamp(256 * MB, 1024 * MB))
}

/// Which records may have a document, for a pass over the change log that replaces them. Each
/// queued delete costs tantivy about 1 KB until the next commit (a term query's scoring
/// table), and a rebuild of a million records from an empty index held a gigabyte of deletes
/// of documents that did not exist; from an empty index only the pass's own documents are
/// deleted.
enum Indexed {
    /// The index had documents before the pass: any record may have one.
    Any,
    /// The pass started from an empty index: the records it added so far.
    Added(rustc_hash::FxHashSet<i64>),
}

impl Indexed {
    /// Judged from the committed index: a catch-up starts with no uncommitted document in the
    /// writer (it runs at open, and on a follower, whose index only catch-ups write).
    fn before_pass(index: &SearchIndex) -> Indexed {
        if index.num_docs() == 0 {
            Indexed::Added(Default::default())
        } else {
            Indexed::Any
        }
    }

    /// Deletes the record's document if it may have one.
    fn forget(&mut self, index: &SearchIndex, w: &IndexWriter, id: i64) {
        match self {
            Indexed::Any => index.delete(w, id),
            Indexed::Added(ids) => {
                if ids.remove(&id) {
                    index.delete(w, id);
                }
            }
        }
    }

    fn added(&mut self, id: i64) {
        if let Indexed::Added(ids) = self {
            ids.insert(id);
        }
    }
}

/// Whether a stored record belongs in the search index: live and public.
///
/// Private records (OmicsDI's `isPrivate`) are kept out of the index altogether rather than
/// indexed with a flag that every query filters on: tantivy's term dictionaries hold the
/// words of every indexed document, and autocomplete, frequent terms and facet-value
/// suggestions read those dictionaries directly, so a flag would still leak a private record's
/// words and inflate its counts. Everything public (search, facets, suggestions, similar
/// datasets, statistics) reads the index, so one rule here covers all of them.
pub fn searchable(rec: &StoredRecord) -> bool {
    !rec.deleted && !rec.dataset.is_private
}

/// The data directory's layout version; refused when newer than this build.
pub const DATA_DIR_VERSION: u32 = 1;

pub struct Engine {
    store: Box<dyn Store>,
    index: SearchIndex,
    writer: Mutex<Option<IndexWriter>>,
    config: EngineConfig,
    counts: Mutex<PendingCounts>,
    synonyms: OnceLock<Arc<opendi_vocab::Synonyms>>,
    /// Records changed since the last commit: their similar lists (and those they enter or
    /// leave) are recomputed once the index has them.
    similar_pending: Mutex<BTreeSet<i64>>,
    /// Commits leave the similar lists alone (a bulk load followed by `similar --all`).
    similar_deferred: std::sync::atomic::AtomicBool,
    tuning: similar::Tuning,
}

/// Loads the query synonyms of `config` into the process's cache now rather than at the first
/// search that needs them: a server calls it on a thread of its own at start, so the files are
/// read while the index opens and off the request path.
pub fn preload_synonyms(config: &VocabConfig) {
    shared_synonyms(config);
}

/// Query synonyms, loaded once per vocabulary directory and process: loading HPO and the
/// Cell Ontology takes a while, and tests and tools open many engines over the same files.
fn shared_synonyms(config: &VocabConfig) -> Arc<opendi_vocab::Synonyms> {
    static LOADED: Mutex<Vec<(Option<PathBuf>, Arc<opendi_vocab::Synonyms>)>> =
        Mutex::new(Vec::new());
    let mut loaded = LOADED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, s)) = loaded.iter().find(|(dir, _)| *dir == config.dir) {
        return s.clone();
    }
    let started = std::time::Instant::now();
    let vocab = opendi_vocab::Vocabulary::load(config);
    let concepts = vocab.concepts.len();
    let s = Arc::new(opendi_vocab::Synonyms::new(vocab));
    tracing::info!(
        concepts,
        millis = started.elapsed().as_millis() as u64,
        "query synonyms loaded"
    );
    loaded.push((config.dir.clone(), s.clone()));
    s
}

/// Page views and downloads counted in memory and written together at most every
/// [`COUNTS_FLUSH`]: a page view then costs no write transaction of its own (under load, one
/// write per view serialized every page on the store's writer). Reads add what is pending, a
/// clean shutdown writes it; a crash loses at most the last interval's counts.
struct PendingCounts {
    by_id: std::collections::HashMap<i64, Counters>,
    since: std::time::Instant,
}

const COUNTS_FLUSH: std::time::Duration = std::time::Duration::from_secs(1);

/// A computed neighbour with the reasons of its explicit relations (direction-dependent).
type Listed = (similar::Found, Vec<String>);

/// Whole-engine statistics.
#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    /// Everything the store holds, private records included: for operators, never for the
    /// public pages (they use `indexed_documents` and `public_per_repository`).
    pub store: StoreStats,
    /// Searchable records: live and public.
    pub indexed_documents: u64,
    /// Searchable records per repository, most first.
    pub public_per_repository: Vec<(String, u64)>,
    pub index_seq: i64,
    pub facets: std::collections::BTreeMap<String, Vec<FacetCount>>,
}

/// Holds `dir`'s open lock until dropped. Processes open a data directory one at a time: the
/// first open creates the layout marker, the store's tables and the index, and two processes
/// creating them at once (an ingest and a `stats` started beside it) read each other's
/// half-written files or find SQLite busy switching to WAL. Only the opening is serialized
/// (milliseconds); catching the index up and all later reads and writes are not.
fn lock_for_open(dir: &Path) -> Result<std::fs::File> {
    std::fs::create_dir_all(dir)?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("open.lock"))?;
    file.lock()?;
    Ok(file)
}

pub(crate) fn check_layout(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let marker = dir.join("VERSION");
    match std::fs::read_to_string(&marker) {
        Ok(s) => {
            let v: u32 = s.trim().parse().map_err(|_| {
                EngineError::Incompatible(format!("unreadable {}", marker.display()))
            })?;
            if v > DATA_DIR_VERSION {
                return Err(EngineError::Incompatible(format!(
                    "{} was written by a newer opendi (layout {v}; this build reads up to {DATA_DIR_VERSION})",
                    dir.display()
                )));
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Ok(std::fs::write(marker, format!("{DATA_DIR_VERSION}\n"))?)
        }
        Err(e) => Err(e.into()),
    }
}

impl Engine {
    /// Opens (or creates) the engine: the store `config.database` names (the embedded one in
    /// `config.data_dir` by default) and the index in `config.data_dir`, and brings the index
    /// up to date with the store (after a crash, the index may lag behind what the store
    /// committed; on a shared store, other nodes may have written since).
    pub fn open(config: EngineConfig) -> Result<Engine> {
        let opening = lock_for_open(&config.data_dir)?;
        check_layout(&config.data_dir)?;
        let store = store::open(config.database.as_deref(), &config.data_dir)?;
        let index = SearchIndex::open(&config.data_dir.join("index"))?;
        drop(opening);
        Self::assemble(store, index, config)
    }

    /// Opens the engine over any store (the index still lives in `config.data_dir`).
    pub fn with_store(store: Box<dyn Store>, config: EngineConfig) -> Result<Engine> {
        let opening = lock_for_open(&config.data_dir)?;
        let index = SearchIndex::open(&config.data_dir.join("index"))?;
        drop(opening);
        Self::assemble(store, index, config)
    }

    fn assemble(store: Box<dyn Store>, index: SearchIndex, config: EngineConfig) -> Result<Engine> {
        let engine = Engine {
            store,
            index,
            writer: Mutex::new(None),
            config,
            counts: Mutex::new(PendingCounts {
                by_id: Default::default(),
                since: std::time::Instant::now(),
            }),
            synonyms: OnceLock::new(),
            similar_pending: Mutex::new(BTreeSet::new()),
            similar_deferred: std::sync::atomic::AtomicBool::new(false),
            tuning: similar::Tuning::default(),
        };
        let committed = engine.index.committed_seq()?;
        if engine.store.last_seq()? > committed {
            // An index that never committed over a store that holds lists was rebuilt (a new
            // schema, a deleted index directory, a restore): it gets the same records back,
            // so the stored lists stand. Recomputing them all cost an hour at 5M records on
            // the first open after an upgrade.
            let rebuilt = committed == 0 && engine.store.has_similar_lists()?;
            match engine.catch_up() {
                // Another process (an ingest in progress) holds the writer and will commit
                // these changes itself; reading what is committed so far is still correct.
                Err(EngineError::Busy) => tracing::info!(
                    "index behind the store while another process writes; reading as is"
                ),
                other => {
                    other?;
                    // On the embedded store this process is the only writer: the records the
                    // index lacked (a crash before the index commit) get their lists now. On a
                    // shared store the node that wrote them does it.
                    if !engine.store.shared() && !rebuilt {
                        engine.refresh_similar()?;
                    }
                }
            }
        }
        engine.similar_pending_clear();
        Ok(engine)
    }

    pub fn store(&self) -> &dyn Store {
        &*self.store
    }

    /// Counts one view of a record's page (written with others, see [`PendingCounts`]).
    pub fn add_view(&self, id: i64) -> Result<()> {
        self.add_count(
            id,
            Counters {
                views: 1,
                downloads: 0,
            },
        )
    }

    /// Counts one download (export) of a record.
    pub fn add_download(&self, id: i64) -> Result<()> {
        self.add_count(
            id,
            Counters {
                views: 0,
                downloads: 1,
            },
        )
    }

    fn add_count(&self, id: i64, add: Counters) -> Result<()> {
        let mut p = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let c = p.by_id.entry(id).or_default();
        c.views += add.views;
        c.downloads += add.downloads;
        if p.since.elapsed() >= COUNTS_FLUSH || p.by_id.len() >= 10_000 {
            drop(p);
            self.flush_counts()?;
        }
        Ok(())
    }

    /// Writes the pending view and download counts to the store.
    pub fn flush_counts(&self) -> Result<()> {
        let batch: Vec<(i64, Counters)> = {
            let mut p = self.counts.lock().unwrap_or_else(|e| e.into_inner());
            p.since = std::time::Instant::now();
            p.by_id.drain().collect()
        };
        if batch.is_empty() {
            return Ok(());
        }
        if let Err(e) = self.store.add_counts(&batch) {
            // Keep them for the next try rather than lose them.
            let mut p = self.counts.lock().unwrap_or_else(|e| e.into_inner());
            for (id, add) in batch {
                let c = p.by_id.entry(id).or_default();
                c.views += add.views;
                c.downloads += add.downloads;
            }
            return Err(e);
        }
        Ok(())
    }

    /// A record's views and downloads, the pending ones included.
    pub fn counters(&self, id: i64) -> Result<Counters> {
        let mut c = self.store.counters(id)?;
        let p = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(add) = p.by_id.get(&id) {
            c.views += add.views;
            c.downloads += add.downloads;
        }
        Ok(c)
    }

    pub fn index(&self) -> &SearchIndex {
        &self.index
    }

    fn with_writer<T>(&self, f: impl FnOnce(&mut IndexWriter) -> Result<T>) -> Result<T> {
        let mut guard = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        if guard.is_none() {
            *guard = Some(self.index.writer(self.config.index_heap_bytes)?);
        }
        f(guard.as_mut().expect("writer"))
    }

    /// Applies the store's changes the index has not seen yet. Returns how many were applied.
    /// A long catch-up (a rebuild after an upgrade or a lost index) commits every
    /// [`EngineConfig::catch_up_commit`] changes, so a killed one resumes where it stopped, and
    /// reports its progress at each.
    pub fn catch_up(&self) -> Result<u64> {
        let mut applied = 0u64;
        let start = self.index.committed_seq()?;
        let mut seq = start;
        let total = self.store.last_seq()?.saturating_sub(start).max(0) as u64;
        let began = std::time::Instant::now();
        let mut docs = Indexed::before_pass(&self.index);
        self.with_writer(|w| {
            let mut since_commit = 0u64;
            loop {
                let rows = self.store.changes_since(seq, 2000)?;
                if rows.is_empty() {
                    break;
                }
                let mut pending = self
                    .similar_pending
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                pending.extend(rows.iter().map(|r| r.record.id));
                drop(pending);
                seq = self.replace_documents(w, &rows, &mut docs)?.0;
                applied += rows.len() as u64;
                since_commit += rows.len() as u64;
                if since_commit >= self.config.catch_up_commit.max(1) {
                    self.index.commit(w, seq)?;
                    since_commit = 0;
                    tracing::info!(
                        target: "opendi::progress",
                        "search index catching up with the store: {applied} of {total} changes \
                         ({:.0} s)",
                        began.elapsed().as_secs_f64()
                    );
                }
            }
            self.index.commit(w, seq)
        })?;
        if applied > 0 {
            tracing::info!(applied, seq, "index caught up with the store");
        }
        Ok(applied)
    }

    /// Replaces the documents of a batch of change-log rows by their records' versions in the
    /// rows (none for a tombstone or a private record). The log may hold a record more than
    /// once: its latest version is what stays. Returns the last row's seq and the documents
    /// added.
    fn replace_documents(
        &self,
        w: &IndexWriter,
        rows: &[ChangeRow],
        docs: &mut Indexed,
    ) -> Result<(i64, u64)> {
        let mut seq = 0;
        let mut added = 0;
        for row in rows {
            docs.forget(&self.index, w, row.record.id);
            if searchable(&row.record) {
                w.add_document(self.document_of(&row.record)?)?;
                docs.added(row.record.id);
                added += 1;
            }
            seq = row.seq;
        }
        Ok((seq, added))
    }

    /// The index document of a stored record.
    fn document_of(&self, rec: &StoredRecord) -> Result<tantivy::TantivyDocument> {
        let pubs = self.cited_publications(&rec.dataset, None)?;
        Ok(self
            .index
            .document(rec, &pubs, self.store.link_counts(rec.id)?))
    }

    /// The shared publications a dataset cites, except `own` (the record's own publication).
    pub fn cited_publications(
        &self,
        d: &Dataset,
        own: Option<&Publication>,
    ) -> Result<Vec<Publication>> {
        let mut out = Vec::new();
        for r in &d.publications {
            if let Some(own) = own {
                if (r.pmid.is_some() && r.pmid == own.pmid) || (r.doi.is_some() && r.doi == own.doi)
                {
                    continue;
                }
            }
            if r.pmid.is_none() && r.doi.is_none() && r.pmcid.is_none() {
                continue;
            }
            if let Some(p) =
                self.store
                    .publication(r.pmid.as_deref(), r.doi.as_deref(), r.pmcid.as_deref())?
            {
                if own.is_none_or(|o| o.title != p.title) {
                    out.push(p);
                }
            }
        }
        Ok(out)
    }

    /// Writes a batch to the store (one transaction) and hands its changes to the index
    /// writer. Changes become searchable at the next [`Engine::commit`]; the store has them
    /// already, so a crash before that commit loses nothing (the next open catches up).
    /// Records outside the batch whose cluster or citation counts changed are re-indexed too.
    pub fn apply(&self, batch: &[Change], now: i64) -> Result<Vec<(Outcome, i64)>> {
        if self.store.shared() {
            return self.apply_shared(batch, now);
        }
        let Applied { outcomes, touched } = self.store.apply(batch, now)?;
        self.note_changed(&outcomes, &touched);
        let indexed: Vec<i64> = batch
            .iter()
            .zip(&outcomes)
            .filter_map(|(change, (outcome, id))| match (change, outcome) {
                (_, Outcome::Unchanged) => None,
                (Change::Upsert(r), _) if !r.dataset.is_private => Some(*id),
                _ => None,
            })
            .collect();
        let mut counts = self.store.link_counts_many(&indexed)?.into_iter();
        self.with_writer(|w| {
            for (change, (outcome, id)) in batch.iter().zip(&outcomes) {
                match (change, outcome) {
                    (_, Outcome::Unchanged) => {}
                    (Change::Upsert(r), _) => {
                        // A new record has a new id (rows are never deleted, so ids are never
                        // reused): it has no document to replace.
                        if *outcome != Outcome::New {
                            self.index.delete(w, *id);
                        }
                        if r.dataset.is_private {
                            // See `searchable`: a private record never enters the index.
                            continue;
                        }
                        let mut doc = match r.prepared.as_ref().and_then(|p| p.document.clone()) {
                            Some(doc) => doc,
                            None => {
                                let pubs =
                                    self.cited_publications(&r.dataset, r.publication.as_ref())?;
                                self.index.document_without_id(&r.dataset, &pubs)
                            }
                        };
                        let counts = counts.next().expect("counts for every indexed record");
                        self.index.add_identity(&mut doc, *id, counts);
                        w.add_document(doc)?;
                    }
                    (Change::Delete { .. }, _) => self.index.delete(w, *id),
                }
            }
            self.reindex_touched(w, touched)
        })?;
        Ok(outcomes)
    }

    /// Does the database-free work of writing a record ahead of time (serializing, hashing,
    /// compressing, building its index document), so that it can run on another thread than
    /// the single writer. Optional: [`Engine::apply`] does what was not prepared.
    pub fn prepare(&self, r: &mut NewRecord) -> Result<()> {
        let mut p = store::encode(r, self.store.packer())?;
        if self.store.shared() {
            // Indexed by following the change log (see `apply_shared`): no document needed.
            r.prepared = Some(p);
            return Ok(());
        }
        let pubs = self.cited_publications(&r.dataset, r.publication.as_ref())?;
        p.document = Some(self.index.document_without_id(&r.dataset, &pubs));
        r.prepared = Some(p);
        Ok(())
    }

    /// Makes everything applied so far searchable, and brings the similar lists up to date
    /// with it.
    pub fn commit(&self) -> Result<()> {
        if self.store.shared() {
            return self.commit_shared();
        }
        let seq = self.store.last_seq()?;
        self.with_writer(|w| self.index.commit(w, seq))?;
        self.refresh_similar()
    }

    /// Lets the segment merges the index's merge policy started finish, and releases the
    /// index writer (the next write opens it again). Called at the end of an ingest: a
    /// process that exits drops its unfinished merges, and a bulk load then leaves dozens of
    /// small segments (24 at 1M records with a 256 MB buffer) that every search and similar
    /// list pays for.
    pub fn wait_merges(&self) -> Result<()> {
        let writer = self.writer.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(w) = writer {
            w.wait_merging_threads()?;
            self.index.reload()?;
        }
        Ok(())
    }

    fn note_changed(&self, outcomes: &[(Outcome, i64)], touched: &[i64]) {
        let mut pending = self
            .similar_pending
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        for (outcome, id) in outcomes {
            if *outcome != Outcome::Unchanged {
                pending.insert(*id);
            }
        }
        // A record whose cluster changed may now share one with a neighbour it lists.
        pending.extend(touched);
    }

    fn similar_pending_clear(&self) {
        self.similar_pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    // ---- similar datasets ------------------------------------------------------------------

    /// The similar list of one stored record, computed over the committed index.
    fn similar_list(
        &self,
        computer: &similar::Computer<'_>,
        rec: &StoredRecord,
        scratch: &mut similar::Scratch,
    ) -> Result<Vec<Listed>> {
        let cluster = self.store.cluster(rec.id)?;
        self.similar_list_in(computer, rec, cluster, scratch)
    }

    /// [`Self::similar_list`] of a record of cluster `cluster`.
    fn similar_list_in(
        &self,
        computer: &similar::Computer<'_>,
        rec: &StoredRecord,
        cluster: i64,
        scratch: &mut similar::Scratch,
    ) -> Result<Vec<Listed>> {
        let found =
            computer.neighbours(rec.id, cluster as u64, &rec.dataset, similar::K, scratch)?;
        let mut out = Vec::with_capacity(found.len());
        for f in found {
            let relation = if f.related {
                match self.store.get(f.rid)? {
                    Some(other) => similar::relation_reasons(&rec.dataset, &other.dataset),
                    None => Vec::new(),
                }
            } else {
                Vec::new()
            };
            out.push((f, relation));
        }
        Ok(out)
    }

    fn neighbours_of(list: Vec<Listed>) -> Vec<Neighbour> {
        list.into_iter()
            .map(|(f, relation)| Neighbour {
                id: f.rid,
                score: f.score,
                reasons: relation.into_iter().chain(f.reasons).collect(),
            })
            .collect()
    }

    /// Recomputes the similar lists of the records changed since the last call, removes
    /// deleted records from every list, recomputes the lists that named a changed record,
    /// and enters changed records into the lists of their new neighbours.
    fn refresh_similar(&self) -> Result<()> {
        if self.similar_deferred.load(Ordering::Relaxed) {
            self.similar_pending_clear();
            return Ok(());
        }
        let changed = std::mem::take(
            &mut *self
                .similar_pending
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        );
        if changed.is_empty() {
            return Ok(());
        }
        let live = self.index.num_docs();
        if changed.len() as u64 * 2 > live {
            // Most records changed (a first ingest, a rebuilt index): one pass over all is
            // cheaper than the incremental bookkeeping.
            self.recompute_similar(&|_, _| {})?;
            return Ok(());
        }
        let ids: Vec<i64> = changed.iter().copied().collect();
        let mut redo: BTreeSet<i64> = changed.clone();
        redo.extend(self.store.similar_listing(&ids)?);
        let searcher = self.index.searcher();
        let computer = if redo.len() > 1_000 {
            similar::Computer::for_many(&searcher, &self.index.fields, &self.tuning)?
        } else {
            similar::Computer::new(&searcher, &self.index.fields, &self.tuning)?
        };
        let mut scratch = similar::Scratch::default();
        let mut lists: BTreeMap<i64, Vec<Neighbour>> = BTreeMap::new();
        let mut entering: Vec<(StoredRecord, Vec<Listed>)> = Vec::new();
        for &id in &redo {
            match self.store.get(id)? {
                Some(rec) if !rec.deleted => {
                    let list = self.similar_list(&computer, &rec, &mut scratch)?;
                    lists.insert(id, Self::neighbours_of(list.clone()));
                    if changed.contains(&id) {
                        entering.push((rec, list));
                    }
                }
                _ => {
                    lists.insert(id, Vec::new());
                }
            }
        }
        // The score is symmetric: a changed record enters the list of each of its neighbours
        // where it beats the last entry. Only the direction of explicit relations differs.
        let mut others: BTreeMap<i64, Vec<Neighbour>> = BTreeMap::new();
        for (rec, list) in entering {
            for (f, _) in list {
                if lists.contains_key(&f.rid) {
                    continue;
                }
                let theirs = match others.entry(f.rid) {
                    std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::btree_map::Entry::Vacant(e) => {
                        e.insert(self.store.similar(f.rid)?)
                    }
                };
                // No list yet (lists deferred by a bulk load): it is computed whole when
                // first asked for; one entry would pass for a complete list.
                if theirs.is_empty() {
                    continue;
                }
                theirs.retain(|n| n.id != rec.id);
                if theirs.len() >= similar::K
                    && theirs.last().is_some_and(|last| last.score >= f.score)
                {
                    continue;
                }
                let relation = if f.related {
                    match self.store.get(f.rid)? {
                        Some(other) => similar::relation_reasons(&other.dataset, &rec.dataset),
                        None => Vec::new(),
                    }
                } else {
                    Vec::new()
                };
                // The order a recomputation gives: score, then the smaller record id.
                let at = theirs.partition_point(|n| {
                    n.score > f.score || (n.score == f.score && n.id < rec.id)
                });
                theirs.insert(
                    at,
                    Neighbour {
                        id: rec.id,
                        score: f.score,
                        reasons: relation.into_iter().chain(f.reasons).collect(),
                    },
                );
                theirs.truncate(similar::K);
            }
        }
        lists.extend(others);
        let lists: Vec<(i64, Vec<Neighbour>)> = lists.into_iter().collect();
        self.store.set_similar(&lists)
    }

    /// Leaves the similar lists alone at commits from now on (`opendi ingest --no-similar`):
    /// a bulk load then computes them once with [`Engine::recompute_similar`]. Until then a
    /// record without a list gets one computed when it is asked for.
    pub fn defer_similar_lists(&self) {
        self.similar_deferred.store(true, Ordering::Relaxed);
    }

    /// Recomputes the similar list of every live record over the committed index, on all
    /// cores; `progress(done, total)` is called as records complete. Returns how many lists
    /// were written.
    pub fn recompute_similar(&self, progress: &(dyn Fn(u64, u64) + Sync)) -> Result<u64> {
        let mut ids = Vec::new();
        loop {
            let page = self.store.live_keys(ids.len() as u64, 10_000)?;
            if page.is_empty() {
                break;
            }
            ids.extend(page.into_iter().map(|k| k.id));
        }
        let total = ids.len() as u64;
        let searcher = self.index.searcher();
        let computer = similar::Computer::for_many(&searcher, &self.index.fields, &self.tuning)?;
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .clamp(1, 8);
        let done = AtomicU64::new(0);
        self.store.similar_bulk(true)?;
        const CHUNK: usize = 256;
        let next = std::sync::atomic::AtomicUsize::new(0);
        let work = || -> Result<()> {
            let mut scratch = similar::Scratch::default();
            let mut buffer: Vec<(i64, Vec<Neighbour>)> = Vec::new();
            // Each worker takes the next 256 records in id order: their lists then go into the
            // store in runs of consecutive ids, and the records and clusters are read in one
            // transaction (a statement per record outside one took and dropped SQLite's locks
            // each time, and the cluster took a second query).
            loop {
                let start = next.fetch_add(CHUNK, Ordering::Relaxed);
                if start >= ids.len() {
                    break;
                }
                let chunk = &ids[start..(start + CHUNK).min(ids.len())];
                for (rec, cluster) in self.store.records_with_clusters(chunk)? {
                    let list = self.similar_list_in(&computer, &rec, cluster, &mut scratch)?;
                    buffer.push((rec.id, Self::neighbours_of(list)));
                }
                // Large transactions: a commit rewrites the pages it touched (and checkpoints).
                if buffer.len() >= 5000 {
                    self.store.set_similar(&buffer)?;
                    buffer.clear();
                }
                progress(
                    done.fetch_add(chunk.len() as u64, Ordering::Relaxed) + chunk.len() as u64,
                    total,
                );
            }
            self.store.set_similar(&buffer)
        };
        let ran = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads).map(|_| s.spawn(work)).collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(EngineError::Index("similar-list worker panicked".into()))
                    })
                })
                .collect::<Result<Vec<()>>>()
        });
        self.store.similar_bulk(false)?;
        ran?;
        Ok(total)
    }

    /// Resolves `REPOSITORY/ACCESSION` or any accession (primary or secondary) to record ids.
    pub fn resolve(&self, key: &str) -> Result<Vec<i64>> {
        let key = key.trim();
        if let Some((repo, acc)) = key.split_once('/') {
            if let Some(id) = self
                .store
                .by_key(&opendi_model::repository_key(repo), acc)?
            {
                return Ok(vec![id]);
            }
        }
        self.store.find_accession(key)
    }

    pub fn record(&self, id: i64) -> Result<Option<StoredRecord>> {
        self.store.get(id)
    }

    /// The live records among `ids` with the fields list entries show (see [`Store::heads`]).
    pub fn heads(&self, ids: &[i64]) -> Result<Vec<(i64, Dataset)>> {
        self.store.heads(ids)
    }

    /// The query synonyms (vocabularies loaded at the first call, then shared).
    pub fn synonyms(&self) -> Arc<opendi_vocab::Synonyms> {
        self.synonyms
            .get_or_init(|| shared_synonyms(&self.config.vocab))
            .clone()
    }

    /// The synonyms a request's search uses: none when it turns expansion off or has no words.
    fn synonyms_for(&self, req: &SearchRequest) -> Option<Arc<opendi_vocab::Synonyms>> {
        (req.expand && req.query.chars().any(char::is_alphanumeric)).then(|| self.synonyms())
    }

    /// Keeps the results of about `entries` recent searches until the index changes (0, the
    /// default: none). For servers, where the same searches come back.
    pub fn set_result_cache(&self, entries: usize) {
        self.index.set_result_cache(entries);
    }

    /// Searches; each hit of a cluster lists the cluster's other members ("also in"). Plain
    /// words of the query also search for their synonyms unless `req.expand` is off; the
    /// names added are in [`SearchResult::also_searched_for`].
    pub fn search(&self, req: &SearchRequest) -> Result<SearchResult> {
        let synonyms = self.synonyms_for(req);
        let mut res = self.index.search(req, synonyms.as_deref())?;
        self.fill_also_in(&mut res.hits)?;
        Ok(res)
    }

    fn fill_also_in(&self, hits: &mut [Hit]) -> Result<()> {
        for h in hits.iter_mut().filter(|h| h.clustered) {
            h.also_in = self.public_refs(self.store.also_in(h.rid as i64)?)?;
        }
        Ok(())
    }

    /// Whether record `id` is searchable (live and public): it is in the index.
    pub fn is_public(&self, id: i64) -> Result<bool> {
        Ok(self.index.address(id)?.is_some())
    }

    /// The references to public records among `refs` (a cluster or a citation list may hold
    /// private records, which the store links like any other).
    fn public_refs(&self, refs: Vec<RecordRef>) -> Result<Vec<RecordRef>> {
        let mut out = Vec::with_capacity(refs.len());
        for r in refs {
            if self.is_public(r.id)? {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// Records similar to record `id`, most similar first, each with its reasons: the
    /// precomputed list (see [`similar`]), one entry per cluster, the record's own cluster
    /// left out (that is "also in"). A neighbour that is also in other repositories says so.
    ///
    /// Neighbours are read from the index, which holds exactly the live public records: a
    /// dataset page then reads one record from the store, not eleven (measured: the store
    /// reads and link counts of the neighbours were half of a dataset page's CPU).
    pub fn similar(&self, id: i64, limit: usize) -> Result<Vec<Hit>> {
        match self.store.get(id)? {
            Some(rec) => self.similar_to(&rec, limit),
            None => Ok(vec![]),
        }
    }

    /// [`Engine::similar`] for a record the caller has read already.
    pub fn similar_to(&self, rec: &StoredRecord, limit: usize) -> Result<Vec<Hit>> {
        let Some(list) = self.neighbour_list(rec)? else {
            return Ok(vec![]);
        };
        let searcher = self.index.searcher();
        let mut hits = Vec::new();
        for n in list {
            if hits.len() >= limit {
                break;
            }
            if let Some(mut hit) = self.index.hit_of(&searcher, n.id, n.score)? {
                hit.reasons = n.reasons;
                hits.push(hit);
            }
        }
        self.finish_similar(&mut hits)?;
        Ok(hits)
    }

    /// The similar list of a live record: stored, or computed now when none is (a store
    /// written before lists existed, a bulk load whose lists are deferred, or an ingest whose
    /// index another process holds). `None` for a deleted record.
    fn neighbour_list(&self, rec: &StoredRecord) -> Result<Option<Vec<Neighbour>>> {
        if rec.deleted {
            return Ok(None);
        }
        let list = self.store.similar(rec.id)?;
        if !list.is_empty() {
            return Ok(Some(list));
        }
        let searcher = self.index.searcher();
        let computer = similar::Computer::new(&searcher, &self.index.fields, &self.tuning)?;
        let found = self.similar_list(&computer, rec, &mut similar::Scratch::default())?;
        Ok(Some(Self::neighbours_of(found)))
    }

    /// Adds to each hit the other repositories its study is in, as a reason too.
    fn finish_similar(&self, hits: &mut [Hit]) -> Result<()> {
        self.fill_also_in(hits)?;
        for h in hits.iter_mut() {
            if !h.also_in.is_empty() {
                let names: Vec<String> = h
                    .also_in
                    .iter()
                    .map(|r| format!("{} {}", r.repository, r.accession))
                    .collect();
                h.reasons
                    .push(format!("same study also in {}", names.join(", ")));
            }
        }
        Ok(())
    }

    /// A record's relations: the same study in other repositories, citing literature,
    /// reanalyses.
    /// Only public records are listed (the counts are the store's).
    pub fn relations(&self, id: i64) -> Result<Relations> {
        let mut rel = self.store.relations(id)?;
        rel.also_in = self.public_refs(std::mem::take(&mut rel.also_in))?;
        rel.cited_by = self.public_refs(std::mem::take(&mut rel.cited_by))?;
        rel.reanalysed_by = self.public_refs(std::mem::take(&mut rel.reanalysed_by))?;
        Ok(rel)
    }

    /// Replaces the index documents of records another record's change touched (their
    /// cluster or counts moved), or removes them when they are no longer searchable.
    fn reindex_touched(
        &self,
        w: &mut IndexWriter,
        ids: impl IntoIterator<Item = i64>,
    ) -> Result<()> {
        for id in ids {
            self.index.delete(w, id);
            if let Some(rec) = self.store.get(id)? {
                if searchable(&rec) {
                    w.add_document(self.document_of(&rec)?)?;
                }
            }
        }
        Ok(())
    }

    /// Applies a curator's decision about two records (see [`Store::curate`]) and makes the
    /// clusters it changed searchable: the records whose cluster changed are re-indexed and
    /// committed before this returns (on a shared store, by following the change log).
    pub fn curate(
        &self,
        action: CurationAction,
        a: i64,
        b: i64,
        note: &str,
        now: i64,
    ) -> Result<Curated> {
        let curated = self.store.curate(action, a, b, note, now)?;
        self.note_changed(&[], &curated.touched);
        if !self.store.shared() {
            self.with_writer(|w| self.reindex_touched(w, curated.touched.iter().copied()))?;
        }
        self.commit()?;
        Ok(curated)
    }

    /// Rebuilds the search index from the store: every document is dropped and every live
    /// record's latest version indexed again, in one commit (readers see the old index until
    /// then). Returns how many records were indexed.
    pub fn reindex(&self) -> Result<u64> {
        let mut indexed = 0u64;
        self.with_writer(|w| {
            self.index.delete_all(w)?;
            let mut docs = Indexed::Added(Default::default());
            let mut seq = 0;
            loop {
                let rows = self.store.changes_since(seq, 2000)?;
                if rows.is_empty() {
                    break;
                }
                let (last, added) = self.replace_documents(w, &rows, &mut docs)?;
                seq = last;
                indexed += added;
            }
            self.index.commit(w, seq.max(self.store.last_seq()?))
        })?;
        tracing::info!(indexed, "search index rebuilt from the store");
        Ok(indexed)
    }

    pub fn stats(&self) -> Result<Stats> {
        let facets = self.index.facet_counts(&tantivy::query::AllQuery, 20)?;
        Ok(Stats {
            public_per_repository: self.index.repository_counts()?,
            store: self.store.stats()?,
            indexed_documents: self.index.num_docs(),
            index_seq: self.index.committed_seq()?,
            facets,
        })
    }

    /// Every record id matching a search (query, filters, sort; no paging), for exports.
    pub fn matching_ids(&self, req: &SearchRequest) -> Result<Vec<i64>> {
        Ok(self
            .index
            .matching_rids(req, self.synonyms_for(req).as_deref())?
            .into_iter()
            .map(|r| r as i64)
            .collect())
    }

    pub fn data_dir(&self) -> &Path {
        &self.config.data_dir
    }

    // ---- shared store (PostgreSQL): the index follows the change log ----------------------

    /// On a shared store, a batch goes to the store only. The index is written by following the
    /// change log, never beside the store write: other processes write seqs this one has not
    /// seen, so an index committed at "the store's last seq" could claim changes it lacks.
    fn apply_shared(&self, batch: &[Change], now: i64) -> Result<Vec<(Outcome, i64)>> {
        let applied = self.store.apply(batch, now)?;
        self.note_changed(&applied.outcomes, &applied.touched);
        Ok(applied.outcomes)
    }

    /// On a shared store, commit = catch the local index up with the change log, unless another
    /// process (the node's `opendi serve`) holds the index: it follows the log itself.
    fn commit_shared(&self) -> Result<()> {
        match self.follow_index() {
            // The node's server holds the index and follows the log itself; lists are
            // computed over what it has committed so far.
            Err(EngineError::Busy) => {
                self.index.reload()?;
            }
            other => {
                other?;
            }
        }
        self.refresh_similar()
    }

    /// Indexes the store's changes that this node's index lacks (if any) and makes them
    /// searchable. Returns how many were applied. `opendi serve` calls it every second on a
    /// shared store, so records written through any node become searchable on every node.
    pub fn follow(&self) -> Result<u64> {
        let n = self.follow_index()?;
        // The node that wrote the changes keeps the shared similar lists (`commit_shared`).
        self.similar_pending_clear();
        Ok(n)
    }

    fn follow_index(&self) -> Result<u64> {
        if self.store.last_seq()? <= self.index.committed_seq()? {
            // Another process on this data directory (an ingest) may have committed to the
            // index meanwhile: show what is committed.
            self.index.reload()?;
            return Ok(0);
        }
        self.catch_up()
    }

    /// Whether the store is shared with other processes (and the index follows its log).
    pub fn follows_store(&self) -> bool {
        self.store.shared()
    }
}

/// Runs [`Engine::follow`] every `every` on a background thread for as long as the engine
/// lives. Failures (a database restarting) are logged and retried at the next tick.
impl Drop for Engine {
    fn drop(&mut self) {
        if let Err(e) = self.flush_counts() {
            tracing::error!(error = %e, "could not write the last page view counts");
        }
    }
}

pub fn spawn_follower(
    engine: std::sync::Arc<Engine>,
    every: std::time::Duration,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    let weak = std::sync::Arc::downgrade(&engine);
    drop(engine);
    std::thread::Builder::new()
        .name("opendi-follow".into())
        .spawn(move || {
            let mut failing = false;
            loop {
                std::thread::sleep(every);
                let Some(engine) = weak.upgrade() else { return };
                match engine.follow() {
                    Ok(n) => {
                        if failing {
                            tracing::warn!("following the change log again");
                        }
                        failing = false;
                        if n > 0 {
                            tracing::info!(applied = n, "index followed the change log");
                        }
                    }
                    Err(e) => {
                        if !failing {
                            tracing::warn!(error = %e, "cannot follow the change log; retrying");
                        }
                        failing = true;
                    }
                }
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use opendi_model::Dataset;

    /// The all-records job reads document frequencies from one merged pass over the term
    /// dictionaries; a single list looks each feature up. Both must give the same lists, scores
    /// included, over an index of several segments.
    #[test]
    fn document_frequency_table_gives_the_lookups_lists() {
        let dir = tempfile::tempdir().unwrap();
        let e = Engine::open(EngineConfig::new(dir.path())).unwrap();
        let words: Vec<String> = (0..60).map(|w| format!("term{w}x")).collect();
        for part in 0..3 {
            let batch: Vec<Change> = (0..40)
                .map(|i| {
                    let n = part * 40 + i;
                    let mut d = Dataset::new("geo", &format!("GSE7{n:04}"));
                    let w = |m: usize| words[(n * m / 3 + m) % 60].as_str();
                    d.title = format!("{} {} {}", w(13), w(17), w(19));
                    d.description = format!("{} {} {} {}", w(7), w(11), w(13), w(23));
                    Change::Upsert(Box::new(NewRecord::new(
                        d,
                        "<raw/>".into(),
                        "test".into(),
                        "lib.rs".into(),
                        vec![],
                        None,
                    )))
                })
                .collect();
            e.apply(&batch, 1000).unwrap();
            e.commit().unwrap();
        }
        let searcher = e.index.searcher();
        assert!(
            searcher.segment_readers().len() > 1,
            "the test wants several segments"
        );
        let fields = &e.index.fields;
        let one = similar::Computer::new(&searcher, fields, &e.tuning).unwrap();
        let many = similar::Computer::for_many(&searcher, fields, &e.tuning).unwrap();
        let (mut a, mut b) = (similar::Scratch::default(), similar::Scratch::default());
        let mut compared = 0;
        for k in e.store.live_keys(0, 1000).unwrap() {
            let rec = e.store.get(k.id).unwrap().unwrap();
            let x = one
                .neighbours(k.id, k.id as u64, &rec.dataset, similar::K, &mut a)
                .unwrap();
            let y = many
                .neighbours(k.id, k.id as u64, &rec.dataset, similar::K, &mut b)
                .unwrap();
            let key = |f: &[similar::Found]| -> Vec<(i64, u32, Vec<String>)> {
                f.iter()
                    .map(|f| (f.rid, f.score.to_bits(), f.reasons.clone()))
                    .collect()
            };
            assert_eq!(key(&x), key(&y), "record {}", k.accession);
            compared += usize::from(!x.is_empty());
        }
        assert!(
            compared > 100,
            "only {compared} of 120 records have neighbours"
        );
    }

    #[test]
    fn the_index_heap_is_a_gigabyte_an_eighth_of_small_machines_or_the_setting() {
        const MB: usize = 1 << 20;
        assert_eq!(index_heap(None, Some(24 << 30)), 1024 * MB);
        assert_eq!(index_heap(None, Some(4 << 30)), 512 * MB);
        assert_eq!(index_heap(None, Some(1 << 30)), 256 * MB);
        assert_eq!(index_heap(None, None), 1024 * MB);
        assert_eq!(index_heap(Some(" 3000 "), Some(1 << 30)), 3000 * MB);
        assert_eq!(index_heap(Some("8"), None), 64 * MB);
        assert_eq!(index_heap(Some("lots"), Some(4 << 30)), 512 * MB);
    }
}
