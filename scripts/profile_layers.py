"""Sum py-spy samples of a web server by layer (issue 18): where an API action's CPU goes.

    python scripts/loadtest.py --database postgresql://… --seconds 30 --rate 300 --profile /tmp/prof
    python scripts/profile_layers.py /tmp/prof/serve0.txt [/tmp/prof/serve1.txt …]

Input: py-spy's raw (collapsed) stacks, one sample stack per line, root first, with its count.
Each sample goes to the innermost layer on its stack that the table below names (so `fire` called
from the idempotency wrapper counts as `fire`); its leaf also says whether the time was spent in the
database client (SQLAlchemy and psycopg: building statements, the wire protocol, waiting is not
sampled). Idle threads are not sampled by py-spy by default, so the shares are of CPU time.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

# (layer, pattern on "function (path:line)"), checked on every frame; the innermost match wins.
LAYERS: list[tuple[str, str]] = [
    ("HTTP protocol (uvicorn, h11/httptools)", r"(uvicorn/protocols|h11/|httptools/)"),
    ("event loop, tasks, thread hand-off", r"(^|[ (/])(asyncio|anyio|concurrent|uvloop)/|threading\.py|selectors\.py"),
    ("middleware (ours and Starlette's)", r"workflow/web/middleware\.py|starlette/middleware/|starlette/_exception"),
    ("routing, dependency solving, request parsing (FastAPI/Starlette)",
     r"fastapi/(routing|dependencies|_compat|security)|starlette/(routing|requests|datastructures)"),
    ("pydantic (request and response models)", r"(^|[ (/])pydantic(_core)?/|workflow/web/schemas\.py"),
    ("JSON encode/decode", r"(^|[ (/])json/|orjson|starlette/responses\.py|fastapi/encoders"),
    ("logging", r"(^|[ (/])logging/|uvicorn/logging"),
    ("token check (auth, user load)", r"workflow/web/(auth|users)\.py|itsdangerous/"),
    ("scope + visible-case read", r"workflow/web/(scope|queries)\.py|load_visible"),
    ("idempotency wrapper", r"workflow/web/idempotency\.py"),
    ("API endpoint + service glue", r"workflow/web/(api|service)\.py"),
    ("fire (engine, rules, machine)", r"workflow/(engine|due|notify)\.py|/states/|storage/repo\.py"),
    ("error handling (exception → 409 JSON)", r"workflow/errors\.py|install_error_handlers|workflow/web/app\.py"),
]
DB_CLIENT = re.compile(r"(^|[ (/])(sqlalchemy|psycopg|psycopg_binary|psycopg_pool)/")
# A leaf that waits (for a socket, a queue, a lock): not CPU. py-spy counts these where it cannot tell
# an idle thread (--gil, as the load test records, leaves them out); a wait inside psycopg is a
# database round trip in flight.
IDLE = re.compile(r"\((selectors|queue|threading)\.py:\d+\)$|^(Connection\.wait|wait) \(psycopg/|time\.sleep")
# The process starting (imports, building the app and its schemas): not a request's cost.
STARTUP = re.compile(r"importlib|create_app \(|open_workflow \(|typer/main\.py")
COMPILED = [(name, re.compile(pattern)) for name, pattern in LAYERS]


def classify(frames: list[str]) -> tuple[str, bool]:
    layer = "other"
    for frame in frames:  # root first: the last match is the innermost
        for name, pattern in COMPILED:
            if pattern.search(frame):
                layer = name
                break
    db = any(DB_CLIENT.search(f) for f in frames[-12:])
    return layer, db


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", type=Path, nargs="+", help="py-spy --format raw outputs")
    parser.add_argument("--per-action-ms", type=float, default=None,
                        help="the web CPU per action (the load test's cpu_ms_per_action.web): also print ms")
    args = parser.parse_args()
    by_layer: Counter[str] = Counter()
    idle = db_wait = startup = 0
    db_by_layer: Counter[str] = Counter()
    total = 0
    for path in args.files:
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                continue
            n = int(count)
            frames = stack.split(";")
            if STARTUP.search(stack):
                startup += n
                continue
            if IDLE.search(frames[-1]):
                idle += n
                db_wait += n if "psycopg/" in frames[-1] else 0
                continue
            layer, db = classify(frames)
            by_layer[layer] += n
            if db:
                db_by_layer[layer] += n
            total += n
    if not total:
        raise SystemExit("no samples")
    print(f"{total} CPU samples ({idle} more waiting, {db_wait} of them on a database round trip; "
          f"{startup} while starting, left out)")
    print(f"{'layer':<66} {'share':>6} {'of it in DB client':>19}" + ("  ms/action" if args.per_action_ms else ""))
    for layer, n in by_layer.most_common():
        ms = f"  {args.per_action_ms * n / total:9.2f}" if args.per_action_ms else ""
        print(f"{layer:<66} {100 * n / total:5.1f}% {100 * db_by_layer[layer] / total:18.1f}%{ms}")
    print(f"{'all DB client (SQLAlchemy + psycopg)':<66} {100 * sum(db_by_layer.values()) / total:5.1f}%")


if __name__ == "__main__":
    main()
