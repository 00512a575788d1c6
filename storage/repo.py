"""Repositories: the SQL that reads and writes cases, history, bars and the outbox.

Write paths are single SQL statements guarded by a version check (compare-and-set), so that two
writers on one case never both succeed; reads return plain rows. Every function takes an open
connection and runs inside the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Row, and_, func, insert, select, update
from sqlalchemy.engine import Connection

from storage.tables import Applicant, Bar, Case, History, Notification, ScheduledEvent

cases = Case.__table__  # type: ignore[attr-defined]
history = History.__table__  # type: ignore[attr-defined]
applicants = Applicant.__table__  # type: ignore[attr-defined]
bars = Bar.__table__  # type: ignore[attr-defined]
notifications = Notification.__table__  # type: ignore[attr-defined]
scheduled_events = ScheduledEvent.__table__  # type: ignore[attr-defined]


def insert_applicant(conn: Connection, values: Mapping[str, Any]) -> int:
    result = conn.execute(insert(applicants).values(**values).returning(applicants.c.id))
    return int(result.scalar_one())


def insert_case(conn: Connection, values: Mapping[str, Any]) -> int:
    result = conn.execute(insert(cases).values(**values).returning(cases.c.id))
    return int(result.scalar_one())


def load_case(conn: Connection, case_id: int, *, for_update: bool = False) -> Row[Any] | None:
    stmt = select(cases).where(cases.c.id == case_id)
    if for_update and conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return conn.execute(stmt).first()


def cas_update_case(conn: Connection, case_id: int, expect_state: str, expect_version: int,
                    values: Mapping[str, Any]) -> bool:
    """Apply `values` and bump the version iff the case is still at (state, version)."""
    result = conn.execute(
        update(cases)
        .where(and_(cases.c.id == case_id, cases.c.state == expect_state, cases.c.version == expect_version))
        .values(version=cases.c.version + 1, **values)
    )
    return result.rowcount == 1


def insert_history(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        conn.execute(insert(history), list(rows))


def insert_notifications(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        conn.execute(insert(notifications), list(rows))


def insert_bar(conn: Connection, values: Mapping[str, Any]) -> None:
    conn.execute(insert(bars).values(**values))


def bars_for(conn: Connection, id_number: str) -> list[Row[Any]]:
    return list(conn.execute(select(bars).where(bars.c.id_number == id_number).order_by(bars.c.from_year)))


def active_case_of(conn: Connection, active_key: str) -> int | None:
    found = conn.execute(select(cases.c.id).where(cases.c.active_key == active_key)).scalar()
    return int(found) if found is not None else None


def case_history(conn: Connection, case_id: int) -> list[Row[Any]]:
    return list(conn.execute(select(history).where(history.c.case_id == case_id).order_by(history.c.seq)))


def case_notifications(conn: Connection, case_id: int) -> list[Row[Any]]:
    return list(conn.execute(
        select(notifications).where(notifications.c.case_id == case_id).order_by(notifications.c.id)
    ))


def list_cases(conn: Connection, *, policy_id: str | None = None, state: str | None = None,
               district: str | None = None, employer: str | None = None, search: str | None = None,
               limit: int = 200, offset: int = 0) -> list[Row[Any]]:
    stmt = select(cases)
    for column, value in ((cases.c.policy_id, policy_id), (cases.c.state, state),
                          (cases.c.district, district), (cases.c.employer, employer)):
        if value is not None:
            stmt = stmt.where(column == value)
    if search:
        stmt = stmt.where((cases.c.name == search) | (cases.c.id_number == search.upper()))
    return list(conn.execute(stmt.order_by(cases.c.id).limit(limit).offset(offset)))


def count_by_state(conn: Connection, policy_id: str | None = None) -> dict[str, int]:
    stmt = select(cases.c.state, func.count()).group_by(cases.c.state)
    if policy_id:
        stmt = stmt.where(cases.c.policy_id == policy_id)
    return {str(state): int(n) for state, n in conn.execute(stmt)}


def upsert_scheduled_events(conn: Connection, rows: Iterable[Mapping[str, Any]]) -> int:
    """Insert the round's due times that are not there yet (keyed by policy, kind and name)."""
    added = 0
    for row in rows:
        exists = conn.execute(select(scheduled_events.c.id).where(and_(
            scheduled_events.c.policy_id == row["policy_id"],
            scheduled_events.c.kind == row["kind"],
            scheduled_events.c.name == row["name"],
        ))).first()
        if exists is None:
            conn.execute(insert(scheduled_events).values(**row))
            added += 1
    return added


def utc(t: dt.datetime) -> dt.datetime:
    return t.astimezone(dt.UTC)
