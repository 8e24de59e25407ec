//! The shared store: PostgreSQL, for deployments where several opendi nodes serve (and ingest)
//! over one database. Same contract and same record encoding as the embedded SQLite store
//! (lz4-compressed JSON and raw text, blake3 content hash), so data moves between them as is.
//!
//! Each node keeps its own search index and follows this store's change log (`seq`), so the
//! one thing this store must guarantee beyond SQLite's semantics is that the change log can be
//! followed: see [`SEQ_LOCK`].

use super::packing::{publication_ref, publication_ref_id, Dictionary, Packer, RECORD_TRIPLE};
use super::sqlite::{
    decode_list, encode, encode_list, held_publication, hex, missing_publication_record, pack,
    LIST_AS_JSON,
};
use super::{
    Applied, Change, ChangeFilter, ChangeRow, Counters, Curated, Curation, CurationAction,
    HistoryEntry, LinkCounts, Neighbour, Outcome, Prepared, RecordKey, RecordRef, Relations, Store,
    StoreStats, StoredRecord,
};
use crate::{EngineError, Result};
use opendi_model::{Dataset, Diagnostic, Publication};
use postgres::{NoTls, Row};
use r2d2_postgres::PostgresConnectionManager;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::{Duration, Instant};

pub(super) type Pool = r2d2::Pool<PostgresConnectionManager<NoTls>>;

/// Why writers serialize on one advisory lock, and how `seq` stays followable.
///
/// A follower reads `changes_since(after)` and then asks for changes after the highest `seq`
/// it saw. If two transactions could take seqs 10 and 11 and commit in the order 11, 10, a
/// follower reading between the two commits would see 11, move its cursor past 10, and never
/// index record 10. A plain PostgreSQL sequence has exactly that gap (nextval is not
/// transactional and commit order is not allocation order).
///
/// So every writing transaction first takes this transaction-level advisory lock, then reads
/// `MAX(seq)` and numbers its changes after it. The lock is held until commit (or rollback),
/// and PostgreSQL marks a transaction committed before it releases its locks, so the next
/// writer's `MAX(seq)` (a fresh snapshot under READ COMMITTED) sees every earlier commit.
/// Seqs are therefore committed in increasing order, with no holes a follower could step over.
///
/// The price: writes from all processes are serialized, one batch (2,000 records) at a time.
/// That is also what makes two concurrent ingests safe (no two transactions insert the same
/// (repository, accession) at once). The database write is a small part of an ingest (parsing
/// and preparing run in each ingest process, in parallel), and batches are short (tens of
/// milliseconds), so readers, which never take the lock, are not held up at all.
pub const SEQ_LOCK: i64 = 0x6f70_656e_6469_0001; // "opendi" 1

/// Serializes schema migrations of nodes starting at the same time.
const MIGRATION_LOCK: i64 = 0x6f70_656e_6469_0002;

/// Taken by writers of similar lists (see `set_similar`).
const SIMILAR_LOCK: i64 = 0x6f70_656e_6469_0003;

/// Schema migrations, applied in order on open; `schema_version` records the ones applied.
/// Never edit a released step: append a new one.
const MIGRATIONS: &[(i32, &str)] = &[
    (1, SCHEMA_V1),
    (2, SCHEMA_V2),
    (3, SCHEMA_V3),
    (4, SCHEMA_V4),
    (5, SCHEMA_V5),
    (6, SCHEMA_V6),
    (7, SCHEMA_V7),
];

/// No table changes: a record's own publication may now be kept in the record's frame
/// (`packing::RECORD_TRIPLE`), its row naming the record (`packing::publication_ref`), which
/// an older build cannot read, so it must refuse the database.
const SCHEMA_V7: &str = r#"
COMMENT ON COLUMN publications.data IS 'the publication, packed; or FB FB FB FB and a record id (i64, little-endian): kept in that record''s frame';
"#;

/// No table changes: a record's JSON and raw source may now be packed together
/// (`packing::RECORD_PAIR`), which an older build cannot read, so it must refuse the database.
const SCHEMA_V6: &str = r#"
COMMENT ON COLUMN records.raw IS 'the raw source, packed; or the four bytes FD FD FD FD: packed with the JSON in dataset';
"#;

/// A similar list per row, as in the embedded store: the neighbours' ids, most similar first
/// (an array, its GIN index answering `similar_listing`), and their scores and reasons packed
/// (`sqlite::encode_list`). The lists of schemas 2-4 (a row per neighbour) are converted:
/// their entries as JSON after `LIST_AS_JSON`.
const SCHEMA_V5: &str = r#"
CREATE TABLE neighbour_lists (
    record_id BIGINT PRIMARY KEY,
    neighbours BIGINT[] NOT NULL,
    list BYTEA NOT NULL
);
INSERT INTO neighbour_lists (record_id, neighbours, list)
    SELECT record_id, array_agg(neighbour ORDER BY rank),
           '\xfefefefe'::BYTEA
               || convert_to(json_agg(json_build_array(score, reasons::JSON) ORDER BY rank)::TEXT, 'UTF8')
    FROM similar_lists GROUP BY record_id;
DROP TABLE similar_lists;
CREATE INDEX neighbour_lists_neighbours ON neighbour_lists USING GIN (neighbours);
"#;

/// The zstd dictionaries blobs are packed with (see `packing.rs`), trained and saved as in
/// the embedded store.
const SCHEMA_V4: &str = r#"
CREATE TABLE dictionaries (
    id BIGINT PRIMARY KEY,
    kind TEXT NOT NULL,
    data BYTEA NOT NULL,
    created BIGINT NOT NULL
);
"#;

/// Curators' decisions about pairs of records, as in the embedded store (see the comment
/// there): by repository and accession, the pair in canonical order.
const SCHEMA_V3: &str = r#"
CREATE TABLE curations (
    a_repository TEXT NOT NULL,
    a_accession TEXT NOT NULL,
    b_repository TEXT NOT NULL,
    b_accession TEXT NOT NULL,
    action TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    created BIGINT NOT NULL,
    PRIMARY KEY (a_repository, a_accession, b_repository, b_accession)
);
CREATE INDEX curations_b ON curations (b_repository, b_accession);
CREATE VIEW curation_edges AS
    SELECT x.id AS record_id, y.id AS other_id, c.action AS action, c.note AS note,
           (NOT x.deleted AND NOT y.deleted) AS live
    FROM curations c
    JOIN records x ON x.repository = c.a_repository AND x.accession = c.a_accession
    JOIN records y ON y.repository = c.b_repository AND y.accession = c.b_accession
    UNION ALL
    SELECT y.id, x.id, c.action, c.note, (NOT x.deleted AND NOT y.deleted)
    FROM curations c
    JOIN records x ON x.repository = c.a_repository AND x.accession = c.a_accession
    JOIN records y ON y.repository = c.b_repository AND y.accession = c.b_accession;
"#;

/// Precomputed similar lists (derived data, see `similar.rs`), as in the embedded store.
const SCHEMA_V2: &str = r#"
CREATE TABLE similar_lists (
    record_id BIGINT NOT NULL,
    rank INTEGER NOT NULL,
    neighbour BIGINT NOT NULL,
    score REAL NOT NULL,
    reasons TEXT NOT NULL,
    PRIMARY KEY (record_id, rank)
);
CREATE INDEX similar_neighbour ON similar_lists (neighbour);
"#;

