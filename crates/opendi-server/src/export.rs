//! Citation and metadata exports of one dataset: JSON (the API's detail shape), schema.org
//! JSON-LD, BibTeX and RIS. Also the JSON-LD of the page head and `/ws/seo/schema`.

use crate::dto::{self, PublicationDto};
use opendi_engine::StoredRecord;
use serde_json::{json, Value};

/// The export formats: (path name, content type, file extension).
pub const FORMATS: [(&str, &str, &str); 4] = [
    ("json", "application/json", "json"),
    ("jsonld", "application/ld+json", "jsonld"),
    ("bibtex", "application/x-bibtex; charset=utf-8", "bib"),
    (
        "ris",
        "application/x-research-info-systems; charset=utf-8",
        "ris",
    ),
];

/// schema.org `Dataset` (what Google Dataset Search reads). `base` is the site's absolute
/// root (`http://host`), so `url` is absolute as the vocabulary expects.
pub fn schema_org(rec: &StoredRecord, pubs: &[PublicationDto], base: &str) -> Value {
    let d = &rec.dataset;
    let url = format!("{base}{}", dto::dataset_url(&d.repository, &d.accession));
    let repo_name = opendi_model::repository_name(&d.repository);
    let mut description = crate::render::plain_text(&d.description);
    // Google requires 50 to 5000 characters; a short or missing abstract is completed from
    // what the record is, never left too short to be listed.
    if description.chars().count() < 50 {
        let extra = format!(
            "{}{} dataset {} from {}.",
            if description.is_empty() { "" } else { " " },
            d.omics_types
                .first()
                .map(String::as_str)
                .unwrap_or("Biomedical"),
            d.accession,
            repo_name
        );
        description.push_str(&extra);
        if !d.title.is_empty() {
            description.push(' ');
            description.push_str(&d.title);
        }
    }
    if description.chars().count() > 5000 {
        description = description.chars().take(4999).chain(['…']).collect();
    }
    let mut keywords = dto::keywords(d);
    keywords.extend(d.omics_types.iter().cloned());
    keywords.extend(dto::organisms(d).into_iter().map(|o| o.name));
    keywords.extend(d.diseases.iter().map(|t| t.label.clone()));
    keywords.extend(d.tissues.iter().map(|t| t.label.clone()));
    let mut identifier = vec![json!(d.accession)];
    identifier.extend(d.secondary_accessions.iter().map(|a| json!(a)));
    let mut doc = json!({
        "@context": "https://schema.org",
        "@type": "Dataset",
        "name": d.title,
        "description": description,
        "identifier": identifier,
        "url": url,
        "keywords": keywords,
        "includedInDataCatalog": {
            "@type": "DataCatalog",
            "name": repo_name,
        },
    });
    if let Some(link) = &d.full_dataset_link {
        doc["sameAs"] = json!([link]);
    }
    // A submitter is often an author too: each name once.
    let mut names: Vec<&str> = Vec::new();
    for p in &d.people {
        if !names.contains(&p.name.as_str()) {
            names.push(&p.name);
        }
    }
    let creators: Vec<Value> = names
        .iter()
        .map(|n| json!({ "@type": "Person", "name": n }))
        .collect();
    if !creators.is_empty() {
        doc["creator"] = json!(creators);
    }
    if let Some(date) = d.main_date() {
        doc["datePublished"] = json!(date.to_string());
    }
    let citations: Vec<Value> = pubs
        .iter()
        .map(|p| {
            let mut c = json!({ "@type": "ScholarlyArticle", "name": p.title });
            if let Some(doi) = &p.doi {
                c["identifier"] = json!(format!("https://doi.org/{doi}"));
            } else if let Some(pmid) = &p.pmid {
                c["identifier"] = json!(format!("https://pubmed.ncbi.nlm.nih.gov/{pmid}/"));
            } else if let Some(pmc) = &p.pmcid {
                c["identifier"] = json!(format!("https://europepmc.org/article/PMC/{pmc}"));
            }
            c
        })
        .collect();
    if !citations.is_empty() {
        doc["citation"] = json!(citations);
    }
    if let Some(l) = &d.license {
        doc["license"] = json!(l);
    }
    doc
}

/// JSON for a `<script type="application/ld+json">` block: `<`, `>` and `&` escaped so no
/// value can close the script element.
pub fn script_json(v: &Value) -> String {
    v.to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

fn bib_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '{' | '}' | '%' | '&' | '#' | '_' | '$' => {
                out.push('\\');
                out.push(c);
            }
            '\\' => out.push_str("\\textbackslash{}"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn bib_key(acc: &str) -> String {
    acc.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

pub fn bibtex(rec: &StoredRecord, base: &str) -> String {
    let d = &rec.dataset;
    let url = format!("{base}{}", dto::dataset_url(&d.repository, &d.accession));
    let mut s = format!("@misc{{{},\n", bib_key(&d.accession));
    s.push_str(&format!("  title = {{{}}},\n", bib_escape(&d.title)));
    let mut authors: Vec<String> = Vec::new();
    for p in &d.people {
        let a = bib_escape(&p.name);
        if !authors.contains(&a) {
            authors.push(a);
        }
    }
    if !authors.is_empty() {
        s.push_str(&format!("  author = {{{}}},\n", authors.join(" and ")));
    }
    if let Some(date) = d.main_date() {
        s.push_str(&format!("  year = {{{}}},\n", date.year));
    }
    s.push_str(&format!(
        "  publisher = {{{}}},\n",
        bib_escape(opendi_model::repository_name(&d.repository))
    ));
    s.push_str(&format!(
        "  note = {{Accession {}}},\n",
        bib_escape(&d.accession)
    ));
    s.push_str(&format!(
        "  url = {{{}}}\n}}\n",
        bib_escape(d.full_dataset_link.as_deref().unwrap_or(&url))
    ));
    s
}

fn ris_line(out: &mut String, tag: &str, v: &str) {
    let v = v.split_whitespace().collect::<Vec<_>>().join(" ");
    if !v.is_empty() {
        out.push_str(&format!("{tag}  - {v}\r\n"));
    }
}

pub fn ris(rec: &StoredRecord, base: &str) -> String {
    let d = &rec.dataset;
    let mut s = String::new();
    ris_line(&mut s, "TY", "DATA");
    ris_line(&mut s, "TI", &d.title);
    let mut seen: Vec<&str> = Vec::new();
    for p in &d.people {
        if !seen.contains(&p.name.as_str()) {
            seen.push(&p.name);
            ris_line(&mut s, "AU", &p.name);
        }
    }
    if let Some(date) = d.main_date() {
        ris_line(&mut s, "PY", &date.year.to_string());
        ris_line(&mut s, "DA", &date.to_string().replace('-', "/"));
    }
    ris_line(&mut s, "PB", opendi_model::repository_name(&d.repository));
    ris_line(&mut s, "AN", &d.accession);
    ris_line(
        &mut s,
        "UR",
        &format!("{base}{}", dto::dataset_url(&d.repository, &d.accession)),
    );
    ris_line(&mut s, "AB", &crate::render::plain_text(&d.description));
    for k in dto::keywords(d) {
        ris_line(&mut s, "KW", &k);
    }
    s.push_str("ER  - \r\n");
    s
}
