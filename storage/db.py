"""Database engines: an embedded SQLite file by default, PostgreSQL when ZCFLOW_DATABASE_URL says so."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import create_engine

DEFAULT_URL = "sqlite:///zcflow.db"


class DatabaseUrlError(ValueError):
    pass


def database_url(explicit: str | None = None) -> str:
    """The URL to use: `explicit`, else ZCFLOW_DATABASE_URL, else a SQLite file in the working dir."""
    url = explicit or os.environ.get("ZCFLOW_DATABASE_URL") or DEFAULT_URL
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError with a terse message
        raise DatabaseUrlError(f"database URL {url!r} is not a URL: {exc}") from exc
    if parsed.drivername in ("postgresql", "postgres"):
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    elif not parsed.drivername.startswith(("sqlite", "postgresql")):
        raise DatabaseUrlError(f"database URL {url!r}: only sqlite and postgresql are supported")
    return url


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets readers run beside the one writer; NORMAL is durable at every checkpoint in WAL.
    # The connection is in autocommit at the DBAPI level so that SQLAlchemy's BEGIN (below) is the
    # one that opens transactions — BEGIN IMMEDIATE takes the write lock up front, so two writers
    # queue on busy_timeout instead of failing with "database is locked" halfway through.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    # REPLACE deletes the row it collides with and fires DELETE triggers only when recursive triggers
    # are on (sqlite.org/lang_conflict.html): on, so history's append-only trigger cannot be bypassed.
    cur.execute("PRAGMA recursive_triggers=ON")
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    # Straight to the driver: through conn.exec_driver_sql this one statement costs ~15 µs of
    # SQLAlchemy's execution layer, a fifth of a whole move on SQLite.
    conn.connection.dbapi_connection.execute("BEGIN IMMEDIATE")


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    url = database_url(url)
    if url.startswith("sqlite"):
        path = make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)
