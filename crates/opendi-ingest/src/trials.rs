//! Clinical-trial registry records: ClinicalTrials.gov (API v2 JSON, the classic XML record
//! converted to JSON, the classic `FullStudies` API JSON), the EU Clinical Trials Register,
//! EU CTIS and ISRCTN, as JSON Lines (one record a line, any mix of registries, as `ctrdata`
//! exports them; BEIR-style `{"_id","title","text"}` trial corpora too) or as one registry JSON
//! document per file. Each line's shape is detected on its own.
//!
//! Every trial becomes a record of its registry (`clinicaltrials`, `euctr`, `ctis`, `isrctn`).
//! The other registries' ids of the same trial go to `secondary_accessions` and cross-refs
//! (database = the other registry's key) so that one trial can be clustered across registries.

pub mod jsonin;

use crate::detect::head_text;
use crate::{ParseContext, Sniff};
use jsonin::{at, list, s, scalar, strings, Piece};
use opendi_model::{
    clean_value, Dataset, DateKind, DatedValue, Diagnostic, Evidence, Item, Location, Person,
    PersonRole, PublicationRef, SourceRecord,
};
use regex::Regex;
use serde_json::Value;
use std::io::BufRead;
use std::sync::LazyLock;

pub const FORMAT: &str = "clinical-trials-jsonl";

const OMICS_TYPE: &str = "Clinical trial";

/// Keys that only registry records carry; one of them in the head means a trial file.
const MARKERS: [&str; 10] = [
    "\"protocolSection\"",
    "\"clinical_study\"",
    "\"FullStudiesResponse\"",
    "\"FullStudy\"",
    "\"nct_id\"",
    "\"a2_eudract_number\"",
    "\"ctNumber\"",
    "\"isrctn\"",
    "\"ProtocolSection\"",
    "\"ctrname\"",
];

pub fn sniff(name: &str, head: &[u8]) -> Sniff {
    let text = head_text(head);
    let t = text.trim_start();
    if !(t.starts_with('{') || t.starts_with('[')) {
        return Sniff::No;
    }
    if MARKERS.iter().any(|m| t.contains(m)) {
        return Sniff::Yes;
    }
    // BEIR-style trial corpora: `{"_id": "NCT…", "title": …, "text": …}`.
    static BEIR: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"^\{\s*"_id"\s*:\s*"(NCT\d{8}|ISRCTN\d{8}|\d{4}-\d{6}-\d{2})""#)
            .expect("regex")
    });
    if BEIR.is_match(t) && t.contains("\"title\"") {
        return Sniff::Yes;
    }
    let _ = name;
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
        } => match serde_json::from_str::<Value>(&text) {
            Ok(v) => {
                // A line holding an array of records (rare) is split like a document.
                if v.is_array() {
                    document(&text, line, utf8_ok, ctx, &mut ordinal, sink);
                } else {
                    ordinal += 1;
                    record(&text, v, line, utf8_ok, ordinal, ctx, sink);
                }
            }
            Err(e) => sink(Item::Diagnostic(jsonin::syntax_diagnostic(
                &e,
                ctx.file,
                line,
                &format!("line {line}"),
            ))),
        },
        Piece::Document {
            text,
            line,
            utf8_ok,
        } => document(&text, line, utf8_ok, ctx, &mut ordinal, sink),
    })
}

