"""The State Council working-day schedule, as published by the `chinesecalendar` package."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from types import MappingProxyType

import chinese_calendar

from .base import UnknownYearError, WorkingDayCalendar, _require_date

__all__ = ["ChineseCalendar"]


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
