"""The outbox: written with the transition or not at all; delivered separately, with retries and
exponential backoff, exactly once per confirmed message, also when runs repeat or overlap."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine

from notifications import outbox
from notifications.channels.base import (
    Channel,
    Message,
    PermanentChannelError,
    Receipt,
    TransientChannelError,
)
from notifications.channels.file import FileChannel
from notifications.channels.memory import MemoryChannel
from notifications.config import Transports
from notifications.outbox import RetryPolicy, claim, deliver, requeue_failed
from states.vocabulary import Role
from storage import repo
from storage.db import make_engine
from tests.drive import HOUR, walk
from workflow.engine import Actor, Workflow

MINUTE = dt.timedelta(minutes=1)
notes = repo.notifications


class FlakyChannel(MemoryChannel):
    """Fails the first `failures` sends of every message, then delivers (and remembers) it."""

    name: ClassVar[str] = "flaky"

    def __init__(self, failures: int, error: type[Exception] = TransientChannelError) -> None:
        super().__init__()
        self.failures = failures
        self.error = error
        self.tries: dict[str, int] = {}

    def send(self, message: Message) -> Receipt:
        with self._lock:
            self.tries[message.key] = self.tries.get(message.key, 0) + 1
            failing = self.tries[message.key] <= self.failures
        if failing:
            raise self.error(f"gateway busy (try {self.tries[message.key]})")
        return super().send(message)


class BrokenChannel(Channel):
    name: ClassVar[str] = "broken"
    may_duplicate: ClassVar[bool] = False

    def send(self, message: Message) -> Receipt:
        raise PermanentChannelError(f"no address for {message.recipient_name}")


def transports(channel: Channel) -> Transports:
    return Transports(sms=channel, email=channel)


def rows(db: Engine, **where: Any) -> list[Any]:
    stmt = select(notes).order_by(notes.c.id)
    for column, value in where.items():
        stmt = stmt.where(notes.c[column] == value)
    with db.connect() as conn:
        return list(conn.execute(stmt))


def count(db: Engine, table: Any, case_id: int) -> int:
    with db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(table.c.case_id == case_id))
                   .scalar_one())


def submitted_case(db: Engine, serial: int = 1) -> tuple[Workflow, int, dt.datetime]:
    """A hz-recognition-2025h1 case just submitted: two rows (applicant SMS, employer email)."""
    wf, case_id, _ = walk(db, "hz-recognition-2025h1", until="employer_review", serial=serial)
    return wf, case_id, wf.case(case_id).updated_at


# ---- atomicity: the row is the transition's ---------------------------------------------------

def test_a_transition_that_fails_writing_history_leaves_no_notification(
        db: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    wf, case_id, at = submitted_case(db)
    before = (wf.case(case_id).state, count(db, notes, case_id), count(db, repo.history, case_id))

    def broken_history(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("history table unavailable")

    monkeypatch.setattr(repo, "insert_history", broken_history)
    with pytest.raises(RuntimeError, match="history table unavailable"):
        wf.fire(case_id, "employer_approve", Actor(Role.employer), at + HOUR)
    assert (wf.case(case_id).state, count(db, notes, case_id), count(db, repo.history, case_id)) == before


def test_a_notification_written_before_the_transition_fails_is_rolled_back(
        db: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """The outbox rows are inserted, then the transaction fails: they vanish with it."""
    wf, case_id, at = submitted_case(db)
    before = count(db, notes, case_id)
    original = repo.insert_notifications

    def insert_then_fail(conn: Any, new_rows: Any) -> None:
        original(conn, new_rows)
        assert conn.execute(select(func.count()).select_from(notes)).scalar_one() > before
        raise RuntimeError("crash after the outbox insert")

    monkeypatch.setattr(repo, "insert_notifications", insert_then_fail)
    with pytest.raises(RuntimeError, match="crash after the outbox insert"):
        wf.fire(case_id, "employer_approve", Actor(Role.employer), at + HOUR)
    assert wf.case(case_id).state == "employer_review"
    assert count(db, notes, case_id) == before


def test_a_failing_channel_leaves_the_case_moved(db: Engine) -> None:
    wf, case_id, at = submitted_case(db)
    wf.fire(case_id, "employer_approve", Actor(Role.employer), at + HOUR)
    report = deliver(db, at + 2 * HOUR, transports=transports(FlakyChannel(failures=99)))
    assert report.sent == 0 and report.retried == 3
    assert wf.case(case_id).state == "employer_notice"
    assert count(db, repo.history, case_id) == 3  # create, submit, approve
    pending = rows(db, case_id=case_id)
    assert {r.status for r in pending} == {"pending"}
    assert all(r.attempts == 1 and r.last_error and "gateway busy" in r.last_error for r in pending)
    assert all(r.next_attempt_at == at + 2 * HOUR + MINUTE for r in pending)


# ---- retries and exactly once ------------------------------------------------------------------

def test_a_channel_that_fails_twice_then_succeeds_delivers_each_message_once(db: Engine) -> None:
    _, case_id, at = submitted_case(db)
    flaky = FlakyChannel(failures=2)
    chosen = transports(flaky)
    t0 = at + HOUR
    assert deliver(db, t0, transports=chosen).retried == 2
    assert deliver(db, t0 + 30 * dt.timedelta(seconds=1), transports=chosen).claimed == 0  # backing off
    assert deliver(db, t0 + MINUTE, transports=chosen).retried == 2  # attempt 2 fails; next in 2 min
    assert deliver(db, t0 + 2 * MINUTE, transports=chosen).claimed == 0
    report = deliver(db, t0 + 3 * MINUTE, transports=chosen)
    assert (report.sent, report.retried, report.failed) == (2, 0, 0)
    done = rows(db, case_id=case_id)
    assert [(r.status, r.attempts, r.last_error) for r in done] == [("sent", 3, None)] * 2
    assert all(r.sent_at == t0 + 3 * MINUTE for r in done)
    assert len(flaky.messages()) == 2 and len({m.key for m in flaky.calls if m.key in flaky.delivered}) == 2
    assert deliver(db, t0 + HOUR, transports=chosen).claimed == 0
    assert len(flaky.messages()) == 2


def test_backoff_doubles_and_gives_up_after_max_attempts(db: Engine) -> None:
    _, case_id, at = submitted_case(db)
    retry = RetryPolicy(max_attempts=4, first_delay=MINUTE, factor=2)
    chosen = transports(FlakyChannel(failures=99))
    t = at + HOUR
    waits = []
    for _ in range(3):
        assert deliver(db, t, transports=chosen, retry=retry).retried == 2
        following = rows(db, case_id=case_id)[0].next_attempt_at
        waits.append(following - t)
        t = following
    report = deliver(db, t, transports=chosen, retry=retry)
    assert (report.failed, report.retried) == (2, 0)
    assert waits == [MINUTE, 2 * MINUTE, 4 * MINUTE]
    failed = rows(db, case_id=case_id)
    assert [(r.status, r.attempts, r.next_attempt_at) for r in failed] == [("failed", 4, None)] * 2
    assert all(r.last_error and "TransientChannelError" in r.last_error for r in failed)
    assert retry.delay(20) == retry.max_delay


def test_a_permanent_error_fails_at_once_and_can_be_requeued(db: Engine) -> None:
    _, case_id, at = submitted_case(db)
    report = deliver(db, at + HOUR, transports=transports(BrokenChannel()))
    assert (report.failed, report.retried) == (2, 0)
    assert report.errors[0]["final"] and "no address" in report.errors[0]["error"]
    assert {r.status for r in rows(db, case_id=case_id)} == {"failed"}
    assert deliver(db, at + 2 * HOUR, transports=transports(MemoryChannel())).claimed == 0
    assert requeue_failed(db, at + 3 * HOUR) == 2
    memory = MemoryChannel()
    assert deliver(db, at + 3 * HOUR, transports=transports(memory)).sent == 2
    assert len(memory.messages()) == 2


def test_inapp_rows_are_marked_delivered(db: Engine) -> None:
    """An objection notifies the office holding the notice; an office's reminder goes in-app."""
    wf, case_id, _ = walk(db, "lp-assessment-2022", until="qualification_notice")
    at = wf.case(case_id).updated_at + HOUR
    wf.fire(case_id, "object", Actor(Role.public), at, "论文存在抄袭")
    memory = MemoryChannel()
    deliver(db, at + HOUR, transports=transports(memory))
    inapp = rows(db, case_id=case_id, channel="inapp")
    assert [(r.template, r.recipient_role, r.status) for r in inapp] == [("objection", "committee", "sent")]
    assert all(m.channel != "inapp" for m in memory.messages())


