//! `opendi gen`: a deterministic generator of realistic records (OmicsDI XML, PubMed XML) for
//! demos, tests and benchmarks at any size. Everything it writes comes from the word lists
//! below (written for this project) combined at random from a seed.

mod alias;
mod learn;

use anyhow::{Context, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    OmicsdiXml,
    PubmedXml,
}

#[derive(clap::Args)]
pub struct GenArgs {
    /// How many records.
    #[arg(long, default_value_t = 1000)]
    pub records: usize,
    #[arg(long, value_enum, default_value = "omicsdi-xml")]
    pub format: Format,
    /// Random seed: the same seed gives the same corpus.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Learn word frequencies, field lengths and concept mentions from the real corpora in DIR
    /// (default `$OPENDI_CORPORA`, else `../shared/corpora` when present; vocabularies from
    /// `$OPENDI_VOCAB`, else DIR/vocab). Without corpora, built-in sentence templates are used.
    #[arg(long, value_name = "DIR")]
    pub stats_from: Option<PathBuf>,
    /// Use the built-in sentence templates even when corpora are available (the demo does).
    #[arg(long)]
    pub templates: bool,
    /// Also write one JSON line `{"id", "contents"}` per record with the text opendi indexes,
    /// for the peer systems of the benchmarks (Lucene, SQLite FTS5, PostgreSQL).
    #[arg(long, value_name = "FILE")]
    pub jsonl: Option<PathBuf>,
    /// Output file (`.gz` compresses).
    pub out: PathBuf,
}

