"""`zcflow policy import`, `export`, `history` and `diff`: the versions stored in the database and
amendments (延期) to a running round (CONTRACT §9)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from workflow.cli.base import (
    DbOpt,
    JsonOpt,
    cli_actor,
    emit_json,
    open_workflow,
    out,
    parse_time,
    read_input,
    shanghai_minute,
)
from workflow.cli.policies import policy_app


@policy_app.command("import")
def import_cmd(
    file: Annotated[Path, typer.Argument(help="The policy file (YAML).")],
    document: Annotated[str | None, typer.Option("--document", help="The document (文号) behind it.")] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="Why.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the impact; write nothing.")] = False,
    reinstate: Annotated[bool, typer.Option("--reinstate", help="Bring back cases expired by a cutoff the "
                                            "amendment moves to a later, still-future date.")] = False,
    at: Annotated[str | None, typer.Option("--at", help="When it takes effect (default: now).")] = None,
    role: Annotated[str, typer.Option("--as", help="city or admin.")] = "admin",
    database: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Store FILE as the next version of its policy; for a policy with cases, amend them."""
    from workflow.amendments import import_policy

    text = read_input(file)
    when = parse_time(at)
    wf = open_workflow(database)
    impact = import_policy(wf.db, text, file.name, actor_role=role, actor_id=cli_actor(), at=when,
                           document=document, reason=reason, dry_run=dry_run, reinstate=reinstate)
    if as_json:
        emit_json(impact.as_dict())
        return
    print_impact(impact.as_dict())


def print_impact(i: dict[str, Any]) -> None:
    head = "dry run — nothing written: " if i["dry_run"] else ""
    what = (f"amends {i['policy_id']} v{i['from_version']} → v{i['to_version']}" if i["kind"] == "amendment"
            else f"imports {i['policy_id']} as version {i['to_version']}")
    out.print(f"{head}{what}" + (f" ({i['document']})" if i["document"] else ""))
    for c in i["cutoffs"]:
        out.print(f"  cutoff {c['name']} {c['label']}: {c['old'] or '—'} → {c['new'] or 'removed'}")
    if i["kind"] != "amendment":
        return
    table = Table("stage", "cases", "deadline", "moves", "to", title="impact")
    for s in i["stages"]:
        table.add_row(s["stage"], str(s["cases"]), f"{s['old'] or '—'} → {s['new'] or '—'}",
                      "yes" if s["deadline_moves"] else "", s["to"] if s["to"] != s["stage"] else "")
    out.print(table)
    out.print(f"cases moved to v{i['to_version']}: {i['amended']}; deadline moved: {i['deadline_moved']}; "
              f"notifications: {i['notified'] if not i['dry_run'] else 2 * i['deadline_moved']}")
    for name, m in i.get("expired_first", {}).items():
        out.print(f"expired first at cutoff {name} (passed before this import, not yet swept): {m['cases']}")
    for name, n in i["expire"].items():
        out.print(f"would expire at once (cutoff {name} already past): {n}")
    for stage, n in i["reinstate"].items():
        out.print(f"reinstated to {stage}: {n}")
    for stage, n in i["reinstate_possible"].items():
        out.print(f"expired from {stage}, reinstatable with --reinstate: {n}")
    for state, m in i["state_map"].items():
        out.print(f"state_map {state} → {m['to']}: {m['cases']}")
    for stage, m in i["notices"].items():
        out.print(f"notice {stage}: {m['old']} → {m['new']} working days, {m['cases']} case(s) recomputed")


@policy_app.command("export")
def export_cmd(policy_id: str,
               version: Annotated[int | None, typer.Option("--version", min=1, help="Default: the latest.")] = None,
               database: DbOpt = None) -> None:
    """Print a version's full YAML text (it imports on its own)."""
    from workflow.policy_registry import version_text

    wf = open_workflow(database)
    sys.stdout.write(version_text(wf.db, policy_id, version))


@policy_app.command("history")
def history_cmd(policy_id: str, database: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Every version of a policy: bundled or imported, the document, who, when and why."""
    from workflow.policy_registry import history

    wf = open_workflow(database)
    rows = history(wf.db, policy_id)
    if as_json:
        emit_json(rows)
        return
    table = Table("version", "kind", "document", "who", "effective", "reason", "cases amended", title=policy_id)
    for r in rows:
        table.add_row(str(r["version"]), r["kind"], r["document"] or "", r["actor"] or "",
                      shanghai_minute(r["at"]), r["reason"] or "", str(r["impact"].get("amended", "")))
    out.print(table)


@policy_app.command("diff")
def diff_cmd(policy_id: str, a: int, b: int, database: DbOpt = None) -> None:
    """A unified diff of two versions' texts."""
    from workflow.policy_registry import diff

    wf = open_workflow(database)
    sys.stdout.write(diff(wf.db, policy_id, a, b) or "(no difference)\n")
