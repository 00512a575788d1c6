"""Which notifications a transition causes, and to whom (CONTRACT §3 templates).

The rows returned here are written to the outbox in the transition's own transaction; rendering
and delivery happen later (notifications/). One row per recipient, on that recipient's channel.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from states.vocabulary import NOTICE_OFFICE, STAGE_KINDS, Role

# The channel each recipient is reached on. Applicants get the short 12333-style SMS the seeds
# mention (seed 002 附件2 §二.7); employers get email; offices see it in the admin UI.
CHANNEL_FOR: dict[str, str] = {
    Role.applicant: "sms",
    Role.employer: "email",
    Role.department: "inapp",
    Role.committee: "inapp",
    Role.city: "inapp",
    Role.application_point: "inapp",
}

_ENTERING: dict[str, str] = {"fee_payment": "fee_due", "mail_in": "mail_in_instructions", "certified": "certified"}


def row(case_id: int | None, template: str, role: str, now: dt.datetime, context: dict[str, Any],
        recipient: str | None = None) -> dict[str, Any]:
    return {
        "case_id": case_id,
        "template": template,
        "channel": CHANNEL_FOR.get(role, "inapp"),
        "recipient_role": str(role),
        "recipient": recipient,
        "context": context,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


def for_transition(case: Any, action: str, source: str, dest: str, now: dt.datetime,
                   reason: str | None) -> list[dict[str, Any]]:
    """The outbox rows for one transition of `case` (a row with at least id, phone-less data)."""
    ctx: dict[str, Any] = {"action": action, "from": source, "to": dest}
    if reason:
        ctx["reason"] = reason
    applicant = (Role.applicant, case.name)
    out: list[tuple[str, tuple[str, str | None]]] = []
    if action in ("submit", "resubmit"):
        out += [("submitted", applicant), ("submitted", (Role.employer, case.employer))]
    elif action.endswith("_return"):
        out.append(("returned", applicant))
    elif action.endswith("_reject") or action == "uphold_objection":
        out.append(("rejected", applicant))
    elif action == "object":
        out += [("objection", applicant), ("objection", (NOTICE_OFFICE[source], None))]
    elif action == "expire":
        out.append(("expired", applicant))
    elif action == "revoke":
        out.append(("revoked", applicant))
    elif action == "notice_closed" or (action == "dismiss_objection" and not STAGE_KINDS[dest].is_notice):
        out.append(("notice_closed", applicant))
    elif action == "assess_fail":
        out.append(("rejected", applicant))
    if dest in STAGE_KINDS and STAGE_KINDS[dest].is_notice and action != "dismiss_objection":
        out.append(("notice_opened", applicant))
    if dest in _ENTERING:
        out.append((_ENTERING[dest], applicant))
    return [row(case.id, template, role, now, ctx, recipient) for template, (role, recipient) in out]