def test_running_deliver_twice_sends_nothing_twice(db: Engine) -> None:
    _, _, at = submitted_case(db)
    memory = MemoryChannel()
    first = deliver(db, at + HOUR, transports=transports(memory))
    second = deliver(db, at + HOUR, transports=transports(memory))
    assert (first.sent, second.claimed) == (2, 0)
    assert len(memory.calls) == 2


def test_concurrent_deliveries_never_send_a_message_twice(db_url: str) -> None:
    engines = [make_engine(db_url) for _ in range(4)]
    try:
        for serial in range(1, 9):
            walk(engines[0], "hz-recognition-2025h1", until="employer_notice", serial=serial)
        total = len(rows(engines[0]))
        assert total == 24
        memory = MemoryChannel()
        start = threading.Barrier(len(engines), timeout=30)
        reports: list[outbox.DeliveryReport] = []
        errors: list[BaseException] = []
        now = dt.datetime(2025, 3, 21, 9, tzinfo=dt.UTC)

        def run(engine: Engine) -> None:
            try:
                start.wait()
                reports.append(deliver(engine, now, transports=transports(memory), batch_size=2))
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(e,)) for e in engines]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not errors, errors
        assert len(reports) == len(engines)
        keys = [m.key for m in memory.calls]
        assert len(keys) == len(set(keys)) == total
        assert sum(r.sent for r in reports) == total and sum(r.claimed for r in reports) == total
        assert {r.status for r in rows(engines[0])} == {"sent"}
    finally:
        for engine in engines:
            engine.dispose()


