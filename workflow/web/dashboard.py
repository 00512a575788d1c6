"""The dashboard a section chief opens at 9 am: for each cutoff still ahead, whom to chase.

Per cutoff, one row per employer (per district for the city and the administrator) with its cases
still waiting in a stage the cutoff ends, and 最晚审核日: the last day an approval still lets the
5-working-day notice that follows close by the cutoff (seed 002 附件3 §一.4: the employer's notice
runs 5 working days; CONTRACT §4: a cutoff date D means the end of D). Where the cutoff ends no
notice, the last day is the cutoff's own date.

At risk is apart from merely waiting: a case is at risk when it can no longer make the cutoff at
the current pace —

* a notice that closes after the cutoff (it will expire while still running);
* a case still awaiting the review before that notice once its 最晚审核日 has passed;
* beyond the office's capacity: the office moves `pace` cases a working day (its own moves out of
  those stages over the last 10 working days, at least one a day), so with `d` working days left
  up to 最晚审核日 it can still move `pace × d`; the cases waiting beyond that are at risk.

Every query is ANDed with the user's scope and uses the literal open-notice condition
(storage.tables.OPEN_NOTICE_SQL) so that the partial index on open notices serves it.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, func, or_, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from states.calendar import end_of_day, latest_approval_day, local_date
from states.policy import Cutoff, Policy
from states.vocabulary import OBJECTION, RETURNED, STAGE_KINDS, Role
from storage.repo import cases, history
from storage.tables import OPEN_NOTICE_SQL
from workflow.engine import calendar_for
from workflow.web.scope import WebUser, case_condition

PACE_WINDOW_WORKING_DAYS = 10
MIN_PACE_PER_DAY = 1.0
MAX_ROWS = 40


@dataclass(frozen=True)
class WaitingRow:
    who: str  # the employer, or the district
    waiting: int  # cases in a stage the cutoff ends
    to_act: int  # of those, cases still before the office's decision (review or returned)
    at_risk: int
    pace: float  # cases a working day the office moved out of these stages lately
    oldest: dt.datetime | None  # the earliest submission among the waiting cases


@dataclass(frozen=True)
class CutoffTable:
    cutoff: Cutoff
    due_at: dt.datetime
    last_day: dt.date  # 最晚审核日
    notice_days: int | None  # the notice the last day leaves room for
    days_left: int  # working days from today to the last day, both counted
    group: str  # "employer" or "district"
    rows: list[WaitingRow] = field(default_factory=list)
    more: int = 0  # groups beyond MAX_ROWS

    @property
    def waiting(self) -> int:
        return sum(r.waiting for r in self.rows)

    @property
    def at_risk(self) -> int:
        return sum(r.at_risk for r in self.rows)


def group_column(user: WebUser) -> str:
    """Employers for an office that chases employers; districts for the city and the administrator."""
    return "district" if user.role in (Role.city, Role.admin) else "employer"


def _review_before_notice(policy: Policy, cutoff: Cutoff) -> tuple[list[str], int | None]:
    """The review stages whose approval opens a notice this cutoff also ends, and the notice length."""
    reviews: list[str] = []
    days: int | None = None
    for stage in cutoff.ends:
        nxt = policy.next_stage(stage) if stage in policy.stages else None
        if nxt and nxt in cutoff.ends and STAGE_KINDS[nxt].is_notice and nxt in policy.notices:
            reviews.append(stage)
            days = max(days or 0, policy.notices[nxt].working_days)
    return reviews, days


def _in(stages: list[str] | tuple[str, ...]) -> ColumnElement[bool]:
    return or_(cases.c.state.in_(stages), and_(cases.c.state == RETURNED, cases.c.return_stage.in_(stages)),
               and_(cases.c.state == OBJECTION, cases.c.notice_stage.in_(stages)))


def _to_act(stages: list[str] | tuple[str, ...]) -> ColumnElement[bool]:
    """Before the office's decision: in the stage, or returned by it (the applicant corrects)."""
    return or_(cases.c.state.in_(stages), and_(cases.c.state == RETURNED, cases.c.return_stage.in_(stages)))


