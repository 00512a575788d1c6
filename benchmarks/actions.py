"""Benchmark 2 — single actions, one case per transaction, with history and outbox.

Every variant moves N cases of hz-recognition-2025h1 from employer_review with `employer_approve`
(which opens the employer's 5-working-day notice): the case row, one history row and one outbox row
(`notice_opened`), each case in its own transaction.

- zcflow: `Workflow.fire`, the path the web API uses.
- raw SQL: the same statements and writes typed by hand on the bare driver (sqlite3 / psycopg), no
  rules: read the case, compare-and-set UPDATE, INSERT history, INSERT outbox, COMMIT. On
  PostgreSQL also as the read plus ONE statement (a data-modifying CTE), the fewest round trips.
- naive: what zcflow avoids — one `transitions` Machine and one ORM object per case (SQLModel
  session, `session.get`, objects added, commit).
- engine step vs SpiffWorkflow (both without a database): zcflow's decision for one move (the
  stored row decoded, rules, the shared machine, effects, history and outbox rows encoded) against
  SpiffWorkflow's request step (load JSON, complete the task, save JSON).
"""

from __future__ import annotations

import datetime as dt
import json
import random
import sqlite3
from typing import Any

from sqlalchemy.engine import make_url

from benchmarks import spiff
from benchmarks.common import (
    ACTION_AT,
    POLICY,
    Backend,
    CaseSpec,
    Figure,
    Loader,
    Report,
    chinese_name,
    compare,
    engine_for,
    timed,
)
from states.policy import get_policy
from states.vocabulary import Role
from storage import repo
from workflow.engine import Actor, Workflow, notice_closes

BENCH = "2 single actions"
ACTION, SOURCE, DEST = "employer_approve", "employer_review", "employer_notice"


def _load(backend: Backend, label: str, n: int) -> str:
    url = backend.fresh(label)
    rng = random.Random(7)
    districts = ("上城区", "拱墅区", "西湖区", "富阳区")
    Loader(url).load(CaseSpec(POLICY, SOURCE, districts[i % 4], f"{districts[i % 4][:2]}示范{i % 37:02d}号科技有限公司",
                              chinese_name(rng), 1, True) for i in range(n))
    return url


def _closes() -> dt.datetime:
    return notice_closes(get_policy(POLICY), ACTION_AT, 5)


# Each variant is a `Runner`: `step(case_id)` moves one case in its own transaction. On a shared
# virtual disk the cost of a durable commit swings several-fold from one second to the next, so the
# variants run interleaved, a slice each in turn, and each figure is the total over its slices.

class Runner:
    def __init__(self, url: str) -> None:
        self.url = url

    def step(self, case_id: int) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


class Fire(Runner):
    def __init__(self, url: str) -> None:
        self.db = engine_for(url)
        self.wf = Workflow(self.db)
        self.actor = Actor(Role.employer)

    def step(self, case_id: int) -> None:
        self.wf.fire(case_id, ACTION, self.actor, ACTION_AT)

    def close(self) -> None:
        self.db.dispose()


_CTX = json.dumps({"action": ACTION, "from": SOURCE, "to": DEST})
_UPDATE = ("UPDATE cases SET state = {p}, version = version + 1, updated_at = {p}, notice_stage = {p}, "
           "notice_opened_at = {p}, notice_closes_at = {p} WHERE id = {p} AND state = {p} AND version = {p}")
_HISTORY = ("INSERT INTO history (case_id, seq, at, actor_role, actor_id, action, from_state, to_state, reason) "
            "VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p})")
_OUTBOX = ("INSERT INTO notifications (case_id, template, channel, recipient_role, recipient, context, status, "
           "attempts, next_attempt_at, created_at) VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p})")
_SELECT = "SELECT state, version, name FROM cases WHERE id = {p}"


class RawSqlite(Runner):
    """The four statements by hand on sqlite3, with the PRAGMAs storage/db.py sets."""

    def __init__(self, url: str) -> None:
        path = make_url(url).database
        assert path
        self.con = sqlite3.connect(path, isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=30000"):
            self.con.execute(f"PRAGMA {pragma}")
        self.at = ACTION_AT.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
        self.closes = _closes().astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
        self.sql = [q.format(p="?") for q in (_SELECT, _UPDATE, _HISTORY, _OUTBOX)]

    def step(self, case_id: int) -> None:
        con, at, (select, update, history, outbox) = self.con, self.at, self.sql
        con.execute("BEGIN IMMEDIATE")
        state, version, name = con.execute(select, (case_id,)).fetchone()
        cur = con.execute(update, (DEST, at, DEST, at, self.closes, case_id, state, version))
        assert cur.rowcount == 1
        con.execute(history, (case_id, version + 1, at, "employer", None, ACTION, state, DEST, None))
        con.execute(outbox, (case_id, "notice_opened", "sms", "applicant", name, _CTX, "pending", 0, at, at))
        con.execute("COMMIT")

    def close(self) -> None:
        self.con.close()


def _psycopg_connect(url: str) -> Any:
    import psycopg

    return psycopg.connect(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False))


