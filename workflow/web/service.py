"""What the pages and the API do, once: read a case within scope, list what a user may do, act.

A user acts as its own role (an employer user fires as Role.employer, with its username as the
actor id in the history). Admin has no workflow role: the engine refuses its actions (403), so an
administrator sees everything and decides nothing. Objections are the public's: any user who can
see a case records one on the public's behalf while its notice runs, and the engine receives it
from Role.public, with the objector and the recording user in the actor id.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Row
from sqlalchemy.engine import Connection, Engine

from states.labels import ACTION_LABELS, FIELD_LABELS
from states.machine import machine_for
from states.policy import get_policy
from states.text import FREE_TEXT_ALLOWED, control_character
from states.vocabulary import (
    ACTIONS,
    ANY_STAGE_ACTORS,
    NOTICE_OFFICE,
    REASON_REQUIRED,
    STAGE_KINDS,
    Role,
)
from storage import repo
from storage.calendar_years import sync_calendar
from workflow.engine import Actor, Transition, Workflow, token_of
from workflow.errors import Conflict, InvalidInput, NotFound, NotPermitted, WorkflowError
from workflow.web.auth import Signer
from workflow.web.queries import DueTime, pending_due, visible_case
from workflow.web.scope import WebUser, scope_filter
from workflow.web.token_cache import TokenCache

MAX_BULK = 500
# Servers act at their own clock's "now"; clocks of several servers differ by a few milliseconds
# (NTP keeps them well inside this). An action that far behind a peer's last move is not backdated.
SERVER_CLOCK_SKEW = dt.timedelta(seconds=2)
MAX_REASON = 2000


@dataclass
class WebContext:
    """What every request needs; lives on `app.state.web`."""

    db: Engine
    wf: Workflow
    signer: Signer
    clock: Callable[[], dt.datetime]
    secure_cookies: bool = False
    tokens: TokenCache = field(default_factory=TokenCache)  # verified bearer tokens, for a few seconds


FREE_TEXT_FIELDS = frozenset({"reason", "statement"})


def clean_text(value: str | None, field_name: str, *, max_len: int = MAX_REASON) -> str | None:
    """Strip; refuse control characters (a reason may hold line breaks and tabs; NUL never: PostgreSQL
    cannot store it) and over-long text, naming the field."""
    if value is None:
        return None
    free = field_name.rsplit(".", 1)[-1] in FREE_TEXT_FIELDS
    found = control_character(value, FREE_TEXT_ALLOWED if free else "")
    if found is not None:
        raise InvalidInput(f"{field_name}: must not contain control characters ({found})", field=field_name,
                           zh=f"{FIELD_LABELS.get(field_name, '输入')}含有不可见的控制字符")
    value = value.strip()
    if len(value) > max_len:
        raise InvalidInput(f"{field_name}: at most {max_len} characters", field=field_name,
                           zh=f"{FIELD_LABELS.get(field_name, '输入')}最多{max_len}个字")
    return value or None


def role_actions(role: Role) -> list[str]:
    """Every action a role can ever take, in the vocabulary's order (for the bulk-action menu)."""
    found: set[str] = set()
    for kind in STAGE_KINDS.values():
        if role in kind.actors:
            found.update(a for a in (kind.advance, kind.ret, kind.reject, kind.fail) if a)
    if role in NOTICE_OFFICE.values():
        found.update({"dismiss_objection", "uphold_objection"})
    found.update(a for a, roles in ANY_STAGE_ACTORS.items() if role in roles)
    found.discard("notice_closed")
    return [a for a in ACTIONS if a in found]


def actions_for(user: WebUser, case: Any, now: dt.datetime) -> list[str]:
    """The actions `user` may take on `case` now: allowed from its state and granted to its role."""
    pm = machine_for(get_policy(case.policy_id, case.policy_version))
    token = token_of(case, now)
    return [a for a in pm.actions_from(case.state)
            if user.role in pm.roles_for(token, a, level=case.level)]


def can_object(case: Any, now: dt.datetime) -> bool:
    """An objection can be recorded while the case's public notice runs."""
    kind = STAGE_KINDS.get(case.state)
    closes = case.notice_closes_at
    return bool(kind and kind.is_notice and (closes is None or now < closes))


def load_visible(ctx: WebContext, user: WebUser, case_id: int, conn: Connection | None = None) -> Row[Any]:
    """The case if `user` may see it (on `conn` when given: on SQLite a second connection would wait
    for the write lock that the caller's transaction holds)."""
    if conn is not None:
        case = visible_case(conn, user, case_id)
    else:
        with ctx.db.connect() as own:
            case = visible_case(own, user, case_id)
    if case is None:  # outside the scope looks exactly like absent (CONTRACT §8)
        raise NotFound(f"case {case_id} does not exist", case=case_id)
    return case


