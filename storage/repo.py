"""Repositories: the SQL that reads and writes cases, history, bars and the outbox.

Write paths are single SQL statements guarded by a version check (compare-and-set), so that two
writers on one case never both succeed; reads return plain rows. Every function takes an open
connection and runs inside the caller's transaction.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

from sqlalchemy import Row, and_, bindparam, func, insert, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from storage.tables import (
    OPEN_NOTICE_SQL,
    Applicant,
    AwareDateTime,
    Bar,
    Case,
    History,
    Notification,
    ScheduledEvent,
)

cases = Case.__table__  # type: ignore[attr-defined]
history = History.__table__  # type: ignore[attr-defined]
applicants = Applicant.__table__  # type: ignore[attr-defined]
bars = Bar.__table__  # type: ignore[attr-defined]
notifications = Notification.__table__  # type: ignore[attr-defined]
scheduled_events = ScheduledEvent.__table__  # type: ignore[attr-defined]


# Statements built once: building a statement object per call costs more than the database work.
_BARS_FOR = select(bars).where(bars.c.id_number == bindparam("b_id_number")).order_by(bars.c.from_year)


# ---- the hot path, at the driver level ----------------------------------------------------------
# A move (Workflow.fire) runs four statements: load the case, compare-and-set, history, outbox.
# Through SQLAlchemy's execution layer each costs 30–40 µs of Python, several times SQLite's own
# work, so these four go straight to the DBAPI cursor of the caller's connection — inside the
# caller's transaction — with the SQL text rendered once per dialect and the column types converted
# here exactly as AwareDateTime (UTC; naive text on SQLite) and JSON (json.dumps) would. Errors are
# raised as SQLAlchemy's (IntegrityError, …), as Connection.execute would raise them.

CASE_FIELDS: tuple[str, ...] = tuple(c.name for c in cases.columns)
_AWARE = {t.name: frozenset(c.name for c in t.columns if isinstance(c.type, AwareDateTime))
          for t in (cases, history, notifications)}
_JSON_FIELDS = frozenset({"data", "eligibility", "context"})
_KINDS = {**{(t, c): "time" for t, cols in _AWARE.items() for c in cols},
          **{(t, c): "json" for t in ("cases", "notifications") for c in _JSON_FIELDS}}
_CASE_TIMES = tuple(i for i, name in enumerate(CASE_FIELDS) if name in _AWARE["cases"])


class CaseRow(NamedTuple):
    """A row of `cases` as the hot path reads it: every column as an attribute, times aware (UTC).
    `data` and `eligibility` are decoded from their JSON when read (most moves never read them)."""

    id: int
    policy_id: str
    policy_version: int
    applicant_id: int
    id_number: str
    name: str
    state: str
    version: int
    active_key: str | None
    district: str | None
    employer: str | None
    specialty: str | None
    series: str | None
    level: str | None
    title: str | None
    committee: str | None
    return_stage: str | None
    notice_stage: str | None
    notice_opened_at: dt.datetime | None
    notice_closes_at: dt.datetime | None
    submitted_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    data_json: Any
    eligibility_json: Any

    @property
    def data(self) -> dict[str, Any]:
        return _decoded(self.data_json)

    @property
    def eligibility(self) -> dict[str, Any]:
        return _decoded(self.eligibility_json)

    @property
    def _mapping(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in CASE_FIELDS}


def _decoded(value: Any) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, str | bytes) else value  # type: ignore[no-any-return]


# The columns of `cases`, in table order, are CaseRow's fields (the JSON ones under another name).
assert CaseRow._fields == (*CASE_FIELDS[:-2], "data_json", "eligibility_json") and CASE_FIELDS[-2:] == (
    "data", "eligibility"), "storage.tables.Case and repo.CaseRow list different columns"


class Driver:
    """SQL text and value conversion for one dialect's DBAPI driver."""

    def __init__(self, dialect: str) -> None:
        self.sqlite = dialect == "sqlite"
        self.mark = "?" if self.sqlite else "%s"
        select_cols = ", ".join(CASE_FIELDS)
        self.load_case = f"SELECT {select_cols} FROM cases WHERE id = {self.mark}"
        self.load_case_for_update = self.load_case + ("" if self.sqlite else " FOR UPDATE")
        # A move's read also says whether any webhook receiver exists (CONTRACT §11), in the same
        # round trip: the event INSERT is then skipped, not run empty, where nobody listens.
        self.load_case_for_move = (f"SELECT {select_cols}, EXISTS (SELECT 1 FROM webhooks) "
                                   f"FROM cases WHERE id = {self.mark}")
        self._updates: dict[tuple[str, ...], str] = {}
        self._inserts: dict[tuple[str, tuple[str, ...]], str] = {}

    def to_db(self, table: str, name: str, value: Any) -> Any:
        if value is None:
            return None
        kind = _KINDS.get((table, name))
        if kind is None:
            return value
        if kind == "time":
            if value.tzinfo is None:
                raise ValueError("naive datetime given to an aware column")
            value = value.astimezone(dt.UTC)
            return value.replace(tzinfo=None).isoformat(" ", "microseconds") if self.sqlite else value
        return json.dumps(value)

    def case_from_db(self, row: Sequence[Any]) -> CaseRow:
        values = list(row)
        for i in _CASE_TIMES:
            t = values[i]
            if t is None:
                continue
            if isinstance(t, str):
                values[i] = dt.datetime.fromisoformat(t).replace(tzinfo=dt.UTC)
            else:
                values[i] = t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t.astimezone(dt.UTC)
        return CaseRow._make(values)

    @staticmethod
    def time_from_db(t: Any) -> Any:
        """A stored time as AwareDateTime reads it: aware, in UTC."""
        if t is None:
            return None
        if isinstance(t, str):
            return dt.datetime.fromisoformat(t).replace(tzinfo=dt.UTC)
        return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t.astimezone(dt.UTC)

    def cas_update(self, columns: tuple[str, ...]) -> str:
        sql = self._updates.get(columns)
        if sql is None:
            sets = "".join(f", {c} = {self.mark}" for c in columns)
            sql = (f"UPDATE cases SET version = version + 1{sets} "
                   f"WHERE id = {self.mark} AND state = {self.mark} AND version = {self.mark}")
            self._updates[columns] = sql
        return sql

    def insert(self, table: str, columns: tuple[str, ...]) -> str:
        sql = self._inserts.get((table, columns))
        if sql is None:
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([self.mark] * len(columns))})"
            self._inserts[(table, columns)] = sql
        return sql