def cutoff_tables(conn: Connection, user: WebUser, policy: Policy, now: dt.datetime) -> list[CutoffTable]:
    today = local_date(now)
    cal = calendar_for(policy)
    col = cases.c[group_column(user)]
    scope = case_condition(user)
    out: list[CutoffTable] = []
    for cutoff in sorted(policy.cutoffs, key=lambda c: c.date):
        due = end_of_day(cutoff.date)
        if due <= now:
            continue
        reviews, notice_days = _review_before_notice(policy, cutoff)
        last_day = latest_approval_day(cutoff.date, notice_days, cal) if notice_days else cutoff.date
        acting = reviews or [s for s in cutoff.ends if not STAGE_KINDS[s].is_notice] or list(cutoff.ends)
        days_left = cal.count_working_days(today - dt.timedelta(days=1), last_day) if last_day >= today else 0
        base = and_(cases.c.policy_id == policy.id, scope)

        waiting: dict[str, list[Any]] = {}
        for who, n, oldest in conn.execute(select(col, func.count(), func.min(cases.c.submitted_at))
                                           .where(and_(base, _in(cutoff.ends))).group_by(col)):
            waiting[str(who or "（未填）")] = [int(n), oldest]
        to_act = {str(who or "（未填）"): int(n) for who, n in conn.execute(
            select(col, func.count()).where(and_(base, _to_act(acting))).group_by(col))}
        late_notices = {str(who or "（未填）"): int(n) for who, n in conn.execute(
            select(col, func.count()).where(and_(
                base, text(OPEN_NOTICE_SQL), cases.c.state.in_(cutoff.ends), cases.c.notice_closes_at > due))
            .group_by(col))}
        since = end_of_day(cal.working_days_before(today, PACE_WINDOW_WORKING_DAYS) - dt.timedelta(days=1))
        moved = {str(who or "（未填）"): int(n) for who, n in conn.execute(
            select(col, func.count()).select_from(history.join(cases, cases.c.id == history.c.case_id))
            .where(and_(base, history.c.from_state.in_(acting), history.c.at >= since, history.c.at <= now,
                        history.c.actor_role != Role.system.value))
            .group_by(col))}

        rows = []
        for who, (n, oldest) in waiting.items():
            pace = max(moved.get(who, 0) / PACE_WINDOW_WORKING_DAYS, MIN_PACE_PER_DAY)
            capacity = math.floor(pace * days_left)
            risk = max(0, to_act.get(who, 0) - capacity) + late_notices.get(who, 0)
            rows.append(WaitingRow(who, n, to_act.get(who, 0), min(risk, n), round(pace, 1), oldest))
        rows.sort(key=lambda r: (-r.at_risk, -r.waiting, r.who))
        out.append(CutoffTable(cutoff, due, last_day, notice_days, days_left, group_column(user),
                               rows[:MAX_ROWS], max(0, len(rows) - MAX_ROWS)))
    return out


def touched_policies(per_policy: dict[str, int], visible: list[Policy], user: WebUser) -> list[Policy]:
    """The rounds the user's scope touches: those with cases in scope; for a district department
    also a round whose scope names its district. The administrator sees every round."""
    if user.role is Role.admin:
        return visible
    district = user.scope.district
    out = []
    for p in visible:
        named = bool(district and p.scope.districts and p.scope.districts.only
                     and district in p.scope.districts.only)
        if per_policy.get(p.id) or named:
            out.append(p)
    return out


def due_days(now: dt.datetime, until: dt.datetime) -> int:
    """Whole days from now until `until`, rounded up (the case list's "due within N days")."""
    return max(0, math.ceil((until - now).total_seconds() / 86400))

