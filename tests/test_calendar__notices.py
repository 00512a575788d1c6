"""Notice periods, Shanghai dates, cutoffs, approval deadlines and reminders.

Expected values are counted by hand from the State Council schedules (2022-2025).
"""

from __future__ import annotations

import datetime as dt

import pytest

from states.calendar import (
    SHANGHAI,
    ChineseCalendar,
    default_calendar,
    end_of_day,
    latest_approval_day,
    local_date,
    notice_close,
    reminder_days,
)

D = dt.date
UTC = dt.UTC
CAL = ChineseCalendar()


def sh(y: int, m: int, d: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, hour, minute, second, us, tzinfo=SHANGHAI)


# --- the contract's examples ------------------------------------------------------------------

CONTRACT_NOTICES = [
    # 09-30, [10-01..07 off], 10-08 Sat, 10-09 Sun, 10-10, 10-11.
    (dt.datetime.fromisoformat("2022-09-29T10:00:00+08:00"), D(2022, 10, 11)),
    # 04-25, 04-26, 04-28 Sun (make-up), 04-29, 04-30.
    (sh(2024, 4, 24, 10), D(2024, 4, 30)),
    # [04-04..06 Qingming, Fri-Sun], 04-07, 04-08, 04-09, 04-10, 04-11.
    (sh(2025, 4, 3, 10), D(2025, 4, 11)),
]


@pytest.mark.parametrize(
    ("opened", "last_day"), CONTRACT_NOTICES, ids=[f"open-{o.date()}" for o, _ in CONTRACT_NOTICES]
)
def test_contract_examples(opened: dt.datetime, last_day: dt.date) -> None:
    assert notice_close(opened, 5, CAL) == end_of_day(last_day)


def test_first_contract_example_instant() -> None:
    closes = notice_close(dt.datetime.fromisoformat("2022-09-29T10:00:00+08:00"), 5, CAL)
    assert closes == dt.datetime.fromisoformat("2022-10-12T00:00:00+08:00")
    assert closes.utcoffset() == dt.timedelta(hours=8)
    assert closes.astimezone(UTC) == dt.datetime(2022, 10, 11, 16, 0, tzinfo=UTC)


# --- the boundary of the opening day ----------------------------------------------------------

BOUNDARY = [
    # Opened during Tuesday 2025-04-08: counted 04-09, 04-10, 04-11, 04-14, 04-15.
    (sh(2025, 4, 8, 0, 0), D(2025, 4, 15)),
    (sh(2025, 4, 8, 23, 59), D(2025, 4, 15)),
    (sh(2025, 4, 8, 23, 59, 59, 999_999), D(2025, 4, 15)),
    # Opened at 00:00 on Wednesday 04-09 it is already that day: 04-10, 04-11, 04-14, 04-15, 04-16.
    (sh(2025, 4, 9, 0, 0), D(2025, 4, 16)),
    # UTC instants whose Shanghai date differs from their UTC date.
    (dt.datetime(2025, 4, 8, 15, 59, 59, tzinfo=UTC), D(2025, 4, 15)),  # 04-08 23:59:59 local
    (dt.datetime(2025, 4, 8, 16, 0, tzinfo=UTC), D(2025, 4, 16)),  # 04-09 00:00 local
    (dt.datetime(2025, 4, 8, 16, 30, tzinfo=UTC), D(2025, 4, 16)),  # 04-09 00:30 local
    # 2025-04-09 23:00 at UTC-7 is 04-10 14:00 local: 04-11, 04-14, 04-15, 04-16, 04-17.
    (dt.datetime(2025, 4, 9, 23, 0, tzinfo=dt.timezone(dt.timedelta(hours=-7))), D(2025, 4, 17)),
    # Friday 2025-04-11 20:00 UTC is Saturday 04-12 04:00 local: 04-14..04-18.
    (dt.datetime(2025, 4, 11, 20, 0, tzinfo=UTC), D(2025, 4, 18)),
]


@pytest.mark.parametrize(("opened", "last_day"), BOUNDARY, ids=[o.isoformat() for o, _ in BOUNDARY])
def test_opening_day_boundary(opened: dt.datetime, last_day: dt.date) -> None:
    assert notice_close(opened, 5, CAL) == end_of_day(last_day)


# --- opened on a day off ----------------------------------------------------------------------

DAY_OFF_OPENINGS = [
    # National Day 2024-10-03: [10-04..07 off], 10-08, 10-09, 10-10, 10-11, 10-12 Sat (make-up).
    (sh(2024, 10, 3, 9), 5, D(2024, 10, 12)),
    # Saturday 2025-04-12 and Sunday 04-13: the Sunday is not counted either: 04-14..04-18.
    (sh(2025, 4, 12, 9), 5, D(2025, 4, 18)),
    (sh(2025, 4, 13, 9), 5, D(2025, 4, 18)),
    # Qingming Friday 2025-04-04: 04-07..04-11.
    (sh(2025, 4, 4, 15), 5, D(2025, 4, 11)),
    # Opened on make-up Sunday 2025-04-27 (a working day, still not counted):
    # 04-28, 04-29, 04-30, [05-01..05 off], 05-06, 05-07.
    (sh(2025, 4, 27, 9), 5, D(2025, 5, 7)),
    # Spring Festival 2023-01-23 with a 3-day notice: 01-28 Sat, 01-29 Sun, 01-30.
    (sh(2023, 1, 23, 9), 3, D(2023, 1, 30)),
]


