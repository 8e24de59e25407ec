//! `opendi ingest`: sources -> parsers (a reader thread) -> store and index (this thread),
//! with a progress bar and a summary.

use crate::UsageError;
use anyhow::{Context, Result};
use opendi_engine::{Change, NewRecord, Outcome};
use opendi_ingest::source::{self, FileReport, Input, ReadOptions};
use opendi_model::{Diagnostic, Item, PartialDate, Severity};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

#[derive(clap::Args, Clone)]
pub struct IngestArgs {
    /// Source format, or auto to detect it from each file's content.
    #[arg(long, default_value = "auto")]
    pub format: String,
    /// Do not store records that have errors.
    #[arg(long)]
    pub strict: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
    /// Leave the similar-datasets lists to `opendi similar --all` (for bulk loads: one pass
    /// over everything at the end instead of keeping lists current batch by batch).
    #[arg(long)]
    pub no_similar: bool,
    /// Records per store transaction.
    #[arg(long, default_value_t = 2000, hide = true)]
    pub batch: usize,
    /// Files, folders or http(s) URLs.
    #[arg(required = true)]
    pub paths: Vec<String>,
}

impl IngestArgs {
    pub fn for_paths(paths: Vec<String>) -> Self {
        IngestArgs {
            format: "auto".into(),
            strict: false,
            json: false,
            no_similar: false,
            batch: 2000,
            paths,
        }
    }
}

/// Records on their way from the reader thread to the writer.
#[derive(Default)]
struct Batch {
    changes: Vec<Change>,
    findings: Vec<Diagnostic>,
    records: u64,
    rejected: u64,
    per_format: BTreeMap<&'static str, u64>,
}

impl Batch {
    fn add(
        &mut self,
        item: Item,
        strict: bool,
        engine: &opendi_engine::Engine,
        annotator: &opendi_vocab::Annotator,
    ) {
        match item {
            Item::Record(rec) => {
                self.records += 1;
                *self.per_format.entry(rec.format).or_default() += 1;
                self.findings.extend(rec.diagnostics.iter().cloned());
                if strict && rec.has_errors() {
                    self.rejected += 1;
                    return;
                }
                let mut rec = *rec;
                // Accessions, DOIs, PMIDs and trial numbers named in the text become
                // cross-references with the evidence "found in text".
                opendi_ingest::link::annotate(&mut rec.dataset);
                // Diseases, phenotypes, organisms, cell types and tissues named in the title
                // and description fill the fields the source left empty ("found in text").
                annotator.annotate_dataset(&mut rec.dataset);
                let mut r = NewRecord::from_source(rec);
                if let Err(e) = engine.prepare(&mut r) {
                    // The writer does the work itself then; it will report a real failure.
                    tracing::warn!(error = %e, "could not prepare a record ahead of writing");
                }
                self.changes.push(Change::Upsert(Box::new(r)));
            }
            Item::Delete {
                repository,
                accession,
                location,
            } => {
                self.changes.push(Change::Delete {
                    repository,
                    accession,
                    source: location.file,
                });
            }
            Item::Diagnostic(d) => self.findings.push(d),
        }
    }
}

/// What an ingest did. Field names are part of the CLI contract (`--json`).
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    pub files: usize,
    pub files_skipped: usize,
    pub files_failed: usize,
    pub records: u64,
    pub new: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub deleted: u64,
    /// Records not stored because of errors (`--strict`).
    pub rejected: u64,
    pub errors: u64,
    pub warnings: u64,
    pub seconds: f64,
    pub records_per_second: f64,
    pub megabytes_per_second: f64,
    pub findings_by_code: BTreeMap<String, u64>,
    /// Records read per source format.
    pub records_by_format: BTreeMap<String, u64>,
    /// The first findings in full (all of them are counted above).
    pub diagnostics: Vec<Diagnostic>,
    pub skipped: Vec<FileNote>,
    pub failed: Vec<FileNote>,
}

#[derive(Debug, Serialize)]
pub struct FileNote {
    pub file: String,
    pub reason: String,
}

const MAX_LISTED_DIAGNOSTICS: usize = 1000;

