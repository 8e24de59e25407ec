//! OmicsDI (EB-eye) XML: `<database><entries><entry id=…>` dumps, streamed entry by entry,
//! validated as the OmicsDI validator does it.

use crate::xml::{self, Element};
use crate::xmlsplit::{Chunk, RecordSplitter};
use crate::{chunk_text, ParseContext};
use opendi_model::{
    clean_value, repository_key, Dataset, DateKind, DatedValue, Diagnostic, Evidence, Item,
    Location, PartialDate, Person, PersonRole, PublicationRef, SourceRecord,
};
use std::io::BufRead;
use std::sync::LazyLock;

pub const FORMAT: &str = "omicsdi-xml";

/// What the `<database>` header says, applied to entries that do not say it themselves.
#[derive(Default)]
struct Header {
    name: Option<String>,
}

pub fn parse(
    reader: &mut dyn BufRead,
    ctx: &ParseContext,
    sink: &mut dyn FnMut(Item),
) -> std::io::Result<()> {
    let mut splitter = RecordSplitter::new(reader, &["entry"]);
    let mut header = Header::default();
    let mut ordinal = 0u64;
    while let Some(chunk) = splitter.next_chunk()? {
        match chunk {
            Chunk::Header { text } => header = parse_header(&text, ctx, sink),
            Chunk::Record {
                text,
                line,
                complete,
                ..
            } => {
                ordinal += 1;
                let rec = parse_entry(text, line, ordinal, complete, &header, ctx);
                sink(Item::Record(Box::new(rec)));
            }
            Chunk::TooLarge { line, bytes, .. } => {
                ordinal += 1;
                sink(Item::Diagnostic(Diagnostic::error(
                    "record-too-large",
                    format!("entry of {bytes} bytes skipped: larger than the record limit"),
                    Location::new(ctx.file)
                        .with_record(format!("#{ordinal}"))
                        .with_line(line),
                )));
            }
        }
    }
    Ok(())
}

fn parse_header(text: &[u8], ctx: &ParseContext, sink: &mut dyn FnMut(Item)) -> Header {
    // The header is an unclosed `<database>…<entries>` prefix; the lenient tree reads it.
    let (db, _) = xml::parse(text);
    let loc = || Location::new(ctx.file).with_line(1);
    let mut h = Header::default();
    if db.name != "database" {
        sink(Item::Diagnostic(Diagnostic::error(
            "not-omicsdi",
            "no <database> root element",
            loc(),
        )));
        return h;
    }
    let get = |n: &str| db.child(n).map(|e| e.text()).filter(|s| !s.is_empty());
    h.name = get("name");
    if h.name.is_none() {
        sink(Item::Diagnostic(Diagnostic::error(
            "missing-database-name",
            "the database does not give its <name>",
            loc(),
        )));
    }
    for (field, what) in [
        ("description", "description"),
        ("url", "url"),
        ("keywords", "keywords"),
        ("entry_count", "entry count"),
        ("release_date", "release date"),
    ] {
        if get(field).is_none() {
            sink(Item::Diagnostic(Diagnostic::warning(
                "missing-database-field",
                format!("the database does not give its {what} (<{field}>)"),
                loc(),
            )));
        }
    }
    h
}

static DOI_RE: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new(r"\b(10\.\d{4,9}/[^\s,;]+[^\s,;.)\]])").expect("regex"));
static PMID_RE: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new(r"(?i)\bPMID:?\s*(\d{1,9})\b").expect("regex"));

