//! GEO SOFT text (series, family, sample and platform files).
//!
//! A SOFT file is a list of entities (`^SERIES = GSE…`, `^SAMPLE`, `^PLATFORM`, `^DATABASE`),
//! each followed by `!Key = value` lines, `#column = description` lines and optionally a data
//! table. Records:
//!
//! - every series becomes one dataset (repository `geo`); the samples and platforms of the same
//!   file that belong to it (listed by the series, naming it, or the file holds one series) are
//!   folded into it: their organisms, characteristics (tissue, cell type, disease) and other
//!   fields become the series' facets and `additional` values, platform titles its instruments;
//! - a sample or platform that belongs to no series of its file is a record of its own
//!   (`GSM…`, `GPL…`): GEO publishes these as pages of their own, and dropping them would lose
//!   what the file says.
//!
//! Data tables (`!sample_table_begin … !sample_table_end` and the headerless rows of old sample
//! files) are measurements, not metadata: they are skipped line by line without being held, so
//! memory stays bounded by the metadata of one file whatever the size of its tables. The raw
//! text of a record is the exact text of its entities without those table rows.

use crate::{detect::head_text, ParseContext, Sniff};
use opendi_model::{
    clean_value, Dataset, DateKind, DatedValue, Diagnostic, Evidence, Item, Location, PartialDate,
    Person, PersonRole, PublicationRef, SourceRecord,
};
use std::collections::BTreeSet;
use std::io::BufRead;

pub const FORMAT: &str = "geo-soft";
pub const REPOSITORY: &str = "geo";

/// Longest metadata line kept whole; longer ones are cut and reported.
const MAX_LINE: usize = 4 << 20;
/// Bytes of a table row looked at: enough to see whether it ends the table.
const TABLE_PEEK: usize = 256;

/// Recognises SOFT by its first entity line (`^SERIES = …`, `^SAMPLE=…`).
pub fn sniff(_name: &str, head: &[u8]) -> Sniff {
    let text = head_text(head);
    let Some(first) = text.lines().map(str::trim).find(|l| !l.is_empty()) else {
        return Sniff::No;
    };
    let Some(rest) = first.strip_prefix('^') else {
        return Sniff::No;
    };
    let kind = rest.split('=').next().unwrap_or("").trim();
    if rest.contains('=')
        && ["SERIES", "SAMPLE", "PLATFORM", "DATABASE", "DATASET"]
            .iter()
            .any(|k| kind.eq_ignore_ascii_case(k))
    {
        Sniff::Yes
    } else {
        Sniff::No
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Series,
    Sample,
    Platform,
    Database,
    Other(String),
}

impl Kind {
    fn parse(s: &str) -> Kind {
        match s.trim().to_ascii_uppercase().as_str() {
            "SERIES" => Kind::Series,
            "SAMPLE" => Kind::Sample,
            "PLATFORM" => Kind::Platform,
            "DATABASE" => Kind::Database,
            other => Kind::Other(other.to_string()),
        }
    }
}

/// One `!Key = value` line.
#[derive(Debug, Clone)]
struct Attr {
    /// The key as written, without `!` (`Series_title`).
    key: String,
    /// The key without its entity prefix, lower case (`title`, `organism_ch1`).
    field: String,
    value: String,
}

#[derive(Debug)]
struct Entity {
    kind: Kind,
    id: String,
    line: u64,
    attrs: Vec<Attr>,
    raw: String,
    diags: Vec<Diagnostic>,
}

impl Entity {
    fn values<'a>(&'a self, field: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.attrs
            .iter()
            .filter(move |a| a.field == field)
            .map(|a| a.value.as_str())
    }
    fn first<'a>(&'a self, field: &'a str) -> Option<&'a str> {
        self.values(field).find_map(|v| {
            let v = v.trim();
            (!v.is_empty()).then_some(v)
        })
    }
    /// The GEO accession (`!…_geo_accession`), else the name after `^KIND =`.
    fn accession(&self) -> String {
        self.first("geo_accession")
            .map(str::to_string)
            .unwrap_or_else(|| self.id.clone())
    }
}

