"""异常事件: webhook events parked after their last attempt (CONTRACT §11), for administrators, with
one button that gives them all (or one receiver's) a fresh set of attempts. Delivery then resumes in
`seq` order per case (notifications/webhooks.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from states.vocabulary import Role
from storage.audit import record_audit
from storage.webhooks import event_counts, list_events, list_webhooks, policies_of, requeue_parked
from workflow.errors import InvalidInput, NotPermitted
from workflow.web import csrf
from workflow.web.auth import PageUser
from workflow.web.render import render
from workflow.web.scope import WebUser
from workflow.web.service import WebContext

router = APIRouter(include_in_schema=False)
SHOWN = 500


def _admin(user: WebUser) -> None:
    if user.role is not Role.admin:
        raise NotPermitted("只有管理员可以查看和重试异常事件", role=user.role.value)


@router.get("/incidents", response_class=HTMLResponse)
def incidents(request: Request, user: PageUser, requeued: int | None = None) -> Response:
    _admin(user)
    ctx: WebContext = request.app.state.web
    with ctx.db.connect() as conn:
        hooks = list_webhooks(conn)
        counts = event_counts(conn)
        parked = list_events(conn, status="failed", limit=SHOWN)
    receivers = [{"id": h.id, "url": h.url, "policies": policies_of(h.policies),
                  "pending": counts.get((h.id, "pending"), 0) + counts.get((h.id, "sending"), 0),
                  "sent": counts.get((h.id, "sent"), 0), "parked": counts.get((h.id, "failed"), 0)} for h in hooks]
    return render(request, "incidents.html", {"nav": "incidents", "receivers": receivers, "parked": parked,
                                              "total_parked": sum(r["parked"] for r in receivers),
                                              "requeued": requeued, "shown": SHOWN}, user=user)


@router.post("/incidents/retry")
def retry(request: Request, user: PageUser, csrf_token: Annotated[str, Form()] = "",
          webhook: Annotated[str, Form()] = "") -> Response:
    csrf.check(request, csrf_token)
    _admin(user)
    ctx: WebContext = request.app.state.web
    webhook_id: int | None = None
    if webhook:
        if not webhook.isdigit() or len(webhook) > 9:
            raise InvalidInput("webhook: 不是接收方编号", field="webhook")
        webhook_id = int(webhook)
    now = ctx.clock()
    with ctx.db.begin() as conn:
        n = requeue_parked(conn, now, webhook_id=webhook_id)
        if n:
            record_audit(conn, at=now, actor=user.username, action="webhook_retry",
                         subject=f"webhook {webhook_id}" if webhook_id else "webhooks", detail={"events": n})
    return RedirectResponse(f"/incidents?requeued={n}", status_code=303)
