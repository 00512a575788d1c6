"""`zcflow webhook add|list|remove|test|events|retry`: receivers of case events (CONTRACT §11).

Adding and removing a receiver is an administrative act: it goes to the audit log in the same
transaction. Delivery itself is `zcflow deliver` and the scheduler's delivery job.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

import typer
from rich.table import Table

from workflow.cli.base import DbOpt, JsonOpt, UsageProblem, app, cli_actor, emit_json, open_workflow, out, parse_time

webhook_app = typer.Typer(no_args_is_help=True, help="Webhooks: who hears of every case move (signed, in order).")
app.add_typer(webhook_app, name="webhook")

MIN_SECRET = 16




def check_url(url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in url):
        raise UsageProblem(f"URL: {url!r} is not an http(s) URL (e.g. https://platform.example.cn/zcflow/events)")
    if len(url) > 2000:
        raise UsageProblem("URL: at most 2000 characters")
    return url


def check_secret(secret: str) -> str:
    if len(secret) < MIN_SECRET or len(secret) > 200 or any(ord(c) < 33 or ord(c) > 126 for c in secret):
        raise UsageProblem(f"--secret: {MIN_SECRET} to 200 printable ASCII characters without spaces")
    return secret


@webhook_app.command("add")
def webhook_add(
    url: Annotated[str, typer.Argument(help="Where events are POSTed.")],
    secret: Annotated[str, typer.Option("--secret", help="Shared secret for the HMAC-SHA256 signature.")],
    policy: Annotated[list[str] | None, typer.Option("--policy", help="Only this policy's cases (repeatable; "
                                                                      "default: every policy).")] = None,
    at: Annotated[str | None, typer.Option("--at", help="When (default: now).")] = None,
    database: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Register a receiver: every later transition of its policies' cases is POSTed to it."""
    from states.policy import policies
    from storage.audit import record_audit
    from storage.webhooks import add_webhook

    url, secret = check_url(url), check_secret(secret)
    chosen = list(dict.fromkeys(p.strip() for p in (policy or [])))
    known = policies()
    for p in chosen:
        if p not in known:
            raise UsageProblem(f"--policy: {p!r} is not a policy; policies: {', '.join(known)}")
    now = parse_time(at)
    wf = open_workflow(database)
    try:
        with wf.db.begin() as conn:
            webhook_id = add_webhook(conn, url, secret, chosen, now)
            record_audit(conn, at=now, actor=cli_actor(), action="webhook_add", subject=f"webhook {webhook_id}",
                         detail={"url": url, "policies": chosen})
    finally:
        wf.db.dispose()
    if as_json:
        emit_json({"id": webhook_id, "url": url, "policies": chosen})
    else:
        out.print(f"webhook {webhook_id} added: {url} ({', '.join(chosen) or 'every policy'})", highlight=False)


@webhook_app.command("list")
def webhook_list(database: DbOpt = None, as_json: JsonOpt = False) -> None:
    """The receivers, with how many events each has pending, delivered and parked."""
    from storage.webhooks import event_counts, list_webhooks, policies_of

    wf = open_workflow(database)
    try:
        with wf.db.connect() as conn:
            hooks = list_webhooks(conn)
            counts = event_counts(conn)
    finally:
        wf.db.dispose()
    rows = [{"id": h.id, "url": h.url, "policies": policies_of(h.policies), "created_at": h.created_at.isoformat(),
             "pending": counts.get((h.id, "pending"), 0) + counts.get((h.id, "sending"), 0),
             "sent": counts.get((h.id, "sent"), 0), "parked": counts.get((h.id, "failed"), 0)} for h in hooks]
    if as_json:
        emit_json(rows)
        return
    table = Table("id", "url", "policies", "pending", "sent", "parked", title=f"{len(rows)} webhooks")
    for r in rows:
        table.add_row(str(r["id"]), str(r["url"]), ", ".join(r["policies"]) or "every policy", str(r["pending"]),
                      str(r["sent"]), str(r["parked"]))
    out.print(table)


