"""The admin UI's pages (Chinese; times in Asia/Shanghai). Forms post back with a CSRF token and
redirect on success (post/redirect/get); a refused action re-renders the page with the reason and
the error's status code."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import QueryParams

from notifications.spreadsheet import csv_cell
from states.calendar import end_of_day, local_date
from states.idcard import mask
from states.labels import ACTION_LABELS, FIELD_LABELS, LEVEL_LABELS, STATE_LABELS
from states.machine import machine_for, mermaid_views
from states.policy import get_policy, policies
from states.vocabulary import ALL_STATES, REASON_REQUIRED, STAGE_KINDS, Role
from workflow.clock import SHANGHAI
from workflow.errors import InvalidInput, NotFound, WorkflowError
from workflow.web import calendar_pages, csrf, service
from workflow.web.auth import SESSION_COOKIE, PageUser, session_user
from workflow.web.dashboard import cutoff_tables, due_days, touched_policies
from workflow.web.labels import label
from workflow.web.login import TooManyAttempts, attempt_async, client_address
from workflow.web.queries import (
    CLOSING_PER_PAGE,
    CaseFilters,
    case_counts_by_policy,
    expired_between,
    facet_values,
    list_cases,
    notices_closing,
    pending_due,
    stage_counts,
)
from workflow.web.render import deadline, policy_label, render, sh
from workflow.web.scope import WebUser, visible_policies
from workflow.web.service import WebContext
from workflow.web.sorting import SORT_LABELS, order_for
from workflow.web.token_cache import forget_users
from workflow.web.users import MAX_PASSWORD, MAX_USERNAME, end_sessions

router = APIRouter(include_in_schema=False)

PER_PAGE = 50
PAGE_SIZES = (20, 50, 100, 200)
EXPORT_LIMIT = 50_000
DUE_WINDOWS = (1, 3, 7, 14, 30)

# Actions that end a case or cannot be taken back: the browser asks before it sends them.
DESTRUCTIVE = frozenset({"employer_reject", "department_reject", "committee_reject", "assess_fail", "revoke",
                         "uphold_objection", "withdraw"})


def ctx_of(request: Request) -> WebContext:
    ctx: WebContext = request.app.state.web
    return ctx


def error_text(exc: WorkflowError) -> str:
    """What the UI says about a refusal: Chinese, without the code (the API keeps the code)."""
    return exc.zh


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
    if user.role is Role.platform:
        # A platform is a program serving applicants through the API (CONTRACT §11), not a person of
        # an office: it gets no session, so no page of applicants' data is one stolen password away.
        return render(request, "login.html", {**context, "error": "平台账号只能通过接口（API）使用，不能登录管理页面"},
                      user=None, status=403)
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
        forget_users()
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# ---- dashboard --------------------------------------------------------------------------------

@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, user: PageUser, policy: str | None = None,
              closing_page: str | None = None) -> Response:
    ctx = ctx_of(request)
    page = _int_param(closing_page, "closing_page", 1, 100_000) or 1
    now = ctx.clock()
    with ctx.db.connect() as conn:
        per_policy = case_counts_by_policy(conn, user)
        visible = visible_policies(user)
        tabs = touched_policies(per_policy, visible, user)
        ids = [p.id for p in tabs]
        if not ids:
            return render(request, "dashboard.html", {"nav": "dashboard", "policies": [], "policy": None,
                                                      "per_policy": per_policy,
                                                      "calendar_missing": calendar_pages.calendar_banner(ctx)},
                          user=user)
        chosen_id = policy if policy in ids else next((i for i in ids if per_policy.get(i)), ids[0])
        p = get_policy(chosen_id)
        counts = stage_counts(conn, user, p.id)
        tables = cutoff_tables(conn, user, p, now)
        week_start = local_midnight(now) - dt.timedelta(days=now.astimezone(SHANGHAI).weekday())
        closing, closing_total = notices_closing(conn, user, p.id, week_start, week_start + dt.timedelta(days=7),
                                                 limit=CLOSING_PER_PAGE, offset=(page - 1) * CLOSING_PER_PAGE)
        today = local_midnight(now)
        expired = expired_between(conn, user, p.id, today, today + dt.timedelta(days=1))
    states = [s for s in machine_for(p).states if s in p.stages or counts.get(s)]
    top = max([counts.get(s, 0) for s in states] + [1])
    bars = [{"state": s, "n": counts.get(s, 0), "pct": round(100 * counts.get(s, 0) / top, 1)} for s in states]
    return render(request, "dashboard.html", {
        "nav": "dashboard", "policies": tabs, "per_policy": per_policy, "policy": p, "bars": bars,
        "total": sum(counts.values()), "tables": tables, "closing": closing, "expired": expired,
        "closing_total": closing_total, "closing_page": page,
        "closing_pages": max(1, -(-closing_total // CLOSING_PER_PAGE)),
        "week_start": week_start, "today": local_date(now),
        "calendar_missing": calendar_pages.calendar_banner(ctx),
        # The case-list link of each cutoff: cases due within the days until it (rounded up).
        "due_days": {t.cutoff.name: due_days(now, t.due_at) for t in tables},
    }, user=user)


# ---- case list --------------------------------------------------------------------------------

def _int_param(value: str | None, name: str, low: int, high: int) -> int | None:
    if value is None or value.strip() == "":
        return None
    try:
        n = int(value)
    except ValueError:
        raise InvalidInput(f"{name}: {value!r} is not a whole number", field=name,
                           zh=f"{FIELD_LABELS.get(name, name)}须为整数") from None
    if not low <= n <= high:
        raise InvalidInput(f"{name}: must be between {low} and {high}", field=name,
                           zh=f"{FIELD_LABELS.get(name, name)}须在{low}到{high}之间")
    return n


def _text_param(params: Any, name: str, max_len: int = 200) -> str | None:
    value = service.clean_text(params.get(name), name, max_len=max_len)
    return value or None


def page_filters(params: Any) -> CaseFilters:
    policy = _text_param(params, "policy", 64)
    state = _text_param(params, "state", 32)
    if policy and policy not in policies():
        raise InvalidInput(f"policy: unknown policy {policy!r}", field="policy", zh="没有这项政策")
    if state and state not in ALL_STATES:
        raise InvalidInput(f"state: unknown state {state!r}", field="state", zh="没有这个阶段/状态")
    return CaseFilters(
        policy=policy, state=state, district=_text_param(params, "district", 64),
        employer=_text_param(params, "employer"), committee=_text_param(params, "committee"),
        due_within=_int_param(params.get("due_within"), "due_within", 0, 366),
        q=_text_param(params, "q", 100),
    )


def list_view(request: Request, user: WebUser, params: Any, *, outcomes: list[service.BulkOutcome] | None = None,
              selected: set[int] | None = None, bulk_error: str | None = None,
              form: dict[str, str] | None = None) -> dict[str, Any]:
    """The case list's context for the filters, sort and page in `params` (the URL's query)."""
    ctx = ctx_of(request)
    f = page_filters(params)
    sort = _text_param(params, "sort", 20)
    if sort and sort.removeprefix("-") not in SORT_LABELS:
        raise InvalidInput(f"sort: unknown column {sort!r}", field="sort", zh="不能按这一列排序")
    given = _int_param(params.get("per_page"), "per_page", 1, 200)
    per_page = given or PER_PAGE
    if given is not None and given not in PAGE_SIZES:
        raise InvalidInput(f"per_page: one of {PAGE_SIZES}", field="per_page",
                           zh=f"每页条数只能是{'、'.join(map(str, PAGE_SIZES))}")
    page = _int_param(params.get("page"), "page", 1, 100_000) or 1
    now = ctx.clock()
    with ctx.db.connect() as conn:
        rows, total = list_cases(conn, user, f, now, limit=per_page, offset=(page - 1) * per_page,
                                 order=order_for(sort, now))
        facets = {c: facet_values(conn, user, c, f.policy) for c in ("district", "employer", "committee")}
    pages = max(1, -(-total // per_page))
    query = f.query_items() + ([("sort", sort)] if sort else []) + \
        ([("per_page", str(per_page))] if per_page != PER_PAGE else [])
    next_due = {r.id: (due[0] if (due := pending_due(r, now)) else None) for r in rows}
    return {
        "nav": "cases", "filters": f, "rows": rows, "total": total, "page": page, "pages": pages,
        "query": urlencode(query), "page_query": lambda n: urlencode([*query, ("page", str(n))]),
        "sort_query": lambda key: urlencode([*[q for q in query if q[0] != "sort"],
                                             ("sort", f"-{key}" if sort == key else key)]),
        "query_with": lambda **kw: urlencode([*[q for q in query if q[0] not in kw],
                                              *[(k, str(v)) for k, v in kw.items()]]),
        "sort": sort or "", "sort_labels": SORT_LABELS, "per_page": per_page, "page_sizes": PAGE_SIZES,
        "facets": facets, "policies": visible_policies(user), "states": ALL_STATES,
        "due_windows": DUE_WINDOWS, "bulk_actions": service.role_actions(user.role),
        "reason_required": REASON_REQUIRED, "destructive": DESTRUCTIVE, "next_due": next_due,
        "outcomes": outcomes, "selected": selected or set(), "bulk_error": bulk_error, "form": form or {},
        "back": urlencode(query + ([("page", str(page))] if page > 1 else [])),
    }


@router.get("/cases", response_class=HTMLResponse)
def case_list(request: Request, user: PageUser) -> Response:
    context = list_view(request, user, request.query_params)
    if request.headers.get("hx-request") and request.headers.get("hx-target") == "results":
        # The address bar gets the filters that are set, not every empty field of the form.
        clean = "/cases" + (f"?{context['query']}" if context["query"] else "")
        return render(request, "_case_table.html", context, user=user, headers={"HX-Push-Url": clean})
    return render(request, "cases.html", context, user=user)


@router.get("/cases/export.csv")
def case_export(request: Request, user: PageUser) -> Response:
    ctx = ctx_of(request)
    f = page_filters(request.query_params)
    now = ctx.clock()
    sort = _text_param(request.query_params, "sort", 20)
    order = order_for(sort, now) if sort and sort.removeprefix("-") in SORT_LABELS else []
    with ctx.db.connect() as conn:
        rows, _ = list_cases(conn, user, f, now, limit=EXPORT_LIMIT, order=order)
    buf = io.StringIO()
    out = csv.writer(buf)
    out.writerow(["案件号", "政策", "状态", "姓名", "证件号码", "区县", "单位", "专业", "系列", "级别", "评审/认定机构",
                  "公示期满", "提交时间", "最近更新"])
    for r in rows:
        out.writerow([csv_cell(v) for v in (
            r.id, policy_label(r.policy_id), label(STATE_LABELS, r.state), r.name, mask(r.id_number), r.district,
            r.employer, r.specialty, r.series, label(LEVEL_LABELS, r.level), r.committee, deadline(r.notice_closes_at),
            sh(r.submitted_at),
            sh(r.updated_at))])
    stamp = ctx.clock().astimezone(SHANGHAI).strftime("%Y%m%d-%H%M")
    # UTF-8 with a BOM, so that spreadsheet programs on Windows read the Chinese correctly.
    return Response(("\ufeff" + buf.getvalue()).encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="zcflow-cases-{stamp}.csv"'})


@router.post("/cases/bulk", response_class=HTMLResponse)
def case_bulk(request: Request, user: PageUser, case_ids: Annotated[list[int] | None, Form()] = None,
              action: Annotated[str, Form()] = "", reason: Annotated[str, Form()] = "",
              back: Annotated[str, Form()] = "", csrf_token: Annotated[str, Form()] = "") -> Response:
    """Apply the action to each selected case; the list comes back with the same filters, the same
    cases still selected and each case's outcome, failures named by case."""
    csrf.check(request, csrf_token)
    params = QueryParams(back[:2000])
    selected = set(case_ids or [])
    form = {"action": action, "reason": reason}
    try:
        outcomes = service.bulk(ctx_of(request), user, case_ids or [], action, reason)
    except WorkflowError as exc:
        context = list_view(request, user, params, selected=selected, bulk_error=error_text(exc), form=form)
        return render(request, "cases.html", context, user=user, status=exc.http_status)
    context = list_view(request, user, params, outcomes=outcomes, selected=selected, form=form)
    return render(request, "cases.html", {**context, "bulk_action": action}, user=user)


