"""The printed documents of a round, built from the database and the seeds:

* the public notice list (公示表) of a notice stage — names, employers, specialties, titles, the
  notice period and whom to object to; ID numbers only masked (CONTRACT §7, states.idcard.mask);
* the registration form (登记表) of seed 000 附件3 (Yuhang) and seed 001 附件4 (Hangzhou), filled in
  from a case;
* a round's roster (花名册, seed 001 附件2 §二.2) for a committee, as CSV and XLSX;
* the paper-material checklist (seed 001 附件2; seed 000 §四) and the Linping mail-in instructions
  (seed 002 §二.3, 附件4).

Each is a plain data object first; ``to_html`` renders it with the Jinja templates under
``templates/documents/`` (autoescaped) and ``to_pdf`` (notifications/pdf.py) lays it out as a
printable A4 PDF with an embedded Chinese font.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import and_, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from notifications.context import (
    CaseFacts,
    Contact,
    enquiry_contact,
    notice_period,
    stage_contact,
)
from notifications.document_model import Checklist as Checklist
from notifications.document_model import Document as Document
from notifications.document_model import NoticeList as NoticeList
from notifications.document_model import NoticeRow as NoticeRow
from notifications.document_model import RegistrationForm as RegistrationForm
from notifications.document_model import Roster as Roster
from notifications.labels import cn_date, state_label
from notifications.pdf import render_pdf
from notifications.render import RenderError, render_file
from notifications.spreadsheet import append_row, csv_bytes
from states.calendar import local_date
from states.idcard import mask
from states.labels import EDUCATION_LABELS, ID_TYPE_LABELS
from states.legal import cite, cite_source
from states.policy import Policy, get_policy
from states.vocabulary import NOTICE_OFFICE, Role
from storage import repo

cases, applicants, history = repo.cases, repo.applicants, repo.history

Format = Literal["html", "pdf", "csv", "xlsx"]
FORMATS: dict[str, tuple[str, ...]] = {
    "notice": ("html", "pdf"),
    "form": ("html", "pdf"),
    "roster": ("csv", "xlsx", "html", "pdf"),
    "checklist": ("html", "pdf"),
    "mail-in": ("html", "pdf"),
}


class DocumentError(ValueError):
    """The document cannot be made from this input. `field` names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def _policy(policy_id: str) -> Policy:
    try:
        return get_policy(policy_id)
    except KeyError as exc:
        raise DocumentError("policy", str(exc.args[0])) from None


def _facts(conn: Connection, rows: Sequence[Any]) -> list[CaseFacts]:
    ids = {int(r.applicant_id) for r in rows}
    people = ({int(a.id): a for a in conn.execute(select(applicants).where(applicants.c.id.in_(ids)))}
              if ids else {})
    return [CaseFacts.from_rows(r, people.get(int(r.applicant_id))) for r in rows]


# ---- 公示表 -----------------------------------------------------------------------------------------

