"""`zcflow tick` and `zcflow scheduler`: applying what is due, once or for as long as it runs."""

from __future__ import annotations

from typing import Annotated

import typer

from workflow.cli.base import DbOpt, JsonOpt, app, emit_json, open_workflow, out, parse_time

# ---- time ---------------------------------------------------------------------------------

@app.command("tick")
def tick_cmd(
    at: Annotated[str | None, typer.Option("--at", help="Apply what is due as of this time.")] = None,
    database: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Apply every notice closing, cutoff and reminder due up to --at (default: now)."""
    from workflow.deadlines import tick

    wf = open_workflow(database)
    report = tick(wf.db, parse_time(at))
    if as_json:
        emit_json({"notices_closed": report.notices_closed, "expired": report.expired,
                   "reminders": report.reminders, "events": report.events_applied})
    else:
        expired = {k: v for k, v in report.expired.items() if v}
        out.print(f"notices closed: {report.notices_closed}; expired: {sum(expired.values())} "
                  f"{expired or ''}; reminders: {report.reminders}")

@app.command("scheduler")
def scheduler_cmd(
    interval: Annotated[int, typer.Option("--interval", min=1, max=3600,
                                          help="Seconds between ticks (it also wakes at each due time).")] = 60,
    database: DbOpt = None,
) -> None:
    """Run the scheduler: tick every minute and at each due time; catches up after downtime."""
    import logging

    from workflow.scheduler import run

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    wf = open_workflow(database)
    out.print(f"scheduler running over {wf.db.url.render_as_string(hide_password=True)}; Ctrl-C stops it")
    run(wf.db, interval)