/// Reads one line into `buf` (without its end), keeping at most `cap` bytes. Returns the
/// number of bytes consumed (0 at the end of input) and whether the line was cut.
fn read_line_capped(
    reader: &mut dyn BufRead,
    buf: &mut Vec<u8>,
    cap: usize,
) -> std::io::Result<(usize, bool)> {
    buf.clear();
    let mut consumed = 0;
    let mut cut = false;
    loop {
        let avail = reader.fill_buf()?;
        if avail.is_empty() {
            return Ok((consumed, cut));
        }
        let (take, done) = match memchr::memchr(b'\n', avail) {
            Some(i) => (i + 1, true),
            None => (avail.len(), false),
        };
        let room = cap.saturating_sub(buf.len());
        if room < take {
            cut = true;
        }
        buf.extend_from_slice(&avail[..take.min(room)]);
        reader.consume(take);
        consumed += take;
        if done {
            return Ok((consumed, cut));
        }
    }
}

/// Decodes a line: UTF-8 when valid, else Latin-1 (old GEO files are ISO-8859-1, where every
/// byte is a character, so nothing is replaced).
fn decode(bytes: &[u8]) -> (String, bool) {
    match std::str::from_utf8(bytes) {
        Ok(s) => (s.to_string(), true),
        Err(_) => (bytes.iter().map(|&b| b as char).collect(), false),
    }
}

/// Splits `!Series_title = value` into (key, value); the value keeps inner spacing, trimmed.
fn split_attr(line: &str) -> (String, String) {
    let body = line.trim_start_matches('!');
    match body.split_once('=') {
        Some((k, v)) => (k.trim().to_string(), v.trim().to_string()),
        None => (body.trim().to_string(), String::new()),
    }
}

fn field_of(key: &str) -> String {
    let k = key.to_ascii_lowercase();
    match k.split_once('_') {
        Some((_, rest)) => rest.to_string(),
        None => k,
    }
}

