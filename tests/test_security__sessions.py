"""Findings: after POST /logout the old session cookie still worked; after a password change the old
bearer token still worked; there was no way to disable a user; CSRF tokens were not bound to the
session (a planted cookie and token pair worked for another session). Sessions and tokens now carry
the user's epoch, which logout, a password change or reset and a disable move on."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine

from storage.audit import audit_entries
from tests.web_support import PASSWORD, T0, Site, csrf_of
from workflow.web.auth import SESSION_COOKIE
from workflow.web.csrf import CSRF_COOKIE
from workflow.web.users import change_password, set_disabled, users

NEW_PASSWORD = "a brand new passphrase 7"


@pytest.fixture
def site(db: Engine, monkeypatch: pytest.MonkeyPatch) -> Site:
    return Site.build(db, monkeypatch)


def holding(site: Site, cookie: str) -> TestClient:
    client = site.client()
    client.cookies.set(SESSION_COOKIE, cookie)
    return client


def logged_in_everywhere(site: Site, username: str) -> tuple[TestClient, str, str]:
    browser = site.browser(username)
    cookie = browser.cookies[SESSION_COOKIE]
    token = site.token(username)
    assert holding(site, cookie).get("/", follow_redirects=False).status_code == 200
    assert site.api(username, "GET", "/api/me").status_code == 200
    return browser, cookie, token


def ended(site: Site, cookie: str, token: str) -> bool:
    page = holding(site, cookie).get("/", follow_redirects=False)
    api = site.client().get("/api/me", headers={"Authorization": f"Bearer {token}"})
    return page.status_code == 303 and api.status_code == 401


def test_logout_ends_the_cookie_it_had_and_every_token(site: Site) -> None:
    browser, cookie, token = logged_in_everywhere(site, "emp_a")
    r = browser.post("/logout", data={"csrf_token": csrf_of(browser, "/")}, follow_redirects=False)
    assert r.status_code == 303
    assert ended(site, cookie, token)
    assert site.browser("emp_a").get("/", follow_redirects=False).status_code == 200  # logging in again works


def test_a_password_change_ends_every_session_and_token(site: Site, db: Engine) -> None:
    _, cookie, token = logged_in_everywhere(site, "emp_a")
    _, other_cookie, other_token = logged_in_everywhere(site, "emp_b")
    change_password(db, "emp_a", NEW_PASSWORD, T0, actor="emp_a", old_password=PASSWORD)
    assert ended(site, cookie, token)
    assert not ended(site, other_cookie, other_token)  # another user's sessions go on
    r = site.client().post("/api/token", json={"username": "emp_a", "password": NEW_PASSWORD})
    assert r.status_code == 200


def test_an_admin_reset_and_a_disable_end_them_too(site: Site, db: Engine) -> None:
    _, cookie, token = logged_in_everywhere(site, "emp_a")
    change_password(db, "emp_a", NEW_PASSWORD, T0, actor="admin")
    assert ended(site, cookie, token)
    site._tokens.clear()
    _, cookie, token = logged_in_everywhere(site, "dept_sc")
    assert set_disabled(db, "dept_sc", True, T0, actor="admin")
    assert ended(site, cookie, token)
    refused = site.client().post("/api/token", json={"username": "dept_sc", "password": PASSWORD})
    assert refused.status_code == 401
    assert set_disabled(db, "dept_sc", False, T0, actor="admin")
    assert site.client().post("/api/token", json={"username": "dept_sc", "password": PASSWORD}).status_code == 200
    with db.connect() as conn:
        actions = [(e.action, e.actor, e.subject) for e in audit_entries(conn)]
    assert actions[:3] == [("user_enable", "admin", "dept_sc"), ("user_disable", "admin", "dept_sc"),
                           ("user_password_reset", "admin", "emp_a")]


def test_the_request_check_is_the_users_one_row(site: Site, db: Engine) -> None:
    # The epoch lives on the user's row, read by primary key with the user on every request.
    with db.connect() as conn:
        epoch = conn.execute(select(users.c.auth_epoch).where(users.c.username == "emp_a")).scalar_one()
    assert epoch == 0
    change_password(db, "emp_a", NEW_PASSWORD, T0, actor="admin")
    with db.connect() as conn:
        assert conn.execute(select(users.c.auth_epoch).where(users.c.username == "emp_a")).scalar_one() == 1


def test_a_planted_csrf_cookie_and_token_do_not_work_for_another_session(site: Site) -> None:
    attacker = site.browser("emp_a")
    planted_token = csrf_of(attacker, "/cases")
    planted_cookie = attacker.cookies.get(CSRF_COOKIE)
    assert planted_cookie
    victim = site.browser("emp_a")
    victim.cookies.set(CSRF_COOKIE, planted_cookie)
    case_id = site.cases["a_review"]
    r = victim.post(f"/cases/{case_id}/actions", data={"action": "employer_approve", "csrf_token": planted_token})
    assert r.status_code == 403
    assert site.state("a_review") == "employer_review"
    # The victim's own token, bound to the victim's session, works.
    r = victim.post(f"/cases/{case_id}/actions", data={"action": "employer_approve",
                                                       "csrf_token": csrf_of(victim, "/cases")})
    assert r.status_code in (200, 303) and site.state("a_review") != "employer_review"


def test_a_new_login_gets_a_new_csrf_token(site: Site) -> None:
    browser = site.browser("emp_a")
    before = csrf_of(browser, "/cases")
    r = browser.post("/login", data={"username": "emp_a", "password": PASSWORD, "csrf_token": before},
                     follow_redirects=False)
    assert r.status_code == 303
    assert csrf_of(browser, "/cases") != before
