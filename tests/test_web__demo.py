"""The web half of `zcflow demo`: one user per role picked from the loaded data, each seeing its
slice; a restart keeps them; the login is printed before the UI is served."""

from __future__ import annotations

import io

import pytest
from rich.console import Console
from sqlalchemy.engine import Engine

from tests.web_support import EMPLOYER_A, Site
from workflow.web import demo


@pytest.fixture
def site(db: Engine, monkeypatch: pytest.MonkeyPatch) -> Site:
    return Site.build(db, monkeypatch, with_users=False)


def test_demo_users_cover_every_role_and_see_their_slice(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    served: list[tuple[str, int]] = []
    monkeypatch.setattr(demo, "serve", lambda db, host, port: served.append((host, port)))
    buf = io.StringIO()
    demo.run_demo_web(site.db, "127.0.0.1", 8123, Console(file=buf, width=200))
    text = buf.getvalue()
    assert served == [("127.0.0.1", 8123)]
    assert demo.DEMO_PASSWORD in text and "http://127.0.0.1:8123/" in text
    users = {u.username: u for u in demo.ensure_demo_users(site.db)}  # again: kept, not duplicated
    assert sorted(users) == ["admin", "city", "committee", "department", "employer"]
    assert users["employer"].scope.employer == EMPLOYER_A  # the busiest employer of the 2025 H1 round
    assert users["department"].scope.district == "上城区"
    for username in users:
        r = site.client().post("/api/token", json={"username": username, "password": demo.DEMO_PASSWORD})
        token = r.json()["access_token"]
        seen = site.client().get("/api/cases", headers={"Authorization": f"Bearer {token}"}).json()["total"]
        assert seen > 0, username
