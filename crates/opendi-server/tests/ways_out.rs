//! The standard ways out, on real records through `router(state).oneshot(…)`: OAI-PMH
//! (every verb, both formats, selective harvesting, resumption while records arrive, deletions,
//! every error code), sitemaps split into files, Atom/CSV/JSONL searches, the bulk export,
//! cursor-paged search and the change feed.
//!
//! The fixture is its own engine (tests here count records, so they must not share one with
//! tests that add views): the `ddi-annotation` OmicsDI dumps and one PubMed article ingested
//! at T1, the seed record at T2, and a deletion of `pride/PXD000001` at T3.

mod common;

use axum::body::Body;
use axum::http::Request;
use common::{get, Reply};
use http_body_util::BodyExt;
use opendi_engine::{Change, Engine, EngineConfig, NewRecord};
use opendi_ingest::{read_all, source::expand};
use opendi_model::{Item, PartialDate};
use opendi_server::{router, AppState, ServerConfig};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::LazyLock;
use tower::ServiceExt;

const T1: i64 = 1_600_000_000; // 2020-09-13T12:26:40Z
const T2: i64 = 1_700_000_000; // 2023-11-14T22:13:20Z
const T3: i64 = 1_700_000_100;

fn upserts(paths: &[PathBuf]) -> Vec<Change> {
    let sources: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    let (items, _) = read_all(
        &expand(&sources).expect("expand sources"),
        PartialDate::ymd(2026, 1, 1).unwrap(),
    );
    items
        .into_iter()
        .filter_map(|i| match i {
            Item::Record(r) => Some(Change::Upsert(Box::new(NewRecord::from_source(*r)))),
            _ => None,
        })
        .collect()
}

struct Fixture {
    _dir: tempfile::TempDir,
    state: AppState,
    /// Records in the store, tombstones included.
    all: usize,
    live: usize,
}

fn config() -> ServerConfig {
    ServerConfig {
        sitemap_split: 25,
        oai_page_size: 10,
        ..Default::default()
    }
}

fn build(dir: &tempfile::TempDir) -> Option<Engine> {
    let seed = opendi_corpora::seed("S-EPMC7912947.omicsdi.xml")?;
    let ddi = opendi_corpora::corpus("omicsdi-xml/ddi-annotation")?;
    let pubmed = opendi_corpora::corpus("pubmed/pubmed-29768149.xml")?;
    let engine = Engine::open(EngineConfig::new(dir.path())).unwrap();
    engine.apply(&upserts(&[ddi, pubmed]), T1).unwrap();
    engine.apply(&upserts(&[seed]), T2).unwrap();
    engine
        .apply(
            &[Change::Delete {
                repository: "pride".into(),
                accession: "PXD000001".into(),
                source: "test".into(),
            }],
            T3,
        )
        .unwrap();
    engine.commit().unwrap();
    Some(engine)
}

static FIXTURE: LazyLock<Option<Fixture>> = LazyLock::new(|| {
    let dir = tempfile::tempdir().unwrap();
    let engine = build(&dir)?;
    let stats = engine.store().stats().unwrap();
    Some(Fixture {
        all: (stats.records + stats.deleted) as usize,
        live: stats.records as usize,
        state: AppState::new(engine).with_config(config()),
        _dir: dir,
    })
});

fn fixture() -> Option<&'static Fixture> {
    FIXTURE.as_ref()
}

/// Checks that a document is well-formed XML (every element closed, entities valid).
fn well_formed(xml: &str) {
    let mut r = quick_xml::Reader::from_str(xml);
    let mut depth = 0i64;
    loop {
        match r.read_event() {
            Ok(quick_xml::events::Event::Start(_)) => depth += 1,
            Ok(quick_xml::events::Event::End(_)) => depth -= 1,
            Ok(quick_xml::events::Event::Text(t)) => {
                t.unescape().unwrap_or_else(|e| {
                    panic!("bad entity ({e}) in {}", &xml[..xml.len().min(500)])
                });
            }
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("not well-formed XML ({e}): {}", &xml[..xml.len().min(500)]),
        }
    }
    assert_eq!(depth, 0, "unclosed elements");
}