impl Summary {
    fn note(&mut self, d: &Diagnostic) {
        match d.severity {
            Severity::Error => self.errors += 1,
            Severity::Warning => self.warnings += 1,
        }
        *self.findings_by_code.entry(d.code.clone()).or_default() += 1;
        if self.diagnostics.len() < MAX_LISTED_DIAGNOSTICS {
            self.diagnostics.push(d.clone());
        }
    }
}

pub(crate) fn today() -> PartialDate {
    let now = chrono::Utc::now().date_naive();
    use chrono::Datelike;
    PartialDate::ymd(now.year(), now.month() as u8, now.day() as u8).expect("today is a date")
}

/// The format a `--format` name means (`auto`: `None`, recognised per file).
pub fn format_named(name: &str) -> Result<Option<&'static opendi_ingest::FormatSpec>, UsageError> {
    match name {
        "auto" => Ok(None),
        name => opendi_ingest::format_by_name(name)
            .map(Some)
            .ok_or_else(|| {
                let known: Vec<&str> = opendi_ingest::FORMATS.iter().map(|f| f.name).collect();
                UsageError(format!(
                    "unknown format {name:?}; known: auto, {}",
                    known.join(", ")
                ))
            }),
    }
}

pub fn run(data_dir: &Path, args: &IngestArgs) -> Result<()> {
    let format = format_named(&args.format)?;
    let inputs = source::expand(&args.paths).map_err(|e| UsageError(e.to_string()))?;
    let engine = Arc::new(crate::cli::open_engine(data_dir)?);
    if args.no_similar {
        engine.defer_similar_lists();
    }
    let summary = ingest_into(&engine, inputs, format, args.strict, args.batch, true)
        .with_context(|| format!("ingesting into {}", data_dir.display()))?;
    print_summary(&summary, args.json)?;
    if args.no_similar && !args.json {
        eprintln!("similar lists not updated (--no-similar): run `opendi similar --all` next");
    }
    Ok(())
}

