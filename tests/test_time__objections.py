"""Objections suspend a notice; dismissal resumes it until its original close or moves the case on
at once if that has passed; upholding rejects the case (CONTRACT §4)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.engine import Engine

from states.vocabulary import Role
from storage import repo
from tests.drive import HOUR, walk
from workflow.deadlines import tick
from workflow.engine import Actor, Workflow


def in_notice(db: Engine, policy_id: str = "hz-recognition-2025h1",
              stage: str = "employer_notice") -> tuple[Workflow, int, dt.datetime]:
    wf, case_id, _ = walk(db, policy_id, until=stage)
    case = wf.case(case_id)
    wf.fire(case_id, "object", Actor(Role.public), case.notice_opened_at + HOUR, reason="业绩材料不实")
    assert wf.case(case_id).state == "objection"
    return wf, case_id, case.notice_closes_at


def test_objection_suspends_the_notice(db: Engine) -> None:
    wf, case_id, closes = in_notice(db)
    tick(db, closes + dt.timedelta(days=2))
    assert wf.case(case_id).state == "objection"  # it does not close while suspended


def test_dismissed_before_the_close_returns_to_the_notice_until_its_original_close(db: Engine) -> None:
    wf, case_id, closes = in_notice(db)
    wf.fire(case_id, "dismiss_objection", Actor(Role.employer), closes - 10 * HOUR)
    case = wf.case(case_id)
    assert case.state == "employer_notice" and case.notice_closes_at == closes
    tick(db, closes)
    assert wf.case(case_id).state == "management_review"


def test_dismissed_after_the_close_moves_on_at_once(db: Engine) -> None:
    wf, case_id, closes = in_notice(db)
    wf.fire(case_id, "dismiss_objection", Actor(Role.employer), closes + HOUR)
    case = wf.case(case_id)
    assert case.state == "management_review" and case.notice_closes_at is None
    with db.connect() as conn:
        assert "notice_closed" in [n.template for n in repo.case_notifications(conn, case_id)]


def test_upheld_objection_rejects_the_case(db: Engine) -> None:
    wf, case_id, closes = in_notice(db)
    wf.fire(case_id, "uphold_objection", Actor(Role.employer), closes - HOUR, reason="经核实业绩不实")
    assert wf.case(case_id).state == "rejected"
    assert wf.case(case_id).active_key is None


def test_objections_to_committee_notices_are_decided_by_the_committee(db: Engine) -> None:
    """Seed 002 §三.（二）/（三）: 中评委办公室 runs the qualification and result notices."""
    import pytest

    from workflow.errors import NotPermitted

    wf, case_id, closes = in_notice(db, "lp-assessment-2022", "qualification_notice")
    with pytest.raises(NotPermitted):
        wf.fire(case_id, "dismiss_objection", Actor(Role.employer), closes - HOUR)
    wf.fire(case_id, "dismiss_objection", Actor(Role.committee), closes - HOUR)
    tick(db, closes)
    assert wf.case(case_id).state == "fee_payment"
