"""Time is consistent per case (CONTRACT §3, issue 12): before `fire` decides, it applies every notice
closing and cutoff of that case due at or before the action's time, recorded at their own due
instants exactly as `tick` would, and committed even when the action is then refused. So an approval
after the cutoff is refused whether or not the scheduler has run; a history never runs backwards."""

from __future__ import annotations

import datetime as dt
import os
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine

from states.calendar import end_of_day
from states.vocabulary import Role
from storage import repo
from storage.db import make_engine
from tests.drive import walk
from tests.filings import filing
from tests.reliability import consistency_problems
from tests.test_reliability__properties import fresh_database
from workflow.clock import SHANGHAI
from workflow.deadlines import ensure_schedule, tick
from workflow.engine import Actor, Workflow
from workflow.errors import IllegalTransition, InvalidInput, WindowClosed, WorkflowError

HZ = "hz-recognition-2025h1"
EMPLOYER_CUTOFF = end_of_day(dt.date(2025, 4, 14))  # seed 001 §二.2 单位网上审核推荐截止
EXPIRED_MESSAGE = "expired at the end of 2025-04-14 (单位网上审核推荐截止)"


def at(m: int, d: int, h: int = 10) -> dt.datetime:
    return dt.datetime(2025, m, d, h, tzinfo=SHANGHAI)


def history(db: Engine, case_id: int) -> list[tuple[str, str, str, dt.datetime]]:
    with db.connect() as conn:
        return [(h.action, h.from_state, h.to_state, h.at) for h in repo.case_history(conn, case_id)]


def test_seed001_s2_2_a_late_approval_is_refused_while_the_scheduler_is_down(db: Engine) -> None:
    """The review's finding: employer_approve on 04-20 of a case still in employer_review moved it on,
    six days after the employer cutoff. Now the cutoff applies first, at its own instant."""
    wf, case_id, _ = walk(db, HZ, until="employer_review")
    with pytest.raises(IllegalTransition) as info:
        wf.fire(case_id, "employer_approve", Actor(Role.employer), at(4, 20))
    assert EXPIRED_MESSAGE in info.value.message and "'expired'" in info.value.message
    # The expiry is committed although the action was refused, recorded at the cutoff, by the system.
    assert history(db, case_id)[-1] == ("expire", "employer_review", "expired", EMPLOYER_CUTOFF)
    with db.connect() as conn:
        notes = [n.template for n in repo.case_notifications(conn, case_id)]
        actor = repo.case_history(conn, case_id)[-1].actor_role
    assert notes.count("expired") == 1 and actor == "system"
    # When the scheduler comes back it finds nothing more to do for this case.
    before = history(db, case_id)
    tick(db, at(4, 21))
    assert history(db, case_id) == before
    assert consistency_problems(db) == []


def test_seed001_s2_2_the_refusal_names_the_cutoff_also_after_the_scheduler_ran(db: Engine) -> None:
    wf, case_id, _ = walk(db, HZ, until="employer_review")
    tick(db, at(4, 15, 9))
    with pytest.raises(IllegalTransition, match=r"expired at the end of 2025-04-14 \(单位网上审核推荐截止\)"):
        wf.fire(case_id, "employer_approve", Actor(Role.employer), at(4, 20))


def test_seed001_s2_2_an_action_on_time_is_not_touched(db: Engine) -> None:
    wf, case_id, _ = walk(db, HZ, until="employer_review")
    moved = wf.fire(case_id, "employer_approve", Actor(Role.employer), at(4, 7, 17))  # the last approval day
    assert moved.to_state == "employer_notice"
    assert [h[0] for h in history(db, case_id)] == ["create", "submit", "employer_approve"]


def test_a_notice_closed_meanwhile_is_recorded_before_the_next_action(db: Engine) -> None:
    """Approved on 04-07, the notice closes at the end of 04-14, the same instant as the employer
    cutoff: the closing comes first (CONTRACT §4), so the department's action on 04-20 goes through
    although no tick ran, after a `notice_closed` at the close instant."""
    wf, case_id, _ = walk(db, HZ, until="employer_review")
    wf.fire(case_id, "employer_approve", Actor(Role.employer), at(4, 7, 17))
    moved = wf.fire(case_id, "department_approve", Actor(Role.department), at(4, 20))
    assert (moved.from_state, moved.to_state) == ("management_review", "paper_submission")
    assert history(db, case_id)[-2:] == [
        ("notice_closed", "employer_notice", "management_review", EMPLOYER_CUTOFF),
        ("department_approve", "management_review", "paper_submission", at(4, 20))]
    with db.connect() as conn:
        assert [n.template for n in repo.case_notifications(conn, case_id)].count("notice_closed") == 1
    tick(db, at(4, 21))
    assert wf.case(case_id).state == "paper_submission"


