//! Moving a whole store from one database to another (`opendi migrate`), row for row.
//!
//! Rows travel exactly as stored (compressed blobs, content hashes, record ids and seqs
//! unchanged), so nothing is re-encoded and a node's search index stays valid across a
//! migration: it names records by id and remembers the last seq it holds.

use super::packing::Dictionary;
use super::postgres::{Attempt, PgStore};
use super::sqlite::SqliteStore;
use super::{Curation, Store};
use crate::{EngineError, Result};
use rusqlite::params;

/// A record row as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordRow {
    pub id: i64,
    pub repository: String,
    pub accession: String,
    pub version: i64,
    pub content_hash: Vec<u8>,
    pub format: String,
    pub source: String,
    pub first_ingested: i64,
    pub last_ingested: i64,
    pub deleted: bool,
    pub errors: i64,
    pub seq: i64,
    pub dataset: Vec<u8>,
    pub raw: Vec<u8>,
    pub diagnostics: String,
    pub cluster: Option<i64>,
}

/// A replaced version of a record, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRow {
    pub record_id: i64,
    pub version: i64,
    pub content_hash: Vec<u8>,
    pub format: String,
    pub source: String,
    pub ingested: i64,
    pub replaced: i64,
    pub deleted: bool,
    pub dataset: Vec<u8>,
    pub raw: Vec<u8>,
}

/// A shared publication, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicationRow {
    pub key: String,
    pub pmid: Option<String>,
    pub doi: Option<String>,
    pub pmcid: Option<String>,
    pub data: Vec<u8>,
}

/// Everything stored about the records of one id range.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dump {
    pub records: Vec<RecordRow>,
    pub history: Vec<HistoryRow>,
    /// (accession, record id); accessions compare case-insensitively in both stores.
    pub accessions: Vec<(String, i64)>,
    /// (record id, views, downloads).
    pub counters: Vec<(i64, i64, i64)>,
    /// (key, record id): the identity keys clusters are made of.
    pub link_keys: Vec<(String, i64)>,
    /// (accession, kind, record id), accessions compared case-insensitively.
    pub mentions: Vec<(String, i64, i64)>,
}

/// A store that can export and import its rows unchanged.
pub trait Transfer: Store {
    /// The highest record id (0 when empty).
    fn max_record_id(&self) -> Result<i64>;
    /// Whether the store holds nothing at all (a migration only writes into an empty store).
    fn is_empty(&self) -> Result<bool>;
    /// The rows of records with `lo < id <= hi`, with their history, aliases and counters.
    fn export(&self, lo: i64, hi: i64) -> Result<Dump>;
    /// Up to `limit` publications with keys after `after`, in key order.
    fn export_publications(&self, after: &str, limit: usize) -> Result<Vec<PublicationRow>>;
    /// Writes a dump in one transaction, ids and seqs as given.
    fn import(&self, dump: &Dump) -> Result<()>;
    fn import_publications(&self, rows: &[PublicationRow]) -> Result<()>;
    /// Writes curations (exported with [`Store::curations`]) as they are, in one transaction.
    fn import_curations(&self, rows: &[Curation]) -> Result<()>;
    /// Called once after the last import (PostgreSQL moves its id sequence past the ids).
    fn finish_import(&self) -> Result<()>;
    /// The zstd dictionaries the store's blobs are packed with (see `packing.rs`).
    fn export_dictionaries(&self) -> Result<Vec<Dictionary>>;
    /// Writes dictionaries as they are, and packs with them from now on.
    fn import_dictionaries(&self, rows: &[Dictionary]) -> Result<()>;
}

impl Transfer for SqliteStore {
    fn max_record_id(&self) -> Result<i64> {
        let c = self.reader();
        Ok(c.query_row("SELECT COALESCE(MAX(id), 0) FROM records", [], |r| r.get(0))?)
    }

    fn is_empty(&self) -> Result<bool> {
        let c = self.reader();
        Ok(c.query_row(
            "SELECT NOT EXISTS (SELECT 1 FROM records) AND NOT EXISTS (SELECT 1 FROM publications) \
             AND NOT EXISTS (SELECT 1 FROM counters) AND NOT EXISTS (SELECT 1 FROM curations)",
            [],
            |r| r.get(0),
        )?)
    }

