"""Shared by the reliability suites (tests/test_reliability__*.py): what the engine promises about
every stored case, checked over a whole database; fast set-based seeding; running zcflow processes."""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, String, Table, cast, func, insert, literal, select
from sqlalchemy.engine import Engine

from states.machine import machine_for
from states.policy import get_policy
from states.vocabulary import INACTIVE_STATES
from storage import repo
from storage.policy_store import policy_versions
from storage.tables import AwareDateTime
from workflow.clock import SHANGHAI

ROOT = Path(__file__).resolve().parent.parent
TABLES: tuple[Table, ...] = (policy_versions, repo.applicants, repo.cases, repo.history, repo.bars,
                             repo.notifications, repo.scheduled_events)
SEEDED_AT = dt.datetime(2025, 3, 20, 10, tzinfo=SHANGHAI)


# ---- what holds for every case ------------------------------------------------------------------

def consistency_problems(db: Engine) -> list[str]:
    """Every broken promise about the stored cases (empty when all hold):
    version == history rows - 1, seq runs 0..version, the history chain starts at creation and each
    step is a move of the policy's machine ending in the case's state, the state is a state of the
    policy's graph, and active_key is set (to "<policy>|<id number>") exactly while the case is active."""
    problems: list[str] = []
    with db.connect() as conn:
        cases = conn.execute(select(repo.cases.c.id, repo.cases.c.policy_id, repo.cases.c.state,
                                    repo.cases.c.version, repo.cases.c.active_key, repo.cases.c.id_number)
                             .order_by(repo.cases.c.id)).all()
        rows = conn.execute(select(repo.history.c.case_id, repo.history.c.seq, repo.history.c.action,
                                   repo.history.c.from_state, repo.history.c.to_state)
                            .order_by(repo.history.c.case_id, repo.history.c.seq)).all()
    chains: dict[int, list[Any]] = defaultdict(list)
    for h in rows:
        chains[h.case_id].append(h)
    for case in cases:
        pm = machine_for(get_policy(case.policy_id))
        chain = chains.pop(case.id, [])
        where = f"case {case.id} ({case.policy_id}, {case.state}, v{case.version})"
        if case.state not in pm.states:
            problems.append(f"{where}: state is not in the policy's graph {pm.states}")
        if case.version != len(chain) - 1:
            problems.append(f"{where}: {len(chain)} history rows for version {case.version}")
        if [h.seq for h in chain] != list(range(len(chain))):
            problems.append(f"{where}: history seq {[h.seq for h in chain]} is not 0..n")
        if not chain or (chain[0].action, chain[0].from_state, chain[0].to_state) != ("create", "", "draft"):
            problems.append(f"{where}: history does not start with its creation in draft")
        state = chain[0].to_state if chain else None
        for h in chain[1:]:
            dests = {m.dest for m in pm.table.get((h.from_state, h.action), ())}
            if h.from_state != state:
                problems.append(f"{where}: seq {h.seq} starts from {h.from_state}, the chain is in {state}")
            if h.to_state not in dests:
                problems.append(f"{where}: seq {h.seq} {h.from_state} -{h.action}-> {h.to_state} is not a move of "
                                f"the machine (it allows {sorted(dests)})")
            state = h.to_state
        if state != case.state:
            problems.append(f"{where}: replaying the history gives {state}")
        active = case.state not in INACTIVE_STATES
        wanted = f"{case.policy_id}|{case.id_number}" if active else None
        if case.active_key != wanted:
            problems.append(f"{where}: active_key {case.active_key!r}, expected {wanted!r}")
    for case_id in chains:
        problems.append(f"history rows for case {case_id}, which does not exist")
    return problems


