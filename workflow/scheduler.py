"""`zcflow scheduler`: APScheduler 3 wakes the engine; the due times live in our own tables.

APScheduler holds no state that matters: its in-memory job store only says "call tick now".
`misfire_grace_time=None` and coalescing mean a wake-up missed while the process was down is run
once at start-up, and `tick(now)` then applies everything that came due meanwhile, in due order.
Several schedulers may run over one PostgreSQL database: tick claims rows with SKIP LOCKED.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Callable

from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy.engine import Engine

from workflow import clock
from workflow.deadlines import TickReport, next_due, tick

log = logging.getLogger("zcflow.scheduler")


def make_scheduler(db: Engine, *, interval_seconds: int = 60,
                   after_tick: Callable[[dt.datetime, TickReport], None] | None = None,
                   scheduler_class: type[BlockingScheduler] = BlockingScheduler) -> BlockingScheduler:
    sched = scheduler_class(timezone=clock.SHANGHAI, job_defaults={
        "misfire_grace_time": None, "coalesce": True, "max_instances": 1})

    def run_tick() -> None:
        now = clock.now()
        report = tick(db, now)
        if report.moved or report.reminders:
            log.info("tick %s: %d notices closed, expired %s, %d reminders", now.isoformat(),
                     report.notices_closed, report.expired, report.reminders)
        if after_tick is not None:
            after_tick(now, report)
        wake = next_due(db)
        if wake is not None and wake > now:
            # Wake exactly at the next due time as well as every interval.
            sched.add_job(run_tick, "date", run_date=wake, id="next-due", replace_existing=True)

    def run_delivery() -> None:
        from notifications.outbox import deliver

        report = deliver(db, clock.now())
        if report.claimed:
            log.info("delivery: %s", report)

    sched.add_job(run_tick, "interval", seconds=interval_seconds, id="tick", next_run_time=clock.now())
    # The outbox is delivered apart from transitions: a failing channel never holds up the engine.
    sched.add_job(run_delivery, "interval", seconds=max(5, interval_seconds // 2), id="deliver",
                  next_run_time=clock.now())
    return sched


def run(db: Engine, interval_seconds: int = 60) -> None:
    """Run until interrupted. The first tick, at start, catches up on everything missed."""
    sched = make_scheduler(db, interval_seconds=interval_seconds)
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        sched.start()
