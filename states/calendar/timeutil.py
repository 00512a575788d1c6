"""Instants, Shanghai dates, cutoffs and notice periods.

Conventions (product contract):

* All times are Asia/Shanghai. Instants are aware `datetime`s; naive ones are refused.
* A cutoff date D means the end of D, i.e. 00:00 of D+1 local time (`end_of_day`).
* A notice of N working days opened at instant t covers the next N working days after the
  Shanghai date of t and closes at the end of the N-th (Civil Code art. 201: the day the period
  starts is not counted, whatever the hour, and whether or not it is itself a working day).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from .base import WorkingDayCalendar, _require_date

__all__ = [
    "SHANGHAI",
    "end_of_day",
    "latest_approval_day",
    "local_date",
    "notice_close",
    "reminder_days",
]

SHANGHAI = ZoneInfo("Asia/Shanghai")

_ONE_DAY = dt.timedelta(days=1)


def end_of_day(d: dt.date) -> dt.datetime:
    """The instant a cutoff date `d` ends: 00:00 of d+1 in Shanghai (aware)."""
    day = _require_date(d, "d") + _ONE_DAY
    return dt.datetime(day.year, day.month, day.day, tzinfo=SHANGHAI)


def local_date(t: dt.datetime) -> dt.date:
    """The Shanghai calendar date of the aware instant `t`; `ValueError` for a naive one."""
    if not isinstance(t, dt.datetime):
        raise TypeError(f"t must be a datetime, got {t!r}")
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"naive datetime {t.isoformat()}: give an aware instant (Asia/Shanghai by contract)")
    return t.astimezone(SHANGHAI).date()


def _require_notice_days(n: int, name: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"{name} must be an int, got {n!r}")
    if n < 1:
        raise ValueError(f"{name} must be >= 1, got {n}")
    return n


def notice_close(opened_at: dt.datetime, working_days: int, cal: WorkingDayCalendar) -> dt.datetime:
    """When a notice of `working_days` (>= 1) working days opened at `opened_at` closes.

    = end_of_day(cal.next_working_days(local_date(opened_at), working_days)). The opening day is
    never counted, even when the notice opens at 00:00 or on a non-working day.
    """
    days = _require_notice_days(working_days, "working_days")
    return end_of_day(cal.next_working_days(local_date(opened_at), days))


def latest_approval_day(cutoff: dt.date, notice_days: int, cal: WorkingDayCalendar) -> dt.date:
    """The last calendar day on which an approval still lets its notice close by end_of_day(cutoff).

    That is the largest D with cal.next_working_days(D, notice_days) <= cutoff. With W the last
    working day on or before `cutoff`, the notice must end by W, so (D, W] must hold `notice_days`
    working days: D is the day before the (notice_days - 1)-th working day strictly before W.
    D may itself be a non-working day (approving on a Sunday still starts the count on Monday).
    """
    days = _require_notice_days(notice_days, "notice_days")
    last_working = cal.previous_working_day(cutoff)
    first_notice_day = cal.working_days_before(last_working, days - 1)
    return first_notice_day - _ONE_DAY


def reminder_days(cutoff: dt.date, cal: WorkingDayCalendar, offsets: Iterable[int] = (3, 1)) -> list[dt.date]:
    """The days to remind on before `cutoff`: for each k in `offsets`, k working days before it.

    Definition: let A be the last working day on or before `cutoff` (A is `cutoff` itself when it is
    a working day). "k working days before the cutoff" is `cal.working_days_before(A, k)`, the k-th
    working day strictly before A; k = 0 means A itself. Equivalently, the (k+1)-th working day
    strictly before cutoff + 1 day. For a cutoff on Monday 2025-04-14: k=1 -> Friday 04-11,
    k=3 -> Wednesday 04-09. For a cutoff on a holiday or weekend the count starts from A, so A
    plays the role of the cutoff day. Returned sorted, without duplicates. Negative k: `ValueError`.
    """
    anchor = cal.previous_working_day(cutoff)
    found: set[dt.date] = set()
    for k in offsets:
        found.add(cal.working_days_before(anchor, k))
    return sorted(found)
