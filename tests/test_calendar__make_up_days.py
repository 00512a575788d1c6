"""Make-up working weekends (调休) in notices and in the working-day helpers.

Every expected value below was counted by hand from the State Council schedules; none is computed
by the code under test. The make-up days were checked against `chinese_calendar.workdays`, and
`test_table_is_the_packages_list` keeps that check running.
"""

from __future__ import annotations

import datetime as dt

import chinese_calendar
import pytest

from states.calendar import SHANGHAI, ChineseCalendar, end_of_day, notice_close

D = dt.date
CAL = ChineseCalendar()

# Saturdays/Sundays that are working days, 2022-2026, per the State Council notices.
MAKE_UP_DAYS: dict[int, tuple[dt.date, ...]] = {
    2022: (
        D(2022, 1, 29),
        D(2022, 1, 30),
        D(2022, 4, 2),
        D(2022, 4, 24),
        D(2022, 5, 7),
        D(2022, 10, 8),
        D(2022, 10, 9),
    ),
    2023: (
        D(2023, 1, 28),
        D(2023, 1, 29),
        D(2023, 4, 23),
        D(2023, 5, 6),
        D(2023, 6, 25),
        D(2023, 10, 7),
        D(2023, 10, 8),
    ),
    2024: (
        D(2024, 2, 4),
        D(2024, 2, 18),
        D(2024, 4, 7),
        D(2024, 4, 28),
        D(2024, 5, 11),
        D(2024, 9, 14),
        D(2024, 9, 29),
        D(2024, 10, 12),
    ),
    2025: (D(2025, 1, 26), D(2025, 2, 8), D(2025, 4, 27), D(2025, 9, 28), D(2025, 10, 11)),
    2026: (D(2026, 1, 4), D(2026, 2, 14), D(2026, 2, 28), D(2026, 5, 9), D(2026, 9, 20), D(2026, 10, 10)),
}
ALL_MAKE_UP_DAYS = [day for days in MAKE_UP_DAYS.values() for day in days]


def at(y: int, m: int, d: int, hour: int = 10, minute: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, hour, minute, tzinfo=SHANGHAI)


