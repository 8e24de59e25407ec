//! Command-line contract. Scripts depend on it: flags and JSON shapes stay stable.

use crate::{gen, ingest_cmd, UsageError};
use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use opendi_engine::{Engine, EngineConfig, SearchRequest, Sort};
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;

/// `println!` that returns an error instead of panicking when stdout is closed (`| head`).
macro_rules! outln {
    ($($t:tt)*) => { writeln!(std::io::stdout().lock(), $($t)*)? };
}

#[derive(Parser)]
#[command(
    name = "opendi",
    version,
    about = "An open discovery index for biomedical datasets"
)]
pub struct Cli {
    /// Data directory of the embedded store and index.
    #[arg(
        long,
        global = true,
        env = "OPENDI_DATA_DIR",
        default_value = "./opendi-data"
    )]
    pub data_dir: PathBuf,
    /// A shared PostgreSQL store (postgres://user@host:port/db) instead of the embedded one;
    /// the data directory then holds only this node's search index.
    #[arg(long, global = true, env = "OPENDI_DATABASE")]
    pub database: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Read records from files, folders or URLs (plain, gzip or zip) into the index.
    Ingest(ingest_cmd::IngestArgs),
    /// Search the index.
    Search(SearchArgs),
    /// Datasets similar to one dataset, with the reasons; or, with --all, recompute every
    /// record's precomputed list.
    Similar {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[arg(long, default_value_t = 10)]
        limit: usize,
        /// Recompute the similar lists of all records (ingest keeps them current; this
        /// rebuilds them, e.g. after a change of the similarity's weights).
        #[arg(long, conflicts_with_all = ["accession", "keys"])]
        all: bool,
        /// Look up every line of FILE (an accession each), writing one JSON object per line.
        #[arg(long, conflicts_with = "accession")]
        keys: Option<PathBuf>,
        /// ACCESSION or REPOSITORY/ACCESSION.
        #[arg(required_unless_present_any = ["all", "keys"])]
        accession: Option<String>,
    },
    /// Show one record: normalized, with provenance, history and diagnostics.
    Show {
        #[arg(long)]
        json: bool,
        /// Also print the raw source record.
        #[arg(long)]
        raw: bool,
        /// ACCESSION (any of its accessions) or REPOSITORY/ACCESSION.
        accession: String,
    },
    /// Records that describe the same study in several repositories, with the reasons.
    Clusters {
        #[arg(long)]
        json: bool,
        /// At most this many clusters (largest first).
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Counts per repository, format, omics type, organism …
    Stats {
        #[arg(long)]
        json: bool,
    },
    /// Serve the web portal and the JSON API (OmicsDI-compatible under /ws/).
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: String,
        #[command(flatten)]
        opts: ServeOpts,
    },
    /// Copy a whole store between the embedded data directory and PostgreSQL, losslessly.
    Migrate(crate::migrate::MigrateArgs),
    /// Write a consistent copy of the store to a new FILE; safe while opendi serves or ingests.
    Backup {
        #[arg(long)]
        json: bool,
        /// The backup file to create.
        dest: PathBuf,
    },
    /// Make a backup the data directory's store and rebuild the search index from it.
    Restore {
        #[arg(long)]
        json: bool,
        /// Replace the store the data directory already holds.
        #[arg(long)]
        force: bool,
        /// A file written by `opendi backup`.
        src: PathBuf,
    },
    /// Generate a realistic corpus with the project's own generator.
    Gen(gen::GenArgs),
    /// Generate a small demo corpus, ingest it, run example searches, then serve the portal.
    Demo {
        /// Number of demo records.
        #[arg(long, default_value_t = 2000)]
        records: usize,
        /// Address the portal listens on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: String,
        #[command(flatten)]
        opts: ServeOpts,
        /// Only load the corpus and run the example searches; do not serve.
        #[arg(long)]
        no_serve: bool,
    },
}

