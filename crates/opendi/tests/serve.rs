//! `opendi serve` as an operator runs it, through the real binary on a loopback port: the
//! admin token from the environment, an upload through `POST /admin/ingest` running the same
//! pipeline as `opendi ingest`, rate limiting as configured, and SIGTERM stopping the server
//! cleanly (exit 0).

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};

const TOKEN: &str = "serve-test-token-0123456789";

/// One HTTP/1.1 exchange on a fresh connection (`connection: close`): status and body.
fn http(addr: SocketAddr, method: &str, path: &str, auth: bool, body: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nhost: test\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    if auth {
        head.push_str(&format!("authorization: Bearer {TOKEN}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).expect("send head");
    s.write_all(body).expect("send body");
    let mut out = Vec::new();
    s.read_to_end(&mut out).expect("read");
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .get(9..12)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {text}"));
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// Starts `opendi serve` on a free port; returns the child and the address it logged.
fn serve(
    data: &std::path::Path,
    extra: &[&str],
) -> (Child, SocketAddr, BufReader<std::process::ChildStderr>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_opendi"))
        .arg("--data-dir")
        .arg(data)
        .args(["serve", "--addr", "127.0.0.1:0"])
        .args(extra)
        .env("OPENDI_ADMIN_TOKEN", TOKEN)
        .env("OPENDI_VOCAB", "")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start opendi serve");
    let mut err = BufReader::new(child.stderr.take().expect("stderr"));
    let mut line = String::new();
    let addr = loop {
        line.clear();
        let n = err.read_line(&mut line).expect("read stderr");
        assert!(n > 0, "opendi serve exited before serving");
        if let Some(rest) = line.split("serving http://").nth(1) {
            let addr = rest.split('/').next().unwrap_or("");
            break addr
                .parse()
                .unwrap_or_else(|_| panic!("address in {line:?}"));
        }
    };
    (child, addr, err)
}

#[test]
fn admin_ingest_runs_the_pipeline_and_sigterm_stops_cleanly() {
    let Some(file) = opendi_corpora::corpus("omicsdi-xml/xml-validator/PRIDE_EBEYE_PXD007896.xml")
    else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut child, addr, mut err) = serve(dir.path(), &["--rate-limit", "0"]);

    // Wrong or missing token: 401. The right one: the pipeline's summary.
    let body = std::fs::read(&file).expect("read corpus file");
    let (status, _) = http(addr, "POST", "/admin/reindex", false, b"");
    assert_eq!(status, 401);
    let (status, text) = http(
        addr,
        "POST",
        "/admin/ingest?name=PRIDE_EBEYE_PXD007896.xml",
        true,
        &body,
    );
    assert_eq!(status, 200, "{text}");
    let v: Value = serde_json::from_str(&text).expect("JSON summary");
    let s = &v["summary"];
    assert_eq!(s["records"], Value::from(1), "{v}");
    assert_eq!(s["new"], Value::from(1), "{v}");
    assert_eq!(s["records_by_format"]["omicsdi-xml"], Value::from(1), "{v}");
    // Searchable at once, through the public API.
    let (status, text) = http(
        addr,
        "GET",
        "/ws/dataset/search?query=PXD007896",
        false,
        b"",
    );
    assert_eq!(status, 200);
    let found: Value = serde_json::from_str(&text).expect("search JSON");
    assert_eq!(found["count"], Value::from(1), "{found}");
    // The same upload again changes nothing (the pipeline's re-ingest rule).
    let (_, text) = http(addr, "POST", "/admin/ingest?name=again.xml", true, &body);
    let v: Value = serde_json::from_str(&text).expect("JSON summary");
    assert_eq!(v["summary"]["unchanged"], Value::from(1), "{v}");

    // SIGTERM: the server stops accepting, finishes, and exits 0.
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(ok.success());
    let status = child.wait().expect("wait for opendi serve");
    let mut rest = String::new();
    let _ = err.read_to_string(&mut rest);
    assert!(status.success(), "exit {status:?}: {rest}");
    assert!(
        TcpStream::connect(addr).is_err(),
        "still accepting after SIGTERM"
    );
}

#[test]
fn serve_refuses_a_short_admin_token() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = Command::new(env!("CARGO_BIN_EXE_opendi"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["serve", "--addr", "127.0.0.1:0", "--admin-token", "short"])
        .output()
        .expect("run opendi");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 16 characters"));
}
