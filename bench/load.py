#!/usr/bin/env python3
"""Load benchmark of the portal: the search API and the dataset page under 64 concurrent
connections, with oha (https://crates.io/crates/oha), on the 30,000-record PubMed corpus.

    python3 bench/load.py                 # --help for the options

Steps: build opendi (release), ingest ``pubmed/pubmed20n0014.xml.gz`` once into
``bench/cache/load/data`` (kept between runs; ``--reingest`` starts over), start
``opendi serve`` on a free loopback port, then for each target run oha for ``--duration``
seconds with ``--connections`` connections over a list of URLs (many different queries and
dataset pages, so no single cached answer is measured), after waiting until the machine is
idle. Prints requests/s, p50, p99 and errors per target, writes ``bench/out/load.json``.
Targets (issue 4): zero errors; dataset page p99 < 20 ms; search API p99 < 50 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

CORPUS = "pubmed/pubmed20n0014.xml.gz"
WORK = common.CACHE_DIR / "load"
OHA_VERSION = "1.16.0"

# Search words of varied frequency (common to rare) in PubMed titles and abstracts.
QUERIES = [
    "cancer", "breast cancer", "mouse", "liver", "protein", "gene expression", "diabetes",
    "children", "heart failure", "infection", "brain", "mass spectrometry", "cell",
    "therapy", "kidney", "RNA", "aplastic anemia", "stem cells", "obesity", "tumor",
    "vaccine", "asthma", "depression", "HIV", "sepsis", "zebrafish", "metabolism",
    "\"randomized controlled trial\"", "inflammation AND mice", "lung NOT cancer",
]


def oha_binary() -> Path:
    """oha from PATH, ~/.cargo/bin or bench/cache/oha; else `cargo install` into the cache."""
    for cand in [shutil.which("oha"), Path.home() / ".cargo/bin/oha", common.CACHE_DIR / "oha/bin/oha"]:
        if cand and Path(cand).is_file():
            return Path(cand)
    common.log(f"installing oha {OHA_VERSION} into {common.CACHE_DIR / 'oha'} (cargo install) …")
    subprocess.run(["cargo", "install", "--locked", "--version", OHA_VERSION, "oha",
                    "--root", str(common.CACHE_DIR / "oha")], check=True)
    return common.CACHE_DIR / "oha/bin/oha"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=30) as r:
        return json.load(r)


def ingest(opendi: Path, data: Path, reingest: bool) -> dict:
    marker = data / "LOADED"
    if reingest and data.exists():
        common.drop_dir(data)
    if marker.is_file():
        return json.loads(marker.read_text())
    data.mkdir(parents=True, exist_ok=True)
    src = common.corpus_file(CORPUS)
    common.log(f"ingesting {src} into {data} …")
    r = subprocess.run([str(opendi), "--data-dir", str(data), "ingest", "--json", str(src)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"ingest failed ({r.returncode}): {r.stderr[-2000:]}")
    summary = json.loads(r.stdout)
    marker.write_text(json.dumps(summary))
    return summary


def wait_idle_load(threshold: float, max_wait: float) -> float:
    """Waits until the 1-minute load average is under `threshold` (at most `max_wait` s)."""
    start = time.time()
    while True:
        load = os.getloadavg()[0]
        if load < threshold or time.time() - start > max_wait:
            return load
        time.sleep(5)


def run_oha(oha: Path, urls: list[str], duration: int, connections: int, urls_file: Path) -> dict:
    urls_file.write_text("\n".join(urls) + "\n")
    argv = [str(oha), "-z", f"{duration}s", "-c", str(connections), "--no-tui",
            "--output-format", "json", "--wait-ongoing-requests-after-deadline",
            "--urls-from-file", str(urls_file)]
    r = subprocess.run(argv, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"oha failed ({r.returncode}): {r.stderr[-2000:]}")
    return json.loads(r.stdout)


def warm_up(oha: Path, urls: list[str], seconds: int, connections: int, urls_file: Path) -> None:
    """Loads the server for `seconds` without recording: a fresh server's first seconds read
    its caches in (SQLite pages, decompressed index blocks, prepared statements) and load the
    query vocabularies in the background; a measurement starts on a warm server."""
    if seconds > 0:
        run_oha(oha, urls, seconds, connections, urls_file)


def figures(res: dict) -> dict:
    s = res["summary"]
    pct = res.get("latencyPercentiles", {})
    codes = {str(k): v for k, v in res.get("statusCodeDistribution", {}).items()}
    errors = sum(res.get("errorDistribution", {}).values())
    non_2xx = sum(v for k, v in codes.items() if not k.startswith("2"))
    return {
        "requests": sum(codes.values()) + errors,
        "requests_per_s": s.get("requestsPerSec"),
        "p50_ms": (pct.get("p50") or 0) * 1000,
        "p99_ms": (pct.get("p99") or 0) * 1000,
        "slowest_ms": (s.get("slowest") or 0) * 1000,
        "errors": errors + non_2xx,
        "status_codes": codes,
        "error_kinds": res.get("errorDistribution", {}),
    }


def measure(binary: Path, oha: Path, args, cache: bool) -> dict:
    """Serves the data and loads it: dataset pages and the search API with the search result
    cache off, or only the search API with it on."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([str(binary), "--data-dir", str(WORK / "data"), "serve", "--addr",
                               f"127.0.0.1:{port}",
                               # The load generator is one client: the per-client rate limit
                               # of a public deployment would measure the limiter, not opendi.
                               "--rate-limit", "0", *([] if cache else ["--search-cache", "0"])],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 60
        while True:
            try:
                get_json(f"{base}/ws/statistics/general")
                break
            except OSError:
                if server.poll() is not None or time.time() > deadline:
                    sys.exit(f"server did not start: {server.stderr.read().decode()[-2000:]}")
                time.sleep(0.2)

        # Dataset pages: accessions drawn from the search API (all 30,000 are pages).
        rng = random.Random(14)
        accessions: list[str] = []
        start = 0
        while len(accessions) < args.pages:
            page = get_json(f"{base}/ws/dataset/search?query=&size=100&start={start}")
            if not page["datasets"]:
                break
            accessions += [f"{d['source']}/{d['id']}" for d in page["datasets"]]
            start += rng.randint(100, 1400)
        page_urls = [f"{base}/dataset/{urllib.parse.quote(a)}" for a in accessions]
        search_urls = []
        for q in QUERIES:
            for st in (0, 20, 100):
                search_urls.append(f"{base}/ws/dataset/search?query={urllib.parse.quote(q)}&start={st}&size=20")
        rng.shuffle(page_urls)
        rng.shuffle(search_urls)

        targets = ([("search API, result cache on", search_urls)] if cache
                   else [("dataset page", page_urls), ("search API", search_urls)])
        results = {}
        for name, urls in targets:
            load = wait_idle_load(args.idle_load, args.max_wait)
            common.log(f"{name}: {len(urls)} URLs, {args.connections} connections, "
                       f"{args.duration} s (load {load:.2f}) …")
            warm_up(oha, urls, args.warmup, args.connections, WORK / "urls.txt")
            res = run_oha(oha, urls, args.duration, args.connections, WORK / "urls.txt")
            f = figures(res)
            f["load_before"] = load
            f["load_after"] = os.getloadavg()[0]
            f["distinct_urls"] = len(urls)
            results[name] = f
        return results
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=int, default=20, help="seconds per target (default 20)")
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--pages", type=int, default=2000, help="distinct dataset pages in the URL list")
    ap.add_argument("--skip-build", action="store_true")
    ap.add_argument("--opendi", type=Path, help="use this opendi binary")
    ap.add_argument("--reingest", action="store_true", help="ingest the corpus again")
    ap.add_argument("--warmup", type=int, default=5,
                    help="seconds of unrecorded load before each measured run (default 5)")
    ap.add_argument("--idle-load", type=float, default=1.5,
                    help="wait until the 1-minute load average is below this (default 1.5)")
    ap.add_argument("--max-wait", type=float, default=600, help="longest wait for idle, seconds")
    args = ap.parse_args()

    opendi = args.opendi or common.build_opendi(args.skip_build)
    WORK.mkdir(parents=True, exist_ok=True)
    # A private copy: a concurrent rebuild cannot swap the binary under the server.
    binary = WORK / "opendi"
    shutil.copy2(opendi, binary)
    oha = oha_binary()
    summary = ingest(binary, WORK / "data", args.reingest)

    # The search API is measured with the server's result cache off (each search really runs),
    # then on, as a deployment runs it (the 90 URLs repeat, so nearly every search is a hit).
    results = {}
    for cache in (False, True):
        results.update(measure(binary, oha, args, cache))

    out = common.write_json("load.json", {
        "corpus": CORPUS, "connections": args.connections, "duration_s": args.duration,
        "git": common.git_revision(), "machine": common.machine_info(), "results": results,
        "warmup_s": args.warmup,
        "ingest": summary,
    })
    targets = {"dataset page": 20.0, "search API": 50.0, "search API, result cache on": 50.0}
    rows = []
    for name, f in results.items():
        ok = f["errors"] == 0 and f["p99_ms"] < targets[name]
        rows.append([name, f["requests"], round(f["requests_per_s"], 1), round(f["p50_ms"], 2),
                     round(f["p99_ms"], 2), f["errors"], f"< {targets[name]:.0f} ms",
                     "met" if ok else "MISSED", round(f["load_before"], 2)])
    common.print_table(["target", "requests", "req/s", "p50 ms", "p99 ms", "errors", "p99 target",
                        "", "load before"], rows,
                       title=f"opendi serve, {summary.get('records', '?')} records ({CORPUS}), "
                             f"{args.connections} connections, {args.duration} s each")
    common.log(f"figures in {out}")


if __name__ == "__main__":
    main()
