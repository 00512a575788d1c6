"""Benchmark 3 — memory: the cutoff sweep of benchmark 1 at two sizes (10,000 and 100,000 cases at
full size), each in a fresh subprocess, so that the peak belongs to the sweep alone.

Two figures per size: the process's peak resident set (VmHWM, everything: interpreter, libraries,
SQLite's page cache) and the peak of Python's own allocations during the sweep (tracemalloc, in a
second subprocess because tracing slows everything down). Streamed batches and no per-case
machines mean neither grows with N; the target is the larger size within 1.25× of the smaller.
"""

from __future__ import annotations

import json
import subprocess
import sys

from benchmarks.common import EMPLOYER_CUTOFF, Backend, Figure, Report, compare, peak_rss_mb

BENCH = "3 memory (sweep)"


def child(url: str, mode: str) -> dict[str, float]:
    """Runs in the subprocess: everything imported and connected first, then the sweep measured."""
    import tracemalloc

    from storage.db import make_engine
    from workflow.deadlines import next_due, tick

    db = make_engine(url)
    next_due(db)  # connect, load the policies and the calendar: the fixed cost before the sweep
    before = peak_rss_mb()
    if mode == "traced":
        tracemalloc.start()
    report = tick(db, EMPLOYER_CUTOFF)
    out = {"moved": float(sum(report.expired.values())), "rss_before_mb": before,
           "rss_peak_mb": peak_rss_mb()}
    if mode == "traced":
        out["traced_peak_mb"] = tracemalloc.get_traced_memory()[1] / 1024 / 1024
        tracemalloc.stop()
    db.dispose()
    return out


def measure(backend: Backend, n: int, mode: str) -> dict[str, float]:
    from benchmarks.cutoff import prepare

    url, _event, _reason = prepare(backend, n)
    try:
        done = subprocess.run([sys.executable, "-m", "benchmarks.memory", url, mode], capture_output=True,
                              text=True, check=True)
    finally:
        backend.drop(url)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    if int(result["moved"]) != n:
        raise AssertionError(f"the sweep moved {result['moved']} cases, expected {n}")
    return result


def run(report: Report, backends: list[Backend]) -> None:
    small, large = report.size.memory
    for b in backends:
        figures: dict[tuple[str, int], Figure] = {}
        for n in (small, large):
            rss = measure(b, n, "rss")
            traced = measure(b, n, "traced")
            figures[("rss", n)] = report.add(Figure(
                BENCH, "peak RSS of the sweeping process", b.name, n, rss["rss_peak_mb"], "MB",
                note=f"{rss['rss_before_mb']:.1f} MB before the sweep"))
            figures[("traced", n)] = report.add(Figure(
                BENCH, "peak Python allocations during the sweep (tracemalloc)", b.name, n,
                traced["traced_peak_mb"], "MB"))
        for kind in ("rss", "traced"):
            compare(figures[(kind, large)], figures[(kind, small)], higher_is_better=False, limit=1.25,
                    target=f"≤ 1.25× at {small:,}")
            figures[(kind, large)].versus = f"the same at N = {small:,}"


if __name__ == "__main__":
    print(json.dumps(child(sys.argv[1], sys.argv[2])))
