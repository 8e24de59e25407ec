"""Helpers shared by opendi's benchmarks (standard library only).

- locating the shared corpora (``OPENDI_CORPORA`` or ``../shared/corpora`` from the project root),
- fetching the Anserini fat jar (Apache Lucene) from the ``pyserini`` wheel on PyPI, cached in
  ``bench/cache`` (git-ignored, never committed),
- building opendi in release mode,
- running a command N times and measuring the wall time and the peak RSS of the child
  (``os.wait4`` rusage ``ru_maxrss``: the child and the descendants it waited for),
- median / percentile helpers, a plain-text table printer, directory sizes.
"""

from __future__ import annotations

import atexit
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field, asdict
from pathlib import Path
from typing import Iterable, Sequence

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
CACHE_DIR = BENCH_DIR / "cache"
OUT_DIR = BENCH_DIR / "out"

PYSERINI_VERSION = "0.22.1"
ANSERINI_JAR_IN_WHEEL = f"pyserini/resources/jars/anserini-{PYSERINI_VERSION}-fatjar.jar"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- corpora


def corpora_dir() -> Path:
    """The shared corpora: ``$OPENDI_CORPORA``, else ``../shared/corpora`` from the project root."""
    env = os.environ.get("OPENDI_CORPORA")
    d = Path(env) if env else ROOT.parent / "shared" / "corpora"
    if not d.is_dir():
        sys.exit(f"corpora not found at {d} (set OPENDI_CORPORA to the shared corpora folder)")
    return d.resolve()


def corpus_file(rel: str) -> Path:
    p = corpora_dir() / rel
    if not p.is_file():
        sys.exit(f"corpus file not found: {p}")
    return p


# --------------------------------------------------------------------------- peers


def anserini_jar() -> Path:
    """The Anserini fat jar (Lucene 9), downloaded once via ``pip download`` into bench/cache."""
    jar = CACHE_DIR / f"anserini-{PYSERINI_VERSION}-fatjar.jar"
    if jar.is_file():
        return jar
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    wheel = CACHE_DIR / f"pyserini-{PYSERINI_VERSION}-py3-none-any.whl"
    if not wheel.is_file():
        log(f"downloading pyserini=={PYSERINI_VERSION} (for its Anserini jar) into {CACHE_DIR} …")
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", f"pyserini=={PYSERINI_VERSION}",
             "-d", str(CACHE_DIR)],
            check=True,
        )
    with zipfile.ZipFile(wheel) as z, z.open(ANSERINI_JAR_IN_WHEEL) as src:
        tmp = jar.with_suffix(".jar.part")
        with open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst)
        tmp.rename(jar)
    return jar


def java_version() -> str:
    try:
        r = subprocess.run(["java", "-version"], capture_output=True, text=True)
        return (r.stderr or r.stdout).splitlines()[0].strip()
    except (OSError, IndexError):
        return "unknown"


# --------------------------------------------------------------------------- opendi


def build_opendi(skip: bool = False) -> Path:
    """``cargo build --release -p opendi`` from the project root; returns a private copy of
    target/release/opendi, so that a rebuild while a long benchmark runs does not swap the
    binary it measures (it did once: a 5M run's server opened its index with a newer schema)."""
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    if not target.is_absolute():
        target = ROOT / target
    binary = target / "release" / "opendi"
    if not skip:
        log("building opendi (cargo build --release -p opendi) …")
        r = subprocess.run(["cargo", "build", "--release", "-p", "opendi"], cwd=ROOT)
        if r.returncode != 0:
            sys.exit("cargo build --release -p opendi failed")
    if not binary.is_file():
        sys.exit(f"opendi binary not found at {binary}")
    frozen = CACHE_DIR / "bin" / f"opendi-{os.getpid()}"
    frozen.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(binary, frozen)
    atexit.register(frozen.unlink, missing_ok=True)
    return frozen


def opendi_version(binary: Path) -> str:
    r = subprocess.run([str(binary), "--version"], capture_output=True, text=True)
    return r.stdout.strip() or "unknown"


def git_revision() -> str:
    r = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    rev = r.stdout.strip() or "unknown"
    d = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                       capture_output=True, text=True)
    return rev + ("+dirty" if d.stdout.strip() else "")


# --------------------------------------------------------------------------- measuring


@dataclass
class Run:
    """One measured run of a command."""

    argv: list[str]
    wall_s: float
    peak_rss_mb: float  # ru_maxrss of the child (and descendants it waited for), MiB
    user_s: float
    sys_s: float
    returncode: int
    stdout: str = field(repr=False)
    stderr: str = field(repr=False)
    load_before: float = 0.0  # 1-minute load average just before the run
    other_cpu_s: float = 0.0  # CPU time the rest of the machine used during the run (contention)

    def as_json(self) -> dict:
        d = asdict(self)
        d.pop("stdout")
        d.pop("stderr")
        return d


