//! DataCite JSON: the REST API shape (`{"data": {"id", "type": "dois", "attributes": {…}}}`,
//! or a page of them under `"data": […]`) and the plain metadata-schema JSON (`{"doi",
//! "titles", "creators", …}`), one document per file, an array, or JSON Lines.
//!
//! Records are of repository `datacite` unless the publisher is a repository opendi knows
//! (then they take its key, so a PRIDE dataset's DOI record meets the PRIDE record).

use crate::detect::head_text;
use crate::trials::jsonin::{self, as_text, at, list, s, scalar, strings, Piece};
use crate::{ParseContext, Sniff};
use opendi_model::{
    clean_value, repository_key, Dataset, DateKind, DatedValue, Diagnostic, Evidence, Item,
    Location, Person, PersonRole, PublicationRef, SourceRecord, KNOWN_REPOSITORIES,
};
use serde_json::Value;
use std::io::BufRead;

pub const FORMAT: &str = "datacite-json";
pub const REPOSITORY: &str = "datacite";

pub fn sniff(_name: &str, head: &[u8]) -> Sniff {
    let text = head_text(head);
    let t = text.trim_start();
    if !(t.starts_with('{') || t.starts_with('[')) || t.contains("\"@context\"") {
        return Sniff::No;
    }
    let compact: String = t.chars().filter(|c| !c.is_whitespace()).collect();
    let api = compact.contains("\"type\":\"dois\"");
    let schema = compact.contains("\"doi\":")
        && (compact.contains("\"titles\":") || compact.contains("\"creators\":"));
    if api || schema {
        Sniff::Yes
    } else {
        Sniff::No
    }
}

pub fn parse(
    reader: &mut dyn BufRead,
    ctx: &ParseContext,
    sink: &mut dyn FnMut(Item),
) -> std::io::Result<()> {
    let mut ordinal = 0u64;
    jsonin::read_pieces(reader, &mut |piece| {
        let (text, line, utf8_ok, what) = match piece {
            Piece::Line {
                text,
                line,
                utf8_ok,
            } => (text, line, utf8_ok, format!("line {line}")),
            Piece::Document {
                text,
                line,
                utf8_ok,
            } => (text, line, utf8_ok, "the document".to_string()),
        };
        let tops = match jsonin::split_top(&text) {
            Ok(t) => t,
            Err(e) => {
                sink(Item::Diagnostic(jsonin::syntax_diagnostic(
                    &e, ctx.file, line, &what,
                )));
                return;
            }
        };
        for top in tops {
            // `{"data": …}` envelopes: one record, or a page of records.
            let mut parts = vec![top.get()];
            if let Some(members) = jsonin::members(top.get()) {
                if let Some((_, data)) = members.iter().find(|(k, _)| k == "data") {
                    if data.get().trim_start().starts_with('[') {
                        parts = jsonin::split_top(data.get())
                            .map(|v| v.iter().map(|r| r.get()).collect())
                            .unwrap_or_default();
                    }
                }
            }
            for part in parts {
                let l = jsonin::line_of(&text, part, line);
                match serde_json::from_str::<Value>(part) {
                    Ok(v) => {
                        ordinal += 1;
                        if let Some(r) = record(part, &v, l, utf8_ok, ordinal, ctx, sink) {
                            sink(Item::Record(Box::new(r)));
                        }
                    }
                    Err(e) => sink(Item::Diagnostic(jsonin::syntax_diagnostic(
                        &e,
                        ctx.file,
                        l,
                        "the record",
                    ))),
                }
            }
        }
    })
}

fn is_known_repository(key: &str) -> bool {
    KNOWN_REPOSITORIES.iter().any(|(k, _, _)| *k == key)
}

fn date_kind(t: &str) -> DateKind {
    match t.to_ascii_lowercase().as_str() {
        "issued" => DateKind::Publication,
        "created" => DateKind::Creation,
        "updated" => DateKind::Updated,
        "submitted" => DateKind::Submission,
        other => DateKind::Other(other.to_string()),
    }
}

/// Relation types that make the related item a publication about or used by this dataset.
const PUBLICATION_RELATIONS: [&str; 7] = [
    "issupplementto",
    "iscitedby",
    "references",
    "isdescribedby",
    "isreferencedby",
    "isdocumentedby",
    "cites",
];

