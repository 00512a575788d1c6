"""The web's reads. Every query is ANDed with the user's scope (workflow.web.scope), so nothing
outside it is counted, listed or found."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, and_, func, or_, select, text, true
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import Select

from states.calendar import end_of_day, product_calendar
from states.legal import cite_source
from states.policy import Cutoff, Policy, get_policy, policies
from states.vocabulary import OBJECTION, RETURNED
from storage import case_counts, case_facets, search
from storage.repo import cases, history
from storage.tables import NOTICE_STATES, OPEN_NOTICE_SQL
from workflow.web.scope import ALL_POLICIES, WebUser, case_condition, whole_policies

CLOSING_PER_PAGE = 20  # the dashboard's notices closing this week, a page at a time
_ID_QUERY = re.compile(r"[0-9]{4,17}[0-9Xx]?")


@dataclass(frozen=True)
class CaseFilters:
    policy: str | None = None
    state: str | None = None
    district: str | None = None
    employer: str | None = None
    committee: str | None = None
    due_within: int | None = None  # days: the case's next due time falls within now .. now + N days
    q: str | None = None  # a name (or part of one), a full ID number, or its last digits

    def query_items(self) -> list[tuple[str, str]]:
        return [(k, str(v)) for k, v in vars(self).items() if v not in (None, "")]


def stage_of(case: Any) -> str:
    """The stage a cutoff must end for the case to expire: a returned case counts in the stage that
    returned it, an objection in the notice it suspends (CONTRACT §4)."""
    if case.state == RETURNED and case.return_stage:
        return str(case.return_stage)
    if case.state == OBJECTION and case.notice_stage:
        return str(case.notice_stage)
    return str(case.state)


def _in_stages(stages: list[str] | tuple[str, ...]) -> ColumnElement[bool]:
    return or_(
        cases.c.state.in_(stages),
        and_(cases.c.state == RETURNED, cases.c.return_stage.in_(stages)),
        and_(cases.c.state == OBJECTION, cases.c.notice_stage.in_(stages)),
    )


def next_cutoff(policy: Policy, stage: str, now: dt.datetime) -> Cutoff | None:
    """The first cutoff still ahead that ends `stage`."""
    ahead = [c for c in policy.cutoffs if stage in c.ends and end_of_day(c.date) > now]
    return min(ahead, key=lambda c: c.date) if ahead else None


def _due_within(policy_ids: list[str], now: dt.datetime, days: int, *, one_policy: bool) -> list[ColumnElement[bool]]:
    """"Due within `days`" as disjoint conditions whose OR it is, each an equality or range seek on an
    index, so that a count adds one count per part instead of reading every row the OR matches:
    an open notice closing in the window (the literal open-notice condition of the partial indexes), and
    per policy the stages a cutoff in the window ends — other than notice states; notice states whose
    close is not in the window; returned by one; an objection suspending one. `one_policy`: the
    caller's conditions already hold the policy (the only one in `policy_ids`)."""
    until = now + dt.timedelta(days=days)
    closes = cases.c.notice_closes_at
    in_window = and_(text(OPEN_NOTICE_SQL), closes >= now, closes <= until)
    due = {pid: stages for pid in policy_ids if (stages := _stages_due(get_policy(pid), now, until))}
    if any(RETURNED in stages or OBJECTION in stages for stages in due.values()):
        # A stage a case returns to or objects from: the parts would overlap; one OR, as it was.
        return [or_(in_window, *(and_(cases.c.policy_id == pid, _in_stages(stages)) for pid, stages in due.items()))]
    parts: list[ColumnElement[bool]] = [in_window]
    for pid, stages in due.items():
        of = [] if one_policy else [cases.c.policy_id == pid]
        notices = [s for s in stages if s in NOTICE_STATES]
        others = [s for s in stages if s not in NOTICE_STATES]
        if others:
            parts.append(and_(*of, cases.c.state.in_(others)))
        if notices:
            parts.append(and_(*of, cases.c.state.in_(notices), or_(closes.is_(None), closes < now, closes > until)))
        parts.append(and_(*of, cases.c.state == RETURNED, cases.c.return_stage.in_(stages)))
        parts.append(and_(*of, cases.c.state == OBJECTION, cases.c.notice_stage.in_(stages)))
    return parts


def _stages_due(policy: Policy, now: dt.datetime, until: dt.datetime) -> list[str]:
    """The stages of `policy` whose next cutoff ends by `until`."""
    return [s for s in policy.stages if (c := next_cutoff(policy, s, now)) is not None and end_of_day(c.date) <= until]


def _search(conn: Connection, q: str) -> ColumnElement[bool]:
    """A name holding `q`, or for 4 to 18 digits (an X last), an ID number ending with them (the whole
    number too); through the search indexes of storage/search.py."""
    q = q.strip()
    if _ID_QUERY.fullmatch(q):
        return search.id_number_endswith(conn, q.upper())
    return search.name_contains(conn, q)


