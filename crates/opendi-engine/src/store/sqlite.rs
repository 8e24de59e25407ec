//! The embedded store: one SQLite file in the data directory (WAL mode).
//!
//! Why SQLite: it is the most tested embedded database there is, its WAL mode survives a
//! killed process with every committed transaction intact, readers never block the writer,
//! and SQL keeps history, tombstones and the change log simple. Records are stored as
//! lz4-compressed JSON (normalized) and text (raw) blobs.

use super::{
    Change, ChangeRow, Counters, HistoryEntry, NewRecord, Outcome, Store, StoreStats, StoredRecord,
};
use crate::{EngineError, Result};
use opendi_model::{Dataset, Diagnostic, Publication};
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Bumped when the schema changes incompatibly; older stores are upgraded or refused on open.
pub const STORE_FORMAT_VERSION: i64 = 1;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
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
    UNIQUE (repository, accession)
);
CREATE UNIQUE INDEX IF NOT EXISTS records_seq ON records (seq);
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
CREATE TABLE IF NOT EXISTS counters (
    record_id INTEGER PRIMARY KEY,
    views INTEGER NOT NULL DEFAULT 0,
    downloads INTEGER NOT NULL DEFAULT 0
);
"#;

pub struct SqliteStore {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
}

fn open_conn(path: &Path) -> Result<Connection> {
    let c = Connection::open(path)?;
    c.busy_timeout(std::time::Duration::from_secs(30))?;
    c.pragma_update(None, "journal_mode", "WAL")?;
    // NORMAL in WAL mode: a committed transaction survives a killed process (not always a
    // power cut, which costs an fsync per commit to guarantee).
    c.pragma_update(None, "synchronous", "NORMAL")?;
    c.pragma_update(None, "temp_store", "MEMORY")?;
    c.pragma_update(None, "cache_size", -65536)?;
    c.pragma_update(None, "mmap_size", 1i64 << 30)?;
    // Checkpoint the WAL every ~40 MB instead of every 4 MB: bulk ingests rewrite the same
    // index pages many times, and each checkpoint copies them again (measured: 4% of an
    // ingest's CPU at the default).
    c.pragma_update(None, "wal_autocheckpoint", 10000)?;
    Ok(c)
}

pub(crate) fn pack(bytes: &[u8]) -> Vec<u8> {
    lz4_flex::compress_prepend_size(bytes)
}

pub(crate) fn unpack(bytes: &[u8]) -> Result<Vec<u8>> {
    lz4_flex::decompress_size_prepended(bytes)
        .map_err(|e| EngineError::Corrupt(format!("lz4: {e}")))
}

/// Serializes, hashes and compresses a record: the store's encoding of it.
pub(crate) fn encode(r: &NewRecord) -> Result<super::Prepared> {
    let json = serde_json::to_vec(&r.dataset)?;
    Ok(super::Prepared {
        hash: hash_record(r, &json),
        dataset: pack(&json),
        raw: pack(r.raw.as_bytes()),
        diagnostics: serde_json::to_string(&r.diagnostics)?,
        publication: r
            .publication
            .as_ref()
            .map(|p| serde_json::to_vec(p).map(|j| pack(&j)))
            .transpose()?,
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

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl SqliteStore {
    pub fn open(path: &Path) -> Result<Self> {
        let writer = open_conn(path)?;
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
                writer.execute("INSERT INTO meta (key, value) VALUES ('format_version', ?1)", [STORE_FORMAT_VERSION.to_string()])?;
            }
            Some(Ok(v)) if v == STORE_FORMAT_VERSION => {}
            Some(Ok(v)) if v > STORE_FORMAT_VERSION => {
                return Err(EngineError::Incompatible(format!(
                    "the data directory was written by a newer opendi (store format {v}, this build reads up to {STORE_FORMAT_VERSION})"
                )))
            }
            Some(other) => {
                return Err(EngineError::Incompatible(format!("unknown store format version {other:?}; cannot upgrade")));
            }
        }
        let readers = (0..4)
            .map(|_| open_conn(path).map(Mutex::new))
            .collect::<Result<Vec<_>>>()?;
        Ok(SqliteStore {
            writer: Mutex::new(writer),
            readers,
            next_reader: AtomicUsize::new(0),
        })
    }

    fn reader(&self) -> std::sync::MutexGuard<'_, Connection> {
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

    fn finish(parts: (StoredRecord, Vec<u8>, String)) -> Result<StoredRecord> {
        let (mut rec, ds, diags) = parts;
        rec.dataset = serde_json::from_slice(&unpack(&ds)?)?;
        rec.diagnostics = serde_json::from_str::<Vec<Diagnostic>>(&diags)?;
        Ok(rec)
    }
}

const RECORD_COLS: &str =
    "id, repository, accession, version, content_hash, format, source, first_ingested, last_ingested, deleted, seq, dataset, diagnostics";

impl Store for SqliteStore {
    fn apply(&self, batch: &[Change], now: i64) -> Result<Vec<(Outcome, i64)>> {
        let mut conn = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let tx = conn.transaction()?;
        let mut seq: i64 = tx.query_row("SELECT COALESCE(MAX(seq), 0) FROM records", [], |r| {
            r.get(0)
        })?;
        let mut out = Vec::with_capacity(batch.len());
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
                                owned = encode(r)?;
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
                            if let Some(p) = &r.publication {
                                if let Some(key) = p.key() {
                                    put_pub.execute(params![
                                        key,
                                        p.pmid,
                                        p.doi,
                                        p.pmcid,
                                        pack(&serde_json::to_vec(p)?)
                                    ])?;
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
                                out.push((Outcome::DeletedUnknown, id));
                            }
                        }
                    }
                }
            }
        }
        tx.commit()?;
        Ok(out)
    }

    fn get(&self, id: i64) -> Result<Option<StoredRecord>> {
        let conn = self.reader();
        let mut st =
            conn.prepare_cached(&format!("SELECT {RECORD_COLS} FROM records WHERE id = ?1"))?;
        let parts = st.query_row([id], Self::read_record).optional()?;
        parts.map(Self::finish).transpose()
    }

    fn raw(&self, id: i64) -> Result<Option<String>> {
        let conn = self.reader();
        let raw: Option<Vec<u8>> = conn
            .query_row("SELECT raw FROM records WHERE id = ?1", [id], |r| r.get(0))
            .optional()?;
        raw.map(|b| unpack(&b).map(|v| String::from_utf8_lossy(&v).into_owned()))
            .transpose()
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
            let dataset = serde_json::from_slice(&unpack(&ds)?)?;
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
        parts
            .into_iter()
            .map(|p| {
                let rec = Self::finish(p)?;
                Ok(ChangeRow {
                    seq: rec.seq,
                    record: rec,
                })
            })
            .collect()
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
                return Ok(Some(serde_json::from_slice(&unpack(&data)?)?));
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

    fn add_view(&self, id: i64) -> Result<()> {
        self.bump_counter(id, "views")
    }

    fn add_download(&self, id: i64) -> Result<()> {
        self.bump_counter(id, "downloads")
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
}

impl SqliteStore {
    /// Counters are not record changes: they take no `seq` and never touch the index.
    fn bump_counter(&self, id: i64, column: &str) -> Result<()> {
        let conn = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        conn.prepare_cached(&format!(
            "INSERT INTO counters (record_id, {column}) VALUES (?1, 1)
             ON CONFLICT (record_id) DO UPDATE SET {column} = {column} + 1"
        ))?
        .execute([id])?;
        Ok(())
    }
}
