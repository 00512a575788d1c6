"""A move is one transaction: state, history and outbox together or not at all."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from states.vocabulary import Role
from storage import repo
from tests.drive import HOUR, walk
from workflow.clock import SHANGHAI
from workflow.engine import Actor, Workflow
from workflow.errors import Conflict, WorkflowError


def counts(db: Engine, case_id: int) -> tuple[int, int]:
    with db.connect() as conn:
        h = conn.execute(select(func.count()).select_from(repo.history).where(repo.history.c.case_id == case_id))
        n = conn.execute(select(func.count()).select_from(repo.notifications)
                         .where(repo.notifications.c.case_id == case_id))
        return int(h.scalar_one()), int(n.scalar_one())


def test_failure_mid_transition_leaves_old_state_and_no_history(db: Engine,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    wf, case_id, _ = walk(db, "hz-recognition-2025h1", until="employer_review")
    before = wf.case(case_id)
    before_counts = counts(db, case_id)

    def broken_outbox(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("disk full while writing the outbox")

    monkeypatch.setattr(repo, "insert_notifications", broken_outbox)
    with pytest.raises(RuntimeError, match="disk full"):
        wf.fire(case_id, "employer_approve", Actor(Role.employer), before.updated_at + HOUR)
    after = wf.case(case_id)
    assert (after.state, after.version, after.notice_closes_at) == ("employer_review", before.version, None)
    assert counts(db, case_id) == before_counts


def test_fire_in_a_failed_move_undoes_itself_only(db: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """`fire_in` (the simulator's moves, many in one transaction): a move that fails halfway is rolled
    back to its savepoint; the moves before and after it in the transaction are kept."""
    wf, first, _ = walk(db, "hz-recognition-2025h1", until="employer_review", serial=1)
    _, broken, _ = walk(db, "hz-recognition-2025h1", until="employer_review", serial=2)
    _, last, _ = walk(db, "hz-recognition-2025h1", until="employer_review", serial=3)
    at = max(wf.case(c).updated_at for c in (first, broken, last)) + HOUR
    before = wf.case(broken)
    before_counts = counts(db, broken)
    insert_notifications = repo.insert_notifications

    def broken_outbox(conn: object, rows: list[dict[str, object]]) -> None:
        if any(r["case_id"] == broken for r in rows):
            raise RuntimeError("disk full while writing the outbox")
        insert_notifications(conn, rows)  # type: ignore[arg-type]

    monkeypatch.setattr(repo, "insert_notifications", broken_outbox)
    with db.begin() as conn:
        wf.fire_in(conn, first, "employer_approve", Actor(Role.employer), at)
        with pytest.raises(RuntimeError, match="disk full"):
            wf.fire_in(conn, broken, "employer_approve", Actor(Role.employer), at)
        wf.fire_in(conn, last, "employer_approve", Actor(Role.employer), at)
    after = wf.case(broken)
    assert (after.state, after.version, after.notice_closes_at) == ("employer_review", before.version, None)
    assert counts(db, broken) == before_counts
    assert wf.case(first).state == wf.case(last).state == "employer_notice"


def test_fire_in_keeps_what_time_did_when_the_action_is_then_refused(db: Engine) -> None:
    """As `fire`: the employer approves after its cutoff; the expiry time made is kept, the action refused."""
    wf, case_id, _ = walk(db, "hz-recognition-2025h1", until="employer_review")
    version = wf.case(case_id).version
    late = dt.datetime(2025, 4, 20, 9, tzinfo=SHANGHAI)
    with db.begin() as conn, pytest.raises(WorkflowError):
        wf.fire_in(conn, case_id, "employer_approve", Actor(Role.employer), late)
    after = wf.case(case_id)
    assert (after.state, after.version) == ("expired", version + 1)


def test_stale_version_is_a_conflict(db: Engine) -> None:
    wf, case_id, _ = walk(db, "hz-recognition-2025h1", until="employer_review")
    case = wf.case(case_id)
    with db.begin() as conn:
        assert repo.cas_update_case(conn, case_id, case.state, case.version, {"district": "上城区"})
        assert not repo.cas_update_case(conn, case_id, case.state, case.version, {"district": "西湖区"})


@pytest.mark.postgres
def test_two_connections_fire_at_once_exactly_one_wins(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """On PostgreSQL, two connections read the case, then both write: compare-and-set lets exactly
    one through and the other gets a Conflict naming the case; history has one row."""
    from storage.db import make_engine

    engines = [make_engine(pg_url), make_engine(pg_url)]
    wf0, case_id, _ = walk(engines[0], "hz-recognition-2025h1", until="employer_review")
    at = wf0.case(case_id).updated_at + HOUR
    both_read = threading.Barrier(2, timeout=20)
    original = repo.load_case_for_move

    def load_then_wait(conn: object, cid: int) -> object:
        row = original(conn, cid)  # type: ignore[arg-type]
        both_read.wait()  # neither writes until both have read the same version
        return row

    monkeypatch.setattr(repo, "load_case_for_move", load_then_wait)
    outcomes: list[str] = []

    def act(engine: Engine, action: str) -> None:
        try:
            reason = "材料不全" if action == "employer_return" else None
            t = Workflow(engine).fire(case_id, action, Actor(Role.employer), at, reason)
            outcomes.append(f"ok:{t.to_state}")
        except Conflict as exc:
            assert f"case {case_id}" in exc.message
            outcomes.append("conflict")
        except Exception as exc:  # recorded, so the assertion below shows it
            outcomes.append(f"unexpected:{exc!r}")

    threads = [threading.Thread(target=act, args=(engines[0], "employer_approve")),
               threading.Thread(target=act, args=(engines[1], "employer_return"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    monkeypatch.undo()
    assert sorted(o.split(":")[0] for o in outcomes) == ["conflict", "ok"], outcomes
    with engines[0].connect() as conn:
        actions = [h.action for h in repo.case_history(conn, case_id)]
    assert actions.count("employer_approve") + actions.count("employer_return") == 1
    for e in engines:
        e.dispose()
