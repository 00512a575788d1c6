"""Who decides in the standing Hangzhou scheme (seed 003): every one of the 19 intermediate committees
of 附件2 (相关专业中级职称评审委员会) is reached by a district it covers and a row of its series; the
assistant level goes to the district HRSS bureau (003 正文: 向所属区、县（市）人力社保局……申请认定助理级);
"滨江区" is 高新区（滨江）(003 附件2 nos. 5 and 6).
Seed file: 003_fb1894bb5a019f3a.txt."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from states.applicant import ApplicantFiling
from states.eligibility import EligibilityResult, evaluate
from states.policy import Committee, get_policy

POLICY = get_policy("hz-recognition-2022")
TABLE = POLICY.committee_table
assert TABLE is not None
AS_OF = dt.date(2024, 5, 20)


def check(district: str, entry: int, **changes: Any) -> EligibilityResult:
    filing = ApplicantFiling.model_validate({
        "name": "王伟", "id_number": "330102199001011234", "district": district, "employer": "某公司",
        "specialty": "机电制造", "education": [{"level": "bachelor", "graduated": "2015-07-01"}],
        "work_start": "2015-07-01", "certificate": {"entry": entry}, **changes})
    return evaluate(POLICY, filing, as_of=AS_OF)


def covered_district(committee: Committee) -> str:
    assert TABLE is not None
    return next(d for d in TABLE.districts if committee.districts.covers(d))


def row_of_series(series: str) -> int:
    return next(r.no for r in POLICY.catalogue.rows if r.series == series and r.title == "工程师")


def test_there_are_19_committees() -> None:
    assert TABLE is not None
    assert [c.no for c in TABLE.committees] == list(range(1, 20))


@pytest.mark.parametrize("committee", TABLE.committees, ids=[f"committee-{c.no}" for c in TABLE.committees])
def test_every_committee_is_reached(committee: Committee) -> None:
    result = check(covered_district(committee), row_of_series(committee.series))
    assert result.eligible, result.reasons
    assert result.level == "intermediate"
    assert result.committee == committee.name


# (typed district, row, committee) typed from 003 附件2.
LITERAL = [
    ("上城区", 36, "杭州市制造业工程技术人员工程师资格评审委员会"),
    ("临安区", 36, "杭州市制造业工程技术人员工程师资格评审委员会"),
    ("西湖风景名胜区", 45, "杭州市建设工程技术人员工程师资格评审委员会"),
    ("西湖区", 45, "杭州市建设工程技术人员工程师资格评审委员会"),
    ("拱墅区", 45, "杭州市拱墅区建设工程技术人员工程师资格评审委员会"),
    ("滨江区", 45, "杭州市滨江区建设工程技术人员工程师资格评审委员会"),
    ("滨江区", 36, "杭州高新技术产业开发区制造业工程技术人员工程师资格评审委员会"),
    ("高新区(滨江)", 36, "杭州高新技术产业开发区制造业工程技术人员工程师资格评审委员会"),
    ("钱塘区", 1, "杭州市钱塘区食品医药行业专业人员中级专业技术资格评审委员会"),
    ("富阳区", 1, "杭州市食品医药行业专业人员中级专业技术资格评审委员会"),
    ("建德市", 36, "建德市制造业工程技术人员工程师资格评审委员会"),
    ("杭州市余杭区", 45, "杭州市余杭区建筑工程技术人员工程师资格评审委员会"),
    ("淳安县", 45, "淳安县建设工程技术人员工程师资格评审委员会"),
]


@pytest.mark.parametrize(("district", "entry", "committee"), LITERAL,
                         ids=[f"{d}-row{e}" for d, e, _ in LITERAL])
def test_committees_typed_from_the_seed(district: str, entry: int, committee: str) -> None:
    result = check(district, entry)
    assert result.committee == committee


ASSISTANT = [
    ("assistant-row", "上城区", 23, {}, "上城区人力社保局"),
    ("binjiang-alias", "滨江区", 23, {}, "高新区（滨江）人力社保局"),
    ("engineer-row-with-assistant-years", "萧山区", 36,
     {"education": [{"level": "bachelor", "graduated": "2022-07-01"}], "work_start": "2022-07-01"},
     "萧山区人力社保局"),
    ("assistant-requested", "富阳区", 36, {"requested_level": "assistant"}, "富阳区人力社保局"),
]


@pytest.mark.parametrize(("district", "entry", "changes", "bureau"), [c[1:] for c in ASSISTANT],
                         ids=[c[0] for c in ASSISTANT])
def test_assistant_level_is_decided_by_the_district_bureau(district: str, entry: int, changes: dict[str, Any],
                                                           bureau: str) -> None:
    result = check(district, entry, **changes)
    assert result.eligible, result.reasons
    assert (result.level, result.title, result.committee) == ("assistant", "助理工程师", bureau)


def test_unknown_district_has_no_committee() -> None:
    result = check("朝阳区", 36)
    assert [r.code for r in result.reasons] == ["out_of_scope"]
    assert result.committee is None
