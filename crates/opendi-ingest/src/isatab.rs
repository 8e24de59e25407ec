//! ISA-Tab: an investigation file (`i_*.txt`) that names study (`s_*.txt`) and assay (`a_*.txt`)
//! tables beside it. The investigation is the input; each STUDY in it becomes one record, and
//! the tables are read through `ctx.siblings` for the facets (organism, tissue, disease …),
//! instruments and data files. The same normalization serves ISA-JSON (`isajson.rs`): both
//! formats fill an [`IsaStudy`] and [`build_record`] turns it into a `Dataset`.
//!
//! Study and assay tables can list tens of thousands of samples (MetaboLights). They are read
//! row by row, keeping only the distinct values of each annotated column, at most
//! [`MAX_DISTINCT`] per column and [`MAX_FILES`] data file names per study; a warning says when
//! a cap was reached.

use crate::{raw_text, ParseContext, Sniff};
use opendi_model::{
    clean_value, repository_key, Dataset, DateKind, DatedValue, Diagnostic, Evidence, Item,
    Location, PartialDate, Person, PersonRole, PublicationRef, SourceRecord, KNOWN_REPOSITORIES,
};
use std::collections::{HashMap, HashSet};
use std::io::BufRead;

pub const FORMAT: &str = "isa-tab";

/// Distinct values kept per annotated column of a study or assay table.
pub const MAX_DISTINCT: usize = 100;
/// Data file names kept per study.
pub const MAX_FILES: usize = 1000;

// ---------------------------------------------------------------------------------------------
// The model both ISA serializations are read into.

/// A value with its ontology annotation, the id normalized to `PREFIX:LOCAL`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Ann {
    pub label: String,
    pub id: Option<String>,
    /// The Term Source REF as written (tells an NCBITaxon organism from a BAO "reference compound").
    pub source: String,
}

