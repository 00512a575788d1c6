"""Counting "N years": full years (周年) to the reference date, inclusive (CONTRACT §4; seeds/README.md;
000 §六, 001 §六.1, 002 附件2 §三.2), Feb 29 (民法典 第二百零二条: the anniversary in a common year is
Feb 28), the later of graduation and work start, and which degrees count (002 附件1 §二: only degrees in
the specialty or a related one)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from states.applicant import ApplicantFiling, Education
from states.eligibility import evaluate
from states.eligibility.years import (
    DegreeYears,
    anniversary,
    best,
    counting_start,
    full_years,
    measure,
    rule_level,
)
from states.policy import get_policy

D = dt.date

FULL_YEARS = [
    ("contract-example-5-years", D(2015, 6, 30), D(2020, 6, 30), 5),
    ("one-day-short", D(2015, 6, 30), D(2020, 6, 29), 4),
    ("same-day-is-0", D(2020, 6, 30), D(2020, 6, 30), 0),
    ("start-after-reference", D(2020, 7, 1), D(2020, 6, 30), -1),
    ("start-years-after-reference", D(2023, 1, 1), D(2020, 6, 30), -1),
    ("day-after-anniversary", D(2015, 6, 30), D(2020, 7, 1), 5),
    ("feb29-to-feb28-common-year", D(2016, 2, 29), D(2017, 2, 28), 1),
    ("feb29-to-feb27-common-year", D(2016, 2, 29), D(2017, 2, 27), 0),
    ("feb29-to-feb28-leap-year", D(2016, 2, 29), D(2020, 2, 28), 3),
    ("feb29-to-feb29", D(2016, 2, 29), D(2020, 2, 29), 4),
    ("feb29-to-mar01-common-year", D(2016, 2, 29), D(2021, 3, 1), 5),
    ("feb28-to-feb29", D(2015, 2, 28), D(2020, 2, 29), 5),
    ("mar01-to-feb29", D(2015, 3, 1), D(2020, 2, 29), 4),
    ("dec31-round-yuhang", D(2019, 12, 31), D(2024, 12, 31), 5),
]


@pytest.mark.parametrize(("start", "reference", "expected"), [c[1:] for c in FULL_YEARS],
                         ids=[c[0] for c in FULL_YEARS])
def test_full_years(start: dt.date, reference: dt.date, expected: int) -> None:
    assert full_years(start, reference) == expected


@pytest.mark.parametrize(("start", "years", "expected"), [
    (D(2016, 2, 29), 1, D(2017, 2, 28)),
    (D(2016, 2, 29), 4, D(2020, 2, 29)),
    (D(2015, 6, 30), 5, D(2020, 6, 30)),
], ids=["feb29-common-year-is-feb28", "feb29-leap-year", "ordinary"])
def test_anniversary(start: dt.date, years: int, expected: dt.date) -> None:
    assert anniversary(start, years) == expected


def test_counting_start_is_the_later_day() -> None:
    assert counting_start(D(2015, 7, 1), D(2015, 7, 15)) == D(2015, 7, 15)
    assert counting_start(D(2015, 7, 1), D(2014, 9, 1)) == D(2015, 7, 1)


@pytest.mark.parametrize(("level", "listed", "expected"), [
    ("second_bachelor", ("doctorate", "master", "bachelor", "college"), "bachelor"),  # 000 附件1 §二
    ("doctorate", ("college", "bachelor", "second_bachelor", "master"), "master"),  # 003 附件1 §一
    ("bachelor", ("college", "bachelor"), "bachelor"),
    ("college", ("bachelor", "master"), None),
], ids=["yuhang-second-bachelor-as-bachelor", "hz-assistant-doctorate-as-master", "listed", "nothing-lower"])
def test_rule_level_falls_back_to_the_next_lower_degree(level: Any, listed: Any, expected: Any) -> None:
    assert rule_level(level, listed) == expected


def test_best_prefers_the_highest_passing_degree_then_the_closest() -> None:
    passing = [DegreeYears("bachelor", "bachelor", 5, 9), DegreeYears("master", "master", 2, 3)]
    assert best(passing) == passing[1]
    failing = [DegreeYears("college", "college", 7, 5), DegreeYears("bachelor", "bachelor", 5, 4)]
    assert best(failing) == failing[1]  # 1 year short beats 2 years short
    assert best([]) is None


def test_only_relevant_degrees_are_measured() -> None:
    education = [Education(level="doctorate", graduated=D(2020, 7, 1), relevant=False),
                 Education(level="bachelor", graduated=D(2015, 7, 1))]
    measured = measure(education, D(2015, 7, 1), D(2025, 6, 30), {"doctorate": 0, "bachelor": 5})
    assert [m.level for m in measured] == ["bachelor"]


def _hz2025(education: list[dict[str, Any]], work_start: str) -> ApplicantFiling:
    return ApplicantFiling.model_validate({
        "name": "王伟", "id_number": "330102199001011234", "district": "上城区", "employer": "某公司",
        "specialty": "机电制造", "education": education, "work_start": work_start,
        "certificate": {"entry": 5}})


def test_work_start_after_graduation_moves_the_start() -> None:
    """001 附件1 §二.4: bachelor + 5 years, counted from the later of graduation and work start."""
    policy = get_policy("hz-recognition-2025h1")
    early = _hz2025([{"level": "bachelor", "graduated": "2020-06-30"}], "2020-06-30")
    late = _hz2025([{"level": "bachelor", "graduated": "2020-06-30"}], "2020-07-01")
    assert evaluate(policy, early).eligible
    result = evaluate(policy, late)
    assert not result.eligible and result.full_years == 4
    assert [r.code for r in result.reasons] == ["insufficient_years"]


def test_an_irrelevant_higher_degree_does_not_count() -> None:
    """002 附件1 §二 (所学专业与从事专业原则上须一致或相近), applied to recognition too."""
    policy = get_policy("hz-recognition-2025h1")
    filing = _hz2025([{"level": "doctorate", "graduated": "2019-07-01", "relevant": False},
                      {"level": "bachelor", "graduated": "2022-07-01"}], "2019-07-01")
    result = evaluate(policy, filing)
    assert [r.code for r in result.reasons] == ["insufficient_years"]
    assert result.full_years == 2


def test_no_relevant_degree_at_all() -> None:
    policy = get_policy("hz-recognition-2025h1")
    filing = _hz2025([{"level": "doctorate", "graduated": "2015-07-01", "relevant": False}], "2015-07-01")
    assert [r.code for r in evaluate(policy, filing).reasons] == ["no_relevant_education"]


def test_several_degrees_the_best_one_decides() -> None:
    """001 附件1 §二: a master's + 2 qualifies although the bachelor's + 5 does not."""
    policy = get_policy("hz-recognition-2025h1")
    filing = _hz2025([{"level": "bachelor", "graduated": "2021-07-01"},
                      {"level": "master", "graduated": "2023-06-30"}], "2021-07-01")
    result = evaluate(policy, filing)
    assert result.eligible and result.full_years == 2
    assert result.rule is not None and result.rule.startswith("master+2")


FEB29 = [
    ("feb28-of-common-year-completes-the-year", D(2021, 2, 28), True),
    ("feb27-is-one-day-short", D(2021, 2, 27), False),
]


@pytest.mark.parametrize(("as_of", "eligible"), [c[1:] for c in FEB29], ids=[c[0] for c in FEB29])
def test_feb29_graduate_in_the_standing_hangzhou_scheme(as_of: dt.date, eligible: bool) -> None:
    """003 附件1 §二.2 (本科 + 5) for a graduate of 2016-02-29, counted to the day of submission."""
    filing = ApplicantFiling.model_validate({
        "name": "王伟", "id_number": "330102199001011234", "district": "上城区", "employer": "某公司",
        "specialty": "机电制造", "education": [{"level": "bachelor", "graduated": "2016-02-29"}],
        "work_start": "2016-02-29", "certificate": {"entry": 36}, "requested_level": "intermediate"})
    result = evaluate(get_policy("hz-recognition-2022"), filing, as_of=as_of)
    assert result.eligible is eligible
    assert result.full_years == (5 if eligible else 4)
