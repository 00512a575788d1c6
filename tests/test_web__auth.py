"""Who may ask: bearer tokens for the API (401 without), signed session cookies for pages (the login
page without), Argon2 password hashes, and CSRF tokens on every form."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine

from tests.web_support import PASSWORD, Site, csrf_of
from workflow.web import create_app
from workflow.web.auth import SESSION_COOKIE
from workflow.web.users import users


def tamper(signed: str) -> str:
    """Change one character in the middle of the signature (the last base64 character may carry
    only padding bits, so changing it need not change the signature at all)."""
    i = signed.rindex(".") + (len(signed) - signed.rindex(".")) // 2
    return signed[:i] + ("A" if signed[i] != "A" else "B") + signed[i + 1:]


@pytest.fixture
def site(db: Engine, monkeypatch: pytest.MonkeyPatch) -> Site:
    return Site.build(db, monkeypatch)


def test_api_without_a_token_is_401_with_a_bearer_challenge(site: Site) -> None:
    for path in ("/api/cases", "/api/policies", "/api/me", f"/api/cases/{site.cases['a_review']}"):
        r = site.api(None, "GET", path)
        assert r.status_code == 401, path
        assert r.headers["www-authenticate"] == "Bearer"
        assert r.json()["error"] == "unauthenticated"


def test_forged_token_is_401(site: Site) -> None:
    token = site.token("emp_a")
    for value in (tamper(token), "not-a-token", ""):
        r = site.client().get("/api/cases", headers={"Authorization": f"Bearer {value}"})
        assert r.status_code == 401, value


def test_expired_token_is_401(site: Site, db: Engine) -> None:
    token = site.token("emp_a")
    # The same key, but tokens older than -1 s: every token has expired.
    strict = create_app(db, secret="test-secret", token_ttl=dt.timedelta(seconds=-1))
    r = TestClient(strict).get("/api/cases", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401
    assert "expired" in r.json()["detail"] and r.json()["message"] == "未登录或登录已过期"


def test_token_from_another_key_is_401(site: Site, db: Engine) -> None:
    other = create_app(db, secret="another-secret")
    r = TestClient(other).get("/api/me", headers=site.auth("emp_a"))
    assert r.status_code == 401


def test_token_names_its_user_role_and_expiry(site: Site) -> None:
    r = site.client().post("/api/token", json={"username": "dept_sc", "password": PASSWORD})
    assert r.status_code == 200
    body = r.json()
    assert (body["token_type"], body["username"], body["role"], body["expires_in"]) == (
        "bearer", "dept_sc", "department", 8 * 3600)
    me = site.client().get("/api/me", headers={"Authorization": f"Bearer {body['access_token']}"}).json()
    assert me == {"id": me["id"], "username": "dept_sc", "role": "department", "scope": {"district": "上城区"}}


@pytest.mark.parametrize("username,password", [("emp_a", "wrong password"), ("nobody", PASSWORD)])
def test_wrong_password_or_unknown_user_gets_no_token(site: Site, username: str, password: str) -> None:
    r = site.client().post("/api/token", json={"username": username, "password": password})
    assert r.status_code == 401
    assert r.json() == {"error": "unauthenticated", "message": "未登录或登录已过期",
                        "detail": "wrong username or password"}


def test_passwords_are_stored_as_argon2id_hashes(site: Site, db: Engine) -> None:
    with db.connect() as conn:
        hashes = list(conn.execute(select(users.c.password_hash)).scalars())
    assert hashes and all(h.startswith("$argon2id$") and PASSWORD not in h for h in hashes)


def test_pages_send_a_logged_out_browser_to_the_login_page(site: Site) -> None:
    browser = site.browser()
    for path in ("/", "/cases?state=draft", f"/cases/{site.cases['a_review']}", "/policies/hz-recognition-2025h1"):
        r = browser.get(path, follow_redirects=False)
        assert r.status_code == 303, path
        assert r.headers["location"].startswith("/login?next=%2F")
    assert browser.get("/login").status_code == 200


def test_htmx_request_without_session_is_told_to_redirect(site: Site) -> None:
    r = site.browser().get("/cases", headers={"HX-Request": "true", "HX-Target": "results"})
    assert r.headers["hx-redirect"].startswith("/login?next=")


def test_session_cookie_is_signed_httponly_samesite_lax_and_expires(site: Site) -> None:
    browser = site.browser()
    r = browser.post("/login", data={"username": "emp_a", "password": PASSWORD,
                                     "csrf_token": csrf_of(browser, "/login"), "next": "/cases"},
                     follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/cases")
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE + "="))
    attributes = {a.strip().split("=")[0].lower() for a in cookie.split(";")[1:]}
    assert {"httponly", "max-age", "path", "samesite"} <= attributes
    assert "samesite=lax" in cookie.lower()
    assert "max-age=28800" in cookie.lower()
    assert browser.get("/cases").status_code == 200
    # The session cookie is not a bearer token: each kind is signed for its own purpose.
    value = browser.cookies[SESSION_COOKIE]
    assert site.client().get("/api/me", headers={"Authorization": f"Bearer {value}"}).status_code == 401


def test_tampered_session_cookie_is_logged_out(site: Site) -> None:
    browser = site.browser("emp_a")
    value = browser.cookies[SESSION_COOKIE]
    browser.cookies.clear()
    browser.cookies.set(SESSION_COOKIE, tamper(value))
    assert browser.get("/", follow_redirects=False).status_code == 303


def test_wrong_password_on_the_login_page(site: Site) -> None:
    browser = site.browser()
    r = browser.post("/login", data={"username": "emp_a", "password": "nope",
                                     "csrf_token": csrf_of(browser, "/login")}, follow_redirects=False)
    assert r.status_code == 401
    assert "用户名或密码错误" in r.text
    assert SESSION_COOKIE not in browser.cookies


def test_login_goes_back_only_to_a_local_page(site: Site) -> None:
    for target, expected in (("/cases?state=draft", "/cases?state=draft"), ("//evil.example/x", "/"),
                             ("https://evil.example/", "/"), ("/\\evil.example", "/")):
        browser = site.browser()
        r = browser.post("/login", data={"username": "emp_a", "password": PASSWORD, "next": target,
                                         "csrf_token": csrf_of(browser, "/login")}, follow_redirects=False)
        assert r.headers["location"] == expected, target


def test_forms_without_the_csrf_token_are_refused(site: Site) -> None:
    browser = site.browser()
    r = browser.post("/login", data={"username": "emp_a", "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 403
    browser = site.browser("emp_a")
    case_id = site.cases["a_review"]
    for token in ("", "forged-token"):
        r = browser.post(f"/cases/{case_id}/actions", data={"action": "employer_approve", "csrf_token": token})
        assert r.status_code == 403
    assert site.state("a_review") == "employer_review"
    # Another browser's (valid) token does not fit this browser's cookie.
    other = site.browser("emp_a")
    stolen = csrf_of(other, "/cases")
    fresh = site.browser("emp_a")
    r = fresh.post(f"/cases/{case_id}/actions", data={"action": "employer_approve", "csrf_token": stolen})
    assert r.status_code == 403
    assert site.state("a_review") == "employer_review"


def test_logout_ends_the_session(site: Site) -> None:
    browser = site.browser("emp_a")
    r = browser.post("/logout", data={"csrf_token": csrf_of(browser, "/")}, follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/login")
    assert browser.get("/", follow_redirects=False).status_code == 303


def test_cookies_are_secure_when_served_over_https(site: Site, db: Engine,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZCFLOW_SECURE_COOKIES", "1")
    client = TestClient(create_app(db, secret="test-secret"), base_url="https://testserver")
    r = client.post("/login", data={"username": "emp_a", "password": PASSWORD,
                                    "csrf_token": csrf_of(client, "/login")}, follow_redirects=False)
    cookies = r.headers.get_list("set-cookie")
    assert len(cookies) == 2 and all("secure" in c.lower() for c in cookies)
