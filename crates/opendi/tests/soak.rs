//! Soak (issue 6): `opendi serve` on loopback while an ingest writes into the same data
//! directory, and several client threads mix searches, search pages, API reads and dataset
//! page views. Checks: no 5xx and no failed request, memory (sampled from /proc) bounded,
//! every page view counted, every ingested record present afterwards.
//!
//! Bounded to ~40 s by default; longer runs are documented in `docs/faults.md`:
//! `OPENDI_SOAK_SECS=3600 OPENDI_SOAK_RECORDS=500000 cargo test --release -p opendi --test soak -- --nocapture`.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
    serde_json::from_slice(&out.stdout).unwrap()
}

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Resident memory of a process in kB: (VmRSS, RssAnon). The anonymous part is the heap; the
/// rest is mostly the store's memory-mapped file, which the kernel may drop at will.
fn rss(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
    };
    Some((field("VmRSS:")?, field("RssAnon:")?))
}

/// Percent-encodes a query value.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[derive(Default)]
struct Tally {
    requests: AtomicU64,
    server_errors: AtomicU64,
    failures: AtomicU64,
    /// Dataset page views answered 200, per (repository, accession).
    views: Mutex<BTreeMap<(String, String), u64>>,
}

const WORDS: &[&str] = &[
    "cancer",
    "proteomics",
    "liver",
    "mouse",
    "breast",
    "\"mass spectrometry\"",
    "organism:human",
    "metabolomics AND plasma",
    "kinase",
    "brain NOT mouse",
    "zzzunknownword",
];

