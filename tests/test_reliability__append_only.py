"""History is append-only in the database itself (CONTRACT §7): whatever connects to it — zcflow, a
script, an administrator's SQL console — cannot change or remove a history row, on SQLite or on
PostgreSQL. The triggers of storage/migrations/versions/0001_first_schema.py refuse UPDATE and DELETE."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from storage import repo
from storage.db import make_engine
from tests.drive import walk


@pytest.fixture
def walked(db: Engine) -> Iterator[tuple[Engine, int, list[tuple[object, ...]]]]:
    """A database with one case walked to `management_review` (four history rows)."""
    _, case_id, _ = walk(db, "hz-recognition-2025h1", until="management_review")
    yield db, case_id, rows(db)


def rows(db: Engine) -> list[tuple[object, ...]]:
    with db.connect() as conn:
        return [tuple(r) for r in conn.execute(select(repo.history).order_by(repo.history.c.id))]


def refused(db: Engine, statement: object) -> str:
    """Run `statement` in its own transaction; it must be refused. Returns the database's message."""
    with pytest.raises(DBAPIError) as caught, db.begin() as conn:
        conn.execute(statement)  # type: ignore[call-overload]
    return str(caught.value.orig)


STATEMENTS = {
    "UPDATE one row": lambda case_id: update(repo.history).where(repo.history.c.seq == 1).values(reason="改过"),
    "UPDATE who acted": lambda case_id: update(repo.history).values(actor_role="admin"),
    "UPDATE as raw SQL": lambda case_id: text(f"UPDATE history SET to_state = 'certified' WHERE case_id = {case_id}"),
    "DELETE one row": lambda case_id: delete(repo.history).where(repo.history.c.seq == 2),
    "DELETE everything": lambda case_id: text("DELETE FROM history"),
}


@pytest.mark.parametrize("make", STATEMENTS.values(), ids=list(STATEMENTS))
def test_update_and_delete_on_history_are_refused(walked: tuple[Engine, int, list[tuple[object, ...]]],
                                                  make: object) -> None:
    db, case_id, before = walked
    message = refused(db, make(case_id))  # type: ignore[operator]
    assert "append-only" in message
    assert rows(db) == before


def test_an_upsert_onto_a_history_row_is_refused(walked: tuple[Engine, int, list[tuple[object, ...]]]) -> None:
    """INSERT … ON CONFLICT DO UPDATE is an UPDATE of the row it collides with."""
    db, _, before = walked
    first = before[0][0]
    message = refused(db, text(
        "INSERT INTO history (id, case_id, seq, at, actor_role, action, from_state, to_state) "
        f"SELECT id, case_id, seq, at, actor_role, action, from_state, 'certified' FROM history WHERE id = {first} "
        "ON CONFLICT (id) DO UPDATE SET to_state = excluded.to_state"))
    assert "append-only" in message
    assert rows(db) == before


def walked_on(url: str) -> tuple[Engine, list[tuple[object, ...]]]:
    db = make_engine(url)
    walk(db, "hz-recognition-2025h1", until="management_review")
    return db, rows(db)


def test_sqlite_insert_or_replace_cannot_rewrite_a_history_row(sqlite_template: Path, tmp_path: Path) -> None:
    """SQLite's REPLACE deletes the row it collides with, and fires DELETE triggers only when
    recursive triggers are on (https://sqlite.org/lang_conflict.html), which is off by default."""
    shutil.copy(sqlite_template, tmp_path / "zcflow.db")
    db, before = walked_on(f"sqlite:///{tmp_path / 'zcflow.db'}")
    try:
        with pytest.raises(DBAPIError, match="append-only"), db.begin() as conn:
            conn.execute(text(
                "INSERT OR REPLACE INTO history (id, case_id, seq, at, actor_role, action, from_state, to_state) "
                f"SELECT id, case_id, seq, at, 'admin', action, from_state, 'certified' FROM history "
                f"WHERE id = {before[0][0]}"))
        assert rows(db) == before
    finally:
        db.dispose()


def test_postgresql_truncate_of_history_is_refused(pg_url: str) -> None:
    db, before = walked_on(pg_url)
    try:
        with db.connect() as conn:
            trans = conn.begin()
            try:
                with pytest.raises(DBAPIError, match="append-only"):
                    conn.execute(text("TRUNCATE history"))
            finally:
                trans.rollback()
        assert rows(db) == before
    finally:
        db.dispose()


def test_a_case_with_history_cannot_be_deleted(walked: tuple[Engine, int, list[tuple[object, ...]]]) -> None:
    """Nor can history be orphaned by deleting its case: the foreign key refuses it."""
    db, case_id, before = walked
    refused(db, delete(repo.cases).where(repo.cases.c.id == case_id))
    assert rows(db) == before
