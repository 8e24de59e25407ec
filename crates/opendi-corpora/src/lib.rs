//! Test support: locating the real corpora (`../shared/corpora`) that tests and benchmarks read
//! in place. Where they are absent the tests that need them say so and skip, unless
//! `OPENDI_REQUIRE_CORPORA=1` (set by `.ci/run`), which turns the skip into a failure.
//!
//! Never used by the product itself.

use std::path::PathBuf;

#[cfg(feature = "postgres")]
pub mod postgres;

/// The workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

/// The corpora folder: `$OPENDI_CORPORA`, else `../shared/corpora` beside the workspace.
pub fn corpora_path() -> PathBuf {
    match std::env::var_os("OPENDI_CORPORA") {
        Some(p) => PathBuf::from(p),
        None => workspace_root().join("../shared/corpora"),
    }
}

/// The seed folder (`../shared/seed`), beside the corpora.
pub fn seed_path() -> PathBuf {
    corpora_path().join("../seed")
}

/// `Some(path)` when `relative` exists under the corpora; otherwise prints why the test skips
/// and returns `None`, or panics when `OPENDI_REQUIRE_CORPORA=1`.
pub fn corpus(relative: &str) -> Option<PathBuf> {
    let p = corpora_path().join(relative);
    if p.exists() {
        return Some(p);
    }
    let required = std::env::var("OPENDI_REQUIRE_CORPORA").is_ok_and(|v| v == "1" || v == "true");
    assert!(
        !required,
        "corpus file {} is missing and OPENDI_REQUIRE_CORPORA is set",
        p.display()
    );
    eprintln!(
        "skipped: corpus file {} not found (set OPENDI_CORPORA to point at shared/corpora)",
        p.display()
    );
    None
}

/// Like [`corpus`], for a file of the seed folder.
pub fn seed(relative: &str) -> Option<PathBuf> {
    corpus(&format!("../seed/{relative}"))
}

/// A free loopback port below the kernel's ephemeral range. A port from that range (what
/// binding port 0 gives) is free again once we let it go, and any outgoing connection may
/// take it before the server binds it: seen in CI as "could not bind IPv4 address
/// 127.0.0.1: Address already in use" while another test's cluster was being used. For any
/// server a test starts on a port it picks (PostgreSQL, chromedriver).
pub fn free_port() -> u16 {
    use std::hash::{BuildHasher, Hasher};
    let ephemeral = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    let (low, high) = (10_000u16, ephemeral.max(10_001));
    let start = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    let span = u64::from(high - low);
    (0..span)
        .map(|i| low + (start.wrapping_add(i) % span) as u16)
        .find(|&p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok())
        .expect("a free loopback port below the ephemeral range")
}