/// How `serve` (and `demo`) expose the service.
#[derive(clap::Args, Clone)]
pub struct ServeOpts {
    /// Enable the admin endpoints (POST /admin/ingest, /admin/reindex) behind this bearer
    /// token; without it they do not exist. Prefer the environment variable: arguments show
    /// in process lists.
    #[arg(long, env = "OPENDI_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// Requests per second per client address on /ws/, /api/, feeds and exports (bursts of
    /// twice that); 0 turns rate limiting off (load tests).
    #[arg(long, default_value_t = opendi_server::DEFAULT_RATE_LIMIT)]
    rate_limit: f64,
    /// Seconds a request may take before it is answered 503.
    #[arg(long, default_value_t = 10)]
    request_timeout: u64,
    /// Results of this many recent searches are kept until the index changes; 0 turns the
    /// cache off (to measure searches themselves).
    #[arg(long, default_value_t = 1024)]
    search_cache: usize,
}

#[derive(clap::Args)]
pub struct SearchArgs {
    #[arg(long)]
    json: bool,
    #[arg(long, default_value_t = 10)]
    limit: usize,
    #[arg(long, default_value_t = 0)]
    offset: usize,
    /// Include facet counts.
    #[arg(long)]
    facets: bool,
    /// Facet filter FACET=VALUE (repeatable), e.g. --filter organism="Homo sapiens".
    #[arg(long = "filter")]
    filters: Vec<String>,
    /// relevance, date_desc, date_asc or citations.
    #[arg(long, default_value = "relevance")]
    sort: String,
    /// List every member of a cluster as its own hit (by default one hit per cluster).
    #[arg(long)]
    all_members: bool,
    /// Run every line of FILE as a query, writing one JSON object per line.
    #[arg(long)]
    queries: Option<PathBuf>,
    /// With --queries: run each query this many times (after one warm-up run) and write only
    /// its timings `{"query", "count", "micros": [...]}`: the in-process latency benchmark.
    #[arg(long, requires = "queries")]
    repeat: Option<usize>,
    /// Search only for the words as written, not for their synonyms (human = Homo sapiens).
    #[arg(long)]
    no_expand: bool,
    /// The query (terms, "phrases", field:value, AND/OR/NOT, wildcards, fuzzy~, ranges;
    /// see docs/search.md).
    query: Option<String>,
}

/// The `--database` of this run, set once at start: every subcommand opens its engine
/// through [`open_engine`], which reads it, so none of them has to pass it along.
static DATABASE: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();

pub fn open_engine(data_dir: &std::path::Path) -> Result<Engine> {
    let mut config = EngineConfig::new(data_dir);
    config.database = DATABASE.get().cloned().flatten();
    let what = match &config.database {
        Some(url) => format!(
            "opening database {} with data directory {}",
            crate::migrate::redact(url),
            data_dir.display()
        ),
        None => format!("opening data directory {}", data_dir.display()),
    };
    Engine::open(config).context(what)
}

pub fn run() -> Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("OPENDI_LOG")
                // Warnings, and the progress of long work that has no bar (an index rebuild).
                .unwrap_or_else(|_| "warn,opendi::progress=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let database = cli.database.clone().filter(|d| !d.trim().is_empty());
    if let Some(url) = &database {
        if !opendi_engine::store::is_postgres_url(url) {
            return Err(UsageError(format!(
                "--database {:?}: expected a postgres:// URL (leave it out for the embedded store)",
                crate::migrate::redact(url)
            ))
            .into());
        }
    }
    let _ = DATABASE.set(database);
    if !matches!(cli.command, Command::Serve { .. } | Command::Demo { .. }) {
        crate::keep_freed_memory();
    }
    match cli.command {
        Command::Ingest(args) => ingest_cmd::run(&cli.data_dir, &args),
        Command::Search(args) => search(&cli.data_dir, &args),
        Command::Similar {
            json,
            limit,
            all,
            keys,
            accession,
        } => match (accession, keys) {
            (Some(accession), _) if !all => similar(&cli.data_dir, json, limit, &accession),
            (_, Some(keys)) if !all => similar_keys(&cli.data_dir, limit, &keys),
            _ => similar_all(&cli.data_dir, json),
        },
        Command::Show {
            json,
            raw,
            accession,
        } => show(&cli.data_dir, json, raw, &accession),
        Command::Stats { json } => stats(&cli.data_dir, json),
        Command::Clusters { json, limit } => clusters(&cli.data_dir, json, limit),
        Command::Serve { addr, opts } => serve(&cli.data_dir, &addr, &opts),
        Command::Migrate(args) => crate::migrate::run(&cli.data_dir, &args),
        Command::Backup { json, dest } => backup(&cli.data_dir, json, &dest),
        Command::Restore { json, force, src } => restore(&cli.data_dir, json, force, &src),
        Command::Gen(args) => gen::run(&args),
        Command::Demo {
            records,
            addr,
            opts,
            no_serve,
        } => {
            demo(&cli.data_dir, records)?;
            if no_serve {
                Ok(())
            } else {
                serve(&cli.data_dir, &addr, &opts)
            }
        }
    }
}