def run_measured(argv: Sequence[str], cwd: Path | None = None, env: dict | None = None,
                 check: bool = True) -> Run:
    """Runs ``argv`` once; wall time, peak RSS, CPU times from ``os.wait4``.

    stdout/stderr go to temporary files (no pipes to drain), so the parent does nothing while the
    child runs and ``wait4`` reaps exactly this child.
    """
    argv = [str(a) for a in argv]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        load = os.getloadavg()[0]
        busy0, _ = _cpu_times()
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        busy1, _ = _cpu_times()
        machine_cpu = (busy1 - busy0) / os.sysconf("SC_CLK_TCK")
        p.returncode = os.waitstatus_to_exitcode(status)  # already reaped: keep Popen quiet
        out.seek(0)
        err.seek(0)
        r = Run(
            argv=argv,
            wall_s=wall,
            peak_rss_mb=ru.ru_maxrss / 1024.0,  # Linux: KiB
            user_s=ru.ru_utime,
            sys_s=ru.ru_stime,
            returncode=p.returncode,
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
            load_before=load,
            other_cpu_s=max(0.0, machine_cpu - ru.ru_utime - ru.ru_stime),
        )
    if check and r.returncode != 0:
        log(f"command failed ({r.returncode}): {' '.join(argv)}\n--- stdout\n{r.stdout[-4000:]}\n"
            f"--- stderr\n{r.stderr[-4000:]}")
        raise SystemExit(f"benchmark command failed: {argv[0]}")
    return r


def _cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)  # idle + iowait
    return sum(v) - idle, sum(v)


def cpu_busy(interval: float = 1.0) -> float:
    """Fraction (0..1) of all CPUs busy over ``interval`` seconds (everything on the machine)."""
    b0, t0 = _cpu_times()
    time.sleep(interval)
    b1, t1 = _cpu_times()
    return (b1 - b0) / max(t1 - t0, 1)


def wait_idle(max_wait: float, threshold: float = 0.15, interval: float = 1.0) -> float:
    """Waits (up to ``max_wait`` s) until the machine is idle: less than ``threshold`` of all CPUs
    busy over ``interval``. Returns the last busy fraction seen (recorded with each run: a
    benchmark on a shared machine means little if something else was using the CPUs)."""
    deadline = time.monotonic() + max_wait
    busy = cpu_busy(interval)
    warned = False
    while busy > threshold and time.monotonic() < deadline:
        if not warned:
            log(f"  waiting for the machine to go idle ({busy:.0%} of CPUs busy) …")
            warned = True
        busy = cpu_busy(interval)
    if busy > threshold:
        log(f"  machine still {busy:.0%} busy after {max_wait:.0f} s: running anyway")
    return busy


def run_n(argv: Sequence[str], n: int, **kw) -> list[Run]:
    return [run_measured(argv, **kw) for _ in range(n)]


def drop_dir(p: Path) -> None:
    shutil.rmtree(p, ignore_errors=True)


def shard_lines(src: Path, out_dir: Path, parts: int) -> Path:
    """Splits a JSONL file into `parts` files of consecutive lines in `out_dir` (kept while
    `src` is unchanged) and returns `out_dir`. Anserini's IndexCollection gives each thread
    whole files: one file is indexed by one thread whatever `-threads` says (measured at 1M
    records: 113.9 s from one file, 78.0 s from two, both with -threads 2)."""
    stamp = out_dir / ".source"
    mark = f"{src} {src.stat().st_size} {src.stat().st_mtime_ns} {parts}"
    if stamp.is_file() and stamp.read_text() == mark:
        return out_dir
    drop_dir(out_dir)
    out_dir.mkdir(parents=True)
    with src.open("rb") as f:
        lines = sum(1 for _ in f)
    per = -(-lines // max(parts, 1))
    with src.open("rb") as f:
        for i in range(max(parts, 1)):
            with (out_dir / f"docs-{i}.jsonl").open("wb") as w:
                for _ in range(per):
                    line = f.readline()
                    if not line:
                        break
                    w.write(line)
    stamp.write_text(mark)
    return out_dir


def dir_size(p: Path) -> int:
    """Bytes on disk of the files under ``p`` (apparent sizes)."""
    total = 0
    for root, _, files in os.walk(p):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_size
            except OSError:
                pass
    return total


# --------------------------------------------------------------------------- statistics


def median(xs: Iterable[float]) -> float:
    xs = list(xs)
    return statistics.median(xs) if xs else float("nan")


def percentile(xs: Iterable[float], q: float) -> float:
    """Linear-interpolated percentile, q in [0, 100] (p50 == median)."""
    xs = sorted(xs)
    if not xs:
        return float("nan")
    if len(xs) == 1:
        return xs[0]
    k = (len(xs) - 1) * q / 100.0
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def p50(xs: Iterable[float]) -> float:
    return percentile(xs, 50)


def p99(xs: Iterable[float]) -> float:
    return percentile(xs, 99)


# --------------------------------------------------------------------------- output


def fmt(v, digits: int = 2) -> str:
    if isinstance(v, float):
        if v != v:  # NaN
            return "-"
        return f"{v:,.{digits}f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def print_table(headers: Sequence[str], rows: Sequence[Sequence], title: str | None = None,
                file=sys.stdout) -> None:
    """A plain-text table: first column left-aligned, the others right-aligned."""
    cells = [[str(h) for h in headers]] + [[fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(r):
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))

    if title:
        print(title, file=file)
    print(line(cells[0]), file=file)
    print("  ".join("-" * w for w in widths), file=file)
    for r in cells[1:]:
        print(line(r), file=file)
    file.flush()


def machine_info() -> dict:
    mem = None
    try:
        with open("/proc/meminfo") as f:
            for l in f:
                if l.startswith("MemTotal:"):
                    mem = round(int(l.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    cpu = None
    try:
        with open("/proc/cpuinfo") as f:
            for l in f:
                if l.startswith("model name"):
                    cpu = l.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu,
        "mem_gib": mem,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "java": java_version(),
    }


def write_json(name: str, data: dict) -> Path:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    p = OUT_DIR / name
    with open(p, "w") as f:
        json.dump(data, f, indent=2, sort_keys=False)
        f.write("\n")
    return p
