"""Findings: a database outage was a traceback (the API a plain-text 500, the CLI 74–154 lines and
exit 1, the scheduler a traceback every 3 s), the same for a corrupt SQLite file; and a mistyped
SQLite path (or a path in a missing directory) silently created a new empty database. Now: one
line naming the database with its password masked (CLI exit 2), 503 JSON with Retry-After, a
Chinese error page, the scheduler one line per failure with backoff and one on recovery; and only
`zcflow init`, `demo` and `simulate` create a database."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from storage.db import make_engine
from tests.cli_support import zcflow
from tests.web_support import csrf_of
from workflow.scheduler import MAX_BACKOFF, Backoff
from workflow.web import create_app

DOWN_URL = "postgresql://zc:s3cretpw@127.0.0.1:1/zcflow"  # nothing listens on port 1


def corrupt(tmp_path: Path) -> Path:
    path = tmp_path / "corrupt.db"
    path.write_bytes(b"this is not a database at all " * 200)
    return path


def foreign(tmp_path: Path) -> Path:
    path = tmp_path / "foreign.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER)")
    return path


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize("command", [["cases"], ["tick"], ["user", "list"], ["export", "-"]])
def test_the_cli_says_one_line_naming_the_database_password_masked(
        command: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = zcflow(monkeypatch, capsys, *command, "--database", DOWN_URL)
    line = one_line(err)
    assert code == 2
    assert line.startswith("error [database_unavailable]: database postgresql+psycopg://zc:***@127.0.0.1:1/zcflow "
                           "is unavailable: ")
    assert "s3cretpw" not in err


@pytest.mark.parametrize(("make", "cause"), [(corrupt, "file is not a database"),
                                             (foreign, "not a zcflow database (it holds other tables: invoices)")])
def test_a_corrupt_or_foreign_sqlite_file_gets_the_same(make: object, cause: str, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    before = path.read_bytes()
    code, _, err = zcflow(monkeypatch, capsys, "cases", "--database", f"sqlite:///{path}")
    assert code == 2
    assert one_line(err) == f"error [database_unavailable]: database sqlite:///{path} is unavailable: {cause}"
    if make is corrupt:
        assert path.read_bytes() == before  # nothing was written into it
    else:
        with sqlite3.connect(path) as conn:  # no zcflow table was added to someone else's database
            assert conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall() == [("invoices",)]


def test_a_missing_file_or_directory_is_refused_not_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "zcfow.db"  # a typo
    code, _, err = zcflow(monkeypatch, capsys, "cases", "--database", f"sqlite:///{missing}")
    assert (code, one_line(err)) == (2, f"error: --database: {missing} does not exist (create it with `zcflow init`)")
    nested = tmp_path / "nowhere" / "zcflow.db"
    code, _, err = zcflow(monkeypatch, capsys, "user", "add", "x", "--role", "admin", "--password",
                          "correct horse 42", "--database", f"sqlite:///{nested}")
    assert code == 2 and one_line(err).startswith(f"error: --database: directory {nested.parent} does not exist")
    assert not missing.exists() and not nested.parent.exists()
    # `zcflow init` creates it (and its directory); then the other commands open it.
    assert zcflow(monkeypatch, capsys, "init", "--database", f"sqlite:///{nested}")[0] == 0
    assert nested.exists()
    assert zcflow(monkeypatch, capsys, "cases", "--database", f"sqlite:///{nested}")[0] == 0


def serving_then_down(db: Engine, down: Engine) -> TestClient:
    """An app started over a working database that then becomes unusable."""
    app = create_app(db, secret="x")
    app.state.web.db = down
    return TestClient(app)


def test_the_api_answers_503_json_with_retry_after(db: Engine) -> None:
    client = serving_then_down(db, make_engine(DOWN_URL))
    r = client.post("/api/token", json={"username": "admin", "password": "correct horse 42"})
    assert r.status_code == 503 and r.headers["retry-after"] == "5"
    assert r.json()["error"] == "database_unavailable" and "s3cretpw" not in r.text


def test_pages_show_a_chinese_error_page(db: Engine, tmp_path: Path) -> None:
    client = serving_then_down(db, make_engine(f"sqlite:///{corrupt(tmp_path)}"))
    r = client.post("/login", data={"username": "admin", "password": "correct horse 42",
                                    "csrf_token": csrf_of(client, "/login")})
    assert r.status_code == 503 and r.headers["content-type"].startswith("text/html")
    assert "数据库暂时无法使用" in r.text and "Traceback" not in r.text


def test_the_scheduler_logs_one_line_per_failure_backs_off_and_says_when_it_recovers(
        caplog: pytest.LogCaptureFixture) -> None:
    t = [0.0]
    runs: list[float] = []
    down = [True]

    def job() -> None:
        runs.append(t[0])
        if down[0]:
            raise OperationalError("SELECT 1", {}, Exception("connection refused\nDETAIL: more"))

    guard = Backoff("tick", wall=lambda: t[0])
    caplog.set_level(logging.INFO, logger="zcflow.scheduler")
    for _ in range(15):  # a run every 3 s for 45 s
        guard.run(job)
        t[0] += 3
    assert runs == [0, 3, 9, 18, 36]  # backed off 2, 4, 8, 16 s
    down[0] = False
    t[0] += MAX_BACKOFF
    guard.run(job)
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 6 and all(r.exc_info is None for r in caplog.records)
    assert messages[0] == ("tick failed (1 in a row): database (database) is unavailable: connection refused; "
                           "retrying in 2 s")
    assert messages[-1] == "tick: the database is available again after 5 failed attempts"
