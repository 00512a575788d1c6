"""Crash safety: `zcflow scheduler` killed with SIGKILL in the middle of a 50,000-case cutoff sweep
loses nothing and does nothing twice (issue 7; CONTRACT §4, §7).

Each sweep batch (workflow/deadlines.BATCH cases) is one transaction: the state change, the history
rows and the `expired` notifications commit together or not at all, like Camunda's job executor that
commits the job with the state change. A process killed mid-batch leaves the batches before it
committed and the one it was in rolled back; a restarted scheduler (or `zcflow tick`) carries on, and
every case moves exactly once, with one history row and one `expired` notification.
"""

from __future__ import annotations

import json
import random
import signal
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Row, and_, func, select
from sqlalchemy.engine import Engine

from storage import repo
from storage.db import make_engine
from storage.migrate import upgrade
from tests.reliability import consistency_problems, count, poll, seed_submitted, start, stop, zcflow
from workflow import deadlines
from workflow.deadlines import ensure_schedule

POLICY = "hz-recognition-2025h1"
N = 50_000
# After the employer cutoff (end of 2025-04-14, seed 001 §二.2), which ends employer_review.
AFTER_CUTOFF = "2025-04-15T09:00:00+08:00"
# Reminders the seeded cases get before that cutoff: 3 and 1 working days before, and the last approval day.
REMINDERS_PER_CASE = 3
ATTEMPTS = 3  # fresh seeds tried if a sweep finishes before the first kill lands


def seed(db: Engine) -> None:
    upgrade(db)
    seed_submitted(db, N, POLICY)
    ensure_schedule(db)


def employer_cutoff(db: Engine) -> Row[Any]:
    with db.connect() as conn:
        return conn.execute(select(repo.scheduled_events).where(and_(
            repo.scheduled_events.c.policy_id == POLICY, repo.scheduled_events.c.name == "employer",
            repo.scheduled_events.c.kind == "cutoff"))).one()


def assert_whole_batches(db: Engine, expired: int) -> None:
    """After a kill: what committed is whole batches, each with its history and outbox rows."""
    history = count(db, repo.history, repo.history.c.action == "expire")
    notes = count(db, repo.notifications, repo.notifications.c.template == "expired")
    assert (history, notes) == (expired, expired)
    assert expired % deadlines.BATCH == 0, f"{expired} expired is not a number of whole batches"


def crash_and_recover(db: Engine, expired_now: Callable[[], int], args: list[str], here: Path) -> list[int]:
    """Start the scheduler, SIGKILL it mid-sweep; restart it and kill it again mid-sweep if the
    sweep is still running; restart it, let it finish and kill it once more. Returns the kill
    points (cases expired when each kill landed mid-sweep)."""
    env = {"ZCFLOW_NOW": AFTER_CUTOFF}
    kills: list[int] = []
    rng = random.Random()  # a different kill point each run; the points are printed
    for round_no in (1, 2):
        log = here / f"scheduler-{round_no}"
        proc = start("scheduler", *args, log=log, cwd=here, **env)
        target = min(N, (kills[-1] if kills else 0) + rng.randint(1, 4) * deadlines.BATCH)
        try:
            poll(lambda target=target: expired_now() >= target, timeout=45, proc=proc, log=log,  # type: ignore[misc]
                 what=f"the sweep to commit {target} cases (round {round_no})")
        finally:
            code = stop(proc, signal.SIGKILL)
        assert code == -signal.SIGKILL
        expired = expired_now()
        if expired == N:
            break  # the sweep ended between the poll and the kill: nothing left to interrupt
        assert_whole_batches(db, expired)
        kills.append(expired)
    log = here / "scheduler-final"
    proc = start("scheduler", *args, log=log, cwd=here, **env)
    try:
        poll(lambda: expired_now() == N and employer_cutoff(db).done_at is not None,
             timeout=60, every=0.05, proc=proc, log=log, what="the restarted scheduler to finish the sweep")
    finally:
        # Killed again rather than interrupted: its delivery job may be working through the outbox
        # backlog the sweep wrote, and Ctrl-C waits for that (test_reliability__interrupt.py).
        stop(proc, signal.SIGKILL)
    # A tick after recovery finds nothing left to do (idempotent, CONTRACT §4).
    done = zcflow("tick", "--at", AFTER_CUTOFF, "--json", *args, cwd=here)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"notices_closed": 0, "expired": {}, "reminders": 0, "events": []}
    return kills


