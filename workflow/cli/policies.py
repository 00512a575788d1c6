"""`zcflow policies`, `zcflow policy show` and `zcflow diagram`: the policies zcflow runs."""

from __future__ import annotations

import sys

import typer
from rich.table import Table

from states.policy import policies
from workflow.cli.base import JsonOpt, app, emit_json, out, policy_or_fail


@app.command("policies")
def list_policies(as_json: JsonOpt = False) -> None:
    """List the policies zcflow knows."""
    rows = [{"id": p.id, "name": p.name, "authority": p.authority, "track": p.track,
             "standing": p.standing, "catalogue_rows": len(p.catalogue.rows),
             "source": p.source.file} for p in policies().values()]
    if as_json:
        emit_json(rows)
        return
    table = Table("id", "name", "track", "catalogue", "source", title="policies")
    for r in rows:
        table.add_row(str(r["id"]), str(r["name"]), f"{r['track']}{' (standing)' if r['standing'] else ''}",
                      str(r["catalogue_rows"]), str(r["source"]))
    out.print(table)



policy_app = typer.Typer(no_args_is_help=True, help="Inspect one policy.")
app.add_typer(policy_app, name="policy")


@policy_app.command("show")
def policy_show(policy_id: str, as_json: JsonOpt = False) -> None:
    """Stages, window, cutoffs, notices, levels, catalogue size and committees of a policy."""
    p = policy_or_fail(policy_id)
    committees = sorted({lv.decided_by.committee or "" for lv in p.levels.values()} - {""})
    for lv in p.levels.values():
        if lv.decided_by.by_series:
            committees += list(lv.decided_by.by_series.values())
    if p.committee_table:
        committees += [c.name for c in p.committee_table.committees]
    info = {
        "id": p.id, "name": p.name, "authority": p.authority, "document": p.document,
        "issued": p.issued.isoformat(), "track": p.track, "standing": p.standing,
        "reference_date": p.reference_date.isoformat() if p.reference_date else "day of submission",
        "stages": list(p.stages),
        "window": ({"opens": p.window.opens.isoformat(),
                    "closes": p.window.closes.isoformat() if p.window.closes else None} if p.window else None),
        "cutoffs": [{"name": c.name, "label": c.label, "date": c.date.isoformat(), "ends": list(c.ends),
                     "source": f"{c.source.file} {c.source.section}"} for c in p.cutoffs],
        "notices": {k: v.working_days for k, v in p.notices.items()},
        "levels": {k: {"years_after": dict(v.years_after) if v.years_after else None,
                       "issued_by": v.issued_by.value} for k, v in p.levels.items()},
        "catalogue_rows": len(p.catalogue.rows), "committees": committees,
        "fraud_bar_years": p.fraud_bar.years,
    }
    if as_json:
        emit_json(info)
        return
    out.print(f"[bold]{p.id}[/] — {p.name}")
    out.print(f"{p.authority} {p.document or ''} ({p.issued}), {p.track}"
              f"{', standing scheme' if p.standing else ''}; source {p.source.file}")
    out.print(f"years counted to: {info['reference_date']}")
    out.print("stages: " + " → ".join(p.stages))
    if p.window:
        out.print(f"filing window: {p.window.opens} – {p.window.closes or 'open-ended'}")
    table = Table("cutoff", "date (end of day)", "ends", "source", title="cutoffs")
    for c in p.cutoffs:
        table.add_row(f"{c.name} {c.label}", c.date.isoformat(), ", ".join(c.ends),
                      f"{c.source.file} {c.source.section}")
    if p.cutoffs:
        out.print(table)
    for stage, n in info["notices"].items():
        out.print(f"notice {stage}: {n} working days")
    out.print(f"catalogue: {len(p.catalogue.rows)} rows; fraud bar: {p.fraud_bar.years} years")
    out.print(f"committees ({len(committees)}):")
    for name in committees:
        out.print(f"  {name}")


@app.command("diagram")
def diagram(policy_id: str) -> None:
    """The policy's state machine as a mermaid state diagram."""
    from states.machine import mermaid_diagram

    sys.stdout.write(mermaid_diagram(policy_or_fail(policy_id)) + "\n")
