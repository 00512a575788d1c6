"""What time does to cases: notice closings, cutoffs and reminders (CONTRACT §4).

Due times are rows in our own tables: a case's `notice_closes_at`, and `scheduled_events` for a
round's cutoffs and reminders. ``tick(now)`` applies everything due up to `now`, earliest first;
at one instant notice closings apply before cutoffs, and cutoffs before reminders. It is
idempotent: every write is guarded by the case's state (and claimed with ``FOR UPDATE SKIP
LOCKED`` on PostgreSQL), and an event row is marked done in the transaction that applies its
last batch, so running it twice, or in two processes at once, changes nothing the second time.

Sweeps are set-based: a batch of cases moves with one UPDATE, one INSERT … SELECT into history, one
into the outbox and one into the webhook events (storage/webhooks.py), whatever the batch size —
never one ORM object per case.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    JSON,
    Select,
    Text,
    and_,
    bindparam,
    cast,
    func,
    insert,
    literal,
    literal_column,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.engine import Connection, Engine

from states.calendar import UnknownYearError, WorkingDayCalendar, end_of_day, latest_approval_day, reminder_days
from states.calendar.timeutil import SHANGHAI
from states.policy import Cutoff, Policy, get_policy, policies
from states.vocabulary import EXPIRED, RETURNED, STAGE_KINDS, Role
from storage import repo
from storage import webhooks as webhook_store
from storage.calendar_years import sync_calendar
from storage.db import checkpoint_once
from storage.tables import OPEN_NOTICE_SQL, AwareDateTime
from workflow.due import EXPIRE_CLEARS, NOTICE_CLEARS, ended_by_parts, ended_by_sql, expire_reason
from workflow.engine import calendar_for
from workflow.notify import CHANNEL_FOR

BATCH = 5000
REMINDER_HOUR = 9  # reminders go out at 09:00 local on their day
KIND_ORDER = {"cutoff": 0, "reminder": 1}

cases, history, notifications, events = repo.cases, repo.history, repo.notifications, repo.scheduled_events
PENDING_EVENT = text("scheduled_events.done_at IS NULL")


@dataclass
class TickReport:
    notices_closed: int = 0
    expired: dict[str, int] = field(default_factory=dict)  # "<policy>:<cutoff>" -> cases
    reminders: int = 0
    events_applied: list[str] = field(default_factory=list)

    @property
    def moved(self) -> int:
        return self.notices_closed + sum(self.expired.values())


# ---- the round's due times --------------------------------------------------------------------

def round_events(policy: Policy, cal: WorkingDayCalendar | None = None) -> list[dict[str, Any]]:
    """The scheduled_events rows of a policy: each cutoff, and reminders 3 and 1 working days before
    it (issue 4), plus the employer's last approval day (最晚审核日) before the employer cutoff.

    A reminder that needs a year the calendar does not know yet is left out (the cutoff itself is a
    date and stays); importing that year adds it (workflow/calendar_import.py)."""
    cal = cal or calendar_for(policy)
    rows: list[dict[str, Any]] = []
    for cutoff in policy.cutoffs:
        rows.append({"policy_id": policy.id, "kind": "cutoff", "name": cutoff.name,
                     "due_at": end_of_day(cutoff.date), "payload": {"cutoff": cutoff.name}})
        try:
            days = reminder_days(cutoff.date, cal, (3, 1))
        except UnknownYearError:
            days = []
        for offset, day in zip((3, 1), days, strict=False):  # none when the year is unknown
            rows.append({"policy_id": policy.id, "kind": "reminder", "name": f"{cutoff.name}-{offset}wd",
                         "due_at": at_hour(day), "payload": {"cutoff": cutoff.name, "working_days": offset}})
        if "employer_notice" in policy.notices and "employer_review" in cutoff.ends:
            try:
                last = latest_approval_day(cutoff.date, policy.notices["employer_notice"].working_days, cal)
            except UnknownYearError:
                continue
            rows.append({"policy_id": policy.id, "kind": "reminder", "name": f"{cutoff.name}-last-approval",
                         "due_at": at_hour(last),
                         "payload": {"cutoff": cutoff.name, "latest_approval_day": last.isoformat()}})
    return rows


def at_hour(day: dt.date, hour: int = REMINDER_HOUR) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)


def ensure_schedule(db: Engine, policy_ids: Iterable[str] | None = None) -> int:
    """Write the due times of every policy's round (idempotent). Returns how many were added."""
    chosen = [get_policy(p) for p in policy_ids] if policy_ids is not None else list(policies().values())
    with db.begin() as conn:
        sync_calendar(conn)
        return repo.upsert_scheduled_events(conn, [r for p in chosen for r in round_events(p)])