class RawPostgres(Runner):
    """The four statements by hand on psycopg (server-side prepared after five uses, as psycopg does)."""

    def __init__(self, url: str) -> None:
        self.con = _psycopg_connect(url)
        self.cur = self.con.cursor()
        self.closes = _closes()
        self.sql = [q.format(p="%s") for q in (_SELECT, _UPDATE, _HISTORY, _OUTBOX)]

    def step(self, case_id: int) -> None:
        cur, (select, update, history, outbox) = self.cur, self.sql
        cur.execute(select, (case_id,))
        state, version, name = cur.fetchone()
        cur.execute(update, (DEST, ACTION_AT, DEST, ACTION_AT, self.closes, case_id, state, version))
        assert cur.rowcount == 1
        cur.execute(history, (case_id, version + 1, ACTION_AT, "employer", None, ACTION, state, DEST, None))
        cur.execute(outbox, (case_id, "notice_opened", "sms", "applicant", name, _CTX, "pending", 0, ACTION_AT,
                             ACTION_AT))
        self.con.commit()

    def close(self) -> None:
        self.con.close()


_CTE = """WITH moved AS (
  UPDATE cases SET state = %s, version = version + 1, updated_at = %s, notice_stage = %s, notice_opened_at = %s,
         notice_closes_at = %s
  WHERE id = %s AND state = %s AND version = %s RETURNING id, version, name),
logged AS (
  INSERT INTO history (case_id, seq, at, actor_role, actor_id, action, from_state, to_state, reason)
  SELECT id, version, %s, 'employer', NULL, %s, %s, %s, NULL FROM moved)
INSERT INTO notifications (case_id, template, channel, recipient_role, recipient, context, status, attempts,
                           next_attempt_at, created_at)
SELECT id, 'notice_opened', 'sms', 'applicant', name, %s, 'pending', 0, %s, %s FROM moved"""


class RawPostgresCte(RawPostgres):
    """The read, then the three writes as one statement: the fewest round trips there are."""

    def step(self, case_id: int) -> None:
        cur = self.cur
        cur.execute(self.sql[0], (case_id,))
        state, version, _name = cur.fetchone()
        cur.execute(_CTE, (DEST, ACTION_AT, DEST, ACTION_AT, self.closes, case_id, state, version, ACTION_AT,
                           ACTION, state, DEST, _CTX, ACTION_AT, ACTION_AT))
        assert cur.rowcount == 1
        self.con.commit()


class Naive(Runner):
    """One transitions Machine and one ORM object per case."""

    def __init__(self, url: str) -> None:
        from states.machine import machine_for

        self.db = engine_for(url)
        pm = machine_for(get_policy(POLICY))
        self.spec = [{"trigger": m.action, "source": m.source, "dest": m.dest} for m in pm.moves]
        self.states = list(pm.states)
        self.closes = _closes()

    def step(self, case_id: int) -> None:
        from sqlmodel import Session
        from transitions import Machine

        from storage.tables import Case, History, Notification

        class Holder:
            state: str

        with Session(self.db) as session:
            case = session.get(Case, case_id)
            assert case is not None
            model = Holder()
            Machine(model=model, states=self.states, transitions=self.spec, initial=case.state,
                    auto_transitions=False)
            source = case.state
            model.trigger(ACTION)  # type: ignore[attr-defined]
            case.state = model.state
            case.version += 1
            case.updated_at = ACTION_AT
            case.notice_stage, case.notice_opened_at, case.notice_closes_at = DEST, ACTION_AT, self.closes
            session.add(case)
            session.add(History(case_id=case_id, seq=case.version, at=ACTION_AT, actor_role="employer",
                                action=ACTION, from_state=source, to_state=model.state))
            session.add(Notification(case_id=case_id, template="notice_opened", channel="sms",
                                     recipient_role="applicant", recipient=case.name,
                                     context={"action": ACTION, "from": source, "to": model.state},
                                     next_attempt_at=ACTION_AT, created_at=ACTION_AT))
            session.commit()

    def close(self) -> None:
        self.db.dispose()


def interleaved(runners: dict[str, tuple[Runner, int]], slices: int) -> dict[str, float]:
    """Run each runner over its cases 1..n (after one warm-up case), a slice at a time in turn;
    return each one's rate per second."""
    spent = dict.fromkeys(runners, 0.0)
    done = dict.fromkeys(runners, 0)
    for runner, _n in runners.values():
        runner.step(1)
    for k in range(slices):
        for name, (runner, n) in runners.items():
            lo, hi = 2 + (n - 1) * k // slices, 2 + (n - 1) * (k + 1) // slices

            def go(r: Runner = runner, lo: int = lo, hi: int = hi) -> None:
                for case_id in range(lo, hi):
                    r.step(case_id)

            seconds, _ = timed(go)
            spent[name] += seconds
            done[name] += hi - lo
    for runner, _n in runners.values():
        runner.close()
    return {name: done[name] / spent[name] for name in runners}


