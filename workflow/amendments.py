"""Importing a policy file (CONTRACT §9): a new id becomes version 1; an id that already has cases is
amended, in ONE transaction:

- the round's due times (scheduled_events) are recomputed from the new version, a cutoff moved to
  a still-future date is armed again, a removed one is dropped, and notices whose length changed get
  their close recomputed;
- every case not ended moves to the new version with an `amend` history row naming the document
  (its state kept, or the one `state_map:` gives a state the new version lacks);
- applicants and employers whose deadline moved are written an `amended` notification;
- with `reinstate`, a case expired by a cutoff the amendment moves to a later, still-future date goes
  back to the stage it expired from (`reinstate`).
- a cutoff moved into the past expires, at its new instant, the cases that were in its stages then
  (workflow/due.py's rule, as its sweep would); the others are amended.

The case writes are set-based: one INSERT … SELECT into history, one per recipient into the outbox
and one UPDATE of cases, whatever the number of cases. On PostgreSQL the policy's due-time rows are
locked first: a cutoff sweep holds its event row for each batch and re-reads the due time after
taking it (workflow/deadlines.py), so after an amendment commits no batch expires under the old date.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import JSON, and_, case, delete, exists, func, insert, literal, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from states.calendar import UnknownYearError, end_of_day, local_date, notice_close
from states.policy import Policy, parse_policy, registry
from states.vocabulary import ENDED_STATES, EXPIRED, OBJECTION, RETURNED, STAGE_KINDS, Role
from storage import policy_store, repo, webhooks
from storage.audit import record_audit
from storage.calendar_years import sync_calendar
from storage.tables import AwareDateTime
from workflow.deadlines import expire_ended
from workflow.errors import Conflict, InvalidInput, UnknownYear
from workflow.notify import CHANNEL_FOR
from workflow.policy_registry import bind

cases, history, notifications, events = repo.cases, repo.history, repo.notifications, repo.scheduled_events
ENDED = sorted(ENDED_STATES)


@dataclass
class Impact:
    """What an import does (the table `--dry-run` prints, and what is stored with the version)."""

    policy_id: str
    kind: str  # "import" | "amendment"
    from_version: int | None
    to_version: int
    document: str | None = None
    cutoffs: list[dict[str, Any]] = field(default_factory=list)  # {name, label, old, new}
    stages: list[dict[str, Any]] = field(default_factory=list)  # {stage, cases, deadline_moves, cutoff, old, new}
    amended: int = 0  # cases moved to the new version
    deadline_moved: int = 0
    expire: dict[str, int] = field(default_factory=dict)  # cutoff moved into the past -> cases it expires
    reinstate: dict[str, int] = field(default_factory=dict)  # stage -> cases brought back
    reinstate_possible: dict[str, int] = field(default_factory=dict)  # same, when --reinstate is not given
    state_map: dict[str, dict[str, Any]] = field(default_factory=dict)  # old state -> {to, cases}
    notices: dict[str, dict[str, Any]] = field(default_factory=dict)  # stage -> {old, new, cases}
    notified: int = 0
    dry_run: bool = False
    # cutoff -> {label, cases}: expired at that cutoff, which had passed before the import unswept
    expired_first: dict[str, dict[str, Any]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


def _round_dates(policy: Policy) -> list[dt.date]:
    days = [c.date for c in policy.cutoffs]
    if policy.window is not None:
        days += [policy.window.opens] + ([policy.window.closes] if policy.window.closes else [])
    return days


def _effective_stage(state: str, return_stage: str | None, notice_stage: str | None) -> str:
    if state == RETURNED and return_stage:
        return return_stage
    if state == OBJECTION and notice_stage:
        return notice_stage
    return state


def _cutoff_date(policy: Policy, stage: str) -> dt.date | None:
    found = policy.cutoff_ending(stage) if stage in policy.stages else None
    return found.date if found is not None else None


_CUTOFF_IN_REASON = re.compile(r"cutoff (\S+) passed")


def import_policy(db: Engine, text: str, name: str, *, actor_role: str, actor_id: str, at: dt.datetime,
                  document: str | None = None, reason: str | None = None, dry_run: bool = False,
                  reinstate: bool = False, expect_id: str | None = None) -> Impact:
    """Store `text` as the next version of its id; amend the id's cases when it has some."""
    if actor_role not in (Role.city, Role.admin):
        raise InvalidInput(f"actor: only city and admin users import policies, not {actor_role}", field="actor")
    document = document.strip() if document else None
    reason = reason.strip() if reason else None
    for label, value, limit in (("document", document, 200), ("reason", reason, 2000)):
        if value and (len(value) > limit or "\x00" in value):
            raise InvalidInput(f"{label}: at most {limit} characters, no NUL", field=label)
    bind(db)
    new = parse_policy(text, name)
    if expect_id is not None and new.id != expect_id:
        raise InvalidInput(f"id: the file is {new.id!r}, not {expect_id!r}; a change of id is refused "
                           "(write a new policy with `zcflow policy new`)", field="id")
    reg = registry()
    reg.refresh()
    versions = reg.versions(new.id)
    old = versions[max(versions)] if versions else None
    version = max(versions) + 1 if versions else 1
    new = new.model_copy(update={"version": version})
    if old is not None and old.track != new.track:
        raise InvalidInput(f"track: {new.id} is a {old.track} policy; a change of track to {new.track} is refused",
                           field="track")
    from workflow.deadlines import round_events, tick
    from workflow.engine import calendar_for

    with db.connect() as conn:
        trans = conn.begin()
        try:
            sync_calendar(conn)  # the years imported into this database (CONTRACT §10)
            # First what fell due before `at` and no scheduler applied yet (CONTRACT §3: the outcome
            # must not depend on the scheduler being on time): expiries at their own cutoffs, notices
            # closed at their own closes. In this transaction, so that a dry run rolls them back too.
            due_first = tick(_InTransaction(conn), at)  # type: ignore[arg-type]
            try:
                # Every date of the round on a year the calendar knows (CONTRACT §4: never a guess).
                for day in _round_dates(new):
                    calendar_for(new).is_working_day(day)
                schedule = round_events(new)
            except UnknownYearError as exc:
                raise UnknownYear(f"{name}: {exc}; import that year's calendar first "
                                  "(`zcflow calendar import FILE`)", year=exc.year) from exc
            impact = _apply(conn, old, new, text, schedule, actor_role=actor_role, actor_id=actor_id, at=at,
                            document=document, reason=reason, dry_run=dry_run, reinstate=reinstate)
            for key, n in due_first.expired.items():
                policy_id, _, name = key.partition(":")
                if policy_id == new.id and n:
                    label = next((c.label for c in (old or new).cutoffs if c.name == name), name)
                    impact.expired_first[name] = {"label": label, "cases": n}
            if dry_run:
                trans.rollback()
            else:
                trans.commit()
        except IntegrityError as exc:
            if trans.is_active:
                trans.rollback()
            if "uq_policy_versions_id_version" in str(exc.orig) or "policy_versions.policy_id" in str(exc.orig):
                raise Conflict(f"{new.id}: another import stored version {new.version} first; look at "
                               f"`zcflow policy history {new.id}` and import again", policy=new.id) from exc
            raise
        except BaseException:
            if trans.is_active:
                trans.rollback()
            raise
    if not dry_run:
        reg.refresh()
    return impact


