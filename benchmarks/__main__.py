"""Run zcflow's benchmarks: `python -m benchmarks [--size tiny|small|full] [--only NAMES] [--json]`.

PostgreSQL rows run when ZCFLOW_BENCH_DATABASE_URL (or ZCFLOW_TEST_DATABASE_URL) names a server;
each benchmark works in its own schema there and drops it afterwards. SQLite rows run in a
temporary directory. The table goes to stdout (with --json, one JSON object instead).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import actions, amendment, calendar_years, common, cutoff, dashboard, memory, rounds
from benchmarks.common import SIZES, Backend, Report

BENCHMARKS: dict[str, Callable[[Report, list[Backend]], None]] = {
    "cutoff": cutoff.run,
    "actions": actions.run,
    "memory": memory.run,
    "dashboard": dashboard.run,
    "round": rounds.run,
    "amendment": amendment.run,
    "calendar": calendar_years.run,
}


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {"python": platform.python_version(), "platform": platform.platform(),
                            "cpus": os.cpu_count()}
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), None)
        info["cpu"] = model
        with open("/proc/meminfo", encoding="utf-8") as f:
            info["memory_gb"] = round(int(f.readline().split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    import sqlite3

    info["sqlite"] = sqlite3.sqlite_version
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=list(SIZES), default="small",
                        help="tiny (smoke test), small (CI, default) or full (the issue's design point)")
    parser.add_argument("--only", default="", help=f"comma-separated subset of: {', '.join(BENCHMARKS)}")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.add_argument("--markdown", action="store_true", help="print the table as markdown")
    parser.add_argument("--keep-data", metavar="DIR", type=Path,
                        help="keep benchmark 4's loaded database between runs (SQLite: a file in DIR; "
                             "PostgreSQL: the schema zcb_keep_dashboard_<size>) and reuse it, migrated "
                             "to the head, instead of loading it again")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only, even if a server is named")
    args = parser.parse_args(argv)
    chosen = [b.strip() for b in args.only.split(",") if b.strip()] or list(BENCHMARKS)
    unknown = [b for b in chosen if b not in BENCHMARKS]
    if unknown:
        parser.error(f"--only: unknown benchmark {unknown[0]!r}; choose from {', '.join(BENCHMARKS)}")
    warnings.simplefilter("ignore")
    report = Report(SIZES[args.size], keep=args.keep_data)
    pg = None if args.no_postgres else common.postgres_url()
    if pg is None:
        report.notes.append("PostgreSQL not measured: set ZCFLOW_BENCH_DATABASE_URL or ZCFLOW_TEST_DATABASE_URL")
    started = time.perf_counter()
    timings: dict[str, float] = {}
    with common.backends(pg) as backends:
        if pg is not None:
            try:
                backends[1].drop(backends[1].fresh("probe"))
            except Exception as exc:
                print(f"PostgreSQL at {pg} is unreachable: {exc}", file=sys.stderr)
                return 2
        for name in chosen:
            t0 = time.perf_counter()
            if not args.json:
                print(f"running {name} …", file=sys.stderr, flush=True)
            BENCHMARKS[name](report, backends)
            timings[name] = round(time.perf_counter() - t0, 1)
    total = time.perf_counter() - started
    if args.json:
        print(json.dumps({"size": args.size, "machine": machine(), "seconds": round(total, 1),
                          "benchmark_seconds": timings, "figures": [f.to_json() for f in report.figures],
                          "notes": report.notes, "plans": report.plans}, ensure_ascii=False, indent=1))
    else:
        m = machine()
        print(f"zcflow benchmarks, size {args.size}: {m.get('cpus')} CPUs ({m.get('cpu')}), "
              f"{m.get('memory_gb')} GB, Python {m['python']}, SQLite {m['sqlite']}; {total:.0f} s")
        print(common.render_table(report, markdown=args.markdown))
        for note in report.notes:
            print(f"note: {note}")
        if report.plans:
            print("\nquery plans:" + ("\n```" if args.markdown else ""))
            print("\n".join(report.plans) + ("\n```" if args.markdown else ""))
    missed = [f for f in report.figures if f.met is False]
    if missed and not args.json:
        print(f"{len(missed)} target(s) missed: " + "; ".join(f"{f.name} ({f.backend})" for f in missed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