#[test]
fn soak_serve_with_concurrent_ingest_and_mixed_clients() {
    let secs = env_num("OPENDI_SOAK_SECS", 40);
    let more = env_num("OPENDI_SOAK_RECORDS", 20000);
    let clients = env_num("OPENDI_SOAK_CLIENTS", 4);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = d.join("data");
    let base = d.join("base.xml.gz");
    let extra = d.join("extra.xml.gz");
    for (out, n, format) in [
        (&base, "3000", "omicsdi-xml"),
        (&extra, &more.to_string()[..], "pubmed-xml"),
    ] {
        let g = opendi(
            d,
            &[
                "gen",
                "--records",
                n,
                "--format",
                format,
                "--seed",
                "11",
                out.to_str().unwrap(),
            ],
        );
        assert!(g.status.success(), "{}", String::from_utf8_lossy(&g.stderr));
    }
    let s = json(&opendi(
        &data,
        &["ingest", "--json", base.to_str().unwrap()],
    ));
    let base_records = s["new"].as_u64().unwrap();
    let listed = json(&opendi(&data, &["search", "--json", "--limit", "300", "*"]));
    let pages: Vec<(String, String)> = listed["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["repository"].as_str().unwrap().to_string(),
                h["accession"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(pages.len() >= 100);

    let mut server = Command::new(env!("CARGO_BIN_EXE_opendi"))
        .arg("--data-dir")
        .arg(&data)
        .args(["serve", "--addr", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = server.id();
    let mut stderr = BufReader::new(server.stderr.take().unwrap());
    let mut line = String::new();
    let base_url = loop {
        line.clear();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "serve exited");
        if let Some(rest) = line.split("serving ").nth(1) {
            break rest
                .split_whitespace()
                .next()
                .unwrap()
                .trim_end_matches('/')
                .to_string();
        }
    };
    // Keep draining the server's log so it never blocks on a full pipe.
    let log = std::thread::spawn(move || {
        let mut all = String::new();
        for l in stderr.lines().map_while(Result::ok) {
            all.push_str(&l);
            all.push('\n');
        }
        all
    });

    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let samples = Arc::new(Mutex::new(Vec::<(u64, u64)>::new()));
    let sampler = {
        let (stop, samples) = (Arc::clone(&stop), Arc::clone(&samples));
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if let Some(s) = rss(pid) {
                    samples.lock().unwrap().push(s);
                }
                std::thread::sleep(Duration::from_millis(250));
            }
        })
    };
    let ingest = {
        let (data, extra) = (data.clone(), extra.clone());
        std::thread::spawn(move || {
            opendi(
                &data,
                &[
                    "ingest",
                    "--json",
                    "--batch",
                    "500",
                    extra.to_str().unwrap(),
                ],
            )
        })
    };
    let started = Instant::now();
    let workers: Vec<_> = (0..clients)
        .map(|i| {
            let (stop, tally, pages, base_url) = (
                Arc::clone(&stop),
                Arc::clone(&tally),
                pages.clone(),
                base_url.clone(),
            );
            std::thread::spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .timeout_global(Some(Duration::from_secs(60)))
                    .build()
                    .new_agent();
                let mut rng = ChaCha8Rng::seed_from_u64(i);
                while !stop.load(Ordering::Relaxed) {
                    let word = encode(WORDS[rng.random_range(0..WORDS.len())]);
                    let word = word.as_str();
                    let (repo, acc) = &pages[rng.random_range(0..pages.len())];
                    let kind = rng.random_range(0..10);
                    let path = match kind {
                        0..=3 => format!("/dataset/{repo}/{acc}"),
                        4..=5 => format!("/ws/dataset/search?query={word}&size=20&facetcount=5"),
                        6..=7 => format!("/search?q={word}"),
                        8 => format!("/ws/dataset/get?accession={acc}&database={repo}"),
                        _ => format!("/api/v1/suggest?q={}", word.get(..3).unwrap_or(word)),
                    };
                    tally.requests.fetch_add(1, Ordering::Relaxed);
                    match agent.get(format!("{base_url}{path}")).call() {
                        Ok(mut resp) => {
                            let status = resp.status().as_u16();
                            let _ = resp.body_mut().read_to_string();
                            if status >= 500 {
                                tally.server_errors.fetch_add(1, Ordering::Relaxed);
                                eprintln!("{status} on {path}");
                            } else if kind <= 3 && status == 200 {
                                *tally
                                    .views
                                    .lock()
                                    .unwrap()
                                    .entry((repo.clone(), acc.clone()))
                                    .or_default() += 1;
                            } else if kind <= 3 {
                                eprintln!("{status} on {path}");
                                tally.failures.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        Err(e) => {
                            eprintln!("request {path} failed: {e}");
                            tally.failures.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            })
        })
        .collect();
    while started.elapsed() < Duration::from_secs(secs) {
        std::thread::sleep(Duration::from_millis(200));
    }
    let ingested = ingest.join().unwrap();
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().unwrap();
    }
    sampler.join().unwrap();
    // Ctrl-C: the server finishes what is in flight and exits.
    let _ = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status();
    let exit = server.wait().unwrap();
    let log = log.join().unwrap();
    assert!(exit.success(), "serve exited with {exit:?}: {log}");

    let ingest_summary = json(&ingested);
    let requests = tally.requests.load(Ordering::Relaxed);
    let server_errors = tally.server_errors.load(Ordering::Relaxed);
    let failures = tally.failures.load(Ordering::Relaxed);
    let samples = samples.lock().unwrap().clone();
    let peak = samples.iter().map(|s| s.0).max().unwrap_or(0);
    let anon: Vec<u64> = samples.iter().map(|s| s.1).collect();
    let settled = anon.get(anon.len() / 4).copied().unwrap_or(0);
    let anon_peak_late = anon[anon.len() / 2..].iter().copied().max().unwrap_or(0);
    eprintln!(
        "soak: {secs} s, {clients} clients, {requests} requests, {server_errors} 5xx, {failures} failed; \
         ingest of {} records alongside; RSS peak {} MB, heap after warm-up {} MB, heap peak in the second half {} MB ({} samples)",
        ingest_summary["records"],
        peak / 1024,
        settled / 1024,
        anon_peak_late / 1024,
        samples.len()
    );
    assert!(requests > 100, "only {requests} requests");
    assert_eq!(server_errors, 0);
    assert_eq!(failures, 0);
    assert!(samples.len() >= 10);
    // Bounded memory: the heap of the second half stays within twice what it was after
    // warm-up (plus slack for caches filling), and the whole process under 1.5 GB.
    assert!(
        anon_peak_late <= 2 * settled + 128 * 1024,
        "heap grew from {settled} kB to {anon_peak_late} kB"
    );
    assert!(peak < 1536 * 1024, "RSS peak {peak} kB");

    // Every view counted, every record ingested present (store and index).
    let conn = rusqlite::Connection::open_with_flags(
        data.join("store.sqlite"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let views = tally.views.lock().unwrap().clone();
    let requested: u64 = views.values().sum();
    let mut stored_total = 0;
    for ((repo, acc), n) in &views {
        let stored: i64 = conn
            .query_row(
                "SELECT COALESCE(SUM(c.views), 0) FROM counters c JOIN records r ON r.id = c.record_id
                 WHERE r.repository = ?1 AND r.accession = ?2",
                [repo, acc],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(stored as u64, *n, "views of {repo}/{acc}");
        stored_total += stored as u64;
    }
    assert_eq!(stored_total, requested);
    assert_eq!(ingest_summary["new"], more, "{ingest_summary}");
    let stats = json(&opendi(&data, &["stats", "--json"]));
    assert_eq!(stats["store"]["records"], base_records + more);
    assert_eq!(stats["indexed_documents"], base_records + more);
    eprintln!("soak: {requested} page views requested, {stored_total} stored");
}
