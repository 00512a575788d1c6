"""Alembic migrations, run programmatically: `upgrade(engine)` brings any database to head."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

from storage.db import DatabaseUnavailable, masked

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


# Any constant: the PostgreSQL advisory lock that lets one process at a time migrate.
_MIGRATION_LOCK = 7_460_211


def refuse_foreign(engine: Engine) -> None:
    """Raise DatabaseUnavailable when the database holds tables but none of ours' version table: a
    foreign database that migrating would fill with zcflow's tables."""
    from sqlalchemy import inspect

    names = set(inspect(engine).get_table_names())
    if names and "alembic_version" not in names:
        raise DatabaseUnavailable(masked(engine.url), "not a zcflow database (it holds other tables: "
                                  + ", ".join(sorted(names)[:5]) + ")")


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to `revision` (refusing a foreign one). Several processes may start at once
    over one PostgreSQL: they take turns under an advisory lock, and the later ones find nothing to do."""
    refuse_foreign(engine)
    if engine.dialect.name != "postgresql":
        command.upgrade(alembic_config(engine), revision)
        return
    with engine.connect() as lock:
        lock.exec_driver_sql(f"SELECT pg_advisory_lock({_MIGRATION_LOCK})")
        try:
            command.upgrade(alembic_config(engine), revision)
        finally:
            lock.exec_driver_sql(f"SELECT pg_advisory_unlock({_MIGRATION_LOCK})")
            lock.commit()


def current(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
