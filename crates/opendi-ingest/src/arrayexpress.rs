//! ArrayExpress experiments XML (`<experiments><experiment>…`, the format of the old
//! ArrayExpress REST API and of OmicsDI's ArrayExpress reader): one record per `<experiment>`,
//! streamed with the record splitter.

use crate::detect::xml_root;
use crate::xml::{self, Element};
use crate::xmlsplit::{Chunk, RecordSplitter};
use crate::{raw_text, ParseContext, Sniff};
use opendi_model::{
    clean_value, Dataset, DateKind, DatedValue, Diagnostic, Evidence, Item, Location, PartialDate,
    Person, PersonRole, PublicationRef, SourceRecord,
};
use std::io::BufRead;

pub const FORMAT: &str = "arrayexpress-xml";
pub const REPOSITORY: &str = "arrayexpress-repository";

pub fn sniff(_name: &str, head: &[u8]) -> Sniff {
    match xml_root(head).as_deref() {
        Some("experiments") | Some("experiment") => Sniff::Yes,
        _ => Sniff::No,
    }
}

pub fn parse(
    reader: &mut dyn BufRead,
    ctx: &ParseContext,
    sink: &mut dyn FnMut(Item),
) -> std::io::Result<()> {
    let mut splitter = RecordSplitter::new(reader, &["experiment"]);
    let mut ordinal = 0u64;
    while let Some(chunk) = splitter.next_chunk()? {
        match chunk {
            Chunk::Header { .. } => {}
            Chunk::Record {
                text,
                line,
                complete,
                ..
            } => {
                ordinal += 1;
                let rec = parse_experiment(&text, line, ordinal, complete, ctx);
                sink(Item::Record(Box::new(rec)));
            }
            Chunk::TooLarge { line, bytes, .. } => {
                ordinal += 1;
                sink(Item::Diagnostic(Diagnostic::error(
                    "record-too-large",
                    format!("experiment of {bytes} bytes skipped: larger than the record limit"),
                    Location::new(ctx.file)
                        .with_record(format!("#{ordinal}"))
                        .with_line(line),
                )));
            }
        }
    }
    if ordinal == 0 {
        sink(Item::Diagnostic(Diagnostic::error(
            "no-experiments",
            "no <experiment> element in the file",
            Location::new(ctx.file),
        )));
    }
    Ok(())
}

/// Omics types for an ArrayExpress / EFO experiment type ("transcription profiling by array",
/// "ChIP-seq", "methylation profiling by array"). "other" and "unknown experiment type" map to
/// none; the raw type is kept by the caller.
pub(crate) fn omics_for_experiment_type(t: &str) -> Option<&'static str> {
    let l = t.to_ascii_lowercase();
    if l.contains("methylation") || l.contains("bisulfite") {
        Some("Epigenomics")
    } else if l.contains("transcription profiling")
        || l.contains("rna-seq")
        || l.contains("rnai profiling")
        || l.contains("microrna profiling")
        || l.contains("rna profiling")
    {
        Some("Transcriptomics")
    } else if l.contains("proteomic") || l.contains("protein") {
        Some("Proteomics")
    } else if l.contains("metabolom") {
        Some("Metabolomics")
    } else if l.contains("chip-chip")
        || l.contains("chip-seq")
        || l.contains("comparative genomic hybridization")
        || l.contains("genotyping")
        || l.contains("dna-seq")
        || l.contains("genome")
    {
        Some("Genomics")
    } else {
        None
    }
}

/// Which facet a sample attribute category feeds. The ArrayExpress database cut some category
/// names ("OrganismPa", "CellTy"); those are read as the names they were cut from.
pub(crate) enum Facet {
    Organism,
    Tissue,
    CellType,
    Disease,
}

pub(crate) fn facet_of(category: &str) -> Option<Facet> {
    let c: String = category
        .chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-'))
        .flat_map(char::to_lowercase)
        .collect();
    match c.as_str() {
        "organism" | "species" => Some(Facet::Organism),
        "organismpart" | "organismpa" | "tissue" | "organ" => Some(Facet::Tissue),
        "celltype" | "cellty" | "targetedcelltype" => Some(Facet::CellType),
        "diseasestate" | "disease" | "diseasestatus" => Some(Facet::Disease),
        _ => None,
    }
}

fn attr_clean(el: &Element, name: &str) -> Option<String> {
    el.attr(name).and_then(clean_value)
}