fn parse_sort(s: &str) -> Result<Sort> {
    serde_json::from_value(json!(s)).map_err(|_| {
        UsageError(format!(
            "unknown sort {s:?}: use relevance, date_desc, date_asc or citations"
        ))
        .into()
    })
}

fn search_request(args: &SearchArgs, query: &str) -> Result<SearchRequest> {
    let mut filters = Vec::new();
    for f in &args.filters {
        let (k, v) = f
            .split_once('=')
            .ok_or_else(|| UsageError(format!("--filter {f:?}: expected FACET=VALUE")))?;
        filters.push((k.trim().to_string(), v.trim().to_string()));
    }
    Ok(SearchRequest {
        query: query.to_string(),
        limit: args.limit,
        offset: args.offset,
        facets: args.facets,
        filters,
        sort: parse_sort(&args.sort)?,
        facet_size: 20,
        expand_clusters: args.all_members,
        expand: !args.no_expand,
    })
}

fn search(data_dir: &std::path::Path, args: &SearchArgs) -> Result<()> {
    let engine = open_engine(data_dir)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if let Some(file) = &args.queries {
        let text =
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        for line in text.lines() {
            let req = search_request(args, line)?;
            let res = engine.search(&req)?;
            match args.repeat {
                None => serde_json::to_writer(&mut out, &res)?,
                Some(n) => {
                    let micros: Vec<u128> = (0..n)
                        .map(|_| {
                            let t = std::time::Instant::now();
                            engine.search(&req).map(|_| t.elapsed().as_micros())
                        })
                        .collect::<Result<_, _>>()?;
                    serde_json::to_writer(
                        &mut out,
                        &json!({"query": line, "count": res.count, "micros": micros}),
                    )?
                }
            }
            writeln!(out)?;
        }
        return Ok(());
    }
    let query = args
        .query
        .as_deref()
        .ok_or_else(|| UsageError("give a QUERY or --queries FILE".into()))?;
    let res = engine.search(&search_request(args, query)?)?;
    if args.json {
        serde_json::to_writer_pretty(&mut out, &res)?;
        writeln!(out)?;
        return Ok(());
    }
    for w in &res.warnings {
        writeln!(out, "note: {w}")?;
    }
    if !res.also_searched_for.is_empty() {
        writeln!(
            out,
            "also searched for {} (--no-expand: only your words)",
            res.also_searched_for
                .iter()
                .map(|a| format!("\"{a}\""))
                .collect::<Vec<_>>()
                .join(", ")
        )?;
    }
    writeln!(out, "{} datasets match", res.count)?;
    for (i, h) in res.hits.iter().enumerate() {
        writeln!(
            out,
            "{:>3}. {} | {} | {:.2}  {}",
            args.offset + i + 1,
            h.accession,
            h.repository,
            h.score,
            h.title
        )?;
        for a in &h.also_in {
            writeln!(
                out,
                "       also in {} | {} ({})",
                a.accession, a.repository, a.reason
            )?;
        }
    }
    for (facet, counts) in &res.facets {
        if counts.is_empty() {
            continue;
        }
        let top: Vec<String> = counts
            .iter()
            .take(8)
            .map(|c| format!("{} ({})", c.value, c.count))
            .collect();
        writeln!(out, "  {facet}: {}", top.join(", "))?;
    }
    Ok(())
}

