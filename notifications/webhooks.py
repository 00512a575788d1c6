"""Delivering webhook events (CONTRACT §11): at least once, in `seq` order per case, signed.

The engine writes a `webhook_events` row for each receiver in the transaction of the transition it
reports (storage/webhooks.py). Delivery works like the notification outbox (notifications/outbox.py):

1. *Claim* in one short transaction the due rows (``pending``, or ``sending`` whose lease ran out)
   that are each the *first undelivered event of their case* for their receiver: a row is due only
   when every earlier `seq` of the same case and receiver is ``sent``. An undelivered event — still
   retrying, or parked after its last attempt — so holds back that case's later events, and no
   other case's. On PostgreSQL claimed rows are locked ``FOR UPDATE SKIP LOCKED``; on SQLite the
   claim runs under ``BEGIN IMMEDIATE``. Claimed rows become ``sending`` with a lease.
2. *Send* outside any transaction: one HTTPS/HTTP POST with a timeout; the JSON body is signed with
   HMAC-SHA256 of the receiver's secret in ``X-Zcflow-Signature: sha256=HEX``.
3. *Mark* ``sent`` on a 2xx, guarded by (``sending``, the claimed attempt); otherwise retry later
   with exponential backoff, and after the last attempt park the row (``failed``): it shows in the
   admin UI as an incident and is retried in bulk from there or with ``zcflow webhook retry``.

A process killed between a receiver's 2xx and the mark leaves a ``sending`` row whose lease runs out;
it is sent again, with the same body and `event_id`, so receivers de-duplicate by `event_id`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, exists, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import aliased

from notifications.leases import claim_due
from notifications.outbox import MAX_ERROR, RetryPolicy
from states.idcard import mask
from storage import repo
from storage.webhooks import webhook_events, webhooks

SIGNATURE_HEADER = "X-Zcflow-Signature"
EVENT_HEADER = "X-Zcflow-Event-Id"
# A receiver down for hours still gets every event: 1, 2, 4 … minutes apart, at most 1 h, 12 tries
# (about 7 hours) before an event is parked.
WEBHOOK_RETRY = RetryPolicy(max_attempts=12, first_delay=dt.timedelta(minutes=1), factor=2,
                            max_delay=dt.timedelta(hours=1), lease=dt.timedelta(minutes=2))
TIMEOUT_SECONDS = 10.0


def sign(secret: str, body: bytes) -> str:
    """The value of X-Zcflow-Signature for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """What a receiver does (README): recompute and compare in constant time."""
    return header is not None and hmac.compare_digest(sign(secret, body), header)


def payload(row: Any, id_number: str) -> dict[str, Any]:
    """The JSON an event carries (CONTRACT §11), with the applicant's masked ID number."""
    at = row.at if row.at.tzinfo else row.at.replace(tzinfo=dt.UTC)
    return {"event_id": row.event_id, "case": row.case_id, "seq": row.seq, "action": row.action,
            "from": row.from_state, "to": row.to_state, "at": at.isoformat(), "policy": row.policy_id,
            "applicant_id_masked": mask(id_number)}


