"""Findings: 30 wrong passwords in a row on /api/token or /login all got 401 and the right one then
worked; Argon2 ran on the request path, so guessers slowed every other page; 12345678, eight spaces
and the user name plus digits were accepted as passwords; the login form took 100,000 characters.
Now: throttling per account and per address with growing delays (429 + Retry-After), a lockout an
admin lifts (both in the audit log), Argon2 in a bounded pool off the event loop, and one password
policy (workflow/web/passwords.py)."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine

from storage.audit import audit_entries
from tests.web_support import PASSWORD, T0, Site, csrf_of
from workflow.errors import InvalidInput
from workflow.web import throttle, users
from workflow.web.passwords import MAX_LENGTH, MIN_LENGTH, check_password
from workflow.web.users import change_password, create_user


class Wall:
    def __init__(self) -> None:
        self.t = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.t


@pytest.fixture
def wall(monkeypatch: pytest.MonkeyPatch) -> Wall:
    clock = Wall()
    monkeypatch.setattr(throttle, "wall_now", clock)
    return clock


@pytest.fixture
def site(db: Engine, monkeypatch: pytest.MonkeyPatch) -> Site:
    return Site.build(db, monkeypatch)


def token_attempt(site: Site, username: str, password: str, address: str = "10.0.0.1") -> tuple[int, dict[str, str]]:
    client = TestClient(site.app, client=(address, 50000))
    r = client.post("/api/token", json={"username": username, "password": password})
    return r.status_code, dict(r.headers)


def test_growing_delays_then_429_with_retry_after(site: Site, wall: Wall) -> None:
    codes = [token_attempt(site, "emp_a", "wrong guess")[0] for _ in range(throttle.FREE + 1)]
    assert codes == [401] * (throttle.FREE + 1)
    status, headers = token_attempt(site, "emp_a", PASSWORD)  # even the right password waits
    assert status == 429 and headers["retry-after"] == "1"
    wall.t += dt.timedelta(seconds=1)
    assert token_attempt(site, "emp_a", "wrong again")[0] == 401
    status, headers = token_attempt(site, "emp_a", PASSWORD)
    assert status == 429 and headers["retry-after"] == "2"  # the delay grows
    wall.t += dt.timedelta(seconds=2)
    assert token_attempt(site, "emp_a", PASSWORD)[0] == 200
    assert token_attempt(site, "emp_a", "wrong guess")[0] == 401  # a success clears the account's count


def test_the_login_page_is_throttled_too(site: Site, wall: Wall) -> None:
    browser = site.browser()
    token = csrf_of(browser, "/login")
    for _ in range(throttle.FREE + 1):
        r = browser.post("/login", data={"username": "emp_b", "password": "nope", "csrf_token": token})
        assert r.status_code == 401
    r = browser.post("/login", data={"username": "emp_b", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 429 and r.headers["retry-after"] == "1"
    assert "登录失败次数过多" in r.text


def test_one_address_guessing_many_names_is_throttled(site: Site, wall: Wall) -> None:
    names = [f"nobody{i}" for i in range(throttle.FREE + 1)]
    assert [token_attempt(site, n, "guess", "10.9.9.9")[0] for n in names] == [401] * len(names)
    assert token_attempt(site, "emp_a", PASSWORD, "10.9.9.9")[0] == 429
    assert token_attempt(site, "emp_a", PASSWORD, "10.1.1.1")[0] == 200  # another address is not held


def test_a_lockout_holds_until_an_admin_lifts_it_and_both_are_audited(site: Site, db: Engine, wall: Wall) -> None:
    for i in range(throttle.LOCK_AFTER["user"]):
        wall.t += throttle.MAX_DELAY  # wait out every delay: only the count matters
        assert token_attempt(site, "comm_hz", "wrong", f"10.0.1.{i}")[0] == 401
    wall.t += dt.timedelta(days=1)
    status, headers = token_attempt(site, "comm_hz", PASSWORD, "10.0.2.1")
    assert status == 429 and int(headers["retry-after"]) > 0
    assert throttle.locked_keys(db).keys() == {"user:comm_hz"}
    assert throttle.unlock(db, "user:comm_hz", T0, actor="admin")
    assert token_attempt(site, "comm_hz", PASSWORD, "10.0.2.1")[0] == 200
    with db.connect() as conn:
        rows = [(e.action, e.actor, e.subject) for e in audit_entries(conn) if e.action.startswith("login_")]
    assert rows == [("login_unlock", "admin", "comm_hz"), ("login_lockout", "system", "comm_hz")]


def test_argon2_runs_in_the_bounded_pool_not_on_the_event_loop(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    real = users._verify

    def spy(stored: str, password: str) -> bool:
        seen.append(threading.current_thread().name)
        return real(stored, password)

    monkeypatch.setattr(users, "_verify", spy)
    assert token_attempt(site, "emp_a", PASSWORD)[0] == 200
    assert len(seen) == 1 and seen[0].startswith("zcflow-login")


# ---- the password policy ---------------------------------------------------------------------------

WEAK = ["12345678", " " * 8, " " * 20, "emp_new12345678", "password1234", "123456789012", "qwerty123456!",
        "abcabcabcabc", "x" * (MAX_LENGTH + 1)]


@pytest.mark.parametrize("weak", WEAK)
def test_weak_passwords_are_refused_when_a_user_is_added(db: Engine, weak: str) -> None:
    with pytest.raises(InvalidInput, match=r"^password: ") as caught:
        create_user(db, "emp_new", weak, "admin", {}, T0)
    assert caught.value.details == {"field": "password"}


@pytest.mark.parametrize("good", ["correct horse 42", "绿色的猫在屋顶上晒太阳睡午觉", "Tr0ub4dor&3xyz"])
def test_long_uncommon_passwords_are_taken(good: str) -> None:
    assert check_password(good, "emp_new") == good and MIN_LENGTH == 12


def test_a_password_change_follows_the_policy(site: Site, db: Engine) -> None:
    with pytest.raises(InvalidInput, match=r"^password: "):
        change_password(db, "emp_a", "emp_a-forever-and-ever", T0, actor="emp_a", old_password=PASSWORD)
    with pytest.raises(InvalidInput, match=r"^old_password: "):
        change_password(db, "emp_a", "a brand new passphrase", T0, actor="emp_a", old_password="not it")


def test_one_maximum_for_form_and_api(site: Site, wall: Wall) -> None:
    huge = "x" * 100_000
    r = site.client().post("/api/token", json={"username": "emp_a", "password": huge})
    assert r.status_code == 422 and r.json()["field"] == "password"
    browser = site.browser()
    r = browser.post("/login", data={"username": "emp_a", "password": huge, "csrf_token": csrf_of(browser, "/login")})
    assert r.status_code == 422


def test_old_counts_are_forgotten_but_lockouts_stay(site: Site, db: Engine, wall: Wall) -> None:
    for i in range(throttle.LOCK_AFTER["user"]):
        wall.t += throttle.MAX_DELAY
        token_attempt(site, "comm_hz", "wrong", f"10.0.3.{i}")
    token_attempt(site, "guessed-name", "wrong", "10.0.4.1")
    wall.t += throttle.PRUNE_AFTER + dt.timedelta(seconds=1)
    token_attempt(site, "another-guess", "wrong", "10.0.4.2")
    with db.connect() as conn:
        keys = set(conn.execute(select(throttle.throttle.c.key)).scalars())
    assert keys == {"user:comm_hz", "user:another-guess", "addr:10.0.4.2"}
