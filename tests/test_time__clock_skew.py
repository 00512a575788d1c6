"""Several processes, several clocks: a web server acting "now" may run a little behind the peer that
recorded the case's last move (CONTRACT §3 refuses backdated actions, not clock skew), and processes
started one after another with ZCFLOW_NOW share one shifted clock when ZCFLOW_NOW_SINCE anchors it."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from sqlalchemy.engine import Engine

from states.vocabulary import Role
from tests.filings import filing
from workflow import clock
from workflow.engine import Actor, Workflow
from workflow.errors import InvalidInput
from workflow.web.service import SERVER_CLOCK_SKEW

SUBMITTED = dt.datetime(2025, 3, 20, 10, tzinfo=clock.SHANGHAI)


def submitted_case(db: Engine) -> tuple[Workflow, int]:
    wf = Workflow(db)
    policy = "hz-recognition-2025h1"
    case_id = wf.create_case(policy, filing(policy), SUBMITTED - dt.timedelta(hours=1))
    wf.fire(case_id, "submit", Actor(Role.applicant), SUBMITTED)
    return wf, case_id


def test_a_server_a_second_behind_its_peer_acts_at_the_peers_instant(db: Engine) -> None:
    wf, case_id = submitted_case(db)
    behind = SUBMITTED - dt.timedelta(seconds=1)
    t = wf.fire(case_id, "employer_approve", Actor(Role.employer), behind, skew=SERVER_CLOCK_SKEW)
    assert t.at == SUBMITTED and t.to_state == "employer_notice"


def test_a_backdated_action_is_still_refused_naming_at(db: Engine) -> None:
    wf, case_id = submitted_case(db)
    with pytest.raises(InvalidInput) as refused:
        wf.fire(case_id, "employer_approve", Actor(Role.employer), SUBMITTED - dt.timedelta(seconds=1))
    assert refused.value.details["field"] == "at"
    with pytest.raises(InvalidInput):  # beyond the skew a server tolerates, too
        wf.fire(case_id, "employer_approve", Actor(Role.employer), SUBMITTED - dt.timedelta(minutes=5),
                skew=SERVER_CLOCK_SKEW)
    assert wf.case(case_id).state == "employer_review"


def test_processes_started_apart_share_one_shifted_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    anchor = time.time() - 30  # the first process started 30 s ago, reading SUBMITTED then
    try:
        clock.set_now_from_env({"ZCFLOW_NOW": SUBMITTED.isoformat(), "ZCFLOW_NOW_SINCE": str(anchor)})
        late_starter = clock.now()
        clock.set_now_from_env({"ZCFLOW_NOW": SUBMITTED.isoformat()})
        unanchored = clock.now()
    finally:
        clock.set_now(None)
    assert dt.timedelta(seconds=29) < late_starter - SUBMITTED < dt.timedelta(seconds=60)
    assert unanchored - SUBMITTED < dt.timedelta(seconds=5)
