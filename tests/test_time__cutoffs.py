"""Every cutoff of every policy: at the end of the cutoff day every case still in a stage it ends
moves to `expired`, with the cutoff named; cases elsewhere stay (CONTRACT §4)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.engine import Engine

from states.calendar import end_of_day
from states.legal import SEED_FILE, cite_source
from states.policy import policies
from states.vocabulary import STAGE_KINDS, Role
from storage import repo
from tests.drive import HOUR, walk
from tests.filings import filing
from workflow.clock import SHANGHAI
from workflow.deadlines import tick
from workflow.engine import Actor, Workflow
from workflow.errors import WindowClosed

SECOND = dt.timedelta(seconds=1)
CUTOFFS = [(p.id, c.name) for p in policies().values() for c in p.cutoffs]
# Seeds: 001 §二/§四, 000 §二, 002 §二.
EXPECTED_DATES = {
    ("hz-recognition-2025h1", "filing"): "2025-03-31", ("hz-recognition-2025h1", "employer"): "2025-04-14",
    ("hz-recognition-2025h1", "management"): "2025-04-30", ("hz-recognition-2025h1", "paper"): "2025-05-30",
    ("yh-recognition-2024", "filing"): "2024-04-18", ("yh-recognition-2024", "employer"): "2024-04-30",
    ("lp-assessment-2022", "filing"): "2022-08-15", ("lp-assessment-2022", "employer"): "2022-08-26",
}


def test_the_cutoff_dates_are_the_seeds() -> None:
    found = {(p.id, c.name): c.date.isoformat() for p in policies().values() for c in p.cutoffs}
    assert found == EXPECTED_DATES


@pytest.mark.parametrize(("policy_id", "name"), CUTOFFS, ids=[f"{p}:{n}" for p, n in CUTOFFS])
def test_cutoff_expires_every_case_in_the_stages_it_ends(db: Engine, policy_id: str, name: str) -> None:
    policy = policies()[policy_id]
    cutoff = next(c for c in policy.cutoffs if c.name == name)
    instant = end_of_day(cutoff.date)
    late = instant - 3 * HOUR  # a notice opened now is still running at the cutoff
    inside: dict[int, str] = {}
    serial = 0

    def case_in(stage: str) -> tuple[object, int]:
        nonlocal serial
        serial += 1
        if not STAGE_KINDS[stage].is_notice:
            wf, case_id, _ = walk(db, policy_id, until=stage, serial=serial)
            return wf, case_id
        before = policy.stages[policy.stages.index(stage) - 1]
        wf, case_id, _ = walk(db, policy_id, until=before, serial=serial)
        kind = STAGE_KINDS[before]
        assert kind.advance
        wf.fire(case_id, kind.advance, Actor(kind.actors[0]), late)
        assert wf.case(case_id).state == stage and wf.case(case_id).notice_closes_at > instant
        return wf, case_id

    for stage in cutoff.ends:
        wf, case_id = case_in(stage)
        inside[case_id] = stage
        kind = STAGE_KINDS[stage]
        if kind.ret:  # a case this stage returned is ended by the same cutoff
            wf, returned = case_in(stage)
            wf.fire(returned, kind.ret, Actor(kind.actors[0]), late + HOUR, reason="补材料")
            inside[returned] = "returned"
        if kind.is_notice:  # so is an objection to a notice it ends
            wf, objected = case_in(stage)
            wf.fire(objected, "object", Actor(Role.public), late + HOUR, reason="有异议")
            inside[objected] = "objection"
    # A case just past the stages this cutoff ends (reached before the cutoff) is untouched.
    after = policy.stages[max(policy.stages.index(s) for s in cutoff.ends) + 1]
    if STAGE_KINDS[after].is_notice:
        after = policy.stages[policy.stages.index(after) + 1]
    serial += 1
    wf, beyond, _ = walk(db, policy_id, until=after, serial=serial)
    assert wf.case(beyond).updated_at < instant
    tick(db, instant - SECOND)
    assert {cid: wf.case(cid).state for cid in inside} == inside
    tick(db, instant)
    for case_id, state in inside.items():
        case = wf.case(case_id)
        assert case.state == "expired", (state, case.state)
        with db.connect() as conn:
            last = repo.case_history(conn, case_id)[-1]
        assert (last.action, last.from_state, last.at) == ("expire", state, instant)
        assert f"cutoff {name} passed" in last.reason and cutoff.label in last.reason
        # The notice by its title and 文号 (what the API and `case show` print), never a seed file name.
        assert not SEED_FILE.search(last.reason) and cite_source(cutoff.source, policy) in last.reason
        assert case.active_key is None
    assert wf.case(beyond).state == after


def test_filing_window_refuses_submit_outside_it(db: Engine) -> None:
    """Seed 000 §二: 个人网上申报时间 2024年3月20日至4月18日."""
    wf = Workflow(db)
    # Created before the window opens (a history never runs backwards: CONTRACT §3).
    case_id = wf.create_case("yh-recognition-2024", filing("yh-recognition-2024", 1),
                             dt.datetime(2024, 3, 1, 9, tzinfo=SHANGHAI))
    with pytest.raises(WindowClosed, match="2024-03-20"):
        wf.fire(case_id, "submit", Actor(Role.applicant), dt.datetime(2024, 3, 19, 23, 59, tzinfo=SHANGHAI))
    wf.fire(case_id, "submit", Actor(Role.applicant), dt.datetime(2024, 3, 20, 0, 0, tzinfo=SHANGHAI))
    wf2, late, _ = walk(db, "yh-recognition-2024", until="draft", serial=2)
    with pytest.raises(WindowClosed):
        wf2.fire(late, "submit", Actor(Role.applicant), dt.datetime(2024, 4, 19, 0, 0, tzinfo=SHANGHAI))


def test_resubmit_is_open_until_the_returning_stage_cutoff(db: Engine) -> None:
    """CONTRACT §3: resubmit stays open until the cutoff of the stage that returned the case."""
    wf, case_id, _ = walk(db, "hz-recognition-2025h1", until="management_review")
    wf.fire(case_id, "department_return", Actor(Role.department), dt.datetime(2025, 4, 20, 10, tzinfo=SHANGHAI),
            reason="缺少劳动合同")
    # After the filing cutoff (03-31) and the employer cutoff (04-14), but before management (04-30).
    wf.fire(case_id, "resubmit", Actor(Role.applicant), dt.datetime(2025, 4, 30, 23, 0, tzinfo=SHANGHAI))
    assert wf.case(case_id).state == "management_review"


def test_a_notice_closing_exactly_at_the_cutoff_is_in_time(db: Engine) -> None:
    """Approval on the last approval day (2025-04-07): the notice closes at the end of 04-14, the very
    instant of the employer cutoff; closings apply before cutoffs, so the case moves on."""
    wf, on_time, _ = walk(db, "hz-recognition-2025h1", until="employer_review")
    wf.fire(on_time, "employer_approve", Actor(Role.employer), dt.datetime(2025, 4, 7, 17, tzinfo=SHANGHAI))
    wf, late, _ = walk(db, "hz-recognition-2025h1", until="employer_review", serial=2)
    wf.fire(late, "employer_approve", Actor(Role.employer), dt.datetime(2025, 4, 8, 9, tzinfo=SHANGHAI))
    cutoff = end_of_day(dt.date(2025, 4, 14))
    assert wf.case(on_time).notice_closes_at == cutoff
    tick(db, cutoff)
    assert wf.case(on_time).state == "management_review"
    assert wf.case(late).state == "expired"


def test_the_count_of_the_cases_a_cutoff_ends_is_what_its_sweep_expires(db: Engine) -> None:
    """A draft created after the filing cutoff (its last move is after it) is not ended by it: the
    count the dashboard shows for a cutoff that has passed is what the next tick then expires."""
    from workflow.deadlines import ensure_schedule
    from workflow.due import count_ended_by

    hz = "hz-recognition-2025h1"
    ensure_schedule(db, [hz])
    wf = Workflow(db)
    wf.create_case(hz, filing(hz, 1), dt.datetime(2025, 3, 19, 10, tzinfo=SHANGHAI))
    wf.create_case(hz, filing(hz, 2), dt.datetime(2025, 4, 3, 10, tzinfo=SHANGHAI))
    cutoff = next(c for c in policies()[hz].cutoffs if c.name == "filing")
    now = dt.datetime(2025, 4, 4, 10, tzinfo=SHANGHAI)
    with db.connect() as conn:
        counted = count_ended_by(conn, hz, cutoff, now)
    report = tick(db, now)
    assert counted == report.expired[f"{hz}:filing"] == 1
