"""Benchmark 5 — a generated round end to end, exactly as a user runs it:
`zcflow simulate --generate N --policy hz-recognition-2025h1 --seed 1 --quiet` in a subprocess
(generate the applicants, write and validate the scenario, run it through the engine and tick on
a fresh SQLite database, deliver the outbox, check every expectation). Wall time, the process's CPU
time (user + system: what the round costs, less disturbed than the wall clock when other work
shares the machine) and its peak resident memory (VmHWM). The targets: under 30 s and 300 MB for
10,000 applicants. The marginal cost per case is the difference between the round and one a tenth
its size, divided by the difference in applicants (the fixed cost of starting up cancels out).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import Backend, Figure, Report

BENCH = "5 generated round"
POLICY = "hz-recognition-2025h1"


# Runs the zcflow CLI in this interpreter and, at exit, writes the process's peak memory to a file.
_WRAPPER = """
import atexit, sys
from benchmarks.common import peak_rss_mb
out = sys.argv.pop(1)
atexit.register(lambda: open(out, "w").write(str(peak_rss_mb())))
from workflow.cli import main
sys.argv[0] = "zcflow"
main()
"""


def run_cli(n: int) -> tuple[float, float, float, str]:
    """(wall seconds, CPU seconds, peak RSS in MB, the output) of one simulated round of `n` applicants."""
    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory(prefix="zcflow-round-") as tmp:
        peak_file = Path(tmp) / "peak"
        cmd = [sys.executable, "-c", _WRAPPER, str(peak_file), "simulate", "--generate", str(n), "--policy", POLICY,
               "--seed", "1", "--quiet"]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp, env=env)
        seconds = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if done.returncode != 0:
            raise AssertionError(f"zcflow simulate --generate {n} exited {done.returncode}:\n{done.stdout[-2000:]}"
                                 f"{done.stderr[-2000:]}")
        return seconds, cpu, float(peak_file.read_text()), done.stdout


def run(report: Report, backends: list[Backend]) -> None:
    n = report.size.round
    small = max(n // 10, 10)
    small_wall, small_cpu, _, _ = run_cli(small)
    seconds, cpu, peak, text = run_cli(n)
    full = n >= 10_000
    fig = report.add(Figure(BENCH, f"zcflow simulate --generate {n} (wall time)", "sqlite", n, seconds, "s"))
    if full:
        fig.target, fig.met = "< 30 s", seconds < 30
    report.add(Figure(BENCH, "CPU time of that process (user + system)", "sqlite", n, cpu, "s"))
    fig = report.add(Figure(BENCH, "peak RSS of that process", "sqlite", n, peak, "MB"))
    if full:
        fig.target, fig.met = "< 300 MB", peak < 300
    for what, big, little in (("wall", seconds, small_wall), ("CPU", cpu, small_cpu)):
        margin = max(big - little, 0.0) / (n - small) * 1000
        fig = report.add(Figure(BENCH, f"marginal {what} time per case ({small:,} → {n:,} applicants)", "sqlite",
                                n, margin, "ms"))
        if full and what == "wall":
            fig.target, fig.met = "≤ 3 ms", margin <= 3
    summary = next((line for line in text.splitlines() if line.startswith("cases:")), "")
    if summary:
        report.notes.append(f"generated round of {n:,}: {summary}")
