"""Linping 2022 engineer assessment (seed 002): scope (§一: district, industries, nationally examined
specialties, civil servants, excluded employers), the four routes of 附件1 §二 (normal, direct, skilled,
exceptional) at their boundary day with years counted to 2022-12-31 (附件2 §三.2), continuing education
(附件1 §三), appraisals 2019-2021 (附件1 §四, 附件2 §三.3), and the filing rules of 附件2 §二.1 (photo)
and §二.3 (self-statement).
Seed file: 002_0ab6147c026b6031.txt."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from states.applicant import ApplicantFiling
from states.eligibility import EligibilityResult, evaluate
from states.policy import get_policy

POLICY = get_policy("lp-assessment-2022")
REFERENCE = dt.date(2022, 12, 31)
COMMITTEE = "杭州市临平区制造业工程技术人员工程师资格评审委员会"
BASE: dict[str, Any] = {
    "name": "王伟", "id_number": "330102199001011234", "district": "临平区",
    "employer": "杭州示范机电有限公司", "specialty": "机电制造", "civil_servant": False,
    "education": [{"level": "bachelor", "graduated": "2015-07-01"}], "work_start": "2015-07-15",
    "route": "direct", "assistant_title": {"obtained": "2016-12-31"}, "credits_since_2019": 60,
    "appraisals": {"2019": "称职", "2020": "优秀", "2021": "称职"},
    "photo": {"format": "jpg", "bytes": 120000, "width": 300, "height": 420}, "statement": "本人述职……",
}


def check(**changes: Any) -> EligibilityResult:
    return evaluate(POLICY, ApplicantFiling.model_validate({**BASE, **changes}))


def codes(result: EligibilityResult) -> list[str]:
    return [r.code for r in result.reasons]


def before(years: int, days: int = 0) -> str:
    return (REFERENCE.replace(year=2022 - years) + dt.timedelta(days=days)).isoformat()


def test_the_contracts_example() -> None:
    result = check()
    assert result.eligible, result.reasons
    assert (result.level, result.title, result.series, result.committee) == (
        "intermediate", "工程师", "制造业", COMMITTEE)
    assert (result.full_years, result.reference_date, result.catalogue_no) == (7, REFERENCE, None)
    assert result.rule == "direct: bachelor+5 (002 附件1 §二.（二）1)"


# ---- scope (§一) ----------------------------------------------------------------------------------

SCOPE = [
    ("other-district", {"district": "余杭区"}, "out_of_scope"),
    ("not-an-industry", {"specialty": "建筑工程"}, "out_of_scope"),
    ("optics-is-not-linpings", {"specialty": "光学光电"}, "out_of_scope"),
    ("computer-software", {"specialty": "计算机技术与软件"}, "excluded_specialty"),
    ("vehicle-testing", {"specialty": "机动车检测维修"}, "excluded_specialty"),
    ("communications", {"specialty": "通信工程"}, "excluded_specialty"),
    ("medical-devices", {"specialty": "医疗器械"}, "excluded_specialty"),
    ("industrial-design", {"specialty": "工业设计"}, "excluded_specialty"),
    ("electronics-and-communications", {"specialty": "电子通信工程"}, "excluded_specialty"),
    ("civil-servant", {"civil_servant": True}, "civil_servant"),
    ("civil-service-managed", {"employer_kind": "civil_service_managed_institution"}, "excluded_employer"),
    ("power-transport-soe", {"employer_kind": "power_transport_highway_soe"}, "excluded_employer"),
    ("provincial-soe", {"employer_kind": "provincial_soe"}, "excluded_employer"),
    ("central-soe-branch", {"employer_kind": "central_soe_branch"}, "excluded_employer"),
]


@pytest.mark.parametrize(("changes", "code"), [c[1:] for c in SCOPE], ids=[c[0] for c in SCOPE])
def test_scope(changes: dict[str, Any], code: str) -> None:
    result = check(**changes)
    assert codes(result) == [code]
    assert result.level is None and result.committee is None


@pytest.mark.parametrize("specialty", ["机电制造", "电子", "电气", "电力", "化工", "轻工", "纺织服装", "食品",
                                       "材料", "能源", "石油"])
def test_industries(specialty: str) -> None:
    assert check(specialty=specialty).eligible


def test_private_employer_and_any_identity_document() -> None:
    assert check(employer_kind="private", id_type="passport", id_number="E1234567").eligible


# ---- routes (附件1 §二) ----------------------------------------------------------------------------

NORMAL = [("master+2", "master", 2), ("doctorate+2", "doctorate", 2),
          ("second_bachelor+2", "second_bachelor", 2), ("bachelor+4", "bachelor", 4), ("college+4", "college", 4)]


@pytest.mark.parametrize(("education", "years"), [c[1:] for c in NORMAL],
                         ids=[f"{c[0]} §二.（一）" for c in NORMAL])
def test_normal_route_boundary(education: str, years: int) -> None:
    degree = [{"level": education, "graduated": "2010-07-01"}]
    on_day = check(route="normal", education=degree, assistant_title={"obtained": before(years)})
    assert on_day.eligible and on_day.full_years == years
    assert on_day.rule == f"normal: {education}, assistant+{years} (002 附件1 §二.（一）)"
    short = check(route="normal", education=degree, assistant_title={"obtained": before(years, 1)})
    assert codes(short) == ["insufficient_years"]


def test_normal_route_counts_from_the_appointment() -> None:
    """附件1 §二.（一）: 实际聘任助理工程师职务满N年."""
    title = {"obtained": "2016-12-31", "appointed": before(4, 1)}
    assert codes(check(route="normal", assistant_title=title)) == ["insufficient_years"]


def test_normal_route_needs_an_assistant_title_and_a_degree() -> None:
    assert codes(check(route="normal", assistant_title=None)) == ["route_evidence"]
    assert codes(check(route="normal", education=[])) == ["no_relevant_education"]


DIRECT = [("college+7", "college", 7), ("bachelor+5", "bachelor", 5),
          ("second_bachelor+3", "second_bachelor", 3), ("master+2", "master", 2)]


@pytest.mark.parametrize(("education", "years"), [c[1:] for c in DIRECT],
                         ids=[f"{c[0]} §二.（二）1" for c in DIRECT])
def test_direct_route_boundary(education: str, years: int) -> None:
    on_day = check(education=[{"level": education, "graduated": before(years)}], work_start=before(years))
    assert on_day.eligible and on_day.full_years == years
    short = check(education=[{"level": education, "graduated": before(years, 1)}], work_start=before(years))
    assert codes(short) == ["insufficient_years"]


def test_direct_route_needs_no_assistant_title() -> None:
    assert check(assistant_title=None).eligible


def test_skilled_route_technician_boundary() -> None:
    """附件1 §二.（二）2(1): 技师 + 3 years; no degree, no assistant title."""
    base = {"route": "skilled", "education": [], "assistant_title": None, "work_start": "2010-01-01"}
    on_day = check(**base, technician={"obtained": before(3)})
    assert on_day.eligible and on_day.rule == "skilled: technician+3 (002 附件1 §二.（二）2)"
    assert codes(check(**base, technician={"obtained": before(3, 1)})) == ["insufficient_years"]
    assert codes(check(**base)) == ["route_evidence"]


@pytest.mark.parametrize("honour", ["provincial_master_studio", "provincial_chief_technician",
                                    "national_technical_expert", "worldskills_award", "national_class1_top5",
                                    "national_class2_top3", "provincial_top_skilled_talent"])
def test_skilled_route_by_honour(honour: str) -> None:
    """附件1 §二.（二）2(2): one listed honour suffices."""
    result = check(route="skilled", education=[], honours=[honour])
    assert result.eligible and result.rule == f"skilled: honour {honour} (002 附件1 §二.（二）2)"


def test_skilled_route_unknown_honour_is_named() -> None:
    result = check(route="skilled", honours=["olympic_gold"])
    assert codes(result) == ["route_evidence", "route_evidence"]
    assert "olympic_gold" in result.reasons[1].message


EXCEPTIONAL = [
    ("with-education-3-years", [{"level": "bachelor", "graduated": "2010-07-01"}], 3),
    ("without-education-4-years", [], 4),
    ("irrelevant-degree-is-no-degree",
     [{"level": "bachelor", "graduated": "2010-07-01", "relevant": False}], 4),
]


@pytest.mark.parametrize(("education", "years"), [c[1:] for c in EXCEPTIONAL],
                         ids=[f"{c[0]} §二.（三）" for c in EXCEPTIONAL])
def test_exceptional_route_boundary(education: list[dict[str, Any]], years: int) -> None:
    base = {"route": "exceptional", "education": education, "achievements": ["key_project", "papers"]}
    on_day = check(**base, assistant_title={"obtained": before(years)})
    assert on_day.eligible and on_day.full_years == years
    assert codes(check(**base, assistant_title={"obtained": before(years, 1)})) == ["insufficient_years"]


def test_exceptional_route_needs_two_achievements() -> None:
    base = {"route": "exceptional", "assistant_title": {"obtained": "2015-01-01"}}
    assert codes(check(**base, achievements=["papers"])) == ["route_evidence"]
    assert codes(check(**base, achievements=["papers", "papers"])) == ["route_evidence"]
    assert codes(check(**base, achievements=["papers", "bogus"])) == ["route_evidence", "route_evidence"]
    assert check(**base, achievements=["hangzhou_award", "honour_title"]).eligible
    no_title = check(route="exceptional", achievements=["papers", "key_project"], assistant_title=None)
    assert codes(no_title) == ["route_evidence"]


def test_a_route_must_be_chosen() -> None:
    result = check(route=None)
    assert codes(result) == ["route_evidence"]
    assert "exceptional" in result.reasons[0].message


# ---- continuing education, appraisals (附件1 §三, §四) ------------------------------------------------

@pytest.mark.parametrize(("credits", "ok"), [(45, True), (44, False), (None, False)],
                         ids=["45-passes", "44-fails", "missing"])
def test_credits(credits: int | None, ok: bool) -> None:
    result = check(credits_since_2019=credits)
    assert result.eligible is ok
    if not ok:
        assert codes(result) == ["insufficient_credits"]


APPRAISALS = [
    ("all-competent", {"2019": "称职", "2020": "称职", "2021": "称职"}, 0),
    ("qualified-and-excellent", {"2019": "合格", "2020": "优秀", "2021": "良好"}, 0),
    ("basically-competent-2020", {"2019": "称职", "2020": "基本称职", "2021": "称职"}, 1),
    ("2021-missing", {"2019": "称职", "2020": "称职"}, 1),
    ("2018-does-not-replace-2021", {"2018": "优秀", "2019": "称职", "2020": "称职"}, 1),
    ("none", {}, 3),
]


@pytest.mark.parametrize(("appraisals", "failures"), [c[1:] for c in APPRAISALS],
                         ids=[c[0] for c in APPRAISALS])
def test_appraisals(appraisals: dict[str, str], failures: int) -> None:
    assert codes(check(appraisals=appraisals)) == ["appraisal"] * failures


# ---- photo and statement (附件2 §二.1, §二.3) ----------------------------------------------------------

PHOTOS = [
    ("jpg", {"format": "jpg"}, True),
    ("JPEG-upper-case", {"format": "JPEG"}, True),
    ("png", {"format": "png"}, False),
    ("30K-is-not-more-than-30K", {"bytes": 30720}, False),
    ("30K-and-a-byte", {"bytes": 30721}, True),
    ("just-under-1M", {"bytes": 1048575}, True),
    ("1M-is-not-less-than-1M", {"bytes": 1048576}, False),
    ("width-215", {"width": 215, "height": 301}, False),
    ("width-216-height-301", {"width": 216, "height": 301}, True),
    ("height-300", {"width": 216, "height": 300}, False),
    ("ratio-0.65-exactly", {"width": 260, "height": 400}, True),
    ("ratio-0.8-exactly", {"width": 320, "height": 400}, True),
    ("ratio-below-0.65", {"width": 259, "height": 400}, False),
    ("ratio-above-0.8", {"width": 321, "height": 400}, False),
]


@pytest.mark.parametrize(("changes", "ok"), [c[1:] for c in PHOTOS], ids=[c[0] for c in PHOTOS])
def test_photo(changes: dict[str, Any], ok: bool) -> None:
    result = check(photo={**BASE["photo"], **changes})
    assert codes(result) == ([] if ok else ["photo_invalid"])


def test_every_photo_problem_is_listed() -> None:
    result = check(photo={"format": "png", "bytes": 100, "width": 100, "height": 100})
    assert codes(result) == ["photo_invalid"] * 4


def test_no_photo_uses_the_id_card_photo() -> None:
    assert check(photo=None).eligible


@pytest.mark.parametrize(("statement", "code"), [
    ("字" * 1000, None), ("字" * 1001, "statement_too_long"), ("字" * 500 + "\n" + "字" * 500, None),
    (None, "statement_missing"), ("", "statement_missing"),
], ids=["1000-chars", "1001-chars", "line-break-not-counted", "missing", "empty"])
def test_statement(statement: str | None, code: str | None) -> None:
    assert codes(check(statement=statement)) == ([code] if code else [])


def test_only_intermediate() -> None:
    assert codes(check(requested_level="assistant")) == ["level_not_available"]
    assert check(requested_level="intermediate").eligible


def test_every_unmet_condition_is_listed() -> None:
    result = check(civil_servant=True, specialty="通信工程", route="direct", education=[],
                   credits_since_2019=10, appraisals={},
                   photo={"format": "gif", "bytes": 120000, "width": 300, "height": 420}, statement="字" * 1200)
    assert codes(result) == ["excluded_specialty", "civil_servant", "no_relevant_education",
                             "insufficient_credits", "appraisal", "appraisal", "appraisal", "photo_invalid",
                             "statement_too_long"]
