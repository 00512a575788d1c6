"""What falls due for a case: notice closings and cutoffs, one definition for `tick` and `fire`.

CONTRACT §3/§4: at a notice's close the case moves on by itself; at a cutoff every case still in a
stage the cutoff ends expires; at one instant notice closings come first, then cutoffs. The
scheduler's `tick` applies this to every case at once (set-based SQL, workflow/deadlines.py); the
engine's `fire` applies it to the one case it is about to move, before it decides (so the outcome
never depends on whether the scheduler has run). Both read the rule from here:

- :func:`ends` / :func:`ended_by_sql` / :func:`ended_by_parts`: which cases a cutoff ends — the
  same condition in Python (for a loaded row) and in SQL (for a sweep, for an amendment that moves
  the cutoff into the past, and for :func:`count_ended_by`, the dashboard's count);
- :func:`expire_reason`: the history reason of an expiry;
- :func:`due_moves`: the moves due for one loaded case up to an instant, in tick's order.

A cutoff ends a case only if the case was in that stage at the cutoff's instant, i.e. its last
move (`updated_at`, the time of its last history row) is not after the cutoff: a case that entered
the stage later (say, a draft created after the filing cutoff) is not expired back in time, so a
history never runs backwards.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.engine import Connection

from states.calendar import end_of_day
from states.legal import cite_source
from states.policy import Cutoff, Policy
from states.vocabulary import EXPIRED, OBJECTION, RETURNED
from storage import repo
from storage.tables import NOTICE_STATES

cases = repo.cases

NOTICE_CLOSED = "notice_closed"
EXPIRE = "expire"
# The columns a move by time clears besides the state (an expired case is no longer active).
NOTICE_CLEARS: dict[str, Any] = {"notice_stage": None, "notice_opened_at": None, "notice_closes_at": None}
EXPIRE_CLEARS: dict[str, Any] = {"active_key": None, **NOTICE_CLEARS}


def ends(cutoff: Cutoff, state: str, return_stage: str | None, notice_stage: str | None) -> bool:
    """Whether `cutoff` ends a case in `state`: in a stage it ends, returned by one, or in an
    objection suspending one (CONTRACT §4)."""
    stages = cutoff.ends
    return (state in stages or (state == RETURNED and return_stage in stages)
            or (state == OBJECTION and notice_stage in stages))


def _in_stages(stages: list[str]) -> list[Any]:
    """:func:`ends` on the state columns, as its three parts: in a stage, returned by one, in an
    objection suspending one."""
    return [cases.c.state.in_(stages),
            and_(cases.c.state == RETURNED, cases.c.return_stage.in_(stages)),
            and_(cases.c.state == OBJECTION, cases.c.notice_stage.in_(stages))]


def ended_by_sql(policy_id: str, cutoff: Cutoff) -> Any:
    """:func:`ends` as a SQL condition on `cases`, with the case's last move not after the cutoff."""
    return and_(cases.c.policy_id == policy_id, cases.c.updated_at <= end_of_day(cutoff.date),
                or_(*_in_stages(list(cutoff.ends))))


def ended_by_parts(policy_id: str, cutoff: Cutoff, now: dt.datetime | None = None) -> list[Any]:
    """:func:`ended_by_sql` as disjoint conditions whose union it is, each a seek on (policy, state, …)
    in ix_cases_policy_stage (one OR reads every index entry of the policy); the one condition when
    the parts overlap (a cutoff that ends `returned` or `objection` itself).

    With `now` before the cutoff's instant the time condition is left out: every case's last move is
    at or before `now`, so before the instant, and the parts are answered from the index alone."""
    stages = list(cutoff.ends)
    due = end_of_day(cutoff.date)
    base = [cases.c.policy_id == policy_id]
    if now is None or due <= now:
        base.append(cases.c.updated_at <= due)
    if RETURNED in stages or OBJECTION in stages:
        return [and_(*base, or_(*_in_stages(stages)))]
    return [and_(*base, part) for part in _in_stages(stages)]


