"""The dashboard's cutoff tables, read in one pass per cutoff and one pace query for all, equal what
the four queries per cutoff (as they were before issue 18) gave, for every scope and several days."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from sqlalchemy import and_, func, select, text, update
from sqlalchemy.engine import Connection, Engine

from benchmarks.common import CaseSpec, Loader
from states.calendar import end_of_day, latest_approval_day, local_date
from states.policy import Policy, get_policy
from states.vocabulary import STAGE_KINDS, Role
from storage.repo import cases, history
from storage.tables import OPEN_NOTICE_SQL
from workflow.clock import SHANGHAI
from workflow.engine import calendar_for
from workflow.web import dashboard as d
from workflow.web.scope import UserScope, WebUser, case_condition

HZ = "hz-recognition-2025h1"
POLICIES = (HZ, "hz-recognition-2022", "lp-assessment-2022", "wx-recognition-2022", "yh-recognition-2024")
USERS = [WebUser(1, "admin", Role.admin, UserScope()),
         WebUser(2, "city", Role.city, UserScope(city="杭州市")),
         WebUser(3, "dept", Role.department, UserScope(district="上城区")),
         WebUser(4, "emp", Role.employer, UserScope(employer="单位3")),
         WebUser(5, "comm", Role.committee, UserScope(districts=("西湖区",), series=("制造业",))),
         WebUser(6, "platform", Role.platform, UserScope(policies=(HZ,)))]


def old_cutoff_tables(conn: Connection, user: WebUser, policy: Policy, now: dt.datetime) -> list[d.CutoffTable]:
    """The cutoff tables as four queries per cutoff (waiting, to act, late notices, pace)."""
    today = local_date(now)
    cal = calendar_for(policy)
    col = cases.c[d.group_column(user)]
    scope = case_condition(user)
    out: list[d.CutoffTable] = []
    for cutoff in sorted(policy.cutoffs, key=lambda c: c.date):
        due = end_of_day(cutoff.date)
        if due <= now:
            continue
        reviews, notice_days = d._review_before_notice(policy, cutoff)
        last_day = latest_approval_day(cutoff.date, notice_days, cal) if notice_days else cutoff.date
        acting = reviews or [s for s in cutoff.ends if not STAGE_KINDS[s].is_notice] or list(cutoff.ends)
        days_left = cal.count_working_days(today - dt.timedelta(days=1), last_day) if last_day >= today else 0
        base = and_(cases.c.policy_id == policy.id, scope)
        waiting: dict[str, list[Any]] = {}
        for who, n, oldest in conn.execute(select(col, func.count(), func.min(cases.c.submitted_at))
                                           .where(and_(base, d._in(cutoff.ends))).group_by(col)):
            waiting[str(who or "（未填）")] = [int(n), oldest]
        to_act = {str(who or "（未填）"): int(n) for who, n in conn.execute(
            select(col, func.count()).where(and_(base, d._to_act(acting))).group_by(col))}
        late_notices = {str(who or "（未填）"): int(n) for who, n in conn.execute(
            select(col, func.count()).where(and_(
                base, text(OPEN_NOTICE_SQL), cases.c.state.in_(cutoff.ends), cases.c.notice_closes_at > due))
            .group_by(col))}
        since = end_of_day(cal.working_days_before(today, d.PACE_WINDOW_WORKING_DAYS) - dt.timedelta(days=1))
        moved = {str(who or "（未填）"): int(n) for who, n in conn.execute(
            select(col, func.count()).select_from(history.join(cases, cases.c.id == history.c.case_id))
            .where(and_(base, history.c.from_state.in_(acting), history.c.at >= since, history.c.at <= now,
                        history.c.actor_role != Role.system.value))
            .group_by(col))}
        rows = []
        for who, (n, oldest) in waiting.items():
            pace = max(moved.get(who, 0) / d.PACE_WINDOW_WORKING_DAYS, d.MIN_PACE_PER_DAY)
            capacity = math.floor(pace * days_left)
            risk = max(0, to_act.get(who, 0) - capacity) + late_notices.get(who, 0)
            rows.append(d.WaitingRow(who, n, to_act.get(who, 0), min(risk, n), round(pace, 1), oldest))
        rows.sort(key=lambda r: (-r.at_risk, -r.waiting, r.who))
        out.append(d.CutoffTable(cutoff, due, last_day, notice_days, days_left, d.group_column(user),
                                 rows[:d.MAX_ROWS], max(0, len(rows) - d.MAX_ROWS)))
    return out


STATES = ["draft", "employer_review", "employer_notice", "management_review", "returned", "objection",
          "paper_submission", "certified", "committee_review", "qualification_notice", "assessment", "expired"]
MOVES = [("employer_review", "employer"), ("employer_notice", "system"), ("management_review", "department"),
         ("paper_submission", "department"), ("committee_review", "committee"), ("assessment", "committee"),
         ("draft", "applicant"), ("employer_review", "system"), ("management_review", "admin")]


def load(db: Engine, db_url: str, now: dt.datetime) -> None:
    """Cases of every policy in every stage, spread over 60 employers (some unnamed) and three
    districts; history rows out of varied stages by varied actors over the five weeks around `now`."""
    specs = []
    for i in range(1500):
        spec = CaseSpec(POLICIES[i % 5 if i % 3 else 0], STATES[i * 7 % len(STATES)],
                        ("上城区", "西湖区", "拱墅区")[i // 5 % 3], f"单位{i * 13 % 60}", f"张{i}", 1, False)
        if spec.state in ("employer_notice", "qualification_notice", "objection") and i % 4:
            spec.notice_closes_at = now + dt.timedelta(hours=(i * 53) % 1400 - 300)
        if spec.state == "returned":
            spec.return_stage = ("employer_review", "management_review", "committee_review", "paper_submission")[i % 4]
        if spec.state == "objection":
            spec.notice_stage = ("employer_notice", "qualification_notice")[i % 2]
        specs.append(spec)
    Loader(db_url).load(specs)
    with db.begin() as conn:
        for k in range(7):  # varied submissions, some none, some employers unnamed
            conn.execute(update(cases).where(cases.c.id % 7 == k).values(
                submitted_at=None if k == 6 else now - dt.timedelta(days=40 - 5 * k, hours=k)))
        conn.execute(update(cases).where(cases.c.id % 29 == 0).values(employer=None))
        conn.execute(update(cases).where(cases.c.id % 31 == 0).values(district=None))
        rows = []
        for cid in range(1, 1501):
            for seq in range(1, 1 + cid % 4):
                src, role = MOVES[(cid * 3 + seq) % len(MOVES)]
                at = now + dt.timedelta(hours=(cid * 37 + seq * 11) % 900 - 800)
                rows.append({"case_id": cid, "seq": seq, "at": at, "actor_role": role, "actor_id": None,
                             "action": "x", "from_state": src, "to_state": "y", "reason": None})
        conn.execute(history.insert(), rows)


def test_cutoff_tables_equal_the_four_queries_per_cutoff(db: Engine, db_url: str) -> None:
    now = dt.datetime(2025, 4, 10, 10, 0, tzinfo=SHANGHAI)
    load(db, db_url, now)
    days = [now - dt.timedelta(days=60), now - dt.timedelta(days=12), now, now + dt.timedelta(days=6, hours=5),
            now + dt.timedelta(days=25), dt.datetime(2022, 3, 1, 9, tzinfo=SHANGHAI),
            dt.datetime(2022, 6, 15, 16, tzinfo=SHANGHAI)]
    seen: list[d.WaitingRow] = []
    with db.connect() as conn:
        for user in USERS:
            for pid in POLICIES:
                policy = get_policy(pid)
                for when in days:
                    new = d.cutoff_tables(conn, user, policy, when)
                    assert new == old_cutoff_tables(conn, user, policy, when), (user.username, pid, when)
                    seen += [r for t in new for r in t.rows]
    # The comparison saw tables with rows, paces above the floor, cases at risk and unnamed groups.
    assert len(seen) > 300
    assert any(r.pace > d.MIN_PACE_PER_DAY for r in seen) and any(0 < r.at_risk < r.waiting for r in seen)
    assert any(r.who == "（未填）" for r in seen) and any(r.oldest is None for r in seen)
