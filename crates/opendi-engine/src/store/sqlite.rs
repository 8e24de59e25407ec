//! The embedded store: one SQLite file in the data directory (WAL mode).
//!
//! Why SQLite: it is the most tested embedded database there is, its WAL mode survives a
//! killed process with every committed transaction intact, readers never block the writer,
//! and SQL keeps history, tombstones and the change log simple. Records are stored as
//! compressed JSON (normalized) and text (raw) blobs: zstd with the store's dictionaries
//! (`packing.rs`), lz4 before a kind has one.

use super::packing::{
    publication_ref, publication_ref_id, record_kind, Dictionary, Packer, RECORD_TRIPLE,
};
use super::{
    Applied, Change, ChangeFilter, ChangeRow, Counters, Curated, Curation, CurationAction,
    HistoryEntry, LinkCounts, Neighbour, NewRecord, Outcome, PreparedPublication, RecordKey,
    RecordRef, Relations, Store, StoreStats, StoredRecord,
};
use crate::{EngineError, Result};
use opendi_model::{Dataset, Diagnostic, Publication};
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

/// Bumped when the schema changes incompatibly; older stores are upgraded or refused on open.
///
/// Format 3 is format 2 with curations (`curations` table): a build without them would
/// silently undo curated merges and splits at the next ingest touching those clusters, so a
/// store is marked 3 when its first curation is written, not before. A store that never had
/// one stays 2, and older builds keep opening it.
///
/// Format 4 adds blobs packed with zstd dictionaries (`dictionaries` table, `packing.rs`),
/// which a build of format 3 cannot read: a store is marked 4 when its first dictionary is
/// written. A curated store without dictionaries stays 3.
///
/// Format 5 keeps a record's similar list in one row (`neighbour_lists`, and `neighbour_refs`
/// for the lists naming a record) instead of a row per neighbour (`similar_lists`): a store is
/// marked 5 when a list is written that way or its old lists are converted at open.
///
/// Format 6 packs a record's JSON and raw source together (`packing::RECORD_PAIR`): a store
/// is marked 6 when the first dictionary of such pairs is written.
///
/// Format 7 keeps a record's own publication in the record's frame (`packing::RECORD_TRIPLE`),
/// its row in `publications` naming the record (`packing::publication_ref`): a store is marked
/// 7 when the first such row is written.
pub const STORE_FORMAT_VERSION: i64 = 7;

/// The format of a store whose records' JSON and raw source may be packed together.
const PAIRS_FORMAT_VERSION: i64 = 6;

/// The format of a store whose similar lists are a row per record.
const LISTS_FORMAT_VERSION: i64 = 5;

/// The format of a store whose blobs may be packed with dictionaries.
pub(super) const PACKED_FORMAT_VERSION: i64 = 4;

/// The format of a store with curations and without dictionaries.
pub(super) const CURATED_FORMAT_VERSION: i64 = 3;

/// Raises the store's format to `version` (never lowers it).
pub(super) fn raise_format(tx: &Connection, version: i64) -> Result<()> {
    tx.execute(
        "UPDATE meta SET value = ?1 WHERE key = 'format_version' AND CAST(value AS INTEGER) < ?2",
        params![version.to_string(), version],
    )?;
    Ok(())
}

/// The format of a store without curations and dictionaries (what a new store starts as).
const BASE_FORMAT_VERSION: i64 = 2;

/// Each connection's page cache: 64 MB (SQLite's `cache_size` in KiB when negative).
const CACHE_KB: i64 = -65536;

/// Rebuilds `neighbour_refs`, what [`Store::similar_listing`] reads, from the lists' neighbours,
/// in key order (after a rewrite of every list, see [`Store::similar_bulk`], or at the open
/// that finds a rewrite unfinished or lists of format 4 to convert).
const REBUILD_REFS: &str = "
DROP TABLE IF EXISTS neighbour_refs;
CREATE TABLE neighbour_refs (
    neighbour INTEGER NOT NULL,
    record_id INTEGER NOT NULL,
    PRIMARY KEY (neighbour, record_id)
) WITHOUT ROWID;
INSERT OR IGNORE INTO neighbour_refs (neighbour, record_id)
    SELECT j.value, s.record_id FROM neighbour_lists s, json_each(s.neighbours) j ORDER BY 1, 2;
DELETE FROM meta WHERE key = 'neighbour_refs';";

/// Converts format 4's lists (a row per neighbour, reasons as JSON text) to a row per record.
/// The converted `list` is JSON text, not a packed blob: [`SqliteStore::similar`] reads both.
const CONVERT_LISTS: &str = "
INSERT OR REPLACE INTO neighbour_lists (record_id, neighbours, list)
    SELECT record_id, json_group_array(neighbour ORDER BY rank),
           json_group_array(json_array(score, json(reasons)) ORDER BY rank)
    FROM similar_lists GROUP BY record_id;
DROP TABLE similar_lists;";