@pytest.mark.parametrize(
    ("opened", "days", "last_day"),
    DAY_OFF_OPENINGS,
    ids=[f"open-{o.date()}-{n}d" for o, n, _ in DAY_OFF_OPENINGS],
)
def test_notice_opened_on_a_day_off(opened: dt.datetime, days: int, last_day: dt.date) -> None:
    assert notice_close(opened, days, CAL) == end_of_day(last_day)


@pytest.mark.parametrize("days", [0, -1], ids=["zero", "negative"])
def test_notice_needs_at_least_one_working_day(days: int) -> None:
    with pytest.raises(ValueError, match="working_days"):
        notice_close(sh(2025, 4, 8, 10), days, CAL)


# --- time helpers -----------------------------------------------------------------------------

END_OF_DAY = [
    (D(2025, 4, 14), dt.datetime(2025, 4, 14, 16, 0, tzinfo=UTC)),
    (D(2025, 12, 31), dt.datetime(2025, 12, 31, 16, 0, tzinfo=UTC)),
    (D(2024, 2, 28), dt.datetime(2024, 2, 28, 16, 0, tzinfo=UTC)),
]


@pytest.mark.parametrize(("day", "instant"), END_OF_DAY, ids=[str(d) for d, _ in END_OF_DAY])
def test_end_of_day_is_next_midnight_in_shanghai(day: dt.date, instant: dt.datetime) -> None:
    end = end_of_day(day)
    assert end == instant
    assert end.tzinfo is SHANGHAI
    assert (end.hour, end.minute, end.second, end.microsecond) == (0, 0, 0, 0)
    assert end.date() == day + dt.timedelta(days=1)


def test_end_of_day_refuses_a_datetime() -> None:
    with pytest.raises(TypeError):
        end_of_day(sh(2025, 4, 14, 12))


LOCAL_DATES = [
    (dt.datetime(2025, 4, 8, 15, 59, tzinfo=UTC), D(2025, 4, 8)),
    (dt.datetime(2025, 4, 8, 16, 0, tzinfo=UTC), D(2025, 4, 9)),
    (dt.datetime(2025, 12, 31, 16, 0, tzinfo=UTC), D(2026, 1, 1)),
    (sh(2025, 4, 8, 23, 59), D(2025, 4, 8)),
]


@pytest.mark.parametrize(("instant", "day"), LOCAL_DATES, ids=[i.isoformat() for i, _ in LOCAL_DATES])
def test_local_date(instant: dt.datetime, day: dt.date) -> None:
    assert local_date(instant) == day


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        local_date(dt.datetime(2025, 4, 8, 10, 0))
    with pytest.raises(ValueError, match="naive"):
        notice_close(dt.datetime(2025, 4, 8, 10, 0), 5, CAL)


# --- base helpers -----------------------------------------------------------------------------


def test_next_working_days_zero_and_negative() -> None:
    assert CAL.next_working_days(D(2025, 4, 12), 0) == D(2025, 4, 12)
    with pytest.raises(ValueError):
        CAL.next_working_days(D(2025, 4, 12), -1)
    with pytest.raises(ValueError):
        CAL.working_days_before(D(2025, 4, 12), -1)
    assert CAL.working_days_before(D(2025, 4, 12), 0) == D(2025, 4, 12)


def test_count_working_days_refuses_a_reversed_range() -> None:
    with pytest.raises(ValueError):
        CAL.count_working_days(D(2025, 4, 14), D(2025, 4, 13))


def test_helpers_refuse_datetimes() -> None:
    with pytest.raises(TypeError):
        CAL.next_working_days(sh(2025, 4, 8, 10), 1)
    with pytest.raises(TypeError):
        CAL.is_working_day(sh(2025, 4, 8, 10))


def test_default_calendar_is_shared() -> None:
    assert isinstance(default_calendar(), ChineseCalendar)
    assert default_calendar() is default_calendar()
    assert dict(default_calendar().overrides) == {}


def test_count_inverts_next_working_days() -> None:
    start = D(2022, 1, 1)
    for offset in range(0, 4 * 365, 7):
        after = start + dt.timedelta(days=offset)
        for n in (0, 1, 5, 12):
            assert CAL.count_working_days(after, CAL.next_working_days(after, n)) == n


# --- latest approval day ----------------------------------------------------------------------

