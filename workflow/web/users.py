"""Web users: stored in `users`, passwords hashed with Argon2id (argon2-cffi).

Every change to a user (added, password changed or reset, scope set, disabled, enabled) is written
to the audit log in the same transaction (storage/audit.py). A password change, a reset and a
disable add one to the user's `auth_epoch`, which ends every session and token issued before.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from states.text import control_character
from storage.audit import record_audit
from storage.tables import User
from workflow.errors import InvalidInput, NotFound
from workflow.web.passwords import MAX_LENGTH, PasswordRejected, check_password
from workflow.web.scope import ScopeError, WebUser, parse_role, parse_scope
from workflow.web.token_cache import forget_users

users = User.__table__  # type: ignore[attr-defined]

_hasher = PasswordHasher()
# Verified against when the username is unknown, so that a wrong name costs as long as a wrong
# password and the response time does not tell which names exist.
_DUMMY_HASH = _hasher.hash("zcflow-no-such-user")

MAX_USERNAME = 64
MAX_PASSWORD = MAX_LENGTH


class UserExists(InvalidInput):
    pass


@dataclass(frozen=True)
class UserRecord:
    """A user as the admin page and `zcflow user list` show it."""

    user: WebUser
    created_at: dt.datetime
    disabled_at: dt.datetime | None

    @property
    def disabled(self) -> bool:
        return self.disabled_at is not None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_username(username: str) -> str:
    username = username.strip()
    if not username or len(username) > MAX_USERNAME or any(c.isspace() for c in username):
        raise InvalidInput(f"username: 1 to {MAX_USERNAME} characters, no spaces", field="username")
    found = control_character(username)
    if found is not None:
        raise InvalidInput(f"username: must not contain control characters ({found})", field="username")
    return username


def policy_password(password: str, username: str) -> str:
    try:
        return check_password(password, username)
    except PasswordRejected as exc:
        raise InvalidInput(str(exc), field="password") from None


def _role_and_scope(role: str, scope: dict[str, Any]) -> tuple[Any, Any]:
    for key, value in scope.items():
        for item in value if isinstance(value, list) else [value]:
            found = control_character(item) if isinstance(item, str) else None
            if found is not None:
                raise InvalidInput(f"scope.{key}: must not contain control characters ({found})", field=f"scope.{key}")
    try:
        parsed_role = parse_role(role)
        return parsed_role, parse_scope(parsed_role, scope)
    except ScopeError as exc:
        raise InvalidInput(str(exc), field=str(exc).split(":", 1)[0]) from None


def create_user(db: Engine, username: str, password: str, role: str, scope: dict[str, Any],
                now: dt.datetime, *, actor: str = "cli") -> WebUser:
    """Add a user; every problem is an InvalidInput naming the field."""
    username = check_username(username)
    policy_password(password, username)
    parsed_role, parsed_scope = _role_and_scope(role, scope)
    try:
        with db.begin() as conn:
            new_id = conn.execute(insert(users).values(
                username=username, password_hash=hash_password(password), role=parsed_role.value,
                scope=parsed_scope.to_json(), created_at=now,
            ).returning(users.c.id)).scalar_one()
            record_audit(conn, at=now, actor=actor, action="user_add", subject=username,
                         detail={"role": parsed_role.value, "scope": parsed_scope.to_json()})
    except IntegrityError:
        raise UserExists(f"username: user {username!r} already exists", field="username") from None
    return WebUser(int(new_id), username, parsed_role, parsed_scope)


def _as_web_user(row: Any) -> WebUser | None:
    """A stored row as a WebUser; None if its role or scope is no longer valid (it may not log in)."""
    try:
        role = parse_role(row.role)
        return WebUser(int(row.id), str(row.username), role, parse_scope(role, dict(row.scope or {})),
                       int(row.auth_epoch))
    except ScopeError:
        return None


def load_user(db: Engine, user_id: int, epoch: int | None = None) -> WebUser | None:
    """The user, if it exists, is enabled, and (when `epoch` is given) the session or token was issued
    under its current epoch: one primary-key lookup, on every request."""
    with db.connect() as conn:
        row = conn.execute(select(users).where(users.c.id == user_id)).first()
    if row is None or row.disabled_at is not None or (epoch is not None and row.auth_epoch != epoch):
        return None
    return _as_web_user(row)


def _verify(stored_hash: str, password: str) -> bool:
    try:
        _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    return True


def authenticate(db: Engine, username: str, password: str) -> WebUser | None:
    """The user if the password is right and the account enabled (Argon2: call it off the event loop)."""
    if len(password) > MAX_PASSWORD or len(username) > MAX_USERNAME or "\x00" in username + password:
        return None
    with db.connect() as conn:
        row = conn.execute(select(users).where(users.c.username == username.strip())).first()
    if row is None:
        _verify(_DUMMY_HASH, password)
        return None
    if not _verify(row.password_hash, password) or row.disabled_at is not None:
        return None
    return _as_web_user(row)


def _row(conn: Connection, username: str) -> Any:
    row = conn.execute(select(users).where(users.c.username == username.strip())).first()
    if row is None:
        raise NotFound(f"username: no user {username.strip()!r}", field="username")
    return row


def end_sessions(conn: Connection, user_id: int) -> None:
    """End every session and token of the user (logout does this; so do the changes below). The
    caller calls token_cache.forget_users() once its transaction has committed."""
    conn.execute(update(users).where(users.c.id == user_id).values(auth_epoch=users.c.auth_epoch + 1))


def change_password(db: Engine, username: str, new_password: str, now: dt.datetime, *, actor: str,
                    old_password: str | None = None) -> None:
    """Set a new password: the user's own change (give `old_password`, checked first) or an admin's
    reset. Either ends every session and token of the user."""
    with db.connect() as conn:
        row = _row(conn, username)
    if old_password is not None and not _verify(row.password_hash, old_password):
        raise InvalidInput("old_password: 原密码不正确", field="old_password")
    policy_password(new_password, row.username)
    new_hash = hash_password(new_password)
    with db.begin() as conn:
        conn.execute(update(users).where(users.c.id == row.id).values(password_hash=new_hash))
        end_sessions(conn, row.id)
        action = "user_password" if old_password is not None else "user_password_reset"
        record_audit(conn, at=now, actor=actor, action=action, subject=row.username)
    forget_users()


def set_disabled(db: Engine, username: str, disabled: bool, now: dt.datetime, *, actor: str) -> bool:
    """Disable (ending every session and token) or enable the user; False when it already was."""
    with db.begin() as conn:
        row = _row(conn, username)
        if (row.disabled_at is not None) == disabled:
            return False
        conn.execute(update(users).where(users.c.id == row.id).values(disabled_at=now if disabled else None))
        if disabled:
            end_sessions(conn, row.id)
        record_audit(conn, at=now, actor=actor, action="user_disable" if disabled else "user_enable",
                     subject=row.username)
    forget_users()
    return True


def set_scope(db: Engine, username: str, role: str, scope: dict[str, Any], now: dt.datetime, *,
              actor: str) -> WebUser:
    """Give the user a new role and scope (the next request sees it)."""
    parsed_role, parsed_scope = _role_and_scope(role, scope)
    with db.begin() as conn:
        row = _row(conn, username)
        conn.execute(update(users).where(users.c.id == row.id).values(role=parsed_role.value,
                                                                      scope=parsed_scope.to_json()))
        record_audit(conn, at=now, actor=actor, action="user_scope", subject=row.username,
                     detail={"role": parsed_role.value, "scope": parsed_scope.to_json(),
                             "was": {"role": row.role, "scope": dict(row.scope or {})}})
    forget_users()
    return WebUser(int(row.id), str(row.username), parsed_role, parsed_scope, int(row.auth_epoch))


def list_users(db: Engine) -> list[WebUser]:
    return [r.user for r in user_records(db)]


def user_records(db: Engine) -> list[UserRecord]:
    with db.connect() as conn:
        rows = conn.execute(select(users).order_by(users.c.username)).all()
    found = []
    for r in rows:
        user = _as_web_user(r)
        if user is not None:
            found.append(UserRecord(user, r.created_at, r.disabled_at))
    return found
