"""Webhooks (CONTRACT §11) against a local receiver on 127.0.0.1: one event row per transition in
the move's own transaction (the engine's and the scheduler's set-based moves alike), signed with
HMAC-SHA256, delivered at least once in `seq` order per case; an undelivered event holds back its
case's later events only; a receiver that was down gets everything afterwards in order; a delivery
process killed with SIGKILL loses nothing, and what it sends twice carries the same event_id."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from notifications.outbox import RetryPolicy
from notifications.webhooks import WEBHOOK_RETRY, deliver_webhooks
from states.vocabulary import Role
from storage import repo
from storage.db import make_engine
from storage.webhooks import add_webhook, list_events, requeue_parked
from tests.drive import HOUR, walk
from tests.filings import SUBMIT_AT, filing
from tests.webhook_receiver import SECRET, Receiver, closed_port_url
from workflow.clock import SHANGHAI
from workflow.deadlines import ensure_schedule, tick
from workflow.engine import Actor, Workflow

HZ = "hz-recognition-2025h1"
AFTER_EMPLOYER_CUTOFF = dt.datetime(2025, 4, 20, tzinfo=SHANGHAI)
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


def hook(db: Engine, url: str, policies: list[str] | None = None) -> int:
    with db.begin() as conn:
        return add_webhook(conn, url, SECRET, policies or [], SUBMIT_AT[HZ] - 2 * HOUR)


def make_round(db: Engine) -> tuple[int, int, int, int]:
    """Four Hangzhou cases: one walked to management_review (create, submit, approve, the notice
    closed by tick), one expired by the employer cutoff (tick's set-based sweep), one returned and
    resubmitted, and one whose notice closing an action records before moving on."""
    ensure_schedule(db, [HZ])
    _, walked, _ = walk(db, HZ, until="management_review", serial=1)
    wf = Workflow(db)
    expired = wf.create_case(HZ, filing(HZ, 2), SUBMIT_AT[HZ] - HOUR)
    wf.fire(expired, "submit", Actor(Role.applicant), SUBMIT_AT[HZ])
    returned = wf.create_case(HZ, filing(HZ, 3), SUBMIT_AT[HZ] - HOUR)
    wf.fire(returned, "submit", Actor(Role.applicant), SUBMIT_AT[HZ])
    wf.fire(returned, "employer_return", Actor(Role.employer), SUBMIT_AT[HZ] + HOUR, "缺学历证明")
    wf.fire(returned, "resubmit", Actor(Role.applicant), SUBMIT_AT[HZ] + 2 * HOUR)
    # An action after a notice's close, before any tick: the engine records the closing first (issue 12).
    caught_up = wf.create_case(HZ, filing(HZ, 4), SUBMIT_AT[HZ] - HOUR)
    wf.fire(caught_up, "submit", Actor(Role.applicant), SUBMIT_AT[HZ])
    wf.fire(caught_up, "employer_approve", Actor(Role.employer), SUBMIT_AT[HZ] + HOUR)
    closes = wf.case(caught_up).notice_closes_at
    wf.fire(caught_up, "department_approve", Actor(Role.department), closes + HOUR)
    assert [h.action for h in history_of(db)[caught_up]][-2:] == ["notice_closed", "department_approve"]
    tick(db, AFTER_EMPLOYER_CUTOFF)  # expires `expired` and `returned` (both in employer_review)
    return walked, expired, returned, caught_up


def history_of(db: Engine) -> dict[int, list[Any]]:
    with db.connect() as conn:
        rows = conn.execute(select(repo.history).order_by(repo.history.c.case_id, repo.history.c.seq)).all()
    found: dict[int, list[Any]] = defaultdict(list)
    for r in rows:
        found[r.case_id].append(r)
    return found


def deliver_until_done(db: Engine, start: dt.datetime, **kwargs: Any) -> dt.datetime:
    """Run delivery as the scheduler would, hours apart (past any backoff), until a run finds
    nothing it may send; returns the time of that run."""
    at = start
    for _ in range(60):
        if deliver_webhooks(db, at, **kwargs).claimed == 0:
            return at
        at += dt.timedelta(hours=7)
    raise AssertionError("events still due after 60 delivery runs")


def by_case(events: list[dict[str, Any]]) -> dict[int, list[int]]:
    seqs: dict[int, list[int]] = defaultdict(list)
    for e in events:
        seqs[e["case"]].append(e["seq"])
    return seqs


def test_every_transition_is_one_signed_event_in_order(db: Engine, receiver: Receiver) -> None:
    hook(db, receiver.url)
    walked, expired, returned = make_round(db)[:3]
    history = history_of(db)
    with db.connect() as conn:
        rows = list_events(conn, limit=1000)
    # One row per history row (the engine's moves, the notice closing, the cutoff's expiry, creation).
    assert sorted((r.case_id, r.seq) for r in rows) == sorted((c, h.seq) for c, hs in history.items() for h in hs)

    report = deliver_webhooks(db, AFTER_EMPLOYER_CUTOFF)
    assert report.sent == len(rows) and not report.errors
    assert receiver.bad_signatures == 0
    assert all(r.signature and r.signature.startswith("sha256=") for r in receiver.received)
    events = receiver.events()
    assert by_case(events) == {c: [h.seq for h in hs] for c, hs in history.items()}
    for e in events:
        h = history[e["case"]][e["seq"]]
        assert (e["action"], e["from"], e["to"], e["policy"]) == (h.action, h.from_state, h.to_state, HZ)
        assert dt.datetime.fromisoformat(e["at"]) == h.at
        assert e["event_id"] == f"{e['case']}-{e['seq']}"
        assert e["applicant_id_masked"].startswith("330") and "*" in e["applicant_id_masked"]
        assert set(e) == {"event_id", "case", "seq", "action", "from", "to", "at", "policy", "applicant_id_masked"}
    actions = {(e["case"], e["action"]) for e in events}
    assert {(walked, "notice_closed"), (expired, "expire"), (returned, "resubmit"), (returned, "expire")} <= actions
    assert {r.event_header for r in receiver.received} == {e["event_id"] for e in events}
    assert deliver_webhooks(db, AFTER_EMPLOYER_CUTOFF).claimed == 0  # delivered once, done


def test_a_receiver_for_other_policies_gets_nothing(db: Engine, receiver: Receiver) -> None:
    hook(db, receiver.url, ["yh-recognition-2024"])
    make_round(db)
    with db.connect() as conn:
        assert list_events(conn) == []


def test_a_receiver_down_for_a_while_gets_everything_afterwards_in_order(db: Engine, receiver: Receiver) -> None:
    hook(db, receiver.url)
    walked = make_round(db)[0]
    receiver.down = True
    first = deliver_webhooks(db, AFTER_EMPLOYER_CUTOFF)
    # Only the first event of each case was tried; the later ones wait behind it.
    assert first.sent == 0 and first.retried == 4 and first.claimed == 4
    with db.connect() as conn:
        later = [r for r in list_events(conn, case_id=walked, limit=100) if r.seq > 0]
    assert later and all(r.attempts == 0 and r.status == "pending" for r in later)
    for minutes in (10, 30, 60):  # still down: retried with backoff, nothing lost, nothing parked yet
        report = deliver_webhooks(db, AFTER_EMPLOYER_CUTOFF + dt.timedelta(minutes=minutes))
        assert report.sent == 0 and report.parked == 0 and report.retried == 4
    receiver.down = False
    deliver_until_done(db, AFTER_EMPLOYER_CUTOFF + dt.timedelta(hours=3))
    assert by_case(receiver.events()) == {c: [h.seq for h in hs] for c, hs in history_of(db).items()}


def test_an_undelivered_event_holds_back_its_own_case_only_and_is_parked_then_retried(
        db: Engine, receiver: Receiver) -> None:
    hook(db, receiver.url)
    walked, *others = make_round(db)
    receiver.refuse_cases = {walked}
    quick = RetryPolicy(max_attempts=2, first_delay=dt.timedelta(minutes=1), lease=WEBHOOK_RETRY.lease)
    deliver_until_done(db, AFTER_EMPLOYER_CUTOFF, retry=quick)
    history = history_of(db)
    got = by_case(receiver.events())
    assert walked not in got
    assert got == {c: [h.seq for h in history[c]] for c in others}
    with db.connect() as conn:
        rows = list_events(conn, case_id=walked)
    assert [(r.seq, r.status) for r in rows][:2] == [(0, "failed"), (1, "pending")]
    assert rows[0].attempts == 2 and "HTTP 500" in (rows[0].last_error or "")
    assert all(r.status == "pending" and r.attempts == 0 for r in rows[1:])

    receiver.refuse_cases = set()
    retry_at = AFTER_EMPLOYER_CUTOFF + dt.timedelta(days=1)
    with db.begin() as conn:
        assert requeue_parked(conn, retry_at) == 1
    deliver_until_done(db, retry_at)
    assert by_case(receiver.events())[walked] == [h.seq for h in history[walked]]


def test_sigkill_mid_delivery_loses_nothing_and_duplicates_carry_the_same_event_id(
        db_url: str, receiver: Receiver, tmp_path: Path) -> None:
    db = make_engine(db_url)
    try:
        hook(db, receiver.url)
        make_round(db)
        with db.connect() as conn:
            total = len(list_events(conn, limit=1000))
        receiver.hang_on = 3  # the third event arrives, and its sender never hears back
        at = AFTER_EMPLOYER_CUTOFF.isoformat()
        env = {**os.environ, "ZCFLOW_OUTBOX_DIR": str(tmp_path / "outbox")}
        log = tmp_path / "deliver.log"
        with log.open("wb") as err:
            proc = subprocess.Popen([sys.executable, "-m", "workflow.cli", "deliver", "--database", db_url,
                                     "--at", at], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err)
            try:
                assert receiver.got_hung.wait(120), f"never reached the third event: {log.read_text()}"
            finally:
                proc.send_signal(signal.SIGKILL)
                proc.wait(30)
        assert proc.returncode == -signal.SIGKILL
        receiver.release.set()
        with db.connect() as conn:
            statuses = [r.status for r in list_events(conn, limit=1000)]
        # The one in flight, and those its batch claimed after it, wait for their lease to run out.
        assert statuses.count("sending") >= 1 and "failed" not in statuses
        # Later, the lease has run out: the next run sends it again, and everything else.
        deliver_until_done(db, AFTER_EMPLOYER_CUTOFF + WEBHOOK_RETRY.lease + dt.timedelta(seconds=1))
        with db.connect() as conn:
            rows = list_events(conn, limit=1000)
        assert len(rows) == total and {r.status for r in rows} == {"sent"}
        ids = [e["event_id"] for e in receiver.events()]
        assert set(ids) == {r.event_id for r in rows}  # nothing lost
        twice = {i for i in ids if ids.count(i) > 1}
        assert len(twice) == 1 and len(ids) == total + 1  # the one in flight, twice, same id
        bodies = {r.body for r in receiver.received if json.loads(r.body)["event_id"] in twice}
        assert len(bodies) == 1  # byte for byte the same event, so de-duplication by event_id is safe
        for seqs in by_case(receiver.events()).values():  # in order; the repeat right after the original
            assert [s for i, s in enumerate(seqs) if i == 0 or s != seqs[i - 1]] == sorted(set(seqs))
    finally:
        db.dispose()


def test_a_receiver_that_never_answers_in_time_is_retried(db: Engine) -> None:
    hook(db, closed_port_url())
    make_round(db)
    report = deliver_webhooks(db, AFTER_EMPLOYER_CUTOFF, timeout=2)
    assert report.sent == 0 and report.retried == 4
    assert all("no answer" in e["error"] for e in report.errors)
