"""`zcflow eligibility`, `zcflow case new|act|show` and `zcflow cases`: one filing, one case, many cases."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from states.text import clip
from workflow.cli.base import (
    DbOpt,
    JsonOpt,
    UsageProblem,
    app,
    emit_json,
    open_workflow,
    out,
    parse_date,
    parse_time,
    policy_or_fail,
    read_input,
    shanghai_minute,
)

case_app = typer.Typer(no_args_is_help=True, help="Create, act on and inspect one case.")
app.add_typer(case_app, name="case")

@app.command("eligibility")
def eligibility(
    file: Annotated[Path, typer.Argument(help="The applicant's filing as JSON (CONTRACT §5); - for stdin.")],
    policy_id: Annotated[str, typer.Option("--policy", help="Policy id.")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="Reference date for standing schemes.")] = None,
) -> None:
    """Check a filing against a policy; prints one JSON object. Exit 0 whether eligible or not."""
    from states.eligibility import FilingError, evaluate, parse_filing

    policy = policy_or_fail(policy_id)
    day = parse_date(as_of, "--as-of")
    text = read_input(file)
    try:
        filing = parse_filing(text)
    except FilingError as exc:
        raise UsageProblem(f"{file}: {exc}") from None
    if policy.standing and day is None:
        from workflow.clock import now

        day = now().date()
    result = evaluate(policy, filing, as_of=day)
    emit_json(result.to_json())


# ---- cases --------------------------------------------------------------------------------

@case_app.command("new")
def case_new(
    file: Annotated[Path, typer.Argument(help="The applicant's filing as JSON (CONTRACT §5).")],
    policy_id: Annotated[str, typer.Option("--policy")],
    at: Annotated[str | None, typer.Option("--at", help="The time to record (default: now).")] = None,
    database: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a case in draft from a filing."""
    from states.eligibility import FilingError, parse_filing

    policy_or_fail(policy_id)
    try:
        filing = parse_filing(read_input(file))
    except FilingError as exc:
        raise UsageProblem(f"{file}: {exc}") from None
    wf = open_workflow(database)
    case_id = wf.create_case(policy_id, filing, parse_time(at))
    if as_json:
        emit_json({"case": case_id, "state": "draft", "policy": policy_id})
    else:
        out.print(f"case {case_id} created in draft ({policy_id})")