    fn export(&self, lo: i64, hi: i64) -> Result<Dump> {
        let c = self.reader();
        let mut dump = Dump::default();
        let mut st = c.prepare_cached(
            "SELECT id, repository, accession, version, content_hash, format, source, first_ingested, last_ingested, \
             deleted, errors, seq, dataset, raw, diagnostics, cluster FROM records WHERE id > ?1 AND id <= ?2 ORDER BY id",
        )?;
        let rows = st.query_map(params![lo, hi], |r| {
            Ok(RecordRow {
                id: r.get(0)?,
                repository: r.get(1)?,
                accession: r.get(2)?,
                version: r.get(3)?,
                content_hash: r.get(4)?,
                format: r.get(5)?,
                source: r.get(6)?,
                first_ingested: r.get(7)?,
                last_ingested: r.get(8)?,
                deleted: r.get::<_, i64>(9)? != 0,
                errors: r.get(10)?,
                seq: r.get(11)?,
                dataset: r.get(12)?,
                raw: r.get(13)?,
                diagnostics: r.get(14)?,
                cluster: r.get(15)?,
            })
        })?;
        dump.records = rows.collect::<rusqlite::Result<_>>()?;
        let mut st = c.prepare_cached(
            "SELECT record_id, version, content_hash, format, source, ingested, replaced, deleted, dataset, raw \
             FROM history WHERE record_id > ?1 AND record_id <= ?2 ORDER BY record_id, version",
        )?;
        let rows = st.query_map(params![lo, hi], |r| {
            Ok(HistoryRow {
                record_id: r.get(0)?,
                version: r.get(1)?,
                content_hash: r.get(2)?,
                format: r.get(3)?,
                source: r.get(4)?,
                ingested: r.get(5)?,
                replaced: r.get(6)?,
                deleted: r.get::<_, i64>(7)? != 0,
                dataset: r.get(8)?,
                raw: r.get(9)?,
            })
        })?;
        dump.history = rows.collect::<rusqlite::Result<_>>()?;
        let mut st = c.prepare_cached(
            "SELECT accession, record_id FROM accessions WHERE record_id > ?1 AND record_id <= ?2 ORDER BY record_id, accession",
        )?;
        let rows = st.query_map(params![lo, hi], |r| {
            Ok((r.get::<_, String>(0)?.to_ascii_lowercase(), r.get(1)?))
        })?;
        dump.accessions = rows.collect::<rusqlite::Result<_>>()?;
        let mut st = c.prepare_cached(
            "SELECT record_id, views, downloads FROM counters WHERE record_id > ?1 AND record_id <= ?2 ORDER BY record_id",
        )?;
        let rows = st.query_map(params![lo, hi], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        dump.counters = rows.collect::<rusqlite::Result<_>>()?;
        let mut st = c.prepare_cached(
            "SELECT key, record_id FROM link_keys WHERE record_id > ?1 AND record_id <= ?2 ORDER BY record_id, key",
        )?;
        let rows = st.query_map(params![lo, hi], |r| Ok((r.get(0)?, r.get(1)?)))?;
        dump.link_keys = rows.collect::<rusqlite::Result<_>>()?;
        let mut st = c.prepare_cached(
            "SELECT accession, kind, record_id FROM mentions WHERE record_id > ?1 AND record_id <= ?2 \
             ORDER BY record_id, kind, accession",
        )?;
        let rows = st.query_map(params![lo, hi], |r| {
            Ok((
                r.get::<_, String>(0)?.to_ascii_lowercase(),
                r.get(1)?,
                r.get(2)?,
            ))
        })?;
        dump.mentions = rows.collect::<rusqlite::Result<_>>()?;
        Ok(dump)
    }

    fn export_publications(&self, after: &str, limit: usize) -> Result<Vec<PublicationRow>> {
        let c = self.reader();
        let mut st = c.prepare_cached(
            "SELECT key, pmid, doi, pmcid, data FROM publications WHERE key > ?1 ORDER BY key LIMIT ?2",
        )?;
        let rows = st.query_map(params![after, limit as i64], |r| {
            Ok(PublicationRow {
                key: r.get(0)?,
                pmid: r.get(1)?,
                doi: r.get(2)?,
                pmcid: r.get(3)?,
                data: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn import(&self, dump: &Dump) -> Result<()> {
        let mut conn = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let tx = conn.transaction()?;
        {
            let mut st = tx.prepare_cached(
                "INSERT INTO records (id, repository, accession, version, content_hash, format, source, first_ingested, \
                 last_ingested, deleted, errors, seq, dataset, raw, diagnostics, cluster) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
            )?;
            for r in &dump.records {
                st.execute(params![
                    r.id,
                    r.repository,
                    r.accession,
                    r.version,
                    r.content_hash,
                    r.format,
                    r.source,
                    r.first_ingested,
                    r.last_ingested,
                    r.deleted as i64,
                    r.errors,
                    r.seq,
                    r.dataset,
                    r.raw,
                    r.diagnostics,
                    r.cluster
                ])?;
            }
            let mut st = tx.prepare_cached(
                "INSERT INTO history (record_id, version, content_hash, format, source, ingested, replaced, deleted, dataset, raw) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?;
            for h in &dump.history {
                st.execute(params![
                    h.record_id,
                    h.version,
                    h.content_hash,
                    h.format,
                    h.source,
                    h.ingested,
                    h.replaced,
                    h.deleted as i64,
                    h.dataset,
                    h.raw
                ])?;
            }
            let mut st = tx.prepare_cached(
                "INSERT OR IGNORE INTO accessions (accession, record_id) VALUES (?1, ?2)",
            )?;
            for (a, id) in &dump.accessions {
                st.execute(params![a, id])?;
            }
            let mut st = tx.prepare_cached(
                "INSERT INTO counters (record_id, views, downloads) VALUES (?1, ?2, ?3)",
            )?;
            for (id, v, d) in &dump.counters {
                st.execute(params![id, v, d])?;
            }
            let mut st = tx.prepare_cached(
                "INSERT OR IGNORE INTO link_keys (key, record_id) VALUES (?1, ?2)",
            )?;
            for (k, id) in &dump.link_keys {
                st.execute(params![k, id])?;
            }
            let mut st = tx.prepare_cached(
                "INSERT OR IGNORE INTO mentions (accession, kind, record_id) VALUES (?1, ?2, ?3)",
            )?;
            for (a, k, id) in &dump.mentions {
                st.execute(params![a, k, id])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn import_publications(&self, rows: &[PublicationRow]) -> Result<()> {
        let mut conn = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let tx = conn.transaction()?;
        {
            let mut st = tx.prepare_cached(
                "INSERT INTO publications (key, pmid, doi, pmcid, data) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for p in rows {
                st.execute(params![p.key, p.pmid, p.doi, p.pmcid, p.data])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn import_curations(&self, rows: &[Curation]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut conn = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let tx = conn.transaction()?;
        {
            let mut st = tx.prepare_cached(
                "INSERT INTO curations (a_repository, a_accession, b_repository, b_accession, action, note, created) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for c in rows {
                st.execute(params![
                    c.a_repository,
                    c.a_accession,
                    c.b_repository,
                    c.b_accession,
                    c.action.as_str(),
                    c.note,
                    c.created
                ])?;
            }
        }
        // A store with curations is format 3 at least (see `STORE_FORMAT_VERSION`).
        super::sqlite::raise_format(&tx, super::sqlite::CURATED_FORMAT_VERSION)?;
        tx.commit()?;
        Ok(())
    }

    fn finish_import(&self) -> Result<()> {
        Ok(())
    }

    fn export_dictionaries(&self) -> Result<Vec<Dictionary>> {
        super::sqlite::dictionaries(&self.reader(), None)
    }

    fn import_dictionaries(&self, rows: &[Dictionary]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut conn = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let tx = conn.transaction()?;
        for (n, d) in rows.iter().enumerate() {
            tx.execute(
                "INSERT INTO dictionaries (id, kind, data, created) VALUES (?1, ?2, ?3, ?4)",
                params![d.id, d.kind, d.data, n as i64],
            )?;
        }
        // A store with dictionaries is format 4 (see `STORE_FORMAT_VERSION`).
        super::sqlite::raise_format(&tx, super::sqlite::STORE_FORMAT_VERSION)?;
        tx.commit()?;
        rows.iter().for_each(|d| self.packer.adopt(d));
        Ok(())
    }
}

fn record_row(r: &postgres::Row) -> Attempt<RecordRow> {
    Ok(RecordRow {
        id: r.try_get(0)?,
        repository: r.try_get(1)?,
        accession: r.try_get(2)?,
        version: r.try_get(3)?,
        content_hash: r.try_get(4)?,
        format: r.try_get(5)?,
        source: r.try_get(6)?,
        first_ingested: r.try_get(7)?,
        last_ingested: r.try_get(8)?,
        deleted: r.try_get(9)?,
        errors: r.try_get(10)?,
        seq: r.try_get(11)?,
        dataset: r.try_get(12)?,
        raw: r.try_get(13)?,
        diagnostics: r.try_get(14)?,
        cluster: r.try_get(15)?,
    })
}

impl Transfer for PgStore {
    fn max_record_id(&self) -> Result<i64> {
        self.run(|c| {
            Ok(
                c.query_one("SELECT COALESCE(MAX(id), 0) FROM records", &[])?
                    .try_get(0)?,
            )
        })
    }

    fn is_empty(&self) -> Result<bool> {
        self.run(|c| {
            Ok(c.query_one(
                "SELECT NOT EXISTS (SELECT 1 FROM records) AND NOT EXISTS (SELECT 1 FROM publications) \
                 AND NOT EXISTS (SELECT 1 FROM counters)",
                &[],
            )?
            .try_get(0)?)
        })
    }

    fn export(&self, lo: i64, hi: i64) -> Result<Dump> {
        self.run(|c| {
            // One snapshot for the four tables.
            let mut tx = c
                .build_transaction()
                .isolation_level(postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()?;
            let mut dump = Dump::default();
            for r in tx.query(
                "SELECT id, repository, accession, version, content_hash, format, source, first_ingested, last_ingested, \
                 deleted, errors, seq, dataset, raw, diagnostics, cluster FROM records WHERE id > $1 AND id <= $2 ORDER BY id",
                &[&lo, &hi],
            )? {
                dump.records.push(record_row(&r)?);
            }
            for r in tx.query(
                "SELECT record_id, version, content_hash, format, source, ingested, replaced, deleted, dataset, raw \
                 FROM history WHERE record_id > $1 AND record_id <= $2 ORDER BY record_id, version",
                &[&lo, &hi],
            )? {
                dump.history.push(HistoryRow {
                    record_id: r.try_get(0)?,
                    version: r.try_get(1)?,
                    content_hash: r.try_get(2)?,
                    format: r.try_get(3)?,
                    source: r.try_get(4)?,
                    ingested: r.try_get(5)?,
                    replaced: r.try_get(6)?,
                    deleted: r.try_get(7)?,
                    dataset: r.try_get(8)?,
                    raw: r.try_get(9)?,
                });
            }
            for r in tx.query(
                "SELECT accession, record_id FROM accessions WHERE record_id > $1 AND record_id <= $2 ORDER BY record_id, accession",
                &[&lo, &hi],
            )? {
                dump.accessions.push((r.try_get(0)?, r.try_get(1)?));
            }
            for r in tx.query(
                "SELECT record_id, views, downloads FROM counters WHERE record_id > $1 AND record_id <= $2 ORDER BY record_id",
                &[&lo, &hi],
            )? {
                dump.counters.push((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?));
            }
            for r in tx.query(
                "SELECT key, record_id FROM link_keys WHERE record_id > $1 AND record_id <= $2 \
                 ORDER BY record_id, key COLLATE \"C\"",
                &[&lo, &hi],
            )? {
                dump.link_keys.push((r.try_get(0)?, r.try_get(1)?));
            }
            for r in tx.query(
                "SELECT accession, kind, record_id FROM mentions WHERE record_id > $1 AND record_id <= $2 \
                 ORDER BY record_id, kind, accession COLLATE \"C\"",
                &[&lo, &hi],
            )? {
                dump.mentions.push((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?));
            }
            tx.commit()?;
            Ok(dump)
        })
    }

    fn export_publications(&self, after: &str, limit: usize) -> Result<Vec<PublicationRow>> {
        self.run(|c| {
            // COLLATE "C": the byte order SQLite uses, so pages mean the same on both sides.
            c.query(
                "SELECT key, pmid, doi, pmcid, data FROM publications WHERE key COLLATE \"C\" > $1 \
                 ORDER BY key COLLATE \"C\" LIMIT $2",
                &[&after, &(limit as i64)],
            )?
            .iter()
            .map(|r| {
                Ok(PublicationRow {
                    key: r.try_get(0)?,
                    pmid: r.try_get(1)?,
                    doi: r.try_get(2)?,
                    pmcid: r.try_get(3)?,
                    data: r.try_get(4)?,
                })
            })
            .collect()
        })
    }

    fn import(&self, d: &Dump) -> Result<()> {
        macro_rules! col {
            ($v:expr, $f:ident) => {
                $v.iter().map(|x| x.$f.clone()).collect::<Vec<_>>()
            };
        }
        let r = &d.records;
        let h = &d.history;
        self.run(|c| {
            let mut tx = c.transaction()?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&super::postgres::SEQ_LOCK])?;
            tx.execute(
                "INSERT INTO records (id, repository, accession, version, content_hash, format, source, first_ingested, \
                 last_ingested, deleted, errors, seq, dataset, raw, diagnostics, cluster) \
                 SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::bytea[], $6::text[], $7::text[], \
                 $8::bigint[], $9::bigint[], $10::bool[], $11::bigint[], $12::bigint[], $13::bytea[], $14::bytea[], $15::text[], \
                 $16::bigint[])",
                &[
                    &col!(r, id), &col!(r, repository), &col!(r, accession), &col!(r, version), &col!(r, content_hash),
                    &col!(r, format), &col!(r, source), &col!(r, first_ingested), &col!(r, last_ingested), &col!(r, deleted),
                    &col!(r, errors), &col!(r, seq), &col!(r, dataset), &col!(r, raw), &col!(r, diagnostics),
                    &col!(r, cluster),
                ],
            )?;
            tx.execute(
                "INSERT INTO history (record_id, version, content_hash, format, source, ingested, replaced, deleted, dataset, raw) \
                 SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bytea[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], \
                 $8::bool[], $9::bytea[], $10::bytea[])",
                &[
                    &col!(h, record_id), &col!(h, version), &col!(h, content_hash), &col!(h, format), &col!(h, source),
                    &col!(h, ingested), &col!(h, replaced), &col!(h, deleted), &col!(h, dataset), &col!(h, raw),
                ],
            )?;
            let (names, ids): (Vec<String>, Vec<i64>) = d
                .accessions
                .iter()
                .map(|(a, id)| (a.to_ascii_lowercase(), *id))
                .unzip();
            tx.execute(
                "INSERT INTO accessions (accession, record_id) SELECT * FROM unnest($1::text[], $2::bigint[]) ON CONFLICT DO NOTHING",
                &[&names, &ids],
            )?;
            let ids: Vec<i64> = d.counters.iter().map(|x| x.0).collect();
            let views: Vec<i64> = d.counters.iter().map(|x| x.1).collect();
            let downloads: Vec<i64> = d.counters.iter().map(|x| x.2).collect();
            tx.execute(
                "INSERT INTO counters (record_id, views, downloads) SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[])",
                &[&ids, &views, &downloads],
            )?;
            let (keys, ids): (Vec<String>, Vec<i64>) = d.link_keys.iter().cloned().unzip();
            tx.execute(
                "INSERT INTO link_keys (key, record_id) SELECT * FROM unnest($1::text[], $2::bigint[]) ON CONFLICT DO NOTHING",
                &[&keys, &ids],
            )?;
            let accs: Vec<String> = d.mentions.iter().map(|m| m.0.to_ascii_lowercase()).collect();
            let kinds: Vec<i64> = d.mentions.iter().map(|m| m.1).collect();
            let ids: Vec<i64> = d.mentions.iter().map(|m| m.2).collect();
            tx.execute(
                "INSERT INTO mentions (accession, kind, record_id) SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[]) \
                 ON CONFLICT DO NOTHING",
                &[&accs, &kinds, &ids],
            )?;
            tx.commit()?;
            Ok(())
        })
    }

    fn import_publications(&self, rows: &[PublicationRow]) -> Result<()> {
        self.run(|c| {
            let mut tx = c.transaction()?;
            tx.execute(
                "INSERT INTO publications (key, pmid, doi, pmcid, data) \
                 SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bytea[])",
                &[
                    &rows.iter().map(|p| p.key.clone()).collect::<Vec<_>>(),
                    &rows.iter().map(|p| p.pmid.clone()).collect::<Vec<_>>(),
                    &rows.iter().map(|p| p.doi.clone()).collect::<Vec<_>>(),
                    &rows.iter().map(|p| p.pmcid.clone()).collect::<Vec<_>>(),
                    &rows.iter().map(|p| p.data.clone()).collect::<Vec<_>>(),
                ],
            )?;
            tx.commit()?;
            Ok(())
        })
    }

    fn import_curations(&self, rows: &[Curation]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        self.run(|c| {
            let mut tx = c.transaction()?;
            tx.execute(
                "INSERT INTO curations (a_repository, a_accession, b_repository, b_accession, action, note, created) \
                 SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[])",
                &[
                    &rows.iter().map(|c| c.a_repository.clone()).collect::<Vec<_>>(),
                    &rows.iter().map(|c| c.a_accession.clone()).collect::<Vec<_>>(),
                    &rows.iter().map(|c| c.b_repository.clone()).collect::<Vec<_>>(),
                    &rows.iter().map(|c| c.b_accession.clone()).collect::<Vec<_>>(),
                    &rows.iter().map(|c| c.action.as_str()).collect::<Vec<_>>(),
                    &rows.iter().map(|c| c.note.clone()).collect::<Vec<_>>(),
                    &rows.iter().map(|c| c.created).collect::<Vec<_>>(),
                ],
            )?;
            tx.commit()?;
            Ok(())
        })
    }

    fn finish_import(&self) -> Result<()> {
        self.run(|c| {
            c.execute(
                "SELECT setval('record_ids', GREATEST((SELECT COALESCE(MAX(id), 0) FROM records), 1))",
                &[],
            )?;
            Ok(())
        })
    }

    fn export_dictionaries(&self) -> Result<Vec<Dictionary>> {
        self.run(|c| super::postgres::dictionaries(c, None))
    }

    fn import_dictionaries(&self, rows: &[Dictionary]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        self.run(|c| {
            let mut tx = c.transaction()?;
            for (n, d) in rows.iter().enumerate() {
                tx.execute(
                    "INSERT INTO dictionaries (id, kind, data, created) VALUES ($1, $2, $3, $4)",
                    &[&i64::from(d.id), &d.kind, &d.data, &(n as i64)],
                )?;
            }
            tx.commit()?;
            Ok(())
        })?;
        rows.iter().for_each(|d| self.packer().adopt(d));
        Ok(())
    }
}

/// Copies everything in `from` into the empty store `to`; `progress(done_ids, max_id)` is
/// called after each step. Returns the number of record rows copied.
pub fn copy(
    from: &dyn Transfer,
    to: &dyn Transfer,
    mut progress: impl FnMut(i64, i64),
) -> Result<u64> {
    if !to.is_empty()? {
        return Err(EngineError::Incompatible(format!(
            "the target already holds {} records: migrate into an empty database",
            to.stats()?.records
        )));
    }
    // First: no blob is written before the dictionary it names.
    to.import_dictionaries(&from.export_dictionaries()?)?;
    let max = from.max_record_id()?;
    let mut copied = 0u64;
    let mut lo = 0;
    const STEP: i64 = 2000;
    while lo < max {
        let hi = (lo + STEP).min(max);
        let dump = from.export(lo, hi)?;
        copied += dump.records.len() as u64;
        to.import(&dump)?;
        lo = hi;
        progress(lo, max);
    }
    let mut after = String::new();
    loop {
        let page = from.export_publications(&after, 5000)?;
        let Some(last) = page.last() else { break };
        after = last.key.clone();
        to.import_publications(&page)?;
    }
    // Curations are few (one per curator decision) and name records by repository and
    // accession, so they travel whole, after the records.
    to.import_curations(&from.curations()?)?;
    to.finish_import()?;
    Ok(copied)
}