const SCHEMA_V1: &str = r#"
CREATE TABLE records (
    id BIGINT PRIMARY KEY,
    repository TEXT NOT NULL,
    accession TEXT NOT NULL,
    version BIGINT NOT NULL,
    content_hash BYTEA NOT NULL,
    format TEXT NOT NULL,
    source TEXT NOT NULL,
    first_ingested BIGINT NOT NULL,
    last_ingested BIGINT NOT NULL,
    deleted BOOLEAN NOT NULL DEFAULT FALSE,
    errors BIGINT NOT NULL DEFAULT 0,
    seq BIGINT NOT NULL,
    dataset BYTEA NOT NULL,
    raw BYTEA NOT NULL,
    diagnostics TEXT NOT NULL DEFAULT '[]',
    -- The smallest record id of the record's cluster; NULL when alone (see `finish_links`).
    cluster BIGINT,
    UNIQUE (repository, accession)
);
CREATE INDEX records_cluster ON records (cluster) WHERE cluster IS NOT NULL;
-- Ids are taken ahead of the insert (a batch needs them to write aliases in bulk).
CREATE SEQUENCE record_ids OWNED BY records.id;
CREATE UNIQUE INDEX records_seq ON records (seq);
-- Blobs are lz4-compressed already: PostgreSQL's own compression would only cost CPU.
ALTER TABLE records ALTER COLUMN dataset SET STORAGE EXTERNAL;
ALTER TABLE records ALTER COLUMN raw SET STORAGE EXTERNAL;
-- Accessions are stored ASCII-lower-cased: the case-insensitive match of SQLite's NOCASE.
CREATE TABLE accessions (
    accession TEXT NOT NULL,
    record_id BIGINT NOT NULL,
    PRIMARY KEY (accession, record_id)
);
CREATE INDEX accessions_record ON accessions (record_id);
CREATE TABLE history (
    record_id BIGINT NOT NULL,
    version BIGINT NOT NULL,
    content_hash BYTEA NOT NULL,
    format TEXT NOT NULL,
    source TEXT NOT NULL,
    ingested BIGINT NOT NULL,
    replaced BIGINT NOT NULL,
    deleted BOOLEAN NOT NULL,
    dataset BYTEA NOT NULL,
    raw BYTEA NOT NULL,
    PRIMARY KEY (record_id, version)
);
ALTER TABLE history ALTER COLUMN dataset SET STORAGE EXTERNAL;
ALTER TABLE history ALTER COLUMN raw SET STORAGE EXTERNAL;
CREATE TABLE publications (
    key TEXT PRIMARY KEY,
    pmid TEXT,
    doi TEXT,
    pmcid TEXT,
    data BYTEA NOT NULL
);
CREATE INDEX publications_pmid ON publications (pmid);
CREATE INDEX publications_doi ON publications (lower(doi));
CREATE INDEX publications_pmcid ON publications (lower(pmcid));
CREATE TABLE link_keys (
    key TEXT NOT NULL,
    record_id BIGINT NOT NULL,
    PRIMARY KEY (key, record_id)
);
CREATE INDEX link_keys_record ON link_keys (record_id);
-- Accessions ASCII-lower-cased, like `accessions`.
CREATE TABLE mentions (
    accession TEXT NOT NULL,
    kind BIGINT NOT NULL,
    record_id BIGINT NOT NULL,
    PRIMARY KEY (accession, kind, record_id)
);
CREATE INDEX mentions_record ON mentions (record_id);
CREATE TABLE counters (
    record_id BIGINT PRIMARY KEY,
    views BIGINT NOT NULL DEFAULT 0,
    downloads BIGINT NOT NULL DEFAULT 0
);
"#;

/// How long a call keeps retrying while the database is unreachable (restarting, failing
/// over) before it reports the failure.
const RETRY_FOR: Duration = Duration::from_secs(60);

pub struct PgStore {
    pub(super) pool: Pool,
    packer: Packer,
}

/// Writes the dictionaries `packer` trained and has not saved, in the transaction that writes
/// blobs packed with them (as the embedded store does); their ids.
fn save_dictionaries(tx: &mut postgres::Transaction<'_>, packer: &Packer) -> Attempt<Vec<u32>> {
    packer.save(|d, created| -> Attempt<Vec<u8>> {
        tx.execute(
            "INSERT INTO dictionaries (id, kind, data, created) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING",
            &[&i64::from(d.id), &d.kind, &d.data, &created],
        )?;
        Ok(tx
            .query_one("SELECT data FROM dictionaries WHERE id = $1", &[&i64::from(d.id)])?
            .try_get(0)?)
    })
}

/// The store's dictionaries (oldest first), or the one of id `only`, read on `c`.
pub(super) fn dictionaries(
    c: &mut impl postgres::GenericClient,
    only: Option<u32>,
) -> Attempt<Vec<Dictionary>> {
    let rows = c.query(
        "SELECT id, kind, data FROM dictionaries WHERE $1::BIGINT IS NULL OR id = $1 ORDER BY created, id",
        &[&only.map(i64::from)],
    )?;
    rows.iter()
        .map(|r| {
            let id: i64 = r.try_get(0)?;
            Ok(Dictionary {
                id: u32::try_from(id).map_err(|_| {
                    EngineError::Corrupt(format!("dictionary id {id} is out of range"))
                })?,
                kind: r.try_get(1)?,
                data: r.try_get(2)?,
            })
        })
        .collect()
}

/// The dictionary of zstd id `id`, read on `c`.
fn load_dictionary(c: &mut postgres::Client, id: u32) -> Result<Option<Dictionary>> {
    match dictionaries(c, Some(id)) {
        Ok(mut found) => Ok(found.pop()),
        Err(e) => Err(e.into_error()),
    }
}

/// A failure inside one attempt: a database error (perhaps worth retrying) or anything else.
pub(super) enum Failure {
    Pg(postgres::Error),
    Pool(r2d2::Error),
    Other(EngineError),
}

impl From<postgres::Error> for Failure {
    fn from(e: postgres::Error) -> Self {
        Failure::Pg(e)
    }
}

impl From<EngineError> for Failure {
    fn from(e: EngineError) -> Self {
        Failure::Other(e)
    }
}

impl From<serde_json::Error> for Failure {
    fn from(e: serde_json::Error) -> Self {
        Failure::Other(e.into())
    }
}

/// The message of a database error, with the server's detail when there is one.
fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        None => {
            let mut s = e.to_string();
            let mut src = std::error::Error::source(e);
            while let Some(inner) = src {
                s.push_str(": ");
                s.push_str(&inner.to_string());
                src = inner.source();
            }
            s
        }
    }
}

impl Failure {
    /// A lost or refused connection, a server shutting down, or a serialization conflict: the
    /// transaction did not commit, and running it again is safe.
    fn transient(&self) -> bool {
        match self {
            Failure::Pool(_) => true,
            Failure::Pg(e) => {
                if e.is_closed() {
                    return true;
                }
                if let Some(c) = e.code() {
                    let c = c.code();
                    return c.starts_with("08")
                        || c.starts_with("57P")
                        || c == "40001"
                        || c == "40P01";
                }
                // No answer from the server: a socket error, a refused connection, a timeout.
                // (Encoding and decoding errors also come without a code; those are bugs, and
                // retrying them would only delay the report.)
                std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>())
                    || e.to_string().starts_with("timeout")
            }
            Failure::Other(_) => false,
        }
    }

    fn into_error(self) -> EngineError {
        match self {
            Failure::Pg(e) => EngineError::Database(describe(&e)),
            Failure::Pool(e) => EngineError::Database(format!("no connection: {e}")),
            Failure::Other(e) => e,
        }
    }
}

pub(super) type Attempt<T> = std::result::Result<T, Failure>;

impl PgStore {
    /// Connects to `url` (`postgres://user:password@host:port/database`) and brings the schema
    /// up to date.
    pub fn open(url: &str) -> Result<PgStore> {
        let mut config: postgres::Config = url
            .parse()
            .map_err(|e| EngineError::Database(format!("invalid database url: {e}")))?;
        config.application_name("opendi");
        config.connect_timeout(Duration::from_secs(5));
        let manager = PostgresConnectionManager::new(config, NoTls);
        let pool = r2d2::Pool::builder()
            .max_size(8)
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(10))
            .build(manager)
            .map_err(|e| EngineError::Database(format!("cannot connect to the database: {e}")))?;
        let mut store = PgStore {
            pool,
            packer: Packer::new(Vec::new(), true),
        };
        store.run(|c| {
            let mut tx = c.transaction()?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
            tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied TIMESTAMPTZ NOT NULL DEFAULT now())")?;
            let current: i32 = tx
                .query_one("SELECT COALESCE(MAX(version), 0) FROM schema_version", &[])?
                .get(0);
            let latest = MIGRATIONS.last().map(|m| m.0).unwrap_or(0);
            if current > latest {
                return Err(Failure::Other(EngineError::Incompatible(format!(
                    "the database was written by a newer opendi (schema {current}; this build knows up to {latest})"
                ))));
            }
            for (version, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
                tx.batch_execute(sql)?;
                tx.execute("INSERT INTO schema_version (version) VALUES ($1)", &[version])?;
                tracing::info!(version, "database schema migrated");
            }
            tx.commit()?;
            Ok(())
        })?;
        let saved = super::transfer::Transfer::export_dictionaries(&store)?;
        store.packer = Packer::new(saved, true);
        Ok(store)
    }

    /// Runs `f` on a pooled connection, again while the failure is transient (a restarting
    /// server), for up to [`RETRY_FOR`]. `f` must be one transaction or read-only.
    pub(super) fn run<T>(
        &self,
        mut f: impl FnMut(&mut postgres::Client) -> Attempt<T>,
    ) -> Result<T> {
        let started = Instant::now();
        let mut pause = Duration::from_millis(100);
        loop {
            let attempt = match self.pool.get() {
                Ok(mut c) => f(&mut c),
                Err(e) => Err(Failure::Pool(e)),
            };
            match attempt {
                Ok(v) => return Ok(v),
                Err(e) if e.transient() && started.elapsed() < RETRY_FOR => {
                    tracing::warn!(error = %e.into_error(), "database unavailable; retrying");
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_secs(2));
                }
                Err(e) => return Err(e.into_error()),
            }
        }
    }

    /// Decompresses one of the store's blobs, reading a dictionary it has not seen on `c`.
    fn unpack(&self, c: &mut postgres::Client, blob: &[u8]) -> Result<Vec<u8>> {
        self.packer.unpack(blob, |id| load_dictionary(c, id))
    }

    fn record(&self, c: &mut postgres::Client, row: &Row) -> Attempt<StoredRecord> {
        let hash: Vec<u8> = row.try_get("content_hash")?;
        let ds: Vec<u8> = row.try_get("dataset")?;
        let diags: String = row.try_get("diagnostics")?;
        Ok(StoredRecord {
            id: row.try_get("id")?,
            repository: row.try_get("repository")?,
            accession: row.try_get("accession")?,
            version: row.try_get("version")?,
            content_hash: hex(&hash),
            format: row.try_get("format")?,
            source: row.try_get("source")?,
            first_ingested: row.try_get("first_ingested")?,
            last_ingested: row.try_get("last_ingested")?,
            deleted: row.try_get("deleted")?,
            seq: row.try_get("seq")?,
            dataset: serde_json::from_slice(&self.unpack(c, &ds)?)?,
            diagnostics: serde_json::from_str::<Vec<Diagnostic>>(&diags)?,
        })
    }

    fn bump_counter(&self, id: i64, column: &str) -> Result<()> {
        let sql = format!(
            "INSERT INTO counters (record_id, {column}) VALUES ($1, 1)
             ON CONFLICT (record_id) DO UPDATE SET {column} = counters.{column} + 1"
        );
        self.run(|c| {
            c.execute(sql.as_str(), &[&id])?;
            Ok(())
        })
    }
}

