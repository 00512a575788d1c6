"""The State Council working-day schedule, as published by the `chinesecalendar` package."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from types import MappingProxyType

import chinese_calendar

from .base import UnknownYearError, WorkingDayCalendar, _require_date
from .years import OFFICIAL, CalendarYear, Holiday

__all__ = ["ChineseCalendar", "package_year"]


def _package_years() -> range:
    # The package's own notion of its range (it checks the same bounds before answering).
    years = {day.year for day in chinese_calendar.holidays}
    return range(min(years), max(years) + 1)


class ChineseCalendar(WorkingDayCalendar):
    """Working days per the State Council schedule, with its make-up working weekends (调休).

    `overrides` (date -> working or not) are corrections from policy data; they win over the
    package. An override may name a date in a year the package does not know: it answers for that
    date only, and every other date of that year still raises `UnknownYearError`.
    """

    def __init__(self, overrides: Mapping[dt.date, bool] | None = None) -> None:
        checked: dict[dt.date, bool] = {}
        for day, working in (overrides or {}).items():
            _require_date(day, "override date")
            if not isinstance(working, bool):
                raise TypeError(f"override for {day} must be a bool, got {working!r}")
            checked[day] = working
        self._overrides: Mapping[dt.date, bool] = MappingProxyType(checked)
        self._years = _package_years()
        # Each day is looked up once: the package scans its whole table on every lookup (~20 µs),
        # and a round asks about the same few hundred days again and again. Unknown years are not
        # remembered: they raise every time.
        self._known: dict[dt.date, bool] = {}

    @property
    def overrides(self) -> Mapping[dt.date, bool]:
        """The per-date corrections (read-only)."""
        return self._overrides

    def known_years(self) -> range:
        return self._years

    def is_working_day(self, day: dt.date) -> bool:
        _require_date(day, "day")
        known = self._known.get(day)
        if known is not None:
            return known
        override = self._overrides.get(day)
        if override is not None:
            return override
        try:
            working = bool(chinese_calendar.is_workday(day))
        except NotImplementedError as exc:  # the package's "no available data for year ..."
            raise UnknownYearError(day.year, self._years) from exc
        self._known[day] = working
        return working

    def __repr__(self) -> str:
        return f"{type(self).__name__}(overrides={dict(self._overrides)!r})"


_CHINESE_NAMES = {
    "New Year's Day": "元旦", "Spring Festival": "春节", "Tomb-sweeping Day": "清明节", "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节", "National Day": "国庆节", "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
}


def package_year(year: int) -> CalendarYear | None:
    """The package's schedule for `year` as a CalendarYear (None when it does not know the year):
    holiday days grouped into named ranges of consecutive days, and its make-up working days."""
    if year not in _package_years():
        return None
    days = sorted((d, str(n)) for d, n in chinese_calendar.holidays.items() if d.year == year)
    ranges: list[Holiday] = []
    for day, name in days:
        label = _CHINESE_NAMES.get(name, name)
        if ranges and ranges[-1].name == label and ranges[-1].end + dt.timedelta(days=1) == day:
            ranges[-1] = Holiday(ranges[-1].start, day, label)
        else:
            ranges.append(Holiday(day, day, label))
    workdays = tuple(sorted(d for d in chinese_calendar.workdays if d.year == year))
    return CalendarYear(year=year, source=f"chinesecalendar {_version()}", status=OFFICIAL,
                        holidays=tuple(ranges), workdays=workdays)


def _version() -> str:
    return str(getattr(chinese_calendar, "__version__", ""))
