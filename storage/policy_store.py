"""The stored policy versions (CONTRACT §9): insert one, read them back, and a cheap stamp that
changes whenever a version is added, so that every process notices another's import.

Storage knows nothing of what a policy means: it keeps texts. `states.policy.PolicyRegistry` parses
them, with this module's `StoredPolicies` as its source (the workflow joins the two).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, func, insert, select
from sqlalchemy.engine import Connection, Engine

from storage.tables import PolicyVersion

policy_versions = PolicyVersion.__table__  # type: ignore[attr-defined]


def checksum(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def insert_version(conn: Connection, *, policy_id: str, version: int, text: str, document: str | None,
                   reason: str | None, actor: str, kind: str, effective_at: dt.datetime,
                   impact: Mapping[str, Any] | None = None) -> int:
    """Store a version inside the caller's transaction. The unique (policy_id, version) makes a second
    importer of the same version fail rather than overwrite."""
    row = conn.execute(insert(policy_versions).values(
        policy_id=policy_id, version=version, text=text, checksum=checksum(text), document=document,
        reason=reason, actor=actor[:100], kind=kind, effective_at=effective_at, impact=dict(impact or {}),
    ).returning(policy_versions.c.id))
    return int(row.scalar_one())


def versions_of(conn: Connection, policy_id: str) -> list[Row[Any]]:
    return list(conn.execute(select(policy_versions).where(policy_versions.c.policy_id == policy_id)
                             .order_by(policy_versions.c.version)))


def version_row(conn: Connection, policy_id: str, version: int) -> Row[Any] | None:
    return conn.execute(select(policy_versions).where(
        policy_versions.c.policy_id == policy_id, policy_versions.c.version == version)).first()


def latest_version(conn: Connection, policy_id: str) -> int | None:
    found = conn.execute(select(func.max(policy_versions.c.version)).where(
        policy_versions.c.policy_id == policy_id)).scalar()
    return int(found) if found is not None else None


@dataclass(frozen=True)
class StoredText:
    policy_id: str
    version: int
    text: str
    checksum: str


_STAMP_SQL = "SELECT count(*), max(id) FROM policy_versions"
_ALL_SQL = "SELECT policy_id, version, text, checksum FROM policy_versions ORDER BY policy_id, version"


class StoredPolicies:
    """The policy registry's source over one database.

    It reads on a pooled driver connection of its own, outside SQLAlchemy's transaction events: a
    lookup may come from inside another transaction of the same thread (a sweep reading its cutoff),
    and on SQLite every SQLAlchemy transaction begins IMMEDIATE — a second writer there would wait for
    the first, which waits for it."""

    def __init__(self, db: Engine) -> None:
        self.db = db
        self.pool = db.pool  # Engine.dispose() replaces the pool: this source then reads nothing

    @property
    def disposed(self) -> bool:
        return self.db.pool is not self.pool

    def _query(self, sql: str) -> list[Any]:
        if self.disposed:  # never open a connection on an engine its owner has disposed
            return []
        raw = self.db.raw_connection()
        try:
            cursor = raw.cursor()
            try:
                cursor.execute(sql)
                rows = list(cursor.fetchall())
            except self.db.dialect.loaded_dbapi.Error:
                rows = []  # a database not yet migrated has no versions
            finally:
                cursor.close()
            if self.db.dialect.name != "sqlite":
                raw.rollback()
            return rows
        finally:
            raw.close()

    def stamp(self) -> tuple[int, int, int]:
        """Changes whenever a version is added (rows are never changed or deleted): one small read."""
        rows = self._query(_STAMP_SQL)
        count, last = rows[0] if rows else (0, 0)
        return (id(self.db), int(count or 0), int(last or 0))

    def texts(self) -> list[StoredText]:
        return [StoredText(str(r[0]), int(r[1]), str(r[2]), str(r[3])) for r in self._query(_ALL_SQL)]
