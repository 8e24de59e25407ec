#!/usr/bin/env python3
"""Ingest benchmark: opendi vs Apache Lucene (Anserini) on a real PubMed baseline file.

The input is ``pubmed/pubmed20n0014.xml.gz`` from the shared corpora (30,000 PubmedArticle
records). In one run, for ``--runs`` repetitions, alternating:

  opendi       fresh data dir; ``opendi --data-dir D ingest --json pubmed20n0014.xml.gz``:
               the whole ingest (gunzip, parse XML, store in SQLite, index with tantivy, commit),
               and the similar-dataset lists of every record, computed at the end of the ingest.
  opendi-no-similar
               the same with ``ingest --no-similar``: the lists are left to ``similar --all``
               or to the first request of each (the step that compares with Lucene's indexing).
  lucene       fresh index dir; Anserini IndexCollection on JSONL text extracted beforehand (not
               timed), -threads 2, with the shared README's flags
               (-storePositions -storeDocvectors -storeRaw).
  lucene-lean  the same without -storeDocvectors -storeRaw (skip with --no-lean).

The JSONL holds, per article, the text opendi indexes for a PubMed record (see
``article_text``): title, abstract (with section labels), author names, author keywords, MeSH
descriptors, chemical names and the identifiers (PMID, DOI, PMCID, data-bank accessions).

Reported per system: median wall seconds, records/s, MB/s of the .xml.gz and of the uncompressed
XML, median peak RSS (os.wait4 ru_maxrss), size on disk; and opendi/Lucene ratios against the
target "opendi at least 2x faster than Lucene, with a lower peak RSS". Figures also go to
bench/out/ingest_pubmed.json. Nothing here asserts: it prints figures.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import shlex
import shutil
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common as C  # noqa: E402

CORPUS = "pubmed/pubmed20n0014.xml.gz"
EXPECTED_RECORDS = 30_000
WORK = C.CACHE_DIR / "ingest_pubmed"


# --------------------------------------------------------------------------- text extraction


def _text(el) -> str:
    """All text inside an element (inline markup such as <i> or <sup> flattened), trimmed."""
    return " ".join("".join(el.itertext()).split()) if el is not None else ""


def article_text(art) -> tuple[str | None, str]:
    """(PMID, contents) of one PubmedArticle: the text fields opendi indexes for it.

    Mirrors opendi-ingest's pubmed.rs and the engine's index document: title, description
    (abstract, labelled sections), keywords (KeywordList + MeSH descriptors + chemicals), people
    (authors as "LastName Initials" or CollectiveName), xref/accession (PMID, DOI, PMCID,
    DataBank accessions). The journal title is stored by opendi but not indexed, so it is left out.
    """
    cit = art.find("MedlineCitation")
    if cit is None:
        cit = art.find("BookDocument")
    if cit is None:
        return None, ""
    pmid = _text(cit.find("PMID")) or None
    article = cit.find("Article")
    if article is None:
        article = cit
    parts: list[str] = []

    title = _text(article.find("ArticleTitle")) or _text(article.find("BookTitle")) or _text(
        article.find("VernacularTitle"))
    parts.append(title)

    abstract = article.find("Abstract")
    if abstract is not None:
        sections = []
        for t in abstract.findall("AbstractText"):
            label = t.get("Label")
            body = _text(t)
            if label and label.upper() != "UNLABELLED":
                sections.append(f"{label} {body}")
            else:
                sections.append(body)
        parts.append(" ".join(sections))

    authors = article.find("AuthorList")
    if authors is not None:
        for a in authors.findall("Author"):
            last = a.find("LastName")
            if last is not None:
                parts.append(f"{_text(last)} {_text(a.find('Initials'))}".strip())
            elif a.find("CollectiveName") is not None:
                parts.append(_text(a.find("CollectiveName")))

    for kw in cit.findall("KeywordList/Keyword"):
        parts.append(_text(kw))
    for d in cit.findall("MeshHeadingList/MeshHeading/DescriptorName"):
        parts.append(_text(d))
    for c in cit.findall("ChemicalList/Chemical/NameOfSubstance"):
        parts.append(_text(c))

    ids = [pmid or ""]
    for e in article.findall("ELocationID"):
        if e.get("EIdType") == "doi":
            ids.append(_text(e))
    for e in art.findall("PubmedData/ArticleIdList/ArticleId"):
        if e.get("IdType") in ("doi", "pmc"):
            ids.append(_text(e))
    for a in article.findall("DataBankList/DataBank/AccessionNumberList/AccessionNumber"):
        ids.append(_text(a))
    parts.append(" ".join(dict.fromkeys(i for i in ids if i)))

    return pmid, "\n".join(p for p in parts if p)


class _CountingReader:
    """File wrapper counting the bytes read through it (the uncompressed XML size)."""

    def __init__(self, f):
        self.f = f
        self.n = 0

    def read(self, size=-1):
        b = self.f.read(size)
        self.n += len(b)
        return b


def extract_jsonl(xml_gz: Path, out_dir: Path) -> dict:
    """PubMed XML (gzip) -> out_dir/docs.jsonl of {"id": PMID, "contents": text}. Not timed."""
    C.drop_dir(out_dir)
    out_dir.mkdir(parents=True)
    out = out_dir / "docs.jsonl"
    n = 0
    no_pmid = 0
    t0 = time.perf_counter()
    with gzip.open(xml_gz, "rb") as gz, open(out, "w", encoding="utf-8") as w:
        src = _CountingReader(gz)
        root = None
        for event, el in ET.iterparse(src, events=("start", "end")):
            if event == "start":
                if root is None:
                    root = el
                continue
            if el.tag in ("PubmedArticle", "PubmedBookArticle"):
                pmid, contents = article_text(el)
                n += 1
                if pmid is None:
                    no_pmid += 1
                    pmid = f"pubmed-entry-{n}"
                w.write(json.dumps({"id": pmid, "contents": contents}, ensure_ascii=False))
                w.write("\n")
                root.clear()  # keep memory flat
        xml_bytes = src.n
    return {
        "records": n,
        "records_without_pmid": no_pmid,
        "xml_bytes": xml_bytes,
        "jsonl_bytes": out.stat().st_size,
        "jsonl": str(out),
        "seconds": time.perf_counter() - t0,
    }


# --------------------------------------------------------------------------- systems


def run_opendi(binary: Path, xml_gz: Path, rep: int, name: str) -> dict:
    data = WORK / "opendi-data"
    C.drop_dir(data)
    extra = ["--no-similar"] if name == "opendi-no-similar" else []
    r = C.run_measured([binary, "--data-dir", data, "ingest", "--json", *extra, xml_gz])
    try:
        summary = json.loads(r.stdout)
    except json.JSONDecodeError:
        C.log(f"opendi printed no JSON summary:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
        raise SystemExit(1)
    parts = {p.name: C.dir_size(p) if p.is_dir() else p.stat().st_size for p in sorted(data.iterdir())}
    res = {
        "system": name,
        "rep": rep,
        **r.as_json(),
        "disk_bytes": C.dir_size(data),
        "disk_parts": parts,
        "records": summary.get("records"),
        "summary": {k: v for k, v in summary.items() if k != "diagnostics"},
        "first_diagnostics": summary.get("diagnostics", [])[:10],
        "stderr_tail": r.stderr[-2000:],
    }
    C.drop_dir(data)
    return res


LUCENE_DOCS_RE = re.compile(r"Total\s+([\d,]+)\s+documents indexed")


def run_lucene(jar: Path, jsonl_dir: Path, rep: int, name: str, lean: bool, threads: int,
               java_opts: list[str]) -> dict:
    idx = WORK / f"{name}-index"
    C.drop_dir(idx)
    store = ["-storePositions"] if lean else ["-storePositions", "-storeDocvectors", "-storeRaw"]
    argv = ["java", *java_opts, "-cp", jar, "io.anserini.index.IndexCollection",
            "-collection", "JsonCollection", "-input", jsonl_dir, "-index", idx,
            "-generator", "DefaultLuceneDocumentGenerator", "-threads", str(threads), *store]
    r = C.run_measured(argv)
    log = r.stdout + r.stderr
    m = LUCENE_DOCS_RE.search(log)
    res = {
        "system": name,
        "rep": rep,
        **r.as_json(),
        "disk_bytes": C.dir_size(idx),
        "records": int(m.group(1).replace(",", "")) if m else None,
        "log_tail": "\n".join(log.strip().splitlines()[-12:]),
    }
    C.drop_dir(idx)
    return res


# --------------------------------------------------------------------------- report


def summarize(runs: list[dict], gz_bytes: int, xml_bytes: int, n_records: int) -> dict:
    walls = [r["wall_s"] for r in runs]
    rss = [r["peak_rss_mb"] for r in runs]
    wall = C.median(walls)
    return {
        "runs": len(runs),
        "wall_s_median": wall,
        "wall_s_min": min(walls),
        "wall_s_max": max(walls),
        "wall_s_p99": C.p99(walls),
        "cpu_s_median": C.median(r["user_s"] + r["sys_s"] for r in runs),
        "records_per_s": n_records / wall,
        "gz_mb_per_s": gz_bytes / 1e6 / wall,
        "xml_mb_per_s": xml_bytes / 1e6 / wall,
        "peak_rss_mb_median": C.median(rss),
        "peak_rss_mb_max": max(rss),
        "disk_mb": C.median(r["disk_bytes"] for r in runs) / 1e6,
        "records_indexed": sorted({r["records"] for r in runs}, key=lambda x: (x is None, x)),
        "load_before": [round(r["load_before"], 2) for r in runs],
        "other_cpu_s": [round(r["other_cpu_s"], 2) for r in runs],
        "contended_runs": sum(r["contended"] for r in runs),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3, help="repetitions per system (default 3)")
    ap.add_argument("--no-lean", action="store_true",
                    help="skip the Lucene variant without -storeDocvectors -storeRaw")
    ap.add_argument("--threads", type=int, default=2, help="Anserini indexing threads (default 2)")
    ap.add_argument("--java-opts", default="", help='extra JVM options, e.g. "-Xmx1g" (default: none)')
    ap.add_argument("--wait-idle", type=float, default=120, metavar="SECONDS",
                    help="before each run, wait up to SECONDS for the machine to go idle (default 120; 0: don't)")
    ap.add_argument("--idle-threshold", type=float, default=0.15,
                    help="idle means less than this fraction of all CPUs busy (default 0.15)")
    ap.add_argument("--max-other-cpu", type=float, default=0.1, metavar="FRACTION",
                    help="a run is contended when other processes used more CPU time than FRACTION of its "
                         "wall time (default 0.1)")
    ap.add_argument("--retries", type=int, default=2,
                    help="re-run a contended run up to this many times (default 2; kept in the JSON)")
    ap.add_argument("--skip-build", action="store_true", help="use the existing target/release/opendi")
    ap.add_argument("--opendi", type=Path, help="opendi binary to use (implies --skip-build)")
    args = ap.parse_args()

    xml_gz = C.corpus_file(CORPUS)
    built = args.opendi.resolve() if args.opendi else C.build_opendi(skip=args.skip_build)
    revision = C.git_revision()
    # A private copy: a concurrent rebuild must not swap the binary between runs.
    WORK.mkdir(parents=True, exist_ok=True)
    binary = WORK / "opendi"
    shutil.copy2(built, binary)
    jar = C.anserini_jar()
    java_opts = shlex.split(args.java_opts)
    WORK.mkdir(parents=True, exist_ok=True)

    C.log(f"extracting text from {xml_gz} to JSONL (not timed) …")
    ext = extract_jsonl(xml_gz, WORK / "jsonl")
    C.log(f"  {ext['records']:,} records, {ext['xml_bytes'] / 1e6:.1f} MB XML -> "
          f"{ext['jsonl_bytes'] / 1e6:.1f} MB JSONL in {ext['seconds']:.1f} s")
    # A file per thread, or Lucene indexes on one (see `common.shard_lines`).
    shards = C.shard_lines(Path(ext["jsonl"]), WORK / "jsonl-lucene", args.threads)
    gz_bytes = xml_gz.stat().st_size
    n = ext["records"]

    # Warm the page cache and the binaries so the first timed run is not penalised.
    xml_gz.read_bytes()
    C.run_measured([binary, "--version"])
    C.run_measured(["java", "-version"])

    systems = ["opendi", "opendi-no-similar", "lucene"] + ([] if args.no_lean else ["lucene-lean"])
    runs: dict[str, list[dict]] = {s: [] for s in systems}
    discarded: list[dict] = []
    for rep in range(1, args.runs + 1):
        for s in systems:
            for attempt in range(args.retries + 1):
                busy = C.wait_idle(args.wait_idle, args.idle_threshold) if args.wait_idle > 0 else C.cpu_busy(0.5)
                if s.startswith("opendi"):
                    r = run_opendi(binary, xml_gz, rep, s)
                else:
                    r = run_lucene(jar, shards, rep, s, s == "lucene-lean", args.threads, java_opts)
                r["cpu_busy_before"] = busy
                r["contended"] = r["other_cpu_s"] > args.max_other_cpu * r["wall_s"]
                if not r["contended"] or attempt == args.retries:
                    break
                C.log(f"  run {rep}/{args.runs} {s:<12} {r['wall_s']:7.2f} s  discarded: other processes used "
                      f"{r['other_cpu_s']:.1f} s of CPU during it; again")
                discarded.append(r)
            runs[s].append(r)
            C.log(f"  run {rep}/{args.runs} {s:<12} {r['wall_s']:7.2f} s  {r['peak_rss_mb']:8.1f} MB peak RSS  "
                  f"{r['disk_bytes'] / 1e6:7.1f} MB on disk  records={r['records']}  "
                  f"busy before={busy:.0%}  others' CPU during={r['other_cpu_s']:.1f} s")

    stats = {s: summarize(runs[s], gz_bytes, ext["xml_bytes"], n) for s in systems}
    ratios = {}
    for mine, s in [(m, s) for m in systems if m.startswith("opendi")
                    for s in systems if s.startswith("lucene")]:
        o, l = stats[mine], stats[s]
        ratios[f"{mine} vs {s}"] = {
            "speedup": l["wall_s_median"] / o["wall_s_median"],  # >1: opendi faster
            "rss_ratio": o["peak_rss_mb_median"] / l["peak_rss_mb_median"],  # <1: opendi leaner
            "disk_ratio": o["disk_mb"] / l["disk_mb"],
            "cpu_ratio": l["cpu_s_median"] / o["cpu_s_median"],  # >1: opendi uses less CPU
            "target_2x_met": l["wall_s_median"] / o["wall_s_median"] >= 2.0,
            "target_lower_rss_met": o["peak_rss_mb_median"] < l["peak_rss_mb_median"],
        }

    # ---- print
    print()
    print(f"Ingest benchmark: {CORPUS} — {n:,} records, {gz_bytes / 1e6:.1f} MB gz, "
          f"{ext['xml_bytes'] / 1e6:.1f} MB XML; JSONL for Lucene {ext['jsonl_bytes'] / 1e6:.1f} MB")
    print(f"opendi {revision} ({built}); Anserini {C.PYSERINI_VERSION} (Lucene 9), "
          f"-threads {args.threads}{' ' + args.java_opts if args.java_opts else ''}; "
          f"{args.runs} runs each, alternating; medians")
    print()
    C.print_table(
        ["system", "wall s", "min s", "max s", "CPU s", "records/s", "gz MB/s", "XML MB/s",
         "peak RSS MB", "disk MB", "records", "others' CPU s"],
        [[s, st["wall_s_median"], st["wall_s_min"], st["wall_s_max"], st["cpu_s_median"],
          round(st["records_per_s"]), st["gz_mb_per_s"], st["xml_mb_per_s"], st["peak_rss_mb_median"],
          st["disk_mb"], ",".join(str(x) for x in st["records_indexed"]), max(st["other_cpu_s"])]
         for s, st in stats.items()],
    )
    print()
    C.print_table(
        ["pair", "speed-up", "CPU-time ratio", "RSS ratio", "disk ratio", "2x faster?", "lower RSS?"],
        [[s, f"{r['speedup']:.2f}x", f"{r['cpu_ratio']:.2f}x", f"{r['rss_ratio']:.2f}", f"{r['disk_ratio']:.2f}",
          "yes" if r["target_2x_met"] else "NO", "yes" if r["target_lower_rss_met"] else "NO"]
         for s, r in ratios.items()],
    )
    print("speed-up = Lucene median wall / opendi median wall; CPU-time ratio = Lucene / opendi user+sys; "
          "RSS ratio = opendi / Lucene peak RSS (target: speed-up >= 2 and RSS ratio < 1 vs 'lucene', "
          "the README's flags). others' CPU s = the most CPU time other processes used during one run: "
          "well above 0, the wall times are contaminated.")
    cont = {s: st["contended_runs"] for s, st in stats.items() if st["contended_runs"]}
    print(f"contended runs re-run and discarded: {len(discarded)}"
          + (f"; still contended after {args.retries} retries (kept): {cont}" if cont else ""))
    print("opendi's wall time covers gunzip + XML parsing + store + index + commit; Lucene's covers "
          "JVM start + indexing pre-extracted text + commit.")

    last = runs["opendi"][-1]["summary"]
    print()
    print(f"opendi summary (last run): records={last.get('records')} new={last.get('new')} "
          f"updated={last.get('updated')} unchanged={last.get('unchanged')} errors={last.get('errors')} "
          f"warnings={last.get('warnings')} files_failed={last.get('files_failed')} "
          f"internal seconds={last.get('seconds', 0):.2f}")
    if last.get("findings_by_code"):
        print(f"  findings by code: {last['findings_by_code']}")
    if last.get("failed") or last.get("skipped"):
        print(f"  failed: {last.get('failed')} skipped: {last.get('skipped')}")
    for s in systems:
        counts = stats[s]["records_indexed"]
        if counts != [n] or n != EXPECTED_RECORDS:
            print(f"  NOTE: {s} reported {counts} records; the extraction found {n:,}, "
                  f"expected {EXPECTED_RECORDS:,}")
    print(f"  opendi data dir parts (bytes): {runs['opendi'][-1]['disk_parts']}")

    data = {
        "benchmark": "ingest_pubmed",
        "corpus": CORPUS,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": C.machine_info(),
        "opendi": {"binary": str(built), "version": C.opendi_version(binary), "revision": revision},
        "lucene": {"jar": str(jar), "anserini": C.PYSERINI_VERSION, "threads": args.threads,
                   "java_opts": java_opts},
        "input": {"gz_bytes": gz_bytes, **{k: v for k, v in ext.items() if k != "jsonl"}},
        "runs_per_system": args.runs,
        "stats": stats,
        "ratios": ratios,
        "runs": runs,
        "discarded_contended_runs": discarded,
    }
    p = C.write_json("ingest_pubmed.json", data)
    print(f"\nfigures: {p.relative_to(C.ROOT)}")


if __name__ == "__main__":
    main()
