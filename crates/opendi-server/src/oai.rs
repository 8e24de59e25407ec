//! OAI-PMH 2.0 at `/oai`: the six verbs, `oai_dc` and `oai_datacite`, one set per repository,
//! selective harvesting by datestamp, stateless resumption tokens and persistent deletions.
//!
//! Records are enumerated from the store's change log in `seq` order. A resumption token
//! carries the request's arguments and the last `seq` delivered, so the next page starts
//! right after it: records added or updated while a harvest runs take higher `seq`s and are
//! delivered later in the same harvest, and nothing is skipped. Datestamps are the time the
//! record last changed in opendi (`last_ingested`), which is what selective harvesting is for.
//! Tombstones are kept forever (`deletedRecord=persistent`); a record made private since is
//! reported deleted too, since it may no longer be shown. A record that was never public is
//! never named (see `crate::announced`).

use crate::api::base_url;
use crate::wire::{from_token, parse_utc, to_token, utc, xml};
use crate::{dto, AppError, AppState};
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use opendi_engine::{ChangeFilter, Engine, StoredRecord};
use opendi_model::Dataset;
use std::fmt::Write;

const FORMATS: [(&str, &str, &str); 2] = [
    (
        "oai_dc",
        "http://www.openarchives.org/OAI/2.0/oai_dc.xsd",
        "http://www.openarchives.org/OAI/2.0/oai_dc/",
    ),
    (
        "oai_datacite",
        "http://schema.datacite.org/oai/oai-1.1/oai.xsd",
        "http://schema.datacite.org/oai/oai-1.1/",
    ),
];

/// The arguments each verb accepts: (required, optional). `resumptionToken` is exclusive.
fn arguments(verb: &str) -> Option<(&'static [&'static str], &'static [&'static str])> {
    Some(match verb {
        "Identify" => (&[], &[]),
        "ListMetadataFormats" => (&[], &["identifier"]),
        "ListSets" => (&[], &["resumptionToken"]),
        "GetRecord" => (&["identifier", "metadataPrefix"], &[]),
        "ListIdentifiers" | "ListRecords" => (
            &["metadataPrefix"],
            &["from", "until", "set", "resumptionToken"],
        ),
        _ => return None,
    })
}

/// An OAI-PMH error: answered with HTTP 200 and an `<error>` element, as the protocol says.
struct OaiError(&'static str, String);

fn bad_argument(msg: impl Into<String>) -> OaiError {
    OaiError("badArgument", msg.into())
}

/// The harvest position a resumption token carries.
#[derive(Debug, Clone, PartialEq)]
struct Position {
    prefix: String,
    set: Option<String>,
    from: Option<i64>,
    until: Option<i64>,
    /// Last `seq` delivered.
    after: i64,
    /// Records delivered before this page (the token's `cursor`).
    cursor: u64,
}

impl Position {
    fn token(&self) -> String {
        let opt = |v: Option<i64>| v.map(|x| x.to_string()).unwrap_or_default();
        to_token(&format!(
            "v1!{}!{}!{}!{}!{}!{}",
            self.prefix,
            self.set.as_deref().unwrap_or(""),
            opt(self.from),
            opt(self.until),
            self.after,
            self.cursor
        ))
    }

    fn from_token(t: &str) -> Option<Position> {
        let s = from_token(t)?;
        let parts: Vec<&str> = s.split('!').collect();
        let [v, prefix, set, from, until, after, cursor] = parts.as_slice() else {
            return None;
        };
        let opt = |x: &str| -> Option<Option<i64>> {
            if x.is_empty() {
                Some(None)
            } else {
                x.parse().ok().map(Some)
            }
        };
        if *v != "v1" || !FORMATS.iter().any(|(p, _, _)| p == prefix) {
            return None;
        }
        Some(Position {
            prefix: prefix.to_string(),
            set: (!set.is_empty()).then(|| set.to_string()),
            from: opt(from)?,
            until: opt(until)?,
            after: after.parse().ok()?,
            cursor: cursor.parse().ok()?,
        })
    }
}

/// `oai:opendi:{repository}/{accession}`
pub fn identifier(repository: &str, accession: &str) -> String {
    format!("oai:opendi:{repository}/{accession}")
}

fn parse_identifier(id: &str) -> Option<(&str, &str)> {
    id.strip_prefix("oai:opendi:")?
        .split_once('/')
        .filter(|(r, a)| !r.is_empty() && !a.is_empty())
}

/// Answers GET `/oai?verb=…` (and POST with a form body, which the protocol also allows).
pub async fn oai_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    respond(state, &headers, q.unwrap_or_default()).await
}