# ---- without a database: zcflow's decision vs SpiffWorkflow's request step ---------------------------

def interleaved_cpu(url: str, n: int, spiff_n: int, slices: int = 5) -> tuple[float, float]:
    """zcflow's engine step and SpiffWorkflow's request step, a slice each in turn; their rates."""
    step_spent = spiff_spent = 0.0
    for _ in range(slices):
        step_spent += n / slices / run_engine_step(url, n // slices)
        seconds, _ = spiff.request_steps(spiff_n // slices)
        spiff_spent += seconds
    return (n // slices * slices) / step_spent, (spiff_n // slices * slices) / spiff_spent


def run_engine_step(url: str, n: int) -> float:
    """Decode a stored case row, decide the move, encode the writes — everything `fire` does but
    the database round trips."""
    db = engine_for(url)
    with db.connect() as conn:
        driver = repo.driver_for(conn.dialect.name)
        stored = tuple(conn.connection.dbapi_connection.cursor().execute(  # type: ignore[union-attr]
            driver.load_case, (1,)).fetchone())
    wf = Workflow(db)
    actor = Actor(Role.employer)

    def step() -> None:
        case = driver.case_from_db(stored)
        move = wf.plan(None, case, ACTION, actor, ACTION_AT, None)
        [driver.to_db("cases", k, v) for k, v in move.values.items()]
        [driver.to_db("history", k, v) for k, v in move.history.items()]
        [driver.to_db("notifications", k, v) for row in move.notifications for k, v in row.items()]

    def steps() -> None:
        for _ in range(n):
            step()

    step()
    seconds, _ = timed(steps)
    db.dispose()
    return n / seconds


def run(report: Report, backends: list[Backend]) -> None:
    size = report.size
    n, naive_n = size.actions, min(size.naive, size.actions)
    fires: dict[str, Figure] = {}
    for b in backends:
        kinds: dict[str, tuple[type[Runner], int]] = {"raw": (RawSqlite, n), "fire": (Fire, n),
                                                      "naive": (Naive, naive_n)}
        if b.name == "postgresql":
            kinds = {"raw": (RawPostgres, n), "cte": (RawPostgresCte, n), "fire": (Fire, n),
                     "naive": (Naive, naive_n)}
        urls = {label: _load(b, label, count) for label, (_kind, count) in kinds.items()}
        checkpoint(b, urls["fire"])
        rates = interleaved({label: (kind(urls[label]), count) for label, (kind, count) in kinds.items()},
                            slices=10)
        raw = report.add(Figure(BENCH, "raw SQL, 4 statements per transaction", b.name, n, rates["raw"], "/s"))
        fire = fires[b.name] = report.add(Figure(BENCH, "zcflow Workflow.fire", b.name, n, rates["fire"], "/s"))
        compare(fire, raw, higher_is_better=True, limit=0.5, target="≥ 0.5× raw")
        if b.name == "postgresql":
            cte = report.add(Figure(BENCH, "raw SQL, read + 1 CTE statement", b.name, n, rates["cte"], "/s"))
            alt = report.add(Figure(BENCH, "zcflow Workflow.fire (vs the CTE)", b.name, n, fire.value, "/s",
                                    note="the same measurement, compared with the fewest round trips"))
            compare(alt, cte, higher_is_better=True, limit=0.5, target="≥ 0.5× raw")
        naive = report.add(Figure(BENCH, "naive: Machine + ORM object per case", b.name, naive_n, rates["naive"],
                                  "/s"))
        compare(naive, fire, higher_is_better=True)
        for url in urls.values():
            b.drop(url)
    if not spiff.available():
        report.notes.append("SpiffWorkflow is not installed (pip install SpiffWorkflow): its rows are missing")
        return
    sqlite = backends[0]
    url = _load(sqlite, "step", 2)
    step_rate, spiff_rate = interleaved_cpu(url, n, size.spiff)
    sqlite.drop(url)
    sp = report.add(Figure(BENCH, "SpiffWorkflow 6-task BPMN: load JSON, complete task, save JSON", "none",
                           size.spiff, spiff_rate, "/s"))
    step = report.add(Figure(BENCH, "zcflow engine step: decode row, decide, encode writes", "none", n, step_rate,
                             "/s"))
    compare(step, sp, higher_is_better=True, limit=10, target="≥ 10× SpiffWorkflow")
    for name, fire in fires.items():
        with_db = report.add(Figure(BENCH, "zcflow Workflow.fire (durable transaction) vs SpiffWorkflow", name,
                                    n, fire.value, "/s", note="the same measurement as above"))
        compare(with_db, sp, higher_is_better=True, limit=10, target="≥ 10× SpiffWorkflow")


def checkpoint(backend: Backend, url: str) -> None:
    """Flush what loading dirtied, so that no variant pays for it (PostgreSQL: CHECKPOINT)."""
    if backend.name != "postgresql":
        return
    db = engine_for(url)
    with db.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("CHECKPOINT")
    db.dispose()
