"""User management pages: 修改密码 for every user, and for administrators the users page (add a user,
set its role and scope, reset its password, disable or enable it, lift a login lockout). Every change
is written to the audit log in the same transaction (workflow/web/users.py, throttle.py), with the
administrator's user name as the actor. Destructive acts ask for confirmation in the browser
(``data-confirm``, /static/app.js); every form carries the session's CSRF token."""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from states.vocabulary import Role
from workflow.errors import InvalidInput, NotFound, NotPermitted, WorkflowError
from workflow.web import csrf, throttle
from workflow.web.auth import PageUser
from workflow.web.login import run_hashing
from workflow.web.passwords import MAX_LENGTH, MIN_LENGTH
from workflow.web.render import render
from workflow.web.scope import WebUser
from workflow.web.service import WebContext
from workflow.web.users import (
    MAX_PASSWORD,
    change_password,
    create_user,
    set_disabled,
    set_scope,
    user_records,
)

router = APIRouter(include_in_schema=False)

ROLES = [Role.employer, Role.department, Role.committee, Role.city, Role.admin]
FIELD_LABELS = {
    "username": "用户名", "password": "密码", "old_password": "原密码", "confirm": "确认密码", "role": "角色",
    "scope.employer": "单位", "scope.district": "区县", "scope.city": "城市", "scope.committees": "评审委员会",
    "scope.districts": "区县（评委会）", "scope.series": "系列", "scope": "可见范围",
}
SCOPE_FIELDS = ("employer", "district", "city", "committees", "districts", "series")
LIST_FIELDS = ("committees", "districts", "series")


def _ctx(request: Request) -> WebContext:
    ctx: WebContext = request.app.state.web
    return ctx


def chinese(exc: WorkflowError) -> str:
    """An input error as the pages show it: the field's Chinese name, then the reason."""
    field = str(exc.details.get("field", ""))
    reason = exc.message.split(": ", 1)[1] if ": " in exc.message else exc.message
    name = FIELD_LABELS.get(field) or FIELD_LABELS.get(field.split(".")[0] if field else "", "输入")
    if isinstance(exc, NotFound):
        return f"{name}不存在"
    return f"{name}有误：{reason}"


def scope_from_form(form: dict[str, str]) -> dict[str, Any]:
    """The scope fields of a form as a scope object (lists split on commas, 、 and line breaks)."""
    scope: dict[str, Any] = {}
    for key in SCOPE_FIELDS:
        value = (form.get(key) or "").strip()
        if not value:
            continue
        scope[key] = [v.strip() for v in re.split(r"[,，、\n]+", value) if v.strip()] if key in LIST_FIELDS else value
    return scope


def form_values(scope: dict[str, Any]) -> dict[str, str]:
    """A stored scope as the form's text fields (lists joined with ，)."""
    return {k: "，".join(v) if isinstance(v, (list, tuple)) else str(v) for k, v in scope.items() if v}


def require_admin(user: WebUser) -> None:
    if user.role is not Role.admin:
        raise NotPermitted("只有管理员可以管理用户")


# ---- 修改密码 (everyone) -----------------------------------------------------------------------------

@router.get("/account/password", response_class=HTMLResponse)
def password_page(request: Request, user: PageUser) -> Response:
    return render(request, "password.html", {"nav": "account", "min_length": MIN_LENGTH, "max_length": MAX_LENGTH},
                  user=user)


@router.post("/account/password", response_class=HTMLResponse)
async def password_change(request: Request, user: PageUser, csrf_token: Annotated[str, Form()] = "",
                          old_password: Annotated[str, Form()] = "", new_password: Annotated[str, Form()] = "",
                          confirm: Annotated[str, Form()] = "") -> Response:
    csrf.check(request, csrf_token)
    ctx = _ctx(request)
    context = {"nav": "account", "min_length": MIN_LENGTH, "max_length": MAX_LENGTH}
    if new_password != confirm:
        return render(request, "password.html", {**context, "error": "两次输入的新密码不一致"}, user=user, status=422)
    if len(old_password) > MAX_PASSWORD:
        return render(request, "password.html", {**context, "error": "原密码不正确"}, user=user, status=422)
    try:
        # Argon2 twice (check the old, hash the new): off the event loop, in the login pool.
        await run_hashing(change_password, ctx.db, user.username, new_password, ctx.clock(), actor=user.username,
                          old_password=old_password)
    except InvalidInput as exc:
        return render(request, "password.html", {**context, "error": chinese(exc)}, user=user, status=422)
    # Every session of the user has ended, this one too: log in again with the new password.
    return RedirectResponse("/login?changed=1", status_code=303)


# ---- 用户管理 (administrators) ------------------------------------------------------------------------

def _users_page(request: Request, user: WebUser, *, status: int = 200, error: str | None = None,
                form: dict[str, str] | None = None, message: str | None = None) -> Response:
    require_admin(user)
    ctx = _ctx(request)
    locked = throttle.locked_keys(ctx.db)
    records = user_records(ctx.db)
    rows = [{"r": r, "locked": throttle.user_key(r.user.username) in locked} for r in records]
    addresses = sorted(k.split(":", 1)[1] for k in locked if k.startswith("addr:"))
    return render(request, "users.html", {"nav": "users", "rows": rows, "roles": ROLES, "form": form or {},
                                          "locked_addresses": addresses, "error": error, "message": message,
                                          "min_length": MIN_LENGTH}, user=user, status=status)