pub async fn oai_post(State(state): State<AppState>, headers: HeaderMap, body: String) -> Response {
    respond(state, &headers, body).await
}

async fn respond(state: AppState, headers: &HeaderMap, query: String) -> Response {
    let base = format!("{}/oai", base_url(headers));
    let page = state.config.oai_page_size.max(1);
    let admin = state.config.admin_email.clone();
    let b = base.clone();
    let result = state
        .blocking(move |e| handle(e, &b, &query, page, &admin))
        .await;
    match result {
        Ok(body) => ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], body).into_response(),
        Err(e) => e.into_response(),
    }
}

/// The whole response document for one request.
fn handle(
    e: &Engine,
    base: &str,
    query: &str,
    page: usize,
    admin: &str,
) -> Result<String, AppError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    let mut out = String::with_capacity(4096);
    out.push_str(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    out.push_str("\n<OAI-PMH xmlns=\"http://www.openarchives.org/OAI/2.0/\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:schemaLocation=\"http://www.openarchives.org/OAI/2.0/ http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd\">\n");
    let _ = writeln!(
        out,
        "<responseDate>{}</responseDate>",
        utc(chrono::Utc::now().timestamp())
    );
    let checked = check(&pairs);
    let body = checked.and_then(|verb| {
        let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let mut body = String::new();
        match verb.as_str() {
            "Identify" => identify(e, base, admin, &mut body)?,
            "ListMetadataFormats" => list_formats(e, get("identifier"), &mut body)?,
            "ListSets" => list_sets(e, get("resumptionToken"), &mut body)?,
            "GetRecord" => get_record(
                e,
                base,
                get("identifier").unwrap_or(""),
                get("metadataPrefix").unwrap_or(""),
                &mut body,
            )?,
            _ => {
                let pos = match get("resumptionToken") {
                    Some(t) => Position::from_token(t).ok_or_else(|| {
                        OaiError(
                            "badResumptionToken",
                            "the resumption token is invalid or expired".into(),
                        )
                    })?,
                    None => new_position(
                        get("metadataPrefix").unwrap_or(""),
                        get("from"),
                        get("until"),
                        get("set"),
                    )?,
                };
                list(e, base, &verb, pos, page, &mut body)?
            }
        }
        Ok(body)
    });
    // The request element echoes the arguments, except after badVerb and badArgument (the
    // protocol says so: they were not valid arguments).
    let echo = !matches!(&body, Err(OaiError("badVerb" | "badArgument", _)));
    out.push_str("<request");
    if echo {
        for (k, v) in &pairs {
            let _ = write!(out, " {}=\"{}\"", xml(k), xml(v));
        }
    }
    let _ = writeln!(out, ">{}</request>", xml(base));
    match body {
        Ok(b) => out.push_str(&b),
        // A broken store is an HTTP failure, not a protocol answer.
        Err(OaiError(INTERNAL, msg)) => return Err(AppError::Internal(msg)),
        Err(OaiError(code, msg)) => {
            let _ = writeln!(out, "<error code=\"{code}\">{}</error>", xml(&msg));
        }
    }
    out.push_str("</OAI-PMH>\n");
    Ok(out)
}

