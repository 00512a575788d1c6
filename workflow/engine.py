"""The engine: passive, owns no clock. ``fire(case, action, actor, now)`` moves one case; the
scheduler and the simulator call ``tick(now)`` (workflow/deadlines.py) for what time does.

Every move is one database transaction: a compare-and-set UPDATE on (state, version), the history
row, and the outbox rows. If any of them fails, none of them happened.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, NoReturn

from sqlalchemy import literal
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from states.applicant import ApplicantFiling
from states.calendar import (
    UnknownYearError,
    WorkingDayCalendar,
    calendar_with,
    end_of_day,
    local_date,
    notice_close,
    product_calendar,
)
from states.eligibility import BarInfo, EligibilityResult, evaluate
from states.labels import ACTION_LABELS
from states.machine import CaseToken, IllegalMove, PolicyMachine, machine_for
from states.policy import Policy, get_policy
from states.text import clip
from states.vocabulary import (
    ACTIONS,
    DRAFT,
    ENDED_STATES,
    EXPIRED,
    OBJECTION,
    REASON_REQUIRED,
    RETURNED,
    REVOKED,
    STAGE_KINDS,
    Role,
)
from storage import repo
from storage import webhooks as webhook_store
from storage.calendar_years import sync_calendar
from storage.tables import AwareDateTime
from workflow import notify
from workflow.clock import require_aware
from workflow.due import DueMove, describe_expiry, due_moves, expired_by
from workflow.errors import (
    Barred,
    Conflict,
    DuplicateApplication,
    IllegalTransition,
    Ineligible,
    InvalidInput,
    NotFound,
    NotPermitted,
    UnknownYear,
    WindowClosed,
    WorkflowError,
)

# How often `fire` reloads a case whose due moves another writer recorded first.
_CATCH_UP_ATTEMPTS = 3


class _Overtaken(Exception):
    """Another writer moved the case while `fire` was recording what time had done to it."""


@dataclass(frozen=True)
class Actor:
    role: Role
    id: str | None = None

    @classmethod
    def parse(cls, role: str, actor_id: str | None = None) -> Actor:
        try:
            return cls(Role(role), actor_id)
        except ValueError as exc:
            raise InvalidInput(f"actor: unknown role {clip(role)}; roles: {', '.join(r.value for r in Role)}",
                               field="actor") from exc


SYSTEM = Actor(Role.system)


@dataclass(frozen=True)
class Transition:
    case_id: int
    action: str
    from_state: str
    to_state: str
    at: dt.datetime
    actor: Actor
    reason: str | None
    version: int
    notice_closes_at: dt.datetime | None = None  # when the case's running notice closes, if any


@dataclass(frozen=True)
class PlannedMove:
    """A move decided but not yet written: the columns the compare-and-set UPDATE sets, the history
    row, the outbox rows, and a fraud bar when the move revokes."""

    values: dict[str, Any]
    history: dict[str, Any]
    notifications: list[dict[str, Any]]
    bar: dict[str, Any] | None
    transition: Transition


def calendar_for(policy: Policy) -> WorkingDayCalendar:
    """The working-day calendar of a policy: the product's one calendar (imported years in front of
    the package, states/calendar/) with the policy's own corrections, if any, on top."""
    return calendar_with(policy.calendar_overrides)


@dataclass(frozen=True)
class _Edge:
    dest: str
    conditions: tuple[tuple[Callable[[Any], Any], bool], ...]  # (guard, the result it must give)


@dataclass(frozen=True)
class _GuardEvent:
    model: CaseToken  # what a guard of the shared machine reads (it is built with send_event=True)


_EDGES: dict[tuple[str, int, str], dict[tuple[str, str], tuple[_Edge, ...]]] = {}


def destination(pm: PolicyMachine, token: CaseToken, action: str) -> str:
    """Where `action` takes a case, read from the policy's shared `transitions` machine.

    The machine stays the one source of truth for the graph (and its diagram): its events are
    flattened, once per policy, into (state, action) -> edges with their guards, and a move looks
    up its edges and evaluates the guards in the machine's order — what `Event.trigger` does, without
    its ~20 µs of callback and logging machinery per move. Raises IllegalMove like `pm.apply`."""
    key = pm.policy.cache_key
    edges = _EDGES.get(key)
    if edges is None:
        edges = {}
        for name, event in pm.machine.events.items():
            for source, transitions in event.transitions.items():
                edges[(source, name)] = tuple(
                    _Edge(str(t.dest), tuple((_callable(c.func), bool(c.target)) for c in t.conditions))
                    for t in transitions)
        _EDGES[key] = edges
    guarded = _GuardEvent(token)
    for edge in edges.get((token.state, action), ()):
        if all(bool(func(guarded)) == target for func, target in edge.conditions):
            return edge.dest
    raise IllegalMove(action)


