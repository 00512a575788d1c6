"""`zcflow demo` and `zcflow init`: the demo on the embedded database, and creating a database."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from workflow.cli.base import DbOpt, app, open_workflow, out, parse_time


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
    from storage.db import open_database
    from workflow import clock
    from workflow.deadlines import ensure_schedule
    from workflow.demo import DEMO_AS_OF, load_demo
    from workflow.scheduler import make_scheduler

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    start = parse_time(as_of, "--as-of") if as_of else DEMO_AS_OF
    db = open_database(database, create=True)
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
    """Create or upgrade the database and write every policy's due times (the one command, with
    `demo` and `simulate`, that creates a database)."""
    wf = open_workflow(database, create=True)
    out.print(f"database ready: {wf.db.url.render_as_string(hide_password=True)}")
