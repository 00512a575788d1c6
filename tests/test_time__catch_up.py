"""Durable scheduling: after an outage, one tick catches up everything missed, in due order, each at
its own due time; running tick again, or at once in two processes, changes nothing (issue 4)."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from states.vocabulary import Role
from storage import repo
from tests.drive import walk
from tests.filings import filing
from workflow.clock import SHANGHAI
from workflow.deadlines import ensure_schedule, tick
from workflow.engine import Actor, Workflow


def test_three_day_outage_catch_up_applies_missed_events_in_due_order(db: Engine) -> None:
    # Apr 2025: three notices close on 04-10, 04-11 and 04-14 (ends of day); the employer cutoff is the end
    # of 04-14; the scheduler is down from 04-10 to 04-15 09:00.
    wf, a, _ = walk(db, "hz-recognition-2025h1", until="employer_review", serial=1)
    _, b, _ = walk(db, "hz-recognition-2025h1", until="employer_review", serial=2)
    _, c, _ = walk(db, "hz-recognition-2025h1", until="employer_review", serial=3)
    _, d, _ = walk(db, "hz-recognition-2025h1", until="employer_review", serial=4)
    for case_id, day in ((a, 2), (b, 3), (c, 7)):
        wf.fire(case_id, "employer_approve", Actor(Role.employer), dt.datetime(2025, 4, day, 15, tzinfo=SHANGHAI))
    tick(db, dt.datetime(2025, 4, 10, 12, tzinfo=SHANGHAI))  # the last tick before the outage
    report = tick(db, dt.datetime(2025, 4, 15, 9, tzinfo=SHANGHAI))
    assert report.notices_closed == 3 and report.expired["hz-recognition-2025h1:employer"] == 1
    with db.connect() as conn:
        rows = conn.execute(select(repo.history).where(repo.history.c.action.in_(["notice_closed", "expire"]))
                            .order_by(repo.history.c.id)).all()
    got = [(r.case_id, r.action, r.at.astimezone(SHANGHAI).date().isoformat()) for r in rows]
    assert got == [(a, "notice_closed", "2025-04-11"), (b, "notice_closed", "2025-04-12"),
                   (c, "notice_closed", "2025-04-15"), (d, "expire", "2025-04-15")]
    # A second tick (or a tick of another process) finds nothing to do.
    again = tick(db, dt.datetime(2025, 4, 15, 9, tzinfo=SHANGHAI))
    assert again.moved == 0 and again.reminders == 0


def test_two_tick_processes_move_2000_due_cases_exactly_once(pg_url: str) -> None:
    """Two `zcflow tick` processes on PostgreSQL against 2,000 cases whose notices are due and an
    employer cutoff that ends 500 more: every case moves once, no duplicate history rows."""
    from storage.db import make_engine

    db = make_engine(pg_url)
    try:
        _two_processes(db, pg_url)
    finally:
        db.dispose()


def _two_processes(db: Engine, pg_url: str) -> None:
    ensure_schedule(db, ["hz-recognition-2025h1"])
    wf = Workflow(db)
    approve = dt.datetime(2025, 4, 2, 15, tzinfo=SHANGHAI)
    submit = dt.datetime(2025, 3, 20, 10, tzinfo=SHANGHAI)
    for i in range(2500):
        case_id = wf.create_case("hz-recognition-2025h1", filing("hz-recognition-2025h1", serial=i), submit)
        wf.fire(case_id, "submit", Actor(Role.applicant), submit)
        if i < 2000:
            wf.fire(case_id, "employer_approve", Actor(Role.employer), approve)
    at = "2025-04-15T09:00:00+08:00"
    procs = [subprocess.Popen([sys.executable, "-m", "workflow.cli", "tick", "--at", at, "--json",
                               "--database", pg_url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    with db.connect() as conn:
        counts = dict(conn.execute(select(repo.history.c.action, func.count()).where(
            repo.history.c.action.in_(["notice_closed", "expire"])).group_by(repo.history.c.action)).all())
        dupes = conn.execute(select(repo.history.c.case_id).where(repo.history.c.action.in_(
            ["notice_closed", "expire"])).group_by(repo.history.c.case_id).having(func.count() > 1)).all()
        states = dict(conn.execute(select(repo.cases.c.state, func.count()).group_by(repo.cases.c.state)).all())
    assert counts == {"notice_closed": 2000, "expire": 500}
    assert dupes == []
    assert states == {"management_review": 2000, "expired": 500}
