"""Every stage sequence of CONTRACT §2, walked through the engine and the scheduler's tick."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy.engine import Engine

from storage import repo
from tests.drive import walk

# CONTRACT §2, typed from the contract (not read from the policy files).
CONTRACT_SEQUENCES = {
    "hz-recognition-2025h1": "draft employer_review employer_notice management_review paper_submission "
                             "assessment publication certified",
    "hz-recognition-2022": "draft employer_review employer_notice management_review assessment publication "
                           "certified",
    "yh-recognition-2024": "draft employer_review employer_notice committee_review paper_submission assessment "
                           "publication certified",
    "lp-assessment-2022": "draft employer_review employer_notice management_review committee_review "
                          "qualification_notice fee_payment assessment result_notice mail_in publication "
                          "certified",
    "wx-recognition-2022": "draft employer_review publication certified",
}


@pytest.mark.parametrize("policy_id", CONTRACT_SEQUENCES, ids=list(CONTRACT_SEQUENCES))
def test_happy_path_follows_the_contract_sequence(db: Engine, policy_id: str) -> None:
    wf, case_id, visited = walk(db, policy_id)
    assert visited == CONTRACT_SEQUENCES[policy_id].split()
    with db.connect() as conn:
        hist = repo.case_history(conn, case_id)
    # One history row per move, numbered by the case's version, each from the previous state.
    assert [h.to_state for h in hist] == visited
    assert [h.seq for h in hist] == list(range(len(visited)))
    assert all(a.to_state == b.from_state for a, b in itertools.pairwise(hist))
    assert wf.case(case_id).version == len(visited) - 1


@pytest.mark.parametrize("policy_id", CONTRACT_SEQUENCES, ids=list(CONTRACT_SEQUENCES))
def test_every_zhejiang_policy_has_a_5_working_day_employer_notice(policy_id: str) -> None:
    """CONTRACT §3 and seed 002 附件3 §一.4: the employer's notice of 5 working days (Zhejiang only)."""
    from states.policy import get_policy

    policy = get_policy(policy_id)
    if policy.scope.province == "zhejiang":
        assert policy.notices["employer_notice"].working_days == 5
        assert policy.stages.index("employer_notice") == policy.stages.index("employer_review") + 1
    else:
        assert "employer_notice" not in policy.stages
