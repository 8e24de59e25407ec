//! The public JSON shapes, defined once and apart from the model types, so renaming a model
//! field cannot silently change the API. Names follow OmicsDI's web service (`/ws/`), mixed
//! camelCase and snake_case included, because clients written for it should work unchanged.

use opendi_engine::text::organism_label;
use opendi_engine::{Counters, FacetCount, Relations, StoredRecord};
use opendi_model::{Dataset, PartialDate, Publication};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Serialize)]
pub struct OrganismDto {
    /// NCBI taxon id, when known.
    pub acc: Option<String>,
    pub name: String,
}

/// One dataset in a list (search, latest, similar): OmicsDI's `DatasetSummary`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DatasetSummary {
    pub id: String,
    pub source: String,
    pub title: String,
    pub description: String,
    pub keywords: Vec<String>,
    pub organisms: Vec<OrganismDto>,
    /// `YYYYMMDD`, `YYYYMM` or `YYYY`, as precise as the source was (OmicsDI's format).
    pub publication_date: Option<String>,
    pub omics_type: Vec<String>,
    pub score: f32,
    /// Why this dataset is listed (similar datasets only): its reasons in one line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The same reasons one by one ("same publication: PMID 33640016", "shared terms: …").
    /// Not in OmicsDI's shape: added for similar datasets.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    /// Page views (most accessed datasets only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub views_count: Option<u64>,
    pub url: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchResponse {
    pub count: u64,
    pub datasets: Vec<DatasetSummary>,
    pub facets: Vec<FacetDto>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Synonyms the query was expanded with (`expand=off` turns expansion off).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub also_searched_for: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FacetDto {
    pub id: String,
    pub label: String,
    pub total: usize,
    pub facet_values: Vec<FacetValueDto>,
}

/// OmicsDI sends counts as strings; so do we, for its clients' sake.
#[derive(Debug, Serialize)]
pub struct FacetValueDto {
    pub value: String,
    pub count: String,
    pub label: String,
}

#[derive(Debug, Serialize)]
pub struct ListResponse {
    pub count: usize,
    pub datasets: Vec<DatasetSummary>,
}

#[derive(Debug, Serialize)]
pub struct PersonDto {
    pub name: String,
    pub role: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub affiliation: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub orcid: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct TermDto {
    pub label: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PublicationDto {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pmid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doi: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pmcid: Option<String>,
    pub title: String,
    pub authors: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub journal: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub abstract_text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub citation: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct CountersDto {
    pub views: u64,
    pub downloads: u64,
    pub citations: u64,
    pub reanalyses: u64,
    pub connections: u64,
}

/// One dataset in full: OmicsDI's `DatasetDetail`, plus opendi's counters and provenance.
#[derive(Debug, Serialize)]
pub struct DatasetDetail {
    pub id: String,
    pub accession: String,
    pub source: String,
    pub database: String,
    pub name: String,
    /// As the source wrote it (may hold HTML markup; sanitize before rendering).
    pub description: String,
    pub keywords: Vec<String>,
    pub organisms: Vec<OrganismDto>,
    #[serde(rename = "publicationDate")]
    pub publication_date: Option<String>,
    pub omics_type: Vec<String>,
    pub dates: BTreeMap<String, Vec<String>>,
    pub submitter: Vec<String>,
    #[serde(rename = "labMembers")]
    pub lab_members: Vec<PersonDto>,
    pub secondary_accessions: Vec<String>,
    pub diseases: Vec<TermDto>,
    pub tissues: Vec<TermDto>,
    pub cell_types: Vec<TermDto>,
    pub instruments: Vec<String>,
    pub protocols: Vec<String>,
    pub modifications: Vec<String>,
    pub software: Vec<String>,
    #[serde(rename = "publicationIds")]
    pub publication_ids: Vec<String>,
    pub publications: Vec<PublicationDto>,
    pub cross_references: BTreeMap<String, Vec<String>>,
    pub full_dataset_link: Option<String>,
    pub files: Vec<String>,
    pub license: Option<String>,
    pub additional: BTreeMap<String, Vec<String>>,
    pub counters: CountersDto,
    pub url: String,
}

/// `2021-02-27` -> `20210227`: OmicsDI's compact date form.
pub fn compact_date(d: &PartialDate) -> String {
    d.to_string().replace('-', "")
}

pub fn dataset_url(repository: &str, accession: &str) -> String {
    format!(
        "/dataset/{}/{}",
        crate::render::path_segment(repository),
        crate::render::path_segment(accession)
    )
}

pub fn organisms(d: &Dataset) -> Vec<OrganismDto> {
    d.organisms
        .iter()
        .map(|o| OrganismDto {
            acc: o.taxon_id.clone(),
            name: organism_label(o),
        })
        .collect()
}

pub fn keywords(d: &Dataset) -> Vec<String> {
    d.submitter_keywords
        .iter()
        .chain(&d.curator_keywords)
        .cloned()
        .collect()
}

pub fn summary(d: &Dataset, score: f32, reason: Option<&str>) -> DatasetSummary {
    DatasetSummary {
        id: d.accession.clone(),
        source: d.repository.clone(),
        title: d.title.clone(),
        description: crate::render::plain_text(&d.description),
        keywords: keywords(d),
        organisms: organisms(d),
        publication_date: d.main_date().map(compact_date),
        omics_type: d.omics_types.clone(),
        score,
        reason: reason.map(str::to_string),
        reasons: Vec::new(),
        views_count: None,
        url: dataset_url(&d.repository, &d.accession),
    }
}

fn role(r: opendi_model::PersonRole) -> &'static str {
    use opendi_model::PersonRole::*;
    match r {
        Submitter => "submitter",
        LabHead => "lab_head",
        Author => "author",
        Contact => "contact",
        Investigator => "investigator",
    }
}

fn terms(t: &[opendi_model::Term]) -> Vec<TermDto> {
    t.iter()
        .map(|t| TermDto {
            label: t.label.clone(),
            id: t.id.clone(),
        })
        .collect()
}

pub fn publication(p: &Publication) -> PublicationDto {
    PublicationDto {
        pmid: p.pmid.clone(),
        doi: p.doi.clone(),
        pmcid: p.pmcid.clone(),
        title: p.title.clone(),
        authors: p.authors.clone(),
        journal: p.journal.clone(),
        date: p.date.map(|d| d.to_string()),
        abstract_text: p.abstract_text.clone(),
        citation: None,
    }
}

/// The counters a dataset page and API show. Citations are the publications the record links
/// to; connections its cross-references; reanalyses are not tracked yet (always 0).
/// The metrics of the reference pages: citations are the literature records in the index that
/// mention the record, reanalyses the records declaring to reanalyse it, connections its
/// cross-references and the same study in other repositories.
pub fn counters(d: &Dataset, c: Counters, rel: &Relations) -> CountersDto {
    CountersDto {
        views: c.views,
        downloads: c.downloads,
        citations: rel.citations,
        reanalyses: rel.reanalyses,
        connections: (d.cross_refs.len() + rel.also_in.len()) as u64,
    }
}

/// A stored record's full API shape, with its shared publications, counters and relations
/// read from the engine.
pub fn detail_of(
    engine: &opendi_engine::Engine,
    rec: &StoredRecord,
) -> opendi_engine::Result<DatasetDetail> {
    let pubs = publications(engine, &rec.dataset)?;
    let counters = engine.counters(rec.id)?;
    Ok(detail(rec, &pubs, counters, &engine.relations(rec.id)?))
}

pub fn detail(
    rec: &StoredRecord,
    pubs: &[PublicationDto],
    c: Counters,
    rel: &Relations,
) -> DatasetDetail {
    let d = &rec.dataset;
    let mut dates: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for x in &d.dates {
        dates.entry(x.kind.as_str().to_string()).or_default().push(
            x.value
                .map(|v| v.to_string())
                .unwrap_or_else(|| x.raw.clone()),
        );
    }
    let mut xrefs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for c in &d.cross_refs {
        xrefs
            .entry(c.database.clone())
            .or_default()
            .push(c.key.clone());
    }
    DatasetDetail {
        id: d.accession.clone(),
        accession: d.accession.clone(),
        source: d.repository.clone(),
        database: opendi_model::repository_name(&d.repository).to_string(),
        name: d.title.clone(),
        description: d.description.clone(),
        keywords: keywords(d),
        organisms: organisms(d),
        publication_date: d.main_date().map(compact_date),
        omics_type: d.omics_types.clone(),
        dates,
        submitter: d.submitters().map(|p| p.name.clone()).collect(),
        lab_members: d
            .people
            .iter()
            .map(|p| PersonDto {
                name: p.name.clone(),
                role: role(p.role).to_string(),
                affiliation: p.affiliation.clone(),
                orcid: p.orcid.clone(),
            })
            .collect(),
        secondary_accessions: d.secondary_accessions.clone(),
        diseases: terms(&d.diseases),
        tissues: terms(&d.tissues),
        cell_types: terms(&d.cell_types),
        instruments: d.instruments.clone(),
        protocols: d
            .sample_protocols
            .iter()
            .chain(&d.data_protocols)
            .cloned()
            .collect(),
        modifications: d.modifications.clone(),
        software: d.software.clone(),
        publication_ids: d
            .publications
            .iter()
            .filter_map(|p| p.pmid.clone())
            .collect(),
        publications: pubs.to_vec(),
        cross_references: xrefs,
        full_dataset_link: d.full_dataset_link.clone(),
        files: d.files.clone(),
        license: d.license.clone(),
        additional: d.additional.clone(),
        counters: counters(d, c, rel),
        url: dataset_url(&d.repository, &d.accession),
    }
}

/// The facets as OmicsDI names them: (engine facet, OmicsDI id, label).
pub const FACET_IDS: [(&str, &str, &str); 7] = [
    ("repository", "repository", "Repository"),
    ("omics_type", "omics_type", "Omics type"),
    ("organism", "TAXONOMY", "Organisms"),
    ("disease", "disease", "Disease"),
    ("tissue", "tissue", "Tissue"),
    ("cell_type", "cell_type", "Cell type"),
    ("year", "publication_date", "Publication date"),
];

pub fn facets(f: &BTreeMap<String, Vec<FacetCount>>) -> Vec<FacetDto> {
    FACET_IDS
        .iter()
        .filter_map(|(name, id, label)| {
            let counts = f.get(*name)?;
            Some(FacetDto {
                id: id.to_string(),
                label: label.to_string(),
                total: counts.len(),
                facet_values: counts
                    .iter()
                    .map(|c| FacetValueDto {
                        value: c.value.clone(),
                        count: c.count.to_string(),
                        label: if *name == "repository" {
                            opendi_model::repository_name(&c.value).to_string()
                        } else {
                            c.value.clone()
                        },
                    })
                    .collect(),
            })
        })
        .collect()
}

/// The publications a dataset page and API show: the shared publication where the store has
/// it, else what the record itself says (its citation text; for a record that is itself the
/// article, as literature records are, its own authors, journal, date and abstract).
pub fn publications(
    engine: &opendi_engine::Engine,
    d: &Dataset,
) -> opendi_engine::Result<Vec<PublicationDto>> {
    let shared = engine.cited_publications(d, None)?;
    let mut out: Vec<PublicationDto> = Vec::new();
    for r in &d.publications {
        let same = |a: &Option<String>, b: &Option<String>| matches!((a, b), (Some(x), Some(y)) if x.eq_ignore_ascii_case(y));
        if let Some(p) = shared
            .iter()
            .find(|p| same(&p.pmid, &r.pmid) || same(&p.doi, &r.doi) || same(&p.pmcid, &r.pmcid))
        {
            let mut dto = publication(p);
            dto.citation = r.citation.clone();
            out.push(dto);
            continue;
        }
        let citation = r.citation.clone();
        let own = citation
            .as_deref()
            .is_some_and(|c| !d.title.is_empty() && c.starts_with(d.title.trim_end_matches('.')));
        let title = if own {
            d.title.clone()
        } else if let Some(c) = &citation {
            c.clone()
        } else if let Some(p) = &r.pmid {
            format!("PubMed {p}")
        } else if let Some(doi) = &r.doi {
            format!("DOI {doi}")
        } else {
            format!("PMC {}", r.pmcid.clone().unwrap_or_default())
        };
        let mut dto = PublicationDto {
            pmid: r.pmid.clone(),
            doi: r.doi.clone(),
            pmcid: r.pmcid.clone(),
            title,
            authors: vec![],
            journal: None,
            date: None,
            abstract_text: String::new(),
            citation,
        };
        if own {
            dto.authors = d
                .people
                .iter()
                .filter(|p| p.role == opendi_model::PersonRole::Author)
                .map(|p| p.name.clone())
                .collect();
            dto.journal = d.additional.get("journal").and_then(|j| j.first()).cloned();
            dto.date = d.main_date().map(|x| x.to_string());
            dto.abstract_text = d.description.clone();
        }
        out.push(dto);
    }
    // Shared publications reached through identifiers the refs above did not match.
    for p in &shared {
        if !out.iter().any(|o| o.title == p.title) {
            out.push(publication(p));
        }
    }
    Ok(out)
}