/// Parses one `<entry>` chunk. Never fails: problems become diagnostics on the record.
fn parse_entry(
    text: Vec<u8>,
    line: u64,
    ordinal: u64,
    complete: bool,
    header: &Header,
    ctx: &ParseContext,
) -> SourceRecord {
    let (raw, utf8_ok) = chunk_text(text);
    let text = raw.as_bytes();
    let (entry, problems) = xml::parse_str(&raw);
    let id = entry.attr("id").and_then(clean_value);
    let record_label = id.clone().unwrap_or_else(|| format!("#{ordinal}"));
    let loc = |l: u64| {
        Location::new(ctx.file)
            .with_record(record_label.clone())
            .with_line(l)
    };
    let mut diags = xml::chunk_findings(&loc, line, utf8_ok, complete, "</entry>", problems);

    let mut d = Dataset::default();
    match &id {
        Some(id) => d.accession = id.clone(),
        None => {
            diags.push(Diagnostic::error(
                "missing-id",
                "the entry has no id",
                loc(line),
            ));
            d.accession = format!(
                "{}-entry-{ordinal}",
                header
                    .name
                    .as_deref()
                    .map(repository_key)
                    .unwrap_or_else(|| "unknown".into())
            );
        }
    }
    d.title = entry.child("name").map(Element::text).unwrap_or_default();
    d.description = entry
        .child("description")
        .map(|e| e.inner_markup(text))
        .unwrap_or_default();
    if let Some(a) = entry.child("authors") {
        for name in a.text().split(',') {
            if let Some(n) = clean_value(name) {
                d.people.push(Person::new(n, PersonRole::Author));
            }
        }
    }
    if let Some(k) = entry.child("keywords") {
        for kw in k.text().split([';', ',']) {
            Dataset::push_unique(&mut d.submitter_keywords, kw);
        }
    }
    if let Some(dates) = entry.child("dates") {
        for date in dates.children_named("date") {
            let raw = date
                .attr("value")
                .map(str::to_string)
                .unwrap_or_else(|| date.text());
            let kind = DateKind::parse(date.attr("type").unwrap_or(""));
            d.dates.push(DatedValue {
                value: PartialDate::parse(&raw),
                kind,
                raw,
            });
        }
    }
    if let Some(refs) = entry.child("cross_references") {
        for r in refs.children_named("ref") {
            let (db, key) = (
                r.attr("dbname").unwrap_or("").trim(),
                r.attr("dbkey").unwrap_or("").trim(),
            );
            apply_ref(&mut d, db, key);
        }
    }
    let mut repository = None;
    let mut submitters: Vec<Person> = Vec::new();
    let mut labheads: Vec<Person> = Vec::new();
    let mut authors: Vec<Person> = Vec::new();
    if let Some(fields) = entry.child("additional_fields") {
        for f in fields.children_named("field") {
            let name = f.attr("name").unwrap_or("").trim();
            let value = f.inner_markup(text);
            apply_field(
                &mut d,
                name,
                &value,
                &mut repository,
                &mut submitters,
                &mut labheads,
                &mut authors,
            );
        }
    }
    d.people.extend(submitters);
    d.people.extend(labheads);
    d.people.extend(authors);
    let repo_name = repository.clone().or_else(|| header.name.clone());
    d.repository = repo_name
        .as_deref()
        .map(repository_key)
        .unwrap_or_else(|| "unknown".to_string());

    validate(&d, repository.is_some(), ctx, &loc(line), &mut diags);
    // The tree borrows the text, which the record takes.
    drop(entry);
    SourceRecord {
        dataset: d,
        publication: None,
        raw,
        format: FORMAT,
        location: loc(line),
        diagnostics: diags,
    }
}

fn apply_ref(d: &mut Dataset, db: &str, key: &str) {
    if key.is_empty() {
        return;
    }
    match db.to_ascii_lowercase().as_str() {
        "taxonomy" | "ncbi taxonomy" | "ncbitaxon" => {
            d.push_organism("", Some(key), Evidence::Declared)
        }
        "pubmed" | "pmid" | "medline" => d.add_publication(PublicationRef {
            pmid: Some(key.to_string()),
            ..Default::default()
        }),
        "doi" => d.add_publication(PublicationRef {
            doi: Some(key.to_string()),
            ..Default::default()
        }),
        "pmc" | "pmcid" => d.add_publication(PublicationRef {
            pmcid: Some(key.to_string()),
            ..Default::default()
        }),
        _ => {}
    }
    d.add_cross_ref(db, key, Evidence::Declared);
}

/// Pairs per-person fields (`submitter`, `submitter_mail`, …) by their order.
fn person_slot(
    list: &mut Vec<Person>,
    role: PersonRole,
    fill: impl Fn(&Person) -> bool,
) -> &mut Person {
    if let Some(i) = list.iter().position(|p| !fill(p)) {
        return &mut list[i];
    }
    list.push(Person::new("", role));
    list.last_mut().expect("pushed")
}