impl Ann {
    pub(crate) fn new(label: &str, accession: &str, source: &str) -> Ann {
        Ann {
            label: label.trim().to_string(),
            id: term_id(accession, source),
            source: source.trim().to_string(),
        }
    }
    /// `label [ID]`, the form annotated values take in `additional`.
    pub(crate) fn text(&self) -> String {
        match &self.id {
            Some(id) if !self.label.is_empty() => format!("{} [{id}]", self.label),
            Some(id) => id.clone(),
            None => self.label.clone(),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct IsaPerson {
    pub first: String,
    pub mid: String,
    pub last: String,
    pub email: String,
    pub affiliation: String,
    pub orcid: String,
    pub roles: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct IsaPublication {
    pub pmid: String,
    pub doi: String,
    pub authors: String,
    pub title: String,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct IsaProtocol {
    pub name: String,
    pub ptype: Ann,
    pub description: String,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct IsaAssay {
    pub file: String,
    pub measurement: Ann,
    pub technology: Ann,
    pub platform: String,
}

/// Investigation-level facts that every study of the investigation inherits.
#[derive(Debug, Clone, Default)]
pub(crate) struct IsaInvestigation {
    pub identifier: String,
    pub title: String,
    pub description: String,
    pub submission: String,
    pub release: String,
    pub people: Vec<IsaPerson>,
    pub publications: Vec<IsaPublication>,
    /// Fields not mapped, verbatim (name, value).
    pub extra: Vec<(String, String)>,
}

/// One study, as either serialization gives it.
#[derive(Debug, Default)]
pub(crate) struct IsaStudy {
    pub identifier: String,
    pub title: String,
    pub description: String,
    pub submission: String,
    pub release: String,
    pub people: Vec<IsaPerson>,
    pub publications: Vec<IsaPublication>,
    pub design: Vec<Ann>,
    /// Factor name and type.
    pub factors: Vec<(String, Ann)>,
    pub assays: Vec<IsaAssay>,
    pub protocols: Vec<IsaProtocol>,
    /// Study comments (`Comment[Data Repository]` …) by name, without the `Comment[]`.
    pub comments: Vec<(String, String)>,
    /// Fields not mapped, verbatim (name, value).
    pub extra: Vec<(String, String)>,
    /// What the sample and assay tables (or ISA-JSON materials) say.
    pub samples: Summary,
}

/// One annotated column of the sample/assay tables, with its distinct values.
#[derive(Debug, Default)]
pub(crate) struct Column {
    pub name: String,
    pub values: Vec<Ann>,
    seen: HashSet<(String, Option<String>)>,
    pub over: usize,
}

/// The distinct annotated values and data files of a study's tables.
#[derive(Debug, Default)]
pub(crate) struct Summary {
    pub columns: Vec<Column>,
    index: HashMap<String, usize>,
    pub files: Vec<String>,
    files_seen: HashSet<String>,
    pub files_over: usize,
}

impl Summary {
    /// Records a value of column `name` (`Characteristics[Organism]`), once per distinct value.
    pub(crate) fn add(&mut self, name: &str, ann: Ann) {
        if clean_value(&ann.label).is_none() && ann.id.is_none() {
            return;
        }
        let i = match self.index.get(name) {
            Some(i) => *i,
            None => {
                self.columns.push(Column {
                    name: name.to_string(),
                    ..Default::default()
                });
                self.index.insert(name.to_string(), self.columns.len() - 1);
                self.columns.len() - 1
            }
        };
        let col = &mut self.columns[i];
        let key = (ann.label.to_lowercase(), ann.id.clone());
        if col.seen.contains(&key) {
            return;
        }
        if col.values.len() >= MAX_DISTINCT {
            col.over += 1;
            return;
        }
        col.seen.insert(key);
        col.values.push(ann);
    }

    pub(crate) fn add_file(&mut self, name: &str) {
        let Some(n) = clean_value(name) else { return };
        if self.files_seen.contains(&n) {
            return;
        }
        if self.files.len() >= MAX_FILES {
            self.files_over += 1;
            return;
        }
        self.files_seen.insert(n.clone());
        self.files.push(n);
    }
}

// ---------------------------------------------------------------------------------------------
// Value normalizers shared with ISA-JSON.

/// Ontologies whose numeric local ids are zero-padded to seven digits (BII writes `BTO` `759`).
const PADDED7: [&str; 11] = [
    "BTO", "OBI", "UBERON", "CL", "EFO", "PATO", "UO", "HP", "MONDO", "GO", "CHMO",
];

fn canonical_prefix(p: &str) -> String {
    match p.to_ascii_lowercase().as_str() {
        "ncbitaxon" | "ncbi_taxon" | "taxonomy" => "NCBITaxon".to_string(),
        _ => p.to_ascii_uppercase(),
    }
}

/// Normalizes a Term Accession Number to `PREFIX:LOCAL`: full IRIs
/// (`http://purl.obolibrary.org/obo/NCBITaxon_9606`), `PREFIX_LOCAL`, `PREFIX:PREFIX_LOCAL`
/// and bare local ids completed with the Term Source REF (`0000424` + `OBI`).
pub(crate) fn term_id(accession: &str, source: &str) -> Option<String> {
    let acc = accession.trim();
    let src = source.trim();
    if acc.is_empty() {
        return None;
    }
    let is_iri = acc.contains("://");
    let tail = if is_iri {
        acc.trim_end_matches(['/', '#'])
            .rsplit(['/', '#'])
            .next()
            .unwrap_or(acc)
    } else {
        acc
    };
    // `…/ontology/NCBITAXON/9606`, `…/fma#Feces`: the namespace is the segment before.
    let iri_ns = is_iri
        .then(|| {
            let head = acc.trim_end_matches(['/', '#']);
            let head = head.get(..head.len().saturating_sub(tail.len()))?;
            head.trim_end_matches(['/', '#'])
                .rsplit(['/', '#'])
                .next()
                .map(str::to_string)
        })
        .flatten()
        .filter(|s| !s.is_empty() && !s.contains('.'));
    let (prefix, local) = if let Some((p, l)) = tail.split_once(':') {
        // `ENVO:ENVO_00002009` repeats the prefix in the local part.
        let l = match l.split_once(['_', ':']) {
            Some((again, rest)) if again.eq_ignore_ascii_case(p) => rest,
            _ => l,
        };
        (p.to_string(), l.to_string())
    } else if let Some((p, l)) = tail.split_once('_') {
        (p.to_string(), l.to_string())
    } else if let Some(ns) = iri_ns.filter(|_| src.is_empty()) {
        (ns, tail.to_string())
    } else if !src.is_empty() {
        (src.to_string(), tail.to_string())
    } else {
        return None;
    };
    let (prefix, local) = (prefix.trim(), local.trim());
    if prefix.is_empty()
        || local.is_empty()
        || prefix.contains(char::is_whitespace)
        || local.contains(char::is_whitespace)
    {
        return None;
    }
    let prefix = canonical_prefix(prefix);
    let local = if local.bytes().all(|b| b.is_ascii_digit()) && PADDED7.contains(&prefix.as_str()) {
        format!("{local:0>7}")
    } else {
        local.to_string()
    };
    Some(format!("{prefix}:{local}"))
}

/// The NCBI taxon id of an annotation, where its id is an NCBITaxon or NEWT (UniProt taxonomy,
/// which uses NCBI's numbers) term.
fn taxon_id(ann: &Ann) -> Option<String> {
    let (p, l) = ann.id.as_deref()?.split_once(':')?;
    (matches!(p, "NCBITaxon" | "NEWT") && !l.is_empty() && l.bytes().all(|b| b.is_ascii_digit()))
        .then(|| l.to_string())
}

/// Dates as ISA files write them: ISO, or `dd/mm/yyyy` (Scientific Data).
pub(crate) fn parse_date(raw: &str) -> Option<PartialDate> {
    let t = raw.trim();
    let parts: Vec<&str> = t.split('/').collect();
    if let [d, m, y] = parts.as_slice() {
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if d.len() <= 2 && m.len() <= 2 && y.len() == 4 && digits(d) && digits(m) && digits(y) {
            return PartialDate::ymd(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
        }
    }
    PartialDate::parse(t)
}

/// `doi:10.1/x`, `https://doi.org/10.1/x` → `10.1/x`.
pub(crate) fn normalize_doi(raw: &str) -> Option<String> {
    let t = raw.trim();
    let lower = t.to_ascii_lowercase();
    let mut start = 0;
    for p in [
        "https://doi.org/",
        "http://doi.org/",
        "https://dx.doi.org/",
        "http://dx.doi.org/",
        "doi.org/",
        "doi:",
    ] {
        if lower.starts_with(p) {
            start = p.len();
            break;
        }
    }
    let d = t.get(start..).unwrap_or("").trim();
    d.starts_with("10.").then(|| d.to_string())
}

/// The omics type an assay measurement type stands for.
pub(crate) fn omics_type(measurement: &str) -> Option<&'static str> {
    let m = measurement.to_lowercase();
    if m.contains("metabolite profiling") || m.contains("metabolom") {
        Some("Metabolomics")
    } else if m.contains("transcription profiling") || m.contains("transcriptom") {
        Some("Transcriptomics")
    } else if m.contains("protein expression profiling") || m.contains("proteom") {
        Some("Proteomics")
    } else if m.contains("genome sequencing") || m.contains("genomic") {
        Some("Genomics")
    } else {
        None
    }
}

fn person_role(roles: &[String]) -> PersonRole {
    let all = roles.join(";").to_lowercase();
    if all.contains("submitter") {
        PersonRole::Submitter
    } else if all.contains("principal investigator") || all.contains("lab head") {
        PersonRole::LabHead
    } else if all.contains("author") {
        PersonRole::Author
    } else if all.contains("investigator") {
        PersonRole::Investigator
    } else {
        PersonRole::Contact
    }
}

/// Which repository a study belongs to, from its identifier (or its investigation's).
fn repository_for(study_id: &str, investigation_id: &str) -> Option<&'static str> {
    let is_mtbls = |s: &str| {
        s.get(..5).is_some_and(|p| p.eq_ignore_ascii_case("MTBLS"))
            && s.len() > 5
            && s.bytes().skip(5).all(|b| b.is_ascii_digit())
    };
    let is_bii = |s: &str| s.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("BII-"));
    if is_mtbls(study_id) {
        Some("metabolights_dataset")
    } else if study_id.starts_with("10.1038/sdata") {
        Some("scientific_data")
    } else if is_bii(study_id) || is_bii(investigation_id) {
        Some("bii")
    } else if is_mtbls(investigation_id) {
        Some("metabolights_dataset")
    } else {
        None
    }
}

/// True for a column header of a study/assay table whose values the summary keeps.
fn kept_column(name: &str) -> bool {
    let l = name.to_ascii_lowercase();
    l.starts_with("characteristics[")
        || l.starts_with("factor value[")
        || l.starts_with("parameter value[")
        || l.starts_with("comment[")
        || matches!(
            l.as_str(),
            "material type" | "label" | "array design ref" | "provider"
        )
}

fn is_file_column(name: &str) -> bool {
    let l = name.to_ascii_lowercase();
    l.ends_with(" file") && !l.starts_with("comment[")
}

/// The name inside the brackets of `Characteristics[Organism part]`, lower case.
fn bracket_name(column: &str) -> Option<String> {
    let (_, rest) = column.split_once('[')?;
    let inner = rest.strip_suffix(']').unwrap_or(rest);
    Some(inner.trim().to_lowercase())
}

/// Applies one distinct value of a table column to the dataset: organisms, tissues, cell types,
/// diseases, instruments and repository accessions become fields; the rest `additional`.
fn apply_column_value(d: &mut Dataset, column: &str, ann: &Ann) {
    let lower = column.to_ascii_lowercase();
    let inner = bracket_name(column).unwrap_or_default();
    let characteristic =
        lower.starts_with("characteristics[") || lower.starts_with("factor value[");
    let mapped = if characteristic && inner == "organism" {
        apply_organism(d, ann)
    } else if characteristic && matches!(inner.as_str(), "organism part" | "tissue" | "body site") {
        // "blank" marks control samples with no tissue.
        if ann.label.eq_ignore_ascii_case("blank") {
            false
        } else {
            Dataset::push_term(
                &mut d.tissues,
                &ann.label,
                ann.id.as_deref(),
                Evidence::Declared,
            );
            true
        }
    } else if characteristic && inner == "cell type" {
        Dataset::push_term(
            &mut d.cell_types,
            &ann.label,
            ann.id.as_deref(),
            Evidence::Declared,
        );
        true
    } else if characteristic
        && matches!(
            inner.as_str(),
            "disease" | "disease state" | "disease status"
        )
    {
        // Control groups are not diseases; they stay in `additional`.
        let l = ann.label.to_lowercase();
        if ["control", "healthy", "normal", "none"].contains(&l.as_str()) {
            false
        } else {
            Dataset::push_term(
                &mut d.diseases,
                &ann.label,
                ann.id.as_deref(),
                Evidence::Declared,
            );
            true
        }
    } else if lower.starts_with("parameter value[")
        && (inner == "instrument" || inner.ends_with(" instrument"))
    {
        Dataset::push_unique(&mut d.instruments, &ann.label);
        true
    } else if lower.starts_with("comment[") && inner.ends_with(" accession") {
        let repo = inner.trim_end_matches(" accession");
        let key = repository_key(repo);
        if KNOWN_REPOSITORIES.iter().any(|(k, _, _)| *k == key) {
            d.add_cross_ref(&key, &ann.label, Evidence::Declared);
            true
        } else {
            false
        }
    } else {
        false
    };
    if !mapped {
        if let Some(v) = clean_value(&ann.text()) {
            d.push_additional(column, &v);
        }
    }
}

/// An organism column value: only taxonomy-annotated or unannotated names count (MetaboLights
/// writes "reference compound" [BAO] and "blank" in the organism column of control samples).
fn apply_organism(d: &mut Dataset, ann: &Ann) -> bool {
    let taxon = taxon_id(ann);
    let src = ann.source.to_ascii_lowercase();
    let taxonomy_source = src.is_empty() || src == "ncbitaxon" || src == "newt";
    if taxon.is_none() && (ann.id.is_some() || !taxonomy_source) {
        return false;
    }
    let names: Vec<&str> = ann
        .label
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if names.iter().any(|n| n.eq_ignore_ascii_case("blank")) {
        return false;
    }
    match names.as_slice() {
        [] => d.push_organism("", taxon.as_deref(), Evidence::Declared),
        [one] => d.push_organism(one, taxon.as_deref(), Evidence::Declared),
        many => {
            for n in many {
                d.push_organism(n, None, Evidence::Declared);
            }
        }
    }
    true
}

fn protocol_kind(p: &IsaProtocol) -> Option<bool> {
    let t = if p.ptype.label.trim().is_empty() {
        p.name.to_lowercase()
    } else {
        p.ptype.label.to_lowercase()
    };
    if t.contains("sample collection") || t.contains("extraction") {
        Some(true)
    } else if t.contains("data transformation")
        || t.contains("data processing")
        || t.contains("data analysis")
    {
        Some(false)
    } else {
        None
    }
}

fn push_person(d: &mut Dataset, p: &IsaPerson) {
    let name = [&p.first, &p.mid, &p.last]
        .iter()
        .filter_map(|s| clean_value(s))
        .collect::<Vec<_>>()
        .join(" ");
    let email = clean_value(&p.email);
    if name.is_empty() && email.is_none() {
        return;
    }
    if d.people
        .iter()
        .any(|q| q.name == name && (q.email == email || email.is_none()))
    {
        return;
    }
    let mut person = Person::new(name, person_role(&p.roles));
    person.email = email;
    person.affiliation = clean_value(&p.affiliation);
    person.orcid = clean_value(&p.orcid);
    d.people.push(person);
}

fn push_publication(d: &mut Dataset, p: &IsaPublication) {
    let pmid = clean_value(&p.pmid)
        .map(|s| {
            s.trim_start_matches(|c: char| !c.is_ascii_digit())
                .to_string()
        })
        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()));
    let doi = normalize_doi(&p.doi);
    let citation = match (clean_value(&p.authors), clean_value(&p.title)) {
        (Some(a), Some(t)) => Some(format!("{}. {}", a.trim_end_matches('.'), t)),
        (None, Some(t)) => Some(t),
        (Some(a), None) if pmid.is_some() || doi.is_some() => Some(a),
        _ => None,
    };
    d.add_publication(PublicationRef {
        pmid,
        doi,
        pmcid: None,
        citation,
    });
}

fn is_bare_url(s: &str) -> bool {
    let t = s.trim();
    (t.starts_with("http://") || t.starts_with("https://")) && !t.contains(char::is_whitespace)
}

/// Turns a study (and the investigation around it) into a record.
#[allow(clippy::too_many_arguments)]
pub(crate) fn build_record(
    study: IsaStudy,
    inv: &IsaInvestigation,
    ordinal: usize,
    raw: &str,
    format: &'static str,
    loc: Location,
    mut diags: Vec<Diagnostic>,
    today: PartialDate,
) -> SourceRecord {
    let mut d = Dataset::default();
    let accession = clean_value(&study.identifier);
    let label = accession.clone().unwrap_or_else(|| format!("#{ordinal}"));
    let loc = Location {
        record: Some(label.clone()),
        ..loc
    };
    match &accession {
        Some(a) => d.accession = a.clone(),
        None => {
            diags.push(Diagnostic::error(
                "missing-study-identifier",
                "the study has no Study Identifier",
                loc.clone(),
            ));
            d.accession = match clean_value(&inv.identifier) {
                Some(i) => format!("{i}-study-{ordinal}"),
                None => format!("isa-study-{ordinal}"),
            };
        }
    }
    match repository_for(&d.accession, &inv.identifier) {
        Some(r) => d.repository = r.to_string(),
        None => {
            d.repository = repository_key("isa-tab");
            diags.push(Diagnostic::warning(
                "unknown-repository",
                format!(
                    "study identifier {:?} is not one of MetaboLights, Scientific Data or BII",
                    d.accession
                ),
                loc.clone(),
            ));
        }
    }

    d.title = clean_value(&study.title)
        .or_else(|| clean_value(&inv.title))
        .unwrap_or_default();
    if d.title.is_empty() {
        diags.push(Diagnostic::error(
            "missing-title",
            "the study has no Study Title",
            loc.clone(),
        ));
    }
    // The description keeps its line breaks and markup (MetaboLights writes HTML).
    let description = [&study.description, &inv.description]
        .into_iter()
        .find(|s| clean_value(s).is_some())
        .map(|s| s.trim().to_string());
    match description {
        // Scientific Data writes a link to the article's abstract instead of a description.
        Some(desc) if is_bare_url(&desc) => {
            let link = desc.split('#').next().unwrap_or(&desc).to_string();
            d.full_dataset_link = Some(link);
            d.push_additional("Study Description", &desc);
        }
        Some(desc) => d.description = desc,
        None => {}
    }

    for (kind, raw_date, what) in [
        (DateKind::Submission, &study.submission, "submission"),
        (DateKind::Publication, &study.release, "public release"),
        (DateKind::Submission, &inv.submission, "submission"),
        (DateKind::Publication, &inv.release, "public release"),
    ] {
        let Some(r) = clean_value(raw_date) else {
            continue;
        };
        if d.dates.iter().any(|x| x.kind == kind) {
            continue;
        }
        let value = parse_date(&r);
        match &value {
            None => diags.push(Diagnostic::warning(
                "bad-date",
                format!("{what} date {r:?} is not a date this reader knows"),
                loc.clone(),
            )),
            Some(v) if v.to_ymd() > today.to_ymd() => diags.push(Diagnostic::warning(
                "future-date",
                format!("{what} date {v} is in the future"),
                loc.clone(),
            )),
            Some(_) => {}
        }
        d.dates.push(DatedValue {
            kind,
            value,
            raw: raw_date.trim().to_string(),
        });
    }

    for p in study.people.iter().chain(&inv.people) {
        push_person(&mut d, p);
    }
    for p in study.publications.iter().chain(&inv.publications) {
        push_publication(&mut d, p);
    }
    for a in &study.design {
        if clean_value(&a.label).is_some() || a.id.is_some() {
            d.push_additional("study_design", &a.text());
        }
    }
    for (name, ftype) in &study.factors {
        let Some(n) = clean_value(name) else { continue };
        let mut t = n.clone();
        if !ftype.label.trim().is_empty() && !ftype.label.trim().eq_ignore_ascii_case(&n) {
            t = format!("{n} ({})", ftype.label.trim());
        }
        if let Some(id) = &ftype.id {
            t = format!("{t} [{id}]");
        }
        d.push_additional("study_factor", &t);
    }
    for a in &study.assays {
        if let Some(o) = omics_type(&a.measurement.label) {
            Dataset::push_unique(&mut d.omics_types, o);
        }
        if clean_value(&a.measurement.label).is_some() {
            d.push_additional("Study Assay Measurement Type", &a.measurement.text());
        }
        if clean_value(&a.technology.label).is_some() {
            d.push_additional("Study Assay Technology Type", &a.technology.text());
        }
        for p in a.platform.split(';') {
            Dataset::push_unique(&mut d.instruments, p);
        }
    }
    for p in &study.protocols {
        let name = clean_value(&p.name).unwrap_or_default();
        let ptype = clean_value(&p.ptype.text());
        let heading = match &ptype {
            Some(t) if !t.eq_ignore_ascii_case(&name) && !name.is_empty() => {
                format!("{name} ({t})")
            }
            Some(t) if name.is_empty() => t.clone(),
            _ => name.clone(),
        };
        if !heading.is_empty() {
            d.push_additional("study_protocol", &heading);
        }
        let Some(desc) = clean_value(&p.description) else {
            continue;
        };
        match protocol_kind(p) {
            Some(true) => Dataset::push_unique(&mut d.sample_protocols, &desc),
            Some(false) => Dataset::push_unique(&mut d.data_protocols, &desc),
            None => d.push_additional(
                "study_protocol_description",
                &format!("{heading}: {}", p.description.trim()),
            ),
        }
    }
    apply_comments(&mut d, &study.comments);

    let mut capped = Vec::new();
    for col in &study.samples.columns {
        for v in &col.values {
            apply_column_value(&mut d, &col.name, v);
        }
        if col.over > 0 {
            capped.push(format!("{} (+{})", col.name, col.over));
        }
    }
    if !capped.is_empty() {
        diags.push(Diagnostic::warning(
            "values-capped",
            format!(
                "only the first {MAX_DISTINCT} distinct values of a table column are kept; more in {}",
                capped.join(", ")
            ),
            loc.clone(),
        ));
    }
    for f in &study.samples.files {
        Dataset::push_unique(&mut d.files, f);
    }
    if study.samples.files_over > 0 {
        diags.push(Diagnostic::warning(
            "values-capped",
            format!(
                "the study names more than {MAX_FILES} data files; {} more are not kept",
                study.samples.files_over
            ),
            loc.clone(),
        ));
    }

    if d.full_dataset_link.is_none() {
        d.full_dataset_link = match d.repository.as_str() {
            "metabolights_dataset" => Some(format!(
                "https://www.ebi.ac.uk/metabolights/{}",
                d.accession
            )),
            "scientific_data" => Some(format!("https://doi.org/{}", d.accession)),
            _ => None,
        };
    }
    for (field, value) in [
        ("Investigation Identifier", &inv.identifier),
        ("Investigation Title", &inv.title),
    ] {
        if let Some(v) = clean_value(value) {
            if v != d.accession && v != d.title {
                d.push_additional(field, &v);
            }
        }
    }
    for (k, v) in inv.extra.iter().chain(&study.extra) {
        if clean_value(v).is_some() {
            d.push_additional(k, v.trim());
        }
    }
    SourceRecord {
        dataset: d,
        publication: None,
        raw: raw.to_string(),
        format,
        location: loc,
        diagnostics: diags,
    }
}

/// Study comments: Scientific Data's subject keywords, licence and data records (repository and
/// accession lists separated by `;`). All of them are also kept verbatim.
fn apply_comments(d: &mut Dataset, comments: &[(String, String)]) {
    let get = |name: &str| -> Vec<String> {
        comments
            .iter()
            .filter(|(n, _)| n.trim().eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| v.split(';').map(|s| s.trim().to_string()))
            .collect()
    };
    for kw in get("Subject Keywords") {
        if kw.chars().any(char::is_alphanumeric) {
            Dataset::push_unique(&mut d.submitter_keywords, &kw);
        }
    }
    if let Some(l) = get("Manuscript Licence")
        .into_iter()
        .chain(get("License"))
        .find_map(|s| clean_value(&s))
    {
        d.license = Some(l);
    }
    let repos = get("Data Repository");
    let accs = get("Data Record Accession");
    for (i, acc) in accs.iter().enumerate() {
        let Some(repo) = repos.get(i).or(repos.first()).and_then(|r| clean_value(r)) else {
            continue;
        };
        if let Some(acc) = clean_value(acc) {
            d.add_cross_ref(&repository_key(&repo), &acc, Evidence::Declared);
        }
    }
    for (n, v) in comments {
        if clean_value(v).is_some() {
            d.push_additional(&format!("Comment[{}]", n.trim()), v.trim());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Tab-separated rows with ISA's quoting.

/// One row of a tab-separated file: its cells (quotes removed) and the line it starts on.
#[derive(Debug)]
pub(crate) struct Row {
    pub line: u64,
    pub cells: Vec<String>,
}

/// Splits ISA text into rows. A cell in double quotes may hold tabs and line breaks (MetaboLights
/// descriptions do) and `""` for a quote; a quote never closed is read as a literal character.
pub(crate) struct Rows<'a> {
    text: &'a str,
    pos: usize,
    line: u64,
    /// Lines where a quote was never closed.
    pub unclosed: Vec<u64>,
}

impl<'a> Rows<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        Rows {
            text,
            pos: 0,
            line: 1,
            unclosed: Vec::new(),
        }
    }

    /// Reads a quoted cell starting at `self.pos` (on the quote). None when it never closes.
    fn quoted(&mut self) -> Option<String> {
        let b = self.text.as_bytes();
        let mut i = self.pos + 1;
        let mut out = String::new();
        let mut seg = i;
        let mut newlines = 0;
        while i < b.len() {
            match b[i] {
                b'"' if b.get(i + 1) == Some(&b'"') => {
                    out.push_str(self.text.get(seg..i)?);
                    out.push('"');
                    i += 2;
                    seg = i;
                }
                b'"' if matches!(b.get(i + 1), None | Some(b'\t' | b'\r' | b'\n')) => {
                    out.push_str(self.text.get(seg..i)?);
                    self.pos = i + 1;
                    self.line += newlines;
                    return Some(out);
                }
                b'\n' => {
                    newlines += 1;
                    i += 1;
                }
                // Old Mac files end lines with a bare CR (BII-S-7).
                b'\r' if b.get(i + 1) != Some(&b'\n') => {
                    newlines += 1;
                    i += 1;
                }
                _ => i += 1,
            }
        }
        None
    }
}

impl Iterator for Rows<'_> {
    type Item = Row;
    fn next(&mut self) -> Option<Row> {
        let b = self.text.as_bytes();
        if self.pos >= b.len() {
            return None;
        }
        let line = self.line;
        let mut cells = Vec::new();
        loop {
            let cell = if b.get(self.pos) == Some(&b'"') {
                match self.quoted() {
                    Some(c) => Some(c),
                    None => {
                        self.unclosed.push(self.line);
                        None
                    }
                }
            } else {
                None
            };
            let cell = match cell {
                Some(c) => {
                    // Anything between the closing quote and the next tab is kept, not dropped.
                    let end = memchr::memchr3(b'\t', b'\n', b'\r', &b[self.pos..])
                        .map(|i| self.pos + i)
                        .unwrap_or(b.len());
                    let rest = self.text.get(self.pos..end).unwrap_or("");
                    self.pos = end;
                    if rest.is_empty() {
                        c
                    } else {
                        format!("{c}{rest}")
                    }
                }
                None => {
                    let end = memchr::memchr3(b'\t', b'\n', b'\r', &b[self.pos..])
                        .map(|i| self.pos + i)
                        .unwrap_or(b.len());
                    let c = self.text.get(self.pos..end).unwrap_or("").to_string();
                    self.pos = end;
                    c
                }
            };
            cells.push(cell);
            match b.get(self.pos) {
                Some(b'\t') => self.pos += 1,
                Some(b'\n') => {
                    self.pos += 1;
                    self.line += 1;
                    break;
                }
                Some(b'\r') => {
                    self.pos += if b.get(self.pos + 1) == Some(&b'\n') {
                        2
                    } else {
                        1
                    };
                    self.line += 1;
                    break;
                }
                _ => break,
            }
        }
        Some(Row { line, cells })
    }
}

