"""Years the calendar does not know are errors that name the year, never weekday-only guesses."""

from __future__ import annotations

import datetime as dt
import pickle

import pytest

from states.calendar import SHANGHAI, ChineseCalendar, UnknownYearError, end_of_day, notice_close

D = dt.date
CAL = ChineseCalendar()


def sh(y: int, m: int, d: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(y, m, d, hour, tzinfo=SHANGHAI)


def test_known_years() -> None:
    assert CAL.known_years() == range(2004, 2027)


@pytest.mark.parametrize(
    ("day", "year"),
    [(D(2027, 1, 4), 2027), (D(2027, 6, 1), 2027), (D(2003, 12, 31), 2003), (D(2003, 1, 1), 2003)],
    ids=["2027-01-04", "2027-06-01", "2003-12-31", "2003-01-01"],
)
def test_unknown_year_names_the_year(day: dt.date, year: int) -> None:
    with pytest.raises(UnknownYearError) as caught:
        CAL.is_working_day(day)
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.year == year
    assert str(year) in str(error)
    assert "2004-2026" in str(error)
    assert isinstance(error.__cause__, NotImplementedError)


def test_notice_into_2027_raises_instead_of_guessing() -> None:
    # Monday 2026-12-28: 12-29, 12-30, 12-31 are known; the 4th working day would be in 2027.
    with pytest.raises(UnknownYearError, match="2027") as caught:
        notice_close(sh(2026, 12, 28), 5, CAL)
    assert caught.value.year == 2027


def test_notice_ending_in_2026_is_fine() -> None:
    # 12-29, 12-30, 12-31: ends inside the known range, so nothing in 2027 is consulted.
    assert notice_close(sh(2026, 12, 28), 3, CAL) == end_of_day(D(2026, 12, 31))
    assert notice_close(sh(2026, 12, 28), 3, CAL) == dt.datetime(2027, 1, 1, tzinfo=SHANGHAI)


def test_opening_that_is_2027_in_shanghai_raises() -> None:
    # 2026-12-31 16:30 UTC is 2027-01-01 00:30 in Shanghai.
    with pytest.raises(UnknownYearError, match="2027"):
        notice_close(dt.datetime(2026, 12, 31, 16, 30, tzinfo=dt.UTC), 1, CAL)


def test_walking_back_into_2003_raises() -> None:
    # 2004-01-01 is New Year's Day, so the previous working day would be in 2003.
    with pytest.raises(UnknownYearError, match="2003") as caught:
        CAL.previous_working_day(D(2004, 1, 1))
    assert caught.value.year == 2003
    with pytest.raises(UnknownYearError, match="2003"):
        CAL.working_days_before(D(2004, 1, 5), 2)


def test_override_in_2027_answers_for_that_date_only() -> None:
    cal = ChineseCalendar(overrides={D(2027, 1, 4): True})
    assert cal.is_working_day(D(2027, 1, 4)) is True
    for other in (D(2027, 1, 1), D(2027, 1, 3), D(2027, 1, 5)):
        with pytest.raises(UnknownYearError, match="2027"):
            cal.is_working_day(other)
    assert cal.known_years() == range(2004, 2027)


def test_overrides_can_carry_a_notice_into_2027() -> None:
    cal = ChineseCalendar(
        overrides={D(2027, 1, 1): False, D(2027, 1, 2): False, D(2027, 1, 3): False, D(2027, 1, 4): True}
    )
    # 12-29, 12-30, 12-31, [01-01..03 off by override], 01-04 by override.
    assert notice_close(sh(2026, 12, 28), 4, cal) == end_of_day(D(2027, 1, 4))
    # The fifth day would be 2027-01-05, which nobody has said anything about.
    with pytest.raises(UnknownYearError, match="2027"):
        notice_close(sh(2026, 12, 28), 5, cal)


OVERRIDES_IN_KNOWN_YEARS = [
    # Monday 2025-04-07 declared a day off: 04-08, 04-09, 04-10, 04-11, 04-14.
    ({D(2025, 4, 7): False}, D(2025, 4, 14)),
    # Saturday 2025-04-05 declared a working day: 04-05, 04-07, 04-08, 04-09, 04-10.
    ({D(2025, 4, 5): True}, D(2025, 4, 10)),
    # Restating what the package says changes nothing: 04-07..04-11.
    ({D(2025, 4, 7): True, D(2025, 4, 6): False}, D(2025, 4, 11)),
]


@pytest.mark.parametrize(
    ("overrides", "last_day"),
    OVERRIDES_IN_KNOWN_YEARS,
    ids=["weekday-off", "saturday-working", "restated"],
)
def test_overrides_win_over_the_package(overrides: dict[dt.date, bool], last_day: dt.date) -> None:
    cal = ChineseCalendar(overrides=overrides)
    assert notice_close(sh(2025, 4, 3), 5, cal) == end_of_day(last_day)
    for day, working in overrides.items():
        assert cal.is_working_day(day) is working


def test_overrides_are_copied_and_read_only() -> None:
    source = {D(2025, 4, 7): False}
    cal = ChineseCalendar(overrides=source)
    source[D(2025, 4, 8)] = False
    assert dict(cal.overrides) == {D(2025, 4, 7): False}
    with pytest.raises(TypeError):
        cal.overrides[D(2025, 4, 9)] = False  # type: ignore[index]


@pytest.mark.parametrize(
    "overrides",
    [{dt.datetime(2025, 4, 7, tzinfo=SHANGHAI): False}, {D(2025, 4, 7): 0}, {"2025-04-07": False}],
    ids=["datetime-key", "int-value", "str-key"],
)
def test_bad_overrides_are_refused(overrides: dict[object, object]) -> None:
    with pytest.raises(TypeError):
        ChineseCalendar(overrides=overrides)  # type: ignore[arg-type]


def test_error_survives_pickling() -> None:
    error = UnknownYearError(2027, range(2004, 2027))
    copy = pickle.loads(pickle.dumps(error))
    assert isinstance(copy, UnknownYearError)
    assert copy.year == 2027
    assert str(copy) == str(error)
