"""Support for the web tests (holds no tests): a site with one user per role and scope, and cases
in every scope, driven there through the real engine. Each test module builds it with
``Site.build(db, monkeypatch)``."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from states.vocabulary import Role
from tests.drive import HOUR, advance
from tests.filings import SUBMIT_AT, filing
from workflow.clock import SHANGHAI
from workflow.deadlines import ensure_schedule
from workflow.engine import Actor, Workflow
from workflow.web import create_app, users

# The site's "now": inside Hangzhou 2025H1's filing window, before its employer cutoff (2025-04-14).
T0 = dt.datetime(2025, 3, 28, 10, tzinfo=SHANGHAI)
PASSWORD = "correct horse 42"

EMPLOYER_A = "杭州示范机电有限公司"
EMPLOYER_B = "杭州西湖测试科技有限公司"
HZ_COMMITTEE = "杭州市制造业工程技术人员工程师资格评审委员会"
LP_COMMITTEE = "杭州市临平区制造业工程技术人员工程师资格评审委员会"

USERS: dict[str, tuple[str, dict[str, Any]]] = {
    "emp_a": ("employer", {"employer": EMPLOYER_A}),
    "emp_b": ("employer", {"employer": EMPLOYER_B}),
    "dept_sc": ("department", {"district": "上城区"}),
    "dept_xh": ("department", {"district": "西湖区"}),
    "comm_hz": ("committee", {"committees": [HZ_COMMITTEE]}),
    "comm_lp": ("committee", {"committees": [LP_COMMITTEE]}),
    "comm_yh": ("committee", {"districts": ["余杭区"], "series": ["制造业"]}),
    "city_hz": ("city", {"city": "杭州市"}),
    "city_wx": ("city", {"city": "无锡市"}),
    "admin": ("admin", {}),
}


def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 with the library's defaults costs ~50 ms a hash; the tests use a cheap profile."""
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(users, "_hasher", cheap)
    monkeypatch.setattr(users, "_DUMMY_HASH", cheap.hash("zcflow-no-such-user"))


def make_case(wf: Workflow, policy_id: str, serial: int, until: str, **changes: Any) -> int:
    """A case created before the policy's submit time and moved along the happy path to `until`
    (the policy's due times must be scheduled: ensure_schedule)."""
    case_id = wf.create_case(policy_id, filing(policy_id, serial, **changes), SUBMIT_AT[policy_id] - HOUR)
    at = SUBMIT_AT[policy_id]
    while wf.case(case_id).state != until:
        _, at = advance(wf, case_id, at)
    return case_id


@dataclass
class Site:
    db: Engine
    app: FastAPI
    wf: Workflow
    now: dt.datetime = T0
    cases: dict[str, int] = field(default_factory=dict)
    _tokens: dict[str, str] = field(default_factory=dict)

    @classmethod
    def build(cls, db: Engine, monkeypatch: pytest.MonkeyPatch, *, with_users: bool = True) -> Site:
        fast_hashing(monkeypatch)
        holder: list[Site] = []
        app = create_app(db, secret="test-secret", clock=lambda: holder[0].now)
        site = cls(db=db, app=app, wf=app.state.web.wf)
        holder.append(site)
        if with_users:
            for username, (role, scope) in USERS.items():
                users.create_user(db, username, PASSWORD, role, scope, T0)
        site.add_cases()
        return site

    def add_cases(self) -> None:
        wf = self.wf
        hz = "hz-recognition-2025h1"
        ensure_schedule(self.db, list(SUBMIT_AT))
        self.cases.update({
            # employer A, 上城区
            "a_review": make_case(wf, hz, 1, "employer_review"),
            "a_review2": make_case(wf, hz, 2, "employer_review"),
            "a_management": make_case(wf, hz, 4, "management_review"),
            "a_draft": make_case(wf, hz, 9, "draft"),
            # employer B, 西湖区
            "b_review": make_case(wf, hz, 3, "employer_review", employer=EMPLOYER_B, district="西湖区",
                                  name="李娜"),
            "yh_review": make_case(wf, "yh-recognition-2024", 5, "employer_review"),
            "wx_review": make_case(wf, "wx-recognition-2022", 6, "employer_review"),
            "lp_committee": make_case(wf, "lp-assessment-2022", 7, "committee_review"),
        })
        # An employer notice that runs at T0: approved an hour before.
        notice = make_case(wf, hz, 8, "employer_review", name="赵敏")
        wf.fire(notice, "employer_approve", Actor(Role.employer, "emp_a"), T0 - HOUR)
        self.cases["a_notice"] = notice

    # ---- API --------------------------------------------------------------------------------
    def client(self) -> TestClient:
        return TestClient(self.app)

    def token(self, username: str) -> str:
        if username not in self._tokens:
            r = self.client().post("/api/token", json={"username": username, "password": PASSWORD})
            assert r.status_code == 200, r.text
            self._tokens[username] = r.json()["access_token"]
        return self._tokens[username]

    def auth(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(username)}"}

    def api(self, username: str | None, method: str, path: str, **kwargs: Any) -> Any:
        headers = self.auth(username) if username else {}
        return self.client().request(method, path, headers=headers, **kwargs)

    def visible_ids(self, username: str) -> set[int]:
        r = self.api(username, "GET", "/api/cases", params={"per_page": 200})
        assert r.status_code == 200, r.text
        return {item["id"] for item in r.json()["items"]}

    def state(self, key: str) -> str:
        return str(self.wf.case(self.cases[key]).state)

    # ---- pages ------------------------------------------------------------------------------
    def browser(self, username: str | None = None) -> TestClient:
        """A client with cookies; logged in through the login form when `username` is given."""
        client = TestClient(self.app)
        if username:
            r = client.post("/login", data={"username": username, "password": PASSWORD,
                                            "csrf_token": csrf_of(client, "/login"), "next": "/"},
                            follow_redirects=False)
            assert r.status_code == 303, r.text
        return client


def csrf_of(client: TestClient, path: str) -> str:
    """The CSRF token the page at `path` puts in its forms."""
    r = client.get(path)
    assert r.status_code == 200, r.text
    found = re.search(r'name="csrf_token" value="([^"]+)"', r.text)
    assert found, f"no CSRF field on {path}"
    return found[1]
