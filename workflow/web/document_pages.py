"""The 文档 menu and downloads in the admin UI (the same documents as /api/documents/{kind})."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from workflow.errors import InvalidInput
from workflow.web import documents
from workflow.web.auth import PageUser
from workflow.web.dashboard import touched_policies
from workflow.web.queries import case_counts_by_policy
from workflow.web.render import render
from workflow.web.scope import visible_policies

router = APIRouter(include_in_schema=False)
Text = Annotated[str | None, Query(max_length=64)]


@router.get("/documents", response_class=HTMLResponse)
def documents_menu(request: Request, user: PageUser, policy: Text = None, case: Text = None) -> Response:
    ctx = request.app.state.web
    with ctx.db.connect() as conn:
        per_policy = case_counts_by_policy(conn, user)
    shown = touched_policies(per_policy, visible_policies(user), user)
    if policy:
        shown = [p for p in shown if p.id == policy] or shown
    return render(request, "documents.html", {
        "nav": "documents", "menu": [(p, documents.offers(p)) for p in shown], "case": (case or "").strip(),
    }, user=user)


@router.get("/documents/{kind}")
def document_download(request: Request, user: PageUser, kind: str, policy: Text = None,
                      format: Text = None, case: Text = None, stage: Text = None) -> Response:
    case_id = None
    if case and case.strip():
        if not case.strip().isdigit() or not 1 <= int(case) <= 2**31 - 1:
            raise InvalidInput(f"case: {case!r} is not a case number", field="case", zh="案件号须为正整数")
        case_id = int(case)
    built = documents.build(request.app.state.web, user, kind, policy_id=policy, fmt=format, case_id=case_id,
                            stage=stage)
    return Response(built.content, media_type=built.media_type, headers={"Content-Disposition": built.disposition})
