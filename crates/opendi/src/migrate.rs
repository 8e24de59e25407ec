//! `opendi migrate`: moves a whole store between the embedded data directory and PostgreSQL,
//! row for row (records with their raw text, history, tombstones, aliases, publications and
//! counters; ids and seqs kept, so the node's search index stays valid).

use crate::UsageError;
use anyhow::{Context, Result};
use opendi_engine::store::transfer::copy;
use opendi_engine::{Engine, EngineConfig, PgStore, SqliteStore, Store};
use serde_json::json;
use std::io::IsTerminal;
use std::path::Path;
use std::time::Instant;

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("direction").required(true).args(["to", "from"])))]
pub struct MigrateArgs {
    /// Copy the embedded store of --data-dir into this (empty) PostgreSQL database.
    #[arg(long, value_name = "postgres://…")]
    to: Option<String>,
    /// Copy this PostgreSQL database into the (empty) embedded store of --data-dir.
    #[arg(long, value_name = "postgres://…")]
    from: Option<String>,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

/// `url` with its password (if any) masked, for messages.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let Some((userinfo, host)) = rest.rsplit_once('@') else {
        return url.to_string();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

fn check_url(url: &str) -> Result<()> {
    if opendi_engine::store::is_postgres_url(url) {
        Ok(())
    } else {
        Err(UsageError(format!("{:?} is not a postgres:// URL", redact(url))).into())
    }
}

pub fn run(data_dir: &Path, args: &MigrateArgs) -> Result<()> {
    let sqlite_path = data_dir.join("store.sqlite");
    let started = Instant::now();
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} record ids {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let progress = |done: i64, max: i64| {
        if let Some(bar) = &bar {
            bar.set_length(max as u64);
            bar.set_position(done as u64);
        }
    };
    let (direction, url, copied, stats) = match (&args.to, &args.from) {
        (Some(url), None) => {
            check_url(url)?;
            if !sqlite_path.is_file() {
                return Err(UsageError(format!(
                    "no embedded store in {} to migrate",
                    data_dir.display()
                ))
                .into());
            }
            let from = SqliteStore::open(&sqlite_path)
                .with_context(|| format!("opening {}", sqlite_path.display()))?;
            let to =
                PgStore::open(url).with_context(|| format!("opening database {}", redact(url)))?;
            let n = copy(&from, &to, progress).context("migrating to PostgreSQL")?;
            ("to", url, n, to.stats()?)
        }
        (None, Some(url)) => {
            check_url(url)?;
            std::fs::create_dir_all(data_dir)
                .with_context(|| format!("creating {}", data_dir.display()))?;
            let from =
                PgStore::open(url).with_context(|| format!("opening database {}", redact(url)))?;
            let to = SqliteStore::open(&sqlite_path)
                .with_context(|| format!("opening {}", sqlite_path.display()))?;
            let n = copy(&from, &to, progress).context("migrating from PostgreSQL")?;
            let stats = to.stats()?;
            drop(to);
            // Opening the engine writes the layout marker and brings the local index up to
            // date with the copied store (from nothing on a fresh data directory).
            if let Some(bar) = &bar {
                bar.set_message("indexing");
            }
            Engine::open(EngineConfig::new(data_dir))
                .with_context(|| format!("indexing {}", data_dir.display()))?;
            ("from", url, n, stats)
        }
        _ => return Err(UsageError("give exactly one of --to and --from".into()).into()),
    };
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let summary = json!({
        "direction": direction,
        "database": redact(url),
        "data_dir": data_dir.display().to_string(),
        "record_rows": copied,
        "records": stats.records,
        "deleted": stats.deleted,
        "history_versions": stats.history_versions,
        "publications": stats.publications,
        "last_seq": stats.last_seq,
        "seconds": started.elapsed().as_secs_f64(),
    });
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!(
            "migrated {} record rows ({} live, {} tombstones, {} earlier versions, {} publications) {} {} in {:.1}s",
            copied,
            stats.records,
            stats.deleted,
            stats.history_versions,
            stats.publications,
            direction,
            redact(url),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