/// Finds exactly one record for the user's key, or explains.
fn resolve_one(engine: &Engine, key: &str) -> Result<i64> {
    let ids = engine.resolve(key)?;
    match ids.as_slice() {
        [] => Err(UsageError(format!("no record with accession {key:?}")).into()),
        [id] => Ok(*id),
        many => {
            let mut names = Vec::new();
            for id in many {
                if let Some(r) = engine.record(*id)? {
                    names.push(format!("{}/{}", r.repository, r.accession));
                }
            }
            // Prefer the record whose own accession it is.
            for id in many {
                if engine
                    .record(*id)?
                    .is_some_and(|r| r.accession.eq_ignore_ascii_case(key))
                {
                    return Ok(*id);
                }
            }
            Err(UsageError(format!(
                "{key:?} names several records: {}; give REPOSITORY/ACCESSION",
                names.join(", ")
            ))
            .into())
        }
    }
}

fn similar(data_dir: &std::path::Path, json: bool, limit: usize, key: &str) -> Result<()> {
    let engine = open_engine(data_dir)?;
    let id = resolve_one(&engine, key)?;
    let hits = engine.similar(id, limit)?;
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&json!({ "similar": hits }))?
        );
    } else {
        for h in hits {
            outln!(
                "{} | {} | {:.2}  {}",
                h.accession,
                h.repository,
                h.score,
                h.title
            );
            for r in &h.reasons {
                outln!("    - {r}");
            }
        }
    }
    Ok(())
}

/// `opendi similar --keys FILE`: one JSON object per accession (evaluations, batch use).
fn similar_keys(data_dir: &std::path::Path, limit: usize, file: &std::path::Path) -> Result<()> {
    let engine = open_engine(data_dir)?;
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for key in text.lines().map(str::trim).filter(|k| !k.is_empty()) {
        let hits = match engine.resolve(key)?.first() {
            Some(&id) => engine.similar(id, limit)?,
            None => Vec::new(),
        };
        serde_json::to_writer(&mut out, &json!({ "accession": key, "similar": hits }))?;
        writeln!(out)?;
    }
    Ok(())
}

/// `opendi similar --all`: recomputes every record's similar list, with progress, and prints
/// how long it took.
fn similar_all(data_dir: &std::path::Path, json: bool) -> Result<()> {
    use std::io::IsTerminal;
    let engine = open_engine(data_dir)?;
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} records {per_sec}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let started = std::time::Instant::now();
    let records = engine
        .recompute_similar(&|done, total| {
            if let Some(bar) = &bar {
                bar.set_length(total);
                bar.set_position(done);
            }
        })
        .context("recomputing similar lists")?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let secs = started.elapsed().as_secs_f64();
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&json!({ "records": records, "seconds": secs }))?
        );
    } else {
        outln!(
            "similar lists recomputed for {records} records in {secs:.2} s ({:.0} records/s)",
            records as f64 / secs.max(1e-9)
        );
    }
    Ok(())
}

fn show(data_dir: &std::path::Path, as_json: bool, raw: bool, key: &str) -> Result<()> {
    let engine = open_engine(data_dir)?;
    let id = resolve_one(&engine, key)?;
    let rec = engine.record(id)?.context("record vanished")?;
    let history = engine.store().history(id)?;
    let pubs = engine.cited_publications(&rec.dataset, None)?;
    let raw_text = if raw { engine.store().raw(id)? } else { None };
    if as_json {
        let mut v = serde_json::to_value(&rec)?;
        v["history"] = serde_json::to_value(&history)?;
        v["publications"] = serde_json::to_value(&pubs)?;
        v["relations"] = serde_json::to_value(engine.relations(id)?)?;
        if let Some(r) = raw_text {
            v["raw"] = json!(r);
        }
        outln!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    let d = &rec.dataset;
    outln!(
        "{} | {} | {}",
        d.accession,
        d.repository,
        d.main_date().map(|x| x.to_string()).unwrap_or_default()
    );
    outln!("{}", d.title);
    if rec.deleted {
        outln!("(deleted)");
    }
    outln!("omics: {}", d.omics_types.join(", "));
    let orgs: Vec<String> = d
        .organisms
        .iter()
        .map(opendi_engine::text::organism_label)
        .collect();
    outln!("organisms: {}", orgs.join(", "));
    outln!(
        "format {} from {}, version {}, hash {}",
        rec.format,
        rec.source,
        rec.version,
        &rec.content_hash[..rec.content_hash.len().min(16)]
    );
    for diag in &rec.diagnostics {
        outln!("  {diag}");
    }
    outln!();
    outln!("{}", opendi_engine::text::strip_tags(&d.description));
    let rel = engine.relations(id)?;
    for a in &rel.also_in {
        outln!("also in: {} | {} ({})", a.accession, a.repository, a.reason);
    }
    outln!(
        "citations: {}, reanalyses: {}",
        rel.citations,
        rel.reanalyses
    );
    for c in &rel.cited_by {
        outln!("  cited by {} | {}", c.accession, c.repository);
    }
    for p in pubs {
        outln!(
            "\npublication: {} {} ({})",
            p.title,
            p.journal.unwrap_or_default(),
            p.pmid.unwrap_or_default()
        );
    }
    if let Some(r) = raw_text {
        outln!("\n{r}");
    }
    Ok(())
}

fn clusters(data_dir: &std::path::Path, as_json: bool, limit: usize) -> Result<()> {
    let engine = open_engine(data_dir)?;
    let clusters = engine.store().clusters(limit)?;
    if as_json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&json!({ "clusters": clusters }))?
        );
        return Ok(());
    }
    outln!("{} clusters of more than one record", clusters.len());
    for c in &clusters {
        let Some((head, rest)) = c.split_first() else {
            continue;
        };
        outln!(
            "{} | {} ({} records)",
            head.accession,
            head.repository,
            c.len()
        );
        for m in rest {
            outln!("    {} | {}: {}", m.accession, m.repository, m.reason);
        }
    }
    Ok(())
}