const RECORD_COLS: &str =
    "id, repository, accession, version, content_hash, format, source, first_ingested, last_ingested, deleted, seq, dataset, diagnostics";

fn key_of(c: &Change) -> (&str, &str) {
    match c {
        Change::Upsert(r) => (&r.dataset.repository, &r.dataset.accession),
        Change::Delete {
            repository,
            accession,
            ..
        } => (repository, accession),
    }
}

/// The rows one run of a batch writes, column by column (for `unnest`).
#[derive(Default)]
struct Writes {
    archive: Vec<i64>,
    touch: Vec<i64>,
    // updates of live or deleted records with new content
    up_id: Vec<i64>,
    up_hash: Vec<Vec<u8>>,
    up_format: Vec<String>,
    up_source: Vec<String>,
    up_errors: Vec<i64>,
    up_seq: Vec<i64>,
    up_dataset: Vec<Vec<u8>>,
    up_raw: Vec<Vec<u8>>,
    up_diags: Vec<String>,
    // tombstones of existing records
    tomb_id: Vec<i64>,
    tomb_seq: Vec<i64>,
    tomb_source: Vec<String>,
    // new rows (records and tombstones of unknown records)
    new_id: Vec<i64>,
    new_repository: Vec<String>,
    new_accession: Vec<String>,
    new_hash: Vec<Vec<u8>>,
    new_format: Vec<String>,
    new_source: Vec<String>,
    new_deleted: Vec<bool>,
    new_errors: Vec<i64>,
    new_seq: Vec<i64>,
    new_dataset: Vec<Vec<u8>>,
    new_raw: Vec<Vec<u8>>,
    new_diags: Vec<String>,
    // accession aliases
    acc_reset: Vec<i64>,
    acc_name: Vec<String>,
    acc_id: Vec<i64>,
    // shared publications, the last write of a key winning
    pubs: Vec<super::transfer::PublicationRow>,
}

/// Before the frames of records `ids` are replaced (see `SqliteStore::keep_publication`): a
/// publication one of them holds, whose row names it and which this run does not write again
/// (`written`), is packed into its row.
fn keep_publications(
    tx: &mut postgres::Transaction<'_>,
    packer: &Packer,
    ids: &[i64],
    written: &HashMap<String, usize>,
) -> Attempt<()> {
    let triples = tx.query(
        "SELECT id, dataset FROM records WHERE id = ANY($1) AND substring(dataset from 1 for 4) = $2",
        &[&ids, &&RECORD_TRIPLE[..]],
    )?;
    for row in triples {
        let id: i64 = row.try_get(0)?;
        let frame: Vec<u8> = row.try_get(1)?;
        let load = |d| {
            dictionaries(&mut *tx, Some(d))
                .map(|mut found| found.pop())
                .map_err(Failure::into_error)
        };
        let (key, json) = match held_publication(packer, &frame, load) {
            Ok(Some(held)) => held,
            Ok(None) => continue,
            Err(e) => return Err(Failure::Other(e)),
        };
        if written.contains_key(&key) {
            continue;
        }
        tx.execute(
            "UPDATE publications SET data = $2 WHERE key = $1 AND data = $3",
            &[
                &key,
                &packer.pack("publication", &json, || pack(&json)),
                &publication_ref(id),
            ],
        )?;
    }
    Ok(())
}

