"""Findings: a 100 MB JSON body to /api/token was buffered whole before its 422; /openapi.json and
/docs answered without a login (CONTRACT §8); there was no Content-Security-Policy and no HSTS.
Now: bodies over 1 MB get 413 before they are read (a route may allow more with `max_body`), the API
description needs a login unless published, and every page carries a CSP fitted to the vendored
scripts (inline ones only with the request's nonce), plus HSTS behind HTTPS."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import Request
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests.web_support import Site
from workflow.web import create_app
from workflow.web.middleware import DEFAULT_MAX_BODY, MB, max_body


@pytest.fixture
def site(db: Engine, monkeypatch: pytest.MonkeyPatch) -> Site:
    return Site.build(db, monkeypatch)


def test_a_declared_body_over_1_mb_is_413_before_it_is_read(site: Site) -> None:
    read: list[int] = []

    def body() -> Iterator[bytes]:
        for _ in range(100):  # 100 MB if it were all read
            read.append(1)
            yield b"x" * MB

    client = site.client()
    r = client.post("/api/token", content=b"{" + b" " * (DEFAULT_MAX_BODY + 1) + b"}",
                    headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["error"] == "payload_too_large"
    r = client.post("/api/token", content=body(), headers={"content-type": "application/json",
                                                            "content-length": str(100 * MB)})
    assert r.status_code == 413
    assert len(read) <= 1  # the test client may pull the first chunk; nothing more is read


def test_a_chunked_body_is_cut_off_at_the_limit(site: Site) -> None:
    pulled: list[int] = []

    def body() -> Iterator[bytes]:
        for i in range(100):
            pulled.append(i)
            yield b" " * (256 * 1024)

    r = site.client().post("/api/token", content=body(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    browser = site.browser("emp_a")
    r = browser.post("/logout", content=body(), headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413 and "请求过大" in r.text


def test_a_route_can_allow_a_larger_body(db: Engine) -> None:
    app = create_app(db, secret="x")

    @app.post("/api/uploads-test")
    @max_body(3 * MB)
    async def upload(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    client = TestClient(app)
    assert client.post("/api/uploads-test", content=b"x" * (2 * MB)).json() == {"bytes": 2 * MB}
    assert client.post("/api/uploads-test", content=b"x" * (3 * MB + 1)).status_code == 413
    assert client.post("/api/token", content=b"x" * (2 * MB)).status_code == 413  # others keep 1 MB


def test_the_api_description_needs_a_login(site: Site, db: Engine) -> None:
    anonymous = site.client()
    assert anonymous.get("/openapi.json").status_code == 401
    r = anonymous.get("/docs", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=%2Fdocs")
    assert site.api("emp_a", "GET", "/openapi.json").status_code == 200
    browser = site.browser("emp_a")
    assert browser.get("/openapi.json").status_code == 200 and browser.get("/docs").status_code == 200
    published = TestClient(create_app(db, secret="x", publish_api_docs=True))
    assert published.get("/openapi.json").status_code == 200 and published.get("/docs").status_code == 200


def csp(r: object) -> dict[str, str]:
    header = r.headers["content-security-policy"]  # type: ignore[attr-defined]
    return {part.split()[0]: part for part in (p.strip() for p in header.split(";"))}


def test_pages_carry_a_csp_fitted_to_the_vendored_scripts(site: Site) -> None:
    browser = site.browser("admin")
    for path in ("/", "/cases", "/policies/hz-recognition-2025h1", "/docs", "/login"):
        r = browser.get(path)
        assert r.status_code == 200, path
        policy = csp(r)
        nonce = re.search(r"'nonce-([^']+)'", policy["script-src"])
        assert nonce and policy["script-src"] == f"script-src 'self' 'nonce-{nonce[1]}'"
        assert policy["object-src"] == "object-src 'none'" and policy["frame-ancestors"] == "frame-ancestors 'none'"
        # Every script is this server's own file or carries this answer's nonce; no inline handlers.
        for tag in re.findall(r"<script[^>]*>", r.text):
            assert 'src="/static/' in tag or f'nonce="{nonce[1]}"' in tag, (path, tag)
        assert not re.search(r"\son[a-z]+=", r.text), path
    first, second = csp(browser.get("/"))["script-src"], csp(browser.get("/"))["script-src"]
    assert first != second  # a fresh nonce per answer
    assert "strict-transport-security" not in browser.get("/").headers


def test_hsts_when_cookies_are_secure(db: Engine) -> None:
    client = TestClient(create_app(db, secret="x", secure_cookies=True), base_url="https://testserver")
    assert client.get("/login").headers["strict-transport-security"] == "max-age=31536000"