/// Every `<tag …>text</tag>` text in document order (tag without attributes or with).
fn texts(xml: &str, tag: &str) -> Vec<String> {
    let open = format!("<{tag}");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        // `<setSpec` must not match `<set`.
        if !after.starts_with('>') && !after.starts_with(' ') {
            rest = after;
            continue;
        }
        let Some(gt) = after.find('>') else { break };
        if after[..gt].ends_with('/') {
            out.push(String::new());
            rest = &after[gt + 1..];
            continue;
        }
        let body = &after[gt + 1..];
        let Some(end) = body.find(&close) else { break };
        out.push(body[..end].to_string());
        rest = &body[end..];
    }
    out
}

fn error_code(xml: &str) -> Option<String> {
    let i = xml.find("<error code=\"")?;
    let rest = &xml[i + 13..];
    Some(rest[..rest.find('"')?].to_string())
}

async fn oai(s: &AppState, query: &str) -> String {
    let r = get(s, &format!("/oai?{query}")).await;
    assert_eq!(r.status, 200, "{query}: {}", r.body);
    assert_eq!(r.content_type, "text/xml; charset=utf-8");
    well_formed(&r.body);
    r.body
}

/// Harvests a whole list following resumption tokens; returns every page.
async fn harvest(s: &AppState, verb: &str, args: &str) -> Vec<String> {
    let mut pages = vec![oai(s, &format!("verb={verb}&{args}")).await];
    loop {
        let last = pages.last().unwrap();
        let token = texts(last, "resumptionToken").pop().unwrap_or_default();
        if token.is_empty() {
            return pages;
        }
        pages.push(oai(s, &format!("verb={verb}&resumptionToken={token}")).await);
        assert!(pages.len() < 1000, "runaway harvest");
    }
}

#[tokio::test]
async fn oai_identify_formats_and_sets() {
    let Some(f) = fixture() else { return };
    let s = &f.state;
    let id = oai(s, "verb=Identify").await;
    assert_eq!(texts(&id, "baseURL"), ["http://opendi.test/oai"]);
    assert_eq!(texts(&id, "protocolVersion"), ["2.0"]);
    assert_eq!(texts(&id, "earliestDatestamp"), ["2020-09-13T12:26:40Z"]);
    assert_eq!(texts(&id, "deletedRecord"), ["persistent"]);
    assert_eq!(texts(&id, "granularity"), ["YYYY-MM-DDThh:mm:ssZ"]);
    assert!(id.contains("<request verb=\"Identify\">http://opendi.test/oai</request>"));

    let formats = oai(s, "verb=ListMetadataFormats").await;
    assert_eq!(
        texts(&formats, "metadataPrefix"),
        ["oai_dc", "oai_datacite"]
    );
    let one = oai(
        s,
        "verb=ListMetadataFormats&identifier=oai:opendi:pride/PXD000005",
    )
    .await;
    assert_eq!(texts(&one, "metadataPrefix").len(), 2);

    let sets = oai(s, "verb=ListSets").await;
    let specs = texts(&sets, "setSpec");
    for want in ["metabolights_dataset", "pride", "biostudies-literature"] {
        assert!(specs.iter().any(|x| x == want), "{specs:?}");
    }
    assert!(texts(&sets, "setName").iter().any(|n| n == "PRIDE"));
}

#[tokio::test]
async fn oai_list_records_pages_through_everything_with_deletions() {
    let Some(f) = fixture() else { return };
    let s = &f.state;
    let pages = harvest(s, "ListRecords", "metadataPrefix=oai_dc").await;
    assert!(pages.len() >= f.all / 10, "{} pages", pages.len());
    let mut ids = Vec::new();
    for p in &pages {
        let n = texts(p, "identifier").len();
        assert!(n <= 10, "a page of {n}");
        ids.extend(texts(p, "identifier"));
    }
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(ids.len(), f.all, "every record once");
    assert_eq!(unique.len(), f.all);
    // The last page carries an empty token with the complete size.
    let last = pages.last().unwrap();
    assert!(
        last.contains(&format!("completeListSize=\"{}\"", f.all)),
        "{last}"
    );
    // The deleted record: a header with status="deleted" and no metadata.
    let all = pages.concat();
    let i = all
        .find("<identifier>oai:opendi:pride/PXD000001</identifier>")
        .unwrap();
    let header_start = all[..i].rfind("<header").unwrap();
    assert!(all[header_start..i].contains("status=\"deleted\""));
    let record_end = i + all[i..].find("</record>").unwrap();
    assert!(!all[i..record_end].contains("<metadata>"));
    // Live records carry Dublin Core.
    assert_eq!(texts(&all, "dc:title").len(), f.live);
    assert!(all.contains("<dc:type>Dataset</dc:type>"));

    // ListIdentifiers lists the same identifiers, headers only.
    let pages = harvest(s, "ListIdentifiers", "metadataPrefix=oai_datacite").await;
    let idents: Vec<String> = pages.iter().flat_map(|p| texts(p, "identifier")).collect();
    assert_eq!(idents, ids);
    assert!(!pages.concat().contains("<metadata>"));
}

