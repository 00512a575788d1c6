"""The admin UI's pages (Chinese; times in Asia/Shanghai). Forms post back with a CSRF token and
redirect on success (post/redirect/get); a refused action re-renders the page with the reason and
the error's status code."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from notifications.spreadsheet import csv_cell
from states.calendar import end_of_day
from states.idcard import mask
from states.labels import ACTION_LABELS, STATE_LABELS
from states.machine import machine_for, mermaid_diagram
from states.policy import get_policy, policies
from states.vocabulary import ALL_STATES, REASON_REQUIRED, STAGE_KINDS
from workflow.clock import SHANGHAI
from workflow.errors import InvalidInput, NotFound, WorkflowError
from workflow.web import calendar_pages, csrf, service
from workflow.web.auth import SESSION_COOKIE, PageUser, session_user
from workflow.web.labels import label
from workflow.web.login import TooManyAttempts, attempt_async, client_address
from workflow.web.queries import (
    CaseFilters,
    case_counts_by_policy,
    cutoffs_ahead,
    expired_between,
    facet_values,
    list_cases,
    notices_closing,
    stage_counts,
)
from workflow.web.render import deadline, render, sh
from workflow.web.scope import WebUser, visible_policies
from workflow.web.service import WebContext
from workflow.web.users import MAX_PASSWORD, MAX_USERNAME, end_sessions

router = APIRouter(include_in_schema=False)

PER_PAGE = 50
EXPORT_LIMIT = 50_000
DUE_WINDOWS = (1, 3, 7, 14, 30)

ERROR_LABELS = {
    "illegal_transition": "当前状态不允许此操作",
    "not_permitted": "您的角色无权执行此操作",
    "not_found": "案件不存在或不在您的管辖范围内",
    "conflict": "案件已被他人修改，请刷新后重试",
    "invalid_input": "输入有误",
    "duplicate_application": "此人在本政策下已有在办申报",
    "window_closed": "不在申报时间内",
    "barred": "因弄虚作假处于禁报期",
    "ineligible": "不符合申报条件",
}


def ctx_of(request: Request) -> WebContext:
    ctx: WebContext = request.app.state.web
    return ctx


def error_text(exc: WorkflowError) -> str:
    return f"{ERROR_LABELS.get(exc.code, '操作失败')}（{exc.code}）"


def safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def local_midnight(t: dt.datetime) -> dt.datetime:
    d = t.astimezone(SHANGHAI).date()
    return dt.datetime(d.year, d.month, d.day, tzinfo=SHANGHAI)


# ---- login ------------------------------------------------------------------------------------

@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None, changed: str | None = None) -> Response:
    user = session_user(request)
    if user is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    message = "密码已修改，请用新密码重新登录" if changed else None
    return render(request, "login.html", {"next": safe_next(next), "username": "", "message": message}, user=None)


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request, username: Annotated[str, Form()] = "", password: Annotated[str, Form()] = "",
                csrf_token: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/") -> Response:
    csrf.check(request, csrf_token)
    ctx = ctx_of(request)
    user = None
    context = {"next": safe_next(next), "username": username[:MAX_USERNAME]}
    if len(password) > MAX_PASSWORD:  # the one maximum of form, API and CLI
        return render(request, "login.html", {**context, "error": f"密码最长 {MAX_PASSWORD} 个字符"}, user=None,
                      status=422)
    if username and password:
        try:
            user = await attempt_async(ctx.db, username, password, client_address(request), ctx.clock())
        except TooManyAttempts as exc:
            return render(request, "login.html", {**context, "error": exc.message}, user=None, status=429,
                          headers={"Retry-After": str(exc.retry_after)})
    if user is None:
        return render(request, "login.html", {**context, "error": "用户名或密码错误"}, user=None, status=401)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(SESSION_COOKIE, ctx.signer.session(user),
                        max_age=int(ctx.signer.session_ttl.total_seconds()), httponly=True, samesite="lax",
                        secure=ctx.secure_cookies, path="/")
    csrf.set_cookie(request, response, secure=ctx.secure_cookies, rotate=True)
    return response


@router.post("/logout")
def logout(request: Request, csrf_token: Annotated[str, Form()] = "") -> Response:
    """Log out: ends every session and token of the user (server-side, not only this cookie)."""
    csrf.check(request, csrf_token)
    user = session_user(request)
    if user is not None:
        with ctx_of(request).db.begin() as conn:
            end_sessions(conn, user.id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# ---- dashboard --------------------------------------------------------------------------------

@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, user: PageUser, policy: str | None = None) -> Response:
    ctx = ctx_of(request)
    now = ctx.clock()
    visible = visible_policies(user)
    with ctx.db.connect() as conn:
        per_policy = case_counts_by_policy(conn, user)
        ids = [p.id for p in visible]
        chosen_id = policy if policy in ids else next((i for i in ids if per_policy.get(i)), ids[0])
        p = get_policy(chosen_id)
        counts = stage_counts(conn, user, p.id)
        risks = cutoffs_ahead(conn, user, p, now)
        week_start = local_midnight(now) - dt.timedelta(days=now.astimezone(SHANGHAI).weekday())
        closing = notices_closing(conn, user, p.id, week_start, week_start + dt.timedelta(days=7))
        today = local_midnight(now)
        expired = expired_between(conn, user, p.id, today, today + dt.timedelta(days=1))
    states = [s for s in machine_for(p).states if s in p.stages or counts.get(s)]
    top = max([counts.get(s, 0) for s in states] + [1])
    bars = [{"state": s, "n": counts.get(s, 0), "pct": round(100 * counts.get(s, 0) / top, 1)} for s in states]
    return render(request, "dashboard.html", {
        "nav": "dashboard", "policies": visible, "per_policy": per_policy, "policy": p, "bars": bars,
        "total": sum(counts.values()), "risks": risks, "closing": closing, "expired": expired,
        "week_start": week_start, "calendar_missing": calendar_pages.calendar_banner(ctx),
        # The case-list link of each cutoff: cases due within the days until it (rounded up).
        "due_days": {r.cutoff.name: math.ceil((r.due_at - now).total_seconds() / 86400) for r in risks},
    }, user=user)


# ---- case list --------------------------------------------------------------------------------

def _int_param(value: str | None, name: str, low: int, high: int) -> int | None:
    if value is None or value.strip() == "":
        return None
    try:
        n = int(value)
    except ValueError:
        raise InvalidInput(f"{name}: {value!r} is not a whole number", field=name) from None
    if not low <= n <= high:
        raise InvalidInput(f"{name}: must be between {low} and {high}", field=name)
    return n


def _text_param(request: Request, name: str, max_len: int = 200) -> str | None:
    value = service.clean_text(request.query_params.get(name), name, max_len=max_len)
    return value or None


def page_filters(request: Request) -> CaseFilters:
    policy = _text_param(request, "policy", 64)
    state = _text_param(request, "state", 32)
    if policy and policy not in policies():
        raise InvalidInput(f"policy: unknown policy {policy!r}", field="policy")
    if state and state not in ALL_STATES:
        raise InvalidInput(f"state: unknown state {state!r}", field="state")
    return CaseFilters(
        policy=policy, state=state, district=_text_param(request, "district", 64),
        employer=_text_param(request, "employer"), committee=_text_param(request, "committee"),
        due_within=_int_param(request.query_params.get("due_within"), "due_within", 0, 366),
        q=_text_param(request, "q", 100),
    )


@router.get("/cases", response_class=HTMLResponse)
def case_list(request: Request, user: PageUser) -> Response:
    ctx = ctx_of(request)
    f = page_filters(request)
    page = _int_param(request.query_params.get("page"), "page", 1, 100_000) or 1
    with ctx.db.connect() as conn:
        rows, total = list_cases(conn, user, f, ctx.clock(), limit=PER_PAGE, offset=(page - 1) * PER_PAGE)
        facets = {c: facet_values(conn, user, c, f.policy) for c in ("district", "employer", "committee")}
    pages = max(1, -(-total // PER_PAGE))
    query = f.query_items()
    context = {
        "nav": "cases", "filters": f, "rows": rows, "total": total, "page": page, "pages": pages,
        "query": urlencode(query), "page_query": lambda n: urlencode([*query, ("page", str(n))]),
        "facets": facets, "policies": visible_policies(user), "states": ALL_STATES,
        "due_windows": DUE_WINDOWS, "bulk_actions": service.role_actions(user.role),
        "reason_required": REASON_REQUIRED,
    }
    if request.headers.get("hx-request") and request.headers.get("hx-target") == "results":
        # The address bar gets the filters that are set, not every empty field of the form.
        clean = "/cases" + (f"?{urlencode(query)}" if query else "")
        return render(request, "_case_table.html", context, user=user, headers={"HX-Push-Url": clean})
    return render(request, "cases.html", context, user=user)


@router.get("/cases/export.csv")
def case_export(request: Request, user: PageUser) -> Response:
    ctx = ctx_of(request)
    f = page_filters(request)
    with ctx.db.connect() as conn:
        rows, _ = list_cases(conn, user, f, ctx.clock(), limit=EXPORT_LIMIT)
    buf = io.StringIO()
    out = csv.writer(buf)
    out.writerow(["案件号", "政策", "状态", "姓名", "证件号码", "区县", "单位", "专业", "系列", "级别", "评审/认定机构",
                  "公示期满", "提交时间", "最近更新"])
    for r in rows:
        out.writerow([csv_cell(v) for v in (
            r.id, r.policy_id, label(STATE_LABELS, r.state), r.name, mask(r.id_number), r.district, r.employer,
            r.specialty, r.series, r.level, r.committee, deadline(r.notice_closes_at), sh(r.submitted_at),
            sh(r.updated_at))])
    stamp = ctx.clock().astimezone(SHANGHAI).strftime("%Y%m%d-%H%M")
    # UTF-8 with a BOM, so that spreadsheet programs on Windows read the Chinese correctly.
    return Response(("\ufeff" + buf.getvalue()).encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="zcflow-cases-{stamp}.csv"'})


@router.post("/cases/bulk", response_class=HTMLResponse)
def case_bulk(request: Request, user: PageUser, case_ids: Annotated[list[int] | None, Form()] = None,
              action: Annotated[str, Form()] = "", reason: Annotated[str, Form()] = "",
              csrf_token: Annotated[str, Form()] = "") -> Response:
    csrf.check(request, csrf_token)
    try:
        outcomes = service.bulk(ctx_of(request), user, case_ids or [], action, reason)
    except WorkflowError as exc:
        return render(request, "bulk.html", {"nav": "cases", "action": action, "outcomes": [],
                                             "error": f"{error_text(exc)}：{exc.message}"},
                      user=user, status=exc.http_status)
    return render(request, "bulk.html", {"nav": "cases", "action": action, "outcomes": outcomes,
                                         "error_text": error_text}, user=user)


# ---- one case ---------------------------------------------------------------------------------

def _case_page(request: Request, user: WebUser, case_id: int, *, message: str | None = None,
               error: str | None = None, status: int = 200, form: dict[str, str] | None = None) -> Response:
    view = service.case_view(ctx_of(request), user, case_id)
    policy = get_policy(view.case.policy_id, view.case.policy_version)
    return render(request, "case.html", {
        "nav": "cases", "v": view, "c": view.case, "policy": policy, "data": dict(view.case.data or {}),
        "eligibility": dict(view.case.eligibility or {}), "reason_required": REASON_REQUIRED,
        "message": message, "error": error, "form": form or {}, "stage_kinds": STAGE_KINDS,
    }, user=user, status=status)


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(request: Request, user: PageUser, case_id: int, done: str | None = None) -> Response:
    _check_id(case_id)
    message = f"已完成：{label(ACTION_LABELS, done)}" if done in ACTION_LABELS else None
    return _case_page(request, user, case_id, message=message)


def _check_id(case_id: int) -> None:
    if not 1 <= case_id <= 2**31 - 1:
        raise NotFound(f"case {case_id} does not exist", case=case_id)


@router.get("/cases/{case_id}/timeline", response_class=HTMLResponse)
def case_timeline(request: Request, user: PageUser, case_id: int) -> Response:
    _check_id(case_id)
    view = service.case_view(ctx_of(request), user, case_id)
    return render(request, "_timeline.html", {"v": view, "c": view.case}, user=user)


@router.post("/cases/{case_id}/actions", response_class=HTMLResponse)
def case_act(request: Request, user: PageUser, case_id: int, action: Annotated[str, Form()] = "",
             reason: Annotated[str, Form()] = "", version: Annotated[str, Form()] = "",
             csrf_token: Annotated[str, Form()] = "") -> Response:
    csrf.check(request, csrf_token)
    _check_id(case_id)
    try:
        expected = _int_param(version, "version", 0, 2**31 - 1)
        service.act(ctx_of(request), user, case_id, action, reason, expected)
    except WorkflowError as exc:
        if exc.http_status == 404:
            raise
        return _case_page(request, user, case_id, error=f"{label(ACTION_LABELS, action)}未执行："
                          f"{error_text(exc)}。{exc.message}", status=exc.http_status,
                          form={"action": action, "reason": reason})
    return RedirectResponse(f"/cases/{case_id}?{urlencode({'done': action})}#timeline", status_code=303)


@router.post("/cases/{case_id}/objection", response_class=HTMLResponse)
def case_object(request: Request, user: PageUser, case_id: int, reason: Annotated[str, Form()] = "",
                objector: Annotated[str, Form()] = "", csrf_token: Annotated[str, Form()] = "") -> Response:
    csrf.check(request, csrf_token)
    _check_id(case_id)
    try:
        service.record_objection(ctx_of(request), user, case_id, reason, objector)
    except WorkflowError as exc:
        if exc.http_status == 404:
            raise
        return _case_page(request, user, case_id, error=f"异议未登记：{error_text(exc)}。{exc.message}",
                          status=exc.http_status, form={"action": "object", "reason": reason})
    return RedirectResponse(f"/cases/{case_id}?done=object#timeline", status_code=303)


# ---- policy -----------------------------------------------------------------------------------

_STATE_LINE = re.compile(r'^(\s*)state "([a-z_]+)" as ([a-z_]+)$')
_MOVE_LINE = re.compile(r"^(\s*)([a-z_]+) --> ([a-z_]+): ([a-z_]+)$")


def zh_diagram(text: str) -> str:
    """The machine's mermaid diagram with Chinese labels, without the front matter and without
    the "current state" highlight (this is the policy's graph, not one case)."""
    lines = text.splitlines()
    if lines and lines[0] == "---":
        end = lines.index("---", 1)
        lines = lines[end + 1:]
    out = []
    for line in lines:
        if line.strip().startswith("Class "):
            continue
        if m := _STATE_LINE.match(line):
            line = f'{m[1]}state "{label(STATE_LABELS, m[2])}" as {m[3]}'
        elif m := _MOVE_LINE.match(line):
            line = f"{m[1]}{m[2]} --> {m[3]}: {label(ACTION_LABELS, m[4])}"
        out.append(line)
    return "\n".join(out)


@router.get("/policies/{policy_id}", response_class=HTMLResponse)
def policy_page(request: Request, user: PageUser, policy_id: str) -> Response:
    visible = {p.id: p for p in visible_policies(user)}
    if policy_id not in visible:
        raise NotFound(f"policy {policy_id!r} does not exist")
    p = visible[policy_id]
    now = ctx_of(request).clock()
    timeline: list[dict[str, Any]] = []
    if p.window:
        timeline.append({"date": p.window.opens, "what": "个人申报开始", "source": p.window.source, "at": None})
        if p.window.closes:
            timeline.append({"date": p.window.closes, "what": "个人申报结束", "source": p.window.source,
                             "at": end_of_day(p.window.closes)})
    for c in p.cutoffs:
        timeline.append({"date": c.date, "what": f"{c.label}（{c.name}）：结束 "
                         + "、".join(label(STATE_LABELS, s) for s in c.ends), "source": c.source,
                         "at": end_of_day(c.date)})
    timeline.sort(key=lambda e: e["date"])
    return render(request, "policy.html", {
        "nav": "policies", "policy": p, "timeline": timeline, "diagram": zh_diagram(mermaid_diagram(p)),
        "machine": machine_for(p), "now": now,
    }, user=user)