def assert_each_case_moved_once(db: Engine) -> None:
    h, n = repo.history, repo.notifications
    with db.connect() as conn:
        c = repo.cases
        states: dict[str, int] = dict(conn.execute(select(c.c.state, func.count()).group_by(c.c.state)).all())
        versions: dict[int, int] = dict(conn.execute(select(c.c.version, func.count()).group_by(c.c.version)).all())
        moves = conn.execute(select(h.c.from_state, h.c.to_state, func.count(), func.count(h.c.case_id.distinct()))
                             .where(h.c.action == "expire").group_by(h.c.from_state, h.c.to_state)).all()
        templates = {t: (total, distinct) for t, total, distinct in conn.execute(
            select(n.c.template, func.count(), func.count(n.c.case_id.distinct())).group_by(n.c.template))}
    assert states == {"expired": N}
    assert versions == {2: N}
    assert [tuple(m) for m in moves] == [("employer_review", "expired", N, N)]
    assert set(templates) == {"expired", "deadline_reminder"}
    assert templates["expired"] == (N, N)
    assert templates["deadline_reminder"] == (REMINDERS_PER_CASE * N, N)
    cutoff = employer_cutoff(db)
    assert cutoff.done_at == cutoff.due_at
    assert consistency_problems(db) == []


def test_scheduler_killed_mid_sweep_on_postgresql_moves_every_case_once(pg_url: str, tmp_path: Path) -> None:
    db = make_engine(pg_url)
    try:
        kills: list[int] = []
        for _attempt in range(ATTEMPTS):
            seed(db)

            def expired_now() -> int:
                return count(db, repo.cases, repo.cases.c.policy_id == POLICY, repo.cases.c.state == "expired")

            here = tmp_path / f"attempt-{_attempt}"
            here.mkdir()
            kills = crash_and_recover(db, expired_now, ["--database", pg_url], here)
            if kills:
                break
            with db.begin() as conn:  # the sweep outran the kill: start again from a fresh round
                conn.exec_driver_sql("SET LOCAL session_replication_role = replica")  # past history's guard
                conn.exec_driver_sql("TRUNCATE history, notifications, bars, cases, applicants, scheduled_events "
                                     "RESTART IDENTITY CASCADE")
        assert kills, f"no kill landed mid-sweep in {ATTEMPTS} attempts"
        print(f"SIGKILL landed mid-sweep with {kills} of {N} cases expired")
        assert all(0 < k < N for k in kills)
        assert_each_case_moved_once(db)
    finally:
        db.dispose()


def test_scheduler_killed_mid_sweep_on_the_default_sqlite_file_moves_every_case_once(tmp_path: Path) -> None:
    """The demo path: `zcflow scheduler` with no --database, over ./zcflow.db."""
    kills: list[int] = []
    for attempt in range(ATTEMPTS):
        here = tmp_path / f"attempt-{attempt}"
        here.mkdir()
        db = make_engine(f"sqlite:///{here / 'zcflow.db'}")
        seed(db)
        watcher = sqlite3.connect(here / "zcflow.db", timeout=30)
        try:
            def expired_now(watcher: sqlite3.Connection = watcher) -> int:
                found = watcher.execute("SELECT count(*) FROM cases WHERE policy_id = ? AND state = 'expired'",
                                        (POLICY,)).fetchone()
                return int(found[0])

            kills = crash_and_recover(db, expired_now, [], here)
            if kills:
                assert_each_case_moved_once(db)
                break
        finally:
            watcher.close()
            db.dispose()
    assert kills, f"no kill landed mid-sweep in {ATTEMPTS} attempts"
    print(f"SIGKILL landed mid-sweep with {kills} of {N} cases expired")
    assert all(0 < k < N for k in kills)
