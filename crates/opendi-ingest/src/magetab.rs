//! MAGE-TAB: an IDF (investigation description, one tag per row, values across the columns)
//! and the SDRF file(s) it names (one row per sample-to-data path).
//!
//! The IDF is the record: its text is the raw, it gives the accession, title, description,
//! dates, people, publications, protocols and design. Each SDRF is read through
//! `ctx.siblings` and contributes the sample facets (organism, organism part, cell type,
//! disease), the array designs and the data files. An SDRF met on its own sniffs as a part of
//! its bundle and is not read by itself.
//!
//! Cells are tab-separated; a cell that starts with `"` is quoted (a doubled `""` inside is one
//! quote). A quote that does not close on its line is read literally, so one stray quote
//! cannot swallow the rest of the file; values spanning lines are therefore not supported.

use crate::arrayexpress::{facet_of, omics_for_experiment_type, Facet};
use crate::{detect::head_text, raw_text, ParseContext, Sniff};
use opendi_model::{
    clean_value, Dataset, DateKind, DatedValue, Diagnostic, Evidence, Item, Location, PartialDate,
    Person, PersonRole, PublicationRef, SourceRecord,
};
use std::io::BufRead;

pub const FORMAT: &str = "mage-tab";
pub const REPOSITORY: &str = "arrayexpress-repository";

/// Folds a tag for comparison: lower case, no white space (`Comment [ArrayExpressAccession]`
/// and `comment[arrayexpressaccession]` are the same tag).
fn fold(tag: &str) -> String {
    tag.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

fn first_cell(line: &str) -> String {
    let cell = line.split('\t').next().unwrap_or("").trim();
    cell.trim_matches('"').to_string()
}

/// IDF: two of its usual tags near the top. SDRF: a header row starting with a node column
/// and holding a column only SDRFs have, or a file named as an SDRF (ISA-Tab study and assay
/// files also start with `Source Name` / `Sample Name`, so the name prefix `s_`/`a_` of
/// ISA-Tab keeps those out).
pub fn sniff(name: &str, head: &[u8]) -> Sniff {
    let text = head_text(head);
    let mut lines = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'));
    let Some(first) = lines.next() else {
        return Sniff::No;
    };
    let tag = fold(&first_cell(first));
    if matches!(
        tag.as_str(),
        "sourcename" | "samplename" | "extractname" | "hybridizationname" | "assayname"
    ) && first.contains('\t')
    {
        let lower = base_name(name).to_ascii_lowercase();
        let isa_name = lower.starts_with("s_") || lower.starts_with("a_");
        let folded = fold(first);
        let sdrf_columns = [
            "hybridizationname",
            "scanname",
            "arraydatafile",
            "arraydesignref",
        ];
        if lower.contains("sdrf") || (!isa_name && sdrf_columns.iter().any(|c| folded.contains(c)))
        {
            return Sniff::Part;
        }
        return Sniff::No;
    }
    let idf_tags = [
        "investigationtitle",
        "mage-tabversion",
        "experimentaldesign",
        "sdrffile",
        "publicreleasedate",
    ];
    let idf_hits = std::iter::once(first)
        .chain(lines.take(40))
        .filter(|l| {
            let t = fold(&first_cell(l));
            idf_tags.contains(&t.as_str()) || t.starts_with("comment[arrayexpress")
        })
        .count();
    if idf_hits >= 2 {
        Sniff::Yes
    } else {
        Sniff::No
    }
}

/// Splits one line into cells, honouring `"…"` quoting.
fn split_cells(line: &str) -> Vec<String> {
    let mut cells = Vec::new();
    let mut rest = line;
    loop {
        if let Some(q) = rest.strip_prefix('"') {
            // Find the closing quote: a `"` not doubled, followed by a tab or the end.
            let mut val = String::new();
            let mut chars = q.char_indices().peekable();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                if c == '"' {
                    if let Some(&(_, '"')) = chars.peek() {
                        val.push('"');
                        chars.next();
                        continue;
                    }
                    let after = &q[i + 1..];
                    if after.is_empty() || after.starts_with('\t') {
                        end = Some(i + 1);
                        break;
                    }
                    val.push(c);
                } else {
                    val.push(c);
                }
            }
            if let Some(e) = end {
                cells.push(val);
                let after = &q[e..];
                match after.strip_prefix('\t') {
                    Some(r) => {
                        rest = r;
                        continue;
                    }
                    None => return cells,
                }
            }
            // Unclosed quote: read the cell literally.
        }
        match rest.split_once('\t') {
            Some((c, r)) => {
                cells.push(c.to_string());
                rest = r;
            }
            None => {
                cells.push(rest.to_string());
                return cells;
            }
        }
    }
}

