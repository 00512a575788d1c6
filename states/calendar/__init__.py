"""Working days, Shanghai time and notice periods (pure Python; no database, no project imports).

Public API:

* `WorkingDayCalendar` (abstract), `UnknownYearError`, `ChineseCalendar`, `default_calendar()`;
* `SHANGHAI`, `end_of_day`, `local_date`, `notice_close`, `latest_approval_day`, `reminder_days`.
"""

from __future__ import annotations

from .base import UnknownYearError, WorkingDayCalendar
from .chinese import ChineseCalendar
from .timeutil import SHANGHAI, end_of_day, latest_approval_day, local_date, notice_close, reminder_days

__all__ = [
    "SHANGHAI",
    "ChineseCalendar",
    "UnknownYearError",
    "WorkingDayCalendar",
    "default_calendar",
    "end_of_day",
    "latest_approval_day",
    "local_date",
    "notice_close",
    "reminder_days",
]

_DEFAULT_CALENDAR = ChineseCalendar()


def default_calendar() -> ChineseCalendar:
    """The shared ChineseCalendar without overrides (policies with overrides build their own)."""
    return _DEFAULT_CALENDAR