#[tokio::test]
async fn oai_selective_harvesting_by_date_and_set() {
    let Some(f) = fixture() else { return };
    let s = &f.state;
    // Changed since T2: the seed record (T2) and the deletion (T3).
    let p = oai(
        s,
        "verb=ListIdentifiers&metadataPrefix=oai_dc&from=2023-11-14T22:13:20Z",
    )
    .await;
    assert_eq!(
        texts(&p, "identifier"),
        [
            "oai:opendi:biostudies-literature/S-EPMC7912947",
            "oai:opendi:pride/PXD000001"
        ]
    );
    assert_eq!(
        texts(&p, "datestamp"),
        ["2023-11-14T22:13:20Z", "2023-11-14T22:15:00Z"]
    );
    // Until the day of T1 (day granularity, inclusive): the dumps, less the record deleted later.
    let pages = harvest(
        s,
        "ListIdentifiers",
        "metadataPrefix=oai_dc&until=2020-09-13",
    )
    .await;
    let n: usize = pages.iter().map(|p| texts(p, "identifier").len()).sum();
    assert_eq!(n, f.all - 2);
    let p = oai(
        s,
        "verb=ListIdentifiers&metadataPrefix=oai_dc&from=2023-11-14T22:14:00Z&until=2023-11-14T22:16:00Z",
    )
    .await;
    assert_eq!(texts(&p, "identifier"), ["oai:opendi:pride/PXD000001"]);
    // One set: PRIDE's two records, one of them deleted.
    let p = oai(s, "verb=ListRecords&metadataPrefix=oai_dc&set=pride").await;
    assert_eq!(
        texts(&p, "identifier"),
        ["oai:opendi:pride/PXD000005", "oai:opendi:pride/PXD000001"]
    );
    assert!(texts(&p, "setSpec").iter().all(|x| x == "pride"));
}

#[tokio::test]
async fn oai_get_record_in_both_formats() {
    let Some(f) = fixture() else { return };
    let s = &f.state;
    let id = "oai:opendi:biostudies-literature/S-EPMC7912947";
    let dc = oai(
        s,
        &format!("verb=GetRecord&identifier={id}&metadataPrefix=oai_dc"),
    )
    .await;
    assert!(texts(&dc, "dc:title")[0].starts_with("Combination"));
    assert!(texts(&dc, "dc:identifier")
        .contains(&"http://opendi.test/dataset/biostudies-literature/S-EPMC7912947".to_string()));
    assert_eq!(texts(&dc, "dc:date"), ["2021-02-27"]);
    assert!(texts(&dc, "dc:creator").iter().any(|c| c == "Lan Y"));
    // The seed's abstract holds <h4> markup: metadata carries it as plain text.
    let desc = &texts(&dc, "dc:description")[0];
    assert!(!desc.contains("&lt;h4"), "{desc}");

    let dc2 = oai(
        s,
        &format!("verb=GetRecord&identifier={id}&metadataPrefix=oai_datacite"),
    )
    .await;
    assert!(dc2.contains("<resource xmlns=\"http://datacite.org/schema/kernel-4\""));
    assert_eq!(texts(&dc2, "publicationYear"), ["2021"]);
    assert!(dc2.contains("resourceTypeGeneral=\"Dataset\""));
    assert!(texts(&dc2, "creatorName").iter().any(|c| c == "Lan Y"));

    let gone = oai(
        s,
        "verb=GetRecord&identifier=oai:opendi:pride/PXD000001&metadataPrefix=oai_dc",
    )
    .await;
    assert!(gone.contains("<header status=\"deleted\">"));
    assert!(!gone.contains("<metadata>"));
}

