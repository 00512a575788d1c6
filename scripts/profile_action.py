"""Where one API action's CPU goes, in process (issue 18): the app called straight through ASGI (no
HTTP server, no thread pool: FastAPI's sync work runs inline so that one profiler sees all of it),
the load test's mix of actions on its seeded cases, and the database round trips counted per request.

    python scripts/profile_action.py --database postgresql://postgres@127.0.0.1:5432/test [--requests 2000]

Prints the mean wall time per request, the cumulative time of each layer's entry point per request
(cProfile; nested layers are inside their callers), and the round trips per request by kind. It works
in a schema of its own (dropped at the end).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import event, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from loadtest import EMPLOYER, NOW, PASSWORD, POLICY, schema_url, seed  # noqa: E402

from storage import repo  # noqa: E402
from storage.db import make_engine  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from workflow.deadlines import ensure_schedule  # noqa: E402

# (label, function name as cProfile shows it, file suffix)
LAYERS = [
    ("whole request (middleware down)", "__call__", "workflow/web/middleware.py"),
    ("FastAPI: parse, validate, solve dependencies", "solve_dependencies", "fastapi/dependencies/utils.py"),
    ("  token check (api_user)", "api_user", "workflow/web/auth.py"),
    ("    user lookup (load_user)", "load_user", "workflow/web/users.py"),
    ("  query-parameter check (strict_query)", "strict_query", "workflow/web/api.py"),
    ("endpoint act()", "act", "workflow/web/api.py"),
    ("  request fingerprint", "fingerprint", "workflow/web/idempotency.py"),
    ("  scope: visible-case read (load_visible)", "load_visible", "workflow/web/service.py"),
    ("  Workflow.fire", "fire", "workflow/engine.py"),
    ("  response model + JSON", "respond", "workflow/web/idempotency.py"),
    ("error → JSON (the 409s)", "workflow_error", "workflow/web/app.py"),
    ("JSON encode (stdlib json.dumps)", "dumps", "json/__init__.py"),
    ("JSON encode (orjson)", "<built-in method orjson.dumps>", ""),
]


def count_round_trips(db: Any, counts: Counter[str]) -> None:
    @event.listens_for(db, "before_cursor_execute")
    def _statement(*_args: Any) -> None:
        counts["statement (SQLAlchemy)"] += 1

    @event.listens_for(db, "begin")
    def _begin(*_args: Any) -> None:
        counts["BEGIN"] += 1

    @event.listens_for(db, "commit")
    def _commit(*_args: Any) -> None:
        counts["COMMIT"] += 1

    @event.listens_for(db, "rollback")
    def _rollback(*_args: Any) -> None:
        counts["ROLLBACK"] += 1

    @event.listens_for(db.pool, "checkout")
    def _checkout(*_args: Any) -> None:
        counts["pool checkout (pre-ping: SELECT 1)" if db.pool._pre_ping else "pool checkout"] += 1

    @event.listens_for(db.pool, "reset")
    def _reset(*_args: Any) -> None:
        counts["reset on return (ROLLBACK if a transaction is open)"] += 1

    raw = repo._execute

    def counted(conn: Any, sql: str, params: Any, many: bool = False) -> Any:
        counts["statement (engine's driver-level path)"] += 1
        return raw(conn, sql, params, many)

    repo._execute = counted  # type: ignore[assignment]


def inline_threadpool() -> None:
    """FastAPI's sync dependencies and endpoints run in the calling thread (one profile sees them)."""
    import fastapi.dependencies.utils as deps
    import fastapi.routing as routing

    async def inline(func: Any, *args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    for module in (deps, routing):
        if hasattr(module, "run_in_threadpool"):
            module.run_in_threadpool = inline  # type: ignore[attr-defined]


async def call(app: Any, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(k.lower().encode(), v.encode()) for k, v in
                         {**headers, "content-length": str(len(body)), "host": "127.0.0.1"}.items()],
             "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 80)}
    sent = False
    out: dict[str, Any] = {"body": b""}

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            out["status"] = message["status"]
        elif message["type"] == "http.response.body":
            out["body"] += message.get("body", b"")

    await app(scope, receive, send)
    return int(out["status"]), bytes(out["body"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", required=True, help="a PostgreSQL URL")
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    from workflow.web.app import create_app
    from workflow.web.users import create_user

    schema = f"prof_{uuid.uuid4().hex[:8]}"
    admin = make_engine(args.database)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    db = make_engine(schema_url(args.database, schema))
    try:
        upgrade(db)
        ensure_schedule(db, [POLICY])
        n = args.requests
        seed(db, n, 0, NOW)
        create_user(db, "load-employer", PASSWORD, "employer", {"employer": EMPLOYER}, NOW)
        app = create_app(db, secret="x" * 32, clock=lambda: NOW)
        inline_threadpool()
        loop = asyncio.new_event_loop()
        status, raw = loop.run_until_complete(call(app, "POST", "/api/token", {"content-type": "application/json"},
                                                   json.dumps({"username": "load-employer",
                                                               "password": PASSWORD}).encode()))
        token = json.loads(raw)["access_token"]
        headers = {"content-type": "application/json", "authorization": f"Bearer {token}"}
        # The load test's mix: on even cases an approval and then a return (the second a 409), on odd
        # ones an approval.
        plan: list[tuple[int, str]] = []
        for case_id in range(1, n + 1):
            plan.append((case_id, "employer_approve"))
            if case_id % 2 == 0:
                plan.append((case_id, "employer_return"))
        plan = plan[:n]
        bodies = {a: json.dumps({"action": a, **({"reason": "材料不完整"} if a == "employer_return" else {})}).encode()
                  for a in ("employer_approve", "employer_return")}
        for case_id, action in plan[:50]:  # warm up: compile caches, first connections
            loop.run_until_complete(call(app, "POST", f"/api/cases/{case_id}/actions", headers, bodies[action]))
        plan = plan[50:]
        half = len(plan) // 2
        unprofiled, plan = plan[:half], plan[half:]
        t0, c0 = time.perf_counter(), time.process_time()
        for case_id, action in unprofiled:
            loop.run_until_complete(call(app, "POST", f"/api/cases/{case_id}/actions", headers, bodies[action]))
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        print(f"{len(unprofiled)} requests, one at a time, no profiler: {wall * 1000 / len(unprofiled):.2f} ms wall "
              f"and {cpu * 1000 / len(unprofiled):.2f} ms CPU of this process each")
        counts: Counter[str] = Counter()
        statuses: Counter[int] = Counter()
        count_round_trips(db, counts)
        profile = cProfile.Profile(time.thread_time)  # CPU time: waits for the database are not counted
        t0 = time.perf_counter()
        profile.enable()
        for case_id, action in plan:
            status, _ = loop.run_until_complete(call(app, "POST", f"/api/cases/{case_id}/actions", headers,
                                                     bodies[action]))
            statuses[status] += 1
        profile.disable()
        wall = time.perf_counter() - t0
        done = len(plan)
        print(f"{done} requests {dict(statuses)}: {wall * 1000 / done:.2f} ms each, wall, in process; "
              "the layers below are CPU time (with cProfile's own overhead)")
        stats = pstats.Stats(profile)
        cumulative: dict[tuple[str, str], float] = {}
        for (file, _line, name), (_cc, _nc, _tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
            for label, fname, suffix in LAYERS:
                if name == fname and file.endswith(suffix):
                    # Nested middleware share a name: the outermost (largest) is the whole request.
                    before = cumulative.get((label, fname), 0.0)
                    cumulative[(label, fname)] = max(before, ct) if label.startswith("whole") else before + ct
        total = sum(v for (label, _f), v in cumulative.items() if label.startswith("whole"))
        for label, fname, _suffix in LAYERS:
            ct = cumulative.get((label, fname))
            if ct is not None:
                print(f"  {label:<52} {ct * 1000 / done:6.3f} ms  {100 * ct / total if total else 0:5.1f}%")
        if os.environ.get("ZCFLOW_PROFILE_TOP"):
            stats.sort_stats("tottime").print_stats(int(os.environ["ZCFLOW_PROFILE_TOP"]))
        print("database round trips per request:")
        for kind, k in sorted(counts.items()):
            print(f"  {kind:<52} {k / done:5.2f}")
        trips = sum(k for kind, k in counts.items() if not kind.startswith("reset"))
        print(f"  {'total (pings, BEGIN/COMMIT/ROLLBACK, statements)':<52} {trips / done:5.2f}")
    finally:
        db.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


if __name__ == "__main__":
    main()
