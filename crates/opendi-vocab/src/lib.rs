//! Vocabularies opendi reads at run time, and what it does with them: finding diseases,
//! phenotypes, cell types, tissues and organisms named in free text ([`Annotator`]), and
//! expanding a query with synonyms ([`Synonyms`]).
//!
//! Sources (see the README's "Vocabularies" section for where each comes from): HPO `hp.obo`
//! and the disease names of `phenotype.hpoa`, the Cell Ontology (JSONL), MONDO OBO files,
//! an NCBI Taxonomy efetch XML, and two small built-in tables (the common taxa of
//! `opendi-model`, common tissues with UBERON ids). A missing source is logged and skipped:
//! opendi then works with fewer synonyms.
//!
//! This crate knows files and text; it must never know how records are stored, indexed or
//! served.

mod annotate;
mod load;
pub mod obo;
mod synonyms;
pub mod text;
mod tissues;

pub use annotate::{Annotator, Found};
pub use load::{SourceReport, VocabConfig};
pub use synonyms::{Completion, Expansion, Synonyms};

/// What a concept is about; decides which dataset field a found term goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// A named disease (OMIM, Orphanet, DECIPHER, MONDO).
    Disease,
    /// A phenotypic abnormality (HPO).
    Phenotype,
    CellType,
    Tissue,
    Organism,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Disease => "disease",
            Kind::Phenotype => "phenotype",
            Kind::CellType => "cell type",
            Kind::Tissue => "tissue",
            Kind::Organism => "organism",
        }
    }
}

/// How a name relates to its concept; decides where the name is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NameUse {
    /// The concept's preferred label.
    Label,
    /// An exact synonym, or a spelling, plural or word-order variant opendi derived.
    Exact,
    /// An all-capitals abbreviation: matched only where the text writes it in capitals.
    Abbreviation,
    /// A looser synonym (OBO RELATED): offered for queries, not used to annotate.
    Related,
    /// An identifier (taxon id `9606`): offered for queries, never looked for in text.
    Identifier,
    /// A word that implies the concept without naming it ("patients" implies human):
    /// used to annotate, never offered for queries.
    Context,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    pub text: String,
    pub usage: NameUse,
}

/// One term of a vocabulary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Concept {
    /// CURIE: `HP:0001915`, `OMIM:609135`, `CL:0000134`, `UBERON:0002371`, `NCBITaxon:9606`.
    pub id: String,
    pub label: String,
    pub kind: Kind,
    /// All names, the label first.
    pub names: Vec<Name>,
}

impl Concept {
    pub fn new(id: &str, label: &str, kind: Kind) -> Self {
        Concept {
            id: id.to_string(),
            label: label.to_string(),
            kind,
            names: vec![Name {
                text: label.to_string(),
                usage: NameUse::Label,
            }],
        }
    }

    /// Adds a name unless the concept already has it (letter case ignored).
    pub fn add_name(&mut self, text: &str, usage: NameUse) {
        let text = text.trim();
        if text.is_empty()
            || self
                .names
                .iter()
                .any(|n| n.text.eq_ignore_ascii_case(text) && n.usage <= usage)
        {
            return;
        }
        self.names.push(Name {
            text: text.to_string(),
            usage,
        });
    }

    /// The NCBI taxon id of an organism concept (`9606`).
    pub fn taxon_id(&self) -> Option<&str> {
        self.id.strip_prefix("NCBITaxon:")
    }
}

/// All concepts loaded, and what each source contributed.
#[derive(Debug, Clone, Default)]
pub struct Vocabulary {
    pub concepts: Vec<Concept>,
    pub sources: Vec<SourceReport>,
}

impl Vocabulary {
    /// Loads every source the configuration finds; never fails (missing or unreadable
    /// sources are logged and reported in `sources`).
    pub fn load(config: &VocabConfig) -> Vocabulary {
        load::load(config)
    }

    pub fn count(&self, kind: Kind) -> usize {
        self.concepts.iter().filter(|c| c.kind == kind).count()
    }
}
