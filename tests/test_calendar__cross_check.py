"""ChineseCalendar (the `chinesecalendar` package) against the independent `holidays` package.

`holidays.China` lists the days off (statutory days, their 调休 substitutes, observed days) and,
in `weekend_workdays`, the Saturdays/Sundays turned into working days. Its working-day rule is
therefore: a weekday that is not a holiday, or a make-up weekend day.

The contract requires the two to agree on every day of 2018-2026; the check runs over the whole
range both packages cover (2004-2026) and lists the days they disagree on in KNOWN_DIFFERENCES,
each with the State Council notice that settles it.
"""

from __future__ import annotations

import datetime as dt

import holidays
import pytest

from states.calendar import ChineseCalendar, notice_close
from states.calendar.timeutil import SHANGHAI, end_of_day

D = dt.date
CAL = ChineseCalendar()
YEARS = range(2004, 2027)
CONTRACT_YEARS = range(2018, 2027)
CN = holidays.country_holidays("CN", years=YEARS)  # holidays.China

# date -> (ChineseCalendar says working, holidays says working, why)
KNOWN_DIFFERENCES: dict[dt.date, tuple[bool, bool, str]] = {
    # 国办发明电〔2005〕35号 (2006 schedule), item 1: "元旦：1月1日—3日放假 ... 12月31日（星期六）上班".
    # So Saturday 2005-12-31 was a working day: `holidays` is right, chinesecalendar 1.11.0 lacks
    # it. Outside the contract's years; a policy needing it would add the override {2005-12-31: True}.
    D(2005, 12, 31): (False, True, "2006 notice: Saturday 2005-12-31 worked for New Year"),
}


def holidays_working_day(day: dt.date) -> bool:
    return (day.weekday() < 5 and day not in CN) or day in CN.weekend_workdays


def days_of(year: int) -> list[dt.date]:
    first = D(year, 1, 1)
    return [first + dt.timedelta(days=i) for i in range((D(year + 1, 1, 1) - first).days)]


@pytest.mark.parametrize("year", list(YEARS), ids=[f"y{y}" for y in YEARS])
def test_every_day_agrees_with_holidays(year: int) -> None:
    disagreements = {
        day: (ours, theirs)
        for day in days_of(year)
        if (ours := CAL.is_working_day(day)) != (theirs := holidays_working_day(day))
    }
    expected = {
        day: (ours, theirs) for day, (ours, theirs, _) in KNOWN_DIFFERENCES.items() if day.year == year
    }
    assert disagreements == expected


def test_contract_years_have_no_known_differences() -> None:
    assert not [day for day in KNOWN_DIFFERENCES if day.year in CONTRACT_YEARS]


@pytest.mark.parametrize("year", list(CONTRACT_YEARS), ids=[f"y{y}" for y in CONTRACT_YEARS])
def test_make_up_weekends_agree(year: int) -> None:
    ours = {day for day in days_of(year) if day.weekday() >= 5 and CAL.is_working_day(day)}
    theirs = {day for day in CN.weekend_workdays if day.year == year}
    assert ours == theirs
    assert ours  # every year of the range moves some working days to a weekend


@pytest.mark.parametrize("day", sorted(KNOWN_DIFFERENCES), ids=[str(d) for d in sorted(KNOWN_DIFFERENCES)])
def test_known_difference_is_fixed_by_an_override(day: dt.date) -> None:
    ours, theirs, _ = KNOWN_DIFFERENCES[day]
    corrected = ChineseCalendar(overrides={day: theirs})
    assert corrected.is_working_day(day) == holidays_working_day(day) == theirs
    assert CAL.is_working_day(day) == ours
    # With the correction a 1-day notice opened Friday 2005-12-30 ends on Saturday 12-31.
    opened = dt.datetime(2005, 12, 30, 10, tzinfo=SHANGHAI)
    assert notice_close(opened, 1, corrected) == end_of_day(D(2005, 12, 31))
    # Without it, 2006-01-01..03 are off and the notice runs to Wednesday 2006-01-04.
    assert notice_close(opened, 1, CAL) == end_of_day(D(2006, 1, 4))
