use crate::date::PartialDate;
use crate::taxa::taxon_for_name;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Why a value is attached to a record: the source declared it, or opendi found it in text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Evidence {
    #[default]
    Declared,
    FoundInText,
}

fn is_declared(e: &Evidence) -> bool {
    *e == Evidence::Declared
}

/// The kinds of dates OmicsDI knows; anything else is kept under `Other`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DateKind {
    Publication,
    Creation,
    Submission,
    Updated,
    LastModification,
    Other(String),
}

impl DateKind {
    pub fn parse(s: &str) -> DateKind {
        match s
            .trim()
            .to_ascii_lowercase()
            .replace(['-', ' '], "_")
            .as_str()
        {
            "publication" | "published" | "release" | "public_release" | "publication_date" => {
                DateKind::Publication
            }
            "creation" | "created" => DateKind::Creation,
            "submission" | "submitted" | "submission_date" => DateKind::Submission,
            "updated" | "update" | "last_update" => DateKind::Updated,
            "last_modification" | "last_modified" | "modification" => DateKind::LastModification,
            other => DateKind::Other(other.to_string()),
        }
    }
    pub fn as_str(&self) -> &str {
        match self {
            DateKind::Publication => "publication",
            DateKind::Creation => "creation",
            DateKind::Submission => "submission",
            DateKind::Updated => "updated",
            DateKind::LastModification => "last_modification",
            DateKind::Other(s) => s,
        }
    }
    /// Known kinds satisfy the validator's "at least one date of a known type".
    pub fn is_known(&self) -> bool {
        !matches!(self, DateKind::Other(_))
    }
}

/// A date as normalized (`value`, None when it could not be read) beside the raw text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatedValue {
    pub kind: DateKind,
    pub value: Option<PartialDate>,
    pub raw: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PersonRole {
    Submitter,
    LabHead,
    Author,
    Contact,
    Investigator,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub name: String,
    pub role: PersonRole,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affiliation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orcid: Option<String>,
}

impl Person {
    pub fn new(name: impl Into<String>, role: PersonRole) -> Self {
        Person {
            name: name.into(),
            role,
            email: None,
            affiliation: None,
            orcid: None,
        }
    }
}

/// An organism: NCBI taxon id where known, and the name as the source gave it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organism {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taxon_id: Option<String>,
    pub name: String,
    #[serde(default, skip_serializing_if = "is_declared")]
    pub evidence: Evidence,
}

/// A controlled-ish term: a label and, where the source gave one, its ontology accession
/// (`UBERON:0002107`, `HP:0001915`, `EFO_0000311`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Term {
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "is_declared")]
    pub evidence: Evidence,
}

impl Term {
    pub fn label(label: impl Into<String>) -> Self {
        Term {
            label: label.into(),
            id: None,
            evidence: Evidence::Declared,
        }
    }
}

/// A link to a record in another database (`TAXONOMY:9606`, `ChEBI:CHEBI:15377`, `PMC:PMC7912947`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CrossRef {
    pub database: String,
    pub key: String,
    #[serde(default, skip_serializing_if = "is_declared")]
    pub evidence: Evidence,
}

impl PartialOrd for Evidence {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Evidence {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (*self as u8).cmp(&(*other as u8))
    }
}

/// A publication a dataset cites. Details (title, authors …) live in the shared
/// publication table, keyed by PMID or DOI, so whichever record arrives first, the page shows them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicationRef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pmid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doi: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pmcid: Option<String>,
    /// Free-text citation as the source wrote it (OmicsDI's `publication` field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub citation: Option<String>,
}

/// The normalized record every source format becomes. Identity is `(repository, accession)`.
/// Lists keep source order with exact duplicates removed; empty and "Not available" values
/// are dropped during normalization (the raw record keeps them).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Dataset {
    /// OmicsDI database key in lower case (`pride`, `geo`, `biostudies-literature`).
    pub repository: String,
    pub accession: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secondary_accessions: Vec<String>,
    pub title: String,
    /// May hold HTML markup as the source wrote it; sanitized where it is rendered.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub omics_types: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dates: Vec<DatedValue>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub people: Vec<Person>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub submitter_keywords: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub curator_keywords: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub organisms: Vec<Organism>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tissues: Vec<Term>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diseases: Vec<Term>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cell_types: Vec<Term>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub instruments: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_protocols: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sample_protocols: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub modifications: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub software: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cross_refs: Vec<CrossRef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub publications: Vec<PublicationRef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_dataset_link: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    /// OmicsDI's `isPrivate`: never shown to anonymous users.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub is_private: bool,
    /// Every other field, verbatim, under its source name (several values keep their order).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub additional: BTreeMap<String, Vec<String>>,
}

