"""Benchmark 6 — an amendment (延期, CONTRACT §9): hz-recognition-2025h1's employer cutoff (end of
2025-04-14, seed 001 §二.2) is extended by a week, on 2025-04-10, over N in-flight cases (plus N/10
ended ones the amendment must leave alone).

- zcflow: `import_policy` of the amended file (what `zcflow policy import --document …` runs): the
  impact, the due-time update, one `amend` history row and a version bump per case not ended, the
  `amended` outbox rows (applicant and employer) for the cases whose deadline moved, the version row
  and the audit row, in one transaction.
- raw SQL: the same writes in one transaction, set-based: the due-time UPDATEs (the cutoff and the
  reminders that follow it), one INSERT … SELECT into history, two into the outbox, one UPDATE of
  cases, plus the version row and the audit row. Which stages' deadlines move, the changed due
  times and the reason text are worked out before the clock starts (the raw side gets the answers).

Runs alternate (raw, zcflow, …) on freshly loaded copies; each figure is the best run; both variants
are checked to leave the same counts.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
from functools import partial
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.engine import Engine

from benchmarks.common import (
    POLICY,
    Backend,
    CaseSpec,
    Figure,
    Loader,
    Report,
    best_alternating,
    chinese_name,
    compare,
    engine_for,
    timed,
)
from states.policy import POLICY_DIR, Policy, get_policy, parse_policy
from states.vocabulary import ENDED_STATES, Role
from storage import policy_store
from storage.audit import record_audit
from storage.tables import AwareDateTime
from workflow.amendments import import_policy
from workflow.clock import SHANGHAI
from workflow.deadlines import ensure_schedule, round_events
from workflow.notify import CHANNEL_FOR
from workflow.policy_files import bundled_text, starting_file
from workflow.policy_registry import unbind

BENCH = "6 amendment"
DOCUMENT = "杭经信职改〔2025〕7号"  # made up for the benchmark
ACTOR = "市经信局（基准测试）"
AT = dt.datetime(2025, 4, 10, 10, 0, tzinfo=SHANGHAI)
NEW_EMPLOYER = "2025-04-21"
DISTRICTS = ("上城区", "拱墅区", "西湖区", "富阳区", "桐庐县", "淳安县")
ENDED = sorted(ENDED_STATES)


def amended_text() -> str:
    """The bundled hz-recognition-2025h1 (catalogue inline, as `zcflow policy export` gives it) with the
    employer cutoff a week later."""
    source = bundled_text(POLICY)
    assert source is not None
    out, n = re.subn(r"(- name: employer\n(?:    .*\n)*?    date: )\S+", rf"\g<1>{NEW_EMPLOYER}",
                     starting_file(source, POLICY, POLICY, POLICY_DIR))
    assert n == 1
    return out


def specs(n: int) -> list[CaseSpec]:
    """N in-flight cases (60 % employer review, 20 % in the employer notice, 20 % in management
    review, whose cutoff does not move) and N/10 ended ones."""
    rng = random.Random(6)
    closes = dt.datetime(2025, 4, 15, 0, 0, tzinfo=SHANGHAI)
    out = []
    for i in range(n + n // 10):
        district = DISTRICTS[i % 6]
        employer = f"{district[:2]}示范{i % 37:02d}号科技有限公司"
        k = i % 10
        if i >= n:
            out.append(CaseSpec(POLICY, "withdrawn", district, employer, chinese_name(rng), 2, False))
        elif k < 6:
            out.append(CaseSpec(POLICY, "employer_review", district, employer, chinese_name(rng), 1, True))
        elif k < 8:
            out.append(CaseSpec(POLICY, "employer_notice", district, employer, chinese_name(rng), 2, True,
                                notice_stage="employer_notice", notice_closes_at=closes))
        else:
            out.append(CaseSpec(POLICY, "management_review", district, employer, chinese_name(rng), 3, True))
    return out


def prepare(backend: Backend, n: int) -> str:
    url = backend.fresh("amend")
    Loader(url).load(specs(n))
    db = engine_for(url)
    ensure_schedule(db, [POLICY])
    db.dispose()
    return url


def run_zcflow(url: str, n: int) -> float:
    db = engine_for(url)
    content = amended_text()
    try:
        seconds, impact = timed(lambda: import_policy(db, content, f"{POLICY}.yaml", actor_role="city",
                                                      actor_id=ACTOR, at=AT, document=DOCUMENT,
                                                      reason="系统维护延期"))
        assert impact.kind == "amendment" and impact.amended == n, impact
        verify(db, n, impact.notified)
    finally:
        unbind(db)  # the process's registry goes back to the bundled policies
        db.dispose()
    return seconds


def _plan(old: Policy, new: Policy, stored: dict[tuple[str, str], Any]) -> dict[str, Any]:
    """What the raw side is handed: the stages whose deadline moves, the changed due times, the texts."""
    def cutoff_day(policy: Policy, stage: str) -> dt.date | None:
        found = policy.cutoff_ending(stage)
        return found.date if found is not None else None

    moved = [s for s in old.stages if s not in ENDED_STATES and cutoff_day(old, s) != cutoff_day(new, s)]
    changes = [{"name": c.name, "label": c.label, "old": o.date.isoformat(), "new": c.date.isoformat()}
               for c in new.cutoffs for o in old.cutoffs if o.name == c.name and o.date != c.date]
    due = [{"k": r["kind"], "n": r["name"], "due": r["due_at"], "payload": json.dumps(r["payload"])}
           for r in round_events(new) if stored.get((r["kind"], r["name"])) != r["due_at"]]
    return {"moved": moved, "due": due,
            "ctx": json.dumps({"action": "amend", "document": DOCUMENT, "version": new.version, "changes": changes},
                              ensure_ascii=False),
            "reason": f"{DOCUMENT}：{new.name}第{new.version}版（系统维护延期）"}


def run_raw(url: str, n: int) -> float:
    db = engine_for(url)
    content = amended_text()
    old = get_policy(POLICY)
    new = parse_policy(content, f"{POLICY}.yaml").model_copy(update={"version": old.version + 1})
    with db.connect() as conn:
        stored = {(r.kind, r.name): r.due_at for r in conn.execute(text(
            "SELECT kind, name, due_at FROM scheduled_events WHERE policy_id = :p").columns(
            due_at=AwareDateTime()), {"p": POLICY})}
    plan = _plan(old, new, stored)
    pg = db.dialect.name == "postgresql"
    json_ = "CAST(:ctx AS json)" if pg else ":ctx"
    ended = ", ".join(f"'{s}'" for s in ENDED)
    open_cases = f"policy_id = :p AND state NOT IN ({ended})"
    moved = ", ".join(f"'{s}'" for s in plan["moved"])
    eff = ("CASE WHEN state = 'returned' THEN return_stage WHEN state = 'objection' THEN notice_stage "
           "ELSE state END")
    at = bindparam("at", type_=AwareDateTime())

    def go() -> int:
        with db.connect() as conn, conn.begin():
            if pg:
                conn.execute(text("SELECT id FROM scheduled_events WHERE policy_id = :p FOR UPDATE"), {"p": POLICY})
            if plan["due"]:
                conn.execute(text(f"UPDATE scheduled_events SET due_at = :due, payload = "
                                  f"{'CAST(:payload AS json)' if pg else ':payload'} "
                                  "WHERE policy_id = :p AND kind = :k AND name = :n").bindparams(
                    bindparam("due", type_=AwareDateTime())), [{**d, "p": POLICY} for d in plan["due"]])
            conn.execute(text(
                "INSERT INTO history (case_id, seq, at, actor_role, actor_id, action, from_state, to_state, reason) "
                f"SELECT id, version + 1, :at, 'city', :actor, 'amend', state, state, :reason FROM cases "
                f"WHERE {open_cases}").bindparams(at),
                {"at": AT, "actor": ACTOR, "reason": plan["reason"], "p": POLICY})
            sent = 0
            for role, recipient in ((Role.applicant, "name"), (Role.employer, "employer")):
                result = conn.execute(text(
                    "INSERT INTO notifications (case_id, template, channel, recipient_role, recipient, context, "
                    f"status, attempts, next_attempt_at, created_at) SELECT id, 'amended', :channel, :role, "
                    f"{recipient}, {json_}, 'pending', 0, :at, :at FROM cases "
                    f"WHERE {open_cases} AND {eff} IN ({moved})").bindparams(at),
                    {"channel": CHANNEL_FOR[role], "role": role.value, "ctx": plan["ctx"], "at": AT, "p": POLICY})
                sent += int(result.rowcount)
            conn.execute(text(f"UPDATE cases SET policy_version = :v, version = version + 1, updated_at = :at "
                              f"WHERE {open_cases}").bindparams(at), {"v": new.version, "at": AT, "p": POLICY})
            policy_store.insert_version(conn, policy_id=POLICY, version=new.version, text=content, document=DOCUMENT,
                                        reason="系统维护延期", actor=ACTOR, kind="amendment", effective_at=AT,
                                        impact={"amended": n})
            record_audit(conn, at=AT, actor=ACTOR, action="policy_amend", subject=POLICY,
                         detail={"version": new.version, "document": DOCUMENT, "amended": n})
            return sent

    try:
        seconds, sent = timed(go)
        verify(db, n, sent)
    finally:
        db.dispose()
    return seconds


def verify(db: Engine, n: int, notified: int) -> None:
    """Both variants leave the same effect: N cases on version 2, N `amend` rows, two `amended`
    messages per case whose deadline moved (80 % of them), the cutoff a week later, ended cases untouched."""
    with db.connect() as conn:
        counts = [int(conn.execute(text(q), {"p": POLICY}).scalar_one()) for q in (
            "SELECT count(*) FROM cases WHERE policy_version = 2",
            "SELECT count(*) FROM history WHERE action = 'amend'",
            "SELECT count(*) FROM notifications WHERE template = 'amended'",
            "SELECT count(*) FROM cases WHERE state = 'withdrawn' AND version = 2 AND policy_version = 1",
            "SELECT count(*) FROM policy_versions WHERE policy_id = :p AND version = 2")]
        due = conn.execute(text("SELECT due_at FROM scheduled_events WHERE policy_id = :p AND kind = 'cutoff' "
                                "AND name = 'employer'").columns(due_at=AwareDateTime()), {"p": POLICY}).scalar_one()
    moving = sum(1 for i in range(n) if i % 10 < 8)
    want = [n, n, 2 * moving, n // 10, 1]
    if counts != want or notified != 2 * moving or due != dt.datetime(2025, 4, 22, tzinfo=SHANGHAI):
        raise AssertionError(f"the amendment wrote {counts} (version 2, amend rows, outbox, ended untouched, "
                             f"version row), {notified} notified, employer cutoff {due}; expected {want}")


def run(report: Report, backends: list[Backend]) -> None:
    n = report.size.amendment
    for b in backends:
        best = best_alternating(report.size.repeats, partial(prepare, b, n), b.drop,
                                {"raw": lambda url: run_raw(url, n), "zcflow": lambda url: run_zcflow(url, n)})
        raw = report.add(Figure(BENCH, "raw set-based SQL, one transaction", b.name, n, best["raw"], "s"))
        zc = report.add(Figure(BENCH, "zcflow policy import (延期 a week)", b.name, n, best["zcflow"], "s"))
        compare(zc, raw, higher_is_better=False, limit=2.0, target="≤ 2× raw")
