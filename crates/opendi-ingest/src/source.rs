//! Where input bytes come from: files, folders (recursively), http(s) URLs; plain, gzip or zip.
//! This is the only module of the crate that does I/O; it hands byte streams to the parsers.

use crate::detect::{detect, HEAD_LEN};
use crate::{FormatSpec, ParseContext, Sniff};
use opendi_model::{Diagnostic, Item, Location, PartialDate};
use std::cell::RefCell;
use std::fs::File;
use std::io::{BufRead, BufReader, Cursor, Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// A path given on the command line does not exist (the user's mistake).
    #[error("no such file or directory: {0}")]
    NotFound(String),
    /// Listing a folder failed.
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// One input named by the user, after folders are expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Path(PathBuf),
    Url(String),
}

impl Input {
    pub fn display(&self) -> String {
        match self {
            Input::Path(p) => p.display().to_string(),
            Input::Url(u) => u.clone(),
        }
    }
    /// Size on disk, for progress (unknown for URLs).
    pub fn size(&self) -> Option<u64> {
        match self {
            Input::Path(p) => std::fs::metadata(p).ok().map(|m| m.len()),
            Input::Url(_) => None,
        }
    }
}

/// Expands the user's arguments: URLs stay, files stay, folders become their files
/// (recursively, sorted, hidden entries skipped).
pub fn expand(args: &[String]) -> Result<Vec<Input>, SourceError> {
    let mut out = Vec::new();
    for a in args {
        if a.starts_with("http://") || a.starts_with("https://") {
            out.push(Input::Url(a.clone()));
            continue;
        }
        let p = PathBuf::from(a);
        if p.is_dir() {
            walk(&p, &mut out)?;
        } else if p.is_file() {
            out.push(Input::Path(p));
        } else {
            return Err(SourceError::NotFound(a.clone()));
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<Input>) -> Result<(), SourceError> {
    let io = |source| SourceError::Io {
        path: dir.display().to_string(),
        source,
    };
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        if p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'))
        {
            continue;
        }
        if p.is_dir() {
            walk(&p, out)?;
        } else if p.is_file() {
            out.push(Input::Path(p));
        }
    }
    Ok(())
}

/// How to read inputs.
pub struct ReadOptions {
    /// None: detect each file's format from its content.
    pub format: Option<&'static FormatSpec>,
    pub today: PartialDate,
}

/// What happened to one file (a zip member counts as a file).
#[derive(Debug, Clone)]
pub struct FileReport {
    pub name: String,
    pub format: Option<&'static str>,
    /// Why the file was not parsed (unrecognised format, part of a bundle).
    pub skipped: Option<String>,
    /// A read failure (truncated gzip, broken zip, network error). Records read before it are kept.
    pub error: Option<String>,
}

/// Counts bytes as they are read, for the progress bar.
struct Counting<'a, R> {
    inner: R,
    counter: &'a AtomicU64,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.counter.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Reads one input and feeds its items to `sink`. Never fails as a whole: problems are reported
/// per file, in the returned reports and as diagnostics.
pub fn read(
    input: &Input,
    opts: &ReadOptions,
    progress: &AtomicU64,
    sink: &mut dyn FnMut(Item),
) -> Vec<FileReport> {
    let mut reports = Vec::new();
    let name = input.display();
    match input {
        Input::Path(p) => match File::open(p) {
            Ok(f) => {
                let dir = p.parent().map(Path::to_path_buf).unwrap_or_default();
                let siblings = move |rel: &str| read_sibling(&dir, rel);
                let counting = Counting {
                    inner: f,
                    counter: progress,
                };
                read_stream(
                    &name,
                    Box::new(counting),
                    Some(p),
                    &siblings,
                    opts,
                    sink,
                    &mut reports,
                );
            }
            Err(e) => reports.push(failed(&name, format!("cannot open: {e}"), sink)),
        },
        Input::Url(u) => match ureq::get(u).call() {
            Ok(resp) => {
                let body = resp.into_body().into_reader();
                let counting = Counting {
                    inner: body,
                    counter: progress,
                };
                let none = |_: &str| None;
                read_stream(
                    &name,
                    Box::new(counting),
                    None,
                    &none,
                    opts,
                    sink,
                    &mut reports,
                );
            }
            Err(e) => reports.push(failed(&name, format!("cannot fetch: {e}"), sink)),
        },
    }
    reports
}

fn read_sibling(dir: &Path, rel: &str) -> Option<Vec<u8>> {
    let rel = Path::new(rel);
    if rel.is_absolute()
        || rel
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return None;
    }
    std::fs::read(dir.join(rel)).ok()
}

