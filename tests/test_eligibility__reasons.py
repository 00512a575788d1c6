"""Every reason code (CONTRACT §5), each with a Chinese message; every unmet condition listed; the fraud
bar (CONTRACT §4; 000 §五, 001 §五: 从次年起3年内不得再申报); the output's JSON shape (CONTRACT §5)."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest

from states.applicant import ApplicantFiling
from states.eligibility import BarInfo, EligibilityResult, Reason, evaluate
from states.eligibility.reasons import CODES
from states.policy import Decider, Source, get_policy

AS_OF = dt.date(2025, 3, 20)
RECOGNITION: dict[str, Any] = {
    "name": "王伟", "id_number": "330102199001011234", "district": "上城区", "employer": "某公司",
    "specialty": "机电制造", "education": [{"level": "bachelor", "graduated": "2015-07-01"}],
    "work_start": "2015-07-15", "certificate": {"entry": 5}}
LINPING: dict[str, Any] = {
    **RECOGNITION, "district": "临平区", "certificate": None, "route": "direct", "credits_since_2019": 45,
    "appraisals": {"2019": "称职", "2020": "称职", "2021": "称职"}, "statement": "本人述职"}


def run(policy_id: str, changes: dict[str, Any], bars: tuple[BarInfo, ...] = ()) -> EligibilityResult:
    base = LINPING if policy_id.startswith("lp-") else RECOGNITION
    filing = ApplicantFiling.model_validate({**base, **changes})
    return evaluate(get_policy(policy_id), filing, as_of=AS_OF, bars=bars)


# (id, policy, changes, bars, the one code expected)
CASES: list[tuple[str, str, dict[str, Any], tuple[BarInfo, ...], str]] = [
    ("id-type 001 附件1 §一.3", "hz-recognition-2025h1", {"id_type": "passport", "id_number": "E1"}, (),
     "id_type_not_accepted"),
    ("barred CONTRACT §4", "hz-recognition-2025h1", {}, (BarInfo(2025, 2027),), "barred"),
    ("district 001 §一", "hz-recognition-2025h1", {"district": "萧山区"}, (), "out_of_scope"),
    ("industry 001 §一", "hz-recognition-2025h1", {"specialty": "土木工程"}, (), "out_of_scope"),
    ("excluded-specialty 002 §一", "lp-assessment-2022", {"specialty": "工业设计"}, (), "excluded_specialty"),
    ("civil-servant 002 §一", "lp-assessment-2022", {"civil_servant": True}, (), "civil_servant"),
    ("employer 002 §一", "lp-assessment-2022", {"employer_kind": "provincial_soe"}, (), "excluded_employer"),
    ("no-certificate", "hz-recognition-2022", {"certificate": None}, (), "certificate_missing"),
    ("entry-beyond 003 附件1", "hz-recognition-2022", {"certificate": {"entry": 46}}, (), "not_in_catalogue"),
    ("ambiguous 003 附件1", "hz-recognition-2022", {"certificate": {"name": "药剂师"}}, (),
     "certificate_ambiguous"),
    ("mismatch 000 附件2", "yh-recognition-2024",
     {"district": "余杭区", "certificate": {"entry": 1, "name": "PMP"}}, (), "certificate_mismatch"),
    ("not-yet-obtained", "hz-recognition-2022", {"certificate": {"entry": 5, "obtained": "2025-03-21"}}, (),
     "certificate_not_yet_obtained"),
    ("senior 004 第六条(一)", "wx-recognition-2022", {"district": "梁溪区", "requested_level": "senior"}, (),
     "level_not_available"),
    ("no-relevant-degree", "hz-recognition-2025h1", {"education": []}, (), "no_relevant_education"),
    ("years 001 附件1 §二.4", "hz-recognition-2025h1", {"work_start": "2020-07-01"}, (),
     "insufficient_years"),
    ("route 002 附件1 §二", "lp-assessment-2022", {"route": None}, (), "route_evidence"),
    ("credits 002 附件1 §三", "lp-assessment-2022", {"credits_since_2019": 44}, (), "insufficient_credits"),
    ("appraisal 002 附件1 §四", "lp-assessment-2022",
     {"appraisals": {"2019": "称职", "2020": "称职", "2021": "不称职"}}, (), "appraisal"),
    ("photo 002 附件2 §二.1", "lp-assessment-2022",
     {"photo": {"format": "bmp", "bytes": 120000, "width": 300, "height": 420}}, (), "photo_invalid"),
    ("statement 002 附件2 §二.3", "lp-assessment-2022", {"statement": None}, (), "statement_missing"),
    ("statement-length 002 附件2 §二.3", "lp-assessment-2022", {"statement": "述" * 1001}, (),
     "statement_too_long"),
]


@pytest.mark.parametrize(("policy_id", "changes", "bars", "code"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_each_code(policy_id: str, changes: dict[str, Any], bars: tuple[BarInfo, ...], code: str) -> None:
    result = run(policy_id, changes, bars)
    assert [r.code for r in result.reasons] == [code]
    assert not result.eligible and result.level is None and result.committee is None and result.rule is None
    assert re.search(r"[\u4e00-\u9fff]", result.reasons[0].message)


def test_no_committee_when_the_policy_names_none_for_the_series() -> None:
    """A policy whose by-series table lacks the row's series (a modified copy of 000's)."""
    policy = get_policy("yh-recognition-2024")
    level = policy.levels["intermediate"]
    decider = Decider(by_series={"制造业": "余杭区制造业工程技术人员工程师资格评审委员会"},
                      source=Source(file="000_d14dd92da83e9486.txt", section="附件1 §四.2"))
    levels = {"intermediate": level.model_copy(update={"decided_by": decider})}
    changed = policy.model_copy(update={"levels": levels})
    filing = ApplicantFiling.model_validate(
        {**RECOGNITION, "district": "余杭区", "certificate": {"entry": 10}})
    result = evaluate(changed, filing)
    assert [r.code for r in result.reasons] == ["no_committee"]
    assert "建筑业" in result.reasons[0].message


def test_every_code_is_exercised() -> None:
    covered = {c[-1] for c in CASES} | {"no_committee"}
    assert covered == set(CODES)
    assert {"not_in_catalogue", "out_of_scope", "insufficient_years", "civil_servant", "excluded_specialty",
            "barred", "level_not_available"} <= covered


BARS = [
    ("fraud-2024-bars-2025", (BarInfo(2025, 2027),), True),
    ("fraud-2022-bars-2023-to-2025", (BarInfo(2023, 2025),), True),
    ("fraud-2021-bar-ended-2024", (BarInfo(2022, 2024),), False),
    ("fraud-2025-bars-from-2026", (BarInfo(2026, 2028),), False),
    ("two-bars-both-listed", (BarInfo(2024, 2026), BarInfo(2025, 2027)), True),
]


@pytest.mark.parametrize(("bars", "barred"), [c[1:] for c in BARS], ids=[c[0] for c in BARS])
def test_bar_by_year_of_the_round(bars: tuple[BarInfo, ...], barred: bool) -> None:
    filing = ApplicantFiling.model_validate(RECOGNITION)
    result = evaluate(get_policy("hz-recognition-2025h1"), filing, bars=bars)
    assert [r.code for r in result.reasons] == ["barred"] * (len(bars) if barred else 0)


def test_bar_by_year_of_submission_when_given() -> None:
    """A round filed in 2025 but submitted (as_of) in 2026 is barred by a 2026 bar."""
    filing = ApplicantFiling.model_validate(RECOGNITION)
    policy = get_policy("hz-recognition-2025h1")
    assert evaluate(policy, filing, as_of=dt.date(2026, 1, 5), bars=[BarInfo(2026, 2028)]).reasons == (
        Reason("barred", "因申报弄虚作假，2026年至2028年不得申报职称（本次申报属2026年）"),)
    standing = get_policy("hz-recognition-2022")
    assert evaluate(standing, filing, as_of=dt.date(2024, 12, 31), bars=[BarInfo(2025, 2027)]).eligible


def test_every_unmet_condition_is_listed_in_order() -> None:
    changes = {"id_type": "passport", "id_number": "E1", "district": "萧山区", "specialty": "土木工程",
               "certificate": {"entry": 99, "obtained": "2025-07-01"}, "work_start": "2021-01-01"}
    result = run("hz-recognition-2025h1", changes, (BarInfo(2025, 2027),))
    assert [r.code for r in result.reasons] == [
        "id_type_not_accepted", "barred", "out_of_scope", "out_of_scope", "not_in_catalogue",
        "certificate_not_yet_obtained", "insufficient_years"]
    assert result.full_years == 4


def test_json_shape() -> None:
    result = run("hz-recognition-2025h1", {"certificate": {"name": "PMP证书"}})
    out = result.to_json()
    assert list(out) == ["policy", "eligible", "level", "title", "series", "full_years", "reference_date",
                         "committee", "reasons", "rule", "catalogue_no", "hints"]
    assert out["reference_date"] == "2025-06-30" and out["eligible"] is False and out["level"] is None
    assert out["reasons"][0]["code"] == "not_in_catalogue" and len(out["hints"]) == 3
    assert set(out["hints"][0]) == {"entry", "name", "name_en", "issuer", "title", "series"}
    assert json.loads(json.dumps(out, ensure_ascii=False)) == out