/// Applies `changes`, whose keys are all distinct, inside `tx`; `seq` is the last one taken.
#[allow(clippy::too_many_arguments)]
fn apply_run(
    tx: &mut postgres::Transaction<'_>,
    packer: &Packer,
    changes: &[Change],
    encoded: &[Option<Prepared>],
    now: i64,
    seq: &mut i64,
    out: &mut Vec<(Outcome, i64)>,
    work: &mut LinkWork,
) -> Attempt<()> {
    let (repos, accs): (Vec<&str>, Vec<&str>) = changes.iter().map(key_of).unzip();
    let mut existing: HashMap<(String, String), (i64, Vec<u8>, bool)> = HashMap::new();
    for row in tx.query(
        "SELECT r.id, r.repository, r.accession, r.content_hash, r.deleted FROM records r \
         JOIN unnest($1::text[], $2::text[]) AS k(repository, accession) \
         ON r.repository = k.repository AND r.accession = k.accession",
        &[&repos, &accs],
    )? {
        existing.insert(
            (row.try_get(1)?, row.try_get(2)?),
            (row.try_get(0)?, row.try_get(3)?, row.try_get(4)?),
        );
    }
    let unknown = changes
        .iter()
        .filter(|c| {
            let (r, a) = key_of(c);
            !existing.contains_key(&(r.to_string(), a.to_string()))
        })
        .count();
    let mut fresh_ids: Vec<i64> = Vec::with_capacity(unknown);
    if unknown > 0 {
        for row in tx.query(
            "SELECT nextval('record_ids') FROM generate_series(1, $1::bigint)",
            &[&(unknown as i64)],
        )? {
            fresh_ids.push(row.try_get(0)?);
        }
        fresh_ids.sort_unstable();
    }
    let mut fresh_ids = fresh_ids.into_iter();
    let mut next_id = || {
        fresh_ids
            .next()
            .ok_or_else(|| EngineError::Database("the id sequence returned too few ids".into()))
    };

    let mut w = Writes::default();
    // The records whose links this run replaces: (id, dataset or None for a tombstone, new).
    let mut relinked: Vec<(i64, Option<&Dataset>, bool)> = Vec::new();
    let mut pub_slot: HashMap<String, usize> = HashMap::new();
    for (change, enc) in changes.iter().zip(encoded) {
        let (repository, accession) = key_of(change);
        let found = existing.get(&(repository.to_string(), accession.to_string()));
        match change {
            Change::Upsert(r) => {
                let enc = match (&r.prepared, enc) {
                    (Some(p), _) | (None, Some(p)) => p,
                    (None, None) => {
                        return Err(Failure::Other(EngineError::Corrupt(
                            "record neither prepared nor encoded".into(),
                        )))
                    }
                };
                let errors = r
                    .diagnostics
                    .iter()
                    .filter(|x| x.severity == opendi_model::Severity::Error)
                    .count() as i64;
                let (outcome, id) = match found {
                    Some((id, hash, false)) if hash[..] == enc.hash[..] => {
                        w.touch.push(*id);
                        (Outcome::Unchanged, *id)
                    }
                    Some((id, _, _)) => {
                        *seq += 1;
                        w.archive.push(*id);
                        w.up_id.push(*id);
                        w.up_hash.push(enc.hash.to_vec());
                        w.up_format.push(r.format.clone());
                        w.up_source.push(r.source.clone());
                        w.up_errors.push(errors);
                        w.up_seq.push(*seq);
                        w.up_dataset.push(enc.dataset.clone());
                        w.up_raw.push(enc.raw.clone());
                        w.up_diags.push(enc.diagnostics.clone());
                        w.acc_reset.push(*id);
                        (Outcome::Updated, *id)
                    }
                    None => {
                        *seq += 1;
                        let id = next_id()?;
                        w.new_id.push(id);
                        w.new_repository.push(repository.to_string());
                        w.new_accession.push(accession.to_string());
                        w.new_hash.push(enc.hash.to_vec());
                        w.new_format.push(r.format.clone());
                        w.new_source.push(r.source.clone());
                        w.new_deleted.push(false);
                        w.new_errors.push(errors);
                        w.new_seq.push(*seq);
                        w.new_dataset.push(enc.dataset.clone());
                        w.new_raw.push(enc.raw.clone());
                        w.new_diags.push(enc.diagnostics.clone());
                        (Outcome::New, id)
                    }
                };
                if outcome != Outcome::Unchanged {
                    relinked.push((id, Some(&r.dataset), outcome == Outcome::New));
                    for acc in r.dataset.all_accessions() {
                        w.acc_name.push(acc.to_ascii_lowercase());
                        w.acc_id.push(id);
                    }
                    // `encode` prepares the publication of every record whose publication has
                    // a key.
                    if let (Some(p), Some(stored)) = (&r.publication, &enc.publication) {
                        if let Some(key) = p.key() {
                            let data = stored.row(id);
                            let row = super::transfer::PublicationRow {
                                key: key.to_string(),
                                pmid: p.pmid.clone(),
                                doi: p.doi.clone(),
                                pmcid: p.pmcid.clone(),
                                data,
                            };
                            match pub_slot.get(&row.key) {
                                Some(&i) => w.pubs[i] = row,
                                None => {
                                    pub_slot.insert(row.key.clone(), w.pubs.len());
                                    w.pubs.push(row);
                                }
                            }
                        }
                    }
                }
                out.push((outcome, id));
            }
            Change::Delete { source, .. } => match found {
                Some((id, _, true)) => out.push((Outcome::Unchanged, *id)),
                Some((id, _, false)) => {
                    *seq += 1;
                    w.archive.push(*id);
                    w.tomb_id.push(*id);
                    w.tomb_seq.push(*seq);
                    w.tomb_source.push(source.clone());
                    relinked.push((*id, None, false));
                    out.push((Outcome::Deleted, *id));
                }
                None => {
                    *seq += 1;
                    let id = next_id()?;
                    w.new_id.push(id);
                    w.new_repository.push(repository.to_string());
                    w.new_accession.push(accession.to_string());
                    w.new_hash.push(Vec::new());
                    w.new_format.push("tombstone".into());
                    w.new_source.push(source.clone());
                    w.new_deleted.push(true);
                    w.new_errors.push(0);
                    w.new_seq.push(*seq);
                    w.new_dataset.push(pack(&serde_json::to_vec(&Dataset::new(
                        repository, accession,
                    ))?));
                    w.new_raw.push(pack(b""));
                    w.new_diags.push("[]".into());
                    w.acc_name.push(accession.to_ascii_lowercase());
                    w.acc_id.push(id);
                    work.written.insert(id);
                    out.push((Outcome::DeletedUnknown, id));
                }
            },
        }
    }

    if !w.up_id.is_empty() {
        keep_publications(tx, packer, &w.up_id, &pub_slot)?;
    }
    // The previous version goes to history before it is overwritten.
    if !w.archive.is_empty() {
        tx.execute(
            "INSERT INTO history (record_id, version, content_hash, format, source, ingested, replaced, deleted, dataset, raw) \
             SELECT id, version, content_hash, format, source, last_ingested, $2, deleted, dataset, raw FROM records WHERE id = ANY($1) \
             ON CONFLICT (record_id, version) DO UPDATE SET content_hash = EXCLUDED.content_hash, format = EXCLUDED.format, \
             source = EXCLUDED.source, ingested = EXCLUDED.ingested, replaced = EXCLUDED.replaced, deleted = EXCLUDED.deleted, \
             dataset = EXCLUDED.dataset, raw = EXCLUDED.raw",
            &[&w.archive, &now],
        )?;
    }
    if !w.touch.is_empty() {
        tx.execute(
            "UPDATE records SET last_ingested = $2 WHERE id = ANY($1)",
            &[&w.touch, &now],
        )?;
    }
    if !w.up_id.is_empty() {
        tx.execute(
            "UPDATE records r SET version = r.version + 1, content_hash = v.hash, format = v.format, source = v.source, \
             last_ingested = $1, deleted = FALSE, errors = v.errors, seq = v.seq, dataset = v.dataset, raw = v.raw, diagnostics = v.diags \
             FROM unnest($2::bigint[], $3::bytea[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::bytea[], $9::bytea[], $10::text[]) \
             AS v(id, hash, format, source, errors, seq, dataset, raw, diags) WHERE r.id = v.id",
            &[&now, &w.up_id, &w.up_hash, &w.up_format, &w.up_source, &w.up_errors, &w.up_seq, &w.up_dataset, &w.up_raw, &w.up_diags],
        )?;
    }
    if !w.tomb_id.is_empty() {
        tx.execute(
            "UPDATE records r SET deleted = TRUE, seq = v.seq, last_ingested = $1, source = v.source \
             FROM unnest($2::bigint[], $3::bigint[], $4::text[]) AS v(id, seq, source) WHERE r.id = v.id",
            &[&now, &w.tomb_id, &w.tomb_seq, &w.tomb_source],
        )?;
    }
    if !w.new_id.is_empty() {
        tx.execute(
            "INSERT INTO records (id, repository, accession, version, content_hash, format, source, first_ingested, last_ingested, \
             deleted, errors, seq, dataset, raw, diagnostics) \
             SELECT v.id, v.repository, v.accession, 1, v.hash, v.format, v.source, $1, $1, v.deleted, v.errors, v.seq, v.dataset, v.raw, v.diags \
             FROM unnest($2::bigint[], $3::text[], $4::text[], $5::bytea[], $6::text[], $7::text[], $8::bool[], $9::bigint[], $10::bigint[], \
             $11::bytea[], $12::bytea[], $13::text[]) \
             AS v(id, repository, accession, hash, format, source, deleted, errors, seq, dataset, raw, diags)",
            &[&now, &w.new_id, &w.new_repository, &w.new_accession, &w.new_hash, &w.new_format, &w.new_source, &w.new_deleted,
              &w.new_errors, &w.new_seq, &w.new_dataset, &w.new_raw, &w.new_diags],
        )?;
    }
    if !w.acc_reset.is_empty() {
        tx.execute(
            "DELETE FROM accessions WHERE record_id = ANY($1)",
            &[&w.acc_reset],
        )?;
    }
    if !w.acc_id.is_empty() {
        tx.execute(
            "INSERT INTO accessions (accession, record_id) SELECT * FROM unnest($1::text[], $2::bigint[]) ON CONFLICT DO NOTHING",
            &[&w.acc_name, &w.acc_id],
        )?;
    }
    if !w.pubs.is_empty() {
        let mut key = Vec::new();
        let mut pmid = Vec::new();
        let mut doi = Vec::new();
        let mut pmcid = Vec::new();
        let mut data = Vec::new();
        for p in std::mem::take(&mut w.pubs) {
            key.push(p.key);
            pmid.push(p.pmid);
            doi.push(p.doi);
            pmcid.push(p.pmcid);
            data.push(p.data);
        }
        tx.execute(
            "INSERT INTO publications (key, pmid, doi, pmcid, data) \
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bytea[]) \
             ON CONFLICT (key) DO UPDATE SET pmid = EXCLUDED.pmid, doi = EXCLUDED.doi, pmcid = EXCLUDED.pmcid, data = EXCLUDED.data",
            &[&key, &pmid, &doi, &pmcid, &data],
        )?;
    }
    relink_run(tx, &relinked, work)?;
    Ok(())
}

impl Store for PgStore {
    fn packer(&self) -> &Packer {
        &self.packer
    }

