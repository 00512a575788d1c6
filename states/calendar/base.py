"""The working-day calendar abstraction and the date arithmetic built on it.

Everything here works on plain calendar dates (`datetime.date`), which are Asia/Shanghai dates by
contract; turning an instant into such a date is `timeutil.local_date`'s job. Passing a `datetime`
where a date is expected is refused (`TypeError`), because its date part may be a different day in
Shanghai than where it was made.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod

__all__ = ["UnknownYearError", "WorkingDayCalendar"]

_ONE_DAY = dt.timedelta(days=1)

# No State Council schedule has more than a few consecutive days off; a calendar that reports a
# whole year without a working day is broken, and a walk through it would never end.
_MAX_DAYS_WITHOUT_WORK = 366


class UnknownYearError(ValueError):
    """The calendar has no holiday schedule for `year`; it never guesses a weekday-only one."""

    def __init__(self, year: int, supported: range, imported: tuple[int, ...] = ()) -> None:
        self.year = year
        self.supported = supported
        self.imported = imported
        if len(supported):
            span = f"supported years are {supported.start}-{supported.stop - 1}"
        else:
            span = "no year is supported"
        if imported:
            span += f" and imported {', '.join(map(str, imported))}"
        super().__init__(f"the working-day calendar does not know the year {year}; {span}. "
                         f"Import {year}'s State Council schedule with: zcflow calendar import FILE "
                         "(README: 导入下一年度节假日安排)")

    def __reduce__(self) -> tuple[type[UnknownYearError], tuple[int, range, tuple[int, ...]]]:
        return (type(self), (self.year, self.supported, self.imported))


def _require_date(value: object, name: str) -> dt.date:
    # `datetime` is a subclass of `date`: refuse it explicitly.
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise TypeError(f"{name} must be a datetime.date (a Shanghai calendar date), got {value!r}")
    return value


def _require_count(n: int, name: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"{name} must be an int, got {n!r}")
    if n < 0:
        raise ValueError(f"{name} must be >= 0, got {n}")
    return n


class WorkingDayCalendar(ABC):
    """Which calendar days are working days (State Council schedule, make-up weekends included).

    Subclasses answer `is_working_day` and `known_years`; the helpers below only ever ask
    `is_working_day`, so an unknown year surfaces as `UnknownYearError` from the first day the walk
    reaches in that year.
    """

    @abstractmethod
    def is_working_day(self, day: dt.date) -> bool:
        """True when `day` is a working day; `UnknownYearError` when the year is not known."""

    @abstractmethod
    def known_years(self) -> range:
        """The years whose full schedule the calendar knows."""

    def _step(self, day: dt.date, direction: int) -> dt.date:
        """The nearest working day strictly after (direction=1) or before (direction=-1) `day`."""
        delta = _ONE_DAY if direction > 0 else -_ONE_DAY
        for _ in range(_MAX_DAYS_WITHOUT_WORK):
            day = day + delta
            if self.is_working_day(day):
                return day
        raise ValueError(
            f"no working day within {_MAX_DAYS_WITHOUT_WORK} days "
            f"{'after' if direction > 0 else 'before'} {day - delta * _MAX_DAYS_WITHOUT_WORK}"
        )

    def next_working_days(self, after: dt.date, n: int) -> dt.date:
        """The n-th working day strictly after `after` (`after` itself is never counted).

        `n == 0` returns `after` unchanged; a negative `n` raises `ValueError`.
        """
        day = _require_date(after, "after")
        for _ in range(_require_count(n, "n")):
            day = self._step(day, 1)
        return day

    def previous_working_day(self, on_or_before: dt.date) -> dt.date:
        """The latest working day on or before `on_or_before`."""
        day = _require_date(on_or_before, "on_or_before")
        if self.is_working_day(day):
            return day
        return self._step(day, -1)

    def working_days_before(self, before: dt.date, n: int) -> dt.date:
        """The n-th working day strictly before `before` (`before` itself is never counted).

        `n == 0` returns `before` unchanged; a negative `n` raises `ValueError`.
        """
        day = _require_date(before, "before")
        for _ in range(_require_count(n, "n")):
            day = self._step(day, -1)
        return day

    def count_working_days(self, start_exclusive: dt.date, end_inclusive: dt.date) -> int:
        """The number of working days d with start_exclusive < d <= end_inclusive.

        Zero when the two dates are equal; `ValueError` when `end_inclusive` is earlier than
        `start_exclusive`. `count_working_days(a, next_working_days(a, n)) == n` for every n >= 0.
        """
        start = _require_date(start_exclusive, "start_exclusive")
        end = _require_date(end_inclusive, "end_inclusive")
        if end < start:
            raise ValueError(f"end_inclusive {end} is before start_exclusive {start}")
        count = 0
        day = start + _ONE_DAY
        while day <= end:
            if self.is_working_day(day):
                count += 1
            day += _ONE_DAY
        return count
