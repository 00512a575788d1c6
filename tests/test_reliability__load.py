"""Two web servers and two schedulers over one PostgreSQL under a stream of conflicting and
non-conflicting actions from another process (issue 7). Asserts the invariants, never timings:
no lost update, no duplicate transition, every 409 correct, every due notice closed once. The
throughput figures in the README come from the same script at 60 s (scripts/loadtest.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import PG_URL

ROOT = Path(__file__).resolve().parent.parent


def test_two_servers_two_schedulers_under_load(pg_url: str) -> None:
    seconds = os.environ.get("ZCFLOW_LOAD_SECONDS", "10")
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "loadtest.py"), "--database", str(PG_URL),
                          "--seconds", seconds, "--rate", "200", "--json"],
                         capture_output=True, text=True, timeout=600, cwd=ROOT)
    # Exit 1 means an invariant failed (the report says which); anything else is a crash.
    assert run.returncode in (0, 1) and run.stdout.strip(), run.stderr[-3000:]
    report = json.loads(run.stdout)
    assert report["problems"] == []
    assert report["statuses"].get(200, report["statuses"].get("200")) and report["pairs"] > 0
    assert set(report["statuses"]) <= {"200", "409"}
    assert set(report["refusals"]) <= {"conflict", "illegal_transition"}
