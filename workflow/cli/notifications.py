"""`zcflow notifications`, `zcflow deliver` and `zcflow document KIND …`.

Bad input raises UsageProblem (exit 2, the message names the option); rendering and delivery live in
notifications/.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from notifications.channels.base import ChannelConfigError
from notifications.documents import FORMATS, Document, DocumentError
from notifications.outbox import STATUSES
from states.labels import STATUS_LABELS
from states.text import clip
from workflow.cli.base import (
    DbOpt,
    JsonOpt,
    UsageProblem,
    app,
    emit_json,
    open_workflow,
    out,
    parse_time,
    shanghai_minute,
)

document_app = typer.Typer(no_args_is_help=True,
                           help="Printable documents: notice lists, registration forms, rosters, checklists.")

OutOpt = Annotated[Path | None, typer.Option("--out", help="Write to this file (required for pdf and xlsx).")]


@contextmanager
def _workflow(database: str | None) -> Iterator[Any]:
    """open_workflow, with the engine's connections closed when the command ends."""
    wf = open_workflow(database)
    try:
        yield wf
    finally:
        wf.db.dispose()


# ---- notifications -------------------------------------------------------------------------------

def _rendered(db: Any, note_id: int) -> dict[str, Any]:
    from notifications.outbox import render_notification
    from notifications.render import RenderError

    try:
        r = render_notification(db, note_id)
    except RenderError as exc:
        return {"error": str(exc)}
    return {"subject": r.subject, "text": r.text}


def notifications_cmd(
    case_id: Annotated[int | None, typer.Option("--case", help="Only this case's notifications.")] = None,
    status: Annotated[str | None, typer.Option("--status", help="pending, sending, sent or failed.")] = None,
    template: Annotated[str | None, typer.Option("--template", help="Only this template.")] = None,
    show: Annotated[bool, typer.Option("--show", help="Also print each message as rendered.")] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, max=100000)] = 200,
    database: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List the outbox: what was (or will be) sent to whom, and how delivery went."""
    from notifications.context import TEMPLATES
    from notifications.outbox import list_notifications

    if status is not None and status not in STATUSES:
        raise UsageProblem(f"--status: {clip(status)} is not a status; statuses: {', '.join(STATUSES)}")
    if template is not None and template not in TEMPLATES:
        raise UsageProblem(f"--template: {clip(template)} is not a template; templates: {', '.join(TEMPLATES)}")
    with _workflow(database) as wf:
        if case_id is not None:
            wf.case(case_id)  # NotFound names the case (exit 2)
        with wf.db.connect() as conn:
            rows = list_notifications(conn, case_id=case_id, status=status, template=template, limit=limit)
        messages = {r.id: _rendered(wf.db, r.id) for r in rows} if show else {}

    if as_json:
        emit_json([{
            "id": r.id, "case": r.case_id, "template": r.template, "channel": r.channel,
            "recipient_role": r.recipient_role, "recipient": r.recipient, "status": r.status,
            "attempts": r.attempts, "created_at": r.created_at.isoformat(),
            "next_attempt_at": r.next_attempt_at.isoformat() if r.next_attempt_at else None,
            "sent_at": r.sent_at.isoformat() if r.sent_at else None, "last_error": r.last_error,
            "context": r.context, **({"message": messages[r.id]} if show else {}),
        } for r in rows])
        return
    table = Table("id", "case", "template", "channel", "to", "status", "tries", "created", "sent / next try",
                  "last error", title=f"{len(rows)} notifications")
    for r in rows:
        when = shanghai_minute(r.sent_at) if r.sent_at else shanghai_minute(r.next_attempt_at)
        table.add_row(str(r.id), str(r.case_id or ""), r.template, r.channel,
                      f"{r.recipient_role} {r.recipient or ''}".strip(),
                      f"{r.status} {STATUS_LABELS.get(r.status, '')}", str(r.attempts),
                      shanghai_minute(r.created_at), when,
                      (r.last_error or "")[:80])
    out.print(table)
    if show:
        for r in rows:
            message = messages[r.id]
            out.print(f"[bold]#{r.id} {r.template} → {r.channel}[/]")
            if message.get("subject"):
                out.print(f"Subject: {message['subject']}")
            out.print(message.get("text") or message.get("error", ""))


# ---- deliver -------------------------------------------------------------------------------------

def deliver_cmd(
    at: Annotated[str | None, typer.Option("--at", help="Deliver what is due as of this time (default: now).")]
    = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Send at most N messages.")] = None,
    case_id: Annotated[int | None, typer.Option("--case", help="Only this case's notifications.")] = None,
    retry_failed: Annotated[bool, typer.Option("--retry-failed",
                                               help="First give failed messages a fresh set of attempts.")]
    = False,
    database: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Send the pending notifications (SMS, email, in-app) through the configured channels, and the
    webhook events to their receivers (in order per case)."""
    from notifications.config import transports_from_env
    from notifications.outbox import deliver, requeue_failed
    from notifications.webhooks import deliver_webhooks

    now = parse_time(at)
    try:
        transports = transports_from_env()
    except ChannelConfigError as exc:
        raise UsageProblem(str(exc)) from None
    try:
        with _workflow(database) as wf:
            requeued = requeue_failed(wf.db, now) if retry_failed else 0
            report = deliver(wf.db, now, transports=transports, limit=limit, case_id=case_id)
            hooks = deliver_webhooks(wf.db, now, limit=limit) if case_id is None else None
    finally:
        transports.close()
    if as_json:
        emit_json({**report.to_json(), "requeued": requeued, "channels": transports.describe(),
                   **({"webhooks": hooks.to_json()} if hooks else {})})
        return
    channels = ", ".join(f"{k}→{v}" for k, v in transports.describe().items())
    out.print(f"delivered {report.sent} of {report.claimed} ({channels}); retry later: {report.retried}; "
              f"failed: {report.failed}" + (f"; requeued: {requeued}" if retry_failed else ""))
    for error in report.errors:
        state = "failed" if error["final"] else "will retry"
        out.print(f"  #{error['id']} {error['template']} → {error['channel']} ({state}, attempt "
                  f"{error['attempts']}): {error['error']}")
    if hooks is not None and hooks.claimed:
        out.print(f"webhook events: delivered {hooks.sent} of {hooks.claimed}; retry later: {hooks.retried}; "
                  f"parked: {hooks.parked}")
        for e in hooks.errors:
            out.print(f"  event {e['event_id']} → webhook {e['webhook']} ({'parked' if e['parked'] else 'will retry'}"
                      f", attempt {e['attempts']}): {e['error']}")