def act(ctx: WebContext, user: WebUser, case_id: int, action: str, reason: str | None,
        expected_version: int | None = None, *, conn: Connection | None = None) -> Transition:
    """Fire as the user's own role (a platform: the applicant's actions only, CONTRACT §11), in its
    own transaction or, with `conn`, inside the caller's (an idempotent request's). The scope and
    `expected_version` are checked on the row the move reads, in its transaction: one round trip
    for the case, not a read of its own before the move."""
    reason = clean_text(reason, "reason")
    action = clean_text(action, "action", max_len=64) or ""
    scope = scope_filter(user)

    def visible(case: repo.CaseRow) -> None:
        if not scope.admits(case):  # outside the scope looks exactly like absent (CONTRACT §8)
            raise NotFound(f"case {case_id} does not exist", case=case_id)
        if expected_version is not None and case.version != expected_version:
            raise Conflict(f"case {case_id} is at version {case.version}, not {expected_version}: it was changed "
                           "since you loaded it; reload and try again", case=case_id, version=case.version,
                           zh=f"案件 {case_id} 已被他人修改（在您打开页面之后），请刷新页面查看最新状态后再操作")

    return ctx.wf.fire(case_id, action, Actor(user.role, user.username), ctx.clock(), reason, conn=conn,
                       skew=SERVER_CLOCK_SKEW, check=visible)


def record_objection(ctx: WebContext, user: WebUser, case_id: int, reason: str | None,
                     objector: str | None) -> Transition:
    reason = clean_text(reason, "reason")
    objector = clean_text(objector, "objector", max_len=40)
    if user.role is Role.platform:  # a platform acts for applicants only (CONTRACT §11)
        raise NotPermitted("a platform user may not record objections", role=user.role.value)
    if not reason:
        raise InvalidInput("reason: an objection needs a reason", field="reason", zh="请填写异议内容")
    load_visible(ctx, user, case_id)
    actor_id = f"{objector or '匿名'}（{user.username}录入）"[:100]
    return ctx.wf.fire(case_id, "object", Actor(Role.public, actor_id), ctx.clock(), reason, skew=SERVER_CLOCK_SKEW)


@dataclass
class BulkOutcome:
    case_id: int
    transition: Transition | None = None
    error: WorkflowError | None = None

    @property
    def ok(self) -> bool:
        return self.transition is not None


def bulk(ctx: WebContext, user: WebUser, case_ids: list[int], action: str,
         reason: str | None, *, conn: Connection | None = None) -> list[BulkOutcome]:
    """Apply `action` to each case separately: one case's failure does not stop the others. With
    `conn`, all inside the caller's transaction, each case in a savepoint of its own."""
    if not case_ids:
        raise InvalidInput("case_ids: select at least one case", field="case_ids", zh="请至少选择一件案件")
    if len(case_ids) > MAX_BULK:
        raise InvalidInput(f"case_ids: at most {MAX_BULK} cases at once", field="case_ids",
                           zh=f"一次最多批量处理{MAX_BULK}件")
    reason = clean_text(reason, "reason")
    if action not in ACTIONS:
        raise InvalidInput(f"action: unknown action {action!r}; actions: {', '.join(ACTIONS)}", field="action",
                           zh="请选择一项操作")
    if action in REASON_REQUIRED and not reason:
        raise InvalidInput(f"reason: action {action!r} needs a reason", field="reason",
                           zh=f"「{ACTION_LABELS[action]}」须填写理由")
    out: list[BulkOutcome] = []
    for case_id in dict.fromkeys(case_ids):  # each once, in the order given
        try:
            if conn is None:
                out.append(BulkOutcome(case_id, transition=act(ctx, user, case_id, action, reason)))
            else:
                with conn.begin_nested():
                    out.append(BulkOutcome(case_id, transition=act(ctx, user, case_id, action, reason, conn=conn)))
        except WorkflowError as exc:
            out.append(BulkOutcome(case_id, error=exc))
    return out


@dataclass
class CaseView:
    case: Row[Any]
    history: list[Row[Any]]
    notifications: list[Row[Any]]
    due: list[DueTime]
    actions: list[str]
    can_object: bool


def case_view(ctx: WebContext, user: WebUser, case_id: int) -> CaseView:
    now = ctx.clock()
    case = load_visible(ctx, user, case_id)
    with ctx.db.connect() as conn:
        sync_calendar(conn)  # a due time counted on a provisional year is marked so
        hist = repo.case_history(conn, case_id)
        notes = repo.case_notifications(conn, case_id)
    return CaseView(case, hist, notes, pending_due(case, now), actions_for(user, case, now),
                    can_object(case, now))