def notice_list(conn: Connection, policy_id: str, stage: str, *, employer: str | None = None,
                where: ColumnElement[bool] | None = None,
                as_of: dt.datetime | None = None, today: dt.date | None = None) -> NoticeList:
    """Everyone whose `stage` notice is running (at `as_of`, if given), optionally for one employer."""
    policy = _policy(policy_id)
    if stage not in policy.notices:
        known = ", ".join(policy.notices) or "none"
        raise DocumentError("stage", f"{stage!r} is not a public notice of {policy.id} (notices: {known})")
    stmt = select(cases).where(and_(cases.c.policy_id == policy.id, cases.c.state == stage))
    if employer:
        stmt = stmt.where(cases.c.employer == employer)
    if where is not None:  # the reader's scope (the admin UI's case_condition)
        stmt = stmt.where(where)
    if as_of is not None:
        stmt = stmt.where(and_(cases.c.notice_opened_at <= as_of, cases.c.notice_closes_at > as_of))
    found = _facts(conn, list(conn.execute(stmt.order_by(cases.c.employer, cases.c.id))))
    periods: list[str] = []
    rows: list[NoticeRow] = []
    for i, case in enumerate(found, start=1):
        opened = case.notice_opened_at
        if opened is not None:
            first, last = notice_period(policy, opened, stage)
            period = f"{cn_date(first)}至{cn_date(last)}"
        else:
            period = "—"
        periods.append(period)
        rows.append(NoticeRow(no=i, case_id=case.id, name=case.name, id_masked=mask(case.id_number),
                              gender=case.gender or "—", employer=case.employer or "—",
                              specialty=case.specialty or "—", title=case.title_label, period=period))
    runs_employer = NOTICE_OFFICE[stage] == Role.employer
    sample = found[0] if found else None
    enquiry = enquiry_contact(policy, sample)
    contact = stage_contact(policy, sample, stage, "notice_opened") if sample else enquiry
    if runs_employer:
        runs = employer or (found[0].employer if found and len({c.employer for c in found}) == 1 else None) \
            or "各申报人所在单位"
        objection = (f"公示期间，如对公示对象有异议，请以书面形式实名向{runs}反映，"
                     f"或向{enquiry.line}反映。")
    else:
        runs = contact.name
        objection = f"公示期间，如对公示对象有异议，请以书面形式实名向{contact.line}反映。"
    label = state_label(stage, policy.track)
    source = policy.notices[stage].source
    if today is None and as_of is not None:
        today = local_date(as_of)
    return NoticeList(
        kind="notice", policy_id=policy.id, policy_name=policy.name, authority=policy.authority,
        title=f"{label}表", stage=stage, stage_label=label, working_days=policy.notices[stage].working_days,
        runs=runs, period=periods[0] if periods and len(set(periods)) == 1 else None, rows=tuple(rows),
        objection=objection, contact=contact if not runs_employer else enquiry,
        source=cite_source(source), dated=cn_date(today) if today else None)


# ---- 登记表 ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FormLayout:
    title: str
    committee: str  # the committee whose opinion the last row takes
    unit_hint: str | None  # printed in the employer's box while it is empty
    source: str


# The two registration forms, transcribed: seed 000 附件3 (余杭区国际职业资格比照认定职称资格登记表)
# and seed 001 附件4 (杭州市国际职业资格比照认定职称资格登记表). Same rows; the titles and the
# committee differ, and 001 prints its instructions in the boxes.
FORMS: dict[str, FormLayout] = {
    "yh-recognition-2024": FormLayout(
        title="余杭区国际职业资格比照认定职称资格登记表",
        committee="余杭区制造业、建筑业工程技术人员工程师资格评审委员会",
        unit_hint=None, source=cite("000_d14dd92da83e9486.txt", "附件3")),
    "hz-recognition-2025h1": FormLayout(
        title="杭州市国际职业资格比照认定职称资格登记表",
        committee="杭州市制造业工程技术人员工程师资格评审委员会",
        unit_hint="请填写单位意见后再上传", source=cite("001_f62017e8010cdeb7.txt", "附件4")),
}
_APPROVED_BY_EMPLOYER = "employer_approve"


def _date(value: Any) -> str | None:
    if not value:
        return None
    try:
        day = dt.date.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return cn_date(day)