/// Validates the verb and its arguments (missing, unknown, repeated, exclusive).
fn check(pairs: &[(String, String)]) -> Result<String, OaiError> {
    let verbs: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "verb")
        .map(|(_, v)| v.as_str())
        .collect();
    let verb = match verbs.as_slice() {
        [] => return Err(OaiError("badVerb", "the verb argument is missing".into())),
        [v] => *v,
        _ => return Err(OaiError("badVerb", "the verb argument is repeated".into())),
    };
    let (required, optional) = arguments(verb)
        .ok_or_else(|| OaiError("badVerb", format!("{verb:?} is not an OAI-PMH verb")))?;
    let mut seen: Vec<&str> = Vec::new();
    for (k, _) in pairs.iter().filter(|(k, _)| k != "verb") {
        if !required.contains(&k.as_str()) && !optional.contains(&k.as_str()) {
            return Err(bad_argument(format!(
                "{verb} does not take the argument {k}"
            )));
        }
        if seen.contains(&k.as_str()) {
            return Err(bad_argument(format!("the argument {k} is repeated")));
        }
        seen.push(k);
    }
    if seen.contains(&"resumptionToken") {
        if seen.len() > 1 {
            return Err(bad_argument(
                "resumptionToken is an exclusive argument: send it alone with the verb",
            ));
        }
    } else if let Some(missing) = required.iter().find(|r| !seen.contains(*r)) {
        return Err(bad_argument(format!(
            "{verb} requires the argument {missing}"
        )));
    }
    Ok(verb.to_string())
}

fn check_prefix(prefix: &str) -> Result<(), OaiError> {
    if FORMATS.iter().any(|(p, _, _)| *p == prefix) {
        Ok(())
    } else {
        Err(OaiError(
            "cannotDisseminateFormat",
            format!("metadata format {prefix:?} is not supported (oai_dc, oai_datacite)"),
        ))
    }
}

fn new_position(
    prefix: &str,
    from: Option<&str>,
    until: Option<&str>,
    set: Option<&str>,
) -> Result<Position, OaiError> {
    let from = from
        .map(|f| {
            parse_utc(f, false).ok_or_else(|| {
                bad_argument(format!(
                    "from {f:?} is not a UTC datestamp (YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ)"
                ))
            })
        })
        .transpose()?;
    let until = until
        .map(|u| {
            parse_utc(u, true).ok_or_else(|| {
                bad_argument(format!(
                    "until {u:?} is not a UTC datestamp (YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ)"
                ))
            })
        })
        .transpose()?;
    if let (Some((f, fg)), Some((u, ug))) = (from, until) {
        if fg != ug {
            return Err(bad_argument(
                "from and until must have the same granularity",
            ));
        }
        if f > u {
            return Err(bad_argument("from is later than until"));
        }
    }
    check_prefix(prefix)?;
    Ok(Position {
        prefix: prefix.to_string(),
        set: set.map(str::to_string),
        from: from.map(|x| x.0),
        until: until.map(|x| x.0),
        after: 0,
        cursor: 0,
    })
}

/// Not a protocol error code: marks an engine failure, answered as HTTP 500.
const INTERNAL: &str = "internal";

fn internal(e: impl std::fmt::Display) -> OaiError {
    OaiError(INTERNAL, format!("oai: {e}"))
}

