"""Migrations keep the data (issue 7): a database created at the first schema (0001) and filled
through the engine, upgraded to the newest revision, still holds every row and column it held,
still refuses changes to history, and the engine works on it. Written to hold whatever later
revisions exist: it compares the columns the first schema has."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, insert, inspect, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from states.vocabulary import Role
from storage import repo
from storage.db import make_engine
from storage.migrate import alembic_config, current, upgrade
from storage.webhooks import webhook_events
from tests.conftest import PG_URL
from tests.drive import HOUR, walk
from tests.filings import filing
from tests.reliability import TABLES as ALL_TABLES
from tests.reliability import consistency_problems
from workflow.clock import SHANGHAI
from workflow.deadlines import tick
from workflow.engine import Actor, Workflow

# The tables of the first schema (later ones, e.g. policy_versions, start empty).
TABLES = tuple(t for t in ALL_TABLES if t.name != "policy_versions")
FIRST = "0001"


@pytest.fixture
def unmigrated_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A URL to a database with no schema at all."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'zcflow.db'}"
        return
    assert PG_URL
    schema = f"m_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def fill(db: Engine) -> None:
    """Cases of every policy at many states, moved by the engine and by tick."""
    walk(db, "hz-recognition-2025h1", until="certified", serial=1)
    wf, returned, _ = walk(db, "hz-recognition-2025h1", until="employer_review", serial=2)
    wf.fire(returned, "employer_return", Actor(Role.employer), dt.datetime(2025, 3, 21, 10, tzinfo=SHANGHAI),
            "缺学历证明")
    _, revoked, _ = walk(db, "yh-recognition-2024", until="certified", serial=3)
    wf.fire(revoked, "revoke", Actor(Role.city), dt.datetime(2024, 12, 1, 10, tzinfo=SHANGHAI), "证书造假")
    walk(db, "lp-assessment-2022", until="fee_payment", serial=4)
    walk(db, "wx-recognition-2022", until="publication", serial=5)
    walk(db, "hz-recognition-2022", until="management_review", serial=6)
    walk(db, "hz-recognition-2025h1", until="employer_review", serial=7)
    tick(db, dt.datetime(2025, 4, 20, tzinfo=SHANGHAI))  # the employer cutoff expires 2 and 7


def engine_fits(db: Engine) -> bool:
    """Whether the engine's tables (the newest schema) are all there in `db`'s schema."""
    found = inspect(db)
    if "calendar_revision" not in found.get_table_names():  # a move that opens a notice reads it
        return False
    # Tables a later revision added that the engine writes to with every move (webhook events).
    if not all(found.has_table(t.name) for t in (*TABLES, webhook_events)):
        return False
    return all({c.name for c in t.columns} <= {c["name"] for c in found.get_columns(t.name)} for t in TABLES)


def fill_first_schema(db: Engine, scratch_url: str) -> None:
    """Fill a database at the first schema through the engine. If a later revision changed the
    tables the engine writes, the engine fills a scratch database at the newest schema instead and
    its rows are copied over, column by column as far as the first schema has them."""
    if engine_fits(db):
        fill(db)
        return
    scratch = make_engine(scratch_url)
    try:
        upgrade(scratch)
        fill(scratch)
        old = MetaData()
        old.reflect(db, only=[t.name for t in TABLES])
        with scratch.connect() as src, db.begin() as dst:
            for table in TABLES:
                target = old.tables[table.name]
                for row in src.execute(select(table).order_by(table.c.id)).mappings():
                    dst.execute(insert(target).values({k: v for k, v in row.items() if k in target.c}))
                if db.dialect.name == "postgresql":  # ids were copied: move the sequences past them
                    dst.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                     f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table.name}), false)"))
    finally:
        scratch.dispose()


def first_schema_rows(db: Engine, columns: dict[str, set[str]]) -> dict[str, list[dict[str, Any]]]:
    with db.connect() as conn:
        return {t.name: [{k: v for k, v in r.items() if k in columns[t.name]}
                         for r in conn.execute(select(t).order_by(t.c.id)).mappings()] for t in TABLES}


def test_data_made_at_the_first_schema_survives_every_migration(unmigrated_url: str, backend: str,
                                                                tmp_path: Path) -> None:
    db = make_engine(unmigrated_url)
    try:
        upgrade(db, FIRST)
        assert current(db) == FIRST
        columns = {t.name: {c["name"] for c in inspect(db).get_columns(t.name)} for t in TABLES}
        fill_first_schema(db, f"sqlite:///{tmp_path / 'scratch.db'}")
        with db.connect() as conn:
            before = {t.name: [dict(r) for r in conn.execute(select(*[t.c[c] for c in sorted(columns[t.name])])
                                                             .order_by(t.c.id)).mappings()] for t in TABLES}
        assert sum(len(rows) for rows in before.values()) > 100
        db.dispose()  # a fresh engine reads the new schema

        upgrade(db)
        head = ScriptDirectory.from_config(alembic_config(db)).get_current_head()
        assert current(db) == head
        assert first_schema_rows(db, columns) == before
        assert consistency_problems(db) == []
        with pytest.raises(DBAPIError, match="append-only"), db.begin() as conn:
            conn.execute(update(repo.history).values(reason="改写"))

        # The engine works on the upgraded database: a new case, a move, a tick.
        wf = Workflow(db)
        with db.connect() as conn:
            waiting = conn.execute(select(repo.cases.c.id).where(repo.cases.c.state == "management_review")).scalar()
        assert waiting is not None
        at = wf.case(waiting).updated_at + HOUR
        moved = wf.fire(waiting, "department_approve", Actor(Role.department), at)
        assert moved.to_state == "assessment"
        new = wf.create_case("hz-recognition-2022", filing("hz-recognition-2022", 99), at)
        assert new > max(r["id"] for r in before["cases"])
        wf.fire(new, "submit", Actor(Role.applicant), at + HOUR)
        tick(db, at + dt.timedelta(days=30))
        assert consistency_problems(db) == []
    finally:
        db.dispose()
