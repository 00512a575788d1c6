"""The case list's search through the search indexes (migration 0012, storage/search.py) finds exactly
what the plain `LIKE` it replaced finds, on each backend: names of 1 to 5 characters, Latin letters in
either case, LIKE's own metacharacters (% _ \\) and FTS5's (" *) in names and queries, ID tails with an
X; and it stays in step when a case is inserted, renamed, given a new ID number or deleted."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from sqlalchemy import delete, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.sql.elements import ColumnElement

from benchmarks.common import CaseSpec, Loader
from states.vocabulary import Role
from storage import search
from storage.repo import cases
from workflow.clock import SHANGHAI
from workflow.web import queries
from workflow.web.scope import UserScope, WebUser

NOW = dt.datetime(2025, 4, 10, 10, 0, tzinfo=SHANGHAI)
ADMIN = WebUser(1, "admin", Role.admin, UserScope())
DEPARTMENT = WebUser(2, "d", Role.department, UserScope(district="上城区"))
NAMES = ["王", "王伟", "王伟明", "李王伟", "欧阳王伟明", "张伟", "伟王", "王王", "王王伟", "Wang Wei", "wang wei",
         "WANG", "a%b", "a_b", "axb", "a\\b", "a/b", 'a"b', "a*b", "100%", "王_伟", "王%伟", "O'Neil", "ÉMILE",
         "émile", "王伟伟", "伟伟", "王伟明明"]
QUERIES = ["王", "伟", "王伟", "伟王", "王王", "王伟明", "王伟明明", "欧阳", "欧阳王伟明", "wang", "WANG", "Wang W",
           "ng w", "a%b", "%", "_", "a_b", "\\", "a\\b", "/", "a/b", '"', 'a"b', "*", "a*b", "100%", "%伟", "王_",
           "'", "O'N", "émile", "ÉMILE", "mil", "x", "没有", "没有的名字", "伟伟", "明明", " 王伟 ",
           # ID numbers and tails (4 to 18 characters, an X last)
           "0421", "421X", "421x", "1234", "0000", "199001010421", "33010219900101042X", "330102199001010421",
           "2X", "123"]


def _old_search(q: str) -> ColumnElement[bool]:
    """The search as it was before migration 0012: LIKE on every row."""
    q = q.strip()
    if queries._ID_QUERY.fullmatch(q):
        number = q.upper()
        return or_(cases.c.id_number == number, cases.c.id_number.endswith(number, autoescape=True))
    return cases.c.name.contains(q, autoescape=True)


def _load(db_url: str, n: int) -> None:
    rng = random.Random(18)
    districts = ["上城区", "西湖区"]
    specs = [CaseSpec("hz-recognition-2025h1", "draft", districts[i % 2], "单位", NAMES[i % len(NAMES)]
                      if i < 3 * len(NAMES) else rng.choice("王李张") + rng.choice("伟明王") + rng.choice(["", "伟"]),
                      1, False) for i in range(n)]
    Loader(db_url).load(specs)


def _id_numbers(db: Engine) -> None:
    """Some ID numbers end in X or x, or hold 0421 inside or at the end."""
    with db.begin() as conn:
        for cid, number in ((3, "33010219900101042X"), (4, "33010219900101042x"), (5, "330102199001010421"),
                            (6, "330421199001011234"), (7, "3301021990010100000"[:18]), (8, "11010119800101421X")):
            conn.execute(update(cases).where(cases.c.id == cid).values(id_number=number))


def _compare(db: Engine) -> int:
    found = 0
    with db.connect() as conn:
        for user in (ADMIN, DEPARTMENT):
            scope = queries.case_condition(user)
            for q in QUERIES:
                old = set(conn.execute(select(cases.c.id).where(scope, _old_search(q))).scalars())
                rows, total = queries.list_cases(conn, user, queries.CaseFilters(q=q), NOW, limit=10_000)
                assert {r.id for r in rows} == old, (user.role, q)
                assert total == len(old), (user.role, q)
                found += len(old)
    return found


@pytest.mark.parametrize("bound", [search.BOUND, 0])  # SQLite: candidates bound as a list, or the subquery
def test_search_finds_what_like_finds(db: Engine, db_url: str, bound: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search, "BOUND", bound)
    n = 200
    _load(db_url, n)
    _id_numbers(db)
    assert _compare(db) > 0
    # Renamed, given another ID number, deleted, inserted: the indexes follow.
    with db.begin() as conn:
        conn.execute(update(cases).where(cases.c.id == 2).values(name="欧阳王伟明"))
        conn.execute(update(cases).where(cases.c.id == 10).values(name="王"))
        conn.execute(update(cases).where(cases.c.id == 11).values(id_number="330102199001010421"))
        conn.execute(update(cases).where(cases.c.id.in_([12, 13])).values(name="伟王"))
        conn.execute(update(cases).where(cases.c.id == 14).values(state="withdrawn"))  # not a name: no change
        conn.execute(delete(cases).where(cases.c.id.in_([1, 15, 40])))
    Loader(db_url).load([CaseSpec("hz-recognition-2025h1", "draft", "上城区", "单位", name, 1, False)
                         for name in ("王伟", "李王伟", "a%b", "伟")], first_id=n + 1)
    assert _compare(db) > 0


def test_a_long_query_is_not_a_short_one(db: Engine, db_url: str) -> None:
    """A 3-character query goes to the trigram index, a 2-character one to the grams: both exact."""
    _load(db_url, 60)
    with db.connect() as conn:
        for q, wanted in (("王伟明", {"王伟明", "欧阳王伟明", "王伟明明"}), ("王伟", None)):
            rows, _ = queries.list_cases(conn, ADMIN, queries.CaseFilters(q=q), NOW, limit=1000)
            names = {r.name for r in rows}
            if wanted is not None:
                assert names == wanted
            else:
                assert names == {"王伟", "王伟明", "李王伟", "欧阳王伟明", "王王伟", "王伟伟", "王伟明明"}