/// Rows of a tab file: (1-based line, cells), comment and blank lines skipped.
fn rows(text: &str) -> Vec<(u64, Vec<String>)> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|(i, l)| (i as u64 + 1, split_cells(l.trim_end_matches('\r'))))
        .collect()
}

fn base_name(file: &str) -> &str {
    let after_zip = file.rsplit('!').next().unwrap_or(file);
    after_zip.rsplit(['/', '\\']).next().unwrap_or(after_zip)
}

/// `E-MEXP-986` from `E-MEXP-986.idf.txt` or `E-MEXP-986_no_sdrf.idf.txt`.
fn accession_from_name(file: &str) -> Option<String> {
    let b = base_name(file);
    let parts: Vec<&str> = b.splitn(3, '-').collect();
    if parts.len() < 3 || parts[0] != "E" || !parts[1].bytes().all(|c| c.is_ascii_uppercase()) {
        return None;
    }
    let digits: String = parts[2].chars().take_while(char::is_ascii_digit).collect();
    (!digits.is_empty()).then(|| format!("E-{}-{digits}", parts[1]))
}

/// The display name of a sibling, beside the IDF (for locations of SDRF findings).
fn sibling_display(ctx_file: &str, rel: &str) -> String {
    match ctx_file.rfind(['/', '!']) {
        Some(i) => format!("{}{rel}", &ctx_file[..=i]),
        None => rel.to_string(),
    }
}

pub fn parse(
    reader: &mut dyn BufRead,
    ctx: &ParseContext,
    sink: &mut dyn FnMut(Item),
) -> std::io::Result<()> {
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes)?;
    let (text, utf8_ok) = raw_text(&bytes);
    let all_rows = rows(&text);
    if let Some((_, first)) = all_rows.first() {
        if fold(first.first().map(String::as_str).unwrap_or("")) == "sourcename" {
            sink(Item::Diagnostic(Diagnostic::error(
                "sdrf-without-idf",
                "this is an SDRF file; it is read through the IDF that names it",
                Location::new(ctx.file).with_line(1),
            )));
            return Ok(());
        }
    }
    let mut diags = Vec::new();
    if !utf8_ok {
        diags.push(Diagnostic::warning(
            "invalid-utf8",
            "invalid UTF-8 replaced with U+FFFD",
            Location::new(ctx.file).with_line(1),
        ));
    }
    let mut d = Dataset::new(REPOSITORY, "");
    let mut idf = Idf::default();
    for (line, cells) in &all_rows {
        let Some(tag) = cells.first() else { continue };
        let values: Vec<String> = cells[1..].iter().map(|c| c.trim().to_string()).collect();
        idf.apply(&mut d, tag.trim(), &values, *line);
    }
    let accession = idf
        .accession
        .clone()
        .or_else(|| accession_from_name(ctx.file));
    let loc = |l: u64| {
        Location::new(ctx.file)
            .with_record(accession.clone().unwrap_or_default())
            .with_line(l)
    };
    match &accession {
        Some(a) => {
            d.accession = a.clone();
            d.full_dataset_link = Some(format!(
                "https://www.ebi.ac.uk/arrayexpress/experiments/{a}/"
            ));
        }
        None => {
            diags.push(Diagnostic::error(
                "missing-accession",
                "no Comment[ArrayExpressAccession] and the file name holds no E-XXXX-n accession",
                loc(1),
            ));
            d.accession = format!("mage-tab-{}", base_name(ctx.file));
        }
    }
    idf.finish(&mut d);
    if idf.sdrf_files.is_empty() {
        diags.push(Diagnostic::error(
            "missing-sdrf-reference",
            format!(
                "{} names no SDRF file (no 'SDRF File' row): organisms, sample facets and array designs are unknown",
                base_name(ctx.file)
            ),
            loc(1),
        ));
    }
    for (name, line) in &idf.sdrf_files {
        match (ctx.siblings)(name) {
            Some(bytes) => {
                let display = sibling_display(ctx.file, name);
                let (sdrf, sdrf_diags) = parse_sdrf(&bytes, &display, &d.accession);
                sdrf.apply(&mut d);
                diags.extend(sdrf_diags);
            }
            None => diags.push(Diagnostic::error(
                "missing-sdrf-file",
                format!("SDRF file {name:?} named by the IDF cannot be read beside it"),
                loc(*line),
            )),
        }
    }
    validate(&d, ctx, &loc(1), &mut diags);
    sink(Item::Record(Box::new(SourceRecord {
        dataset: d,
        publication: None,
        raw: text,
        format: FORMAT,
        location: loc(1),
        diagnostics: diags,
    })));
    Ok(())
}

