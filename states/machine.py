"""Compile a policy into ONE shared `transitions` machine.

The machine is built with ``model=None`` and never holds cases: a case is presented to it as a
:class:`CaseToken` (its state and the little context that guards read), the event is triggered on
the token, and the engine writes the resulting state back to the row. ``transitions`` stays the
single source of truth for the graph (and its diagram); :attr:`PolicyMachine.table` is the same
graph flattened once, for listing what is allowed without triggering anything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from transitions import Machine, MachineError

from states.policy import Policy
from states.vocabulary import (
    ALL_STATES,
    ANY_STAGE_ACTORS,
    APPLICANT_ACTIONS,
    ENDED_STATES,
    EXPIRED,
    NOT_PASSED,
    NOTICE_OFFICE,
    OBJECTION,
    REJECTED,
    RETURNED,
    REVOKED,
    STAGE_KINDS,
    WITHDRAWN,
    Role,
)


@dataclass
class CaseToken:
    """What the machine sees of a case: its state and the facts its guards read."""

    state: str
    return_stage: str | None = None  # the stage that returned the case (state `returned`)
    notice_stage: str | None = None  # the notice an objection suspends (state `objection`)
    notice_open: bool = True  # whether that notice's original close is still ahead


@dataclass(frozen=True)
class Move:
    source: str
    action: str
    dest: str
    guard: str | None = None  # a readable name of the condition, for listings and diagrams


class IllegalMove(Exception):
    """The action is not possible from the token's state (or no guard held)."""


@dataclass
class PolicyMachine:
    policy: Policy
    machine: Machine
    moves: tuple[Move, ...]
    table: dict[tuple[str, str], tuple[Move, ...]] = field(default_factory=dict)

    @property
    def states(self) -> tuple[str, ...]:
        used = set(self.policy.stages) | {m.dest for m in self.moves} | {m.source for m in self.moves}
        return tuple(s for s in ALL_STATES if s in used)

    def actions_from(self, state: str) -> list[str]:
        return sorted({action for (src, action) in self.table if src == state})

    def roles_for(self, token: CaseToken, action: str, *, level: str | None = None) -> tuple[Role, ...]:
        """Who may take `action` on a case in `token.state`. Nobody unless named (deny by default).
        Where the applicant may act, a platform may act for it (CONTRACT §11), and nowhere else."""
        roles = self._roles_for(token, action, level=level)
        if Role.applicant in roles and action in APPLICANT_ACTIONS:
            return (*roles, Role.platform)
        return roles

    def _roles_for(self, token: CaseToken, action: str, *, level: str | None = None) -> tuple[Role, ...]:
        state = token.state
        if action in ANY_STAGE_ACTORS:
            return ANY_STAGE_ACTORS[action]
        if action in ("dismiss_objection", "uphold_objection"):
            return (NOTICE_OFFICE[token.notice_stage],) if token.notice_stage else ()
        if action == "notice_closed":
            return (Role.system,)
        if action == "issue_certificate":
            rule = self.policy.levels.get(level) if level else None  # type: ignore[call-overload]
            return (Role(rule.issued_by),) if rule else ()
        kind = STAGE_KINDS.get(state)
        if kind and action in (kind.advance, kind.ret, kind.reject, kind.fail):
            return kind.actors
        return ()

    def apply(self, token: CaseToken, action: str) -> str:
        """Trigger `action` on the token through the shared machine; return the new state."""
        event = self.machine.events.get(action)
        if event is None:
            raise IllegalMove(action)
        try:
            moved = event.trigger(token)
        except MachineError as exc:
            raise IllegalMove(action) from exc
        if not moved:
            raise IllegalMove(action)
        return token.state


def _guard(name: str, test: Callable[[CaseToken], bool]) -> Callable[[Any], bool]:
    def check(event: Any) -> bool:
        return test(event.model)

    check.__name__ = name
    return check


def compile_policy(policy: Policy) -> PolicyMachine:
    stages = policy.stages
    moves: list[Move] = []
    spec: list[dict[str, Any]] = []

    def add(action: str, source: str, dest: str, guard: str | None = None,
            test: Callable[[CaseToken], bool] | None = None) -> None:
        moves.append(Move(source, action, dest, guard))
        entry: dict[str, Any] = {"trigger": action, "source": source, "dest": dest}
        if test is not None:
            entry["conditions"] = [_guard(guard or action, test)]
        spec.append(entry)

    for i, stage in enumerate(stages[:-1]):
        kind = STAGE_KINDS[stage]
        nxt = stages[i + 1]
        assert kind.advance is not None
        add(kind.advance, stage, nxt)
        if kind.ret:
            add(kind.ret, stage, RETURNED)
            add("resubmit", RETURNED, stage, f"returned by {stage}",
                lambda t, s=stage: t.return_stage == s)  # type: ignore[misc]
        if kind.reject:
            add(kind.reject, stage, REJECTED)
        if kind.fail:
            add(kind.fail, stage, NOT_PASSED)
        if kind.is_notice:
            add("object", stage, OBJECTION)
            add("dismiss_objection", OBJECTION, stage, f"{stage} still open",
                lambda t, s=stage: t.notice_stage == s and t.notice_open)  # type: ignore[misc]
            add("dismiss_objection", OBJECTION, nxt, f"{stage} already closed",
                lambda t, s=stage: t.notice_stage == s and not t.notice_open)  # type: ignore[misc]
            # Only one uphold move per policy: any objection upheld rejects the case.
            if not any(m.action == "uphold_objection" for m in moves):
                add("uphold_objection", OBJECTION, REJECTED)

    used = [s for s in ALL_STATES if s in set(stages) | {m.dest for m in moves}]
    open_states = [s for s in used if s not in ENDED_STATES]
    for source in open_states:
        add("withdraw", source, WITHDRAWN)
    if policy.cutoffs:
        ended_by_cutoff = sorted({s for c in policy.cutoffs for s in c.ends}, key=stages.index)
        for source in ended_by_cutoff:
            add("expire", source, EXPIRED)
        if RETURNED in used:
            add("expire", RETURNED, EXPIRED)
        if OBJECTION in used:
            add("expire", OBJECTION, EXPIRED)
    # Revoke from every state the graph has, ended ones included (CONTRACT §3: "any state, also
    # after certification").
    for source in [s for s in ALL_STATES if s in {m.source for m in moves} | {m.dest for m in moves}]:
        if source != REVOKED:
            add("revoke", source, REVOKED)

    all_states = [s for s in ALL_STATES if s in {m.source for m in moves} | {m.dest for m in moves}]
    machine = Machine(
        model=None,
        states=all_states,
        transitions=spec,
        initial="draft",
        auto_transitions=False,
        send_event=True,
        ignore_invalid_triggers=False,
    )
    table: dict[tuple[str, str], tuple[Move, ...]] = {}
    for move in moves:
        table[(move.source, move.action)] = (*table.get((move.source, move.action), ()), move)
    return PolicyMachine(policy=policy, machine=machine, moves=tuple(moves), table=table)


