"""Importing a round and amending it (延期), CONTRACT §9: versions, the impact table, the `amend` rows
naming the document, the `amended` notifications, reinstatement, the state map and every refusal
(nothing stored). The round is seed 001's (hz-recognition-2025h1) under a new id written by
`policy new`, so that the bundled policy stays untouched."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from notifications.config import memory_transports
from notifications.outbox import deliver
from states.calendar import end_of_day
from states.policy import POLICY_DIR, get_policy
from states.vocabulary import Role
from storage import repo
from storage.audit import audit_entries
from storage.migrate import upgrade
from storage.policy_store import policy_versions
from tests.filings import filing
from workflow.amendments import Impact, import_policy
from workflow.clock import SHANGHAI
from workflow.deadlines import tick
from workflow.engine import Actor, Workflow
from workflow.errors import InvalidInput
from workflow.policy_files import bundled_text, starting_file

PID = "hz-trial-2025h1"
DOC1 = "杭经信职改〔2025〕7号"
DOC2 = "杭经信职改〔2025〕9号"


def at(month: int, day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(2025, month, day, hour, tzinfo=SHANGHAI)


def round_text(**dates: str) -> str:
    """Seed 001's round under PID; `employer="2025-04-21"` moves that cutoff's date."""
    text = bundled_text("hz-recognition-2025h1")
    assert text is not None
    out = starting_file(text, PID, "hz-recognition-2025h1", POLICY_DIR)
    for name, new in dates.items():
        out, n = re.subn(rf"(- name: {name}\n(?:    .*\n)*?    date: )\S+", rf"\g<1>{new}", out)
        assert n == 1, name
    return out


def do_import(db: Engine, text: str, when: dt.datetime, **kw: Any) -> Impact:
    return import_policy(db, text, f"{PID}.yaml", actor_role="city", actor_id="市经信局张三", at=when, **kw)


def counts(db: Engine) -> dict[str, int]:
    with db.connect() as conn:
        return {t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
                for t in (policy_versions, repo.history, repo.notifications, repo.cases)}


@pytest.fixture
def round_db(db: Engine) -> Workflow:
    upgrade(db)
    impact = do_import(db, round_text(), at(2, 24))
    assert (impact.kind, impact.to_version) == ("import", 1)
    return Workflow(db)


def file_cases(wf: Workflow, n: int, first_serial: int = 1) -> list[int]:
    ids = [wf.create_case(PID, filing("hz-recognition-2025h1", s), at(3, 19)) for s in
           range(first_serial, first_serial + n)]
    for case_id in ids:
        wf.fire(case_id, "submit", Actor(Role.applicant), at(3, 20))
    return ids


def test_a_new_id_is_version_1_with_its_document_actor_and_audit_row(round_db: Workflow) -> None:
    db = round_db.db
    policy = get_policy(PID)
    assert policy.version == 1 and [c.date.isoformat() for c in policy.cutoffs][:2] == ["2025-03-31", "2025-04-14"]
    with db.connect() as conn:
        row = conn.execute(select(policy_versions)).one()
        audit = audit_entries(conn, subject=PID)
        due = conn.execute(select(repo.scheduled_events.c.due_at).where(
            repo.scheduled_events.c.policy_id == PID, repo.scheduled_events.c.name == "employer")).scalar_one()
    assert (row.version, row.actor, row.kind, len(row.checksum)) == (1, "市经信局张三", "import", 64)
    assert [a.action for a in audit] == ["policy_import"]
    assert due.astimezone(SHANGHAI) == end_of_day(dt.date(2025, 4, 14))


def test_dry_run_prints_the_impact_and_writes_nothing(round_db: Workflow) -> None:
    db = round_db.db
    file_cases(round_db, 3)
    before = counts(db)
    impact = do_import(db, round_text(employer="2025-04-21"), at(4, 10), document=DOC1, dry_run=True)
    assert impact.kind == "amendment" and impact.dry_run
    assert impact.cutoffs == [{"name": "employer", "label": "单位网上审核推荐截止", "old": "2025-04-14",
                               "new": "2025-04-21"}]
    assert impact.stages == [{"stage": "employer_review", "to": "employer_review", "cases": 3,
                              "deadline_moves": True, "old": "2025-04-14", "new": "2025-04-21"}]
    assert (impact.amended, impact.deadline_moved) == (3, 3)
    assert counts(db) == before
    assert get_policy(PID).version == 1


def test_extension_moves_cases_notifies_and_lets_the_extra_week_count(round_db: Workflow) -> None:
    """Seed 001 §二.2's employer cutoff (04-14) extended by a week: the cases in employer review move to
    version 2 with an `amend` row naming the document; applicant and employer are told; the old
    cutoff passes without expiring them and an approval on 04-16 goes through."""
    from storage.webhooks import add_webhook, webhook_events

    db, wf = round_db.db, round_db
    with db.begin() as conn:  # a platform listening to this round (CONTRACT §11)
        add_webhook(conn, "https://platform.example/hook", "s3cret-s3cret", [PID], at(3, 1))
    waiting, approved = file_cases(wf, 3), file_cases(wf, 1, first_serial=10)[0]
    wf.fire(approved, "employer_approve", Actor(Role.employer), at(3, 21))
    tick(db, at(3, 29))  # its notice closes 03-28: management review, whose cutoff does not move
    impact = do_import(db, round_text(employer="2025-04-21"), at(4, 10), document=DOC1, reason="系统维护延期")
    assert (impact.to_version, impact.amended, impact.deadline_moved, impact.notified) == (2, 4, 3, 6)
    for case_id in (*waiting, approved):
        case = wf.case(case_id)
        assert case.policy_version == 2
        with db.connect() as conn:
            last = repo.case_history(conn, case_id)[-1]
        assert (last.action, last.actor_role, last.from_state, last.to_state) == (
            "amend", "city", case.state, case.state)
        assert DOC1 in (last.reason or "")
    with db.connect() as conn:
        sent = conn.execute(select(repo.notifications.c.case_id, repo.notifications.c.recipient_role).where(
            repo.notifications.c.template == "amended")).all()
    assert sorted(sent) == sorted([(c, r) for c in waiting for r in ("applicant", "employer")])
    with db.connect() as conn:
        events = conn.execute(select(webhook_events.c.case_id, webhook_events.c.action).where(
            webhook_events.c.action == "amend")).all()
    assert sorted(c for c, _ in events) == sorted([*waiting, approved])
    report = deliver(db, at(4, 10, 11), transports=memory_transports())
    assert not report.failed and not report.errors
    tick(db, at(4, 15, 1))
    assert [wf.case(c).state for c in waiting] == ["employer_review"] * 3
    moved = wf.fire(waiting[0], "employer_approve", Actor(Role.employer), at(4, 16))
    assert moved.to_state == "employer_notice"
    tick(db, end_of_day(dt.date(2025, 4, 21)) + dt.timedelta(seconds=1))
    assert wf.case(waiting[1]).state == "expired"
    with db.connect() as conn:
        assert "2025-04-21" in (repo.case_history(conn, waiting[1])[-1].reason or "")
        assert [a.action for a in audit_entries(conn, subject=PID)] == ["policy_amend", "policy_import"]


def test_reinstate_brings_back_cases_expired_at_a_cutoff_moved_later(round_db: Workflow) -> None:
    """Cases expired at the management cutoff (seed 001 §二.3, 04-30) come back to management review
    when a second amendment moves it to 05-15 with --reinstate; without it they are only counted."""
    db, wf = round_db.db, round_db
    ids = file_cases(wf, 2)
    for case_id in ids:
        wf.fire(case_id, "employer_approve", Actor(Role.employer), at(3, 21))
    tick(db, end_of_day(dt.date(2025, 4, 30)) + dt.timedelta(seconds=1))
    assert [wf.case(c).state for c in ids] == ["expired", "expired"]
    text = round_text(management="2025-05-15")
    plain = do_import(db, text, at(5, 6), document=DOC2, dry_run=True)
    assert plain.reinstate == {} and plain.reinstate_possible == {"management_review": 2}
    impact = do_import(db, text, at(5, 6), document=DOC2, reinstate=True)
    assert impact.reinstate == {"management_review": 2}
    for case_id in ids:
        case = wf.case(case_id)
        assert (case.state, case.policy_version, case.active_key) == (
            "management_review", 2, f"{PID}|{case.id_number}")
        with db.connect() as conn:
            last = repo.case_history(conn, case_id)[-1]
        assert (last.action, last.from_state, last.to_state) == ("reinstate", "expired", "management_review")
        assert DOC2 in (last.reason or "")
    wf.fire(ids[0], "department_approve", Actor(Role.department), at(5, 8))
    tick(db, end_of_day(dt.date(2025, 5, 15)) + dt.timedelta(seconds=1))
    assert wf.case(ids[0]).state == "paper_submission"
    assert wf.case(ids[1]).state == "expired"


def test_a_cutoff_moved_into_the_past_is_counted_as_expiring(round_db: Workflow) -> None:
    db, wf = round_db.db, round_db
    file_cases(wf, 2)
    impact = do_import(db, round_text(employer="2025-04-08"), at(4, 10), document=DOC1, dry_run=True)
    assert impact.expire == {"employer": 2}



def test_a_cutoff_moved_into_the_past_expires_what_the_dry_run_counts(round_db: Workflow) -> None:
    """The filing cutoff (03-31) moved to 03-21 on 03-25: a draft of 03-19 was in `draft` at the new
    cutoff and expires at its instant; a draft created on 03-24 was not (its last move is after the
    cutoff) and is amended like any open case. The dry run counts exactly what the import then does,
    and the next tick finds nothing left to expire."""
    db, wf = round_db.db, round_db
    early = wf.create_case(PID, filing("hz-recognition-2025h1", 1), at(3, 19))
    late = wf.create_case(PID, filing("hz-recognition-2025h1", 2), at(3, 24))
    text = round_text(filing="2025-03-21")
    dry = do_import(db, text, at(3, 25), document=DOC1, dry_run=True)
    real = do_import(db, text, at(3, 25), document=DOC1)
    assert dry.expire == real.expire == {"filing": 1}
    assert (dry.amended, real.amended) == (1, 1)
    report = tick(db, at(3, 25, 11))
    assert report.expired.get(f"{PID}:filing", 0) == 0
    assert (wf.case(early).state, wf.case(late).state) == ("expired", "draft")
    with db.connect() as conn:
        steps = repo.case_history(conn, early)
        assert [h.action for h in repo.case_history(conn, late)] == ["create", "amend"]
    assert [(h.action, h.at) for h in steps] == [("create", at(3, 19)), ("expire", end_of_day(dt.date(2025, 3, 21)))]
    assert "2025-03-21" in (steps[-1].reason or "")
    assert wf.case(early).policy_version == 2

def test_refusals_store_nothing(round_db: Workflow) -> None:
    db, wf = round_db.db, round_db
    file_cases(wf, 2)
    before = counts(db)
    text = round_text(employer="2025-04-21")
    refusals: list[tuple[str, dict[str, Any], str]] = [
        (text, {}, "document"),  # an amendment names its document
        (text.replace("track: recognition", "track: assessment\nassessment: {x: 1}"), {"document": DOC1}, "track"),
        (text, {"document": DOC1, "expect_id": "hz-other-2025h1"}, "id"),
        (text.replace("employer_review, employer_notice, management_review",
                      "employer_notice, management_review").replace(
                      "ends: [employer_review, employer_notice]", "ends: [employer_notice]"),
         {"document": DOC1}, "state_map"),
    ]
    for body, kw, field in refusals:
        with pytest.raises(InvalidInput) as info:
            do_import(db, body, at(4, 10), **kw)
        assert info.value.details.get("field") == field, info.value.message
        assert counts(db) == before
    with pytest.raises(InvalidInput) as info:
        do_import(db, refusals[3][0], at(4, 10), document=DOC1)
    assert "employer_review: 2 case(s)" in info.value.message


def test_a_state_map_moves_cases_out_of_a_removed_stage(round_db: Workflow) -> None:
    db, wf = round_db.db, round_db
    ids = file_cases(wf, 2)
    text = round_text().replace("stages: [draft, employer_review, employer_notice, management_review,",
                                "stages: [draft, employer_notice, management_review,").replace(
        "ends: [employer_review, employer_notice]", "ends: [employer_notice]")
    text = text.replace("\noffices:\n", "\nstate_map: {employer_review: management_review}\noffices:\n", 1)
    impact = do_import(db, text, at(4, 10), document=DOC1)
    assert impact.state_map == {"employer_review": {"to": "management_review", "cases": 2}}
    for case_id in ids:
        assert wf.case(case_id).state == "management_review"
        with db.connect() as conn:
            last = repo.case_history(conn, case_id)[-1]
        assert (last.action, last.from_state, last.to_state) == ("amend", "employer_review", "management_review")
    wf.fire(ids[0], "department_approve", Actor(Role.department), at(4, 11))
    assert wf.case(ids[0]).state == "paper_submission"


def test_every_process_sees_an_import_and_export_gives_back_the_text(round_db: Workflow, db_url: str) -> None:
    """Another engine over the same database (as another process would be) sees version 2 at once."""
    from storage.db import make_engine
    from workflow.policy_registry import bind, version_text

    db = round_db.db
    other = make_engine(db_url)
    try:
        text = round_text(employer="2025-04-21")
        bind(other)
        assert get_policy(PID).version == 1
        import_policy(db, text, "x.yaml", actor_role="admin", actor_id="admin", at=at(4, 1))  # binds db
        bind(other)
        assert get_policy(PID).version == 2
        assert get_policy(PID, 1).cutoffs[1].date == dt.date(2025, 4, 14)
        assert version_text(other, PID, 2) == text
    finally:
        from workflow.policy_registry import unbind

        unbind(other)
        other.dispose()
        bind(db)


def test_an_amendment_racing_a_cutoff_sweep_on_postgresql(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The employer cutoff sweep (end of 04-14) runs in batches in one thread while an amendment that
    moves the cutoff to 04-21 (--reinstate) commits in another, starting while the sweep's first batch
    is in flight. After the amendment commits no case expires under the old date, and no case is
    both reinstated and expired: all end in employer review, their history never shows an `expire`
    after the `amend`/`reinstate` row."""
    import threading

    from storage.db import make_engine
    from tests.reliability import seed_submitted
    from workflow import deadlines
    from workflow.policy_registry import unbind

    db = make_engine(pg_url)
    try:
        upgrade(db)
        do_import(db, round_text(), at(2, 24))
        n = 3000
        seed_submitted(db, n, PID, prefix="RACE")
        monkeypatch.setattr(deadlines, "BATCH", 250)
        first_batch = threading.Event()
        real = deadlines._expire_batch_pg

        def batch(*args: Any, **kw: Any) -> Any:
            found = real(*args, **kw)
            if found[0]:  # an employer-cutoff batch is written, not yet committed
                first_batch.set()
            return found

        monkeypatch.setattr(deadlines, "_expire_batch_pg", batch)
        errors: list[BaseException] = []

        def sweep() -> None:
            try:
                tick(db, end_of_day(dt.date(2025, 4, 14)) + dt.timedelta(seconds=1))
            except BaseException as exc:  # reported below
                errors.append(exc)
                first_batch.set()

        worker = threading.Thread(target=sweep)
        worker.start()
        assert first_batch.wait(120)
        impact = do_import(db, round_text(employer="2025-04-21"), at(4, 15, 0) + dt.timedelta(seconds=2),
                           document=DOC1, reinstate=True)
        worker.join(120)
        assert not worker.is_alive() and not errors, errors
        h, c = repo.history, repo.cases
        with db.connect() as conn:
            final = dict(conn.execute(select(c.c.state, func.count()).group_by(c.c.state)).all())
            rows = conn.execute(select(h.c.case_id, h.c.seq, h.c.action).where(
                h.c.action.in_(["expire", "amend", "reinstate"])).order_by(h.c.case_id, h.c.seq)).all()
            versions_ok = conn.execute(select(func.count()).select_from(c).where(
                c.c.version != select(func.max(h.c.seq)).where(h.c.case_id == c.c.id).scalar_subquery())).scalar()
        assert final == {"employer_review": n}
        seen: dict[int, list[str]] = {}
        for case_id, _seq, action in rows:
            seen.setdefault(case_id, []).append(action)
        for actions in seen.values():
            assert actions in (["amend"], ["expire", "reinstate"]), actions
        expired_first = sum(1 for a in seen.values() if a[0] == "expire")
        assert expired_first >= 1 and sum(impact.reinstate.values()) == expired_first
        assert versions_ok == 0
    finally:
        unbind(db)
        db.dispose()


