//! Times the parsers alone: reads files the way `opendi ingest` does (gzip, zip, format
//! detection) and drops the records, so a profile of the readers is not mixed with storing
//! and indexing.
//!
//! ```text
//! cargo run --release -p opendi-ingest --example parse_only -- FILE...
//! ```

use opendi_ingest::source::{read, Input, ReadOptions};
use opendi_model::{Item, PartialDate};
use std::sync::atomic::AtomicU64;
use std::time::Instant;

// The allocator `opendi` itself uses: parsing allocates many small strings.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let opts = ReadOptions {
        format: None,
        today: PartialDate::ymd(2100, 1, 1).expect("a date"),
    };
    for arg in std::env::args().skip(1) {
        let input = Input::Path(arg.clone().into());
        let progress = AtomicU64::new(0);
        let (mut records, mut other) = (0u64, 0u64);
        let started = Instant::now();
        let reports = read(&input, &opts, &progress, &mut |item| match item {
            Item::Record(_) => records += 1,
            _ => other += 1,
        });
        let secs = started.elapsed().as_secs_f64();
        let failed = reports.iter().filter(|r| r.error.is_some()).count();
        println!(
            "{arg}: {records} records, {other} other items, {failed} files failed, {secs:.3} s"
        );
    }
}
