#!/usr/bin/env python3
"""opendi on PostgreSQL beside the embedded store: ingest, index build of a new node, search.

Data: ``pubmed/pubmed20n0014.xml.gz`` from the shared corpora (30,000 PubMed records).

For ``--runs`` repetitions, alternating between the two stores:

- ``embedded``: ``opendi --data-dir D ingest --json FILE`` (SQLite store + tantivy index in D).
- ``postgres``: ``opendi --data-dir D --database URL ingest --json FILE`` into an empty database
  of a throwaway PostgreSQL cluster (started here with initdb + pg_ctl, default durability:
  ``fsync=on``, ``synchronous_commit=on``). On PostgreSQL the ingest writes the store only, then
  builds D's index by following the change log, so the wall time covers both.
- ``postgres new node``: ``opendi --data-dir D2 --database URL stats --json``: a node with an
  empty data directory builds its whole index from the database.

Then search through ``opendi serve`` on each store (the API reads hit summaries from the store):
``--queries`` requests of ``/ws/dataset/search`` from 1 and from 4 client threads, latency
p50/p99 and requests per second; and, on PostgreSQL, the time from an ingest through another
data directory to the record being searchable on the serving node (the follower's delay).

Figures go to ``bench/out/store_postgres.json``. Nothing is asserted: read the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import common as C

WORK = C.CACHE_DIR / "store_postgres"

QUERIES = [
    "cancer", "breast cancer", "mouse", "protein", "insulin resistance", "diabetes", "hepatitis",
    "alzheimer disease", "gene expression", "cell proliferation", "apoptosis", "children",
    "randomized controlled trial", "mass spectrometry", "liver", "heart failure", "obesity",
    "inflammation", "stem cells", "tuberculosis", "HIV", "zebrafish", "kidney", "vaccine",
    "metabolism", "DNA methylation", "receptor", "\"blood pressure\"", "antibiotic resistance",
    "depression", "surgery", "pregnancy", "asthma", "microRNA", "oxidative stress",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Postgres:
    """A throwaway cluster under bench/cache (as the postgres user when we are root)."""

    def __init__(self, root: Path):
        self.root = root
        self.bin = self._find_bin()
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0
        C.drop_dir(root)
        root.mkdir(parents=True)
        if self.as_postgres:
            shutil.chown(root, "postgres", "postgres")
        self._pg("initdb", "-D", str(root / "data"), "-A", "trust", "-U", "opendi", "-E", "UTF8",
                 "--locale=C")
        self._pg("pg_ctl", "-D", str(root / "data"), "-l", str(root / "log"), "-w", "-o",
                 f"-p {self.port} -k {root} -c listen_addresses=127.0.0.1 -c shared_buffers=256MB",
                 "start")
        self.n = 0

    @staticmethod
    def _find_bin() -> Path:
        p = shutil.which("initdb")
        if p:
            return Path(p).resolve().parent
        versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                          key=lambda x: int(x.parent.parent.name))
        if not versions:
            sys.exit("PostgreSQL not found: apt-get install postgresql")
        return versions[-1].parent

    def _pg(self, prog: str, *args: str) -> None:
        argv = [str(self.bin / prog), *args]
        if self.as_postgres:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        r = subprocess.run(argv, cwd=self.root, capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"{prog} failed: {r.stdout}\n{r.stderr}")

    def fresh_database(self) -> str:
        self.n += 1
        name = f"bench{self.n}"
        psql = self.bin / "psql"
        subprocess.run([str(psql if psql.exists() else "psql"), "-h", "127.0.0.1", "-p", str(self.port),
                        "-U", "opendi", "-d", "postgres", "-q", "-c", f"CREATE DATABASE {name}"],
                       check=True)
        return f"postgres://opendi@127.0.0.1:{self.port}/{name}"

    def database_bytes(self, url: str) -> int:
        name = url.rsplit("/", 1)[1]
        psql = self.bin / "psql"
        r = subprocess.run([str(psql if psql.exists() else "psql"), "-h", "127.0.0.1", "-p", str(self.port),
                            "-U", "opendi", "-d", name, "-At", "-c",
                            f"SELECT pg_database_size('{name}')"], capture_output=True, text=True,
                           check=True)
        return int(r.stdout.strip())

    def stop(self) -> None:
        self._pg("pg_ctl", "-D", str(self.root / "data"), "-m", "fast", "-w", "stop")


def ingest(binary: Path, data: Path, url: str | None, xml_gz: Path) -> dict:
    C.drop_dir(data)
    busy = C.wait_idle(120)
    argv = [binary, "--data-dir", data]
    if url:
        argv += ["--database", url]
    r = C.run_measured(argv + ["ingest", "--json", xml_gz])
    s = json.loads(r.stdout)
    return {**r.as_json(), "busy_before": busy, "records": s["records"], "new": s["new"],
            "records_per_second": s["records"] / r.wall_s, "data_dir_bytes": C.dir_size(data)}


def new_node(binary: Path, data: Path, url: str) -> dict:
    C.drop_dir(data)
    busy = C.wait_idle(120)
    r = C.run_measured([binary, "--data-dir", data, "--database", url, "stats", "--json"])
    s = json.loads(r.stdout)
    return {**r.as_json(), "busy_before": busy, "indexed": s["indexed_documents"],
            "records_per_second": s["indexed_documents"] / r.wall_s}


class Server:
    def __init__(self, binary: Path, data: Path, url: str | None):
        argv = [str(binary), "--data-dir", str(data)]
        if url:
            argv += ["--database", url]
        self.p = subprocess.Popen(argv + ["serve", "--addr", "127.0.0.1:0"], stderr=subprocess.PIPE,
                                  stdout=subprocess.DEVNULL, text=True)
        for line in self.p.stderr:
            if "serving http://" in line:
                self.addr = line.split("serving http://")[1].split("/")[0]
                break
        else:
            sys.exit("opendi serve did not start")
        threading.Thread(target=lambda: [None for _ in self.p.stderr], daemon=True).start()

    def count(self, q: str) -> int:
        url = f"http://{self.addr}/ws/dataset/search?size=20&query={urllib.parse.quote(q)}"
        with urllib.request.urlopen(url, timeout=60) as r:
            return json.load(r)["count"]

    def stop(self) -> None:
        self.p.terminate()
        self.p.wait()


def search_load(server: Server, n: int, threads: int) -> dict:
    lat: list[float] = []
    lock = threading.Lock()
    per = n // threads

    def worker(k: int) -> None:
        mine = []
        for i in range(per):
            q = QUERIES[(i * threads + k) % len(QUERIES)]
            t = time.perf_counter()
            server.count(q)
            mine.append(time.perf_counter() - t)
        with lock:
            lat.extend(mine)

    for q in QUERIES:  # warm the caches once
        server.count(q)
    t0 = time.perf_counter()
    ts = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    wall = time.perf_counter() - t0
    return {"threads": threads, "requests": len(lat), "rps": len(lat) / wall,
            "p50_ms": C.p50(lat) * 1000, "p99_ms": C.p99(lat) * 1000}


def follow_delay(binary: Path, server: Server, url: str, reps: int) -> list[float]:
    """Seconds from an ingest through another data directory returning to the serving node
    finding the record."""
    out = []
    for i in range(reps):
        gen = WORK / f"follow-{i}.xml.gz"
        subprocess.run([binary, "gen", "--records", "1", "--format", "omicsdi-xml", "--seed",
                        str(1000 + i), gen], check=True, capture_output=True)
        before = server.count("*")
        other = WORK / "other-node"
        C.drop_dir(other)
        subprocess.run([binary, "--data-dir", other, "--database", url, "ingest", gen], check=True,
                       capture_output=True)
        t = time.perf_counter()
        while server.count("*") == before and time.perf_counter() - t < 60:
            time.sleep(0.02)
        out.append(time.perf_counter() - t)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=2, help="ingest repetitions per store (default 2)")
    ap.add_argument("--queries", type=int, default=400, help="search requests per load level")
    ap.add_argument("--skip-build", action="store_true", help="use the existing target/release/opendi")
    ap.add_argument("--opendi", type=Path, help="opendi binary to use (implies --skip-build)")
    args = ap.parse_args()

    xml_gz = C.corpus_file("pubmed/pubmed20n0014.xml.gz")
    binary = args.opendi or C.build_opendi(args.skip_build or bool(args.opendi))
    WORK.mkdir(parents=True, exist_ok=True)
    local = WORK / "opendi"
    shutil.copy2(binary, local)  # a concurrent rebuild cannot change it between runs
    pg = Postgres(WORK / "pg")
    results: dict = {"machine": C.machine_info(), "opendi": C.opendi_version(local),
                     "revision": C.git_revision(), "corpus": str(xml_gz), "runs": []}
    try:
        last_url = None
        for rep in range(args.runs):
            C.log(f"run {rep + 1}/{args.runs}: embedded ingest …")
            e = ingest(local, WORK / "embedded", None, xml_gz)
            C.log(f"  {e['wall_s']:.1f}s; postgres ingest …")
            url = pg.fresh_database()
            p = ingest(local, WORK / "pg-node-a", url, xml_gz)
            p["database_bytes"] = pg.database_bytes(url)
            C.log(f"  {p['wall_s']:.1f}s; new node index build …")
            n = new_node(local, WORK / "pg-node-b", url)
            C.log(f"  {n['wall_s']:.1f}s")
            results["runs"].append({"rep": rep, "embedded": e, "postgres": p, "postgres_new_node": n})
            last_url = url

        C.log("search through opendi serve …")
        search = {}
        for name, data, url in [("embedded", WORK / "embedded", None),
                                ("postgres", WORK / "pg-node-a", last_url)]:
            s = Server(local, data, url)
            try:
                search[name] = [search_load(s, args.queries, t) for t in (1, 4)]
                if url:
                    search["postgres_follow_delay_s"] = follow_delay(local, s, url, 5)
            finally:
                s.stop()
        results["search"] = search
    finally:
        pg.stop()

    runs = results["runs"]

    def med(sys_: str, key: str) -> float:
        return C.median(r[sys_][key] for r in runs)

    C.print_table(
        ["store", "wall s (median)", "records/s", "CPU s", "peak RSS MB", "disk MB"],
        [
            ["embedded ingest", C.fmt(med("embedded", "wall_s")), C.fmt(med("embedded", "records_per_second"), 0),
             C.fmt(C.median(r["embedded"]["user_s"] + r["embedded"]["sys_s"] for r in runs)),
             C.fmt(med("embedded", "peak_rss_mb"), 0), C.fmt(med("embedded", "data_dir_bytes") / 2**20, 0)],
            ["postgres ingest + index", C.fmt(med("postgres", "wall_s")), C.fmt(med("postgres", "records_per_second"), 0),
             C.fmt(C.median(r["postgres"]["user_s"] + r["postgres"]["sys_s"] for r in runs)),
             C.fmt(med("postgres", "peak_rss_mb"), 0),
             f'{C.fmt(med("postgres", "database_bytes") / 2**20, 0)} db + {C.fmt(med("postgres", "data_dir_bytes") / 2**20, 0)} index'],
            ["postgres new node index", C.fmt(med("postgres_new_node", "wall_s")),
             C.fmt(med("postgres_new_node", "records_per_second"), 0),
             C.fmt(C.median(r["postgres_new_node"]["user_s"] + r["postgres_new_node"]["sys_s"] for r in runs)),
             C.fmt(med("postgres_new_node", "peak_rss_mb"), 0), "-"],
        ],
        title=f"ingest of {xml_gz.name} ({runs[0]['embedded']['records']} records), {len(runs)} runs",
    )
    rows = []
    for name in ("embedded", "postgres"):
        for s in results["search"][name]:
            rows.append([name, s["threads"], s["requests"], C.fmt(s["rps"], 0), C.fmt(s["p50_ms"]),
                         C.fmt(s["p99_ms"])])
    C.print_table(["store", "clients", "requests", "req/s", "p50 ms", "p99 ms"], rows,
                  title="/ws/dataset/search through opendi serve")
    d = results["search"]["postgres_follow_delay_s"]
    print(f"\nfollower delay (ingest elsewhere -> searchable on the serving node): "
          f"median {C.median(d):.2f}s, max {max(d):.2f}s over {len(d)} ingests")
    print(f"figures: {C.write_json('store_postgres.json', results)}")


if __name__ == "__main__":
    main()
