//! schema.org `Dataset` JSON-LD, as generalist repositories publish it for Google Dataset
//! Search: one object, an array, an `@graph`, a `DataCatalog` listing its `dataset`s, JSON
//! Lines of those, or JSON-LD embedded in an HTML page (`<script type="application/ld+json">`).
//!
//! Repository: the `includedInDataCatalog` name, else the publisher's or provider's name, else
//! the host of the dataset's URL, else `schema_org`. Each source thus keeps its own accession
//! space. Accession: a plain (non-URL, non-DOI) identifier, else the DOI, else `@id`, else `url`.

use crate::detect::head_text;
use crate::trials::jsonin::{self, as_text, Piece};
use crate::{ParseContext, Sniff};
use opendi_model::{
    clean_value, repository_key, Dataset, DateKind, DatedValue, Diagnostic, Evidence, Item,
    Location, Person, PersonRole, PublicationRef, SourceRecord,
};
use serde_json::Value;
use std::collections::HashMap;
use std::io::BufRead;
use std::sync::LazyLock;

pub const FORMAT: &str = "schema-org";
pub const FALLBACK_REPOSITORY: &str = "schema_org";

pub fn sniff(_name: &str, head: &[u8]) -> Sniff {
    let text = head_text(head);
    let t = text.trim_start();
    let lower = t.to_ascii_lowercase();
    if t.starts_with('<') {
        return if lower.contains("application/ld+json") {
            Sniff::Yes
        } else {
            Sniff::No
        };
    }
    if (t.starts_with('{') || t.starts_with('['))
        && t.contains("\"@context\"")
        && lower.contains("schema.org")
        && t.contains("Dataset")
    {
        return Sniff::Yes;
    }
    Sniff::No
}

pub fn parse(
    reader: &mut dyn BufRead,
    ctx: &ParseContext,
    sink: &mut dyn FnMut(Item),
) -> std::io::Result<()> {
    let mut ordinal = 0u64;
    jsonin::read_pieces(reader, &mut |piece| match piece {
        Piece::Line {
            text,
            line,
            utf8_ok,
        } => block(&text, line, utf8_ok, ctx, &mut ordinal, sink),
        Piece::Document {
            text,
            line,
            utf8_ok,
        } => {
            if text.trim_start().starts_with('<') {
                let scripts = ld_scripts(&text);
                if scripts.is_empty() {
                    sink(Item::Diagnostic(Diagnostic::warning(
                        "no-dataset",
                        "the page has no <script type=\"application/ld+json\"> block",
                        Location::new(ctx.file).with_line(line),
                    )));
                }
                for s in scripts {
                    let l = jsonin::line_of(&text, s, line);
                    block(s, l, utf8_ok, ctx, &mut ordinal, sink);
                }
            } else {
                block(&text, line, utf8_ok, ctx, &mut ordinal, sink);
            }
        }
    })
}

/// The contents of the JSON-LD script blocks of an HTML page, as sub-slices of it.
fn ld_scripts(html: &str) -> Vec<&str> {
    let lower = html.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = lower.get(from..).and_then(|r| r.find("<script")) {
        let start = from + i;
        let Some(gt) = lower.get(start..).and_then(|r| r.find('>')) else {
            break;
        };
        let open_end = start + gt + 1;
        let Some(close) = lower.get(open_end..).and_then(|r| r.find("</script")) else {
            break;
        };
        let close = open_end + close;
        let tag = lower.get(start..open_end).unwrap_or("");
        if tag.contains("application/ld+json") {
            if let Some(body) = html.get(open_end..close) {
                let trimmed = body.trim();
                if !trimmed.is_empty() {
                    // Keep a sub-slice so line numbers can be computed.
                    let off = body.find(trimmed).unwrap_or(0);
                    out.push(&body[off..off + trimmed.len()]);
                }
            }
        }
        from = close + 1;
    }
    out
}

fn is_type(v: &Value, ty: &str) -> bool {
    jsonin::list(v.get("@type")).into_iter().any(|t| {
        t.as_str().is_some_and(|s| {
            let s = s.rsplit(['/', ':', '#']).next().unwrap_or(s);
            s == ty
        })
    })
}

