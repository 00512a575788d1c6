"""Reminders 3 and 1 working days before each cutoff to whoever must act, and the employer's last
approval day (最晚审核日) before the employer cutoff (issue 4; seed 001 §二.2)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.engine import Engine

from states.policy import get_policy
from storage import repo
from tests.drive import walk
from workflow.clock import SHANGHAI
from workflow.deadlines import round_events, tick


def reminders(db: Engine, case_id: int) -> list[tuple[dt.datetime, str, dict[str, object]]]:
    with db.connect() as conn:
        rows = conn.execute(select(repo.notifications).where(
            repo.notifications.c.case_id == case_id, repo.notifications.c.template == "deadline_reminder")
            .order_by(repo.notifications.c.created_at)).all()
    return [(r.created_at, r.recipient_role, r.context) for r in rows]


def nine(y: int, m: int, d: int) -> dt.datetime:
    return dt.datetime(y, m, d, 9, tzinfo=SHANGHAI)


def test_round_events_of_hangzhou_2025() -> None:
    events = {(e["kind"], e["name"]): e["due_at"] for e in round_events(get_policy("hz-recognition-2025h1"))}
    # 04-14 is a Monday: 1 working day before is Fri 04-11, 3 before is Wed 04-09; 最晚审核日 04-07.
    assert events[("reminder", "employer-1wd")] == nine(2025, 4, 11)
    assert events[("reminder", "employer-3wd")] == nine(2025, 4, 9)
    assert events[("reminder", "employer-last-approval")] == nine(2025, 4, 7)
    assert events[("cutoff", "employer")] == dt.datetime(2025, 4, 15, tzinfo=SHANGHAI)
    # 05-30 is a Friday; 05-31..06-02 端午 2025: 1 before is 05-29, 3 before is 05-27.
    assert events[("reminder", "paper-1wd")] == nine(2025, 5, 29)
    assert events[("reminder", "paper-3wd")] == nine(2025, 5, 27)


def test_employer_is_reminded_with_its_last_approval_day(db: Engine) -> None:
    wf, case_id, _ = walk(db, "hz-recognition-2025h1", until="employer_review")
    tick(db, dt.datetime(2025, 4, 15, tzinfo=SHANGHAI))
    got = [(t, role, ctx.get("latest_approval_day")) for t, role, ctx in reminders(db, case_id)
           if ctx.get("cutoff") == "employer"]
    assert got == [(nine(2025, 4, 7), "employer", "2025-04-07"), (nine(2025, 4, 9), "employer", "2025-04-07"),
                   (nine(2025, 4, 11), "employer", "2025-04-07")]
    assert wf.case(case_id).state == "expired"


def test_draft_and_returned_applicants_are_reminded_of_their_cutoffs(db: Engine) -> None:
    _, draft, _ = walk(db, "hz-recognition-2025h1", until="draft")
    tick(db, dt.datetime(2025, 4, 1, tzinfo=SHANGHAI))
    got = [(t, role) for t, role, ctx in reminders(db, draft) if ctx.get("cutoff") == "filing"]
    # 03-31 is a Monday: 3 working days before is Wed 03-26, 1 before is Fri 03-28.
    assert got == [(nine(2025, 3, 26), "applicant"), (nine(2025, 3, 28), "applicant")]


def test_nobody_is_reminded_about_a_case_that_has_moved_on(db: Engine) -> None:
    _, case_id, _ = walk(db, "hz-recognition-2025h1", until="assessment")
    tick(db, dt.datetime(2025, 6, 1, tzinfo=SHANGHAI))
    assert reminders(db, case_id) == []
