//! ISA-JSON: one investigation object with its studies, assays and materials in one file.
//! Each study becomes one record, normalized exactly as ISA-Tab studies are (see `isatab.rs`):
//! sources, samples and other materials give the facets, process parameter values the
//! instruments, assay data files the file list.

use crate::isatab::{
    build_record, Ann, IsaAssay, IsaInvestigation, IsaPerson, IsaProtocol, IsaPublication,
    IsaStudy, Summary,
};
use crate::{raw_text, ParseContext, Sniff};
use opendi_model::{Diagnostic, Item, Location};
use serde_json::Value;
use std::collections::HashMap;
use std::io::BufRead;

pub const FORMAT: &str = "isa-json";

pub fn sniff(_name: &str, head: &[u8]) -> Sniff {
    let text = crate::detect::head_text(head);
    let t = text.trim_start();
    if !t.starts_with('{') || t.contains("\"accno\"") {
        return Sniff::No;
    }
    let isa_key = [
        "\"ontologySourceReferences\"",
        "\"processSequence\"",
        "\"studyDesignDescriptors\"",
    ]
    .iter()
    .any(|k| t.contains(k));
    if t.contains("\"studies\"") && isa_key {
        Sniff::Yes
    } else {
        Sniff::No
    }
}

/// A JSON value as text: strings as they are, numbers and booleans printed, others empty.
fn text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        _ => String::new(),
    }
}

fn s(obj: &Value, key: &str) -> String {
    text(obj.get(key))
}

fn arr<'a>(obj: &'a Value, key: &str) -> &'a [Value] {
    obj.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// An ontology annotation object (`annotationValue`, `termAccession`, `termSource`).
fn ann(v: Option<&Value>) -> Ann {
    match v {
        Some(o @ Value::Object(_)) => Ann::new(
            &s(o, "annotationValue"),
            &s(o, "termAccession"),
            &s(o, "termSource"),
        ),
        other => Ann::new(&text(other), "", ""),
    }
}

fn person(p: &Value, prefix: &str, extra: &mut Vec<(String, String)>) -> IsaPerson {
    let roles: Vec<Ann> = arr(p, "roles").iter().map(|r| ann(Some(r))).collect();
    for (k, field) in [("phone", "Phone"), ("fax", "Fax"), ("address", "Address")] {
        let v = s(p, k);
        if !v.trim().is_empty() {
            extra.push((format!("{prefix} Person {field}"), v));
        }
    }
    for r in &roles {
        if !r.label.is_empty() {
            extra.push((format!("{prefix} Person Roles"), r.text()));
        }
    }
    comments(p, extra);
    IsaPerson {
        first: s(p, "firstName"),
        mid: s(p, "midInitials"),
        last: s(p, "lastName"),
        email: s(p, "email"),
        affiliation: s(p, "affiliation"),
        orcid: String::new(),
        roles: roles.into_iter().map(|r| r.label).collect(),
    }
}

fn publication(p: &Value, prefix: &str, extra: &mut Vec<(String, String)>) -> IsaPublication {
    let status = ann(p.get("status"));
    if !status.label.trim().is_empty() {
        extra.push((format!("{prefix} Publication Status"), status.text()));
    }
    comments(p, extra);
    IsaPublication {
        pmid: s(p, "pubMedID"),
        doi: s(p, "doi"),
        authors: s(p, "authorList"),
        title: s(p, "title"),
    }
}

/// `comments: [{name, value}]`, kept as `Comment[name]`.
fn comments(obj: &Value, extra: &mut Vec<(String, String)>) {
    for c in arr(obj, "comments") {
        let v = s(c, "value");
        if !v.trim().is_empty() {
            extra.push((format!("Comment[{}]", s(c, "name")), v));
        }
    }
}

/// The labels behind `@id` references: characteristic categories, factors, protocol
/// parameters and units.
#[derive(Default)]
struct Refs {
    labels: HashMap<String, (String, String)>,
}

