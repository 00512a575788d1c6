"""Policy versions and amendments on the web (CONTRACT §9), for `city` and `admin` users: the
versions page (documents, who, when, why, diffs), the 延期 form (pick a cutoff, a new date, the 文号
and a reason; the dry-run numbers first, then confirm), the import form for a whole file (the check
report first), and the same in the API (`POST /api/policies`, `POST /api/policies/{id}/amendments`).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from states.policy import PolicyError
from states.vocabulary import Role
from workflow.errors import InvalidInput, NotFound, NotPermitted, WorkflowError
from workflow.policy_files import move_cutoffs
from workflow.web import csrf
from workflow.web.api import _errors, strict_query
from workflow.web.auth import ApiUser, PageUser
from workflow.web.render import render
from workflow.web.scope import WebUser, visible_policies
from workflow.web.service import WebContext

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["api"], responses=_errors(401, 403, 404, 409, 422),
                dependencies=[Depends(strict_query)])

MAX_FILE = 2_000_000  # characters of a policy file sent through a form or the API

IMPACT_LABELS = {"employer": "单位审核", "filing": "个人申报", "management": "管理部门审核", "paper": "纸质材料"}


def _web(request: Request) -> WebContext:
    ctx: WebContext = request.app.state.web
    return ctx


def _require_operator(user: WebUser) -> None:
    if user.role not in (Role.city, Role.admin):
        raise NotPermitted("只有市级（city）和系统管理员（admin）用户可以导入或调整政策 "
                           "(only city and admin users import or amend policies)")


def _visible(user: WebUser, policy_id: str) -> Any:
    found = {p.id: p for p in visible_policies(user)}
    if policy_id not in found:
        raise NotFound(f"policy {policy_id!r} does not exist")
    return found[policy_id]


def _city_may_import(user: WebUser, text: str, name: str) -> None:
    """A city user imports only its own city's rounds."""
    from states.policy import parse_policy

    if user.role is not Role.city:
        return
    policy = parse_policy(text, name)
    if policy.scope.city != user.scope.city:
        raise NotPermitted(f"scope.city: {policy.scope.city} 不在您的管辖范围（{user.scope.city}）内")


def _run_import(request: Request, user: WebUser, text: str, name: str, *, document: str | None,
                reason: str | None, dry_run: bool, reinstate: bool, expect_id: str | None = None) -> dict[str, Any]:
    from workflow.amendments import import_policy

    if len(text) > MAX_FILE:
        raise InvalidInput(f"text: at most {MAX_FILE} characters", field="text")
    try:
        _city_may_import(user, text, name)
        impact = import_policy(_web(request).db, text, name, actor_role=user.role.value, actor_id=user.username,
                               at=_web(request).clock(), document=document, reason=reason, dry_run=dry_run,
                               reinstate=reinstate, expect_id=expect_id)
    except PolicyError as exc:
        raise InvalidInput(str(exc), field=exc.field, line=exc.line) from exc
    return impact.as_dict()


def _check(text: str, name: str) -> dict[str, Any]:
    from workflow.policy_registry import check_file

    return check_file(text, name).as_dict()


def _current_text(request: Request, policy_id: str) -> str:
    from workflow.policy_registry import version_text

    return version_text(_web(request).db, policy_id, None)


def _history(request: Request, policy_id: str) -> list[dict[str, Any]]:
    from workflow.policy_registry import history

    return history(_web(request).db, policy_id)


# ---- pages ----------------------------------------------------------------------------------------

def _versions_page(request: Request, user: WebUser, policy_id: str, *, form: dict[str, Any] | None = None,
                   impact: dict[str, Any] | None = None, error: str | None = None, message: str | None = None,
                   status: int = 200) -> Response:
    policy = _visible(user, policy_id)
    versions = _history(request, policy_id)
    return render(request, "policy_versions.html", {
        "nav": "policies", "policy": policy, "versions": versions, "form": form or {}, "impact": impact,
        "error": error, "message": message, "may_amend": user.role in (Role.city, Role.admin),
        "cutoffs": list(policy.cutoffs),
    }, user=user, status=status)


@pages.get("/policies/{policy_id}/versions", response_class=HTMLResponse)
def versions_page(request: Request, user: PageUser, policy_id: str, done: str | None = None) -> Response:
    return _versions_page(request, user, policy_id, message="政策调整已生效。" if done else None)


@pages.get("/policies/{policy_id}/diff", response_class=HTMLResponse)
def diff_page(request: Request, user: PageUser, policy_id: str, a: int = 1, b: int = 2) -> Response:
    from workflow.policy_registry import diff

    policy = _visible(user, policy_id)
    text = diff(_web(request).db, policy_id, a, b)
    return render(request, "policy_diff.html", {"nav": "policies", "policy": policy, "a": a, "b": b, "diff": text},
                  user=user)