def count_ended_by(conn: Connection, policy_id: str, cutoff: Cutoff, now: dt.datetime) -> int:
    """How many cases of the policy `cutoff` ends: for a cutoff due at or before `now`, what its sweep
    expires; for one still ahead, what it would expire if nothing moved them first. One count per
    part of :func:`ended_by_parts` (as one OR, PostgreSQL fetched every matching row: 250 ms at
    1,000,000 cases)."""
    counts = [select(func.count()).select_from(cases).where(part).scalar_subquery()
              for part in ended_by_parts(policy_id, cutoff, now)]
    total: Any = counts[0]
    for more in counts[1:]:
        total = total + more
    return int(conn.execute(select(total)).scalar_one())


def expire_reason(cutoff: Cutoff, policy: Policy | None = None) -> str:
    """The history reason of an expiry: the cutoff in Chinese, then "— cutoff NAME passed" (read back
    by reinstatement and the simulator) and the notice it comes from by title and 文号, never by file
    (`policy`: a round an operator wrote cites its own notice)."""
    return (f"{cutoff.label}（{cutoff.date.isoformat()}）已过 — cutoff {cutoff.name} passed "
            f"({cite_source(cutoff.source, policy)})")


def expired_by(policy: Policy, case: Any) -> Cutoff | None:
    """The cutoff that expired `case` (state `expired`), read from the row alone: an expiry is
    recorded at its cutoff's instant, so it is the cutoff due exactly at the case's last move."""
    if case.state != EXPIRED:
        return None
    for due, cutoff in cutoffs_by_due(policy):
        if due == case.updated_at:
            return cutoff
    return None


def describe_expiry(cutoff: Cutoff) -> str:
    return f"expired at the end of {cutoff.date.isoformat()} ({cutoff.label})"


_BY_DUE: dict[tuple[str, int], tuple[tuple[dt.datetime, Cutoff], ...]] = {}


def cutoffs_by_due(policy: Policy) -> tuple[tuple[dt.datetime, Cutoff], ...]:
    """The policy's cutoffs with their instants, earliest first (ties in the policy's order, as the
    scheduled_events rows are written and applied)."""
    key = (policy.id, policy.version)
    found = _BY_DUE.get(key)
    if found is None:
        found = _BY_DUE[key] = tuple(sorted(((end_of_day(c.date), c) for c in policy.cutoffs),
                                            key=lambda pair: pair[0]))
    return found


@dataclass(frozen=True)
class DueMove:
    """A move time has made on a case: at its own due instant, by the system."""

    at: dt.datetime
    action: str  # NOTICE_CLOSED or EXPIRE
    source: str
    dest: str
    reason: str | None
    cutoff: Cutoff | None
    values: dict[str, Any]  # the columns it sets besides state and version


def due_moves(policy: Policy, case: Any, up_to: dt.datetime) -> list[DueMove]:
    """Every notice closing and cutoff due for the loaded `case` at or before `up_to`, in the order
    `tick` applies them (by instant; at one instant the notice closing first). Reads no database:
    the row and the policy's cutoffs in memory. Empty in the common case where nothing is due."""
    state: str = case.state
    closes: dt.datetime | None = case.notice_closes_at
    notice_due = closes is not None and closes <= up_to and state in NOTICE_STATES
    cutoffs = cutoffs_by_due(policy)
    if not notice_due and (not cutoffs or cutoffs[0][0] > up_to):
        return []
    return_stage: str | None = case.return_stage
    notice_stage: str | None = case.notice_stage
    last: dt.datetime = case.updated_at
    moves: list[DueMove] = []
    while True:
        cut: tuple[dt.datetime, Cutoff] | None = next(
            ((due, c) for due, c in cutoffs
             if last <= due <= up_to and ends(c, state, return_stage, notice_stage)), None)
        if notice_due and closes is not None and (cut is None or closes <= cut[0]):
            nxt = policy.next_stage(state)
            assert nxt is not None, f"{policy.id}: notice stage {state} is the last stage"
            moves.append(DueMove(closes, NOTICE_CLOSED, state, nxt, None, None, dict(NOTICE_CLEARS)))
            state, last, notice_due = nxt, closes, False
            notice_stage = None
            continue
        if cut is None:
            return moves
        moves.append(DueMove(cut[0], EXPIRE, state, EXPIRED, expire_reason(cut[1], policy), cut[1],
                             dict(EXPIRE_CLEARS)))
        return moves
