"""Server-side rendering: one Jinja2 environment that fails loudly on a missing variable."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from states.idcard import mask
from states.labels import (
    ACTION_LABELS,
    AUDIT_ACTION_LABELS,
    CHANNEL_LABELS,
    DOCUMENT_LABELS,
    EDUCATION_LABELS,
    FORMAT_LABELS,
    LEVEL_LABELS,
    ROLE_LABELS,
    ROUTE_LABELS,
    STATE_LABELS,
    STATUS_LABELS,
    TEMPLATE_LABELS,
    TRACK_LABELS,
    day_label,
    deadline_label,
    label_of,
)
from states.legal import NOTICES, cite, cite_source, without_file_names
from states.policy import get_policy
from workflow.clock import SHANGHAI
from workflow.web import csrf
from workflow.web.labels import ELIGIBILITY_LABELS, label
from workflow.web.scope import WebUser

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

_CUTOFF_TAIL = re.compile(r"\s*— cutoff [a-z_]+ passed \(.*\)\s*$")


def sh(t: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A time as Asia/Shanghai wall time (CONTRACT §4)."""
    return t.astimezone(SHANGHAI).strftime(fmt) if t is not None else ""


def deadline(t: dt.datetime | None) -> str:
    """A due time: 2025-04-30（周三）24时止 for the end of a day (states.labels.deadline_label)."""
    return deadline_label(t)


def day(d: dt.date | None) -> str:
    return day_label(d)


def policy_label(policy_id: str | None) -> str:
    """A policy's short Chinese name (never its id)."""
    if not policy_id:
        return ""
    try:
        return get_policy(policy_id).label
    except KeyError:
        return "（未知政策）"


_RULE_YEARS = re.compile(r"([a-z_]+)(?:→([a-z_]+))?\+(\d+)")
_RULE_ROUTE = re.compile(r"^(normal|direct|skilled|exceptional): ")
_RULE_EXCEPTIONAL = re.compile(r"assistant\+(\d+) (with|without) education, (\d+) achievements")
_RULE_SERVICE = re.compile(r"assistant\+(\d+)")
_RULE_TECHNICIAN = re.compile(r"technician\+(\d+)")
_RULE_HONOUR = re.compile(r"honour [a-z0-9_]+")
_RULE_HELD = re.compile(r"\b(college|bachelor|second_bachelor|master|doctorate), ")
_RULE_ROW = re.compile(r"catalogue row (\d+): ?")
_RULE_CITE = re.compile(r"\s*\((\d{3}) ([^()]*)\)")


def rule_text(rule: str | None) -> str:
    """The eligibility rule a case met ("bachelor+5 (001 附件1 §二)") in Chinese:
    大学本科毕业后满5年（《…通知》附件1 §二）."""
    if not rule:
        return ""

    def years(m: re.Match[str]) -> str:
        held = EDUCATION_LABELS.get(m[1], "学历")
        counted = f"（按{EDUCATION_LABELS.get(m[2], '学历')}计）" if m[2] else ""
        return f"{held}{counted}毕业后从事本专业满{m[3]}年"

    def cited(m: re.Match[str]) -> str:
        file = next((f for f in NOTICES if f.startswith(m[1] + "_")), "")
        return f"（{cite(file, m[2])}）"

    text = _RULE_CITE.sub(cited, rule)
    text = _RULE_ROUTE.sub(lambda m: f"{ROUTE_LABELS[m[1]]}：", text)
    text = _RULE_EXCEPTIONAL.sub(lambda m: f"{'具备' if m[2] == 'with' else '不具备'}规定学历任助理工程师满{m[1]}年，"
                                 f"具备{m[3]}项破格条件", text)
    text = _RULE_SERVICE.sub(lambda m: f"任助理工程师满{m[1]}年", text)
    text = _RULE_TECHNICIAN.sub(lambda m: f"取得技师资格满{m[1]}年", text)
    text = _RULE_HONOUR.sub("获得规定的荣誉或竞赛奖项", text)
    text = _RULE_HELD.sub(lambda m: f"{EDUCATION_LABELS[m[1]]}，", text)
    text = _RULE_ROW.sub(lambda m: f"认可目录第{m[1]}项：", text)
    return _RULE_YEARS.sub(years, text)


def reason_text(reason: str | None) -> str:
    """A stored history reason as a person reads it: the English tail the scheduler adds for
    developers ("— cutoff employer passed (file §)") dropped, seed file names as notice titles."""
    if not reason:
        return ""
    return without_file_names(_CUTOFF_TAIL.sub("", reason))


def make_env() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update({
        "sh": sh,
        "deadline": deadline,
        "day": day,
        "mask": mask,
        "state": lambda c: label(STATE_LABELS, c),
        "action": lambda c: label(ACTION_LABELS, c),
        "role": lambda c: label(ROLE_LABELS, c),
        "template": lambda c: label(TEMPLATE_LABELS, c),
        "channel": lambda c: label(CHANNEL_LABELS, c),
        "status": lambda c: label(STATUS_LABELS, c),
        "level": lambda c: label(LEVEL_LABELS, c),
        "policy": policy_label,
        "legal": cite_source,
        "reason": reason_text,
        "rule": rule_text,
        "audit_action": lambda c: label_of(AUDIT_ACTION_LABELS, c, "管理操作"),
        "doc": lambda c: label(DOCUMENT_LABELS, c),
        "fmt": lambda c: label(FORMAT_LABELS, c),
        "error": lambda e: e.zh,
        "track": lambda c: label(TRACK_LABELS, c),
        "education": lambda c: label(EDUCATION_LABELS, c),
        "elig": lambda c: label(ELIGIBILITY_LABELS, c),
        "pretty": lambda v: json.dumps(v, ensure_ascii=False, indent=2, default=str),
    })
    return env


def render(request: Request, name: str, context: dict[str, Any], *, user: WebUser | None,
           status: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    web = request.app.state.web
    env: Environment = request.app.state.jinja
    full = {"request": request, "user": user, "csrf_token": csrf.csrf_token(request), "now": web.clock(),
            "csp_nonce": getattr(request.state, "csp_nonce", ""),
            "message": None, "error": None, "nav": "", **context}
    response = HTMLResponse(env.get_template(name).render(full), status_code=status, headers=headers)
    csrf.set_cookie(request, response, secure=web.secure_cookies)
    return response
