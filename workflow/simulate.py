"""Run a scenario in compressed time (CONTRACT §6) through the production engine and tick.

There is no simulation-only path: cases are created and moved by `Workflow.fire`, time by
`tick(now)`; the clock jumps from one instant of interest to the next (steps, expectations, the
end), and tick applies every due time up to each instant in due order, recording each at its own
due time.

The steps between two other events (a tick, an import, an expectation read) are one transaction,
each step a savepoint in it (`Workflow.fire_in`): the same rows and outcomes as a transaction per
step, without a commit per step. Nothing else reads the database meanwhile: the run commits them
before it ticks, imports or checks.
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.engine import Connection, Engine, Transaction

from storage import repo
from storage.db import open_database
from storage.migrate import upgrade
from workflow.calendar_import import import_calendar_year
from workflow.clock import SHANGHAI
from workflow.deadlines import ensure_schedule, next_due, tick
from workflow.engine import Actor, Transition, Workflow
from workflow.errors import WorkflowError
from workflow.scenario import Amendment, Expectation, Scenario, Step


@dataclass
class SimulationResult:
    scenario: str
    cases: dict[str, dict[str, Any]]
    notifications: list[dict[str, Any]]
    failures: list[str]
    summary: dict[str, Any] = field(default_factory=dict)
    reasons: dict[tuple[str, int], str] = field(default_factory=dict)  # (case, history index) → reason

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def timeline(self) -> list[dict[str, Any]]:
        """Every transition of every case in time order (made when asked: a round of 10,000 cases
        has ~75,000, and only the printed timeline needs them in this form)."""
        rows = [{"at": h["at"], "case": key, "from": h["from"] or "", "to": h["to"], "action": h["action"],
                 "actor": h["actor"], "reason": self.reasons.get((key, i))}
                for key, case in self.cases.items() for i, h in enumerate(case["history"])]
        rows.sort(key=lambda r: (r["at"], r["case"]))
        return rows

    def to_json(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "ok": self.ok, "cases": self.cases,
                "notifications": self.notifications, "failures": self.failures, "summary": self.summary}


def _iso(t: dt.datetime) -> str:
    return t.astimezone(SHANGHAI).isoformat()


class Simulation:
    def __init__(self, scenario: Scenario, db: Engine, *, consume: bool = False) -> None:
        self.s = scenario
        self.consume = consume  # the caller will not use the scenario again (see `simulate`)
        self.db = db
        self.wf = Workflow(db)
        self.ids: dict[str, int] = {}
        self.keys: dict[int, str] = {}
        self.failures: list[str] = []
        self.due: dt.datetime | None = None  # the earliest pending due time, as the scheduler would wake
        self.final: dict[int, str] | None = None  # every case's state once the run has reached `end`
        self.group: tuple[Connection, Transaction] | None = None  # the steps' transaction, while open

    def advance(self, at: dt.datetime) -> None:
        """Apply what time has done by `at`. Like the scheduler, it only ticks when something is due."""
        if self.due is not None and self.due <= at:
            self.settle()
            tick(self.db, at)
            self.due = next_due(self.db)

    def moves(self) -> Connection:
        """The open transaction of the steps since the last `settle` (begun on the first)."""
        if self.group is None:
            conn = self.db.connect()
            self.group = (conn, conn.begin())
        return self.group[0]

    def settle(self, commit: bool = True) -> None:
        """Commit the steps' transaction (roll it back when the run failed), so that the next tick,
        import or read sees every step before it."""
        if self.group is not None:
            conn, transaction = self.group
            self.group = None
            try:
                if commit:
                    transaction.commit()
                else:
                    transaction.rollback()
            finally:
                conn.close()

    def run(self) -> SimulationResult:
        try:
            return self._run()
        finally:
            self.settle(commit=False)  # left open only when the run raised

    def _run(self) -> SimulationResult:
        s = self.s
        upgrade(self.db)
        for name, text, when in s.calendars:  # the scenario's own calendar years, before any due time
            if when is None:
                import_calendar_year(self.db, text, name=name, at=s.start, actor="scenario")
        if s.policy_file is not None:  # the round's own file, imported as version 1 (CONTRACT §9)
            self.import_file(s.policy_file, s.start, None, None, False)
        used = sorted({s.policy_of(a.key) for a in s.applicants} | {s.policy})
        ensure_schedule(self.db, used)
        tick(self.db, s.start)  # anything already due at the start (e.g. a round begun earlier)
        self.due = next_due(self.db)
        keys = list(dict.fromkeys(a.key for a in s.applicants))
        created = self.wf.create_cases([(s.policy_of(k), s.filing(k)) for k in keys], s.start)
        for key, case_id in zip(keys, created, strict=True):
            self.ids[key], self.keys[case_id] = case_id, key
        s.forget_filings()  # validated and stored: a round's worth of them need not stay in memory
        # Steps before expectations at one instant: an expectation sees the step applied.
        # A calendar import at an instant comes first, then amendments, then steps.
        agenda: list[tuple[dt.datetime, int, int, Step | Expectation | Amendment | tuple[str, str]]] = []
        agenda += [(when, -1, i, (name, text)) for i, (name, text, when) in enumerate(s.calendars) if when]
        # amendments before steps at one instant
        agenda += [(a.at, 0, i - len(s.amendments), a) for i, a in enumerate(s.amendments)]
        agenda += [(st.at, 0, i, st) for i, st in enumerate(s.steps)]
        agenda += [(e.at, 1, i, e) for i, e in enumerate(s.expect) if e.at is not None]
        agenda.sort(key=lambda x: (x[0], x[1], x[2]))
        for at, _kind, index, item in agenda:
            self.advance(at)
            if not isinstance(item, Step):
                self.settle()
            if isinstance(item, tuple):
                import_calendar_year(self.db, item[1], name=item[0], at=at, actor="scenario")
                self.due = next_due(self.db)  # closes may have moved earlier
            elif isinstance(item, Amendment):
                self.import_file(item.file, item.at, item.document, item.reason, item.reinstate)
            elif isinstance(item, Step):
                self.apply_step(index, item)
            else:
                self.check(index, item, at)
        del agenda  # its memory serves the result (a round of 10,000 has 55,000 steps)
        if self.consume:
            s.steps.clear()  # applied; ~20 MB in a round of 10,000, which the result can use instead
        self.settle()
        tick(self.db, s.end)
        self.final = self.final_states()  # one read for every expectation at the end
        for i, e in enumerate(s.expect):
            if e.at is None:
                self.check(i, e, s.end)
        # Deliver the outbox through the in-memory channels, as the scheduler's job would: the
        # rendering runs on every message, so a template that cannot render fails the round.
        from notifications.config import memory_transports
        from notifications.outbox import deliver

        report = deliver(self.db, s.end, transports=memory_transports(keep=False), batch_size=1000)
        if report.failed or report.errors:
            self.failures.append(f"delivery: {report.failed} failed, errors: {list(report.errors)[:3]}")
        return self.result()

    def import_file(self, name: str, at: dt.datetime, document: str | None, reason: str | None,
                    reinstate: bool) -> None:
        """`policy_file:` or an amendment: imported as the city would (`zcflow policy import`)."""
        from workflow.amendments import import_policy

        try:
            import_policy(self.db, self.s.files[name], name, actor_role="city", actor_id="scenario", at=at,
                          document=document, reason=reason, reinstate=reinstate, expect_id=self.s.policy)
        except WorkflowError as exc:
            self.failures.append(f"policy import {name} at {_iso(at)} refused: [{exc.code}] {exc.message}")
        self.due = next_due(self.db)

    def apply_step(self, index: int, step: Step) -> None:
        case_id = self.ids[step.case]
        try:
            moved = self.move(case_id, step.action, Actor.parse(step.actor, step.actor_id), step.at, step.reason)
            if moved.notice_closes_at is not None and (self.due is None or moved.notice_closes_at < self.due):
                self.due = moved.notice_closes_at
        except WorkflowError as exc:
            if step.expect_error != exc.code:
                wanted = f"expected error {step.expect_error}" if step.expect_error else "expected success"
                self.failures.append(f"steps[{index}] {step.case} {step.action} at {_iso(step.at)}: {wanted}, "
                                     f"got {exc.code}: {exc.message}")
            return
        if step.expect_error:
            self.failures.append(f"steps[{index}] {step.case} {step.action} at {_iso(step.at)}: expected error "
                                 f"{step.expect_error}, but the action succeeded")

    def move(self, case_id: int, action: str, actor: Actor, at: dt.datetime, reason: str | None) -> Transition:
        """One step: `Workflow.fire`, as a savepoint of the steps' transaction."""
        return self.wf.fire_in(self.moves(), case_id, action, actor, at, reason)

    def check(self, index: int, e: Expectation, at: dt.datetime) -> None:
        case_id = self.ids[e.case]
        where = f"expect[{index}] {e.case} at {_iso(at)}"
        if e.state is not None:
            state = self.final[case_id] if self.final is not None and at >= self.s.end else self.state_at(case_id, at)
            if state != e.state:
                self.failures.append(f"{where}: expected state {e.state}, found {state}")
        for template, wanted in ((e.notified, True), (e.not_notified, False)):
            if template is None:
                continue
            with self.db.connect() as conn:
                found = conn.execute(select(repo.notifications.c.id).where(
                    repo.notifications.c.case_id == case_id, repo.notifications.c.template == template,
                    repo.notifications.c.created_at <= at)).first()
            if (found is not None) != wanted:
                self.failures.append(f"{where}: expected {'a' if wanted else 'no'} {template!r} notification, "
                                     f"{'none was' if wanted else 'one was'} sent")

    def final_states(self) -> dict[int, str]:
        with self.db.connect() as conn:
            rows = conn.execute(select(repo.cases.c.id, repo.cases.c.state))
            return {int(i): str(st) for i, st in rows if int(i) in self.keys}

    def state_at(self, case_id: int, at: dt.datetime) -> str:
        """The state as of `at`, from the history (so that an expectation at a past instant holds)."""
        with self.db.connect() as conn:
            rows = repo.case_history(conn, case_id)
        state = "draft"
        for h in rows:
            if h.at <= at:
                state = h.to_state
        return state

    def result(self) -> SimulationResult:
        """The outcome, read with three queries (cases, history, outbox) however many cases ran."""
        cases: dict[str, dict[str, Any]] = {}
        reasons: dict[tuple[str, int], str] = {}
        h, n = repo.history.c, repo.notifications.c
        finals: Counter[str] = Counter()
        expired_by: Counter[str] = Counter()
        first_expiry: dict[str, tuple[dt.datetime, str]] = {}  # the cutoffs in the order they struck
        notices_opened = 0
        iso: dict[dt.datetime, str] = {}  # one string per instant: many moves share one
        with self.db.connect() as conn:
            states = {int(i): str(st) for i, st in conn.execute(select(repo.cases.c.id, repo.cases.c.state))}
            for key, case_id in self.ids.items():
                cases[key] = {"id": case_id, "state": states[case_id], "history": []}
                finals[states[case_id]] += 1
            for r in conn.execute(select(h.case_id, h.at, h.from_state, h.to_state, h.action, h.actor_role,
                                         h.reason).order_by(h.case_id, h.seq)):
                owner = self.keys.get(r.case_id)
                if owner is None:
                    continue
                at = iso.get(r.at) or iso.setdefault(r.at, _iso(r.at))
                history = cases[owner]["history"]
                if r.reason:
                    reasons[(owner, len(history))] = r.reason
                history.append({"at": at, "from": r.from_state or None, "to": r.to_state, "action": r.action,
                                "actor": r.actor_role})
                if r.action == "expire":
                    found = re.search(r"cutoff (\S+) passed", r.reason or "")
                    if found:
                        expired_by[found.group(1)] += 1
                        first = (r.at, owner)
                        first_expiry[found.group(1)] = min(first_expiry.get(found.group(1), first), first)
                if r.to_state in ("employer_notice", "qualification_notice", "result_notice") \
                        and r.from_state != "objection":
                    notices_opened += 1
            notifications = [
                {"at": iso.get(r.created_at) or iso.setdefault(r.created_at, _iso(r.created_at)),
                 "case": self.keys[r.case_id], "template": r.template, "channel": r.channel, "status": r.status}
                for r in conn.execute(select(n.case_id, n.created_at, n.template, n.channel, n.status)
                                      .order_by(n.created_at, n.id)) if r.case_id in self.keys]
        summary = {
            "cases": len(cases), "final_states": dict(sorted(finals.items())),
            "expired_at_cutoff": {name: expired_by[name] for name in sorted(expired_by, key=first_expiry.__getitem__)},
            "notices_opened": notices_opened,
            "notifications": len(notifications),
            "notifications_by_template": dict(sorted(Counter(x["template"] for x in notifications).items())),
        }
        return SimulationResult(self.s.name, cases, notifications, list(self.failures), summary, reasons)


def _scratch(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.execute("PRAGMA synchronous=OFF")


def simulate(scenario: Scenario, database: str | None = None, *, consume: bool = False) -> SimulationResult:
    """Run `scenario` on a fresh database: a temporary SQLite file unless `database` names one.
    With `consume` the caller hands the scenario over: its steps are dropped once applied, before
    the result is built (the command line's way; the scenario cannot be run again)."""
    from workflow.policy_registry import unbind

    if database:
        db = open_database(database, create=True)
        try:
            return Simulation(scenario, db, consume=consume).run()
        finally:
            unbind(db)
            db.dispose()
    with tempfile.TemporaryDirectory(prefix="zcflow-sim-") as tmp:
        db = open_database(f"sqlite:///{Path(tmp) / 'simulation.db'}", create=True)
        # A scratch file deleted at the end: nothing to keep through a power cut, so no fsync at
        # checkpoints. Every statement and transaction is the production one.
        event.listen(db, "connect", _scratch)
        try:
            return Simulation(scenario, db, consume=consume).run()
        finally:
            unbind(db)
            db.dispose()
