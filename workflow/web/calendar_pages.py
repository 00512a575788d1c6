"""The working-day calendar in the admin UI (CONTRACT §10): every role sees each year's schedule
and where it came from; `city` and `admin` users import a year (the same import as
`zcflow calendar import`, with its checks, recompute and audit row)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from states.calendar import product_calendar
from states.calendar.years import CalendarFileError
from states.vocabulary import Role
from storage.calendar_years import sync_calendar, year_records
from workflow.calendar_import import CalendarImportRefused, import_calendar_year, missing_year, month_weeks, year_view
from workflow.clock import SHANGHAI
from workflow.web import csrf
from workflow.web.auth import PageUser
from workflow.web.render import render
from workflow.web.scope import WebUser
from workflow.web.service import WebContext

router = APIRouter(include_in_schema=False)

IMPORT_ROLES = frozenset({Role.city, Role.admin})
MAX_FILE = 200_000  # characters; a year's schedule is a few hundred


def _ctx(request: Request) -> WebContext:
    ctx: WebContext = request.app.state.web
    return ctx


def calendar_banner(ctx: WebContext) -> int | None:
    """The year whose schedule is missing and soon needed (for the dashboard's banner)."""
    with ctx.db.connect() as conn:
        cal = sync_calendar(conn)
    return missing_year(ctx.clock().astimezone(SHANGHAI).date(), cal)


def _page(request: Request, user: WebUser, year: int, *, status: int = 200, error: str | None = None,
          message: str | None = None, form: dict[str, Any] | None = None) -> Response:
    ctx = _ctx(request)
    with ctx.db.connect() as conn:
        sync_calendar(conn)
        records = {int(r.year): r for r in year_records(conn)}
    years = sorted(set(product_calendar().known_years()) | set(records))
    listing = [v for v in (year_view(y, records) for y in reversed(years)) if v is not None]
    view = year_view(year, records)
    months = [(m, month_weeks(view["_data"], m)) for m in range(1, 13)] if view is not None else []
    return render(request, "calendar.html", {
        "nav": "calendar", "year": year, "view": view, "months": months, "years": listing,
        "can_import": user.role in IMPORT_ROLES, "missing": missing_year(ctx.clock().astimezone(SHANGHAI).date()),
        "form": form or {}, "error": error, "message": message}, user=user, status=status)


@router.get("/calendar", response_class=HTMLResponse)
def calendar_now(request: Request, user: PageUser) -> Response:
    return _page(request, user, _ctx(request).clock().astimezone(SHANGHAI).year)


@router.get("/calendar/{year}", response_class=HTMLResponse)
def calendar_year(request: Request, user: PageUser, year: int, moved: int | None = None) -> Response:
    if not 1900 <= year <= 2200:
        return _page(request, user, _ctx(request).clock().astimezone(SHANGHAI).year, status=404,
                     error=f"年份 {year} 超出范围（1900–2200）")
    message = (f"已导入 {year} 年节假日安排；{moved} 个待到期时间已按新安排重新计算" if moved is not None else None)
    return _page(request, user, year, message=message)


@router.post("/calendar/import", response_class=HTMLResponse)
def calendar_import(request: Request, user: PageUser, content: Annotated[str, Form()] = "",
                    override: Annotated[str, Form()] = "", reason: Annotated[str, Form()] = "",
                    csrf_token: Annotated[str, Form()] = "") -> Response:
    csrf.check(request, csrf_token)
    ctx = _ctx(request)
    year = ctx.clock().astimezone(SHANGHAI).year + 1
    form = {"content": content, "override": bool(override), "reason": reason}
    if user.role not in IMPORT_ROLES:
        return _page(request, user, year, status=403,
                     error="您的角色无权导入节假日安排（限市级人社部门和系统管理员）。")
    if not content.strip():
        return _page(request, user, year, status=422, form=form, error="未导入：请粘贴该年度节假日安排文件（YAML）。")
    if len(content) > MAX_FILE:
        return _page(request, user, year, status=422, form=form, error="未导入：文件过大，不是一年的节假日安排。")
    try:
        report = import_calendar_year(ctx.db, content.replace("\r\n", "\n"), name="导入的文件", at=ctx.clock(),
                                      actor=user.username, override=bool(override), reason=reason or None)
    except (CalendarFileError, CalendarImportRefused) as exc:
        return _page(request, user, year, status=422, form=form, error=f"未导入，数据库未作任何改动。{exc.zh}")
    query = urlencode({"moved": report.recomputed.deadlines_moved})
    return RedirectResponse(f"/calendar/{report.year}?{query}", status_code=303)
