"""Idempotency keys' repository (CONTRACT §11): a key's row holds its request's hash and its first
answer; it is inserted in the transaction of the request's own effect (workflow/web/idempotency.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Row, and_, delete, insert, select, update
from sqlalchemy.engine import Connection

from storage.tables import IdempotencyKey

idempotency_keys = IdempotencyKey.__table__  # type: ignore[attr-defined]
UNIQUE_NAME = "uq_idempotency_keys_user_key"


def stored(conn: Connection, user_id: int, key: str, now: dt.datetime) -> Row[Any] | None:
    """The key's row if it has not expired."""
    return conn.execute(select(idempotency_keys).where(and_(
        idempotency_keys.c.user_id == user_id, idempotency_keys.c.key == key,
        idempotency_keys.c.expires_at > now))).first()


def claim(conn: Connection, user_id: int, key: str, request_hash: str, now: dt.datetime, ttl: dt.timedelta) -> int:
    """Insert the key's row (answer still empty), dropping an expired one first. A concurrent holder of
    the same key makes this wait for its commit and then fail with IntegrityError (UNIQUE_NAME)."""
    conn.execute(delete(idempotency_keys).where(and_(
        idempotency_keys.c.user_id == user_id, idempotency_keys.c.key == key, idempotency_keys.c.expires_at <= now)))
    return int(conn.execute(insert(idempotency_keys).values(
        user_id=user_id, key=key, request_hash=request_hash, status_code=0, response={}, created_at=now,
        expires_at=now + ttl).returning(idempotency_keys.c.id)).scalar_one())


def answer(conn: Connection, row_id: int, status_code: int, response: dict[str, Any]) -> None:
    conn.execute(update(idempotency_keys).where(idempotency_keys.c.id == row_id).values(
        status_code=status_code, response=response))


def purge_expired(conn: Connection, now: dt.datetime) -> int:
    """Delete every expired key (the scheduler's delivery job does this now and then)."""
    return int(conn.execute(delete(idempotency_keys).where(idempotency_keys.c.expires_at <= now)).rowcount)
