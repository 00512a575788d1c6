"""CSRF protection for the pages' forms: tokens bound to the session.

Every form the server renders carries a token in a hidden field (htmx sends it as the X-CSRF-Token
header); a POST is accepted only with the right one. For a logged-in browser the token is an HMAC,
under the app's key, of the session's random id (inside the signed session cookie): it is good for
that session only, so a cookie and token pair planted from another session does not pass, and
logging in gives new ones. Before login (the login form itself) the browser holds a random token
in an HttpOnly, SameSite=Lax cookie signed with the app's key, and the form must repeat it. The
API takes bearer tokens, never cookies, and so needs no CSRF token.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets

from fastapi import Request, Response

from workflow.web.auth import Signer, session_claims

CSRF_COOKIE = "zcflow_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
CSRF_TTL = dt.timedelta(days=7)


class CsrfFailed(Exception):
    """A form came without the token the server gave it (a forged or stale form)."""


def _signer(request: Request) -> Signer:
    signer: Signer = request.app.state.web.signer
    return signer


def _bound(request: Request) -> str | None:
    """The token bound to this request's session, if it has a (validly signed) one."""
    claims = session_claims(request)
    return _signer(request).bind("csrf", claims.sid) if claims is not None else None


def csrf_token(request: Request) -> str:
    """This browser's token: bound to its session, or before login a random one (a new one if it
    has none yet; :func:`set_cookie` stores it)."""
    cached = getattr(request.state, "csrf_token", None)
    if isinstance(cached, str):
        return cached
    bound = _bound(request)
    if bound is not None:
        request.state.csrf_token = bound
        return bound
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
    """Raise CsrfFailed unless `submitted` (the form field or header) is this session's token (before
    login: the cookie's token)."""
    expected = _bound(request)
    if expected is None:
        cookie = request.cookies.get(CSRF_COOKIE)
        expected = _signer(request).unsign("csrf", cookie, CSRF_TTL) if cookie else None
    given = submitted or request.headers.get(CSRF_HEADER)
    if not expected or not given or not hmac.compare_digest(expected.encode(), given.encode()):
        raise CsrfFailed("表单已失效或来源不明，请刷新页面后重试")