/// Number of values up to the last non-empty one.
fn filled_len(values: &[String]) -> usize {
    values
        .iter()
        .rposition(|v| !v.trim().is_empty())
        .map_or(0, |i| i + 1)
}

// ---------------------------------------------------------------------------------------------
// The investigation file.

const SECTIONS: [&str; 11] = [
    "ONTOLOGY SOURCE REFERENCE",
    "INVESTIGATION",
    "INVESTIGATION PUBLICATIONS",
    "INVESTIGATION CONTACTS",
    "STUDY",
    "STUDY DESIGN DESCRIPTORS",
    "STUDY PUBLICATIONS",
    "STUDY FACTORS",
    "STUDY ASSAYS",
    "STUDY PROTOCOLS",
    "STUDY CONTACTS",
];

/// For each column-aligned section, the rows that name its items (their count is the item count).
const ITEM_ROWS: [(&str, &[&str]); 8] = [
    (
        "INVESTIGATION PUBLICATIONS",
        &[
            "investigation pubmed id",
            "investigation publication doi",
            "investigation publication title",
        ],
    ),
    (
        "INVESTIGATION CONTACTS",
        &[
            "investigation person last name",
            "investigation person first name",
        ],
    ),
    ("STUDY DESIGN DESCRIPTORS", &["study design type"]),
    (
        "STUDY PUBLICATIONS",
        &[
            "study pubmed id",
            "study publication doi",
            "study publication title",
        ],
    ),
    ("STUDY FACTORS", &["study factor name"]),
    (
        "STUDY ASSAYS",
        &["study assay file name", "study assay measurement type"],
    ),
    ("STUDY PROTOCOLS", &["study protocol name"]),
    (
        "STUDY CONTACTS",
        &["study person last name", "study person first name"],
    ),
];

