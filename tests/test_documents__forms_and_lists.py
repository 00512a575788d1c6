"""The registration form (登记表, seed 000 附件3 / seed 001 附件4) filled from a case; the roster (花名册,
seed 001 附件2 §二.2) as CSV and XLSX; the paper checklist (seed 001 附件2, seed 000 §四) and Linping's
mail-in instructions (seed 002 §二.3, 附件4)."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy.engine import Engine

from notifications.documents import (
    ROSTER_COLUMNS,
    DocumentError,
    mail_in_instructions,
    paper_checklist,
    registration_form,
    roster,
    roster_csv,
    roster_xlsx,
    to_bytes,
    to_html,
)
from states.idcard import mask
from states.vocabulary import Role
from tests.drive import HOUR, walk
from workflow.engine import Actor, Workflow

HZ = "hz-recognition-2025h1"


# ---- 登记表 ----------------------------------------------------------------------------------------

def test_the_hangzhou_form_is_filled_in_from_the_case(db: Engine) -> None:
    wf, case_id, _ = walk(db, HZ, until="management_review")
    case = wf.case(case_id)
    with db.connect() as conn:
        form = registration_form(conn, case_id)
    assert form.title == "杭州市国际职业资格比照认定职称资格登记表" and form.source.endswith("附件4")
    assert (form.name, form.gender, form.id_type, form.id_number) == ("王伟", "男", "居民身份证", case.id_number)
    assert form.employer_and_post == "杭州示范机电有限公司"
    assert form.work_start == "2015年7月15日"
    assert form.specialty_and_years == f"机电制造，{case.eligibility['full_years']}年"
    assert (form.education, form.school_and_date) == ("大学本科", "2015年7月1日")
    # catalogue row 5 of seed 001 附件3
    assert form.qualification == ("项目管理专业人士资格认证(PMP)；美国项目管理协会（Project Management Institute）"
                                  "（目录序号5）")
    assert form.obtained == "2021年5月10日"
    assert form.title_and_series == "工程师，制造业"
    assert form.unit_opinion == "经审核，情况属实，同意推荐。"  # the employer approved
    assert form.committee == "杭州市制造业工程技术人员工程师资格评审委员会"
    assert form.committee_opinion == "该同志具备机电制造工程师专业技术资格。"


def test_the_yuhang_form_and_an_unapproved_case(db: Engine) -> None:
    _, case_id, _ = walk(db, "yh-recognition-2024", until="employer_review")
    with db.connect() as conn:
        form = registration_form(conn, case_id)
    assert form.title == "余杭区国际职业资格比照认定职称资格登记表" and form.source.endswith("附件3")
    assert form.committee == "余杭区制造业、建筑业工程技术人员工程师资格评审委员会"
    assert form.unit_opinion == ""  # the employer fills it in (000 附件3 prints an empty box)
    html = to_html(form)
    assert "余杭区制造业、建筑业工程技术人员工程师资格评审委员会意见" in html and "（公章）" in html


@pytest.mark.parametrize("policy_id", ["lp-assessment-2022", "hz-recognition-2022", "wx-recognition-2022"])
def test_policies_without_a_form_are_refused(db: Engine, policy_id: str) -> None:
    _, case_id, _ = walk(db, policy_id, until="employer_review")
    with db.connect() as conn, pytest.raises(DocumentError, match=r"^case: .*has no registration form"):
        registration_form(conn, case_id)
    with db.connect() as conn, pytest.raises(DocumentError, match=r"^case: case 999 does not exist"):
        registration_form(conn, 999)


# ---- 花名册 ----------------------------------------------------------------------------------------

def a_round(db: Engine) -> Workflow:
    """Three live cases in hz-recognition-2025h1, one withdrawn."""
    for serial in (1, 2, 3):
        wf, _, _ = walk(db, HZ, until="employer_review", serial=serial)
    wf, gone, _ = walk(db, HZ, until="employer_review", serial=4)
    wf.fire(gone, "withdraw", Actor(Role.applicant), wf.case(gone).updated_at + HOUR)
    return wf


def test_the_roster_lists_the_committees_applicants_masked(db: Engine) -> None:
    wf = a_round(db)
    with db.connect() as conn:
        doc = roster(conn, HZ, committee="杭州市制造业工程技术人员工程师资格评审委员会", today=dt.date(2025, 4, 1))
        everyone = roster(conn, HZ, include_ended=True)
        full = roster(conn, HZ, full_ids=True)
    assert doc.columns == ROSTER_COLUMNS and len(doc.rows) == 3 and len(everyone.rows) == 4
    first = dict(zip(doc.columns, doc.rows[0], strict=True))
    number = wf.case(1).id_number
    assert first["证件号码"] == mask(number)
    assert dict(zip(full.columns, full.rows[0], strict=True))["证件号码"] == number
    assert (first["姓名"], first["工作单位"], first["申报职称"], first["所属系列"], first["当前环节"]) == (
        "王伟", "杭州示范机电有限公司", "工程师", "制造业", "单位审核")
    assert first["提交日期"] == "2025-03-20"
    table = list(csv.reader(io.StringIO(roster_csv(doc).decode("utf-8-sig"))))
    assert table[0] == list(ROSTER_COLUMNS) and [r[2] for r in table[1:]] == ["王伟"] * 3
    assert roster_csv(doc).startswith(b"\xef\xbb\xbf")  # Excel reads the BOM as UTF-8
    assert all(number not in part for part in (roster_csv(doc).decode("utf-8-sig"), to_html(doc)))


def test_the_roster_as_xlsx(db: Engine) -> None:
    a_round(db)
    with db.connect() as conn:
        doc = roster(conn, HZ)
    sheet = load_workbook(io.BytesIO(roster_xlsx(doc))).active
    assert sheet is not None
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][0] == "2025上半年度杭州市制造业领域国际职业资格比照认定职称申报评审工程师资格人员花名册"
    assert values[1] == list(ROSTER_COLUMNS)
    assert [row[2] for row in values[2:]] == ["王伟"] * 3
    assert sheet.freeze_panes == "A3"


def test_a_committee_by_its_number_in_seed_003_and_an_unknown_one(db: Engine) -> None:
    walk(db, "hz-recognition-2022", until="employer_review")
    with db.connect() as conn:
        by_number = roster(conn, "hz-recognition-2022", committee="1")
        assert by_number.committee == "杭州市制造业工程技术人员工程师资格评审委员会"
        with pytest.raises(DocumentError, match=r"^committee: '第九委员会' is not a committee of hz-recognition-2022"):
            roster(conn, "hz-recognition-2022", committee="第九委员会")
    with pytest.raises(DocumentError, match=r"^format: 'docx'"):
        to_bytes(by_number, "docx")


# ---- checklists ----------------------------------------------------------------------------------

def test_the_hangzhou_paper_checklist_lists_the_offices_of_seed_001_annex_2() -> None:
    doc = paper_checklist(HZ)
    assert [(o.name, o.phone) for o in doc.offices] == [
        ("上城区发展改革和经济信息化局", "89500538"), ("拱墅区发展改革和经济信息化局", "89507251"),
        ("西湖区发展改革和经济信息化局", "89513702/89513811"), ("富阳区经济和信息化局", "89523944"),
        ("桐庐县经济和信息化局", "89545522"), ("淳安县经济信息化和科学技术局", "89601912")]
    assert doc.offices[0].address == "上城区望潮路77号东楼1706室"
    assert len(doc.items) == 3 and doc.items[0] == "《送评报告单》（委托书）一份"
    assert "截止时间为2025年5月30日" in doc.intro and "杭州市经信局职改办" in doc.intro
    assert doc.offices_note and "报中评委办公室" in doc.offices_note
    one = paper_checklist(HZ, district="西湖区")
    assert [o.name for o in one.offices] == ["西湖区发展改革和经济信息化局"]
    with pytest.raises(DocumentError, match=r"^district: '萧山区' has no paper-material office"):
        paper_checklist(HZ, district="萧山区")


def test_the_yuhang_checklist_and_policies_without_one() -> None:
    doc = paper_checklist("yh-recognition-2024")
    assert doc.send_to is not None and doc.send_to.address == "余杭区凤新路366号瑞鸿大厦1608办公室"
    assert doc.send_to.phone == "0571-89391129"
    assert doc.items == ("《专业技术职务任职资格评审表》一式两份",
                         "《余杭区国际职业资格比照认定职称资格登记表》一式两份")
    with pytest.raises(DocumentError, match=r"^policy: lp-assessment-2022.*document mail-in"):
        paper_checklist("lp-assessment-2022")
    with pytest.raises(DocumentError, match=r"^policy: wx-recognition-2022"):
        paper_checklist("wx-recognition-2022")


def test_the_linping_mail_in_instructions() -> None:
    doc = mail_in_instructions("lp-assessment-2022")
    assert doc.send_to is not None
    assert doc.send_to.line == ("临平区人社局人才开发科，地址：临平南大街265号市民之家721办公室，电话：86106880"
                                "（联系人：李小军）")
    assert doc.items[0].startswith("带有“浙江省专业技术任职资格申报与评审管理平台”水印的《专业技术职务任职资格评审表》")
    assert doc.notes == ("注意：只有评审通过人员才需邮寄，可以单位统一邮寄。",)
    assert "EMS" in doc.intro and "到付" in doc.intro
    html = to_html(doc)
    assert "邮寄地址：临平区人社局人才开发科" in html and html.count("<li>") == 3
    with pytest.raises(DocumentError, match=r"^policy: hz-recognition-2025h1 has no post-review mail-in"):
        mail_in_instructions(HZ)
