#!/usr/bin/env python3
"""opendi at scale beside its peers, on the same generated records in the same run (issue 7).

    python3 bench/scale.py                        # 100k and 1M records; --help for the options
    python3 bench/scale.py --sizes 100000,1000000,5000000

For each size N:

1. ``opendi gen --records N --format omicsdi-xml`` writes N records (word statistics learned from
   the real corpora) and, beside them, a JSONL file with the text opendi indexes for each record,
   which is what the peers index. Cached in ``bench/cache/scale/`` by size and seed.
2. Ingest / indexing, each measured with ``os.wait4`` (wall, CPU, peak RSS) from a fresh directory:
   ``opendi ingest --no-similar`` (parse XML, store, index; the similar lists follow in step 5); Lucene (Anserini ``IndexCollection``, 2 threads on
   the JSONL split in two files: it gives each thread whole files);
   SQLite FTS5 (one transaction of INSERTs, then ``optimize``); PostgreSQL full-text search
   (``COPY``, a stored ``tsvector`` column, a GIN index) on a throwaway cluster.
3. Search latency in-process, on a mixed query set made from the corpus (single terms of high,
   middle and low frequency, several terms with AND and OR, phrases, a deep page at offset 1000;
   opendi also answers with six facets, and with a field filter): ``opendi search --queries
   --repeat``; Lucene through bench/java/SearchLatency.java; SQLite through Python's sqlite3; and
   PostgreSQL timed inside the server (a PL/pgSQL loop with ``clock_timestamp()``).
4. opendi over HTTP: ``opendi serve`` start-up time (to the first answered request), oha with
   64 connections on the search API and on dataset pages, serving peak RSS.
5. Similar lists for all records (``opendi similar --all``) when the binary has it.

Prints a table per size and the ratios to each peer; writes ``bench/out/scale.json``.
Targets at 1M records (issue 7): ingest < 2 min, >= 2x Lucene's indexing throughput, peak RSS
< 4 GB; search p99 < 10 ms in-process with facets; >= 2,000 requests/s over HTTP; similar lists
for all records < 10 min; serving RSS < 2 GB; start-up < 1 s.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import re
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common as C  # noqa: E402
import load  # noqa: E402
import store_postgres  # noqa: E402

WORK = C.CACHE_DIR / "scale"
WORD = re.compile(r"[a-z][a-z0-9-]{2,}")


def corpus(binary: Path, n: int, seed: int) -> tuple[Path, Path]:
    xml = WORK / f"gen-{n}-s{seed}.xml.gz"
    jsonl_dir = WORK / f"gen-{n}-s{seed}-jsonl"
    jsonl = jsonl_dir / "docs.jsonl"
    if xml.is_file() and jsonl.is_file():
        return xml, jsonl
    jsonl_dir.mkdir(parents=True, exist_ok=True)
    C.log(f"generating {n:,} records …")
    r = C.run_measured([binary, "gen", "--records", n, "--format", "omicsdi-xml", "--seed", seed,
                        "--jsonl", jsonl, xml])
    C.log(r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "generated")
    return xml, jsonl


def make_queries(jsonl: Path, seed: int) -> list[dict]:
    """A mixed query set from the corpus itself: words by document frequency, and phrases."""
    rng = random.Random(seed)
    df: collections.Counter = collections.Counter()
    bigrams: collections.Counter = collections.Counter()
    with jsonl.open() as f:
        for i, line in enumerate(f):
            if i >= 20_000:
                break
            words = WORD.findall(json.loads(line)["contents"].lower())
            df.update(set(words))
            bigrams.update(zip(words, words[1:]))
    ranked = [w for w, _ in df.most_common() if w not in STOP]
    band = lambda lo, hi, k: rng.sample(ranked[lo:hi], min(k, len(ranked[lo:hi])))  # noqa: E731
    high, mid, low = band(0, 100, 10), band(100, 2_000, 15), band(2_000, 20_000, 15)
    phrases = [f'"{a} {b}"' for (a, b), c in bigrams.most_common(3_000)
               if a not in STOP and b not in STOP and c >= 5]
    phrases = rng.sample(phrases, min(10, len(phrases)))
    q: list[dict] = []
    q += [{"kind": "term", "terms": [w], "op": "OR"} for w in high + mid + low]
    q += [{"kind": "and", "terms": [rng.choice(high), rng.choice(mid)], "op": "AND"} for _ in range(10)]
    q += [{"kind": "or", "terms": [rng.choice(mid), rng.choice(mid), rng.choice(low)], "op": "OR"}
          for _ in range(10)]
    q += [{"kind": "phrase", "terms": [p], "op": "OR"} for p in phrases]
    q += [{"kind": "deep", "terms": [w], "op": "OR", "offset": 1000} for w in high[:5]]
    for x in q:
        x.setdefault("offset", 0)
    return q


STOP = set("the and for with from that this were was are been has have had not but its their "
           "which these those into than then also both such can may our all any each other using "
           "used use between after before during within among two three one".split())


def lucene_syntax(x: dict) -> str:
    return f" {x['op']} ".join(x["terms"])


def sqlite_syntax(x: dict) -> str:
    return f" {x['op']} ".join(t if t.startswith('"') else f'"{t}"' for t in x["terms"])


def pg_syntax(x: dict) -> str:
    return (" or " if x["op"] == "OR" else " ").join(x["terms"])


# ---------------------------------------------------------------------------- ingest / indexing

def ingest_opendi(binary: Path, xml: Path) -> dict:
    data = WORK / "opendi-data"
    C.drop_dir(data)
    C.wait_idle(120)
    # Lists are computed in their own measured step (`similar --all`), as a bulk load does it:
    # this step is the one comparable to the peers' indexing (records stored and searchable).
    r = C.run_measured([binary, "--data-dir", data, "ingest", "--no-similar", "--json", xml])
    s = json.loads(r.stdout)
    return {**r.as_json(), "records": s["records"], "bytes": C.dir_size(data),
            "index_bytes": C.dir_size(data / "index") if (data / "index").exists() else None,
            "data": str(data)}


def ingest_lucene(jar: Path, jsonl: Path) -> dict:
    idx = WORK / "lucene-index"
    C.drop_dir(idx)
    C.wait_idle(120)
    # A file per thread, or Lucene indexes on one (see `common.shard_lines`).
    shards = C.shard_lines(jsonl, jsonl.parent.with_name(jsonl.parent.name + "-lucene"), 2)
    r = C.run_measured(["java", "-cp", jar, "io.anserini.index.IndexCollection", "-collection",
                        "JsonCollection", "-input", shards, "-index", idx, "-generator",
                        "DefaultLuceneDocumentGenerator", "-threads", "2", "-storePositions",
                        "-storeRaw"])
    m = re.search(r"Total\s+([\d,]+)\s+documents indexed", r.stdout + r.stderr)
    return {**r.as_json(), "records": int(m.group(1).replace(",", "")) if m else None,
            "bytes": C.dir_size(idx), "index": str(idx)}


SQLITE_LOAD = """
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("PRAGMA journal_mode=WAL")
db.execute("CREATE VIRTUAL TABLE docs USING fts5(id UNINDEXED, contents, tokenize='porter unicode61')")
with db, open(sys.argv[2]) as f:
    db.executemany("INSERT INTO docs(id, contents) VALUES (?, ?)",
                   ((d["id"], d["contents"]) for d in map(json.loads, f)))