pub fn parse(
    reader: &mut dyn BufRead,
    ctx: &ParseContext,
    sink: &mut dyn FnMut(Item),
) -> std::io::Result<()> {
    let mut entities: Vec<Entity> = Vec::new();
    let mut cur: Option<Entity> = None;
    // Line of the open `!…_table_begin` and whether it was a platform table.
    let mut table: Option<(u64, String)> = None;
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    let mut prologue_reported = false;
    let mut latin1_reported = false;
    loop {
        let cap = if table.is_some() {
            TABLE_PEEK
        } else {
            MAX_LINE
        };
        let (n, cut) = read_line_capped(reader, &mut buf, cap)?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let first = buf.first().copied().unwrap_or(b'\n');
        if let Some((begin_line, begin_key)) = &table {
            if first == b'!' {
                let (text, _) = decode(&buf);
                let (key, _) = split_attr(text.trim_end());
                let lower = key.to_ascii_lowercase();
                if lower.ends_with("_table_end") {
                    if let Some(e) = cur.as_mut() {
                        let begin_prefix = begin_key.split('_').next().unwrap_or("");
                        let end_prefix = lower.split('_').next().unwrap_or("");
                        if begin_prefix != end_prefix {
                            e.diags.push(Diagnostic::warning(
                                "mismatched-table-end",
                                format!(
                                    "table opened by !{begin_key} (line {begin_line}) is closed by !{key}"
                                ),
                                Location::new(ctx.file)
                                    .with_record(e.accession())
                                    .with_line(line_no),
                            ));
                        }
                        e.raw.push_str(&text);
                    }
                    table = None;
                }
                continue;
            }
            if first != b'^' {
                // A data row: not metadata, not kept.
                continue;
            }
            if let Some(e) = cur.as_mut() {
                e.diags.push(Diagnostic::warning(
                    "unterminated-table",
                    format!(
                        "table opened by !{begin_key} at line {begin_line} has no end line before the next entity"
                    ),
                    Location::new(ctx.file)
                        .with_record(e.accession())
                        .with_line(line_no),
                ));
            }
            table = None;
        }
        let (text, utf8) = decode(&buf);
        if !utf8 && !latin1_reported {
            latin1_reported = true;
            let d = Diagnostic::warning(
                "not-utf8",
                "the file is not valid UTF-8; read as Latin-1 (ISO-8859-1)",
                Location::new(ctx.file).with_line(line_no),
            );
            match cur.as_mut() {
                Some(e) => e.diags.push(d),
                None => sink(Item::Diagnostic(d)),
            }
        }
        if cut {
            let d = Diagnostic::warning(
                "line-too-long",
                format!("line longer than {MAX_LINE} bytes was cut"),
                Location::new(ctx.file).with_line(line_no),
            );
            match cur.as_mut() {
                Some(e) => e.diags.push(d),
                None => sink(Item::Diagnostic(d)),
            }
        }
        let content = text.trim_end_matches(['\r', '\n']);
        match first {
            b'^' => {
                if let Some(e) = cur.take() {
                    entities.push(e);
                }
                let (kind, id) = split_attr(content.trim_start_matches('^'));
                let kind = Kind::parse(&kind);
                let mut e = Entity {
                    kind,
                    id: clean_value(&id).unwrap_or_default(),
                    line: line_no,
                    attrs: Vec::new(),
                    raw: text.clone(),
                    diags: Vec::new(),
                };
                if let Kind::Other(k) = &e.kind {
                    e.diags.push(Diagnostic::warning(
                        "unknown-entity",
                        format!(
                            "unknown SOFT entity ^{k}; its lines are kept in the raw text only"
                        ),
                        Location::new(ctx.file).with_line(line_no),
                    ));
                }
                cur = Some(e);
            }
            _ => {
                let Some(e) = cur.as_mut() else {
                    if !content.trim().is_empty() && !prologue_reported {
                        prologue_reported = true;
                        sink(Item::Diagnostic(Diagnostic::warning(
                            "text-before-entity",
                            "lines before the first ^ENTITY line are ignored",
                            Location::new(ctx.file).with_line(line_no),
                        )));
                    }
                    continue;
                };
                match first {
                    b'!' => {
                        let (key, value) = split_attr(content);
                        let lower = key.to_ascii_lowercase();
                        if lower.ends_with("_table_begin") {
                            table = Some((line_no, lower));
                        } else if lower.ends_with("_table_end") {
                            e.diags.push(Diagnostic::warning(
                                "stray-table-end",
                                format!("!{key} without a table begin line"),
                                Location::new(ctx.file)
                                    .with_record(e.accession())
                                    .with_line(line_no),
                            ));
                        } else {
                            e.attrs.push(Attr {
                                field: field_of(&key),
                                key,
                                value,
                            });
                        }
                        e.raw.push_str(&text);
                    }
                    // Column descriptions and blank lines are part of the entity's text.
                    b'#' | b'\r' | b'\n' => e.raw.push_str(&text),
                    _ if content.trim().is_empty() => e.raw.push_str(&text),
                    // Old sample files put table rows right after the column descriptions.
                    _ => {}
                }
            }
        }
    }
    if let Some((begin_line, begin_key)) = &table {
        if let Some(e) = cur.as_mut() {
            e.diags.push(Diagnostic::warning(
                "unterminated-table",
                format!("table opened by !{begin_key} at line {begin_line} has no end line"),
                Location::new(ctx.file)
                    .with_record(e.accession())
                    .with_line(line_no),
            ));
        }
    }
    if let Some(e) = cur.take() {
        entities.push(e);
    }
    if entities.is_empty() {
        sink(Item::Diagnostic(Diagnostic::error(
            "no-soft-entities",
            "no ^SERIES, ^SAMPLE or ^PLATFORM entity in the file",
            Location::new(ctx.file),
        )));
        return Ok(());
    }
    build_records(entities, ctx, sink);
    Ok(())
}

