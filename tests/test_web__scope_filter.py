"""An action checks the scope on the row its move reads (ScopeFilter.admits), reads use its SQL
(ScopeFilter.condition): for every role both select exactly the same cases (issue 18)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from storage import repo
from tests.web_support import USERS, Site
from workflow.web.scope import scope_filter
from workflow.web.users import list_users


@pytest.fixture
def site(db: Engine, monkeypatch: pytest.MonkeyPatch) -> Site:
    return Site.build(db, monkeypatch)


def test_the_row_test_and_the_sql_condition_agree_for_every_user(site: Site, db: Engine) -> None:
    web_users = list_users(db)
    assert len(web_users) == len(USERS)
    seen: set[int] = set()
    with db.connect() as conn:
        rows = [repo.load_case(conn, int(i)) for i in conn.execute(select(repo.cases.c.id)).scalars()]
        every = {r.id for r in rows if r is not None}
        for user in web_users:
            scope = scope_filter(user)
            by_sql = set(conn.execute(select(repo.cases.c.id).where(scope.condition())).scalars())
            by_row = {r.id for r in rows if r is not None and scope.admits(r)}
            assert by_sql == by_row, user.username
            seen.add(len(by_sql))
    assert len(every) in seen and len(seen) > 2  # the administrator sees all; the others, parts
