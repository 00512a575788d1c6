"""The demo survives Ctrl-C (CONTRACT §8: "Ctrl-C stops it; nothing is lost"; issue 7).

SIGINT — what Ctrl-C sends — reaches `zcflow scheduler`, `zcflow tick` and `zcflow demo` over a
SQLite file holding the demo round, at several moments: while starting, right after starting (its
first tick and outbox delivery running), while idle, in the middle of a tick's sweep. Each time the
process ends cleanly (exit 0 or 130, no traceback), every case is still there, and every case's
history is whole (version == history rows - 1, the chain replays to the state).
"""

from __future__ import annotations

import json
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import and_, select
from sqlalchemy.engine import Engine

from storage import repo
from storage.db import make_engine
from storage.migrate import current, upgrade
from tests.reliability import (
    as_from_a_terminal,
    consistency_problems,
    count,
    free_port,
    no_traceback,
    output,
    poll,
    seed_submitted,
    start,
    stop,
    zcflow,
    zcflow_env,
)
from workflow import deadlines
from workflow.deadlines import ensure_schedule, tick
from workflow.demo import DEMO_AS_OF, load_demo

AFTER_CUTOFF = "2025-04-15T09:00:00+08:00"  # the demo round's employer cutoff has passed: work to do
CLEAN_EXITS = (0, 130)


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo round (workflow/demo.py), loaded once into a SQLite file."""
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    db = make_engine(f"sqlite:///{path}")
    try:
        load_demo(db, DEMO_AS_OF)
    finally:
        db.dispose()
    return path


def copy_of(demo_file: Path, here: Path) -> tuple[Engine, str, int]:
    """A copy of the demo database (through SQLite's backup API, so that nothing in its WAL is
    left behind); returns an engine, its URL and how many cases it holds."""
    target = here / "zcflow-demo.db"
    with sqlite3.connect(demo_file) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()
    url = f"sqlite:///{target}"
    db = make_engine(url)
    return db, url, count(db, repo.cases)


def assert_nothing_lost(db: Engine, cases: int) -> None:
    assert count(db, repo.cases) == cases
    assert consistency_problems(db) == []


def assert_clean_exit(code: int, log: Path) -> None:
    out, err = output(log)
    assert code in CLEAN_EXITS, (code, err[-3000:])
    assert no_traceback(err) and no_traceback(out), err[-3000:]


def employer_cutoff_done(db: Engine) -> bool:
    e = repo.scheduled_events
    with db.connect() as conn:
        done = conn.execute(select(e.c.done_at).where(and_(
            e.c.policy_id == "hz-recognition-2025h1", e.c.kind == "cutoff", e.c.name == "employer"))).scalar()
    return done is not None


def finish_and_check(db: Engine, url: str, cases: int, here: Path) -> None:
    """What the interrupted process left undone, a tick does; then every promise holds."""
    done = zcflow("tick", "--at", AFTER_CUTOFF, "--database", url, "--json", cwd=here)
    assert done.returncode == 0, done.stderr
    assert employer_cutoff_done(db)
    assert_nothing_lost(db, cases)
    again = zcflow("tick", "--at", AFTER_CUTOFF, "--database", url, "--json", cwd=here)
    assert json.loads(again.stdout) == {"notices_closed": 0, "expired": {}, "reminders": 0, "events": []}


def test_ctrl_c_right_after_the_scheduler_starts(demo_file: Path, tmp_path: Path) -> None:
    """As soon as its first tick has moved a case: that tick and the outbox delivery are under way.
    (The real clock: every due time of the demo's 2025 rounds has passed.)"""
    db, url, cases = copy_of(demo_file, tmp_path)
    moves = count(db, repo.history)
    log = tmp_path / "scheduler"
    proc = start("scheduler", "--database", url, log=log, cwd=tmp_path)
    try:
        poll(lambda: count(db, repo.history) > moves, timeout=60, every=0.002, proc=proc, log=log,
             what="the first tick to move a case")
    finally:
        code = stop(proc, signal.SIGINT)
    assert_clean_exit(code, log)
    assert_nothing_lost(db, cases)
    finish_and_check(db, url, cases, tmp_path)
    db.dispose()


def test_ctrl_c_on_an_idle_scheduler(demo_file: Path, tmp_path: Path) -> None:
    db, url, cases = copy_of(demo_file, tmp_path)
    log = tmp_path / "scheduler"
    proc = start("scheduler", "--database", url, log=log, cwd=tmp_path)
    try:
        poll(lambda: employer_cutoff_done(db) and "delivery:" in output(log)[1], timeout=60, every=0.05, proc=proc,
             log=log, what="the first tick and delivery")
    finally:
        code = stop(proc, signal.SIGINT)
    assert_clean_exit(code, log)
    assert_nothing_lost(db, cases)
    db.dispose()


# `python -c` in the child: Ctrl-C arrives exactly while APScheduler submits the scheduler's first job.
CTRL_C_WHILE_SUBMITTING = """
import os, signal, sys
from apscheduler.executors.pool import BasePoolExecutor
submit = BasePoolExecutor._do_submit_job
def interrupted(self, job, run_times):
    BasePoolExecutor._do_submit_job = submit
    os.kill(os.getpid(), signal.SIGINT)
    return submit(self, job, run_times)
BasePoolExecutor._do_submit_job = interrupted
sys.argv = ["zcflow", "scheduler", "--database", sys.argv[1]]
from workflow.cli import main
main()
"""


def created(path: Path) -> str:
    """The URL of a new, migrated SQLite database at `path` (commands other than init, demo and
    simulate refuse a file that does not exist)."""
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return f"sqlite:///{path}"


def test_ctrl_c_while_apscheduler_submits_a_job_still_stops_the_scheduler(tmp_path: Path) -> None:
    log = tmp_path / "scheduler"
    with log.with_suffix(".out").open("wb") as out, log.with_suffix(".err").open("wb") as err:
        proc = subprocess.Popen([sys.executable, "-c", CTRL_C_WHILE_SUBMITTING, created(tmp_path / "z.db")],
                                cwd=tmp_path, env=zcflow_env(), stdout=out, stderr=err, preexec_fn=as_from_a_terminal)
    try:
        poll(lambda: proc.poll() is not None, timeout=8, every=0.05, what="the scheduler to stop after Ctrl-C")
        assert_clean_exit(proc.returncode, log)
    finally:
        stop(proc, signal.SIGKILL)


def test_ctrl_c_in_the_middle_of_a_tick_keeps_whole_batches(demo_file: Path, tmp_path: Path) -> None:
    """`zcflow tick` interrupted mid-sweep: the batch in flight rolls back, those before it stay;
    the next tick moves the rest, each case once."""
    db, url, cases = copy_of(demo_file, tmp_path)
    n = 40_000
    seed_submitted(db, n, prefix="S")
    ensure_schedule(db)
    watcher = sqlite3.connect(tmp_path / "zcflow-demo.db", timeout=30)

    def expired() -> int:  # by the 2025-04-14 employer cutoff: the seeded cases and the demo's own
        return int(watcher.execute("SELECT count(*) FROM history WHERE action = 'expire' "
                                   "AND reason LIKE '%2025-04-14%cutoff employer passed%'").fetchone()[0])

    log = tmp_path / "tick"
    target = random.randint(1, 4) * deadlines.BATCH  # a different moment each run; it is printed
    proc = start("tick", "--at", AFTER_CUTOFF, "--database", url, log=log, cwd=tmp_path)
    try:
        poll(lambda: expired() >= target, timeout=60, proc=proc, log=log, what=f"the sweep to expire {target}")
    finally:
        code = stop(proc, signal.SIGINT)
    kill_point = expired()
    watcher.close()
    print(f"Ctrl-C landed with {kill_point} of {n} + the demo's cases expired")
    assert_clean_exit(code, log)
    if kill_point < n:  # it landed mid-sweep (else the sweep ended just before the signal)
        assert code == 130
        assert kill_point % deadlines.BATCH == 0, f"{kill_point} expired is not a number of whole batches"
    assert_nothing_lost(db, cases + n)
    finish_and_check(db, url, cases + n, tmp_path)
    with db.connect() as conn:
        moved = conn.execute(select(repo.history.c.case_id).where(and_(
            repo.history.c.action == "expire", repo.cases.c.id == repo.history.c.case_id,
            repo.cases.c.id_number.like("S%")))).all()
    assert len(moved) == len({m.case_id for m in moved}) == n
    db.dispose()


def http_ok(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as r:
            return bool(r.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def test_ctrl_c_on_zcflow_demo(demo_file: Path, tmp_path: Path) -> None:
    """The whole demo (scheduler, and the admin UI when this build has it) over its kept data."""
    db, url, cases = copy_of(demo_file, tmp_path)
    port = free_port()
    log = tmp_path / "demo"
    proc = start("demo", "--port", str(port), "--database", url, log=log, cwd=tmp_path)
    try:
        poll(lambda: http_ok(port) or "scheduler running" in output(log)[0], timeout=90, every=0.1, proc=proc,
             log=log, what="the demo to serve")
    finally:
        code = stop(proc, signal.SIGINT)
    assert_clean_exit(code, log)
    assert "stopped; every case is kept" in output(log)[0]
    assert_nothing_lost(db, cases)
    db.dispose()


def test_ctrl_c_while_a_new_database_is_being_created(tmp_path: Path) -> None:
    """Interrupted while `zcflow init` creates the schema: the next `zcflow init` still succeeds."""
    path = tmp_path / "zcflow.db"
    log = tmp_path / "init"
    proc = start("init", "--database", f"sqlite:///{path}", log=log, cwd=tmp_path)
    try:
        poll(lambda: path.exists() or proc.poll() is not None, timeout=60, every=0.001, what="the database file")
    finally:
        code = stop(proc, signal.SIGINT)
    assert_clean_exit(code, log)
    again = zcflow("init", "--database", f"sqlite:///{path}", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    db = make_engine(f"sqlite:///{path}")
    try:
        assert current(db) is not None
        tick(db, deadlines.at_hour(DEMO_AS_OF.date()))
    finally:
        db.dispose()


def test_ctrl_c_while_the_process_starts(tmp_path: Path) -> None:
    log = tmp_path / "scheduler"
    # PYTHONPROFILEIMPORTTIME reports each import as it completes: the signal lands mid-import.
    proc = start("scheduler", "--database", created(tmp_path / "z.db"), log=log, cwd=tmp_path,
                 PYTHONPROFILEIMPORTTIME="1")
    try:
        # Any nesting depth: where states.calendar sits in the import tree depends on who imports it first.
        poll(lambda: re.search(r"\|\s+states\.calendar$", output(log)[1], re.M) is not None, timeout=30,
             every=0.001, proc=proc, log=log, what="zcflow's own modules to be imported")
    finally:
        code = stop(proc, signal.SIGINT)
    assert_clean_exit(code, log)


def test_ctrl_c_does_not_wait_for_the_whole_outbox(tmp_path: Path) -> None:
    """5,000 expired cases leave 20,000 notifications to deliver; Ctrl-C must not wait for them all."""
    url = f"sqlite:///{tmp_path / 'zcflow.db'}"
    db = make_engine(url)
    from storage.migrate import upgrade

    upgrade(db)
    seed_submitted(db, 5000)
    ensure_schedule(db)
    tick(db, deadlines.at_hour(DEMO_AS_OF.date().replace(month=4, day=15)))
    log = tmp_path / "scheduler"
    proc = start("scheduler", "--database", url, log=log, cwd=tmp_path, ZCFLOW_NOW=AFTER_CUTOFF)
    try:
        poll(lambda: count(db, repo.notifications, repo.notifications.c.status == "sent") > 0, timeout=60,
             every=0.05, proc=proc, log=log, what="delivery to start")
        proc.send_signal(signal.SIGINT)
        started = time.monotonic()
        poll(lambda: proc.poll() is not None, timeout=5, every=0.05, what="the scheduler to stop after Ctrl-C")
        assert time.monotonic() - started < 5
    finally:
        stop(proc, signal.SIGKILL)
        db.dispose()
