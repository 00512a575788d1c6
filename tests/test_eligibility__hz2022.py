"""The standing Hangzhou catalogue (seed 003, 杭人社发〔2022〕123号): assistant level (附件1 §一: 专科+3,
本科+1, 第二学士, 硕士) and intermediate (附件1 §二: 专科+7, 本科+5, 第二学士+3, 硕士+2, 博士), each at its
boundary day; a row's 认定职称 caps the level; years count to the day of submission (CONTRACT §4).
Seed file: 003_fb1894bb5a019f3a.txt."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from states.applicant import ApplicantFiling
from states.eligibility import EligibilityResult, evaluate
from states.policy import get_policy

POLICY = get_policy("hz-recognition-2022")
AS_OF = dt.date(2024, 5, 20)
ASSISTANT_ROW, ENGINEER_ROW = 23, 36  # 003 附件1: 注册临床研究专业人员 助理工程师; 会员 (ACS) 工程师


def years_before(day: dt.date, years: int) -> dt.date:
    return day.replace(year=day.year - years)


def check(level: str, graduated: dt.date, entry: int, **changes: Any) -> EligibilityResult:
    filing = ApplicantFiling.model_validate({
        "name": "王伟", "id_number": "330102199001011234", "district": "西湖区", "employer": "某公司",
        "specialty": "机电制造", "education": [{"level": level, "graduated": graduated.isoformat()}],
        "work_start": "2000-01-01", "certificate": {"entry": entry}, **changes})
    return evaluate(POLICY, filing, as_of=AS_OF)


# (id, target level, education, years, catalogue row): 003 附件1 §一.1-4 and §二.1-5.
CONDITIONS = [
    ("assistant-college+3 §一.1", "assistant", "college", 3, ASSISTANT_ROW),
    ("assistant-bachelor+1 §一.2", "assistant", "bachelor", 1, ASSISTANT_ROW),
    ("assistant-second_bachelor §一.3", "assistant", "second_bachelor", 0, ASSISTANT_ROW),
    ("assistant-master §一.4", "assistant", "master", 0, ASSISTANT_ROW),
    ("assistant-doctorate-as-master §一.4", "assistant", "doctorate", 0, ASSISTANT_ROW),
    ("intermediate-college+7 §二.1", "intermediate", "college", 7, ENGINEER_ROW),
    ("intermediate-bachelor+5 §二.2", "intermediate", "bachelor", 5, ENGINEER_ROW),
    ("intermediate-second_bachelor+3 §二.3", "intermediate", "second_bachelor", 3, ENGINEER_ROW),
    ("intermediate-master+2 §二.4", "intermediate", "master", 2, ENGINEER_ROW),
    ("intermediate-doctorate §二.5", "intermediate", "doctorate", 0, ENGINEER_ROW),
]


@pytest.mark.parametrize(("level", "education", "years", "entry"), [c[1:] for c in CONDITIONS],
                         ids=[c[0] for c in CONDITIONS])
def test_condition_met_on_the_boundary_day(level: str, education: str, years: int, entry: int) -> None:
    result = check(education, years_before(AS_OF, years), entry, requested_level=level)
    assert result.eligible, result.reasons
    assert (result.level, result.full_years, result.reference_date) == (level, years, AS_OF)
    section = "§一" if level == "assistant" else "§二"
    assert result.rule is not None and result.rule.endswith(f"+{years} (003 附件1 {section})")


@pytest.mark.parametrize(("level", "education", "years", "entry"), [c[1:] for c in CONDITIONS],
                         ids=[c[0] for c in CONDITIONS])
def test_condition_missed_by_one_day(level: str, education: str, years: int, entry: int) -> None:
    graduated = years_before(AS_OF, years) + dt.timedelta(days=1)
    result = check(education, graduated, entry, requested_level=level)
    assert [r.code for r in result.reasons] == ["insufficient_years"]
    assert result.level is None and result.committee is None
    assert result.full_years == max(years - 1, 0)


def test_engineer_row_with_assistant_years_gives_assistant() -> None:
    """003 正文: 助理级 by the district bureau when the intermediate years are not there."""
    result = check("bachelor", years_before(AS_OF, 5) + dt.timedelta(days=1), ENGINEER_ROW)
    assert result.eligible
    assert (result.level, result.title, result.full_years) == ("assistant", "助理工程师", 4)
    assert result.committee == "西湖区人力社保局"
    assert result.rule == "bachelor+1 (003 附件1 §一)"


def test_engineer_row_with_intermediate_years_gives_intermediate() -> None:
    result = check("bachelor", years_before(AS_OF, 5), ENGINEER_ROW)
    assert (result.level, result.title, result.series) == ("intermediate", "工程师", "制造业")


def test_assistant_row_caps_the_level() -> None:
    """003 附件1 row 23 认定职称 助理工程师: at most assistant, however many years."""
    result = check("doctorate", dt.date(2005, 7, 1), ASSISTANT_ROW)
    assert (result.level, result.title) == ("assistant", "助理工程师")
    above = check("doctorate", dt.date(2005, 7, 1), ASSISTANT_ROW, requested_level="intermediate")
    assert [r.code for r in above.reasons] == ["level_not_available"]
    assert "第23项" in above.reasons[0].message


def test_too_few_years_for_either_level() -> None:
    result = check("college", years_before(AS_OF, 3) + dt.timedelta(days=1), ENGINEER_ROW)
    assert [r.code for r in result.reasons] == ["insufficient_years"]
    assert "助理级职称需满3周年" in result.reasons[0].message


def test_senior_is_not_available() -> None:
    result = check("doctorate", dt.date(2005, 7, 1), ENGINEER_ROW, requested_level="senior")
    assert [r.code for r in result.reasons] == ["level_not_available"]


def test_standing_scheme_needs_the_day_of_submission() -> None:
    filing = ApplicantFiling.model_validate({
        "name": "王伟", "id_number": "330102199001011234", "district": "西湖区", "employer": "某公司",
        "specialty": "机电制造", "work_start": "2000-01-01", "certificate": {"entry": 1}})
    with pytest.raises(ValueError, match="as_of"):
        evaluate(POLICY, filing)