def registration_form(conn: Connection, case_id: int) -> RegistrationForm:
    """The 登记表 of the case's policy, filled in from the case (not a public document: the ID number
    is printed in full, as the form asks)."""
    row = repo.load_case(conn, case_id)
    if row is None:
        raise DocumentError("case", f"case {case_id} does not exist")
    layout = FORMS.get(row.policy_id)
    if layout is None:
        raise DocumentError("case", f"case {case_id} is in {row.policy_id}, which has no registration form "
                                    f"(登记表: {', '.join(FORMS)} — seed 000 附件3, seed 001 附件4)")
    policy = _policy(row.policy_id)
    (case,) = _facts(conn, [row])
    data = case.data
    blank = ""  # a box the applicant or an office fills in by hand
    post = data.get("position") or data.get("post")
    education = case.highest_education
    school = education.get("school") if education else None
    graduated = _date(education.get("graduated")) if education else None
    cert = data.get("certificate") if isinstance(data.get("certificate"), dict) else None
    qualification, obtained = blank, blank
    if cert:
        entry = cert.get("entry")
        catalogue = policy.catalogue.row(int(entry)) if entry else None
        if catalogue is not None:
            name = catalogue.name_zh or catalogue.name_en or ""
            if catalogue.abbreviation and catalogue.abbreviation not in name:
                name += f"（{catalogue.abbreviation}）"
            issuer = catalogue.issuer_zh or ""
            if catalogue.issuer_en:
                issuer += f"（{catalogue.issuer_en}）"
            qualification = f"{name}；{issuer}（目录序号{catalogue.no}）"
        else:
            qualification = "；".join(str(x) for x in (cert.get("name"), cert.get("issuer")) if x)
        obtained = _date(cert.get("obtained")) or blank
    years = case.eligibility.get("full_years")
    specialty = case.specialty or blank
    if years is not None:
        specialty += f"，{years}年"
    approved = conn.execute(select(history.c.id).where(and_(
        history.c.case_id == case_id, history.c.action == _APPROVED_BY_EMPLOYER))).first() is not None
    unit = "经审核，情况属实，同意推荐。" if approved else (layout.unit_hint or blank)
    title = case.title or blank
    return RegistrationForm(
        kind="form", policy_id=policy.id, case_id=case.id, title=layout.title, source=layout.source,
        name=case.name, gender=case.gender or blank, id_type=ID_TYPE_LABELS.get(case.id_type, case.id_type),
        id_number=case.id_number,
        employer_and_post="，".join(x for x in (case.employer, post) if x),
        work_start=_date(data.get("work_start")) or blank, specialty_and_years=specialty,
        education=EDUCATION_LABELS.get(str(education.get("level")), blank) if education else blank,
        school_and_date="，".join(x for x in (school, graduated) if x),
        qualification=qualification, obtained=obtained,
        title_and_series="，".join(x for x in (case.title, case.series) if x),
        unit_opinion=unit, committee=layout.committee,
        committee_opinion=f"该同志具备{case.specialty or ''}{title}专业技术资格。" if case.title
        else "该同志具备　　　　　　专业技术资格。",
    )


# ---- 花名册 ----------------------------------------------------------------------------------------

ROSTER_COLUMNS: tuple[str, ...] = ("序号", "申报编号", "姓名", "性别", "证件号码", "所在区县", "工作单位",
                                   "从事专业", "申报职称", "所属系列", "评审委员会", "当前环节", "提交日期")
# A roster lists the round's applicants who are still in it or have passed; these ended without.
_LEFT_THE_ROUND = ("draft", "withdrawn", "rejected", "expired", "not_passed", "revoked")


def committees_of(policy: Policy) -> list[str]:
    names: list[str] = []
    for rule in policy.levels.values():
        if rule.decided_by.committee:
            names.append(rule.decided_by.committee)
        if rule.decided_by.by_series:
            names += list(rule.decided_by.by_series.values())
    if policy.committee_table is not None:
        names += [c.name for c in policy.committee_table.committees]
    return list(dict.fromkeys(names))


