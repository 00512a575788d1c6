"""Every template of CONTRACT §3 renders on every channel from real cases of every policy, with no
undefined variable (StrictUndefined) and no empty field; SMS stay short; HTML is escaped."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from notifications.context import TEMPLATES, CaseFacts, OutboxEntry, build_context
from notifications.outbox import _load
from notifications.render import (
    CHANNELS,
    Rendered,
    RenderError,
    _squeeze,
    environment,
    render,
    sms_segments,
    sms_units,
)
from states.calendar import end_of_day
from states.policy import POLICY_IDS, Policy, get_policy
from states.vocabulary import Role
from storage import repo
from tests.drive import HOUR, new_case, walk
from workflow.deadlines import tick
from workflow.engine import Actor, Workflow

# What the engine writes for a template a policy never produces (no fee in a recognition round, no
# notice in Wuxi): the same shape as workflow/notify.py's rows, on a real case of that policy.
SYNTHETIC: dict[str, dict[str, Any]] = {
    "submitted": {"action": "submit", "from": "draft", "to": "employer_review"},
    "returned": {"action": "employer_return", "from": "employer_review", "to": "returned",
                 "reason": "学历证明不清晰"},
    "rejected": {"action": "employer_reject", "from": "employer_review", "to": "rejected", "reason": "不在目录内"},
    "notice_opened": {"action": "employer_approve", "from": "employer_review", "to": "employer_notice"},
    "notice_closed": {"action": "notice_closed", "from": "employer_notice", "to": "management_review"},
    "objection": {"action": "object", "from": "employer_notice", "to": "objection", "reason": "工作年限不实"},
    "deadline_reminder": {"cutoff": "employer", "cutoff_label": "单位审核截止", "cutoff_date": "2030-04-14",
                          "working_days": 3, "latest_approval_day": "2030-04-03"},
    "expired": {"action": "expire", "from": "employer_review", "to": "expired", "reason": "截止时间已过"},
    # workflow/amendments.py: a 延期 notice moved the employer cutoff (CONTRACT §9)
    "amended": {"action": "amend", "document": "杭经信职改〔2030〕3号", "version": 2,
                "changes": [{"name": "employer", "label": "单位网上审核推荐截止", "old": "2030-04-14",
                             "new": "2030-04-21"}]},
    "fee_due": {"action": "notice_closed", "from": "qualification_notice", "to": "fee_payment"},
    "mail_in_instructions": {"action": "notice_closed", "from": "result_notice", "to": "mail_in"},
    "certified": {"action": "issue_certificate", "from": "publication", "to": "certified"},
    "revoked": {"action": "revoke", "from": "certified", "to": "revoked", "reason": "提交虚假申报材料"},
    # written by a calendar import (workflow/calendar_import.py), never by a round's own moves
    "deadline_changed": {"kind": "notice_close", "stage": "employer_notice", "year": 2027,
                         "old_closes_at": "2027-02-19T00:00:00+08:00", "new_closes_at": "2027-02-18T00:00:00+08:00",
                         "last_day": "2027-02-17", "provisional": True},
}

# Templates each policy's real round produces (the rest are synthesized above).
ONLY_ASSESSMENT = {"fee_due", "mail_in_instructions"}
NEEDS_NOTICE = {"notice_opened", "notice_closed", "objection"}
NEEDS_CUTOFF = {"deadline_reminder", "expired"}
NEEDS_AMENDMENT = {"amended"}  # tests/test_rounds__amendments.py renders real ones

# An empty field: a label with nothing after it, an empty bracket, a Python None, a Jinja leftover.
EMPTY_FIELD = re.compile(r"None|null|undefined|\{\{|\}\}|\{%|：\s*[，。；、）]|（\s*）|，，|。。")
EMPTY_HTML = re.compile(r"<(td|th|p|li|h1)[^>]*>\s*</\1>")


def expected_templates(policy: Policy) -> set[str]:
    found = set(TEMPLATES) - NEEDS_AMENDMENT - {"deadline_changed"}  # only a calendar import writes it
    if policy.track != "assessment":
        found -= ONLY_ASSESSMENT
    if "employer_notice" not in policy.notices:
        found -= NEEDS_NOTICE
    if not policy.cutoffs:
        found -= NEEDS_CUTOFF
    return found


def play_round(db: Engine, policy_id: str) -> Workflow:
    """Real cases through every path that notifies: happy path to certification and revocation,
    return / resubmit / reject, an objection dismissed, a draft and a review that miss their cutoffs
    (with the reminders before them)."""
    policy = get_policy(policy_id)
    wf, _, _ = walk(db, policy_id, until="draft", serial=5)  # stays a draft: filing reminder, expiry
    if policy.cutoffs:
        walk(db, policy_id, until="employer_review", serial=4)  # the employer never acts: expiry
    wf, b, _ = walk(db, policy_id, until="employer_review", serial=2)
    at = wf.case(b).updated_at + HOUR
    wf.fire(b, "employer_return", Actor(Role.employer), at, "学历证明不清晰，请上传《教育部学历证书电子注册备案表》")
    wf.fire(b, "resubmit", Actor(Role.applicant), at + HOUR)
    wf.fire(b, "employer_reject", Actor(Role.employer), at + 2 * HOUR, "所持证书不在认可目录内")
    if "employer_notice" in policy.notices:
        wf, c, _ = walk(db, policy_id, until="employer_notice", serial=3)
        at = wf.case(c).updated_at + HOUR
        wf.fire(c, "object", Actor(Role.public), at, "实际从事专业工作年限不足")
        wf.fire(c, "dismiss_objection", Actor(Role.employer), at + HOUR)
    if policy.id == "hz-recognition-2025h1":
        walk(db, policy_id, until="management_review", serial=6)  # department reminder, expiry
    if policy.track == "assessment":
        wf, f, _ = walk(db, policy_id, until="assessment", serial=7)
        wf.fire(f, "assess_fail", Actor(Role.committee), wf.case(f).updated_at + HOUR)
    wf, a, _ = walk(db, policy_id, until="certified", serial=1)
    wf.fire(a, "revoke", Actor(Role.committee), wf.case(a).updated_at + HOUR, "伪造国际职业资格证书")
    if policy.cutoffs:
        tick(db, end_of_day(max(c.date for c in policy.cutoffs)) + HOUR)
    return wf


def real_entries(db: Engine) -> list[tuple[OutboxEntry, CaseFacts]]:
    with db.connect() as conn:
        ids = [int(i) for i in conn.execute(select(repo.notifications.c.id).order_by(repo.notifications.c.id))
               .scalars()]
        rows, facts = _load(conn, ids)
    return [(OutboxEntry.from_row(rows[i]), facts[rows[i].case_id or 0]) for i in ids]


def check_rendered(rendered: Rendered, case: CaseFacts, where: str) -> None:
    parts = [rendered.text] + ([rendered.subject] if rendered.subject else [])
    for part in parts:
        assert part.strip(), f"{where}: empty message"
        assert not EMPTY_FIELD.search(part), f"{where}: empty field near {EMPTY_FIELD.search(part)}: {part}"
        assert case.id_number not in part, f"{where}: full ID number in a message"
        # a line may end with "：" only as the greeting (王伟：), never as a label with no value
        for line in part.splitlines()[1:]:
            assert not line.rstrip().endswith("："), f"{where}: empty field {line!r}"
    assert case.name in rendered.text or case.name in (rendered.subject or ""), where
    if rendered.html is not None:
        assert not EMPTY_HTML.search(rendered.html), f"{where}: empty element in HTML"
        assert not EMPTY_FIELD.search(re.sub(r"<[^>]+>", "\n", rendered.html)), f"{where}: empty field in HTML"
        assert case.id_number not in rendered.html
    if rendered.channel == "sms":
        assert sms_segments(rendered.text) <= 2, f"{where}: {sms_units(rendered.text)} units: {rendered.text}"


def seed_phones(policy: Policy) -> set[str]:
    phones = {o.phone for o in policy.offices if o.phone}
    if policy.committee_table is not None:
        phones |= {"/".join(c.phones) for c in policy.committee_table.committees}
    return phones


@pytest.mark.parametrize("policy_id", POLICY_IDS)
def test_every_template_renders_on_every_channel_from_real_cases(db: Engine, policy_id: str) -> None:
    policy = get_policy(policy_id)
    play_round(db, policy_id)
    entries = real_entries(db)
    produced = {e.template for e, _ in entries}
    assert produced == expected_templates(policy), sorted(produced ^ expected_templates(policy))
    # each real row on its own channel, as it will be delivered
    for entry, case in entries:
        check_rendered(render(entry.template, entry.channel, build_context(policy, case, entry)), case,
                       f"{policy_id} #{entry.id} {entry.template}/{entry.channel}")
    # every template × channel × kind of recipient, from a real row where the round made one
    by_template = {e.template: (e, c) for e, c in entries}
    some_case = entries[-1][1]
    for template in TEMPLATES:
        if template in by_template:
            entry, case = by_template[template]
        else:
            entry = OutboxEntry(id=10_000, template=template, channel="sms", recipient_role="applicant",
                                recipient=some_case.name, context=SYNTHETIC[template],
                                created_at=dt.datetime.now(dt.UTC))
            case = some_case
        for channel in CHANNELS:
            for role in ("applicant", "employer", "department", "committee", "city"):
                variant = replace(entry, channel=channel, recipient_role=role)
                check_rendered(render(template, channel, build_context(policy, case, variant)), case,
                               f"{policy_id} {template}/{channel} to {role}")


@pytest.mark.parametrize("policy_id", POLICY_IDS)
def test_sms_name_the_office_to_call_from_the_seeds(db: Engine, policy_id: str) -> None:
    """An applicant's SMS ends with the seed's phone of the office handling the stage (e.g. 001 §六.2
    85257157, 000 §七 0571-89391129, 002 §六 86106880, 003 附件2); Wuxi's notice gives no phone, so
    the SMS names the office instead (004 第四条)."""
    policy = get_policy(policy_id)
    play_round(db, policy_id)
    phones = seed_phones(policy)
    for entry, case in real_entries(db):
        if entry.channel != "sms":
            continue
        text = render(entry.template, "sms", build_context(policy, case, entry)).text
        assert text.startswith(f"【{policy.scope.city.removesuffix('市')}人社】"), text
        if entry.template == "certified":
            assert "下载" in text
        elif phones:
            assert any(f"咨询电话{p}" in text for p in phones), text
        else:
            assert "详询无锡市人力资源和社会保障局职称管理部门" in text, text


def test_deadline_and_notice_dates_come_from_the_policy(db: Engine) -> None:
    """hz-recognition-2025h1: submitted on 2025-03-20 → the employer's cutoff is 4月14日 (seed 001 §二.2);
    the employer notice of 5 working days opened 03-20 runs 03-21..03-27 (seed 002 附件3 §一.4)."""
    policy = get_policy("hz-recognition-2025h1")
    wf, case_id, _ = walk(db, policy.id, until="employer_notice")
    texts = {e.template: render(e.template, e.channel, build_context(policy, c, e)).text
             for e, c in real_entries(db) if e.recipient_role == "applicant"}
    assert "4月14日截止" in texts["submitted"]
    assert "公示5个工作日" in texts["notice_opened"]
    opened = wf.case(case_id).notice_opened_at
    assert opened is not None
    email = render("notice_opened", "email", build_context(policy, next(
        c for e, c in real_entries(db) if e.template == "notice_opened"), replace(next(
            e for e, _ in real_entries(db) if e.template == "notice_opened"), channel="email"))).text
    assert "公示期：2025年3月21日至2025年3月27日（5个工作日）" in email


def reference_render(template: str, channel: str, context: dict[str, Any]) -> Rendered:
    """Each channel as rendered before an email was rendered in one pass: the subject block, the
    body block and the whole template each in a context of their own, then the HTML layout."""
    env = environment()
    if channel == "sms":
        text = env.get_template(f"sms/{template}.txt").render(**context)
        return Rendered(template, channel, "".join(line.strip() for line in text.splitlines()))
    if channel == "inapp":
        return Rendered(template, channel, _squeeze(env.get_template(f"inapp/{template}.txt").render(**context)))
    tmpl = env.get_template(f"email/{template}.txt")
    subject = " ".join("".join(tmpl.blocks["subject"](tmpl.new_context(dict(context)))).split())
    body = _squeeze("".join(tmpl.blocks["body"](tmpl.new_context(dict(context)))))
    text = _squeeze(tmpl.render(**context))
    paragraphs = [p.splitlines() for p in body.split("\n\n") if p.strip()]
    html = env.get_template("email/_layout.html").render(**{**context, "subject": subject, "paragraphs": paragraphs})
    return Rendered(template, channel, text, subject=subject, html=html)


@pytest.mark.parametrize("policy_id", POLICY_IDS)
def test_every_message_renders_as_the_reference_renderer_did(db: Engine, policy_id: str) -> None:
    """An email is rendered in one pass (notifications/render.py): byte for byte what rendering its
    parts one by one gave, on every template, channel and kind of recipient, real rows and made-up."""
    policy = get_policy(policy_id)
    play_round(db, policy_id)
    entries = real_entries(db)
    by_template = {e.template: (e, c) for e, c in entries}
    some_case = entries[-1][1]
    checked = 0
    for template in TEMPLATES:
        made_up = OutboxEntry(id=10_000, template=template, channel="sms", recipient_role="applicant",
                              recipient=some_case.name, context=SYNTHETIC[template],
                              created_at=dt.datetime.now(dt.UTC))
        for entry, case in [*(p for p in entries if p[0].template == template), (made_up, some_case)]:
            for channel in CHANNELS:
                for role in ("applicant", "employer", "department", "committee", "city"):
                    context = build_context(policy, case, replace(entry, channel=channel, recipient_role=role))
                    assert render(template, channel, context) == reference_render(template, channel, context), \
                        f"{policy_id} #{entry.id} {template}/{channel} to {role}"
                    checked += 1
    assert checked >= len(TEMPLATES) * len(CHANNELS) * 5 and by_template


def test_a_reason_is_escaped_in_html_and_kept_in_text(db: Engine) -> None:
    wf, case_id, _ = walk(db, "hz-recognition-2025h1", until="employer_review")
    wf.fire(case_id, "employer_return", Actor(Role.employer), wf.case(case_id).updated_at + HOUR,
            '学历<script>alert("x")</script> & 证书')
    entry, case = next((e, c) for e, c in real_entries(db) if e.template == "returned")
    rendered = render("returned", "email", build_context(get_policy(case.policy_id), case,
                                                         replace(entry, channel="email")))
    assert rendered.html is not None
    assert "<script>" not in rendered.html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; 证书" in rendered.html
    assert '学历<script>alert("x")</script> & 证书' in rendered.text


def test_a_missing_variable_fails_loudly(db: Engine) -> None:
    """StrictUndefined: a template reading a variable the context lacks raises, naming it."""
    walk(db, "hz-recognition-2025h1", until="employer_review")
    entry, case = real_entries(db)[0]
    context = build_context(get_policy(case.policy_id), case, entry)
    del context["case"]
    for channel in CHANNELS:
        with pytest.raises(RenderError, match="'case' is undefined"):
            render(entry.template, channel, context)
    with pytest.raises(RenderError, match="template: unknown template 'welcome'"):
        render("welcome", "sms", context)
    with pytest.raises(RenderError, match="channel: unknown channel 'fax'"):
        render("submitted", "fax", context)


def test_long_reasons_are_cut_in_sms_only(db: Engine) -> None:
    reason = "请补充" + "材料" * 200
    wf, case_id, _ = walk(db, "lp-assessment-2022", until="employer_review")
    wf.fire(case_id, "employer_return", Actor(Role.employer), wf.case(case_id).updated_at + HOUR, reason)
    entry, case = next((e, c) for e, c in real_entries(db) if e.template == "returned")
    context = build_context(get_policy(case.policy_id), case, entry)
    sms = render("returned", "sms", context).text
    assert sms_segments(sms) <= 2 and "…" in sms
    assert reason in render("returned", "email", context).text
    assert reason in render("returned", "inapp", context).text


def test_segments_are_counted_in_ucs2_units() -> None:
    """70 UCS-2 characters fit one SMS; longer messages go in parts of 67 (3GPP TS 23.040)."""
    assert [sms_segments("职" * n) for n in (1, 70, 71, 134, 135, 201, 202)] == [1, 1, 2, 2, 3, 3, 4]
    assert sms_units("𠀀") == 2  # outside the BMP: a surrogate pair
    assert sms_segments("职" * 69 + "𠀀") == 2


def test_a_draft_case_without_title_reads_plain(db: Engine) -> None:
    """Before the eligibility check names a title, messages say 职称 rather than leave a blank."""
    wf = Workflow(db)
    case_id = new_case(wf, "hz-recognition-2025h1", serial=9)
    with db.connect() as conn:
        rows, facts = _load(conn, [])
        row = repo.load_case(conn, case_id)
    case = CaseFacts.from_rows(row)
    entry = OutboxEntry(id=1, template="deadline_reminder", channel="sms", recipient_role="applicant",
                        recipient=case.name, context={"cutoff": "filing", "working_days": 3},
                        created_at=dt.datetime(2025, 3, 26, 9, tzinfo=dt.UTC))
    text = render("deadline_reminder", "sms", build_context(get_policy(case.policy_id), case, entry)).text
    assert "个人网上申报截止时间为3月31日" in text and "None" not in text
    assert rows == {} and facts == {}


def test_fee_and_mail_in_say_what_the_policy_file_says(db: Engine) -> None:
    """Linping (seed 002 附件2 §二.7: 登陆个人账号，点击“我的申报记录”，再点击“马上支付”; §二.3 and 附件4:
    the papers by EMS to 临平区人社局人才开发科, returned 到付) — read from lp-assessment-2022.yaml's `fee:`
    and `mail_in:`; a round written with other words gets its own words, with no code change (CONTRACT §9);
    a round that says nothing gets plain wording and `policy check` warns."""
    from states.calendar import product_calendar
    from states.lint import lint

    policy = get_policy("lp-assessment-2022")
    walk(db, policy.id, until="certified", serial=9)  # one case: its fee_due and mail_in_instructions
    entries = {e.template: (e, c) for e, c in real_entries(db) if e.recipient_role == "applicant"}

    def text(p: Policy, template: str, channel: str) -> str:
        entry, case = entries[template]
        return render(template, channel, build_context(p, case, replace(entry, channel=channel))).text

    assert "点击“我的申报记录”，再点击“马上支付”，在规定时间内缴纳评审费" in text(policy, "fee_due", "email")
    assert "在“我的申报记录”中点击“马上支付”" in text(policy, "fee_due", "sms")
    mail = text(policy, "mail_in_instructions", "email")
    assert "通过EMS邮寄至：临平区人社局人才开发科" in mail and "只有评审通过人员才需邮寄" in mail
    assert "我办将会在《评审表》盖章后通过EMS到付的方式将材料邮寄回去。" in mail
    assert "《破格推荐中级专业技术资格审批表》" in mail

    assert policy.fee is not None and policy.mail_in is not None
    other = policy.model_copy(update={
        "fee": policy.fee.model_copy(update={"how": "登录“浙里办”缴费专区缴纳评审费",
                                             "short": "在“浙里办”缴费专区付款"}),
        "mail_in": policy.mail_in.model_copy(update={"carrier": "顺丰", "materials": ("评审表一式2份",)})})
    assert "登录“浙里办”缴费专区缴纳评审费" in text(other, "fee_due", "email")
    assert "在“浙里办”缴费专区付款" in text(other, "fee_due", "sms") and "马上支付" not in text(other, "fee_due", "sms")
    mail = text(other, "mail_in_instructions", "email")
    assert "通过顺丰邮寄至" in mail and "1. 评审表一式2份" in mail and "破格" not in mail

    silent = policy.model_copy(update={"fee": None, "mail_in": None})
    assert "按申报平台的缴费通知" in text(silent, "fee_due", "email")
    assert "按缴费通知" in text(silent, "fee_due", "sms") and "马上支付" not in text(silent, "fee_due", "sms")
    assert "请按通知要求报送纸质材料" in text(silent, "mail_in_instructions", "email")
    codes = {f.code for f in lint(silent, product_calendar())}
    assert {"fee_unsaid", "mail_in_unsaid"} <= codes
    assert not {"fee_unsaid", "mail_in_unsaid"} & {f.code for f in lint(policy, product_calendar())}
