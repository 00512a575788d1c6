"""The case list's sortable columns (issue 15): 提交时间, 当前阶段, 截止, 级别, 单位.

`?sort=due` ascending, `?sort=-due` descending; the id breaks ties (queries.list_cases). A stage sorts
in the vocabulary's order (the order a case moves through), not alphabetically; 截止 is the case's
next due time: its open notice's close, else the next cutoff that ends its stage."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import and_, case, or_
from sqlalchemy.sql.elements import ColumnElement

from states.calendar import end_of_day
from states.policy import policies
from states.vocabulary import ALL_STATES, RETURNED
from storage.repo import cases
from storage.tables import NOTICE_STATES

SORT_LABELS: dict[str, str] = {"submitted": "提交时间", "state": "当前阶段", "due": "截止", "level": "级别",
                               "employer": "单位"}


def _next_cutoff_at(now: dt.datetime) -> ColumnElement[Any]:
    whens = []
    for policy in policies().values():
        for stage in policy.stages:
            ahead = [end_of_day(c.date) for c in policy.cutoffs if stage in c.ends and end_of_day(c.date) > now]
            if ahead:
                whens.append((and_(cases.c.policy_id == policy.id,
                                   or_(cases.c.state == stage,
                                       and_(cases.c.state == RETURNED, cases.c.return_stage == stage))),
                              min(ahead)))
    return case(*whens, else_=None) if whens else case((cases.c.id.is_(None), None), else_=None)


def sort_column(key: str, now: dt.datetime) -> ColumnElement[Any]:
    plain: dict[str, ColumnElement[Any]] = {"submitted": cases.c.submitted_at, "employer": cases.c.employer,
                                            # assistant < intermediate < senior, alphabetically too
                                            "level": cases.c.level}
    if key in plain:
        return plain[key]
    if key == "state":
        return case({s: i for i, s in enumerate(ALL_STATES)}, value=cases.c.state, else_=len(ALL_STATES))
    if key == "due":
        notice = case((cases.c.state.in_(NOTICE_STATES), cases.c.notice_closes_at), else_=None)
        return case((notice.is_not(None), notice), else_=_next_cutoff_at(now))
    raise KeyError(key)


def order_for(sort: str | None, now: dt.datetime) -> list[ColumnElement[Any]]:
    """The ORDER BY of `sort` ("due", "-due", …); empty for none. Empty values sort last."""
    if not sort:
        return []
    key = sort.removeprefix("-")
    column = sort_column(key, now)
    return [column.desc().nulls_last() if sort.startswith("-") else column.asc().nulls_last()]