@webhook_app.command("remove")
def webhook_remove(
    webhook_id: Annotated[int, typer.Argument(help="The webhook's id (see `zcflow webhook list`).")],
    at: Annotated[str | None, typer.Option("--at", help="When (default: now).")] = None,
    database: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Remove a receiver and its events (undelivered ones are dropped: it hears nothing more)."""
    from storage.audit import record_audit
    from storage.webhooks import remove_webhook

    now = parse_time(at)
    wf = open_workflow(database)
    try:
        with wf.db.begin() as conn:
            dropped = remove_webhook(conn, webhook_id)
            if dropped is None:
                raise UsageProblem(f"WEBHOOK_ID: there is no webhook {webhook_id} (see `zcflow webhook list`)")
            record_audit(conn, at=now, actor=cli_actor(), action="webhook_remove", subject=f"webhook {webhook_id}",
                         detail={"events_dropped": dropped})
    finally:
        wf.db.dispose()
    if as_json:
        emit_json({"id": webhook_id, "removed": True, "events_dropped": dropped})
    else:
        out.print(f"webhook {webhook_id} removed ({dropped} events dropped)")


@webhook_app.command("test")
def webhook_test(
    webhook_id: Annotated[int, typer.Argument(help="The webhook's id.")],
    database: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Send one signed ping (action "ping") now and report the receiver's answer. Exit 1 if it failed."""
    from notifications.webhooks import send_test
    from storage.webhooks import get_webhook
    from workflow.clock import now

    wf = open_workflow(database)
    try:
        with wf.db.connect() as conn:
            hook = get_webhook(conn, webhook_id)
    finally:
        wf.db.dispose()
    if hook is None:
        raise UsageProblem(f"WEBHOOK_ID: there is no webhook {webhook_id} (see `zcflow webhook list`)")
    body, error = send_test(hook.url, hook.secret, now())
    if as_json:
        emit_json({"id": webhook_id, "url": hook.url, "ok": error is None, "error": error, "body": body.decode()})
    elif error is None:
        out.print(f"webhook {webhook_id}: {hook.url} accepted the signed ping", highlight=False)
    else:
        out.print(f"webhook {webhook_id}: {error}", highlight=False)
    if error is not None:
        raise typer.Exit(1)


@webhook_app.command("events")
def webhook_events_cmd(
    webhook_id: Annotated[int | None, typer.Option("--webhook", help="Only this receiver's events.")] = None,
    status: Annotated[str | None, typer.Option("--status", help="pending, sending, sent or failed (parked).")]
    = None,
    case_id: Annotated[int | None, typer.Option("--case", help="Only this case's events.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=100000)] = 200,
    database: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The event rows: what each receiver was (or will be) sent, and how delivery went."""
    from storage.webhooks import EVENT_STATUSES, list_events

    if status is not None and status not in EVENT_STATUSES:
        raise UsageProblem(f"--status: {status!r} is not a status; statuses: {', '.join(EVENT_STATUSES)}")
    wf = open_workflow(database)
    try:
        with wf.db.connect() as conn:
            rows = list_events(conn, webhook_id=webhook_id, status=status, case_id=case_id, limit=limit)
    finally:
        wf.db.dispose()
    data = [{"id": r.id, "webhook": r.webhook_id, "event_id": r.event_id, "case": r.case_id, "seq": r.seq,
             "action": r.action, "from": r.from_state, "to": r.to_state, "at": r.at.isoformat(),
             "policy": r.policy_id, "status": r.status, "attempts": r.attempts, "last_error": r.last_error}
            for r in rows]
    if as_json:
        emit_json(data)
        return
    table = Table("webhook", "event", "action", "from → to", "status", "tries", "last error",
                  title=f"{len(data)} events")
    for d in data:
        table.add_row(str(d["webhook"]), str(d["event_id"]), str(d["action"]), f"{d['from']} → {d['to']}",
                      str(d["status"]), str(d["attempts"]), str(d["last_error"] or "")[:80])
    out.print(table)


@webhook_app.command("retry")
def webhook_retry(
    webhook_id: Annotated[int | None, typer.Option("--webhook", help="Only this receiver's parked events.")]
    = None,
    at: Annotated[str | None, typer.Option("--at", help="Retry from this time (default: now).")] = None,
    database: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Give every parked event (all attempts failed) a fresh set of attempts; `zcflow deliver` sends them."""
    from storage.audit import record_audit
    from storage.webhooks import requeue_parked

    now = parse_time(at)
    wf = open_workflow(database)
    try:
        with wf.db.begin() as conn:
            n = requeue_parked(conn, now, webhook_id=webhook_id)
            if n:
                record_audit(conn, at=now, actor=cli_actor(), action="webhook_retry",
                             subject=f"webhook {webhook_id}" if webhook_id else "webhooks", detail={"events": n})
    finally:
        wf.db.dispose()
    if as_json:
        emit_json({"requeued": n})
    else:
        out.print(f"{n} parked events requeued")