/// A labelled row of the investigation file.
#[derive(Debug)]
struct Entry {
    section: &'static str,
    label: String,
    key: String,
    values: Vec<String>,
    line: u64,
    used: bool,
}

/// The rows of one INVESTIGATION or STUDY block.
#[derive(Debug, Default)]
struct Block {
    line: u64,
    entries: Vec<Entry>,
}

impl Block {
    fn find(&self, key: &str) -> Option<usize> {
        self.entries.iter().position(|e| e.key == key)
    }
    /// The values of a row, marking it as mapped.
    fn take(&mut self, key: &str) -> Vec<String> {
        match self.find(key) {
            Some(i) => {
                self.entries[i].used = true;
                self.entries[i].values.clone()
            }
            None => Vec::new(),
        }
    }
    /// The values of a row, leaving it to be kept verbatim too.
    fn peek(&self, key: &str) -> Vec<String> {
        self.find(key)
            .map(|i| self.entries[i].values.clone())
            .unwrap_or_default()
    }
    fn first(&mut self, key: &str) -> String {
        self.take(key)
            .into_iter()
            .find(|v| !v.trim().is_empty())
            .unwrap_or_default()
    }
    fn line_of(&self, key: &str) -> Option<u64> {
        self.find(key).map(|i| self.entries[i].line)
    }
    /// Unmapped rows, verbatim, one pair per non-empty value.
    fn leftovers(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for e in self.entries.iter().filter(|e| !e.used) {
            for v in &e.values {
                // Separator-only values (";;;") say nothing.
                if clean_value(v).is_some() && v.chars().any(char::is_alphanumeric) {
                    out.push((e.label.clone(), v.trim().to_string()));
                }
            }
        }
        out
    }
}

