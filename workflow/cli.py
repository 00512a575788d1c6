"""The `zcflow` command. Tables for people, `--json` for scripts; bad input exits 2 naming the field."""

from __future__ import annotations

import os
import signal
import sys

# A Ctrl-C while the command is still importing (the first half second) ends it quietly with 130
# rather than a traceback. Only when zcflow is the program, never for a library import; main()
# restores Python's own KeyboardInterrupt once the command runs.
if os.path.basename(sys.argv[0]) in ("zcflow", "cli.py", "__main__.py"):
    signal.signal(signal.SIGINT, lambda *_: os._exit(130))

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from states.policy import get_policy, policies
from workflow.clock import SHANGHAI
from workflow.errors import WorkflowError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="zcflow: professional-title (职称) application rounds as durable state machines.")
case_app = typer.Typer(no_args_is_help=True, help="Create, act on and inspect one case.")
app.add_typer(case_app, name="case")

# Wide tables when piped (Rich would otherwise assume 80 columns); stderr never interprets markup,
# so an error code in brackets such as [illegal_transition] is printed as written.
out = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, highlight=False, markup=False, soft_wrap=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="One JSON object on stdout, for scripts.")]
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
                f"{field}: {value!r} is not an ISO date or time (e.g. 2025-04-15T09:00+08:00)") from None
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
        raise UsageProblem(f"{field}: {value!r} is not a real ISO date (YYYY-MM-DD)") from None


def pydantic_message(exc: ValidationError) -> str:
    parts = []
    for e in exc.errors():
        loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e["loc"]).lstrip(".")
        parts.append(f"{loc or '(input)'}: {e['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts)


def open_workflow(database: str | None) -> Any:
    from storage.db import make_engine
    from storage.migrate import upgrade
    from workflow.deadlines import ensure_schedule
    from workflow.engine import Workflow

    db = make_engine(database)
    upgrade(db)
    ensure_schedule(db)
    return Workflow(db)


# ---- policies -----------------------------------------------------------------------------

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


def _policy_or_fail(policy_id: str) -> Any:
    try:
        return get_policy(policy_id)
    except KeyError as exc:
        raise UsageProblem(f"policy: {exc.args[0]}") from None


policy_app = typer.Typer(no_args_is_help=True, help="Inspect one policy.")
app.add_typer(policy_app, name="policy")


@policy_app.command("show")
def policy_show(policy_id: str, as_json: JsonOpt = False) -> None:
    """Stages, window, cutoffs, notices, levels, catalogue size and committees of a policy."""
    p = _policy_or_fail(policy_id)
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

    sys.stdout.write(mermaid_diagram(_policy_or_fail(policy_id)) + "\n")


# ---- eligibility --------------------------------------------------------------------------

@app.command("eligibility")
def eligibility(
    file: Annotated[Path, typer.Argument(help="The applicant's filing as JSON (CONTRACT §5); - for stdin.")],
    policy_id: Annotated[str, typer.Option("--policy", help="Policy id.")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="Reference date for standing schemes.")] = None,
) -> None:
    """Check a filing against a policy; prints one JSON object. Exit 0 whether eligible or not."""
    from states.eligibility import FilingError, evaluate, parse_filing

    policy = _policy_or_fail(policy_id)
    day = parse_date(as_of, "--as-of")
    text = _read_input(file)
    try:
        filing = parse_filing(text)
    except FilingError as exc:
        raise UsageProblem(f"{file}: {exc}") from None
    if policy.standing and day is None:
        from workflow.clock import now

        day = now().date()
    result = evaluate(policy, filing, as_of=day)
    emit_json(result.to_json())


def _read_input(file: Path) -> str:
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


# ---- cases --------------------------------------------------------------------------------

