"""Property tests: whatever actions, by whoever, at whatever (forward-moving) times, interleaved with
tick, the engine keeps its promises (issue 7; CONTRACT §3, §4, §7):

- a case is only ever in a state of its policy's graph (PolicyMachine.states);
- version == history rows - 1, and replaying the history (from → to, each a move of the policy's
  machine) rebuilds the current state;
- active_key is set exactly while the case is active (submitted, not ended);
- a refused action changes nothing at all, but for the notice closings and cutoffs due by its time,
  which are recorded first (CONTRACT §3);
- tick(t) twice is tick(t) once (cutoffs, notice closings and reminders are idempotent).

And a pure one on states/machine.py: apply() only ever takes a move the table lists.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from states.machine import CaseToken, IllegalMove, PolicyMachine, machine_for
from states.policy import get_policy, policies
from states.vocabulary import ACTIONS, NOTICE_OFFICE, REASON_REQUIRED, STAGE_KINDS, Role, StageKind
from storage import repo
from storage.db import make_engine
from tests.conftest import fresh_pg_url
from tests.filings import SUBMIT_AT, filing
from tests.reliability import consistency_problems, snapshot
from workflow.deadlines import ensure_schedule, tick
from workflow.due import due_moves
from workflow.engine import Actor, Workflow, token_of
from workflow.errors import InvalidInput, WorkflowError

POLICY_IDS = sorted(policies())
ROLES = list(Role)
SCHEDULER_ACTIONS = ("notice_closed", "expire")
# How a step is chosen: mostly onward, sometimes a detour (return, objection), rarely an end.
KINDS = ["advance"] * 10 + ["detour"] * 4 + ["tick"] * 3 + ["any"] * 2 + ["end"]
NO_STAGE = StageKind(None, ())
ENDING = {"withdraw", "revoke", "employer_reject", "department_reject", "committee_reject", "assess_fail",
          "uphold_objection"}
# Steps in minutes: the same instant, minutes, hours, a day, a week, a month.
STEP = st.one_of(st.just(0), st.integers(1, 120), st.integers(121, 48 * 60), st.integers(2 * 1440, 9 * 1440),
                 st.integers(10 * 1440, 40 * 1440))
# 25 examples per backend; ZCFLOW_PROPERTY_EXAMPLES=500 for a longer soak.
EXAMPLES = settings(max_examples=int(os.environ.get("ZCFLOW_PROPERTY_EXAMPLES", "25")), deadline=None,
                    database=None, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@contextmanager
def fresh_database(backend: str, request: pytest.FixtureRequest) -> Iterator[Engine]:
    """A new, migrated, empty database for one example (the `db` fixture is one per test, and a
    hypothesis test runs many examples)."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        with tempfile.TemporaryDirectory(prefix="zcflow-prop-") as tmp:
            shutil.copy(template, Path(tmp) / "zcflow.db")
            engine = make_engine(f"sqlite:///{Path(tmp) / 'zcflow.db'}")
            try:
                yield engine
            finally:
                engine.dispose()
        return
    url, schema = request.getfixturevalue("pg_schema")
    engine = make_engine(fresh_pg_url(url, schema))
    try:
        yield engine
    finally:
        engine.dispose()


def assert_tick_idempotent(db: Engine, now: dt.datetime) -> None:
    tick(db, now)
    once = snapshot(db)
    again = tick(db, now)
    assert (again.moved, again.reminders, again.events_applied) == (0, 0, [])
    assert snapshot(db) == once, "a second tick at the same time changed the database"


def draw_action(data: st.DataObject, pm: PolicyMachine, case: Any, kind: str,
                now: dt.datetime) -> tuple[str, Role, str | None]:
    """`advance`: what moves the case on its way (its stage's action, a resubmit, a dismissal);
    `detour`: a return or an objection; `end`: a withdrawal, rejection, failure or revocation (any
    of these when the state has none); `any`: any action at all. Roles are those the machine names
    for the action (anyone when it names nobody); `any` takes any role and any reason."""
    if kind == "any":
        return (data.draw(st.sampled_from(ACTIONS), label="action"), data.draw(st.sampled_from(ROLES), label="role"),
                data.draw(st.sampled_from([None, "", "  ", "理由"]), label="reason"))
    allowed = [a for a in pm.actions_from(case.state) if a not in SCHEDULER_ACTIONS]
    onward = {STAGE_KINDS.get(case.state, NO_STAGE).advance, "resubmit", "dismiss_objection"}
    kinds = {"advance": [a for a in allowed if a in onward],
             "end": [a for a in allowed if a in ENDING],
             "detour": [a for a in allowed if a not in onward and a not in ENDING]}
    action = data.draw(st.sampled_from(kinds[kind] or allowed or list(ACTIONS)), label="action")
    roles = pm.roles_for(token_of(case, now), action, level=case.level) or tuple(ROLES)
    return action, data.draw(st.sampled_from(roles), label="role"), "材料需补正" if action in REASON_REQUIRED else None