def snapshot(db: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, by id: two equal snapshots mean nothing changed."""
    with db.connect() as conn:
        return {t.name: [tuple(r) for r in conn.execute(select(t).order_by(t.c.id))] for t in TABLES}


# ---- seeding many cases at once --------------------------------------------------------------------

def seed_submitted(db: Engine, n: int, policy_id: str = "hz-recognition-2025h1", state: str = "employer_review",
                   *, prefix: str = "R") -> None:
    """`n` submitted cases in `state`, each with its applicant and its two history rows (create,
    submit), written with a handful of INSERT … SELECT statements whatever `n` is."""
    policy = get_policy(policy_id)
    at = literal(SEEDED_AT, AwareDateTime())
    a, c, h = repo.applicants, repo.cases, repo.history
    with db.begin() as conn:
        nums = select(literal(1).label("i")).cte("nums", recursive=True)
        nums = nums.union_all(select(nums.c.i + 1).where(nums.c.i < n))
        conn.execute(insert(a).from_select(
            ["id_type", "id_number", "name", "created_at"],
            select(literal("resident_id"), literal(prefix) + cast(nums.c.i, String), literal("王伟"), at)))
        mine = a.c.id_number.like(f"{prefix}%")
        conn.execute(insert(c).from_select(
            ["policy_id", "policy_version", "applicant_id", "id_number", "name", "state", "version", "active_key",
             "district", "employer", "specialty", "level", "submitted_at", "created_at", "updated_at", "data",
             "eligibility"],
            select(literal(policy.id), literal(policy.version), a.c.id, a.c.id_number, a.c.name, literal(state),
                   literal(1), literal(f"{policy.id}|") + a.c.id_number, literal("上城区"),
                   literal("杭州示范机电有限公司"), literal("机电制造"), literal("intermediate"), at, at, at,
                   literal({}, JSON), literal({}, JSON)).where(mine)))
        for seq, action, role, source, dest in ((0, "create", "admin", "", "draft"),
                                                (1, "submit", "applicant", "draft", state)):
            conn.execute(insert(h).from_select(
                ["case_id", "seq", "at", "actor_role", "action", "from_state", "to_state"],
                select(c.c.id, literal(seq), at, literal(role), literal(action), literal(source), literal(dest))
                .where(c.c.id_number.like(f"{prefix}%"))))


def count(db: Engine, table: Table, *where: Any) -> int:
    with db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


# ---- zcflow processes ---------------------------------------------------------------------------------

def zcflow_env(**extra: str) -> dict[str, str]:
    """The environment of a zcflow child process: ours without a database URL or a shifted clock,
    notifications delivered to memory (nothing written or sent), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZCFLOW_") or k == "ZCFLOW_TEST_DATABASE_URL"}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return {**env, "ZCFLOW_SMS_CHANNEL": "memory", "ZCFLOW_EMAIL_CHANNEL": "memory", **extra}


def zcflow(*args: str, cwd: Path, module: str = "workflow.cli", timeout: float = 120, stdin: str | None = None,
           **env: str) -> subprocess.CompletedProcess[str]:
    """Run one zcflow command in `cwd` to its end."""
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, timeout=timeout,
                          cwd=cwd, env=zcflow_env(**env), input=stdin, check=False)


def as_from_a_terminal() -> None:
    # Ctrl-C must reach the child as it reaches a command started from a terminal, even when this
    # test process was itself started with SIGINT ignored (a background job of a script).
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start(*args: str, log: Path, cwd: Path, **env: str) -> subprocess.Popen[bytes]:
    """A long-running zcflow process in `cwd`; its stdout and stderr go to `log`.out and `log`.err."""
    with log.with_suffix(".out").open("wb") as out, log.with_suffix(".err").open("wb") as err:
        return subprocess.Popen([sys.executable, "-m", "workflow.cli", *args], cwd=cwd,
                                env=zcflow_env(PYTHONUNBUFFERED="1", **env), stdout=out, stderr=err,
                                preexec_fn=as_from_a_terminal)


def output(log: Path) -> tuple[str, str]:
    return (log.with_suffix(".out").read_text(encoding="utf-8", errors="replace"),
            log.with_suffix(".err").read_text(encoding="utf-8", errors="replace"))


def poll(until: Callable[[], bool], *, timeout: float, every: float = 0.002, what: str,
         proc: subprocess.Popen[bytes] | None = None, log: Path | None = None) -> None:
    """Wait, polling, until `until()` holds; fail after `timeout` seconds or if `proc` dies first."""
    deadline = time.monotonic() + timeout
    while not until():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the process ended (exit {proc.returncode}) before {what}: "
                                 f"{output(log)[1][-3000:] if log else ''}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}: "
                                 f"{output(log)[1][-3000:] if log else ''}")
        time.sleep(every)


def stop(proc: subprocess.Popen[bytes], sig: signal.Signals = signal.SIGINT, timeout: float = 60) -> int:
    """Send `sig` to our own child and wait for it; kill it if it does not end in `timeout`."""
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
        raise AssertionError(f"the process did not end within {timeout}s of {sig.name}") from None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def no_traceback(stderr: str) -> bool:
    return "Traceback" not in stderr


def rows_by_table(db: Engine) -> Mapping[str, list[dict[str, Any]]]:
    with db.connect() as conn:
        return {t.name: [dict(r) for r in conn.execute(select(t).order_by(t.c.id)).mappings()] for t in TABLES}
