"""How many cases each policy has, from the tables migration 0013's triggers keep (not a count of the
cases): `policy_case_counts`, plus on PostgreSQL the journal `policy_case_count_changes` that each
statement inserting or deleting cases appends to (one row per policy and statement, so concurrent
filings never update one shared row)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import column, func, literal_column, select, table, union_all
from sqlalchemy.engine import Connection
from sqlalchemy.sql.selectable import Select

counts = table("policy_case_counts", column("policy_id"), column("cases"))
changes = table("policy_case_count_changes", column("id"), column("policy_id"), column("delta"))

FOLD_AT = 2_000  # journal rows a reader lets pass before it folds them into the table

_FOLD = """
WITH moved AS (DELETE FROM policy_case_count_changes RETURNING policy_id, delta),
     summed AS (SELECT policy_id, sum(delta) AS delta FROM moved GROUP BY policy_id)
INSERT INTO policy_case_counts (policy_id, cases) SELECT policy_id, delta FROM summed
ON CONFLICT (policy_id) DO UPDATE SET cases = policy_case_counts.cases + excluded.cases
"""


def policy_counts(conn: Connection, policy_ids: list[str] | None = None) -> tuple[dict[str, int], int]:
    """{policy: cases} for `policy_ids` (None: every policy; policies without a case left out), and how
    many journal rows were summed on the way (0 on SQLite)."""
    if conn.dialect.name == "sqlite":
        kept: Select[Any] = select(counts.c.policy_id, counts.c.cases)
        if policy_ids is not None:
            kept = kept.where(counts.c.policy_id.in_(policy_ids))
        return {str(p): int(n) for p, n in conn.execute(kept).all() if n}, 0
    parts = union_all(select(counts.c.policy_id, counts.c.cases.label("n"), literal_column("0").label("j")),
                      select(changes.c.policy_id, changes.c.delta, literal_column("1"))).subquery()
    stmt: Select[Any] = select(parts.c.policy_id, func.sum(parts.c.n), func.sum(parts.c.j)).group_by(parts.c.policy_id)
    if policy_ids is not None:
        stmt = stmt.where(parts.c.policy_id.in_(policy_ids))
    out: dict[str, int] = {}
    journal = 0
    for p, n, j in conn.execute(stmt).all():
        journal += int(j)
        if n:
            out[str(p)] = int(n)
    return out, journal


def fold(conn: Connection) -> None:
    """Move the journal into `policy_case_counts` (PostgreSQL) in one statement — in the transaction `conn`
    is in, else in one of its own: it takes exactly the journal rows it sees, so rows appended meanwhile
    stay for the next fold, and a reader sees the sum before or after it, never half. The scheduler folds
    every delivery run; a reader past FOLD_AT, an import at its end."""
    run_fold(conn, _FOLD)


def run_fold(conn: Connection, statement: str) -> None:
    """Run a journal's fold statement (PostgreSQL; SQLite keeps no journal): in the transaction `conn`
    is in, else in one of its own. Shared by the counts per policy and the drop-downs (case_facets)."""
    if conn.dialect.name == "sqlite":
        return
    if conn.in_transaction():
        conn.exec_driver_sql(statement)
        return
    with conn.begin():
        conn.exec_driver_sql(statement)
