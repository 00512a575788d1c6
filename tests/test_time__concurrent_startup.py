"""Several schedulers and web servers start at once over one database (CONTRACT §8): each writes the
rounds' due times at start-up; they must not trip over each other (found by the load test)."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from states.policy import policies
from storage import repo
from storage.db import make_engine
from workflow.deadlines import ensure_schedule, round_events


def test_concurrent_start_ups_write_each_due_time_once(db_url: str) -> None:
    engines = [make_engine(db_url) for _ in range(4)]
    barrier = threading.Barrier(4, timeout=30)
    errors: list[BaseException] = []

    def start_up(engine: object) -> None:
        try:
            barrier.wait()
            ensure_schedule(engine)  # type: ignore[arg-type]
        except BaseException as exc:  # recorded for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=start_up, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    with engines[0].connect() as conn:
        n = conn.execute(select(func.count()).select_from(repo.scheduled_events)).scalar_one()
    assert n == sum(len(round_events(p)) for p in policies().values())
    for e in engines:
        e.dispose()