    fn apply(&self, batch: &[Change], now: i64) -> Result<Applied> {
        // Encoding is database-free: do it once, outside the transaction and its lock.
        let encoded = batch
            .iter()
            .map(|c| match c {
                Change::Upsert(r) if r.prepared.is_none() => encode(r, &self.packer).map(Some),
                _ => Ok(None),
            })
            .collect::<Result<Vec<_>>>()?;
        self.run(|c| {
            let mut tx = c.transaction()?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SEQ_LOCK])?;
            let mut seq: i64 = tx
                .query_one("SELECT COALESCE(MAX(seq), 0) FROM records", &[])?
                .try_get(0)?;
            let mut out = Vec::with_capacity(batch.len());
            let mut work = LinkWork {
                curated: has_curations(&mut tx)?,
                ..Default::default()
            };
            // The bulk statements need distinct keys; a key seen twice starts a new run, so a
            // record changed twice in one batch goes through the same steps as in SQLite.
            let mut start = 0;
            while start < batch.len() {
                let mut keys = HashSet::new();
                let mut end = start;
                while end < batch.len() && keys.insert(key_of(&batch[end])) {
                    end += 1;
                }
                apply_run(
                    &mut tx,
                    &self.packer,
                    &batch[start..end],
                    &encoded[start..end],
                    now,
                    &mut seq,
                    &mut out,
                    &mut work,
                )?;
                start = end;
            }
            let touched = finish_links(&mut tx, &work, &mut seq)?;
            let dictionaries = save_dictionaries(&mut tx, &self.packer)?;
            tx.commit()?;
            self.packer.saved(&dictionaries);
            Ok(Applied {
                outcomes: out,
                touched,
            })
        })
    }

    fn get(&self, id: i64) -> Result<Option<StoredRecord>> {
        let sql = format!("SELECT {RECORD_COLS} FROM records WHERE id = $1");
        self.run(|c| {
            c.query_opt(sql.as_str(), &[&id])?
                .map(|r| self.record(c, &r))
                .transpose()
        })
    }

    fn heads(&self, ids: &[i64]) -> Result<Vec<(i64, Dataset)>> {
        self.run(|c| {
            c.query(
                "SELECT id, dataset FROM records WHERE NOT deleted AND id = ANY($1)",
                &[&ids],
            )?
            .into_iter()
            .map(|r| {
                let blob: Vec<u8> = r.try_get(1)?;
                let head: opendi_model::DatasetHead =
                    serde_json::from_slice(&self.unpack(c, &blob)?)?;
                Ok((r.try_get(0)?, head.into()))
            })
            .collect()
        })
    }

    fn raw(&self, id: i64) -> Result<Option<String>> {
        self.run(|c| {
            let row: Option<(Vec<u8>, Vec<u8>)> = c
                .query_opt("SELECT raw, dataset FROM records WHERE id = $1", &[&id])?
                .map(|r| Ok::<_, postgres::Error>((r.try_get(0)?, r.try_get(1)?)))
                .transpose()?;
            Ok(row
                .map(|(raw, ds)| {
                    self.packer
                        .unpack_raw(&raw, &ds, |id| load_dictionary(c, id))
                        .map(|v| String::from_utf8_lossy(&v).into_owned())
                })
                .transpose()?)
        })
    }

    fn by_key(&self, repository: &str, accession: &str) -> Result<Option<i64>> {
        self.run(|c| {
            Ok(c.query_opt(
                "SELECT id FROM records WHERE repository = $1 AND accession = $2",
                &[&repository, &accession],
            )?
            .map(|r| r.try_get(0))
            .transpose()?)
        })
    }

    fn find_accession(&self, accession: &str) -> Result<Vec<i64>> {
        let key = accession.trim().to_ascii_lowercase();
        self.run(|c| {
            let rows = c.query(
                "SELECT record_id FROM accessions WHERE accession = $1 ORDER BY record_id",
                &[&key],
            )?;
            Ok(rows
                .iter()
                .map(|r| r.try_get(0))
                .collect::<std::result::Result<_, _>>()?)
        })
    }

    fn history(&self, id: i64) -> Result<Vec<HistoryEntry>> {
        self.run(|c| {
            let rows = c.query(
                "SELECT version, content_hash, format, source, ingested, replaced, deleted, dataset FROM history \
                 WHERE record_id = $1 ORDER BY version",
                &[&id],
            )?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                let h: Vec<u8> = r.try_get(1)?;
                let ds: Vec<u8> = r.try_get(7)?;
                out.push(HistoryEntry {
                    version: r.try_get(0)?,
                    content_hash: hex(&h),
                    format: r.try_get(2)?,
                    source: r.try_get(3)?,
                    ingested: r.try_get(4)?,
                    replaced: r.try_get(5)?,
                    deleted: r.try_get(6)?,
                    dataset: serde_json::from_slice(&self.unpack(c, &ds)?)?,
                });
            }
            Ok(out)
        })
    }

    fn changes_since(&self, after: i64, limit: usize) -> Result<Vec<ChangeRow>> {
        let sql = format!("SELECT {RECORD_COLS} FROM records WHERE seq > $1 ORDER BY seq LIMIT $2");
        self.run(|c| {
            let rows = c.query(sql.as_str(), &[&after, &(limit as i64)])?;
            rows.iter()
                .map(|r| {
                    let record = self.record(c, r)?;
                    Ok(ChangeRow {
                        seq: record.seq,
                        record,
                    })
                })
                .collect()
        })
    }

    fn last_seq(&self) -> Result<i64> {
        self.run(|c| {
            Ok(
                c.query_one("SELECT COALESCE(MAX(seq), 0) FROM records", &[])?
                    .try_get(0)?,
            )
        })
    }

    fn publication(
        &self,
        pmid: Option<&str>,
        doi: Option<&str>,
        pmcid: Option<&str>,
    ) -> Result<Option<Publication>> {
        let lookups = [
            (
                "SELECT data FROM publications WHERE pmid = $1 LIMIT 1",
                pmid,
            ),
            (
                "SELECT data FROM publications WHERE lower(doi) = lower($1) LIMIT 1",
                doi,
            ),
            (
                "SELECT data FROM publications WHERE lower(pmcid) = lower($1) LIMIT 1",
                pmcid,
            ),
        ];
        self.run(|c| {
            for (sql, v) in lookups {
                let Some(v) = v else { continue };
                if let Some(row) = c.query_opt(sql, &[&v])? {
                    let data: Vec<u8> = row.try_get(0)?;
                    let json = match publication_ref_id(&data) {
                        Some(id) => {
                            let frame: Vec<u8> = c
                                .query_opt("SELECT dataset FROM records WHERE id = $1", &[&id])?
                                .ok_or_else(|| missing_publication_record(id))?
                                .try_get(0)?;
                            self.packer
                                .unpack_publication(&frame, |d| load_dictionary(c, d))?
                        }
                        None => self.unpack(c, &data)?,
                    };
                    return Ok(Some(serde_json::from_slice(&json)?));
                }
            }
            Ok(None)
        })
    }

    fn stats(&self) -> Result<StoreStats> {
        self.run(|c| {
            let mut one = |sql: &str| -> Attempt<i64> { Ok(c.query_one(sql, &[])?.try_get(0)?) };
            let records = one("SELECT COUNT(*) FROM records WHERE NOT deleted")? as u64;
            let deleted = one("SELECT COUNT(*) FROM records WHERE deleted")? as u64;
            let with_errors =
                one("SELECT COUNT(*) FROM records WHERE NOT deleted AND errors > 0")? as u64;
            let publications = one("SELECT COUNT(*) FROM publications")? as u64;
            let history_versions = one("SELECT COUNT(*) FROM history")? as u64;
            let last_seq = one("SELECT COALESCE(MAX(seq), 0) FROM records")?;
            let mut group = |sql: &str| -> Attempt<Vec<(String, u64)>> {
                c.query(sql, &[])?
                    .iter()
                    .map(|r| Ok((r.try_get(0)?, r.try_get::<_, i64>(1)? as u64)))
                    .collect()
            };
            Ok(StoreStats {
                records,
                deleted,
                with_errors,
                publications,
                history_versions,
                last_seq,
                per_repository: group("SELECT repository, COUNT(*) FROM records WHERE NOT deleted GROUP BY repository ORDER BY 2 DESC, 1")?,
                per_format: group("SELECT format, COUNT(*) FROM records WHERE NOT deleted GROUP BY format ORDER BY 2 DESC, 1")?,
            })
        })
    }

    fn add_counts(&self, counts: &[(i64, Counters)]) -> Result<()> {
        self.run(|c| {
            let mut tx = c.transaction()?;
            let st = tx.prepare(
                "INSERT INTO counters (record_id, views, downloads) VALUES ($1, $2, $3)
                 ON CONFLICT (record_id) DO UPDATE
                 SET views = counters.views + excluded.views,
                     downloads = counters.downloads + excluded.downloads",
            )?;
            for (id, n) in counts {
                tx.execute(&st, &[id, &(n.views as i64), &(n.downloads as i64)])?;
            }
            tx.commit()?;
            Ok(())
        })
    }

    fn add_view(&self, id: i64) -> Result<()> {
        self.bump_counter(id, "views")
    }

    fn add_download(&self, id: i64) -> Result<()> {
        self.bump_counter(id, "downloads")
    }

    fn set_similar(&self, lists: &[(i64, Vec<Neighbour>)]) -> Result<()> {
        let ids: Vec<i64> = lists.iter().map(|(id, _)| *id).collect();
        let (mut owners, mut neighbours, mut packed) = (Vec::new(), Vec::new(), Vec::new());
        for (id, list) in lists {
            if let Some((n, p)) = encode_list(list, &self.packer)? {
                owners.push(*id);
                neighbours.push(n);
                packed.push(p);
            }
        }
        self.run(|c| {
            let mut tx = c.transaction()?;
            // Two nodes writing the list of one record would both find no row to delete and
            // collide on it: writers of lists take turns.
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SIMILAR_LOCK])?;
            tx.execute(
                "DELETE FROM neighbour_lists WHERE record_id = ANY($1)",
                &[&ids],
            )?;
            tx.execute(
                "INSERT INTO neighbour_lists (record_id, neighbours, list)
                 SELECT t.id,
                        ARRAY(SELECT e::BIGINT FROM jsonb_array_elements_text(t.n::JSONB)
                              WITH ORDINALITY AS x(e, i) ORDER BY i),
                        t.list
                 FROM UNNEST($1::BIGINT[], $2::TEXT[], $3::BYTEA[]) AS t(id, n, list)",
                &[&owners, &neighbours, &packed],
            )?;
            let dictionaries = save_dictionaries(&mut tx, &self.packer)?;
            tx.commit()?;
            self.packer.saved(&dictionaries);
            Ok(())
        })
    }

    fn similar(&self, id: i64) -> Result<Vec<Neighbour>> {
        let (ids, json) = self.run(|c| {
            let Some(row) = c.query_opt(
                "SELECT neighbours, list FROM neighbour_lists WHERE record_id = $1",
                &[&id],
            )?
            else {
                return Ok((Vec::new(), Vec::new()));
            };
            let ids: Vec<i64> = row.try_get(0)?;
            let list: Vec<u8> = row.try_get(1)?;
            let json = match list.strip_prefix(&LIST_AS_JSON) {
                Some(json) => json.to_vec(),
                None => self.unpack(c, &list).map_err(Failure::Other)?,
            };
            Ok((ids, json))
        })?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        decode_list(id, ids, &json)
    }

    fn similar_listing(&self, ids: &[i64]) -> Result<Vec<i64>> {
        let ids = ids.to_vec();
        self.run(|c| {
            let rows = c.query(
                "SELECT record_id FROM neighbour_lists WHERE neighbours && $1::BIGINT[] ORDER BY record_id",
                &[&ids],
            )?;
            Ok(rows
                .iter()
                .map(|r| r.try_get(0))
                .collect::<std::result::Result<Vec<i64>, _>>()?)
        })
    }

    fn counters(&self, id: i64) -> Result<Counters> {
        self.run(|c| {
            Ok(c.query_opt(
                "SELECT views, downloads FROM counters WHERE record_id = $1",
                &[&id],
            )?
            .map(|r| -> Attempt<Counters> {
                Ok(Counters {
                    views: r.try_get::<_, i64>(0)? as u64,
                    downloads: r.try_get::<_, i64>(1)? as u64,
                })
            })
            .transpose()?
            .unwrap_or_default())
        })
    }

    fn link_counts(&self, id: i64) -> Result<LinkCounts> {
        self.run(|c| link_counts_on(c, id))
    }

    fn cluster(&self, id: i64) -> Result<i64> {
        self.run(|c| Ok(cluster_of(c, id)?.map_or(id, |(head, _)| head)))
    }

    fn relations(&self, id: i64) -> Result<Relations> {
        self.run(|c| {
            let Some((head, _)) = cluster_of(c, id)? else {
                return Ok(Relations {
                    cluster: id,
                    ..Default::default()
                });
            };
            Ok(Relations {
                cluster: head,
                also_in: members(c, id, head)?,
                citations: count_mentions(c, id, head, MENTION_CITES)?,
                cited_by: mentioning(c, id, head, MENTION_CITES)?,
                reanalyses: count_mentions(c, id, head, MENTION_REANALYSES)?,
                reanalysed_by: mentioning(c, id, head, MENTION_REANALYSES)?,
            })
        })
    }

    fn also_in(&self, id: i64) -> Result<Vec<RecordRef>> {
        self.run(|c| match cluster_of(c, id)? {
            Some((head, true)) => members(c, id, head),
            _ => Ok(Vec::new()),
        })
    }

    fn clusters(&self, limit: usize) -> Result<Vec<Vec<RecordRef>>> {
        self.run(|c| {
            let heads: Vec<i64> = c
                .query(
                    "SELECT cluster FROM records WHERE cluster IS NOT NULL AND NOT deleted \
                     GROUP BY cluster ORDER BY COUNT(*) DESC, cluster LIMIT $1",
                    &[&(limit as i64)],
                )?
                .iter()
                .map(|r| r.try_get(0))
                .collect::<std::result::Result<_, _>>()?;
            let mut out = Vec::with_capacity(heads.len());
            for head in heads {
                let row = c.query_one(
                    "SELECT repository, accession FROM records WHERE id = $1",
                    &[&head],
                )?;
                let mut list = vec![RecordRef {
                    id: head,
                    repository: row.try_get(0)?,
                    accession: row.try_get(1)?,
                    reason: String::new(),
                }];
                list.extend(members(c, head, head)?);
                out.push(list);
            }
            Ok(out)
        })
    }

    fn curate(
        &self,
        action: CurationAction,
        a: i64,
        b: i64,
        note: &str,
        now: i64,
    ) -> Result<Curated> {
        if a == b {
            return Err(EngineError::Invalid(
                "a curation names two different records".into(),
            ));
        }
        self.run(|c| {
            let mut tx = c.transaction()?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SEQ_LOCK])?;
            let mut seq: i64 = tx
                .query_one("SELECT COALESCE(MAX(seq), 0) FROM records", &[])?
                .try_get(0)?;
            let ra = live_name(&mut tx, a)?;
            let rb = live_name(&mut tx, b)?;
            let (first, second) = if (&ra.0, &ra.1) <= (&rb.0, &rb.1) {
                (&ra, &rb)
            } else {
                (&rb, &ra)
            };
            tx.execute(
                "INSERT INTO curations (a_repository, a_accession, b_repository, b_accession, action, note, created) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (a_repository, a_accession, b_repository, b_accession) \
                 DO UPDATE SET action = excluded.action, note = excluded.note, created = excluded.created",
                &[&first.0, &first.1, &second.0, &second.1, &action.as_str(), &note, &now],
            )?;
            let mut work = LinkWork {
                curated: true,
                ..Default::default()
            };
            work.seeds.extend([a, b]);
            for head in [ra.2, rb.2].into_iter().flatten() {
                work.seeds.extend(id_list(
                    &mut tx,
                    "SELECT id FROM records WHERE cluster = $1",
                    &head,
                )?);
            }
            let touched = finish_links(&mut tx, &work, &mut seq)?;
            tx.commit()?;
            Ok(Curated { touched })
        })
    }

    fn curations(&self) -> Result<Vec<Curation>> {
        self.run(|c| {
            c.query(
                "SELECT a_repository, a_accession, b_repository, b_accession, action, note, created FROM curations \
                 ORDER BY created, a_repository COLLATE \"C\", a_accession COLLATE \"C\", \
                 b_repository COLLATE \"C\", b_accession COLLATE \"C\"",
                &[],
            )?
            .iter()
            .map(|r| {
                let action: String = r.try_get(4)?;
                Ok(Curation {
                    action: CurationAction::parse(&action).ok_or_else(|| {
                        EngineError::Corrupt(format!("unknown curation action {action:?}"))
                    })?,
                    a_repository: r.try_get(0)?,
                    a_accession: r.try_get(1)?,
                    b_repository: r.try_get(2)?,
                    b_accession: r.try_get(3)?,
                    note: r.try_get(5)?,
                    created: r.try_get(6)?,
                })
            })
            .collect()
        })
    }

    fn changes_filtered(
        &self,
        after: i64,
        limit: usize,
        filter: &ChangeFilter,
    ) -> Result<Vec<ChangeRow>> {
        // One statement for every combination: a NULL bound is no bound.
        let sql = format!(
            "SELECT {RECORD_COLS} FROM records WHERE seq > $1 \
               AND ($3::text IS NULL OR repository = $3) \
               AND ($4::bigint IS NULL OR last_ingested >= $4) \
               AND ($5::bigint IS NULL OR last_ingested <= $5) \
               AND ($6 OR NOT deleted) \
             ORDER BY seq LIMIT $2"
        );
        self.run(|c| {
            c.query(
                sql.as_str(),
                &[
                    &after,
                    &(limit as i64),
                    &filter.repository,
                    &filter.from,
                    &filter.until,
                    &filter.include_deleted,
                ],
            )?
            .iter()
            .map(|r| {
                let record = self.record(c, r)?;
                Ok(ChangeRow {
                    seq: record.seq,
                    record,
                })
            })
            .collect()
        })
    }

    fn live_keys(&self, offset: u64, limit: usize) -> Result<Vec<RecordKey>> {
        self.run(|c| {
            c.query(
                "SELECT id, repository, accession, last_ingested FROM records WHERE NOT deleted \
                 ORDER BY id LIMIT $1 OFFSET $2",
                &[&(limit as i64), &(offset as i64)],
            )?
            .iter()
            .map(|r| {
                Ok(RecordKey {
                    id: r.try_get(0)?,
                    repository: r.try_get(1)?,
                    accession: r.try_get(2)?,
                    last_ingested: r.try_get(3)?,
                })
            })
            .collect()
        })
    }

    fn most_viewed(&self, limit: usize) -> Result<Vec<(i64, Counters)>> {
        self.run(|c| {
            c.query(
                "SELECT c.record_id, c.views, c.downloads FROM counters c \
                 JOIN records r ON r.id = c.record_id AND NOT r.deleted \
                 WHERE c.views > 0 ORDER BY c.views DESC, c.record_id LIMIT $1",
                &[&(limit as i64)],
            )?
            .iter()
            .map(|r| {
                Ok((
                    r.try_get(0)?,
                    Counters {
                        views: r.try_get::<_, i64>(1)? as u64,
                        downloads: r.try_get::<_, i64>(2)? as u64,
                    },
                ))
            })
            .collect()
        })
    }

    fn shared(&self) -> bool {
        true
    }
}