/// Finds the Dataset nodes of a JSON-LD value with their exact source text.
fn collect<'a>(raw: &'a str, v: &Value, ids: &mut HashMap<String, Value>, out: &mut Vec<&'a str>) {
    match v {
        Value::Array(_) => {
            if let Ok(items) = jsonin::split_top(raw) {
                for (item, val) in items.iter().zip(v.as_array().into_iter().flatten()) {
                    collect(item.get(), val, ids, out);
                }
            }
        }
        Value::Object(o) => {
            if let Some(id) = o.get("@id").and_then(Value::as_str) {
                if o.len() > 1 {
                    ids.insert(id.to_string(), v.clone());
                }
            }
            if is_type(v, "Dataset") {
                out.push(raw);
                return;
            }
            if let Some(members) = jsonin::members(raw) {
                for (k, r) in members {
                    if k == "@graph" || k == "dataset" {
                        if let Some(val) = o.get(&k) {
                            collect(r.get(), val, ids, out);
                        }
                    }
                }
            }
        }
        _ => {}
    }
}

fn block(
    text: &str,
    line: u64,
    utf8_ok: bool,
    ctx: &ParseContext,
    ordinal: &mut u64,
    sink: &mut dyn FnMut(Item),
) {
    let v: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            sink(Item::Diagnostic(jsonin::syntax_diagnostic(
                &e,
                ctx.file,
                line,
                "the JSON-LD block",
            )));
            return;
        }
    };
    let mut ids = HashMap::new();
    let mut found = Vec::new();
    let raw_top = text.trim();
    collect(raw_top, &v, &mut ids, &mut found);
    if found.is_empty() {
        sink(Item::Diagnostic(Diagnostic::warning(
            "no-dataset",
            "the JSON-LD holds no schema.org Dataset",
            Location::new(ctx.file).with_line(line),
        )));
    }
    for raw in found {
        let Ok(node) = serde_json::from_str::<Value>(raw) else {
            continue;
        };
        *ordinal += 1;
        let l = jsonin::line_of(text, raw, line);
        let rec = dataset(raw, &node, &ids, l, utf8_ok, *ordinal, ctx);
        sink(Item::Record(Box::new(rec)));
    }
}

/// Follows a bare `{"@id": …}` reference to the node of the same graph.
fn resolve<'a>(v: &'a Value, ids: &'a HashMap<String, Value>) -> &'a Value {
    if let Some(o) = v.as_object() {
        if o.len() == 1 {
            if let Some(node) = o
                .get("@id")
                .and_then(Value::as_str)
                .and_then(|i| ids.get(i))
            {
                return node;
            }
        }
    }
    v
}

/// The text of a value: a string, a number, a `{"@value": …}`, or the first of a list.
fn text(v: Option<&Value>) -> Option<String> {
    let v = v?;
    match v {
        Value::Array(a) => a.iter().find_map(|x| text(Some(x))),
        Value::Object(o) => o.get("@value").and_then(|x| text(Some(x))),
        _ => jsonin::scalar(v).and_then(|s| clean_value(&s)),
    }
}

fn items<'a>(v: Option<&'a Value>, ids: &'a HashMap<String, Value>) -> Vec<&'a Value> {
    jsonin::list(v)
        .into_iter()
        .map(|x| resolve(x, ids))
        .collect()
}

/// A name for a Person, Organization or Thing: `name`, else given + family name; or the
/// value itself when it is text.
fn name_of(v: &Value) -> Option<String> {
    if v.is_string() {
        return text(Some(v));
    }
    text(v.get("name")).or_else(|| {
        let parts: Vec<String> = ["givenName", "familyName"]
            .iter()
            .filter_map(|k| text(v.get(*k)))
            .collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    })
}

fn host(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let h = rest.split(['/', '?', '#']).next()?.to_ascii_lowercase();
    let h = h.strip_prefix("www.").unwrap_or(&h).to_string();
    (!h.is_empty()).then_some(h)
}

const MAPPED: [&str; 30] = [
    "@context",
    "@type",
    "@id",
    "name",
    "description",
    "identifier",
    "url",
    "sameAs",
    "keywords",
    "creator",
    "author",
    "datePublished",
    "dateCreated",
    "dateModified",
    "license",
    "includedInDataCatalog",
    "citation",
    "variableMeasured",
    "measurementTechnique",
    "distribution",
    "spatialCoverage",
    "temporalCoverage",
    "isAccessibleForFree",
    "about",
    "healthCondition",
    "taxonomicRange",
    "publisher",
    "provider",
    "contributor",
    "maintainer",
];

