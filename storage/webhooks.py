"""Webhook receivers and their events: the SQL (CONTRACT §11).

An event row is written in the transaction of the transition it reports, one per receiver that
listens to the case's policy: by :func:`insert_for_move` on the engine's hot path (one INSERT …
SELECT over `webhooks`, which adds no row when no receiver listens), and by
:func:`insert_for_batch` in the scheduler's set-based sweeps (one INSERT … SELECT per batch).
`event_id` is "<case>-<seq>": the transition's own name, the same for every receiver and retry.
Delivery (notifications/webhooks.py) claims, sends and marks them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, String, and_, cast, delete, func, insert, literal, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from storage import repo
from storage.tables import Webhook, WebhookEvent

webhooks = Webhook.__table__  # type: ignore[attr-defined]
webhook_events = WebhookEvent.__table__  # type: ignore[attr-defined]
cases = repo.cases

EVENT_STATUSES = ("pending", "sending", "sent", "failed")
EVENT_COLUMNS = ["webhook_id", "event_id", "case_id", "seq", "action", "from_state", "to_state", "at", "policy_id",
                 "status", "attempts", "next_attempt_at", "created_at"]


def event_id(case_id: int, seq: int) -> str:
    return f"{case_id}-{seq}"


def policies_text(policy_ids: Sequence[str]) -> str | None:
    """How a receiver's policy filter is stored: None for every policy, else ",a,b,"."""
    return f",{','.join(policy_ids)}," if policy_ids else None


def policies_of(stored: str | None) -> list[str]:
    return [p for p in (stored or "").split(",") if p]


def _listens(conn: Connection | str, policy: Any) -> ColumnElement[bool]:
    """The receivers that listen to `policy` (a column or a value): no filter, or it is named. `conn`
    is a connection or its dialect's name."""
    dialect = conn if isinstance(conn, str) else conn.dialect.name
    needle = literal(",") + policy + literal(",")
    found = (func.strpos(webhooks.c.policies, needle) if dialect == "postgresql"
             else func.instr(webhooks.c.policies, needle))
    return or_(webhooks.c.policies.is_(None), found > 0)


# ---- writing, in the transition's transaction ----------------------------------------------------

_MOVE_SQL: dict[str, str] = {}


def _move_sql(dialect: str) -> str:
    sql = _MOVE_SQL.get(dialect)
    if sql is None:
        m = "?" if dialect == "sqlite" else "%s"
        found = "instr(policies, {m}) > 0" if dialect == "sqlite" else "strpos(policies, {m}) > 0"
        sql = (f"INSERT INTO webhook_events ({', '.join(EVENT_COLUMNS)}) "
               f"SELECT id, {', '.join([m] * 8)}, 'pending', 0, {m}, {m} FROM webhooks "
               f"WHERE policies IS NULL OR {found.format(m=m)}")
        _MOVE_SQL[dialect] = sql
    return sql


def insert_for_move(conn: Connection, *, case_id: int, seq: int, action: str, from_state: str, to_state: str,
                    at: dt.datetime, policy_id: str) -> None:
    """The events of one transition (the engine's hot path: one statement at the driver level)."""
    d = repo.driver_for(conn.dialect.name)
    when = d.to_db("history", "at", at)
    repo.execute_raw(conn, _move_sql(conn.dialect.name), (
        event_id(case_id, seq), case_id, seq, action, from_state, to_state, when, policy_id, when, when,
        f",{policy_id},"))


def insert_for_batch(conn: Connection, where: Any, *, seq: Any, action: str, from_state: Any, to_state: str,
                     at: Any, source: Any = None) -> None:
    """The events of a set-based move: one row per case selected by `where` (from `source`, default
    `cases`, whose id, policy and state columns it reads) and per receiver listening to its policy.
    `seq`, `from_state` and `at` are columns or values; written before the cases' own UPDATE."""
    conn.execute(batch_insert(conn.dialect.name, where, seq=seq, action=action, from_state=from_state,
                              to_state=to_state, at=at, source=source))