def roster(conn: Connection, policy_id: str, *, committee: str | None = None, include_ended: bool = False,
           full_ids: bool = False, today: dt.date | None = None, where: ColumnElement[bool] | None = None) -> Roster:
    """The round's applicants (for one committee): 《申报评审工程师资格人员花名册》 of seed 001 附件2
    §二.2. Cases that left the round (draft, withdrawn, rejected, expired …) only with
    `include_ended`. ID numbers are masked unless `full_ids` (the roster goes to the committee only)."""
    policy = _policy(policy_id)
    if committee is not None:
        known = committees_of(policy)
        chosen = next((c for c in known if c == committee), None)
        if chosen is None and committee.isdigit() and policy.committee_table is not None:
            chosen = next((c.name for c in policy.committee_table.committees if c.no == int(committee)), None)
        if chosen is None:
            raise DocumentError("committee", f"{committee!r} is not a committee of {policy.id}; "
                                             f"committees: {'; '.join(known)}")
        committee = chosen
    stmt = select(cases).where(cases.c.policy_id == policy.id)
    if committee is not None:
        stmt = stmt.where(cases.c.committee == committee)
    if not include_ended:
        stmt = stmt.where(cases.c.state.not_in(_LEFT_THE_ROUND))
    if where is not None:  # the reader's scope (the admin UI's case_condition)
        stmt = stmt.where(where)
    found = _facts(conn, list(conn.execute(stmt.order_by(cases.c.id))))
    rows = tuple(
        (str(i), str(c.id), c.name, c.gender or "", c.id_number if full_ids else mask(c.id_number),
         c.district or "", c.employer or "", c.specialty or "", c.title or "", c.series or "", c.committee or "",
         state_label(c.state, policy.track), local_date(c.submitted_at).isoformat() if c.submitted_at else "")
        for i, c in enumerate(found, start=1))
    return Roster(kind="roster", policy_id=policy.id, policy_name=policy.name, committee=committee,
                  title="申报评审工程师资格人员花名册", columns=ROSTER_COLUMNS, rows=rows, full_ids=full_ids,
                  source=cite("001_f62017e8010cdeb7.txt", "附件2 §二.2"),
                  dated=cn_date(today) if today else None)


def roster_csv(doc: Roster) -> bytes:
    """UTF-8 with a byte-order mark, so that Excel opens the Chinese correctly; formula-safe."""
    return csv_bytes(doc.columns, doc.rows)


def roster_xlsx(doc: Roster) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "花名册"
    heading = f"{doc.policy_name}{doc.title}" + (f"（{doc.committee}）" if doc.committee else "")
    append_row(sheet, [heading])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(doc.columns))
    sheet["A1"].font = Font(bold=True, size=14)
    sheet["A1"].alignment = Alignment(horizontal="center")
    append_row(sheet, doc.columns)
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for row in doc.rows:
        append_row(sheet, row)
    widths = [max(len(str(r[i])) for r in (doc.columns, *doc.rows)) for i in range(len(doc.columns))]
    for i, width in enumerate(widths):
        sheet.column_dimensions[get_column_letter(i + 1)].width = min(4 + 2 * width, 60)
    sheet.freeze_panes = "A3"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# ---- checklists ----------------------------------------------------------------------------------

# seed 001 附件2 §二 (各区、县（市）经信部门和市直有关单位需报送纸质材料清单), items 1–3.
HZ_PAPER_ITEMS: tuple[str, ...] = (
    "《送评报告单》（委托书）一份",
    "《申报评审工程师资格人员花名册》一份（从浙江省专业技术任职资格申报与评审管理平台导出并打印），需加盖公章",
    "带有“浙江省专业技术任职资格申报与评审管理平台”水印的《专业技术职务任职资格评审表》及"
    "《杭州市国际职业资格比照认定职称资格登记表》各一式两份",
)
HZ_DIRECT_UNITS = "市直有关单位所属企事业单位申报人的纸质材料，报市直单位审核盖章后，报中评委办公室。"
# seed 000 §四: 纸质材料【评审表、登记表（一式两份）】
YH_PAPER_ITEMS: tuple[str, ...] = (
    "《专业技术职务任职资格评审表》一式两份",
    "《余杭区国际职业资格比照认定职称资格登记表》一式两份",
)


