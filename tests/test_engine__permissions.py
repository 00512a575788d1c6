"""Deny by default: an action is refused unless the actor's role is named for it (CONTRACT §3)."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from states.vocabulary import Role
from tests.drive import HOUR, walk
from workflow.engine import Actor
from workflow.errors import IllegalTransition, NotPermitted

REFUSED = [
    ("employer_review", "employer_approve", Role.applicant),
    ("employer_review", "employer_approve", Role.department),
    ("employer_review", "employer_return", Role.committee),
    ("management_review", "department_approve", Role.employer),
    ("paper_submission", "receive_paper", Role.applicant),
    ("assessment", "assess_pass", Role.city),
    ("publication", "issue_certificate", Role.application_point),  # hz 2025 intermediate: the city issues
    ("publication", "issue_certificate", Role.committee),
    ("employer_notice", "notice_closed", Role.employer),
    ("employer_notice", "object", Role.employer),
    ("draft", "submit", Role.employer),
    ("draft", "withdraw", Role.admin),
    ("assessment", "revoke", Role.applicant),
]


@pytest.mark.parametrize(("stage", "action", "role"), REFUSED, ids=[f"{a}-by-{r.value}" for _, a, r in REFUSED])
def test_role_refusals_name_case_state_and_allowed_roles(db: Engine, stage: str, action: str, role: Role) -> None:
    wf, case_id, _ = walk(db, "hz-recognition-2025h1", until=stage)
    before = wf.case(case_id)
    with pytest.raises(NotPermitted) as info:
        wf.fire(case_id, action, Actor(role), before.updated_at + HOUR, reason="x")
    message = str(info.value)
    assert f"case {case_id}" in message and stage in message and action in message and role.value in message
    after = wf.case(case_id)
    assert (after.state, after.version) == (before.state, before.version)


def test_illegal_transition_lists_what_is_allowed(db: Engine) -> None:
    wf, case_id, _ = walk(db, "hz-recognition-2025h1", until="employer_review")
    with pytest.raises(IllegalTransition) as info:
        wf.fire(case_id, "assess_pass", Actor(Role.committee), wf.case(case_id).updated_at + HOUR)
    # What the committee may do there, not the employer's actions nor the scheduler's `expire`.
    assert "'employer_review'" in str(info.value) and "committee may: revoke" in str(info.value)
    assert info.value.details["allowed"] == ["revoke"]
    with pytest.raises(IllegalTransition) as info:
        wf.fire(case_id, "resubmit", Actor(Role.employer), wf.case(case_id).updated_at + HOUR)
    assert info.value.details["allowed"] == ["employer_approve", "employer_reject", "employer_return"]
    assert "expire" not in str(info.value) and "withdraw" not in str(info.value)
