"""Load test: two web servers and two schedulers over one PostgreSQL, and this process firing a
stream of conflicting and non-conflicting actions at them on loopback (issue 7).

    python scripts/loadtest.py --database postgresql://postgres@127.0.0.1:5432/test --seconds 60 --rate 200

It works in a schema of its own (dropped at the end). Cases wait in employer_review; half the load
is pairs — employer_approve to one server and employer_return to the other at the same instant, on
the same case — and half single approvals. Meanwhile 2,000 employer notices come due mid-run, so the
two schedulers race to close them. Afterwards it checks, from the database:
  - no lost update: every 200 answer has exactly its history row, and no case moved twice;
  - every 409 is correct: it names `conflict` or `illegal_transition`, on a case the other request moved;
  - each notice closed exactly once; versions equal history rows - 1 for every case;
  - no answer other than 200 and 409 (a request that got no answer at all is status 0, a transport failure).
It prints throughput, latency percentiles (p50/p95/p99), the statuses, the transport failures, the CPU
each process spent per action served, and the machine's load average before and after (`--json` for one
object), and exits 1 if a check fails. `--port P` puts the servers on P and P+1 (default: free ports);
`--profile DIR` samples each server with py-spy (when installed) into DIR/serve0.txt and serve1.txt
(collapsed stacks; `scripts/profile_layers.py` sums them by layer).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from storage import repo  # noqa: E402
from storage.db import make_engine  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from workflow.clock import SHANGHAI  # noqa: E402
from workflow.deadlines import ensure_schedule  # noqa: E402

POLICY = "hz-recognition-2025h1"
EMPLOYER = "负载测试机电有限公司"
NOW = dt.datetime(2025, 3, 25, 10, 0, tzinfo=SHANGHAI)  # inside the filing window, before every cutoff
PASSWORD = "load-test-password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def schema_url(url: str, schema: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


def seed(db: Engine, n_review: int, n_notice: int, notice_due: dt.datetime) -> None:
    """Cases in employer_review (for the load) and in employer_notice closing at `notice_due`,
    written set-based with their history, as the engine would have left them."""
    from states.idcard import check_digit

    applicants, cases_, history = [], [], []
    for i in range(1, n_review + n_notice + 1):
        born = dt.date(1960, 1, 1) + dt.timedelta(days=i // 1000)  # distinct with the 3-digit sequence code
        first17 = f"330102{born:%Y%m%d}{i % 1000:03d}"
        number = first17 + check_digit(first17)
        in_notice = i > n_review
        applicants.append({"id": i, "id_type": "resident_id", "id_number": number, "name": f"负载{i}",
                           "created_at": NOW - dt.timedelta(days=10)})
        cases_.append({
            "id": i, "policy_id": POLICY, "policy_version": 1, "applicant_id": i, "id_number": number,
            "name": f"负载{i}", "state": "employer_notice" if in_notice else "employer_review",
            "version": 2 if in_notice else 1, "active_key": f"{POLICY}|{number}", "district": "上城区",
            "employer": EMPLOYER, "specialty": "机电制造", "series": "制造业", "level": "intermediate",
            "title": "工程师", "committee": "杭州市制造业工程技术人员工程师资格评审委员会",
            "notice_stage": "employer_notice" if in_notice else None,
            "notice_opened_at": NOW - dt.timedelta(days=7) if in_notice else None,
            "notice_closes_at": notice_due if in_notice else None,
            "submitted_at": NOW - dt.timedelta(days=9), "created_at": NOW - dt.timedelta(days=10),
            "updated_at": NOW - dt.timedelta(days=9), "data": {}, "eligibility": {},
        })
        steps = [("create", "", "draft"), ("submit", "draft", "employer_review")]
        if in_notice:
            steps.append(("employer_approve", "employer_review", "employer_notice"))
        for seq, (action, src, dst) in enumerate(steps):
            history.append({"case_id": i, "seq": seq, "at": NOW - dt.timedelta(days=10 - seq),
                            "actor_role": "system" if action == "create" else "applicant", "actor_id": None,
                            "action": action, "from_state": src, "to_state": dst, "reason": None})
    with db.begin() as conn:
        for table, rows in ((repo.applicants, applicants), (repo.cases, cases_), (repo.history, history)):
            for k in range(0, len(rows), 5000):
                conn.execute(table.insert(), rows[k:k + 5000])
        for table in ("applicants", "cases", "history"):
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                              f"(SELECT max(id) FROM {table}))"))


def start(args: list[str], env: dict[str, str], log: Path, spy: Path | None = None) -> subprocess.Popen[bytes]:
    out = log.open("wb")
    command = [sys.executable, "-m", "workflow.cli", *args]
    if spy is not None:  # sampled by py-spy, which runs the server as its child
        command = [str(Path(sys.executable).with_name("py-spy")), "record", "--nonblocking", "--gil", "--rate", "100",
                   "--format", "raw", "--output", str(spy), "--", *command]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its descendants so far, from /proc (0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0
    return total + sum(cpu_seconds(c) for c in children(pid))


def children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else []


def wait_http(url: str, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up in {timeout} s")


class RawClient:
    """A lean HTTP/1.1 keep-alive client for the load (the default): a pool of connections per server,
    one request at a time on each, Content-Length bodies (what uvicorn sends). It costs a fraction of
    httpx's CPU per request, which on a 2-core machine the servers otherwise have to share with the
    load generator. A connection that fails is dropped; the request is status 0 (a transport failure)."""

    def __init__(self, token: str, timeout: float = 30) -> None:
        self.token = token
        self.timeout = timeout
        self.idle: dict[str, list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]] = defaultdict(list)

    async def post(self, base: str, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
        host, port = base.removeprefix("http://").rsplit(":", 1)
        pool = self.idle[base]
        conn = pool.pop() if pool else await asyncio.open_connection(host, int(port))
        reader, writer = conn
        try:
            writer.write(f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {self.token}\r\n"
                         f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self.timeout)
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split(" ", 2)[1])
            fields = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
            payload_bytes = await asyncio.wait_for(reader.readexactly(int(fields.get("content-length", "0"))),
                                                   self.timeout)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError,
                IndexError) as exc:
            writer.close()
            return 0, {"error": repr(exc)}
        if fields.get("connection", "").lower() == "close":
            writer.close()
        else:
            pool.append(conn)
        try:
            payload = json.loads(payload_bytes) if fields.get("content-type", "").startswith("application/json") else {}
        except ValueError:
            payload = {"error": "unreadable JSON body"}
        return status, payload

    def close(self) -> None:
        for pool in self.idle.values():
            for _reader, writer in pool:
                writer.close()


async def fire_load(bases: list[str], token: str, case_ids: list[int], seconds: float, rate: float,
                    concurrency: int, client_kind: str = "raw") -> tuple[list[dict[str, Any]], float]:
    """Open-loop load: every 1/rate s one request starts (pairs count as two)."""
    results: list[dict[str, Any]] = []
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    sem = asyncio.Semaphore(concurrency)
    raw = RawClient(token)
    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=30) as client:

        async def post(base: str, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
            if client_kind == "raw":
                return await raw.post(base, path, json.dumps(body).encode())
            try:
                r = await client.post(f"{base}{path}", json=body)
                return r.status_code, (r.json() if r.headers.get("content-type", "").startswith(
                    "application/json") else {})
            except httpx.HTTPError as exc:
                return 0, {"error": repr(exc)}

        async def one(base: str, case_id: int, action: str, pair: bool) -> None:
            body: dict[str, Any] = {"action": action}
            if action == "employer_return":
                body["reason"] = "材料不完整"
            async with sem:
                t0 = time.perf_counter()
                status, payload = await post(base, f"/api/cases/{case_id}/actions", body)
                results.append({"case": case_id, "action": action, "status": status, "pair": pair,
                                "ms": (time.perf_counter() - t0) * 1000, "error": payload.get("error")})

        tasks: list[asyncio.Task[None]] = []
        start_t = time.perf_counter()
        interval = 1 / rate
        sent = 0
        cases = iter(case_ids)
        while time.perf_counter() - start_t < seconds:
            case_id = next(cases)
            if case_id % 2 == 0:  # a conflicting pair on one case, one request to each server
                tasks.append(asyncio.create_task(one(bases[0], case_id, "employer_approve", True)))
                tasks.append(asyncio.create_task(one(bases[1], case_id, "employer_return", True)))
                sent += 2
            else:
                tasks.append(asyncio.create_task(one(bases[case_id % 2], case_id, "employer_approve", False)))
                sent += 1
            target = start_t + sent * interval
            delay = target - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start_t
    raw.close()
    return results, elapsed


def verify(db: Engine, results: list[dict[str, Any]], n_review: int, n_notice: int) -> list[str]:
    problems: list[str] = []
    statuses = Counter(r["status"] for r in results)
    for status in statuses:
        if status not in (200, 409):
            problems.append(f"{statuses[status]} answers with status {status}")
    ok_by_case: dict[int, list[str]] = defaultdict(list)
    refused: list[dict[str, Any]] = []
    for r in results:
        if r["status"] == 200:
            ok_by_case[r["case"]].append(r["action"])
        elif r["status"] == 409:
            refused.append(r)
    with db.connect() as conn:
        moves = conn.execute(select(repo.history.c.case_id, repo.history.c.action).where(
            repo.history.c.action.in_(["employer_approve", "employer_return"]),
            repo.history.c.case_id <= n_review)).all()
        closed = conn.execute(select(repo.history.c.case_id, func.count()).where(
            repo.history.c.action == "notice_closed").group_by(repo.history.c.case_id)).all()
        bad_versions = conn.execute(text(
            "SELECT count(*) FROM cases c WHERE c.version <> "
            "(SELECT count(*) FROM history h WHERE h.case_id = c.id) - 1")).scalar_one()
    moved: dict[int, list[str]] = defaultdict(list)
    for case_id, action in moves:
        moved[case_id].append(action)
    for case_id, actions in moved.items():
        if len(actions) > 1:
            problems.append(f"case {case_id} moved {len(actions)} times: {actions}")
        if ok_by_case.get(case_id) != actions:
            problems.append(f"case {case_id}: answers {ok_by_case.get(case_id)} but history {actions}")
    for case_id, actions in ok_by_case.items():
        if case_id not in moved:
            problems.append(f"case {case_id}: {actions} answered 200 but no history row (lost update)")
    for r in refused:
        if r["error"] not in ("conflict", "illegal_transition"):
            problems.append(f"case {r['case']} {r['action']}: 409 with error {r['error']}")
        elif not moved.get(r["case"]):
            problems.append(f"case {r['case']} {r['action']}: 409 but nothing else moved the case")
    twice = [c for c, n in closed if n != 1]
    if twice:
        problems.append(f"{len(twice)} notices closed more than once")
    if len(closed) != n_notice:
        problems.append(f"{len(closed)} of {n_notice} due notices were closed")
    if bad_versions:
        problems.append(f"{bad_versions} cases whose version is not history rows - 1")
    return problems


def run(url: str, seconds: float, rate: float, concurrency: int, port: int | None = None,
        profile: Path | None = None, client_kind: str = "raw") -> dict[str, Any]:
    schema = f"load_{uuid.uuid4().hex[:8]}"
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    db_url = schema_url(url, schema)
    db = make_engine(db_url)
    procs: list[subprocess.Popen[bytes]] = []
    tmp = tempfile.TemporaryDirectory(prefix="zcflow-load-")
    try:
        upgrade(db)
        ensure_schedule(db, [POLICY])
        n_review = int(seconds * rate) + 500
        n_notice = 2000
        # The servers' clock reads NOW when the load begins; the notices fall due 20 s into it.
        notice_due = NOW + dt.timedelta(seconds=20)
        seed(db, n_review, n_notice, notice_due)
        from workflow.web.users import create_user

        create_user(db, "load-employer", PASSWORD, "employer", {"employer": EMPLOYER}, NOW)
        startup = 25.0  # seconds allowed for the processes to come up; their clocks then read NOW
        load_at = time.monotonic() + startup
        env = {**os.environ, "ZCFLOW_SECRET_KEY": secrets.token_hex(32),
               "ZCFLOW_NOW": (NOW - dt.timedelta(seconds=startup)).isoformat(),
               # One shifted clock for every process, however far apart they start.
               "ZCFLOW_NOW_SINCE": str(time.time()), "ZCFLOW_OUTBOX_DIR": tmp.name}
        env.pop("CI", None)
        ports = [port, port + 1] if port else [free_port(), free_port()]
        logs = [Path(tmp.name) / name for name in ("serve0.log", "serve1.log", "scheduler0.log", "scheduler1.log")]
        for i, (p, log) in enumerate(zip(ports, logs[:2], strict=True)):
            spy = profile / f"serve{i}.txt" if profile is not None else None
            procs.append(start(["serve", "--host", "127.0.0.1", "--port", str(p), "--database", db_url], env, log,
                               spy))
        for log in logs[2:]:
            procs.append(start(["scheduler", "--interval", "2", "--database", db_url], env, log))
        bases = [f"http://127.0.0.1:{p}" for p in ports]
        for base in bases:
            wait_http(f"{base}/login")
        token = httpx.post(f"{bases[0]}/api/token", json={"username": "load-employer", "password": PASSWORD},
                           timeout=30).json()["access_token"]
        # Start the load when the children's shifted clocks reach NOW (so the notices fall due mid-run).
        time.sleep(max(0.0, load_at - time.monotonic()))
        load_before = load_average()
        cpu_before = [cpu_seconds(p.pid) for p in procs]
        client_before = time.process_time()
        results, elapsed = asyncio.run(fire_load(bases, token, list(range(1, n_review + 1)), seconds, rate,
                                                 concurrency, client_kind))
        client_cpu = time.process_time() - client_before
        cpu = [cpu_seconds(p.pid) - before for p, before in zip(procs, cpu_before, strict=True)]
        load_after = load_average()
        # Let the schedulers finish closing the notices that came due.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with db.connect() as conn:
                left = conn.execute(select(func.count()).select_from(repo.cases).where(
                    repo.cases.c.state == "employer_notice", repo.cases.c.id > n_review)).scalar_one()
            if left == 0:
                break
            time.sleep(0.5)
        problems = verify(db, results, n_review, n_notice)
        for p, log in zip(procs, logs, strict=True):
            if p.poll() is not None:
                tail = log.read_text(encoding="utf-8", errors="replace")[-800:]
                problems.append(f"{log.stem} exited early with {p.returncode}: …{tail}")
        latencies = sorted(r["ms"] for r in results)
        q = statistics.quantiles(latencies, n=100) if len(latencies) >= 100 else latencies
        statuses = Counter(r["status"] for r in results)
        errors = Counter(r["error"] for r in results if r["status"] == 409)
        transport = Counter(r["error"] for r in results if r["status"] == 0)
        answered = max(1, sum(n for s, n in statuses.items() if s))

        def per_action(seconds_: float) -> float:
            return round(seconds_ * 1000 / answered, 2)

        return {
            "seconds": round(elapsed, 1), "requests": len(results),
            "throughput_per_s": round(len(results) / elapsed, 1), "target_rate": rate,
            "p50_ms": round(q[49], 1) if len(q) >= 99 else None, "p95_ms": round(q[94], 1) if len(q) >= 99 else None,
            "p99_ms": round(q[98], 1) if len(q) >= 99 else None,
            "statuses": dict(statuses), "refusals": dict(errors),
            "transport_failures": sum(transport.values()), "transport_errors": dict(transport.most_common(3)),
            # CPU spent during the load per answered request, in ms: both servers together, both
            # schedulers together, and this process (the load generator).
            "cpu_ms_per_action": {"web": per_action(cpu[0] + cpu[1]), "schedulers": per_action(cpu[2] + cpu[3]),
                                  "load_generator": per_action(client_cpu)},
            "load_average_before_after": [load_before, load_after], "cpus": os.cpu_count(),
            "pairs": sum(1 for r in results if r["pair"]) // 2, "notices_closed_by_two_schedulers": n_notice,
            "web_servers": 2, "schedulers": 2, "client": client_kind, "problems": problems, "ok": not problems,
        }
    finally:
        for p in procs:
            if profile is not None and p in procs[:2]:  # stop the server; py-spy then writes its samples
                for child in children(p.pid):
                    with contextlib.suppress(OSError):
                        os.kill(child, signal.SIGTERM)
            else:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        db.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
        tmp.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default=os.environ.get("ZCFLOW_TEST_DATABASE_URL"),
                        help="a PostgreSQL URL (default: $ZCFLOW_TEST_DATABASE_URL)")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--rate", type=float, default=200, help="requests started per second")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--port", type=int, default=None,
                        help="the first server's port; the second gets the next (default: free ports)")
    parser.add_argument("--profile", type=Path, default=None, metavar="DIR",
                        help="sample the servers with py-spy into DIR (a directory; needs py-spy installed)")
    parser.add_argument("--client", choices=("raw", "httpx"), default="raw",
                        help="the load's HTTP client: a lean keep-alive one (default) or httpx (earlier runs)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not args.database or not args.database.startswith("postgresql"):
        parser.error("--database: give a PostgreSQL URL (several servers and schedulers share it)")
    if args.port is not None and not 1024 <= args.port < 65535:
        parser.error("--port: between 1024 and 65534")
    if args.profile is not None:
        if not Path(sys.executable).with_name("py-spy").exists():
            parser.error("--profile: py-spy is not installed beside this Python (pip install py-spy)")
        args.profile.mkdir(parents=True, exist_ok=True)
    report = run(args.database, args.seconds, args.rate, args.concurrency, args.port, args.profile, args.client)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        for k, v in report.items():
            print(f"{k}: {v}")
    raise SystemExit(0 if report["ok"] else 1)


if __name__ == "__main__":
    main()