def test_seed001_s2_1_submit_after_the_window_is_window_closed_not_the_expired_state(db: Engine) -> None:
    """CONTRACT §3: outside the filing window `submit` is refused with window_closed — also when the
    filing cutoff has already expired the draft, whether the scheduler did it or the action."""
    wf, ticked, _ = walk(db, HZ, until="draft", serial=1)
    _, idle, _ = walk(db, HZ, until="draft", serial=2)
    tick(db, at(4, 1, 9))
    assert wf.case(ticked).state == "expired"
    for case_id in (ticked, idle):
        with pytest.raises(WindowClosed, match="2025-03-31"):
            wf.fire(case_id, "submit", Actor(Role.applicant), at(4, 2))
        assert wf.case(case_id).state == "expired"


def test_a_backdated_action_is_invalid_input_naming_at(db: Engine) -> None:
    """The review's finding: department_approve dated 2019 after a 2025 submit was accepted."""
    wf, case_id, _ = walk(db, HZ, until="management_review")
    before = history(db, case_id)
    with pytest.raises(InvalidInput) as info:
        wf.fire(case_id, "department_approve", Actor(Role.department),
                dt.datetime(2019, 3, 21, 10, tzinfo=SHANGHAI))
    assert info.value.code == "invalid_input" and info.value.details["field"] == "at"
    assert info.value.message.startswith("at:")
    assert history(db, case_id) == before
    # The same instant as the last row is not before it.
    last = before[-1][3]
    wf.fire(case_id, "department_approve", Actor(Role.department), last)


def test_a_case_created_after_a_cutoff_is_not_expired_back_in_time(db: Engine) -> None:
    """A draft created after the filing cutoff was never in `draft` at that cutoff: neither a tick
    that runs late nor an action records an expiry before the case existed."""
    ensure_schedule(db, [HZ])
    wf = Workflow(db)
    case_id = wf.create_case(HZ, filing(HZ, 1), at(4, 3))
    with pytest.raises(WindowClosed):
        wf.fire(case_id, "submit", Actor(Role.applicant), at(4, 3, 11))
    tick(db, at(4, 4))
    assert [h[0] for h in history(db, case_id)] == ["create"]
    assert consistency_problems(db) == []