/// The ingest pipeline over an open engine: what `opendi ingest` runs, and what the server's
/// `POST /admin/ingest` runs on an uploaded file. `progress`: show a bar on a terminal.
pub fn ingest_into(
    engine: &Arc<opendi_engine::Engine>,
    inputs: Vec<Input>,
    format: Option<&'static opendi_ingest::FormatSpec>,
    strict: bool,
    batch: usize,
    progress: bool,
) -> Result<Summary> {
    let total_bytes: u64 = inputs.iter().filter_map(Input::size).sum();
    let bar = if progress {
        progress_bar(total_bytes)
    } else {
        None
    };
    let progress = Arc::new(AtomicU64::new(0));
    let started = Instant::now();

    // Three stages, each on its own thread, joined by bounded channels (memory stays flat):
    // the reader parses; the preparer annotates and prepares records (serializing, hashing,
    // compressing, building index documents); this thread only writes. Measured on PubMed:
    // with parsing and preparing on one thread, that thread alone set the pace.
    let engine = Arc::clone(engine);
    // One batch waiting per stage: deeper queues only held more records in memory (PubMed,
    // 30,000 records: peak RSS 540 MB with four, 487 MB with one, at the same speed).
    let (items_tx, items_rx) = crossbeam_channel::bounded::<Vec<Item>>(1);
    let (tx, rx) = crossbeam_channel::bounded::<Batch>(1);
    let reader_progress = Arc::clone(&progress);
    let batch_size = batch.max(1);
    let reader = std::thread::Builder::new()
        .name("opendi-reader".into())
        .spawn(move || -> Vec<FileReport> {
            let opts = ReadOptions {
                format,
                today: today(),
            };
            let mut reports = Vec::new();
            let mut items = Vec::with_capacity(batch_size);
            for input in &inputs {
                let mut send = |item: Item| {
                    items.push(item);
                    if items.len() >= batch_size {
                        // A closed channel means a later stage failed; the writer reports why.
                        let _ = items_tx.send(std::mem::replace(
                            &mut items,
                            Vec::with_capacity(batch_size),
                        ));
                    }
                };
                reports.extend(source::read(input, &opts, &reader_progress, &mut send));
            }
            let _ = items_tx.send(items);
            reports
        })?;
    // The vocabularies load once per ingest, on a thread of their own, while the reader
    // parses ahead (PubMed: a quarter of a second, when the preparer that loaded them let the
    // reader wait after two batches and the writer and the index had nothing to do).
    let (vocab_tx, vocab_rx) = crossbeam_channel::bounded(1);
    std::thread::Builder::new()
        .name("opendi-vocab".into())
        .spawn(move || {
            let _ = vocab_tx.send(load_annotator());
        })?;
    let preparer_engine = Arc::clone(&engine);
    let preparer = std::thread::Builder::new()
        .name("opendi-prepare".into())
        .spawn(move || {
            let mut early = Vec::new();
            let annotator = loop {
                crossbeam_channel::select! {
                    recv(vocab_rx) -> annotator => break annotator,
                    recv(items_rx) -> items => match items {
                        Ok(items) if early.len() + 1 < RUN_AHEAD => early.push(items),
                        Ok(items) => {
                            early.push(items);
                            break vocab_rx.recv();
                        }
                        Err(_) => break vocab_rx.recv(),
                    },
                }
            };
            let annotator = annotator.expect("the vocabulary loader ended without a result");
            for items in early.into_iter().chain(items_rx.iter()) {
                let mut batch = Batch::default();
                for item in items {
                    batch.add(item, strict, &preparer_engine, &annotator);
                }
                if tx.send(batch).is_err() {
                    break;
                }
            }
        })?;

    let mut summary = Summary::default();
    let now = chrono::Utc::now().timestamp();
    let mut since_commit = 0u64;
    let write_result = (|| -> Result<()> {
        let mut waited = std::time::Duration::ZERO;
        let mut writing = std::time::Duration::ZERO;
        let mut t = Instant::now();
        for batch in rx.iter() {
            waited += t.elapsed();
            t = Instant::now();
            summary.records += batch.records;
            summary.rejected += batch.rejected;
            for (f, n) in &batch.per_format {
                *summary.records_by_format.entry(f.to_string()).or_default() += n;
            }
            for d in &batch.findings {
                summary.note(d);
            }
            let changes = batch.changes;
            // The cause (a full disk, say) with what was being done and where: the batches
            // before this one are committed and stay.
            let applied = engine.apply(&changes, now).with_context(|| {
                format!(
                    "writing {} records to the store (everything before them is committed)",
                    changes.len()
                )
            })?;
            for (outcome, _) in applied {
                match outcome {
                    Outcome::New => summary.new += 1,
                    Outcome::Updated => summary.updated += 1,
                    Outcome::Unchanged => summary.unchanged += 1,
                    Outcome::Deleted | Outcome::DeletedUnknown => summary.deleted += 1,
                }
            }
            writing += t.elapsed();
            t = Instant::now();
            since_commit += changes.len() as u64;
            // Searchable in steps on long ingests; the store is already durable per batch.
            if since_commit >= opendi_engine::INDEX_COMMIT_EVERY {
                engine.commit().context("updating the search index")?;
                since_commit = 0;
            }
            if let Some(bar) = &bar {
                bar.set_position(progress.load(Ordering::Relaxed));
                let secs = started.elapsed().as_secs_f64().max(1e-3);
                bar.set_message(format!(
                    "{} records, {:.0}/s",
                    summary.records,
                    summary.records as f64 / secs
                ));
            }
        }
        let c = Instant::now();
        crate::return_freed_memory();
        engine.commit().context("updating the search index")?;
        let m = Instant::now();
        engine.wait_merges().context("merging index segments")?;
        tracing::info!(?waited, ?writing, commit = ?c.elapsed(), merges = ?m.elapsed(), "ingest writer time");
        Ok(())
    })();
    // Drain the channel so the reader thread can finish even if writing failed.
    drop(rx);
    let reports = reader
        .join()
        .map_err(|_| anyhow::anyhow!("reader thread panicked"))?;
    preparer
        .join()
        .map_err(|_| anyhow::anyhow!("prepare thread panicked"))?;
    write_result?;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    for r in reports {
        summary.files += 1;
        if let Some(reason) = r.skipped {
            summary.files_skipped += 1;
            summary.skipped.push(FileNote {
                file: r.name,
                reason,
            });
        } else if let Some(reason) = r.error {
            summary.files_failed += 1;
            summary.failed.push(FileNote {
                file: r.name,
                reason,
            });
        }
    }
    summary.seconds = started.elapsed().as_secs_f64();
    summary.records_per_second = summary.records as f64 / summary.seconds.max(1e-9);
    summary.megabytes_per_second =
        progress.load(Ordering::Relaxed) as f64 / 1e6 / summary.seconds.max(1e-9);
    Ok(summary)
}