@case_app.command("act")
def case_act(
    case_id: int,
    action: str,
    role: Annotated[str, typer.Option("--as", help="The actor's role, e.g. applicant, employer.")],
    reason: Annotated[str | None, typer.Option("--reason")] = None,
    actor_id: Annotated[str | None, typer.Option("--actor-id", help="Who, for the history.")] = None,
    at: Annotated[str | None, typer.Option("--at", help="The time of the action (default: now).")] = None,
    database: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Take an action on a case."""
    from workflow.engine import Actor

    actor = Actor.parse(role, actor_id)
    wf = open_workflow(database)
    t = wf.fire(case_id, action, actor, parse_time(at), reason)
    if as_json:
        emit_json({"case": t.case_id, "action": t.action, "from": t.from_state, "to": t.to_state,
                   "at": t.at.isoformat(), "version": t.version})
    else:
        out.print(f"case {t.case_id}: {t.from_state} → {t.to_state} ({t.action} by {t.actor.role.value})")


@case_app.command("show")
def case_show(
    case_id: int,
    role: Annotated[str | None, typer.Option("--as", help="Show what this role may do (default: every role).")]
    = None,
    database: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A case's state, eligibility result, history and what each role may do now."""
    from states.calendar import product_calendar
    from storage import repo
    from workflow.clock import now
    from workflow.engine import Actor

    actor = Actor.parse(role) if role is not None else None
    wf = open_workflow(database)
    try:
        case = wf.case(case_id)
        with wf.db.connect() as conn:
            hist = repo.case_history(conn, case_id)
        by_role = wf.allowed_by_role(case_id, max(now(), case.updated_at))
    finally:
        wf.db.dispose()
    if actor is not None:
        by_role = {actor.role.value: by_role.get(actor.role.value, [])}
    allowed = sorted({a for actions in by_role.values() for a in actions})
    # open_workflow synced the product calendar from the database
    provisional = product_calendar().provisional_notice(case.notice_opened_at, case.notice_closes_at)
    if as_json:
        emit_json({
            "case": case.id, "policy": case.policy_id, "state": case.state, "version": case.version,
            "name": case.name, "district": case.district, "employer": case.employer,
            "level": case.level, "title": case.title, "committee": case.committee,
            "eligibility": case.eligibility or None,
            "notice_closes_at": case.notice_closes_at.isoformat() if case.notice_closes_at else None,
            "notice_closes_provisional": provisional,
            "allowed_actions": allowed, "allowed_by_role": by_role,
            "history": [{"seq": h.seq, "at": h.at.isoformat(), "from": h.from_state or None, "to": h.to_state,
                         "action": h.action, "actor": h.actor_role, "actor_id": h.actor_id,
                         "reason": h.reason} for h in hist],
        })
        return
    out.print(f"[bold]case {case.id}[/] {case.name} — {case.policy_id}: [bold]{case.state}[/] (v{case.version})")
    out.print(f"{case.district} · {case.employer} · {case.specialty}")
    if case.eligibility:
        e = case.eligibility
        out.print(f"eligibility: {e.get('level')} {e.get('title')} ({e.get('series')}), "
                  f"{e.get('full_years')} full years to {e.get('reference_date')}; committee {e.get('committee')}"
                  + (f"; rule {e['rule']}" if e.get("rule") else ""))
    if case.notice_closes_at:
        out.print(f"notice closes: {shanghai_minute(case.notice_closes_at)} (Asia/Shanghai)"
                  + (" — 暂定 provisional: counted on a provisional calendar year; it moves if the official "
                     "schedule differs" if provisional else ""))
    table = Table("#", "at (Asia/Shanghai)", "from", "to", "action", "who", "reason", title="history")
    for h in hist:
        who = h.actor_role + (f" {h.actor_id}" if h.actor_id else "")
        table.add_row(str(h.seq), shanghai_minute(h.at), h.from_state, h.to_state, h.action, who, h.reason or "")
    out.print(table)
    out.print("allowed now: " + ("; ".join(f"{r}: {', '.join(a) or 'nothing'}" for r, a in by_role.items())
                                 or "nothing"))


@app.command("cases")
def list_cases(
    policy_id: Annotated[str | None, typer.Option("--policy")] = None,
    state: Annotated[str | None, typer.Option("--state")] = None,
    district: Annotated[str | None, typer.Option("--district")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=100000)] = 200,
    database: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List cases, filtered."""
    from states.idcard import mask
    from states.vocabulary import ALL_STATES
    from storage import repo

    if policy_id:
        policy_or_fail(policy_id)
    if state and state not in ALL_STATES:
        raise UsageProblem(f"--state: unknown state {clip(state)}; states: {', '.join(ALL_STATES)}")
    wf = open_workflow(database)
    with wf.db.connect() as conn:
        rows = repo.list_cases(conn, policy_id=policy_id, state=state, district=district, limit=limit)
    if as_json:
        emit_json([{"case": r.id, "policy": r.policy_id, "state": r.state, "name": r.name,
                    "id_number": mask(r.id_number), "district": r.district, "employer": r.employer,
                    "level": r.level} for r in rows])
        return
    table = Table("case", "policy", "state", "name", "ID", "district", "employer", title=f"{len(rows)} cases")
    for r in rows:
        table.add_row(str(r.id), r.policy_id, r.state, r.name, mask(r.id_number), r.district or "",
                      r.employer or "")
    out.print(table)
