"""The `zcflow` command: one module per command group, each named by what it does. Tables for people,
`--json` for scripts; bad input exits 2 naming the field."""

from __future__ import annotations

import os
import signal
import sys

# A Ctrl-C while the command is still importing (the first half second) ends it quietly with 130
# rather than a traceback. Only when zcflow is the program, never for a library import; main()
# restores Python's own KeyboardInterrupt once the command runs. While `python -m workflow.cli`
# imports this package, before it runs __main__.py, argv[0] is still "-m".
if sys.argv[0] == "-m" or os.path.basename(sys.argv[0]) in ("zcflow", "__main__.py"):
    signal.signal(signal.SIGINT, lambda *_: os._exit(130))

import importlib

import typer
from pydantic import ValidationError

from states.text import clip_message
from workflow.cli.base import UsageProblem, app, err, pydantic_message
from workflow.errors import WorkflowError

__all__ = ["COMMAND_MODULES", "UsageProblem", "app", "load_commands", "main"]

# Each module adds its commands to `app` when imported.
COMMAND_MODULES = (
    "policies",
    "policy_files",
    "policy_versions",
    "cases",
    "scheduling",
    "simulation",
    "demo",
    "notifications",
    "web",
    "transfer",
    "calendar_years",
    "webhooks",
    "filings",
)


def load_commands() -> typer.Typer:
    """The app with every command group registered (importing a module twice registers nothing twice)."""
    for name in COMMAND_MODULES:
        importlib.import_module(f"workflow.cli.{name}")
    return app


def main() -> None:
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        load_commands()  # a Ctrl-C while the command groups import ends with 130 like any other
        # Without standalone mode click returns the exit code of typer.Exit instead of raising it.
        code = app(standalone_mode=False)
        raise SystemExit(code if isinstance(code, int) else 0)
    except typer.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except WorkflowError as exc:
        err.print(f"error [{exc.code}]: {clip_message(exc.message)}")
        raise SystemExit(2) from None
    except ValidationError as exc:  # before ValueError, which it is
        err.print(f"error: {clip_message(pydantic_message(exc))}")
        raise SystemExit(2) from None
    except (UsageProblem, ValueError) as exc:  # PolicyError and UnknownYearError are ValueErrors
        err.print(f"error: {clip_message(str(exc))}")
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except Exception as exc:  # an unusable database; usage errors found by the command-line parser
        from storage.db import outage

        down = outage(exc)
        if down is not None:  # one line naming the database, password masked (CONTRACT §7)
            err.print(f"error [database_unavailable]: {down}")
            raise SystemExit(2) from None
        usage, abort = _parser_errors()
        if isinstance(exc, usage):
            # Every usage-error class has show() and exit_code.
            getattr(exc, "show")()  # noqa: B009
            raise SystemExit(getattr(exc, "exit_code", 2)) from None
        if isinstance(exc, abort):
            raise SystemExit(130) from None
        raise


def _parser_errors() -> tuple[tuple[type[Exception], ...], tuple[type[Exception], ...]]:
    """The parser's usage-error and abort classes. Typer 0.29 vends its own copy of click (whose
    errors derive from typer.TyperException); older Typer uses the click package."""
    usage: list[type[Exception]] = [typer.TyperException]
    abort: list[type[Exception]] = [typer.Abort]
    try:
        import click
    except ImportError:
        pass
    else:
        usage.append(click.exceptions.ClickException)
        abort.append(click.exceptions.Abort)
    return tuple(usage), tuple(abort)

