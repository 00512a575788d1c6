"""`zcflow policy schema`, `policy new` and `policy check`: writing the next round's file (CONTRACT §9)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from workflow.cli.base import DbOpt, JsonOpt, UsageProblem, emit_json, err, existing_database, out, read_input
from workflow.cli.policies import policy_app


@policy_app.command("schema")
def schema_cmd() -> None:
    """Print the JSON Schema of a policy file (for editors that validate as you type)."""
    from workflow.policy_files import json_schema

    emit_json(json_schema())


@policy_app.command("new")
def new_cmd(
    new_id: Annotated[str, typer.Argument(help="The new policy's id, e.g. hz-recognition-2027h1.")],
    from_id: Annotated[str, typer.Option("--from", help="The policy to start from.")],
    out_file: Annotated[Path | None, typer.Option("--out", help="Write here (default: NEW_ID.yaml).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a starting file for a new round from an existing policy; it imports on its own."""
    import re

    from workflow.policy_files import starting_file
    from workflow.policy_registry import bind, source_text

    db = existing_database()  # a policy imported there may be the starting point
    if db is not None:
        bind(db)

    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{1,62}", new_id):
        raise UsageProblem(f"NEW_ID: {new_id!r} must be lower-case letters, digits and hyphens (2–63)")
    text, directory, label = source_text(from_id)
    target = out_file or Path(f"{new_id}.yaml")
    if target.exists() and not force:
        raise UsageProblem(f"--out: {target} exists (give --force to overwrite)")
    target.write_text(starting_file(text, new_id, label, directory), encoding="utf-8")
    out.print(f"wrote {target} (from {label}); next: zcflow policy check {target}")


@policy_app.command("check")
def check_cmd(
    file: Annotated[Path, typer.Argument(help="The policy file.")],
    simulate: Annotated[int | None, typer.Option("--simulate", min=1, max=100_000,
                                                 help="Also run a generated round of N applicants.")] = None,
    as_json: JsonOpt = False,
    database: DbOpt = None,
) -> None:
    """Errors exit 2 naming file, line and field; warnings are printed and exit 0."""
    from workflow.policy_registry import bind, check_file, sync_from

    text = read_input(file)
    db = existing_database(database)  # its imported calendar years, if there is a database
    if db is not None:
        bind(db)
        sync_from(db)
    report = check_file(text, file.name)
    result: dict[str, object] = report.as_dict()
    if report.ok and simulate is not None:
        from workflow.policy_registry import simulate_file

        result["simulation"] = simulate_file(text, file.name, simulate)
    if as_json:
        emit_json(result)
    else:
        for line in report.lines():
            if ": error: " in line:
                err.print(line)
            else:
                out.print(line, markup=False)
        if report.ok:
            out.print(f"{file.name}: {report.policy.id if report.policy else ''} is valid; "
                      f"{len(report.warnings)} warning(s)")
        sim = result.get("simulation")
        if isinstance(sim, dict):
            out.print(f"simulated {sim['cases']} applicants: " + ", ".join(
                f"{state} {n}" for state, n in sim["final_states"].items()))
    raise typer.Exit(0 if report.ok else 2)
