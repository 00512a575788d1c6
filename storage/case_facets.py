"""The distinct values of a case column among the cases a condition selects, from the combinations
migration 0015's triggers keep (`case_facets`: policy, district, series, committee, employer and how
many cases have them; on PostgreSQL plus the journal `case_facet_changes`), not from the cases."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, column, func, literal_column, select, table, union_all
from sqlalchemy.engine import Connection
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import Select, Subquery

from storage.case_counts import run_fold
from storage.repo import cases

COLUMNS = ("policy_id", "district", "series", "committee", "employer")
facets = table("case_facets", *(column(c) for c in COLUMNS), column("cases"))
changes = table("case_facet_changes", column("id"), *(column(c) for c in COLUMNS), column("delta"))

FOLD_AT = 2_000  # journal rows a reader lets pass before it folds them into the table

_KEY = ", ".join(COLUMNS)
_FOLD = f"""
WITH moved AS (DELETE FROM case_facet_changes RETURNING {_KEY}, delta),
     summed AS (SELECT {_KEY}, sum(delta) AS delta FROM moved GROUP BY {_KEY})
INSERT INTO case_facets ({_KEY}, cases) SELECT {_KEY}, delta FROM summed
ON CONFLICT ({_KEY}) DO UPDATE SET cases = case_facets.cases + excluded.cases
"""


def _combinations(dialect: str) -> Subquery:
    """(the five columns, n, j): each combination's cases, and on PostgreSQL the journal's rows (j = 1)."""
    kept = select(*(facets.c[c] for c in COLUMNS), facets.c.cases.label("n"), literal_column("0").label("j"))
    if dialect == "sqlite":
        return kept.subquery("combinations")
    journal = select(*(changes.c[c] for c in COLUMNS), changes.c.delta, literal_column("1"))
    return union_all(kept, journal).subquery("combinations")


def _on(rows: Subquery, condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """`condition`, written on `cases`' columns, on the same columns of `rows`."""
    def swap(element: Any, **_kw: Any) -> Any:
        if isinstance(element, Column) and element.table is cases:
            return rows.c[element.name]
        return None

    moved: ColumnElement[bool] = visitors.replacement_traverse(condition, {}, swap)
    return moved


def distinct_values(conn: Connection, col: str, condition: ColumnElement[bool],
                    limit: int) -> tuple[list[str], int]:
    """The first `limit` distinct non-empty values of `col` among the cases `condition` (on the five
    columns of `cases` only) selects, in order; and how many journal rows were summed (0 on SQLite).
    A combination counts while it has cases: the sum of its row and its journal rows is above 0."""
    rows = _combinations(conn.dialect.name)
    value = rows.c[col]
    stmt: Select[Any] = (select(value, func.sum(rows.c.j)).where(_on(rows, condition), value != "")
                         .group_by(value).having(func.sum(rows.c.n) > 0).order_by(value).limit(limit))
    found = conn.execute(stmt).all()
    return [str(v) for v, _ in found], sum(int(j) for _, j in found)


def fold(conn: Connection) -> None:
    """Move the journal into `case_facets` (PostgreSQL), as storage.case_counts.fold does."""
    run_fold(conn, _FOLD)
