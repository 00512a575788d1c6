"""Two conflicting actions on one case at the same moment: exactly one succeeds, the other is a 409,
and the history has one row for them. On PostgreSQL both requests are held until each has read the
case, so both write against the same version and the engine's compare-and-set refuses the second
(a `conflict`). SQLite takes the write lock at BEGIN, so there the second request reads the moved
case and is refused as an `illegal_transition` — still one success and one 409."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from httpx2 import Response
from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine

from storage import repo
from tests.web_support import Site


@pytest.fixture
def site(db: Engine, monkeypatch: pytest.MonkeyPatch) -> Site:
    return Site.build(db, monkeypatch)


def test_two_conflicting_actions_at_once_give_one_success_and_one_409(
        site: Site, backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    case_id = site.cases["a_review"]
    headers = site.auth("emp_a")
    both_read = threading.Barrier(2, timeout=20)
    load_case = repo.load_case_for_move
    waiting = iter(range(2))  # only the two requests' own reads wait

    def load_then_wait(conn: Connection, cid: int) -> Any:
        row = load_case(conn, cid)
        if cid == case_id and next(waiting, None) is not None:
            both_read.wait()  # each request has read version v before either writes
        return row

    if backend == "postgresql":
        monkeypatch.setattr(repo, "load_case_for_move", load_then_wait)
    bodies = [{"action": "employer_approve"}, {"action": "employer_return", "reason": "材料不全"}]
    results: dict[int, Response] = {}

    def post(i: int) -> None:
        results[i] = site.client().post(f"/api/cases/{case_id}/actions", json=bodies[i], headers=headers)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    statuses = sorted(r.status_code for r in results.values())
    assert statuses == [200, 409], [r.text for r in results.values()]
    winner = next(r for r in results.values() if r.status_code == 200).json()
    loser = next(r for r in results.values() if r.status_code == 409).json()
    expected = "conflict" if backend == "postgresql" else "illegal_transition"
    assert loser["error"] == expected
    assert site.state("a_review") == winner["to_state"]
    with site.db.connect() as conn:
        moves = conn.execute(select(func.count()).select_from(repo.history).where(
            repo.history.c.case_id == case_id, repo.history.c.seq == winner["version"])).scalar_one()
        later = conn.execute(select(func.max(repo.history.c.seq)).where(
            repo.history.c.case_id == case_id)).scalar_one()
    assert (moves, later) == (1, winner["version"])
