//! The normalized records of opendi: `Dataset`, `Publication`, `Diagnostic` and the value
//! normalizers (dates, repository keys) that every source format shares.
//!
//! This crate owns data shapes only. It must never do I/O, know a source format's syntax,
//! or know how records are stored, indexed or served.

mod dataset;
mod date;
mod diagnostic;
mod publication;
mod repository;
mod taxa;

pub use dataset::{
    clean_value, CrossRef, Dataset, DatasetHead, DateKind, DatedValue, Evidence, Organism, Person,
    PersonRole, PublicationRef, Term,
};
pub use date::PartialDate;
pub use diagnostic::{Diagnostic, Location, Severity};
pub use publication::{MeshHeading, Publication};
pub use repository::{repository_key, repository_name, KNOWN_REPOSITORIES};
pub use taxa::{name_for_taxon, taxon_for_name, COMMON_TAXA};

/// What a parser yields for one unit of its input.
#[derive(Debug, Clone)]
pub enum Item {
    /// A record to insert or update.
    Record(Box<SourceRecord>),
    /// The source withdrew a record (PubMed `DeleteCitation`, OAI deleted status …).
    Delete {
        repository: String,
        accession: String,
        location: Location,
    },
    /// A finding about the input that belongs to no record (a broken file header, an
    /// unreadable zip member, an XML error between records).
    Diagnostic(Diagnostic),
}

/// One record as read from a source: the normalized dataset, the publication it is (for
/// literature sources), the raw source text it came from, and what validation found.
#[derive(Debug, Clone)]
pub struct SourceRecord {
    pub dataset: Dataset,
    /// Set when the record is itself a publication (PubMed, MEDLINE, PMC articles): the
    /// engine keeps it in the shared publication table so datasets citing it can show it.
    pub publication: Option<Publication>,
    /// The record's bytes exactly as they stood in the source (one `<entry>`, one JSON line…).
    pub raw: String,
    /// The format name, as `--format` spells it (`omicsdi-xml`, `pubmed-xml`, …).
    pub format: &'static str,
    pub location: Location,
    pub diagnostics: Vec<Diagnostic>,
}

impl SourceRecord {
    /// True when any diagnostic of this record is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }
}
