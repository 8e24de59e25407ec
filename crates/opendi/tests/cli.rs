//! The CLI contract, end to end through the real binary: ingest summaries, exit codes,
//! search/similar/show/stats JSON shapes, re-ingest as a no-op, and a kill -9 mid-ingest.

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn opendi(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_opendi"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .output()
        .expect("run opendi")
}

fn json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "exit {:?}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_eq!(
        opendi(d, &["ingest", "--format", "no-such-format", "x"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        opendi(d, &["ingest", "/no/such/path"]).status.code(),
        Some(2)
    );
    assert_eq!(
        opendi(d, &["search", "--sort", "sideways", "x"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(opendi(d, &["frobnicate"]).status.code(), Some(2));
    let out = opendi(d, &["show", "NOPE123"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no record"));
}

#[test]
fn pubmed_baseline_ingest_search_and_reingest() {
    let Some(file) = opendi_corpora::corpus("pubmed/pubmed20n0014.xml.gz") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let file = file.display().to_string();

    let s = json(&opendi(d, &["ingest", "--json", &file]));
    assert_eq!(s["records"], 30000);
    assert_eq!(s["new"], 30000);
    assert_eq!(s["errors"], 0);
    assert_eq!(s["files"], 1);

    // The first article of the file, by a phrase of its title and by its PMID.
    let r = json(&opendi(
        d,
        &[
            "search",
            "--json",
            "--limit",
            "3",
            "carcase surface growth bacteriological contamination",
        ],
    ));
    assert_eq!(r["hits"][0]["accession"], "399296");
    assert_eq!(r["hits"][0]["repository"], "pubmed");
    assert!(r["count"].as_u64().unwrap() >= 1);
    let r = json(&opendi(d, &["search", "--json", "399296"]));
    assert_eq!(r["hits"][0]["accession"], "399296");

    // Facets and paging.
    let r = json(&opendi(
        d,
        &[
            "search", "--json", "--facets", "--limit", "5", "--offset", "5", "cancer",
        ],
    ));
    assert_eq!(r["hits"].as_array().unwrap().len(), 5);
    assert!(r["facets"]["year"]
        .as_array()
        .is_some_and(|y| !y.is_empty()));

    // Batch queries: one JSON object per line.
    let qfile = d.join("queries.txt");
    std::fs::write(&qfile, "aplastic anemia\nhepatitis B vaccine\n").unwrap();
    let out = opendi(
        d,
        &["search", "--json", "--queries", qfile.to_str().unwrap()],
    );
    assert!(out.status.success());
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert!(lines.iter().all(|l| l["count"].as_u64().is_some()));

    let sim = json(&opendi(d, &["similar", "--json", "--limit", "5", "399296"]));
    let sim = sim["similar"].as_array().unwrap();
    assert_eq!(sim.len(), 5);
    assert!(sim
        .iter()
        .all(|h| h["accession"] != "399296" && h["score"].as_f64().is_some()));
    assert!(sim
        .iter()
        .all(|h| h["reasons"].as_array().is_some_and(|r| !r.is_empty())));

    let show = json(&opendi(d, &["show", "--json", "--raw", "pubmed/399296"]));
    assert_eq!(show["dataset"]["accession"], "399296");
    assert_eq!(show["format"], "pubmed-xml");
    assert!(show["raw"].as_str().unwrap().starts_with("<PubmedArticle>"));
    assert!(show["content_hash"].as_str().unwrap().len() == 64);

    let stats = json(&opendi(d, &["stats", "--json"]));
    assert_eq!(stats["store"]["records"], 30000);
    assert_eq!(stats["indexed_documents"], 30000);

    // Re-ingesting the same file changes nothing.
    let s = json(&opendi(d, &["ingest", "--json", &file]));
    assert_eq!(s["unchanged"], 30000);
    assert_eq!(s["new"], 0);
    assert_eq!(s["updated"], 0);

    // The seed record joins the 30,000 articles: its list is computed at ingest, with reasons
    // (the vocabularies recognise aplastic anemia in its text, as in the articles on it).
    if let Some(seed) = opendi_corpora::seed("S-EPMC7912947.omicsdi.xml") {
        let s = json(&opendi(d, &["ingest", "--json", seed.to_str().unwrap()]));
        assert_eq!(s["new"], 1);
        let sim = json(&opendi(d, &["similar", "--json", "S-EPMC7912947"]));
        let sim = sim["similar"].as_array().unwrap();
        assert!(!sim.is_empty());
        for h in sim {
            let reasons = h["reasons"].as_array().unwrap();
            assert!(!reasons.is_empty(), "{h}");
        }
        assert!(
            sim.iter().any(|h| h["reasons"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r.as_str().unwrap().contains("aplastic anemia"))),
            "{sim:?}"
        );
        let text = opendi(d, &["similar", "S-EPMC7912947"]);
        assert!(String::from_utf8_lossy(&text.stdout).contains("    - shared terms: "));
        // A batch of keys: one JSON line each.
        let keys = d.join("keys.txt");
        std::fs::write(&keys, "S-EPMC7912947\n399296\n").unwrap();
        let out = opendi(
            d,
            &["similar", "--limit", "3", "--keys", keys.to_str().unwrap()],
        );
        let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert!(lines
            .iter()
            .all(|l| l["similar"].as_array().unwrap().len() == 3));
        let all = json(&opendi(d, &["similar", "--all", "--json"]));
        assert_eq!(all["records"], 30001);
        assert!(all["seconds"].as_f64().is_some());
    }
}

#[test]
fn strict_rejects_records_with_errors_and_bad_files_do_not_stop_the_rest() {
    let Some(dir_in) = opendi_corpora::corpus("omicsdi-xml/xml-validator") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = json(&opendi(
        d,
        &["ingest", "--json", "--strict", dir_in.to_str().unwrap()],
    ));
    assert!(s["rejected"].as_u64().unwrap() > 0, "{s}");
    assert_eq!(
        s["records"].as_u64().unwrap(),
        s["rejected"].as_u64().unwrap()
            + s["new"].as_u64().unwrap()
            + s["updated"].as_u64().unwrap()
            + s["unchanged"].as_u64().unwrap()
    );
    assert!(
        s["findings_by_code"]["missing-publication-date"]
            .as_u64()
            .unwrap()
            >= 1
    );

    // A truncated gzip among good files: reported with its name; the others still go in.
    let mixed = d.join("mixed");
    std::fs::create_dir_all(&mixed).unwrap();
    let good = std::fs::read(dir_in.join("PRIDE_EBEYE_PXD007896.xml")).unwrap();
    std::fs::write(mixed.join("a.xml"), &good).unwrap();
    let mut gz = flate2_gzip(&std::fs::read(dir_in.join("PRIDE_EBEYE_PXD002837.xml")).unwrap());
    gz.truncate(gz.len() / 2);
    std::fs::write(mixed.join("b.xml.gz"), &gz).unwrap();
    let s = json(&opendi(
        &d.join("data2"),
        &["ingest", "--json", mixed.to_str().unwrap()],
    ));
    assert_eq!(s["files_failed"], 1, "{s}");
    assert!(s["failed"][0]["file"]
        .as_str()
        .unwrap()
        .ends_with("b.xml.gz"));
    assert_eq!(s["new"], 1);
}

fn flate2_gzip(bytes: &[u8]) -> Vec<u8> {
    // A gzip stream written by hand: one stored (uncompressed) deflate block per 65535 bytes.
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let chunks: Vec<&[u8]> = bytes.chunks(65535).collect();
    for (i, c) in chunks.iter().enumerate() {
        out.push(if i + 1 == chunks.len() { 1 } else { 0 });
        let len = c.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(c);
    }
    let crc = crc32(bytes);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// kill -9 in the middle of an ingest: what the store committed is intact and searchable after
/// a restart, and running the ingest again completes it.
#[test]
fn kill_9_mid_ingest_loses_nothing_committed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let corpus = d.join("corpus.xml.gz");
    let gen = opendi(
        d,
        &[
            "gen",
            "--records",
            "40000",
            "--seed",
            "7",
            corpus.to_str().unwrap(),
        ],
    );
    assert!(
        gen.status.success(),
        "{}",
        String::from_utf8_lossy(&gen.stderr)
    );
    let data = d.join("data");
    let mut kills = 0;
    for round in 0..3 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_opendi"))
            .arg("--data-dir")
            .arg(&data)
            .args(["ingest", "--json", corpus.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(d.join("ingest.err")).unwrap())
            .spawn()
            .unwrap();
        // Wait until the store holds more than it held before this round, then kill.
        let before = stored(&data);
        let start = std::time::Instant::now();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                // Not killed: it must have run to the end, whatever ran beside it.
                assert!(
                    status.success(),
                    "round {round}: the ingest failed: {}",
                    std::fs::read_to_string(d.join("ingest.err")).unwrap()
                );
                break;
            }
            if stored(&data) > before + 500 * (round + 1) {
                child.kill().unwrap();
                kills += 1;
                break;
            }
            assert!(start.elapsed().as_secs() < 300, "ingest made no progress");
            std::thread::yield_now();
        }
        child.wait().unwrap();
        // After the kill: store and index agree, and what is stored is searchable.
        let stats = json(&opendi(&data, &["stats", "--json"]));
        let records = stats["store"]["records"].as_u64().unwrap();
        assert!(records > 0);
        assert_eq!(
            stats["indexed_documents"].as_u64().unwrap(),
            records,
            "round {round}: {stats}"
        );
        let all = json(&opendi(&data, &["search", "--json", "*"]));
        assert_eq!(all["count"].as_u64().unwrap(), records);
        let first = json(&opendi(
            &data,
            &[
                "search", "--json", "--sort", "date_asc", "--limit", "1", "*",
            ],
        ));
        let acc = first["hits"][0]["accession"].as_str().unwrap().to_string();
        let found = json(&opendi(&data, &["search", "--json", &acc]));
        assert_eq!(found["hits"][0]["accession"], acc.as_str());
    }
    assert!(
        kills >= 1,
        "the ingest always finished before it could be killed"
    );
    // Running the ingest again completes it.
    let s = json(&opendi(
        &data,
        &["ingest", "--json", corpus.to_str().unwrap()],
    ));
    assert_eq!(s["records"], 40000);
    let stats = json(&opendi(&data, &["stats", "--json"]));
    assert_eq!(stats["store"]["records"], 40000);
    assert_eq!(stats["indexed_documents"], 40000);
}

/// Records committed to the store so far, read without disturbing the writer.
/// An ingest and a `stats` started together on a data directory that does not exist yet: both
/// run to the end (neither reads the other's half-made layout marker, store or index).
#[test]
fn two_processes_opening_a_new_data_directory_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus.xml.gz");
    let gen = opendi(
        dir.path(),
        &["gen", "--records", "100", corpus.to_str().unwrap()],
    );
    assert!(gen.status.success());
    for round in 0..20 {
        let data = dir.path().join(format!("data{round}"));
        let spawn = |args: &[&str]| {
            Command::new(env!("CARGO_BIN_EXE_opendi"))
                .arg("--data-dir")
                .arg(&data)
                .args(args)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        // The second starts 0 to 4 ms after the first: one of these lands in the first's
        // creating of the directory.
        let ingest = spawn(&["ingest", "--json", corpus.to_str().unwrap()]);
        std::thread::sleep(std::time::Duration::from_micros(200 * (round % 20)));
        let children = [("ingest", ingest), ("stats", spawn(&["stats", "--json"]))];
        for (what, child) in children {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "round {round}: {what} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

fn stored(data: &Path) -> u64 {
    let out = opendi(data, &["stats", "--json"]);
    if !out.status.success() {
        return 0;
    }
    serde_json::from_slice::<Value>(&out.stdout)
        .ok()
        .and_then(|v| v["store"]["records"].as_u64())
        .unwrap_or(0)
}

/// An http URL is read like a file (served here by a one-request server on loopback).
#[test]
fn ingests_from_an_http_url() {
    let Some(file) = opendi_corpora::corpus(
        "omicsdi-xml/ddi-annotation/ddi-annotation__PRIDE_EBEYE_PXD000005.xml",
    ) else {
        return;
    };
    let body = std::fs::read(file).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let (mut s, _) = listener.accept().unwrap();
        let mut req = [0u8; 4096];
        let _ = s.read(&mut req).unwrap();
        write!(s, "HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len()).unwrap();
        s.write_all(&body).unwrap();
    });
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://{addr}/PRIDE_EBEYE_PXD000005.xml");
    let s = json(&opendi(dir.path(), &["ingest", "--json", &url]));
    server.join().unwrap();
    assert_eq!(s["new"], 1, "{s}");
    let show = json(&opendi(dir.path(), &["show", "--json", "PXD000005"]));
    assert_eq!(show["source"], url.as_str());
}

/// PubMed update files withdraw PMIDs with `DeleteCitation`: the records become tombstones,
/// leave the search, and stay in the store with their history.
#[test]
fn delete_citation_makes_tombstones() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let base = d.join("base.xml");
    assert!(opendi(
        d,
        &[
            "gen",
            "--records",
            "50",
            "--format",
            "pubmed-xml",
            base.to_str().unwrap()
        ]
    )
    .status
    .success());
    let data = d.join("data");
    assert_eq!(
        json(&opendi(
            &data,
            &["ingest", "--json", base.to_str().unwrap()]
        ))["new"],
        50
    );
    // The generator numbers PMIDs from 30000000.
    let update = d.join("update.xml");
    std::fs::write(
        &update,
        "<?xml version=\"1.0\"?>\n<PubmedArticleSet>\n<DeleteCitation>\n<PMID Version=\"1\">30000003</PMID>\n<PMID Version=\"1\">30000007</PMID>\n</DeleteCitation>\n</PubmedArticleSet>\n",
    )
    .unwrap();
    let s = json(&opendi(
        &data,
        &["ingest", "--json", update.to_str().unwrap()],
    ));
    assert_eq!(s["deleted"], 2, "{s}");
    let stats = json(&opendi(&data, &["stats", "--json"]));
    assert_eq!(stats["store"]["records"], 48);
    assert_eq!(stats["store"]["deleted"], 2);
    assert_eq!(stats["indexed_documents"], 48);
    assert_eq!(
        json(&opendi(&data, &["search", "--json", "30000003"]))["count"],
        0
    );
    let show = json(&opendi(&data, &["show", "--json", "pubmed/30000003"]));
    assert_eq!(show["deleted"], true);
    assert_eq!(show["history"].as_array().unwrap().len(), 1);
}

/// Issue 5: ingest annotates the seed record (a paper on aplastic anemia in children) from
/// its title and abstract with the vocabularies of `$OPENDI_VOCAB`.
#[test]
fn ingest_annotates_the_seed_with_disease_and_organism_found_in_text() {
    let (Some(seed), Some(hpo)) = (
        opendi_corpora::seed("S-EPMC7912947.omicsdi.xml"),
        opendi_corpora::corpus("vocab/hpo/hp.obo"),
    ) else {
        return;
    };
    let vocab = hpo.parent().unwrap().parent().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_opendi"))
        .env("OPENDI_VOCAB", vocab)
        .arg("--data-dir")
        .arg(dir.path())
        .args(["ingest", "--json"])
        .arg(&seed)
        .output()
        .expect("run opendi");
    assert_eq!(json(&out)["new"], 1);
    let show = json(&opendi(dir.path(), &["show", "--json", "S-EPMC7912947"]));
    let d = &show["dataset"];
    let diseases = d["diseases"].as_array().expect("diseases");
    assert!(
        diseases.iter().any(|t| t["label"]
            .as_str()
            .is_some_and(|l| l.eq_ignore_ascii_case("aplastic anemia"))
            && t["evidence"] == "found_in_text"),
        "{diseases:?}"
    );
    let organisms = d["organisms"].as_array().expect("organisms");
    assert!(
        organisms.iter().any(|o| o["taxon_id"] == "9606"
            && o["name"] == "Homo sapiens"
            && o["evidence"] == "found_in_text"),
        "{organisms:?}"
    );
}

/// Issue 7: `gen` learns its statistics from the real corpora, is deterministic from its seed,
/// writes records that ingest without errors, and a JSONL line of indexed text per record.
#[test]
fn gen_learns_from_the_corpora_deterministically() {
    let Some(pubmed) = opendi_corpora::corpus("pubmed/pubmed20n0014.xml.gz") else {
        return;
    };
    let corpora = pubmed.parent().unwrap().parent().unwrap().to_path_buf();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut outputs = Vec::new();
    for name in ["a", "b"] {
        let xml = d.join(format!("{name}.xml"));
        let jsonl = d.join(format!("{name}.jsonl"));
        let out = opendi(
            d,
            &[
                "gen",
                "--records",
                "300",
                "--seed",
                "11",
                "--stats-from",
                corpora.to_str().unwrap(),
                "--jsonl",
                jsonl.to_str().unwrap(),
                xml.to_str().unwrap(),
            ],
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{err}");
        assert!(err.contains("learned from"), "{err}");
        outputs.push((
            std::fs::read_to_string(&xml).unwrap(),
            std::fs::read_to_string(&jsonl).unwrap(),
        ));
    }
    assert_eq!(
        outputs[0], outputs[1],
        "the same seed gives the same corpus"
    );
    let (xml, jsonl) = &outputs[0];
    let lines: Vec<Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 300);
    assert!(xml.contains(&format!(
        "<entry id=\"{}\">",
        lines[0]["id"].as_str().unwrap()
    )));
    // Learned text, not the templates: far more distinct words than the templates hold.
    let words: std::collections::HashSet<&str> = lines
        .iter()
        .flat_map(|l| l["contents"].as_str().unwrap().split_whitespace())
        .collect();
    assert!(words.len() > 3000, "{} distinct words", words.len());
    let s = json(&opendi(
        &d.join("data"),
        &["ingest", "--json", d.join("a.xml").to_str().unwrap()],
    ));
    assert_eq!(s["new"], 300, "{s}");
    assert_eq!(s["errors"], 0, "{s}");
}

/// Synonym expansion from the command line: a word finds the record that writes only a
/// synonym of it and says what it added; `--no-expand` searches the word as written. Bad
/// syntax is a note, not a failure. The record names its organism by taxon id only, which
/// ingest does not annotate, so only the expansion `human` -> `9606` can find it.
#[test]
fn search_expands_synonyms_unless_told_not_to() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let file = d.join("sleep.jsonld");
    std::fs::write(
        &file,
        r#"{"@context": "https://schema.org/", "@type": "Dataset",
            "identifier": "SLEEP-1", "name": "A sleep study",
            "description": "Actigraphy of NCBI taxon 9606 over four weeks."}"#,
    )
    .unwrap();
    let out = opendi(d, &["ingest", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let on = json(&opendi(d, &["search", "--json", "human"]));
    assert_eq!(on["count"], 1, "{on}");
    let added: Vec<&str> = on["also_searched_for"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(
        added.contains(&"Homo sapiens") && added.contains(&"9606"),
        "{added:?}"
    );
    let off = json(&opendi(d, &["search", "--json", "--no-expand", "human"]));
    assert_eq!(off["count"], 0, "{off}");
    assert!(off.get("also_searched_for").is_none(), "{off}");

    let text = opendi(d, &["search", "human"]);
    assert!(text.status.success());
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("also searched for ") && text.contains("\"Homo sapiens\""),
        "{text}"
    );
    let text = opendi(d, &["search", "--no-expand", "human"]);
    assert!(!String::from_utf8_lossy(&text.stdout).contains("also searched for"));

    let bad = opendi(d, &["search", "(\"unclosed AND year:[2019"]);
    assert!(
        bad.status.success(),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    assert!(String::from_utf8_lossy(&bad.stdout).contains("note: "));
}

/// A bulk load may leave the similar lists to one pass at the end: meanwhile a list is
/// computed when asked for, and the pass gives the same neighbours.
#[test]
fn ingest_no_similar_then_similar_all() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let file = d.join("gen.xml.gz");
    let out = opendi(
        d,
        &[
            "gen",
            "--records",
            "1500",
            "--format",
            "omicsdi-xml",
            file.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = opendi(d, &["ingest", "--no-similar", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("opendi similar --all"));
    let first = json(&opendi(d, &["search", "--json", "--limit", "3", "cell"]));
    let keys: Vec<String> = first["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            format!(
                "{}/{}",
                h["repository"].as_str().unwrap(),
                h["accession"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(keys.len(), 3);
    let lists = |d: &Path| -> Vec<Vec<String>> {
        keys.iter()
            .map(|k| {
                json(&opendi(d, &["similar", "--json", "--limit", "10", k]))["similar"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|h| h["accession"].as_str().unwrap().to_string())
                    .collect()
            })
            .collect()
    };
    let live = lists(d);
    assert!(live.iter().all(|l| !l.is_empty()), "{live:?}");
    let all = json(&opendi(d, &["similar", "--all", "--json"]));
    assert_eq!(all["records"], 1500);
    assert_eq!(live, lists(d));
}
