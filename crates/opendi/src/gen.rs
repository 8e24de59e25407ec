//! `opendi gen`: a deterministic generator of realistic records (OmicsDI XML, PubMed XML) for
//! demos, tests and benchmarks at any size. Everything it writes comes from the word lists
//! below (written for this project) combined at random from a seed.

use anyhow::{Context, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::io::Write;
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
    /// Output file (`.gz` compresses).
    pub out: PathBuf,
}

pub fn run(args: &GenArgs) -> Result<()> {
    write_corpus(&args.out, args.records, args.format, args.seed)?;
    eprintln!("wrote {} records to {}", args.records, args.out.display());
    Ok(())
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
    organism: (&'static str, &'static str),
    tissue: &'static str,
    disease: &'static str,
    cell_type: Option<&'static str>,
    instrument: Option<&'static str>,
    method: &'static str,
    submitter: (String, String, String),
    keywords: Vec<String>,
    date: (i32, u32, u32),
    pmid: Option<u32>,
    journal: &'static str,
    authors: Vec<(String, String)>,
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
        organism: (org.0, org.1),
        tissue,
        disease,
        cell_type,
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
    }
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
    field("species", g.organism.1)?;
    field("tissue", g.tissue)?;
    field("disease", g.disease)?;
    if let Some(c) = g.cell_type {
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
        (capitalise(g.disease), "Y"),
        (capitalise(g.tissue), "N"),
        (capitalise(g.organism.1), "N"),
    ] {
        writeln!(w, "        <MeshHeading><DescriptorName MajorTopicYN=\"{major}\">{}</DescriptorName></MeshHeading>", esc(&term))?;
    }
    writeln!(
        w,
        "      </MeshHeadingList>\n    </MedlineCitation>\n    <PubmedData>\n      <ArticleIdList>"
    )?;
    writeln!(w, "        <ArticleId IdType=\"pubmed\">{pmid}</ArticleId>\n      </ArticleIdList>\n    </PubmedData>\n  </PubmedArticle>")
}

/// Writes `n` records to `out` (gzip when it ends in `.gz`), deterministically from `seed`.
pub fn write_corpus(out: &Path, n: usize, format: Format, seed: u64) -> Result<()> {
    let file = std::fs::File::create(out).with_context(|| format!("creating {}", out.display()))?;
    let buf = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut w: Box<dyn Write> = if out.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::write::GzEncoder::new(
            buf,
            flate2::Compression::fast(),
        ))
    } else {
        Box::new(buf)
    };
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    match format {
        Format::OmicsdiXml => {
            writeln!(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<database>\n  <name>opendi-demo</name>")?;
            writeln!(w, "  <description>Records generated by opendi gen (seed {seed}); not real data</description>")?;
            writeln!(w, "  <release>1</release>\n  <release_date>2026-01-01</release_date>\n  <entry_count>{n}</entry_count>\n  <entries>")?;
            for i in 0..n {
                write_omicsdi(&mut w, &generate(&mut rng, i))?;
            }
            writeln!(w, "  </entries>\n</database>")?;
        }
        Format::PubmedXml => {
            writeln!(
                w,
                "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<PubmedArticleSet>"
            )?;
            for i in 0..n {
                let g = generate(&mut rng, i);
                write_pubmed(&mut w, &g, 30_000_000 + i as u32)?;
            }
            writeln!(w, "</PubmedArticleSet>")?;
        }
    }
    w.flush()?;
    drop(w);
    Ok(())
}