DONE = {"added": "已添加用户", "scope": "已修改角色与可见范围", "password": "已重设密码，该用户的所有登录已失效",
        "disabled": "已停用，该用户的所有登录已失效", "enabled": "已启用", "unlocked": "已解锁"}


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(request: Request, user: PageUser, done: str | None = None) -> Response:
    return _users_page(request, user, message=DONE.get(done or ""))


@router.get("/admin/users/{username}", response_class=HTMLResponse)
def user_page(request: Request, user: PageUser, username: str, done: str | None = None) -> Response:
    require_admin(user)
    found = next((r for r in user_records(_ctx(request).db) if r.user.username == username), None)
    if found is None:
        raise NotFound("用户不存在")
    locked = throttle.user_key(username) in throttle.locked_keys(_ctx(request).db)
    return render(request, "user.html", {"nav": "users", "r": found, "roles": ROLES, "locked": locked,
                                         "scope": form_values(found.user.scope.to_json()), "min_length": MIN_LENGTH,
                                         "message": DONE.get(done or "")},
                  user=user)


def _back(username: str, done: str) -> RedirectResponse:
    return RedirectResponse(f"/admin/users/{quote(username, safe='')}?done={done}", status_code=303)


async def _form(request: Request) -> dict[str, str]:
    data = await request.form()
    return {k: v for k, v in data.items() if isinstance(v, str)}


@router.post("/admin/users", response_class=HTMLResponse)
async def user_add(request: Request, user: PageUser) -> Response:
    form = await _form(request)
    csrf.check(request, form.get("csrf_token"))
    require_admin(user)
    ctx = _ctx(request)
    kept = {k: v for k, v in form.items() if k not in ("password", "csrf_token")}
    try:
        await run_hashing(create_user, ctx.db, form.get("username", ""), form.get("password", ""),
                          form.get("role", ""), scope_from_form(form), ctx.clock(), actor=user.username)
    except InvalidInput as exc:
        return _users_page(request, user, status=422, error=chinese(exc), form=kept)
    return RedirectResponse("/admin/users?done=added", status_code=303)


@router.post("/admin/users/{username}/scope", response_class=HTMLResponse)
async def user_scope(request: Request, user: PageUser, username: str) -> Response:
    form = await _form(request)
    csrf.check(request, form.get("csrf_token"))
    require_admin(user)
    ctx = _ctx(request)
    try:
        set_scope(ctx.db, username, form.get("role", ""), scope_from_form(form), ctx.clock(), actor=user.username)
    except (InvalidInput, NotFound) as exc:
        return _users_page(request, user, status=exc.http_status, error=chinese(exc))
    return _back(username, "scope")


@router.post("/admin/users/{username}/password", response_class=HTMLResponse)
async def user_reset(request: Request, user: PageUser, username: str) -> Response:
    form = await _form(request)
    csrf.check(request, form.get("csrf_token"))
    require_admin(user)
    ctx = _ctx(request)
    if form.get("password", "") != form.get("confirm", ""):
        return _users_page(request, user, status=422, error="两次输入的新密码不一致")
    try:
        await run_hashing(change_password, ctx.db, username, form.get("password", ""), ctx.clock(),
                          actor=user.username)
    except (InvalidInput, NotFound) as exc:
        return _users_page(request, user, status=exc.http_status, error=chinese(exc))
    return _back(username, "password")


@router.post("/admin/users/{username}/{act}", response_class=HTMLResponse)
async def user_switch(request: Request, user: PageUser, username: str, act: str) -> Response:
    form = await _form(request)
    csrf.check(request, form.get("csrf_token"))
    require_admin(user)
    ctx = _ctx(request)
    if act not in ("disable", "enable", "unlock"):
        raise NotFound("没有这个操作")
    if act == "disable" and username == user.username:
        return _users_page(request, user, status=422, error="不能停用自己的账户")
    try:
        if act == "unlock":
            throttle.unlock(ctx.db, throttle.user_key(username), ctx.clock(), actor=user.username)
        else:
            set_disabled(ctx.db, username, act == "disable", ctx.clock(), actor=user.username)
    except NotFound as exc:
        return _users_page(request, user, status=404, error=chinese(exc))
    return _back(username, {"disable": "disabled", "enable": "enabled", "unlock": "unlocked"}[act])


@router.post("/admin/addresses/unlock", response_class=HTMLResponse)
async def address_unlock(request: Request, user: PageUser) -> Response:
    form = await _form(request)
    csrf.check(request, form.get("csrf_token"))
    require_admin(user)
    ctx = _ctx(request)
    throttle.unlock(ctx.db, throttle.addr_key(form.get("address", "")), ctx.clock(), actor=user.username)
    return RedirectResponse("/admin/users?done=unlocked", status_code=303)
