"""Returns go back to the stage that returned the case; withdraw and revoke (CONTRACT §3)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.engine import Engine

from states.vocabulary import STAGE_KINDS, Role
from storage import repo
from tests.drive import HOUR, walk
from workflow.engine import Actor
from workflow.errors import Barred, IllegalTransition, InvalidInput

RETURNING = [
    ("hz-recognition-2025h1", "employer_review"),
    ("hz-recognition-2025h1", "management_review"),
    ("yh-recognition-2024", "committee_review"),
    ("lp-assessment-2022", "management_review"),
    ("lp-assessment-2022", "committee_review"),
    ("hz-recognition-2022", "management_review"),
    ("wx-recognition-2022", "employer_review"),
]


@pytest.mark.parametrize(("policy_id", "stage"), RETURNING, ids=[f"{p}:{s}" for p, s in RETURNING])
def test_resubmit_goes_back_to_the_returning_stage(db: Engine, policy_id: str, stage: str) -> None:
    wf, case_id, _ = walk(db, policy_id, until=stage)
    at = wf.case(case_id).updated_at + HOUR
    kind = STAGE_KINDS[stage]
    assert kind.ret is not None
    wf.fire(case_id, kind.ret, Actor(kind.actors[0]), at, reason="学历证明不清晰")
    case = wf.case(case_id)
    assert (case.state, case.return_stage) == ("returned", stage)
    wf.fire(case_id, "resubmit", Actor(Role.applicant), at + HOUR)
    assert wf.case(case_id).state == stage
    with db.connect() as conn:
        last = repo.case_history(conn, case_id)[-2:]
    assert [(h.action, h.from_state, h.to_state) for h in last] == [
        (kind.ret, stage, "returned"), ("resubmit", "returned", stage)]
    assert last[0].reason == "学历证明不清晰"


def test_a_return_needs_a_reason(db: Engine) -> None:
    wf, case_id, _ = walk(db, "hz-recognition-2025h1", until="employer_review")
    with pytest.raises(InvalidInput, match="reason"):
        wf.fire(case_id, "employer_return", Actor(Role.employer), wf.case(case_id).updated_at + HOUR)
    assert wf.case(case_id).state == "employer_review"


@pytest.mark.parametrize("stage", ["draft", "employer_review", "employer_notice", "management_review",
                                   "paper_submission", "assessment", "publication"])
def test_withdraw_from_every_open_stage(db: Engine, stage: str) -> None:
    wf, case_id, _ = walk(db, "hz-recognition-2025h1", until=stage)
    wf.fire(case_id, "withdraw", Actor(Role.applicant), wf.case(case_id).updated_at + HOUR)
    case = wf.case(case_id)
    assert case.state == "withdrawn" and case.active_key is None
    with pytest.raises(IllegalTransition):
        wf.fire(case_id, "resubmit", Actor(Role.applicant), case.updated_at + HOUR)


def test_revoke_after_certification_bars_the_person_for_three_years(db: Engine) -> None:
    """Seed 001 §五 / 000 §五: 从次年起3年内不得再申报 — fraud in Y bars Y+1..Y+3 in every policy."""
    wf, case_id, _ = walk(db, "hz-recognition-2025h1")
    found = dt.datetime(2025, 9, 1, 10, tzinfo=dt.UTC)
    wf.fire(case_id, "revoke", Actor(Role.city), found, reason="伪造证书")
    assert wf.case(case_id).state == "revoked"
    with db.connect() as conn:
        bars = repo.bars_for(conn, wf.case(case_id).id_number)
    assert [(b.from_year, b.to_year) for b in bars] == [(2026, 2028)]
    # The same person, another policy, in 2026: barred. In 2029 the bar has run out.
    from tests.filings import filing

    person = filing("hz-recognition-2022", serial=1)
    other = wf.create_case("hz-recognition-2022", person, found)
    with pytest.raises(Barred):
        wf.fire(other, "submit", Actor(Role.applicant), dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC))
    with pytest.raises(Barred):
        wf.fire(other, "submit", Actor(Role.applicant), dt.datetime(2028, 12, 31, 10, tzinfo=dt.UTC))
    wf.fire(other, "submit", Actor(Role.applicant), dt.datetime(2029, 1, 2, 10, tzinfo=dt.UTC))
    assert wf.case(other).state == "employer_review"


@pytest.mark.parametrize("stage", ["draft", "employer_notice", "assessment"])
def test_revoke_from_any_state(db: Engine, stage: str) -> None:
    wf, case_id, _ = walk(db, "lp-assessment-2022", until=stage)
    wf.fire(case_id, "revoke", Actor(Role.committee), wf.case(case_id).updated_at + HOUR, reason="提交虚假材料")
    assert wf.case(case_id).state == "revoked"
    with pytest.raises(IllegalTransition):
        wf.fire(case_id, "revoke", Actor(Role.committee), wf.case(case_id).updated_at + HOUR, reason="again")