fn failed(name: &str, msg: String, sink: &mut dyn FnMut(Item)) -> FileReport {
    sink(Item::Diagnostic(Diagnostic::error(
        "read-error",
        msg.clone(),
        Location::new(name),
    )));
    FileReport {
        name: name.to_string(),
        format: None,
        skipped: None,
        error: Some(msg),
    }
}

/// Reads up to `n` bytes without losing them: returns the head and a reader that yields
/// the head again followed by the rest.
fn peek(mut r: Box<dyn Read + '_>, n: usize) -> std::io::Result<(Vec<u8>, Box<dyn Read + '_>)> {
    let mut head = Vec::with_capacity(n);
    (&mut r).take(n as u64).read_to_end(&mut head)?;
    let again = Cursor::new(head.clone()).chain(r);
    Ok((head, Box::new(again)))
}

#[allow(clippy::too_many_arguments)]
fn read_stream<'a>(
    name: &str,
    reader: Box<dyn Read + 'a>,
    path: Option<&Path>,
    siblings: &dyn Fn(&str) -> Option<Vec<u8>>,
    opts: &ReadOptions,
    sink: &mut dyn FnMut(Item),
    reports: &mut Vec<FileReport>,
) {
    let (head, reader) = match peek(reader, HEAD_LEN) {
        Ok(x) => x,
        Err(e) => return reports.push(failed(name, format!("read error: {e}"), sink)),
    };
    if head.starts_with(&[0x1f, 0x8b]) {
        let inner = flate2::read::MultiGzDecoder::new(reader);
        return read_stream(name, Box::new(inner), None, siblings, opts, sink, reports);
    }
    if head.starts_with(b"PK\x03\x04") {
        // Zip needs random access: reopen the file, or hold a downloaded archive in memory.
        let zip_result = match path {
            Some(p) => File::open(p)
                .map_err(|e| e.to_string())
                .and_then(|f| read_zip(name, f, opts, sink, reports)),
            None => {
                let mut bytes = Vec::new();
                let mut reader = reader;
                match reader.read_to_end(&mut bytes) {
                    Ok(_) => read_zip(name, Cursor::new(bytes), opts, sink, reports),
                    Err(e) => Err(e.to_string()),
                }
            }
        };
        if let Err(e) = zip_result {
            // No readable central directory (it sits at the end: a truncated download, say).
            // The members before the damage are still there, each behind its local header:
            // read them in order from the start.
            let salvage = path
                .and_then(|p| File::open(p).ok())
                .map(|f| salvage_zip(name, BufReader::new(f), opts, sink, reports));
            let msg = match salvage {
                Some((n, None)) => format!("broken zip archive: {e}; its {n} members were read in order"),
                Some((n, Some(stop))) => format!(
                    "broken zip archive: {e}; the {n} members before the damage were read, then: {stop}"
                ),
                None => format!("broken zip archive: {e}"),
            };
            reports.push(failed(name, msg, sink));
        }
        return;
    }
    // Sniffers see the name without `.gz` (the content is already decompressed here).
    let base = name.rsplit('/').next().unwrap_or(name);
    let base = base.strip_suffix(".gz").unwrap_or(base);
    let (format, sniff) = match opts.format {
        Some(f) => (f, Sniff::Yes),
        None => match detect(base, &head) {
            Some(x) => x,
            None => {
                reports.push(FileReport {
                    name: name.to_string(),
                    format: None,
                    skipped: Some("format not recognised".into()),
                    error: None,
                });
                return;
            }
        },
    };
    if sniff == Sniff::Part {
        reports.push(FileReport {
            name: name.to_string(),
            format: Some(format.name),
            skipped: Some("read through the file that refers to it".into()),
            error: None,
        });
        return;
    }
    let ctx = ParseContext {
        file: name,
        today: opts.today,
        siblings,
    };
    // Where a read fails (a truncated or corrupt gzip, a file cut short while read): the
    // bytes of content delivered so far and the records parsed before, for the message.
    let delivered = std::cell::Cell::new(0u64);
    let located = Located {
        inner: reader,
        delivered: &delivered,
    };
    let mut buffered: Box<dyn BufRead + '_> =
        Box::new(BufReader::with_capacity(256 * 1024, located));
    let mut report = FileReport {
        name: name.to_string(),
        format: Some(format.name),
        skipped: None,
        error: None,
    };
    let mut records = 0u64;
    let mut counting_sink = |item: Item| {
        if matches!(item, Item::Record(_)) {
            records += 1;
        }
        sink(item)
    };
    let result = (format.parse)(&mut buffered, &ctx, &mut counting_sink);
    drop(buffered);
    if let Err(e) = result {
        let msg = format!(
            "read error at byte {} of the content, in record #{}: {e}; the {records} records before it were kept",
            delivered.get(),
            records + 1,
        );
        let mut at = Location::new(name);
        at.record = Some(format!("#{}", records + 1));
        sink(Item::Diagnostic(Diagnostic::error(
            "read-error",
            msg.clone(),
            at,
        )));
        report.error = Some(msg);
    }
    reports.push(report);
}

