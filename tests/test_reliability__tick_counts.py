"""What tick reports and records about its work stays true on every backend and across a crash: the
reminders it sent, and how many cases each cutoff expired (`scheduled_events.affected`), which an
operator reads to audit a round (`zcflow tick --json`, the scheduler's log)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine

from storage import repo
from tests.drive import walk
from workflow import deadlines
from workflow.clock import SHANGHAI
from workflow.deadlines import tick

POLICY = "hz-recognition-2025h1"
AFTER_CUTOFF = dt.datetime(2025, 4, 15, 9, tzinfo=SHANGHAI)  # the employer cutoff ended 2025-04-14


def reminder_rows(db: Engine) -> int:
    with db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(repo.notifications).where(
            repo.notifications.c.template == "deadline_reminder")).scalar_one())


def recorded(db: Engine, kind: str, name: str | None = None) -> int:
    e = repo.scheduled_events
    stmt = select(func.coalesce(func.sum(e.c.affected), 0)).where(e.c.kind == kind, e.c.done_at.is_not(None))
    if name is not None:
        stmt = stmt.where(e.c.name == name, e.c.policy_id == POLICY)
    with db.connect() as conn:
        return int(conn.execute(stmt).scalar_one())


def test_tick_reports_and_records_the_reminders_it_sends(db: Engine) -> None:
    for serial in (1, 2, 3):
        walk(db, POLICY, until="employer_review", serial=serial)
    report = tick(db, dt.datetime(2025, 4, 11, 10, tzinfo=SHANGHAI))  # three reminders are due by then
    sent = reminder_rows(db)
    assert sent == 9  # 3 cases × (last approval day, 3 and 1 working days before the employer cutoff)
    assert report.reminders == sent
    assert recorded(db, "reminder") == sent


class Crash(RuntimeError):
    pass


def test_a_cutoff_records_every_case_it_expired_even_when_its_sweep_was_interrupted(
        db: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches of 2; the process dies while writing the second batch's history (the batch rolls
    back); the next tick finishes the sweep. The cutoff must record all 5 cases, not the last 3."""
    for serial in range(5):
        walk(db, POLICY, until="employer_review", serial=serial)
    monkeypatch.setattr(deadlines, "BATCH", 2)
    writes = 0

    def die_on_second_batch(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        nonlocal writes
        if "INSERT INTO history" in statement and "cutoff employer passed" in str(parameters):
            writes += 1
            if writes == 2:
                raise Crash("the process died here")

    event.listen(db, "before_cursor_execute", die_on_second_batch)
    try:
        with pytest.raises(Crash):
            tick(db, AFTER_CUTOFF)
    finally:
        event.remove(db, "before_cursor_execute", die_on_second_batch)
    with db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(repo.cases).where(
            repo.cases.c.state == "expired")).scalar_one() == 2  # the first batch committed, the second did not
    tick(db, AFTER_CUTOFF)
    with db.connect() as conn:
        c = repo.cases
        states: dict[str, int] = dict(conn.execute(select(c.c.state, func.count()).group_by(c.c.state)).all())
    assert states == {"expired": 5}
    assert recorded(db, "cutoff", "employer") == 5


def test_a_sweep_leaves_its_connection_checkpointing_as_it_found_it(db: Engine) -> None:
    """SQLite: the sweep checkpoints once, at its end (storage.db.checkpoint_once); the pooled
    connection it used goes back to SQLite's default of a checkpoint every 1,000 pages."""
    if db.dialect.name != "sqlite":
        pytest.skip("a SQLite setting")
    for serial in range(3):
        walk(db, POLICY, until="employer_review", serial=serial)
    tick(db, AFTER_CUTOFF)
    with db.connect() as conn:
        raw: Any = conn.connection.dbapi_connection
        assert raw.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
    assert recorded(db, "cutoff", "employer") == 3
