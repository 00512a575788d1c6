"""One contract suite over every backend: the `db` fixture runs each test on SQLite and, when
ZCFLOW_TEST_DATABASE_URL names one, on PostgreSQL (CI sets it and fails if it is unreachable)."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from storage.db import make_engine
from storage.migrate import upgrade

PG_URL = os.environ.get("ZCFLOW_TEST_DATABASE_URL")
BACKENDS = ["sqlite", *(["postgresql"] if PG_URL else [])]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_schema() -> Iterator[tuple[str, str]]:
    assert PG_URL
    schema = f"t_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
    except Exception as exc:  # CI must fail, not skip, when PostgreSQL is unreachable
        pytest.fail(f"PostgreSQL at ZCFLOW_TEST_DATABASE_URL is unreachable: {exc}")
    engine = pg_engine(schema)
    upgrade(engine)
    engine.dispose()
    yield PG_URL, schema
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def pg_engine(schema: str, **kwargs: object) -> Engine:
    assert PG_URL
    return make_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"}, **kwargs)


def fresh_pg_url(url: str, schema: str) -> str:
    """Empty every table of the session's schema and return a URL that selects it."""
    admin = make_engine(url)
    with admin.begin() as conn:
        # The history table refuses TRUNCATE (migration 0003); emptying the test schema between tests
        # is an administrator's act, done with triggers off for this transaction only.
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        tables = conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = :s AND tablename != "
                                   "'alembic_version'"), {"s": schema}).scalars().all()
        conn.execute(text(f"TRUNCATE {', '.join(f'{schema}.{t}' for t in tables)} RESTART IDENTITY CASCADE"))
    admin.dispose()
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> str:
    """A fresh PostgreSQL database URL, for tests that are about PostgreSQL itself. Without
    ZCFLOW_TEST_DATABASE_URL such a test is skipped locally; under CI it fails instead."""
    if not PG_URL:
        if os.environ.get("CI"):
            pytest.fail("CI must run the PostgreSQL tests: set ZCFLOW_TEST_DATABASE_URL")
        pytest.skip("needs PostgreSQL: set ZCFLOW_TEST_DATABASE_URL")
    url, schema = request.getfixturevalue("pg_schema")
    return fresh_pg_url(url, schema)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to a fresh, migrated, empty database on `backend` (for tests that open their own
    engines, e.g. in other processes). On PostgreSQL it is a schema chosen by search_path."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "zcflow.db"
        shutil.copy(template, path)
        yield f"sqlite:///{path}"
        return
    url, schema = request.getfixturevalue("pg_schema")
    yield fresh_pg_url(url, schema)


@pytest.fixture
def db(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    from workflow.policy_registry import unbind

    unbind(engine)  # the policy registry reads the bound database (CONTRACT §9)
    engine.dispose()


@pytest.fixture(autouse=True)
def _product_calendar_without_imports() -> Iterator[None]:
    """Each test starts and ends with the product calendar holding no imported year (a test that
    imports one into its database must not leave it in this process for the next test)."""
    from states.calendar import product_calendar

    yield
    product_calendar().install([], "")


@pytest.fixture(autouse=True)
def _policy_registry_unbound() -> Iterator[None]:
    """Each test ends with the policy registry holding the bundled policies only (a test whose
    commands bound it to a database must not leave that database's policies to the next test)."""
    yield
    from workflow.policy_registry import unbind

    unbind()