def test_two_imports_of_one_version_the_second_is_a_conflict(round_db: Workflow,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Another process stored version 2 after this one last looked: the unique (id, version) refuses
    the second, with `conflict`, and nothing of it is stored."""
    from states.policy import PolicyRegistry
    from storage.policy_store import insert_version
    from workflow.errors import Conflict

    db = round_db.db
    monkeypatch.setattr(PolicyRegistry, "refresh", lambda self: None)  # this process does not see it yet
    with db.begin() as conn:
        insert_version(conn, policy_id=PID, version=2, text=round_text(), document=None, reason=None,
                       actor="another process", kind="import", effective_at=at(3, 1))
    before = counts(db)
    with pytest.raises(Conflict):
        do_import(db, round_text(employer="2025-04-21"), at(3, 2))
    assert counts(db) == before


def test_an_amendment_after_an_unswept_cutoff_expires_first(round_db: Workflow) -> None:
    """CONTRACT §3: correctness does not depend on the scheduler. The employer cutoff (seed 001 §二.2,
    end of 04-14) passed with no tick; an extension imported on 04-16 without --reinstate finds the
    cases expired at 04-14 24:00, as an on-time scheduler would have left them; the dry run says so
    first and writes nothing."""
    db, wf = round_db.db, round_db
    ids = file_cases(wf, 3)
    extension = round_text(employer="2025-04-21")
    before = counts(db)
    dry = do_import(db, extension, at(4, 16), document=DOC1, dry_run=True)
    assert counts(db) == before  # the dry run applied the overdue cutoff only inside its rollback
    assert dry.amended == 0 and dry.reinstate_possible == {"employer_review": 3}
    assert dry.expired_first == {"employer": {"label": "单位网上审核推荐截止", "cases": 3}}
    impact = do_import(db, extension, at(4, 16), document=DOC1)
    assert impact.amended == 0 and impact.reinstate_possible == {"employer_review": 3}
    for case_id in ids:
        case = wf.case(case_id)
        assert case.state == "expired"
        with db.connect() as conn:
            steps = [(h.action, h.at) for h in repo.case_history(conn, case_id)]
        assert steps[-1] == ("expire", end_of_day(dt.date(2025, 4, 14)))  # at the cutoff, not at the import


def test_an_unswept_cutoff_then_an_extension_with_reinstate_brings_them_back(round_db: Workflow) -> None:
    """The same late import with --reinstate: expired at the cutoff, then reinstated by the amendment."""
    db, wf = round_db.db, round_db
    ids = file_cases(wf, 2)
    impact = do_import(db, round_text(employer="2025-04-21"), at(4, 16), document=DOC1, reinstate=True)
    assert impact.reinstate == {"employer_review": 2}
    for case_id in ids:
        with db.connect() as conn:
            actions = [h.action for h in repo.case_history(conn, case_id)]
        assert actions[-2:] == ["expire", "reinstate"] and wf.case(case_id).state == "employer_review"
