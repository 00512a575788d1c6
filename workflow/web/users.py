"""Web users: stored in `users`, passwords hashed with Argon2id (argon2-cffi)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from storage.tables import User
from workflow.errors import InvalidInput
from workflow.web.scope import ScopeError, WebUser, parse_role, parse_scope

users = User.__table__  # type: ignore[attr-defined]

_hasher = PasswordHasher()
# Verified against when the username is unknown, so that a wrong name costs as long as a wrong
# password and the response time does not tell which names exist.
_DUMMY_HASH = _hasher.hash("zcflow-no-such-user")

MIN_PASSWORD = 8


class UserExists(InvalidInput):
    pass


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def create_user(db: Engine, username: str, password: str, role: str, scope: dict[str, Any],
                now: dt.datetime) -> WebUser:
    """Add a user; every problem is an InvalidInput naming the field."""
    username = username.strip()
    if not username or len(username) > 64 or any(c.isspace() for c in username):
        raise InvalidInput("username: 1 to 64 characters, no spaces", field="username")
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"password: at least {MIN_PASSWORD} characters", field="password")
    try:
        parsed_role = parse_role(role)
        parsed_scope = parse_scope(parsed_role, scope)
    except ScopeError as exc:
        raise InvalidInput(str(exc), field=str(exc).split(":", 1)[0]) from None
    try:
        with db.begin() as conn:
            new_id = conn.execute(insert(users).values(
                username=username, password_hash=hash_password(password), role=parsed_role.value,
                scope=parsed_scope.to_json(), created_at=now,
            ).returning(users.c.id)).scalar_one()
    except IntegrityError:
        raise UserExists(f"username: user {username!r} already exists", field="username") from None
    return WebUser(int(new_id), username, parsed_role, parsed_scope)


def _as_web_user(row: Any) -> WebUser | None:
    """A stored row as a WebUser; None if its role or scope is no longer valid (it may not log in)."""
    try:
        role = parse_role(row.role)
        return WebUser(int(row.id), str(row.username), role, parse_scope(role, dict(row.scope or {})))
    except ScopeError:
        return None


def load_user(db: Engine, user_id: int) -> WebUser | None:
    with db.connect() as conn:
        row = conn.execute(select(users).where(users.c.id == user_id)).first()
    return _as_web_user(row) if row is not None else None


def authenticate(db: Engine, username: str, password: str) -> WebUser | None:
    with db.connect() as conn:
        row = conn.execute(select(users).where(users.c.username == username.strip())).first()
    try:
        if row is None:
            _hasher.verify(_DUMMY_HASH, password)
            return None
        _hasher.verify(row.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    return _as_web_user(row)


def list_users(db: Engine) -> list[WebUser]:
    with db.connect() as conn:
        rows = conn.execute(select(users).order_by(users.c.username)).all()
    return [u for u in (_as_web_user(r) for r in rows) if u is not None]