/// The part of a [`Dataset`] a list entry (a search hit, a similar dataset) shows, read from a
/// stored record's JSON without building the rest: people, publications, protocols and the
/// additional fields are skipped, not allocated.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DatasetHead {
    pub repository: String,
    pub accession: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub omics_types: Vec<String>,
    #[serde(default)]
    pub dates: Vec<DatedValue>,
    #[serde(default)]
    pub submitter_keywords: Vec<String>,
    #[serde(default)]
    pub curator_keywords: Vec<String>,
    #[serde(default)]
    pub organisms: Vec<Organism>,
    #[serde(default)]
    pub is_private: bool,
}

impl From<DatasetHead> for Dataset {
    /// A dataset holding only the head's fields (the rest empty).
    fn from(h: DatasetHead) -> Self {
        Dataset {
            repository: h.repository,
            accession: h.accession,
            title: h.title,
            description: h.description,
            omics_types: h.omics_types,
            dates: h.dates,
            submitter_keywords: h.submitter_keywords,
            curator_keywords: h.curator_keywords,
            organisms: h.organisms,
            is_private: h.is_private,
            ..Default::default()
        }
    }
}

impl Dataset {
    pub fn new(repository: &str, accession: &str) -> Self {
        Dataset {
            repository: repository.to_string(),
            accession: accession.to_string(),
            ..Default::default()
        }
    }

    /// The date shown on the provider line: publication, else the earliest known kind.
    pub fn main_date(&self) -> Option<&PartialDate> {
        let order = [
            DateKind::Publication,
            DateKind::Creation,
            DateKind::Submission,
            DateKind::Updated,
            DateKind::LastModification,
        ];
        order.iter().find_map(|k| {
            self.dates
                .iter()
                .find(|d| &d.kind == k)
                .and_then(|d| d.value.as_ref())
        })
    }

    pub fn year(&self) -> Option<i32> {
        self.main_date().map(|d| d.year)
    }

    pub fn submitters(&self) -> impl Iterator<Item = &Person> {
        self.people
            .iter()
            .filter(|p| p.role == PersonRole::Submitter)
    }

    /// Adds a cross-reference unless the same (database, key) is already there.
    pub fn add_cross_ref(&mut self, database: &str, key: &str, evidence: Evidence) {
        let (database, key) = (database.trim(), key.trim());
        if database.is_empty() || key.is_empty() {
            return;
        }
        if !self
            .cross_refs
            .iter()
            .any(|c| c.database.eq_ignore_ascii_case(database) && c.key == key)
        {
            self.cross_refs.push(CrossRef {
                database: database.to_string(),
                key: key.to_string(),
                evidence,
            });
        }
    }

    /// Adds a publication reference, merging with an existing one that shares an identifier.
    pub fn add_publication(&mut self, r: PublicationRef) {
        let same = |a: &Option<String>, b: &Option<String>| matches!((a, b), (Some(x), Some(y)) if x.eq_ignore_ascii_case(y));
        if let Some(p) = self
            .publications
            .iter_mut()
            .find(|p| same(&p.pmid, &r.pmid) || same(&p.doi, &r.doi) || same(&p.pmcid, &r.pmcid))
        {
            p.pmid = p.pmid.take().or(r.pmid);
            p.doi = p.doi.take().or(r.doi);
            p.pmcid = p.pmcid.take().or(r.pmcid);
            p.citation = p.citation.take().or(r.citation);
        } else if r.pmid.is_some() || r.doi.is_some() || r.pmcid.is_some() || r.citation.is_some() {
            self.publications.push(r);
        }
    }

    /// Pushes a value to a list field unless it is empty, a placeholder, or already there.
    pub fn push_unique(list: &mut Vec<String>, value: &str) {
        if let Some(v) = clean_value(value) {
            if !list.iter().any(|x| x == &v) {
                list.push(v);
            }
        }
    }