fn dataset(
    raw: &str,
    v: &Value,
    ids: &HashMap<String, Value>,
    line: u64,
    utf8_ok: bool,
    ordinal: u64,
    ctx: &ParseContext,
) -> SourceRecord {
    let mut d = Dataset::default();
    let mut diags = Vec::new();
    d.title = text(v.get("name")).unwrap_or_default();
    d.description = text(v.get("description")).unwrap_or_default();

    // Identifiers.
    let mut plain: Vec<String> = Vec::new();
    let mut dois: Vec<String> = Vec::new();
    for id in items(v.get("identifier"), ids) {
        let (value, label) = match id {
            Value::Object(_) => (
                text(id.get("value"))
                    .or_else(|| text(id.get("url")))
                    .or_else(|| text(id.get("@id"))),
                text(id.get("propertyID")),
            ),
            _ => (text(Some(id)), None),
        };
        let Some(value) = value else { continue };
        if let Some(x) = jsonin::doi(&value).or_else(|| {
            label
                .as_deref()
                .filter(|l| l.eq_ignore_ascii_case("doi"))
                .and_then(|_| jsonin::doi(&format!("doi:{value}")))
        }) {
            if !dois.contains(&x) {
                dois.push(x);
            }
        } else if value.contains("://") {
            d.push_additional("identifier_url", &value);
        } else if !plain.contains(&value) {
            if let Some(l) = &label {
                d.add_cross_ref(l, &value, Evidence::Declared);
            }
            plain.push(value);
        }
    }
    let at_id = text(v.get("@id"));
    let url = text(v.get("url"));
    for s in jsonin::strings(v.get("sameAs")) {
        if let Some(x) = jsonin::doi(&s) {
            if !dois.contains(&x) {
                dois.push(x);
            }
        }
        d.push_additional("same_as", &s);
    }
    let accession = plain
        .first()
        .cloned()
        .or_else(|| dois.first().cloned())
        .or_else(|| {
            at_id
                .clone()
                .filter(|i| !i.starts_with("_:") && !i.starts_with('#'))
        })
        .or_else(|| url.clone());
    for x in plain.iter().chain(dois.iter()) {
        if Some(x) != accession.as_ref() {
            Dataset::push_unique(&mut d.secondary_accessions, x);
        }
    }
    for x in &dois {
        d.add_cross_ref("DOI", x, Evidence::Declared);
    }
    let label = accession.clone().unwrap_or_else(|| format!("#{ordinal}"));
    let loc = Location::new(ctx.file)
        .with_record(label.clone())
        .with_line(line);
    if !utf8_ok {
        diags.push(Diagnostic::warning(
            "invalid-utf8",
            "invalid UTF-8 replaced with U+FFFD",
            loc.clone(),
        ));
    }
    d.full_dataset_link = url
        .clone()
        .or_else(|| at_id.clone().filter(|i| i.starts_with("http")))
        .or_else(|| dois.first().map(|x| format!("https://doi.org/{x}")));

    // Repository.
    let catalog = items(v.get("includedInDataCatalog"), ids)
        .into_iter()
        .find_map(name_of);
    let publisher = items(v.get("publisher"), ids).into_iter().find_map(name_of);
    let provider = items(v.get("provider"), ids).into_iter().find_map(name_of);
    for (k, val) in [
        ("catalog", &catalog),
        ("publisher", &publisher),
        ("provider", &provider),
    ] {
        if let Some(x) = val {
            d.push_additional(k, x);
        }
    }
    d.repository = catalog
        .as_deref()
        .or(publisher.as_deref())
        .or(provider.as_deref())
        .map(repository_key)
        .or_else(|| {
            d.full_dataset_link
                .as_deref()
                .and_then(host)
                .map(|h| repository_key(&h))
        })
        .filter(|k| !k.is_empty())
        .unwrap_or_else(|| FALLBACK_REPOSITORY.to_string());
    match accession {
        Some(a) => d.accession = a,
        None => {
            diags.push(Diagnostic::error(
                "missing-id",
                "the Dataset has no identifier, @id or url",
                loc.clone(),
            ));
            d.accession = format!("{}-entry-{ordinal}", d.repository);
        }
    }

    // Keywords: a comma-separated text or a list of texts / DefinedTerms.
    for k in items(v.get("keywords"), ids) {
        match k {
            Value::String(s) => {
                for part in s.split(',') {
                    Dataset::push_unique(&mut d.submitter_keywords, part);
                }
            }
            other => {
                if let Some(n) = name_of(other) {
                    Dataset::push_unique(&mut d.submitter_keywords, &n);
                }
            }
        }
    }
    for (key, role) in [
        ("creator", PersonRole::Author),
        ("author", PersonRole::Author),
        ("maintainer", PersonRole::Contact),
        ("contributor", PersonRole::Investigator),
    ] {
        for c in items(v.get(key), ids) {
            let Some(name) = name_of(c) else { continue };
            let mut p = Person::new(name, role);
            let affs: Vec<String> = items(c.get("affiliation"), ids)
                .into_iter()
                .filter_map(name_of)
                .collect();
            if !affs.is_empty() {
                p.affiliation = Some(affs.join("; "));
            }
            p.email = text(c.get("email")).map(|e| e.trim_start_matches("mailto:").to_string());
            p.orcid = [c.get("@id"), c.get("identifier"), c.get("sameAs")]
                .into_iter()
                .flat_map(|x| items(x, ids))
                .filter_map(|x| text(Some(x)).or_else(|| text(x.get("value"))))
                .find_map(|x| jsonin::orcid(&x));
            if !d.people.contains(&p) {
                d.people.push(p);
            }
        }
    }
    for (key, kind) in [
        ("datePublished", DateKind::Publication),
        ("dateCreated", DateKind::Creation),
        ("dateModified", DateKind::LastModification),
    ] {
        if let Some(raw) = text(v.get(key)) {
            let value = jsonin::parse_date(&raw);
            d.dates.push(DatedValue { kind, value, raw });
        }
    }
    d.license = items(v.get("license"), ids).into_iter().find_map(|l| {
        text(Some(l))
            .or_else(|| text(l.get("url")))
            .or_else(|| text(l.get("@id")))
            .or_else(|| text(l.get("name")))
    });
    for c in items(v.get("citation"), ids) {
        let cite_text = if c.is_string() {
            text(Some(c))
        } else {
            text(c.get("name")).or_else(|| text(c.get("headline")))
        };
        let mut candidates: Vec<String> = Vec::new();
        if let Some(t) = text(Some(c)) {
            candidates.push(t);
        }
        for k in ["@id", "url", "identifier", "sameAs"] {
            for x in items(c.get(k), ids) {
                candidates.extend(text(Some(x)).or_else(|| text(x.get("value"))));
            }
        }
        let doi = candidates.iter().find_map(|x| {
            jsonin::doi(x).or_else(|| {
                // DOIs inside a free-text citation.
                x.find("10.").and_then(|i| {
                    let tail: String = x[i..]
                        .chars()
                        .take_while(|c| !c.is_whitespace() && *c != ',' && *c != ';')
                        .collect();
                    jsonin::doi(tail.trim_end_matches(['.', ')', ']']))
                })
            })
        });
        static PMID_IN_TEXT: LazyLock<regex::Regex> =
            LazyLock::new(|| regex::Regex::new(r"(?i)\bPMID:?\s*(\d{1,9})\b").expect("regex"));
        let pmid = candidates.iter().find_map(|x| {
            jsonin::pmid(x, false).or_else(|| PMID_IN_TEXT.captures(x).map(|c| c[1].to_string()))
        });
        d.add_publication(PublicationRef {
            pmid,
            doi,
            pmcid: None,
            citation: cite_text,
        });
    }
    for x in items(v.get("variableMeasured"), ids) {
        if let Some(n) = name_of(x).or_else(|| text(x.get("value"))) {
            d.push_additional("variable_measured", &n);
        }
    }
    for x in items(v.get("measurementTechnique"), ids) {
        if let Some(n) = name_of(x) {
            d.push_additional("measurement_technique", &n);
        }
    }
    for x in items(v.get("distribution"), ids) {
        if let Some(u) = text(x.get("contentUrl")).or_else(|| text(x.get("url"))) {
            Dataset::push_unique(&mut d.files, &u);
        }
        if let Some(f) = text(x.get("encodingFormat")) {
            d.push_additional("encoding_format", &f);
        }
    }
    for key in ["spatialCoverage", "temporalCoverage"] {
        for x in items(v.get(key), ids) {
            if let Some(n) = name_of(x).or_else(|| as_text(x)) {
                d.push_additional(&snake(key), &n);
            }
        }
    }
    if let Some(f) = text(v.get("isAccessibleForFree")) {
        d.push_additional("is_accessible_for_free", &f);
    }
    // Health conditions: `healthCondition`, and `about` items typed as medical conditions.
    for key in ["healthCondition", "about"] {
        for x in items(v.get(key), ids) {
            let Some(n) = name_of(x) else { continue };
            let is_condition = key == "healthCondition"
                || is_type(x, "MedicalCondition")
                || is_type(x, "Disease")
                || is_type(x, "MedicalSignOrSymptom");
            if is_condition {
                let id = text(x.get("@id"))
                    .or_else(|| text(x.get("code").and_then(|c| c.get("codeValue"))))
                    .or_else(|| text(x.get("identifier")))
                    .map(|i| ontology_id(&i));
                Dataset::push_term(&mut d.diseases, &n, id.as_deref(), Evidence::Declared);
            } else {
                d.push_additional("about", &n);
            }
        }
    }
    // Bioschemas: the organisms a dataset is about.
    for x in items(v.get("taxonomicRange"), ids) {
        let name = name_of(x).unwrap_or_default();
        let taxon = [x.get("@id"), x.get("url"), x.get("identifier")]
            .into_iter()
            .filter_map(|i| text(i))
            .find_map(|i| ncbi_taxon(&i));
        d.push_organism(&name, taxon.as_deref(), Evidence::Declared);
    }
    // Everything else, verbatim.
    if let Some(o) = v.as_object() {
        for (k, val) in o {
            if MAPPED.contains(&k.as_str()) {
                continue;
            }
            for item in jsonin::list(Some(val)) {
                if let Some(t) = as_text(item) {
                    d.push_additional(k, &t);
                }
            }
        }
    }
    if d.title.is_empty() {
        diags.push(Diagnostic::warning(
            "missing-title",
            "the Dataset has no name",
            loc.clone(),
        ));
    }
    for date in &d.dates {
        if date.value.is_none() {
            diags.push(Diagnostic::warning(
                "bad-date",
                format!(
                    "{} date {:?} is not a date this reader knows",
                    date.kind.as_str(),
                    date.raw
                ),
                loc.clone(),
            ));
        }
    }
    SourceRecord {
        dataset: d,
        publication: None,
        raw: raw.to_string(),
        format: FORMAT,
        location: loc,
        diagnostics: diags,
    }
}

