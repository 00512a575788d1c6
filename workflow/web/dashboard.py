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

from sqlalchemy import and_, case, func, literal, or_, select, text, union_all
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
    """Two statements per cutoff ahead at most: one reading its waiting cases (how many, how many to
    act, how many notices closing late, per group, in one pass), and one reading the office's moves
    out of every cutoff's acting stages over the pace window, per group and stage, shared by all."""
    today = local_date(now)
    cal = calendar_for(policy)
    col = cases.c[group_column(user)]
    base = and_(cases.c.policy_id == policy.id, case_condition(user))
    ahead = []
    for cutoff in sorted(policy.cutoffs, key=lambda c: c.date):
        due = end_of_day(cutoff.date)
        if due <= now:
            continue
        reviews, notice_days = _review_before_notice(policy, cutoff)
        last_day = latest_approval_day(cutoff.date, notice_days, cal) if notice_days else cutoff.date
        acting = reviews or [s for s in cutoff.ends if not STAGE_KINDS[s].is_notice] or list(cutoff.ends)
        days_left = cal.count_working_days(today - dt.timedelta(days=1), last_day) if last_day >= today else 0
        ahead.append((cutoff, due, last_day, notice_days, acting, days_left))
    since = end_of_day(cal.working_days_before(today, PACE_WINDOW_WORKING_DAYS) - dt.timedelta(days=1))
    moved = _moved(conn, col, base, sorted({s for *_, acting, _ in ahead for s in acting}), since, now)

    out: list[CutoffTable] = []
    for cutoff, due, last_day, notice_days, acting, days_left in ahead:
        rows = []
        for who, (n, to_act, late, oldest) in _waiting(conn, col, base, cutoff.ends, acting, due).items():
            pace = max(sum(moved.get((who, s), 0) for s in acting) / PACE_WINDOW_WORKING_DAYS, MIN_PACE_PER_DAY)
            capacity = math.floor(pace * days_left)
            risk = max(0, to_act - capacity) + late
            rows.append(WaitingRow(who, n, to_act, min(risk, n), round(pace, 1), oldest))
        rows.sort(key=lambda r: (-r.at_risk, -r.waiting, r.who))
        out.append(CutoffTable(cutoff, due, last_day, notice_days, days_left, group_column(user),
                               rows[:MAX_ROWS], max(0, len(rows) - MAX_ROWS)))
    return out


def _label(who: Any) -> str:
    return str(who or "（未填）")


def _parts(stages: list[str] | tuple[str, ...]) -> list[ColumnElement[bool]]:
    """_in(stages) as three disjoint parts, each an equality or IN seek on a stage index."""
    return [cases.c.state.in_(stages), and_(cases.c.state == RETURNED, cases.c.return_stage.in_(stages)),
            and_(cases.c.state == OBJECTION, cases.c.notice_stage.in_(stages))]


def _waiting(conn: Connection, col: Any, base: ColumnElement[bool], ends: tuple[str, ...] | list[str],
             acting: list[str], due: dt.datetime) -> dict[str, tuple[int, int, int, dt.datetime | None]]:
    """Per group, the cases in a stage the cutoff ends: how many, how many of them still before the
    office's decision (_to_act ⊆ _in, as acting ⊆ ends), how many open notices closing after the
    cutoff, and the earliest submission. One statement: the three disjoint parts of _in, each read
    from the stage index that leads with the scope's columns and ends with the group column and the
    submission time (migration 0016), UNION ALL; the parts' rows of a group are added up here, as
    are the groups of a NULL and an empty name."""
    late = and_(text(OPEN_NOTICE_SQL), cases.c.state.in_(ends), cases.c.notice_closes_at > due)
    who: Any = col
    if conn.dialect.name == "sqlite":
        # Grouped by `col || ''` (the same groups: NULL stays NULL): without statistics (zcflow runs no
        # ANALYZE) SQLite would read the round's rows through ix_cases_policy_district to have them in
        # district order, rather than the stage index's few entries (at 1,000,000 cases: 790 → ~20 ms).
        who = col.op("||")(literal(""))
    parts = [select(who.label("who"), func.count(), func.count(case((_to_act(acting), 1))),
                    func.count(case((late, 1))), func.min(cases.c.submitted_at))
             .where(and_(base, part)).group_by(who) for part in _parts(ends)]
    out: dict[str, tuple[int, int, int, dt.datetime | None]] = {}
    for name, n, to_act, n_late, oldest in conn.execute(union_all(*parts)):
        key = _label(name)
        if key in out:
            m, a, lt, o = out[key]
            oldest = min((t for t in (o, oldest) if t is not None), default=None)
            n, to_act, n_late = n + m, to_act + a, n_late + lt
        out[key] = (int(n), int(to_act), int(n_late), oldest)
    return out


def _moved(conn: Connection, col: Any, base: ColumnElement[bool], stages: list[str], since: dt.datetime,
           now: dt.datetime) -> dict[tuple[str, str], int]:
    """The office's moves (not the system's) out of `stages` in [since, now], per group and stage:
    the history rows of the window found by their `at` index, then their cases."""
    if not stages:
        return {}
    out: dict[tuple[str, str], int] = {}
    for who, stage, n in conn.execute(
            select(col, history.c.from_state, func.count())
            .select_from(history.join(cases, cases.c.id == history.c.case_id))
            .where(and_(base, history.c.from_state.in_(stages), history.c.at >= since, history.c.at <= now,
                        history.c.actor_role != Role.system.value))
            .group_by(col, history.c.from_state)):
        key = (_label(who), str(stage))
        out[key] = out.get(key, 0) + int(n)
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

