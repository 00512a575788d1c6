"""Catalogue matching (CONTRACT §5 `certificate`): every row of every catalogue by its 序号 — seed 003
附件1 (45 rows), 001 附件3 (9), 000 附件2 (10), 004 附件 (61) — and by name and issuer in Chinese or
English, ignoring case, spacing and punctuation, by bracketed abbreviation, with hints for a near miss.
Linping (002) has no catalogue. Seeds: 000_d14dd92da83e9486.txt, 001_f62017e8010cdeb7.txt,
002_0ab6147c026b6031.txt, 003_fb1894bb5a019f3a.txt, 004_96ecde711b1cc98f.txt."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

from states.applicant import ApplicantFiling
from states.eligibility import EligibilityResult, evaluate
from states.policy import POLICY_DIR, get_policy

AS_OF = dt.date(2025, 3, 1)
ROW_COUNTS = {"hz-recognition-2022": 45, "hz-recognition-2025h1": 9, "yh-recognition-2024": 10,
              "wx-recognition-2022": 61}
# A district each policy covers (003 附件2; 001 §一; 000 §一; 004 第二条).
DISTRICT = {"hz-recognition-2022": "上城区", "hz-recognition-2025h1": "上城区",
            "yh-recognition-2024": "余杭区", "wx-recognition-2022": "梁溪区"}


def raw_rows(policy_id: str) -> list[dict[str, Any]]:
    """The catalogue file read as plain YAML, independent of the policy model."""
    data = yaml.safe_load(Path(POLICY_DIR / "catalogues" / f"{policy_id}.yaml").read_text(encoding="utf-8"))
    rows: list[dict[str, Any]] = data["rows"]
    return rows


def check(policy_id: str, certificate: dict[str, Any] | None, **changes: Any) -> EligibilityResult:
    """A doctorate of 2010, working since: qualifies for every level by years in every policy."""
    filing = ApplicantFiling.model_validate({
        "name": "王伟", "id_number": "330102199001011234", "district": DISTRICT[policy_id],
        "employer": "某公司", "specialty": "机电制造",
        "education": [{"level": "doctorate", "graduated": "2010-07-01"}], "work_start": "2010-07-01",
        "certificate": certificate, **changes})
    return evaluate(get_policy(policy_id), filing, as_of=AS_OF)


@pytest.mark.parametrize(("policy_id", "count"), ROW_COUNTS.items(), ids=list(ROW_COUNTS))
def test_row_counts(policy_id: str, count: int) -> None:
    assert len(get_policy(policy_id).catalogue.rows) == count
    assert len(raw_rows(policy_id)) == count


EVERY_ROW = [(pid, row) for pid in ROW_COUNTS for row in raw_rows(pid)]


@pytest.mark.parametrize(("policy_id", "row"), EVERY_ROW, ids=[f"{p}-row{r['no']}" for p, r in EVERY_ROW])
def test_every_row_by_entry(policy_id: str, row: dict[str, Any]) -> None:
    result = check(policy_id, {"entry": row["no"]})
    assert result.eligible, result.reasons
    assert (result.catalogue_no, result.title, result.series) == (row["no"], row["title"], row["series"])
    assert result.level == {"工程师": "intermediate", "助理工程师": "assistant"}[row["title"]]


# Typed from the seeds, not from the YAML.
SPOT_CHECKS = [
    ("hz-recognition-2022", 1, "药剂师（执业药师）资格", "工程师", "医药工程"),
    ("hz-recognition-2022", 23, "注册临床研究专业人员", "助理工程师", "医药工程"),
    ("hz-recognition-2022", 35, "认证细胞技术专业人员", "助理工程师", "医药工程"),
    ("hz-recognition-2022", 36, "会员", "工程师", "制造业"),
    ("hz-recognition-2022", 45, "注册工程师", "工程师", "建筑业"),
    ("hz-recognition-2025h1", 9, "防爆电气产品认证体系人员能力认证(IECEx CoPC)", "工程师", "制造业"),
    ("yh-recognition-2024", 10, "注册工程师", "工程师", "建筑业"),
    ("wx-recognition-2022", 18, "Associate (AssocRICS)", "助理工程师", "建设工程"),
    ("wx-recognition-2022", 20, "PE Civil Transportation", "工程师", "交通工程"),
    ("wx-recognition-2022", 56, "Certified Food Scientist (CFS)", "工程师", "轻工工程"),
    ("wx-recognition-2022", 61, "Professional Members", "助理工程师", "电子信息工程"),
]


@pytest.mark.parametrize(("policy_id", "no", "name", "title", "series"), SPOT_CHECKS,
                         ids=[f"{c[0]}-row{c[1]}" for c in SPOT_CHECKS])
def test_rows_typed_from_the_seeds(policy_id: str, no: int, name: str, title: str, series: str) -> None:
    row = get_policy(policy_id).catalogue.row(no)
    assert row is not None and name in (row.name_zh, row.name_en)
    result = check(policy_id, {"entry": no})
    assert (result.title, result.series, result.catalogue_no) == (title, series, no)


BY_NAME = [
    ("zh-name-without-bracket", "yh-recognition-2024",
     {"name": "项目管理专业人士资格认证", "issuer": "美国项目管理协会"}, 5),
    ("zh-full-width-brackets", "yh-recognition-2024", {"name": "项目管理专业人士资格认证（PMP）"}, 5),
    ("abbreviation", "yh-recognition-2024", {"name": "PMP"}, 5),
    ("abbreviation-lower-case", "hz-recognition-2022", {"name": "pmp"}, 40),
    ("abbreviation-spaced", "yh-recognition-2024", {"name": "I P M P"}, 6),
    ("en-issuer-any-case-and-dashes", "hz-recognition-2022",
     {"name": "注册工程师", "issuer": "PROFESSIONAL-ENGINEER  ontario"}, 45),
    ("en-name-and-issuer", "wx-recognition-2022",
     {"name": "associate (assocrics)", "issuer": "the royal institution of chartered surveyors"}, 18),
    ("en-abbreviation", "wx-recognition-2022", {"name": "AssocRICS"}, 18),
    ("zh-translated-name", "wx-recognition-2022", {"name": "技术会员"}, 18),
    ("en-punctuation-ignored", "wx-recognition-2022", {"name": "leed ap bd c"}, 4),
    ("en-issuer-picks-row-61", "wx-recognition-2022",
     {"name": "Professional Members", "issuer": "Association of Computing Machinery"}, 61),
    ("zh-issuer-picks-row-2", "wx-recognition-2022",
     {"name": "Professional Members", "issuer": "美国专业园林设计师协会"}, 2),
    ("umlaut-ignored", "hz-recognition-2022", {"name": "TUV FSEng", "issuer": "tuv"}, 42),
    ("issuer-picks-among-members", "hz-recognition-2022",
     {"name": "会员", "issuer": "American Chemical Society"}, 36),
    ("zh-issuer-picks-among-members", "hz-recognition-2022",
     {"name": "会员", "issuer": "美国神经科学学会"}, 17),
    ("issuer-with-leading-the", "hz-recognition-2022",
     {"name": "药剂师", "issuer": "The Australian Health Practitioner Regulation Agency"}, 8),
    ("printed-the-may-be-left-out", "hz-recognition-2022",
     {"name": "药剂师（执业药师）资格", "issuer": "Australian Health Practitioner Regulation Agency"}, 1),
    ("issuer-abbreviation", "wx-recognition-2022", {"name": "Chartered Engineer", "issuer": "IMechE"}, 24),
    ("mixed-case-abbreviation", "hz-recognition-2025h1", {"name": "iecex copc"}, 9),
    ("entry-with-agreeing-name", "yh-recognition-2024", {"entry": 5, "name": "PMP"}, 5),
]


@pytest.mark.parametrize(("policy_id", "certificate", "entry"), [c[1:] for c in BY_NAME],
                         ids=[c[0] for c in BY_NAME])
def test_by_name_and_issuer(policy_id: str, certificate: dict[str, Any], entry: int) -> None:
    result = check(policy_id, certificate)
    assert result.eligible, result.reasons
    assert result.catalogue_no == entry


NEAR_MISSES = [
    ("zh-typo", "yh-recognition-2024", {"name": "项目管理专业人事资格认证"}, 5),
    ("en-typo", "wx-recognition-2022", {"name": "Associate Constructer"}, 1),
    ("right-name-wrong-issuer", "yh-recognition-2024", {"name": "PMP", "issuer": "美国化学协会"}, 5),
    ("issuer-typed-as-name", "hz-recognition-2022", {"name": "Professional Engineer", "issuer": "Ontario"}, 45),
    ("zh-near-name", "hz-recognition-2022", {"name": "注册临床研究员"}, 27),
    ("en-name-of-wuxi", "wx-recognition-2022", {"name": "Chartered Engineer IMechE"}, 24),
]


@pytest.mark.parametrize(("policy_id", "certificate", "first_hint"), [c[1:] for c in NEAR_MISSES],
                         ids=[c[0] for c in NEAR_MISSES])
def test_near_miss_gives_hints(policy_id: str, certificate: dict[str, Any], first_hint: int) -> None:
    result = check(policy_id, certificate)
    assert [r.code for r in result.reasons] == ["not_in_catalogue"]
    assert result.catalogue_no is None and result.level is None
    assert len(result.hints) == 3 and result.hints[0].entry == first_hint
    assert f"第{first_hint}项" in result.reasons[0].message
    assert result.to_json()["hints"][0]["entry"] == first_hint


@pytest.mark.parametrize(("policy_id", "entry"), [
    ("hz-recognition-2022", 46), ("hz-recognition-2025h1", 10), ("yh-recognition-2024", 11),
    ("wx-recognition-2022", 62),
], ids=["hz2022-46", "hz2025-10", "yh-11", "wx-62"])
def test_entry_beyond_the_catalogue(policy_id: str, entry: int) -> None:
    result = check(policy_id, {"entry": entry})
    assert [r.code for r in result.reasons] == ["not_in_catalogue"]
    assert f"共{entry - 1}项" in result.reasons[0].message


def test_a_name_alone_may_be_ambiguous() -> None:
    """003 附件1 rows 17-21 and 36 are all 会员."""
    result = check("hz-recognition-2022", {"name": "会员"})
    assert [r.code for r in result.reasons] == ["certificate_ambiguous"]
    assert [h.entry for h in result.hints] == [17, 18, 19, 20, 21, 36]


def test_entry_and_name_must_agree() -> None:
    result = check("yh-recognition-2024", {"entry": 5, "name": "会员"})
    assert [r.code for r in result.reasons] == ["certificate_mismatch"]
    assert "第5项" in result.reasons[0].message


def test_no_certificate() -> None:
    result = check("yh-recognition-2024", None)
    assert [r.code for r in result.reasons] == ["certificate_missing"]


def test_linping_has_no_catalogue_and_ignores_a_certificate() -> None:
    """002: an assessment, not a recognition; no catalogue is matched."""
    policy = get_policy("lp-assessment-2022")
    assert policy.catalogue.rows == ()
    filing = ApplicantFiling.model_validate({
        "name": "王伟", "id_number": "330102199001011234", "district": "临平区", "employer": "某公司",
        "specialty": "机电制造", "education": [{"level": "bachelor", "graduated": "2015-07-01"}],
        "work_start": "2015-07-01", "certificate": {"entry": 99}, "route": "direct", "credits_since_2019": 45,
        "appraisals": {"2019": "称职", "2020": "称职", "2021": "称职"}, "statement": "本人述职"})
    result = evaluate(policy, filing)
    assert result.eligible and result.catalogue_no is None


@pytest.mark.parametrize(("policy_id", "entry"), [("hz-recognition-2022", 45), ("yh-recognition-2024", 10)])
@pytest.mark.parametrize("issuer", ["Professional Engineers Ontario", "Professional engineer Ontario"])
def test_seed003_row45_issuer_by_its_real_name_and_as_printed(policy_id: str, entry: int, issuer: str) -> None:
    """Seed 003 附件1 row 45 (and seed 000 附件2 row 10) print "Professional engineer Ontario"; the body
    is "Professional Engineers Ontario" (the seeds' README: restore the real names). The row carries
    the real name, and the printed form still matches as an alias."""
    row = next(r for r in get_policy(policy_id).catalogue.rows if r.no == entry)
    assert row.issuer_en == "Professional Engineers Ontario"
    result = check(policy_id, {"name": "注册工程师", "issuer": issuer})
    assert result.eligible, result.reasons
    assert result.catalogue_no == entry