# ---- tick ---------------------------------------------------------------------------------

def next_due(db: Engine) -> dt.datetime | None:
    """The earliest pending due time, for the scheduler to wake at."""
    with db.connect() as conn:
        a = conn.execute(select(func.min(cases.c.notice_closes_at)).where(text(OPEN_NOTICE_SQL)))
        b = conn.execute(select(func.min(events.c.due_at)).where(PENDING_EVENT))
        times = [t for t in (a.scalar(), b.scalar()) if t is not None]
    return min(times).replace(tzinfo=dt.UTC) if times and min(times).tzinfo is None else (
        min(times) if times else None)


def tick(db: Engine, now: dt.datetime) -> TickReport:
    """Apply everything due at or before `now`, in due order."""
    report = TickReport()
    while True:
        with db.connect() as conn:
            t_notice = conn.execute(select(func.min(cases.c.notice_closes_at)).where(and_(
                text(OPEN_NOTICE_SQL), cases.c.notice_closes_at <= now))).scalar()
            t_event = conn.execute(select(func.min(events.c.due_at)).where(and_(
                PENDING_EVENT, events.c.due_at <= now))).scalar()
        t_notice = _aware(t_notice)
        t_event = _aware(t_event)
        if t_notice is None and t_event is None:
            return report
        if t_notice is not None and (t_event is None or t_notice <= t_event):
            report.notices_closed += close_notices(db, t_notice)
            continue
        assert t_event is not None
        with db.connect() as conn:
            due = conn.execute(select(events).where(and_(PENDING_EVENT,
                                                         events.c.due_at == t_event))).all()
        for event in sorted(due, key=lambda e: (KIND_ORDER.get(e.kind, 9), e.id)):
            if event.kind == "cutoff":
                n = apply_cutoff(db, event.id, event.due_at)
                if n is not None:
                    report.expired[f"{event.policy_id}:{event.name}"] = n
                    report.events_applied.append(f"{event.policy_id}:{event.name}")
            elif event.kind == "reminder":
                n = apply_reminder(db, event.id, event.due_at)
                if n is not None:
                    report.reminders += n
                    report.events_applied.append(f"{event.policy_id}:{event.name}")


def _aware(t: dt.datetime | None) -> dt.datetime | None:
    if t is None:
        return None
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t


def _claim(conn: Connection, stmt: Select[Any]) -> list[Any]:
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, of=cases)
    return list(conn.execute(stmt.limit(BATCH)))


def _move_batch(conn: Connection, ids: list[int] | Any, from_state: str, to_state: str, action: str,
                at: Any, reason: str | None, extra: dict[str, Any], templates: list[str]) -> int:
    """Move the claimed cases in `from_state` with one statement per table: `ids` lists them, or is
    a condition that selects exactly them."""
    if isinstance(ids, list):
        if not ids:
            return 0
        ids = cases.c.id.in_(ids)
    *writes, move = _move_statements(conn.dialect.name, ids, from_state, to_state, action, at, reason, extra,
                                     templates)
    for stmt in writes:
        conn.execute(stmt)
    return int(conn.execute(move).rowcount)


def _move_statements(dialect: str, ids: Any, from_state: str, to_state: str, action: str, at: Any,
                     reason: str | None, extra: dict[str, Any], templates: list[str]) -> list[Any]:
    """:func:`_move_batch`'s statements, in order: history, webhook events, the outbox, and last the
    UPDATE of the cases (whose rowcount is the number moved)."""
    where = and_(ids, cases.c.state == from_state)
    src = select(
        cases.c.id, cases.c.version + 1, at, literal(Role.system.value), literal(action),
        cases.c.state, literal(to_state), literal(reason),
    ).where(where)
    out: list[Any] = [insert(history).from_select(
        ["case_id", "seq", "at", "actor_role", "action", "from_state", "to_state", "reason"], src)]
    out.append(webhook_store.batch_insert(dialect, where, seq=cases.c.version + 1, action=action,
                                          from_state=cases.c.state, to_state=to_state, at=at))
    for template in templates:
        ctx = {"action": action, "from": from_state, "to": to_state, **({"reason": reason} if reason else {})}
        out.append(insert(notifications).from_select(
            ["case_id", "template", "channel", "recipient_role", "recipient", "context", "status", "attempts",
             "next_attempt_at", "created_at"],
            select(cases.c.id, literal(template), literal(CHANNEL_FOR[Role.applicant]),
                   literal(Role.applicant.value), cases.c.name, literal(ctx, JSON), literal("pending"),
                   literal(0), at, at).where(where)))
    out.append(update(cases).where(where).values(state=to_state, version=cases.c.version + 1, updated_at=at,
                                                 **extra))
    return out


