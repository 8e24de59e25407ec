//! PubMed XML (NLM baseline and update files, efetch output): each `PubmedArticle` becomes a
//! `Publication` and a searchable record of repository `pubmed`; `DeleteCitation` withdraws PMIDs.

use crate::xml::{self, Element};
use crate::xmlsplit::{Chunk, RecordSplitter};
use crate::{chunk_text, ParseContext};
use opendi_model::{
    clean_value, Dataset, DateKind, DatedValue, Diagnostic, Evidence, Item, Location, MeshHeading,
    PartialDate, Person, PersonRole, Publication, PublicationRef, SourceRecord,
};
use std::io::BufRead;

pub const FORMAT: &str = "pubmed-xml";
pub const REPOSITORY: &str = "pubmed";

const KINDS: [&str; 3] = ["PubmedArticle", "DeleteCitation", "PubmedBookArticle"];

pub fn parse(
    reader: &mut dyn BufRead,
    ctx: &ParseContext,
    sink: &mut dyn FnMut(Item),
) -> std::io::Result<()> {
    let mut splitter = RecordSplitter::new(reader, &KINDS);
    let mut ordinal = 0u64;
    while let Some(chunk) = splitter.next_chunk()? {
        match chunk {
            Chunk::Header { .. } => {}
            Chunk::Record {
                kind: 1,
                text,
                line,
                ..
            } => {
                let (el, _) = xml::parse(&text);
                for p in el.children_named("PMID") {
                    let pmid = p.text();
                    if !pmid.is_empty() {
                        let location = Location::new(ctx.file)
                            .with_record(pmid.clone())
                            .with_line(line);
                        sink(Item::Delete {
                            repository: REPOSITORY.to_string(),
                            accession: pmid,
                            location,
                        });
                    }
                }
            }
            Chunk::Record {
                text,
                line,
                complete,
                ..
            } => {
                ordinal += 1;
                sink(Item::Record(Box::new(parse_article(
                    text, line, ordinal, complete, ctx,
                ))));
            }
            Chunk::TooLarge { line, bytes, .. } => {
                ordinal += 1;
                sink(Item::Diagnostic(Diagnostic::error(
                    "record-too-large",
                    format!("article of {bytes} bytes skipped: larger than the record limit"),
                    Location::new(ctx.file)
                        .with_record(format!("#{ordinal}"))
                        .with_line(line),
                )));
            }
        }
    }
    Ok(())
}

/// Reads `<Year>/<Month>/<Day>` (plus `<Season>`) or `<MedlineDate>` ("1979 Jun-Jul").
fn read_date(el: &Element) -> (Option<PartialDate>, String) {
    if let Some(md) = el.child("MedlineDate") {
        let raw = md.text();
        let first: String = raw.split(['-', '/']).next().unwrap_or("").to_string();
        return (
            PartialDate::parse(&first).or_else(|| PartialDate::parse(raw.get(..4).unwrap_or(""))),
            raw,
        );
    }
    let part = |n: &str| el.child(n).map(|e| e.text()).unwrap_or_default();
    let (year, month, day) = (part("Year"), part("Month"), part("Day"));
    let raw = [year.clone(), month.clone(), day.clone(), part("Season")]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    // `DateCompleted` and many `PubDate`s write the month as a number ("2017 08 03"), which the
    // date reader takes for a year followed by noise: give it ISO form instead.
    let value = if !month.is_empty() && month.bytes().all(|b| b.is_ascii_digit()) {
        let mut iso = format!("{year}-{month:0>2}");
        if !day.is_empty() {
            iso.push_str(&format!("-{day:0>2}"));
        }
        PartialDate::parse(&iso)
    } else {
        PartialDate::parse(&raw)
    };
    (value, raw)
}

/// An ORCID as a bare `0000-0002-1825-0097`, whether the source wrote it as a URL, with an
/// `ORCID:` prefix or bare; None when what is left does not look like one.
pub(crate) fn normalize_orcid(raw: &str) -> Option<String> {
    let s = raw.trim();
    let s = s
        .rsplit(['/', ' ', ':'])
        .next()
        .unwrap_or(s)
        .trim()
        .to_ascii_uppercase();
    let digits: String = s.chars().filter(|c| *c != '-').collect();
    let ok = digits.len() == 16
        && digits
            .chars()
            .enumerate()
            .all(|(i, c)| c.is_ascii_digit() || (i == 15 && c == 'X'));
    if !ok {
        return None;
    }
    Some(format!(
        "{}-{}-{}-{}",
        &digits[0..4],
        &digits[4..8],
        &digits[8..12],
        &digits[12..16]
    ))
}

