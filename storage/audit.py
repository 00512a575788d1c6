"""The audit log's repository: record an administrative act, and read them back filtered.

Case transitions are not recorded here: they are the `history` table. This log holds the acts
around them (users, lockouts, policy imports and amendments, calendar years), one row each, written
in the same transaction as the act itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Row, insert, select
from sqlalchemy.engine import Connection

from storage.tables import AuditEntry

audit_log = AuditEntry.__table__  # type: ignore[attr-defined]


def record_audit(conn: Connection, *, at: dt.datetime, actor: str, action: str, subject: str,
                 detail: Mapping[str, Any] | None = None) -> int:
    """Add one row inside the caller's transaction; returns its id."""
    row = conn.execute(insert(audit_log).values(at=at, actor=actor[:100], action=action, subject=subject[:200],
                                                detail=dict(detail or {})).returning(audit_log.c.id))
    return int(row.scalar_one())


def audit_entries(conn: Connection, *, actor: str | None = None, action: str | None = None,
                  subject: str | None = None, since: dt.datetime | None = None, until: dt.datetime | None = None,
                  limit: int = 200) -> Sequence[Row[Any]]:
    """The newest entries first, filtered by whichever arguments are given."""
    q = select(audit_log)
    if actor is not None:
        q = q.where(audit_log.c.actor == actor)
    if action is not None:
        q = q.where(audit_log.c.action == action)
    if subject is not None:
        q = q.where(audit_log.c.subject == subject)
    if since is not None:
        q = q.where(audit_log.c.at >= since)
    if until is not None:
        q = q.where(audit_log.c.at < until)
    return conn.execute(q.order_by(audit_log.c.at.desc(), audit_log.c.id.desc()).limit(limit)).all()