#[tokio::test]
async fn oai_error_codes() {
    let Some(f) = fixture() else { return };
    let s = &f.state;
    let cases = [
        ("", "badVerb"),
        ("verb=Dance", "badVerb"),
        ("verb=Identify&verb=Identify", "badVerb"),
        ("verb=Identify&colour=red", "badArgument"),
        ("verb=ListRecords", "badArgument"),
        (
            "verb=ListRecords&metadataPrefix=oai_dc&set=pride&set=geo",
            "badArgument",
        ),
        (
            "verb=ListRecords&metadataPrefix=oai_dc&from=yesterday",
            "badArgument",
        ),
        (
            "verb=ListRecords&metadataPrefix=oai_dc&from=2020-01-01&until=2021-01-01T00:00:00Z",
            "badArgument",
        ),
        (
            "verb=ListRecords&metadataPrefix=oai_dc&from=2021-01-01&until=2020-01-01",
            "badArgument",
        ),
        (
            "verb=ListRecords&metadataPrefix=oai_dc&resumptionToken=00",
            "badArgument",
        ),
        (
            "verb=GetRecord&identifier=oai:opendi:pride/PXD000005",
            "badArgument",
        ),
        (
            "verb=ListRecords&metadataPrefix=marc21",
            "cannotDisseminateFormat",
        ),
        (
            "verb=GetRecord&identifier=oai:opendi:pride/PXD000005&metadataPrefix=marc21",
            "cannotDisseminateFormat",
        ),
        (
            "verb=GetRecord&identifier=oai:opendi:pride/NOPE&metadataPrefix=oai_dc",
            "idDoesNotExist",
        ),
        (
            "verb=GetRecord&identifier=urn:x&metadataPrefix=oai_dc",
            "idDoesNotExist",
        ),
        (
            "verb=ListMetadataFormats&identifier=oai:opendi:x/y",
            "idDoesNotExist",
        ),
        (
            "verb=ListRecords&metadataPrefix=oai_dc&set=nosuchset",
            "noRecordsMatch",
        ),
        (
            "verb=ListIdentifiers&metadataPrefix=oai_dc&from=2030-01-01",
            "noRecordsMatch",
        ),
        (
            "verb=ListRecords&resumptionToken=garbage",
            "badResumptionToken",
        ),
        (
            "verb=ListIdentifiers&resumptionToken=76317a",
            "badResumptionToken",
        ),
        ("verb=ListSets&resumptionToken=abc", "badResumptionToken"),
    ];
    for (q, code) in cases {
        let body = oai(s, q).await;
        assert_eq!(error_code(&body).as_deref(), Some(code), "{q}: {body}");
        if code == "badVerb" || code == "badArgument" {
            // No arguments echoed for these two.
            assert!(
                body.contains("<request>http://opendi.test/oai</request>"),
                "{q}"
            );
        }
    }
}

#[tokio::test]
async fn oai_accepts_post() {
    let Some(f) = fixture() else { return };
    let res = router(f.state.clone())
        .oneshot(
            Request::post("/oai")
                .header("host", "opendi.test")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from("verb=GetRecord&metadataPrefix=oai_dc&identifier=oai%3Aopendi%3Apride%2FPXD000005"))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body =
        String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    assert_eq!(texts(&body, "identifier"), ["oai:opendi:pride/PXD000005"]);
}

/// A harvest that runs while records arrive and change still sees every record: the token
/// holds a position in the change log, which only grows.
#[tokio::test]
async fn oai_resumption_survives_records_arriving() {
    let Some(ddi) = opendi_corpora::corpus("omicsdi-xml/ddi-annotation") else {
        return;
    };
    let Some(seed) = opendi_corpora::seed("S-EPMC7912947.omicsdi.xml") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(EngineConfig::new(dir.path())).unwrap();
    engine.apply(&upserts(&[ddi]), T1).unwrap();
    engine.commit().unwrap();
    let first = engine.store().stats().unwrap().records as usize;
    let state = AppState::new(engine).with_config(config());
    let p1 = oai(&state, "verb=ListIdentifiers&metadataPrefix=oai_dc").await;
    let mut ids = texts(&p1, "identifier");
    let token = texts(&p1, "resumptionToken").pop().unwrap();
    // Mid-harvest: a new record arrives and one already harvested is deleted.
    let e = state.engine();
    e.apply(&upserts(&[seed]), T2).unwrap();
    e.apply(
        &[Change::Delete {
            repository: opendi_model::repository_key("pride"),
            accession: "PXD000005".into(),
            source: "test".into(),
        }],
        T3,
    )
    .unwrap();
    e.commit().unwrap();
    let mut body = oai(
        &state,
        &format!("verb=ListIdentifiers&resumptionToken={token}"),
    )
    .await;
    loop {
        ids.extend(texts(&body, "identifier"));
        let t = texts(&body, "resumptionToken").pop().unwrap_or_default();
        if t.is_empty() {
            break;
        }
        body = oai(&state, &format!("verb=ListIdentifiers&resumptionToken={t}")).await;
    }
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(
        unique.len(),
        first + 1,
        "every record, the new one included"
    );
    assert!(ids.contains(&"oai:opendi:biostudies-literature/S-EPMC7912947".to_string()));
    // The deletion is reported at its new position (a harvester applies it in order).
    assert_eq!(ids.last().unwrap(), "oai:opendi:pride/PXD000005");
}