@case_app.command("new")
def case_new(
    file: Annotated[Path, typer.Argument(help="The applicant's filing as JSON (CONTRACT §5).")],
    policy_id: Annotated[str, typer.Option("--policy")],
    at: Annotated[str | None, typer.Option("--at", help="The time to record (default: now).")] = None,
    database: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a case in draft from a filing."""
    from states.eligibility import FilingError, parse_filing

    _policy_or_fail(policy_id)
    try:
        filing = parse_filing(_read_input(file))
    except FilingError as exc:
        raise UsageProblem(f"{file}: {exc}") from None
    wf = open_workflow(database)
    case_id = wf.create_case(policy_id, filing, parse_time(at))
    if as_json:
        emit_json({"case": case_id, "state": "draft", "policy": policy_id})
    else:
        out.print(f"case {case_id} created in draft ({policy_id})")


@case_app.command("act")
def case_act(
    case_id: int,
    action: str,
    role: Annotated[str, typer.Option("--as", help="The actor's role, e.g. applicant, employer.")],
    reason: Annotated[str | None, typer.Option("--reason")] = None,
    actor_id: Annotated[str | None, typer.Option("--actor-id", help="Who, for the history.")] = None,
    at: Annotated[str | None, typer.Option("--at", help="The time of the action (default: now).")] = None,
    database: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Take an action on a case."""
    from workflow.engine import Actor

    actor = Actor.parse(role, actor_id)
    wf = open_workflow(database)
    t = wf.fire(case_id, action, actor, parse_time(at), reason)
    if as_json:
        emit_json({"case": t.case_id, "action": t.action, "from": t.from_state, "to": t.to_state,
                   "at": t.at.isoformat(), "version": t.version})
    else:
        out.print(f"case {t.case_id}: {t.from_state} → {t.to_state} ({t.action} by {t.actor.role.value})")


def shanghai_minute(t: dt.datetime | None) -> str:
    """A time as people read it in tables: Asia/Shanghai, to the minute."""
    return t.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if t else ""


@case_app.command("show")
def case_show(case_id: int, database: DbOpt = None, as_json: JsonOpt = False) -> None:
    """A case's state, eligibility result and history."""
    from storage import repo

    wf = open_workflow(database)
    case = wf.case(case_id)
    with wf.db.connect() as conn:
        hist = repo.case_history(conn, case_id)
    allowed = wf.allowed_actions(case_id)
    if as_json:
        emit_json({
            "case": case.id, "policy": case.policy_id, "state": case.state, "version": case.version,
            "name": case.name, "district": case.district, "employer": case.employer,
            "level": case.level, "title": case.title, "committee": case.committee,
            "eligibility": case.eligibility or None,
            "notice_closes_at": case.notice_closes_at.isoformat() if case.notice_closes_at else None,
            "allowed_actions": allowed,
            "history": [{"seq": h.seq, "at": h.at.isoformat(), "from": h.from_state or None, "to": h.to_state,
                         "action": h.action, "actor": h.actor_role, "actor_id": h.actor_id,
                         "reason": h.reason} for h in hist],
        })
        return
    out.print(f"[bold]case {case.id}[/] {case.name} — {case.policy_id}: [bold]{case.state}[/] (v{case.version})")
    out.print(f"{case.district} · {case.employer} · {case.specialty}")
    if case.eligibility:
        e = case.eligibility
        out.print(f"eligibility: {e.get('level')} {e.get('title')} ({e.get('series')}), "
                  f"{e.get('full_years')} full years to {e.get('reference_date')}; committee {e.get('committee')}"
                  + (f"; rule {e['rule']}" if e.get("rule") else ""))
    if case.notice_closes_at:
        out.print(f"notice closes: {shanghai_minute(case.notice_closes_at)} (Asia/Shanghai)")
    table = Table("#", "at (Asia/Shanghai)", "from", "to", "action", "who", "reason", title="history")
    for h in hist:
        who = h.actor_role + (f" {h.actor_id}" if h.actor_id else "")
        table.add_row(str(h.seq), shanghai_minute(h.at), h.from_state, h.to_state, h.action, who, h.reason or "")
    out.print(table)
    out.print("allowed now: " + (", ".join(allowed) or "nothing"))


@app.command("cases")
def list_cases(
    policy_id: Annotated[str | None, typer.Option("--policy")] = None,
    state: Annotated[str | None, typer.Option("--state")] = None,
    district: Annotated[str | None, typer.Option("--district")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=100000)] = 200,
    database: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List cases, filtered."""
    from states.idcard import mask
    from states.vocabulary import ALL_STATES
    from storage import repo

    if policy_id:
        _policy_or_fail(policy_id)
    if state and state not in ALL_STATES:
        raise UsageProblem(f"--state: unknown state {state!r}; states: {', '.join(ALL_STATES)}")
    wf = open_workflow(database)
    with wf.db.connect() as conn:
        rows = repo.list_cases(conn, policy_id=policy_id, state=state, district=district, limit=limit)
    if as_json:
        emit_json([{"case": r.id, "policy": r.policy_id, "state": r.state, "name": r.name,
                    "id_number": mask(r.id_number), "district": r.district, "employer": r.employer,
                    "level": r.level} for r in rows])
        return
    table = Table("case", "policy", "state", "name", "ID", "district", "employer", title=f"{len(rows)} cases")
    for r in rows:
        table.add_row(str(r.id), r.policy_id, r.state, r.name, mask(r.id_number), r.district or "",
                      r.employer or "")
    out.print(table)


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
    quiet: Annotated[bool, typer.Option("--quiet", help="Print only the summary, not the timeline.")] = False,
) -> None:
    """Run a scenario in compressed time. Exit 0 if every expectation holds, 1 if not, 2 if invalid."""
    from workflow.scenario import ScenarioError, dump_scenario, parse_scenario
    from workflow.simulate import simulate

    if generate is not None:
        from workflow.generate import generate_round

        if policy_id is None:
            raise UsageProblem("--policy: required with --generate")
        _policy_or_fail(policy_id)
        data = generate_round(policy_id, generate, seed)
        text = dump_scenario(data)
        if out_file is not None:
            out_file.write_text(text, encoding="utf-8")
        source = str(out_file or f"generated:{policy_id}:{generate}:{seed}")
    elif file is None:
        raise UsageProblem("FILE: give a scenario file, or --generate N --policy ID")
    else:
        text = _read_input(file)
        source = str(file)
    try:
        scenario = parse_scenario(text)
    except ScenarioError as exc:
        for problem in exc.problems:
            err.print(f"{source}: {problem}")
        raise typer.Exit(2) from None
    result = simulate(scenario, database)
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


@app.command("demo")
def demo_cmd(
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
    database: Annotated[str, typer.Option("--database", help="Where the demo keeps its data.")] =
        "sqlite:///zcflow-demo.db",
    as_of: Annotated[str | None, typer.Option("--as-of", help="The moment the demo runs at (default "
                                              "2025-04-10T10:00+08:00, inside the Hangzhou 2025 H1 round).")] = None,
) -> None:
    """Load a simulated round into SQLite and run the scheduler and the admin UI. Ctrl-C stops it."""
    import logging

    from apscheduler.schedulers.background import BackgroundScheduler
    from sqlalchemy import func, select

    from storage import repo
    from storage.db import make_engine
    from workflow import clock
    from workflow.deadlines import ensure_schedule
    from workflow.demo import DEMO_AS_OF, load_demo
    from workflow.scheduler import make_scheduler

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    start = parse_time(as_of, "--as-of") if as_of else DEMO_AS_OF
    db = make_engine(database)
    out.print(f"loading the demo round into {database} …")
    result = load_demo(db, start)
    with db.connect() as conn:
        latest = conn.execute(select(func.max(repo.history.c.at))).scalar()
        counts = repo.count_by_state(conn)
    if latest is not None and latest.replace(tzinfo=latest.tzinfo or dt.UTC) > start:
        start = latest.replace(tzinfo=latest.tzinfo or dt.UTC)  # a restarted demo never runs backwards
    clock.set_now(start)
    ensure_schedule(db)
    out.print(("loaded" if result else "kept the existing") + f" demo data: {sum(counts.values())} cases — "
              + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    out.print(f"demo clock: {clock.now().strftime('%Y-%m-%d %H:%M')} Asia/Shanghai (it runs on from there)")
    sched = make_scheduler(db, scheduler_class=BackgroundScheduler)
    sched.start()
    try:
        try:
            from workflow.web.demo import run_demo_web
        except ImportError:  # the web UI is not installed in this build
            out.print("scheduler running; Ctrl-C stops it")
            import threading

            threading.Event().wait()
        else:
            run_demo_web(db, host, port, out)
    except KeyboardInterrupt:
        pass
    finally:
        sched.shutdown(wait=True)
        db.dispose()
        out.print("stopped; every case is kept in " + database)


@app.command("init")
def init_cmd(database: DbOpt = None) -> None:
    """Create or upgrade the database and write every policy's due times."""
    wf = open_workflow(database)
    out.print(f"database ready: {wf.db.url.render_as_string(hide_password=True)}")


# Command groups that live in their own modules. They import this module, so they are registered
# when the command runs (main), not at import time.
EXTENSIONS = ("workflow.cli_notify", "workflow.cli_web", "workflow.cli_reliability")
_registered: set[str] = set()


def register_extensions() -> None:
    import importlib

    for name in EXTENSIONS:
        if name not in _registered:
            importlib.import_module(name).register(app)
            _registered.add(name)


def main() -> None:
    signal.signal(signal.SIGINT, signal.default_int_handler)
    register_extensions()
    try:
        # Without standalone mode click returns the exit code of typer.Exit instead of raising it.
        code = app(standalone_mode=False)
        raise SystemExit(code if isinstance(code, int) else 0)
    except typer.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except WorkflowError as exc:
        err.print(f"error [{exc.code}]: {exc.message}")
        raise SystemExit(2) from None
    except ValidationError as exc:  # before ValueError, which it is
        err.print(f"error: {pydantic_message(exc)}")
        raise SystemExit(2) from None
    except (UsageProblem, ValueError) as exc:  # PolicyError and UnknownYearError are ValueErrors
        err.print(f"error: {exc}")
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except Exception as exc:  # usage errors found by the command-line parser
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


if __name__ == "__main__":
    # Run the importable module's main, so that extensions importing `workflow.cli` share one app.
    from workflow.cli import main as _main

    _main()