def paper_checklist(policy_id: str, district: str | None = None) -> Checklist:
    """The paper materials to send and where (seed 001 附件2 for Hangzhou 2025 H1; seed 000 §四 for
    Yuhang 2024)."""
    policy = _policy(policy_id)
    if policy.id == "hz-recognition-2025h1":
        offices = [o for o in policy.offices if o.key.startswith("paper-")]
        if district is not None:
            offices = [o for o in offices if o.district == district]
            if not offices:
                known = ", ".join(o.district or "" for o in policy.offices if o.key.startswith("paper-"))
                raise DocumentError("district", f"{district!r} has no paper-material office in seed 001 附件2 "
                                                f"(districts: {known})")
        city = policy.office("city")
        paper = next(c for c in policy.cutoffs if c.name == "paper")
        assert city is not None
        return Checklist(
            kind="checklist", policy_id=policy.id, policy_name=policy.name, authority=policy.authority,
            title="纸质材料受理部门和报送清单",
            intro=(f"系统申报审核通过后，各区县（市）经信部门、市直有关单位将纸质材料（评审表、登记表原件各一式两份）"
                   f"统一报送至{city.name}（{city.address}），截止时间为{cn_date(paper.date)}。"),
            offices=tuple(Contact.of(o) for o in offices), offices_note=HZ_DIRECT_UNITS,
            items_heading="各区、县（市）经信部门和市直有关单位需报送纸质材料清单", items=HZ_PAPER_ITEMS,
            send_to=Contact.of(city),
            sources=(cite("001_f62017e8010cdeb7.txt", "§四 纸质材料报送"), cite("001_f62017e8010cdeb7.txt", "附件2")))
    if policy.id == "yh-recognition-2024":
        if district is not None and district != "余杭区":
            raise DocumentError("district", f"{district!r}: Yuhang's papers all go to one office (seed 000 §四)")
        committee = policy.office("committee")
        assert committee is not None
        return Checklist(
            kind="checklist", policy_id=policy.id, policy_name=policy.name, authority=policy.authority,
            title="纸质材料报送清单",
            intro=f"系统申报最终审核通过后，尽快将纸质材料报送至{committee.name}（{committee.address}）。",
            offices=(Contact.of(committee),), offices_note=None, items_heading="报送材料", items=YH_PAPER_ITEMS,
            send_to=Contact.of(committee), sources=(cite("000_d14dd92da83e9486.txt", "§四 纸质材料报送"),))
    hint = " (Linping sends papers only after the review: use `document mail-in`)" \
        if policy.id == "lp-assessment-2022" else ""
    raise DocumentError("policy", f"{policy.id}: its notice publishes no paper-material checklist; checklists "
                                  f"exist for hz-recognition-2025h1 (seed 001 附件2) and yh-recognition-2024 "
                                  f"(seed 000 §四){hint}")


def mail_in_instructions(policy_id: str) -> Checklist:
    """Paper mailed in after the review, from the policy's `mail_in:` and its office `mail-in`
    (Linping: seed 002 §二.3 and 附件4 邮寄纸质材料清单)."""
    policy = _policy(policy_id)
    office = policy.office("mail-in")
    mail_in = policy.mail_in
    if office is None or mail_in is None:
        raise DocumentError("policy", f"{policy.id} has no post-review mail-in (its file gives no `mail_in:` and "
                                      "no office `key: mail-in`); lp-assessment-2022 has one (seed 002 §二.3, 附件4)")
    contact = Contact.of(office)
    return Checklist(
        kind="mail-in", policy_id=policy.id, policy_name=policy.name, authority=policy.authority,
        title="邮寄纸质材料清单",
        intro=f"{mail_in.when}到{office.name}（{office.address}）。{mail_in.returned or ''}",
        offices=(), offices_note=None, items_heading="邮寄材料", items=mail_in.materials,
        notes=(f"注意：{mail_in.note}",) if mail_in.note else (), send_to=contact,
        sources=(cite(mail_in.source.file, mail_in.source.section),))


# ---- output --------------------------------------------------------------------------------------



def to_html(doc: Document) -> str:
    try:
        return render_file(f"documents/{doc.kind}.html", {"doc": doc})
    except RenderError as exc:
        raise RenderError(f"{doc.kind}: {exc}") from exc


def to_pdf(doc: Document) -> bytes:
    return render_pdf(doc)


def to_bytes(doc: Document, fmt: str) -> bytes:
    """The document in `fmt` (see FORMATS)."""
    allowed = FORMATS[doc.kind]
    if fmt not in allowed:
        raise DocumentError("format", f"{fmt!r} is not a format of {doc.kind}; formats: {', '.join(allowed)}")
    if fmt == "html":
        return to_html(doc).encode("utf-8")
    if fmt == "pdf":
        return to_pdf(doc)
    assert isinstance(doc, Roster)
    return roster_csv(doc) if fmt == "csv" else roster_xlsx(doc)