#[tokio::test]
async fn sitemap_index_splits_into_files() {
    let Some(f) = fixture() else { return };
    let s = &f.state;
    let r = get(s, "/sitemap.xml").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.content_type, "application/xml; charset=utf-8");
    well_formed(&r.body);
    let locs = texts(&r.body, "loc");
    assert_eq!(locs.len(), f.live.div_ceil(25), "{locs:?}");
    assert_eq!(locs[0], "http://opendi.test/sitemap/1.xml");
    assert_eq!(texts(&r.body, "lastmod").len(), locs.len());
    assert!(r.body.contains("<lastmod>2023-11-14T22:13:20Z</lastmod>"));
    let mut urls = Vec::new();
    for (i, loc) in locs.iter().enumerate() {
        let path = loc.strip_prefix("http://opendi.test").unwrap();
        let file = get(s, path).await;
        assert_eq!(file.status, 200, "{path}");
        well_formed(&file.body);
        let these = texts(&file.body, "loc");
        assert!(these.len() <= 25);
        if i + 1 < locs.len() {
            assert_eq!(these.len(), 25, "only the last file is short");
        }
        assert_eq!(texts(&file.body, "lastmod").len(), these.len());
        urls.extend(these);
    }
    assert_eq!(urls.len(), f.live);
    assert!(urls
        .contains(&"http://opendi.test/dataset/biostudies-literature/S-EPMC7912947".to_string()));
    assert!(!urls.iter().any(|u| u.ends_with("/PXD000001")), "deleted");
    // Every listed page exists.
    let page = get(s, urls[0].strip_prefix("http://opendi.test").unwrap()).await;
    assert_eq!(page.status, 200);
    for missing in [
        format!("/sitemap/{}.xml", locs.len() + 1),
        "/sitemap/0.xml".into(),
        "/sitemap/x.xml".into(),
    ] {
        assert_eq!(get(s, &missing).await.status, 404, "{missing}");
    }
}

#[tokio::test]
async fn search_as_atom_feed() {
    let Some(f) = fixture() else { return };
    let s = &f.state;
    let r = get(s, "/search.atom?q=&filter=repository:metabolights_dataset").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.content_type, "application/atom+xml; charset=utf-8");
    well_formed(&r.body);
    let entries = r.body.matches("<entry>").count();
    assert!(entries > 10 && entries <= 50, "{entries}");
    assert_eq!(texts(&r.body, "updated").len(), entries + 1);
    assert!(r
        .body
        .contains("<link rel=\"self\" type=\"application/atom+xml\" href=\"http://opendi.test/search.atom?filter=repository%3Ametabolights_dataset\"/>"));
    // Newest publication first.
    let published = texts(&r.body, "published");
    let mut sorted = published.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(published, sorted);
    let r = get(s, "/search.atom?q=Combination&size=1").await;
    assert_eq!(r.body.matches("<entry>").count(), 1);
    assert!(r
        .body
        .contains("/dataset/biostudies-literature/S-EPMC7912947"));
    assert_eq!(get(s, "/search.atom?sort=sideways").await.status, 400);
}

/// A minimal RFC 4180 reader: rows of fields, quotes and doubled quotes honoured.
fn parse_csv(s: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    rows
}

async fn count(s: &AppState, query: &str) -> usize {
    get(s, &format!("/ws/dataset/search?size=0&{query}"))
        .await
        .json()["count"]
        .as_u64()
        .unwrap() as usize
}