def conditions(conn: Connection, user: WebUser, f: CaseFilters,
               now: dt.datetime) -> tuple[ColumnElement[bool], list[ColumnElement[bool]]]:
    """What `f` selects in the user's scope: (the filters, the disjoint parts of "due within" — the
    filters alone when there are none)."""
    parts = [case_condition(user)]
    for column, value in ((cases.c.policy_id, f.policy), (cases.c.state, f.state),
                          (cases.c.district, f.district), (cases.c.employer, f.employer),
                          (cases.c.committee, f.committee)):
        if value:
            parts.append(column == value)
    if f.q and f.q.strip():
        parts = [search.beside_search(conn, p) for p in parts]
        parts.append(_search(conn, f.q))
    due: list[ColumnElement[bool]] = []
    if f.due_within is not None:
        pids = [f.policy] if f.policy else list(policies())
        due = _due_within(pids, now, f.due_within, one_policy=bool(f.policy))
    return and_(*parts), due


def list_cases(conn: Connection, user: WebUser, f: CaseFilters, now: dt.datetime, *, limit: int,
               offset: int = 0, order: Sequence[ColumnElement[Any]] = ()) -> tuple[list[Row[Any]], int]:
    """One page of the cases `f` selects; `order` (workflow.web.sorting) before the id. With "due within",
    the total is the sum of a count per disjoint part (each an index seek)."""
    filters, due = conditions(conn, user, f, now)
    counts = [select(func.count()).select_from(cases).where(and_(filters, part)).scalar_subquery()
              for part in due or [true()]]
    total: Any = counts[0]
    for more in counts[1:]:
        total = total + more
    where = and_(filters, or_(*due)) if due else filters
    rows = list(conn.execute(select(cases).where(where).order_by(*order, cases.c.id).limit(limit).offset(offset)))
    return rows, int(conn.execute(select(total)).scalar_one())


def visible_case(conn: Connection, user: WebUser, case_id: int) -> Row[Any] | None:
    return conn.execute(select(cases).where(and_(cases.c.id == case_id, case_condition(user)))).first()


def visible_ids(conn: Connection, user: WebUser, ids: list[int]) -> set[int]:
    if not ids:
        return set()
    found = conn.execute(select(cases.c.id).where(and_(cases.c.id.in_(ids), case_condition(user))))
    return {int(i) for i in found.scalars()}


def stage_counts(conn: Connection, user: WebUser, policy_id: str) -> dict[str, int]:
    stmt = (select(cases.c.state, func.count()).where(and_(cases.c.policy_id == policy_id, case_condition(user)))
            .group_by(cases.c.state))
    return {str(state): int(n) for state, n in conn.execute(stmt)}


@dataclass(frozen=True)
class CutoffRisk:
    cutoff: Cutoff
    due_at: dt.datetime
    at_risk: int  # cases in scope that this cutoff would expire if nothing moves them first


def cutoffs_ahead(conn: Connection, user: WebUser, policy: Policy, now: dt.datetime) -> list[CutoffRisk]:
    out = []
    for cutoff in sorted(policy.cutoffs, key=lambda c: c.date):
        due = end_of_day(cutoff.date)
        if due <= now:
            continue
        out.append(CutoffRisk(cutoff, due, _count_in_stages(conn, user, policy.id, cutoff.ends)))
    return out


def _count_in_stages(conn: Connection, user: WebUser, policy_id: str, stages: tuple[str, ...] | list[str]) -> int:
    """How many of the user's cases of the policy a cutoff ending `stages` would expire. Counted as three
    disjoint parts (in the stages; returned by one; in an objection suspending one), each an equality
    seek on (policy, state, …) in an index, instead of one OR that reads every entry of the policy."""
    parts = [
        cases.c.state.in_(stages),
        and_(cases.c.state == RETURNED, cases.c.return_stage.in_(stages)),
        and_(cases.c.state == OBJECTION, cases.c.notice_stage.in_(stages)),
    ]
    if RETURNED in stages or OBJECTION in stages:  # not disjoint: the one OR, counted once
        parts = [_in_stages(stages)]
    counts = [select(func.count()).select_from(cases).where(and_(cases.c.policy_id == policy_id, part,
                                                                case_condition(user))).scalar_subquery()
              for part in parts]
    total: Any = counts[0]
    for more in counts[1:]:
        total = total + more
    return int(conn.execute(select(total)).scalar_one())