/// What the IDF's column-aligned sections hold until the whole file is read.
#[derive(Default)]
struct Idf {
    accession: Option<String>,
    sdrf_files: Vec<(String, u64)>,
    person: [Vec<String>; 6],
    publication: [Vec<String>; 4],
    protocol: [Vec<String>; 2],
}

const PERSON_TAGS: [&str; 6] = [
    "personlastname",
    "personfirstname",
    "personmidinitials",
    "personemail",
    "personaffiliation",
    "personroles",
];
const PUBLICATION_TAGS: [&str; 4] = [
    "pubmedid",
    "publicationdoi",
    "publicationauthorlist",
    "publicationtitle",
];

fn non_empty(values: &[String]) -> impl Iterator<Item = &String> {
    values.iter().filter(|v| clean_value(v).is_some())
}

impl Idf {
    fn apply(&mut self, d: &mut Dataset, tag: &str, values: &[String], line: u64) {
        let f = fold(tag);
        let first = non_empty(values).next().cloned();
        if let Some(i) = PERSON_TAGS.iter().position(|t| *t == f) {
            self.person[i] = values.to_vec();
            return;
        }
        if let Some(i) = PUBLICATION_TAGS.iter().position(|t| *t == f) {
            self.publication[i] = values.to_vec();
            return;
        }
        match f.as_str() {
            "investigationtitle" => d.title = first.unwrap_or_default(),
            "experimentdescription" => {
                d.description = non_empty(values).cloned().collect::<Vec<_>>().join("\n")
            }
            "comment[arrayexpressaccession]" => self.accession = first,
            "comment[secondaryaccession]" => {
                for v in non_empty(values) {
                    if v.starts_with("GSE") || v.starts_with("GDS") {
                        d.add_cross_ref("geo", v, Evidence::Declared);
                    }
                    Dataset::push_unique(&mut d.secondary_accessions, v);
                }
            }
            "publicreleasedate" | "dateofexperiment" | "comment[arrayexpresssubmissiondate]" => {
                let kind = match f.as_str() {
                    "publicreleasedate" => DateKind::Publication,
                    "dateofexperiment" => DateKind::Other("experiment".into()),
                    _ => DateKind::Submission,
                };
                for v in non_empty(values) {
                    d.dates.push(DatedValue {
                        kind: kind.clone(),
                        value: PartialDate::parse(v),
                        raw: v.clone(),
                    });
                }
            }
            "experimentaldesign" | "comment[aeexperimenttype]" => {
                for v in non_empty(values) {
                    if let Some(t) = omics_for_experiment_type(v) {
                        Dataset::push_unique(&mut d.omics_types, t);
                    }
                    d.push_additional(tag, v);
                }
            }
            "protocoldescription" | "protocoltype" => {
                let i = usize::from(f == "protocoltype");
                self.protocol[i] = values.to_vec();
                // Descriptions become protocols below; the types are kept as written too.
                if i == 1 {
                    for v in non_empty(values) {
                        d.push_additional(tag, v);
                    }
                }
            }
            "sdrffile" => {
                for v in non_empty(values) {
                    self.sdrf_files.push((v.clone(), line));
                }
                for v in non_empty(values) {
                    d.push_additional(tag, v);
                }
            }
            _ => {
                for v in non_empty(values) {
                    d.push_additional(tag, v);
                }
            }
        }
    }