def batch_insert(dialect: str, where: Any, *, seq: Any, action: str, from_state: Any, to_state: str, at: Any,
                 source: Any = None) -> Any:
    """:func:`insert_for_batch`'s statement, for a caller that builds it once and runs it many times."""
    src = cases if source is None else source
    seq_text = cast(seq, String)
    return insert(webhook_events).from_select(EVENT_COLUMNS, select(
        webhooks.c.id, cast(src.c.id, String) + literal("-") + seq_text, src.c.id, seq, literal(action),
        from_state, literal(to_state), at, src.c.policy_id, literal("pending"), literal(0), at, at,
    ).select_from(src.join(webhooks, _listens(dialect, src.c.policy_id))).where(where))


def insert_for_batch_cte(conn: Connection, moved: Any, *, action: str, to_state: str, at: Any) -> Any:
    """The same as a data-modifying CTE over `moved` (an UPDATE … RETURNING id, version, from_state,
    policy_id): PostgreSQL's one-statement expiry sweep (workflow/deadlines.py)."""
    return insert(webhook_events).from_select(EVENT_COLUMNS, select(
        webhooks.c.id, cast(moved.c.id, String) + literal("-") + cast(moved.c.version, String), moved.c.id,
        moved.c.version, literal(action), moved.c.from_state, literal(to_state), at, moved.c.policy_id,
        literal("pending"), literal(0), at, at,
    ).select_from(moved.join(webhooks, _listens(conn, moved.c.policy_id)))).cte("hooked")


# ---- receivers ------------------------------------------------------------------------------------

def add_webhook(conn: Connection, url: str, secret: str, policy_ids: Sequence[str], now: dt.datetime) -> int:
    return int(conn.execute(insert(webhooks).values(
        url=url, secret=secret, policies=policies_text(policy_ids), created_at=now).returning(webhooks.c.id))
        .scalar_one())


def list_webhooks(conn: Connection) -> list[Row[Any]]:
    return list(conn.execute(select(webhooks).order_by(webhooks.c.id)))


def get_webhook(conn: Connection, webhook_id: int) -> Row[Any] | None:
    return conn.execute(select(webhooks).where(webhooks.c.id == webhook_id)).first()


def remove_webhook(conn: Connection, webhook_id: int) -> int | None:
    """Delete a receiver and its undelivered and delivered events; None if there is none."""
    if get_webhook(conn, webhook_id) is None:
        return None
    dropped = conn.execute(delete(webhook_events).where(webhook_events.c.webhook_id == webhook_id)).rowcount
    conn.execute(delete(webhooks).where(webhooks.c.id == webhook_id))
    return int(dropped)


def event_counts(conn: Connection) -> dict[tuple[int, str], int]:
    """(receiver, status) → events."""
    rows = conn.execute(select(webhook_events.c.webhook_id, webhook_events.c.status, func.count())
                        .group_by(webhook_events.c.webhook_id, webhook_events.c.status))
    return {(int(w), str(s)): int(n) for w, s, n in rows}


def list_events(conn: Connection, *, webhook_id: int | None = None, status: str | None = None,
                case_id: int | None = None, limit: int = 200) -> list[Row[Any]]:
    stmt = select(webhook_events)
    for column, value in ((webhook_events.c.webhook_id, webhook_id), (webhook_events.c.status, status),
                          (webhook_events.c.case_id, case_id)):
        if value is not None:
            stmt = stmt.where(column == value)
    return list(conn.execute(stmt.order_by(webhook_events.c.id).limit(limit)))


def requeue_parked(conn: Connection, now: dt.datetime, *, webhook_id: int | None = None,
                   ids: Sequence[int] | None = None) -> int:
    """Give parked (failed) events a fresh set of attempts from `now`."""
    cond = webhook_events.c.status == "failed"
    if webhook_id is not None:
        cond = and_(cond, webhook_events.c.webhook_id == webhook_id)
    if ids is not None:
        cond = and_(cond, webhook_events.c.id.in_(list(ids)))
    return int(conn.execute(update(webhook_events).where(cond).values(
        status="pending", attempts=0, next_attempt_at=now, last_error=None)).rowcount)
