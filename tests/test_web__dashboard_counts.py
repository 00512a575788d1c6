"""The dashboard's cases at risk per cutoff count a returned case in the stage that returned it and an
objection in the notice it suspends (CONTRACT §4), whatever way the query is put (issue 18)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from states.policy import get_policy
from states.vocabulary import Role
from storage import repo
from tests.web_support import Site
from workflow.engine import Actor
from workflow.web import queries
from workflow.web.scope import UserScope, WebUser

HZ = "hz-recognition-2025h1"


@pytest.mark.parametrize("who", ["admin", "department"])
def test_cutoffs_ahead_counts_what_each_cutoff_would_expire(db: Engine, monkeypatch: pytest.MonkeyPatch,
                                                            who: str) -> None:
    site = Site.build(db, monkeypatch, with_users=False)
    wf, now = site.wf, site.now
    # One case returned by the employer, and one notice under objection.
    returned = site.cases["a_review2"]
    wf.fire(returned, "employer_return", Actor(Role.employer, "x"), now, "补充材料")
    notice = site.cases["a_notice"]
    wf.fire(notice, "object", Actor(Role.public, "x"), now, "异议")
    user = (WebUser(1, "a", Role.admin, UserScope()) if who == "admin"
            else WebUser(2, "d", Role.department, UserScope(district="上城区")))
    policy = get_policy(HZ)
    with db.connect() as conn:
        rows: list[Any] = list(conn.execute(select(repo.cases).where(repo.cases.c.policy_id == HZ)))
        risks = queries.cutoffs_ahead(conn, user, policy, now)
    visible = [r for r in rows if who == "admin" or r.district == "上城区"]
    assert any(r.state == "returned" for r in visible) and any(r.state == "objection" for r in visible)
    assert risks
    for risk in risks:
        wanted = sum(1 for r in visible if queries.stage_of(r) in risk.cutoff.ends)
        assert risk.at_risk == wanted, risk.cutoff.name