APPROVAL = [
    # Hangzhou 2025 employer cutoff Monday 04-14: notice days 04-08, 04-09, 04-10, 04-11, 04-14;
    # approving on Monday 04-07 closes at end of 04-14, on 04-08 it would run to 04-15.
    (D(2025, 4, 14), 5, D(2025, 4, 7)),
    # One day: approving Sunday 04-13 counts Monday 04-14.
    (D(2025, 4, 14), 1, D(2025, 4, 13)),
    # Cutoff Sunday 04-13: last working day Friday 04-11; days 04-07..04-11; approve by Sunday 04-06.
    (D(2025, 4, 13), 5, D(2025, 4, 6)),
    # Across National Day 2025 (10-01..08 off): cutoff 10-05 is a holiday, last working day 09-30;
    # days 09-25, 09-26, 09-28 Sun (make-up), 09-29, 09-30; approve by 09-24.
    (D(2025, 10, 5), 5, D(2025, 9, 24)),
    # Across Labour Day 2025 (05-01..05 off): cutoff Tuesday 05-06; days 04-27 Sun (make-up),
    # 04-28, 04-29, 04-30, 05-06; approve by Saturday 04-26, a day off.
    (D(2025, 5, 6), 5, D(2025, 4, 26)),
    # Across Spring Festival 2024 (02-10..17 off): cutoff Monday 02-19; days 02-07, 02-08, 02-09,
    # 02-18 Sun (make-up), 02-19; approve by 02-06.
    (D(2024, 2, 19), 5, D(2024, 2, 6)),
]


@pytest.mark.parametrize(
    ("cutoff", "days", "expected"), APPROVAL, ids=[f"cutoff-{c}-{n}d" for c, n, _ in APPROVAL]
)
def test_latest_approval_day(cutoff: dt.date, days: int, expected: dt.date) -> None:
    assert latest_approval_day(cutoff, days, CAL) == expected
    # Approving on that day meets the cutoff, approving a day later does not.
    opened = sh(expected.year, expected.month, expected.day, 23, 59)
    assert notice_close(opened, days, CAL) <= end_of_day(cutoff)
    assert notice_close(opened + dt.timedelta(minutes=1), days, CAL) > end_of_day(cutoff)


def test_latest_approval_day_is_the_largest_for_every_cutoff() -> None:
    # Every cutoff of 2024-2025 against the definition (largest D with next_working_days(D, n) <= cutoff).
    cutoff = D(2024, 1, 15)
    while cutoff <= D(2025, 12, 31):
        for n in (1, 5, 10):
            day = latest_approval_day(cutoff, n, CAL)
            assert CAL.next_working_days(day, n) <= cutoff
            assert CAL.next_working_days(day + dt.timedelta(days=1), n) > cutoff
        cutoff += dt.timedelta(days=1)


def test_latest_approval_day_needs_a_notice() -> None:
    with pytest.raises(ValueError, match="notice_days"):
        latest_approval_day(D(2025, 4, 14), 0, CAL)


# --- reminders --------------------------------------------------------------------------------

REMINDERS = [
    # Hangzhou cutoff Monday 2025-04-14: 1 working day before is Friday 04-11, 3 before is Wed 04-09.
    (D(2025, 4, 14), (3, 1), [D(2025, 4, 9), D(2025, 4, 11)]),
    # Cutoff Sunday 04-13 counts from Friday 04-11: 1 before is 04-10, 3 before is 04-08.
    (D(2025, 4, 13), (3, 1), [D(2025, 4, 8), D(2025, 4, 10)]),
    # Cutoff on National Day 2025-10-05 counts from 09-30: 09-29 (1), 09-28 Sun make-up (2), 09-26 (3).
    (D(2025, 10, 5), (3, 1), [D(2025, 9, 26), D(2025, 9, 29)]),
    # Cutoff Tuesday 2024-10-08: 09-30 (1), 09-29 Sun make-up (2), 09-27 (3).
    (D(2024, 10, 8), (3, 1), [D(2024, 9, 27), D(2024, 9, 30)]),
    # Offset 0 is the last working day on or before the cutoff; duplicates collapse; order is by date.
    (D(2025, 4, 13), (0,), [D(2025, 4, 11)]),
    (D(2025, 4, 14), (1, 5, 1), [D(2025, 4, 7), D(2025, 4, 11)]),
]


@pytest.mark.parametrize(
    ("cutoff", "offsets", "expected"),
    REMINDERS,
    ids=[f"cutoff-{c}-{'-'.join(map(str, o))}" for c, o, _ in REMINDERS],
)
def test_reminder_days(cutoff: dt.date, offsets: tuple[int, ...], expected: list[dt.date]) -> None:
    assert reminder_days(cutoff, CAL, offsets) == expected


def test_reminder_days_default_offsets() -> None:
    assert reminder_days(D(2025, 4, 14), CAL) == [D(2025, 4, 9), D(2025, 4, 11)]


def test_reminder_days_match_the_day_after_formulation() -> None:
    # The docstring's equivalent: the (k+1)-th working day strictly before cutoff + 1 day.
    cutoff = D(2025, 1, 1)
    while cutoff <= D(2025, 12, 31):
        after = cutoff + dt.timedelta(days=1)
        expected = sorted({CAL.working_days_before(after, k + 1) for k in (3, 1)})
        assert reminder_days(cutoff, CAL) == expected
        cutoff += dt.timedelta(days=1)


def test_reminder_offsets_must_not_be_negative() -> None:
    with pytest.raises(ValueError):
        reminder_days(D(2025, 4, 14), CAL, (-1,))