/// All attributes as `name=value; …`, for elements kept verbatim in `additional`.
fn attrs_text(el: &Element) -> String {
    el.attrs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

fn parse_experiment(
    text: &[u8],
    line: u64,
    ordinal: u64,
    complete: bool,
    ctx: &ParseContext,
) -> SourceRecord {
    let (raw, utf8_ok) = raw_text(text);
    let (exp, problems) = xml::parse(text);
    let accession = exp
        .child("accession")
        .map(Element::text)
        .and_then(|s| clean_value(&s));
    let label = accession.clone().unwrap_or_else(|| format!("#{ordinal}"));
    let loc = |l: u64| {
        Location::new(ctx.file)
            .with_record(label.clone())
            .with_line(l)
    };
    let mut diags = xml::chunk_findings(&loc, line, utf8_ok, complete, "</experiment>", problems);
    let mut d = Dataset::new(REPOSITORY, accession.as_deref().unwrap_or(""));
    match &accession {
        Some(a) => {
            d.full_dataset_link = Some(format!(
                "https://www.ebi.ac.uk/arrayexpress/experiments/{a}/"
            ))
        }
        None => {
            diags.push(Diagnostic::error(
                "missing-accession",
                "the experiment has no <accession>",
                loc(line),
            ));
            d.accession = format!("arrayexpress-experiment-{ordinal}");
        }
    }
    for el in exp.elements() {
        let name = &*el.name;
        match name {
            "accession" => {}
            "secondaryaccession" => {
                let v = el.text();
                if let Some(v) = clean_value(&v) {
                    // GEO imports (E-GEOD-n) name their GEO series and data sets here: the
                    // link a later clustering step needs, declared by the source.
                    if v.starts_with("GSE") || v.starts_with("GDS") {
                        d.add_cross_ref("geo", &v, Evidence::Declared);
                    }
                    Dataset::push_unique(&mut d.secondary_accessions, &v);
                }
            }
            "name" => {
                if d.title.is_empty() {
                    d.title = el.text();
                } else {
                    d.push_additional("name", &el.text());
                }
            }
            "description" => {
                let v = el.inner_markup(text);
                if clean_value(&v).is_some() {
                    if d.description.is_empty() {
                        d.description = v;
                    } else {
                        d.description.push('\n');
                        d.description.push_str(&v);
                    }
                }
            }
            "experimenttype" => {
                let v = el.text();
                if let Some(t) = omics_for_experiment_type(&v) {
                    Dataset::push_unique(&mut d.omics_types, t);
                }
                if clean_value(&v).is_some() {
                    d.push_additional("experimenttype", &v);
                }
            }
            "releasedate" | "submissiondate" | "lastupdatedate" => {
                let v = el.text();
                if v.is_empty() {
                    continue;
                }
                let kind = match name {
                    "releasedate" => DateKind::Publication,
                    "submissiondate" => DateKind::Submission,
                    _ => DateKind::Updated,
                };
                d.dates.push(DatedValue {
                    kind,
                    value: PartialDate::parse(&v),
                    raw: v,
                });
            }
            "sampleattribute" => {
                let category = el.attr("category").unwrap_or("").trim();
                let Some(value) = attr_clean(el, "value") else {
                    continue;
                };
                match facet_of(category) {
                    Some(Facet::Organism) => d.push_organism(&value, None, Evidence::Declared),
                    Some(Facet::Tissue) => {
                        Dataset::push_term(&mut d.tissues, &value, None, Evidence::Declared)
                    }
                    Some(Facet::CellType) => {
                        Dataset::push_term(&mut d.cell_types, &value, None, Evidence::Declared)
                    }
                    Some(Facet::Disease) => {
                        Dataset::push_term(&mut d.diseases, &value, None, Evidence::Declared)
                    }
                    None => d.push_additional(&format!("sampleattribute[{category}]"), &value),
                }
            }
            "experimentalfactor" | "miamescore" => {
                let n = el.attr("name").unwrap_or("").trim();
                if let Some(value) = attr_clean(el, "value") {
                    d.push_additional(&format!("{name}[{n}]"), &value);
                }
            }
            "arraydesign" => {
                match attr_clean(el, "name") {
                    Some(n) => Dataset::push_unique(&mut d.instruments, &n),
                    None => {
                        if let Some(a) = attr_clean(el, "accession") {
                            Dataset::push_unique(&mut d.instruments, &a);
                        }
                    }
                }
                d.push_additional("arraydesign", &attrs_text(el));
            }
            "bibliography" => apply_bibliography(&mut d, el),
            "provider" => {
                let Some(contact) = attr_clean(el, "contact") else {
                    d.push_additional("provider", &attrs_text(el));
                    continue;
                };
                let role_raw = el.attr("role").unwrap_or("").trim().to_string();
                let r = role_raw.to_ascii_lowercase();
                let role = if r.contains("submitter") {
                    PersonRole::Submitter
                } else if r.contains("investigator") {
                    PersonRole::Investigator
                } else if r.contains("coder") || r.contains("curator") {
                    PersonRole::Contact
                } else {
                    PersonRole::Author
                };
                let mut p = Person::new(contact.clone(), role);
                p.email = attr_clean(el, "email");
                if !matches!(r.as_str(), "" | "submitter" | "investigator") {
                    // Roles the model has no word for ("data_coder") are kept as written.
                    d.push_additional("provider_role", &format!("{contact}: {role_raw}"));
                }
                if !d.people.contains(&p) {
                    d.people.push(p);
                }
            }
            "protocol" => match attr_clean(el, "accession") {
                Some(a) => d.push_additional("protocol", &a),
                None => d.push_additional("protocol", &attrs_text(el)),
            },
            "seqdatauri" => {
                let v = el.text();
                Dataset::push_unique(&mut d.files, &v);
            }
            _ => {
                let v = if el.attrs.is_empty() {
                    el.text()
                } else {
                    attrs_text(el)
                };
                if clean_value(&v).is_some() {
                    d.push_additional(name, &v);
                }
            }
        }
    }
    validate(&d, ctx, &loc(line), &mut diags);
    SourceRecord {
        dataset: d,
        publication: None,
        raw,
        format: FORMAT,
        location: loc(line),
        diagnostics: diags,
    }
}

/// `<bibliography accession="PMID" doi=… uri=… authors=… title=… publication=…>`.
fn apply_bibliography(d: &mut Dataset, el: &Element) {
    let pmid = attr_clean(el, "accession").filter(|a| a.bytes().all(|b| b.is_ascii_digit()));
    let doi = attr_clean(el, "doi").or_else(|| {
        attr_clean(el, "uri").and_then(|u| {
            u.split_once("doi.org/")
                .map(|(_, d)| d.to_string())
                .filter(|d| d.starts_with("10."))
        })
    });
    let mut cite = Vec::new();
    if let Some(a) = attr_clean(el, "authors") {
        cite.push(a.trim_end_matches('.').to_string());
    }
    if let Some(t) = attr_clean(el, "title") {
        cite.push(t.trim_end_matches('.').to_string());
    }
    let mut journal = attr_clean(el, "publication").unwrap_or_default();
    if let Some(v) = attr_clean(el, "volume") {
        journal = format!("{journal} {v}").trim().to_string();
        if let Some(i) = attr_clean(el, "issue") {
            journal.push_str(&format!("({i})"));
        }
    }
    if let Some(p) = attr_clean(el, "pages") {
        journal = format!("{journal}:{p}");
    }
    if let Some(y) = attr_clean(el, "year") {
        journal = format!("{journal} ({y})").trim().to_string();
    }
    if !journal.is_empty() {
        cite.push(journal);
    }
    let citation = (!cite.is_empty()).then(|| format!("{}.", cite.join(". ")));
    // Anything besides what the citation and identifiers carry (status, uri, publisher…).
    for k in ["uri", "status", "publisher", "edition"] {
        if let Some(v) = attr_clean(el, k) {
            d.push_additional(&format!("bibliography_{k}"), &v);
        }
    }
    if let Some(a) = attr_clean(el, "accession") {
        if pmid.is_none() {
            d.push_additional("bibliography_accession", &a);
        }
    }
    d.add_publication(PublicationRef {
        pmid,
        doi,
        pmcid: None,
        citation,
    });
}

fn validate(d: &Dataset, ctx: &ParseContext, loc: &Location, diags: &mut Vec<Diagnostic>) {
    if d.title.is_empty() {
        diags.push(Diagnostic::error(
            "missing-name",
            "the experiment has no <name> (title)",
            loc.clone(),
        ));
    }
    if d.description.is_empty() {
        diags.push(Diagnostic::warning(
            "missing-description",
            "the experiment has no <description>",
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> Vec<Item> {
        let spec = crate::format_by_name(FORMAT).expect("registered");
        crate::parse_bytes(
            spec,
            "ae.xml",
            text.as_bytes(),
            PartialDate::ymd(2026, 1, 1).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn sniffs() {
        assert_eq!(
            sniff(
                "x",
                b"<?xml version=\"1.0\"?>\n<experiments retrieved=\"x\">"
            ),
            Sniff::Yes
        );
        assert_eq!(sniff("x", b"<database>"), Sniff::No);
    }

    #[test]
    fn broken_experiment_is_reported_and_the_rest_goes_in() {
        let items = run(
            "<experiments><experiment><accession>E-X-1</accession><name>A</name>\
<releasedate>soon</releasedate><description>d</description></experiment>\
<experiment><name>B</name><description>d</description></experiment>\
<experiment><accession>E-X-3</accession><name>C</name>",
        );
        let recs: Vec<&SourceRecord> = items
            .iter()
            .filter_map(|i| match i {
                Item::Record(r) => Some(r.as_ref()),
                _ => None,
            })
            .collect();
        assert_eq!(recs.len(), 3);
        assert_eq!(recs[0].diagnostics[0].code, "bad-date");
        assert_eq!(recs[1].dataset.accession, "arrayexpress-experiment-2");
        assert!(recs[1]
            .diagnostics
            .iter()
            .any(|d| d.code == "missing-accession"));
        assert!(recs[2]
            .diagnostics
            .iter()
            .any(|d| d.code == "truncated-record"));
        assert_eq!(recs[2].dataset.title, "C");
    }

    #[test]
    fn facets_from_cut_category_names() {
        assert!(matches!(facet_of("OrganismPa"), Some(Facet::Tissue)));
        assert!(matches!(facet_of("CellTy"), Some(Facet::CellType)));
        assert!(matches!(facet_of("DiseaseState"), Some(Facet::Disease)));
        assert!(facet_of("Age").is_none());
    }
}
