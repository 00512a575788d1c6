"""Who is asking: signed session cookies for pages, signed bearer tokens for the API.

Both are itsdangerous signatures over the user's id, the user's `auth_epoch` and a random id, with a
timestamp; each kind has its own salt, so a session cookie is not a bearer token and the other way
round. Expiry is checked against the wall clock by itsdangerous itself (not workflow.clock, which a
demo may run in simulated time). The user is loaded from the database (one primary-key lookup), and
the epoch must still be the user's: logout, a password change or reset and `user disable` add one to
it, which ends every session and token of that user; a deleted or disabled user is logged out too.
Pages look the user up on every request. A bearer token's answer is kept for a few seconds per
server process (workflow/web/token_cache.py): a revocation ends it at once in the process that made
it and within that bound in the others. The session's random id is what CSRF tokens are bound to.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from workflow.errors import WorkflowError
from workflow.web.scope import WebUser
from workflow.web.token_cache import TokenCache
from workflow.web.users import load_user

SESSION_COOKIE = "zcflow_session"
SECRET_ENV = "ZCFLOW_SECRET_KEY"


class Unauthenticated(WorkflowError):
    """No valid bearer token (the API answers 401; pages send the browser to /login instead)."""

    code = "unauthenticated"
    http_status = 401


class LoginRequired(Exception):
    """A page was asked for without a valid session: the browser goes to the login page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def secret_key(explicit: str | None = None) -> str:
    """The signing key: given, else $ZCFLOW_SECRET_KEY, else a random one for this process (then
    sessions and tokens end when it stops, and several `serve` processes need the variable set)."""
    return explicit or os.environ.get(SECRET_ENV) or secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Claims:
    """What a session cookie or bearer token says: whose, under which epoch, and its random id."""

    user_id: int
    epoch: int
    sid: str


@dataclass(frozen=True)
class Signer:
    secret: str
    session_ttl: dt.timedelta = dt.timedelta(hours=8)
    token_ttl: dt.timedelta = dt.timedelta(hours=8)

    def _serializer(self, salt: str) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(self.secret, salt=salt)

    def _read(self, salt: str, value: str, ttl: dt.timedelta) -> Claims | None:
        read = self._read_until(salt, value, ttl)
        return read[0] if read is not None else None

    def _read_until(self, salt: str, value: str, ttl: dt.timedelta) -> tuple[Claims, float] | None:
        """The claims and the wall-clock second after which the signature no longer holds."""
        max_age = int(ttl.total_seconds())
        try:
            data, signed_at = self._serializer(salt).loads(value, max_age=max_age, return_timestamp=True)
        except BadSignature:  # also SignatureExpired
            return None
        if not isinstance(data, dict):
            return None
        user_id, epoch, sid = data.get("u"), data.get("e"), data.get("s")
        if not (isinstance(user_id, int) and isinstance(epoch, int) and isinstance(sid, str)):
            return None
        # itsdangerous accepts a signature while its age in whole seconds is at most max_age.
        return Claims(user_id, epoch, sid), signed_at.timestamp() + max_age + 1

    def _issue(self, salt: str, user: WebUser) -> str:
        return str(self._serializer(salt).dumps({"u": user.id, "e": user.epoch, "s": secrets.token_urlsafe(16)}))

    def session(self, user: WebUser) -> str:
        return self._issue("zcflow.session", user)

    def read_session(self, value: str) -> Claims | None:
        return self._read("zcflow.session", value, self.session_ttl)

    def token(self, user: WebUser) -> str:
        return self._issue("zcflow.api-token", user)

    def read_token(self, value: str) -> Claims | None:
        return self._read("zcflow.api-token", value, self.token_ttl)

    def read_token_until(self, value: str) -> tuple[Claims, float] | None:
        """The token's claims and when it expires (wall clock, seconds since the epoch)."""
        return self._read_until("zcflow.api-token", value, self.token_ttl)

    def bind(self, purpose: str, value: str) -> str:
        """An HMAC of `value` under this key, for `purpose` (CSRF tokens bound to a session id)."""
        mac = hmac.new(self.secret.encode(), f"zcflow.{purpose}|{value}".encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(mac.digest()).decode().rstrip("=")

    def sign(self, purpose: str, value: str) -> str:
        return str(self._serializer(f"zcflow.{purpose}").dumps(value))

    def unsign(self, purpose: str, value: str, ttl: dt.timedelta) -> str | None:
        try:
            data = self._serializer(f"zcflow.{purpose}").loads(value, max_age=int(ttl.total_seconds()))
        except BadSignature:
            return None
        return data if isinstance(data, str) else None


def _db(request: Request) -> Engine:
    db: Engine = request.app.state.web.db
    return db


def _signer(request: Request) -> Signer:
    signer: Signer = request.app.state.web.signer
    return signer


bearer = HTTPBearer(auto_error=False, description="POST /api/token 取得的令牌 (a token from POST /api/token)")


async def api_user(request: Request,
                   credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> WebUser:
    """The token's user: from this process's token cache, else checked (signature, then the user's row,
    off the event loop) and remembered. Async, so that a remembered token costs no thread hop."""
    if credentials is None:
        raise Unauthenticated("missing bearer token: POST /api/token with username and password, then send "
                              "Authorization: Bearer <token>")
    token = credentials.credentials
    cache: TokenCache = request.app.state.web.tokens
    user = cache.get(token)
    if user is not None:
        return user
    generation = cache.generation
    read = _signer(request).read_token_until(token)
    if read is not None:
        claims, expires_at = read
        user = await run_in_threadpool(load_user, _db(request), claims.user_id, claims.epoch)
        if user is not None:
            cache.put(token, user, expires_at, generation)
    if user is None:
        raise Unauthenticated("the bearer token is invalid or has expired; ask POST /api/token for a new one")
    return user


def session_claims(request: Request) -> Claims | None:
    """The signed claims of the session cookie (not checked against the database)."""
    value = request.cookies.get(SESSION_COOKIE)
    return _signer(request).read_session(value) if value else None


def session_user(request: Request) -> WebUser | None:
    """The logged-in user (cached for the request: one lookup however often it is asked)."""
    if hasattr(request.state, "session_user"):
        cached: WebUser | None = request.state.session_user
        return cached
    claims = session_claims(request)
    user = load_user(_db(request), claims.user_id, claims.epoch) if claims is not None else None
    request.state.session_user = user
    return user


def page_user(request: Request) -> WebUser:
    user = session_user(request)
    if user is None:
        path = request.url.path
        if request.url.query:
            path += "?" + request.url.query
        raise LoginRequired(path)
    return user


ApiUser = Annotated[WebUser, Depends(api_user)]
PageUser = Annotated[WebUser, Depends(page_user)]
