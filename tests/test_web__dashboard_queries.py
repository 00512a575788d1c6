"""The dashboard's counts per policy (kept by migration 0013's triggers for a scope of whole policies)
equal a plain COUNT after filings, moves, bulk loads, deletions, a policy moved, amendments and an
export/import; the notices closing this week come a page at a time, in order, with their number."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import and_, delete, func, select, text, update
from sqlalchemy.engine import Engine

from benchmarks.common import CaseSpec, Loader
from states.vocabulary import Role
from storage import case_counts, case_facets
from storage.migrate import upgrade
from storage.repo import cases
from storage.tables import OPEN_NOTICE_SQL
from tests.web_support import Site
from workflow.clock import SHANGHAI
from workflow.deadlines import tick
from workflow.engine import Actor
from workflow.transfer import export_lines, import_lines
from workflow.web import queries
from workflow.web.scope import UserScope, WebUser, case_condition

HZ = "hz-recognition-2025h1"
USERS = [WebUser(1, "admin", Role.admin, UserScope()),
         WebUser(2, "city", Role.city, UserScope(city="杭州市")),
         WebUser(3, "wuxi", Role.city, UserScope(city="无锡市")),
         WebUser(4, "platform", Role.platform, UserScope(policies=(HZ, "yh-recognition-2024"))),
         WebUser(5, "dept", Role.department, UserScope(district="上城区"))]


def assert_counts_are_plain_counts(db: Engine) -> None:
    with db.connect() as conn:
        for user in USERS:
            plain = {str(p): int(n) for p, n in conn.execute(
                select(cases.c.policy_id, func.count()).where(case_condition(user)).group_by(cases.c.policy_id))}
            assert queries.case_counts_by_policy(conn, user) == plain, user.username


def _bulk(db_url: str, n: int, first_id: int, policy: str = HZ) -> None:
    Loader(db_url).load([CaseSpec(policy, "draft", "上城区", "单位", f"王{i}", 1, False) for i in range(n)],
                        first_id=first_id)


def test_counts_per_policy_follow_every_write(db: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    site = Site.build(db, monkeypatch, with_users=False)
    assert_counts_are_plain_counts(db)
    _bulk(db_url, 30, 1000)
    _bulk(db_url, 12, 2000, "wx-recognition-2022")
    assert_counts_are_plain_counts(db)
    with db.begin() as conn:
        conn.execute(delete(cases).where(cases.c.id.in_([1000, 1001, 2005])))
        conn.execute(update(cases).where(cases.c.id.in_([1002, 1003])).values(policy_id="lp-assessment-2022"))
        conn.execute(update(cases).where(cases.c.id == 1004).values(state="withdrawn"))
    assert_counts_are_plain_counts(db)
    # Every policy's cases gone: no policy is listed with 0.
    with db.begin() as conn:
        conn.execute(delete(cases).where(cases.c.policy_id == "wx-recognition-2022", cases.c.id >= 2000))
    assert_counts_are_plain_counts(db)
    site.wf.fire(site.cases["a_review"], "employer_approve", Actor(Role.employer, "x"), site.now)
    tick(db, site.now + dt.timedelta(days=60))
    assert_counts_are_plain_counts(db)
    # A reader that finds the journal (PostgreSQL) longer than FOLD_AT folds it; the counts stay.
    monkeypatch.setattr(case_counts, "FOLD_AT", 0)
    with db.connect() as conn:
        before = queries.case_counts_by_policy(conn, USERS[0])  # its connection's first statement
        assert queries.case_counts_by_policy(conn, USERS[0]) == before
        if db.dialect.name == "postgresql":
            assert conn.execute(text("SELECT count(*) FROM policy_case_count_changes")).scalar_one() == 0
    assert_counts_are_plain_counts(db)
    _bulk(db_url, 5, 3000)
    assert_counts_are_plain_counts(db)
    with db.begin() as conn:  # folded inside a transaction of the caller's (an import's end)
        case_counts.fold(conn)
        case_facets.fold(conn)
    assert_counts_are_plain_counts(db)
    assert_facets_are_plain_distincts(db)


def test_counts_per_policy_after_an_amendment_and_an_import(db: Engine, tmp_path: Any) -> None:
    from tests.test_rounds__amendments import DOC1, at, do_import, file_cases, round_text
    from workflow.engine import Workflow
    from workflow.policy_registry import unbind

    upgrade(db)
    do_import(db, round_text(), at(2, 24))
    wf = Workflow(db)
    file_cases(wf, 4)
    do_import(db, round_text(employer="2025-04-21"), at(4, 10), document=DOC1, reason="延期")
    assert_counts_are_plain_counts(db)
    from storage.db import make_engine

    target = make_engine(f"sqlite:///{tmp_path / 'imported.db'}")
    try:
        upgrade(target)
        import_lines(target, export_lines(db))
        assert_counts_are_plain_counts(target)
        with target.connect() as conn:
            assert sum(queries.case_counts_by_policy(conn, USERS[0]).values()) == \
                conn.execute(select(func.count()).select_from(cases)).scalar_one() > 0
    finally:
        unbind(target)
        target.dispose()


@pytest.mark.parametrize("who", [0, 4])
def test_notices_closing_come_a_page_at_a_time(db: Engine, db_url: str, who: int) -> None:
    now = dt.datetime(2025, 4, 10, 10, 0, tzinfo=SHANGHAI)
    specs = []
    for i in range(70):
        spec = CaseSpec(HZ, "employer_notice" if i % 7 else "employer_review", ("上城区", "西湖区")[i % 2], f"单位{i}",
                        f"李{i}", 1, True)
        spec.notice_closes_at = now + dt.timedelta(hours=(i * 37) % 200 - 20)  # some outside the week
        spec.notice_stage = None
        specs.append(spec)
    Loader(db_url).load(specs)
    user = USERS[who]
    end = now + dt.timedelta(days=7)
    with db.connect() as conn:
        wanted = [r.id for r in conn.execute(select(cases.c.id).where(and_(
            cases.c.policy_id == HZ, text(OPEN_NOTICE_SQL), cases.c.notice_closes_at >= now,
            cases.c.notice_closes_at < end, case_condition(user))).order_by(cases.c.notice_closes_at, cases.c.id))]
        got: list[int] = []
        page = 0
        while True:
            rows, total = queries.notices_closing(conn, user, HZ, now, end, limit=queries.CLOSING_PER_PAGE,
                                                  offset=page * queries.CLOSING_PER_PAGE)
            assert total == len(wanted)
            if not rows:
                break
            assert set(rows[0]._fields) == {"id", "name", "employer", "state", "notice_closes_at"}
            got += [r.id for r in rows]
            page += 1
    assert got == wanted and len(wanted) > queries.CLOSING_PER_PAGE


def _old_due_within(policy_ids: list[str], now: dt.datetime, days: int) -> Any:
    """"Due within" as one OR, as it was before it was split into disjoint parts."""
    from sqlalchemy import or_

    from states.policy import get_policy

    until = now + dt.timedelta(days=days)
    parts = [and_(text(OPEN_NOTICE_SQL), cases.c.notice_closes_at >= now, cases.c.notice_closes_at <= until)]
    for pid in policy_ids:
        policy = get_policy(pid)
        stages = [s for s in policy.stages if (c := queries.next_cutoff(policy, s, now)) is not None
                  and queries.end_of_day(c.date) <= until]
        if stages:
            parts.append(and_(cases.c.policy_id == pid, queries._in_stages(stages)))
    return or_(*parts)


def test_due_within_finds_what_the_one_or_found(db: Engine, db_url: str) -> None:
    from states.policy import policies

    now = dt.datetime(2025, 4, 10, 10, 0, tzinfo=SHANGHAI)
    states = ["draft", "employer_review", "employer_notice", "management_review", "returned", "objection",
              "certified", "committee_review", "qualification_notice", "assessment", "expired"]
    specs = []
    for i in range(400):
        policy = (HZ, "hz-recognition-2022", "lp-assessment-2022", "wx-recognition-2022", "yh-recognition-2024")[i % 5]
        spec = CaseSpec(policy, states[i % len(states)], ("上城区", "西湖区")[i // 5 % 2], "单位", f"张{i}", 1, False)
        if spec.state in ("employer_notice", "qualification_notice", "objection") and i % 4:
            spec.notice_closes_at = now + dt.timedelta(hours=(i * 53) % 600 - 100)
        if spec.state == "returned":
            spec.return_stage = ("employer_review", "management_review", "committee_review")[i % 3]
        if spec.state == "objection":
            spec.notice_stage = ("employer_notice", "qualification_notice")[i % 2]
        specs.append(spec)
    Loader(db_url).load(specs)
    with db.connect() as conn:
        for user in (USERS[0], USERS[4]):
            for policy in (HZ, "lp-assessment-2022", None):
                for days in (0, 3, 7, 30, 366):
                    for when in (now, now + dt.timedelta(days=20), now - dt.timedelta(days=40)):
                        pids = [policy] if policy else list(policies())
                        where = and_(case_condition(user), _old_due_within(pids, when, days),
                                     cases.c.policy_id == policy if policy else text("1 = 1"))
                        wanted = set(conn.execute(select(cases.c.id).where(where)).scalars())
                        f = queries.CaseFilters(policy=policy, due_within=days)
                        rows, total = queries.list_cases(conn, user, f, when, limit=1000)
                        assert ({r.id for r in rows}, total) == (wanted, len(wanted)), (user.role, policy, days, when)


FACET_USERS = [*USERS, WebUser(6, "emp", Role.employer, UserScope(employer="单位3")),
               WebUser(7, "comm", Role.committee, UserScope(committees=("委员会A",))),
               WebUser(8, "comm2", Role.committee, UserScope(districts=("西湖区",), series=("制造业",)))]


def assert_facets_are_plain_distincts(db: Engine) -> None:
    from states.policy import policies

    with db.connect() as conn:
        for user in FACET_USERS:
            for column in ("district", "employer", "committee"):
                for policy in (None, *policies()):
                    col = cases.c[column]
                    plain = [str(v) for v in conn.execute(
                        select(col).where(case_condition(user), col.is_not(None),
                                          cases.c.policy_id == policy if policy else text("1 = 1"))
                        .distinct().order_by(col).limit(300)).scalars()]
                    assert queries.facet_values(conn, user, column, policy) == plain, (user.username, column, policy)


def test_drop_down_values_follow_every_write(db: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    Site.build(db, monkeypatch, with_users=False)
    specs = []
    for i in range(60):
        spec = CaseSpec((HZ, "hz-recognition-2022", "wx-recognition-2022")[i % 3], "draft",
                        ("上城区", "西湖区", "梁溪区")[i % 3], f"单位{i % 7}", f"周{i}", 1, False)
        specs.append(spec)
    Loader(db_url).load(specs, first_id=500)
    with db.begin() as conn:
        conn.execute(update(cases).where(cases.c.id.in_([500, 501, 502])).values(committee="委员会A", series="制造业"))
        conn.execute(update(cases).where(cases.c.id == 503).values(employer=None, district=None))
    assert_facets_are_plain_distincts(db)
    with db.begin() as conn:  # the last case of 单位6 in 梁溪区 goes; one moves district and employer
        conn.execute(delete(cases).where(cases.c.employer == "单位6"))
        conn.execute(update(cases).where(cases.c.id == 504).values(district="西湖区", employer="单位9"))
        conn.execute(update(cases).where(cases.c.id == 505).values(policy_id="lp-assessment-2022"))
    assert_facets_are_plain_distincts(db)
    monkeypatch.setattr("storage.case_facets.FOLD_AT", 0)
    with db.connect() as conn:
        before = queries.facet_values(conn, USERS[0], "employer", None)  # its connection's first statement
        assert queries.facet_values(conn, USERS[0], "employer", None) == before
        if db.dialect.name == "postgresql":
            assert conn.execute(text("SELECT count(*) FROM case_facet_changes")).scalar_one() == 0
    assert_facets_are_plain_distincts(db)
    Loader(db_url).load(specs[:5], first_id=900)
    assert_facets_are_plain_distincts(db)