fn identify(e: &Engine, base: &str, admin: &str, out: &mut String) -> Result<(), OaiError> {
    let first = e
        .store()
        .changes_filtered(
            0,
            1,
            &ChangeFilter {
                include_deleted: true,
                ..Default::default()
            },
        )
        .map_err(internal)?;
    let earliest = first.first().map_or(0, |r| r.record.last_ingested);
    let _ = writeln!(
        out,
        "<Identify><repositoryName>opendi</repositoryName><baseURL>{}</baseURL>\
         <protocolVersion>2.0</protocolVersion><adminEmail>{}</adminEmail>\
         <earliestDatestamp>{}</earliestDatestamp><deletedRecord>persistent</deletedRecord>\
         <granularity>YYYY-MM-DDThh:mm:ssZ</granularity>\
         <description><oai-identifier xmlns=\"http://www.openarchives.org/OAI/2.0/oai-identifier\" \
         xsi:schemaLocation=\"http://www.openarchives.org/OAI/2.0/oai-identifier http://www.openarchives.org/OAI/2.0/oai-identifier.xsd\">\
         <scheme>oai</scheme><repositoryIdentifier>opendi</repositoryIdentifier><delimiter>:</delimiter>\
         <sampleIdentifier>oai:opendi:pride/PXD000001</sampleIdentifier></oai-identifier></description></Identify>",
        xml(base),
        xml(admin),
        utc(earliest)
    );
    Ok(())
}

/// The stored record an OAI identifier names (tombstones included), or idDoesNotExist.
fn lookup(e: &Engine, id: &str) -> Result<StoredRecord, OaiError> {
    let missing = || OaiError("idDoesNotExist", format!("no record {id:?}"));
    let (repo, acc) = parse_identifier(id).ok_or_else(missing)?;
    let rid = e
        .store()
        .by_key(repo, acc)
        .map_err(internal)?
        .ok_or_else(missing)?;
    let r = e.record(rid).map_err(internal)?.ok_or_else(missing)?;
    if !crate::announced(e, &r).map_err(|e| internal(e.to_string()))? {
        return Err(missing());
    }
    Ok(r)
}

fn list_formats(e: &Engine, id: Option<&str>, out: &mut String) -> Result<(), OaiError> {
    if let Some(id) = id {
        lookup(e, id)?;
    }
    out.push_str("<ListMetadataFormats>");
    for (prefix, schema, ns) in FORMATS {
        let _ = write!(
            out,
            "<metadataFormat><metadataPrefix>{prefix}</metadataPrefix><schema>{schema}</schema><metadataNamespace>{ns}</metadataNamespace></metadataFormat>"
        );
    }
    out.push_str("</ListMetadataFormats>\n");
    Ok(())
}

fn list_sets(e: &Engine, token: Option<&str>, out: &mut String) -> Result<(), OaiError> {
    if token.is_some() {
        // All sets fit in one response; no token was ever handed out.
        return Err(OaiError(
            "badResumptionToken",
            "ListSets is answered in one response; this token was not issued".into(),
        ));
    }
    // Sets are the repositories with public records (a private record's repository is
    // nobody's business either).
    let repos = e.index().repository_counts().map_err(internal)?;
    out.push_str("<ListSets>");
    for (key, _) in &repos {
        let _ = write!(
            out,
            "<set><setSpec>{}</setSpec><setName>{}</setName></set>",
            xml(key),
            xml(opendi_model::repository_name(key))
        );
    }
    out.push_str("</ListSets>\n");
    Ok(())
}

fn is_gone(r: &StoredRecord) -> bool {
    r.deleted || r.dataset.is_private
}

fn header(r: &StoredRecord, out: &mut String) {
    let status = if is_gone(r) {
        " status=\"deleted\""
    } else {
        ""
    };
    let _ = write!(
        out,
        "<header{status}><identifier>{}</identifier><datestamp>{}</datestamp><setSpec>{}</setSpec></header>",
        xml(&identifier(&r.repository, &r.accession)),
        utc(r.last_ingested),
        xml(&r.repository)
    );
}

fn record(r: &StoredRecord, prefix: &str, base: &str, out: &mut String) {
    out.push_str("<record>");
    header(r, out);
    if !is_gone(r) {
        out.push_str("<metadata>");
        let site = base.trim_end_matches("/oai");
        if prefix == "oai_datacite" {
            datacite(&r.dataset, site, out);
        } else {
            dublin_core(&r.dataset, site, out);
        }
        out.push_str("</metadata>");
    }
    out.push_str("</record>\n");
}

