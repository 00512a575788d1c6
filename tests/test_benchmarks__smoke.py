"""The benchmark command runs, at its tiny size, and produces every row (issue 9).

No timing is asserted: the figures only mean something at full size on a quiet machine. This test
keeps `python -m benchmarks` from rotting: every benchmark, every backend the suite runs on.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# (benchmark, measurement) rows every run prints, per database backend ("none" for the ones without).
EXPECTED = {
    ("1 cutoff sweep", "raw set-based SQL, one transaction"),
    ("1 cutoff sweep", "zcflow tick (batched sweep)"),
    ("2 single actions", "raw SQL, 4 statements per transaction"),
    ("2 single actions", "zcflow Workflow.fire"),
    ("2 single actions", "naive: Machine + ORM object per case"),
    ("2 single actions", "zcflow Workflow.fire (durable transaction) vs SpiffWorkflow"),
    ("3 memory (sweep)", "peak RSS of the sweeping process"),
    ("3 memory (sweep)", "peak Python allocations during the sweep (tracemalloc)"),
    ("4 dashboard", "counts per stage for a policy"),
    ("4 dashboard", "cases at risk before the next cutoff (employer)"),
    ("4 dashboard", "50 overdue cases for a district"),
    ("4 dashboard", "search by name"),
    ("4 dashboard", "search by ID number"),
    ("6 amendment", "raw set-based SQL, one transaction"),
    ("6 amendment", "zcflow policy import (延期 a week)"),
    ("7 calendar import", "raw set-based SQL, one transaction"),
    ("7 calendar import", "zcflow calendar import (provisional → official)"),
}
WITHOUT_DATABASE = {
    ("2 single actions", "SpiffWorkflow 6-task BPMN: load JSON, complete task, save JSON"),
    ("2 single actions", "zcflow engine step: decode row, decide, encode writes"),
}
POSTGRES_ONLY = {("2 single actions", "raw SQL, read + 1 CTE statement")}


@pytest.mark.filterwarnings("ignore")
def test_every_benchmark_produces_its_rows() -> None:
    pytest.importorskip("SpiffWorkflow", reason="the benchmarks compare with SpiffWorkflow (pip install SpiffWorkflow)")
    env = dict(os.environ)
    pg = env.get("ZCFLOW_TEST_DATABASE_URL")
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--size", "tiny", "--json"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    rows = {(f["bench"], f["name"], f["backend"]) for f in report["figures"]}
    backends = ["sqlite", *(["postgresql"] if pg else [])]
    wanted = {(b, name, backend) for b, name in EXPECTED for backend in backends}
    wanted |= {(b, name, "none") for b, name in WITHOUT_DATABASE}
    wanted |= {(b, name, "postgresql") for b, name in POSTGRES_ONLY if pg}
    wanted |= {("5 generated round", "zcflow simulate --generate 25 (wall time)", "sqlite"),
               ("5 generated round", "peak RSS of that process", "sqlite"),
               ("5 generated round", "CPU time of that process (user + system)", "sqlite"),
               ("5 generated round", "marginal wall time per case (10 → 25 applicants)", "sqlite")}
    assert wanted <= rows, sorted(wanted - rows)
    for f in report["figures"]:
        # a margin between two tiny rounds can be nothing at all; every other figure is a real quantity
        assert f["value"] > 0 or (f["name"].startswith("marginal") and f["value"] == 0), f
        assert f["met"] is None or isinstance(f["met"], bool), f
    assert report["machine"]["cpus"] >= 1
