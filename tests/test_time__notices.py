"""Public notices through the engine: the close is stored when the notice opens and the case moves
by itself at that instant (CONTRACT §4; Civil Code art. 201: the opening day is not counted)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.engine import Engine

from states.vocabulary import Role
from tests.drive import HOUR, walk
from tests.filings import filing
from workflow.clock import SHANGHAI
from workflow.deadlines import tick
from workflow.engine import Actor, Workflow
from workflow.errors import UnknownYear

SECOND = dt.timedelta(seconds=1)


def at(y: int, m: int, d: int, h: int = 10) -> dt.datetime:
    return dt.datetime(y, m, d, h, tzinfo=SHANGHAI)


# (approval day, last day of the notice) across holidays and make-up weekends (调休).
NOTICES = [
    (at(2024, 4, 24), dt.date(2024, 4, 30)),   # Sun 04-28 is a make-up working day (劳动节 2024)
    (at(2025, 4, 3), dt.date(2025, 4, 11)),    # 清明 04-04 and the weekend are off
    # 09-28, then 中秋国庆 09-29..10-06 off; Sat 10-07 and Sun 10-08 are make-up days: 10-07, 10-08, 10-09, 10-10
    (at(2023, 9, 27), dt.date(2023, 10, 10)),
    # 02-08, 02-09 (除夕 worked in 2024), 春节 02-10..17 off, Sun 02-18 make-up day, 02-19, 02-20
    (at(2024, 2, 7), dt.date(2024, 2, 20)),
    (at(2025, 9, 26), dt.date(2025, 10, 10)),  # Sun 09-28 make-up day; 国庆中秋 10-01..08
    (at(2026, 2, 11), dt.date(2026, 2, 25)),   # Sat 02-14 make-up day; 春节 02-15..23
]


@pytest.mark.parametrize(("approved", "last_day"), NOTICES, ids=[n[0].date().isoformat() for n in NOTICES])
def test_employer_notice_closes_at_the_end_of_the_fifth_working_day(db: Engine, approved: dt.datetime,
                                                                    last_day: dt.date) -> None:
    wf = Workflow(db)
    # Created before the approval (a history never runs backwards: CONTRACT §3).
    case_id = wf.create_case("hz-recognition-2022", filing("hz-recognition-2022", 1), approved - 2 * HOUR)
    wf.fire(case_id, "submit", Actor(Role.applicant), approved - HOUR)
    wf.fire(case_id, "employer_approve", Actor(Role.employer), approved)
    closes = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(0), SHANGHAI)
    assert wf.case(case_id).notice_closes_at == closes
    tick(db, closes - SECOND)
    assert wf.case(case_id).state == "employer_notice"
    tick(db, closes)
    case = wf.case(case_id)
    assert case.state == "management_review" and case.notice_closes_at is None


def test_a_notice_running_into_an_unknown_year_is_refused_not_guessed(db: Engine) -> None:
    wf, case_id, _ = walk(db, "hz-recognition-2022", until="draft")
    wf.fire(case_id, "submit", Actor(Role.applicant), at(2026, 12, 28, 9))
    with pytest.raises(UnknownYear, match="2027"):
        wf.fire(case_id, "employer_approve", Actor(Role.employer), at(2026, 12, 28))
    assert wf.case(case_id).state == "employer_review"
