"""An import and a move on PostgreSQL at the same moment (CONTRACT §10): the import holds an
exclusive advisory lock until it commits, and a move that computes a notice close takes the shared
one before it reads the calendar's token — so the move waits, then counts on the imported year
(without the lock it would have refused 2027 as unknown, or counted on the old years after the
import's recompute had already passed it by)."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

from sqlalchemy import text

from states.calendar import SHANGHAI, parse_year_file
from states.vocabulary import Role
from storage.calendar_years import CALENDAR_LOCK, lock_for_import, new_token, store_year
from storage.db import make_engine
from tests.filings import filing
from workflow.deadlines import ensure_schedule
from workflow.engine import Actor, Transition, Workflow

MADE_UP = Path(__file__).parent / "data" / "calendar" / "made-up-2027.yaml"  # NOT the State Council's
POLICY = "hz-recognition-2022"


def test_a_move_waits_for_an_import_in_progress_and_counts_on_its_year(pg_url: str) -> None:
    db = make_engine(pg_url)
    watcher = make_engine(pg_url)
    try:
        ensure_schedule(db, [POLICY])
        wf = Workflow(db)
        approved = dt.datetime(2027, 2, 4, 10, tzinfo=SHANGHAI)
        case_id = wf.create_case(POLICY, filing(POLICY, 1), approved - dt.timedelta(hours=2))
        wf.fire(case_id, "submit", Actor(Role.applicant), approved - dt.timedelta(hours=1))

        content = MADE_UP.read_text(encoding="utf-8")
        with db.connect() as importer:
            tx = importer.begin()
            lock_for_import(importer)
            store_year(importer, parse_year_file(content), content=content, at=approved, actor="test",
                       reason=None)
            new_token(importer)
            outcome: list[Transition | BaseException] = []

            def approve() -> None:
                try:
                    outcome.append(wf.fire(case_id, "employer_approve", Actor(Role.employer), approved))
                except BaseException as exc:
                    outcome.append(exc)

            mover = threading.Thread(target=approve)
            mover.start()
            # The move is waiting on the calendar lock (read from pg_locks, never by sleeping).
            with watcher.connect() as conn:
                for _ in range(100_000):
                    waiting = conn.execute(text(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = :key AND NOT granted "
                        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"),
                        {"key": CALENDAR_LOCK}).scalar()
                    if waiting:
                        break
                    conn.rollback()
                    mover.join(0.01)
                assert waiting and not outcome, outcome
            tx.commit()
            mover.join()
        assert len(outcome) == 1 and isinstance(outcome[0], Transition), outcome
        # The made-up year: 02-05..02-11 off; 02-12, make-up Sat 02-13, 02-15, 02-16, 02-17.
        assert wf.case(case_id).notice_closes_at == dt.datetime(2027, 2, 18, tzinfo=SHANGHAI)
    finally:
        watcher.dispose()
        db.dispose()