fn get_record(
    e: &Engine,
    base: &str,
    id: &str,
    prefix: &str,
    out: &mut String,
) -> Result<(), OaiError> {
    check_prefix(prefix)?;
    let r = lookup(e, id)?;
    out.push_str("<GetRecord>");
    record(&r, prefix, base, out);
    out.push_str("</GetRecord>\n");
    Ok(())
}

fn list(
    e: &Engine,
    base: &str,
    verb: &str,
    pos: Position,
    page: usize,
    out: &mut String,
) -> Result<(), OaiError> {
    let filter = ChangeFilter {
        repository: pos.set.clone(),
        from: pos.from,
        until: pos.until,
        include_deleted: true,
    };
    // One more than a page tells whether another page follows.
    let rows = e
        .store()
        .changes_filtered(pos.after, page + 1, &filter)
        .map_err(internal)?;
    if rows.is_empty() {
        if pos.cursor > 0 {
            // A token issued when more seemed to follow, whose records have since moved on
            // (updated: they come again at a higher seq) — the list simply ends here.
            let _ = writeln!(
                out,
                "<{verb}><resumptionToken cursor=\"{}\"/></{verb}>",
                pos.cursor
            );
            return Ok(());
        }
        return Err(OaiError(
            "noRecordsMatch",
            "no records match the arguments".into(),
        ));
    }
    let more = rows.len() > page;
    let mut shown = Vec::with_capacity(page);
    for row in rows.iter().take(page) {
        if crate::announced(e, &row.record).map_err(|e| internal(e.to_string()))? {
            shown.push(row);
        }
    }
    if shown.is_empty() && !more && pos.cursor == 0 {
        return Err(OaiError(
            "noRecordsMatch",
            "no records match the arguments".into(),
        ));
    }
    let _ = write!(out, "<{verb}>");
    for row in shown {
        if verb == "ListIdentifiers" {
            header(&row.record, out);
            out.push('\n');
        } else {
            record(&row.record, &pos.prefix, base, out);
        }
    }
    let delivered = rows.len().min(page) as u64;
    if more {
        let next = Position {
            after: rows[page - 1].seq,
            cursor: pos.cursor + delivered,
            ..pos.clone()
        };
        let _ = write!(
            out,
            "<resumptionToken cursor=\"{}\">{}</resumptionToken>",
            pos.cursor,
            next.token()
        );
    } else if pos.cursor > 0 {
        // The last page of a list that needed tokens ends with an empty one.
        let _ = write!(
            out,
            "<resumptionToken completeListSize=\"{}\" cursor=\"{}\"/>",
            pos.cursor + delivered,
            pos.cursor
        );
    }
    let _ = writeln!(out, "</{verb}>");
    Ok(())
}

fn element(out: &mut String, name: &str, value: &str) {
    if !value.trim().is_empty() {
        let _ = write!(out, "<{name}>{}</{name}>", xml(value.trim()));
    }
}

fn landing(d: &Dataset, site: &str) -> String {
    format!("{site}{}", dto::dataset_url(&d.repository, &d.accession))
}

/// Subjects: keywords, omics types, organisms, diseases, tissues — each once.
fn subjects(d: &Dataset) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let all = dto::keywords(d)
        .into_iter()
        .chain(d.omics_types.iter().cloned())
        .chain(dto::organisms(d).into_iter().map(|o| o.name))
        .chain(d.diseases.iter().map(|t| t.label.clone()))
        .chain(d.tissues.iter().map(|t| t.label.clone()));
    for s in all {
        if !s.trim().is_empty() && !out.iter().any(|x| x.eq_ignore_ascii_case(&s)) {
            out.push(s);
        }
    }
    out
}

