"""`zcflow import-filings FILE.xlsx|csv --policy ID [--skip-invalid]`: a platform's 花名册-style export
becomes draft cases (CONTRACT §11; workflow/filings_import.py). Exit 0 when imported, 2 when the file
or a row is invalid and nothing was imported."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from workflow.cli.base import DbOpt, JsonOpt, UsageProblem, app, cli_actor, emit_json, open_workflow, out, parse_time

OUTCOME_LABELS = {"created": "已创建", "duplicate": "重复", "invalid": "无效", "skipped": "未导入"}


@app.command("import-filings")
def import_filings_cmd(
    file: Annotated[Path, typer.Argument(help="The platform's export: .xlsx or .csv, one applicant a row.")],
    policy: Annotated[str, typer.Option("--policy", help="The policy the cases are filed under.")],
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help="Import the valid rows even if some are "
                                                                       "invalid (default: all or nothing).")]
    = False,
    at: Annotated[str | None, typer.Option("--at", help="When (default: now).")] = None,
    database: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create draft cases from a 花名册-style export; report each row: created, duplicate or invalid."""
    from workflow.filings_import import FilingsFileError, import_filings, read_sheet

    try:
        data = file.read_bytes()
    except OSError as exc:
        raise UsageProblem(f"FILE: cannot read {file}: {exc.strerror or exc}") from None
    try:
        rows = read_sheet(data, file.name)
    except FilingsFileError as exc:
        raise UsageProblem(str(exc)) from None
    now = parse_time(at)
    actor = cli_actor()
    wf = open_workflow(database)
    try:
        report = import_filings(wf, policy, rows, now, actor=actor, skip_invalid=skip_invalid)
    finally:
        wf.db.dispose()
    if as_json:
        emit_json(report.to_json())
    else:
        table = Table("行", "姓名", "结果", "案件", "说明", title=f"{file.name} → {report.policy}")
        for r in report.rows:
            table.add_row(str(r.row), r.name or "", OUTCOME_LABELS[r.outcome], str(r.case or ""), r.message or "")
        out.print(table)
        verdict = "imported" if report.imported else "NOTHING imported"
        out.print(f"{verdict}: {report.count('created')} created, {report.count('duplicate')} duplicate, "
                  f"{report.count('invalid')} invalid", highlight=False)
    if not report.imported:
        raise typer.Exit(2)