impl Refs {
    fn add(&mut self, id: &str, kind: &str, label: String) {
        if !id.is_empty() {
            self.labels
                .insert(id.to_string(), (kind.to_string(), label));
        }
    }
    fn column(&self, category: Option<&Value>, default_kind: &str) -> Option<String> {
        let id = category.map(|c| s(c, "@id"))?;
        match self.labels.get(&id) {
            Some((kind, label)) => Some(format!("{kind}[{label}]")),
            // An id declared nowhere still names its category: `#characteristic_category/organism`.
            None => {
                let tail = id.rsplit(['/', '#']).next().unwrap_or("").replace('_', " ");
                let tail = tail.trim();
                (!tail.is_empty()).then(|| format!("{default_kind}[{tail}]"))
            }
        }
    }
    fn unit(&self, unit: Option<&Value>) -> String {
        match unit {
            Some(u @ Value::Object(_)) => match self.labels.get(&s(u, "@id")) {
                Some((_, l)) => l.clone(),
                None => s(u, "annotationValue"),
            },
            _ => String::new(),
        }
    }
}

fn collect_refs(study: &Value, refs: &mut Refs) {
    let cats = |obj: &Value, refs: &mut Refs| {
        for c in arr(obj, "characteristicCategories") {
            let t = c.get("characteristicType");
            refs.add(&s(c, "@id"), "Characteristics", ann(t).label);
        }
        for u in arr(obj, "unitCategories") {
            refs.add(&s(u, "@id"), "Unit", s(u, "annotationValue"));
        }
    };
    cats(study, refs);
    for a in arr(study, "assays") {
        cats(a, refs);
    }
    for f in arr(study, "factors") {
        refs.add(&s(f, "@id"), "Factor Value", s(f, "factorName"));
    }
    for p in arr(study, "protocols") {
        for par in arr(p, "parameters") {
            refs.add(
                &s(par, "@id"),
                "Parameter Value",
                ann(par.get("parameterName")).label,
            );
        }
    }
}

/// One `{category, value, unit}` entry of a material or process into the summary.
fn add_value(out: &mut Summary, refs: &Refs, entry: &Value, kind: &str) {
    let Some(column) = refs.column(entry.get("category"), kind) else {
        return;
    };
    let mut a = ann(entry.get("value"));
    let unit = refs.unit(entry.get("unit"));
    if !unit.is_empty() && !a.label.is_empty() {
        a.label = format!("{} {unit}", a.label);
    }
    out.add(&column, a);
}

fn materials(obj: &Value, refs: &Refs, out: &mut Summary) {
    let Some(m) = obj.get("materials") else {
        return;
    };
    for group in ["sources", "samples", "otherMaterials"] {
        for mat in arr(m, group) {
            for c in arr(mat, "characteristics") {
                add_value(out, refs, c, "Characteristics");
            }
            for f in arr(mat, "factorValues") {
                add_value(out, refs, f, "Factor Value");
            }
        }
    }
}

fn processes(obj: &Value, refs: &Refs, out: &mut Summary) {
    for p in arr(obj, "processSequence") {
        for pv in arr(p, "parameterValues") {
            add_value(out, refs, pv, "Parameter Value");
        }
    }
}

