//! The OAI-PMH endpoint harvested end to end by a real OAI-PMH client: `sickle` (PyPI) in a
//! python3 process, against `serve` listening on a loopback port, over 400 real PubMed records
//! of which one was deleted.
//!
//! Needs python3 with sickle (`.ci/run` installs it). Where either is missing the test says
//! why and skips, unless `OPENDI_REQUIRE_CORPORA=1`, where it fails.

use opendi_engine::{Change, Engine, EngineConfig, NewRecord};
use opendi_ingest::source::{self, expand, ReadOptions};
use opendi_model::{Item, PartialDate};
use opendi_server::{serve, AppState, ServerConfig};
use std::process::Command;
use std::sync::atomic::AtomicU64;

const RECORDS: usize = 400;
const PAGE: usize = 50;

/// The harvesting client: every verb through sickle, results as one JSON object.
const SCRIPT: &str = r#"
import json, sys
from sickle import Sickle
from sickle.oaiexceptions import IdDoesNotExist, NoRecordsMatch

base, deleted_id = sys.argv[1], sys.argv[2]
s = Sickle(base, max_retries=0, timeout=60)
out = {}
ident = s.Identify()
out["repositoryName"] = ident.repositoryName
out["deletedRecord"] = ident.deletedRecord
out["formats"] = [f.metadataPrefix for f in s.ListMetadataFormats()]
out["sets"] = [x.setSpec for x in s.ListSets()]

records = s.ListRecords(metadataPrefix="oai_dc", ignore_deleted=False)
ids, deleted, titled, pages = [], [], 0, 1
token = None
for r in records:
    ids.append(r.header.identifier)
    if r.header.deleted:
        deleted.append(r.header.identifier)
    elif r.metadata.get("title"):
        titled += 1
    if records.resumption_token is not None and records.resumption_token.token != token:
        token = records.resumption_token.token
        if token:
            pages += 1
out["ids"] = ids
out["deleted"] = deleted
out["titled"] = titled
out["pages"] = pages

out["identifiers_datacite"] = sum(1 for _ in s.ListIdentifiers(metadataPrefix="oai_datacite", ignore_deleted=False))
out["per_set"] = {spec: sum(1 for _ in s.ListIdentifiers(metadataPrefix="oai_dc", set=spec, ignore_deleted=False)) for spec in out["sets"]}

first_live = next(i for i in ids if i not in deleted)
rec = s.GetRecord(identifier=first_live, metadataPrefix="oai_dc")
out["get_title"] = rec.metadata.get("title", [""])[0]
gone = s.GetRecord(identifier=deleted_id, metadataPrefix="oai_dc")
out["get_deleted"] = gone.header.deleted
try:
    s.GetRecord(identifier="oai:opendi:pubmed/0", metadataPrefix="oai_dc")
    out["missing"] = "found"
except IdDoesNotExist:
    out["missing"] = "idDoesNotExist"
try:
    list(s.ListIdentifiers(metadataPrefix="oai_dc", **{"from": "2099-01-01"}))
    out["future"] = "records"
except NoRecordsMatch:
    out["future"] = "noRecordsMatch"
print(json.dumps(out))
"#;

fn required() -> bool {
    std::env::var("OPENDI_REQUIRE_CORPORA").is_ok_and(|v| v == "1" || v == "true")
}

/// python3 with sickle importable, or why not.
fn python_with_sickle() -> Result<(), String> {
    let out = Command::new("python3")
        .args(["-c", "import sickle"])
        .output()
        .map_err(|e| format!("python3 not runnable: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "python3 cannot import sickle (pip install sickle): {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// The first `n` records of a PubMed baseline file (the reader sees the whole file; the rest
/// are dropped as they come).
fn pubmed_records(n: usize) -> Option<Vec<NewRecord>> {
    let path = opendi_corpora::corpus("pubmed/pubmed20n0014.xml.gz")?;
    let inputs = expand(&[path.display().to_string()]).expect("expand corpus");
    let opts = ReadOptions {
        format: None,
        today: PartialDate::ymd(2026, 1, 1).unwrap(),
    };
    let progress = AtomicU64::new(0);
    let mut out = Vec::new();
    for input in &inputs {
        source::read(input, &opts, &progress, &mut |item| {
            if let Item::Record(r) = item {
                if out.len() < n {
                    out.push(NewRecord::from_source(*r));
                }
            }
        });
    }
    Some(out)
}

#[test]
fn sickle_harvests_the_oai_endpoint() {
    if let Err(why) = python_with_sickle() {
        assert!(!required(), "{why} and OPENDI_REQUIRE_CORPORA is set");
        eprintln!("skipped: {why}");
        return;
    }
    let Some(records) = pubmed_records(RECORDS) else {
        return;
    };
    assert_eq!(records.len(), RECORDS);
    let repository = records[0].dataset.repository.clone();
    let victim = records[7].dataset.accession.clone();
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(EngineConfig::new(dir.path())).unwrap();
    let batch: Vec<Change> = records
        .into_iter()
        .map(|r| Change::Upsert(Box::new(r)))
        .collect();
    engine.apply(&batch, 1_700_000_000).unwrap();
    engine
        .apply(
            &[Change::Delete {
                repository: repository.clone(),
                accession: victim.clone(),
                source: "test".into(),
            }],
            1_700_000_500,
        )
        .unwrap();
    engine.commit().unwrap();
    let live = engine.store().stats().unwrap().records as usize;
    let state = AppState::new(engine).with_config(ServerConfig {
        oai_page_size: PAGE,
        ..Default::default()
    });

    // The real server on a loopback port; it lives until the test process ends.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        serve(state, "127.0.0.1:0", move |addr| {
            let _ = tx.send(addr);
        })
        .expect("serve");
    });
    let addr = rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("server did not start");

    let deleted_id = format!("oai:opendi:{repository}/{victim}");
    let out = Command::new("python3")
        .args(["-c", SCRIPT, &format!("http://{addr}/oai"), &deleted_id])
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "sickle failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "sickle printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    eprintln!(
        "sickle harvested {} records in {} pages; sets {}",
        v["ids"].as_array().unwrap().len(),
        v["pages"],
        v["sets"]
    );

    assert_eq!(v["repositoryName"], "opendi");
    assert_eq!(v["deletedRecord"], "persistent");
    assert_eq!(v["formats"], serde_json::json!(["oai_dc", "oai_datacite"]));
    assert_eq!(v["sets"], serde_json::json!([repository]));
    let ids: Vec<&str> = v["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), RECORDS, "every record once, the deleted one too");
    let unique: std::collections::BTreeSet<&&str> = ids.iter().collect();
    assert_eq!(unique.len(), RECORDS);
    assert_eq!(
        v["pages"].as_u64().unwrap() as usize,
        RECORDS.div_ceil(PAGE)
    );
    assert_eq!(v["deleted"], serde_json::json!([deleted_id]));
    assert_eq!(v["titled"].as_u64().unwrap() as usize, live);
    assert_eq!(
        v["identifiers_datacite"].as_u64().unwrap() as usize,
        RECORDS
    );
    assert_eq!(
        v["per_set"][&repository].as_u64().unwrap() as usize,
        RECORDS
    );
    assert!(!v["get_title"].as_str().unwrap().is_empty());
    assert_eq!(v["get_deleted"], true);
    assert_eq!(v["missing"], "idDoesNotExist");
    assert_eq!(v["future"], "noRecordsMatch");
}
