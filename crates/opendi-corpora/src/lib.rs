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