fn norm_id(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Groups entities into records and emits them.
fn build_records(entities: Vec<Entity>, ctx: &ParseContext, sink: &mut dyn FnMut(Item)) {
    let series: Vec<usize> = (0..entities.len())
        .filter(|&i| entities[i].kind == Kind::Series)
        .collect();
    let database: Vec<usize> = (0..entities.len())
        .filter(|&i| entities[i].kind == Kind::Database)
        .collect();
    let mut folded = vec![false; entities.len()];
    let mut groups: Vec<(usize, Vec<usize>)> = Vec::new();
    for &s in &series {
        let se = &entities[s];
        let names: BTreeSet<String> = [norm_id(&se.id), norm_id(&se.accession())]
            .into_iter()
            .filter(|x| !x.is_empty())
            .collect();
        let sample_ids: BTreeSet<String> = se.values("sample_id").map(norm_id).collect();
        let mut platform_ids: BTreeSet<String> = se.values("platform_id").map(norm_id).collect();
        let mut members = Vec::new();
        for (i, e) in entities.iter().enumerate() {
            if e.kind != Kind::Sample {
                continue;
            }
            let belongs = series.len() == 1
                || sample_ids.contains(&norm_id(&e.id))
                || sample_ids.contains(&norm_id(&e.accession()))
                || e.values("series_id").any(|v| names.contains(&norm_id(v)));
            if belongs {
                members.push(i);
                platform_ids.extend(e.values("platform_id").map(norm_id));
            }
        }
        for (i, e) in entities.iter().enumerate() {
            if e.kind != Kind::Platform {
                continue;
            }
            let belongs = series.len() == 1
                || platform_ids.contains(&norm_id(&e.id))
                || platform_ids.contains(&norm_id(&e.accession()))
                || e.values("series_id").any(|v| names.contains(&norm_id(v)));
            if belongs {
                members.push(i);
            }
        }
        for &m in &members {
            folded[m] = true;
        }
        members.sort_unstable();
        groups.push((s, members));
    }
    for (s, members) in &groups {
        let mut idx: Vec<usize> = database.clone();
        idx.push(*s);
        idx.extend(members);
        idx.sort_unstable();
        let raw: String = idx.iter().map(|&i| entities[i].raw.as_str()).collect();
        let member_refs: Vec<&Entity> = members.iter().map(|&i| &entities[i]).collect();
        let rec = entity_record(&entities[*s], &member_refs, raw, ctx);
        sink(Item::Record(Box::new(rec)));
    }
    for (i, e) in entities.iter().enumerate() {
        if folded[i] || matches!(e.kind, Kind::Series | Kind::Database) {
            continue;
        }
        if let Kind::Other(_) = e.kind {
            for d in &e.diags {
                sink(Item::Diagnostic(d.clone()));
            }
            continue;
        }
        let mut idx = database.clone();
        idx.push(i);
        idx.sort_unstable();
        let raw: String = idx.iter().map(|&j| entities[j].raw.as_str()).collect();
        sink(Item::Record(Box::new(entity_record(e, &[], raw, ctx))));
    }
}

/// Reads "Public on Oct 20 2007", "Oct 12 2007" and the like.
fn soft_date(raw: &str) -> Option<PartialDate> {
    let t = raw.trim();
    let lower = t.to_ascii_lowercase();
    let t = match lower.find(" on ") {
        Some(i) if lower.starts_with("public") => &t[i + 4..],
        _ => t,
    };
    PartialDate::parse(t)
}

/// "First,Middle,Last" (GEO's person format) as a display name.
fn person_name(v: &str) -> Option<String> {
    let parts: Vec<&str> = v
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    clean_value(&parts.join(" "))
}

/// Omics types for a GEO series or sample type. Old free-text types ("time course") map to none.
fn omics_for_type(t: &str) -> Option<&'static str> {
    let l = t.to_ascii_lowercase();
    if l.contains("methylation") {
        Some("Epigenomics")
    } else if l.contains("expression profiling")
        || l.contains("non-coding rna")
        || l.starts_with("rna")
        || l.contains("rna-seq")
        || l.contains("mirna")
    {
        Some("Transcriptomics")
    } else if l.contains("protein") {
        Some("Proteomics")
    } else if l.contains("genome binding")
        || l.contains("genome variation")
        || l.contains("snp genotyping")
        || l.contains("genomic")
        || l.contains("chip-seq")
        || l.contains("wgs")
    {
        Some("Genomics")
    } else {
        None
    }
}

fn geo_accession_like(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() > 3
        && (s.starts_with("GSE")
            || s.starts_with("GSM")
            || s.starts_with("GPL")
            || s.starts_with("GDS"))
        && b[3..].iter().all(u8::is_ascii_digit)
}

fn ae_accession_like(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 3
        && parts[0] == "E"
        && parts[1].len() == 4
        && parts[1].bytes().all(|b| b.is_ascii_uppercase())
        && !parts[2].is_empty()
        && parts[2].bytes().all(|b| b.is_ascii_digit())
}

/// `Type: value` relations ("BioProject: https://…/PRJNA102963", "Reanalyzed by: GSM821262").
fn apply_relation(d: &mut Dataset, v: &str) {
    let Some((kind, target)) = v.split_once(':') else {
        return;
    };
    let target = target.trim();
    let key = if target.starts_with("http://") || target.starts_with("https://") {
        match target.split_once("term=") {
            Some((_, t)) => t.split('&').next().unwrap_or(t),
            None => target
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or(""),
        }
    } else {
        target
    };
    let key = key.trim();
    if key.is_empty() {
        return;
    }
    let db = if geo_accession_like(key) {
        REPOSITORY.to_string()
    } else if ae_accession_like(key) {
        "arrayexpress-repository".to_string()
    } else {
        kind.trim().to_ascii_lowercase().replace(' ', "_")
    };
    d.add_cross_ref(&db, key, Evidence::Declared);
}