/// What a citation says, whichever format it came in (PubMed XML, MEDLINE text): the one place
/// that turns it into a `pubmed` record, so both formats give the same dataset.
pub(crate) struct Citation {
    pub publication: Publication,
    /// Authors in order, named as in `publication.authors`, with affiliation and ORCID.
    pub people: Vec<Person>,
    /// Publication date, then completed (creation) and revised (updated) dates.
    pub dates: Vec<DatedValue>,
    /// (data bank name, accession) pairs the article declares.
    pub databanks: Vec<(String, String)>,
}

pub(crate) fn citation_dataset(c: &Citation, ordinal: u64) -> Dataset {
    let p = &c.publication;
    let mut d = Dataset::new(
        REPOSITORY,
        p.pmid
            .as_deref()
            .unwrap_or(&format!("pubmed-entry-{ordinal}")),
    );
    d.title = p.title.clone();
    d.description = p.abstract_text.clone();
    d.dates = c.dates.clone();
    d.people = c.people.clone();
    d.submitter_keywords = p.keywords.clone();
    for m in &p.mesh {
        Dataset::push_unique(&mut d.curator_keywords, &m.descriptor);
    }
    for ch in &p.chemicals {
        Dataset::push_unique(&mut d.curator_keywords, ch);
    }
    if let Some(j) = &p.journal {
        d.push_additional("journal", j);
    }
    if let Some(pmcid) = &p.pmcid {
        d.secondary_accessions.push(pmcid.clone());
        d.add_cross_ref("PMC", pmcid, Evidence::Declared);
    }
    if let Some(doi) = &p.doi {
        d.add_cross_ref("DOI", doi, Evidence::Declared);
    }
    for (name, acc) in &c.databanks {
        d.add_cross_ref(name, acc, Evidence::Declared);
    }
    if let Some(pmid) = &p.pmid {
        d.full_dataset_link = Some(format!("https://pubmed.ncbi.nlm.nih.gov/{pmid}/"));
    }
    d.add_publication(PublicationRef {
        pmid: p.pmid.clone(),
        doi: p.doi.clone(),
        pmcid: p.pmcid.clone(),
        citation: None,
    });
    d.omics_types.push("Literature".to_string());
    d
}