_DRIVERS = {name: Driver(name) for name in ("sqlite", "postgresql")}


def driver_for(dialect: str) -> Driver:
    """The hot path's SQL and conversions for a dialect ("sqlite" or "postgresql")."""
    return _DRIVERS[dialect]


def _driver(conn: Connection) -> Driver:
    return _DRIVERS[conn.dialect.name]


def _execute(conn: Connection, sql: str, params: Sequence[Any], many: bool = False) -> Any:
    # One cursor per DBAPI connection, kept in its pool record (each statement's result is read
    # before the next one runs).
    info = conn.connection.info
    cursor = info.get("zcflow_cursor")
    if cursor is None:
        cursor = info["zcflow_cursor"] = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        if many:
            cursor.executemany(sql, params)
        else:
            cursor.execute(sql, params)
    except conn.dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(sql, params, exc, conn.dialect.loaded_dbapi.Error,
                                  dialect=conn.dialect) from exc
    return cursor


def execute_raw(conn: Connection, sql: str, params: Sequence[Any]) -> Any:
    """Run one statement at the driver level inside the caller's transaction (the hot path's way;
    SQL text with the dialect's own parameter mark: ? for SQLite, %s for PostgreSQL)."""
    return _execute(conn, sql, params)


@contextlib.contextmanager
def savepoint(conn: Connection) -> Iterator[Connection]:
    """A savepoint in the caller's transaction, straight at the driver (SQLAlchemy's `begin_nested`
    costs ~0.1 ms of its execution layer per statement, more than a move's own SQL): released when
    the block ends, rolled back to (and released) when it raises."""
    _execute(conn, "SAVEPOINT zcflow_move", ())
    try:
        yield conn
    except BaseException:
        _execute(conn, "ROLLBACK TO SAVEPOINT zcflow_move", ())
        _execute(conn, "RELEASE SAVEPOINT zcflow_move", ())
        raise
    _execute(conn, "RELEASE SAVEPOINT zcflow_move", ())


