"""Working days, Shanghai time and notice periods (pure Python; no database, no project imports).

Public API:

* `WorkingDayCalendar` (abstract), `UnknownYearError`, `ChineseCalendar` (the package alone),
  `LayeredCalendar` (imported years in front of the package), `product_calendar()` (the one shared
  by the whole product; `storage.calendar_years.sync_calendar` keeps it in step with the database),
  `calendar_with(overrides)` (it, with a policy's corrections on top);
* `CalendarYear`, `parse_year_file`, `package_year`: one year's schedule as data (CONTRACT §10);
* `SHANGHAI`, `end_of_day`, `local_date`, `notice_close`, `latest_approval_day`, `reminder_days`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from .base import UnknownYearError, WorkingDayCalendar
from .chinese import ChineseCalendar, package_year
from .layered import LayeredCalendar, OverlayCalendar
from .timeutil import SHANGHAI, end_of_day, latest_approval_day, local_date, notice_close, reminder_days
from .years import OFFICIAL, PROVISIONAL, CalendarFileError, CalendarYear, Holiday, parse_year_file

__all__ = [
    "OFFICIAL",
    "PROVISIONAL",
    "SHANGHAI",
    "CalendarFileError",
    "CalendarYear",
    "ChineseCalendar",
    "Holiday",
    "LayeredCalendar",
    "OverlayCalendar",
    "UnknownYearError",
    "WorkingDayCalendar",
    "calendar_with",
    "default_calendar",
    "end_of_day",
    "latest_approval_day",
    "local_date",
    "notice_close",
    "package_year",
    "parse_year_file",
    "product_calendar",
    "reminder_days",
]

_DEFAULT_CALENDAR = ChineseCalendar()
_PRODUCT = LayeredCalendar()
_OVERLAYS: dict[frozenset[tuple[dt.date, bool]], OverlayCalendar] = {}


def default_calendar() -> ChineseCalendar:
    """The package's calendar alone, without imported years (for tests of the package itself)."""
    return _DEFAULT_CALENDAR


def product_calendar() -> LayeredCalendar:
    """THE working-day calendar of the product: imported years in front of the package."""
    return _PRODUCT


def calendar_with(overrides: Mapping[dt.date, bool] | None = None) -> WorkingDayCalendar:
    """The product calendar, with a policy's per-date corrections on top when it has any."""
    if not overrides:
        return _PRODUCT
    key = frozenset(overrides.items())
    found = _OVERLAYS.get(key)
    if found is None:
        found = _OVERLAYS[key] = OverlayCalendar(_PRODUCT, overrides)
    return found
