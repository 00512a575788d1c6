"""Who is asking: signed session cookies for pages, signed bearer tokens for the API.

Both are itsdangerous signatures over the user's id with a timestamp; each kind has its own salt,
so a session cookie is not a bearer token and the other way round. Expiry is checked against the
wall clock by itsdangerous itself (not workflow.clock, which a demo may run in simulated time).
The user is loaded from the database on every request, so a deleted user is logged out at once.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.engine import Engine

from workflow.errors import WorkflowError
from workflow.web.scope import WebUser
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
class Signer:
    secret: str
    session_ttl: dt.timedelta = dt.timedelta(hours=8)
    token_ttl: dt.timedelta = dt.timedelta(hours=8)

    def _serializer(self, salt: str) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(self.secret, salt=salt)

    def _read(self, salt: str, value: str, ttl: dt.timedelta) -> int | None:
        try:
            data = self._serializer(salt).loads(value, max_age=int(ttl.total_seconds()))
        except BadSignature:  # also SignatureExpired
            return None
        user_id = data.get("u") if isinstance(data, dict) else None
        return user_id if isinstance(user_id, int) else None

    def session(self, user: WebUser) -> str:
        return str(self._serializer("zcflow.session").dumps({"u": user.id}))

    def read_session(self, value: str) -> int | None:
        return self._read("zcflow.session", value, self.session_ttl)

    def token(self, user: WebUser) -> str:
        return str(self._serializer("zcflow.api-token").dumps({"u": user.id}))

    def read_token(self, value: str) -> int | None:
        return self._read("zcflow.api-token", value, self.token_ttl)

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


def api_user(request: Request,
             credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> WebUser:
    if credentials is None:
        raise Unauthenticated("missing bearer token: POST /api/token with username and password, then send "
                              "Authorization: Bearer <token>")
    user_id = _signer(request).read_token(credentials.credentials)
    user = load_user(_db(request), user_id) if user_id is not None else None
    if user is None:
        raise Unauthenticated("the bearer token is invalid or has expired; ask POST /api/token for a new one")
    return user


def session_user(request: Request) -> WebUser | None:
    value = request.cookies.get(SESSION_COOKIE)
    user_id = _signer(request).read_session(value) if value else None
    return load_user(_db(request), user_id) if user_id is not None else None


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
