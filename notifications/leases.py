"""Claiming due rows of a delivery table (the outbox, webhook events) under a lease.

A row is due while it is `pending`, or `sending` with its lease run out (the process that claimed it
died); a claim sets it `sending`, counts the attempt and leases it until `now + lease`. The attempt
count it returns is what the later mark checks, so a run whose lease was taken over marks nothing.
On PostgreSQL, rows another run has locked are skipped rather than waited for.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Table, and_, or_, select, update
from sqlalchemy.engine import Connection


def due(table: Table, now: dt.datetime) -> Any:
    return and_(table.c.status.in_(("pending", "sending")),
                or_(table.c.next_attempt_at.is_(None), table.c.next_attempt_at <= now))


def claim_due(conn: Connection, table: Table, now: dt.datetime, size: int, lease: dt.timedelta,
              *where: Any) -> list[tuple[int, int]]:
    """Claim up to `size` due rows that also meet `where`, oldest due first: (id, attempts after
    this claim), by id."""
    stmt = (select(table.c.id).where(and_(due(table, now), *where))
            .order_by(table.c.next_attempt_at, table.c.id).limit(size))
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, of=table)
    ids = [int(r.id) for r in conn.execute(stmt)]
    if not ids:
        return []
    result = conn.execute(
        update(table).where(and_(table.c.id.in_(ids), due(table, now)))
        .values(status="sending", attempts=table.c.attempts + 1, next_attempt_at=now + lease)
        .returning(table.c.id, table.c.attempts))
    return sorted((int(r.id), int(r.attempts)) for r in result)