fn parse_article(
    text: Vec<u8>,
    line: u64,
    ordinal: u64,
    complete: bool,
    ctx: &ParseContext,
) -> SourceRecord {
    let (raw, utf8_ok) = chunk_text(text);
    let text = raw.as_bytes();
    let (art, problems) = xml::parse_str(&raw);
    let cit = art
        .child("MedlineCitation")
        .or_else(|| art.child("BookDocument"));
    let empty = Element::default();
    let cit = cit.unwrap_or(&empty);
    let pmid = cit
        .child("PMID")
        .map(|e| e.text())
        .filter(|s| !s.is_empty());
    let label = pmid.clone().unwrap_or_else(|| format!("#{ordinal}"));
    let loc = |l: u64| {
        Location::new(ctx.file)
            .with_record(label.clone())
            .with_line(l)
    };
    let mut diags = xml::chunk_findings(
        &loc,
        line,
        utf8_ok,
        complete,
        "the article's end tag",
        problems,
    );
    if pmid.is_none() {
        diags.push(Diagnostic::error(
            "missing-id",
            "the article has no PMID",
            loc(line),
        ));
    }
    let article = cit.child("Article").or(Some(cit)).unwrap_or(&empty);

    let mut p = Publication {
        pmid: pmid.clone(),
        ..Default::default()
    };
    p.title = article
        .child("ArticleTitle")
        .or_else(|| article.child("BookTitle"))
        .map(|e| e.text())
        .filter(|t| !t.is_empty())
        .or_else(|| article.child("VernacularTitle").map(|e| e.text()))
        .unwrap_or_default();
    if p.title.is_empty() {
        diags.push(Diagnostic::warning(
            "missing-title",
            "the article has no title",
            loc(line),
        ));
    }
    // Abstract: sections keep their labels as headings, as Europe PMC renders them.
    if let Some(abs) = article.child("Abstract") {
        let mut parts = Vec::new();
        for t in abs.children_named("AbstractText") {
            // The description is markup: plain text is escaped (abstracts say "P < 0.001"),
            // and the source's indentation inside inline markup is folded away.
            let body = if t.elements().next().is_none() {
                quick_xml::escape::partial_escape(t.text_raw()).into_owned()
            } else {
                t.inner_markup(text)
            };
            let body = crate::xml::fold_ws(&body);
            match t
                .attr("Label")
                .filter(|l| !l.is_empty() && !l.eq_ignore_ascii_case("UNLABELLED"))
            {
                Some(l) => parts.push(format!("<h4>{}</h4>{}", quick_xml::escape::escape(l), body)),
                None => parts.push(body),
            }
        }
        p.abstract_text = parts.join(" ");
    }
    if let Some(list) = article.child("AuthorList") {
        for a in list.children_named("Author") {
            let name = match (a.child("LastName"), a.child("CollectiveName")) {
                (Some(last), _) => {
                    let initials = a.child("Initials").map(|e| e.text()).unwrap_or_default();
                    format!("{} {}", last.text(), initials).trim().to_string()
                }
                (None, Some(c)) => c.text(),
                _ => continue,
            };
            p.authors.push(name);
        }
    }
    if let Some(j) = article.child("Journal") {
        p.journal = j
            .child("Title")
            .or_else(|| j.child("ISOAbbreviation"))
            .map(|e| e.text());
        if let Some(ji) = j.child("JournalIssue") {
            p.volume = ji.child("Volume").map(|e| e.text());
            p.issue = ji.child("Issue").map(|e| e.text());
            if let Some(pd) = ji.child("PubDate") {
                p.date = read_date(pd).0;
            }
        }
    }
    p.pages = article
        .path(&["Pagination", "MedlinePgn"])
        .map(|e| e.text())
        .filter(|s| !s.is_empty());
    for e in article.children_named("ELocationID") {
        if e.attr("EIdType") == Some("doi") {
            p.doi = Some(e.text());
        }
    }
    if let Some(ids) = art.path(&["PubmedData", "ArticleIdList"]) {
        for id in ids.children_named("ArticleId") {
            match id.attr("IdType") {
                Some("doi") if p.doi.is_none() => p.doi = Some(id.text()),
                Some("pmc") => p.pmcid = Some(id.text()),
                _ => {}
            }
        }
    }
    if let Some(list) = cit.child("MeshHeadingList") {
        for h in list.children_named("MeshHeading") {
            let Some(desc) = h.child("DescriptorName") else {
                continue;
            };
            let quals: Vec<&Element> = h.children_named("QualifierName").collect();
            let major = desc.attr("MajorTopicYN") == Some("Y")
                || quals.iter().any(|q| q.attr("MajorTopicYN") == Some("Y"));
            p.mesh.push(MeshHeading {
                descriptor: desc.text(),
                descriptor_id: desc.attr("UI").map(str::to_string),
                major,
                qualifiers: quals.iter().map(|q| q.text()).collect(),
            });
        }
    }
    for kl in cit.children_named("KeywordList") {
        for k in kl.children_named("Keyword") {
            Dataset::push_unique(&mut p.keywords, &k.text());
        }
    }
    if let Some(cl) = cit.child("ChemicalList") {
        for c in cl.children_named("Chemical") {
            if let Some(n) = c.child("NameOfSubstance") {
                Dataset::push_unique(&mut p.chemicals, &n.text());
            }
        }
    }

    let mut dates = Vec::new();
    if let Some(pd) = article.path(&["Journal", "JournalIssue", "PubDate"]) {
        let (value, raw) = read_date(pd);
        dates.push(DatedValue {
            kind: DateKind::Publication,
            value,
            raw,
        });
    }
    for (tag, kind) in [
        ("DateCompleted", DateKind::Creation),
        ("DateRevised", DateKind::Updated),
    ] {
        if let Some(e) = cit.child(tag) {
            let (value, raw) = read_date(e);
            dates.push(DatedValue { kind, value, raw });
        }
    }
    let mut people = Vec::new();
    if let Some(list) = article.child("AuthorList") {
        for (a, name) in list
            .children_named("Author")
            .filter(|a| a.child("LastName").or(a.child("CollectiveName")).is_some())
            .zip(&p.authors)
        {
            let mut person = Person::new(name.clone(), PersonRole::Author);
            // An author may have several affiliations; all of them are kept, in order.
            let affs: Vec<String> = a
                .children_named("AffiliationInfo")
                .filter_map(|i| i.child("Affiliation"))
                .filter_map(|e| clean_value(&e.text()))
                .collect();
            if !affs.is_empty() {
                person.affiliation = Some(affs.join("; "));
            }
            person.orcid = a
                .children_named("Identifier")
                .filter(|i| i.attr("Source") == Some("ORCID"))
                .find_map(|i| normalize_orcid(&i.text()));
            people.push(person);
        }
    }
    let mut databanks = Vec::new();
    // Data banks the article declares (GEO series, trial registrations …).
    if let Some(dbl) = article.child("DataBankList") {
        for db in dbl.children_named("DataBank") {
            let name = db
                .child("DataBankName")
                .map(|e| e.text())
                .unwrap_or_default();
            if let Some(accs) = db.child("AccessionNumberList") {
                for a in accs.children_named("AccessionNumber") {
                    databanks.push((name.clone(), a.text()));
                }
            }
        }
    }
    let d = citation_dataset(
        &Citation {
            publication: p.clone(),
            people,
            dates,
            databanks,
        },
        ordinal,
    );
    // The tree borrows the text, which the record takes.
    drop(art);
    SourceRecord {
        dataset: d,
        publication: Some(p),
        raw,
        format: FORMAT,
        location: loc(line),
        diagnostics: diags,
    }
}