def _callable(func: Any) -> Callable[[Any], Any]:
    if not callable(func):  # states.machine gives every guard as a function, never by name
        raise TypeError(f"guard {func!r} is not a function")
    return func  # type: ignore[no-any-return]


_CLOSES: dict[tuple[tuple[str, int, str], object, dt.date, int], dt.datetime] = {}


def notice_closes(policy: Policy, opened_at: dt.datetime, working_days: int) -> dt.datetime:
    """When a notice opened at `opened_at` closes. It depends only on the local day it opens (the
    opening day is never counted), so it is worked out once per policy, day, length and set of
    imported calendar years (their token): the working-day calendar costs ~25 µs a day looked at,
    more than the rest of a move together."""
    key = (policy.cache_key, product_calendar().token, local_date(opened_at), working_days)
    closes = _CLOSES.get(key)
    if closes is None:
        closes = _CLOSES[key] = notice_close(opened_at, working_days, calendar_for(policy))
    return closes


def active_key(policy_id: str, id_number: str) -> str:
    return f"{policy_id}|{id_number}"


def bars_of(conn: Connection, id_number: str) -> list[BarInfo]:
    return [BarInfo(from_year=a, to_year=b) for a, b in repo.bar_years(conn, id_number)]


def token_of(case: Any, now: dt.datetime) -> CaseToken:
    closes = case.notice_closes_at
    return CaseToken(
        state=case.state,
        return_stage=case.return_stage,
        notice_stage=case.notice_stage,
        notice_open=closes is None or now < closes,
    )


def allowed_for(pm: PolicyMachine, case: Any, role: Role, now: dt.datetime) -> list[str]:
    """What `role` may do on `case` now: the actions its state allows that are granted to the role
    (never the scheduler's own moves, never another role's)."""
    token = token_of(case, now)
    return [a for a in pm.actions_from(case.state) if role in pm.roles_for(token, a, level=case.level)]


def describe_refusal(pm: PolicyMachine, case: Any, action: str, actor: Actor, now: dt.datetime) -> str:
    allowed = allowed_for(pm, case, actor.role, now)
    cutoff = expired_by(pm.policy, case)
    why = f" ({describe_expiry(cutoff)})" if cutoff is not None else ""
    return (f"case {case.id} is in state {case.state!r}{why}; action {action!r} is not allowed there "
            f"({actor.role.value} may: {', '.join(allowed) or 'nothing'})")


def _raise_integrity(case_id: int, exc: IntegrityError) -> NoReturn:
    """Raise what a constraint violated by a move means to the caller (`exc` itself if unknown)."""
    if "active_key" in str(exc.orig) or "uq_cases_active_key" in str(exc.orig):
        raise DuplicateApplication(f"case {case_id}: this person already has an active application in this "
                                   "policy", case=case_id) from exc
    if "uq_history_case_seq" in str(exc.orig) or "history.case_id, history.seq" in str(exc.orig):
        raise Conflict(f"case {case_id} was changed by someone else at the same moment; reload and try again",
                       case=case_id) from exc
    raise exc