#[tokio::test]
async fn search_downloads_stream_every_match() {
    let Some(f) = fixture() else { return };
    let s = &f.state;
    let n = count(s, "").await;
    assert!(n > 50);
    let r = get(s, "/search.csv").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.content_type, "text/csv; charset=utf-8");
    assert!(r.headers["content-disposition"]
        .to_str()
        .unwrap()
        .contains("attachment"));
    let rows = parse_csv(&r.body);
    assert_eq!(rows[0][0], "repository");
    assert_eq!(rows.len(), n + 1, "a header and every match, not one page");
    assert!(
        rows.iter().all(|r| r.len() == 10),
        "every row has ten fields"
    );
    let seed = rows.iter().find(|r| r[1] == "S-EPMC7912947").unwrap();
    assert!(seed[2].starts_with("Combination"));
    assert!(!seed[9].contains("<h4>"), "descriptions as plain text");
    assert_eq!(
        seed[8],
        "http://opendi.test/dataset/biostudies-literature/S-EPMC7912947"
    );

    let filtered = count(s, "filter=repository:metabolights_dataset").await;
    let r = get(
        s,
        "/search.jsonl?filter=repository:metabolights_dataset&sort=date_desc",
    )
    .await;
    assert_eq!(r.content_type, "application/x-ndjson");
    let lines: Vec<serde_json::Value> = r
        .body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), filtered);
    assert!(lines.iter().all(|l| l["source"] == "metabolights_dataset"));
    let dates: Vec<&str> = lines
        .iter()
        .filter_map(|l| l["publicationDate"].as_str())
        .collect();
    let mut sorted = dates.clone();
    sorted.sort_by(|a, b| b[..4].cmp(&a[..4]));
    assert_eq!(
        dates.iter().map(|d| &d[..4]).collect::<Vec<_>>(),
        sorted.iter().map(|d| &d[..4]).collect::<Vec<_>>()
    );
    assert_eq!(get(s, "/search.csv?filter=colour:red").await.status, 400);
}