fn stats(data_dir: &std::path::Path, as_json: bool) -> Result<()> {
    let engine = open_engine(data_dir)?;
    let s = engine.stats()?;
    if as_json {
        outln!("{}", serde_json::to_string_pretty(&s)?);
        return Ok(());
    }
    outln!(
        "{} records ({} deleted, {} with errors), {} publications, {} indexed, {} earlier versions",
        s.store.records,
        s.store.deleted,
        s.store.with_errors,
        s.store.publications,
        s.indexed_documents,
        s.store.history_versions
    );
    let max = s
        .store
        .per_repository
        .iter()
        .map(|(_, c)| *c)
        .max()
        .unwrap_or(1)
        .max(1);
    outln!("\nper repository:");
    for (r, c) in &s.store.per_repository {
        outln!(
            "  {r:<28} {c:>8} {}",
            "█".repeat(((c * 40) / max).max(1) as usize)
        );
    }
    for (facet, counts) in &s.facets {
        if counts.is_empty() {
            continue;
        }
        outln!("\n{facet}:");
        let max = counts.iter().map(|c| c.count).max().unwrap_or(1).max(1);
        for c in counts.iter().take(10) {
            outln!(
                "  {:<40} {:>8} {}",
                c.value,
                c.count,
                "█".repeat(((c.count * 40) / max).max(1) as usize)
            );
        }
    }
    Ok(())
}

/// Backups cover the embedded store; a PostgreSQL store has its own tools.
fn embedded_only(what: &str) -> Result<()> {
    if DATABASE.get().is_some_and(Option::is_some) {
        return Err(UsageError(format!(
            "{what} covers the embedded store; back up a PostgreSQL store with pg_dump"
        ))
        .into());
    }
    Ok(())
}

fn print_backup(
    verb: &str,
    file: &std::path::Path,
    info: &opendi_engine::backup::BackupInfo,
    as_json: bool,
) -> Result<()> {
    if as_json {
        outln!("{}", serde_json::to_string_pretty(info)?);
    } else {
        outln!(
            "{verb} {}: {} records ({} deleted), up to change {}, store format {}, {} bytes",
            file.display(),
            info.records,
            info.deleted,
            info.last_seq,
            info.format_version,
            info.bytes
        );
    }
    Ok(())
}

fn backup(data_dir: &std::path::Path, as_json: bool, dest: &std::path::Path) -> Result<()> {
    embedded_only("backup")?;
    if dest.exists() {
        return Err(UsageError(format!(
            "{} already exists; give a new file to back up to",
            dest.display()
        ))
        .into());
    }
    let info = opendi_engine::backup::backup(data_dir, dest)
        .with_context(|| format!("backing up {} to {}", data_dir.display(), dest.display()))?;
    print_backup("backed up to", dest, &info, as_json)
}