def body_of(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


class DeliveryFailed(Exception):
    """The receiver did not answer 2xx in time."""


Sender = Callable[[str, bytes, dict[str, str], float], int]


def http_post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST and return the status; raise DeliveryFailed for a non-2xx answer or no answer."""
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        raise DeliveryFailed(f"HTTP {exc.code} from {url}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryFailed(f"no answer from {url}: {reason}") from None
    if not 200 <= status < 300:
        raise DeliveryFailed(f"HTTP {status} from {url}")
    return status


def headers_for(secret: str, body: bytes, event_id: str) -> dict[str, str]:
    return {"Content-Type": "application/json; charset=utf-8", "User-Agent": "zcflow-webhooks",
            SIGNATURE_HEADER: sign(secret, body), EVENT_HEADER: event_id}


@dataclass
class WebhookReport:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    parked: int = 0
    lost: int = 0  # our lease ran out and another run took the row before we marked it
    errors: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"claimed": self.claimed, "sent": self.sent, "retried": self.retried, "parked": self.parked,
                "lost": self.lost, "errors": self.errors}


def claim(conn: Connection, now: dt.datetime, size: int, lease: dt.timedelta) -> list[tuple[int, int]]:
    """Claim up to `size` due events, each the first undelivered one of its case and receiver."""
    earlier = aliased(webhook_events)
    held = exists().where(and_(earlier.c.webhook_id == webhook_events.c.webhook_id,
                               earlier.c.case_id == webhook_events.c.case_id,
                               earlier.c.seq < webhook_events.c.seq, earlier.c.status != "sent"))
    return claim_due(conn, webhook_events, now, size, lease, ~held)


def _mark(db: Engine, event_row_id: int, attempts: int, values: dict[str, Any]) -> bool:
    with db.begin() as conn:
        result = conn.execute(update(webhook_events).where(and_(
            webhook_events.c.id == event_row_id, webhook_events.c.status == "sending",
            webhook_events.c.attempts == attempts)).values(**values))
    return result.rowcount == 1


def deliver_webhooks(db: Engine, now: dt.datetime, *, limit: int | None = None, batch_size: int = 50,
                     retry: RetryPolicy = WEBHOOK_RETRY, timeout: float = TIMEOUT_SECONDS,
                     sender: Sender = http_post) -> WebhookReport:
    """Send every event due at `now` (at most `limit` attempts), in `seq` order per case and receiver."""
    if now.tzinfo is None:
        raise ValueError(f"now {now.isoformat()} has no time zone")
    report = WebhookReport()
    while limit is None or report.claimed < limit:
        size = batch_size if limit is None else min(batch_size, limit - report.claimed)
        with db.begin() as conn:
            claimed = claim(conn, now, size, retry.lease)
        if not claimed:
            break
        report.claimed += len(claimed)
        with db.connect() as conn:
            rows = {int(r.id): r for r in conn.execute(
                select(webhook_events, webhooks.c.url, webhooks.c.secret, repo.cases.c.id_number)
                .join(webhooks, webhooks.c.id == webhook_events.c.webhook_id)
                .join(repo.cases, repo.cases.c.id == webhook_events.c.case_id)
                .where(webhook_events.c.id.in_([i for i, _ in claimed])))}
        for row_id, attempts in claimed:
            row = rows.get(row_id)
            if row is None:  # its receiver was removed meanwhile (its events with it)
                continue
            body = body_of(payload(row, row.id_number))
            try:
                sender(row.url, body, headers_for(row.secret, body, row.event_id), timeout)
            except Exception as exc:  # DeliveryFailed, or a sender's own bug: retried, never lost
                _failed(db, now, row, attempts, retry, report, exc)
                continue
            if _mark(db, row_id, attempts, {"status": "sent", "sent_at": now, "next_attempt_at": None,
                                            "last_error": None}):
                report.sent += 1
            else:
                report.lost += 1
    return report


def _failed(db: Engine, now: dt.datetime, row: Any, attempts: int, retry: RetryPolicy, report: WebhookReport,
            exc: Exception) -> None:
    final = attempts >= retry.max_attempts
    message = (str(exc) if isinstance(exc, DeliveryFailed) else f"{type(exc).__name__}: {exc}")[:MAX_ERROR]
    values: dict[str, Any] = {"last_error": message}
    values.update({"status": "failed", "next_attempt_at": None} if final
                  else {"status": "pending", "next_attempt_at": now + retry.delay(attempts)})
    if not _mark(db, int(row.id), attempts, values):
        report.lost += 1
        return
    if final:
        report.parked += 1
    else:
        report.retried += 1
    report.errors.append({"event_id": row.event_id, "webhook": row.webhook_id, "case": row.case_id,
                          "attempts": attempts, "parked": final, "error": message})


def send_test(url: str, secret: str, now: dt.datetime, *, timeout: float = TIMEOUT_SECONDS,
              sender: Sender = http_post) -> tuple[bytes, str | None]:
    """`zcflow webhook test`: one signed ping (action "ping", case 0). Returns (body, error or None)."""
    data = {"event_id": f"ping-{int(now.timestamp())}", "case": 0, "seq": 0, "action": "ping", "from": "",
            "to": "", "at": now.isoformat(), "policy": "", "applicant_id_masked": ""}
    body = body_of(data)
    try:
        sender(url, body, headers_for(secret, body, str(data["event_id"])), timeout)
    except DeliveryFailed as exc:
        return body, str(exc)
    return body, None
