"""Benchmark 5 — a generated round end to end, exactly as a user runs it:
`zcflow simulate --generate N --policy hz-recognition-2025h1 --seed 1 --quiet` in a subprocess
(generate the applicants, write and validate the scenario, run it through the engine and tick on
a fresh SQLite database, deliver the outbox, check every expectation). Wall time and the process's
peak resident memory (VmHWM); the target is under 60 s for 10,000 applicants.
"""

from __future__ import annotations

import os
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


def run_cli(n: int) -> tuple[float, float, str]:
    """(seconds, peak RSS in MB, the output) of one simulated round of `n` applicants."""
    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory(prefix="zcflow-round-") as tmp:
        peak_file = Path(tmp) / "peak"
        cmd = [sys.executable, "-c", _WRAPPER, str(peak_file), "simulate", "--generate", str(n), "--policy", POLICY,
               "--seed", "1", "--quiet"]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
        t0 = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp, env=env)
        seconds = time.perf_counter() - t0
        if done.returncode != 0:
            raise AssertionError(f"zcflow simulate --generate {n} exited {done.returncode}:\n{done.stdout[-2000:]}"
                                 f"{done.stderr[-2000:]}")
        return seconds, float(peak_file.read_text()), done.stdout


def run(report: Report, backends: list[Backend]) -> None:
    n = report.size.round
    seconds, peak, text = run_cli(n)
    fig = report.add(Figure(BENCH, f"zcflow simulate --generate {n} (wall time)", "sqlite", n, seconds, "s"))
    if n >= 10_000:
        fig.target, fig.met = "< 60 s", seconds < 60
    report.add(Figure(BENCH, "peak RSS of that process", "sqlite", n, peak, "MB"))
    summary = next((line for line in text.splitlines() if line.startswith("cases:")), "")
    if summary:
        report.notes.append(f"generated round of {n:,}: {summary}")