/// Organisms named per channel (`organism_ch1`) paired with taxon ids (`taxid_ch1`) by channel
/// and order.
fn push_organisms(d: &mut Dataset, e: &Entity, name_fields: &[&str], taxid_fields: &[&str]) {
    for (nf, tf) in name_fields.iter().zip(taxid_fields) {
        let names: Vec<&str> = e.values(nf).collect();
        let taxids: Vec<&str> = e.values(tf).collect();
        for i in 0..names.len().max(taxids.len()) {
            let name = names.get(i).copied().unwrap_or("");
            let taxid = taxids.get(i).copied();
            d.push_organism(name, taxid, Evidence::Declared);
        }
    }
}

const ORGANISM_FIELDS: [&str; 3] = ["organism", "organism_ch1", "organism_ch2"];
const TAXID_FIELDS: [&str; 3] = ["taxid", "taxid_ch1", "taxid_ch2"];

/// `tissue: liver` and friends: folds the facet characteristics. Returns false when the value
/// is not one of them (the caller keeps it verbatim).
fn apply_characteristic(d: &mut Dataset, v: &str) -> bool {
    let Some((k, val)) = v.split_once(':') else {
        return false;
    };
    let k = k.trim().to_ascii_lowercase().replace('_', " ");
    match k.as_str() {
        "tissue" | "organism part" | "tissue type" | "organ" => {
            Dataset::push_term(&mut d.tissues, val, None, Evidence::Declared)
        }
        "cell type" | "celltype" | "cell" => {
            Dataset::push_term(&mut d.cell_types, val, None, Evidence::Declared)
        }
        "disease state" | "disease" | "disease status" | "diagnosis" => {
            Dataset::push_term(&mut d.diseases, val, None, Evidence::Declared)
        }
        _ => return false,
    }
    true
}

fn push_additional_unique(d: &mut Dataset, key: &str, v: &str) {
    let list = d.additional.entry(key.to_string()).or_default();
    if !list.iter().any(|x| x == v) {
        list.push(v.to_string());
    }
}