    pub fn push_term(list: &mut Vec<Term>, label: &str, id: Option<&str>, evidence: Evidence) {
        let Some(label) = clean_value(label) else {
            return;
        };
        let id = id.and_then(clean_value);
        if let Some(t) = list
            .iter_mut()
            .find(|t| t.label.eq_ignore_ascii_case(&label))
        {
            if t.id.is_none() {
                t.id = id;
            }
        } else {
            list.push(Term {
                label,
                id,
                evidence,
            });
        }
    }

    /// Adds an organism, merging it with one already there that has the same name or taxon
    /// (a known taxon's id and its name count as the same organism: `9606` = `Homo sapiens (Human)`).
    pub fn push_organism(&mut self, name: &str, taxon_id: Option<&str>, evidence: Evidence) {
        let name = clean_value(name).unwrap_or_default();
        let taxon_id = taxon_id
            .and_then(clean_value)
            .or_else(|| taxon_for_name(&name).map(str::to_string));
        if name.is_empty() && taxon_id.is_none() {
            return;
        }
        if let Some(o) = self.organisms.iter_mut().find(|o| {
            (!name.is_empty() && o.name.eq_ignore_ascii_case(&name))
                || (taxon_id.is_some() && o.taxon_id == taxon_id)
        }) {
            if o.taxon_id.is_none() {
                o.taxon_id = taxon_id;
            }
            if o.name.is_empty() {
                o.name = name;
            }
        } else {
            self.organisms.push(Organism {
                taxon_id,
                name,
                evidence,
            });
        }
    }

    pub fn push_additional(&mut self, name: &str, value: &str) {
        let v = self.additional.entry(name.to_string()).or_default();
        v.push(value.to_string());
    }

    /// All accessions the record answers to: its own and its secondaries.
    pub fn all_accessions(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.accession.as_str())
            .chain(self.secondary_accessions.iter().map(String::as_str))
    }
}

/// What repositories write instead of leaving a field out (compared ignoring ASCII case).
const PLACEHOLDERS: [&str; 8] = [
    "",
    "not available",
    "n/a",
    "na",
    "none",
    "null",
    "not applicable",
    "-",
];

/// Trims a value and folds its inner white space; `None` for empty values and the
/// placeholders repositories write instead of leaving a field out.
pub fn clean_value(value: &str) -> Option<String> {
    // One pass and one allocation: values are often whole descriptions.
    let mut v = String::with_capacity(value.len());
    for word in value.split_whitespace() {
        if !v.is_empty() {
            v.push(' ');
        }
        v.push_str(word);
    }
    let placeholder = v.len() <= "not applicable".len()
        && PLACEHOLDERS.iter().any(|p| p.eq_ignore_ascii_case(&v));
    (!placeholder).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::{clean_value, PLACEHOLDERS};
    use proptest::prelude::*;

    #[test]
    fn values_are_folded_and_placeholders_dropped() {
        assert_eq!(
            clean_value("  Homo \t sapiens\n").as_deref(),
            Some("Homo sapiens")
        );
        assert_eq!(
            clean_value("bone\u{a0}marrow").as_deref(),
            Some("bone marrow")
        );
        for p in [
            "",
            "  ",
            "N/A",
            "Not  Applicable",
            " none ",
            "NULL",
            "-",
            "na",
        ] {
            assert_eq!(clean_value(p), None, "{p:?}");
        }
        assert_eq!(clean_value("nan").as_deref(), Some("nan"));
        assert_eq!(clean_value("- -").as_deref(), Some("- -"));
    }

    /// What `clean_value` did before it was made one pass.
    fn reference(value: &str) -> Option<String> {
        let v = value.split_whitespace().collect::<Vec<_>>().join(" ");
        let lower = v.to_ascii_lowercase();
        (!PLACEHOLDERS.contains(&lower.as_str())).then_some(v)
    }

    proptest! {
        #[test]
        fn the_same_as_the_reference(
            value in "[ \t\n\u{a0}\u{3000}aAnN/lLoOtTeEuUpPiIcCbB\\-é]{0,20}"
        ) {
            prop_assert_eq!(clean_value(&value), reference(&value));
        }
    }
}
