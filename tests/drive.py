"""Drive a case through the production engine and tick, as an operator would."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.engine import Engine

from states.policy import get_policy
from states.vocabulary import STAGE_KINDS, Role
from tests.filings import SUBMIT_AT, filing
from workflow.deadlines import ensure_schedule, tick
from workflow.engine import Actor, Workflow

HOUR = dt.timedelta(hours=1)


def actor_for(policy_id: str, stage: str, level: str | None) -> Actor:
    if stage == "publication":
        policy = get_policy(policy_id)
        return Actor(Role(policy.levels[level].issued_by))  # type: ignore[index]
    return Actor(STAGE_KINDS[stage].actors[0])


def new_case(wf: Workflow, policy_id: str, serial: int = 1) -> int:
    return wf.create_case(policy_id, filing(policy_id, serial), SUBMIT_AT[policy_id] - HOUR)


def advance(wf: Workflow, case_id: int, at: dt.datetime) -> tuple[str, dt.datetime]:
    """Move the case one stage forward the way its stage demands; returns (new state, time used)."""
    case = wf.case(case_id)
    kind = STAGE_KINDS[case.state]
    if kind.is_notice:
        at = case.notice_closes_at
        tick(wf.db, at)
    else:
        assert kind.advance is not None
        wf.fire(case_id, kind.advance, actor_for(case.policy_id, case.state, case.level), at)
    return wf.case(case_id).state, at + HOUR


def walk(db: Engine, policy_id: str, until: str = "certified", serial: int = 1) -> tuple[Workflow, int, list[str]]:
    """Create a case and walk it along the happy path until `until`; returns the states visited."""
    ensure_schedule(db, [policy_id])
    wf = Workflow(db)
    case_id = new_case(wf, policy_id, serial)
    visited = ["draft"]
    at = SUBMIT_AT[policy_id]
    while visited[-1] != until:
        state, at = advance(wf, case_id, at)
        visited.append(state)
        assert len(visited) < 30, visited
    return wf, case_id, visited