fn restore(
    data_dir: &std::path::Path,
    as_json: bool,
    force: bool,
    src: &std::path::Path,
) -> Result<()> {
    embedded_only("restore")?;
    if !src.is_file() {
        return Err(UsageError(format!("no backup file at {}", src.display())).into());
    }
    if data_dir.join(opendi_engine::backup::STORE_FILE).exists() && !force {
        return Err(UsageError(format!(
            "{} already holds a store; give --force to replace it with the backup",
            data_dir.display()
        ))
        .into());
    }
    let info = opendi_engine::backup::restore(src, data_dir)
        .with_context(|| format!("restoring {} into {}", src.display(), data_dir.display()))?;
    print_backup("restored from", src, &info, as_json)
}

fn serve(data_dir: &std::path::Path, addr: &str, opts: &ServeOpts) -> Result<()> {
    if !(opts.rate_limit >= 0.0 && opts.rate_limit.is_finite()) {
        return Err(UsageError(format!(
            "--rate-limit must be 0 (off) or a positive number, not {}",
            opts.rate_limit
        ))
        .into());
    }
    let admin = match opts.admin_token.as_deref().map(str::trim) {
        None => None,
        Some("") => {
            return Err(UsageError("--admin-token (OPENDI_ADMIN_TOKEN) is empty".into()).into())
        }
        Some(t) if t.len() < 16 => {
            return Err(UsageError(
                "--admin-token must be at least 16 characters long (it guards writes)".into(),
            )
            .into())
        }
        Some(t) => Some(opendi_server::Admin {
            token: t.to_string(),
            ingest: Some(std::sync::Arc::new(crate::ingest_cmd::ServerIngest)),
        }),
    };
    let config = opendi_server::ServerConfig {
        rate_limit: opts.rate_limit,
        request_timeout: std::time::Duration::from_secs(opts.request_timeout.max(1)),
        admin,
        ..Default::default()
    };
    // The vocabularies load while the index opens, off the request path: on a cold page cache
    // at 1M records each took about a quarter of a second, one after the other.
    std::thread::Builder::new()
        .name("opendi-vocab".into())
        .spawn(|| opendi_engine::preload_synonyms(&opendi_engine::VocabConfig::from_env()))?;
    let engine = std::sync::Arc::new(open_engine(data_dir)?);
    engine.set_result_cache(opts.search_cache);
    if engine.follows_store() {
        // Records written through any node (or any ingest) reach this node's index.
        opendi_engine::spawn_follower(
            std::sync::Arc::clone(&engine),
            std::time::Duration::from_secs(1),
        )?;
    }
    let state = opendi_server::AppState::shared(engine).with_config(config);
    opendi_server::serve(state, addr, |local| {
        eprintln!("opendi: serving http://{local}/ (Ctrl-C stops)");
    })
    .with_context(|| format!("serving on {addr}"))
}

fn demo(data_dir: &std::path::Path, records: usize) -> Result<()> {
    std::fs::create_dir_all(data_dir)?;
    let corpus = data_dir.join("demo-corpus.xml.gz");
    eprintln!(
        "generating {records} demo records into {}",
        corpus.display()
    );
    gen::write_corpus(
        &corpus,
        records,
        gen::Format::OmicsdiXml,
        42,
        &gen::Style::Templates,
        None,
    )?;
    let args = ingest_cmd::IngestArgs::for_paths(vec![corpus.display().to_string()]);
    ingest_cmd::run(data_dir, &args)?;
    let engine = open_engine(data_dir)?;
    for q in [
        "breast cancer proteomics",
        "\"mass spectrometry\" AND liver",
        "organism:mouse",
        "aplastic anemia",
    ] {
        let res = engine.search(&SearchRequest {
            query: q.into(),
            limit: 3,
            facets: false,
            ..Default::default()
        })?;
        outln!("\nsearch {q:?}: {} datasets", res.count);
        for h in res.hits {
            outln!("  {} | {} | {}", h.accession, h.repository, h.title);
        }
    }
    outln!(
        "\nalso: opendi --data-dir {} search \"your terms\" --facets",
        data_dir.display()
    );
    Ok(())
}
