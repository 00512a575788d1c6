"""Usage errors caught by the command-line parser itself (a non-number where a case id goes, an
option out of range, a missing option) exit 2 with a message, never a traceback (CONTRACT §7)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

USAGE_ERRORS = [
    (["case", "act", "abc", "submit", "--as", "applicant"], "case_id"),
    (["serve", "--port", "0"], "--port"),
    (["document", "notice", "--policy", "nope"], "stage"),
    (["cases", "--limit", "0"], "--limit"),
    (["no-such-command"], "no-such-command"),
]


@pytest.mark.parametrize(("args", "named"), USAGE_ERRORS, ids=[" ".join(a) for a, _ in USAGE_ERRORS])
def test_usage_errors_exit_2_with_a_message(args: list[str], named: str, tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "workflow.cli", *args, "--database", f"sqlite:///{tmp_path}/z.db"]
                         if args[0] in ("case", "serve", "cases") else [sys.executable, "-m", "workflow.cli", *args],
                         capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert run.returncode == 2, run.stderr[-2000:]
    assert "Traceback" not in run.stderr
    assert named in run.stderr