class Workflow:
    """The engine over one database."""

    def __init__(self, db: Engine) -> None:
        from workflow.policy_registry import bind

        self.db = db
        bind(db)  # the policies imported into this database (CONTRACT §9)

    # ---- creating ------------------------------------------------------------------------
    def create_case(self, policy_id: str, filing: ApplicantFiling, now: dt.datetime,
                    actor: Actor = Actor(Role.admin), *, conn: Connection | None = None) -> int:
        """A new case in `draft` (CONTRACT §3: named in a scenario or created by an administrator)."""
        return self.create_cases([(policy_id, filing)], now, actor, conn=conn)[0]

    def create_cases(self, new: Sequence[tuple[str, ApplicantFiling]], now: dt.datetime,
                     actor: Actor = Actor(Role.admin), *, conn: Connection | None = None) -> list[int]:
        """Many new cases in `draft`, in one transaction and three multi-row INSERTs (a generated round
        creates 10,000 at its start); returns their ids in the order given. With `conn`, inside the
        caller's transaction (an idempotent request stores its answer in the same one)."""
        require_aware(now, "now")
        chosen: list[Policy] = []
        for policy_id, _filing in new:
            try:
                chosen.append(get_policy(policy_id))
            except KeyError as exc:
                raise InvalidInput(str(exc.args[0]), field="policy") from exc
        for _policy_id, filing in new:
            if not filing.employer:
                raise InvalidInput("employer: needed for a case (the eligibility check alone does without it; "
                                   "CONTRACT §5)", field="employer")
        if not new:
            return []
        if conn is not None:
            return self._create_cases(conn, chosen, new, now, actor)
        with self.db.begin() as own:
            return self._create_cases(own, chosen, new, now, actor)

    def _create_cases(self, conn: Connection, chosen: list[Policy], new: Sequence[tuple[str, ApplicantFiling]],
                      now: dt.datetime, actor: Actor) -> list[int]:
        applicant_ids = repo.insert_applicants(conn, [{
            "id_type": f.id_type, "id_number": f.id_number, "name": f.name, "phone": f.phone, "email": f.email,
            "created_at": now} for _p, f in new])
        case_ids = repo.insert_cases(conn, [{
            "policy_id": policy.id, "policy_version": policy.version, "applicant_id": applicant_id,
            "id_number": f.id_number, "name": f.name, "state": "draft", "version": 0,
            "district": f.district, "employer": f.employer, "specialty": f.specialty,
            "created_at": now, "updated_at": now, "data": f.model_dump(mode="json"), "eligibility": {},
        } for policy, applicant_id, (_p, f) in zip(chosen, applicant_ids, new, strict=True)])
        repo.insert_history(conn, [{
            "case_id": case_id, "seq": 0, "at": now, "actor_role": actor.role.value, "actor_id": actor.id,
            "action": "create", "from_state": "", "to_state": "draft", "reason": None,
        } for case_id in case_ids])
        for i in range(0, len(case_ids), 1000):  # the platform hears of new cases too (CONTRACT §11)
            webhook_store.insert_for_batch(
                conn, repo.cases.c.id.in_(case_ids[i:i + 1000]), seq=literal(0), action="create",
                from_state=literal(""), to_state="draft", at=literal(now, AwareDateTime()))
        return case_ids

    # ---- moving --------------------------------------------------------------------------
    def fire(self, case_id: int, action: str, actor: Actor, now: dt.datetime,
             reason: str | None = None, *, conn: Connection | None = None,
             skew: dt.timedelta = dt.timedelta(0), check: Callable[[repo.CaseRow], None] | None = None) -> Transition:
        """Take `action` on the case, in a transaction of its own or, with `conn`, inside the caller's.

        `skew`: how far the caller's clock may lag the one that recorded the case's last event. A web
        server acting "now" runs on its own clock, a few milliseconds off its peers': a `now` that
        little before the last event is that event's instant, not a backdated action.

        `check`: the caller's own test of the case as the move reads it, in the move's transaction and
        before anything is written (the web tier's scope and expected version); it raises to refuse."""
        reason = self._checked(action, actor, now, reason)
        if conn is not None:
            # Inside the caller's transaction (an idempotent request): one attempt, and a refusal
            # after time moved the case rolls those moves back with it (tick records them later).
            try:
                try:
                    outcome = self._fire(conn, case_id, action, actor, now, reason, skew, check)
                except _Overtaken:
                    raise Conflict(f"case {case_id} is being changed by others; reload and try again",
                                   case=case_id) from None
            except IntegrityError as exc:
                _raise_integrity(case_id, exc)
            if isinstance(outcome, WorkflowError):
                raise outcome
            return outcome
        return self._attempts(self.db.begin, case_id, action, actor, now, reason, skew, check)

    def fire_in(self, conn: Connection, case_id: int, action: str, actor: Actor, now: dt.datetime,
                reason: str | None = None) -> Transition:
        """`fire` as if in a transaction of its own — the same rows, outcome and errors, the moves
        time made kept when the action is then refused — but as a savepoint of the caller's
        transaction `conn`, made durable when the caller commits. For a caller making many moves in
        a row with nobody to answer in between (the simulator), which saves a commit per move."""
        reason = self._checked(action, actor, now, reason)
        return self._attempts(lambda: repo.savepoint(conn), case_id, action, actor, now, reason, dt.timedelta(0))

    def _checked(self, action: str, actor: Actor, now: dt.datetime, reason: str | None) -> str | None:
        """The input checks of a move, before anything is read; the reason as it is recorded."""
        require_aware(now, "now")
        if action not in ACTIONS:
            raise InvalidInput(f"action: unknown action {clip(action)}; actions: {', '.join(ACTIONS)}",
                               field="action")
        reason = reason.strip() if reason else None
        if action in REASON_REQUIRED and not reason:
            raise InvalidInput(f"reason: action {action!r} needs a reason", field="reason",
                               zh=f"「{ACTION_LABELS[action]}」须填写理由")
        if reason and len(reason) > 2000:
            raise InvalidInput("reason: at most 2000 characters", field="reason", zh="理由最多2000个字")
        if reason and "\x00" in reason:
            raise InvalidInput("reason: contains a NUL character", field="reason")
        if actor.id is not None and (len(actor.id) > 100 or "\x00" in actor.id):
            raise InvalidInput("actor_id: at most 100 characters, no NUL", field="actor_id")
        return reason

    def _attempts(self, transaction: Callable[[], AbstractContextManager[Connection]], case_id: int, action: str,
                  actor: Actor, now: dt.datetime, reason: str | None, skew: dt.timedelta,
                  check: Callable[[repo.CaseRow], None] | None = None) -> Transition:
        """Up to _CATCH_UP_ATTEMPTS tries of one move, each in a `transaction()` of its own (a
        transaction, or a savepoint) that an exception rolls back."""
        try:
            for _attempt in range(_CATCH_UP_ATTEMPTS):
                try:
                    with transaction() as conn:
                        outcome = self._fire(conn, case_id, action, actor, now, reason, skew, check)
                except _Overtaken:
                    continue
                if isinstance(outcome, WorkflowError):
                    # Refused after time had moved the case: those moves are committed (above).
                    raise outcome
                return outcome
            raise Conflict(f"case {case_id} is being changed by others; reload and try again", case=case_id)
        except IntegrityError as exc:
            _raise_integrity(case_id, exc)

    def _fire(self, conn: Connection, case_id: int, action: str, actor: Actor, now: dt.datetime,
              reason: str | None, skew: dt.timedelta = dt.timedelta(0),
              check: Callable[[repo.CaseRow], None] | None = None) -> Transition | WorkflowError:
        """One attempt, in `conn`'s transaction. Returns the move made, or the refusal to raise once
        the moves time made are committed. Raises (rolling back) otherwise: `_Overtaken` when another
        writer moved the case first while those were being recorded (the caller tries again)."""
        case, hooked = repo.load_case_for_move(conn, case_id)
        if case is None:
            raise NotFound(f"case {case_id} does not exist", case=case_id)
        if check is not None:
            check(case)
        if now < case.updated_at and case.updated_at - now <= skew:
            now = case.updated_at
        policy = get_policy(case.policy_id, case.policy_version)
        if now < case.updated_at and (case.state, action) in machine_for(policy).table:
            # updated_at is the time of the case's last history row. An action its state does not
            # allow at all is refused as such below (e.g. the loser of two servers' race, whose
            # clock runs a little behind the winner's), whatever its time.
            raise InvalidInput(f"at: {now.isoformat()} is before case {case_id}'s last recorded event "
                               f"({case.updated_at.isoformat()}); a history never runs backwards",
                               field="at", case=case_id)
        due = due_moves(policy, case, now)
        if due:
            # CONTRACT §3: what time has done to this case by `now` happens first, at its own instants.
            case = self._apply_due(conn, case, due, hooked)
        try:
            move = self.plan(conn, case, action, actor, now, reason, policy)
        except WorkflowError as exc:
            if due:
                return exc
            raise
        if not repo.cas_update_case(conn, case_id, case.state, case.version, move.values):
            raise Conflict(f"case {case_id} was changed by someone else (expected state {case.state!r}, "
                           f"version {case.version}); reload and try again", case=case_id)
        repo.insert_history(conn, [move.history])
        repo.insert_notifications(conn, move.notifications)
        if hooked:  # one event row per receiver listening to the policy (CONTRACT §11)
            t = move.transition
            webhook_store.insert_for_move(conn, case_id=case_id, seq=t.version, action=action,
                                          from_state=t.from_state, to_state=t.to_state, at=now,
                                          policy_id=case.policy_id)
        if move.bar is not None:
            repo.insert_bar(conn, move.bar)
        return move.transition

    def _apply_due(self, conn: Connection, case: repo.CaseRow, due: list[DueMove], hooked: bool) -> repo.CaseRow:
        """Record the moves time made on `case` (from :func:`workflow.due.due_moves`), each with a
        compare-and-set on the version, exactly as `tick` writes them. Raises `_Overtaken` if another
        writer (a tick, another action) changed the case meanwhile: nothing is recorded twice."""
        for move in due:
            values = {**move.values, "state": move.dest, "updated_at": move.at}
            if not repo.cas_update_case(conn, case.id, case.state, case.version, values):
                raise _Overtaken
            repo.insert_history(conn, [{
                "case_id": case.id, "seq": case.version + 1, "at": move.at, "actor_role": Role.system.value,
                "actor_id": None, "action": move.action, "from_state": move.source, "to_state": move.dest,
                "reason": move.reason}])
            repo.insert_notifications(conn, notify.for_transition(case, move.action, move.source, move.dest,
                                                                  move.at, move.reason))
            if hooked:
                webhook_store.insert_for_move(conn, case_id=case.id, seq=case.version + 1, action=move.action,
                                              from_state=move.source, to_state=move.dest, at=move.at,
                                              policy_id=case.policy_id)
            case = case._replace(**values, version=case.version + 1)
        return case

    def plan(self, conn: Connection | None, case: Any, action: str, actor: Actor, now: dt.datetime,
             reason: str | None, policy: Policy | None = None) -> PlannedMove:
        """Decide `action` on the loaded `case` without writing anything: the rules, the machine, the
        columns to set, the history row and the outbox rows. Raises as `fire` does when the action
        is refused. Only `submit` reads the database (bars, active cases), through `conn`."""
        case_id = case.id
        policy = policy or get_policy(case.policy_id, case.policy_version)
        pm = machine_for(policy)
        token = token_of(case, now)
        if action == "submit" and case.state in (DRAFT, EXPIRED):
            # CONTRACT §3: outside the filing window the applicant hears that rule, also once the
            # filing cutoff has expired the draft.
            self._check_window(policy, case, now)
        if (case.state, action) not in pm.table:
            raise IllegalTransition(describe_refusal(pm, case, action, actor, now), case=case_id,
                                    state=case.state, action=action,
                                    allowed=allowed_for(pm, case, actor.role, now))
        roles = pm.roles_for(token, action, level=case.level)
        if actor.role not in roles:
            raise NotPermitted(
                f"case {case_id} is in state {case.state!r}; action {action!r} may be taken by "
                f"{', '.join(r.value for r in roles) or 'nobody'}, not by {actor.role.value}",
                case=case_id, state=case.state, action=action, allowed_roles=[r.value for r in roles])
        values: dict[str, Any] = {"updated_at": now}
        if action == "submit":
            assert conn is not None, "submit reads bars and active cases"
            values.update(self._check_submit(conn, policy, case, now))
        elif action == "resubmit":
            self._check_resubmit(policy, case, now)
        source = case.state
        try:
            dest = destination(pm, token, action)
        except IllegalMove as exc:
            raise IllegalTransition(describe_refusal(pm, case, action, actor, now), case=case_id,
                                    state=case.state, action=action) from exc
        if conn is not None and source != OBJECTION and dest in policy.notices:
            # The move computes a notice's close: on the imported years the database holds now.
            sync_calendar(conn, shared_lock=True)
        values.update(self._effects(policy, case, source, dest, now))
        values["state"] = dest
        history = {
            "case_id": case_id, "seq": case.version + 1, "at": now, "actor_role": actor.role.value,
            "actor_id": actor.id, "action": action, "from_state": source, "to_state": dest, "reason": reason,
        }
        bar: dict[str, Any] | None = None
        if dest == REVOKED:
            year = local_date(now).year
            bar = {"id_number": case.id_number, "from_year": year + 1, "to_year": year + policy.fraud_bar.years,
                   "case_id": case_id, "reason": reason, "created_at": now}
        closes = values.get("notice_closes_at", case.notice_closes_at) if dest in policy.notices else None
        return PlannedMove(
            values=values, history=history,
            notifications=notify.for_transition(case, action, source, dest, now, reason), bar=bar,
            transition=Transition(case_id, action, source, dest, now, actor, reason, case.version + 1, closes))

    def _check_window(self, policy: Policy, case: Any, now: dt.datetime) -> None:
        today = local_date(now)
        window = policy.window
        if window is not None and (today < window.opens or (window.closes and today > window.closes)):
            span = f"{window.opens} to {window.closes}" if window.closes else f"from {window.opens}"
            raise WindowClosed(f"case {case.id}: the filing window of {policy.id} is {span} "
                               f"({window.source.file} {window.source.section}); today is {today}",
                               case=case.id, zh=f"案件 {case.id}：不在申报时间内（{window.opens}至"
                               f"{window.closes or '长期'}）")

    def _check_submit(self, conn: Connection, policy: Policy, case: Any, now: dt.datetime) -> dict[str, Any]:
        today = local_date(now)
        self._check_window(policy, case, now)
        bars = bars_of(conn, case.id_number)
        for bar in bars:
            if bar.from_year <= today.year <= bar.to_year:
                raise Barred(f"case {case.id}: this person is barred from applying in {bar.from_year}–"
                             f"{bar.to_year} after fraud (CONTRACT §4)", case=case.id,
                             zh=f"案件 {case.id}：此人因弄虚作假，{bar.from_year}至{bar.to_year}年不得申报")
        key = active_key(policy.id, case.id_number)
        other = repo.active_case_of(conn, key)
        if other is not None:
            raise DuplicateApplication(f"case {case.id}: this person already has active case {other} in "
                                       f"{policy.id}", case=case.id, other=other,
                                       zh=f"案件 {case.id}：此人在本政策下已有在办申报（案件 {other}）")
        filing = ApplicantFiling.model_validate(case.data)
        result: EligibilityResult = evaluate(policy, filing, as_of=today if policy.standing else None, bars=bars)
        if not result.eligible:
            codes = ", ".join(r.code for r in result.reasons)
            raise Ineligible(f"case {case.id} is not eligible for {policy.id}: {codes}", case=case.id,
                             reasons=[{"code": r.code, "message": r.message} for r in result.reasons],
                             zh=f"案件 {case.id} 不符合申报条件：" + "；".join(r.message for r in result.reasons))
        return {
            "active_key": key, "submitted_at": now, "level": result.level, "title": result.title,
            "series": result.series, "committee": result.committee, "eligibility": result.to_json(),
        }

    def _check_resubmit(self, policy: Policy, case: Any, now: dt.datetime) -> None:
        # CONTRACT §3: resubmit stays open until the cutoff of the stage that returned the case.
        cutoff = policy.cutoff_ending(case.return_stage) if case.return_stage else None
        if cutoff is not None and now >= end_of_day(cutoff.date):
            raise WindowClosed(f"case {case.id}: the {cutoff.name} cutoff ({cutoff.label}, {cutoff.date}) "
                               f"has passed; a case returned by {case.return_stage} can no longer be "
                               "resubmitted", case=case.id,
                               zh=f"案件 {case.id}：{cutoff.label}（{cutoff.date}）已过，不能再重新提交")

    def _effects(self, policy: Policy, case: Any, source: str, dest: str, now: dt.datetime) -> dict[str, Any]:
        """The columns a move sets besides the state: notice times, return stage, activity."""
        values: dict[str, Any] = {}
        if dest == RETURNED:
            values["return_stage"] = source
        elif source == RETURNED:
            values["return_stage"] = None
        if dest == OBJECTION:
            values["notice_stage"] = source  # the notice it suspends; its close time stays
        elif STAGE_KINDS.get(dest) and STAGE_KINDS[dest].is_notice:
            if source != OBJECTION:  # a dismissed objection resumes the notice until its original close
                days = policy.notices[dest].working_days
                try:
                    closes = notice_closes(policy, now, days)
                except UnknownYearError as exc:
                    raise UnknownYear(f"case {case.id}: cannot open a {days}-working-day notice on "
                                      f"{local_date(now)}: {exc}", case=case.id, year=exc.year) from exc
                values.update(notice_stage=dest, notice_opened_at=now, notice_closes_at=closes)
        else:
            values.update(notice_stage=None, notice_opened_at=None, notice_closes_at=None)
        if dest in ENDED_STATES:
            values["active_key"] = None
        return values

    # ---- reading -------------------------------------------------------------------------
    def case(self, case_id: int) -> Any:
        with self.db.connect() as conn:
            found = repo.load_case(conn, case_id)
        if found is None:
            raise NotFound(f"case {case_id} does not exist", case=case_id)
        return found

    def allowed_by_role(self, case_id: int, now: dt.datetime) -> dict[str, list[str]]:
        """What each role may do on the case now (roles that may do nothing, and the scheduler's own
        moves, left out)."""
        case = self.case(case_id)
        pm = machine_for(get_policy(case.policy_id, case.policy_version))
        found = {role.value: allowed_for(pm, case, role, now) for role in Role if role is not Role.system}
        return {role: actions for role, actions in found.items() if actions}