/// Builds the dataset of a series, sample or platform, folding `members` (the samples and
/// platforms of a series) into it.
fn entity_record(e: &Entity, members: &[&Entity], raw: String, ctx: &ParseContext) -> SourceRecord {
    let accession = e.accession();
    let loc = || {
        Location::new(ctx.file)
            .with_record(accession.clone())
            .with_line(e.line)
    };
    let mut diags: Vec<Diagnostic> = e.diags.clone();
    for m in members {
        diags.extend(m.diags.iter().cloned());
    }
    let mut d = Dataset::new(REPOSITORY, &accession);
    if accession.is_empty() {
        diags.push(Diagnostic::error(
            "missing-accession",
            "the entity has neither a name after ^ nor a geo_accession",
            loc(),
        ));
        d.accession = format!("geo-entity-line-{}", e.line);
    } else if !geo_accession_like(&accession) {
        diags.push(Diagnostic::warning(
            "no-geo-accession",
            format!(
                "{accession:?} is not a GEO accession (GSE/GSM/GPL…); the submission's own name is used"
            ),
            loc(),
        ));
    } else {
        d.full_dataset_link = Some(format!(
            "https://www.ncbi.nlm.nih.gov/geo/query/acc.cgi?acc={accession}"
        ));
    }
    let mut summary: Vec<&str> = Vec::new();
    let mut contact: Option<Person> = None;
    let mut submitter_person: Option<Person> = None;
    for a in &e.attrs {
        let v = a.value.trim();
        let f = a.field.as_str();
        // Characteristics and organisms are handled below; placeholders are kept in raw only.
        let Some(val) = clean_value(v) else {
            continue;
        };
        match f {
            "title" if d.title.is_empty() => d.title = val,
            "geo_accession" if val == accession => {}
            "summary" | "description" => summary.push(v),
            "status" => match soft_date(v) {
                Some(date) => d.dates.push(DatedValue {
                    kind: DateKind::Publication,
                    value: Some(date),
                    raw: v.to_string(),
                }),
                None => d.push_additional(&a.key, v),
            },
            "submission_date" | "last_update_date" => d.dates.push(DatedValue {
                kind: if f == "submission_date" {
                    DateKind::Submission
                } else {
                    DateKind::Updated
                },
                value: soft_date(v),
                raw: v.to_string(),
            }),
            "type" | "library_strategy" => {
                if let Some(t) = omics_for_type(v) {
                    Dataset::push_unique(&mut d.omics_types, t);
                }
                d.push_additional(&a.key, v);
            }
            "contributor" | "author" => {
                if let Some(n) = person_name(v) {
                    d.people.push(Person::new(n, PersonRole::Author));
                }
            }
            "contact_name" | "submitter_name" => {
                let slot = if f == "contact_name" {
                    &mut contact
                } else {
                    &mut submitter_person
                };
                let p = slot.get_or_insert_with(|| Person::new("", PersonRole::Submitter));
                match person_name(v) {
                    Some(n) if p.name.is_empty() => p.name = n,
                    _ => d.push_additional(&a.key, v),
                }
            }
            "contact_email" | "submitter_email" | "contact_institute" | "submitter_institute" => {
                let slot = if f.starts_with("contact") {
                    &mut contact
                } else {
                    &mut submitter_person
                };
                let p = slot.get_or_insert_with(|| Person::new("", PersonRole::Submitter));
                let target = if f.ends_with("email") {
                    &mut p.email
                } else {
                    &mut p.affiliation
                };
                if target.is_none() {
                    *target = Some(val);
                } else {
                    d.push_additional(&a.key, v);
                }
            }
            "pubmed_id" => {
                for id in v.split([',', ';', ' ']).filter(|s| !s.is_empty()) {
                    d.add_publication(PublicationRef {
                        pmid: Some(id.to_string()),
                        ..Default::default()
                    });
                }
            }
            "supplementary_file" => Dataset::push_unique(&mut d.files, v),
            "relation" => {
                apply_relation(&mut d, v);
                d.push_additional(&a.key, v);
            }
            "series_id" => {
                if geo_accession_like(v) {
                    d.add_cross_ref(REPOSITORY, v, Evidence::Declared);
                }
                d.push_additional(&a.key, v);
            }
            _ if ORGANISM_FIELDS.contains(&f) || TAXID_FIELDS.contains(&f) => {
                if e.kind == Kind::Series {
                    d.push_additional(&a.key, v);
                }
            }
            "sample_organism" | "sample_taxid" => {}
            _ if f.starts_with("characteristics") => {
                if !apply_characteristic(&mut d, v) {
                    d.push_additional(&a.key, v);
                }
            }
            _ => d.push_additional(&a.key, v),
        }
    }
    d.description = summary
        .iter()
        .filter_map(|s| clean_value(s).map(|_| s.trim()))
        .collect::<Vec<_>>()
        .join("\n");
    // The submitter first, as the provider line shows it, then the contributors.
    let submitters: Vec<Person> = [contact, submitter_person]
        .into_iter()
        .flatten()
        .filter(|p| !p.name.is_empty())
        .collect();
    d.people.splice(0..0, submitters);
    match e.kind {
        Kind::Series => push_organisms(&mut d, e, &["sample_organism"], &["sample_taxid"]),
        Kind::Platform => {
            push_organisms(&mut d, e, &ORGANISM_FIELDS, &TAXID_FIELDS);
            Dataset::push_unique(&mut d.instruments, &d.title.clone());
        }
        _ => push_organisms(&mut d, e, &ORGANISM_FIELDS, &TAXID_FIELDS),
    }
    for m in members {
        fold_member(&mut d, m);
    }
    validate(&d, e, ctx, &loc(), &mut diags);
    SourceRecord {
        dataset: d,
        publication: None,
        raw,
        format: FORMAT,
        location: loc(),
        diagnostics: diags,
    }
}