def close_notices(db: Engine, up_to: dt.datetime) -> int:
    """Close every notice due at or before `up_to`; each case moves on to its next stage."""
    moved = 0
    while True:
        with db.begin() as conn:
            claimed = _claim(conn, select(cases.c.id, cases.c.policy_id, cases.c.state).where(and_(
                text(OPEN_NOTICE_SQL), cases.c.notice_closes_at <= up_to)).order_by(
                cases.c.notice_closes_at, cases.c.id))
            if not claimed:
                return moved
            groups: dict[tuple[str, str], list[int]] = defaultdict(list)
            for row in claimed:
                groups[(row.policy_id, row.state)].append(row.id)
            for (policy_id, state), ids in groups.items():
                nxt = get_policy(policy_id).next_stage(state)
                assert nxt is not None
                entering = {"fee_payment": ["fee_due"], "mail_in": ["mail_in_instructions"]}.get(nxt, [])
                templates = ["notice_closed", *entering]
                clear = dict(NOTICE_CLEARS)
                # The history time is the notice's own close, also when a tick runs late.
                moved += _move_batch(conn, ids, state, nxt, "notice_closed", cases.c.notice_closes_at, None,
                                     clear, templates)


def _cutoff_of(event: Any) -> tuple[Policy, Cutoff]:
    policy = get_policy(event.policy_id)
    name = event.payload.get("cutoff", event.name)
    return policy, next(c for c in policy.cutoffs if c.name == name)


def _lock_event(conn: Connection, event_id: int) -> Any:
    stmt = select(events).where(events.c.id == event_id)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return conn.execute(stmt).first()


def _moved(event: Any, expected_due: dt.datetime | None) -> bool:
    """The event's due time changed since the tick chose it (a policy amendment moved it)."""
    if expected_due is None:
        return False
    due = _aware(event.due_at)
    return due != _aware(expected_due)


def apply_cutoff(db: Engine, event_id: int, expected_due: dt.datetime | None = None) -> int | None:
    """Expire every case the cutoff ends, in batches; None if another tick already applied it.

    PostgreSQL claims batches in id order after the last one (keyset), so each claim reads only its
    own batch, never the cases already moved (their old row versions stay in the index until vacuum);
    a last pass from the start then picks up any case a concurrent tick had locked and released again
    without moving it. SQLite needs neither (see :func:`_expire_batch_sqlite`)."""
    total = 0
    after = 0
    # One connection for every batch, so that SQLite checkpoints once, after the last.
    with db.connect() as conn, checkpoint_once(conn):
        while True:
            with _transaction(conn):
                event = _lock_event(conn, event_id)
                # Re-read under the lock: an amendment that moved the cutoff (workflow/amendments.py) stops
                # the sweep between two batches; no case expires under the old date after it commits.
                if event is None or event.done_at is not None or _moved(event, expected_due):
                    return None if total == 0 else total
                policy, cutoff = _cutoff_of(event)
                reason = expire_reason(cutoff, policy)
                if conn.dialect.name == "postgresql":
                    moved, last = _expire_batch_pg(conn, and_(ended_by_sql(policy.id, cutoff), cases.c.id > after),
                                                   event.due_at, reason)
                else:
                    moved = _expire_batch_sqlite(conn, policy.id, cutoff, event.due_at, reason)
                    last = None
                total += moved
                if moved:
                    # Counted in the batch's own transaction, so a sweep resumed after a crash adds up.
                    conn.execute(update(events).where(events.c.id == event_id).values(
                        affected=func.coalesce(events.c.affected, 0) + moved))
                    if last is None:  # SQLite: the next batch
                        continue
                if last is not None:
                    after = last
                    continue
                if after > 0:  # PostgreSQL's last pass, from the start
                    after = 0
                    continue
                conn.execute(update(events).where(events.c.id == event_id).values(done_at=event.due_at))
                return total


@contextlib.contextmanager
def _transaction(conn: Connection) -> Iterator[None]:
    """A batch's transaction: its own, or a savepoint in the caller's when one is open (an amendment
    applies what fell due before it in its own transaction, workflow/amendments.py)."""
    with conn.begin_nested() if conn.in_transaction() else conn.begin():
        yield