#[allow(clippy::too_many_arguments)]
fn apply_field(
    d: &mut Dataset,
    name: &str,
    value: &str,
    repository: &mut Option<String>,
    submitters: &mut Vec<Person>,
    labheads: &mut Vec<Person>,
    authors: &mut Vec<Person>,
) {
    let Some(v) = clean_value(value) else {
        // Placeholders ("Not available") are dropped from the normalized record; the raw keeps them.
        return;
    };
    match name.to_ascii_lowercase().as_str() {
        "repository" => *repository = Some(v),
        "omics_type" => Dataset::push_unique(&mut d.omics_types, &v),
        "full_dataset_link" | "link" => d.full_dataset_link = Some(v),
        "submitter" => {
            person_slot(submitters, PersonRole::Submitter, |p| !p.name.is_empty()).name = v
        }
        "submitter_mail" | "submitter_email" => {
            person_slot(submitters, PersonRole::Submitter, |p| p.email.is_some()).email = Some(v)
        }
        "submitter_affiliation" => {
            person_slot(submitters, PersonRole::Submitter, |p| {
                p.affiliation.is_some()
            })
            .affiliation = Some(v)
        }
        "labhead" => person_slot(labheads, PersonRole::LabHead, |p| !p.name.is_empty()).name = v,
        "labhead_mail" | "labhead_email" => {
            person_slot(labheads, PersonRole::LabHead, |p| p.email.is_some()).email = Some(v)
        }
        "labhead_affiliation" => {
            person_slot(labheads, PersonRole::LabHead, |p| p.affiliation.is_some()).affiliation =
                Some(v)
        }
        "author" => person_slot(authors, PersonRole::Author, |p| !p.name.is_empty()).name = v,
        "author_affiliation" => {
            person_slot(authors, PersonRole::Author, |p| p.affiliation.is_some()).affiliation =
                Some(v)
        }
        "submitter_keywords" | "keywords" => Dataset::push_unique(&mut d.submitter_keywords, &v),
        "curator_keywords" => Dataset::push_unique(&mut d.curator_keywords, &v),
        "species" | "organism" => d.push_organism(&v, None, Evidence::Declared),
        "tissue" | "organism part" | "organism_part" => {
            Dataset::push_term(&mut d.tissues, &v, None, Evidence::Declared)
        }
        "disease" => Dataset::push_term(&mut d.diseases, &v, None, Evidence::Declared),
        "cell_type" | "cell type" => {
            Dataset::push_term(&mut d.cell_types, &v, None, Evidence::Declared)
        }
        "instrument_platform" | "instrument" => Dataset::push_unique(&mut d.instruments, &v),
        "data_protocol" => Dataset::push_unique(&mut d.data_protocols, &v),
        "sample_protocol" => Dataset::push_unique(&mut d.sample_protocols, &v),
        "modification" | "ptm_modification" => Dataset::push_unique(&mut d.modifications, &v),
        "software" => Dataset::push_unique(&mut d.software, &v),
        "dataset_file" => Dataset::push_unique(&mut d.files, &v),
        "secondary_accession" | "additional_accession" => {
            Dataset::push_unique(&mut d.secondary_accessions, &v)
        }
        "isprivate" | "is_private" => d.is_private = v.eq_ignore_ascii_case("true"),
        "license" | "licence" => d.license = Some(v),
        "pubmed" | "pmid" => d.add_publication(PublicationRef {
            pmid: Some(v),
            ..Default::default()
        }),
        "doi" => d.add_publication(PublicationRef {
            doi: Some(v),
            ..Default::default()
        }),
        "publication" => {
            let doi = DOI_RE.captures(&v).map(|c| c[1].to_string());
            let pmid = PMID_RE.captures(&v).map(|c| c[1].to_string());
            // A citation without identifiers most likely describes the reference given as a
            // cross-reference (`<ref dbname="pubmed">`): attach it there rather than list it twice.
            if doi.is_none() && pmid.is_none() {
                if let Some(p) = d.publications.iter_mut().find(|p| p.citation.is_none()) {
                    p.citation = Some(v);
                    return;
                }
            }
            d.add_publication(PublicationRef {
                pmid,
                doi,
                pmcid: None,
                citation: Some(v),
            });
        }
        _ => d.push_additional(name, &v),
    }
}

