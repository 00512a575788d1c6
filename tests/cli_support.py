"""Run the real `zcflow` entry point in-process (workflow.cli.main registers every command group)."""

from __future__ import annotations

import sys

import pytest

from workflow import cli


def zcflow(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `zcflow ARGS`."""
    monkeypatch.setattr(sys, "argv", ["zcflow", *args])
    try:
        cli.main()
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err