def _expire_batch_sqlite(conn: Connection, policy_id: str, cutoff: Cutoff, at: dt.datetime, reason: str) -> int:
    """SQLite: claim the next batch and write its state change, history and outbox rows; the cases moved.

    SQLite has one writer at a time (BEGIN IMMEDIATE), and a case this writes leaves the index range
    it was found in (its state changes), so the next batch is simply the first BATCH cases at the front
    of the ranges of ix_cases_policy_stage the cutoff ends: no keyset and no sort. (A claim in id order
    after the last batch read the row of every case still waiting, for every batch: quadratic in the
    sweep's size.) The claim returns each state's count and ids as one JSON array, made by SQLite (no
    Python per case); the writes find those cases by rowid and guard on the state the claim saw. The
    statements are built once per sweep and run with the batch's ids bound."""
    sweep = _sqlite_sweep(policy_id, cutoff, at, reason)
    moved = 0
    for state, n, ids in conn.execute(sweep.claim).all():
        *writes, move = sweep.writes(state)
        for stmt in writes:
            conn.execute(stmt, {"batch_ids": ids})
        here = int(conn.execute(move, {"batch_ids": ids}).rowcount)
        if here != n:  # nothing else writes between the claim and the writes
            raise RuntimeError(f"cutoff sweep: claimed {n} cases in {state}, moved {here}")
        moved += here
    return moved


@dataclass
class _SqliteSweep:
    """The statements of one cutoff's sweep on SQLite: the claim, and the writes for each state."""

    claim: Any
    at: dt.datetime
    reason: str
    by_state: dict[str, list[Any]] = field(default_factory=dict)

    def writes(self, state: str) -> list[Any]:
        found = self.by_state.get(state)
        if found is None:
            ids = cases.c.id.in_(select(func.json_each(bindparam("batch_ids")).table_valued("value").c.value))
            found = self.by_state[state] = _move_statements("sqlite", ids, state, EXPIRED, "expire",
                                                            literal(self.at), self.reason, dict(EXPIRE_CLEARS),
                                                            ["expired"])
        return found


_SQLITE_SWEEPS: dict[tuple[Any, ...], _SqliteSweep] = {}


def _sqlite_sweep(policy_id: str, cutoff: Cutoff, at: dt.datetime, reason: str) -> _SqliteSweep:
    key = (policy_id, cutoff.name, tuple(cutoff.ends), end_of_day(cutoff.date), at, reason, BATCH)
    found = _SQLITE_SWEEPS.get(key)
    if found is None:
        claimed = union_all(*[select(part.c.id, part.c.state) for part in (
            select(cases.c.id, cases.c.state).where(cond).limit(BATCH).subquery()
            for cond in ended_by_parts(policy_id, cutoff))]).limit(BATCH).subquery()
        claim = (select(claimed.c.state, func.count(), func.json_group_array(claimed.c.id))
                 .group_by(claimed.c.state).order_by(claimed.c.state))
        if len(_SQLITE_SWEEPS) >= 64:  # a few cutoffs a round; bounded all the same
            _SQLITE_SWEEPS.clear()
        found = _SQLITE_SWEEPS[key] = _SqliteSweep(claim, at, reason)
    return found


def expire_ended(conn: Connection, policy_id: str, cutoff: Cutoff, extra: dict[str, Any] | None = None) -> int:
    """Expire every case `cutoff` ends, at its instant, in the caller's transaction and in one set of
    statements per state (no batches): for an amendment that moves the cutoff into the past
    (workflow/amendments.py). `extra` sets more columns on the expired cases. Returns how many."""
    ended = ended_by_sql(policy_id, cutoff)
    states = sorted(conn.execute(select(cases.c.state).where(ended).distinct()).scalars())
    at = literal(end_of_day(cutoff.date), AwareDateTime())
    values = {**EXPIRE_CLEARS, **(extra or {})}
    reason = expire_reason(cutoff, get_policy(policy_id))
    return sum(_move_batch(conn, ended, state, EXPIRED, "expire", at, reason, dict(values), ["expired"])
               for state in states)