pub fn run(args: &GenArgs) -> Result<()> {
    let learned = if args.templates {
        None
    } else {
        let root = args.stats_from.clone().unwrap_or_else(|| {
            std::env::var_os("OPENDI_CORPORA")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("../shared/corpora"))
        });
        let vocab = std::env::var_os("OPENDI_VOCAB").map(PathBuf::from);
        let learned = learn::learn(&root, vocab.as_deref());
        match &learned {
            Some(l) => eprintln!("{} ({})", l.summary, root.display()),
            None if args.stats_from.is_some() => {
                anyhow::bail!("no corpora to learn from under {}", root.display())
            }
            None => eprintln!(
                "no corpora under {} (set --stats-from or OPENDI_CORPORA): using built-in templates",
                root.display()
            ),
        }
        learned
    };
    let style = match &learned {
        Some(l) => Style::Learned(l),
        None => Style::Templates,
    };
    let started = std::time::Instant::now();
    write_corpus(
        &args.out,
        args.records,
        args.format,
        args.seed,
        &style,
        args.jsonl.as_deref(),
    )?;
    eprintln!(
        "wrote {} records to {} in {:.1} s",
        args.records,
        args.out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Where the generated text comes from.
pub enum Style<'a> {
    /// The sentence templates and word lists of this file: readable, for demos and tests.
    Templates,
    /// Words drawn from frequencies learned from real corpora: realistic term statistics, for
    /// benchmarks at scale.
    Learned(&'a learn::Learned),
}

/// (repository as OmicsDI writes it, omics type, accession prefix, digits, link prefix, weight)
const REPOSITORIES: &[(&str, &str, &str, usize, &str, u32)] = &[
    (
        "pride",
        "Proteomics",
        "PXD",
        6,
        "https://www.ebi.ac.uk/pride/archive/projects/",
        22,
    ),
    (
        "MetaboLights",
        "Metabolomics",
        "MTBLS",
        4,
        "https://www.ebi.ac.uk/metabolights/",
        10,
    ),
    (
        "ArrayExpress",
        "Transcriptomics",
        "E-MTAB-",
        4,
        "https://www.ebi.ac.uk/arrayexpress/experiments/",
        18,
    ),
    (
        "GEO",
        "Transcriptomics",
        "GSE",
        6,
        "https://www.ncbi.nlm.nih.gov/geo/query/acc.cgi?acc=",
        26,
    ),
    (
        "MassIVE",
        "Proteomics",
        "MSV",
        9,
        "https://massive.ucsd.edu/dataset/",
        6,
    ),
    (
        "MetabolomicsWorkbench",
        "Metabolomics",
        "ST",
        6,
        "https://www.metabolomicsworkbench.org/study/",
        5,
    ),
    (
        "EGA",
        "Genomics",
        "EGAS",
        11,
        "https://ega-archive.org/studies/",
        5,
    ),
    (
        "biostudies-literature",
        "Unknown",
        "S-EPMC",
        7,
        "https://www.ebi.ac.uk/biostudies/studies/",
        8,
    ),
];

/// (taxon id, scientific name, common name, weight)
const ORGANISMS: &[(&str, &str, &str, u32)] = &[
    ("9606", "Homo sapiens", "human", 55),
    ("10090", "Mus musculus", "mouse", 20),
    ("10116", "Rattus norvegicus", "rat", 6),
    ("7955", "Danio rerio", "zebrafish", 3),
    ("3702", "Arabidopsis thaliana", "thale cress", 4),
    ("4932", "Saccharomyces cerevisiae", "baker's yeast", 4),
    ("562", "Escherichia coli", "E. coli", 3),
    ("7227", "Drosophila melanogaster", "fruit fly", 3),
    ("9913", "Bos taurus", "cattle", 2),
];

const TISSUES: &[&str] = &[
    "liver",
    "brain",
    "blood plasma",
    "blood serum",
    "bone marrow",
    "kidney",
    "lung",
    "heart",
    "skeletal muscle",
    "adipose tissue",
    "colon",
    "breast",
    "skin",
    "pancreas",
    "retina",
    "placenta",
    "urine",
    "cerebrospinal fluid",
    "hippocampus",
    "lymph node",
];

const DISEASES: &[&str] = &[
    "breast cancer",
    "colorectal cancer",
    "type 2 diabetes",
    "Alzheimer's disease",
    "aplastic anemia",
    "hepatocellular carcinoma",
    "acute myeloid leukemia",
    "COVID-19",
    "Parkinson's disease",
    "obesity",
    "asthma",
    "rheumatoid arthritis",
    "glioblastoma",
    "chronic kidney disease",
    "multiple sclerosis",
    "tuberculosis",
    "sepsis",
    "prostate cancer",
    "lung adenocarcinoma",
    "psoriasis",
];

const CELL_TYPES: &[&str] = &[
    "T cell",
    "B cell",
    "macrophage",
    "hepatocyte",
    "neuron",
    "fibroblast",
    "mesenchymal stem cell",
    "epithelial cell",
    "monocyte",
    "cardiomyocyte",
    "keratinocyte",
    "natural killer cell",
    "platelet",
    "erythrocyte",
    "astrocyte",
];

const INSTRUMENTS: &[(&str, &[&str])] = &[
    (
        "Proteomics",
        &[
            "Q Exactive HF",
            "Orbitrap Fusion Lumos",
            "LTQ Orbitrap Velos",
            "timsTOF Pro",
            "TripleTOF 6600",
        ],
    ),
    (
        "Metabolomics",
        &[
            "Q Exactive",
            "6550 iFunnel Q-TOF",
            "Bruker Avance III 600 MHz",
            "Xevo G2-XS QTof",
            "QTRAP 5500",
        ],
    ),
    (
        "Transcriptomics",
        &[
            "Illumina NovaSeq 6000",
            "Illumina HiSeq 2500",
            "Affymetrix GeneChip Human Genome U133 Plus 2.0",
            "Illumina NextSeq 500",
        ],
    ),
    (
        "Genomics",
        &[
            "Illumina HiSeq X Ten",
            "Illumina NovaSeq 6000",
            "PacBio Sequel II",
            "Oxford Nanopore PromethION",
        ],
    ),
    ("Unknown", &[]),
];

const METHODS: &[(&str, &[&str])] = &[
    (
        "Proteomics",
        &[
            "quantitative proteomics",
            "phosphoproteomics",
            "label-free quantification",
            "TMT-based proteomic profiling",
            "data-independent acquisition mass spectrometry",
            "affinity purification mass spectrometry",
        ],
    ),
    (
        "Metabolomics",
        &[
            "untargeted metabolomics",
            "lipidomics",
            "targeted metabolite profiling",
            "NMR metabolomics",
            "LC-MS metabolic profiling",
        ],
    ),
    (
        "Transcriptomics",
        &[
            "RNA-seq",
            "single-cell RNA sequencing",
            "gene expression profiling",
            "microarray analysis",
            "transcriptome sequencing",
        ],
    ),
    (
        "Genomics",
        &[
            "whole-genome sequencing",
            "whole-exome sequencing",
            "genotyping",
            "genome-wide association study",
        ],
    ),
    (
        "Unknown",
        &[
            "a clinical study",
            "a cohort study",
            "a randomized trial",
            "a case-control study",
        ],
    ),
];

const CONDITIONS: &[&str] = &[
    "treated with cisplatin",
    "under hypoxia",
    "after high-fat diet feeding",
    "during ageing",
    "after infection",
    "upon metformin treatment",
    "in response to heat stress",
    "after knockout of TP53",
    "with mesenchymal stem cell therapy",
    "during differentiation",
    "after radiation exposure",
    "in early development",
];

const FINDINGS: &[&str] = &[
    "We identified {n} differentially abundant {things} between {a} and {b}.",
    "Pathway analysis highlighted {pathway} as the most affected process.",
    "These data provide a resource for studying {disease} in {tissue}.",
    "Samples from {n} {org} donors were collected and analysed by {method}.",
    "The results suggest that {pathway} contributes to {disease} progression.",
    "Raw data, processed results and sample annotations are provided.",
    "Validation in an independent cohort of {n} patients confirmed the main findings.",
    "Integration with public {omics} data revealed shared signatures of {disease}.",
];

const PATHWAYS: &[&str] = &[
    "oxidative phosphorylation",
    "glycolysis",
    "fatty acid oxidation",
    "the mTOR pathway",
    "inflammatory signalling",
    "the NF-kB pathway",
    "DNA damage response",
    "cholesterol biosynthesis",
    "the unfolded protein response",
    "immune cell activation",
    "extracellular matrix organisation",
];

const FIRST: &[&str] = &[
    "Anna", "Li", "Maria", "James", "Wei", "Sofia", "Ahmed", "Yuki", "Lars", "Priya", "Carlos",
    "Elena", "Tomas", "Aisha", "Jonas",
];
const LAST: &[&str] = &[
    "Smith",
    "Wang",
    "Garcia",
    "Müller",
    "Kim",
    "Rossi",
    "Novak",
    "Silva",
    "Chen",
    "Johansson",
    "Okafor",
    "Tanaka",
    "Dubois",
    "Kowalski",
    "Patel",
];
const INSTITUTES: &[&str] = &[
    "Institute of Molecular Medicine",
    "Department of Biochemistry",
    "Centre for Genomic Research",
    "Clinical Proteomics Unit",
    "Faculty of Medicine",
    "Metabolomics Core Facility",
    "School of Biological Sciences",
];
const JOURNALS: &[&str] = &[
    "Nature Communications",
    "Molecular & Cellular Proteomics",
    "Scientific Reports",
    "PLoS One",
    "Cell Reports",
    "BMC Genomics",
    "Metabolites",
    "Journal of Proteome Research",
];

fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

fn weighted<'a, T>(rng: &mut ChaCha8Rng, items: &'a [T], weight: impl Fn(&T) -> u32) -> &'a T {
    let total: u32 = items.iter().map(&weight).sum();
    let mut x = rng.random_range(0..total);
    for it in items {
        let w = weight(it);
        if x < w {
            return it;
        }
        x -= w;
    }
    &items[items.len() - 1]
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One generated dataset, before it is written in a format.
struct Gen {
    repository: &'static str,
    omics: &'static str,
    accession: String,
    link: String,
    title: String,
    description: String,
    /// (NCBI taxon id, scientific name)
    organism: (String, String),
    tissue: String,
    disease: String,
    cell_type: Option<String>,
    instrument: Option<&'static str>,
    method: &'static str,
    submitter: (String, String, String),
    keywords: Vec<String>,
    date: (i32, u32, u32),
    pmid: Option<u32>,
    journal: &'static str,
    authors: Vec<(String, String)>,
    /// (database as OmicsDI writes it, key)
    xrefs: Vec<(&'static str, String)>,
}

fn generate(rng: &mut ChaCha8Rng, i: usize) -> Gen {
    let &(repository, omics, prefix, digits, link, _) = weighted(rng, REPOSITORIES, |r| r.5);
    let number = 1 + i * 7 + rng.random_range(0..7);
    let accession = format!("{prefix}{number:0digits$}");
    let org = weighted(rng, ORGANISMS, |o| o.3);
    let tissue = *pick(rng, TISSUES);
    let disease = *pick(rng, DISEASES);
    let method = *pick(
        rng,
        METHODS
            .iter()
            .find(|(o, _)| *o == omics)
            .map(|(_, m)| *m)
            .unwrap_or(&["profiling"]),
    );
    let condition = *pick(rng, CONDITIONS);
    let pathway = *pick(rng, PATHWAYS);
    let cell_type = rng.random_bool(0.4).then(|| *pick(rng, CELL_TYPES));
    let instruments = INSTRUMENTS
        .iter()
        .find(|(o, _)| *o == omics)
        .map(|(_, m)| *m)
        .unwrap_or(&[]);
    let instrument = (!instruments.is_empty()).then(|| *pick(rng, instruments));
    let subject = cell_type
        .map(|c| format!("{c}s"))
        .unwrap_or_else(|| tissue.to_string());
    let title = match rng.random_range(0..4) {
        0 => format!("{} of {} in {}", capitalise(method), subject, disease),
        1 => format!(
            "{} {} {}",
            capitalise(&subject),
            condition,
            format_args!("({method})")
        ),
        2 => format!(
            "{} reveals {} changes in {} {}",
            capitalise(method),
            pathway,
            org.2,
            subject
        ),
        _ => format!(
            "{} atlas of {} from {} patients",
            capitalise(omics),
            subject,
            disease
        ),
    };
    let mut sentences = vec![format!(
        "We applied {method} to {} {subject} samples {condition} to characterise molecular changes associated with {disease}.",
        org.2
    )];
    for _ in 0..rng.random_range(2..5) {
        let s = pick(rng, FINDINGS)
            .replace("{n}", &rng.random_range(6..400).to_string())
            .replace(
                "{things}",
                if omics == "Metabolomics" {
                    "metabolites"
                } else if omics == "Proteomics" {
                    "proteins"
                } else {
                    "genes"
                },
            )
            .replace("{a}", disease)
            .replace("{b}", "controls")
            .replace("{pathway}", pathway)
            .replace("{disease}", disease)
            .replace("{tissue}", tissue)
            .replace("{org}", org.2)
            .replace("{method}", method)
            .replace("{omics}", &omics.to_lowercase());
        sentences.push(s);
    }
    let first = *pick(rng, FIRST);
    let last = *pick(rng, LAST);
    let submitter = (
        format!("{first} {last}"),
        format!(
            "{}.{}@example.org",
            first.to_lowercase(),
            last.to_lowercase().replace('ü', "u")
        ),
        pick(rng, INSTITUTES).to_string(),
    );
    let authors = (0..rng.random_range(2..8))
        .map(|_| {
            (
                pick(rng, LAST).to_string(),
                pick(rng, FIRST).chars().next().unwrap_or('A').to_string(),
            )
        })
        .collect();
    Gen {
        repository,
        omics,
        link: format!("{link}{accession}"),
        accession,
        title,
        description: sentences.join(" "),
        organism: (org.0.to_string(), org.1.to_string()),
        tissue: tissue.to_string(),
        disease: disease.to_string(),
        cell_type: cell_type.map(str::to_string),
        instrument,
        method,
        submitter,
        keywords: vec![method.to_string(), disease.to_string(), tissue.to_string()],
        date: (
            rng.random_range(2008..2026),
            rng.random_range(1..13),
            rng.random_range(1..29),
        ),
        pmid: rng
            .random_bool(0.6)
            .then(|| 20_000_000 + (i as u32) * 3 + rng.random_range(0..3)),
        journal: JOURNALS[rng.random_range(0..JOURNALS.len())],
        authors,
        xrefs: Vec::new(),
    }
}

/// Draws a count from observed lengths, within bounds.
fn length(rng: &mut ChaCha8Rng, observed: &[u16], fallback: usize, lo: usize, hi: usize) -> usize {
    let n = if observed.is_empty() {
        fallback
    } else {
        observed[rng.random_range(0..observed.len())] as usize
    };
    n.clamp(lo, hi)
}

/// A number in 1..n with probability proportional to 1/x (a Zipf law with exponent 1), so a few
/// identifiers are shared by many records and most by few.
fn zipf(rng: &mut ChaCha8Rng, n: u64) -> u64 {
    ((n as f64).powf(rng.random::<f64>()) as u64).clamp(1, n)
}

const SYLLABLES: &[&str] = &[
    "ba", "co", "di", "fe", "ga", "hi", "ko", "lu", "me", "ni", "po", "ra", "si", "tu", "ve", "xy",
    "zo", "pre", "tri", "ost", "ase", "ine", "ol", "um",
];

/// A word of the long tail: a pronounceable string named by a Zipf-distributed number, so
/// rare words recur rarely and the vocabulary grows with the corpus.
fn tail_word(rng: &mut ChaCha8Rng) -> String {
    let mut id = zipf(rng, 50_000_000);
    let mut w = String::new();
    while id > 0 {
        w.push_str(SYLLABLES[(id % SYLLABLES.len() as u64) as usize]);
        id /= SYLLABLES.len() as u64;
    }
    w
}

fn word(rng: &mut ChaCha8Rng, l: &learn::Learned) -> String {
    if rng.random::<f64>() < l.tail_share {
        tail_word(rng)
    } else {
        l.words.draw(rng).clone()
    }
}

/// Sentences of learned words with the record's topic phrases spread among them.
fn learned_text(rng: &mut ChaCha8Rng, l: &learn::Learned, words: usize, topic: &[&str]) -> String {
    let mut out = String::with_capacity(words * 8);
    let mut left = words;
    let mut topic = topic.iter();
    while left > 0 {
        let n = rng.random_range(8..28).min(left);
        left -= n;
        let mut sentence: Vec<String> = (0..n).map(|_| word(rng, l)).collect();
        if let Some(t) = topic.next() {
            let at = rng.random_range(0..=sentence.len());
            sentence.insert(at, t.to_string());
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&capitalise(&sentence.join(" ")));
        out.push('.');
    }
    out
}

fn generate_learned(rng: &mut ChaCha8Rng, i: usize, l: &learn::Learned, article: bool) -> Gen {
    let mut g = generate(rng, i);
    if let Some(p) = &l.organisms {
        g.organism = p.draw(rng).clone();
    }
    if let Some(p) = &l.diseases {
        g.disease = p.draw(rng).clone();
    }
    if let Some(p) = &l.tissues {
        g.tissue = p.draw(rng).clone();
    }
    if let (Some(p), Some(_)) = (&l.cell_types, &g.cell_type) {
        g.cell_type = Some(p.draw(rng).clone());
    }
    let subject = g.cell_type.clone().unwrap_or_else(|| g.tissue.clone());
    let lead = match rng.random_range(0..3) {
        0 => format!("{} of {} in {}", g.method, subject, g.disease),
        1 => format!("{} {} {}", g.disease, subject, g.method),
        _ => format!("{} in {} {}", g.method, g.organism.1, subject),
    };
    let extra = length(rng, &l.title_words, 12, 3, 40).saturating_sub(lead.split(' ').count());
    let mut title = lead;
    for _ in 0..extra {
        title.push(' ');
        title.push_str(&word(rng, l));
    }
    g.title = capitalise(&title);
    let observed = if article {
        &l.abstract_words
    } else {
        &l.dataset_description_words
    };
    let words = length(rng, observed, 150, 15, 800);
    let organism = g.organism.1.clone();
    g.description = learned_text(
        rng,
        l,
        words,
        &[&g.disease, &subject, &organism, g.method, &g.disease],
    );
    g.keywords = vec![g.method.to_string(), g.disease.clone()];
    // Keywords are content words: skip the short function words that top the frequencies.
    for _ in 0..rng.random_range(0..4) {
        let w = (0..8)
            .map(|_| word(rng, l))
            .find(|w| w.chars().count() >= 5);
        g.keywords.extend(w);
    }
    // Identifiers of the molecules measured, shared across records by a Zipf law.
    let (db, count): (&'static str, usize) = match g.omics {
        "Proteomics" => ("uniprot", rng.random_range(0..6)),
        "Metabolomics" => ("chebi", rng.random_range(0..6)),
        "Transcriptomics" | "Genomics" => ("ensembl", rng.random_range(0..4)),
        _ => ("", 0),
    };
    for _ in 0..count {
        let n = zipf(rng, 200_000);
        let key = match db {
            "uniprot" => format!("P{n:05}"),
            "chebi" => format!("CHEBI:{n}"),
            _ => format!("ENSG{n:011}"),
        };
        g.xrefs.push((db, key));
    }
    // Several datasets from one paper: now and then reuse the publication of a recent record.
    if g.pmid.is_some() && i > 10 && rng.random_bool(0.08) {
        g.pmid = Some(20_000_000 + (i as u32 - rng.random_range(1..10)) * 3);
    }
    g
}

/// The text a peer system indexes for a record: what opendi indexes from it.
fn indexed_text(g: &Gen) -> String {
    let mut parts: Vec<&str> = vec![&g.accession, &g.title, &g.description];
    parts.extend(g.keywords.iter().map(String::as_str));
    parts.extend([
        g.organism.1.as_str(),
        &g.tissue,
        &g.disease,
        &g.submitter.0,
        g.method,
    ]);
    if let Some(c) = &g.cell_type {
        parts.push(c);
    }
    parts.join("\n")
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

fn write_omicsdi(w: &mut dyn Write, g: &Gen) -> std::io::Result<()> {
    let (y, m, d) = g.date;
    writeln!(w, "    <entry id=\"{}\">", esc(&g.accession))?;
    writeln!(w, "      <name>{}</name>", esc(&g.title))?;
    writeln!(
        w,
        "      <description>{}</description>",
        esc(&g.description)
    )?;
    writeln!(w, "      <cross_references>")?;
    writeln!(
        w,
        "        <ref dbname=\"TAXONOMY\" dbkey=\"{}\"/>",
        g.organism.0
    )?;
    for (db, key) in &g.xrefs {
        writeln!(w, "        <ref dbname=\"{db}\" dbkey=\"{}\"/>", esc(key))?;
    }
    if let Some(p) = g.pmid {
        writeln!(w, "        <ref dbname=\"pubmed\" dbkey=\"{p}\"/>")?;
    }
    writeln!(w, "      </cross_references>")?;
    writeln!(w, "      <dates>\n        <date type=\"submission\" value=\"{y:04}-{m:02}-{d:02}\"/>\n        <date type=\"publication\" value=\"{y:04}-{m:02}-{d:02}\"/>\n      </dates>")?;
    writeln!(w, "      <additional_fields>")?;
    let mut field = |name: &str, value: &str| {
        writeln!(w, "        <field name=\"{name}\">{}</field>", esc(value))
    };
    field("repository", g.repository)?;
    field("omics_type", g.omics)?;
    field("full_dataset_link", &g.link)?;
    field("species", &g.organism.1)?;
    field("tissue", &g.tissue)?;
    field("disease", &g.disease)?;
    if let Some(c) = &g.cell_type {
        field("cell_type", c)?;
    }
    if let Some(i) = g.instrument {
        field("instrument_platform", i)?;
    }
    field(
        "sample_protocol",
        &format!(
            "Samples were collected, processed and analysed by {}.",
            g.method
        ),
    )?;
    field(
        "data_protocol",
        "Data were processed with standard open-source pipelines and quality-controlled.",
    )?;
    field("submitter", &g.submitter.0)?;
    field("submitter_mail", &g.submitter.1)?;
    field("submitter_affiliation", &g.submitter.2)?;
    for k in &g.keywords {
        field("submitter_keywords", k)?;
    }
    writeln!(w, "      </additional_fields>\n    </entry>")
}

fn write_pubmed(w: &mut dyn Write, g: &Gen, pmid: u32) -> std::io::Result<()> {
    let (y, m, d) = g.date;
    writeln!(w, "  <PubmedArticle>\n    <MedlineCitation Status=\"MEDLINE\" Owner=\"NLM\">\n      <PMID Version=\"1\">{pmid}</PMID>")?;
    writeln!(w, "      <Article PubModel=\"Print\">\n        <Journal>\n          <JournalIssue CitedMedium=\"Internet\">")?;
    writeln!(w, "            <Volume>{}</Volume>\n            <PubDate><Year>{y}</Year><Month>{m:02}</Month><Day>{d:02}</Day></PubDate>", 1 + y % 40)?;
    writeln!(
        w,
        "          </JournalIssue>\n          <Title>{}</Title>\n        </Journal>",
        esc(g.journal)
    )?;
    writeln!(w, "        <ArticleTitle>{}</ArticleTitle>", esc(&g.title))?;
    writeln!(
        w,
        "        <Abstract><AbstractText>{}</AbstractText></Abstract>",
        esc(&g.description)
    )?;
    writeln!(w, "        <AuthorList CompleteYN=\"Y\">")?;
    for (last, init) in &g.authors {
        writeln!(w, "          <Author ValidYN=\"Y\"><LastName>{}</LastName><Initials>{}</Initials></Author>", esc(last), esc(init))?;
    }
    writeln!(
        w,
        "        </AuthorList>\n      </Article>\n      <MeshHeadingList>"
    )?;
    for (term, major) in [
        (capitalise(&g.disease), "Y"),
        (capitalise(&g.tissue), "N"),
        (capitalise(&g.organism.1), "N"),
    ] {
        writeln!(w, "        <MeshHeading><DescriptorName MajorTopicYN=\"{major}\">{}</DescriptorName></MeshHeading>", esc(&term))?;
    }
    writeln!(
        w,
        "      </MeshHeadingList>\n    </MedlineCitation>\n    <PubmedData>\n      <ArticleIdList>"
    )?;
    writeln!(w, "        <ArticleId IdType=\"pubmed\">{pmid}</ArticleId>\n      </ArticleIdList>\n    </PubmedData>\n  </PubmedArticle>")
}

/// Writes `n` records to `out` (gzip when it ends in `.gz`), deterministically from `seed`,
/// and, when asked, the indexed text of each as JSON lines to `jsonl`.
pub fn write_corpus(
    out: &Path,
    n: usize,
    format: Format,
    seed: u64,
    style: &Style,
    jsonl: Option<&Path>,
) -> Result<()> {
    let mut w = create(out)?;
    let mut side = jsonl.map(create).transpose()?;
    let bar = (n >= 100_000 && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(n as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} records ({per_sec})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let article = format == Format::PubmedXml;
    match format {
        Format::OmicsdiXml => {
            writeln!(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<database>\n  <name>opendi-demo</name>")?;
            writeln!(w, "  <description>Records generated by opendi gen (seed {seed}); not real data</description>")?;
            writeln!(w, "  <release>1</release>\n  <release_date>2026-01-01</release_date>\n  <entry_count>{n}</entry_count>\n  <entries>")?;
        }
        Format::PubmedXml => {
            writeln!(
                w,
                "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<PubmedArticleSet>"
            )?;
        }
    }
    for i in 0..n {
        let g = match style {
            Style::Templates => generate(&mut rng, i),
            Style::Learned(l) => generate_learned(&mut rng, i, l, article),
        };
        let id = match format {
            Format::OmicsdiXml => {
                write_omicsdi(&mut w, &g)?;
                g.accession.clone()
            }
            Format::PubmedXml => {
                let pmid = 30_000_000 + i as u32;
                write_pubmed(&mut w, &g, pmid)?;
                pmid.to_string()
            }
        };
        if let Some(side) = side.as_mut() {
            serde_json::to_writer(
                &mut *side,
                &serde_json::json!({"id": id, "contents": indexed_text(&g)}),
            )?;
            writeln!(side)?;
        }
        if let Some(bar) = &bar {
            if i % 4096 == 0 {
                bar.set_position(i as u64);
            }
        }
    }
    match format {
        Format::OmicsdiXml => writeln!(w, "  </entries>\n</database>")?,
        Format::PubmedXml => writeln!(w, "</PubmedArticleSet>")?,
    }
    w.flush()?;
    drop(w);
    if let Some(mut side) = side {
        side.flush()?;
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(())
}

fn create(path: &Path) -> Result<Box<dyn Write>> {
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let buf = std::io::BufWriter::with_capacity(1 << 20, file);
    Ok(if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::write::GzEncoder::new(
            buf,
            flate2::Compression::fast(),
        ))
    } else {
        Box::new(buf)
    })
}