class _InTransaction:
    """An open transaction lent where an Engine is expected (`tick`): each `begin()` is a savepoint in
    it, each `connect()` the same connection, so whatever the callee writes commits or rolls back with
    the caller's transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        yield self.conn

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        with self.conn.begin_nested():
            yield self.conn


def _apply(conn: Connection, old: Policy | None, new: Policy, text: str, schedule: list[dict[str, Any]], *,
           actor_role: str, actor_id: str, at: dt.datetime, document: str | None, reason: str | None,
           dry_run: bool, reinstate: bool) -> Impact:
    pid = new.id
    # Lock the round's due times first (PostgreSQL): a sweep batch holds its event row while it works.
    lock = select(events.c.id).where(events.c.policy_id == pid)
    if conn.dialect.name == "postgresql":
        conn.execute(lock.with_for_update()).all()
    has_cases = conn.execute(select(exists().where(cases.c.policy_id == pid))).scalar()
    kind = "amendment" if (old is not None and has_cases) else "import"
    impact = Impact(policy_id=pid, kind=kind, from_version=old.version if old else None, to_version=new.version,
                    document=document, dry_run=dry_run)
    if old is not None:
        for c in new.cutoffs:
            before = next((o for o in old.cutoffs if o.name == c.name), None)
            if before is None or before.date != c.date:
                impact.cutoffs.append({"name": c.name, "label": c.label,
                                       "old": before.date.isoformat() if before else None,
                                       "new": c.date.isoformat()})
        for o in old.cutoffs:
            if not any(c.name == o.name for c in new.cutoffs):
                impact.cutoffs.append({"name": o.name, "label": o.label, "old": o.date.isoformat(), "new": None})
    if kind == "amendment":
        assert old is not None
        if not document:
            raise InvalidInput(f"document: {pid} has cases, so this import amends it; give the document (文号) "
                               "that orders the change (--document)", field="document")
        _amend(conn, old, new, impact, at=at, reinstate=reinstate, actor_role=actor_role, actor_id=actor_id,
               document=document, reason=reason, dry_run=dry_run)
    if dry_run:
        return impact
    policy_store.insert_version(conn, policy_id=pid, version=new.version, text=text, document=document,
                                reason=reason, actor=actor_id, kind=kind, effective_at=at,
                                impact=_jsonable(impact.as_dict()))
    _reschedule(conn, pid, schedule, at)
    record_audit(conn, at=at, actor=actor_id, action="policy_amend" if kind == "amendment" else "policy_import",
                 subject=pid, detail={"version": new.version, "document": document, "reason": reason,
                                      "checksum": policy_store.checksum(text), "amended": impact.amended,
                                      "reinstated": sum(impact.reinstate.values()),
                                      "cutoffs": impact.cutoffs})
    return impact


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def _amend(conn: Connection, old: Policy, new: Policy, impact: Impact, *, at: dt.datetime, reinstate: bool,
           actor_role: str, actor_id: str, document: str, reason: str | None, dry_run: bool) -> None:
    pid = new.id
    # A cutoff moved into the past ends now the cases that were in its stages at its new instant
    # (CONTRACT §4, workflow/due.py): they expire at that instant, as its sweep would have, before the
    # others are amended (an `amend` row is a move, after which that cutoff ends a case no more). A
    # dry run does the same and is rolled back, so it counts exactly what the import does.
    for cut in new.cutoffs:
        was = next((o for o in old.cutoffs if o.name == cut.name), None)
        if end_of_day(cut.date) <= at and (was is None or end_of_day(was.date) > at):
            n = expire_ended(conn, pid, cut, {"policy_version": new.version})
            if n:
                impact.expire[cut.name] = n
    open_cases = and_(cases.c.policy_id == pid, cases.c.state.not_in(ENDED))
    groups = conn.execute(select(cases.c.state, cases.c.return_stage, cases.c.notice_stage, func.count())
                          .where(open_cases).group_by(cases.c.state, cases.c.return_stage, cases.c.notice_stage)).all()
    # States the new version lacks: each needs a state_map entry (CONTRACT §9).
    missing: dict[str, int] = defaultdict(int)
    for state, ret, notice, n in groups:
        stage = _effective_stage(state, ret, notice)
        if stage not in new.stages:
            missing[stage] += int(n)
    unmapped = {s: n for s, n in missing.items() if s not in new.state_map}
    if unmapped:
        listed = "; ".join(f"{s}: {n} case(s)" for s, n in sorted(unmapped.items()))
        raise InvalidInput(f"state_map: version {new.version} of {pid} has no state {', '.join(sorted(unmapped))} "
                           f"({listed}); add `state_map:` naming the stage each moves to", field="state_map",
                           states=unmapped)
    for source, target in new.state_map.items():
        if target not in new.stages:
            raise InvalidInput(f"state_map.{source}: {target!r} is not a stage of version {new.version}",
                               field=f"state_map.{source}")
    mapping = {s: new.state_map[s] for s in missing}
    for s, n in missing.items():
        impact.state_map[s] = {"to": mapping[s], "cases": n}

    # Whose deadline moves: the cutoff ending the stage a case is in (or was returned from, or whose
    # notice an objection suspends).
    per_stage: dict[str, int] = defaultdict(int)
    for state, ret, notice, n in groups:
        per_stage[_effective_stage(state, ret, notice)] += int(n)
    moved_stages: list[str] = []
    for stage, n in sorted(per_stage.items(), key=lambda x: (old.stages.index(x[0]) if x[0] in old.stages else 99)):
        target = mapping.get(stage, stage)
        before, after = _cutoff_date(old, stage), _cutoff_date(new, target)
        moves = before != after
        if moves:
            moved_stages.append(stage)
        impact.stages.append({"stage": stage, "to": target, "cases": n, "deadline_moves": moves,
                              "old": before.isoformat() if before else None,
                              "new": after.isoformat() if after else None})
    impact.amended = sum(per_stage.values())
    impact.deadline_moved = sum(per_stage[s] for s in moved_stages)

    # Notices whose length changed: their close is recomputed from the day they opened.
    changed_notices = {s: (old.notices[s].working_days if s in old.notices else None, n.working_days)
                       for s, n in new.notices.items()
                       if s not in old.notices or old.notices[s].working_days != n.working_days}

    reinstated = _reinstatable(conn, old, new, at)
    for row in reinstated:
        (impact.reinstate if reinstate else impact.reinstate_possible)[row["stage"]] = (
            (impact.reinstate if reinstate else impact.reinstate_possible).get(row["stage"], 0) + 1)
    if dry_run:
        for stage, (before_days, after_days) in changed_notices.items():
            n = per_stage.get(stage, 0)
            if n:
                impact.notices[stage] = {"old": before_days, "new": after_days, "cases": n}
        return

    text_reason = f"{document}：{new.name}第{new.version}版" + (f"（{reason}）" if reason else "")
    changes = [c for c in impact.cutoffs if c["new"] is not None]
    ctx = {"action": "amend", "document": document, "version": new.version, "changes": changes}
    eff = case((cases.c.state == RETURNED, cases.c.return_stage), (cases.c.state == OBJECTION, cases.c.notice_stage),
               else_=cases.c.state)
    new_state: Any = case({s: literal(t) for s, t in mapping.items() if s in STAGE_KINDS},
                          value=cases.c.state, else_=cases.c.state) if mapping else cases.c.state
    # 1. history: one `amend` row per case not ended, at the case's next seq.
    conn.execute(insert(history).from_select(
        ["case_id", "seq", "at", "actor_role", "actor_id", "action", "from_state", "to_state", "reason"],
        select(cases.c.id, cases.c.version + 1, literal(at, AwareDateTime()), literal(actor_role),
               literal(actor_id), literal("amend"), cases.c.state, new_state, literal(text_reason)).where(open_cases)))
    # 1b. webhook events (CONTRACT §11): one per case and receiver, a statement per state.
    at_value = literal(at, AwareDateTime())
    for state in sorted({g[0] for g in groups}):
        webhooks.insert_for_batch(conn, and_(open_cases, cases.c.state == state), seq=cases.c.version + 1,
                                  action="amend", from_state=cases.c.state, to_state=mapping.get(state, state),
                                  at=at_value)
    # 2. the outbox: applicants and employers whose deadline moved.
    if moved_stages:
        impact.notified = _notify(conn, and_(open_cases, eff.in_(moved_stages)), ctx, at)
    # 3. the cases themselves.
    values: dict[str, Any] = {"policy_version": new.version, "version": cases.c.version + 1, "updated_at": at}
    if mapping:
        values["state"] = new_state
        values["return_stage"] = case({s: literal(t) for s, t in mapping.items()}, value=cases.c.return_stage,
                                      else_=cases.c.return_stage)
        values["notice_stage"] = case({s: literal(t) for s, t in mapping.items()}, value=cases.c.notice_stage,
                                      else_=cases.c.notice_stage)
    conn.execute(update(cases).where(open_cases).values(**values))
    # 4. notices whose length changed.
    for stage, (before_days, after_days) in changed_notices.items():
        n = _reclose_notices(conn, new, stage, after_days)
        if n:
            impact.notices[stage] = {"old": before_days, "new": after_days, "cases": n}
    # 5. reinstatement.
    if reinstate and reinstated:
        _reinstate(conn, new, reinstated, at, actor_role, actor_id, text_reason, ctx)


def _notify(conn: Connection, where: Any, ctx: dict[str, Any], at: dt.datetime) -> int:
    sent = 0
    for role, recipient in ((Role.applicant, cases.c.name), (Role.employer, cases.c.employer)):
        result = conn.execute(insert(notifications).from_select(
            ["case_id", "template", "channel", "recipient_role", "recipient", "context", "status", "attempts",
             "next_attempt_at", "created_at"],
            select(cases.c.id, literal("amended"), literal(CHANNEL_FOR[role]), literal(role.value), recipient,
                   literal(ctx, JSON), literal("pending"), literal(0), literal(at, AwareDateTime()),
                   literal(at, AwareDateTime())).where(where)).execution_options(preserve_rowcount=True))
        sent += int(result.rowcount)
    return sent


def _reclose_notices(conn: Connection, policy: Policy, stage: str, days: int) -> int:
    """Recompute the close of every running (or objection-suspended) `stage` notice from the day it
    opened: one UPDATE per distinct opening day."""
    from workflow.engine import calendar_for

    cal = calendar_for(policy)
    running = and_(cases.c.policy_id == policy.id, cases.c.notice_stage == stage,
                   cases.c.state.in_([stage, OBJECTION]))
    opened = conn.execute(select(cases.c.notice_opened_at).where(running).distinct()).scalars().all()
    by_day: dict[dt.date, dt.datetime] = {}
    for t in opened:
        if t is None:
            continue
        t = t if t.tzinfo else t.replace(tzinfo=dt.UTC)
        day = local_date(t)
        if day not in by_day:
            by_day[day] = notice_close(t, days, cal)
    moved = 0
    for day, closes in by_day.items():
        start = dt.datetime(day.year, day.month, day.day, tzinfo=end_of_day(day).tzinfo)
        result = conn.execute(update(cases).where(and_(
            running, cases.c.notice_opened_at >= start, cases.c.notice_opened_at < end_of_day(day)))
            .values(notice_closes_at=closes))
        moved += int(result.rowcount)
    return moved


def _reinstatable(conn: Connection, old: Policy, new: Policy, at: dt.datetime) -> list[dict[str, Any]]:
    """Cases expired by a cutoff that the new version moves to a later, still-future date, whose
    stage the new version still has, and whose person holds no other active case in the policy."""
    later = [c for c in new.cutoffs
             if (o := next((x for x in old.cutoffs if x.name == c.name), None)) is not None
             and c.date > o.date and end_of_day(c.date) > at]
    if not later:
        return []
    other = cases.alias("other")
    last = (select(cases.c.id, cases.c.version, cases.c.name, cases.c.id_number, history.c.from_state,
                   history.c.reason, history.c.seq)
            .join(history, and_(history.c.case_id == cases.c.id, history.c.seq == cases.c.version))
            .where(and_(cases.c.policy_id == new.id, cases.c.state == EXPIRED, history.c.action == "expire",
                        ~exists().where(other.c.active_key == cases.c.policy_id + "|" + cases.c.id_number))))
    names = {c.name for c in later}
    found: list[dict[str, Any]] = []
    for row in conn.execute(last.order_by(cases.c.id)):
        match = _CUTOFF_IN_REASON.search(row.reason or "")
        if match is None or match.group(1) not in names:
            continue
        stage = row.from_state
        effective = stage
        if stage in (RETURNED, OBJECTION):
            effective = _stage_before(conn, row.id, row.seq, stage)
        if effective is None or effective not in new.stages:
            continue
        found.append({"id": int(row.id), "version": int(row.version), "stage": stage, "effective": effective,
                      "cutoff": match.group(1), "seq": int(row.seq)})
    return found


def _stage_before(conn: Connection, case_id: int, seq: int, state: str) -> str | None:
    """The stage a returned case was returned from, or whose notice an objection suspended."""
    row = conn.execute(select(history.c.from_state).where(and_(
        history.c.case_id == case_id, history.c.seq < seq, history.c.to_state == state))
        .order_by(history.c.seq.desc()).limit(1)).first()
    return str(row.from_state) if row is not None else None


def _reinstate(conn: Connection, policy: Policy, rows: list[dict[str, Any]], at: dt.datetime, actor_role: str,
               actor_id: str, reason: str, ctx: dict[str, Any]) -> None:
    from workflow.engine import calendar_for

    cal = calendar_for(policy)
    by_stage: dict[str, list[int]] = defaultdict(list)
    for r in rows:
        by_stage[r["stage"]].append(r["id"])
    repo.insert_history(conn, [{
        "case_id": r["id"], "seq": r["version"] + 1, "at": at, "actor_role": actor_role, "actor_id": actor_id,
        "action": "reinstate", "from_state": EXPIRED, "to_state": r["stage"], "reason": reason} for r in rows])
    ids = [r["id"] for r in rows]
    _notify(conn, cases.c.id.in_(ids), {**ctx, "reinstated": True}, at)
    for stage, stage_ids in by_stage.items():
        webhooks.insert_for_batch(conn, and_(cases.c.id.in_(stage_ids), cases.c.state == EXPIRED),
                                  seq=cases.c.version + 1, action="reinstate", from_state=cases.c.state,
                                  to_state=stage, at=literal(at, AwareDateTime()))
    for stage, stage_ids in by_stage.items():
        values: dict[str, Any] = {"state": stage, "version": cases.c.version + 1, "updated_at": at,
                                  "policy_version": policy.version,
                                  "active_key": cases.c.policy_id + "|" + cases.c.id_number}
        conn.execute(update(cases).where(and_(cases.c.id.in_(stage_ids), cases.c.state == EXPIRED)).values(**values))
    # A notice (or an objection to one) comes back with its own period: opened when the case entered
    # it, closing N working days later (a close already past is applied by the next tick).
    for r in rows:
        notice = r["stage"] if STAGE_KINDS.get(r["stage"]) and STAGE_KINDS[r["stage"]].is_notice else (
            r["effective"] if r["stage"] == OBJECTION else None)
        if notice is None or notice not in policy.notices:
            continue
        opened = conn.execute(select(history.c.at).where(and_(
            history.c.case_id == r["id"], history.c.to_state == notice, history.c.from_state != OBJECTION))
            .order_by(history.c.seq.desc()).limit(1)).scalar()
        if opened is None:
            continue
        opened = opened if opened.tzinfo else opened.replace(tzinfo=dt.UTC)
        conn.execute(update(cases).where(cases.c.id == r["id"]).values(
            notice_stage=notice, notice_opened_at=opened,
            notice_closes_at=notice_close(opened, policy.notices[notice].working_days, cal)))


def _reschedule(conn: Connection, policy_id: str, schedule: list[dict[str, Any]], at: dt.datetime) -> None:
    """The round's due times after the import: a changed one is moved (and armed again when its new
    time is still ahead), a new one added, a pending one the new version lacks removed."""
    current = {(r.kind, r.name): r for r in conn.execute(select(events).where(events.c.policy_id == policy_id))}
    wanted = {(r["kind"], r["name"]): r for r in schedule}
    for key, row in wanted.items():
        have = current.get(key)
        if have is None:
            conn.execute(insert(events).values(**row))
            continue
        due = have.due_at if have.due_at.tzinfo else have.due_at.replace(tzinfo=dt.UTC)
        if due == row["due_at"] and dict(have.payload or {}) == row["payload"]:
            continue
        values: dict[str, Any] = {"due_at": row["due_at"], "payload": row["payload"]}
        if have.done_at is not None and row["due_at"] > at:
            values.update(done_at=None, affected=None)
        conn.execute(update(events).where(events.c.id == have.id).values(**values))
    gone = [r.id for key, r in current.items() if key not in wanted and r.done_at is None]
    if gone:
        conn.execute(delete(events).where(events.c.id.in_(gone)))