/// Runs [`REBUILD_REFS`] with SQLite's external sort: temporary files and runs of 2 MB.
/// Measured on the index by neighbour this table replaces: with the connection's
/// `temp_store = MEMORY`, SQLite's sorter sets no run size and sorts every entry in one list
/// in memory (PubMed's 599,905 entries: 0.69-0.81 s, against 0.25-0.27 s with files and 2 MB;
/// at 1M generated records, peak RSS 1,427 against 701 MB). Two sorter threads
/// (`PRAGMA threads`) sort runs while the connection reads on: at 1M records (19,989,938
/// entries) 8.0-8.8 s against 10.2 s on one thread. The connection's settings are restored
/// after.
fn rebuild_refs(conn: &Connection) -> Result<()> {
    conn.pragma_update(None, "temp_store", "FILE")?;
    conn.pragma_update(None, "cache_size", -2000)?;
    conn.pragma_update(None, "threads", 2)?;
    let built = conn.execute_batch(&format!("BEGIN; {REBUILD_REFS} COMMIT;"));
    if built.is_err() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    conn.pragma_update(None, "threads", 0)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.pragma_update(None, "cache_size", CACHE_KB)?;
    Ok(built?)
}

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- zstd dictionaries the blobs are packed with (see `packing.rs`), by zstd's dictionary id.
CREATE TABLE IF NOT EXISTS dictionaries (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    data BLOB NOT NULL,
    created INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS records (
    id INTEGER PRIMARY KEY,
    repository TEXT NOT NULL,
    accession TEXT NOT NULL,
    version INTEGER NOT NULL,
    content_hash BLOB NOT NULL,
    format TEXT NOT NULL,
    source TEXT NOT NULL,
    first_ingested INTEGER NOT NULL,
    last_ingested INTEGER NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    errors INTEGER NOT NULL DEFAULT 0,
    seq INTEGER NOT NULL,
    dataset BLOB NOT NULL,
    raw BLOB NOT NULL,
    diagnostics TEXT NOT NULL DEFAULT '[]',
    cluster INTEGER,
    UNIQUE (repository, accession)
);
CREATE UNIQUE INDEX IF NOT EXISTS records_seq ON records (seq);
-- Listings of live records (similar lists for all, sitemaps, exports) read this index
-- alone, not the table whose rows carry the records' text.
CREATE INDEX IF NOT EXISTS records_live ON records (id, repository, accession, last_ingested)
    WHERE deleted = 0;
CREATE TABLE IF NOT EXISTS accessions (
    accession TEXT NOT NULL COLLATE NOCASE,
    record_id INTEGER NOT NULL,
    PRIMARY KEY (accession, record_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS accessions_record ON accessions (record_id);
CREATE TABLE IF NOT EXISTS history (
    record_id INTEGER NOT NULL,
    version INTEGER NOT NULL,
    content_hash BLOB NOT NULL,
    format TEXT NOT NULL,
    source TEXT NOT NULL,
    ingested INTEGER NOT NULL,
    replaced INTEGER NOT NULL,
    deleted INTEGER NOT NULL,
    dataset BLOB NOT NULL,
    raw BLOB NOT NULL,
    PRIMARY KEY (record_id, version)
);
CREATE TABLE IF NOT EXISTS publications (
    key TEXT PRIMARY KEY,
    pmid TEXT,
    doi TEXT COLLATE NOCASE,
    pmcid TEXT COLLATE NOCASE,
    data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS publications_pmid ON publications (pmid);
CREATE INDEX IF NOT EXISTS publications_doi ON publications (doi);
CREATE INDEX IF NOT EXISTS publications_pmcid ON publications (pmcid);
CREATE TABLE IF NOT EXISTS link_keys (
    key TEXT NOT NULL,
    record_id INTEGER NOT NULL,
    PRIMARY KEY (key, record_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS link_keys_record ON link_keys (record_id);
CREATE TABLE IF NOT EXISTS mentions (
    accession TEXT NOT NULL COLLATE NOCASE,
    kind INTEGER NOT NULL,
    record_id INTEGER NOT NULL,
    PRIMARY KEY (accession, kind, record_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS mentions_record ON mentions (record_id);
CREATE TABLE IF NOT EXISTS counters (
    record_id INTEGER PRIMARY KEY,
    views INTEGER NOT NULL DEFAULT 0,
    downloads INTEGER NOT NULL DEFAULT 0
);
-- Precomputed similar lists (derived data, see `similar.rs`), a row per record:
-- `neighbours` the JSON array of their ids, most similar first; `list` their scores and
-- reasons in that order, `[[score, [reason, ...]], ...]`, packed (`packing.rs`, kind
-- `similar`; JSON text when converted from format 4). A row per neighbour with its reasons
-- as text was 68 of PubMed's 147 MB, and 20 inserts per record.
CREATE TABLE IF NOT EXISTS neighbour_lists (
    record_id INTEGER PRIMARY KEY,
    neighbours TEXT NOT NULL,
    list BLOB NOT NULL
);
-- The lists naming a record (derived from `neighbour_lists.neighbours`; see REBUILD_REFS).
CREATE TABLE IF NOT EXISTS neighbour_refs (
    neighbour INTEGER NOT NULL,
    record_id INTEGER NOT NULL,
    PRIMARY KEY (neighbour, record_id)
) WITHOUT ROWID;
-- Curators' decisions about pairs of records (see `Store::curate`), by repository and
-- accession so they outlive re-ingest and migration; the pair in canonical order (a < b).
CREATE TABLE IF NOT EXISTS curations (
    a_repository TEXT NOT NULL,
    a_accession TEXT NOT NULL,
    b_repository TEXT NOT NULL,
    b_accession TEXT NOT NULL,
    action TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    created INTEGER NOT NULL,
    PRIMARY KEY (a_repository, a_accession, b_repository, b_accession)
);
CREATE INDEX IF NOT EXISTS curations_b ON curations (b_repository, b_accession);
-- Curations seen from each record (both directions), by record id; `live`: both records are.
CREATE VIEW IF NOT EXISTS curation_edges AS
    SELECT x.id AS record_id, y.id AS other_id, c.action AS action, c.note AS note,
           x.deleted = 0 AND y.deleted = 0 AS live
    FROM curations c
    JOIN records x ON x.repository = c.a_repository AND x.accession = c.a_accession
    JOIN records y ON y.repository = c.b_repository AND y.accession = c.b_accession
    UNION ALL
    SELECT y.id, x.id, c.action, c.note, x.deleted = 0 AND y.deleted = 0
    FROM curations c
    JOIN records x ON x.repository = c.a_repository AND x.accession = c.a_accession
    JOIN records y ON y.repository = c.b_repository AND y.accession = c.b_accession;
"#;

/// How many citing or reanalysing records a record's relations list.
const MENTIONING_SHOWN: usize = 50;

pub struct SqliteStore {
    pub(super) writer: Mutex<Connection>,
    path: std::path::PathBuf,
    pub(super) packer: Packer,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    /// Between `similar_bulk(true)` and `similar_bulk(false)`: lists are written without
    /// their references.
    similar_bulk: AtomicBool,
}

fn open_conn(path: &Path) -> Result<Connection> {
    let c = Connection::open(path)?;
    c.busy_timeout(std::time::Duration::from_secs(30))?;
    // The default 4 KB pages, on purpose. Measured with 16 KB pages (a record's row then fits
    // in its leaf page, no overflow chain): PubMed's ingest 3.86 -> 3.61 s and its store
    // 166 -> 146 MB, but the portal served 10% fewer dataset pages (5,634 and 6,075 against
    // 5,319 and 5,202 per s) and fewer search API answers (2,390 and 2,601 against 2,203 and
    // 1,851 per s), `bench/load.py`, alternated. Not profiled; a likely part: each view writes
    // its counter, and a commit writes whole pages to the WAL.
    c.pragma_update(None, "journal_mode", "WAL")?;
    // NORMAL in WAL mode: a committed transaction survives a killed process (not always a
    // power cut, which costs an fsync per commit to guarantee).
    c.pragma_update(None, "synchronous", "NORMAL")?;
    c.pragma_update(None, "temp_store", "MEMORY")?;
    c.pragma_update(None, "cache_size", CACHE_KB)?;
    // Reads go through the OS page cache, not a memory map: each of the five connections
    // mapped up to 1 GB of the file, and every page it touched counted in the process's
    // resident memory once per connection. At 1M records an index rebuild peaked at 5.2 GB
    // with maps, 1.1 GB without, in the same time; a server under load at 1.45 GB against
    // 0.41 GB, with dataset pages within noise (4,570 against 4,343 pages/s, two runs each).
    c.pragma_update(None, "mmap_size", 0)?;
    // Checkpoint the WAL every ~40 MB instead of every 4 MB: bulk ingests rewrite the same
    // index pages many times, and each checkpoint copies them again (measured: 4% of an
    // ingest's CPU at the default).
    c.pragma_update(None, "wal_autocheckpoint", 10000)?;
    // One plan per statement whatever the bound values. Without it a statement that binds a
    // parameter on a table with a partial index (`records_live`: `deleted = 0`) is marked to
    // depend on the value and re-parsed at every new binding: measured, 46% of the server's
    // CPU on dataset pages and the link counts of every indexed record.
    c.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    Ok(c)
}

pub(crate) fn pack(bytes: &[u8]) -> Vec<u8> {
    lz4_flex::compress_prepend_size(bytes)
}

pub(crate) fn unpack(bytes: &[u8]) -> Result<Vec<u8>> {
    lz4_flex::decompress_size_prepended(bytes)
        .map_err(|e| EngineError::Corrupt(format!("lz4: {e}")))
}

/// The first bytes of a raw source packed by [`pack_raw`]. A blob of [`pack`] starts with its
/// length, which is never 2^32 - 1 (a record is far smaller).
pub(super) const RAW_AGAINST_DATASET: [u8; 4] = [0xff; 4];

/// Compresses a record's raw source with its normalized JSON as the dictionary. The two repeat
/// the same text (title, description, names): compressed alone, the raw source repeated it
/// in the row a second time.
pub(crate) fn pack_raw(raw: &[u8], dataset_json: &[u8]) -> Vec<u8> {
    let packed = lz4_flex::block::compress_prepend_size_with_dict(raw, dataset_json);
    let mut out = Vec::with_capacity(RAW_AGAINST_DATASET.len() + packed.len());
    out.extend_from_slice(&RAW_AGAINST_DATASET);
    out.extend_from_slice(&packed);
    out
}

/// A raw source packed by [`pack_raw`], with its record's JSON (unpacked).
pub(super) fn unpack_raw_with(raw: &[u8], json: &[u8]) -> Result<Vec<u8>> {
    let packed = raw.strip_prefix(&RAW_AGAINST_DATASET).unwrap_or(raw);
    lz4_flex::block::decompress_size_prepended_with_dict(packed, json)
        .map_err(|e| EngineError::Corrupt(format!("lz4: {e}")))
}

/// The store's dictionaries (oldest first), or the one of id `only`.
pub(super) fn dictionaries(conn: &Connection, only: Option<u32>) -> Result<Vec<Dictionary>> {
    let mut st = conn.prepare_cached(
        "SELECT id, kind, data FROM dictionaries WHERE ?1 IS NULL OR id = ?1 ORDER BY created, id",
    )?;
    let rows = st.query_map([only], |r| {
        Ok(Dictionary {
            id: r.get(0)?,
            kind: r.get(1)?,
            data: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Writes the dictionaries `packer` trained and has not saved, in the transaction that writes
/// blobs packed with them; marks the store format 4 (older builds cannot read such blobs).
/// Their ids, to mark saved once the transaction commits.
fn save_dictionaries(tx: &Connection, packer: &Packer) -> Result<Vec<u32>> {
    let ids = packer.save(|d, created| -> Result<Vec<u8>> {
        tx.execute(
            "INSERT OR IGNORE INTO dictionaries (id, kind, data, created) VALUES (?1, ?2, ?3, ?4)",
            params![d.id, d.kind, d.data, created],
        )?;
        Ok(
            tx.query_row("SELECT data FROM dictionaries WHERE id = ?1", [d.id], |r| {
                r.get(0)
            })?,
        )
    })?;
    if !ids.is_empty() {
        raise_format(tx, PACKED_FORMAT_VERSION)?;
        if packer
            .unsaved()
            .iter()
            .any(|d| ids.contains(&d.id) && d.kind.starts_with("record "))
        {
            raise_format(tx, PAIRS_FORMAT_VERSION)?;
        }
    }
    Ok(ids)
}

/// Serializes, hashes and compresses a record: the store's encoding of it.
pub(crate) fn encode(r: &NewRecord, packer: &Packer) -> Result<super::Prepared> {
    let json = serde_json::to_vec(&r.dataset)?;
    let raw = r.raw.as_bytes();
    // Only a publication with a key has a row to serve it from.
    let publication = r
        .publication
        .as_ref()
        .filter(|p| p.key().is_some())
        .map(serde_json::to_vec)
        .transpose()?;
    let kind = record_kind(&r.format);
    let (dataset, raw, publication) =
        match packer.pack_record(&kind, &json, publication.as_deref(), raw) {
            Some(frame) => {
                let marker = frame[..4].to_vec();
                (
                    frame,
                    marker,
                    publication.map(|_| PreparedPublication::InRecord),
                )
            }
            // Until the format's frame has a dictionary: the JSON with the dictionary of every
            // format's JSON (which a format of few records may never outgrow), the raw source
            // with the JSON as its dictionary, the publication alone.
            None => (
                packer.pack("dataset", &json, || pack(&json)),
                pack_raw(raw, &json),
                publication.map(|j| {
                    PreparedPublication::Packed(packer.pack("publication", &j, || pack(&j)))
                }),
            ),
        };
    Ok(super::Prepared {
        hash: hash_record(r, &json),
        dataset,
        raw,
        diagnostics: serde_json::to_string(&r.diagnostics)?,
        publication,
        document: None,
    })
}

fn hash_record(r: &NewRecord, dataset_json: &[u8]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(r.format.as_bytes());
    h.update(&[0]);
    h.update(r.raw.as_bytes());
    h.update(&[0]);
    h.update(dataset_json);
    *h.finalize().as_bytes()
}

/// The key and JSON of the publication a record's frame holds, if it is a triple holding one
/// with a key: what both stores pack into the publication's row before the frame is replaced.
pub(super) fn held_publication(
    packer: &Packer,
    frame: &[u8],
    load: impl FnOnce(u32) -> Result<Option<Dictionary>>,
) -> Result<Option<(String, Vec<u8>)>> {
    if !frame.starts_with(&RECORD_TRIPLE) {
        return Ok(None);
    }
    let json = packer.unpack_publication(frame, load)?;
    Ok(serde_json::from_slice::<Publication>(&json)?
        .key()
        .map(|key| (key, json)))
}

/// A publication's row names a record that is not in the store.
pub(super) fn missing_publication_record(id: i64) -> EngineError {
    EngineError::Corrupt(format!(
        "a publication is kept in record {id}, which is not in the store"
    ))
}

pub(crate) fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A similar list as both stores keep it, a row per record: the neighbours' ids as a JSON
/// array (PostgreSQL: an array) and their scores and reasons, `[[score, [reason, ...]], ...]`,
/// packed. `None` for an empty list (no row).
pub(super) fn encode_list(
    list: &[Neighbour],
    packer: &Packer,
) -> Result<Option<(String, Vec<u8>)>> {
    if list.is_empty() {
        return Ok(None);
    }
    let ids = serde_json::to_string(&list.iter().map(|n| n.id).collect::<Vec<_>>())?;
    let entries: Vec<(f32, &[String])> = list.iter().map(|n| (n.score, &n.reasons[..])).collect();
    let json = serde_json::to_vec(&entries)?;
    Ok(Some((ids, packer.pack("similar", &json, || pack(&json)))))
}

/// The first bytes of a PostgreSQL list converted from a row per neighbour (schema 5): its
/// entries follow as JSON. A blob of [`pack`] starts with its length, never 2^32 - 2.
pub(super) const LIST_AS_JSON: [u8; 4] = [0xfe; 4];

/// The list [`encode_list`] wrote, from its ids and its unpacked entries.
pub(super) fn decode_list(id: i64, ids: Vec<i64>, entries: &[u8]) -> Result<Vec<Neighbour>> {
    let entries: Vec<(f32, Vec<String>)> = serde_json::from_slice(entries)?;
    if ids.len() != entries.len() {
        return Err(EngineError::Corrupt(format!(
            "similar list of record {id}: {} neighbours and {} scores",
            ids.len(),
            entries.len()
        )));
    }
    Ok(ids
        .into_iter()
        .zip(entries)
        .map(|(id, (score, reasons))| Neighbour { id, score, reasons })
        .collect())
}

/// Converts format 4's similar lists and finishes a rewrite of every list that was killed
/// before it rebuilt the references (see [`Store::similar_bulk`]).
fn upgrade_similar(conn: &Connection) -> Result<()> {
    let old: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'similar_lists')",
        [],
        |r| r.get(0),
    )?;
    if old {
        tracing::info!("converting the similar lists to store format 5 (a row per record)");
        conn.execute_batch(&format!(
            "BEGIN; {CONVERT_LISTS}
             INSERT OR REPLACE INTO meta (key, value) VALUES ('neighbour_refs', 'stale');
             UPDATE meta SET value = '{LISTS_FORMAT_VERSION}' WHERE key = 'format_version'
                 AND CAST(value AS INTEGER) < {LISTS_FORMAT_VERSION}
                 AND EXISTS (SELECT 1 FROM neighbour_lists);
             COMMIT;"
        ))?;
    }
    let stale = conn
        .query_row("SELECT 1 FROM meta WHERE key = 'neighbour_refs'", [], |r| {
            r.get::<_, i64>(0)
        })
        .optional()?
        .is_some();
    if stale {
        rebuild_refs(conn)?;
    }
    Ok(())
}

impl SqliteStore {
    pub fn open(path: &Path) -> Result<Self> {
        let mut writer = open_conn(path)?;
        writer.execute_batch(SCHEMA)?;
        let version: Option<String> = writer
            .query_row(
                "SELECT value FROM meta WHERE key = 'format_version'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        match version.as_deref().map(str::parse::<i64>) {
            None => {
                writer.execute("INSERT INTO meta (key, value) VALUES ('format_version', ?1)", [BASE_FORMAT_VERSION.to_string()])?;
            }
            // 2 is 4 without curations and dictionaries (see `STORE_FORMAT_VERSION`).
            Some(Ok(v)) if (BASE_FORMAT_VERSION..=STORE_FORMAT_VERSION).contains(&v) => {}
            Some(Ok(1)) => {
                // Version 2 added links and clusters: derive them from the stored records.
                tracing::info!("upgrading the store to format 2 (record links and clusters)");
                writer.execute_batch("ALTER TABLE records ADD COLUMN cluster INTEGER")?;
                Self::relink_all(&mut writer)?;
                writer.execute("UPDATE meta SET value = ?1 WHERE key = 'format_version'", [BASE_FORMAT_VERSION.to_string()])?;
            }
            Some(Ok(v)) if v > STORE_FORMAT_VERSION => {
                return Err(EngineError::Incompatible(format!(
                    "the data directory was written by a newer opendi (store format {v}, this build reads up to {STORE_FORMAT_VERSION})"
                )))
            }
            Some(other) => {
                return Err(EngineError::Incompatible(format!("unknown store format version {other:?}; cannot upgrade")));
            }
        }
        writer.execute_batch(
            "CREATE INDEX IF NOT EXISTS records_cluster ON records (cluster) WHERE cluster IS NOT NULL",
        )?;
        upgrade_similar(&writer)?;
        let readers = (0..4)
            .map(|_| open_conn(path).map(Mutex::new))
            .collect::<Result<Vec<_>>>()?;
        let packer = Packer::new(dictionaries(&writer, None)?, true);
        Ok(SqliteStore {
            writer: Mutex::new(writer),
            path: path.to_path_buf(),
            packer,
            readers,
            next_reader: AtomicUsize::new(0),
            similar_bulk: AtomicBool::new(false),
        })
    }

    /// Decompresses one of the store's blobs (see [`Packer::unpack`]).
    pub(super) fn unpack(&self, blob: &[u8]) -> Result<Vec<u8>> {
        self.packer.unpack(blob, |id| self.load_dictionary(id))
    }

    /// Before record `id`'s frame is replaced: if it holds a publication whose row names the
    /// record and that the new version (whose publication has `new_key`) does not write
    /// again, the publication is packed into its row, which would otherwise name a record
    /// that no longer holds it.
    fn keep_publication(&self, tx: &Connection, id: i64, new_key: Option<&str>) -> Result<()> {
        // Only a triple's `raw` is its marker: other records' frames are not read.
        let frame: Option<Vec<u8>> = tx
            .query_row(
                "SELECT dataset FROM records WHERE id = ?1 AND length(raw) = 4 AND raw = ?2",
                params![id, &RECORD_TRIPLE[..]],
                |r| r.get(0),
            )
            .optional()?;
        let Some(frame) = frame else {
            return Ok(());
        };
        let Some((key, json)) =
            held_publication(&self.packer, &frame, |d| self.load_dictionary(d))?
        else {
            return Ok(());
        };
        if new_key == Some(key.as_str()) {
            return Ok(());
        }
        tx.execute(
            "UPDATE publications SET data = ?2 WHERE key = ?1 AND data = ?3",
            params![
                key,
                self.packer.pack("publication", &json, || pack(&json)),
                publication_ref(id)
            ],
        )?;
        Ok(())
    }

    /// Reads a dictionary another process saved after this one opened the store. On a
    /// connection of its own: the caller may hold a reader or the writer, and this happens
    /// once per dictionary and process.
    pub(super) fn load_dictionary(&self, id: u32) -> Result<Option<Dictionary>> {
        Ok(dictionaries(&open_conn(&self.path)?, Some(id))?.pop())
    }

    pub(super) fn reader(&self) -> std::sync::MutexGuard<'_, Connection> {
        // Try each reader without blocking before waiting on one.
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        for i in 0..self.readers.len() {
            if let Ok(g) = self.readers[(start + i) % self.readers.len()].try_lock() {
                return g;
            }
        }
        self.readers[start % self.readers.len()]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    fn read_record(row: &rusqlite::Row<'_>) -> rusqlite::Result<(StoredRecord, Vec<u8>, String)> {
        let hash: Vec<u8> = row.get("content_hash")?;
        let rec = StoredRecord {
            id: row.get("id")?,
            repository: row.get("repository")?,
            accession: row.get("accession")?,
            version: row.get("version")?,
            content_hash: hex(&hash),
            format: row.get("format")?,
            source: row.get("source")?,
            first_ingested: row.get("first_ingested")?,
            last_ingested: row.get("last_ingested")?,
            deleted: row.get::<_, i64>("deleted")? != 0,
            seq: row.get("seq")?,
            dataset: Dataset::default(),
            diagnostics: Vec::new(),
        };
        Ok((rec, row.get("dataset")?, row.get("diagnostics")?))
    }

    fn change_rows(&self, parts: Vec<(StoredRecord, Vec<u8>, String)>) -> Result<Vec<ChangeRow>> {
        parts
            .into_iter()
            .map(|p| {
                let rec = self.finish(p)?;
                Ok(ChangeRow {
                    seq: rec.seq,
                    record: rec,
                })
            })
            .collect()
    }

    fn finish(&self, parts: (StoredRecord, Vec<u8>, String)) -> Result<StoredRecord> {
        let (mut rec, ds, diags) = parts;
        rec.dataset = serde_json::from_slice(&self.unpack(&ds)?)?;
        rec.diagnostics = serde_json::from_str::<Vec<Diagnostic>>(&diags)?;
        Ok(rec)
    }
}

const RECORD_COLS: &str =
    "id, repository, accession, version, content_hash, format, source, first_ingested, last_ingested, deleted, seq, dataset, diagnostics";

impl Store for SqliteStore {
    fn packer(&self) -> &Packer {
        &self.packer
    }

    fn apply(&self, batch: &[Change], now: i64) -> Result<Applied> {
        let mut conn = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        // IMMEDIATE: the write lock is taken at BEGIN, where SQLite's busy timeout waits for
        // another process's writer (a server counting views). A deferred transaction that
        // reads first fails at once with "database is locked" when another process wrote in
        // between (its snapshot is stale), stopping the ingest (found by the soak test).
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut seq: i64 = tx.query_row("SELECT COALESCE(MAX(seq), 0) FROM records", [], |r| {
            r.get(0)
        })?;
        let mut out = Vec::with_capacity(batch.len());
        let mut work = LinkWork {
            curated: has_curations(&tx)?,
            ..Default::default()
        };
        // Whether a publication row names its record (format 7).
        let mut in_record = false;
        {
            let mut find = tx.prepare_cached("SELECT id, content_hash, version, deleted FROM records WHERE repository = ?1 AND accession = ?2")?;
            let mut touch =
                tx.prepare_cached("UPDATE records SET last_ingested = ?2 WHERE id = ?1")?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO records (repository, accession, version, content_hash, format, source, first_ingested, last_ingested, \
                 deleted, errors, seq, dataset, raw, diagnostics) VALUES (?1, ?2, 1, ?3, ?4, ?5, ?6, ?6, 0, ?7, ?8, ?9, ?10, ?11)",
            )?;
            let mut archive = tx.prepare_cached(
                "INSERT OR REPLACE INTO history (record_id, version, content_hash, format, source, ingested, replaced, deleted, dataset, raw) \
                 SELECT id, version, content_hash, format, source, last_ingested, ?2, deleted, dataset, raw FROM records WHERE id = ?1",
            )?;
            let mut update = tx.prepare_cached(
                "UPDATE records SET version = version + 1, content_hash = ?2, format = ?3, source = ?4, last_ingested = ?5, deleted = 0, \
                 errors = ?6, seq = ?7, dataset = ?8, raw = ?9, diagnostics = ?10 WHERE id = ?1",
            )?;
            let mut tombstone = tx.prepare_cached("UPDATE records SET deleted = 1, seq = ?2, last_ingested = ?3, source = ?4 WHERE id = ?1")?;
            let mut insert_tomb = tx.prepare_cached(
                "INSERT INTO records (repository, accession, version, content_hash, format, source, first_ingested, last_ingested, \
                 deleted, seq, dataset, raw) VALUES (?1, ?2, 1, X'', 'tombstone', ?3, ?4, ?4, 1, ?5, ?6, ?7)",
            )?;
            let mut del_acc = tx.prepare_cached("DELETE FROM accessions WHERE record_id = ?1")?;
            let mut add_acc = tx.prepare_cached(
                "INSERT OR IGNORE INTO accessions (accession, record_id) VALUES (?1, ?2)",
            )?;
            let mut put_pub = tx.prepare_cached("INSERT OR REPLACE INTO publications (key, pmid, doi, pmcid, data) VALUES (?1, ?2, ?3, ?4, ?5)")?;

            for change in batch {
                match change {
                    Change::Upsert(r) => {
                        let d = &r.dataset;
                        let owned;
                        let enc = match &r.prepared {
                            Some(p) => p,
                            None => {
                                owned = encode(r, &self.packer)?;
                                &owned
                            }
                        };
                        let hash = enc.hash;
                        let existing: Option<(i64, Vec<u8>, i64, i64)> = find
                            .query_row(params![d.repository, d.accession], |row| {
                                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
                            })
                            .optional()?;
                        let errors = r
                            .diagnostics
                            .iter()
                            .filter(|x| x.severity == opendi_model::Severity::Error)
                            .count() as i64;
                        let diags = &enc.diagnostics;
                        let (outcome, id) = match existing {
                            Some((id, old_hash, _, deleted))
                                if old_hash == hash && deleted == 0 =>
                            {
                                touch.execute(params![id, now])?;
                                (Outcome::Unchanged, id)
                            }
                            Some((id, _, _, _)) => {
                                seq += 1;
                                let new_key = r.publication.as_ref().and_then(|p| p.key());
                                self.keep_publication(&tx, id, new_key.as_deref())?;
                                archive.execute(params![id, now])?;
                                update.execute(params![
                                    id,
                                    &hash[..],
                                    r.format,
                                    r.source,
                                    now,
                                    errors,
                                    seq,
                                    enc.dataset,
                                    enc.raw,
                                    diags
                                ])?;
                                (Outcome::Updated, id)
                            }
                            None => {
                                seq += 1;
                                insert.execute(params![
                                    d.repository,
                                    d.accession,
                                    &hash[..],
                                    r.format,
                                    r.source,
                                    now,
                                    errors,
                                    seq,
                                    enc.dataset,
                                    enc.raw,
                                    diags
                                ])?;
                                (Outcome::New, tx.last_insert_rowid())
                            }
                        };
                        if outcome != Outcome::Unchanged {
                            if outcome == Outcome::Updated {
                                del_acc.execute([id])?;
                            }
                            for acc in d.all_accessions() {
                                add_acc.execute(params![acc, id])?;
                            }
                            relink(&tx, id, Some(d), outcome == Outcome::New, &mut work)?;
                            // `encode` prepares the publication of every record whose publication
                            // has a key.
                            if let (Some(p), Some(stored)) = (&r.publication, &enc.publication) {
                                if let Some(key) = p.key() {
                                    in_record |= matches!(stored, PreparedPublication::InRecord);
                                    let data = stored.row(id);
                                    put_pub.execute(params![key, p.pmid, p.doi, p.pmcid, data])?;
                                }
                            }
                        }
                        out.push((outcome, id));
                    }
                    Change::Delete {
                        repository,
                        accession,
                        source,
                    } => {
                        let existing: Option<(i64, Vec<u8>, i64, i64)> = find
                            .query_row(params![repository, accession], |row| {
                                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
                            })
                            .optional()?;
                        match existing {
                            Some((id, _, _, 1)) => out.push((Outcome::Unchanged, id)),
                            Some((id, _, _, _)) => {
                                seq += 1;
                                archive.execute(params![id, now])?;
                                tombstone.execute(params![id, seq, now, source])?;
                                relink(&tx, id, None, false, &mut work)?;
                                out.push((Outcome::Deleted, id));
                            }
                            None => {
                                seq += 1;
                                let d = Dataset::new(repository, accession);
                                insert_tomb.execute(params![
                                    repository,
                                    accession,
                                    source,
                                    now,
                                    seq,
                                    pack(&serde_json::to_vec(&d)?),
                                    pack(b"")
                                ])?;
                                let id = tx.last_insert_rowid();
                                add_acc.execute(params![accession, id])?;
                                work.written.insert(id);
                                out.push((Outcome::DeletedUnknown, id));
                            }
                        }
                    }
                }
            }
        }
        let touched = finish_links(&tx, &work, &mut seq)?;
        let dictionaries = save_dictionaries(&tx, &self.packer)?;
        if in_record {
            raise_format(&tx, STORE_FORMAT_VERSION)?;
        }
        tx.commit()?;
        self.packer.saved(&dictionaries);
        Ok(Applied {
            outcomes: out,
            touched,
        })
    }

    fn get(&self, id: i64) -> Result<Option<StoredRecord>> {
        let conn = self.reader();
        let mut st =
            conn.prepare_cached(&format!("SELECT {RECORD_COLS} FROM records WHERE id = ?1"))?;
        let parts = st.query_row([id], Self::read_record).optional()?;
        parts.map(|p| self.finish(p)).transpose()
    }

    fn heads(&self, ids: &[i64]) -> Result<Vec<(i64, Dataset)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let conn = self.reader();
        let marks = vec!["?"; ids.len()].join(",");
        let mut st = conn.prepare_cached(&format!(
            "SELECT id, dataset FROM records WHERE deleted = 0 AND id IN ({marks})"
        ))?;
        let rows = st
            .query_map(rusqlite::params_from_iter(ids), |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|(id, blob)| {
                let head: opendi_model::DatasetHead = serde_json::from_slice(&self.unpack(&blob)?)?;
                Ok((id, head.into()))
            })
            .collect()
    }

    fn raw(&self, id: i64) -> Result<Option<String>> {
        let conn = self.reader();
        let row: Option<(Vec<u8>, Vec<u8>)> = conn
            .query_row(
                "SELECT raw, dataset FROM records WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        drop(conn);
        row.map(|(raw, ds)| {
            self.packer
                .unpack_raw(&raw, &ds, |id| self.load_dictionary(id))
                .map(|v| String::from_utf8_lossy(&v).into_owned())
        })
        .transpose()
    }

    fn get_by_key(&self, repository: &str, accession: &str) -> Result<Option<StoredRecord>> {
        let conn = self.reader();
        let mut st = conn.prepare_cached(&format!(
            "SELECT {RECORD_COLS} FROM records WHERE repository = ?1 AND accession = ?2"
        ))?;
        let parts = st
            .query_row(params![repository, accession], Self::read_record)
            .optional()?;
        parts.map(|p| self.finish(p)).transpose()
    }

    fn by_key(&self, repository: &str, accession: &str) -> Result<Option<i64>> {
        let conn = self.reader();
        let mut st =
            conn.prepare_cached("SELECT id FROM records WHERE repository = ?1 AND accession = ?2")?;
        Ok(st
            .query_row(params![repository, accession], |r| r.get(0))
            .optional()?)
    }

    fn find_accession(&self, accession: &str) -> Result<Vec<i64>> {
        let conn = self.reader();
        let mut st = conn.prepare_cached(
            "SELECT record_id FROM accessions WHERE accession = ?1 ORDER BY record_id",
        )?;
        let ids = st
            .query_map([accession.trim()], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<i64>>>()?;
        Ok(ids)
    }

    fn history(&self, id: i64) -> Result<Vec<HistoryEntry>> {
        let conn = self.reader();
        let mut st = conn.prepare_cached(
            "SELECT version, content_hash, format, source, ingested, replaced, deleted, dataset FROM history WHERE record_id = ?1 ORDER BY version",
        )?;
        let rows = st.query_map([id], |r| {
            let h: Vec<u8> = r.get(1)?;
            Ok((
                r.get(0)?,
                hex(&h),
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get::<_, i64>(6)? != 0,
                r.get::<_, Vec<u8>>(7)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (version, content_hash, format, source, ingested, replaced, deleted, ds) = row?;
            let dataset = serde_json::from_slice(&self.unpack(&ds)?)?;
            out.push(HistoryEntry {
                version,
                content_hash,
                format,
                source,
                ingested,
                replaced,
                deleted,
                dataset,
            });
        }
        Ok(out)
    }

    fn changes_since(&self, after: i64, limit: usize) -> Result<Vec<ChangeRow>> {
        let conn = self.reader();
        let mut st = conn.prepare_cached(&format!(
            "SELECT {RECORD_COLS} FROM records WHERE seq > ?1 ORDER BY seq LIMIT ?2"
        ))?;
        let parts = st
            .query_map(params![after, limit as i64], Self::read_record)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        self.change_rows(parts)
    }

    fn last_seq(&self) -> Result<i64> {
        let conn = self.reader();
        Ok(
            conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM records", [], |r| {
                r.get(0)
            })?,
        )
    }

    fn publication(
        &self,
        pmid: Option<&str>,
        doi: Option<&str>,
        pmcid: Option<&str>,
    ) -> Result<Option<Publication>> {
        let conn = self.reader();
        let lookups = [("pmid", pmid), ("doi", doi), ("pmcid", pmcid)];
        for (col, v) in lookups {
            let Some(v) = v else { continue };
            let mut st = conn.prepare_cached(&format!(
                "SELECT data FROM publications WHERE {col} = ?1 LIMIT 1"
            ))?;
            if let Some(data) = st.query_row([v], |r| r.get::<_, Vec<u8>>(0)).optional()? {
                let json = match publication_ref_id(&data) {
                    Some(id) => {
                        let frame: Vec<u8> = conn
                            .query_row("SELECT dataset FROM records WHERE id = ?1", [id], |r| {
                                r.get(0)
                            })
                            .optional()?
                            .ok_or_else(|| missing_publication_record(id))?;
                        self.packer
                            .unpack_publication(&frame, |d| self.load_dictionary(d))?
                    }
                    None => self.unpack(&data)?,
                };
                return Ok(Some(serde_json::from_slice(&json)?));
            }
        }
        Ok(None)
    }

    fn stats(&self) -> Result<StoreStats> {
        let conn = self.reader();
        let one = |sql: &str| -> Result<i64> { Ok(conn.query_row(sql, [], |r| r.get(0))?) };
        let group = |sql: &str| -> Result<Vec<(String, u64)>> {
            let mut st = conn.prepare(sql)?;
            let rows = st.query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        };
        Ok(StoreStats {
            records: one("SELECT COUNT(*) FROM records WHERE deleted = 0")? as u64,
            deleted: one("SELECT COUNT(*) FROM records WHERE deleted = 1")? as u64,
            with_errors: one("SELECT COUNT(*) FROM records WHERE deleted = 0 AND errors > 0")? as u64,
            publications: one("SELECT COUNT(*) FROM publications")? as u64,
            history_versions: one("SELECT COUNT(*) FROM history")? as u64,
            last_seq: one("SELECT COALESCE(MAX(seq), 0) FROM records")?,
            per_repository: group("SELECT repository, COUNT(*) FROM records WHERE deleted = 0 GROUP BY repository ORDER BY 2 DESC, 1")?,
            per_format: group("SELECT format, COUNT(*) FROM records WHERE deleted = 0 GROUP BY format ORDER BY 2 DESC, 1")?,
        })
    }

    fn add_counts(&self, counts: &[(i64, Counters)]) -> Result<()> {
        let mut conn = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        // IMMEDIATE, as in `apply`: wait for a concurrent ingest's transaction, do not fail.
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        {
            let mut st = tx.prepare_cached(
                "INSERT INTO counters (record_id, views, downloads) VALUES (?1, ?2, ?3)
                 ON CONFLICT (record_id) DO UPDATE
                 SET views = views + excluded.views, downloads = downloads + excluded.downloads",
            )?;
            for (id, c) in counts {
                st.execute(rusqlite::params![id, c.views as i64, c.downloads as i64])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn add_view(&self, id: i64) -> Result<()> {
        self.bump_counter(id, "views")
    }

    fn add_download(&self, id: i64) -> Result<()> {
        self.bump_counter(id, "downloads")
    }

    fn set_similar(&self, lists: &[(i64, Vec<Neighbour>)]) -> Result<()> {
        // Encoded and packed before taking the writer: the workers of `similar --all` pack
        // their own lists side by side.
        let rows = lists
            .iter()
            .map(|(id, list)| encode_list(list, &self.packer).map(|row| (*id, list, row)))
            .collect::<Result<Vec<_>>>()?;
        let bulk = self.similar_bulk.load(Ordering::Relaxed);
        let mut conn = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let tx = conn.transaction()?;
        {
            let mut old =
                tx.prepare_cached("SELECT neighbours FROM neighbour_lists WHERE record_id = ?1")?;
            let mut unref = tx.prepare_cached(
                "DELETE FROM neighbour_refs WHERE neighbour = ?1 AND record_id = ?2",
            )?;
            let mut add_ref = tx.prepare_cached(
                "INSERT OR IGNORE INTO neighbour_refs (neighbour, record_id) VALUES (?1, ?2)",
            )?;
            let mut clear =
                tx.prepare_cached("DELETE FROM neighbour_lists WHERE record_id = ?1")?;
            let mut put = tx.prepare_cached(
                "INSERT OR REPLACE INTO neighbour_lists (record_id, neighbours, list) VALUES (?1, ?2, ?3)",
            )?;
            for (id, list, row) in &rows {
                // A rewrite of every list rebuilds the references once at its end instead.
                if !bulk {
                    let before: Option<String> = old.query_row([id], |r| r.get(0)).optional()?;
                    for n in serde_json::from_str::<Vec<i64>>(before.as_deref().unwrap_or("[]"))? {
                        unref.execute([n, *id])?;
                    }
                    for n in list.iter() {
                        add_ref.execute([n.id, *id])?;
                    }
                }
                match row {
                    None => clear.execute([id])?,
                    Some((neighbours, packed)) => put.execute(params![id, neighbours, packed])?,
                };
            }
        }
        if rows.iter().any(|(_, _, row)| row.is_some()) {
            raise_format(&tx, LISTS_FORMAT_VERSION)?;
        }
        let dictionaries = save_dictionaries(&tx, &self.packer)?;
        tx.commit()?;
        self.packer.saved(&dictionaries);
        Ok(())
    }

    fn has_similar_lists(&self) -> Result<bool> {
        let conn = self.reader();
        Ok(
            conn.query_row("SELECT EXISTS (SELECT 1 FROM neighbour_lists)", [], |r| {
                r.get(0)
            })?,
        )
    }

    fn similar_bulk(&self, rewriting: bool) -> Result<()> {
        let conn = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        if rewriting {
            // Marked in the store: a rewrite killed midway gets its references rebuilt at the
            // next open.
            conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('neighbour_refs', 'stale')",
                [],
            )?;
            self.similar_bulk.store(true, Ordering::Relaxed);
            Ok(())
        } else {
            self.similar_bulk.store(false, Ordering::Relaxed);
            rebuild_refs(&conn)
        }
    }

    fn similar(&self, id: i64) -> Result<Vec<Neighbour>> {
        let conn = self.reader();
        let mut stmt = conn
            .prepare_cached("SELECT neighbours, list FROM neighbour_lists WHERE record_id = ?1")?;
        let row = stmt
            .query_row([id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, rusqlite::types::Value>(1)?,
                ))
            })
            .optional()?;
        drop(stmt);
        drop(conn);
        let Some((neighbours, list)) = row else {
            return Ok(Vec::new());
        };
        let json = match list {
            rusqlite::types::Value::Blob(b) => self.unpack(&b)?,
            // Converted from format 4.
            rusqlite::types::Value::Text(t) => t.into_bytes(),
            other => {
                return Err(EngineError::Corrupt(format!(
                    "similar list of record {id}: {:?} instead of a list",
                    other.data_type()
                )))
            }
        };
        decode_list(id, serde_json::from_str(&neighbours)?, &json)
    }

    fn similar_listing(&self, ids: &[i64]) -> Result<Vec<i64>> {
        let conn = self.reader();
        let mut stmt =
            conn.prepare_cached("SELECT record_id FROM neighbour_refs WHERE neighbour = ?1")?;
        let mut out = Vec::new();
        for id in ids {
            for r in stmt.query_map([id], |r| r.get::<_, i64>(0))? {
                out.push(r?);
            }
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    fn counters(&self, id: i64) -> Result<Counters> {
        let conn = self.reader();
        let c = conn
            .query_row(
                "SELECT views, downloads FROM counters WHERE record_id = ?1",
                [id],
                |r| {
                    Ok(Counters {
                        views: r.get::<_, i64>(0)? as u64,
                        downloads: r.get::<_, i64>(1)? as u64,
                    })
                },
            )
            .optional()?;
        Ok(c.unwrap_or_default())
    }

    fn link_counts(&self, id: i64) -> Result<LinkCounts> {
        Self::link_counts_on(&self.reader(), id)
    }

    fn cluster(&self, id: i64) -> Result<i64> {
        Ok(Self::cluster_of(&self.reader(), id)?.map_or(id, |(head, _)| head))
    }

    fn records_with_clusters(&self, ids: &[i64]) -> Result<Vec<(StoredRecord, i64)>> {
        let conn = self.reader();
        // One read transaction, as in `link_counts_many`; the cluster from the same row.
        let tx = conn.unchecked_transaction()?;
        let mut out = Vec::with_capacity(ids.len());
        {
            let mut st = tx.prepare_cached(&format!(
                "SELECT {RECORD_COLS}, COALESCE(cluster, id) AS head FROM records WHERE id = ?1"
            ))?;
            for &id in ids {
                let row = st
                    .query_row([id], |r| {
                        Ok((Self::read_record(r)?, r.get::<_, i64>("head")?))
                    })
                    .optional()?;
                if let Some((parts, head)) = row.filter(|(parts, _)| !parts.0.deleted) {
                    out.push((self.finish(parts)?, head));
                }
            }
        }
        tx.commit()?;
        Ok(out)
    }

    fn link_counts_many(&self, ids: &[i64]) -> Result<Vec<LinkCounts>> {
        let conn = self.reader();
        // One read transaction: outside one, every statement takes and drops SQLite's locks
        // (`fcntl` calls and a look at the WAL index each). Per record, that was a sixth of
        // the writing thread's time on PubMed.
        let tx = conn.unchecked_transaction()?;
        let counts = ids
            .iter()
            .map(|&id| Self::link_counts_on(&tx, id))
            .collect::<Result<Vec<_>>>()?;
        tx.finish()?;
        Ok(counts)
    }

    fn relations(&self, id: i64) -> Result<Relations> {
        let conn = self.reader();
        let Some((head, clustered)) = Self::cluster_of(&conn, id)? else {
            return Ok(Relations {
                cluster: id,
                ..Default::default()
            });
        };
        // The lists stop at 50; only a full list needs its count asked separately.
        let listed = |kind| -> Result<(u64, Vec<RecordRef>)> {
            let list = Self::mentioning(&conn, id, head, kind)?;
            let n = if list.len() < MENTIONING_SHOWN {
                list.len() as u64
            } else {
                Self::count_mentions(&conn, id, head, kind)?
            };
            Ok((n, list))
        };
        let (citations, cited_by) = listed(MENTION_CITES)?;
        let (reanalyses, reanalysed_by) = listed(MENTION_REANALYSES)?;
        Ok(Relations {
            cluster: head,
            also_in: if clustered {
                Self::members(&conn, id, head)?
            } else {
                Vec::new()
            },
            citations,
            cited_by,
            reanalyses,
            reanalysed_by,
        })
    }

    fn also_in(&self, id: i64) -> Result<Vec<RecordRef>> {
        let conn = self.reader();
        match Self::cluster_of(&conn, id)? {
            Some((head, true)) => Self::members(&conn, id, head),
            _ => Ok(Vec::new()),
        }
    }

    fn clusters(&self, limit: usize) -> Result<Vec<Vec<RecordRef>>> {
        let conn = self.reader();
        let heads = {
            let mut st = conn.prepare(
                "SELECT cluster FROM records WHERE cluster IS NOT NULL AND deleted = 0                  GROUP BY cluster ORDER BY COUNT(*) DESC, cluster LIMIT ?1",
            )?;
            let v = st
                .query_map([limit as i64], |r| r.get::<_, i64>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            v
        };
        let mut out = Vec::with_capacity(heads.len());
        for head in heads {
            let (repository, accession): (String, String) = conn.query_row(
                "SELECT repository, accession FROM records WHERE id = ?1",
                [head],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let mut members = vec![RecordRef {
                id: head,
                repository,
                accession,
                reason: String::new(),
            }];
            members.extend(Self::members(&conn, head, head)?);
            out.push(members);
        }
        Ok(out)
    }

    fn curate(
        &self,
        action: CurationAction,
        a: i64,
        b: i64,
        note: &str,
        now: i64,
    ) -> Result<Curated> {
        let mut conn = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        // IMMEDIATE, as in `apply`.
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut seq: i64 = tx.query_row("SELECT COALESCE(MAX(seq), 0) FROM records", [], |r| {
            r.get(0)
        })?;
        if a == b {
            return Err(EngineError::Invalid(
                "a curation names two different records".into(),
            ));
        }
        let name = |id: i64| -> Result<(String, String, Option<i64>)> {
            let row: Option<(String, String, bool, Option<i64>)> = tx
                .prepare_cached(
                    "SELECT repository, accession, deleted, cluster FROM records WHERE id = ?1",
                )?
                .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                .optional()?;
            match row {
                Some((repo, acc, false, cluster)) => Ok((repo, acc, cluster)),
                _ => Err(EngineError::NotFound(format!(
                    "no live record with id {id}"
                ))),
            }
        };
        let (ra, rb) = (name(a)?, name(b)?);
        let (first, second) = if (&ra.0, &ra.1) <= (&rb.0, &rb.1) {
            (&ra, &rb)
        } else {
            (&rb, &ra)
        };
        tx.execute(
            "INSERT INTO curations (a_repository, a_accession, b_repository, b_accession, action, note, created) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
             ON CONFLICT (a_repository, a_accession, b_repository, b_accession) \
             DO UPDATE SET action = excluded.action, note = excluded.note, created = excluded.created",
            params![first.0, first.1, second.0, second.1, action.as_str(), note, now],
        )?;
        // Everything the decision can regroup: both records and their clusters as they were.
        let mut work = LinkWork {
            curated: true,
            ..Default::default()
        };
        work.seeds.extend([a, b]);
        for head in [ra.2, rb.2].into_iter().flatten() {
            work.seeds.extend(ids(
                &tx,
                "SELECT id FROM records WHERE cluster = ?1",
                &head,
            )?);
        }
        let touched = finish_links(&tx, &work, &mut seq)?;
        raise_format(&tx, CURATED_FORMAT_VERSION)?;
        tx.commit()?;
        Ok(Curated { touched })
    }

    fn curations(&self) -> Result<Vec<Curation>> {
        let conn = self.reader();
        let mut st = conn.prepare_cached(
            "SELECT a_repository, a_accession, b_repository, b_accession, action, note, created \
             FROM curations ORDER BY created, a_repository, a_accession, b_repository, b_accession",
        )?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    Curation {
                        action: CurationAction::Merge,
                        a_repository: r.get(0)?,
                        a_accession: r.get(1)?,
                        b_repository: r.get(2)?,
                        b_accession: r.get(3)?,
                        note: r.get(5)?,
                        created: r.get(6)?,
                    },
                    r.get::<_, String>(4)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|(mut c, action)| {
                c.action = CurationAction::parse(&action).ok_or_else(|| {
                    EngineError::Corrupt(format!("unknown curation action {action:?}"))
                })?;
                Ok(c)
            })
            .collect()
    }

    fn changes_filtered(
        &self,
        after: i64,
        limit: usize,
        filter: &ChangeFilter,
    ) -> Result<Vec<ChangeRow>> {
        let conn = self.reader();
        // One statement for every combination: a NULL bound is no bound.
        let mut st = conn.prepare_cached(&format!(
            "SELECT {RECORD_COLS} FROM records WHERE seq > ?1
               AND (?3 IS NULL OR repository = ?3)
               AND (?4 IS NULL OR last_ingested >= ?4)
               AND (?5 IS NULL OR last_ingested <= ?5)
               AND (?6 OR deleted = 0)
             ORDER BY seq LIMIT ?2"
        ))?;
        let parts = st
            .query_map(
                params![
                    after,
                    limit as i64,
                    filter.repository,
                    filter.from,
                    filter.until,
                    filter.include_deleted
                ],
                Self::read_record,
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        self.change_rows(parts)
    }

    fn live_keys(&self, offset: u64, limit: usize) -> Result<Vec<RecordKey>> {
        let conn = self.reader();
        let mut st = conn.prepare_cached(
            "SELECT id, repository, accession, last_ingested FROM records WHERE deleted = 0
             ORDER BY id LIMIT ?1 OFFSET ?2",
        )?;
        let rows = st
            .query_map(params![limit as i64, offset as i64], |r| {
                Ok(RecordKey {
                    id: r.get(0)?,
                    repository: r.get(1)?,
                    accession: r.get(2)?,
                    last_ingested: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn most_viewed(&self, limit: usize) -> Result<Vec<(i64, Counters)>> {
        let conn = self.reader();
        let mut st = conn.prepare_cached(
            "SELECT c.record_id, c.views, c.downloads FROM counters c
             JOIN records r ON r.id = c.record_id AND r.deleted = 0
             WHERE c.views > 0 ORDER BY c.views DESC, c.record_id LIMIT ?1",
        )?;
        let rows = st
            .query_map([limit as i64], |r| {
                Ok((
                    r.get(0)?,
                    Counters {
                        views: r.get::<_, i64>(1)? as u64,
                        downloads: r.get::<_, i64>(2)? as u64,
                    },
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }
}

impl SqliteStore {
    fn link_counts_on(conn: &Connection, id: i64) -> Result<LinkCounts> {
        let Some((head, clustered)) = Self::cluster_of(conn, id)? else {
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
        // Both counts in one statement: this runs for every record the writer indexes.
        let mut st = conn.prepare_cached(
            "SELECT m.kind, COUNT(DISTINCT m.record_id) FROM accessions a \
             JOIN mentions m ON m.accession = a.accession \
             JOIN records r ON r.id = m.record_id \
             WHERE a.record_id = ?1 AND r.deleted = 0 AND COALESCE(r.cluster, r.id) <> ?2 \
             GROUP BY m.kind",
        )?;
        let rows = st.query_map(params![id, head], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
        })?;
        for row in rows {
            match row? {
                (MENTION_CITES, n) => counts.citations = n as u64,
                (MENTION_REANALYSES, n) => counts.reanalyses = n as u64,
                _ => {}
            }
        }
        Ok(counts)
    }

    fn members(conn: &Connection, id: i64, head: i64) -> Result<Vec<RecordRef>> {
        let mut st = conn.prepare_cached(
            "SELECT id, repository, accession FROM records WHERE cluster = ?1 AND id <> ?2 AND deleted = 0 ORDER BY id",
        )?;
        let mut v = st
            .query_map(params![head, id], |r| {
                Ok(RecordRef {
                    id: r.get(0)?,
                    repository: r.get(1)?,
                    accession: r.get(2)?,
                    reason: String::new(),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        for m in &mut v {
            m.reason = Self::member_reason(conn, id, m.id, head)?;
        }
        Ok(v)
    }

    /// Counters are not record changes: they take no `seq` and never touch the index.
    fn bump_counter(&self, id: i64, column: &str) -> Result<()> {
        let mut conn = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        // IMMEDIATE for the same reason as in `apply`: wait for an ingest's transaction
        // instead of failing, so no view is lost.
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.prepare_cached(&format!(
            "INSERT INTO counters (record_id, {column}) VALUES (?1, 1)
             ON CONFLICT (record_id) DO UPDATE SET {column} = {column} + 1"
        ))?
        .execute([id])?;
        tx.commit()?;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// Links: clusters of records describing the same study, citations and reanalyses.
//
// Each written record's links (see `crate::links`) go to `link_keys` (identity keys) and
// `mentions` (kind 0: a literature record mentions an accession; kind 1: a record declares it
// reanalyses one). Clusters are the connected components of records sharing a key; a record's
// `cluster` column holds its component's smallest record id (NULL when alone). Everything is
// recomputed, in the writing transaction, for the records a batch can have changed, and each
// record whose cluster or counts changed takes a new `seq` so the index (and any follower)
// picks it up.
// ---------------------------------------------------------------------------------------

const MENTION_CITES: i64 = 0;
const MENTION_REANALYSES: i64 = 1;
/// A record cites a publication (by PMID, PMCID or DOI): not counted, only followed.
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

fn has_curations(tx: &Connection) -> Result<bool> {
    Ok(tx.query_row("SELECT EXISTS (SELECT 1 FROM curations)", [], |r| r.get(0))?)
}

/// The records curations name together with `id` (live or not).
fn curated_partners(tx: &Connection, id: i64) -> Result<Vec<i64>> {
    ids(
        tx,
        "SELECT other_id FROM curation_edges WHERE record_id = ?1",
        &id,
    )
}

/// Every curation between two stored records, seen from both: (record, other, is a merge,
/// both live), in record then other order.
fn curation_edges(tx: &Connection) -> Result<Vec<(i64, i64, bool, bool)>> {
    let mut st = tx.prepare_cached(
        "SELECT record_id, other_id, action = 'merge', live FROM curation_edges ORDER BY record_id, other_id",
    )?;
    let v = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(v)
}

fn strings(tx: &Connection, sql: &str, arg: &dyn rusqlite::ToSql) -> Result<Vec<String>> {
    let mut st = tx.prepare_cached(sql)?;
    let v = st
        .query_map([arg], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(v)
}

fn ids(tx: &Connection, sql: &str, arg: &dyn rusqlite::ToSql) -> Result<Vec<i64>> {
    let mut st = tx.prepare_cached(sql)?;
    let v = st
        .query_map([arg], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<i64>>>()?;
    Ok(v)
}

/// Replaces a record's links (`None`: a tombstone, which links nothing) and notes what that
/// can change. `fresh`: the record was just inserted, so it has no old links to look up.
fn relink(
    tx: &Connection,
    id: i64,
    d: Option<&Dataset>,
    fresh: bool,
    work: &mut LinkWork,
) -> Result<()> {
    let (old_keys, old_mentions) = if fresh {
        (Vec::new(), Vec::new())
    } else {
        let keys = strings(tx, "SELECT key FROM link_keys WHERE record_id = ?1", &id)?;
        let mentions = strings(
            tx,
            "SELECT accession FROM mentions WHERE record_id = ?1",
            &id,
        )?;
        tx.prepare_cached("DELETE FROM link_keys WHERE record_id = ?1")?
            .execute([id])?;
        tx.prepare_cached("DELETE FROM mentions WHERE record_id = ?1")?
            .execute([id])?;
        (keys, mentions)
    };
    let links = d.map(crate::links::record_links).unwrap_or_default();
    {
        let mut put_key =
            tx.prepare_cached("INSERT OR IGNORE INTO link_keys (key, record_id) VALUES (?1, ?2)")?;
        for k in &links.keys {
            put_key.execute(params![k, id])?;
        }
        let mut put_mention = tx.prepare_cached(
            "INSERT OR IGNORE INTO mentions (accession, kind, record_id) VALUES (?1, ?2, ?3)",
        )?;
        for a in &links.mentions {
            put_mention.execute(params![a, MENTION_CITES, id])?;
        }
        for a in &links.reanalyses {
            put_mention.execute(params![a, MENTION_REANALYSES, id])?;
        }
        for a in &links.cites {
            put_mention.execute(params![a, MENTION_PUBLICATION, id])?;
        }
    }
    // The records citing this one as a publication show its title and text: re-index them.
    if let Some(d) = d {
        for acc in d.all_accessions() {
            work.counted.extend(ids(
                tx,
                "SELECT record_id FROM mentions WHERE accession = ?1 AND kind = 2",
                &acc,
            )?);
        }
    }
    work.written.insert(id);
    // A record that had no keys and shares none of its new ones stays alone: most records,
    // and the reason bulk ingests skip the cluster walk.
    let mut shared = !old_keys.is_empty();
    for k in old_keys.iter().chain(&links.keys) {
        let holders = ids(tx, "SELECT record_id FROM link_keys WHERE key = ?1", k)?;
        if holders.iter().any(|&h| h != id) {
            shared = true;
            work.seeds.extend(holders);
        }
    }
    // A curated record's cluster follows its curations, whatever its keys do (and its
    // partners' clusters change when it is deleted or comes back).
    if work.curated {
        let partners = curated_partners(tx, id)?;
        if !partners.is_empty() {
            shared = true;
            work.seeds.extend(partners);
        }
    }
    if shared {
        work.seeds.insert(id);
    }
    for a in old_mentions
        .iter()
        .chain(&links.mentions)
        .chain(&links.reanalyses)
    {
        work.counted.extend(ids(
            tx,
            "SELECT record_id FROM accessions WHERE accession = ?1",
            a,
        )?);
    }
    Ok(())
}

/// The records connected to `seed` through shared keys and curated merges (at most
/// [`super::MAX_WALK`]), leaving out the records already `placed` in another cluster by this
/// recomputation and never taking in a record split from one already taken (see
/// [`super::Curations`]).
fn component(
    tx: &Connection,
    seed: i64,
    curations: &super::Curations,
    placed: &BTreeSet<i64>,
) -> Result<BTreeSet<i64>> {
    let mut walk = super::Walk::new(seed, curations, placed);
    while let Some(r) = walk.next() {
        for k in strings(tx, "SELECT key FROM link_keys WHERE record_id = ?1", &r)? {
            if walk.key_done(&k) {
                continue;
            }
            let holders = ids(tx, "SELECT record_id FROM link_keys WHERE key = ?1", &k)?;
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
fn finish_links(tx: &Connection, work: &LinkWork, seq: &mut i64) -> Result<Vec<i64>> {
    let mut touched = BTreeSet::new();
    let mut done = BTreeSet::new();
    let curations = if work.curated {
        super::Curations::from_edges(curation_edges(tx)?)
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
                .prepare_cached("SELECT cluster FROM records WHERE id = ?1")?
                .query_row([m], |r| r.get(0))
                .optional()?;
            if cur.is_some_and(|c| c != want) {
                tx.prepare_cached("UPDATE records SET cluster = ?2 WHERE id = ?1")?
                    .execute(params![m, want])?;
                if !work.written.contains(&m) {
                    touched.insert(m);
                }
            }
        }
    }
    touched.extend(work.counted.difference(&work.written));
    let mut out = Vec::with_capacity(touched.len());
    for id in touched {
        let n = tx
            .prepare_cached("UPDATE records SET seq = ?2 WHERE id = ?1 AND deleted = 0")?
            .execute(params![id, *seq + 1])?;
        if n > 0 {
            *seq += 1;
            out.push(id);
        }
    }
    Ok(out)
}

impl SqliteStore {
    /// Rebuilds every record's links and every cluster (after an upgrade from a store that
    /// had none). Takes no seqs: the caller rebuilds the index.
    fn relink_all(conn: &mut Connection) -> Result<()> {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute_batch(
            "DELETE FROM link_keys; DELETE FROM mentions; UPDATE records SET cluster = NULL;",
        )?;
        let rows: Vec<(i64, Vec<u8>, i64)> = {
            let mut st = tx.prepare("SELECT id, dataset, deleted FROM records")?;
            let v = st
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            v
        };
        let mut work = LinkWork {
            curated: has_curations(&tx)?,
            ..Default::default()
        };
        for (id, ds, deleted) in rows {
            let d: Dataset = serde_json::from_slice(&unpack(&ds)?)?;
            relink(&tx, id, (deleted == 0).then_some(&d), true, &mut work)?;
        }
        let mut seq = 0;
        // Everything was written: no seq is taken.
        finish_links(&tx, &work, &mut seq)?;
        tx.commit()?;
        Ok(())
    }

    /// The record's cluster head, and whether the cluster has other members.
    fn cluster_of(conn: &Connection, id: i64) -> Result<Option<(i64, bool)>> {
        Ok(conn
            .prepare_cached(
                "SELECT COALESCE(cluster, id), cluster IS NOT NULL FROM records WHERE id = ?1",
            )?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    }

    fn count_mentions(conn: &Connection, id: i64, head: i64, kind: i64) -> Result<u64> {
        let n: i64 = conn
            .prepare_cached(
                "SELECT COUNT(DISTINCT m.record_id) FROM accessions a \
                 JOIN mentions m ON m.accession = a.accession AND m.kind = ?3 \
                 JOIN records r ON r.id = m.record_id \
                 WHERE a.record_id = ?1 AND r.deleted = 0 AND COALESCE(r.cluster, r.id) <> ?2",
            )?
            .query_row(params![id, head, kind], |r| r.get(0))?;
        Ok(n as u64)
    }

    /// The records whose text mentions record `id` (or its cluster), latest first, at most
    /// [`MENTIONING_SHOWN`].
    fn mentioning(conn: &Connection, id: i64, head: i64, kind: i64) -> Result<Vec<RecordRef>> {
        let mut st = conn.prepare_cached(
            "SELECT DISTINCT r.id, r.repository, r.accession FROM accessions a \
             JOIN mentions m ON m.accession = a.accession AND m.kind = ?3 \
             JOIN records r ON r.id = m.record_id \
             WHERE a.record_id = ?1 AND r.deleted = 0 AND COALESCE(r.cluster, r.id) <> ?2 \
             ORDER BY r.id DESC LIMIT ?4",
        )?;
        let v = st
            .query_map(params![id, head, kind, MENTIONING_SHOWN as i64], |r| {
                Ok(RecordRef {
                    id: r.get(0)?,
                    repository: r.get(1)?,
                    accession: r.get(2)?,
                    reason: String::new(),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(v)
    }

    /// Why `member` is in `id`'s cluster: the keys they share, or else the first key that
    /// ties `member` to another member.
    fn member_reason(conn: &Connection, id: i64, member: i64, head: i64) -> Result<String> {
        let note: Option<String> = conn
            .prepare_cached(
                "SELECT note FROM curation_edges WHERE record_id = ?1 AND other_id = ?2 AND action = 'merge'",
            )?
            .query_row(params![id, member], |r| r.get(0))
            .optional()?;
        if let Some(note) = note {
            return Ok(super::merged_reason(&note, None));
        }
        let mut st = conn.prepare_cached(
            "SELECT a.key FROM link_keys a JOIN link_keys b ON a.key = b.key \
             WHERE a.record_id = ?1 AND b.record_id = ?2 ORDER BY a.key",
        )?;
        let direct = st
            .query_map(params![id, member], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        if !direct.is_empty() {
            return Ok(direct
                .iter()
                .map(|k| crate::links::reason(k))
                .collect::<Vec<_>>()
                .join("; "));
        }
        let mut st = conn.prepare_cached(
            "SELECT a.key, r.accession FROM link_keys a JOIN link_keys b ON a.key = b.key \
             JOIN records r ON r.id = b.record_id \
             WHERE a.record_id = ?1 AND b.record_id <> ?1 AND COALESCE(r.cluster, r.id) = ?2 \
             ORDER BY a.key LIMIT 1",
        )?;
        let via: Option<(String, String)> = st
            .query_row(params![member, head], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        if let Some((k, acc)) = via {
            return Ok(format!("{} (through {acc})", crate::links::reason(&k)));
        }
        let merged: Option<(String, String)> = conn
            .prepare_cached(
                "SELECT r.accession, e.note FROM curation_edges e JOIN records r ON r.id = e.other_id \
                 WHERE e.record_id = ?1 AND e.action = 'merge' AND e.live \
                 AND COALESCE(r.cluster, r.id) = ?2 ORDER BY r.id LIMIT 1",
            )?
            .query_row(params![member, head], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        Ok(match merged {
            Some((acc, note)) => super::merged_reason(&note, Some(&acc)),
            None => "same study".to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn neighbour(id: i64, score: f32, reason: &str) -> Neighbour {
        Neighbour {
            id,
            score,
            reasons: vec![reason.to_string()],
        }
    }

    fn refs(s: &SqliteStore) -> Vec<(i64, i64)> {
        let conn = s.reader();
        let mut st = conn
            .prepare("SELECT neighbour, record_id FROM neighbour_refs ORDER BY 1, 2")
            .unwrap();
        let rows = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<Vec<_>>>()
            .unwrap();
        rows
    }

    fn format(s: &SqliteStore) -> i64 {
        s.reader()
            .query_row(
                "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'format_version'",
                [],
                |r| r.get(0),
            )
            .unwrap()
    }

    #[test]
    fn a_list_is_one_row_its_references_follow_it_and_an_empty_list_removes_both() {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(&dir.path().join("store.sqlite")).unwrap();
        assert_eq!(format(&s), BASE_FORMAT_VERSION);
        let one = vec![
            neighbour(2, 9.5, "shared terms: marrow"),
            neighbour(3, 4.25, "same organism: Homo sapiens"),
        ];
        s.set_similar(&[
            (1, one.clone()),
            (2, vec![neighbour(1, 9.5, "shared terms: marrow")]),
        ])
        .unwrap();
        let got = s.similar(1).unwrap();
        assert_eq!(
            got.iter()
                .map(|n| (n.id, n.score, n.reasons.clone()))
                .collect::<Vec<_>>(),
            one.iter()
                .map(|n| (n.id, n.score, n.reasons.clone()))
                .collect::<Vec<_>>()
        );
        assert_eq!(refs(&s), vec![(1, 2), (2, 1), (3, 1)]);
        assert_eq!(s.similar_listing(&[3, 2]).unwrap(), vec![1]);
        assert_eq!(format(&s), LISTS_FORMAT_VERSION);
        // Replaced: the references of the old list go.
        s.set_similar(&[(1, vec![neighbour(4, 1.0, "shared terms: anemia")])])
            .unwrap();
        assert_eq!(refs(&s), vec![(1, 2), (4, 1)]);
        assert!(s.similar_listing(&[3]).unwrap().is_empty());
        s.set_similar(&[(1, Vec::new())]).unwrap();
        assert!(s.similar(1).unwrap().is_empty());
        assert_eq!(refs(&s), vec![(1, 2)]);
        assert!(s.has_similar_lists().unwrap());
    }

    #[test]
    fn a_bulk_rewrite_rebuilds_the_references_at_its_end_or_at_the_next_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.sqlite");
        let s = SqliteStore::open(&path).unwrap();
        s.set_similar(&[(1, vec![neighbour(2, 1.0, "a")])]).unwrap();
        s.similar_bulk(true).unwrap();
        s.set_similar(&[
            (1, vec![neighbour(3, 1.0, "b")]),
            (5, vec![neighbour(3, 2.0, "c")]),
        ])
        .unwrap();
        // Not kept up meanwhile; lists read as written.
        assert_eq!(refs(&s), vec![(2, 1)]);
        assert_eq!(s.similar(5).unwrap()[0].reasons, vec!["c"]);
        s.similar_bulk(false).unwrap();
        assert_eq!(refs(&s), vec![(3, 1), (3, 5)]);
        // A rewrite killed midway: the next open rebuilds them.
        s.similar_bulk(true).unwrap();
        s.set_similar(&[(5, vec![neighbour(7, 2.0, "d")])]).unwrap();
        drop(s);
        let s = SqliteStore::open(&path).unwrap();
        assert_eq!(refs(&s), vec![(3, 1), (7, 5)]);
        assert_eq!(s.similar_listing(&[7, 3]).unwrap(), vec![1, 5]);
    }

    #[test]
    fn format_4_lists_are_converted_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.sqlite");
        drop(SqliteStore::open(&path).unwrap());
        {
            // The lists as format 4 wrote them: a row per neighbour, reasons as JSON text.
            let c = Connection::open(&path).unwrap();
            c.execute_batch(
                r#"CREATE TABLE similar_lists (
                    record_id INTEGER NOT NULL, rank INTEGER NOT NULL, neighbour INTEGER NOT NULL,
                    score REAL NOT NULL, reasons TEXT NOT NULL, PRIMARY KEY (record_id, rank)
                ) WITHOUT ROWID;
                CREATE INDEX similar_neighbour ON similar_lists (neighbour);
                INSERT INTO similar_lists VALUES
                    (1, 1, 3, 2.5, '["same organism: Homo sapiens"]'),
                    (1, 0, 2, 416.954895019531, '["shared terms: marrow, anemia", "same publication: PMID 1"]'),
                    (2, 0, 1, 416.954895019531, '[]');
                UPDATE meta SET value = '4' WHERE key = 'format_version';"#,
            )
            .unwrap();
        }
        let s = SqliteStore::open(&path).unwrap();
        let one = s.similar(1).unwrap();
        assert_eq!(one.iter().map(|n| n.id).collect::<Vec<_>>(), vec![2, 3]);
        assert_eq!(one[0].score, 416.954_9_f32);
        assert_eq!(
            one[0].reasons,
            vec!["shared terms: marrow, anemia", "same publication: PMID 1"]
        );
        assert_eq!(one[1].reasons, vec!["same organism: Homo sapiens"]);
        assert!(s.similar(2).unwrap()[0].reasons.is_empty());
        assert_eq!(s.similar_listing(&[3]).unwrap(), vec![1]);
        assert_eq!(format(&s), LISTS_FORMAT_VERSION);
        let old: i64 = s
            .reader()
            .query_row("SELECT count(*) FROM sqlite_master WHERE name LIKE 'similar_lists%' OR name = 'similar_neighbour'", [], |r| r.get(0))
            .unwrap();
        assert_eq!(old, 0);
        // A converted list is replaced like any other.
        s.set_similar(&[(1, vec![neighbour(9, 1.0, "x")])]).unwrap();
        assert_eq!(s.similar_listing(&[1, 3, 9]).unwrap(), vec![1, 2]);
    }

    #[test]
    fn a_raw_source_packs_against_its_dataset_and_old_rows_still_read() {
        let raw = "<entry id=\"E-1\"><name>Bone marrow proteome in aplastic anemia</name>\
                   <description>Proteomes of bone marrow from children with aplastic anemia, \
                   before and after treatment.</description></entry>";
        let json = br#"{"accession":"E-1","title":"Bone marrow proteome in aplastic anemia","description":"Proteomes of bone marrow from children with aplastic anemia, before and after treatment."}"#;
        let unpack_raw = |raw: &[u8], dataset: &[u8]| {
            Packer::new(Vec::new(), false).unpack_raw(raw, dataset, |_| Ok(None))
        };
        let dataset = pack(json);
        let packed = pack_raw(raw.as_bytes(), json);
        assert_eq!(unpack_raw(&packed, &dataset).unwrap(), raw.as_bytes());
        // The text both share is not stored twice.
        assert!(
            packed.len() < pack(raw.as_bytes()).len() / 2,
            "{} bytes",
            packed.len()
        );
        // A row written before (or a tombstone) has the raw source packed alone.
        assert_eq!(
            unpack_raw(&pack(raw.as_bytes()), &dataset).unwrap(),
            raw.as_bytes()
        );
        assert_eq!(unpack_raw(&pack(b""), &pack(b"{}")).unwrap(), b"");
        // The wrong dictionary is an error or other bytes, never a panic.
        let _ = unpack_raw(&packed, &pack(b"{}"));
    }
}