# ---- the crash window --------------------------------------------------------------------------

def crash_once_after_send(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Make the first 'mark sent' die, as if the process was killed right after the channel confirmed:
    the one-row mark (channels that may duplicate) and the batch mark (channels that recognise keys)."""
    crashed: list[int] = []
    original: Callable[..., bool] = outbox._mark
    original_many: Callable[..., set[int]] = outbox._mark_sent

    def mark(conn: Any, note_id: int, attempts: int, values: dict[str, Any]) -> bool:
        if values.get("status") == "sent" and not crashed:
            crashed.append(note_id)
            raise KeyboardInterrupt("killed between send and mark")
        return original(conn, note_id, attempts, values)

    def mark_many(conn: Any, claimed: list[tuple[int, int]], now: Any) -> set[int]:
        if not crashed:
            crashed.extend(i for i, _ in claimed)
            raise KeyboardInterrupt("killed between send and mark")
        return original_many(conn, claimed, now)

    monkeypatch.setattr(outbox, "_mark", mark)
    monkeypatch.setattr(outbox, "_mark_sent", mark_many)
    return crashed


@pytest.mark.parametrize("kind", ["memory", "file"])
def test_a_crash_between_send_and_mark_resends_with_the_same_key_and_no_duplicate(
        db: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, kind: str) -> None:
    """The rows stay claimed until their lease runs out; the next run sends them again with the same
    keys, which the memory and file channels recognise: one message each reaches the recipient.
    These channels' confirmations are marked with their batch, so the crash caught both sends."""
    _, case_id, at = submitted_case(db)
    channel: Channel = MemoryChannel() if kind == "memory" else FileChannel(tmp_path / "outbox")
    crashed = crash_once_after_send(monkeypatch)
    t0 = at + HOUR
    with pytest.raises(KeyboardInterrupt):
        deliver(db, t0, transports=transports(channel))
    assert len(crashed) == 2
    # the whole claimed batch waits for its lease, though both were sent
    stuck = rows(db, case_id=case_id)
    assert [(r.status, r.attempts, r.next_attempt_at) for r in stuck] == [
        ("sending", 1, t0 + RetryPolicy().lease)] * 2
    assert deliver(db, t0 + MINUTE, transports=transports(channel)).claimed == 0
    report = deliver(db, t0 + RetryPolicy().lease, transports=transports(channel))
    assert (report.claimed, report.sent, report.duplicates) == (2, 2, 2)
    assert [(r.status, r.attempts) for r in rows(db, case_id=case_id)] == [("sent", 2)] * 2
    if isinstance(channel, MemoryChannel):
        assert len(channel.calls) == 4 and len(channel.messages()) == 2
    else:
        assert len([p for p in (tmp_path / "outbox").rglob("*") if p.is_file()]) == 2


class MayDuplicate(MemoryChannel):
    """A memory channel that says it may deliver a repeat (as smtp and sms_http do)."""

    may_duplicate = True


def test_a_channel_that_may_duplicate_is_marked_after_each_send_so_a_crash_resends_one(
        db: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a channel that cannot recognise a repeat, each confirmation is written before the next send:
    a crash between send and mark leaves exactly the one message in flight to be sent again."""
    _, _, at = submitted_case(db)
    channel = MayDuplicate()
    crashed = crash_once_after_send(monkeypatch)
    t0 = at + HOUR
    with pytest.raises(KeyboardInterrupt):
        deliver(db, t0, transports=transports(channel))
    assert len(crashed) == 1 and len(channel.calls) == 1
    report = deliver(db, t0 + RetryPolicy().lease, transports=transports(channel))
    assert (report.claimed, report.sent, report.duplicates) == (2, 2, 1)
    assert len(channel.calls) == 3 and len(channel.messages()) == 2


def test_a_batch_mark_does_not_overwrite_a_row_a_newer_run_took(db: Engine) -> None:
    _, _, at = submitted_case(db)
    lease = RetryPolicy().lease
    with db.begin() as conn:
        first = claim(conn, at + HOUR, 10, lease)
        second = claim(conn, at + HOUR + lease, 1, lease)  # the lease ran out on one of them
    with db.begin() as conn:
        marked = outbox._mark_sent(conn, first, at + HOUR)
    assert marked == {i for i, _ in first} - {i for i, _ in second} and len(marked) == 1


def test_a_run_whose_lease_ran_out_cannot_overwrite_the_newer_run(db: Engine) -> None:
    _, _, at = submitted_case(db)
    lease = RetryPolicy().lease
    with db.begin() as conn:
        first = claim(conn, at + HOUR, 10, lease)
    with db.begin() as conn:
        assert claim(conn, at + HOUR + MINUTE, 10, lease) == []  # still leased
        second = claim(conn, at + HOUR + lease, 10, lease)  # the lease ran out: taken over
    assert [a for _, a in first] == [1, 1] and [a for _, a in second] == [2, 2]
    note_id, attempts = first[0]
    with db.begin() as conn:
        assert not outbox._mark(conn, note_id, attempts, {"status": "sent"})
        assert outbox._mark(conn, note_id, attempts + 1, {"status": "sent"})


def test_deliver_limits_the_run_and_takes_the_oldest_first(db: Engine) -> None:
    _, first_case, at = submitted_case(db, serial=1)
    _, second_case, _ = submitted_case(db, serial=2)
    memory = MemoryChannel()
    report = deliver(db, at + HOUR, transports=transports(memory), limit=3)
    assert report.claimed == 3 and [m.notification_id for m in memory.calls] == [1, 2, 3]
    assert deliver(db, at + HOUR, transports=transports(memory), case_id=first_case).claimed == 0
    assert deliver(db, at + HOUR, transports=transports(memory), case_id=second_case).claimed == 1


def test_a_row_whose_case_cannot_be_rendered_fails_with_the_reason(db: Engine) -> None:
    _, case_id, at = submitted_case(db)
    with db.begin() as conn:
        conn.execute(update(notes).where(notes.c.case_id == case_id).values(template="welcome"))
    report = deliver(db, at + HOUR, transports=transports(MemoryChannel()))
    assert report.failed == 2
    assert all("unknown template 'welcome'" in (r.last_error or "") for r in rows(db, case_id=case_id))


def test_deliver_needs_an_aware_time(db: Engine) -> None:
    with pytest.raises(ValueError, match="no time zone"):
        deliver(db, dt.datetime(2025, 3, 20, 9), transports=transports(MemoryChannel()))
