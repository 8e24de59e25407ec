//! Backups of the embedded store, taken while opendi runs, and their restoration.
//!
//! A backup is one SQLite file written by `VACUUM INTO`: it reads the store inside a single
//! read transaction, so it is exactly the store as of one commit, however busy the writer
//! (WAL mode: the reader never blocks it, nor it the reader). The search index is not copied:
//! it is derived from the store, and a restore rebuilds it from the change log, which is
//! cheaper to get right than snapshotting tantivy's files beside a live writer.

use crate::store::sqlite::STORE_FORMAT_VERSION;
use crate::{EngineConfig, EngineError, Result, SearchIndex};
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use serde::Serialize;
use std::path::Path;

/// The store's file name inside a data directory.
pub const STORE_FILE: &str = "store.sqlite";

/// What a backup holds.
#[derive(Debug, Clone, Serialize)]
pub struct BackupInfo {
    /// Live records.
    pub records: u64,
    /// Tombstones.
    pub deleted: u64,
    /// The last change the backup contains.
    pub last_seq: i64,
    pub format_version: i64,
    pub bytes: u64,
}

/// Writes a consistent copy of the store of `data_dir` to `dest`, a new file. Safe while
/// another process serves or ingests into `data_dir`.
pub fn backup(data_dir: &Path, dest: &Path) -> Result<BackupInfo> {
    let src = data_dir.join(STORE_FILE);
    if !src.is_file() {
        return Err(EngineError::Incompatible(format!(
            "no store to back up: {} does not exist",
            src.display()
        )));
    }
    if dest.exists() {
        return Err(EngineError::Incompatible(format!(
            "{} already exists; a backup is written to a new file",
            dest.display()
        )));
    }
    let dest_str = dest.to_str().ok_or_else(|| {
        EngineError::Incompatible(format!("backup path {} is not UTF-8", dest.display()))
    })?;
    // Read-write only so that SQLite may create the WAL index if it is missing; nothing is
    // written to the store.
    let conn = Connection::open_with_flags(&src, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
    conn.busy_timeout(std::time::Duration::from_secs(60))?;
    conn.execute("VACUUM INTO ?1", [dest_str])?;
    drop(conn);
    // A store this build cannot read makes no backup it could restore.
    inspect(dest).inspect_err(|_| {
        let _ = std::fs::remove_file(dest);
    })
}

/// Checks a backup file (SQLite's integrity check, a format this build reads) and says what
/// it holds.
pub fn inspect(file: &Path) -> Result<BackupInfo> {
    let damaged =
        |e: String| EngineError::Corrupt(format!("backup {} is unusable: {e}", file.display()));
    if !file.is_file() {
        return Err(EngineError::Incompatible(format!(
            "no backup at {}",
            file.display()
        )));
    }
    let conn = Connection::open_with_flags(file, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let check: String = conn
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .map_err(|e| damaged(e.to_string()))?;
    if check != "ok" {
        return Err(damaged(check));
    }
    let version: Option<String> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'format_version'",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(|e| damaged(format!("not an opendi store ({e})")))?;
    let format_version = version
        .as_deref()
        .and_then(|v| v.parse::<i64>().ok())
        .ok_or_else(|| damaged("no store format version".into()))?;
    if format_version > STORE_FORMAT_VERSION {
        return Err(EngineError::Incompatible(format!(
            "backup {} was written by a newer opendi (store format {format_version}, this build reads up to {STORE_FORMAT_VERSION})",
            file.display()
        )));
    }
    let count = |sql: &str| -> Result<i64> { Ok(conn.query_row(sql, [], |r| r.get(0))?) };
    Ok(BackupInfo {
        records: count("SELECT COUNT(*) FROM records WHERE deleted = 0")? as u64,
        deleted: count("SELECT COUNT(*) FROM records WHERE deleted = 1")? as u64,
        last_seq: count("SELECT COALESCE(MAX(seq), 0) FROM records")?,
        format_version,
        bytes: std::fs::metadata(file)?.len(),
    })
}

/// Makes `src` (a backup) the store of `data_dir`, replacing any store there, and rebuilds the
/// search index from it. Refused while another process uses `data_dir`; an older store format
/// is upgraded on the first open, as any store is.
pub fn restore(src: &Path, data_dir: &Path) -> Result<BackupInfo> {
    let info = inspect(src)?;
    crate::check_layout(data_dir)?;
    let store = data_dir.join(STORE_FILE);
    let staged = data_dir.join(format!("{STORE_FILE}.restoring"));
    if store.exists() {
        // Any process with the store open (a server, an ingest, a backup) holds a shared lock
        // on it in WAL mode: taking an exclusive one at once proves there is none.
        let conn = Connection::open(&store)?;
        // Such a lock is held as long as the process runs: waiting long would not help.
        conn.busy_timeout(std::time::Duration::from_millis(500))?;
        conn.pragma_update(None, "locking_mode", "EXCLUSIVE")?;
        if conn.execute_batch("BEGIN EXCLUSIVE; ROLLBACK").is_err() {
            return Err(EngineError::Incompatible(format!(
                "{} is in use by another opendi process; stop it before restoring",
                data_dir.display()
            )));
        }
    }
    std::fs::copy(src, &staged)?;
    std::fs::File::open(&staged)?.sync_all()?;
    {
        // The index writer's lock is the data directory's: holding it proves no other opendi
        // writes here while the store is swapped.
        let index = SearchIndex::open(&data_dir.join("index"))?;
        let writer = index.writer(0)?;
        // The old store's write-ahead log goes first: left beside the new file, SQLite would
        // replay it into it.
        for ext in ["-wal", "-shm"] {
            match std::fs::remove_file(data_dir.join(format!("{STORE_FILE}{ext}"))) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
                _ => {}
            }
        }
        std::fs::rename(&staged, &store)?;
        drop(writer);
    }
    // The index is derived: rebuilt from the restored store's change log on open.
    std::fs::remove_dir_all(data_dir.join("index"))?;
    let engine = crate::Engine::open(EngineConfig::new(data_dir))?;
    let indexed = engine.stats()?.indexed_documents;
    if indexed != info.records {
        return Err(EngineError::Index(format!(
            "rebuilt index holds {indexed} documents for {} records",
            info.records
        )));
    }
    Ok(info)
}
