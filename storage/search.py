"""Substring search on names and ID numbers through the derived tables of migration 0012.

Each condition is the plain `LIKE` the search means (its semantics, on each backend, are the
answer), ANDed with `cases.id IN (candidates)`, where the candidates come from an index and are a
superset of the rows the `LIKE` matches:

- a name query of 3 characters or more: the trigram index `case_search` (FTS5 trigram on SQLite,
  which folds case like SQLite's `LIKE` and more; pg_trgm GIN on PostgreSQL, serving the `LIKE`);
- a name query of 1 or 2 characters: `case_name_grams`, every distinct 1- and 2-character substring
  of each name as SQL's `lower()` gives it (a name holding the query holds it as one of its grams,
  and `lower()` of the same characters is the same gram);
- an ID number's tail (4 characters or more): `case_id_tails`, the `lower()` of each number's last 4
  characters (a number ending with the query ends with the query's last 4).
"""

from __future__ import annotations

from sqlalchemy import Boolean, and_, column, func, literal_column, select, table
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import Select

from storage.repo import cases

_fts = table("case_search", column("name"))  # SQLite (FTS5; its rowid is the case id)
_trigrams = table("case_search", column("case_id"), column("name"))  # PostgreSQL
_grams = table("case_name_grams", column("gram"), column("case_id"))
_tails = table("case_id_tails", column("tail"), column("case_id"))

SHORT = 2  # name queries of at most this many characters are served by case_name_grams
TAIL = 4  # characters of an ID number's end in case_id_tails
BOUND = 5_000  # SQLite: at most this many candidates are bound as a list (see _among)


def _phrase(q: str) -> str:
    """An FTS5 query matching `q` as one string (its trigrams in order); quotes doubled."""
    return '"' + q.replace('"', '""') + '"'


def name_contains(conn: Connection, q: str) -> ColumnElement[bool]:
    """Cases whose name holds `q` (as `name LIKE '%q%'`, LIKE's wildcards in `q` taken literally)."""
    like = cases.c.name.contains(q, autoescape=True)
    if len(q) <= SHORT:
        candidates = select(_grams.c.case_id).where(_grams.c.gram == func.lower(q))
    elif conn.dialect.name == "sqlite":
        candidates = select(literal_column("case_search.rowid")).select_from(_fts).where(
            _fts.c.name.op("MATCH")(_phrase(q)))
    else:
        candidates = select(_trigrams.c.case_id).where(_trigrams.c.name.contains(q, autoescape=True))
    return and_(_among(conn, candidates), like)


def id_number_endswith(conn: Connection, number: str) -> ColumnElement[bool]:
    """Cases whose ID number ends with `number` (at least TAIL characters; the whole number included)."""
    assert len(number) >= TAIL
    like = cases.c.id_number.endswith(number, autoescape=True)
    candidates = select(_tails.c.case_id).where(_tails.c.tail == func.lower(number[-TAIL:]))
    return and_(_among(conn, candidates), like)


def beside_search(conn: Connection, condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """`condition` (a scope or a filter) as it goes beside a search condition: on SQLite, marked as likely
    true (`likelihood(…, 0.9)`, a hint to the planner only). Without statistics (zcflow runs no ANALYZE)
    SQLite's planner takes an equality on an indexed column (`district = ?`) for a few rows and drives
    the query from it, reading every case of the district (25–80 ms at 1,000,000 cases) instead of the
    few hundred candidates by rowid."""
    if conn.dialect.name != "sqlite":
        return condition
    hinted: ColumnElement[bool] = func.likelihood(condition, literal_column("0.9"), type_=Boolean)
    return hinted


def _among(conn: Connection, candidates: Select[tuple[int]]) -> ColumnElement[bool]:
    """`cases.id IN (candidates)`; on SQLite the candidates are looked up first and bound as a list when
    there are at most BOUND of them (a subquery's size SQLite guesses; a list's it knows)."""
    among: ColumnElement[bool] = cases.c.id.in_(candidates)
    if conn.dialect.name == "sqlite":
        ids = list(conn.execute(candidates.limit(BOUND + 1)).scalars())
        if len(ids) <= BOUND:
            among = cases.c.id.in_(ids)
    return among
