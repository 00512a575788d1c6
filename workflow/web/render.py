"""Server-side rendering: one Jinja2 environment that fails loudly on a missing variable."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from states.idcard import mask
from states.labels import (
    ACTION_LABELS,
    CHANNEL_LABELS,
    EDUCATION_LABELS,
    LEVEL_LABELS,
    ROLE_LABELS,
    STATE_LABELS,
    STATUS_LABELS,
    TEMPLATE_LABELS,
    TRACK_LABELS,
)
from workflow.clock import SHANGHAI
from workflow.web import csrf
from workflow.web.labels import ELIGIBILITY_LABELS, label
from workflow.web.scope import WebUser

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

WEEKDAYS = "一二三四五六日"


def sh(t: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A time as Asia/Shanghai wall time (CONTRACT §4)."""
    return t.astimezone(SHANGHAI).strftime(fmt) if t is not None else ""


def deadline(t: dt.datetime | None) -> str:
    """A due time; the end of a day (00:00 of the next) reads as 24:00 of that day, as notices and
    cutoffs are written (CONTRACT §4: a cutoff date D means the end of D)."""
    if t is None:
        return ""
    local = t.astimezone(SHANGHAI)
    if (local.hour, local.minute, local.second) == (0, 0, 0):
        return (local - dt.timedelta(days=1)).strftime("%Y-%m-%d") + " 24:00"
    return local.strftime("%Y-%m-%d %H:%M")


def day(d: dt.date | None) -> str:
    return f"{d.isoformat()}（周{WEEKDAYS[d.weekday()]}）" if d is not None else ""


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