/// `POST /admin/ingest` of `opendi serve --admin-token`: the uploaded file through
/// [`ingest_into`], the summary as JSON (the shape of `opendi ingest --json`).
pub struct ServerIngest;

impl opendi_server::Ingest for ServerIngest {
    fn ingest(
        &self,
        engine: Arc<opendi_engine::Engine>,
        file: &Path,
        format: Option<&str>,
        strict: bool,
    ) -> Result<serde_json::Value, opendi_server::AppError> {
        let format = format_named(format.unwrap_or("auto"))
            .map_err(|e| opendi_server::AppError::BadRequest(e.0))?;
        let inputs = vec![Input::Path(file.to_path_buf())];
        let summary = ingest_into(&engine, inputs, format, strict, 2000, false)
            .map_err(|e| opendi_server::AppError::Internal(format!("ingest: {e:#}")))?;
        serde_json::to_value(&summary).map_err(opendi_server::AppError::from)
    }
}

/// Batches the reader may parse ahead while the vocabularies load.
const RUN_AHEAD: usize = 8;

/// The vocabularies of `$OPENDI_VOCAB` (default `../shared/corpora/vocab`); a missing one is
/// logged and the ingest goes on with the others and the built-in tables.
fn load_annotator() -> opendi_vocab::Annotator {
    let started = Instant::now();
    let vocab = opendi_vocab::Vocabulary::load(&opendi_vocab::VocabConfig::from_env());
    let annotator = opendi_vocab::Annotator::new(&vocab);
    tracing::info!(
        concepts = vocab.concepts.len(),
        names = annotator.names(),
        elapsed = ?started.elapsed(),
        "annotator loaded"
    );
    annotator
}

fn progress_bar(total: u64) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    Some(bar)
}

fn print_summary(s: &Summary, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(s)?);
        return Ok(());
    }
    // Errors in full (the first 50), warnings counted by kind: a dump's warnings are many and alike.
    let errors: Vec<&Diagnostic> = s
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    for d in errors.iter().take(50) {
        eprintln!("{d}");
    }
    if s.errors > 50 {
        eprintln!(
            "… {} more errors (--json lists up to {MAX_LISTED_DIAGNOSTICS} findings)",
            s.errors - 50
        );
    }
    let warned: Vec<String> = s
        .findings_by_code
        .iter()
        .filter(|(code, _)| {
            s.diagnostics
                .iter()
                .any(|d| &d.code == *code && d.severity == Severity::Warning)
        })
        .map(|(code, n)| format!("{code} x{n}"))
        .collect();
    if !warned.is_empty() {
        eprintln!("warnings: {} (--json lists them)", warned.join(", "));
    }
    for f in &s.failed {
        eprintln!("{}: failed: {}", f.file, f.reason);
    }
    println!(
        "{} files ({} skipped, {} failed); {} records: {} new, {} updated, {} unchanged, {} deleted{}; {} errors, {} warnings; {:.1} s, {:.0} records/s, {:.1} MB/s",
        s.files,
        s.files_skipped,
        s.files_failed,
        s.records,
        s.new,
        s.updated,
        s.unchanged,
        s.deleted,
        if s.rejected > 0 { format!(", {} rejected", s.rejected) } else { String::new() },
        s.errors,
        s.warnings,
        s.seconds,
        s.records_per_second,
        s.megabytes_per_second
    );
    Ok(())
}
