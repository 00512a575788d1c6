"""`zcflow simulate`: a scenario, or a generated round, in compressed time."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from workflow.cli.base import JsonOpt, UsageProblem, app, emit_json, err, out, policy_or_fail, read_input


@app.command("simulate")
def simulate_cmd(
    file: Annotated[Path | None, typer.Argument(help="A scenario YAML file (CONTRACT §6).")] = None,
    as_json: JsonOpt = False,
    database: Annotated[str | None, typer.Option("--database", help="Run on this (empty) database "
                                                 "instead of a temporary SQLite file.")] = None,
    generate: Annotated[int | None, typer.Option("--generate", min=1, max=1_000_000,
                                                 help="Write and run a synthetic round of N applicants.")] = None,
    policy_id: Annotated[str | None, typer.Option("--policy", help="With --generate: the policy.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="With --generate: the random seed.")] = 1,
    out_file: Annotated[Path | None, typer.Option("--out", help="With --generate: also write the "
                                                  "scenario here.")] = None,
    by_applicant: Annotated[bool, typer.Option("--by-applicant", help="With --generate: list the steps "
                                               "grouped by applicant rather than in time order.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="Print only the summary, not the timeline.")] = False,
) -> None:
    """Run a scenario in compressed time. Exit 0 if every expectation holds, 1 if not, 2 if invalid."""
    from workflow.scenario import ScenarioError, dump_scenario, parse_scenario
    from workflow.simulate import simulate

    if generate is not None:
        from workflow.generate import generate_round

        if policy_id is None:
            raise UsageProblem("--policy: required with --generate")
        policy_or_fail(policy_id)
        text = dump_scenario(generate_round(policy_id, generate, seed, by_applicant=by_applicant))  # not kept
        if out_file is not None:
            out_file.write_text(text, encoding="utf-8")
        source = str(out_file or f"generated:{policy_id}:{generate}:{seed}")
    elif file is None:
        raise UsageProblem("FILE: give a scenario file, or --generate N --policy ID")
    else:
        text = read_input(file)
        source = str(file)
    try:
        scenario = parse_scenario(text, file.parent if file is not None and str(file) != "-" else None)
    except ScenarioError as exc:
        for problem in exc.problems:
            err.print(f"{source}: {problem}")
        raise typer.Exit(2) from None
    del text  # a generated round's is ~9 MB; the scenario holds what the run needs
    result = simulate(scenario, database, consume=True)  # not used again: its steps' memory serves the result
    if as_json:
        emit_json(result.to_json())
    else:
        _print_simulation(result, quiet)
    raise typer.Exit(0 if result.ok else 1)


def _print_simulation(result: Any, quiet: bool) -> None:
    out.print(f"[bold]{result.scenario}[/]")
    if not quiet:
        table = Table("at (Asia/Shanghai)", "case", "from → to", "action", "who", "reason", title="timeline")
        for r in result.timeline:
            table.add_row(r["at"][:16].replace("T", " "), r["case"], f"{r['from'] or '·'} → {r['to']}",
                          r["action"], r["actor"], r["reason"] or "")
        out.print(table)
    s = result.summary
    out.print(f"cases: {s['cases']}; final states: " + ", ".join(f"{k} {v}" for k, v in s["final_states"].items()))
    if s["expired_at_cutoff"]:
        out.print("expired at cutoffs: " + ", ".join(f"{k} {v}" for k, v in s["expired_at_cutoff"].items()))
    out.print(f"notices opened: {s['notices_opened']}; notifications: {s['notifications']} "
              + str(s["notifications_by_template"]))
    if result.failures:
        out.print(f"[bold red]{len(result.failures)} expectation(s) failed:[/]")
        for f in result.failures:
            out.print(f"  ✗ {f}")
    else:
        out.print("[bold green]every expectation holds[/]")
