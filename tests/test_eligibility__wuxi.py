"""Wuxi recognition (seed 004): the catalogue row alone sets the level (附件 对应职称; the notice states
no education or years condition), open regardless of nationality (第二条) to any identity document of
第五条(一), initial titles by the application point and intermediate by Wuxi HRSS (第四条), no senior
level yet (第六条(一)).
Seed file: 004_96ecde711b1cc98f.txt."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from states.applicant import ApplicantFiling
from states.eligibility import EligibilityResult, evaluate
from states.policy import get_policy

POLICY = get_policy("wx-recognition-2022")
AS_OF = dt.date(2023, 9, 1)
WUXI_HRSS = "无锡市人力资源和社会保障局职称管理部门"


def check(**changes: Any) -> EligibilityResult:
    filing = ApplicantFiling.model_validate({
        "name": "John Smith", "id_type": "passport", "id_number": "E12345678", "district": "新吴区",
        "employer": "某公司", "specialty": "机械工程",
        "education": [{"level": "bachelor", "graduated": "2021-07-01"}], "work_start": "2021-07-01",
        "certificate": {"entry": 24}, **changes})
    return evaluate(POLICY, filing, as_of=AS_OF)


@pytest.mark.parametrize(("entry", "level", "title", "committee"), [
    (24, "intermediate", "工程师", WUXI_HRSS),
    (23, "assistant", "助理工程师", "新吴区职称申报点"),
    (18, "assistant", "助理工程师", "新吴区职称申报点"),
    (61, "assistant", "助理工程师", "新吴区职称申报点"),
], ids=["row24-CEng", "row23-IEng", "row18-AssocRICS", "row61-ACM"])
def test_the_row_sets_the_level_and_who_decides(entry: int, level: str, title: str, committee: str) -> None:
    result = check(certificate={"entry": entry})
    assert result.eligible, result.reasons
    assert (result.level, result.title, result.committee) == (level, title, committee)
    assert result.rule == f"catalogue row {entry}: {title} (004 第四条)"


def test_no_years_or_education_condition() -> None:
    result = check(education=[], work_start="2023-08-31")
    assert result.eligible and result.level == "intermediate" and result.full_years == 0


@pytest.mark.parametrize(("id_type", "number"), [
    ("resident_id", "330102199001011234"), ("hmt_permit", "H01234567"), ("foreign_work_permit", "WP123"),
    ("passport", "E12345678"),
])
def test_open_regardless_of_nationality(id_type: str, number: str) -> None:
    assert check(id_type=id_type, id_number=number).eligible


@pytest.mark.parametrize("district", ["梁溪区", "无锡市滨湖区", "江阴市"])
def test_any_district(district: str) -> None:
    result = check(district=district, certificate={"entry": 23})
    assert result.eligible
    assert result.committee == district.removeprefix("无锡市") + "职称申报点"


def test_senior_is_not_available_yet() -> None:
    result = check(requested_level="senior")
    assert [r.code for r in result.reasons] == ["level_not_available"]
    assert result.level is None


def test_the_row_level_cannot_be_changed() -> None:
    lower = check(requested_level="assistant")  # row 24 is 工程师
    assert [r.code for r in lower.reasons] == ["level_not_available"]
    higher = check(requested_level="intermediate", certificate={"entry": 23})
    assert [r.code for r in higher.reasons] == ["level_not_available"]
    assert check(requested_level="intermediate").eligible


@pytest.mark.parametrize("district", ["梁溪区", "锡山区", "惠山区", "滨湖区", "新吴区", "江阴市", "宜兴市",
                                      "无锡市梁溪区", "无锡高新区"])
def test_seed004_s2_work_in_wuxi_districts_and_county_level_cities(district: str) -> None:
    """Seed 004 第二条: 在无锡从事相应专业技术工作的人员 — Wuxi's five districts and two county-level cities."""
    assert check(district=district).eligible


@pytest.mark.parametrize("district", ["杭州市上城区", "上城区", "苏州市姑苏区", "无锡县"])
def test_seed004_s2_work_outside_wuxi_is_out_of_scope(district: str) -> None:
    result = check(district=district)
    assert not result.eligible
    assert [r.code for r in result.reasons] == ["out_of_scope"]
    assert "无锡市" in result.reasons[0].message
