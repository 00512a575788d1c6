"""Database engines: an embedded SQLite file by default, PostgreSQL when ZCFLOW_DATABASE_URL says so."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlmodel import create_engine

DEFAULT_URL = "sqlite:///zcflow.db"


class DatabaseUrlError(ValueError):
    pass


class DatabaseMissing(ValueError):
    """A SQLite file (or its directory) that does not exist, given to a command that does not create
    databases: only `zcflow init`, `demo` and `simulate` do (a mistyped path must not become a new,
    empty database)."""


class DatabaseUnavailable(Exception):
    """The database cannot be used: unreachable, refusing us, corrupt, or not a zcflow database. Its
    message is one line naming the database (password masked) and the cause."""

    def __init__(self, database: str, cause: str) -> None:
        super().__init__(f"database {database} is unavailable: {cause}")
        self.database = database
        self.cause = cause


def masked(url: Any) -> str:
    """A database URL as people may see it: the password replaced by ***."""
    try:
        return str(make_url(str(url)).render_as_string(hide_password=True))
    except Exception:  # not a URL at all: say nothing of it that could hold a secret
        return "(database)"


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()
    return text[0][:300] if text else type(orig).__name__


def outage(exc: BaseException) -> DatabaseUnavailable | None:
    """`exc` as a DatabaseUnavailable when it says the database cannot be used (no connection,
    authentication, a corrupt or foreign file, a pool timeout); None for errors of the statement
    itself (integrity, data), which are the caller's to handle."""
    from sqlalchemy import exc as sa_exc

    if isinstance(exc, DatabaseUnavailable):
        return exc
    database = getattr(exc, "zcflow_database", None) or "(database)"
    if isinstance(exc, sa_exc.TimeoutError):
        return DatabaseUnavailable(database, "no connection free in the pool (timed out)")
    if isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError)):
        return DatabaseUnavailable(database, _first_line(exc))
    if type(exc) is sa_exc.DatabaseError:  # sqlite: "file is not a database" (corrupt or foreign)
        return DatabaseUnavailable(database, _first_line(exc))
    return None


def _name_the_database(context: Any) -> None:
    # Every error raised through an engine learns which database it came from (password masked), so
    # that the one-line outage message can name it.
    with contextlib.suppress(Exception):
        context.sqlalchemy_exception.zcflow_database = masked(context.engine.url)


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for other databases and in-memory ones)."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite"):
        return None
    path = parsed.database
    return Path(path) if path and path != ":memory:" and not path.startswith("file:") else None


def open_database(url: str | None = None, *, create: bool = False, **kwargs: Any) -> Engine:
    """An engine for the database at `url` (database_url's default when None). Unless `create`,
    a SQLite file that does not exist is refused naming the path, and so is a missing directory;
    with `create` the directory is made and the file is created by the first connection."""
    url = database_url(url)
    path = sqlite_path(url)
    if path is not None:
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        elif not path.parent.is_dir():
            raise DatabaseMissing(f"--database: directory {path.parent} does not exist (a database is created "
                                  "only by `zcflow init`, `demo` or `simulate`)")
        elif not path.exists():
            raise DatabaseMissing(f"--database: {path} does not exist (create it with `zcflow init`)")
    return make_engine(url, **kwargs)


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


# A run of write transactions on one connection lets SQLite's WAL grow to this many pages (1 GiB of
# 4 KiB pages) before it checkpoints, instead of the default 1,000 (see checkpoint_once).
RUN_CHECKPOINT_PAGES = 262_144


@contextlib.contextmanager
def checkpoint_once(conn: Connection) -> Iterator[None]:
    """Around a run of write transactions on `conn` (a cutoff sweep's batches): SQLite checkpoints
    its WAL once, at the end of the run, not after every transaction.

    By default SQLite checkpoints after any commit that leaves more than 1,000 pages in the WAL:
    a sweep's batch writes ~10,000, so every batch would copy its pages into the database file and
    fsync it, writing the index pages that each batch touches again and again (a third more bytes
    written than the same writes in one transaction). Each commit is as durable as before: it is in
    the WAL, which a killed process does not lose (synchronous=NORMAL). Nothing on PostgreSQL, nor
    inside a transaction the caller holds open (its own commit checkpoints as usual)."""
    if conn.dialect.name != "sqlite" or conn.in_transaction():
        yield
        return
    raw: Any = conn.connection.dbapi_connection
    before = raw.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
    raw.execute(f"PRAGMA wal_autocheckpoint={RUN_CHECKPOINT_PAGES}")
    try:
        yield
        raw.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    finally:
        with contextlib.suppress(Exception):  # a connection that broke is discarded by the pool anyway
            raw.execute(f"PRAGMA wal_autocheckpoint={int(before)}")


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """An engine for `url`; creates nothing by itself (a SQLite file appears on first connection
    only if its directory exists: commands open databases through :func:`open_database`)."""
    url = database_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    else:
        kwargs.setdefault("pool_pre_ping", True)
        engine = create_engine(url, **kwargs)
    event.listen(engine, "handle_error", _name_the_database)
    return engine
