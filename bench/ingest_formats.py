#!/usr/bin/env python3
"""Ingest per corpus folder and per format: what ``opendi ingest ../shared/corpora`` reads.

Part 1, the table of the shared corpora: one ``opendi ingest --json`` of the whole corpora
folder (and the seed), then one per top-level folder (fresh data dir each), printing per folder
the files read and skipped, records, records per format, errors and warnings, and the most
frequent finding codes.

Part 2, throughput per format: for each format, the corpus files of that format (as the ingest
detected them) ingested ``--runs`` times into a fresh data dir; median wall seconds,
records/s and MB/s of input. The corpora's files are small, so a fixed start-up cost (opening
the store and the index, measured with an empty input as ``baseline``) weighs on them; the
figures are also given net of it. For larger inputs of the two generated formats, see
bench/ingest_pubmed.py and ``opendi gen``.

Output: plain-text tables on stdout, JSON in bench/out/ingest_formats.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402


def ingest(binary: Path, inputs: list[str], extra: list[str] | None = None) -> tuple[common.Run, dict]:
    with tempfile.TemporaryDirectory(prefix="opendi-bench-") as d:
        r = common.run_measured([binary, "--data-dir", d, "ingest", "--json", *(extra or []), *inputs])
    return r, json.loads(r.stdout)


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = lambda r: "  ".join(str(x).rjust(w) if i else str(x).ljust(w) for i, (x, w) in enumerate(zip(r, widths)))
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--skip-build", action="store_true")
    args = ap.parse_args()

    corpora = common.corpora_dir()
    seed = corpora.parent / "seed"
    binary = common.build_opendi(args.skip_build)
    out: dict = {"revision": common.git_revision(), "folders": [], "formats": []}

    # Part 1: the whole corpora, then folder by folder.
    run, whole = ingest(binary, [str(corpora), str(seed)])
    out["whole"] = {k: whole[k] for k in ("files", "files_skipped", "records", "new", "updated",
                                          "unchanged", "errors", "warnings", "records_by_format")}
    out["whole"]["wall_s"] = run.wall_s
    rows = []
    for folder in sorted(p for p in corpora.iterdir() if p.is_dir()) + [seed]:
        _, s = ingest(binary, [str(folder)])
        top = sorted(s["findings_by_code"].items(), key=lambda kv: -kv[1])[:3]
        row = {
            "folder": folder.name if folder != seed else "../seed",
            "files": s["files"], "skipped": s["files_skipped"], "records": s["records"],
            "formats": s["records_by_format"], "errors": s["errors"], "warnings": s["warnings"],
            "top_findings": dict(top),
        }
        out["folders"].append(row)
        rows.append([row["folder"], row["files"], row["skipped"], row["records"],
                     ", ".join(f"{k} {v}" for k, v in row["formats"].items()) or "-",
                     row["errors"], row["warnings"],
                     ", ".join(f"{k} x{v}" for k, v in top) or "-"])
    print("Records and diagnostics per corpus folder (each folder ingested into a fresh data dir)\n")
    print(table(rows, ["folder", "files", "skipped", "records", "records by format", "errors",
                       "warnings", "most frequent findings"]))
    w = out["whole"]
    print(f"\nall of {corpora} + seed in one ingest: {w['files']} files ({w['files_skipped']} skipped), "
          f"{w['records']} records ({w['new']} new, {w['updated']} updated, {w['unchanged']} unchanged), "
          f"{w['errors']} errors, {w['warnings']} warnings, {w['wall_s']:.1f} s")

    # Part 2: files per format, as detected: ingest each file alone once to learn its format.
    by_format: dict[str, list[Path]] = defaultdict(list)
    for f in sorted(p for p in corpora.rglob("*") if p.is_file()):
        _, s = ingest(binary, [str(f)])
        fmts = s["records_by_format"]
        if fmts:
            by_format[max(fmts, key=fmts.get)].append(f)
    with tempfile.TemporaryDirectory() as empty:
        base = statistics.median(ingest(binary, [empty])[0].wall_s for _ in range(args.runs))
    rows = []
    for fmt, files in sorted(by_format.items()):
        runs = [ingest(binary, [str(f) for f in files]) for _ in range(args.runs)]
        wall = statistics.median(r.wall_s for r, _ in runs)
        records = runs[0][1]["records"]
        mb = sum(f.stat().st_size for f in files) / 1e6
        net = max(wall - base, 1e-3)
        row = {"format": fmt, "files": len(files), "records": records, "input_mb": mb,
               "median_wall_s": wall, "records_per_s": records / wall, "mb_per_s": mb / wall,
               "net_records_per_s": records / net, "peak_rss_mb": statistics.median(r.peak_rss_mb for r, _ in runs)}
        out["formats"].append(row)
        rows.append([fmt, len(files), records, f"{mb:.2f}", f"{wall:.3f}", f"{records / wall:,.0f}",
                     f"{records / net:,.0f}", f"{mb / wall:.1f}", f"{row['peak_rss_mb']:.0f}"])
    out["baseline_s"] = base
    print(f"\nIngest throughput per format (median of {args.runs}; start-up baseline {base:.3f} s with an empty input)\n")
    print(table(rows, ["format", "files", "records", "MB", "wall s", "records/s", "net records/s",
                       "MB/s", "peak RSS MB"]))
    common.OUT_DIR.mkdir(exist_ok=True)
    (common.OUT_DIR / "ingest_formats.json").write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