# ---- documents -----------------------------------------------------------------------------------

def _check_format(kind: str, fmt: str) -> str:
    fmt = fmt.lower()
    if fmt not in FORMATS[kind]:
        raise UsageProblem(f"--format: {clip(fmt)} is not a format of {kind}; formats: {', '.join(FORMATS[kind])}")
    return fmt


def _write(doc: Document, fmt: str, out_path: Path | None) -> None:
    from notifications.documents import to_bytes

    if out_path is None and fmt in ("pdf", "xlsx"):
        raise UsageProblem(f"--out: a {fmt} document must be written to a file (give --out FILE)")
    try:
        data = to_bytes(doc, fmt)
    except DocumentError as exc:
        raise UsageProblem(str(exc)) from None
    if out_path is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    try:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_bytes(data)
    except OSError as exc:
        raise UsageProblem(f"--out: cannot write {out_path}: {exc.strerror or exc}") from None
    out.print(f"wrote {out_path} ({len(data)} bytes, {fmt})", highlight=False)


def _today(at: str | None) -> Any:
    from states.calendar import local_date

    return local_date(parse_time(at))


@document_app.command("notice")
def document_notice(
    policy_id: Annotated[str, typer.Option("--policy", help="Policy id.")],
    stage: Annotated[str, typer.Option("--stage", help="The notice: employer_notice, qualification_notice, "
                                                       "result_notice.")],
    employer: Annotated[str | None, typer.Option("--employer", help="Only this employer's applicants.")] = None,
    at: Annotated[str | None, typer.Option("--at", help="Those whose notice runs at this time; the date printed.")]
    = None,
    fmt: Annotated[str, typer.Option("--format", help="html or pdf.")] = "html",
    out_path: OutOpt = None,
    database: DbOpt = None,
) -> None:
    """The public notice list (公示表): masked ID numbers, notice period, where to object."""
    from notifications.documents import notice_list

    fmt = _check_format("notice", fmt)
    as_of = parse_time(at) if at else None
    try:
        with _workflow(database) as wf, wf.db.connect() as conn:
            doc = notice_list(conn, policy_id, stage, employer=employer, as_of=as_of, today=_today(at))
    except DocumentError as exc:
        raise UsageProblem(f"--{exc}") from None
    _write(doc, fmt, out_path)


