"""Hangzhou 2025 H1 manufacturing recognition (seed 001): intermediate only, the five conditions of
附件1 §二 at their boundary day with years counted to 2025-06-30 (§六.1), the city committee (附件1
§四.2), the excluded districts (§一, 附件1 §一.2), the industries (§一) and the identity documents
(附件1 §一.3, §三.2).
Seed file: 001_f62017e8010cdeb7.txt."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from states.applicant import ApplicantFiling
from states.eligibility import EligibilityResult, evaluate
from states.policy import get_policy

POLICY = get_policy("hz-recognition-2025h1")
REFERENCE = dt.date(2025, 6, 30)
CITY_COMMITTEE = "杭州市制造业工程技术人员工程师资格评审委员会"


def check(**changes: Any) -> EligibilityResult:
    filing = ApplicantFiling.model_validate({
        "name": "王伟", "id_type": "resident_id", "id_number": "330102199001011234", "district": "上城区",
        "employer": "杭州示范机电有限公司", "specialty": "机电制造", "civil_servant": False,
        "education": [{"level": "bachelor", "graduated": "2015-07-01", "relevant": True}],
        "work_start": "2015-07-15", "certificate": {"entry": 5, "obtained": "2021-05-10"}, **changes})
    return evaluate(POLICY, filing)


def test_the_contracts_example() -> None:
    assert check().to_json() == {
        "policy": "hz-recognition-2025h1", "eligible": True, "level": "intermediate", "title": "工程师",
        "series": "制造业", "full_years": 9, "reference_date": "2025-06-30", "committee": CITY_COMMITTEE,
        "reasons": [], "rule": "bachelor+5 (001 附件1 §二 申报条件)", "catalogue_no": 5, "hints": []}


CONDITIONS = [("doctorate §二.1", "doctorate", 0), ("master+2 §二.2", "master", 2),
              ("second_bachelor+3 §二.3", "second_bachelor", 3), ("bachelor+5 §二.4", "bachelor", 5),
              ("college+7 §二.5", "college", 7)]


@pytest.mark.parametrize(("education", "years"), [c[1:] for c in CONDITIONS], ids=[c[0] for c in CONDITIONS])
def test_boundary_day_passes(education: str, years: int) -> None:
    day = REFERENCE.replace(year=2025 - years).isoformat()
    result = check(education=[{"level": education, "graduated": day}], work_start=day)
    assert result.eligible, result.reasons
    assert (result.level, result.full_years, result.committee) == ("intermediate", years, CITY_COMMITTEE)


@pytest.mark.parametrize(("education", "years"), [c[1:] for c in CONDITIONS], ids=[c[0] for c in CONDITIONS])
def test_one_day_less_fails(education: str, years: int) -> None:
    day = (REFERENCE.replace(year=2025 - years) + dt.timedelta(days=1)).isoformat()
    result = check(education=[{"level": education, "graduated": day}], work_start=day)
    assert [r.code for r in result.reasons] == ["insufficient_years"]
    assert "2025年6月30日" in result.reasons[0].message


def test_as_of_does_not_move_a_rounds_reference_date() -> None:
    day = "2020-06-30"
    filing = ApplicantFiling.model_validate({
        "name": "王伟", "id_number": "330102199001011234", "district": "上城区", "employer": "某公司",
        "specialty": "机电制造", "education": [{"level": "bachelor", "graduated": day}], "work_start": day,
        "certificate": {"entry": 1}})
    result = evaluate(POLICY, filing, as_of=dt.date(2025, 3, 20))
    assert result.eligible and result.reference_date == REFERENCE


EXCLUDED = ["高新区（滨江）", "滨江区", "萧山区", "余杭区", "临平区", "钱塘区", "临安区", "建德市"]
INCLUDED = ["上城区", "拱墅区", "西湖区", "富阳区", "桐庐县", "淳安县", "西湖风景名胜区", "杭州市拱墅区"]


@pytest.mark.parametrize("district", EXCLUDED)
def test_excluded_districts(district: str) -> None:
    result = check(district=district)
    assert [r.code for r in result.reasons] == ["out_of_scope"]
    assert result.level is None and result.committee is None


@pytest.mark.parametrize("district", INCLUDED)
def test_covered_districts(district: str) -> None:
    assert check(district=district).eligible


@pytest.mark.parametrize("district", ["朝阳区", "梁溪区", "上城"])
def test_not_a_district_of_hangzhou(district: str) -> None:
    result = check(district=district)
    assert [r.code for r in result.reasons] == ["out_of_scope"]
    assert "不是杭州市的区" in result.reasons[0].message


INDUSTRIES = ["机电制造", "电子", "电气", "电力", "信息", "蓄电池", "化工", "轻工", "纺织服装", "食品", "材料",
              "能源", "石油", "光学光电"]


@pytest.mark.parametrize("specialty", [*INDUSTRIES, "电子信息工程", "精细化工", "纺织", "服装"])
def test_industries_of_section_1(specialty: str) -> None:
    assert check(specialty=specialty).eligible


@pytest.mark.parametrize("specialty", ["建筑施工", "医药", "生物工程", "电"])
def test_other_specialties_are_out_of_scope(specialty: str) -> None:
    result = check(specialty=specialty)
    assert [r.code for r in result.reasons] == ["out_of_scope"]
    assert "机电制造" in result.reasons[0].message


@pytest.mark.parametrize(("id_type", "accepted"), [
    ("resident_id", True), ("hmt_permit", True), ("foreign_work_permit", True), ("passport", False),
])
def test_identity_documents(id_type: str, accepted: bool) -> None:
    number = "330102199001011234" if id_type == "resident_id" else "E12345678"
    result = check(id_type=id_type, id_number=number)
    assert result.eligible is accepted
    if not accepted:
        assert [r.code for r in result.reasons] == ["id_type_not_accepted"]
        assert "护照" in result.reasons[0].message


@pytest.mark.parametrize("level", ["assistant", "senior"])
def test_only_intermediate(level: str) -> None:
    result = check(requested_level=level)
    assert [r.code for r in result.reasons] == ["level_not_available"]


def test_certificate_obtained_after_june_30() -> None:
    result = check(certificate={"entry": 5, "obtained": "2025-07-01"})
    assert [r.code for r in result.reasons] == ["certificate_not_yet_obtained"]
    assert check(certificate={"entry": 5, "obtained": "2025-06-30"}).eligible