# (opened at, working days, last notice day counted by hand, make-up days among the counted days)
NOTICES = [
    # Spring Festival 01-31..02-06 off; counted: 01-27, 01-28, 01-29 Sat, 01-30 Sun, 02-07.
    (at(2022, 1, 26), 5, D(2022, 2, 7), (D(2022, 1, 29), D(2022, 1, 30))),
    # Qingming 04-03..05 off; counted: 04-02 Sat, 04-06, 04-07, 04-08, 04-11.
    (at(2022, 4, 1), 5, D(2022, 4, 11), (D(2022, 4, 2),)),
    # Labour Day 04-30..05-04 off; counted: 04-24 Sun, 04-25, 04-26, 04-27, 04-28.
    (at(2022, 4, 22), 5, D(2022, 4, 28), (D(2022, 4, 24),)),
    # counted: 05-06, 05-07 Sat, 05-09, 05-10, 05-11.
    (at(2022, 5, 5), 5, D(2022, 5, 11), (D(2022, 5, 7),)),
    # National Day 10-01..07 off; counted: 09-30, 10-08 Sat, 10-09 Sun, 10-10, 10-11.
    (at(2022, 9, 29), 5, D(2022, 10, 11), (D(2022, 10, 8), D(2022, 10, 9))),
    # Spring Festival 01-21..27 off; counted: 01-28 Sat, 01-29 Sun, 01-30, 01-31, 02-01.
    (at(2023, 1, 20), 5, D(2023, 2, 1), (D(2023, 1, 28), D(2023, 1, 29))),
    # Labour Day 04-29..05-03 off; counted: 04-23 Sun, 04-24, 04-25, 04-26, 04-27.
    (at(2023, 4, 21), 5, D(2023, 4, 27), (D(2023, 4, 23),)),
    # counted: 05-05, 05-06 Sat, 05-08, 05-09, 05-10.
    (at(2023, 5, 4), 5, D(2023, 5, 10), (D(2023, 5, 6),)),
    # Dragon Boat 06-22..24 off; counted: 06-25 Sun, 06-26, 06-27, 06-28, 06-29.
    (at(2023, 6, 21), 5, D(2023, 6, 29), (D(2023, 6, 25),)),
    # Mid-Autumn + National Day 09-29..10-06 off; counted: 09-28, 10-07 Sat, 10-08 Sun, 10-09, 10-10.
    (at(2023, 9, 27), 5, D(2023, 10, 10), (D(2023, 10, 7), D(2023, 10, 8))),
    # counted: 02-04 Sun, 02-05, 02-06, 02-07, 02-08.
    (at(2024, 2, 2), 5, D(2024, 2, 8), (D(2024, 2, 4),)),
    # Spring Festival 02-10..17 off (eve 02-09 is a working day); counted: 02-09, 02-18 Sun, 02-19..21.
    (at(2024, 2, 8), 5, D(2024, 2, 21), (D(2024, 2, 18),)),
    # Qingming 04-04..06 off; counted: 04-03, 04-07 Sun, 04-08, 04-09, 04-10.
    (at(2024, 4, 2), 5, D(2024, 4, 10), (D(2024, 4, 7),)),
    # Labour Day 05-01..05 off; counted: 04-25, 04-26, 04-28 Sun, 04-29, 04-30.
    (at(2024, 4, 24), 5, D(2024, 4, 30), (D(2024, 4, 28),)),
    # counted: 05-09, 05-10, 05-11 Sat, 05-13, 05-14.
    (at(2024, 5, 8), 5, D(2024, 5, 14), (D(2024, 5, 11),)),
    # Mid-Autumn 09-15..17 off; counted: 09-13, 09-14 Sat, 09-18, 09-19, 09-20.
    (at(2024, 9, 12), 5, D(2024, 9, 20), (D(2024, 9, 14),)),
    # National Day 10-01..07 off; counted: 09-29 Sun, 09-30, 10-08, 10-09, 10-10.
    (at(2024, 9, 27), 5, D(2024, 10, 10), (D(2024, 9, 29),)),
    # counted: 10-10, 10-11, 10-12 Sat, 10-14, 10-15.
    (at(2024, 10, 9), 5, D(2024, 10, 15), (D(2024, 10, 12),)),
    # Spring Festival 01-28..02-04 off; counted: 01-24, 01-26 Sun, 01-27, 02-05, 02-06.
    (at(2025, 1, 23), 5, D(2025, 2, 6), (D(2025, 1, 26),)),
    # counted: 02-07, 02-08 Sat, 02-10, 02-11, 02-12.
    (at(2025, 2, 6), 5, D(2025, 2, 12), (D(2025, 2, 8),)),
    # Labour Day 05-01..05 off; counted: 04-25, 04-27 Sun, 04-28, 04-29, 04-30.
    (at(2025, 4, 24), 5, D(2025, 4, 30), (D(2025, 4, 27),)),
    # National Day + Mid-Autumn 10-01..08 off; counted: 09-28 Sun, 09-29, 09-30, 10-09, 10-10.
    (at(2025, 9, 26), 5, D(2025, 10, 10), (D(2025, 9, 28),)),
    # counted: 10-10, 10-11 Sat, 10-13, 10-14, 10-15.
    (at(2025, 10, 9), 5, D(2025, 10, 15), (D(2025, 10, 11),)),
    # New Year 2026-01-01..03 off; counted: 2025-12-31, 01-04 Sun, 01-05, 01-06, 01-07.
    (at(2025, 12, 30), 5, D(2026, 1, 7), (D(2026, 1, 4),)),
    # Spring Festival 02-15..23 off; counted: 02-12, 02-13, 02-14 Sat, 02-24, 02-25.
    (at(2026, 2, 11), 5, D(2026, 2, 25), (D(2026, 2, 14),)),
    # counted: 02-27, 02-28 Sat, 03-02, 03-03, 03-04.
    (at(2026, 2, 26), 5, D(2026, 3, 4), (D(2026, 2, 28),)),
    # Labour Day 05-01..05 off; counted: 05-08, 05-09 Sat, 05-11, 05-12, 05-13.
    (at(2026, 5, 7), 5, D(2026, 5, 13), (D(2026, 5, 9),)),
    # Mid-Autumn 09-25..27 off; counted: 09-18, 09-20 Sun, 09-21, 09-22, 09-23.
    (at(2026, 9, 17), 5, D(2026, 9, 23), (D(2026, 9, 20),)),
    # National Day 10-01..07 off; counted: 09-30, 10-08, 10-09, 10-10 Sat, 10-12.
    (at(2026, 9, 29), 5, D(2026, 10, 12), (D(2026, 10, 10),)),
]
NOTICE_IDS = [f"open-{opened.date()}-makeup-{'+'.join(str(d) for d in ups)}" for opened, _, _, ups in NOTICES]


@pytest.mark.parametrize(("opened", "days", "last_day", "make_ups"), NOTICES, ids=NOTICE_IDS)
def test_notice_counts_make_up_weekend_days(
    opened: dt.datetime, days: int, last_day: dt.date, make_ups: tuple[dt.date, ...]
) -> None:
    # The row really exercises a make-up day: a weekend day inside the notice period.
    for day in make_ups:
        assert day.weekday() >= 5
        assert opened.date() < day <= last_day
    closes = notice_close(opened, days, CAL)
    assert closes == end_of_day(last_day)
    assert closes == dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(), tzinfo=SHANGHAI)