@EXAMPLES
@given(data=st.data())
def test_random_actions_roles_and_times_keep_every_promise(backend: str, request: pytest.FixtureRequest,
                                                           data: st.DataObject) -> None:
    policy_id = data.draw(st.sampled_from(POLICY_IDS), label="policy")
    pm = machine_for(get_policy(policy_id))
    serials = data.draw(st.lists(st.integers(1, 3), min_size=1, max_size=3), label="people (same number: same person)")
    now = SUBMIT_AT[policy_id] - dt.timedelta(hours=data.draw(st.integers(0, 24 * 20), label="hours before"))
    with fresh_database(backend, request) as db:
        ensure_schedule(db, [policy_id])
        wf = Workflow(db)
        case_ids = [wf.create_case(policy_id, filing(policy_id, serial), now) for serial in serials]
        for _ in range(data.draw(st.integers(1, 30), label="steps")):
            now += dt.timedelta(minutes=data.draw(STEP, label="minutes later"))
            kind = data.draw(st.sampled_from(KINDS), label="kind")
            case_id = data.draw(st.sampled_from(case_ids), label="case")
            case = wf.case(case_id)
            if kind == "advance" and STAGE_KINDS.get(case.state, NO_STAGE).is_notice:
                now = max(now, case.notice_closes_at)  # let the notice run its course
                kind = "tick"
            if kind == "tick":
                assert_tick_idempotent(db, now)
            else:
                action, role, reason = draw_action(data, pm, case, kind, now)
                before = snapshot(db)
                due = due_moves(get_policy(policy_id), case, now) if now >= case.updated_at else []
                try:
                    wf.fire(case_id, action, Actor(role), now, reason)
                except InvalidInput as refused:
                    # Bad input (a missing reason, an unknown action) is refused before anything is
                    # decided: nothing changes. A backdated action is one too (no `due` then).
                    assert refused.details.get("field") in ("reason", "action", "actor_id", "at")
                    assert snapshot(db) == before, f"a refused {action} by {role} changed the database"
                except WorkflowError:
                    if not due:
                        assert snapshot(db) == before, f"a refused {action} by {role} changed the database"
                    else:  # what time had done by `now` is recorded, and nothing else (CONTRACT §3)
                        with db.connect() as conn:
                            added = repo.case_history(conn, case_id)[case.version + 1:]
                        assert [(h.action, h.at) for h in added] == [(m.action, m.at) for m in due]
            assert consistency_problems(db) == []
        for case_id in case_ids:
            event(f"reached {wf.case(case_id).version} moves, now {wf.case(case_id).state}")
        assert_tick_idempotent(db, now + dt.timedelta(days=400))  # to past every cutoff of the round
        assert consistency_problems(db) == []


# ---- the machine alone ---------------------------------------------------------------------------

def tokens(state: str, stages: tuple[str, ...]) -> Iterator[CaseToken]:
    """Every context the guards read, for a case in `state`."""
    for return_stage, notice_stage, notice_open in itertools.product(
            (None, *stages), (None, *NOTICE_OFFICE), (True, False)):
        yield CaseToken(state, return_stage, notice_stage, notice_open)


@pytest.mark.parametrize("policy_id", POLICY_IDS)
def test_apply_only_ever_takes_a_listed_move(policy_id: str) -> None:
    pm = machine_for(get_policy(policy_id))
    stages = pm.policy.stages
    for (state, action), moves in pm.table.items():
        listed = {m.dest for m in moves}
        reached: set[str] = set()
        for token in tokens(state, stages):
            context = (token.return_stage, token.notice_stage, token.notice_open)
            try:
                dest = pm.apply(token, action)
            except IllegalMove:
                assert all(m.guard for m in moves), f"{state} -{action}-> refused though unguarded"
                continue
            assert dest in listed, f"{state} -{action}-> {dest}, the table lists {listed}"
            assert dest in pm.states
            assert (token.state, token.return_stage, token.notice_stage, token.notice_open) == (dest, *context)
            reached.add(dest)
        assert reached == listed, f"{state} -{action}: no context reaches {listed - reached}"


@pytest.mark.parametrize("policy_id", POLICY_IDS)
def test_apply_refuses_every_move_the_table_does_not_list(policy_id: str) -> None:
    pm = machine_for(get_policy(policy_id))
    for state, action in itertools.product(pm.states, ACTIONS):
        if (state, action) in pm.table:
            continue
        for token in tokens(state, pm.policy.stages):
            with pytest.raises(IllegalMove):
                pm.apply(token, action)
            assert token.state == state