/// A name as a person record: `name`, else `givenName familyName`.
fn agent_name(c: &Value) -> Option<String> {
    s(c, &["name"])
        .or_else(|| {
            let parts: Vec<String> = ["givenName", "familyName"]
                .iter()
                .filter_map(|k| s(c, &[k]))
                .collect();
            (!parts.is_empty()).then(|| parts.join(" "))
        })
        .and_then(|n| clean_value(&n))
}

fn agent(c: &Value, role: PersonRole) -> Option<Person> {
    let mut p = Person::new(agent_name(c)?, role);
    let affs: Vec<String> = list(c.get("affiliation"))
        .into_iter()
        .filter_map(|a| scalar(a).or_else(|| s(a, &["name"])))
        .collect();
    if !affs.is_empty() {
        p.affiliation = Some(affs.join("; "));
    }
    p.orcid = list(c.get("nameIdentifiers")).into_iter().find_map(|n| {
        let scheme = s(n, &["nameIdentifierScheme"]).unwrap_or_default();
        let id = s(n, &["nameIdentifier"])?;
        if scheme.eq_ignore_ascii_case("orcid") || id.contains("orcid.org") {
            jsonin::orcid(&id)
        } else {
            None
        }
    });
    Some(p)
}

#[allow(clippy::too_many_arguments)]
fn record(
    raw: &str,
    v: &Value,
    line: u64,
    utf8_ok: bool,
    ordinal: u64,
    ctx: &ParseContext,
    sink: &mut dyn FnMut(Item),
) -> Option<SourceRecord> {
    // REST shape: the resource is under `data` (single record) or is the page element.
    let resource = v.get("data").filter(|d| d.is_object()).unwrap_or(v);
    let a = resource.get("attributes").unwrap_or(resource);
    let Some(obj) = a.as_object() else {
        sink(Item::Diagnostic(Diagnostic::warning(
            "unknown-record-shape",
            "skipped: a DataCite record must be a JSON object",
            Location::new(ctx.file).with_line(line),
        )));
        return None;
    };
    if !["doi", "titles", "creators", "identifiers"]
        .iter()
        .any(|k| obj.contains_key(*k))
        && s(resource, &["id"]).is_none()
    {
        sink(Item::Diagnostic(Diagnostic::warning(
            "unknown-record-shape",
            "skipped: not a DataCite record (no doi, titles or creators)",
            Location::new(ctx.file).with_line(line),
        )));
        return None;
    }
    let mut d = Dataset::new(REPOSITORY, "");
    let mut diags = Vec::new();
    let mut handled: Vec<&str> = Vec::new();
    let mut take = |k: &'static str| {
        handled.push(k);
        a.get(k)
    };

    // Identity.
    let doi_from_ids = list(a.get("identifiers")).into_iter().find_map(|i| {
        let t = s(i, &["identifierType"]).unwrap_or_default();
        t.eq_ignore_ascii_case("doi")
            .then(|| s(i, &["identifier"]))
            .flatten()
    });
    let doi = take("doi")
        .and_then(scalar)
        .or_else(|| s(resource, &["id"]))
        .or(doi_from_ids)
        .and_then(|x| jsonin::doi(&x).or_else(|| clean_value(&x)));
    take("id");
    take("prefix");
    take("suffix");
    let label = doi.clone().unwrap_or_else(|| format!("#{ordinal}"));
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
    match &doi {
        Some(x) => d.accession = x.clone(),
        None => {
            diags.push(Diagnostic::error(
                "missing-id",
                "the record has no DOI",
                loc.clone(),
            ));
            d.accession = format!("datacite-entry-{ordinal}");
        }
    }
    let mut ids = list(take("identifiers"));
    ids.extend(list(take("alternateIdentifiers")));
    for id in ids {
        let t = s(id, &["identifierType"])
            .or_else(|| s(id, &["alternateIdentifierType"]))
            .unwrap_or_default();
        let Some(val) = s(id, &["identifier"]).or_else(|| s(id, &["alternateIdentifier"])) else {
            continue;
        };
        if t.eq_ignore_ascii_case("doi") && jsonin::doi(&val).as_ref() == doi.as_ref() {
            continue;
        }
        if t.eq_ignore_ascii_case("url") {
            // A landing-page address is no accession.
            d.push_additional("identifier_url", &val);
            continue;
        }
        Dataset::push_unique(&mut d.secondary_accessions, &val);
        let db = if t.is_empty() { "identifier" } else { &t };
        d.add_cross_ref(db, &val, Evidence::Declared);
    }

    // Repository: the publisher when opendi knows it, else DataCite.
    let publisher = take("publisher").and_then(|p| scalar(p).or_else(|| s(p, &["name"])));
    if let Some(p) = &publisher {
        d.push_additional("publisher", p);
        let key = repository_key(p);
        if is_known_repository(&key) {
            d.repository = key;
        }
    }
    let client = at(resource, &["relationships", "client", "data", "id"]).and_then(scalar);
    if let Some(c) = &client {
        d.push_additional("client", c);
    }

    // Titles: the first untyped title is the title; typed ones (AlternativeTitle, Subtitle …) stay.
    for t in list(take("titles")) {
        let Some(text) = s(t, &["title"]).and_then(|x| clean_value(&x)) else {
            continue;
        };
        match s(t, &["titleType"]) {
            None if d.title.is_empty() => d.title = text,
            Some(kind) => d.push_additional(&snake(&kind), &text),
            None => d.push_additional("title", &text),
        }
    }
    for desc in list(take("descriptions")) {
        let Some(text) = s(desc, &["description"]).and_then(|x| clean_value(&x)) else {
            continue;
        };
        match s(desc, &["descriptionType"]).as_deref() {
            Some("Abstract") | None if d.description.is_empty() => d.description = text,
            Some("Methods") => Dataset::push_unique(&mut d.data_protocols, &text),
            Some(kind) => d.push_additional(&snake(kind), &text),
            None => d.push_additional("description", &text),
        }
    }
    for c in list(take("creators")) {
        if let Some(p) = agent(c, PersonRole::Author) {
            d.people.push(p);
        }
    }
    for c in list(take("contributors")) {
        let kind = s(c, &["contributorType"]).unwrap_or_default();
        let role = match kind.as_str() {
            "ContactPerson" => Some(PersonRole::Contact),
            "ProjectLeader" | "Supervisor" | "WorkPackageLeader" => Some(PersonRole::LabHead),
            "Researcher" | "ProjectMember" | "DataCollector" => Some(PersonRole::Investigator),
            _ => None,
        };
        match (role, agent_name(c)) {
            (Some(role), _) => d.people.extend(agent(c, role)),
            (None, Some(n)) => d.push_additional("contributor", &format!("{n} ({kind})")),
            (None, None) => {}
        }
    }
    for sub in list(take("subjects")) {
        let Some(text) = s(sub, &["subject"]) else {
            continue;
        };
        Dataset::push_unique(&mut d.submitter_keywords, &text);
        if let Some(scheme) = s(sub, &["subjectScheme"]) {
            let id = s(sub, &["valueUri"]).or_else(|| s(sub, &["classificationCode"]));
            let v = match id {
                Some(id) => format!("{scheme}: {text} ({id})"),
                None => format!("{scheme}: {text}"),
            };
            d.push_additional("subject", &v);
        }
    }
    for dt in list(take("dates")) {
        let Some(raw) = s(dt, &["date"]) else {
            continue;
        };
        let kind = date_kind(&s(dt, &["dateType"]).unwrap_or_default());
        // DataCite allows ranges (`2022-06-01/2022-07-31`): the range is read as its start.
        let value = jsonin::parse_date(&raw).or_else(|| {
            raw.split_once('/')
                .filter(|(a, _)| a.len() >= 4)
                .and_then(|(a, _)| jsonin::parse_date(a))
        });
        d.dates.push(DatedValue { kind, value, raw });
    }
    if let Some(year) = take("publicationYear").and_then(scalar) {
        if !d.dates.iter().any(|x| x.kind == DateKind::Publication) {
            let value = jsonin::parse_date(&year);
            d.dates.push(DatedValue {
                kind: DateKind::Publication,
                value,
                raw: year.clone(),
            });
        }
        d.push_additional("publication_year", &year);
    }
    for r in list(take("rightsList")) {
        let lic = s(r, &["rightsIdentifier"])
            .or_else(|| s(r, &["rightsUri"]))
            .or_else(|| s(r, &["rights"]));
        if d.license.is_none() {
            d.license = lic;
        }
        if let Some(t) = as_text(r) {
            d.push_additional("rights", &t);
        }
    }
    for rel in list(take("relatedIdentifiers")) {
        let Some(id) = s(rel, &["relatedIdentifier"]) else {
            continue;
        };
        let t = s(rel, &["relatedIdentifierType"]).unwrap_or_default();
        let relation = s(rel, &["relationType"]).unwrap_or_default();
        let is_pub = PUBLICATION_RELATIONS.contains(&relation.to_ascii_lowercase().as_str());
        let lt = t.to_ascii_lowercase();
        let pmid = (lt == "pmid")
            .then(|| jsonin::pmid(&id, true))
            .flatten()
            .or_else(|| jsonin::pmid(&id, false));
        let doi = (lt == "doi" || lt == "url")
            .then(|| jsonin::doi(&id))
            .flatten();
        if is_pub && (pmid.is_some() || doi.is_some()) {
            if let Some(p) = &pmid {
                d.add_cross_ref("pubmed", p, Evidence::Declared);
            }
            d.add_publication(PublicationRef {
                pmid,
                doi,
                pmcid: None,
                citation: None,
            });
        } else {
            let db = if doi.is_some() {
                "DOI"
            } else if t.is_empty() {
                "identifier"
            } else {
                &t
            };
            d.add_cross_ref(db, doi.as_deref().unwrap_or(&id), Evidence::Declared);
        }
        d.push_additional("related_identifier", &format!("{relation} {t} {id}"));
    }
    d.full_dataset_link = take("url")
        .and_then(scalar)
        .or_else(|| doi.as_ref().map(|x| format!("https://doi.org/{x}")));
    if let Some(types) = take("types") {
        for (k, name) in [
            ("resourceTypeGeneral", "resource_type_general"),
            ("resourceType", "resource_type"),
        ] {
            if let Some(x) = s(types, &[k]) {
                d.push_additional(name, &x);
            }
        }
    }
    for f in list(take("fundingReferences")) {
        let name = s(f, &["funderName"]).unwrap_or_default();
        let award = s(f, &["awardNumber"]).or_else(|| s(f, &["awardNumber", "awardNumber"]));
        let v = match award {
            Some(aw) => format!("{name} ({aw})"),
            None => name,
        };
        if let Some(v) = clean_value(&v) {
            d.push_additional("funder", &v);
        }
    }
    if let Some(state) = take("state").and_then(scalar) {
        // Draft and registered-but-not-findable DOIs are not public in DataCite search.
        d.is_private = matches!(state.as_str(), "draft" | "registered");
        d.push_additional("state", &state);
    }
    for g in list(take("geoLocations")) {
        if let Some(place) = s(g, &["geoLocationPlace"]).or_else(|| as_text(g)) {
            d.push_additional("geo_location", &place);
        }
    }
    for f in strings(take("formats")) {
        d.push_additional("format", &f);
    }
    for sz in strings(take("sizes")) {
        d.push_additional("size", &sz);
    }
    // Everything else, verbatim (scalars as text, structures as compact JSON).
    if let Some(o) = a.as_object() {
        for (k, val) in o {
            if handled.contains(&k.as_str()) {
                continue;
            }
            for item in list(Some(val)) {
                if let Some(t) = as_text(item) {
                    d.push_additional(k, &t);
                }
            }
        }
    }

    if d.title.is_empty() {
        diags.push(Diagnostic::warning(
            "missing-title",
            "the record has no title",
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
    Some(SourceRecord {
        dataset: d,
        publication: None,
        raw: raw.to_string(),
        format: FORMAT,
        location: loc,
        diagnostics: diags,
    })
}

/// `AlternativeTitle` -> `alternative_title`.
fn snake(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.extend(c.to_lowercase());
    }
    out
}
