"""批量导入申报 (CONTRACT §11), for administrators: upload a platform's 花名册-style export (XLSX or
CSV) and get draft cases, with a report per row — the same import as `zcflow import-filings`
(workflow/filings_import.py). The upload may be larger than the default body limit."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from states.policy import policies
from states.vocabulary import Role
from workflow.errors import NotPermitted
from workflow.filings_import import FilingsFileError, import_filings, read_sheet
from workflow.web import csrf
from workflow.web.auth import PageUser
from workflow.web.middleware import MB, max_body
from workflow.web.render import render
from workflow.web.scope import WebUser
from workflow.web.service import WebContext

router = APIRouter(include_in_schema=False)
MAX_UPLOAD = 10 * MB
OUTCOME_LABELS = {"created": "已创建", "duplicate": "重复", "invalid": "无效", "skipped": "未导入"}


def _admin(user: WebUser) -> None:
    if user.role is not Role.admin:
        raise NotPermitted("只有管理员可以批量导入申报", role=user.role.value)


def _page(request: Request, user: WebUser, status: int = 200, **context: object) -> HTMLResponse:
    return render(request, "import.html", {"nav": "import", "policies": list(policies().values()), "report": None,
                                           "problem": None, "chosen": None, "labels": OUTCOME_LABELS, **context},
                  user=user, status=status)


@router.get("/import", response_class=HTMLResponse)
def import_form(request: Request, user: PageUser) -> Response:
    _admin(user)
    return _page(request, user)


@router.post("/import", response_class=HTMLResponse)
@max_body(MAX_UPLOAD)
async def import_upload(request: Request, user: PageUser, file: Annotated[UploadFile | None, File()] = None,
                        policy: Annotated[str, Form()] = "", skip_invalid: Annotated[str, Form()] = "",
                        csrf_token: Annotated[str, Form()] = "") -> Response:
    csrf.check(request, csrf_token)
    _admin(user)
    ctx: WebContext = request.app.state.web
    if policy not in policies():
        return _page(request, user, 422, problem="请选择政策")
    if file is None or not file.filename:
        return _page(request, user, 422, problem="请选择要导入的文件（.xlsx 或 .csv）", chosen=policy)
    data = await file.read(MAX_UPLOAD + 1)
    try:
        rows = read_sheet(data, file.filename)
    except FilingsFileError as exc:
        return _page(request, user, 422, problem=str(exc).removeprefix("FILE: "), chosen=policy)
    report = await run_in_threadpool(import_filings, ctx.wf, policy, rows, ctx.clock(), actor=user.username,
                                     skip_invalid=bool(skip_invalid))
    return _page(request, user, 200 if report.imported else 422, report=report, chosen=policy)