db.execute("INSERT INTO docs(docs) VALUES('optimize')")
db.commit()
print(db.execute("SELECT count(*) FROM docs").fetchone()[0])
"""


def ingest_sqlite(jsonl: Path) -> dict:
    path = WORK / "fts5.sqlite"
    for p in WORK.glob("fts5.sqlite*"):
        p.unlink()
    C.wait_idle(120)
    r = C.run_measured([sys.executable, "-c", SQLITE_LOAD, path, jsonl])
    return {**r.as_json(), "records": int(r.stdout.strip()), "bytes": path.stat().st_size,
            "path": str(path)}


def tsv_file(jsonl: Path) -> Path:
    out = jsonl.with_suffix(".tsv")
    if not out.is_file():
        esc = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
        with jsonl.open() as f, out.open("w") as w:
            for line in f:
                d = json.loads(line)
                w.write(f"{d['id'].translate(esc)}\t{d['contents'].translate(esc)}\n")
    return out


def psql(pg: store_postgres.Postgres, db: str, sql: str) -> str:
    exe = pg.bin / "psql"
    r = subprocess.run([str(exe if exe.exists() else "psql"), "-h", "127.0.0.1", "-p", str(pg.port),
                        "-U", "opendi", "-d", db, "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"psql failed: {r.stderr[-2000:]}")
    return r.stdout


def ingest_postgres(pg: store_postgres.Postgres, jsonl: Path) -> dict:
    tsv = tsv_file(jsonl)
    url = pg.fresh_database()
    db = url.rsplit("/", 1)[1]
    psql(pg, db, "CREATE TABLE docs (id text PRIMARY KEY, contents text)")
    C.wait_idle(120)
    exe = pg.bin / "psql"
    script = (f"\\copy docs(id, contents) FROM '{tsv}'\n"
              "ALTER TABLE docs ADD COLUMN tsv tsvector "
              "GENERATED ALWAYS AS (to_tsvector('english', contents)) STORED;\n"
              "CREATE INDEX docs_tsv ON docs USING gin(tsv);\nVACUUM ANALYZE docs;\n")
    script_file = WORK / "pg-load.sql"
    script_file.write_text(script)
    # The server does the work: wall time is what counts; the client's RSS says nothing.
    r = C.run_measured([exe if exe.exists() else "psql", "-h", "127.0.0.1", "-p", pg.port, "-U",
                        "opendi", "-d", db, "-q", "-v", "ON_ERROR_STOP=1", "-f", script_file])
    n = int(psql(pg, db, "SELECT count(*) FROM docs").strip())
    d = r.as_json()
    d["peak_rss_mb"] = None
    return {**d, "records": n, "bytes": pg.database_bytes(url), "db": db}


# ---------------------------------------------------------------------------- search latency

def lat_summary(rows: list[dict]) -> dict:
    every = [us / 1000 for r in rows for us in r["micros"]]
    return {"queries": len(rows), "runs": len(every), "p50_ms": C.p50(every),
            "p99_ms": C.p99(every), "max_ms": max(every) if every else None}


def search_opendi(binary: Path, data: str, queries: list[dict], repeat: int) -> dict:
    out = {}
    qfile = WORK / "queries-opendi.txt"
    variants = {
        "plain": ([], lambda x: x),
        "facets": (["--facets"], lambda x: x),
        "filter": (["--filter", "organism=Homo sapiens"], lambda x: x),
    }
    for name, (extra, _) in variants.items():
        rows = []
        for offset in sorted({x["offset"] for x in queries}):
            group = [x for x in queries if x["offset"] == offset]
            qfile.write_text("\n".join(lucene_syntax(x) for x in group) + "\n")
            r = C.run_measured([binary, "--data-dir", data, "search", "--queries", qfile,
                                "--repeat", repeat, "--offset", offset, *extra])
            rows += [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
        out[name] = {**lat_summary(rows), "rows": rows}
    return out


def search_lucene(jar: Path, index: str, queries: list[dict], repeat: int) -> dict:
    classes = WORK / "java"
    classes.mkdir(exist_ok=True)
    src = C.BENCH_DIR / "java" / "SearchLatency.java"
    subprocess.run(["javac", "-nowarn", "-cp", str(jar), "-d", str(classes), str(src)], check=True,
                   capture_output=True)
    qfile = WORK / "queries-lucene.tsv"
    qfile.write_text("".join(f"{x['offset']}\t{lucene_syntax(x)}\n" for x in queries))
    r = C.run_measured(["java", "-cp", f"{jar}:{classes}", "SearchLatency", index, qfile, repeat])
    rows = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    return {"plain": {**lat_summary(rows), "rows": rows}}


def search_sqlite(path: str, queries: list[dict], repeat: int) -> dict:
    db = sqlite3.connect(path)
    rows = []
    for x in queries:
        sql = "SELECT id FROM docs WHERE docs MATCH ? ORDER BY rank LIMIT 10 OFFSET ?"
        args = (sqlite_syntax(x), x["offset"])
        count = db.execute("SELECT count(*) FROM docs WHERE docs MATCH ?", args[:1]).fetchone()[0]
        micros = []
        for _ in range(repeat):
            t = time.perf_counter()
            db.execute(sql, args).fetchall()
            micros.append(int((time.perf_counter() - t) * 1e6))
        rows.append({"query": args[0], "count": count, "micros": micros})
    return {"plain": {**lat_summary(rows), "rows": rows}}


def search_postgres(pg: store_postgres.Postgres, db: str, queries: list[dict], repeat: int) -> dict:
    """Timed inside the server, so no client round trip is counted."""
    psql(pg, db, "DROP TABLE IF EXISTS bench_q; CREATE TABLE bench_q (n int, q text, off int)")
    values = ",".join(f"({i}, $q${pg_syntax(x)}$q$, {x['offset']})" for i, x in enumerate(queries))
    psql(pg, db, f"INSERT INTO bench_q VALUES {values}")
    # RAISE NOTICE goes to stderr: collect it there.
    exe = pg.bin / "psql"
    sql = f"""