// ---------------------------------------------------------------------------------------
// Links: clusters, citations and reanalyses, with the SQLite store's rules (see the comment
// there), written set-wise per run of a batch; the cluster walk, which few records need,
// goes record by record.
// ---------------------------------------------------------------------------------------

const MENTION_CITES: i64 = 0;
const MENTION_REANALYSES: i64 = 1;
const MENTION_PUBLICATION: i64 = 2;

/// The link bookkeeping of one batch.
#[derive(Default)]
struct LinkWork {
    /// Records whose cluster may have changed.
    seeds: BTreeSet<i64>,
    /// Records whose citation or reanalysis counts may have changed.
    counted: BTreeSet<i64>,
    /// Records the batch wrote (they have a new seq already).
    written: BTreeSet<i64>,
    /// Whether the store holds curations (when not, the walk skips looking them up).
    curated: bool,
}

fn has_curations(tx: &mut postgres::Transaction<'_>) -> Attempt<bool> {
    Ok(tx
        .query_one("SELECT EXISTS (SELECT 1 FROM curations)", &[])?
        .try_get(0)?)
}

fn id_list(
    tx: &mut postgres::Transaction<'_>,
    sql: &str,
    arg: &(dyn postgres::types::ToSql + Sync),
) -> Attempt<Vec<i64>> {
    tx.query(sql, &[arg])?
        .iter()
        .map(|r| Ok(r.try_get(0)?))
        .collect()
}