fn key_of(label: &str) -> String {
    label
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

fn at(v: &[String], i: usize) -> &str {
    v.get(i).map(String::as_str).unwrap_or("")
}

fn people(b: &mut Block, prefix: &str) -> Vec<IsaPerson> {
    let k = |s: &str| format!("{prefix} person {s}");
    let last = b.take(&k("last name"));
    let first = b.take(&k("first name"));
    let mid = b.take(&k("mid initials"));
    let email = b.take(&k("email"));
    let aff = b.take(&k("affiliation"));
    let roles = b.peek(&k("roles"));
    let orcid = b.take(&format!("comment[{prefix} person orcid]"));
    let n = [&last, &first, &email]
        .iter()
        .map(|v| filled_len(v))
        .max()
        .unwrap_or(0);
    (0..n)
        .map(|i| IsaPerson {
            first: at(&first, i).to_string(),
            mid: at(&mid, i).to_string(),
            last: at(&last, i).to_string(),
            email: at(&email, i).to_string(),
            affiliation: at(&aff, i).to_string(),
            orcid: at(&orcid, i).to_string(),
            roles: at(&roles, i).split(';').filter_map(clean_value).collect(),
        })
        .collect()
}

fn publications(b: &mut Block, prefix: &str) -> Vec<IsaPublication> {
    let pmid = b.take(&format!("{prefix} pubmed id"));
    let doi = b.take(&format!("{prefix} publication doi"));
    let authors = b.take(&format!("{prefix} publication author list"));
    let title = b.take(&format!("{prefix} publication title"));
    let n = [&pmid, &doi, &authors, &title]
        .iter()
        .map(|v| filled_len(v))
        .max()
        .unwrap_or(0);
    (0..n)
        .map(|i| IsaPublication {
            pmid: at(&pmid, i).to_string(),
            doi: at(&doi, i).to_string(),
            authors: at(&authors, i).to_string(),
            title: at(&title, i).to_string(),
        })
        .collect()
}

/// Reads the annotated rows `<base>`, `<base> Term Accession Number`, `<base> Term Source REF`.
fn annotated(b: &mut Block, base: &str) -> Vec<Ann> {
    let labels = b.take(base);
    let accs = b.take(&format!("{base} term accession number"));
    let srcs = b.take(&format!("{base} term source ref"));
    let n = filled_len(&labels).max(filled_len(&accs));
    (0..n)
        .map(|i| Ann::new(at(&labels, i), at(&accs, i), at(&srcs, i)))
        .collect()
}

/// Warns about rows with values beyond the items their section describes.
fn check_ragged(block: &Block, file: &str, record: &str, diags: &mut Vec<Diagnostic>) {
    for (section, item_rows) in ITEM_ROWS {
        let items = block
            .entries
            .iter()
            .filter(|e| e.section == section && item_rows.contains(&e.key.as_str()))
            .map(|e| filled_len(&e.values))
            .max();
        let Some(items) = items else { continue };
        for e in block.entries.iter().filter(|e| e.section == section) {
            let n = filled_len(&e.values);
            if n > items {
                diags.push(Diagnostic::warning(
                    "ragged-row",
                    format!(
                        "row {:?} has {n} values but section {section} describes {items} item(s)",
                        e.label
                    ),
                    Location::new(file).with_record(record).with_line(e.line),
                ));
            }
        }
    }
}

/// The path of a file beside `file` (which may be a zip member `a.zip!dir/i_x.txt`).
pub(crate) fn sibling_path(file: &str, rel: &str) -> String {
    match file.rfind(['/', '!']) {
        Some(i) => format!("{}{rel}", file.get(..=i).unwrap_or("")),
        None => rel.to_string(),
    }
}

pub fn sniff(name: &str, head: &[u8]) -> Sniff {
    let text = crate::detect::head_text(head);
    let mut lines = text
        .split(['\n', '\r'])
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'));
    let Some(first) = lines.next() else {
        return Sniff::No;
    };
    let first_cell = first
        .split('\t')
        .next()
        .unwrap_or("")
        .trim()
        .trim_matches('"');
    if matches!(first_cell, "ONTOLOGY SOURCE REFERENCE" | "INVESTIGATION") {
        return Sniff::Yes;
    }
    if text.split(['\n', '\r']).any(|l| {
        let c = l.split('\t').next().unwrap_or("").trim().trim_matches('"');
        c == "Study Identifier" || c == "Investigation Identifier"
    }) && text
        .split(['\n', '\r'])
        .any(|l| l.trim().trim_matches('"') == "STUDY")
    {
        return Sniff::Yes;
    }
    // Study and assay tables are read through their investigation. MAGE-TAB SDRFs share the
    // header; ISA names them `s_…`/`a_…`.
    let base = name
        .rsplit(['/', '!'])
        .next()
        .unwrap_or(name)
        .to_ascii_lowercase();
    if matches!(first_cell, "Source Name" | "Sample Name")
        && (base.starts_with("s_") || base.starts_with("a_"))
    {
        return Sniff::Part;
    }
    Sniff::No
}

pub fn parse(
    reader: &mut dyn BufRead,
    ctx: &ParseContext,
    sink: &mut dyn FnMut(Item),
) -> std::io::Result<()> {
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes)?;
    let (raw, utf8_ok) = raw_text(&bytes);
    let mut file_diags = Vec::new();
    if !utf8_ok {
        file_diags.push(Diagnostic::warning(
            "invalid-utf8",
            "invalid UTF-8 replaced with U+FFFD",
            Location::new(ctx.file),
        ));
    }

    // Group rows into the investigation block and one block per STUDY.
    let mut inv_block = Block {
        line: 1,
        ..Default::default()
    };
    let mut studies: Vec<Block> = Vec::new();
    let mut section: &'static str = "";
    let mut rows = Rows::new(&raw);
    for row in rows.by_ref() {
        let label = row.cells.first().map(|s| s.trim()).unwrap_or("");
        if label.is_empty() || label.starts_with('#') {
            continue;
        }
        let values = row.cells.get(1..).unwrap_or(&[]).to_vec();
        if let Some(s) = SECTIONS.iter().find(|s| s.eq_ignore_ascii_case(label)) {
            section = s;
            if *s == "STUDY" {
                studies.push(Block {
                    line: row.line,
                    ..Default::default()
                });
            }
            continue;
        }
        if label.chars().all(|c| c.is_ascii_uppercase() || c == ' ') && filled_len(&values) == 0 {
            file_diags.push(Diagnostic::warning(
                "unknown-section",
                format!("unknown section header {label:?}"),
                Location::new(ctx.file).with_line(row.line),
            ));
            continue;
        }
        let entry = Entry {
            section,
            label: label.to_string(),
            key: key_of(label),
            values,
            line: row.line,
            used: false,
        };
        match studies.last_mut() {
            Some(b) if section.starts_with("STUDY") => b.entries.push(entry),
            _ => inv_block.entries.push(entry),
        }
    }
    for line in &rows.unclosed {
        file_diags.push(Diagnostic::warning(
            "unclosed-quote",
            "a quoted value is never closed; the quote is read as a character",
            Location::new(ctx.file).with_line(*line),
        ));
    }

    if studies.is_empty() {
        file_diags.push(Diagnostic::error(
            "no-study",
            "the investigation file has no STUDY section",
            Location::new(ctx.file).with_line(1),
        ));
        for d in file_diags {
            sink(Item::Diagnostic(d));
        }
        return Ok(());
    }

    let mut inv_diags = Vec::new();
    check_ragged(&inv_block, ctx.file, "investigation", &mut inv_diags);
    let inv = read_investigation(&mut inv_block);

    for (i, mut block) in studies.into_iter().enumerate() {
        let ordinal = i + 1;
        let mut diags = file_diags.clone();
        diags.extend(inv_diags.iter().cloned());
        let ident = block.peek("study identifier");
        let ident = ident
            .iter()
            .find_map(|s| clean_value(s))
            .unwrap_or_default();
        let record = if ident.is_empty() {
            format!("#{ordinal}")
        } else {
            ident.clone()
        };
        let line = block.line_of("study identifier").unwrap_or(block.line);
        check_ragged(&block, ctx.file, &record, &mut diags);
        let mut study = read_study(&mut block);
        read_tables(&mut study, &mut block, ctx, &record, &mut diags);
        study.extra.extend(block.leftovers());
        let loc = Location::new(ctx.file).with_line(line);
        let rec = build_record(study, &inv, ordinal, &raw, FORMAT, loc, diags, ctx.today);
        sink(Item::Record(Box::new(rec)));
    }
    Ok(())
}