def test_cases_a_cutoff_does_not_end_ahead_of_those_it_ends_do_not_hold_its_sweep_up(
        db: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches of 2: three drafts created after the filing cutoff come first (lower ids, so first in
    the index the sweep claims from); every batch still moves the drafts the cutoff ends, all of them,
    and none of the late ones."""
    from workflow import deadlines

    ensure_schedule(db, [HZ])
    wf = Workflow(db)
    late = [wf.create_case(HZ, filing(HZ, serial), at(4, 3)) for serial in (1, 2, 3)]
    early = [wf.create_case(HZ, filing(HZ, serial), at(3, 19)) for serial in (4, 5, 6, 7, 8)]
    monkeypatch.setattr(deadlines, "BATCH", 2)
    report = tick(db, at(4, 4))
    assert report.expired[f"{HZ}:filing"] == len(early)
    assert [wf.case(c).state for c in early] == ["expired"] * len(early)
    assert [wf.case(c).state for c in late] == ["draft"] * len(late)
    assert consistency_problems(db) == []

# ---- racing the scheduler -------------------------------------------------------------------------

def _race(url: str, case_id: int, action: str, actor: Role, when: dt.datetime) -> WorkflowError | None:
    """A tick and a fire on one case at once, each in its own engine (its own connections)."""
    engines = [make_engine(url), make_engine(url)]
    barrier = threading.Barrier(2)
    refusal: list[WorkflowError] = []

    def fire() -> None:
        barrier.wait()
        try:
            Workflow(engines[0]).fire(case_id, action, Actor(actor), when)
        except WorkflowError as exc:
            refusal.append(exc)

    def run_tick() -> None:
        barrier.wait()
        tick(engines[1], when)

    threads = [threading.Thread(target=fire), threading.Thread(target=run_tick)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for e in engines:
        e.dispose()
    return refusal[0] if refusal else None


def test_a_fire_racing_a_tick_records_one_expiry_and_one_closing(pg_url: str) -> None:
    """Two processes never record one expiry (or one notice closing) twice: the fire's catch-up and
    the tick's sweep both write with a check on the case's version/state."""
    db = make_engine(pg_url)
    try:
        for serial in range(1, 9):
            # A case past the employer cutoff, still in employer_review: both want to expire it.
            wf, late, _ = walk(db, HZ, until="employer_review", serial=2 * serial)
            with db.begin() as conn:  # the cutoff is pending again for this round
                conn.execute(update(repo.scheduled_events).values(done_at=None, affected=None))
            refusal = _race(pg_url, late, "employer_approve", Role.employer, at(4, 16))
            assert refusal is not None and refusal.code in ("illegal_transition", "conflict")
            # A case whose notice closed: both want to close it.
            _, noticed, _ = walk(db, HZ, until="employer_review", serial=2 * serial + 1)
            wf.fire(noticed, "employer_approve", Actor(Role.employer), at(4, 2, 15))
            _race(pg_url, noticed, "department_approve", Role.department, at(4, 16))
        with db.connect() as conn:
            counts = conn.execute(select(repo.history.c.case_id, repo.history.c.action, func.count())
                                  .where(repo.history.c.action.in_(["expire", "notice_closed"]))
                                  .group_by(repo.history.c.case_id, repo.history.c.action)).all()
        assert counts and all(n == 1 for _c, _a, n in counts), counts
        assert consistency_problems(db) == []
    finally:
        db.dispose()


# ---- tick and fire agree -------------------------------------------------------------------------

# What a case's people may do in a round, each with the role that takes it.
MOVES = [("submit", Role.applicant), ("employer_approve", Role.employer), ("employer_return", Role.employer),
         ("resubmit", Role.applicant), ("object", Role.public), ("dismiss_objection", Role.employer),
         ("department_approve", Role.department), ("department_return", Role.department),
         ("receive_paper", Role.committee), ("withdraw", Role.applicant)]
REASONED = {"employer_return", "department_return", "object"}
ROUND_START = at(3, 10, 9)
ROUND_MINUTES = int((at(6, 10) - ROUND_START).total_seconds() // 60)


def _play(backend: str, request: pytest.FixtureRequest, steps: list[tuple[int, int, int]],
          ticks: list[int], cases: int) -> tuple[list[object], list[object], list[object]]:
    """Run `steps` (minute, case, move) with a tick at each minute of `ticks`, then one past the round;
    returns every case's history, each step's outcome and the outbox (reminders aside)."""
    events = sorted([(m, 0, i) for i, m in enumerate(ticks)] + [(m, 1, i) for i, (m, _c, _a) in enumerate(steps)])
    outcomes: list[object] = []
    with fresh_database(backend, request) as db:
        ensure_schedule(db, [HZ])
        wf = Workflow(db)
        ids = [wf.create_case(HZ, filing(HZ, n + 1), ROUND_START) for n in range(cases)]
        for minute, kind, index in events:
            now = ROUND_START + dt.timedelta(minutes=minute)
            if kind == 0:
                tick(db, now)
                continue
            _m, case, move = steps[index]
            action, role = MOVES[move]
            try:
                t = wf.fire(ids[case], action, Actor(role), now, "理由" if action in REASONED else None)
                outcomes.append((t.from_state, t.to_state))
            except WorkflowError as exc:
                outcomes.append(exc.code)
        tick(db, at(7, 1))
        with db.connect() as conn:
            hist = [(h.case_id, h.seq, h.at, h.actor_role, h.action, h.from_state, h.to_state, h.reason)
                    for h in conn.execute(select(repo.history).order_by(repo.history.c.case_id,
                                                                         repo.history.c.seq))]
            notes = sorted((n.case_id, n.template, n.channel, n.created_at, str(sorted(n.context.items())))
                           for n in conn.execute(select(repo.notifications))
                           if n.template != "deadline_reminder")
        assert consistency_problems(db) == []
    return list(hist), outcomes, list(notes)


STEP_TIMES = st.integers(0, ROUND_MINUTES)
# Gaps between one case's moves, in minutes: the same instant, minutes, hours, days, weeks.
GAPS = st.one_of(st.just(0), st.integers(1, 600), st.integers(601, 3 * 1440), st.integers(3 * 1440, 20 * 1440))
INDEX = {action: i for i, (action, _role) in enumerate(MOVES)}


@st.composite
def case_script(draw: st.DrawFn, case: int) -> list[tuple[int, int, int]]:
    """One case's moves in their natural order, with detours, and a random move now and then, at
    increasing times from a random start: some on time, some after a notice's close or a cutoff."""
    moves = ["submit"]
    if draw(st.booleans()):
        moves += ["employer_return", "resubmit"]
    moves.append("employer_approve")
    if draw(st.booleans()):
        moves += ["object", "dismiss_objection"]
    moves += ["department_approve", "receive_paper"]
    if draw(st.booleans()):
        moves.insert(draw(st.integers(0, len(moves))), draw(st.sampled_from([a for a, _r in MOVES])))
    minute = draw(st.integers(0, 25 * 1440))
    steps = []
    for action in moves:
        minute = min(ROUND_MINUTES, minute + draw(GAPS))
        steps.append((minute, case, INDEX[action]))
    return steps


@settings(max_examples=int(os.environ.get("ZCFLOW_PROPERTY_EXAMPLES", "12")), deadline=None,
          database=None, print_blob=True, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_interleaving_of_actions_and_ticks_gives_the_history_of_ticking_first(
        backend: str, request: pytest.FixtureRequest, data: st.DataObject) -> None:
    """CONTRACT §3: `tick` and `fire` agree exactly. The same actions at the same instants, once with
    the scheduler ticking just before each (on time), once with ticks at random moments or none
    (down, behind): the same histories, the same answers, the same outbox."""
    cases = data.draw(st.integers(1, 3), label="cases")
    steps = sorted(s for case in range(cases) for s in data.draw(case_script(case), label=f"case {case}"))
    ticks = data.draw(st.lists(STEP_TIMES, max_size=6), label="ticks (minute)")
    on_time = _play(backend, request, steps, [m for m, _c, _a in steps], cases)
    anyhow = _play(backend, request, steps, ticks, cases)
    assert anyhow == on_time