# ---- one case ---------------------------------------------------------------------------------

def _case_page(request: Request, user: WebUser, case_id: int, *, message: str | None = None,
               error: str | None = None, status: int = 200, form: dict[str, str] | None = None) -> Response:
    view = service.case_view(ctx_of(request), user, case_id)
    policy = get_policy(view.case.policy_id, view.case.policy_version)
    return render(request, "case.html", {
        "nav": "cases", "v": view, "c": view.case, "policy": policy, "data": dict(view.case.data or {}),
        "eligibility": dict(view.case.eligibility or {}), "reason_required": REASON_REQUIRED,
        "message": message, "error": error, "form": form or {}, "stage_kinds": STAGE_KINDS,
        "destructive": DESTRUCTIVE,
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
                          f"{error_text(exc)}", status=exc.http_status,
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
        return _case_page(request, user, case_id, error=f"异议未登记：{error_text(exc)}",
                          status=exc.http_status, form={"action": "object", "reason": reason})
    return RedirectResponse(f"/cases/{case_id}?done=object#timeline", status_code=303)


# ---- policy -----------------------------------------------------------------------------------

@router.get("/policies/{policy_id}", response_class=HTMLResponse)
def policy_page(request: Request, user: PageUser, policy_id: str, view: str | None = None) -> Response:
    visible = {p.id: p for p in visible_policies(user)}
    if policy_id not in visible:
        raise NotFound(f"policy {policy_id!r} does not exist", zh="没有这项政策，或不在您的管辖范围内")
    p = visible[policy_id]
    now = ctx_of(request).clock()
    timeline: list[dict[str, Any]] = []
    if p.window:
        timeline.append({"date": p.window.opens, "what": "个人申报开始", "source": p.window.source, "at": None})
        if p.window.closes:
            timeline.append({"date": p.window.closes, "what": "个人申报结束", "source": p.window.source,
                             "at": end_of_day(p.window.closes)})
    for c in p.cutoffs:
        timeline.append({"date": c.date, "what": f"{c.label}：结束 "
                         + "、".join(label(STATE_LABELS, s) for s in c.ends), "source": c.source,
                         "at": end_of_day(c.date)})
    timeline.sort(key=lambda e: e["date"])
    main, full = mermaid_views(p)
    full_view = view == "full"
    return render(request, "policy.html", {
        "nav": "policies", "policy": p, "timeline": timeline, "diagram": full if full_view else main,
        "full_view": full_view, "machine": machine_for(p), "now": now,
    }, user=user)
