"""The imported calendar years' repository, and the hand-over of those years to the product's one
working-day calendar (`states.calendar.product_calendar()`).

Every process holds the years in memory together with the token of the set it loaded. The token
changes (a new random value) in the transaction of every import, so `sync_calendar` costs one read
of one row when nothing changed. On PostgreSQL an import holds an exclusive advisory lock until it
commits and a move that computes a due time takes the shared one before reading the token: a move
either sees the new years, or commits before the import's recompute reads the cases.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Row, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from states.calendar import CalendarYear, LayeredCalendar, product_calendar
from storage.repo import _execute
from storage.tables import CalendarRevision, CalendarYearRecord

calendar_years = CalendarYearRecord.__table__  # type: ignore[attr-defined]
calendar_revision = CalendarRevision.__table__  # type: ignore[attr-defined]

# Any constant (the migration lock is another): imports take it exclusively, due-time writers shared.
CALENDAR_LOCK = 7_460_212
_TOKEN_SQL = "SELECT token FROM calendar_revision WHERE id = 1"
_LOCKED_TOKEN_SQL = f"SELECT pg_advisory_xact_lock_shared({CALENDAR_LOCK}); {_TOKEN_SQL}"


def calendar_token(conn: Connection, *, shared_lock: bool = False) -> str:
    """The token of the imported years the database holds ("" before any import). With
    `shared_lock` on PostgreSQL, first wait for any import in progress to commit."""
    # Straight to the driver, like the rest of a move's statements (storage/repo.py). On PostgreSQL
    # the lock and the read go as one simple query (one round trip); each of its statements takes
    # its own snapshot under READ COMMITTED, so the read sees any import that held the lock.
    if shared_lock and conn.dialect.name == "postgresql":
        cursor = _execute(conn, _LOCKED_TOKEN_SQL, cast(Any, None))  # no parameters: the simple protocol
        cursor.nextset()
        found = cursor.fetchall()
    else:
        found = _execute(conn, _TOKEN_SQL, ()).fetchall()
    return str(found[0][0]) if found else ""


def load_years(conn: Connection) -> list[CalendarYear]:
    return [CalendarYear.from_data(r.days) for r in conn.execute(select(calendar_years.c.days))]


def sync_calendar(conn: Connection, *, shared_lock: bool = False) -> LayeredCalendar:
    """The product calendar, with the database's imported years installed if they changed."""
    cal = product_calendar()
    token = calendar_token(conn, shared_lock=shared_lock)
    if token != cal.token:
        cal.install(load_years(conn), token)
    return cal


def lock_for_import(conn: Connection) -> None:
    """Inside an import's transaction: one import at a time, and no move computing a due time
    meanwhile (PostgreSQL; SQLite's BEGIN IMMEDIATE already admits one writer)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({CALENDAR_LOCK})")


def new_token(conn: Connection) -> str:
    """Mark the imported years as changed (every process reloads them at its next check)."""
    token = uuid.uuid4().hex
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(calendar_revision).values(id=1, token=token)
    conn.execute(stmt.on_conflict_do_update(index_elements=["id"], set_={"token": token}))
    return token


def year_records(conn: Connection) -> Sequence[Row[Any]]:
    return conn.execute(select(calendar_years).order_by(calendar_years.c.year)).all()


def year_record(conn: Connection, year: int) -> Row[Any] | None:
    return conn.execute(select(calendar_years).where(calendar_years.c.year == year)).first()


def store_year(conn: Connection, year: CalendarYear, *, content: str, at: dt.datetime, actor: str,
               reason: str | None) -> None:
    """Insert or replace the year's row (inside the caller's transaction)."""
    values = {"status": year.status, "source": year.source, "days": year.to_data(), "content": content,
              "imported_at": at, "imported_by": actor[:100], "reason": reason}
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(calendar_years).values(year=year.year, **values)
    conn.execute(stmt.on_conflict_do_update(index_elements=["year"], set_=values))
