"""Durable timers (issue 7; Temporal's anchor): the due times live in the database, and the scheduler
wakes exactly when the next one falls due, by the zcflow clock — also when that clock is shifted,
as `zcflow demo` and ZCFLOW_NOW shift it (workflow/clock.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.engine import Engine

from tests.drive import walk
from workflow import clock
from workflow.clock import SHANGHAI
from workflow.deadlines import next_due
from workflow.scheduler import make_scheduler


def wake_up_after_a_tick(db: Engine) -> tuple[dt.datetime, dt.datetime]:
    """Run the scheduler's tick job once; return (next due time by the zcflow clock, the wall-clock
    time APScheduler will wake at)."""
    sched = make_scheduler(db, scheduler_class=BackgroundScheduler)
    sched.get_job("tick").func()
    wake = next_due(db)
    job = sched.get_job("next-due")
    assert wake is not None and job is not None
    return wake, job.trigger.run_date


def test_a_shifted_clock_wakes_the_scheduler_at_the_shifted_due_time(db: Engine,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    walk(db, "hz-recognition-2025h1", until="employer_notice")
    monkeypatch.setattr(clock, "_offset", dt.timedelta(0))
    clock.set_now(dt.datetime(2025, 3, 21, 9, tzinfo=SHANGHAI))  # the demo's kind of shift: into the past
    shift = clock.now() - dt.datetime.now(dt.UTC)
    assert abs(shift) > dt.timedelta(days=1)
    wake, run_date = wake_up_after_a_tick(db)
    # APScheduler keeps wall-clock time: the zcflow clock reaches `wake` at wall time `wake - shift`.
    assert abs(run_date - (wake - shift)) < dt.timedelta(seconds=5)


def test_a_clock_shifted_forward_still_ticks_at_once(db: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "_offset", dt.timedelta(0))
    clock.set_now(clock.now() + dt.timedelta(days=400))
    sched = make_scheduler(db, scheduler_class=BackgroundScheduler)
    first = sched.get_job("tick").next_run_time
    assert abs(first - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)
