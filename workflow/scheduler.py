"""`zcflow scheduler`: APScheduler 3 wakes the engine; the due times live in our own tables.

APScheduler holds no state that matters: its in-memory job store only says "call tick now".
`misfire_grace_time=None` and coalescing mean a wake-up missed while the process was down is run
once at start-up, and `tick(now)` then applies everything that came due meanwhile, in due order.
Several schedulers may run over one PostgreSQL database: tick claims rows with SKIP LOCKED.

When the database cannot be used (down, refusing, corrupt), each job logs one line per failure and
backs off (2, 4, 8 … seconds, at most :data:`MAX_BACKOFF`), and logs one line when it works again:
never a traceback for an outage (CONTRACT §7). Any other error is a bug and keeps its traceback.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
from collections.abc import Callable

from apscheduler.schedulers import SchedulerNotRunningError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy.engine import Engine

from storage.calendar_years import sync_calendar
from workflow import clock
from workflow.calendar_import import missing_year, missing_year_message
from workflow.deadlines import TickReport, next_due, tick

log = logging.getLogger("zcflow.scheduler")

DELIVERY_BATCH = 500  # notifications per delivery run
MAX_BACKOFF = 300.0  # seconds


class Backoff:
    """Runs one job through outages: skip runs while backing off, one log line per failure and one
    on recovery. `wall` is the wall clock in seconds (APScheduler's runs are wall-clock times)."""

    def __init__(self, name: str, wall: Callable[[], float] | None = None) -> None:
        import time

        self.name = name
        self.wall = wall or time.monotonic
        self.failures = 0
        self.resume_at = 0.0

    def delay(self) -> float:
        return min(2.0 ** self.failures, MAX_BACKOFF)

    def run(self, job: Callable[[], None]) -> None:
        from storage.db import outage

        if self.failures and self.wall() < self.resume_at:
            return
        try:
            job()
        except Exception as exc:
            down = outage(exc)
            if down is None:
                raise
            self.failures += 1
            delay = self.delay()
            self.resume_at = self.wall() + delay
            log.warning("%s failed (%d in a row): %s; retrying in %.0f s", self.name, self.failures, down, delay)
            return
        if self.failures:
            log.warning("%s: the database is available again after %d failed attempts", self.name, self.failures)
            self.failures = 0


def make_scheduler(db: Engine, *, interval_seconds: int = 60,
                   after_tick: Callable[[dt.datetime, TickReport], None] | None = None,
                   scheduler_class: type[BaseScheduler] = BlockingScheduler) -> BaseScheduler:
    sched = scheduler_class(timezone=clock.SHANGHAI, job_defaults={
        "misfire_grace_time": None, "coalesce": True, "max_instances": 1})

    warned: set[dt.date] = set()

    def run_tick() -> None:
        now = clock.now()
        _warn_missing_year(db, now, warned)
        report = tick(db, now)
        if report.moved or report.reminders:
            log.info("tick %s: %d notices closed, expired %s, %d reminders", now.isoformat(),
                     report.notices_closed, report.expired, report.reminders)
        if after_tick is not None:
            after_tick(now, report)
        wake = next_due(db)
        if wake is not None and wake > now:
            # Wake exactly at the next due time as well as every interval. APScheduler waits on the
            # wall clock, so a shifted zcflow clock's due time is converted to wall time.
            sched.add_job(guarded_tick, "date", run_date=clock.to_wall(wake), id="next-due", replace_existing=True)

    def run_delivery() -> None:
        from notifications.outbox import deliver
        from notifications.webhooks import deliver_webhooks

        # Bounded runs: a large backlog is sent over several runs, so that stopping never waits for it.
        now = clock.now()
        report = deliver(db, now, limit=DELIVERY_BATCH)
        if report.claimed:
            log.info("delivery: %s", report.to_json())
        hooks = deliver_webhooks(db, now, limit=DELIVERY_BATCH)  # the platforms' events (CONTRACT §11)
        if hooks.claimed:
            log.info("webhooks: %s", hooks.to_json())
        from storage.idempotency import purge_expired

        with db.begin() as conn:  # idempotency keys live 24 h (CONTRACT §11)
            purge_expired(conn, now)
        from storage import case_counts, case_facets

        with db.connect() as conn:  # the journals of the derived counts (PostgreSQL), folded in
            case_counts.fold(conn)
            case_facets.fold(conn)

    tick_guard, delivery_guard = Backoff("tick"), Backoff("delivery")

    def guarded_tick() -> None:
        tick_guard.run(run_tick)

    def guarded_delivery() -> None:
        delivery_guard.run(run_delivery)

    wall_now = dt.datetime.now(dt.UTC)  # APScheduler's own times are wall-clock times
    sched.add_job(guarded_tick, "interval", seconds=interval_seconds, id="tick", next_run_time=wall_now)
    # The outbox is delivered apart from transitions: a failing channel never holds up the engine.
    sched.add_job(guarded_delivery, "interval", seconds=max(5, interval_seconds // 2), id="deliver",
                  next_run_time=wall_now)
    return sched


def _warn_missing_year(db: Engine, now: dt.datetime, warned: set[dt.date]) -> None:
    """Once a day, from November 1: log a warning while next year's schedule is missing."""
    today = now.astimezone(clock.SHANGHAI).date()
    if today in warned:
        return
    with db.connect() as conn:
        cal = sync_calendar(conn)
    year = missing_year(today, cal)
    warned.add(today)
    if year is not None:
        log.warning("calendar: %s", missing_year_message(year))


def run(db: Engine, interval_seconds: int = 60) -> None:
    """Run until interrupted. The first tick, at start, catches up on everything missed.

    APScheduler runs in a background thread and the main thread only waits: a Ctrl-C then always
    reaches this loop (in a BlockingScheduler it can land inside APScheduler's job submission, which
    catches it), and stopping waits only for the job that is running."""
    sched = make_scheduler(db, interval_seconds=interval_seconds, scheduler_class=BackgroundScheduler)
    stop = threading.Event()
    try:
        sched.start()  # inside the try: a Ctrl-C during start-up still shuts the thread down
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        with contextlib.suppress(KeyboardInterrupt, SchedulerNotRunningError):
            sched.shutdown(wait=True)
