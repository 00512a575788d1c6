"""`zcflow export FILE` and `zcflow import FILE`: move or back up a whole database.

The file format is described in workflow/transfer.py. Bad input (a missing file, a bad line, a
database that is not empty) exits 2 with the reason.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.engine import Engine, make_url

from workflow.cli.base import DbOpt, JsonOpt, UsageProblem, app, emit_json, out

FileArg = Annotated[Path, typer.Argument(help="The export file (JSON lines); - for stdout/stdin.")]


def _engine(database: str | None, *, must_exist: bool) -> Engine:
    from storage.db import database_url, open_database

    url = database_url(database)
    if must_exist and url.startswith("sqlite"):
        path = make_url(url).database
        if not path or path == ":memory:":
            raise UsageProblem(f"--database: {url} does not exist")
    return open_database(url)


def _summary(counts: dict[str, int]) -> str:
    return ", ".join(f"{table} {n}" for table, n in counts.items())


def export_cmd(file: FileArg, database: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Write every applicant, case, history row, bar, notification and due time to FILE."""
    from workflow.transfer import TransferError, check_exportable, export_file, export_to

    db = _engine(database, must_exist=True)
    try:
        check_exportable(db)
        if str(file) == "-":
            report = export_to(db, sys.stdout)
            sys.stdout.flush()
            return
        try:
            report = export_file(db, file)
        except OSError as exc:
            raise UsageProblem(f"FILE: cannot write {file}: {exc.strerror}") from None
    except TransferError as exc:
        raise UsageProblem(str(exc)) from None
    finally:
        db.dispose()
    if as_json:
        emit_json({"file": str(file), "schema": report.schema, "rows": report.rows, "counts": report.counts})
    else:
        out.print(f"exported {report.rows} rows to {file} ({_summary(report.counts)})")


def import_cmd(file: FileArg, database: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Load an export into an empty database, in one transaction; refuses a database holding data."""
    from storage.migrate import upgrade
    from workflow.transfer import TransferError, import_file, import_lines

    if str(file) != "-" and not file.is_file():
        raise UsageProblem(f"FILE: {file} does not exist")
    db = _engine(database, must_exist=False)
    try:
        upgrade(db)
        if str(file) == "-":
            report = import_lines(db, sys.stdin.buffer)
        else:
            try:
                report = import_file(db, file)
            except OSError as exc:
                raise UsageProblem(f"FILE: cannot read {file}: {exc.strerror}") from None
    except TransferError as exc:
        raise UsageProblem(f"{file}: {exc}") from None
    finally:
        db.dispose()
    if as_json:
        emit_json({"file": str(file), "schema": report.schema, "rows": report.rows, "counts": report.counts})
    else:
        out.print(f"imported {report.rows} rows from {file} ({_summary(report.counts)})")


app.command("export")(export_cmd)
app.command("import")(import_cmd)