@pytest.mark.parametrize("year", sorted(MAKE_UP_DAYS), ids=[f"y{y}" for y in sorted(MAKE_UP_DAYS)])
def test_table_is_the_packages_list(year: int) -> None:
    from_package = sorted(d for d in chinese_calendar.workdays if d.year == year and d.weekday() >= 5)
    assert list(MAKE_UP_DAYS[year]) == from_package


def test_every_make_up_day_is_counted_by_some_notice() -> None:
    covered = {day for *_, make_ups in NOTICES for day in make_ups}
    assert covered == set(ALL_MAKE_UP_DAYS)
    assert {d.year for d in covered} == {2022, 2023, 2024, 2025, 2026}


@pytest.mark.parametrize("day", ALL_MAKE_UP_DAYS, ids=[str(d) for d in ALL_MAKE_UP_DAYS])
def test_make_up_day_is_a_working_weekend_day(day: dt.date) -> None:
    assert day.weekday() in (5, 6)
    assert CAL.is_working_day(day)


HELPER_CASES = [
    # (after, n, n-th working day after), by hand.
    (D(2024, 2, 8), 2, D(2024, 2, 18)),  # 02-09, then the holiday, then Sunday 02-18
    (D(2023, 1, 20), 1, D(2023, 1, 28)),  # Saturday 01-28 right after the Spring Festival
    (D(2025, 9, 30), 1, D(2025, 10, 9)),  # eight days off, 10-09 Thursday
    (D(2025, 10, 9), 2, D(2025, 10, 11)),  # 10-10, Saturday 10-11
]


@pytest.mark.parametrize(
    ("after", "n", "expected"), HELPER_CASES, ids=[f"{a}+{n}" for a, n, _ in HELPER_CASES]
)
def test_next_working_days_and_back(after: dt.date, n: int, expected: dt.date) -> None:
    assert CAL.next_working_days(after, n) == expected
    assert CAL.count_working_days(after, expected) == n


BACKWARD_CASES = [
    # (before, n, n-th working day strictly before), by hand.
    (D(2024, 10, 8), 1, D(2024, 9, 30)),
    (D(2024, 10, 8), 2, D(2024, 9, 29)),  # Sunday make-up day
    (D(2024, 10, 8), 3, D(2024, 9, 27)),
    (D(2026, 3, 2), 1, D(2026, 2, 28)),  # Saturday make-up day
    (D(2026, 2, 24), 1, D(2026, 2, 14)),  # across the nine-day Spring Festival
]


@pytest.mark.parametrize(
    ("before", "n", "expected"), BACKWARD_CASES, ids=[f"{b}-{n}" for b, n, _ in BACKWARD_CASES]
)
def test_working_days_before_counts_make_up_days(before: dt.date, n: int, expected: dt.date) -> None:
    assert CAL.working_days_before(before, n) == expected


PREVIOUS_CASES = [
    (D(2025, 9, 28), D(2025, 9, 28)),  # a make-up Sunday is its own previous working day
    (D(2025, 9, 27), D(2025, 9, 26)),  # the Saturday before it is not a working day
    (D(2025, 10, 8), D(2025, 9, 30)),  # last day of the holiday
    (D(2026, 2, 15), D(2026, 2, 14)),  # first day of the Spring Festival: Saturday make-up day
]


@pytest.mark.parametrize(("day", "expected"), PREVIOUS_CASES, ids=[str(d) for d, _ in PREVIOUS_CASES])
def test_previous_working_day_with_make_up_days(day: dt.date, expected: dt.date) -> None:
    assert CAL.previous_working_day(day) == expected


COUNT_CASES = [
    # (start exclusive, end inclusive, working days), by hand.
    (D(2025, 9, 26), D(2025, 10, 12), 6),  # 09-28, 09-29, 09-30, 10-09, 10-10, 10-11
    (D(2024, 2, 3), D(2024, 2, 18), 7),  # 02-04 Sun, 02-05..02-09, 02-18 Sun
    (D(2026, 1, 1), D(2026, 1, 4), 1),  # only Sunday 01-04
    (D(2025, 4, 14), D(2025, 4, 14), 0),
]


@pytest.mark.parametrize(
    ("start", "end", "expected"), COUNT_CASES, ids=[f"{s}..{e}" for s, e, _ in COUNT_CASES]
)
def test_count_working_days(start: dt.date, end: dt.date, expected: int) -> None:
    assert CAL.count_working_days(start, end) == expected