def _expire_batch_pg(conn: Connection, cond: Any, at: dt.datetime, reason: str) -> tuple[int, int | None]:
    """PostgreSQL: claim the next batch (FOR UPDATE SKIP LOCKED) and write its state change, history
    and outbox rows as ONE statement of data-modifying CTEs — each case is found once, and the rows
    it writes come from the UPDATE's RETURNING. Returns (cases moved, the batch's last id)."""
    at_value = literal(at, AwareDateTime())
    claimed = (select(cases.c.id, cases.c.state).where(cond).order_by(cases.c.id).limit(BATCH)
               .with_for_update(skip_locked=True, of=cases).cte("claimed"))
    moved = (update(cases).where(cases.c.id == claimed.c.id)
             .values(state=EXPIRED, version=cases.c.version + 1, updated_at=at_value, **EXPIRE_CLEARS)
             .returning(cases.c.id, cases.c.version, claimed.c.state.label("from_state"), cases.c.name,
                        cases.c.policy_id)
             .cte("moved"))
    logged = insert(history).from_select(
        ["case_id", "seq", "at", "actor_role", "action", "from_state", "to_state", "reason"],
        select(moved.c.id, moved.c.version, at_value, literal(Role.system.value), literal("expire"),
               moved.c.from_state, literal(EXPIRED), literal(reason))).cte("logged")
    ctx = func.json_build_object(
        literal_column("'action'"), cast(literal("expire"), Text), literal_column("'from'"), moved.c.from_state,
        literal_column("'to'"), cast(literal(EXPIRED), Text), literal_column("'reason'"), cast(literal(reason), Text))
    noted = insert(notifications).from_select(
        ["case_id", "template", "channel", "recipient_role", "recipient", "context", "status", "attempts",
         "next_attempt_at", "created_at"],
        select(moved.c.id, literal("expired"), literal(CHANNEL_FOR[Role.applicant]), literal(Role.applicant.value),
               moved.c.name, ctx, literal("pending"), literal(0), at_value, at_value)).cte("noted")
    hooked = webhook_store.insert_for_batch_cte(conn, moved, action="expire", to_state=EXPIRED, at=at_value)
    count, last = conn.execute(select(func.count(), func.max(moved.c.id)).add_cte(logged, noted, hooked)).one()
    return int(count), (int(last) if last is not None else None)


def _reminder_recipient(policy: Policy, cutoff: Cutoff, state: str) -> Role | None:
    """Who must act on a case in `state` before `cutoff`: the applicant for a draft or a returned
    case, nobody while a notice runs, otherwise the office the cutoff names."""
    if state in ("draft", RETURNED):
        return Role.applicant
    if STAGE_KINDS[state].is_notice:
        return None
    return cutoff.reminds[0] if cutoff.reminds else None


def apply_reminder(db: Engine, event_id: int, expected_due: dt.datetime | None = None) -> int | None:
    with db.begin() as conn:
        event = _lock_event(conn, event_id)
        if event is None or event.done_at is not None or _moved(event, expected_due):
            return None
        policy, cutoff = _cutoff_of(event)
        last_approval = event.payload.get("latest_approval_day")
        stages = ("employer_review",) if last_approval else cutoff.ends
        sent = 0
        for state in (*stages, RETURNED):
            cond = (and_(cases.c.policy_id == policy.id, cases.c.state == RETURNED,
                         cases.c.return_stage.in_(cutoff.ends)) if state == RETURNED
                    else and_(cases.c.policy_id == policy.id, cases.c.state == state))
            if state == RETURNED and last_approval:
                continue
            role = _reminder_recipient(policy, cutoff, state)
            if role is None:
                continue
            recipient = {Role.applicant: cases.c.name, Role.employer: cases.c.employer}.get(
                role, cases.c.district)
            ctx = {"cutoff": cutoff.name, "cutoff_label": cutoff.label, "cutoff_date": cutoff.date.isoformat(),
                   "working_days": event.payload.get("working_days"), "latest_approval_day": last_approval
                   or _last_approval(policy, cutoff)}
            result = conn.execute(insert(notifications).from_select(
                ["case_id", "template", "channel", "recipient_role", "recipient", "context", "status",
                 "attempts", "next_attempt_at", "created_at"],
                select(cases.c.id, literal("deadline_reminder"), literal(CHANNEL_FOR[role]), literal(role.value),
                       recipient, literal(ctx, JSON), literal("pending"), literal(0), literal(event.due_at),
                       literal(event.due_at)).where(cond)).execution_options(preserve_rowcount=True))
            sent += int(result.rowcount)
        conn.execute(update(events).where(events.c.id == event_id).values(done_at=event.due_at, affected=sent))
        return sent


def _last_approval(policy: Policy, cutoff: Cutoff) -> str | None:
    if "employer_notice" in policy.notices and "employer_review" in cutoff.ends:
        days = policy.notices["employer_notice"].working_days
        try:
            return latest_approval_day(cutoff.date, days, calendar_for(policy)).isoformat()
        except UnknownYearError:
            return None
    return None