fn creators(d: &Dataset) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    for p in &d.people {
        if !names.contains(&p.name.as_str()) {
            names.push(&p.name);
        }
    }
    names
}

fn doi(d: &Dataset) -> Option<String> {
    d.all_accessions()
        .chain(d.full_dataset_link.as_deref())
        .find_map(|a| {
            let a = a.trim();
            let tail = a
                .strip_prefix("https://doi.org/")
                .or_else(|| a.strip_prefix("http://dx.doi.org/"))
                .or_else(|| a.strip_prefix("doi:"))
                .unwrap_or(a);
            tail.starts_with("10.").then(|| tail.to_string())
        })
}

fn dublin_core(d: &Dataset, site: &str, out: &mut String) {
    out.push_str("<oai_dc:dc xmlns:oai_dc=\"http://www.openarchives.org/OAI/2.0/oai_dc/\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xsi:schemaLocation=\"http://www.openarchives.org/OAI/2.0/oai_dc/ http://www.openarchives.org/OAI/2.0/oai_dc.xsd\">");
    element(out, "dc:title", &d.title);
    for c in creators(d) {
        element(out, "dc:creator", c);
    }
    for s in subjects(d) {
        element(out, "dc:subject", &s);
    }
    element(
        out,
        "dc:description",
        &crate::render::plain_text(&d.description),
    );
    element(
        out,
        "dc:publisher",
        opendi_model::repository_name(&d.repository),
    );
    if let Some(date) = d.main_date() {
        element(out, "dc:date", &date.to_string());
    }
    element(out, "dc:type", "Dataset");
    element(out, "dc:identifier", &landing(d, site));
    element(out, "dc:identifier", &d.accession);
    if let Some(doi) = doi(d) {
        element(out, "dc:identifier", &format!("https://doi.org/{doi}"));
    }
    if let Some(link) = &d.full_dataset_link {
        element(out, "dc:source", link);
    }
    for p in &d.publications {
        if let Some(pmid) = &p.pmid {
            element(
                out,
                "dc:relation",
                &format!("https://pubmed.ncbi.nlm.nih.gov/{pmid}/"),
            );
        } else if let Some(doi) = &p.doi {
            element(out, "dc:relation", &format!("https://doi.org/{doi}"));
        }
    }
    if let Some(l) = &d.license {
        element(out, "dc:rights", l);
    }
    out.push_str("</oai_dc:dc>");
}