/// `http://purl.obolibrary.org/obo/MONDO_0005148` -> `MONDO:0005148`; other values unchanged.
fn ontology_id(v: &str) -> String {
    let tail = v.rsplit('/').next().unwrap_or(v);
    match tail.split_once('_') {
        Some((prefix, rest))
            if v.contains("purl.obolibrary.org")
                && prefix.chars().all(|c| c.is_ascii_alphabetic()) =>
        {
            format!("{prefix}:{rest}")
        }
        _ => v.to_string(),
    }
}

/// The NCBI taxon id in `NCBITaxon_9606`, `…/taxonomy/9606`, `taxonomy:9606`.
fn ncbi_taxon(v: &str) -> Option<String> {
    let lower = v.to_ascii_lowercase();
    if !(lower.contains("taxon") || lower.contains("taxonomy")) {
        return None;
    }
    let digits: String = v
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    (!digits.is_empty()).then_some(digits)
}

fn snake(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_uppercase() {
            out.push('_');
        }
        out.extend(c.to_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_ld_scripts() {
        let html = "<html><head>\n<SCRIPT type=\"application/ld+json\">\n {\"a\": 1} \n</script>\
                    <script>var x;</script></head></html>";
        assert_eq!(ld_scripts(html), ["{\"a\": 1}"]);
        assert!(ld_scripts("<script type=\"application/ld+json\">").is_empty());
    }

    #[test]
    fn ids() {
        assert_eq!(
            ontology_id("http://purl.obolibrary.org/obo/MONDO_0005148"),
            "MONDO:0005148"
        );
        assert_eq!(
            ncbi_taxon("http://purl.bioontology.org/ontology/NCBITAXON/9606").as_deref(),
            Some("9606")
        );
        assert_eq!(ncbi_taxon("https://example.org/9606"), None);
        assert_eq!(
            host("https://www.zenodo.org/record/1").as_deref(),
            Some("zenodo.org")
        );
    }
}