/// Folds a sample or platform of a family file into its series.
fn fold_member(d: &mut Dataset, m: &Entity) {
    match m.kind {
        Kind::Sample => push_organisms(d, m, &ORGANISM_FIELDS, &TAXID_FIELDS),
        Kind::Platform => {
            if let Some(t) = m.first("title") {
                Dataset::push_unique(&mut d.instruments, t);
            }
        }
        _ => {}
    }
    for a in &m.attrs {
        let v = a.value.trim();
        if clean_value(v).is_none() {
            continue;
        }
        let f = a.field.as_str();
        if m.kind == Kind::Sample {
            if ORGANISM_FIELDS.contains(&f) || TAXID_FIELDS.contains(&f) {
                continue;
            }
            if f.starts_with("characteristics") && apply_characteristic(d, v) {
                continue;
            }
            if f == "pubmed_id" {
                d.add_publication(PublicationRef {
                    pmid: Some(v.to_string()),
                    ..Default::default()
                });
                continue;
            }
        }
        push_additional_unique(d, &a.key, v);
    }
}

fn validate(
    d: &Dataset,
    e: &Entity,
    ctx: &ParseContext,
    loc: &Location,
    diags: &mut Vec<Diagnostic>,
) {
    if d.title.is_empty() {
        diags.push(Diagnostic::error(
            "missing-title",
            "the entity has no title line",
            loc.clone(),
        ));
    }
    for date in &d.dates {
        match &date.value {
            None => diags.push(Diagnostic::warning(
                "bad-date",
                format!(
                    "{} date {:?} is not a date this reader knows",
                    date.kind.as_str(),
                    date.raw
                ),
                loc.clone(),
            )),
            Some(v) if v.to_ymd() > ctx.today.to_ymd() => diags.push(Diagnostic::warning(
                "future-date",
                format!("{} date {v} is in the future", date.kind.as_str()),
                loc.clone(),
            )),
            _ => {}
        }
    }
    if e.kind == Kind::Series && e.first("sample_id").is_none() {
        diags.push(Diagnostic::warning(
            "no-samples",
            "the series lists no sample ids",
            loc.clone(),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> Vec<Item> {
        let spec = crate::format_by_name(FORMAT).expect("registered");
        crate::parse_bytes(
            spec,
            "t.soft",
            text.as_bytes(),
            PartialDate::ymd(2026, 1, 1).unwrap(),
        )
        .unwrap()
    }

    fn records(items: &[Item]) -> Vec<&SourceRecord> {
        items
            .iter()
            .filter_map(|i| match i {
                Item::Record(r) => Some(r.as_ref()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn sniffs() {
        assert_eq!(
            sniff("x", b"^SERIES = GSE1\n!Series_title = t\n"),
            Sniff::Yes
        );
        assert_eq!(sniff("x", b"\xEF\xBB\xBF^SAMPLE=GSM1\n"), Sniff::Yes);
        assert_eq!(sniff("x", b"^FOO\n"), Sniff::No);
        assert_eq!(sniff("x", b"<xml/>"), Sniff::No);
    }

    #[test]
    fn dates_and_names() {
        assert_eq!(
            soft_date("Public on Jan 01 2005").map(|d| d.to_string()),
            Some("2005-01-01".into())
        );
        assert_eq!(
            soft_date("Oct 12 2007").map(|d| d.to_string()),
            Some("2007-10-12".into())
        );
        assert_eq!(soft_date("Private"), None);
        assert_eq!(person_name("Hsin,C,Yao").as_deref(), Some("Hsin C Yao"));
        assert_eq!(
            person_name(" ,,Agilent Technologies").as_deref(),
            Some("Agilent Technologies")
        );
        assert_eq!(person_name(",,"), None);
    }

    #[test]
    fn family_folds_samples_and_skips_tables() {
        let text = "^SERIES = GSE1\n!Series_title = T\n!Series_geo_accession = GSE1\n\
!Series_sample_id = GSM1\n!Series_type = Methylation profiling by array\n\
^PLATFORM = GPL9\n!Platform_title = Array X\n!platform_table_begin\nID\tA\n1\t2\n!platform_table_end\n\
^SAMPLE = GSM1\n!Sample_title = s1\n!Sample_organism_ch1 = Homo sapiens\n!Sample_taxid_ch1 = 9606\n\
!Sample_characteristics_ch1 = tissue: liver\n!Sample_characteristics_ch1 = cell type: hepatocyte\n\
!Sample_characteristics_ch1 = disease state: NASH\n!Sample_characteristics_ch1 = age: 4\n\
!sample_table_begin\nID_REF\tVALUE\nx\t1\n!sample_table_end\n";
        let items = run(text);
        let recs = records(&items);
        assert_eq!(recs.len(), 1);
        let d = &recs[0].dataset;
        assert_eq!(d.accession, "GSE1");
        assert_eq!(d.omics_types, vec!["Epigenomics"]);
        assert_eq!(d.organisms[0].taxon_id.as_deref(), Some("9606"));
        assert_eq!(d.tissues[0].label, "liver");
        assert_eq!(d.cell_types[0].label, "hepatocyte");
        assert_eq!(d.diseases[0].label, "NASH");
        assert_eq!(d.instruments, vec!["Array X"]);
        assert_eq!(d.additional["Sample_characteristics_ch1"], vec!["age: 4"]);
        assert!(
            !recs[0].raw.contains("x\t1"),
            "table rows are not raw metadata"
        );
        assert!(recs[0].raw.contains("!sample_table_end"));
        assert!(recs[0].diagnostics.is_empty(), "{:?}", recs[0].diagnostics);
    }

    #[test]
    fn broken_tables_are_reported() {
        let text = "^PLATFORM = GPL1\n!Platform_title = P\n!platform_table_begin\nID\n1\n\
!sample_table_end\n^SAMPLE = GSM2\n!Sample_title = S\n!sample_table_begin\nID\n";
        let items = run(text);
        let recs = records(&items);
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0].diagnostics[0].code, "mismatched-table-end");
        assert_eq!(recs[0].diagnostics[0].location.line, Some(6));
        assert_eq!(recs[1].diagnostics[0].code, "unterminated-table");
        assert_eq!(recs[1].dataset.accession, "GSM2");
    }

    #[test]
    fn empty_and_garbage_input() {
        let items = run("hello\n");
        assert!(records(&items).is_empty());
        let codes: Vec<&str> = items
            .iter()
            .filter_map(|i| match i {
                Item::Diagnostic(d) => Some(d.code.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(codes, vec!["text-before-entity", "no-soft-entities"]);
        // Never panics on odd bytes.
        let _ = run("^SAMPLE\n!\n!=\n^=\n\u{0}\u{fffd}\n!Sample_status = Public on\n");
    }

    /// Emits `n` table rows without holding them, to show the reader never does either.
    struct Rows {
        left: u64,
    }
    impl std::io::Read for Rows {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            const ROW: &[u8] = b"1007_s_at\t11.25\tP\n";
            let mut n = 0;
            while self.left > 0 && buf.len() - n >= ROW.len() {
                buf[n..n + ROW.len()].copy_from_slice(ROW);
                n += ROW.len();
                self.left -= 1;
            }
            Ok(n)
        }
    }

    #[test]
    fn large_tables_stream_past() {
        use std::io::Read;
        let head: &[u8] = b"^SAMPLE = GSM1\n!Sample_title = big\n#ID_REF = \n!sample_table_begin\n";
        let tail: &[u8] = b"!sample_table_end\n";
        let rows = 2_000_000u64;
        let input = head.chain(Rows { left: rows }).chain(tail);
        let mut reader = std::io::BufReader::new(input);
        let none = |_: &str| None;
        let ctx = ParseContext {
            file: "big.soft",
            today: PartialDate::ymd(2026, 1, 1).unwrap(),
            siblings: &none,
        };
        let mut items = Vec::new();
        parse(&mut reader, &ctx, &mut |i| items.push(i)).unwrap();
        let recs = records(&items);
        assert_eq!(recs.len(), 1);
        assert_eq!(recs[0].dataset.title, "big");
        assert!(recs[0].raw.len() < 200, "table rows are not held");
        assert!(recs[0].diagnostics.is_empty(), "{:?}", recs[0].diagnostics);
    }

    #[test]
    fn relations_become_cross_refs() {
        let mut d = Dataset::default();
        apply_relation(
            &mut d,
            "BioProject: https://www.ncbi.nlm.nih.gov/bioproject/PRJNA102963",
        );
        apply_relation(
            &mut d,
            "SRA: https://www.ncbi.nlm.nih.gov/sra?term=SRP012345",
        );
        apply_relation(&mut d, "Reanalyzed by: GSM821262");
        apply_relation(&mut d, "ArrayExpress: E-GEOD-9309");
        let keys: Vec<(&str, &str)> = d
            .cross_refs
            .iter()
            .map(|c| (c.database.as_str(), c.key.as_str()))
            .collect();
        assert_eq!(
            keys,
            vec![
                ("bioproject", "PRJNA102963"),
                ("sra", "SRP012345"),
                ("geo", "GSM821262"),
                ("arrayexpress-repository", "E-GEOD-9309")
            ]
        );
    }
}
