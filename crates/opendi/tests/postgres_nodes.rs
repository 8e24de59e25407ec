//! Several `opendi serve` nodes on one PostgreSQL database, through the real binary: two
//! ingests at once through two nodes, a record ingested through one node found on the other,
//! a node killed and restarted catching up, the database restarted under load, and
//! `opendi migrate` to PostgreSQL and back losing nothing.

use opendi_corpora::postgres::Cluster;
use opendi_engine::store::transfer::Transfer;
use opendi_engine::{Change, Engine, EngineConfig, PgStore, SqliteStore, Store};
use std::io::{BufRead, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn opendi(data: &Path, url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_opendi"))
        .arg("--data-dir")
        .arg(data)
        .args(["--database", url])
        .args(args)
        .output()
        .expect("run opendi")
}

fn ok(out: Output) -> Output {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

struct Node {
    child: Child,
    addr: String,
}

impl Node {
    fn start(data: &Path, url: &str) -> Node {
        let mut child = Command::new(env!("CARGO_BIN_EXE_opendi"))
            .arg("--data-dir")
            .arg(data)
            .args(["--database", url, "serve", "--addr", "127.0.0.1:0"])
            .env("OPENDI_LOG", "warn")
            .stderr(Stdio::piped())
            .spawn()
            .expect("start opendi serve");
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = std::io::BufReader::new(stderr).lines();
        let mut seen = Vec::new();
        let addr = loop {
            let Some(Ok(line)) = lines.next() else {
                panic!("opendi serve ended before serving: {}", seen.join("\n"));
            };
            if let Some(rest) = line.split("serving http://").nth(1) {
                break rest.split('/').next().unwrap_or_default().to_string();
            }
            seen.push(line);
        };
        // Keep draining stderr so the node never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Node { child, addr }
    }

    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One plain HTTP/1.1 GET: (status, body), or None when the node does not answer.
fn get(addr: &str, path: &str) -> Option<(u16, String)> {
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    let status = buf.split_whitespace().nth(1)?.parse().ok()?;
    let body = buf.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
    Some((status, body.to_string()))
}

/// The search count a node reports for `query`.
fn count(addr: &str, query: &str) -> Option<u64> {
    let (status, body) = get(addr, &format!("/ws/dataset/search?query={query}&size=1"))?;
    if status != 200 {
        return None;
    }
    serde_json::from_str::<serde_json::Value>(&body).ok()?["count"].as_u64()
}

/// Waits (bounded) until `f` holds; the waits are for followers polling every second.
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..600 {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("never happened: {what}");
}

fn live_records(url: &str) -> u64 {
    PgStore::open(url).unwrap().stats().unwrap().records
}

#[test]
fn nodes_share_ingests_survive_kills_and_a_database_restart() {
    let Some(ddi) = opendi_corpora::corpus("omicsdi-xml/ddi-annotation") else {
        return;
    };
    let Some(pubmed) = opendi_corpora::corpus("pubmed/pubmed-29768149.xml") else {
        return;
    };
    let Some(pg) = Cluster::start() else { return };
    let url = pg.url();
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Node::start(da.path(), &url);
    let b = Node::start(db.path(), &url);

    // The same dump ingested through both nodes at once: no record lost or doubled.
    let ddi = ddi.display().to_string();
    let ingests: Vec<_> = [da.path().to_path_buf(), db.path().to_path_buf()]
        .into_iter()
        .map(|d| {
            let (url, ddi) = (url.clone(), ddi.clone());
            std::thread::spawn(move || ok(opendi(&d, &url, &["ingest", "--json", &ddi])))
        })
        .collect();
    let mut new = 0;
    for i in ingests {
        let out = i.join().unwrap();
        let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        new += s["new"].as_u64().unwrap();
    }
    let records = live_records(&url);
    assert!(records >= 90, "{records}");
    assert_eq!(new, records, "each record was new exactly once");
    // Both nodes index everything, whichever node ingested it.
    for node in [&a, &b] {
        eventually("both nodes index the ingest", || {
            count(&node.addr, "*") == Some(records)
        });
        assert!(count(&node.addr, "PXD000005").unwrap() >= 1);
    }

    // A node that was down catches up when it starts again.
    b.kill();
    ok(opendi(
        da.path(),
        &url,
        &["ingest", &pubmed.display().to_string()],
    ));
    eventually("a finds the record ingested through it", || {
        count(&a.addr, "29768149") == Some(1)
    });
    let b = Node::start(db.path(), &url);
    assert_eq!(
        count(&b.addr, "29768149"),
        Some(1),
        "b caught up before serving"
    );

    // The database restarts under load (searches on both nodes, an ingest in flight): the
    // nodes answer again and resume following; the ingest's batch in flight is retried.
    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicU64::new(0));
    let load: Vec<_> = [a.addr.clone(), b.addr.clone()]
        .into_iter()
        .map(|addr| {
            let (stop, answered) = (Arc::clone(&stop), Arc::clone(&answered));
            std::thread::spawn(move || {
                for _ in 0..20_000 {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    if count(&addr, "proteomics").is_some() {
                        answered.fetch_add(1, Ordering::SeqCst);
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            })
        })
        .collect();
    let scratch = tempfile::tempdir().unwrap();
    let gen = scratch.path().join("gen.xml.gz");
    ok(Command::new(env!("CARGO_BIN_EXE_opendi"))
        .args([
            "gen",
            "--records",
            "300",
            "--format",
            "omicsdi-xml",
            "--seed",
            "7",
        ])
        .arg(&gen)
        .output()
        .unwrap());
    pg.stop();
    let ingest = {
        let (d, url, gen) = (db.path().to_path_buf(), url.clone(), gen.clone());
        std::thread::spawn(move || {
            ok(opendi(
                &d,
                &url,
                &["ingest", "--json", &gen.display().to_string()],
            ))
        })
    };
    // Down for a few seconds: requests that need the database (hit summaries) wait for it.
    std::thread::sleep(Duration::from_secs(3));
    pg.restart();
    let out = ingest.join().unwrap();
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        s["new"].as_u64(),
        Some(300),
        "the ingest completed after the restart"
    );
    let records = live_records(&url);
    for node in [&a, &b] {
        eventually("both nodes follow again after the restart", || {
            count(&node.addr, "*") == Some(records)
        });
    }
    let after = answered.load(Ordering::SeqCst);
    eventually("searches are answered after the restart", || {
        answered.load(Ordering::SeqCst) > after + 10
    });
    stop.store(true, Ordering::SeqCst);
    for l in load {
        l.join().unwrap();
    }
    drop(a);
    drop(b);
}

/// Builds an embedded store with history, tombstones, publications and counters.
fn embedded_store(dir: &Path) -> Option<()> {
    let omicsdi = opendi_corpora::corpus("omicsdi-xml")?;
    let pubmed = opendi_corpora::corpus("pubmed/pubmed-29768149.xml")?;
    let d = dir.to_str().unwrap();
    for path in [&omicsdi, &pubmed] {
        let out = Command::new(env!("CARGO_BIN_EXE_opendi"))
            .args(["--data-dir", d, "ingest"])
            .arg(path)
            .output()
            .unwrap();
        ok(out);
    }
    let e = Engine::open(EngineConfig::new(dir)).unwrap();
    let out = e
        .apply(
            &[
                Change::Delete {
                    repository: "pride".into(),
                    accession: "PXD000005".into(),
                    source: "test".into(),
                },
                Change::Delete {
                    repository: "geo".into(),
                    accession: "GSE0".into(),
                    source: "test".into(),
                },
            ],
            7,
        )
        .unwrap();
    e.commit().unwrap();
    e.store().add_view(out[0].1).unwrap();
    e.store().add_download(out[0].1).unwrap();
    Some(())
}

#[test]
fn migrate_to_postgres_and_back_through_the_cli() {
    let src = tempfile::tempdir().unwrap();
    if embedded_store(src.path()).is_none() {
        return;
    }
    let Some(pg) = Cluster::start() else { return };
    let url = pg.url();
    let cli = |dir: &Path, args: &[&str]| {
        ok(Command::new(env!("CARGO_BIN_EXE_opendi"))
            .arg("--data-dir")
            .arg(dir)
            .args(args)
            .output()
            .unwrap())
    };
    let to = cli(src.path(), &["migrate", "--json", "--to", &url]);
    let to: serde_json::Value = serde_json::from_slice(&to.stdout).unwrap();
    let back_dir = tempfile::tempdir().unwrap();
    let back = back_dir.path().join("node");
    let from = cli(&back, &["migrate", "--json", "--from", &url]);
    let from: serde_json::Value = serde_json::from_slice(&from.stdout).unwrap();
    assert_eq!(to["record_rows"], from["record_rows"]);
    // Into a database that is not empty: refused, nothing written.
    let again = Command::new(env!("CARGO_BIN_EXE_opendi"))
        .arg("--data-dir")
        .arg(src.path())
        .args(["migrate", "--to", &url])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("empty database"));

    let a = SqliteStore::open(&src.path().join("store.sqlite")).unwrap();
    let p = PgStore::open(&url).unwrap();
    let b = SqliteStore::open(&back.join("store.sqlite")).unwrap();
    let all = |s: &dyn Transfer| {
        let mut d = s.export(0, i64::MAX).unwrap();
        d.accessions.sort();
        d.link_keys.sort();
        d.mentions.sort();
        (d, s.export_publications("", 1 << 40).unwrap())
    };
    let (ad, ap) = all(&a);
    assert!(ad.records.iter().any(|r| r.deleted), "tombstones");
    assert!(!ad.history.is_empty(), "history");
    assert!(!ad.counters.is_empty() && !ap.is_empty());
    assert_eq!((ad.clone(), ap.clone()), all(&p), "embedded -> postgres");
    assert_eq!((ad, ap), all(&b), "postgres -> embedded");

    // The migrated-back data directory works on its own, its index built from the store.
    let out = cli(&back, &["search", "--json", "PXD002837"]);
    let res: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(res["hits"][0]["accession"], "PXD002837");
    // And a node on PostgreSQL serves the migrated records.
    let node_dir = tempfile::tempdir().unwrap();
    let out = opendi(node_dir.path(), &url, &["show", "--json", "PXD000005"]);
    let rec: serde_json::Value = serde_json::from_slice(&ok(out).stdout).unwrap();
    assert_eq!(rec["deleted"], true);
    assert!(!rec["history"].as_array().unwrap().is_empty());
}