def notices_closing(conn: Connection, user: WebUser, policy_id: str, start: dt.datetime, end: dt.datetime, *,
                    limit: int, offset: int = 0) -> tuple[list[Row[Any]], int]:
    """One page of the policy's open notices closing in [start, end), by close time, with the columns the
    dashboard shows, and how many there are in all (a round's week can hold 10,000)."""
    where = and_(
        # The literal condition lets the planner use the partial index on open notices.
        cases.c.policy_id == policy_id, text(OPEN_NOTICE_SQL), cases.c.notice_closes_at >= start,
        cases.c.notice_closes_at < end, case_condition(user))
    total = int(conn.execute(select(func.count()).select_from(cases).where(where)).scalar_one())
    stmt: Select[Any] = (select(cases.c.id, cases.c.name, cases.c.employer, cases.c.state, cases.c.notice_closes_at)
                         .where(where).order_by(cases.c.notice_closes_at, cases.c.id).limit(limit).offset(offset))
    rows: list[Row[Any]] = list(conn.execute(stmt))
    return rows, total


def expired_between(conn: Connection, user: WebUser, policy_id: str, start: dt.datetime,
                    end: dt.datetime) -> list[Row[Any]]:
    """Cases of the policy that expired in [start, end), with the time (`expired_at`) and reason: the
    window's history rows by their `at` index, then their cases. On SQLite the case conditions are
    marked likely true (search.beside_search), else the planner, without statistics, drives the query
    from the round's (or the district's) cases and looks up each one's history (at 1,000,000 cases:
    60–70 ms for a day with ~350 expiries)."""
    stmt = (select(cases.c.id, cases.c.name, cases.c.id_number, cases.c.district, cases.c.employer,
                   history.c.at.label("expired_at"), history.c.from_state, history.c.reason)
            .select_from(history.join(cases, cases.c.id == history.c.case_id))
            .where(and_(history.c.action == "expire", history.c.at >= start, history.c.at < end,
                        search.beside_search(conn, and_(cases.c.policy_id == policy_id, case_condition(user)))))
            .order_by(history.c.at, cases.c.id))
    return list(conn.execute(stmt))


def facet_values(conn: Connection, user: WebUser, column: str, policy_id: str | None,
                 limit: int = 300) -> list[str]:
    """The distinct values of `column` among the user's cases, for the filter drop-downs: from the
    combinations migration 0015 keeps (a few thousand rows) for the columns it keeps, else from the cases."""
    scope = and_(case_condition(user), cases.c.policy_id == policy_id if policy_id else true())
    if column in case_facets.COLUMNS:
        owned = not conn.in_transaction()
        values, journal = case_facets.distinct_values(conn, column, scope, limit)
        if journal > case_facets.FOLD_AT and owned:
            conn.rollback()  # the read's own transaction
            case_facets.fold(conn)
        return values
    col = cases.c[column]
    rows = conn.execute(select(col).where(scope, col.is_not(None)).distinct().order_by(col).limit(limit))
    return [str(v) for v in rows.scalars()]


@dataclass(frozen=True)
class DueTime:
    kind: str  # "notice" | "cutoff"
    label: str
    at: dt.datetime
    source: str | None = None
    provisional: bool = False  # counted on a provisional calendar year (CONTRACT §10)


def pending_due(case: Any, now: dt.datetime) -> list[DueTime]:
    """What is still due for the case: its notice's close and the cutoffs that end its stage."""
    out: list[DueTime] = []
    if case.notice_closes_at is not None and case.state in (*NOTICE_STATES, OBJECTION):
        out.append(DueTime("notice", "公示期满（原定）" if case.state == OBJECTION else "公示期满",
                           case.notice_closes_at, provisional=product_calendar().provisional_notice(
                               case.notice_opened_at, case.notice_closes_at)))
    policy = get_policy(case.policy_id, case.policy_version)
    stage = stage_of(case)
    for cutoff in sorted(policy.cutoffs, key=lambda c: c.date):
        if stage in cutoff.ends and end_of_day(cutoff.date) > now:
            out.append(DueTime("cutoff", cutoff.label, end_of_day(cutoff.date), cite_source(cutoff.source)))
    return out


def case_counts_by_policy(conn: Connection, user: WebUser) -> dict[str, int]:
    """{policy: the user's cases}. A scope of whole policies reads the counts migration 0013 keeps (and,
    when its journal has grown and `conn` was not in a transaction, folds the journal afterwards);
    any other scope counts its cases."""
    whole = whole_policies(user)
    if whole is None:
        stmt = select(cases.c.policy_id, func.count()).where(case_condition(user)).group_by(cases.c.policy_id)
        return {str(p): int(n) for p, n in conn.execute(stmt)}
    owned = not conn.in_transaction()
    found, journal = case_counts.policy_counts(conn, None if whole is ALL_POLICIES else list(whole))
    if journal > case_counts.FOLD_AT and owned:
        conn.rollback()  # the read's own transaction
        case_counts.fold(conn)
    return found
