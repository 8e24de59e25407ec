//! The `opendi` binary: command-line parsing, logging set-up, and the wiring from ingest to
//! engine. Reusable work lives in the library crates; this crate is glue.

mod cli;
mod gen;
mod ingest_cmd;
mod migrate;

use std::process::ExitCode;

// Parsing and indexing allocate many short-lived strings; mimalloc handles that pattern far
// better than the system allocator (measured: glibc malloc/free were ~20% of an ingest profile).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in the `mi_option_t` enum of mimalloc 3's `mimalloc.h` (the
/// bindings do not name it): milliseconds before freed memory goes back to the system, -1
/// for never. The test below checks the number against the option's default (1000 in
/// mimalloc 3's `options.c`).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Keeps the memory the process frees for its next allocations instead of returning it to
/// the system: for batch commands, which end soon and reuse what they free. By default
/// mimalloc returns freed pages after a second, and the next allocations fault them in
/// again, zeroed by the kernel: an ingest of 1M generated records took 1.56M page faults.
/// With this it took 79k, and 143.2 s against 162.3 s, then 134.9 against 151.4 s (the pair
/// run in the other order); its peak RSS grew from 1.0 to 1.15 GB. A server (`serve`,
/// `demo`) keeps the default: its memory goes back after a burst.
#[allow(unsafe_code)]
pub fn keep_freed_memory() {
    // SAFETY: reads and sets an integer option of the allocator, which mimalloc allows at any
    // time.
    unsafe {
        let delay = libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY);
        if delay >= 0 {
            PURGE_DELAY.store(delay, std::sync::atomic::Ordering::Relaxed);
        }
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1)
    }
}

/// The purge delay [`keep_freed_memory`] replaced.
static PURGE_DELAY: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(1000);

/// Undoes [`keep_freed_memory`] for what is freed from now on: before an ingest's last commit,
/// which computes the similar lists in new threads. Memory kept from the ingest did not serve
/// them: the peak RSS of a PubMed ingest (30k records) with its lists went from 397 and 417 MB
/// to 516 and 519 MB with the memory kept to the end; 465 to 482 MB in four runs with this.
/// (`mi_collect(true)` here changed nothing: memory freed while kept is not marked to go back.)
#[allow(unsafe_code)]
pub fn return_freed_memory() {
    let delay = PURGE_DELAY.load(std::sync::atomic::Ordering::Relaxed);
    // SAFETY: sets an integer option of the allocator.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, delay) }
}

/// A mistake in how opendi was called (exit code 2), as opposed to a failure (exit code 1).
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

fn main() -> ExitCode {
    match cli::run() {
        Ok(()) => ExitCode::SUCCESS,
        // A reader that stopped reading (`opendi search … | head`) is not a failure.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            if e.downcast_ref::<UsageError>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    #[allow(unsafe_code)]
    fn purge_delay_is_the_option_mimalloc_documents() {
        // SAFETY: reads and sets integer options of the allocator.
        let get = || unsafe { libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY) };
        let default = std::env::var_os("MIMALLOC_PURGE_DELAY").is_none();
        if default {
            assert_eq!(get(), 1000, "mimalloc's default purge delay (ms)");
        }
        super::keep_freed_memory();
        assert_eq!(get(), -1);
        super::return_freed_memory();
        if default {
            assert_eq!(get(), 1000);
        }
    }
}