fn read_study(st: &Value, refs: &Refs) -> IsaStudy {
    let mut study = IsaStudy {
        identifier: s(st, "identifier"),
        title: s(st, "title"),
        description: s(st, "description"),
        submission: s(st, "submissionDate"),
        release: s(st, "publicReleaseDate"),
        ..Default::default()
    };
    let mut extra = Vec::new();
    study.people = arr(st, "people")
        .iter()
        .map(|p| person(p, "Study", &mut extra))
        .collect();
    study.publications = arr(st, "publications")
        .iter()
        .map(|p| publication(p, "Study", &mut extra))
        .collect();
    study.design = arr(st, "studyDesignDescriptors")
        .iter()
        .map(|d| ann(Some(d)))
        .collect();
    study.factors = arr(st, "factors")
        .iter()
        .map(|f| (s(f, "factorName"), ann(f.get("factorType"))))
        .collect();
    for p in arr(st, "protocols") {
        for (k, field) in [("uri", "URI"), ("version", "Version")] {
            let v = s(p, k);
            if !v.trim().is_empty() {
                extra.push((format!("Study Protocol {field}"), v));
            }
        }
        study.protocols.push(IsaProtocol {
            name: s(p, "name"),
            ptype: ann(p.get("protocolType")),
            description: s(p, "description"),
        });
    }
    for c in arr(st, "comments") {
        let v = s(c, "value");
        if !v.trim().is_empty() {
            study.comments.push((s(c, "name"), v));
        }
    }
    materials(st, refs, &mut study.samples);
    processes(st, refs, &mut study.samples);
    for a in arr(st, "assays") {
        study.assays.push(IsaAssay {
            file: s(a, "filename"),
            measurement: ann(a.get("measurementType")),
            technology: ann(a.get("technologyType")),
            platform: s(a, "technologyPlatform"),
        });
        materials(a, refs, &mut study.samples);
        processes(a, refs, &mut study.samples);
        for f in arr(a, "dataFiles") {
            study.samples.add_file(&s(f, "name"));
        }
    }
    study.extra = extra;
    study
}

/// 1-based line of the first `"identifier": "<id>"` after `from` in the raw text.
fn line_of(raw: &str, from: usize, id: &str) -> Option<u64> {
    if id.is_empty() {
        return None;
    }
    let needle = serde_json::to_string(id).ok()?;
    let tail = raw.get(from..)?;
    let at = from + tail.find(&needle)?;
    Some(raw.get(..at)?.bytes().filter(|b| *b == b'\n').count() as u64 + 1)
}

pub fn parse(
    reader: &mut dyn BufRead,
    ctx: &ParseContext,
    sink: &mut dyn FnMut(Item),
) -> std::io::Result<()> {
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes)?;
    let (raw, utf8_ok) = raw_text(&bytes);
    let mut file_diags = Vec::new();
    if !utf8_ok {
        file_diags.push(Diagnostic::warning(
            "invalid-utf8",
            "invalid UTF-8 replaced with U+FFFD",
            Location::new(ctx.file),
        ));
    }
    let root: Value = match serde_json::from_str(&raw) {
        Ok(v) => v,
        Err(e) => {
            sink(Item::Diagnostic(Diagnostic::error(
                "json-syntax",
                format!("not valid JSON: {e}"),
                Location::new(ctx.file).with_line(e.line() as u64),
            )));
            return Ok(());
        }
    };
    let studies = arr(&root, "studies");
    if studies.is_empty() {
        sink(Item::Diagnostic(Diagnostic::error(
            "no-study",
            "the ISA-JSON investigation has no studies",
            Location::new(ctx.file).with_line(1),
        )));
        return Ok(());
    }
    let mut inv = IsaInvestigation {
        identifier: s(&root, "identifier"),
        title: s(&root, "title"),
        description: s(&root, "description"),
        submission: s(&root, "submissionDate"),
        release: s(&root, "publicReleaseDate"),
        ..Default::default()
    };
    let mut extra = Vec::new();
    inv.people = arr(&root, "people")
        .iter()
        .map(|p| person(p, "Investigation", &mut extra))
        .collect();
    inv.publications = arr(&root, "publications")
        .iter()
        .map(|p| publication(p, "Investigation", &mut extra))
        .collect();
    comments(&root, &mut extra);
    inv.extra = extra;

    // Studies of one investigation share `@id`s (BII-S-2 uses categories declared by BII-S-1).
    let mut refs = Refs::default();
    for st in studies {
        collect_refs(st, &mut refs);
    }
    let studies_at = raw.find("\"studies\"").unwrap_or(0);
    for (i, st) in studies.iter().enumerate() {
        let study = read_study(st, &refs);
        let mut loc = Location::new(ctx.file);
        loc.line = line_of(&raw, studies_at, &study.identifier).or(Some(1));
        let rec = build_record(
            study,
            &inv,
            i + 1,
            &raw,
            FORMAT,
            loc,
            file_diags.clone(),
            ctx.today,
        );
        sink(Item::Record(Box::new(rec)));
    }
    Ok(())
}
