"""The product's one working-day calendar: imported years in front, the `chinesecalendar` package
behind (CONTRACT §10).

The years an operator imported live in the database; `storage` hands them in with `install`,
together with a token that names that set of years (the database changes the token with every
import), so a process asks its database for the token — one cheap read — and reloads only when it
changed. Each day is remembered once asked (the engine's hot path asks about the same few hundred
days again and again); `install` forgets them all.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable, Mapping
from types import MappingProxyType

from .base import UnknownYearError, WorkingDayCalendar, _require_date
from .chinese import ChineseCalendar
from .timeutil import local_date
from .years import CalendarYear

__all__ = ["LayeredCalendar", "OverlayCalendar"]


class LayeredCalendar(WorkingDayCalendar):
    """Imported years first, then the package; a year neither knows raises `UnknownYearError`."""

    def __init__(self, years: Iterable[CalendarYear] = (), token: str = "") -> None:
        self._package = ChineseCalendar()
        self._lock = threading.Lock()
        # The years and the days remembered from them, swapped together (a thread reading while
        # another installs sees one pair or the other, never a mix).
        self._state: tuple[Mapping[int, CalendarYear], dict[dt.date, bool]] = (MappingProxyType({}), {})
        self.token = token
        self.install(years, token)

    def install(self, years: Iterable[CalendarYear], token: str) -> None:
        """Replace the imported years (all of them) and forget every remembered day."""
        chosen = MappingProxyType({y.year: y for y in years})
        with self._lock:
            self._state = (chosen, {})
            self.token = token

    @property
    def _years(self) -> Mapping[int, CalendarYear]:
        return self._state[0]

    # ---- what the years are ------------------------------------------------------------------
    def known_years(self) -> range:
        """The package's years (imported ones: `imported_years`)."""
        return self._package.known_years()

    def imported_years(self) -> Mapping[int, CalendarYear]:
        return self._years

    def knows(self, year: int) -> bool:
        return year in self._years or year in self._package.known_years()

    def provisional_years(self) -> frozenset[int]:
        return frozenset(y for y, c in self._years.items() if c.provisional)

    def is_provisional_span(self, first: dt.date, last: dt.date) -> bool:
        """True when any day first..last lies in a provisional year (a deadline counted over it is
        provisional until the official year replaces it)."""
        provisional = self.provisional_years()
        return any(y in provisional for y in range(first.year, last.year + 1))

    def provisional_notice(self, opened_at: dt.datetime | None, closes_at: dt.datetime | None) -> bool:
        """Whether a notice opened at `opened_at` and closing at `closes_at` (end of its last day) was
        counted over a provisional year: it is shown as provisional until the official year comes."""
        if opened_at is None or closes_at is None:
            return False
        return self.is_provisional_span(local_date(opened_at), local_date(closes_at) - dt.timedelta(days=1))

    # ---- the answer ----------------------------------------------------------------------------
    def is_working_day(self, day: dt.date) -> bool:
        years, memo = self._state
        known = memo.get(day)
        if known is not None:
            return known
        _require_date(day, "day")
        year = years.get(day.year)
        if year is not None:
            working = year.is_working_day(day)
        else:
            try:
                working = self._package.is_working_day(day)
            except UnknownYearError as exc:
                raise UnknownYearError(day.year, self._package.known_years(),
                                       imported=tuple(sorted(years))) from exc.__cause__
        memo[day] = working
        return working

    def __repr__(self) -> str:
        return f"{type(self).__name__}(imported={sorted(self._years)!r}, token={self.token!r})"


class OverlayCalendar(WorkingDayCalendar):
    """A policy's corrections (date -> working or not) over the product calendar."""

    def __init__(self, base: LayeredCalendar, overrides: Mapping[dt.date, bool]) -> None:
        self.base = base
        self.overrides: Mapping[dt.date, bool] = MappingProxyType(dict(overrides))

    def known_years(self) -> range:
        return self.base.known_years()

    def is_working_day(self, day: dt.date) -> bool:
        found = self.overrides.get(day)
        return found if found is not None else self.base.is_working_day(day)