_MACHINES: dict[tuple[str, int, str], PolicyMachine] = {}


def machine_for(policy: Policy) -> PolicyMachine:
    """The one shared machine of a policy version (built once per process)."""
    key = policy.cache_key
    if key not in _MACHINES:
        _MACHINES[key] = compile_policy(policy)
    return _MACHINES[key]


def mermaid_diagram(policy: Policy) -> str:
    """A mermaid state diagram of the policy's machine (no graphviz needed)."""
    from transitions.extensions import GraphMachine

    pm = machine_for(policy)
    spec = [{"trigger": m.action, "source": m.source, "dest": m.dest} for m in pm.moves]
    graph = GraphMachine(
        states=list(pm.states), transitions=spec, initial="draft",
        auto_transitions=False, graph_engine="mermaid", title=policy.id,
    )
    return str(graph.get_graph().draw(None))


ENDED_WITHOUT_TITLE: tuple[str, ...] = ("rejected", "not_passed", "withdrawn", "expired", "revoked")


def _q(text: str) -> str:
    return text.replace('"', "'").replace(":", "：")


def mermaid_views(policy: Policy) -> tuple[str, str]:
    """(main path, full graph) as Chinese mermaid state diagrams, read left to right.

    The main path is the happy path of CONTRACT §2 with its actions; a return is one back-edge into
    退回修改 per returning stage and one edge back (a resubmission goes to the stage that returned
    the case); an objection hangs off the notices the same way; the ways a case ends without a title
    are grouped in one box instead of an edge from every stage. The full graph is every move of the
    policy's machine, with the ended states grouped in the same box."""
    from states.labels import ACTION_LABELS, RECOGNITION_ASSESSMENT_LABEL, STATE_LABELS

    pm = machine_for(policy)

    def name(state: str) -> str:
        if state == "assessment" and policy.track == "recognition":
            return RECOGNITION_ASSESSMENT_LABEL
        return STATE_LABELS.get(state, state)

    def act(action: str) -> str:
        return _q(ACTION_LABELS.get(action, action))

    used = set(pm.states)
    ended = [s for s in ENDED_WITHOUT_TITLE if s in used]
    head = ["stateDiagram-v2", "  direction LR"]
    box = ['  state "办结（未取得职称）" as ended {', *[f'    state "{_q(name(s))}" as {s}' for s in ended], "  }"]

    main = [*head, "  [*] --> draft"]
    main += [f'  state "{_q(name(s))}" as {s}' for s in policy.stages]
    for a, b in zip(policy.stages, policy.stages[1:], strict=False):
        forward = next((m.action for m in pm.moves if m.source == a and m.dest == b), None)
        main.append(f"  {a} --> {b}" + (f": {act(forward)}" if forward else ""))
    main.append("  certified --> [*]")
    returning = [s for s in policy.stages if any(m.source == s and m.dest == "returned" for m in pm.moves)]
    if returning:
        main.append(f'  state "{_q(name("returned"))}" as returned')
        main += [f"  {s} --> returned: 退回" for s in returning]
        main.append(f"  returned --> {returning[0]}: {act('resubmit')}（回到退回的环节）")
    noticed = [s for s in policy.stages if any(m.source == s and m.dest == "objection" for m in pm.moves)]
    if noticed:
        main.append(f'  state "{_q(name("objection"))}" as objection')
        main += [f"  {s} --> objection: 异议" for s in noticed]
        main.append(f"  objection --> {noticed[0]}: {act('dismiss_objection')}（恢复公示）")
    main += box
    main.append("  note right of ended: 各环节均可能因不通过、撤回、逾期或撤销而办结")

    full = [*head, "  [*] --> draft"]
    full += [f'  state "{_q(name(s))}" as {s}' for s in pm.states if s not in ended]
    full += box
    edges: dict[tuple[str, str], list[str]] = {}
    for m in pm.moves:
        src = "ended" if m.source in ended else m.source
        dst = "ended" if m.dest in ended else m.dest
        names = edges.setdefault((src, dst), [])
        if act(m.action) not in names:
            names.append(act(m.action))
    full += [f"  {src} --> {dst}: {'、'.join(names)}" for (src, dst), names in edges.items()
             if not src == dst == "ended"]
    full.append("  certified --> [*]")
    return "\n".join(main), "\n".join(full)
