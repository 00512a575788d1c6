"""What every `zcflow` command shares: the app, the consoles, the option types, input parsing and
the error type that exits 2 naming the field."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console

from states.policy import get_policy
from states.text import clip
from workflow.clock import SHANGHAI

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="zcflow: professional-title (职称) application rounds as durable state machines.")

# Wide tables when piped (Rich would otherwise assume 80 columns); stderr never interprets markup,
# so an error code in brackets such as [illegal_transition] is printed as written.
out = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, highlight=False, markup=False, soft_wrap=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="One JSON object on stdout, for scripts.")]
# Every command that writes takes --at (CONTRACT §3): the time it records, default now.
AtOpt = Annotated[str | None, typer.Option("--at", help="The time to record (default: now).")]
DbOpt = Annotated[str | None, typer.Option("--database", envvar="ZCFLOW_DATABASE_URL",
                                           help="Database URL (default: SQLite file zcflow.db here).")]


class UsageProblem(Exception):
    """Bad input found by the CLI itself: message names the field; exit 2."""


def fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"error: {message}")
    raise typer.Exit(code)


def emit_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2, default=str) + "\n")


def parse_time(value: str | None, field: str = "--at") -> dt.datetime:
    """An ISO time; a value without an offset is taken as Asia/Shanghai (CONTRACT §4)."""
    if value is None:
        from workflow.clock import now

        return now()
    try:
        t = dt.datetime.fromisoformat(value)
    except ValueError:
        try:
            d = dt.date.fromisoformat(value)
        except ValueError:
            raise UsageProblem(
                f"{field}: {clip(value)} is not an ISO date or time (e.g. 2025-04-15T09:00+08:00)") from None
        t = dt.datetime(d.year, d.month, d.day)
    from workflow.scenario import YEARS

    if t.year not in YEARS:
        raise UsageProblem(f"{field}: year {t.year} is out of range ({YEARS.start}–{YEARS.stop - 1})")
    return t if t.tzinfo else t.replace(tzinfo=SHANGHAI)


def parse_date(value: str | None, field: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise UsageProblem(f"{field}: {clip(value)} is not a real ISO date (YYYY-MM-DD)") from None


def pydantic_message(exc: ValidationError) -> str:
    parts = []
    for e in exc.errors():
        loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e["loc"]).lstrip(".")
        parts.append(f"{loc or '(input)'}: {e['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts)


def open_workflow(database: str | None, *, create: bool = False) -> Any:
    """The workflow over `database`, migrated. Only `init`, `demo` and `simulate` pass `create`: every
    other command refuses a SQLite file or directory that does not exist, naming the path."""
    from storage.db import open_database
    from storage.migrate import upgrade
    from workflow.deadlines import ensure_schedule
    from workflow.engine import Workflow

    db = open_database(database, create=create)
    upgrade(db)
    ensure_schedule(db)
    return Workflow(db)


def shanghai_minute(t: dt.datetime | None) -> str:
    """A time as people read it in tables: Asia/Shanghai, to the minute."""
    return t.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if t else ""


def read_input(file: Path) -> str:
    """The text of FILE (``-`` for stdin); a missing or unreadable file is a usage problem."""
    if str(file) == "-":
        return sys.stdin.read()
    try:
        return file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageProblem(f"FILE: {file} does not exist") from None
    except UnicodeDecodeError:
        raise UsageProblem(f"FILE: {file} is not UTF-8 text") from None
    except OSError as exc:
        raise UsageProblem(f"FILE: cannot read {file}: {exc.strerror}") from None


def existing_database(database: str | None = None) -> Any:
    """An engine over the database the command would use, when it exists (None otherwise): for
    commands that read it if there is one (imported policies, calendar years) but need none."""
    import os

    from storage.db import database_url, make_engine

    url = database_url(database)
    if database or os.environ.get("ZCFLOW_DATABASE_URL") or (
            url.startswith("sqlite:///") and Path(url.removeprefix("sqlite:///")).exists()):
        from storage.migrate import upgrade

        db = make_engine(url)
        upgrade(db)
        return db
    return None


def policy_or_fail(policy_id: str) -> Any:
    try:
        return get_policy(policy_id)
    except KeyError:
        pass
    # Not bundled: perhaps imported into the database (CONTRACT §9), if there is one.
    db = existing_database()
    if db is not None:
        from workflow.policy_registry import bind

        bind(db)
    try:
        return get_policy(policy_id)
    except KeyError as exc:
        raise UsageProblem(f"policy: {exc.args[0]}") from None


def cli_actor() -> str:
    """Who acts from the command line, for the history and the audit log: `cli:<os user>`."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in this environment (a container without a passwd entry)
        return "cli:unknown"