    /// Builds people, publications and protocols from the aligned columns.
    fn finish(&self, d: &mut Dataset) {
        let get = |col: &[String], i: usize| col.get(i).and_then(|v| clean_value(v));
        let n = self.person.iter().map(Vec::len).max().unwrap_or(0);
        for i in 0..n {
            let name = [
                get(&self.person[1], i),
                get(&self.person[2], i),
                get(&self.person[0], i),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
            if name.is_empty() {
                continue;
            }
            let roles = get(&self.person[5], i)
                .unwrap_or_default()
                .to_ascii_lowercase();
            let role = if roles.contains("submitter") {
                PersonRole::Submitter
            } else if roles.contains("investigator") {
                PersonRole::Investigator
            } else {
                PersonRole::Author
            };
            let mut p = Person::new(name.clone(), role);
            p.email = get(&self.person[3], i);
            p.affiliation = get(&self.person[4], i);
            if let Some(r) = get(&self.person[5], i) {
                d.push_additional("Person Roles", &format!("{name}: {r}"));
            }
            d.people.push(p);
        }
        let n = self.publication.iter().map(Vec::len).max().unwrap_or(0);
        for i in 0..n {
            let cite: Vec<String> = [get(&self.publication[2], i), get(&self.publication[3], i)]
                .into_iter()
                .flatten()
                .collect();
            d.add_publication(PublicationRef {
                pmid: get(&self.publication[0], i),
                doi: get(&self.publication[1], i),
                pmcid: None,
                citation: (!cite.is_empty()).then(|| cite.join(". ")),
            });
        }
        for (i, desc) in self.protocol[0].iter().enumerate() {
            if clean_value(desc).is_none() {
                continue;
            }
            let kind = get(&self.protocol[1], i)
                .unwrap_or_default()
                .to_ascii_lowercase();
            let data_side = [
                "transformation",
                "normalization",
                "feature_extraction",
                "feature extraction",
                "data processing",
                "image_acquisition",
                "image acquisition",
            ];
            let list = if data_side.iter().any(|k| kind.contains(k)) {
                &mut d.data_protocols
            } else {
                &mut d.sample_protocols
            };
            Dataset::push_unique(list, desc);
        }
    }
}

/// What an SDRF contributes to its experiment.
#[derive(Debug, Default)]
pub struct SdrfFacts {
    /// (name, NCBI taxon id)
    pub organisms: Vec<(String, Option<String>)>,
    /// (label, ontology accession)
    pub tissues: Vec<(String, Option<String>)>,
    pub cell_types: Vec<(String, Option<String>)>,
    pub diseases: Vec<(String, Option<String>)>,
    pub array_designs: Vec<String>,
    pub files: Vec<String>,
    /// Other columns: header as written, distinct values in order.
    pub other: Vec<(String, Vec<String>)>,
    pub rows: usize,
}

impl SdrfFacts {
    fn apply(self, d: &mut Dataset) {
        for (name, tax) in &self.organisms {
            d.push_organism(name, tax.as_deref(), Evidence::Declared);
        }
        for (l, id) in &self.tissues {
            Dataset::push_term(&mut d.tissues, l, id.as_deref(), Evidence::Declared);
        }
        for (l, id) in &self.cell_types {
            Dataset::push_term(&mut d.cell_types, l, id.as_deref(), Evidence::Declared);
        }
        for (l, id) in &self.diseases {
            Dataset::push_term(&mut d.diseases, l, id.as_deref(), Evidence::Declared);
        }
        for a in &self.array_designs {
            Dataset::push_unique(&mut d.instruments, a);
        }
        for f in &self.files {
            Dataset::push_unique(&mut d.files, f);
        }
        for (h, vals) in self.other {
            let list = d.additional.entry(format!("SDRF {h}")).or_default();
            for v in vals {
                if !list.contains(&v) {
                    list.push(v);
                }
            }
        }
    }
}

/// Column names the MAGE-TAB 1.1 specification defines, folded (bracketed ones by their stem).
const NODE_AND_ATTRIBUTE_COLUMNS: &[&str] = &[
    "sourcename",
    "samplename",
    "extractname",
    "labeledextractname",
    "hybridizationname",
    "assayname",
    "scanname",
    "normalizationname",
    "arraydatafile",
    "derivedarraydatafile",
    "arraydatamatrixfile",
    "derivedarraydatamatrixfile",
    "imagefile",
    "arraydesignfile",
    "arraydesignref",
    "protocolref",
    "performer",
    "date",
    "termsourceref",
    "termaccessionnumber",
    "materialtype",
    "label",
    "description",
    "provider",
    "technologytype",
];
const BRACKETED_COLUMNS: &[&str] = &[
    "characteristics",
    "comment",
    "factorvalue",
    "parametervalue",
    "unit",
];

/// How a header is written, compared to the specification's spelling.
enum HeaderCheck {
    Ok,
    /// Known once case and spacing are ignored ("FactorValue [genotype]").
    Nonstandard(&'static str),
    Unknown,
}

fn check_header(h: &str) -> HeaderCheck {
    let f = fold(h);
    let (stem, bracket) = match f.split_once('[') {
        Some((s, rest)) => (s.to_string(), rest.ends_with(']') && rest.len() > 1),
        None => (f.clone(), false),
    };
    let canonical = |stem: &str| -> Option<&'static str> {
        Some(match stem {
            "characteristics" => "Characteristics",
            "comment" => "Comment",
            "factorvalue" => "Factor Value",
            "parametervalue" => "Parameter Value",
            "unit" => "Unit",
            _ => return None,
        })
    };
    if BRACKETED_COLUMNS.contains(&stem.as_str()) {
        if !bracket {
            return HeaderCheck::Unknown;
        }
        let written = h.split('[').next().unwrap_or("").trim();
        let canon = canonical(&stem).unwrap_or("");
        if written == canon || written.eq_ignore_ascii_case(canon) {
            HeaderCheck::Ok
        } else {
            HeaderCheck::Nonstandard(canon)
        }
    } else if NODE_AND_ATTRIBUTE_COLUMNS.contains(&f.as_str()) {
        HeaderCheck::Ok
    } else {
        HeaderCheck::Unknown
    }
}

/// Reads an SDRF: the facts for the record and the findings (unknown or misspelt column
/// headers, rows of the wrong width), located in `file` for record `record`.
pub fn parse_sdrf(bytes: &[u8], file: &str, record: &str) -> (SdrfFacts, Vec<Diagnostic>) {
    let (text, utf8_ok) = raw_text(bytes);
    let mut diags = Vec::new();
    let loc = |l: u64| Location::new(file).with_record(record).with_line(l);
    if !utf8_ok {
        diags.push(Diagnostic::warning(
            "invalid-utf8",
            "invalid UTF-8 in the SDRF replaced with U+FFFD",
            loc(1),
        ));
    }
    let mut facts = SdrfFacts::default();
    let all = rows(&text);
    let Some((header_line, header)) = all.first() else {
        diags.push(Diagnostic::error(
            "empty-sdrf",
            "the SDRF file is empty",
            loc(1),
        ));
        return (facts, diags);
    };
    let header: Vec<String> = header.iter().map(|h| h.trim().to_string()).collect();
    let body = &all[1..];
    // Trailing empty header cells (a line ending in a tab) are not columns.
    let width = header
        .iter()
        .rposition(|h| !h.is_empty())
        .map(|i| i + 1)
        .unwrap_or(0);
    let mut unknown = Vec::new();
    for (i, h) in header.iter().take(width).enumerate() {
        match check_header(h) {
            HeaderCheck::Ok => {}
            HeaderCheck::Nonstandard(canon) => diags.push(Diagnostic::warning(
                "nonstandard-sdrf-column",
                format!(
                    "column {} header {h:?} is not spelt as the specification writes it ({canon:?})",
                    i + 1
                ),
                loc(*header_line),
            )),
            HeaderCheck::Unknown => unknown.push(format!("{} ({h:?})", i + 1)),
        }
    }
    if !unknown.is_empty() {
        diags.push(Diagnostic::error(
            "unknown-sdrf-column",
            format!(
                "unknown SDRF column header(s) at column {}; their values are kept but not understood",
                unknown.join(", ")
            ),
            loc(*header_line),
        ));
    }
    for (line, cells) in body {
        let used = cells
            .iter()
            .rposition(|c| !c.trim().is_empty())
            .map(|i| i + 1)
            .unwrap_or(0);
        if used > width {
            diags.push(Diagnostic::warning(
                "sdrf-row-width",
                format!("row has {used} cells but the header names {width} columns"),
                loc(*line),
            ));
        }
    }
    facts.rows = body.len();
    let cell =
        |row: &[String], i: usize| -> Option<String> { row.get(i).and_then(|c| clean_value(c)) };
    for (i, h) in header.iter().take(width).enumerate() {
        let f = fold(h);
        // Term Source REF / Term Accession Number / Unit qualify the column before them.
        if matches!(f.as_str(), "termsourceref" | "termaccessionnumber") || f.starts_with("unit[") {
            continue;
        }
        let next_is =
            |k: usize, name: &str| header.get(k).map(|h| fold(h) == name).unwrap_or(false);
        // The accession column after this one (after its Term Source REF).
        let acc_col = if next_is(i + 1, "termaccessionnumber") {
            Some(i + 1)
        } else if next_is(i + 1, "termsourceref") && next_is(i + 2, "termaccessionnumber") {
            Some(i + 2)
        } else {
            None
        };
        let facet = f
            .strip_prefix("characteristics[")
            .and_then(|r| r.strip_suffix(']'))
            .and_then(facet_of);
        let is_file = matches!(
            f.as_str(),
            "arraydatafile"
                | "derivedarraydatafile"
                | "arraydatamatrixfile"
                | "derivedarraydatamatrixfile"
                | "imagefile"
        ) || (f.starts_with("comment[") && f.contains("ftpfile"));
        // A Unit column qualifies the value before it: "16" and "h" are read as "16 h".
        let unit_col = header
            .get(i + 1)
            .filter(|h| fold(h).starts_with("unit["))
            .map(|_| i + 1);
        let mut other_vals: Vec<String> = Vec::new();
        for (_, row) in body {
            let Some(mut v) = cell(row, i) else { continue };
            if let Some(u) = unit_col.and_then(|k| cell(row, k)) {
                v = format!("{v} {u}");
            }
            let acc = acc_col.and_then(|k| cell(row, k));
            let push = |list: &mut Vec<(String, Option<String>)>, acc: Option<String>| {
                if !list.iter().any(|(l, _)| l.eq_ignore_ascii_case(&v)) {
                    list.push((v.clone(), acc));
                }
            };
            match (&facet, f.as_str()) {
                (Some(Facet::Organism), _) => {
                    let tax = acc.map(|a| {
                        a.trim_start_matches("NCBITaxon_")
                            .trim_start_matches("NCBITaxon:")
                            .to_string()
                    });
                    let tax = tax.filter(|t| t.bytes().all(|b| b.is_ascii_digit()));
                    push(&mut facts.organisms, tax)
                }
                (Some(Facet::Tissue), _) => push(&mut facts.tissues, acc),
                (Some(Facet::CellType), _) => push(&mut facts.cell_types, acc),
                (Some(Facet::Disease), _) => push(&mut facts.diseases, acc),
                (None, "arraydesignref") => {
                    if !facts.array_designs.contains(&v) {
                        facts.array_designs.push(v.clone());
                    }
                }
                _ if is_file => {
                    if !facts.files.contains(&v) {
                        facts.files.push(v.clone());
                    }
                }
                _ => {
                    if !other_vals.contains(&v) {
                        other_vals.push(v.clone());
                    }
                }
            }
        }
        if !other_vals.is_empty() {
            match facts.other.iter_mut().find(|(k, _)| k == h) {
                Some((_, list)) => {
                    for v in other_vals {
                        if !list.contains(&v) {
                            list.push(v);
                        }
                    }
                }
                None => facts.other.push((h.clone(), other_vals)),
            }
        }
    }
    (facts, diags)
}

fn validate(d: &Dataset, ctx: &ParseContext, loc: &Location, diags: &mut Vec<Diagnostic>) {
    if d.title.is_empty() {
        diags.push(Diagnostic::error(
            "missing-title",
            "the IDF has no Investigation Title",
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

    #[test]
    fn quoted_cells() {
        assert_eq!(split_cells("a\t\"b\tc\"\td"), vec!["a", "b\tc", "d"]);
        assert_eq!(
            split_cells("\"say \"\"hi\"\"\"\tx"),
            vec!["say \"hi\"", "x"]
        );
        // A stray quote inside a cell, and an unclosed one, are read literally.
        assert_eq!(
            split_cells("the \"To total method\tz"),
            vec!["the \"To total method", "z"]
        );
        assert_eq!(split_cells("\"open\tz"), vec!["\"open", "z"]);
        assert_eq!(split_cells(""), vec![""]);
    }

    #[test]
    fn headers() {
        assert!(matches!(
            check_header("Characteristics [Organism]"),
            HeaderCheck::Ok
        ));
        assert!(matches!(
            check_header("Characteristics[Organism]"),
            HeaderCheck::Ok
        ));
        assert!(matches!(
            check_header("FactorValue [genotype]"),
            HeaderCheck::Nonstandard("Factor Value")
        ));
        assert!(matches!(check_header("blah blah"), HeaderCheck::Unknown));
        assert!(matches!(check_header("Comment"), HeaderCheck::Unknown));
    }

    #[test]
    fn sniffs() {
        assert_eq!(
            sniff(
                "x",
                b"Investigation Title\tT\nPublic Release Date\t2007-01-01\n"
            ),
            Sniff::Yes
        );
        assert_eq!(
            sniff(
                "E-X-1.sdrf.txt",
                b"Source Name\tCharacteristics[Organism]\n"
            ),
            Sniff::Part
        );
        assert_eq!(
            sniff("x.txt", b"Source Name\tSample Name\tHybridization Name\n"),
            Sniff::Part
        );
        // ISA-Tab study file: not a MAGE-TAB part.
        assert_eq!(
            sniff(
                "s_study.txt",
                b"Source Name\tCharacteristics[Organism]\tSample Name\n"
            ),
            Sniff::No
        );
        assert_eq!(sniff("x", b"hello\tworld\n"), Sniff::No);
    }

    #[test]
    fn accession_from_file_names() {
        assert_eq!(
            accession_from_name("/a/E-MEXP-986_no_sdrf.idf.txt").as_deref(),
            Some("E-MEXP-986")
        );
        assert_eq!(accession_from_name("x.idf.txt"), None);
    }
}