@document_app.command("form")
def document_form(
    case_id: Annotated[int, typer.Argument(help="The case to fill the registration form (登记表) from.")],
    fmt: Annotated[str, typer.Option("--format", help="html or pdf.")] = "html",
    out_path: OutOpt = None,
    database: DbOpt = None,
) -> None:
    """The registration form (登记表) of seed 000 附件3 / seed 001 附件4, filled in from a case."""
    from notifications.documents import registration_form

    fmt = _check_format("form", fmt)
    try:
        with _workflow(database) as wf, wf.db.connect() as conn:
            doc = registration_form(conn, case_id)
    except DocumentError as exc:
        raise UsageProblem(f"CASE: {exc}".replace("CASE: case: ", "CASE: ")) from None
    _write(doc, fmt, out_path)


@document_app.command("roster")
def document_roster(
    policy_id: Annotated[str, typer.Option("--policy", help="Policy id.")],
    committee: Annotated[str | None, typer.Option("--committee", help="Committee name (or 序号 in seed 003 "
                                                                      "附件2).")] = None,
    include_ended: Annotated[bool, typer.Option("--all", help="Also cases that left the round.")] = False,
    full_ids: Annotated[bool, typer.Option("--full-ids", help="Print ID numbers in full (not for posting).")]
    = False,
    fmt: Annotated[str, typer.Option("--format", help="csv, xlsx, html or pdf.")] = "csv",
    out_path: OutOpt = None,
    at: Annotated[str | None, typer.Option("--at", help="The date printed (default: today).")] = None,
    database: DbOpt = None,
) -> None:
    """A round's roster (花名册) for a committee, as CSV or XLSX."""
    from notifications.documents import roster

    fmt = _check_format("roster", fmt)
    try:
        with _workflow(database) as wf, wf.db.connect() as conn:
            doc = roster(conn, policy_id, committee=committee, include_ended=include_ended, full_ids=full_ids,
                         today=_today(at))
    except DocumentError as exc:
        raise UsageProblem(f"--{exc}") from None
    _write(doc, fmt, out_path)


@document_app.command("checklist")
def document_checklist(
    policy_id: Annotated[str, typer.Option("--policy", help="Policy id.")],
    district: Annotated[str | None, typer.Option("--district", help="Only this district's office.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="html or pdf.")] = "html",
    out_path: OutOpt = None,
) -> None:
    """The paper-material checklist and receiving offices (seed 001 附件2; seed 000 §四)."""
    from notifications.documents import paper_checklist

    fmt = _check_format("checklist", fmt)
    try:
        doc = paper_checklist(policy_id, district)
    except DocumentError as exc:
        raise UsageProblem(f"--{exc}") from None
    _write(doc, fmt, out_path)


@document_app.command("mail-in")
def document_mail_in(
    policy_id: Annotated[str, typer.Option("--policy", help="Policy id (lp-assessment-2022).")],
    fmt: Annotated[str, typer.Option("--format", help="html or pdf.")] = "html",
    out_path: OutOpt = None,
) -> None:
    """Linping's post-review mail-in instructions (seed 002 §二.3, 附件4)."""
    from notifications.documents import mail_in_instructions

    fmt = _check_format("mail-in", fmt)
    try:
        doc = mail_in_instructions(policy_id)
    except DocumentError as exc:
        raise UsageProblem(f"--{exc}") from None
    _write(doc, fmt, out_path)


app.command("notifications")(notifications_cmd)
app.command("deliver")(deliver_cmd)
app.add_typer(document_app, name="document")
