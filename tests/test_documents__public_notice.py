"""The public notice list (公示表): who is under notice, for how long, whom to object to — and never a
full ID number (CONTRACT §7)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.engine import Engine

from notifications.documents import DocumentError, NoticeList, notice_list, to_html
from states.idcard import mask
from states.vocabulary import Role
from tests.drive import HOUR, walk
from tests.filings import SUBMIT_AT, filing
from workflow.engine import Actor, Workflow

HZ = "hz-recognition-2025h1"


def under_employer_notice(db: Engine, people: list[tuple[str, str]], policy_id: str = HZ) -> list[int]:
    """Cases submitted on 2025-03-20 and approved by their employers the same day."""
    wf = Workflow(db)
    at = SUBMIT_AT[policy_id]
    ids = []
    for serial, (name, employer) in enumerate(people, start=1):
        case_id = wf.create_case(policy_id, filing(policy_id, serial, name=name, employer=employer), at - HOUR)
        wf.fire(case_id, "submit", Actor(Role.applicant), at)
        wf.fire(case_id, "employer_approve", Actor(Role.employer), at + serial * HOUR)
        ids.append(case_id)
    return ids


def the_list(db: Engine, **kwargs: object) -> NoticeList:
    with db.connect() as conn:
        return notice_list(conn, **kwargs)  # type: ignore[arg-type]


def test_the_employer_notice_lists_name_employer_specialty_title_and_period(db: Engine) -> None:
    """Employers post a 5-working-day notice (seed 002 附件3 §一.4); opened 2025-03-20, it runs over
    the next five working days, 03-21..03-27 (CONTRACT §4)."""
    under_employer_notice(db, [("王伟", "杭州示范机电有限公司"), ("李娜", "杭州示范机电有限公司")])
    doc = the_list(db, policy_id=HZ, stage="employer_notice", employer="杭州示范机电有限公司",
                   today=dt.date(2025, 3, 21))
    assert doc.title == "单位公示表" and doc.working_days == 5
    assert doc.period == "2025年3月21日至2025年3月27日"
    assert [(r.name, r.employer, r.specialty, r.title, r.gender) for r in doc.rows] == [
        ("王伟", "杭州示范机电有限公司", "机电制造", "工程师（制造业）", "男"),
        ("李娜", "杭州示范机电有限公司", "机电制造", "工程师（制造业）", "女")]
    assert doc.runs == "杭州示范机电有限公司"
    # objections go to the employer holding the notice, or to the round's office (seed 001 §六.2)
    assert "实名向杭州示范机电有限公司反映" in doc.objection
    assert "杭州市经信局职改办，地址：杭州市上城区解放东路18号市民中心B座612，电话：85257157" in doc.objection
    assert doc.dated == "2025年3月21日"


def test_no_full_id_number_in_the_notice(db: Engine) -> None:
    ids = under_employer_notice(db, [("王伟", "杭州示范机电有限公司"), ("赵敏", "杭州光电材料股份有限公司")])
    doc = the_list(db, policy_id=HZ, stage="employer_notice")
    html = to_html(doc)
    wf = Workflow(db)
    for case_id in ids:
        number = wf.case(case_id).id_number
        assert number not in html and number not in repr(doc)
        assert mask(number) in html
    assert {r.id_masked for r in doc.rows} == {mask(wf.case(i).id_number) for i in ids}
    assert all(r.id_masked.count("*") == 13 for r in doc.rows)


def test_a_committee_notice_names_the_committee_office(db: Engine) -> None:
    """Linping's qualification notice is held by the committee office: 临平区南大街265号市民之家721办公室,
    86106880 (seed 002 §三.（二）, §六)."""
    walk(db, "lp-assessment-2022", until="qualification_notice")
    doc = the_list(db, policy_id="lp-assessment-2022", stage="qualification_notice")
    assert doc.title == "资格审核公示表" and len(doc.rows) == 1
    assert doc.runs == "杭州市临平区制造业工程技术人员工程师资格评审委员会"
    assert "临平区南大街265号市民之家721办公室，电话：86106880（联系人：李小军）" in doc.objection


def test_cases_with_different_periods_show_each_period(db: Engine) -> None:
    ids = under_employer_notice(db, [("王伟", "杭州示范机电有限公司")])
    wf = Workflow(db)
    late = wf.create_case(HZ, filing(HZ, 7, name="钱多多"), SUBMIT_AT[HZ])
    wf.fire(late, "submit", Actor(Role.applicant), SUBMIT_AT[HZ] + HOUR)
    wf.fire(late, "employer_approve", Actor(Role.employer), SUBMIT_AT[HZ] + dt.timedelta(days=1))
    doc = the_list(db, policy_id=HZ, stage="employer_notice")
    assert doc.period is None
    assert [r.period for r in doc.rows] == ["2025年3月21日至2025年3月27日", "2025年3月24日至2025年3月28日"]
    assert "<th>公示期</th>" in to_html(doc)
    assert ids


def test_only_running_notices_are_listed(db: Engine) -> None:
    under_employer_notice(db, [("王伟", "杭州示范机电有限公司")])
    opened = SUBMIT_AT[HZ] + HOUR
    assert len(the_list(db, policy_id=HZ, stage="employer_notice", as_of=opened + HOUR).rows) == 1
    assert the_list(db, policy_id=HZ, stage="employer_notice", as_of=opened - HOUR).rows == ()
    assert the_list(db, policy_id=HZ, stage="employer_notice", as_of=dt.datetime(
        2025, 3, 28, 0, 0, tzinfo=dt.UTC)).rows == ()
    assert the_list(db, policy_id=HZ, stage="employer_notice", employer="别的公司").rows == ()


def test_names_are_escaped_in_html(db: Engine) -> None:
    under_employer_notice(db, [("王伟", "杭州<示范>&机电有限公司")])
    html = to_html(the_list(db, policy_id=HZ, stage="employer_notice"))
    assert "杭州&lt;示范&gt;&amp;机电有限公司" in html and "<示范>" not in html


@pytest.mark.parametrize(("policy_id", "stage", "field"), [
    (HZ, "qualification_notice", "stage"),
    ("wx-recognition-2022", "employer_notice", "stage"),
    ("nowhere-2030", "employer_notice", "policy"),
])
def test_a_stage_that_is_no_notice_is_refused_naming_the_field(db: Engine, policy_id: str, stage: str,
                                                               field: str) -> None:
    with pytest.raises(DocumentError, match=f"^{field}: ") as caught:
        the_list(db, policy_id=policy_id, stage=stage)
    assert caught.value.field == field