/// One JSON document: a registry record, an array of them, or an API envelope
/// (`{"studies": […]}` of API v2, `{"FullStudiesResponse": {"FullStudies": […]}}` of the classic API).
fn document(
    text: &str,
    line: u64,
    utf8_ok: bool,
    ctx: &ParseContext,
    ordinal: &mut u64,
    sink: &mut dyn FnMut(Item),
) {
    let tops = match jsonin::split_top(text) {
        Ok(t) => t,
        Err(e) => {
            sink(Item::Diagnostic(jsonin::syntax_diagnostic(
                &e,
                ctx.file,
                line,
                "the document",
            )));
            return;
        }
    };
    for top in tops {
        let raw = top.get();
        let mut parts: Vec<&str> = Vec::new();
        if let Some(members) = jsonin::members(raw) {
            for (k, v) in &members {
                if k == "studies" || k == "FullStudies" {
                    if let Ok(items) = jsonin::split_top(v.get()) {
                        parts.extend(items.iter().map(|r| r.get()));
                    }
                } else if k == "FullStudiesResponse" {
                    if let Some(inner) = jsonin::members(v.get()) {
                        for (k2, v2) in inner {
                            if k2 == "FullStudies" {
                                if let Ok(items) = jsonin::split_top(v2.get()) {
                                    parts.extend(items.iter().map(|r| r.get()));
                                }
                            }
                        }
                    }
                }
            }
        }
        if parts.is_empty() {
            parts.push(raw);
        }
        for part in parts {
            let l = jsonin::line_of(text, part, line);
            match serde_json::from_str::<Value>(part) {
                Ok(v) => {
                    *ordinal += 1;
                    record(part, v, l, utf8_ok, *ordinal, ctx, sink);
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
}

/// Which registry shape a JSON object is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    CtgovV2,
    CtgovClassic,
    CtgovClassicApi,
    Euctr,
    Ctis,
    Isrctn,
    Beir,
    CtrdataMeta,
    Unknown,
}

fn shape(v: &Value) -> Shape {
    let Some(o) = v.as_object() else {
        return Shape::Unknown;
    };
    let has = |k: &str| o.contains_key(k);
    if has("protocolSection") {
        Shape::CtgovV2
    } else if has("clinical_study") || has("id_info") || has("required_header") {
        Shape::CtgovClassic
    } else if has("Study") || has("FullStudy") || has("ProtocolSection") {
        Shape::CtgovClassicApi
    } else if has("a2_eudract_number") || has("x5_trial_status") || has("eudractNumber") {
        Shape::Euctr
    } else if has("ctNumber") {
        Shape::Ctis
    } else if has("isrctn") && (has("trialDescription") || has("externalRefs")) {
        Shape::Isrctn
    } else if has("_id") && (has("title") || has("text")) {
        Shape::Beir
    } else if has("queries") || o.get("_id").and_then(Value::as_str) == Some("meta-info") {
        Shape::CtrdataMeta
    } else {
        Shape::Unknown
    }
}

/// A record being built, with what every registry shares.
struct Builder<'a> {
    d: Dataset,
    diags: Vec<Diagnostic>,
    ctx: &'a ParseContext<'a>,
    line: u64,
    label: String,
}

static NCT_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\bNCT\s?(\d{8})\b").expect("regex"));
static CTIS_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(\d{4}-5\d{5}-\d{2}-\d{2})\b").expect("regex"));
static EUDRACT_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(\d{4}-\d{6}-\d{2})\b").expect("regex"));
static ISRCTN_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\bISRCTN\s?(\d{8})\b").expect("regex"));

/// Recognises a registry id in a value: (registry key, normalized id).
fn registry_id(value: &str) -> Option<(&'static str, String)> {
    if let Some(c) = NCT_RE.captures(value) {
        return Some(("clinicaltrials", format!("NCT{}", &c[1])));
    }
    if let Some(c) = ISRCTN_RE.captures(value) {
        return Some(("isrctn", format!("ISRCTN{}", &c[1])));
    }
    if let Some(c) = CTIS_RE.captures(value) {
        return Some(("ctis", c[1].to_string()));
    }
    if let Some(c) = EUDRACT_RE.captures(value) {
        return Some(("euctr", c[1].to_string()));
    }
    None
}

/// Values registries write for "no id" (`Nil known` is ISRCTN's).
fn is_placeholder(v: &str) -> bool {
    let l = v.trim().to_ascii_lowercase();
    clean_value(v).is_none()
        || matches!(
            l.as_str(),
            "nil known" | "nil" | "not known" | "unknown" | "0" | "not yet assigned"
        )
}

/// Undoes the XML escapes that registry-to-JSON converters leave in text (`&apos;`, `&#xD;`).
fn unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let end = tail.find(';').filter(|e| *e <= 10);
        let decoded = end.and_then(|e| {
            let ent = &tail[1..e];
            let c = match ent {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => {
                    let num = ent.strip_prefix('#')?;
                    let code = match num.strip_prefix(['x', 'X']) {
                        Some(h) => u32::from_str_radix(h, 16).ok()?,
                        None => num.parse().ok()?,
                    };
                    char::from_u32(code)
                }
            }?;
            Some((c, e))
        });
        match decoded {
            Some((c, e)) => {
                out.push(c);
                rest = &tail[e + 1..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Text of a registry text block: unescaped, hard-wrapped lines folded, paragraphs kept.
fn block_text(s: &str) -> String {
    let s = unescape(s).replace("\r\n", "\n").replace('\r', "\n");
    let mut paras: Vec<String> = Vec::new();
    let mut cur: Vec<&str> = Vec::new();
    for l in s.lines() {
        if l.trim().is_empty() {
            if !cur.is_empty() {
                paras.push(cur.join(" "));
                cur.clear();
            }
        } else {
            cur.push(l.trim());
        }
    }
    if !cur.is_empty() {
        paras.push(cur.join(" "));
    }
    paras
        .iter()
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// A one-line value: unescaped and cleaned; `None` for placeholders.
fn one(v: &str) -> Option<String> {
    clean_value(&unescape(v))
}

impl<'a> Builder<'a> {
    fn new(repo: &str, ctx: &'a ParseContext<'a>, line: u64) -> Self {
        let mut d = Dataset::new(repo, "");
        d.omics_types.push(OMICS_TYPE.to_string());
        Builder {
            d,
            diags: Vec::new(),
            ctx,
            line,
            label: String::new(),
        }
    }
    fn loc(&self) -> Location {
        Location::new(self.ctx.file)
            .with_record(self.label.clone())
            .with_line(self.line)
    }
    fn set_title(&mut self, t: Option<String>) {
        if self.d.title.is_empty() {
            if let Some(t) = t.as_deref().and_then(one) {
                self.d.title = t;
            }
        }
    }
    fn add(&mut self, name: &str, value: Option<String>) {
        if let Some(v) = value.as_deref().and_then(one) {
            if !self
                .d
                .additional
                .get(name)
                .is_some_and(|l| l.iter().any(|x| x == &v))
            {
                self.d.push_additional(name, &v);
            }
        }
    }
    fn add_block(&mut self, name: &str, value: Option<String>) {
        if let Some(v) = value.map(|v| block_text(&v)).filter(|v| !v.is_empty()) {
            self.d.push_additional(name, &v);
        }
    }
    fn describe(&mut self, text: Option<String>) {
        let Some(t) = text.map(|t| block_text(&t)).filter(|t| !t.is_empty()) else {
            return;
        };
        if self.d.description.contains(&t) {
            return;
        }
        if !self.d.description.is_empty() {
            self.d.description.push_str("\n\n");
        }
        self.d.description.push_str(&t);
    }
    fn date(&mut self, kind: DateKind, raw: Option<String>) {
        let Some(raw) = raw.and_then(|r| clean_value(&r)) else {
            return;
        };
        if self.d.dates.iter().any(|d| d.kind == kind && d.raw == raw) {
            return;
        }
        let value = jsonin::parse_date(&raw);
        self.d.dates.push(DatedValue { kind, value, raw });
    }
    fn condition(&mut self, label: Option<String>, id: Option<String>) {
        if let Some(l) = label.as_deref().and_then(one) {
            Dataset::push_term(&mut self.d.diseases, &l, id.as_deref(), Evidence::Declared);
        }
    }
    fn keyword(&mut self, k: Option<String>) {
        if let Some(k) = k.as_deref().and_then(one) {
            Dataset::push_unique(&mut self.d.submitter_keywords, &k);
        }
    }
    /// Another identifier of this trial: registry ids become secondary accessions and
    /// cross-refs; anything else is kept as a secondary id in `additional`.
    fn other_id(&mut self, value: Option<String>, label: &str) {
        let Some(v) = value.as_deref().and_then(one) else {
            return;
        };
        if is_placeholder(&v) {
            return;
        }
        match registry_id(&v) {
            Some((repo, id)) => {
                if id != self.d.accession {
                    Dataset::push_unique(&mut self.d.secondary_accessions, &id);
                    self.d.add_cross_ref(repo, &id, Evidence::Declared);
                }
            }
            None => {
                let value = if label.is_empty() {
                    v
                } else {
                    format!("{label}: {v}")
                };
                self.add("secondary_id", Some(value));
            }
        }
    }
    fn person(
        &mut self,
        name: Option<String>,
        role: PersonRole,
        affiliation: Option<String>,
        email: Option<String>,
    ) {
        let Some(name) = name.as_deref().and_then(one) else {
            return;
        };
        let mut p = Person::new(name, role);
        p.affiliation = affiliation.as_deref().and_then(one);
        p.email = email.as_deref().and_then(one);
        if !self.d.people.contains(&p) {
            self.d.people.push(p);
        }
    }
    fn publication(&mut self, pmid: Option<String>, citation: Option<String>) {
        let pmid = pmid
            .and_then(|p| clean_value(&p))
            .filter(|p| p.chars().all(|c| c.is_ascii_digit()));
        let citation = citation.as_deref().and_then(one);
        static DOI_RE: LazyLock<Regex> =
            LazyLock::new(|| Regex::new(r"\b(10\.\d{4,9}/[^\s,;]+[^\s,;.)\]])").expect("regex"));
        let doi = citation
            .as_deref()
            .and_then(|c| DOI_RE.captures(c).map(|m| m[1].to_string()));
        self.d.add_publication(PublicationRef {
            pmid,
            doi,
            pmcid: None,
            citation,
        });
    }

    fn finish(mut self, raw: &str, utf8_ok: bool, ordinal: u64, what: &str) -> SourceRecord {
        let loc = self.loc();
        if !utf8_ok {
            self.diags.push(Diagnostic::warning(
                "invalid-utf8",
                "invalid UTF-8 replaced with U+FFFD",
                loc.clone(),
            ));
        }
        if self.d.accession.is_empty() {
            self.diags.push(Diagnostic::error(
                "missing-id",
                format!("the {what} record has no trial id"),
                loc.clone(),
            ));
            self.d.accession = format!("{}-entry-{ordinal}", self.d.repository);
        }
        if self.d.title.is_empty() {
            self.diags.push(Diagnostic::warning(
                "missing-title",
                "the trial has no title",
                loc.clone(),
            ));
        }
        for date in &self.d.dates {
            if date.value.is_none() {
                self.diags.push(Diagnostic::warning(
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
            dataset: self.d,
            publication: None,
            raw: raw.to_string(),
            format: FORMAT,
            location: loc,
            diagnostics: self.diags,
        }
    }
}

fn record(
    raw: &str,
    v: Value,
    line: u64,
    utf8_ok: bool,
    ordinal: u64,
    ctx: &ParseContext,
    sink: &mut dyn FnMut(Item),
) {
    let loc = || Location::new(ctx.file).with_line(line);
    let sh = shape(&v);
    let (repo, what) = match sh {
        Shape::CtgovV2 | Shape::CtgovClassic | Shape::CtgovClassicApi => {
            ("clinicaltrials", "ClinicalTrials.gov")
        }
        Shape::Euctr => ("euctr", "EU CTR"),
        Shape::Ctis => ("ctis", "CTIS"),
        Shape::Isrctn => ("isrctn", "ISRCTN"),
        Shape::Beir => ("clinicaltrials", "trial corpus"),
        Shape::CtrdataMeta => {
            sink(Item::Diagnostic(Diagnostic::warning(
                "not-a-trial",
                "line skipped: ctrdata query history, not a trial record",
                loc(),
            )));
            return;
        }
        Shape::Unknown => {
            let msg = if v.is_object() {
                "line skipped: not a record of a known trial registry"
            } else {
                "line skipped: a trial record must be a JSON object"
            };
            sink(Item::Diagnostic(Diagnostic::warning(
                "unknown-record-shape",
                msg,
                loc(),
            )));
            return;
        }
    };
    let mut b = Builder::new(repo, ctx, line);
    b.label = format!("#{ordinal}");
    match sh {
        Shape::CtgovV2 => ctgov_v2(&mut b, &v),
        Shape::CtgovClassic => ctgov_classic(&mut b, v.get("clinical_study").unwrap_or(&v)),
        Shape::CtgovClassicApi => ctgov_classic_api(&mut b, &v),
        Shape::Euctr => euctr(&mut b, &v),
        Shape::Ctis => ctis(&mut b, &v),
        Shape::Isrctn => isrctn(&mut b, &v),
        Shape::Beir => beir(&mut b, &v),
        Shape::CtrdataMeta | Shape::Unknown => {}
    }
    // ctrdata's own bookkeeping: which register it came from and when it was fetched.
    b.add("ctrname", s(&v, &["ctrname"]));
    b.add("record_last_import", s(&v, &["record_last_import"]));
    sink(Item::Record(Box::new(
        b.finish(raw, utf8_ok, ordinal, what),
    )));
}

fn set_accession(b: &mut Builder, acc: String) {
    b.label = acc.clone();
    b.d.accession = acc;
}

fn ctgov_link(b: &mut Builder) {
    if b.d.accession.starts_with("NCT") {
        b.d.full_dataset_link = Some(format!(
            "https://clinicaltrials.gov/study/{}",
            b.d.accession
        ));
    }
}

// ---- ClinicalTrials.gov API v2 ----------------------------------------------------------

fn ctgov_v2(b: &mut Builder, v: &Value) {
    let p = &v["protocolSection"];
    let id = &p["identificationModule"];
    if let Some(nct) = s(id, &["nctId"]) {
        set_accession(b, nct.to_ascii_uppercase());
    }
    ctgov_link(b);
    b.set_title(s(id, &["briefTitle"]));
    b.add("official_title", s(id, &["officialTitle"]));
    b.add("acronym", s(id, &["acronym"]));
    b.add("org_study_id", s(id, &["orgStudyIdInfo", "id"]));
    for sec in list(id.get("secondaryIdInfos")) {
        let label = s(sec, &["domain"]).or_else(|| s(sec, &["type"]));
        b.other_id(s(sec, &["id"]), label.as_deref().unwrap_or(""));
    }
    for alias in strings(id.get("nctIdAliases")) {
        b.other_id(Some(alias), "NCT alias");
    }
    b.add("organization", s(id, &["organization", "fullName"]));

    let st = &p["statusModule"];
    b.add("overall_status", s(st, &["overallStatus"]));
    b.add("why_stopped", s(st, &["whyStopped"]));
    b.date(DateKind::Submission, s(st, &["studyFirstSubmitDate"]));
    b.date(
        DateKind::Publication,
        s(st, &["studyFirstPostDateStruct", "date"]),
    );
    b.date(
        DateKind::Updated,
        s(st, &["lastUpdatePostDateStruct", "date"]),
    );
    b.date(
        DateKind::Other("start".into()),
        s(st, &["startDateStruct", "date"]),
    );
    b.date(
        DateKind::Other("primary_completion".into()),
        s(st, &["primaryCompletionDateStruct", "date"]),
    );
    b.date(
        DateKind::Other("completion".into()),
        s(st, &["completionDateStruct", "date"]),
    );
    b.date(
        DateKind::Other("results_first_posted".into()),
        s(st, &["resultsFirstPostDateStruct", "date"]),
    );

    let sp = &p["sponsorCollaboratorsModule"];
    b.add("sponsor", s(sp, &["leadSponsor", "name"]));
    b.add("sponsor_class", s(sp, &["leadSponsor", "class"]));
    for c in list(sp.get("collaborators")) {
        b.add("collaborator", s(c, &["name"]));
    }
    if let Some(rp) = sp.get("responsibleParty") {
        b.person(
            s(rp, &["investigatorFullName"]),
            PersonRole::Investigator,
            s(rp, &["investigatorAffiliation"]),
            None,
        );
    }

    let desc = &p["descriptionModule"];
    b.describe(s(desc, &["briefSummary"]));
    b.describe(s(desc, &["detailedDescription"]));

    let cond = &p["conditionsModule"];
    for c in strings(cond.get("conditions")) {
        b.condition(Some(c), None);
    }
    for k in strings(cond.get("keywords")) {
        b.keyword(Some(k));
    }
    for m in list(at(
        v,
        &["derivedSection", "conditionBrowseModule", "meshes"],
    )) {
        b.condition(s(m, &["term"]), s(m, &["id"]).map(|i| format!("MESH:{i}")));
    }

    let des = &p["designModule"];
    b.add("study_type", s(des, &["studyType"]));
    for ph in strings(des.get("phases")) {
        b.add("phase", Some(ph));
    }
    b.add("enrollment", s(des, &["enrollmentInfo", "count"]));
    b.add("enrollment_type", s(des, &["enrollmentInfo", "type"]));
    b.add("allocation", s(des, &["designInfo", "allocation"]));
    b.add(
        "intervention_model",
        s(des, &["designInfo", "interventionModel"]),
    );
    b.add("primary_purpose", s(des, &["designInfo", "primaryPurpose"]));
    b.add("masking", s(des, &["designInfo", "maskingInfo", "masking"]));

    for i in list(at(p, &["armsInterventionsModule", "interventions"])) {
        b.add(
            "intervention",
            intervention(s(i, &["type"]), s(i, &["name"])),
        );
    }
    for m in list(at(
        v,
        &["derivedSection", "interventionBrowseModule", "meshes"],
    )) {
        b.add(
            "intervention_mesh",
            mesh_label(s(m, &["term"]), s(m, &["id"])),
        );
    }
    for o in list(at(p, &["outcomesModule", "primaryOutcomes"])) {
        b.add("primary_outcome", s(o, &["measure"]));
    }

    let el = &p["eligibilityModule"];
    b.add_block("eligibility_criteria", s(el, &["eligibilityCriteria"]));
    b.add("sex", s(el, &["sex"]));
    b.add("minimum_age", s(el, &["minimumAge"]));
    b.add("maximum_age", s(el, &["maximumAge"]));
    b.add("healthy_volunteers", s(el, &["healthyVolunteers"]));

    let cl = &p["contactsLocationsModule"];
    for o in list(cl.get("overallOfficials")) {
        b.person(
            s(o, &["name"]),
            PersonRole::Investigator,
            s(o, &["affiliation"]),
            None,
        );
    }
    for c in list(cl.get("centralContacts")) {
        b.person(s(c, &["name"]), PersonRole::Contact, None, s(c, &["email"]));
    }
    for l in list(cl.get("locations")) {
        b.add("country", s(l, &["country"]));
        b.add(
            "location",
            join_place(&[s(l, &["facility"]), s(l, &["city"]), s(l, &["country"])]),
        );
    }

    for r in list(at(p, &["referencesModule", "references"])) {
        b.publication(s(r, &["pmid"]), s(r, &["citation"]));
    }
    for l in list(at(p, &["referencesModule", "seeAlsoLinks"])) {
        b.add("link", s(l, &["url"]));
    }
    b.add("has_results", s(v, &["hasResults"]));
}

fn intervention(kind: Option<String>, name: Option<String>) -> Option<String> {
    match (kind.as_deref().and_then(one), name.as_deref().and_then(one)) {
        (Some(k), Some(n)) => Some(format!("{k}: {n}")),
        (None, Some(n)) => Some(n),
        _ => None,
    }
}

fn mesh_label(term: Option<String>, id: Option<String>) -> Option<String> {
    match (term, id) {
        (Some(t), Some(i)) => Some(format!("{t} (MESH:{i})")),
        (Some(t), None) => Some(t),
        _ => None,
    }
}

fn join_place(parts: &[Option<String>]) -> Option<String> {
    let v: Vec<String> = parts
        .iter()
        .flatten()
        .filter_map(|p| one(p))
        .collect::<Vec<_>>();
    (!v.is_empty()).then(|| v.join(", "))
}

// ---- ClinicalTrials.gov classic record (XML converted to JSON) --------------------------

/// A classic text field: a string or `{"textblock": …}`.
fn textblock(v: Option<&Value>) -> Option<String> {
    let v = v?;
    scalar(v).or_else(|| s(v, &["textblock"]))
}

fn ctgov_classic(b: &mut Builder, v: &Value) {
    let id = &v["id_info"];
    if let Some(nct) = s(id, &["nct_id"]) {
        set_accession(b, nct.to_ascii_uppercase());
    }
    ctgov_link(b);
    b.set_title(s(v, &["brief_title"]));
    b.add("official_title", s(v, &["official_title"]));
    b.add("acronym", s(v, &["acronym"]));
    b.add("org_study_id", s(id, &["org_study_id"]));
    for sec in strings(id.get("secondary_id")) {
        b.other_id(Some(sec), "");
    }
    for alias in strings(id.get("nct_alias")) {
        b.other_id(Some(alias), "NCT alias");
    }
    b.add("overall_status", s(v, &["overall_status"]));
    b.add(
        "why_stopped",
        textblock(v.get("why_stopped")).map(|t| block_text(&t)),
    );
    b.date(DateKind::Submission, s(v, &["study_first_submitted"]));
    b.date(DateKind::Publication, s(v, &["study_first_posted"]));
    b.date(DateKind::Updated, s(v, &["last_update_posted"]));
    b.date(
        DateKind::Other("start".into()),
        textblock(v.get("start_date")),
    );
    b.date(
        DateKind::Other("primary_completion".into()),
        textblock(v.get("primary_completion_date")),
    );
    b.date(
        DateKind::Other("completion".into()),
        textblock(v.get("completion_date")),
    );
    b.date(
        DateKind::Other("results_first_posted".into()),
        s(v, &["results_first_posted"]),
    );
    b.add("sponsor", s(v, &["sponsors", "lead_sponsor", "agency"]));
    b.add(
        "sponsor_class",
        s(v, &["sponsors", "lead_sponsor", "agency_class"]),
    );
    for c in list(at(v, &["sponsors", "collaborator"])) {
        b.add("collaborator", s(c, &["agency"]));
    }
    b.add("source", s(v, &["source"]));
    b.describe(textblock(v.get("brief_summary")));
    b.describe(textblock(v.get("detailed_description")));
    for c in strings(v.get("condition")) {
        b.condition(Some(c), None);
    }
    for k in strings(v.get("keyword")) {
        b.keyword(Some(k));
    }
    for m in strings(at(v, &["condition_browse", "mesh_term"])) {
        b.condition(Some(m), None);
    }
    b.add("study_type", s(v, &["study_type"]));
    for ph in strings(v.get("phase")) {
        b.add("phase", Some(ph));
    }
    // `enrollment` is text, or `{"#text"/"_": n, "@attributes": {"type": …}}` in some converters.
    let enrol = v.get("enrollment");
    b.add(
        "enrollment",
        enrol.and_then(|e| {
            scalar(e)
                .or_else(|| s(e, &["#text"]))
                .or_else(|| s(e, &["_"]))
        }),
    );
    let design = &v["study_design_info"];
    for k in [
        "allocation",
        "intervention_model",
        "primary_purpose",
        "masking",
    ] {
        b.add(k, s(design, &[k]));
    }
    for i in list(v.get("intervention")) {
        b.add(
            "intervention",
            intervention(s(i, &["intervention_type"]), s(i, &["intervention_name"])),
        );
    }
    for m in strings(at(v, &["intervention_browse", "mesh_term"])) {
        b.add("intervention_mesh", Some(m));
    }
    for o in list(v.get("primary_outcome")) {
        b.add("primary_outcome", s(o, &["measure"]));
    }
    let el = &v["eligibility"];
    b.add_block("eligibility_criteria", textblock(el.get("criteria")));
    b.add("sex", s(el, &["gender"]));
    b.add("minimum_age", s(el, &["minimum_age"]));
    b.add("maximum_age", s(el, &["maximum_age"]));
    b.add("healthy_volunteers", s(el, &["healthy_volunteers"]));
    for o in list(v.get("overall_official")) {
        b.person(
            person_name(o),
            PersonRole::Investigator,
            s(o, &["affiliation"]),
            None,
        );
    }
    for key in ["overall_contact", "overall_contact_backup"] {
        for c in list(v.get(key)) {
            b.person(person_name(c), PersonRole::Contact, None, s(c, &["email"]));
        }
    }
    for l in list(v.get("location")) {
        let f = &l["facility"];
        b.add(
            "location",
            join_place(&[
                s(f, &["name"]),
                s(f, &["address", "city"]),
                s(f, &["address", "country"]),
            ]),
        );
    }
    for c in strings(at(v, &["location_countries", "country"])) {
        b.add("country", Some(c));
    }
    for key in ["reference", "results_reference"] {
        for r in list(v.get(key)) {
            b.publication(s(r, &["PMID"]), s(r, &["citation"]));
        }
    }
    for l in list(v.get("link")) {
        b.add("link", s(l, &["url"]));
    }
    b.add("sharing_ipd", s(v, &["patient_data", "sharing_ipd"]));
    b.add("verification_date", s(v, &["verification_date"]));
}

/// `last_name` holds the whole name in classic records; first/middle names where split.
fn person_name(o: &Value) -> Option<String> {
    let parts: Vec<String> = ["first_name", "middle_name", "last_name"]
        .iter()
        .filter_map(|k| s(o, &[k]))
        .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

// ---- ClinicalTrials.gov classic API JSON (`FullStudiesResponse`, PascalCase) ------------

fn ctgov_classic_api(b: &mut Builder, v: &Value) {
    let study = v
        .get("Study")
        .or_else(|| at(v, &["FullStudy", "Study"]))
        .unwrap_or(v);
    let p = &study["ProtocolSection"];
    let id = &p["IdentificationModule"];
    if let Some(nct) = s(id, &["NCTId"]) {
        set_accession(b, nct.to_ascii_uppercase());
    }
    ctgov_link(b);
    b.set_title(s(id, &["BriefTitle"]));
    b.add("official_title", s(id, &["OfficialTitle"]));
    b.add("acronym", s(id, &["Acronym"]));
    b.add("org_study_id", s(id, &["OrgStudyIdInfo", "OrgStudyId"]));
    for sec in list(at(id, &["SecondaryIdInfoList", "SecondaryIdInfo"])) {
        let label = s(sec, &["SecondaryIdDomain"]).or_else(|| s(sec, &["SecondaryIdType"]));
        b.other_id(s(sec, &["SecondaryId"]), label.as_deref().unwrap_or(""));
    }
    let st = &p["StatusModule"];
    b.add("overall_status", s(st, &["OverallStatus"]));
    b.date(DateKind::Submission, s(st, &["StudyFirstSubmitDate"]));
    b.date(
        DateKind::Publication,
        s(st, &["StudyFirstPostDateStruct", "StudyFirstPostDate"]),
    );
    b.date(
        DateKind::Updated,
        s(st, &["LastUpdatePostDateStruct", "LastUpdatePostDate"]),
    );
    b.date(
        DateKind::Other("start".into()),
        s(st, &["StartDateStruct", "StartDate"]),
    );
    b.date(
        DateKind::Other("completion".into()),
        s(st, &["CompletionDateStruct", "CompletionDate"]),
    );
    let sp = &p["SponsorCollaboratorsModule"];
    b.add("sponsor", s(sp, &["LeadSponsor", "LeadSponsorName"]));
    for c in list(at(sp, &["CollaboratorList", "Collaborator"])) {
        b.add("collaborator", s(c, &["CollaboratorName"]));
    }
    b.describe(s(p, &["DescriptionModule", "BriefSummary"]));
    b.describe(s(p, &["DescriptionModule", "DetailedDescription"]));
    let cond = &p["ConditionsModule"];
    for c in strings(at(cond, &["ConditionList", "Condition"])) {
        b.condition(Some(c), None);
    }
    for k in strings(at(cond, &["KeywordList", "Keyword"])) {
        b.keyword(Some(k));
    }
    for m in list(at(
        study,
        &[
            "DerivedSection",
            "ConditionBrowseModule",
            "ConditionMeshList",
            "ConditionMesh",
        ],
    )) {
        b.condition(
            s(m, &["ConditionMeshTerm"]),
            s(m, &["ConditionMeshId"]).map(|i| format!("MESH:{i}")),
        );
    }
    let des = &p["DesignModule"];
    b.add("study_type", s(des, &["StudyType"]));
    for ph in strings(at(des, &["PhaseList", "Phase"])) {
        b.add("phase", Some(ph));
    }
    b.add("enrollment", s(des, &["EnrollmentInfo", "EnrollmentCount"]));
    for i in list(at(
        p,
        &[
            "ArmsInterventionsModule",
            "InterventionList",
            "Intervention",
        ],
    )) {
        b.add(
            "intervention",
            intervention(s(i, &["InterventionType"]), s(i, &["InterventionName"])),
        );
    }
    let cl = &p["ContactsLocationsModule"];
    for o in list(at(cl, &["OverallOfficialList", "OverallOfficial"])) {
        b.person(
            s(o, &["OverallOfficialName"]),
            PersonRole::Investigator,
            s(o, &["OverallOfficialAffiliation"]),
            None,
        );
    }
    for l in list(at(cl, &["LocationList", "Location"])) {
        b.add("country", s(l, &["LocationCountry"]));
        b.add(
            "location",
            join_place(&[
                s(l, &["LocationFacility"]),
                s(l, &["LocationCity"]),
                s(l, &["LocationCountry"]),
            ]),
        );
    }
    for r in list(at(p, &["ReferencesModule", "ReferenceList", "Reference"])) {
        b.publication(s(r, &["ReferencePMID"]), s(r, &["ReferenceCitation"]));
    }
}

// ---- EU Clinical Trials Register (ctrdata's field names) --------------------------------

fn euctr(b: &mut Builder, v: &Value) {
    if let Some(n) = s(v, &["a2_eudract_number"]).or_else(|| s(v, &["eudractNumber"])) {
        set_accession(b, n);
    }
    if !b.d.accession.is_empty() {
        b.d.full_dataset_link = Some(format!(
            "https://www.clinicaltrialsregister.eu/ctr-search/search?query={}",
            b.d.accession
        ));
    }
    let ti = &v["trialInformation"];
    b.set_title(s(v, &["a3_full_title_of_the_trial"]));
    b.set_title(s(ti, &["fullTitle"]));
    b.add(
        "lay_title",
        s(
            v,
            &["a31_title_of_the_trial_for_lay_people_in_easily_understood_ie_nontechnical_language"],
        ),
    );
    b.add(
        "acronym",
        s(
            v,
            &["a32_name_or_abbreviated_title_of_the_trial_where_available"],
        ),
    );
    b.add("member_state", s(v, &["a1_member_state_concerned"]));
    b.add(
        "sponsor_protocol_code",
        s(v, &["a41_sponsors_protocol_code_number"]),
    );
    b.other_id(
        s(
            v,
            &["a51_isrctn_international_standard_randomised_controlled_trial_number"],
        ),
        "",
    );
    b.other_id(s(v, &["a52_us_nct_clinicaltrialsgov_registry_number"]), "");
    b.other_id(
        s(v, &["a53_who_universal_trial_reference_number_utrn"]),
        "WHO UTN",
    );
    b.other_id(s(v, &["a54_other_identifiers"]), "");
    b.other_id(s(ti, &["usctnIdentifier"]), "");
    b.other_id(s(ti, &["isrctnIdentifier"]), "");
    b.other_id(s(ti, &["whoIdentifier"]), "WHO UTN");
    b.add("trial_type", s(v, &["x4_clinical_trial_type"]));
    b.add("overall_status", s(v, &["x5_trial_status"]));
    b.add("end_of_trial_status", s(v, &["p_end_of_trial_status"]));
    b.date(
        DateKind::Submission,
        s(
            v,
            &["x6_date_on_which_this_record_was_first_entered_in_the_eudract_database"],
        ),
    );
    b.date(
        DateKind::Other("authorisation".into()),
        s(v, &["n_date_of_competent_authority_decision"]),
    );
    b.date(
        DateKind::Other("ethics_opinion".into()),
        s(v, &["n_date_of_ethics_committee_opinion"]),
    );
    b.date(
        DateKind::Other("start".into()),
        s(ti, &["recruitmentStartDate"]),
    );
    b.date(
        DateKind::Other("completion".into()),
        s(v, &["p_date_of_the_global_end_of_the_trial"])
            .or_else(|| s(ti, &["globalEndOfTrialDate"])),
    );
    for sp in list(v.get("b1_sponsor")) {
        b.add("sponsor", s(sp, &["b11_name_of_sponsor"]));
        b.add(
            "sponsor_class",
            s(sp, &["b31_and_b32_status_of_the_sponsor"]),
        );
        b.person(
            s(sp, &["b52_functional_name_of_contact_point"]),
            PersonRole::Contact,
            s(sp, &["b51_name_of_organisation"]),
            s(sp, &["b56_email"]),
        );
    }
    b.add("sponsor", s(v, &["sponsor"]));
    b.describe(s(v, &["e21_main_objective_of_the_trial"]).or_else(|| s(ti, &["mainObjective"])));
    b.add_block(
        "secondary_objectives",
        s(v, &["e22_secondary_objectives_of_the_trial"]),
    );
    b.condition(s(v, &["e11_medical_conditions_being_investigated"]), None);
    b.add(
        "condition_lay",
        s(v, &["e111_medical_condition_in_easily_understood_language"]),
    );
    b.add("therapeutic_area", s(v, &["e112_therapeutic_area"]));
    for m in list(v.get("e12_meddra_classification")) {
        b.condition(
            s(m, &["e12_term"]),
            s(m, &["e12_classification_code"]).map(|c| format!("MedDRA:{c}")),
        );
    }
    // Phase: the register ticks one box per phase.
    for (k, label) in [
        ("e71_human_pharmacology_phase_i", "Phase I"),
        ("e72_therapeutic_exploratory_phase_ii", "Phase II"),
        ("e73_therapeutic_confirmatory_phase_iii", "Phase III"),
        ("e74_therapeutic_use_phase_iv", "Phase IV"),
    ] {
        if s(v, &[k]).is_some_and(|x| x.eq_ignore_ascii_case("yes")) {
            b.add("phase", Some(label.to_string()));
        }
    }
    b.add("enrollment", s(v, &["f422_in_the_whole_clinical_trial"]));
    b.add("enrollment_eea", s(v, &["f421_in_the_eea"]));
    for imp in list(v.get("dimp")) {
        let name = s(imp, &["d2111_trade_name"])
            .or_else(|| s(imp, &["d31_product_name"]))
            .or_else(|| {
                list(imp.get("d38_imp_identification_details"))
                    .iter()
                    .find_map(|x| s(x, &["d38_inn__proposed_inn"]))
            });
        b.add("intervention", intervention(Some("Drug".into()), name));
        for x in list(imp.get("d38_imp_identification_details")) {
            b.add("active_substance", s(x, &["d38_inn__proposed_inn"]));
        }
    }
    b.add_block(
        "eligibility_criteria",
        s(v, &["e3_principal_inclusion_criteria"]),
    );
    b.add_block(
        "exclusion_criteria",
        s(v, &["e4_principal_exclusion_criteria"]),
    );
    b.add_block("primary_outcome", s(v, &["e51_primary_end_points"]));
    if let Some(sites) = s(v, &["e863_trial_sites_planned_in"]) {
        b.add("trial_sites_planned_in", Some(sites));
    }
}

// ---- EU CTIS ------------------------------------------------------------------------------

fn ctis(b: &mut Builder, v: &Value) {
    if let Some(n) = s(v, &["ctNumber"]) {
        set_accession(b, n);
    }
    if !b.d.accession.is_empty() {
        b.d.full_dataset_link = Some(format!(
            "https://euclinicaltrials.eu/search-for-clinical-trials/?lang=en&EUCT={}",
            b.d.accession
        ));
    }
    // Two generations of CTIS JSON: the application parts at the top, or under
    // `authorizedApplication`.
    let app = v.get("authorizedApplication").unwrap_or(v);
    let part1 = &app["authorizedPartI"];
    let details = &part1["trialDetails"];
    let ids = &details["clinicalTrialIdentifiers"];
    let info = &details["trialInformation"];
    b.set_title(s(v, &["title"]));
    b.set_title(s(ids, &["publicTitle"]));
    b.set_title(s(ids, &["fullTitle"]));
    b.add("full_title", s(ids, &["fullTitle"]));
    b.add(
        "short_title",
        s(v, &["shortTitle"]).or_else(|| s(ids, &["shortTitle"])),
    );
    b.other_id(
        s(v, &["eudraCtInfo", "eudraCtCode"]).or_else(|| s(app, &["eudraCt", "eudraCtCode"])),
        "",
    );
    let sec = &ids["secondaryIdentifyingNumbers"];
    for k in ["nctNumber", "isrctnNumber", "whoUniversalTrialNumber"] {
        b.other_id(s(sec, &[k, "number"]), "");
    }
    for r in list(sec.get("additionalRegistries")) {
        let label = s(r, &["otherRegistryName"]).unwrap_or_default();
        b.other_id(s(r, &["number"]), &label);
    }
    b.add("overall_status", s(v, &["ctStatus"]));
    b.add("recruitment_status", s(v, &["recruitmentStatus"]));
    b.add("trial_countries", s(v, &["trialCountries"]));
    for c in strings(v.get("trialCountries")) {
        b.add("trial_countries", Some(c));
    }
    b.add("phase", s(v, &["trialPhase"]));
    b.add("enrollment", s(v, &["totalNumberEnrolled"]));
    b.add("sponsor_type", s(v, &["sponsorType"]));
    b.add("age_group", s(v, &["ageGroup"]));
    b.add("sex", s(v, &["gender"]));
    for t in strings(v.get("therapeuticAreas")) {
        b.add("therapeutic_area", Some(t));
    }
    b.date(DateKind::Submission, s(v, &["submissionDate"]));
    b.date(DateKind::Publication, s(v, &["publishDate"]));
    b.date(DateKind::Updated, s(v, &["lastUpdated"]));
    b.date(
        DateKind::Other("authorisation".into()),
        s(v, &["authorizationDate"]).or_else(|| s(v, &["decisionDateOverall"])),
    );
    b.add("decision_date", s(v, &["decisionDate"]));
    b.date(DateKind::Other("start".into()), s(v, &["startDateEU"]));
    b.date(
        DateKind::Other("estimated_recruitment_start".into()),
        s(info, &["trialDuration", "estimatedRecruitmentStartDate"]),
    );
    b.date(
        DateKind::Other("estimated_end".into()),
        s(info, &["trialDuration", "estimatedEndDate"]),
    );
    b.describe(s(info, &["trialObjective", "mainObjective"]));
    for o in list(at(info, &["trialObjective", "secondaryObjectives"])) {
        b.add("secondary_objective", s(o, &["secondaryObjective"]));
    }
    for c in list(at(info, &["medicalCondition", "partIMedicalConditions"])) {
        b.condition(s(c, &["medicalCondition"]), None);
    }
    for c in list(part1.get("medicalConditions")) {
        b.condition(s(c, &["medicalCondition"]), None);
    }
    for p in list(part1.get("products")) {
        b.add(
            "intervention",
            intervention(
                Some("Drug".into()),
                s(p, &["productName"]).or_else(|| s(p, &["nameDisplay"])),
            ),
        );
        b.add(
            "active_substance",
            s(p, &["productDictionaryInfo", "activeSubstanceName"]),
        );
    }
    // Sponsors: the primary sponsor (older shape) or the part I sponsor list.
    let mut sponsors: Vec<&Value> = list(v.get("primarySponsor"));
    sponsors.extend(list(part1.get("sponsors")));
    for sp in sponsors {
        let org = s(sp, &["organisation", "name"]);
        b.add("sponsor", org.clone());
        for key in ["publicContacts", "scientificContacts"] {
            for c in list(sp.get(key)) {
                b.person(
                    s(c, &["functionalName"]),
                    PersonRole::Contact,
                    s(c, &["organisation", "name"]).or_else(|| org.clone()),
                    s(c, &["functionalEmailAddress"]),
                );
            }
        }
    }
    for c in list(v.get("coSponsors")) {
        b.add("sponsor", s(c, &["organisation", "name"]));
    }
    for ms in list(v.get("memberStatesConcerned")) {
        b.add("country", s(ms, &["countryName"]));
    }
    for p2 in list(app.get("authorizedPartsII")) {
        for site in list(p2.get("trialSites")) {
            let org = &site["organisationAddressInfo"];
            let pi = &site["personInfo"];
            let name = join_words(&[s(pi, &["firstName"]), s(pi, &["lastName"])]);
            b.person(
                name,
                PersonRole::Investigator,
                s(org, &["organisation", "name"]),
                None,
            );
            b.add("country", s(org, &["address", "countryName"]));
            b.add(
                "location",
                join_place(&[
                    s(org, &["organisation", "name"]),
                    s(org, &["address", "city"]),
                    s(org, &["address", "countryName"]),
                ]),
            );
        }
    }
}

fn join_words(parts: &[Option<String>]) -> Option<String> {
    let v: Vec<&str> = parts.iter().flatten().map(|s| s.trim()).collect();
    let j = v.join(" ");
    (!j.trim().is_empty()).then_some(j)
}

// ---- ISRCTN ---------------------------------------------------------------------------------

fn isrctn(b: &mut Builder, v: &Value) {
    if let Some(n) = s(v, &["isrctn"]) {
        let digits = n.trim_start_matches(|c: char| c.is_ascii_alphabetic());
        set_accession(b, format!("ISRCTN{digits}"));
        b.d.full_dataset_link = Some(format!("https://www.isrctn.com/ISRCTN{digits}"));
    }
    let td = &v["trialDescription"];
    b.set_title(s(td, &["title"]));
    b.set_title(s(td, &["scientificTitle"]));
    b.add("scientific_title", s(td, &["scientificTitle"]));
    b.add("acronym", s(td, &["acronym"]));
    b.describe(s(td, &["plainEnglishSummary"]));
    b.add_block("study_hypothesis", s(td, &["studyHypothesis"]));
    b.add_block("primary_outcome", s(td, &["primaryOutcome"]));
    let refs = &v["externalRefs"];
    if let Some(doi) = s(refs, &["doi"]) {
        b.d.add_cross_ref("DOI", &doi, Evidence::Declared);
    }
    b.other_id(s(refs, &["eudraCTNumber"]), "");
    b.other_id(s(refs, &["clinicalTrialsGovNumber"]), "");
    b.other_id(s(refs, &["irasNumber"]), "IRAS");
    b.other_id(s(refs, &["protocolSerialNumber"]), "protocol");
    for n in strings(at(refs, &["secondaryNumbers", "secondaryNumber"])) {
        b.other_id(Some(n), "");
    }
    let design = &v["trialDesign"];
    b.add("study_type", s(design, &["primaryStudyDesign"]));
    b.add("study_design", s(design, &["studyDesign"]));
    b.add("overall_status", s(design, &["overallStatusOverride"]));
    b.add("why_stopped", s(design, &["reasonAbandoned"]));
    for t in strings(at(design, &["trialTypes", "trialType"])) {
        b.add("trial_type", Some(t));
    }
    b.date(
        DateKind::Other("completion".into()),
        s(design, &["overallEndDate"]),
    );
    // Registration dates are attributes of the ISRCTN XML; converters put them in various places.
    for (k, kind) in [
        ("dateAssigned", DateKind::Submission),
        ("registrationDate", DateKind::Publication),
        ("lastUpdated", DateKind::Updated),
    ] {
        b.date(
            kind.clone(),
            s(v, &[k]).or_else(|| s(v, &["@attributes", k])),
        );
    }
    let part = &v["participants"];
    b.date(
        DateKind::Other("start".into()),
        s(part, &["recruitmentStart"]),
    );
    b.date(
        DateKind::Other("recruitment_end".into()),
        s(part, &["recruitmentEnd"]),
    );
    b.add(
        "enrollment",
        s(part, &["totalFinalEnrolment"]).or_else(|| s(part, &["targetEnrolment"])),
    );
    b.add("target_enrollment", s(part, &["targetEnrolment"]));
    b.add("sex", s(part, &["gender"]));
    b.add("age_range", s(part, &["ageRange"]));
    b.add_block("eligibility_criteria", s(part, &["inclusion"]));
    b.add_block("exclusion_criteria", s(part, &["exclusion"]));
    for c in strings(at(part, &["recruitmentCountries", "country"])) {
        b.add("country", Some(c));
    }
    for c in list(at(part, &["trialCentres", "trialCentre"])) {
        b.add(
            "location",
            join_place(&[s(c, &["name"]), s(c, &["city"]), s(c, &["country"])]),
        );
    }
    for c in list(at(v, &["conditions", "condition"])) {
        b.condition(s(c, &["description"]), None);
        b.add("disease_class", s(c, &["diseaseClass1"]));
        b.add("disease_class", s(c, &["diseaseClass2"]));
    }
    for i in list(at(v, &["interventions", "intervention"])) {
        b.add(
            "intervention",
            intervention(s(i, &["interventionType"]), s(i, &["drugNames"])),
        );
        b.add_block("intervention_description", s(i, &["description"]));
        b.add("phase", s(i, &["phase"]));
    }
    for o in list(at(v, &["outputs", "output"])) {
        let link = s(o, &["externalLink"]);
        b.add(
            "output",
            join_place(&[s(o, &["description"]), link.clone()]),
        );
        if let Some(l) = link {
            if let Some(pmid) = pubmed_link(&l) {
                b.publication(Some(pmid), s(o, &["description"]));
            }
        }
    }
    for f in list(at(v, &["attachedFiles", "attachedFile"])) {
        b.add("attached_file", s(f, &["name"]));
    }
    b.add(
        "ipd_sharing_plan",
        s(v, &["miscellaneous", "ipdSharingPlan"]),
    );
}

/// The PMID in a PubMed URL (`https://pubmed.ncbi.nlm.nih.gov/12345/`, `…/pubmed/12345`).
fn pubmed_link(url: &str) -> Option<String> {
    static RE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)(?:pubmed\.ncbi\.nlm\.nih\.gov/|/pubmed/)(\d{1,9})").expect("regex")
    });
    RE.captures(url).map(|c| c[1].to_string())
}

// ---- BEIR-style trial corpora (TrialGPT): `{"_id","title","text","metadata"}` -------------

fn beir(b: &mut Builder, v: &Value) {
    let id = s(v, &["_id"]).unwrap_or_default();
    match registry_id(&id) {
        Some((repo, acc)) => {
            b.d.repository = repo.to_string();
            set_accession(b, acc);
        }
        None => set_accession(b, id),
    }
    match b.d.repository.as_str() {
        "clinicaltrials" => ctgov_link(b),
        "isrctn" => {
            b.d.full_dataset_link = Some(format!("https://www.isrctn.com/{}", b.d.accession))
        }
        _ => {}
    }
    let m = &v["metadata"];
    b.set_title(s(v, &["title"]));
    b.set_title(s(m, &["brief_title"]));
    match s(m, &["brief_summary"]) {
        Some(summary) => b.describe(Some(summary)),
        None => b.describe(s(v, &["text"])),
    }
    for d in strings(m.get("diseases_list")) {
        b.condition(Some(d), None);
    }
    for d in strings(m.get("drugs_list")) {
        b.add("intervention", Some(d));
    }
    b.add("phase", s(m, &["phase"]));
    // Enrolment is written as a float (`"9.0"`).
    b.add(
        "enrollment",
        s(m, &["enrollment"]).map(|e| e.strip_suffix(".0").map(str::to_string).unwrap_or(e)),
    );
    b.add_block("eligibility_criteria", s(m, &["inclusion_criteria"]));
    b.add_block("exclusion_criteria", s(m, &["exclusion_criteria"]));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescapes_converter_entities() {
        assert_eq!(
            unescape("Parkinson&apos;s &amp; co&#xD;"),
            "Parkinson's & co\r"
        );
        assert_eq!(unescape("a & b &bogus"), "a & b &bogus");
        assert_eq!(unescape("info&#64;x.org"), "info@x.org");
    }

    #[test]
    fn folds_text_blocks() {
        assert_eq!(
            block_text(" The purpose&#xD;\n      of this.&#xD;\n&#xD;\n Second."),
            "The purpose of this.\n\nSecond."
        );
    }

    #[test]
    fn recognises_registry_ids() {
        assert_eq!(
            registry_id("2017-002227-13"),
            Some(("euctr", "2017-002227-13".into()))
        );
        assert_eq!(
            registry_id("2023-508143-51-01"),
            Some(("ctis", "2023-508143-51-01".into()))
        );
        assert_eq!(
            registry_id("nct 01234567"),
            Some(("clinicaltrials", "NCT01234567".into()))
        );
        assert_eq!(
            registry_id("ISRCTN96912679"),
            Some(("isrctn", "ISRCTN96912679".into()))
        );
        assert_eq!(registry_id("ACP-103-045"), None);
    }

    #[test]
    fn sniffs_registry_json() {
        assert_eq!(sniff("x", b"{\"protocolSection\": {}}"), Sniff::Yes);
        assert_eq!(
            sniff("x", b"{\"_id\": \"NCT00995306\", \"title\": \"t\"}"),
            Sniff::Yes
        );
        assert_eq!(sniff("x", b"{\"doi\": \"10.1/x\"}"), Sniff::No);
        assert_eq!(sniff("x", b"<database>"), Sniff::No);
    }
}
