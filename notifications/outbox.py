"""Delivering the outbox: claim due rows, render them, hand them to their channel, record the outcome.

The engine writes a `notifications` row in the transaction of the transition that causes it
(workflow/engine.py, workflow/deadlines.py); delivery is a separate step that never touches cases,
so a channel that fails cannot undo a transition.

A row moves ``pending → sending → sent``, or back to ``pending`` with a later `next_attempt_at`
(exponential backoff), or to ``failed`` (a permanent error, or `max_attempts` reached). Exactly-once:

1. *Claim* in one short transaction: due rows (``pending``, or ``sending`` whose lease has run out)
   become ``sending`` with `attempts + 1` and a lease in `next_attempt_at`. On PostgreSQL the rows are
   locked ``FOR UPDATE SKIP LOCKED``, so concurrent runs take disjoint rows; on SQLite the claim runs
   under ``BEGIN IMMEDIATE`` (storage/db.py), one writer at a time. The UPDATE re-checks the row is
   still due, so a row is claimed by one run only.
2. *Send* outside any transaction, with the row's idempotency key (``zcflow-notification-<id>``).
3. *Mark* ``sent`` only after the channel confirms, guarded by (status ``sending``, the claimed
   `attempts`): a run whose lease ran out and whose row was re-claimed cannot overwrite the newer run.
   Rows whose channel recognises the key (`may_duplicate` false: ``file``, ``memory``, ``inapp``) are
   marked together, one UPDATE for the claimed batch once its sends are confirmed; rows whose channel
   may deliver a repeat (``smtp``, ``sms_http``) are marked one by one right after each confirmation,
   so a crash re-sends at most the one message in flight on those.

A confirmed row is never sent again. The one window left is a crash (or a lost confirmation) between
the channel accepting a message and the row being marked: the lease runs out and the row is sent
again with the same key. The `file`, `memory` and `inapp` channels recognise the key and do not
deliver twice; `smtp` (same Message-ID) and `sms_http` (same request_id) hand the key on and can
duplicate when the receiving side does not de-duplicate on it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Row, and_, select, tuple_, update
from sqlalchemy.engine import Connection, Engine

from notifications.channels.base import (
    ChannelError,
    Message,
    PermanentChannelError,
    TransientChannelError,
    idempotency_key,
)
from notifications.channels.sms_http import normalise_phone
from notifications.config import Transports, transports_from_env
from notifications.context import CaseFacts, OutboxEntry, build_context
from notifications.leases import claim_due
from notifications.render import Rendered, RenderError, render
from notifications.status_link import link_maker
from states.policy import get_policy
from storage import repo
from storage.calendar_years import sync_calendar

notifications, cases, applicants = repo.notifications, repo.cases, repo.applicants

STATUSES = ("pending", "sending", "sent", "failed")
MAX_ERROR = 1000  # characters of last_error kept


@dataclass(frozen=True)
class RetryPolicy:
    """Attempt n (1-based) that fails transiently is retried after first_delay × factor^(n-1), at most
    max_delay; after max_attempts attempts the row is failed. `lease` is how long a claimed row is
    reserved for the run that claimed it (longer than any channel timeout)."""

    max_attempts: int = 6
    first_delay: dt.timedelta = dt.timedelta(minutes=1)
    factor: int = 2
    max_delay: dt.timedelta = dt.timedelta(hours=6)
    lease: dt.timedelta = dt.timedelta(minutes=5)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.factor < 1 or self.first_delay <= dt.timedelta(0) or self.lease <= dt.timedelta(0):
            raise ValueError("factor must be >= 1; first_delay and lease must be positive")

    def delay(self, attempts: int) -> dt.timedelta:
        growth: int = self.factor ** max(attempts - 1, 0)
        return min(self.first_delay * growth, self.max_delay)


@dataclass
class DeliveryReport:
    at: dt.datetime
    claimed: int = 0
    sent: int = 0
    duplicates: int = 0  # confirmed by a channel that had already delivered the same key
    retried: int = 0
    failed: int = 0
    lost: int = 0  # our lease ran out and another run took the row before we marked it
    errors: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "claimed": self.claimed, "sent": self.sent,
                "duplicates": self.duplicates, "retried": self.retried, "failed": self.failed,
                "lost": self.lost, "errors": self.errors}


def _aware(t: dt.datetime) -> dt.datetime:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"now {t.isoformat()} has no time zone; give an offset such as +08:00")
    return t


def claim(conn: Connection, now: dt.datetime, size: int, lease: dt.timedelta,
          case_id: int | None = None) -> list[tuple[int, int]]:
    """Claim up to `size` due rows for this run: (id, attempts after this claim)."""
    return claim_due(conn, notifications, now, size, lease,
                     *([notifications.c.case_id == case_id] if case_id is not None else []))


def _mark(conn: Connection, note_id: int, attempts: int, values: dict[str, Any]) -> bool:
    result = conn.execute(
        update(notifications).where(and_(notifications.c.id == note_id, notifications.c.status == "sending",
                                         notifications.c.attempts == attempts)).values(**values))
    return result.rowcount == 1


def _mark_sent(conn: Connection, claimed: Sequence[tuple[int, int]], now: dt.datetime) -> set[int]:
    """Mark confirmed rows ``sent`` in one statement, each guarded like `_mark` by (status ``sending``,
    its claimed attempts); returns the ids it marked (a row re-claimed by a newer run is not)."""
    if not claimed:
        return set()
    result = conn.execute(
        update(notifications)
        .where(and_(tuple_(notifications.c.id, notifications.c.attempts).in_(list(claimed)),
                    notifications.c.status == "sending"))
        .values(status="sent", sent_at=now, next_attempt_at=None, last_error=None)
        .returning(notifications.c.id))
    return {int(r.id) for r in result}


# ---- rendering one row ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Prepared:
    entry: OutboxEntry
    case: CaseFacts | None
    rendered: Rendered | None
    error: str | None


def _load(conn: Connection, ids: Sequence[int]) -> tuple[dict[int, repo.OutboxRow], dict[int, CaseFacts]]:
    rows = {int(r.id): r for r in repo.load_outbox_rows(conn, ids)}
    case_ids = {int(r.case_id) for r in rows.values() if r.case_id is not None}
    found = repo.load_cases(conn, case_ids)
    applicant_ids = {int(c.applicant_id) for c in found}
    people = ({int(a.id): a for a in conn.execute(select(applicants).where(applicants.c.id.in_(applicant_ids)))}
              if applicant_ids else {})
    facts = {int(c.id): CaseFacts.from_rows(c, people.get(int(c.applicant_id))) for c in found}
    return rows, facts


def prepare(row: repo.OutboxRow, case: CaseFacts | None) -> Prepared:
    """Render one outbox row for its own channel."""
    entry = OutboxEntry.from_row(row)
    if case is None:
        return Prepared(entry, None, None, f"notification {entry.id}: its case {row.case_id} does not exist")
    try:
        context = build_context(get_policy(case.policy_id, case.policy_version), case, entry)
        rendered = render(entry.template, entry.channel, context)
    except (RenderError, KeyError, ValueError) as exc:
        return Prepared(entry, case, None, f"cannot render {entry.template}/{entry.channel}: {exc}")
    return Prepared(entry, case, rendered, None)


def address_for(entry: OutboxEntry, case: CaseFacts) -> str | None:
    """Where to send: a phone for SMS, an email address for email. The row's `recipient` wins when it
    is itself an address; otherwise the applicant's phone/email, or the filing's `employer_email`."""
    given = entry.recipient
    if entry.channel == "sms":
        if given and normalise_phone(given):
            return given
        return case.phone if entry.recipient_role == "applicant" else None
    if entry.channel == "email":
        if given and "@" in given:
            return given
        if entry.recipient_role == "applicant":
            return case.email
        if entry.recipient_role == "employer":
            return case.employer_email
    return None


def message_of(prepared: Prepared, link: Callable[[int], str] | None = None) -> Message:
    """The message for a channel. An applicant's SMS ends with the link to its status page (CONTRACT
    §11; notifications/status_link.py) when `link` makes them."""
    entry, case, rendered = prepared.entry, prepared.case, prepared.rendered
    assert entry.id is not None and case is not None and rendered is not None
    names = {"applicant": case.name, "employer": case.employer}
    text = rendered.text
    if link is not None and entry.channel == "sms" and entry.recipient_role == "applicant":
        text = f"{text} 进度：{link(case.id)}"
    return Message(
        notification_id=entry.id, key=idempotency_key(entry.id), channel=entry.channel, template=entry.template,
        recipient_role=entry.recipient_role,
        recipient_name=names.get(entry.recipient_role) or entry.recipient, address=address_for(entry, case),
        text=text, created_at=entry.created_at, subject=rendered.subject, html=rendered.html)


def render_notification(db: Engine, notification_id: int) -> Rendered:
    """A stored notification as its recipient sees it (for the admin UI and `zcflow notifications`)."""
    with db.connect() as conn:
        rows, facts = _load(conn, [notification_id])
    if notification_id not in rows:
        raise KeyError(f"notification {notification_id} does not exist")
    row = rows[notification_id]
    prepared = prepare(row, facts.get(int(row.case_id)) if row.case_id is not None else None)
    if prepared.rendered is None:
        raise RenderError(prepared.error or "cannot render")
    return prepared.rendered


# ---- the run ------------------------------------------------------------------------------------

def deliver(db: Engine, now: dt.datetime, *, transports: Transports | None = None, limit: int | None = None,
            batch_size: int = 200, retry: RetryPolicy | None = None, case_id: int | None = None) -> DeliveryReport:
    """Send every outbox row due at `now` (at most `limit`), each at most once per run.

    The scheduler calls this on its delivery job; `zcflow deliver` calls it from the command line.
    Channels come from the environment (notifications/config.py) unless `transports` is given.
    """
    now = _aware(now)
    retry = retry or RetryPolicy()
    if batch_size < 1 or (limit is not None and limit < 1):
        raise ValueError("batch_size and limit must be at least 1")
    own = transports is None
    chosen = transports if transports is not None else transports_from_env()
    report = DeliveryReport(at=now)
    link = link_maker(db, now)
    try:
        while limit is None or report.claimed < limit:
            size = batch_size if limit is None else min(batch_size, limit - report.claimed)
            with db.begin() as conn:
                claimed = claim(conn, now, size, retry.lease, case_id)
            if not claimed:
                break
            report.claimed += len(claimed)
            with db.connect() as conn:
                sync_calendar(conn)  # messages name notice days: on the years the database holds
                rows, facts = _load(conn, [i for i, _ in claimed])
            prepared = [prepare(rows[i], facts.get(rows[i].case_id or 0)) for i, _ in claimed]
            confirmed: list[tuple[int, int, bool]] = []  # (id, attempts, duplicate), to mark together
            try:
                for one, (_, attempts) in zip(prepared, claimed, strict=True):
                    _deliver_one(db, now, chosen, one, attempts, retry, report, confirmed, link)
            finally:
                # Also on the way out of an interrupted batch: what the channels confirmed is marked.
                _mark_confirmed(db, now, confirmed, report)
    finally:
        if own:
            chosen.close()
    return report


def _mark_confirmed(db: Engine, now: dt.datetime, confirmed: list[tuple[int, int, bool]],
                    report: DeliveryReport) -> None:
    if not confirmed:
        return
    with db.begin() as conn:
        marked = _mark_sent(conn, [(i, a) for i, a, _ in confirmed], now)
    for note_id, _, duplicate in confirmed:
        if note_id not in marked:
            report.lost += 1
            continue
        report.sent += 1
        if duplicate:
            report.duplicates += 1


def _deliver_one(db: Engine, now: dt.datetime, transports: Transports, prepared: Prepared, attempts: int,
                 retry: RetryPolicy, report: DeliveryReport, confirmed: list[tuple[int, int, bool]],
                 link: Callable[[int], str] | None = None) -> None:
    """Send one prepared row. A confirmation on a channel that recognises keys is appended to
    `confirmed` (marked with the batch); any other outcome is written at once."""
    entry = prepared.entry
    assert entry.id is not None
    channel = transports.for_channel(entry.channel)
    error: ChannelError
    if prepared.error is not None:
        error = PermanentChannelError(prepared.error)
    elif channel is None:
        error = PermanentChannelError(f"notification {entry.id}: unknown channel {entry.channel!r}")
    else:
        try:
            receipt = channel.send(message_of(prepared, link))
        except ChannelError as exc:
            error = exc
        except Exception as exc:  # a channel's own bug: retried like a transient error, never lost
            error = TransientChannelError(f"{type(exc).__name__}: {exc}")
        else:
            if not channel.may_duplicate:
                confirmed.append((entry.id, attempts, receipt.duplicate))
                return
            with db.begin() as conn:
                marked = _mark(conn, entry.id, attempts, {"status": "sent", "sent_at": now, "next_attempt_at": None,
                                                          "last_error": None})
            if not marked:
                report.lost += 1
            elif receipt.duplicate:
                report.duplicates += 1
                report.sent += 1
            else:
                report.sent += 1
            return
    final = isinstance(error, PermanentChannelError) or attempts >= retry.max_attempts
    message = f"{type(error).__name__}: {error}"[:MAX_ERROR]
    values: dict[str, Any] = {"last_error": message}
    if final:
        values.update(status="failed", next_attempt_at=None)
    else:
        values.update(status="pending", next_attempt_at=now + retry.delay(attempts))
    with db.begin() as conn:
        marked = _mark(conn, entry.id, attempts, values)
    if not marked:
        report.lost += 1
        return
    if final:
        report.failed += 1
    else:
        report.retried += 1
    report.errors.append({"id": entry.id, "case": prepared.case.id if prepared.case else None,
                          "template": entry.template, "channel": entry.channel, "attempts": attempts,
                          "final": final, "error": message})


# ---- reading and requeueing ----------------------------------------------------------------------

def list_notifications(conn: Connection, *, case_id: int | None = None, status: str | None = None,
                       template: str | None = None, limit: int = 200) -> list[Row[Any]]:
    stmt = select(notifications)
    if case_id is not None:
        stmt = stmt.where(notifications.c.case_id == case_id)
    if status is not None:
        stmt = stmt.where(notifications.c.status == status)
    if template is not None:
        stmt = stmt.where(notifications.c.template == template)
    return list(conn.execute(stmt.order_by(notifications.c.id).limit(limit)))


def requeue_failed(db: Engine, now: dt.datetime, ids: Iterable[int] | None = None) -> int:
    """Give failed rows a fresh set of attempts from `now` (after a channel or address was fixed)."""
    now = _aware(now)
    cond = notifications.c.status == "failed"
    chosen = list(ids) if ids is not None else None
    if chosen is not None:
        cond = and_(cond, notifications.c.id.in_(chosen))
    with db.begin() as conn:
        result = conn.execute(update(notifications).where(cond).values(status="pending", attempts=0,
                                                                       next_attempt_at=now))
    return int(result.rowcount)