/// Replaces the links of the records a run wrote: (id, its dataset or None for a tombstone,
/// whether it was just inserted), and notes what that can change.
fn relink_run(
    tx: &mut postgres::Transaction<'_>,
    relinked: &[(i64, Option<&Dataset>, bool)],
    work: &mut LinkWork,
) -> Attempt<()> {
    if relinked.is_empty() {
        return Ok(());
    }
    let stale: Vec<i64> = relinked.iter().filter(|r| !r.2).map(|r| r.0).collect();
    let mut old_keys: HashMap<i64, Vec<String>> = HashMap::new();
    let mut targets: BTreeSet<String> = BTreeSet::new();
    if !stale.is_empty() {
        for row in tx.query(
            "DELETE FROM link_keys WHERE record_id = ANY($1) RETURNING record_id, key",
            &[&stale],
        )? {
            old_keys
                .entry(row.try_get(0)?)
                .or_default()
                .push(row.try_get(1)?);
        }
        for row in tx.query(
            "DELETE FROM mentions WHERE record_id = ANY($1) RETURNING accession",
            &[&stale],
        )? {
            targets.insert(row.try_get(0)?);
        }
    }
    let links: Vec<crate::links::RecordLinks> = relinked
        .iter()
        .map(|(_, d, _)| d.map(crate::links::record_links).unwrap_or_default())
        .collect();
    let (mut key, mut key_id) = (Vec::new(), Vec::new());
    let (mut acc, mut kind, mut acc_id) = (Vec::new(), Vec::new(), Vec::new());
    let mut own_accessions = Vec::new();
    for ((id, d, _), l) in relinked.iter().zip(&links) {
        for k in &l.keys {
            key.push(k.clone());
            key_id.push(*id);
        }
        for (list, k) in [
            (&l.mentions, MENTION_CITES),
            (&l.reanalyses, MENTION_REANALYSES),
            (&l.cites, MENTION_PUBLICATION),
        ] {
            for a in list {
                acc.push(a.to_ascii_lowercase());
                kind.push(k);
                acc_id.push(*id);
            }
        }
        for a in l.mentions.iter().chain(&l.reanalyses) {
            targets.insert(a.to_ascii_lowercase());
        }
        if let Some(d) = d {
            own_accessions.extend(d.all_accessions().map(|a| a.to_ascii_lowercase()));
        }
        work.written.insert(*id);
    }
    if !key.is_empty() {
        tx.execute(
            "INSERT INTO link_keys (key, record_id) SELECT * FROM unnest($1::text[], $2::bigint[]) ON CONFLICT DO NOTHING",
            &[&key, &key_id],
        )?;
    }
    if !acc.is_empty() {
        tx.execute(
            "INSERT INTO mentions (accession, kind, record_id) SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[]) \
             ON CONFLICT DO NOTHING",
            &[&acc, &kind, &acc_id],
        )?;
    }
    // The records citing these as a publication show their title and text: re-index them.
    if !own_accessions.is_empty() {
        work.counted.extend(id_list(
            tx,
            "SELECT record_id FROM mentions WHERE kind = 2 AND accession = ANY($1)",
            &own_accessions,
        )?);
    }
    // A record that had no keys and shares none of its new ones stays alone: most records,
    // and the reason bulk ingests skip the cluster walk.
    let all_keys: Vec<String> = old_keys
        .values()
        .flatten()
        .chain(links.iter().flat_map(|l| &l.keys))
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut holders: HashMap<String, Vec<i64>> = HashMap::new();
    if !all_keys.is_empty() {
        for row in tx.query(
            "SELECT key, record_id FROM link_keys WHERE key = ANY($1)",
            &[&all_keys],
        )? {
            holders
                .entry(row.try_get(0)?)
                .or_default()
                .push(row.try_get(1)?);
        }
    }
    for ((id, _, _), l) in relinked.iter().zip(&links) {
        let old = old_keys.get(id).map(Vec::as_slice).unwrap_or_default();
        let mut shared = !old.is_empty();
        for k in old.iter().chain(&l.keys) {
            let hs = holders.get(k).map(Vec::as_slice).unwrap_or_default();
            if hs.iter().any(|h| h != id) {
                shared = true;
                work.seeds.extend(hs);
            }
        }
        if shared {
            work.seeds.insert(*id);
        }
    }
    // A curated record's cluster follows its curations, whatever its keys do (and its
    // partners' clusters change when it is deleted or comes back).
    if work.curated {
        let written: Vec<i64> = relinked.iter().map(|r| r.0).collect();
        for row in tx.query(
            "SELECT record_id, other_id FROM curation_edges WHERE record_id = ANY($1)",
            &[&written],
        )? {
            work.seeds.insert(row.try_get(0)?);
            work.seeds.insert(row.try_get(1)?);
        }
    }
    if !targets.is_empty() {
        let targets: Vec<String> = targets.into_iter().collect();
        work.counted.extend(id_list(
            tx,
            "SELECT record_id FROM accessions WHERE accession = ANY($1)",
            &targets,
        )?);
    }
    Ok(())
}