/// DataCite kernel 4 wrapped in the `oai_datacite` envelope. A dataset without a DOI is
/// identified by its landing page URL (DataCite's `identifier` is a DOI for registered
/// resources; the envelope is still the form harvesters of DataCite metadata read).
fn datacite(d: &Dataset, site: &str, out: &mut String) {
    out.push_str("<oai_datacite xmlns=\"http://schema.datacite.org/oai/oai-1.1/\" xsi:schemaLocation=\"http://schema.datacite.org/oai/oai-1.1/ http://schema.datacite.org/oai/oai-1.1/oai.xsd\"><schemaVersion>4</schemaVersion><datacentreSymbol>OPENDI</datacentreSymbol><payload>");
    out.push_str("<resource xmlns=\"http://datacite.org/schema/kernel-4\" xsi:schemaLocation=\"http://datacite.org/schema/kernel-4 http://schema.datacite.org/meta/kernel-4/metadata.xsd\">");
    match doi(d) {
        Some(doi) => {
            let _ = write!(
                out,
                "<identifier identifierType=\"DOI\">{}</identifier>",
                xml(&doi)
            );
        }
        None => {
            let _ = write!(
                out,
                "<identifier identifierType=\"URL\">{}</identifier>",
                xml(&landing(d, site))
            );
        }
    }
    out.push_str("<creators>");
    let names = creators(d);
    if names.is_empty() {
        // creator is mandatory in DataCite; the repository is the responsible party.
        let _ = write!(
            out,
            "<creator><creatorName>{}</creatorName></creator>",
            xml(opendi_model::repository_name(&d.repository))
        );
    }
    for n in names {
        let _ = write!(
            out,
            "<creator><creatorName>{}</creatorName></creator>",
            xml(n)
        );
    }
    out.push_str("</creators><titles>");
    element(out, "title", &d.title);
    out.push_str("</titles>");
    element(
        out,
        "publisher",
        opendi_model::repository_name(&d.repository),
    );
    if let Some(date) = d.main_date() {
        element(out, "publicationYear", &date.year.to_string());
    }
    let _ = write!(
        out,
        "<resourceType resourceTypeGeneral=\"Dataset\">{}</resourceType>",
        xml(&d.omics_types.join("; "))
    );
    let subjects = subjects(d);
    if !subjects.is_empty() {
        out.push_str("<subjects>");
        for s in subjects {
            element(out, "subject", &s);
        }
        out.push_str("</subjects>");
    }
    let dates: Vec<_> = d.dates.iter().filter(|x| x.value.is_some()).collect();
    if !dates.is_empty() {
        out.push_str("<dates>");
        for x in dates {
            let kind = match x.kind.as_str() {
                "publication" => "Issued",
                "submission" => "Submitted",
                "creation" => "Created",
                "updated" | "last_modification" => "Updated",
                _ => "Other",
            };
            if let Some(v) = &x.value {
                let _ = write!(out, "<date dateType=\"{kind}\">{v}</date>");
            }
        }
        out.push_str("</dates>");
    }
    let _ = write!(
        out,
        "<alternateIdentifiers><alternateIdentifier alternateIdentifierType=\"{}\">{}</alternateIdentifier>",
        xml(&d.repository),
        xml(&d.accession)
    );
    for a in &d.secondary_accessions {
        let _ = write!(
            out,
            "<alternateIdentifier alternateIdentifierType=\"secondary\">{}</alternateIdentifier>",
            xml(a)
        );
    }
    out.push_str("</alternateIdentifiers>");
    let related: Vec<(&str, &str)> = d
        .publications
        .iter()
        .filter_map(|p| {
            p.doi
                .as_deref()
                .map(|x| ("DOI", x))
                .or(p.pmid.as_deref().map(|x| ("PMID", x)))
        })
        .collect();
    if !related.is_empty() {
        out.push_str("<relatedIdentifiers>");
        for (kind, id) in related {
            let _ = write!(
                out,
                "<relatedIdentifier relatedIdentifierType=\"{kind}\" relationType=\"IsCitedBy\">{}</relatedIdentifier>",
                xml(id)
            );
        }
        out.push_str("</relatedIdentifiers>");
    }
    if let Some(l) = &d.license {
        out.push_str("<rightsList>");
        element(out, "rights", l);
        out.push_str("</rightsList>");
    }
    let text = crate::render::plain_text(&d.description);
    if !text.trim().is_empty() {
        let _ = write!(
            out,
            "<descriptions><description descriptionType=\"Abstract\">{}</description></descriptions>",
            xml(text.trim())
        );
    }
    out.push_str("</resource></payload></oai_datacite>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip() {
        let p = Position {
            prefix: "oai_dc".into(),
            set: Some("pride".into()),
            from: Some(10),
            until: None,
            after: 42,
            cursor: 100,
        };
        assert_eq!(Position::from_token(&p.token()), Some(p));
        assert_eq!(Position::from_token("00"), None);
        assert_eq!(Position::from_token(&to_token("v1!marc!!!!1!0")), None);
    }

    #[test]
    fn identifiers_parse() {
        assert_eq!(
            parse_identifier("oai:opendi:pride/PXD000001"),
            Some(("pride", "PXD000001"))
        );
        assert_eq!(parse_identifier("oai:other:pride/PXD000001"), None);
        assert_eq!(parse_identifier("oai:opendi:pride"), None);
    }
}