@pages.post("/policies/{policy_id}/extend", response_class=HTMLResponse)
def extend(request: Request, user: PageUser, policy_id: str, cutoff: Annotated[str, Form()] = "",
           date: Annotated[str, Form()] = "", document: Annotated[str, Form()] = "",
           reason: Annotated[str, Form()] = "", reinstate: Annotated[str, Form()] = "",
           confirm: Annotated[str, Form()] = "", csrf_token: Annotated[str, Form()] = "") -> Response:
    """The 延期 form: a cutoff moved to a new date under a document; the dry run first, then confirm."""
    csrf.check(request, csrf_token)
    _require_operator(user)
    policy = _visible(user, policy_id)
    form = {"cutoff": cutoff, "date": date, "document": document, "reason": reason, "reinstate": reinstate}
    try:
        if cutoff not in {c.name for c in policy.cutoffs}:
            raise InvalidInput("cutoff: 请选择要调整的截止时间", field="cutoff")
        try:
            new_date = dt.date.fromisoformat(date)
        except ValueError:
            raise InvalidInput(f"date: {date!r} 不是有效日期（YYYY-MM-DD）", field="date") from None
        if not document.strip():
            raise InvalidInput("document: 请填写调整依据的文号", field="document")
        text = move_cutoffs(_current_text(request, policy_id), {cutoff: new_date.isoformat()})
        impact = _run_import(request, user, text, f"{policy_id}.yaml", document=document, reason=reason or None,
                             dry_run=confirm != "1", reinstate=reinstate == "1", expect_id=policy_id)
    except (WorkflowError, PolicyError) as exc:
        message = exc.message
        status = exc.http_status if isinstance(exc, WorkflowError) else 422
        return _versions_page(request, user, policy_id, form=form, error=f"未执行：{message}", status=status)
    if confirm == "1":
        return RedirectResponse(f"/policies/{policy_id}/versions?done=1", status_code=303)
    return _versions_page(request, user, policy_id, form=form, impact=impact)


@pages.get("/policies-import", response_class=HTMLResponse)
def import_page(request: Request, user: PageUser) -> Response:
    _require_operator(user)
    return render(request, "policy_import.html", {"nav": "policies", "form": {}, "report": None, "impact": None},
                  user=user)


@pages.post("/policies-import", response_class=HTMLResponse)
def import_form(request: Request, user: PageUser, text: Annotated[str, Form()] = "",
                document: Annotated[str, Form()] = "", reason: Annotated[str, Form()] = "",
                reinstate: Annotated[str, Form()] = "", confirm: Annotated[str, Form()] = "",
                csrf_token: Annotated[str, Form()] = "") -> Response:
    """A whole file: the check report first (errors stop here), then the dry run, then confirm."""
    csrf.check(request, csrf_token)
    _require_operator(user)
    form = {"text": text, "document": document, "reason": reason, "reinstate": reinstate}
    report = _check(text, "导入文件")
    impact = None
    error = None
    status = 200
    if report["ok"]:
        try:
            impact = _run_import(request, user, text, "导入文件", document=document or None, reason=reason or None,
                                 dry_run=confirm != "1", reinstate=reinstate == "1")
        except (WorkflowError, PolicyError) as exc:
            error = f"未导入：{exc.message}"
            status = exc.http_status if isinstance(exc, WorkflowError) else 422
        else:
            if confirm == "1":
                return RedirectResponse(f"/policies/{impact['policy_id']}/versions?done=1", status_code=303)
    else:
        status = 422
    return render(request, "policy_import.html", {"nav": "policies", "form": form, "report": report,
                                                  "impact": impact, "error": error}, user=user, status=status)


# ---- API ------------------------------------------------------------------------------------------

class PolicyImport(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=MAX_FILE, description="The policy file (YAML).")
    document: str | None = Field(default=None, max_length=200, description="The document (文号).")
    reason: str | None = Field(default=None, max_length=2000)
    dry_run: bool = False
    reinstate: bool = False


class AmendmentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str | None = Field(default=None, min_length=1, max_length=MAX_FILE,
                             description="The whole new version; or give `cutoffs`.")
    cutoffs: dict[str, dt.date] | None = Field(default=None, description="Cutoff name -> new date (延期).")
    document: str = Field(min_length=1, max_length=200, description="The document (文号) ordering the change.")
    reason: str | None = Field(default=None, max_length=2000)
    dry_run: bool = False
    reinstate: bool = False


@api.post("/policies", summary="Import a policy file (a new round, or an amendment of one with cases)")
def api_import(request: Request, user: ApiUser, body: PolicyImport) -> dict[str, Any]:
    _require_operator(user)
    report = _check(body.text, "body.text")
    if not report["ok"]:
        [problem] = report["errors"]
        raise InvalidInput(f"text: line {problem['line']}: {problem['field']}: {problem['message']}",
                           field="text", check=report)
    impact = _run_import(request, user, body.text, "body.text", document=body.document, reason=body.reason,
                         dry_run=body.dry_run, reinstate=body.reinstate)
    return {"check": report, "impact": impact}


@api.post("/policies/{policy_id}/amendments", summary="Amend a policy (延期): a new version, or moved cutoffs")
def api_amend(request: Request, user: ApiUser, policy_id: str, body: AmendmentRequest) -> dict[str, Any]:
    _require_operator(user)
    _visible(user, policy_id)
    if (body.text is None) == (body.cutoffs is None):
        raise InvalidInput("text: give either `text` (the whole version) or `cutoffs`", field="text")
    try:
        text = body.text if body.text is not None else move_cutoffs(
            _current_text(request, policy_id), {k: v.isoformat() for k, v in (body.cutoffs or {}).items()})
    except PolicyError as exc:
        raise InvalidInput(f"cutoffs: {exc.message}", field="cutoffs") from exc
    report = _check(text, "body.text")
    if not report["ok"]:
        [problem] = report["errors"]
        raise InvalidInput(f"text: line {problem['line']}: {problem['field']}: {problem['message']}",
                           field="text", check=report)
    impact = _run_import(request, user, text, f"{policy_id}.yaml", document=body.document, reason=body.reason,
                         dry_run=body.dry_run, reinstate=body.reinstate, expect_id=policy_id)
    return {"check": report, "impact": impact}


@api.get("/policies/{policy_id}/versions", summary="Every version of a policy: document, who, when, why")
def api_versions(request: Request, user: ApiUser, policy_id: str) -> list[dict[str, Any]]:
    _visible(user, policy_id)
    return _history(request, policy_id)