fn read_investigation(b: &mut Block) -> IsaInvestigation {
    // Ontology source declarations say where term ids come from; the raw text keeps them.
    for e in b.entries.iter_mut() {
        if e.section == "ONTOLOGY SOURCE REFERENCE" {
            e.used = true;
        }
    }
    let mut inv = IsaInvestigation {
        identifier: b.first("investigation identifier"),
        title: b.first("investigation title"),
        description: b.first("investigation description"),
        submission: b.first("investigation submission date"),
        release: b.first("investigation public release date"),
        ..Default::default()
    };
    inv.people = people(b, "investigation");
    inv.publications = publications(b, "investigation");
    inv.extra = b.leftovers();
    inv
}

fn read_study(b: &mut Block) -> IsaStudy {
    let mut s = IsaStudy {
        identifier: b.first("study identifier"),
        title: b.first("study title"),
        description: b.first("study description"),
        submission: b.first("study submission date"),
        release: b.first("study public release date"),
        ..Default::default()
    };
    s.people = people(b, "study");
    s.publications = publications(b, "study");
    s.design = annotated(b, "study design type");
    let names = b.take("study factor name");
    let types = annotated(b, "study factor type");
    for i in 0..filled_len(&names).max(types.len()) {
        s.factors.push((
            at(&names, i).to_string(),
            types.get(i).cloned().unwrap_or_default(),
        ));
    }
    let files = b.take("study assay file name");
    let measurement = annotated(b, "study assay measurement type");
    let technology = annotated(b, "study assay technology type");
    let platform = b.take("study assay technology platform");
    let n = [
        filled_len(&files),
        measurement.len(),
        technology.len(),
        filled_len(&platform),
    ]
    .into_iter()
    .max()
    .unwrap_or(0);
    for i in 0..n {
        s.assays.push(IsaAssay {
            file: at(&files, i).trim().to_string(),
            measurement: measurement.get(i).cloned().unwrap_or_default(),
            technology: technology.get(i).cloned().unwrap_or_default(),
            platform: at(&platform, i).to_string(),
        });
    }
    let names = b.take("study protocol name");
    let types = annotated(b, "study protocol type");
    let descs = b.take("study protocol description");
    let n = filled_len(&names).max(types.len()).max(filled_len(&descs));
    for i in 0..n {
        s.protocols.push(IsaProtocol {
            name: at(&names, i).to_string(),
            ptype: types.get(i).cloned().unwrap_or_default(),
            description: at(&descs, i).to_string(),
        });
    }
    // Study-level comments (the STUDY section itself) are read by name; those of other sections
    // (contacts, protocols …) stay verbatim with the leftovers.
    for e in b.entries.iter_mut() {
        if e.section != "STUDY" {
            continue;
        }
        let Some(name) = e
            .label
            .strip_prefix("Comment[")
            .and_then(|r| r.strip_suffix(']'))
        else {
            continue;
        };
        e.used = true;
        for v in &e.values {
            if clean_value(v).is_some() {
                s.comments.push((name.to_string(), v.clone()));
            }
        }
    }
    s
}

