"""CSRF protection for the pages' forms: a signed double-submit token.

The browser holds a random token in an HttpOnly, SameSite=Lax cookie, signed with the app's key;
every form the server renders carries the same token in a hidden field (htmx sends it as the
X-CSRF-Token header). A POST is accepted only when the two match. Another site can neither read
the cookie nor forge a signed one, so it cannot make a form that passes. The API takes bearer
tokens, never cookies, and so needs no CSRF token.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets

from fastapi import Request, Response

from workflow.web.auth import Signer

CSRF_COOKIE = "zcflow_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
CSRF_TTL = dt.timedelta(days=7)


class CsrfFailed(Exception):
    """A form came without the token the server gave it (a forged or stale form)."""


def _signer(request: Request) -> Signer:
    signer: Signer = request.app.state.web.signer
    return signer


def csrf_token(request: Request) -> str:
    """This browser's token (a new one if it has none yet; :func:`set_cookie` stores it)."""
    cached = getattr(request.state, "csrf_token", None)
    if isinstance(cached, str):
        return cached
    cookie = request.cookies.get(CSRF_COOKIE)
    token = _signer(request).unsign("csrf", cookie, CSRF_TTL) if cookie else None
    request.state.csrf_new = token is None
    if token is None:
        token = secrets.token_urlsafe(32)
    request.state.csrf_token = token
    return token


def set_cookie(request: Request, response: Response, *, secure: bool, rotate: bool = False) -> None:
    """Store the token in the browser if it is new (or, with `rotate`, replace it: after login)."""
    if rotate:
        request.state.csrf_token = secrets.token_urlsafe(32)
        request.state.csrf_new = True
    token = csrf_token(request)
    if getattr(request.state, "csrf_new", False):
        response.set_cookie(CSRF_COOKIE, _signer(request).sign("csrf", token),
                            max_age=int(CSRF_TTL.total_seconds()), httponly=True, samesite="lax",
                            secure=secure, path="/")


def check(request: Request, submitted: str | None) -> None:
    """Raise CsrfFailed unless `submitted` (the form field or header) matches the cookie's token."""
    cookie = request.cookies.get(CSRF_COOKIE)
    expected = _signer(request).unsign("csrf", cookie, CSRF_TTL) if cookie else None
    given = submitted or request.headers.get(CSRF_HEADER)
    if not expected or not given or not hmac.compare_digest(expected.encode(), given.encode()):
        raise CsrfFailed("表单已失效或来源不明，请刷新页面后重试")
