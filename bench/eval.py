#!/usr/bin/env python3
"""Search and "similar datasets" quality of opendi against Lucene, on the same text, in one run.

Data: ``pubmed/pubmed20n0014.xml.gz`` of the shared corpora (30,000 PubMed records). MeSH
headings, keywords, chemical lists (and supplementary concepts) are stripped from the records
before either system sees them: they are the ground truth.

- Search: one query per MeSH descriptor that is a major topic of 5 to 150 articles, its name
  inverted and lower-cased ("Anemia, Aplastic" -> "aplastic anemia"); check tags (Humans,
  Male, Female, Animals, age groups …) are left out. Relevant articles carry the descriptor:
  gain 2 when it is a major topic there, 1 otherwise. Figures: nDCG@10, Recall@100, MRR.
- Similar: for a seeded sample of articles, the gain of every other article is the Jaccard
  overlap of their MeSH descriptor sets (check tags left out). Figures: nDCG@10 (the ideal
  ranking is the best 10 over the whole file) and P@10 (relevant: Jaccard >= --p-threshold).
- Peers: Anserini BM25 (Lucene 9, its default k1=0.9 b=0.4) over the text opendi indexes for
  the stripped records; Lucene MoreLikeThis (bench/lucene/SimilarMLT.java, compiled with javac
  against the Anserini jar) over the same index. Both compute the similar lists of every
  record, timed: opendi `similar --all` against MoreLikeThis for all documents.

The method has no per-query or per-record knobs; the same program runs on any PubMed file
(``--corpus``). Standard library only. ``--records N --sample M`` makes a quick small run.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common as C  # noqa: E402
from ingest_pubmed import article_text  # noqa: E402

CORPUS = "pubmed/pubmed20n0014.xml.gz"

# MeSH check tags: descriptors indexers add to nearly every article of a kind (species, sex,
# age groups, pregnancy, historical periods). They say nothing about the topic.
CHECK_TAGS = {
    "Humans", "Animals", "Male", "Female", "Pregnancy", "Mice", "Rats", "Cats", "Cattle",
    "Dogs", "Horses", "Rabbits", "Swine", "Sheep", "Guinea Pigs", "Cricetinae", "Haplorhini",
    "Chick Embryo", "Infant", "Infant, Newborn", "Child", "Child, Preschool", "Adolescent",
    "Young Adult", "Adult", "Middle Aged", "Aged", "Aged, 80 and over",
}

STRIP = ("MeshHeadingList", "KeywordList", "ChemicalList", "SupplMeshList")


def is_check_tag(name: str) -> bool:
    return name in CHECK_TAGS or name.startswith("History, ")


def query_of(descriptor: str) -> str:
    """'Anemia, Aplastic' -> 'aplastic anemia'; characters that are query syntax dropped."""
    parts = [p.strip() for p in descriptor.split(", ")]
    text = " ".join(reversed(parts)).lower()
    text = re.sub(r"[^\w\s-]", " ", text)
    text = re.sub(r"(^|\s)-+", r"\1", text)  # no leading '-' (NOT in query languages)
    return " ".join(text.split())


# --------------------------------------------------------------------------- data


def prepare(corpus: Path, work: Path, limit: int | None) -> dict:
    """Writes the stripped records (XML for opendi, JSONL of the same text for Anserini) and
    returns the MeSH ground truth {pmid: {descriptor: major}}."""
    xml_out = work / "stripped.xml.gz"
    jsonl_dir = work / "jsonl"
    jsonl_dir.mkdir(parents=True, exist_ok=True)
    mesh: dict[str, dict[str, bool]] = {}
    n = 0
    with gzip.open(corpus, "rb") as src, gzip.open(xml_out, "wt", encoding="utf-8") as xo, \
            open(jsonl_dir / "docs.jsonl", "w", encoding="utf-8") as jo:
        xo.write('<?xml version="1.0" encoding="utf-8"?>\n<PubmedArticleSet>\n')
        root = None
        for event, el in ET.iterparse(src, events=("start", "end")):
            if event == "start":
                if root is None:
                    root = el
                continue
            if el.tag != "PubmedArticle":
                continue
            cit = el.find("MedlineCitation")
            pmid = (cit.findtext("PMID") or "").strip() if cit is not None else ""
            if cit is None or not pmid:
                root.clear()
                continue
            heads: dict[str, bool] = {}
            for h in cit.findall("MeshHeadingList/MeshHeading"):
                d = h.find("DescriptorName")
                if d is None or not (d.text or "").strip():
                    continue
                name = " ".join(d.text.split())
                major = d.get("MajorTopicYN") == "Y" or any(
                    q.get("MajorTopicYN") == "Y" for q in h.findall("QualifierName"))
                heads[name] = heads.get(name, False) or major
            mesh[pmid] = heads
            for tag in STRIP:
                for child in cit.findall(tag):
                    cit.remove(child)
            xo.write(ET.tostring(el, encoding="unicode"))
            xo.write("\n")
            _, contents = article_text(el)
            jo.write(json.dumps({"id": pmid, "contents": contents}, ensure_ascii=False) + "\n")
            n += 1
            root.clear()
            if limit and n >= limit:
                break
        xo.write("</PubmedArticleSet>\n")
    return mesh


def search_truth(mesh: dict[str, dict[str, bool]], lo: int, hi: int) -> list[dict]:
    by_desc: dict[str, dict[str, int]] = {}
    for pmid, heads in mesh.items():
        for name, major in heads.items():
            if not is_check_tag(name):
                by_desc.setdefault(name, {})[pmid] = 2 if major else 1
    queries = []
    for name in sorted(by_desc):
        rel = by_desc[name]
        majors = sum(1 for g in rel.values() if g == 2)
        q = query_of(name)
        if lo <= majors <= hi and q:
            queries.append({"qid": str(len(queries)), "descriptor": name, "query": q,
                            "relevant": rel})
    return queries


def descriptor_sets(mesh: dict[str, dict[str, bool]]) -> dict[str, frozenset]:
    return {p: frozenset(n for n in h if not is_check_tag(n)) for p, h in mesh.items()}


def similar_truth(sets: dict[str, frozenset], sample: list[str]) -> dict[str, dict[str, float]]:
    """For each sampled article, the Jaccard overlap with every article sharing a descriptor
    (all others have gain 0)."""
    postings: dict[str, list[str]] = {}
    for p, s in sets.items():
        for d in s:
            postings.setdefault(d, []).append(p)
    out = {}
    for a in sample:
        sa = sets[a]
        cands = {b for d in sa for b in postings[d] if b != a}
        out[a] = {b: len(sa & sets[b]) / len(sa | sets[b]) for b in cands}
    return out


# --------------------------------------------------------------------------- metrics


def ndcg(ranked: list[str], gains: dict[str, float], k: int) -> float:
    dcg = sum(gains.get(d, 0.0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted(gains.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall(ranked: list[str], gains: dict[str, float], k: int) -> float:
    rel = [d for d, g in gains.items() if g > 0]
    return sum(1 for d in ranked[:k] if gains.get(d, 0) > 0) / len(rel) if rel else 0.0


def rr(ranked: list[str], gains: dict[str, float]) -> float:
    for i, d in enumerate(ranked):
        if gains.get(d, 0) > 0:
            return 1.0 / (i + 1)
    return 0.0


def precision(ranked: list[str], gains: dict[str, float], k: int, threshold: float) -> float:
    return sum(1 for d in ranked[:k] if gains.get(d, 0.0) >= threshold) / k


def mean(xs) -> float:
    xs = list(xs)
    return sum(xs) / len(xs) if xs else 0.0


def search_figures(queries: list[dict], runs: dict[str, list[str]]) -> dict:
    return {
        "queries": len(queries),
        "ndcg@10": mean(ndcg(runs.get(q["qid"], []), q["relevant"], 10) for q in queries),
        "recall@100": mean(recall(runs.get(q["qid"], []), q["relevant"], 100) for q in queries),
        "mrr": mean(rr(runs.get(q["qid"], [])[:100], q["relevant"]) for q in queries),
    }


def similar_figures(truth: dict, lists: dict[str, list[str]], threshold: float) -> dict:
    return {
        "articles": len(truth),
        "ndcg@10": mean(ndcg(lists.get(a, []), g, 10) for a, g in truth.items()),
        "p@10": mean(precision(lists.get(a, []), g, 10, threshold) for a, g in truth.items()),
    }


# --------------------------------------------------------------------------- opendi


def run(argv: list, **kw) -> subprocess.CompletedProcess:
    r = subprocess.run([str(a) for a in argv], capture_output=True, text=True, cwd=C.ROOT, **kw)
    if r.returncode != 0:
        sys.exit(f"command failed ({r.returncode}): {' '.join(map(str, argv))}\n{r.stderr[-3000:]}")
    return r


def opendi_run(binary: Path, work: Path, queries: list[dict], sample: list[str]) -> dict:
    data = work / "opendi-data"
    C.drop_dir(data)
    t = time.perf_counter()
    run([binary, "--data-dir", data, "ingest", "--json", "--format", "pubmed-xml",
         work / "stripped.xml.gz"])
    ingest_s = time.perf_counter() - t
    t = time.perf_counter()
    out = run([binary, "--data-dir", data, "similar", "--all", "--json"])
    similar_wall = time.perf_counter() - t
    similar_s = json.loads(out.stdout)["seconds"]

    qfile = work / "queries.txt"
    qfile.write_text("".join(q["query"] + "\n" for q in queries), encoding="utf-8")
    modes = {"default": []}
    help_text = run([binary, "search", "--help"]).stdout
    # Another part of opendi may add query expansion (synonyms) with a switch: report both.
    for flag in ("--no-synonyms", "--no-expand", "--no-expansion"):
        if flag in help_text:
            modes[flag.lstrip("-")] = [flag]
            break
    search = {}
    for mode, extra in modes.items():
        t = time.perf_counter()
        out = run([binary, "--data-dir", data, "search", "--json", "--limit", "100",
                   *extra, "--queries", qfile])
        secs = time.perf_counter() - t
        lines = out.stdout.splitlines()
        runs = {q["qid"]: [h["accession"] for h in json.loads(line)["hits"]]
                for q, line in zip(queries, lines)}
        search[mode] = {"runs": runs, "seconds": secs}

    kfile = work / "sample.txt"
    kfile.write_text("".join(p + "\n" for p in sample), encoding="utf-8")
    out = run([binary, "--data-dir", data, "similar", "--limit", "10", "--keys", kfile])
    lists, reasons = {}, {}
    for line in out.stdout.splitlines():
        o = json.loads(line)
        lists[o["accession"]] = [h["accession"] for h in o["similar"]]
        reasons[o["accession"]] = [h.get("reasons", []) for h in o["similar"]]
    return {"ingest_s": ingest_s, "similar_all_s": similar_s, "similar_all_wall_s": similar_wall,
            "search": search, "lists": lists, "reasons": reasons}


# --------------------------------------------------------------------------- lucene


def lucene_available() -> str | None:
    """None when Java and javac are here, else why not."""
    for tool in ("java", "javac"):
        if shutil.which(tool) is None:
            return f"{tool} not found"
    return None


def lucene_run(work: Path, queries: list[dict], sample: list[str], threads: int) -> dict:
    jar = C.anserini_jar()
    index = work / "lucene-index"
    C.drop_dir(index)
    run(["java", "-cp", jar, "io.anserini.index.IndexCollection", "-collection", "JsonCollection",
         "-input", work / "jsonl", "-index", index, "-generator", "DefaultLuceneDocumentGenerator",
         "-threads", threads, "-storePositions", "-storeDocvectors", "-storeRaw"])
    topics = work / "topics.tsv"
    topics.write_text("".join(f"{q['qid']}\t{q['query']}\n" for q in queries), encoding="utf-8")
    run_file = work / "lucene.run"
    t = time.perf_counter()
    run(["java", "-cp", jar, "io.anserini.search.SearchCollection", "-index", index,
         "-topics", topics, "-topicreader", "TsvString", "-output", run_file, "-bm25",
         "-hits", 100, "-threads", threads])
    search_s = time.perf_counter() - t
    if not run_file.is_file():
        sys.exit(f"Anserini wrote no run file {run_file}")
    runs: dict[str, list[str]] = {}
    for line in run_file.read_text().splitlines():
        qid, _, doc, rank, *_ = line.split()
        runs.setdefault(qid, []).append((int(rank), doc))
    runs = {q: [d for _, d in sorted(v)] for q, v in runs.items()}

    classes = work / "mlt-classes"
    classes.mkdir(exist_ok=True)
    run(["javac", "-cp", jar, "-d", classes, C.BENCH_DIR / "lucene" / "SimilarMLT.java"])
    kfile = work / "sample.txt"
    out_file = work / "mlt.tsv"
    t = time.perf_counter()
    out = run(["java", "-cp", f"{jar}{os.pathsep}{classes}", "SimilarMLT", index, kfile, out_file,
               20, threads])
    wall = time.perf_counter() - t
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    lists: dict[str, list[tuple[int, str]]] = {}
    for line in out_file.read_text().splitlines():
        a, b, rank = line.split("\t")
        lists.setdefault(a, []).append((int(rank), b))
    return {"search": {"default": {"runs": runs, "seconds": search_s}},
            "similar_all_s": figures["seconds"], "similar_all_wall_s": wall,
            "lists": {a: [b for _, b in sorted(v)] for a, v in lists.items()}}


# --------------------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", default=CORPUS, help="PubMed XML file under the corpora")
    ap.add_argument("--records", type=int, default=0, help="only the first N articles (0: all)")
    ap.add_argument("--sample", type=int, default=300, help="articles in the similar sample")
    ap.add_argument("--seed", type=int, default=20240605)
    ap.add_argument("--min-major", type=int, default=5)
    ap.add_argument("--max-major", type=int, default=150)
    ap.add_argument("--p-threshold", type=float, default=0.2,
                    help="Jaccard from which a similar article counts as relevant for P@10")
    ap.add_argument("--threads", type=int, default=2, help="threads for Anserini and MLT")
    ap.add_argument("--no-lucene", action="store_true", help="opendi only")
    ap.add_argument("--skip-build", action="store_true")
    ap.add_argument("--opendi", type=Path, help="the opendi binary to use")
    ap.add_argument("--work", type=Path, default=C.CACHE_DIR / "eval")
    ap.add_argument("--out", type=Path, default=C.OUT_DIR / "eval.json")
    args = ap.parse_args()

    binary = args.opendi.resolve() if args.opendi else C.build_opendi(args.skip_build)
    corpus = C.corpus_file(args.corpus)
    work = args.work.resolve()
    C.drop_dir(work)
    work.mkdir(parents=True)

    C.log(f"stripping MeSH, keywords and chemicals from {corpus.name} …")
    mesh = prepare(corpus, work, args.records or None)
    queries = search_truth(mesh, args.min_major, args.max_major)
    sets = descriptor_sets(mesh)
    eligible = sorted(p for p, s in sets.items() if s)
    rng = random.Random(args.seed)
    sample = sorted(rng.sample(eligible, min(args.sample, len(eligible))))
    truth = similar_truth(sets, sample)
    C.log(f"{len(mesh)} articles, {len(queries)} queries, {len(sample)} similar samples")

    C.log("opendi: ingest, similar --all, searches …")
    od = opendi_run(binary, work, queries, sample)
    systems = {}
    for mode, s in od["search"].items():
        name = "opendi" if mode == "default" else f"opendi ({mode})"
        systems[name] = {"search": search_figures(queries, s["runs"]),
                         "search_seconds": s["seconds"]}
    systems["opendi"]["similar"] = similar_figures(truth, od["lists"], args.p_threshold)
    systems["opendi"]["similar_all_seconds"] = od["similar_all_s"]

    lucene_skipped = None if not args.no_lucene else "--no-lucene"
    if lucene_skipped is None:
        lucene_skipped = lucene_available()
    if lucene_skipped is None:
        C.log("lucene: Anserini index, BM25 searches, MoreLikeThis for every document …")
        lu = lucene_run(work, queries, sample, args.threads)
        systems["lucene"] = {
            "search": search_figures(queries, lu["search"]["default"]["runs"]),
            "search_seconds": lu["search"]["default"]["seconds"],
            "similar": similar_figures(truth, lu["lists"], args.p_threshold),
            "similar_all_seconds": lu["similar_all_s"],
        }
    else:
        C.log(f"lucene skipped: {lucene_skipped}")

    report = {
        "corpus": str(args.corpus), "articles": len(mesh), "queries": len(queries),
        "similar_sample": len(sample), "seed": args.seed, "p_threshold": args.p_threshold,
        "opendi": C.opendi_version(binary), "revision": C.git_revision(),
        "java": C.java_version() if lucene_skipped is None else None,
        "lucene_skipped": lucene_skipped, "systems": systems,
        "example_reasons": {a: od["reasons"].get(a, [])[:3] for a in sample[:3]},
    }
    if "lucene" in systems:
        o, lu = systems["opendi"], systems["lucene"]
        report["targets"] = {
            "search ndcg@10 >= lucene bm25": o["search"]["ndcg@10"] >= lu["search"]["ndcg@10"],
            "similar ndcg@10 >= 1.10 x lucene mlt":
                o["similar"]["ndcg@10"] >= 1.10 * lu["similar"]["ndcg@10"],
            "similar for all records faster than mlt":
                o["similar_all_seconds"] < lu["similar_all_seconds"],
        }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print_report(report)


def print_report(r: dict) -> None:
    print(f"corpus {r['corpus']}: {r['articles']} articles (MeSH, keywords, chemicals stripped); "
          f"{r['queries']} search queries; similar sample {r['similar_sample']} "
          f"(seed {r['seed']}, P@10 relevant at Jaccard >= {r['p_threshold']})")
    print(f"{'system':<24}{'nDCG@10':>9}{'R@100':>8}{'MRR':>8}{'search s':>10}"
          f"{'sim nDCG@10':>13}{'sim P@10':>10}{'similar-all s':>15}")
    for name, s in r["systems"].items():
        sim = s.get("similar")
        print(f"{name:<24}{s['search']['ndcg@10']:>9.4f}{s['search']['recall@100']:>8.4f}"
              f"{s['search']['mrr']:>8.4f}{s['search_seconds']:>10.2f}"
              + (f"{sim['ndcg@10']:>13.4f}{sim['p@10']:>10.4f}{s['similar_all_seconds']:>15.2f}"
                 if sim else ""))
    if r.get("lucene_skipped"):
        print(f"lucene skipped: {r['lucene_skipped']}")
    for t, ok in r.get("targets", {}).items():
        print(f"target {t}: {'met' if ok else 'NOT met'}")
    if "lucene" in r["systems"]:
        o, lu = r["systems"]["opendi"], r["systems"]["lucene"]
        print(f"ratios: search nDCG@10 {o['search']['ndcg@10'] / max(lu['search']['ndcg@10'], 1e-9):.3f}x, "
              f"similar nDCG@10 {o['similar']['ndcg@10'] / max(lu['similar']['ndcg@10'], 1e-9):.3f}x, "
              f"similar-all time {lu['similar_all_seconds'] / max(o['similar_all_seconds'], 1e-9):.2f}x faster")


if __name__ == "__main__":
    main()