const REQUIRED_FIELDS: [(&str, &str); 4] = [
    ("repository", "repository"),
    ("omics_type", "omics type"),
    ("full_dataset_link", "full dataset link"),
    ("submitter", "submitter"),
];

fn validate(
    d: &Dataset,
    has_repository: bool,
    ctx: &ParseContext,
    loc: &Location,
    diags: &mut Vec<Diagnostic>,
) {
    if d.title.is_empty() {
        diags.push(Diagnostic::error(
            "missing-name",
            "the entry has no <name> (title)",
            loc.clone(),
        ));
    }
    if d.description.is_empty() {
        diags.push(Diagnostic::error(
            "missing-description",
            "the entry has no <description>",
            loc.clone(),
        ));
    }
    let mut known_valid = 0;
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
            Some(v) => {
                if v.to_ymd() > ctx.today.to_ymd() {
                    diags.push(Diagnostic::error(
                        "future-date",
                        format!("{} date {} is in the future", date.kind.as_str(), v),
                        loc.clone(),
                    ));
                    continue;
                }
                if !is_standard_date(&date.raw) {
                    diags.push(Diagnostic::warning(
                        "nonstandard-date",
                        format!(
                            "{} date {:?} read as {v}; write yyyy-MM-dd",
                            date.kind.as_str(),
                            date.raw
                        ),
                        loc.clone(),
                    ));
                }
                if date.kind.is_known() {
                    known_valid += 1;
                }
            }
        }
    }
    if known_valid == 0 {
        diags.push(Diagnostic::error(
            "missing-date",
            "the entry has no valid date of a known type (publication, creation, submission, updated, last_modification)",
            loc.clone(),
        ));
    } else if !d
        .dates
        .iter()
        .any(|x| x.kind == DateKind::Publication && x.value.is_some())
    {
        // The reference validator treats the publication date as mandatory.
        diags.push(Diagnostic::error(
            "missing-publication-date",
            "the entry has no valid publication date",
            loc.clone(),
        ));
    }
    let present = |f: &str| match f {
        "repository" => has_repository,
        "omics_type" => !d.omics_types.is_empty(),
        "full_dataset_link" => d.full_dataset_link.is_some(),
        _ => d.submitters().any(|p| !p.name.is_empty()),
    };
    for (field, what) in REQUIRED_FIELDS {
        if !present(field) {
            diags.push(Diagnostic::error(
                "missing-field",
                format!("the entry does not give its {what} (additional field {field})"),
                loc.clone(),
            ));
        }
    }
    let suggested: [(&str, bool); 6] = [
        ("submitter_email", d.submitters().any(|p| p.email.is_some())),
        (
            "TAXONOMY cross-reference",
            d.organisms.iter().any(|o| o.taxon_id.is_some()),
        ),
        (
            "pubmed cross-reference",
            d.publications.iter().any(|p| p.pmid.is_some()),
        ),
        ("instrument_platform", !d.instruments.is_empty()),
        ("data_protocol", !d.data_protocols.is_empty()),
        ("sample_protocol", !d.sample_protocols.is_empty()),
    ];
    for (what, ok) in suggested {
        if !ok {
            diags.push(Diagnostic::warning(
                "missing-suggested",
                format!("the entry does not give a {what}"),
                loc.clone(),
            ));
        }
    }
}

/// The two formats the OmicsDI validator accepts: `yyyy-MM-dd` and `dd-MMM-yyyy HH:mm:ss`.
fn is_standard_date(raw: &str) -> bool {
    let b = raw.trim().as_bytes();
    let iso = b.len() == 10 && b[4] == b'-' && b[7] == b'-';
    let dmy = b.len() >= 11 && b[2] == b'-' && b[6] == b'-';
    iso || dmy
}
