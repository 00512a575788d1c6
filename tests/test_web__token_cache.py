"""Each server process remembers a verified bearer token for a few seconds (issue 18: no user lookup
per request). What must hold: a revocation in this process ends the token at once, one elsewhere
(another server, the CLI) once the entry's seconds are up, a token never outlives its expiry in
the cache, a scope change is seen by the next request, and a lookup that began before a revocation
cannot put the old answer back."""

from __future__ import annotations

import types

import itsdangerous.timed
import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine

from states.vocabulary import Role
from tests.web_support import EMPLOYER_B, T0, Site
from workflow.web import token_cache
from workflow.web.scope import UserScope, WebUser
from workflow.web.token_cache import TokenCache
from workflow.web.users import set_scope, users


@pytest.fixture
def site(db: Engine, monkeypatch: pytest.MonkeyPatch) -> Site:
    return Site.build(db, monkeypatch)


def me(site: Site, token: str) -> int:
    return int(site.client().get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code)


def test_a_revocation_elsewhere_ends_a_cached_token_once_its_seconds_are_up(
        site: Site, db: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    wall = [1_000_000.0]
    monkeypatch.setattr(token_cache, "time", types.SimpleNamespace(time=lambda: wall[0]))
    token = site.token("emp_a")
    assert me(site, token) == 200  # now remembered
    # Another process ends the user's tokens: nothing tells this one.
    with db.begin() as conn:
        conn.execute(update(users).where(users.c.username == "emp_a").values(auth_epoch=users.c.auth_epoch + 1))
    wall[0] += token_cache.TTL_SECONDS
    assert me(site, token) == 401


def test_a_cached_token_is_refused_once_it_expires(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    wall = [1_000_000.0]
    clock = types.SimpleNamespace(time=lambda: wall[0])
    monkeypatch.setattr(token_cache, "time", clock)
    monkeypatch.setattr(itsdangerous.timed, "time", clock)  # what the signature's age is read against
    site.app.state.web.tokens = TokenCache(ttl=24 * 3600)  # only the token's own expiry can end it
    token = site.token("emp_a")
    assert me(site, token) == 200
    wall[0] += site.app.state.web.signer.token_ttl.total_seconds() + 2
    assert me(site, token) == 401


def test_a_scope_change_is_seen_by_the_next_request(site: Site, db: Engine) -> None:
    token = site.token("emp_a")
    assert site.client().get("/api/me", headers={"Authorization": f"Bearer {token}"}).json()["scope"] == {
        "employer": "杭州示范机电有限公司"}
    set_scope(db, "emp_a", "employer", {"employer": EMPLOYER_B}, T0, actor="admin")
    answer = site.client().get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200 and answer.json()["scope"] == {"employer": EMPLOYER_B}


def test_a_lookup_older_than_a_revocation_is_not_remembered() -> None:
    cache = TokenCache()
    user = WebUser(1, "emp_a", Role.employer,
                   UserScope(employer="x"))
    generation = cache.generation  # the lookup begins
    token_cache.forget_users()  # a revocation commits meanwhile
    cache.put("the-token", user, expires_at=float("inf"), generation=generation)
    assert cache.get("the-token") is None
    cache.put("the-token", user, expires_at=float("inf"), generation=cache.generation)
    assert cache.get("the-token") == user


def test_the_cache_keeps_hashes_not_tokens() -> None:
    cache = TokenCache()
    user = WebUser(1, "emp_a", Role.employer,
                   UserScope(employer="x"))
    cache.put("secret-token-value", user, expires_at=float("inf"), generation=cache.generation)
    assert all(b"secret-token-value" not in key for key in cache._entries)