_INSERT_APPLICANTS = insert(applicants).returning(applicants.c.id, sort_by_parameter_order=True)
_INSERT_CASES = insert(cases).returning(cases.c.id, sort_by_parameter_order=True)


def insert_applicants(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Insert many applicants with multi-row INSERTs; their ids, in the order given."""
    return [int(i) for i in conn.execute(_INSERT_APPLICANTS, [dict(r) for r in rows]).scalars()] if rows else []


def insert_cases(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Insert many cases with multi-row INSERTs; their ids, in the order given."""
    return [int(i) for i in conn.execute(_INSERT_CASES, [dict(r) for r in rows]).scalars()] if rows else []


def load_case(conn: Connection, case_id: int, *, for_update: bool = False) -> CaseRow | None:
    d = _driver(conn)
    # fetchall, not fetchone: the statement runs to its end, so the kept cursor holds no read open.
    found = _execute(conn, d.load_case_for_update if for_update else d.load_case, (case_id,)).fetchall()
    return d.case_from_db(found[0]) if found else None


def load_cases(conn: Connection, case_ids: Iterable[int]) -> list[CaseRow]:
    """Many cases by id (in no particular order), read as `load_case` reads one: the outbox renders
    a batch's messages from them, and SQLAlchemy's result processing of 25 columns (two of them
    JSON, five times) cost more than the query."""
    d = _driver(conn)
    return [d.case_from_db(row) for row in _rows_by_id(conn, f"SELECT {', '.join(CASE_FIELDS)} FROM cases", case_ids)]


def _rows_by_id(conn: Connection, select_from: str, ids: Iterable[int], chunk: int = 1000) -> list[Any]:
    """The driver's rows of `SELECT … FROM table` for these ids, `chunk` bound ids a statement."""
    mark = _driver(conn).mark
    wanted = list(ids)
    rows: list[Any] = []
    for i in range(0, len(wanted), chunk):
        part = wanted[i:i + chunk]
        rows += _execute(conn, f"{select_from} WHERE id IN ({', '.join([mark] * len(part))})", part).fetchall()
    return rows


class OutboxRow(NamedTuple):
    """What rendering reads of a `notifications` row (notifications/outbox.py), times aware (UTC)."""

    id: int
    case_id: int | None
    template: str
    channel: str
    recipient_role: str
    recipient: str | None
    context: Any
    created_at: dt.datetime


_OUTBOX_FIELDS = ", ".join(OutboxRow._fields)


def load_outbox_rows(conn: Connection, ids: Iterable[int]) -> list[OutboxRow]:
    """Many outbox rows by id (in no particular order), at the driver level like `load_cases`."""
    d = _driver(conn)
    return [OutboxRow(row[0], row[1], row[2], row[3], row[4], row[5],
                      _decoded(row[6]) if row[6] is not None else None, d.time_from_db(row[7]))
            for row in _rows_by_id(conn, f"SELECT {_OUTBOX_FIELDS} FROM notifications", ids)]


def load_case_for_move(conn: Connection, case_id: int) -> tuple[CaseRow | None, bool]:
    """The case, and whether any webhook receiver exists (one statement)."""
    d = _driver(conn)
    found = _execute(conn, d.load_case_for_move, (case_id,)).fetchall()
    if not found:
        return None, False
    return d.case_from_db(found[0][:-1]), bool(found[0][-1])


def cas_update_case(conn: Connection, case_id: int, expect_state: str, expect_version: int,
                    values: Mapping[str, Any]) -> bool:
    """Apply `values` and bump the version iff the case is still at (state, version)."""
    d = _driver(conn)
    columns = tuple(values)
    params = [d.to_db("cases", c, values[c]) for c in columns]
    params += [case_id, expect_state, expect_version]
    return int(_execute(conn, d.cas_update(columns), params).rowcount) == 1


def _insert_rows(conn: Connection, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
    d = _driver(conn)
    columns = tuple(rows[0])
    if any(tuple(r) != columns for r in rows[1:]):
        for r in rows:
            _insert_rows(conn, table, [r])
        return
    params = [[d.to_db(table, c, r[c]) for c in columns] for r in rows]
    sql = d.insert(table, columns)
    if len(params) == 1:
        _execute(conn, sql, params[0])
    else:
        _execute(conn, sql, params, many=True)


def insert_history(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        _insert_rows(conn, "history", rows)


def insert_notifications(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        _insert_rows(conn, "notifications", rows)


def insert_bar(conn: Connection, values: Mapping[str, Any]) -> None:
    conn.execute(insert(bars).values(**values))


def bars_for(conn: Connection, id_number: str) -> list[Row[Any]]:
    return list(conn.execute(_BARS_FOR, {"b_id_number": id_number}))


def bar_years(conn: Connection, id_number: str) -> list[tuple[int, int]]:
    """The (from_year, to_year) of the person's fraud bars, earliest first (a submit's check, at the
    driver level like the rest of a move)."""
    mark = _driver(conn).mark
    rows = _execute(conn, f"SELECT from_year, to_year FROM bars WHERE id_number = {mark} ORDER BY from_year",
                    (id_number,)).fetchall()
    return [(int(a), int(b)) for a, b in rows]


def active_case_of(conn: Connection, active_key: str) -> int | None:
    """The case holding `active_key`, if any (at the driver level like the rest of a move)."""
    found = _execute(conn, f"SELECT id FROM cases WHERE active_key = {_driver(conn).mark}", (active_key,)).fetchall()
    return int(found[0][0]) if found else None


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


def overdue_notices(conn: Connection, district: str, now: dt.datetime, limit: int = 50) -> list[Row[Any]]:
    """The district's cases whose public notice should have closed by `now` but is still open (the
    scheduler is behind), longest overdue first — from the partial index ix_cases_overdue_notices."""
    stmt = (select(cases.c.id, cases.c.policy_id, cases.c.name, cases.c.state, cases.c.employer,
                   cases.c.notice_closes_at)
            .where(and_(text(OPEN_NOTICE_SQL), cases.c.district == district, cases.c.notice_closes_at <= now))
            .order_by(cases.c.notice_closes_at, cases.c.id).limit(limit))
    return list(conn.execute(stmt))


def count_by_state(conn: Connection, policy_id: str | None = None) -> dict[str, int]:
    stmt = select(cases.c.state, func.count()).group_by(cases.c.state)
    if policy_id:
        stmt = stmt.where(cases.c.policy_id == policy_id)
    return {str(state): int(n) for state, n in conn.execute(stmt)}


def upsert_scheduled_events(conn: Connection, rows: Iterable[Mapping[str, Any]]) -> int:
    """Insert the round's due times that are not there yet (keyed by policy, kind and name).

    Every scheduler and web process does this at start-up, several at once on PostgreSQL, so it is
    one INSERT … ON CONFLICT DO NOTHING per row, never check-then-insert."""
    from sqlalchemy.dialects import postgresql, sqlite

    keys = ["policy_id", "kind", "name"]
    stmt: Any = (postgresql.insert(scheduled_events).on_conflict_do_nothing(index_elements=keys)
                 if conn.dialect.name == "postgresql"
                 else sqlite.insert(scheduled_events).on_conflict_do_nothing(index_elements=keys))
    added = 0
    for row in rows:
        added += conn.execute(stmt, dict(row)).rowcount
    return added