/// Reads the study table and the assay tables beside the investigation.
fn read_tables(
    study: &mut IsaStudy,
    block: &mut Block,
    ctx: &ParseContext,
    record: &str,
    diags: &mut Vec<Diagnostic>,
) {
    let study_files = block.take("study file name");
    let study_line = block.line_of("study file name");
    let assay_line = block.line_of("study assay file name");
    let mut tables: Vec<(String, Option<u64>, &str)> = study_files
        .iter()
        .filter_map(|f| clean_value(f))
        .map(|f| (f, study_line, "study"))
        .collect();
    if tables.is_empty() {
        diags.push(Diagnostic::warning(
            "missing-study-file-name",
            "the study does not name its study file (Study File Name)",
            Location::new(ctx.file).with_record(record),
        ));
    }
    for a in &study.assays {
        if let Some(f) = clean_value(&a.file) {
            tables.push((f, assay_line, "assay"));
        }
    }
    let mut seen = HashSet::new();
    for (name, line, what) in tables {
        if !seen.insert(name.clone()) {
            continue;
        }
        let mut loc = Location::new(ctx.file).with_record(record);
        loc.line = line;
        match (ctx.siblings)(&name) {
            Some(bytes) => read_table(&name, &bytes, &mut study.samples, ctx, record, diags),
            None => diags.push(Diagnostic::warning(
                &format!("missing-{what}-file"),
                format!("{what} file {name:?} named by the investigation is not there"),
                loc,
            )),
        }
    }
}

/// One kept column group: the value column and its annotation columns.
struct Group {
    name: String,
    value: usize,
    unit: Option<usize>,
    source: Option<usize>,
    accession: Option<usize>,
    file: bool,
}