#[tokio::test]
async fn bulk_export_streams_every_public_record() {
    let Some(f) = fixture() else { return };
    let s = &f.state;
    let r: Reply = get(s, "/export.jsonl").await;
    assert_eq!(r.status, 200);
    let seq: i64 = r.headers["x-opendi-seq"].to_str().unwrap().parse().unwrap();
    let lines: Vec<serde_json::Value> = r
        .body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), f.live);
    let keys: BTreeSet<String> = lines
        .iter()
        .map(|l| {
            format!(
                "{}/{}",
                l["source"].as_str().unwrap(),
                l["accession"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(keys.len(), f.live);
    assert!(!keys.contains("pride/PXD000001"));
    // The change feed after the dump's position is empty: nothing changed since.
    let v = get(s, &format!("/api/v1/changes?since={seq}")).await.json();
    assert_eq!(v["changes"].as_array().unwrap().len(), 0);
    assert_eq!(v["more"], false);
}

#[tokio::test]
async fn v1_search_cursor_keeps_query_filters_and_order() {
    let Some(f) = fixture() else { return };
    let s = &f.state;
    for start in [
        "/api/v1/search?size=7&sort=date_desc",
        "/api/v1/search?q=metabolomics&size=7",
        "/api/v1/search?filter=repository:metabolights_dataset&size=7&sort=date_asc",
    ] {
        let first = get(s, start).await.json();
        let total = first["count"].as_u64().unwrap() as usize;
        assert!(total > 7, "{start}: {total}");
        // The same search in one page, for the expected order.
        let whole = get(s, &format!("{start}&size=100").replace("size=7&", ""))
            .await
            .json();
        let expected: Vec<String> = whole["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| format!("{}/{}", d["source"], d["id"]))
            .collect();
        let mut got = Vec::new();
        let mut page = first;
        loop {
            for d in page["results"].as_array().unwrap() {
                got.push(format!("{}/{}", d["source"], d["id"]));
            }
            let Some(next) = page["next"].as_str() else {
                break;
            };
            page = get(s, &format!("/api/v1/search?size=7&cursor={next}"))
                .await
                .json();
            assert_eq!(
                page["count"].as_u64().unwrap() as usize,
                total,
                "filters kept"
            );
        }
        assert_eq!(got.len(), total, "{start}");
        assert_eq!(got, expected, "{start}: same order as one page");
    }
    // Facets are objects keyed by facet name.
    let v = get(s, "/api/v1/search?facets=3").await.json();
    let repo = v["facets"]["repository"].as_array().unwrap();
    assert!(repo.len() <= 3 && repo[0]["count"].as_u64().unwrap() > 0);
    assert!(repo[0]["value"].is_string());
    // A cursor is the whole search: mixing it with a query is refused, forged ones too.
    let next = get(s, "/api/v1/search?size=5").await.json()["next"]
        .as_str()
        .unwrap()
        .to_string();
    for bad in [
        format!("/api/v1/search?cursor={next}&q=x"),
        "/api/v1/search?cursor=zz".into(),
        "/api/v1/search?cursor=7b7d".into(),
        "/api/v1/search?sort=colour".into(),
        "/api/v1/search?size=1000".into(),
    ] {
        let r = get(s, &bad).await;
        assert_eq!(r.status, 400, "{bad}");
        assert_eq!(r.json()["error"]["code"], "bad_request", "{bad}");
        assert!(r.json()["error"]["message"].is_string());
    }
    let r = get(s, "/api/v1/nothing").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"]["code"], "not_found");
}

#[tokio::test]
async fn change_feed_follows_the_log_with_deletions() {
    let Some(f) = fixture() else { return };
    let s = &f.state;
    let mut since = 0;
    let mut seqs = Vec::new();
    let mut deleted = Vec::new();
    loop {
        let v = get(s, &format!("/api/v1/changes?since={since}&limit=10"))
            .await
            .json();
        let changes = v["changes"].as_array().unwrap();
        assert!(changes.len() <= 10);
        for c in changes {
            seqs.push(c["seq"].as_i64().unwrap());
            if c["deleted"] == true {
                assert!(c.get("dataset").is_none());
                deleted.push(format!(
                    "{}/{}",
                    c["repository"].as_str().unwrap(),
                    c["accession"].as_str().unwrap()
                ));
            } else {
                assert_eq!(c["dataset"]["accession"], c["accession"]);
            }
        }
        since = v["next"].as_i64().unwrap();
        if v["more"] == false {
            break;
        }
    }
    assert_eq!(seqs.len(), f.all);
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "seq order");
    assert_eq!(deleted, ["pride/PXD000001"]);
    let v = get(
        s,
        &format!("/api/v1/changes?since={}", seqs[seqs.len() - 2]),
    )
    .await
    .json();
    assert_eq!(v["changes"][0]["datestamp"], "2023-11-14T22:15:00Z");
    for bad in [
        "/api/v1/changes?since=-1",
        "/api/v1/changes?limit=0",
        "/api/v1/changes?limit=5000",
    ] {
        assert_eq!(get(s, bad).await.status, 400, "{bad}");
    }
}

#[tokio::test]
async fn search_page_links_its_feed_and_downloads() {
    let Some(f) = fixture() else { return };
    let r = get(
        &f.state,
        "/search?q=metabolomics&filter=repository:metabolights_dataset",
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(r
        .body
        .contains("<link rel=\"alternate\" type=\"application/atom+xml\""));
    let feed = "/search.atom?q=metabolomics&amp;filter=repository%3Ametabolights_dataset";
    assert!(r.body.contains(feed), "no feed link");
    assert!(r.body.contains("/search.csv?q=metabolomics&amp;filter=repository%3Ametabolights_dataset&amp;sort=relevance"));
    assert!(r.body.contains("/search.jsonl?q=metabolomics"));
    // The links work.
    let atom = get(&f.state, &feed.replace("&amp;", "&")).await;
    assert_eq!(atom.status, 200);
    assert!(atom.body.contains("<entry>"));
}

#[tokio::test]
async fn publication_list_reads_shared_publications() {
    let Some(f) = fixture() else { return };
    let v = get(
        &f.state,
        "/ws/publication/list?acc=29768149&acc=99999999999",
    )
    .await
    .json();
    assert_eq!(v["count"], 1, "{v}");
    let p = &v["publications"][0];
    assert_eq!(p["id"], "29768149");
    assert_eq!(p["source"], "pubmed");
    assert!(!p["title"].as_str().unwrap().is_empty());
    assert!(!p["authors"].as_array().unwrap().is_empty());
    assert!(p["pubAbstract"][0].as_str().unwrap().len() > 100);
}
