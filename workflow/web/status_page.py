"""The applicant's status page, `/s/{token}` (CONTRACT §11): no login, one case, phone-sized.

It shows the stage, what the applicant must do and by when, the messages sent with their dates,
and whom to call — never a full ID number, never another person's case, never a reviewer's name.
An expired or forged link gets a plain Chinese page (status 404 for a forged one, 410 for an
expired one) and nothing about any case.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from notifications.context import CaseFacts, enquiry_contact, platform, stage_contact
from notifications.labels import state_label
from notifications.outbox import render_notification
from notifications.status_link import link_key, read_token
from states.calendar import end_of_day
from states.idcard import mask
from states.labels import ACTION_LABELS
from states.policy import Policy, get_policy
from states.vocabulary import ENDED_STATES, STAGE_KINDS
from storage import repo
from workflow.web.render import deadline, sh
from workflow.web.service import WebContext

router = APIRouter(include_in_schema=False)

# What the applicant does in each state (the applicant's actions, CONTRACT §3) — others wait.
TODO: dict[str, str] = {
    "draft": "请在{platform}完成填报并提交申报",
    "returned": "申报被退回，请按退回原因修改后在{platform}重新提交",
    "fee_payment": "请缴纳评审费",
    "paper_submission": "请按通知报送纸质材料",
    "mail_in": "请按通知填写评审表，盖章后寄回",
}
ENDED_TEXT: dict[str, str] = {
    "certified": "已取得职称，可在{platform}下载电子证书",
    "rejected": "申报未通过",
    "not_passed": "评审未通过",
    "withdrawn": "申报已撤回",
    "expired": "已超过截止时间，本次申报结束",
    "revoked": "申报（或职称）已被撤销",
}


@dataclass
class StatusView:
    name: str
    masked_id: str
    number: int
    policy: Policy
    stage: str
    todo: str
    by: str | None
    notice: str | None
    timeline: list[dict[str, str]]
    messages: list[dict[str, str]]
    contact: Any
    enquiry: Any


def _surname_only(name: str) -> str:
    return name[:1] + "*" * max(len(name) - 1, 1)


def build_view(ctx: WebContext, case_id: int, now: dt.datetime) -> StatusView | None:
    with ctx.db.connect() as conn:
        case = conn.execute(select(repo.cases).where(repo.cases.c.id == case_id)).first()
        if case is None:
            return None
        applicant = conn.execute(select(repo.applicants).where(repo.applicants.c.id == case.applicant_id)).first()
        history = repo.case_history(conn, case_id)
        notes = [n for n in repo.case_notifications(conn, case_id)
                 if n.recipient_role == "applicant" and n.channel == "sms"]
    policy = get_policy(case.policy_id, case.policy_version)
    facts = CaseFacts.from_rows(case, applicant)
    where = platform(policy)["name"]
    state = case.state
    waiting = case.return_stage if state == "returned" else state
    cutoff = policy.cutoff_ending(waiting) if waiting else None
    by = None
    if cutoff is not None and state not in ENDED_STATES and now < end_of_day(cutoff.date):
        by = f"{cutoff.date.year}年{cutoff.date.month}月{cutoff.date.day}日（{cutoff.label}）"
    notice = None
    kind = STAGE_KINDS.get(state)
    if kind is not None and kind.is_notice and case.notice_closes_at is not None:
        notice = f"公示期 {sh(case.notice_opened_at)} 起，至 {deadline(case.notice_closes_at)} 止"
    if state in TODO:
        todo = TODO[state].format(platform=where)
    elif state in ENDED_TEXT:
        todo = ENDED_TEXT[state].format(platform=where)
    elif state == "objection":
        todo = "公示期间收到异议，正在核查，暂无需操作"
    elif notice is not None:
        todo = "正在公示，无需操作"
    else:
        todo = f"等待{state_label(state, policy.track)}，无需操作"
    timeline = [{"at": sh(h.at), "what": ACTION_LABELS.get(h.action, "创建申报" if h.action == "create" else h.action),
                 "to": state_label(h.to_state, policy.track) if h.to_state else ""} for h in history]
    shown_name = _surname_only(str(case.name))
    messages = []
    for n in reversed(notes[-20:]):
        try:
            text = render_notification(ctx.db, int(n.id)).text
        except (KeyError, ValueError):
            continue
        messages.append({"at": sh(n.sent_at or n.created_at), "text": text.replace(str(case.name), shown_name)})
    contact = stage_contact(policy, facts, waiting, "submitted")
    enquiry = enquiry_contact(policy, facts)
    return StatusView(name=shown_name, masked_id=mask(str(case.id_number)), number=int(case.id),
                      policy=policy, stage=state_label(state, policy.track), todo=todo, by=by, notice=notice,
                      timeline=timeline, messages=messages, contact=contact,
                      enquiry=enquiry if enquiry.line != contact.line else None)


def _page(request: Request, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    env = request.app.state.jinja
    html = env.get_template("status.html").render({"view": None, "problem": None, **context})
    return HTMLResponse(html, status_code=status, headers={"X-Robots-Tag": "noindex"})


@router.get("/s/{token}", response_class=HTMLResponse)
def status_page(request: Request, token: str) -> HTMLResponse:
    ctx: WebContext = request.app.state.web
    now = ctx.clock()
    case_id, outcome = read_token(link_key(ctx.db), token, now)
    if case_id is None:
        if outcome == "expired":
            return _page(request, {"problem": "链接已过期。请查看最近一条短信中的新链接，或登录申报平台查询。"}, 410)
        return _page(request, {"problem": "链接无效。请核对短信中的链接是否完整。"}, 404)
    view = build_view(ctx, case_id, now)
    if view is None:
        return _page(request, {"problem": "链接无效。请核对短信中的链接是否完整。"}, 404)
    return _page(request, {"view": view})