DO $$
DECLARE r record; t timestamptz; us bigint; res text := '';
BEGIN
  FOR r IN SELECT * FROM bench_q ORDER BY n LOOP
    PERFORM id FROM docs, websearch_to_tsquery('english', r.q) q WHERE tsv @@ q
      ORDER BY ts_rank(tsv, q) DESC LIMIT 10 OFFSET r.off;
    FOR i IN 1..{repeat} LOOP
      t := clock_timestamp();
      PERFORM id FROM docs, websearch_to_tsquery('english', r.q) q WHERE tsv @@ q
        ORDER BY ts_rank(tsv, q) DESC LIMIT 10 OFFSET r.off;
      us := (extract(epoch FROM clock_timestamp() - t) * 1000000)::bigint;
      res := res || r.n || ' ' || us || ' ';
    END LOOP;
  END LOOP;
  RAISE NOTICE 'TIMES %', res;
END $$;"""
    r = subprocess.run([str(exe if exe.exists() else "psql"), "-h", "127.0.0.1", "-p", str(pg.port),
                        "-U", "opendi", "-d", db, "-q", "-v", "ON_ERROR_STOP=1", "-c", sql],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"postgres search failed: {r.stderr[-2000:]}")
    nums = r.stderr.split("TIMES", 1)[1].split()
    per: dict[int, list[int]] = collections.defaultdict(list)
    for n, us in zip(nums[0::2], nums[1::2]):
        per[int(n)].append(int(us))
    rows = [{"query": pg_syntax(x), "micros": per[i]} for i, x in enumerate(queries)]
    return {"plain": {**lat_summary(rows), "rows": rows}}


# ---------------------------------------------------------------------------- HTTP

def serve_figures(binary: Path, data: str, queries: list[dict], duration: int) -> dict:
    """The server as configured by default (its search result cache on), then the search API
    again with the cache off: what each search costs when it is not a repeat."""
    out = serve_run(binary, data, queries, duration, cache=True)
    out["search_api_uncached"] = serve_run(binary, data, queries, duration, cache=False)["search_api"]
    return out


def serve_run(binary: Path, data: str, queries: list[dict], duration: int, cache: bool) -> dict:
    port = load.free_port()
    base = f"http://127.0.0.1:{port}"
    t0 = time.perf_counter()
    proc = subprocess.Popen([str(binary), "--data-dir", data, "serve", "--addr", f"127.0.0.1:{port}",
                             "--rate-limit", "0", *([] if cache else ["--search-cache", "0"])],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        started = None
        while time.perf_counter() - t0 < 120:
            try:
                load.get_json(f"{base}/api/v1/search?q=cell&size=1")
                started = time.perf_counter() - t0
                break
            except OSError:
                time.sleep(0.01)
        if started is None:
            raise SystemExit("opendi serve did not answer within 120 s")
        # The API answers with ten values of each facet by default.
        search_urls = [f"{base}/api/v1/search?q={urllib.parse.quote(lucene_syntax(x))}"
                       for x in queries]
        hits = load.get_json(f"{base}/api/v1/search?q=cell&size=100&facets=0")
        pages = [f"{base}/dataset/{h['source']}/{urllib.parse.quote(h['id'])}"
                 for h in hits.get("results", [])]
        oha = load.oha_binary()
        C.wait_idle(60)
        load.warm_up(oha, search_urls, 5, 64, WORK / "urls-search.txt")
        search = load.figures(load.run_oha(oha, search_urls, duration, 64, WORK / "urls-search.txt"))
        page = None
        if pages and cache:
            load.warm_up(oha, pages, 5, 64, WORK / "urls-pages.txt")
            page = load.figures(load.run_oha(oha, pages, duration, 64, WORK / "urls-pages.txt"))
        rss = 0.0
        for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                rss = int(line.split()[1]) / 1024
        return {"startup_s": started, "search_api": search, "dataset_page": page,
                "serving_peak_rss_mb": rss}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def similar_all(binary: Path, data: str) -> dict | None:
    h = subprocess.run([str(binary), "similar", "--help"], capture_output=True, text=True).stdout
    if "--all" not in h:
        C.log("this opendi has no `similar --all`: similar lists not measured")
        return None
    C.wait_idle(120)
    r = C.run_measured([binary, "--data-dir", data, "similar", "--all"])
    return r.as_json()


# ---------------------------------------------------------------------------- report

def ratio(a, b):
    return (a / b) if a and b else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100000,1000000", help="comma-separated record counts")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=5, help="timed runs per query (default 5)")
    ap.add_argument("--duration", type=int, default=10, help="seconds per HTTP target (default 10)")
    ap.add_argument("--peers", default="lucene,sqlite,postgres")
    ap.add_argument("--no-http", action="store_true")
    ap.add_argument("--skip-build", action="store_true")
    ap.add_argument("--opendi", type=Path)
    args = ap.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    binary = args.opendi or C.build_opendi(args.skip_build)
    peers = [p for p in args.peers.split(",") if p]
    jar = C.anserini_jar() if "lucene" in peers else None
    pg = store_postgres.Postgres(WORK / "pg") if "postgres" in peers else None
    report = {"machine": C.machine_info(), "revision": C.git_revision(), "sizes": {}}
    try:
        for n in [int(s) for s in args.sizes.split(",")]:
            xml, jsonl = corpus(binary, n, args.seed)
            queries = make_queries(jsonl, args.seed)
            size = {"records": n, "xml_gz_bytes": xml.stat().st_size,
                    "jsonl_bytes": jsonl.stat().st_size, "queries": queries}
            # Figures are saved as each step ends: a run stopped half-way keeps what it measured.
            report["sizes"][n] = size
            C.log(f"[{n:,}] opendi ingest …")
            size["opendi"] = {"ingest": ingest_opendi(binary, xml)}
            data = size["opendi"]["ingest"]["data"]
            C.write_json("scale.json", report)
            if jar:
                C.log(f"[{n:,}] Lucene indexing …")
                size["lucene"] = {"ingest": ingest_lucene(jar, jsonl)}
            if "sqlite" in peers:
                C.log(f"[{n:,}] SQLite FTS5 loading …")
                size["sqlite"] = {"ingest": ingest_sqlite(jsonl)}
            if pg:
                C.log(f"[{n:,}] PostgreSQL loading …")
                size["postgres"] = {"ingest": ingest_postgres(pg, jsonl)}
            C.write_json("scale.json", report)
            C.log(f"[{n:,}] search latency …")
            C.wait_idle(60)
            size["opendi"]["search"] = search_opendi(binary, data, queries, args.repeat)
            if jar:
                size["lucene"]["search"] = search_lucene(jar, size["lucene"]["ingest"]["index"],
                                                         queries, args.repeat)
            if "sqlite" in peers:
                size["sqlite"]["search"] = search_sqlite(size["sqlite"]["ingest"]["path"], queries,
                                                         args.repeat)
            if pg:
                size["postgres"]["search"] = search_postgres(pg, size["postgres"]["ingest"]["db"],
                                                             queries, args.repeat)
            C.write_json("scale.json", report)
            size["opendi"]["similar_all"] = similar_all(binary, data)
            C.write_json("scale.json", report)
            if not args.no_http:
                C.log(f"[{n:,}] HTTP …")
                size["opendi"]["http"] = serve_figures(binary, data, queries, args.duration)
            report["sizes"][n] = size
            print_size(size)
            C.write_json("scale.json", report)
    finally:
        if pg:
            pg.stop()
    print_growth(report)
    C.log(f"figures in {C.write_json('scale.json', report)}")


def print_size(s: dict) -> None:
    n = s["records"]
    systems = [k for k in ("opendi", "lucene", "sqlite", "postgres") if k in s]
    rows = []
    for k in systems:
        i = s[k]["ingest"]
        lat = s[k].get("search", {}).get("plain", {})
        rows.append([k, C.fmt(i["wall_s"], 1), C.fmt(n / i["wall_s"], 0),
                     C.fmt(s["jsonl_bytes"] / 1e6 / i["wall_s"], 1),
                     C.fmt(i["peak_rss_mb"], 0) if i.get("peak_rss_mb") else "n/a",
                     C.fmt(i["bytes"] / 1e6, 0), C.fmt(lat.get("p50_ms"), 3),
                     C.fmt(lat.get("p99_ms"), 3)])
    C.print_table(["system", "ingest s", "records/s", "text MB/s", "peak RSS MB", "disk MB",
                   "search p50 ms", "search p99 ms"], rows, title=f"{n:,} records")
    o = s["opendi"]
    for v in ("facets", "filter"):
        x = o["search"][v]
        print(f"  opendi search with {v}: p50 {x['p50_ms']:.3f} ms, p99 {x['p99_ms']:.3f} ms")
    for k in systems[1:]:
        oi, pi = o["ingest"], s[k]["ingest"]
        op, pp = o["search"]["plain"], s[k]["search"]["plain"]
        print(f"  vs {k}: ingest speed-up x{C.fmt(ratio(pi['wall_s'], oi['wall_s']))}, "
              f"search p50 x{C.fmt(ratio(pp['p50_ms'], op['p50_ms']))}, "
              f"p99 x{C.fmt(ratio(pp['p99_ms'], op['p99_ms']))} (>1: opendi faster)")
    if o.get("similar_all"):
        print(f"  opendi similar lists for all records: {o['similar_all']['wall_s']:.1f} s, "
              f"peak RSS {o['similar_all']['peak_rss_mb']:.0f} MB")
    h = o.get("http")
    if h:
        u = h.get("search_api_uncached")
        print(f"  HTTP: start-up {h['startup_s']:.2f} s; search API {h['search_api']['requests_per_s']:.0f}"
              f" req/s p99 {h['search_api']['p99_ms']:.1f} ms errors {h['search_api']['errors']}"
              + (f" (result cache off: {u['requests_per_s']:.0f} req/s p99 {u['p99_ms']:.1f} ms"
                 f" errors {u['errors']})" if u else "") + "; "
              + (f"dataset page {h['dataset_page']['requests_per_s']:.0f} req/s p99 "
                 f"{h['dataset_page']['p99_ms']:.1f} ms; " if h.get("dataset_page") else "")
              + f"serving peak RSS {h['serving_peak_rss_mb']:.0f} MB")


def print_growth(report: dict) -> None:
    rows = []
    for n, s in report["sizes"].items():
        o = s["opendi"]
        rows.append([f"{int(n):,}", C.fmt(o["ingest"]["wall_s"], 1), C.fmt(o["ingest"]["peak_rss_mb"], 0),
                     C.fmt(o["ingest"]["bytes"] / 1e6, 0), C.fmt(o["search"]["facets"]["p99_ms"], 3),
                     C.fmt(o["similar_all"]["wall_s"], 1) if o.get("similar_all") else "n/a",
                     C.fmt(o["http"]["startup_s"], 2) if o.get("http") else "n/a"])
    C.print_table(["records", "ingest s", "ingest RSS MB", "disk MB", "p99 facets ms",
                   "similar all s", "start-up s"], rows, title="opendi: growth of cost")


if __name__ == "__main__":
    main()