/// Streams a study or assay table, keeping distinct annotated values and data file names.
fn read_table(
    name: &str,
    bytes: &[u8],
    out: &mut Summary,
    ctx: &ParseContext,
    record: &str,
    diags: &mut Vec<Diagnostic>,
) {
    let path = sibling_path(ctx.file, name);
    let (text, utf8_ok) = raw_text(bytes);
    if !utf8_ok {
        diags.push(Diagnostic::warning(
            "invalid-utf8",
            format!("{name}: invalid UTF-8 replaced with U+FFFD"),
            Location::new(&path).with_record(record),
        ));
    }
    let mut rows = Rows::new(&text);
    let Some(header) = rows.by_ref().find(|r| filled_len(&r.cells) > 0) else {
        diags.push(Diagnostic::warning(
            "empty-table",
            format!("{name} is empty"),
            Location::new(&path).with_record(record),
        ));
        return;
    };
    let mut groups: Vec<Group> = Vec::new();
    let mut in_unit = false;
    for (i, h) in header.cells.iter().enumerate() {
        let h = h.trim();
        match h {
            "Unit" => {
                if let Some(g) = groups.last_mut() {
                    g.unit = Some(i);
                }
                in_unit = true;
            }
            // After a Unit column, the annotation columns describe the unit.
            "Term Source REF" | "Term Accession Number" if in_unit => {}
            "Term Source REF" => {
                if let Some(g) = groups.last_mut() {
                    g.source = Some(i);
                }
            }
            "Term Accession Number" => {
                if let Some(g) = groups.last_mut() {
                    g.accession = Some(i);
                }
            }
            _ => {
                in_unit = false;
                groups.push(Group {
                    name: h.to_string(),
                    value: i,
                    unit: None,
                    source: None,
                    accession: None,
                    file: is_file_column(h),
                });
            }
        }
    }
    groups.retain(|g| g.file || kept_column(&g.name));
    let width = header.cells.len();
    let (mut ragged, mut first_ragged) = (0usize, None);
    for row in rows {
        if filled_len(&row.cells) == 0 {
            continue;
        }
        if row.cells.len() != width {
            ragged += 1;
            first_ragged.get_or_insert(row.line);
        }
        let cell = |i: Option<usize>| i.and_then(|i| row.cells.get(i)).map_or("", |s| s.trim());
        for g in &groups {
            let v = cell(Some(g.value));
            if g.file {
                out.add_file(v);
                continue;
            }
            let label = match clean_value(cell(g.unit)) {
                Some(u) if !v.is_empty() => format!("{v} {u}"),
                _ => v.to_string(),
            };
            out.add(&g.name, Ann::new(&label, cell(g.accession), cell(g.source)));
        }
    }
    if ragged > 0 {
        diags.push(Diagnostic::warning(
            "ragged-row",
            format!("{name}: {ragged} row(s) do not have the {width} cells of the header"),
            Location::new(&path)
                .with_record(record)
                .with_line(first_ragged.unwrap_or(1)),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn term_ids() {
        let t = |a: &str, s: &str| term_id(a, s);
        assert_eq!(
            t("http://purl.obolibrary.org/obo/NCBITaxon_9606", "NCBITAXON").as_deref(),
            Some("NCBITaxon:9606")
        );
        assert_eq!(
            t(
                "http://purl.bioontology.org/ontology/NCBITAXON/9606",
                "NCBITAXON"
            )
            .as_deref(),
            Some("NCBITaxon:9606")
        );
        assert_eq!(
            t("http://purl.bioontology.org/ontology/NCBITAXON/9606", "").as_deref(),
            Some("NCBITaxon:9606")
        );
        assert_eq!(
            t("http://www.ebi.ac.uk/efo/EFO_0000400", "EFO").as_deref(),
            Some("EFO:0000400")
        );
        assert_eq!(
            t("ENVO:ENVO_00002009", "ENVO").as_deref(),
            Some("ENVO:00002009")
        );
        assert_eq!(t("OBI:0300311", "OBI").as_deref(), Some("OBI:0300311"));
        assert_eq!(t("0000424", "OBI").as_deref(), Some("OBI:0000424"));
        assert_eq!(t("759", "BTO").as_deref(), Some("BTO:0000759"));
        assert_eq!(t("6192", "NEWT").as_deref(), Some("NEWT:6192"));
        assert_eq!(
            t("http://www.bioassayontology.org/bao#BAO_0002092", "BAO").as_deref(),
            Some("BAO:0002092")
        );
        assert_eq!(t("UBERON:0002107", "").as_deref(), Some("UBERON:0002107"));
        assert_eq!(t("", "OBI"), None);
        assert_eq!(t("0000424", ""), None);
    }

    #[test]
    fn dates() {
        assert_eq!(
            parse_date("12/11/2013").map(|d| d.to_string()).as_deref(),
            Some("2013-11-12")
        );
        assert_eq!(
            parse_date("2012-02-14").map(|d| d.to_string()).as_deref(),
            Some("2012-02-14")
        );
        assert_eq!(parse_date("31/31/2013"), None);
    }

    #[test]
    fn quoted_rows() {
        let text = "A\t\"x\ty\"\t\"two\nlines\"\nB\t\"say \"\"hi\"\"\"\r\nC\t\"open\rD\n";
        let mut rows = Rows::new(text);
        let r: Vec<Row> = rows.by_ref().collect();
        assert_eq!(r[0].cells, vec!["A", "x\ty", "two\nlines"]);
        assert_eq!(r[1].line, 3);
        assert_eq!(r[1].cells, vec!["B", "say \"hi\""]);
        assert_eq!(r[2].cells, vec!["C", "\"open"]);
        assert_eq!(r[3].line, 5);
        assert_eq!(rows.unclosed, vec![4]);
    }

    #[test]
    fn sibling_paths() {
        assert_eq!(sibling_path("/a/b/i_x.txt", "s_y.txt"), "/a/b/s_y.txt");
        assert_eq!(
            sibling_path("/a/z.zip!i_x.txt", "s_y.txt"),
            "/a/z.zip!s_y.txt"
        );
        assert_eq!(sibling_path("i_x.txt", "s_y.txt"), "s_y.txt");
    }

    #[test]
    fn sniffs() {
        assert_eq!(
            sniff(
                "i_x.txt",
                b"ONTOLOGY SOURCE REFERENCE\nTerm Source Name\tOBI\n"
            ),
            Sniff::Yes
        );
        assert_eq!(
            sniff("i_x.txt", b"# comment\n\"INVESTIGATION\"\n"),
            Sniff::Yes
        );
        assert_eq!(
            sniff("s_x.txt", b"Source Name\tCharacteristics[organism]\n"),
            Sniff::Part
        );
        assert_eq!(
            sniff("E-1.sdrf.txt", b"Source Name\tCharacteristics[organism]\n"),
            Sniff::No
        );
        assert_eq!(
            sniff(
                "x.idf.txt",
                b"MAGE-TAB Version\t1.1\nInvestigation Title\tx\n"
            ),
            Sniff::No
        );
    }
}