/// The records connected to `seed` through shared keys and curated merges, as the embedded
/// store's walk, step for step (the same orders of keys and holders).
fn component(
    tx: &mut postgres::Transaction<'_>,
    seed: i64,
    curations: &super::Curations,
    placed: &BTreeSet<i64>,
) -> Attempt<BTreeSet<i64>> {
    let mut walk = super::Walk::new(seed, curations, placed);
    while let Some(r) = walk.next() {
        let keys: Vec<String> = tx
            .query(
                "SELECT key FROM link_keys WHERE record_id = $1 ORDER BY key COLLATE \"C\"",
                &[&r],
            )?
            .iter()
            .map(|row| row.try_get(0))
            .collect::<std::result::Result<_, _>>()?;
        for k in keys {
            if walk.key_done(&k) {
                continue;
            }
            let holders = id_list(
                tx,
                "SELECT record_id FROM link_keys WHERE key = $1 ORDER BY record_id",
                &k,
            )?;
            if !walk.take_key(k, holders) {
                return Ok(walk.members());
            }
        }
        if !walk.take_merged(r) {
            return Ok(walk.members());
        }
    }
    Ok(walk.members())
}

/// Recomputes the clusters and counts a batch may have changed; gives every other record
/// whose cluster or counts changed a new seq. Returns those records.
fn finish_links(
    tx: &mut postgres::Transaction<'_>,
    work: &LinkWork,
    seq: &mut i64,
) -> Attempt<Vec<i64>> {
    let mut touched = BTreeSet::new();
    let mut done = BTreeSet::new();
    let curations = if work.curated {
        let edges = tx
            .query(
                "SELECT record_id, other_id, action = 'merge', live FROM curation_edges ORDER BY record_id, other_id",
                &[],
            )?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)))
            .collect::<Attempt<Vec<_>>>()?;
        super::Curations::from_edges(edges)
    } else {
        super::Curations::default()
    };
    for &seed in &work.seeds {
        if done.contains(&seed) {
            continue;
        }
        let members = component(tx, seed, &curations, &done)?;
        let head = members.first().copied().unwrap_or(seed);
        let want = (members.len() > 1).then_some(head);
        for &m in &members {
            done.insert(m);
            let cur: Option<Option<i64>> = tx
                .query_opt("SELECT cluster FROM records WHERE id = $1", &[&m])?
                .map(|r| r.try_get(0))
                .transpose()?;
            if cur.is_some_and(|c| c != want) {
                tx.execute(
                    "UPDATE records SET cluster = $2 WHERE id = $1",
                    &[&m, &want],
                )?;
                if !work.written.contains(&m) {
                    touched.insert(m);
                }
            }
        }
    }
    touched.extend(work.counted.difference(&work.written));
    let mut out = Vec::with_capacity(touched.len());
    for id in touched {
        let n = tx.execute(
            "UPDATE records SET seq = $2 WHERE id = $1 AND NOT deleted",
            &[&id, &(*seq + 1)],
        )?;
        if n > 0 {
            *seq += 1;
            out.push(id);
        }
    }
    Ok(out)
}

/// A live record's repository, accession and cluster.
fn live_name(
    tx: &mut postgres::Transaction<'_>,
    id: i64,
) -> Attempt<(String, String, Option<i64>)> {
    match tx.query_opt(
        "SELECT repository, accession, cluster FROM records WHERE id = $1 AND NOT deleted",
        &[&id],
    )? {
        Some(r) => Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)),
        None => Err(Failure::Other(EngineError::NotFound(format!(
            "no live record with id {id}"
        )))),
    }
}

/// The record's cluster head, and whether the cluster has other members.
fn cluster_of(c: &mut postgres::Client, id: i64) -> Attempt<Option<(i64, bool)>> {
    c.query_opt(
        "SELECT COALESCE(cluster, id), cluster IS NOT NULL FROM records WHERE id = $1",
        &[&id],
    )?
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
    .transpose()
}

fn link_counts_on(c: &mut postgres::Client, id: i64) -> Attempt<LinkCounts> {
    let Some((head, clustered)) = cluster_of(c, id)? else {
        return Ok(LinkCounts {
            cluster: id,
            ..Default::default()
        });
    };
    let mut counts = LinkCounts {
        cluster: head,
        clustered,
        ..Default::default()
    };
    // Both counts in one statement: this runs for every record a node indexes.
    for r in c.query(
        "SELECT m.kind, COUNT(DISTINCT m.record_id) FROM accessions a \
         JOIN mentions m ON m.accession = a.accession \
         JOIN records r ON r.id = m.record_id \
         WHERE a.record_id = $1 AND NOT r.deleted AND COALESCE(r.cluster, r.id) <> $2 \
         GROUP BY m.kind",
        &[&id, &head],
    )? {
        match (r.try_get::<_, i64>(0)?, r.try_get::<_, i64>(1)?) {
            (MENTION_CITES, n) => counts.citations = n as u64,
            (MENTION_REANALYSES, n) => counts.reanalyses = n as u64,
            _ => {}
        }
    }
    Ok(counts)
}

fn record_refs(rows: &[Row]) -> Attempt<Vec<RecordRef>> {
    rows.iter()
        .map(|r| {
            Ok(RecordRef {
                id: r.try_get(0)?,
                repository: r.try_get(1)?,
                accession: r.try_get(2)?,
                reason: String::new(),
            })
        })
        .collect()
}

fn members(c: &mut postgres::Client, id: i64, head: i64) -> Attempt<Vec<RecordRef>> {
    let rows = c.query(
        "SELECT id, repository, accession FROM records WHERE cluster = $1 AND id <> $2 AND NOT deleted ORDER BY id",
        &[&head, &id],
    )?;
    let mut v = record_refs(&rows)?;
    for m in &mut v {
        m.reason = member_reason(c, id, m.id, head)?;
    }
    Ok(v)
}

fn count_mentions(c: &mut postgres::Client, id: i64, head: i64, kind: i64) -> Attempt<u64> {
    let n: i64 = c
        .query_one(
            "SELECT COUNT(DISTINCT m.record_id) FROM accessions a \
             JOIN mentions m ON m.accession = a.accession AND m.kind = $3 \
             JOIN records r ON r.id = m.record_id \
             WHERE a.record_id = $1 AND NOT r.deleted AND COALESCE(r.cluster, r.id) <> $2",
            &[&id, &head, &kind],
        )?
        .try_get(0)?;
    Ok(n as u64)
}

fn mentioning(c: &mut postgres::Client, id: i64, head: i64, kind: i64) -> Attempt<Vec<RecordRef>> {
    let rows = c.query(
        "SELECT DISTINCT r.id, r.repository, r.accession FROM accessions a \
         JOIN mentions m ON m.accession = a.accession AND m.kind = $3 \
         JOIN records r ON r.id = m.record_id \
         WHERE a.record_id = $1 AND NOT r.deleted AND COALESCE(r.cluster, r.id) <> $2 \
         ORDER BY r.id DESC LIMIT 50",
        &[&id, &head, &kind],
    )?;
    record_refs(&rows)
}

/// Why `member` is in `id`'s cluster: the keys they share, or else the first key that ties
/// `member` to another member.
fn member_reason(c: &mut postgres::Client, id: i64, member: i64, head: i64) -> Attempt<String> {
    if let Some(r) = c.query_opt(
        "SELECT note FROM curation_edges WHERE record_id = $1 AND other_id = $2 AND action = 'merge'",
        &[&id, &member],
    )? {
        return Ok(super::merged_reason(&r.try_get::<_, String>(0)?, None));
    }
    let direct: Vec<String> = c
        .query(
            "SELECT a.key FROM link_keys a JOIN link_keys b ON a.key = b.key \
             WHERE a.record_id = $1 AND b.record_id = $2 ORDER BY a.key COLLATE \"C\"",
            &[&id, &member],
        )?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<std::result::Result<_, _>>()?;
    if !direct.is_empty() {
        return Ok(direct
            .iter()
            .map(|k| crate::links::reason(k))
            .collect::<Vec<_>>()
            .join("; "));
    }
    let via = c.query_opt(
        "SELECT a.key, r.accession FROM link_keys a JOIN link_keys b ON a.key = b.key \
         JOIN records r ON r.id = b.record_id \
         WHERE a.record_id = $1 AND b.record_id <> $1 AND COALESCE(r.cluster, r.id) = $2 \
         ORDER BY a.key COLLATE \"C\" LIMIT 1",
        &[&member, &head],
    )?;
    if let Some(r) = via {
        return Ok(format!(
            "{} (through {})",
            crate::links::reason(&r.try_get::<_, String>(0)?),
            r.try_get::<_, String>(1)?
        ));
    }
    let merged = c.query_opt(
        "SELECT r.accession, e.note FROM curation_edges e JOIN records r ON r.id = e.other_id \
         WHERE e.record_id = $1 AND e.action = 'merge' AND e.live \
         AND COALESCE(r.cluster, r.id) = $2 ORDER BY r.id LIMIT 1",
        &[&member, &head],
    )?;
    Ok(match merged {
        Some(r) => super::merged_reason(
            &r.try_get::<_, String>(1)?,
            Some(&r.try_get::<_, String>(0)?),
        ),
        None => "same study".to_string(),
    })
}
