"""`zcflow calendar import|show|list`: the working-day schedule of each year (CONTRACT §10)."""

from __future__ import annotations

import calendar as monthly
import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.cells import cell_len
from rich.table import Table

from states.text import clip
from workflow.calendar_import import year_view
from workflow.cli.base import (
    DbOpt,
    JsonOpt,
    UsageProblem,
    app,
    cli_actor,
    emit_json,
    open_workflow,
    out,
    parse_time,
    read_input,
    shanghai_minute,
)

calendar_app = typer.Typer(no_args_is_help=True, help="Working-day schedules: import a year, show one, list all.")
app.add_typer(calendar_app, name="calendar")


@contextmanager
def _workflow(database: str | None) -> Iterator[Any]:
    """open_workflow, with the engine's connections closed when the command ends."""
    wf = open_workflow(database)
    try:
        yield wf
    finally:
        wf.db.dispose()




@calendar_app.command("import")
def calendar_import(
    file: Annotated[Path, typer.Argument(help="The year's schedule as YAML (CONTRACT §10); - for stdin.")],
    override: Annotated[bool, typer.Option("--override", help="Replace a year chinesecalendar (or an official "
                                                               "import) already has with different days.")] = False,
    reason: Annotated[str | None, typer.Option("--reason", help="Why (needed with --override).")] = None,
    at: Annotated[str | None, typer.Option("--at", help="The time to record (default: now).")] = None,
    database: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Check a year's schedule and store it; recompute every pending deadline that depends on it."""
    from workflow.calendar_import import import_calendar_year

    content = read_input(file)
    when = parse_time(at)
    with _workflow(database) as wf:
        report = import_calendar_year(wf.db, content, name=str(file), at=when, actor=cli_actor(),
                                      override=override, reason=reason)
    if as_json:
        emit_json(report.to_json())
        return
    replaced = {"package": "replaces chinesecalendar's", "official": "replaces the imported official",
                "provisional": "replaces the imported provisional"}.get(report.replaced or "", "new")
    r = report.recomputed
    out.print(f"calendar {report.year} imported ({report.status}, {replaced} schedule): {report.source}")
    out.print(f"deadlines moved: {r.deadlines_moved} ({r.notices_moved} notice closes, {r.reminders_moved} "
              f"reminders); reminders added: {r.reminders_added}; cases notified: {r.cases_notified}")


def _year_or_fail(value: str) -> int:
    if not value.isdigit() or not 1900 <= int(value) <= 2200:
        raise UsageProblem(f"YEAR: {clip(value)} is not a year (1900–2200)")
    return int(value)


def month_grid(data: Any, month: int) -> list[str]:
    """One month as text lines: 休 marks a day off in a holiday, 班 a make-up working day."""
    off, extra = data.days_off(), set(data.workdays)
    title = f"{data.year}年{month}月"
    lines = [" " * ((35 - cell_len(title)) // 2) + title, "".join(f"  {w} " for w in "一二三四五六日")]
    for week in monthly.Calendar(0).monthdayscalendar(data.year, month):
        cells = []
        for d in week:
            if d == 0:
                cells.append("     ")
                continue
            day = dt.date(data.year, month, d)
            mark = "休" if day in off else "班" if day in extra else "  "
            cells.append(f"{d:>2}{mark} ")
        lines.append("".join(cells).rstrip())
    return lines


def _records(database: str | None) -> dict[int, Any]:
    from storage.calendar_years import year_records

    with _workflow(database) as wf, wf.db.connect() as conn:
        return {int(r.year): r for r in year_records(conn)}


@calendar_app.command("show")
def calendar_show(year: Annotated[str, typer.Argument(help="The year, e.g. 2027.")],
                  database: DbOpt = None, as_json: JsonOpt = False) -> None:
    """A year as a month grid: holidays (休), make-up working days (班), and where it came from."""
    chosen = _year_or_fail(year)
    view = year_view(chosen, _records(database))
    if view is None:
        raise UsageProblem(f"YEAR: {chosen} is not known (neither chinesecalendar nor imported); import it with "
                           "zcflow calendar import FILE")
    data = view.pop("_data")
    if as_json:
        emit_json(view)
        return
    origin = ("imported" + (" (in place of chinesecalendar's)" if view.get("replaces_package") else "")
              if view["origin"] == "imported" else "chinesecalendar package")
    label = "正式 official" if view["status"] == "official" else "暂定 provisional"
    out.print(f"[bold]{chosen}[/] — {label}; from: {origin}")
    out.print(f"source: {view['source']}", markup=False)
    if view["origin"] == "imported":
        out.print(f"imported {shanghai_minute(dt.datetime.fromisoformat(view['imported_at']))} by {view['imported_by']}"
                  + (f"; reason: {view['reason']}" if view.get("reason") else ""), markup=False)
    for first in range(1, 13, 3):
        blocks = [month_grid(data, m) for m in range(first, first + 3)]
        height = max(len(b) for b in blocks)
        for i in range(height):
            cells = [b[i] if i < len(b) else "" for b in blocks]
            out.print("   ".join(c + " " * (35 - cell_len(c)) for c in cells).rstrip(), markup=False)
        out.print("")
    out.print("holidays (休): " + "; ".join(f"{h['name']} {h['from']}–{h['to']}" for h in view["holidays"]),
              markup=False)
    out.print("make-up working days (班): " + (", ".join(view["workdays"]) or "none"), markup=False)


@calendar_app.command("list")
def calendar_list(database: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Every year known: from the chinesecalendar package or imported, official or provisional."""
    from states.calendar import product_calendar

    records = _records(database)
    years = sorted(set(product_calendar().known_years()) | set(records))
    rows = []
    for year in years:
        view = year_view(year, records)
        assert view is not None
        rows.append({"year": year, "origin": view["origin"], "status": view["status"], "source": view["source"],
                     "imported_at": view.get("imported_at")})
    if as_json:
        emit_json(rows)
        return
    table = Table("year", "from", "status", "source", title=f"{len(rows)} years")
    for r in rows:
        table.add_row(str(r["year"]), "imported" if r["origin"] == "imported" else "chinesecalendar",
                      r["status"], r["source"])
    out.print(table)