/// Counts the content bytes a parser has been given (after decompression).
struct Located<'c, R> {
    inner: R,
    delivered: &'c std::cell::Cell<u64>,
}

impl<R: Read> Read for Located<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.delivered.set(self.delivered.get() + n as u64);
        Ok(n)
    }
}

/// Reads the members of a zip without its central directory, in order, until the end or the
/// damage. A member cut short is parsed as far as it goes (truncation leaves good bytes before
/// it). Returns the members read and what stopped the reading, if anything did.
fn salvage_zip<R: Read>(
    name: &str,
    mut r: R,
    opts: &ReadOptions,
    sink: &mut dyn FnMut(Item),
    reports: &mut Vec<FileReport>,
) -> (usize, Option<String>) {
    let none = |_: &str| None;
    let mut read = 0;
    loop {
        let (member, bytes, stop) = match zip::read::read_zipfile_from_stream(&mut r) {
            Ok(Some(mut f)) => {
                let member = f
                    .name()
                    .map(|n| n.into_owned())
                    .unwrap_or_else(|_| format!("member {}", read + 1));
                let mut buf = Vec::new();
                let stop = f
                    .read_to_end(&mut buf)
                    .err()
                    .map(|e| format!("member {member}: {e}"));
                (member, buf, stop)
            }
            Ok(None) => return (read, None),
            Err(e) => return (read, Some(e.to_string())),
        };
        let hidden = member
            .split('/')
            .any(|c| c.starts_with('.') || c == "__MACOSX");
        if !member.ends_with('/') && !hidden {
            read_stream(
                &format!("{name}!{member}"),
                Box::new(Cursor::new(bytes)),
                None,
                &none,
                opts,
                sink,
                reports,
            );
            read += 1;
        }
        if stop.is_some() {
            return (read, stop);
        }
    }
}

fn read_zip<R: Read + Seek>(
    name: &str,
    r: R,
    opts: &ReadOptions,
    sink: &mut dyn FnMut(Item),
    reports: &mut Vec<FileReport>,
) -> Result<(), String> {
    let archive = RefCell::new(zip::ZipArchive::new(r).map_err(|e| e.to_string())?);
    let mut members: Vec<String> = archive
        .borrow()
        .file_names()
        .filter_map(|n| n.ok().map(|n| n.into_owned()))
        .collect();
    members.sort();
    for m in members {
        if m.ends_with('/') || m.split('/').any(|c| c.starts_with('.') || c == "__MACOSX") {
            continue;
        }
        let bytes = {
            let mut a = archive.borrow_mut();
            let mut f = match a.by_name(&m) {
                Ok(f) => f,
                Err(e) => {
                    reports.push(failed(
                        &format!("{name}!{m}"),
                        format!("unreadable zip member: {e}"),
                        sink,
                    ));
                    continue;
                }
            };
            let mut buf = Vec::new();
            if let Err(e) = f.read_to_end(&mut buf) {
                reports.push(failed(
                    &format!("{name}!{m}"),
                    format!("unreadable zip member: {e}"),
                    sink,
                ));
                continue;
            }
            buf
        };
        let dir = m
            .rsplit_once('/')
            .map(|(d, _)| format!("{d}/"))
            .unwrap_or_default();
        let siblings = |rel: &str| {
            let full = format!("{dir}{rel}");
            let mut a = archive.borrow_mut();
            let mut f = a.by_name(&full).ok()?;
            let mut buf = Vec::new();
            f.read_to_end(&mut buf).ok()?;
            Some(buf)
        };
        let member_name = format!("{name}!{m}");
        read_stream(
            &member_name,
            Box::new(Cursor::new(bytes)),
            None,
            &siblings,
            opts,
            sink,
            reports,
        );
    }
    Ok(())
}
