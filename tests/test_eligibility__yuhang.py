"""Yuhang 2024 recognition (seed 000): the four conditions of 附件1 §二 (博士; 硕士+2; 本科+5; 专科+7 —
no second-bachelor rule) at their boundary day, years counted to 2024-12-31 (§六), Yuhang only (§一,
附件1 §一.2), Yuhang's two committees by series (附件1 §四.1-2), no passports (附件1 §一.3, §三.2).
Seed file: 000_d14dd92da83e9486.txt."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from states.applicant import ApplicantFiling
from states.eligibility import EligibilityResult, evaluate
from states.policy import get_policy

POLICY = get_policy("yh-recognition-2024")
REFERENCE = dt.date(2024, 12, 31)
MANUFACTURING = "余杭区制造业工程技术人员工程师资格评审委员会"
CONSTRUCTION = "余杭区建筑业工程技术人员工程师资格评审委员会"


def check(**changes: Any) -> EligibilityResult:
    filing = ApplicantFiling.model_validate({
        "name": "王伟", "id_number": "330102199001011234", "district": "余杭区", "employer": "某公司",
        "specialty": "机电制造", "education": [{"level": "bachelor", "graduated": "2015-07-01"}],
        "work_start": "2015-07-01", "certificate": {"entry": 1}, **changes})
    return evaluate(POLICY, filing)


def graduate(level: str, day: dt.date) -> dict[str, Any]:
    return {"education": [{"level": level, "graduated": day.isoformat()}], "work_start": day.isoformat()}


CONDITIONS = [("doctorate §二.1", "doctorate", 0), ("master+2 §二.2", "master", 2),
              ("bachelor+5 §二.3", "bachelor", 5), ("college+7 §二.4", "college", 7)]


@pytest.mark.parametrize(("education", "years"), [c[1:] for c in CONDITIONS], ids=[c[0] for c in CONDITIONS])
def test_boundary_day_passes(education: str, years: int) -> None:
    result = check(**graduate(education, REFERENCE.replace(year=2024 - years)))
    assert result.eligible, result.reasons
    assert (result.level, result.full_years, result.reference_date) == ("intermediate", years, REFERENCE)


@pytest.mark.parametrize(("education", "years"), [c[1:] for c in CONDITIONS], ids=[c[0] for c in CONDITIONS])
def test_one_day_less_fails(education: str, years: int) -> None:
    result = check(**graduate(education, REFERENCE.replace(year=2024 - years) + dt.timedelta(days=1)))
    assert [r.code for r in result.reasons] == ["insufficient_years"]
    assert "2024年12月31日" in result.reasons[0].message


def test_second_bachelor_counts_as_bachelor() -> None:
    """000 附件1 §二 has no 第二学士 rule: a second bachelor's degree counts as a bachelor's (+5)."""
    three_years = check(**graduate("second_bachelor", dt.date(2021, 12, 31)))
    assert [r.code for r in three_years.reasons] == ["insufficient_years"]
    five_years = check(**graduate("second_bachelor", dt.date(2019, 12, 31)))
    assert five_years.eligible and five_years.rule == "second_bachelor→bachelor+5 (000 附件1 §二 申报条件)"


@pytest.mark.parametrize(("entry", "series", "committee"), [
    (1, "制造业", MANUFACTURING), (9, "制造业", MANUFACTURING), (10, "建筑业", CONSTRUCTION),
], ids=["row1-manufacturing", "row9-manufacturing", "row10-construction"])
def test_committee_by_series(entry: int, series: str, committee: str) -> None:
    result = check(certificate={"entry": entry})
    assert (result.series, result.committee) == (series, committee)


@pytest.mark.parametrize("district", ["上城区", "临平区", "滨江区"])
def test_only_yuhang(district: str) -> None:
    result = check(district=district)
    assert [r.code for r in result.reasons] == ["out_of_scope"]
    assert "仅限余杭区" in result.reasons[0].message


def test_no_passport() -> None:
    result = check(id_type="passport", id_number="E12345678")
    assert [r.code for r in result.reasons] == ["id_type_not_accepted"]
    assert check(id_type="foreign_work_permit", id_number="WP123").eligible
