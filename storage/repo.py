"""Repositories: the SQL that reads and writes cases, history, bars and the outbox.

Write paths are single SQL statements guarded by a version check (compare-and-set), so that two
writers on one case never both succeed; reads return plain rows. Every function takes an open
connection and runs inside the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Row, and_, bindparam, func, insert, select, update
from sqlalchemy.engine import Connection

from storage.tables import Applicant, Bar, Case, History, Notification, ScheduledEvent

cases = Case.__table__  # type: ignore[attr-defined]
history = History.__table__  # type: ignore[attr-defined]
applicants = Applicant.__table__  # type: ignore[attr-defined]
bars = Bar.__table__  # type: ignore[attr-defined]
notifications = Notification.__table__  # type: ignore[attr-defined]
scheduled_events = ScheduledEvent.__table__  # type: ignore[attr-defined]


# The hot paths use statements built once: building a statement object per call costs more than
# the database work itself (SQLAlchemy's coercion and cache-key generation).
_LOAD_CASE = select(cases).where(cases.c.id == bindparam("b_id"))
_LOAD_CASE_FOR_UPDATE = _LOAD_CASE.with_for_update()
_CAS_UPDATE = (
    update(cases)
    .where(and_(cases.c.id == bindparam("b_id"), cases.c.state == bindparam("b_state"),
                cases.c.version == bindparam("b_version")))
    .values(version=cases.c.version + 1)
)
_INSERT_HISTORY = insert(history)
_INSERT_NOTIFICATIONS = insert(notifications)
_ACTIVE_CASE = select(cases.c.id).where(cases.c.active_key == bindparam("b_key"))
_BARS_FOR = select(bars).where(bars.c.id_number == bindparam("b_id_number")).order_by(bars.c.from_year)
_INSERT_APPLICANT = insert(applicants).returning(applicants.c.id)
_INSERT_CASE = insert(cases).returning(cases.c.id)


def insert_applicant(conn: Connection, values: Mapping[str, Any]) -> int:
    return int(conn.execute(_INSERT_APPLICANT, dict(values)).scalar_one())


def insert_case(conn: Connection, values: Mapping[str, Any]) -> int:
    return int(conn.execute(_INSERT_CASE, dict(values)).scalar_one())


def load_case(conn: Connection, case_id: int, *, for_update: bool = False) -> Row[Any] | None:
    stmt = _LOAD_CASE_FOR_UPDATE if for_update and conn.dialect.name == "postgresql" else _LOAD_CASE
    return conn.execute(stmt, {"b_id": case_id}).first()


def cas_update_case(conn: Connection, case_id: int, expect_state: str, expect_version: int,
                    values: Mapping[str, Any]) -> bool:
    """Apply `values` and bump the version iff the case is still at (state, version)."""
    params = {"b_id": case_id, "b_state": expect_state, "b_version": expect_version, **values}
    return conn.execute(_CAS_UPDATE, params).rowcount == 1


def insert_history(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        conn.execute(_INSERT_HISTORY, list(rows))


def insert_notifications(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        conn.execute(_INSERT_NOTIFICATIONS, list(rows))


def insert_bar(conn: Connection, values: Mapping[str, Any]) -> None:
    conn.execute(insert(bars).values(**values))


def bars_for(conn: Connection, id_number: str) -> list[Row[Any]]:
    return list(conn.execute(_BARS_FOR, {"b_id_number": id_number}))


def active_case_of(conn: Connection, active_key: str) -> int | None:
    found = conn.execute(_ACTIVE_CASE, {"b_key": active_key}).scalar()
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
