"""Benchmark 1 — the cutoff sweep: N cases in employer_review reach hz-recognition-2025h1's employer
cutoff (end of 2025-04-14, seed 001 §二.2) and all expire at once.

- zcflow: `tick(now)` at the cutoff — claims the cases in batches, and per batch writes the state
  change, one history row and one outbox row (`expired`) per case, and marks the cutoff done.
- raw SQL: the same writes as three set-based statements over the whole set in one transaction
  (INSERT … SELECT into history and the outbox, one UPDATE), plus marking the cutoff done.

Runs alternate (raw, zcflow, raw, zcflow …) on freshly loaded copies; each figure is the best run.
"""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import text, update
from sqlalchemy.engine import Engine

from benchmarks.common import (
    EMPLOYER_CUTOFF,
    POLICY,
    Backend,
    CaseSpec,
    Figure,
    Loader,
    Report,
    chinese_name,
    compare,
    engine_for,
    timed,
)
from storage import repo
from workflow.deadlines import ensure_schedule, tick

BENCH = "1 cutoff sweep"
DISTRICTS = ("上城区", "拱墅区", "西湖区", "富阳区", "桐庐县", "淳安县")


def prepare(backend: Backend, n: int) -> tuple[str, int, str]:
    """A database with `n` cases waiting in employer_review, every due time before the employer
    cutoff already applied; returns its URL, the cutoff's event id and the reason text tick writes."""
    url = backend.fresh("cutoff")
    rng = random.Random(11)
    Loader(url).load(CaseSpec(POLICY, "employer_review", DISTRICTS[i % 6],
                              f"{DISTRICTS[i % 6][:2]}示范{i % 37:02d}号科技有限公司", chinese_name(rng), 1, True)
                     for i in range(n))
    db = engine_for(url)
    ensure_schedule(db, [POLICY])
    events = repo.scheduled_events
    with db.begin() as conn:
        conn.execute(update(events).where(events.c.due_at < EMPLOYER_CUTOFF).values(done_at=events.c.due_at))
        event_id = conn.execute(text("SELECT id FROM scheduled_events WHERE policy_id = :p AND name = 'employer'"),
                                {"p": POLICY}).scalar_one()
    from states.policy import get_policy

    cutoff = next(c for c in get_policy(POLICY).cutoffs if c.name == "employer")
    reason = (f"{cutoff.label}（{cutoff.date.isoformat()}）已过 — cutoff {cutoff.name} passed "
              f"({cutoff.source.file} {cutoff.source.section})")
    checkpoint(db)
    db.dispose()
    return url, int(event_id), reason


def checkpoint(db: Engine) -> None:
    if db.dialect.name == "postgresql":
        with db.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("CHECKPOINT")


def run_tick(url: str) -> float:
    db = engine_for(url)
    seconds, report = timed(lambda: tick(db, EMPLOYER_CUTOFF))
    verify(db, sum(report.expired.values()))
    db.dispose()
    return seconds


def run_raw(url: str, event_id: int, reason: str) -> float:
    """The same writes as the sweep, set-based over the whole set, on the bare driver."""
    db = engine_for(url)
    pg = db.dialect.name == "postgresql"
    p = "%s" if pg else "?"
    at = EMPLOYER_CUTOFF.astimezone(dt.UTC)
    at_value = at if pg else at.replace(tzinfo=None).isoformat(" ", "microseconds")
    ended = (f"policy_id = {p} AND (state IN ('employer_review', 'employer_notice') OR "
             "(state = 'returned' AND return_stage IN ('employer_review', 'employer_notice')) OR "
             "(state = 'objection' AND notice_stage IN ('employer_review', 'employer_notice')))")
    context = ("json_build_object('action', 'expire', 'from', state, 'to', 'expired', 'reason', %s::text)::text"
               if pg else "json_object('action', 'expire', 'from', state, 'to', 'expired', 'reason', ?)")
    statements = [
        (f"INSERT INTO history (case_id, seq, at, actor_role, action, from_state, to_state, reason) "
         f"SELECT id, version + 1, {p}, 'system', 'expire', state, 'expired', {p} FROM cases WHERE {ended}",
         (at_value, reason, POLICY)),
        (f"INSERT INTO notifications (case_id, template, channel, recipient_role, recipient, context, status, "
         f"attempts, next_attempt_at, created_at) SELECT id, 'expired', 'sms', 'applicant', name, "
         f"{context}{'::json' if pg else ''}, 'pending', 0, {p}, {p} FROM cases WHERE {ended}",
         (reason, at_value, at_value, POLICY)),
        (f"UPDATE cases SET state = 'expired', version = version + 1, updated_at = {p}, active_key = NULL, "
         f"notice_stage = NULL, notice_opened_at = NULL, notice_closes_at = NULL WHERE {ended}",
         (at_value, POLICY)),
    ]

    def go() -> int:
        raw = db.raw_connection()
        try:
            cur = raw.cursor()
            if not pg:
                cur.execute("BEGIN IMMEDIATE")
            moved = 0
            for sql, params in statements:
                cur.execute(sql, params)
                moved = cur.rowcount
            cur.execute(f"UPDATE scheduled_events SET done_at = {p}, affected = {p} WHERE id = {p}",
                        (at_value, moved, event_id))
            raw.commit()
            return int(moved)
        finally:
            raw.close()

    seconds, moved = timed(go)
    verify(db, moved)
    db.dispose()
    return seconds


def verify(db: Engine, moved: int) -> None:
    with db.connect() as conn:
        counts = [conn.execute(text(q)).scalar_one() for q in (
            "SELECT count(*) FROM cases WHERE state = 'expired'",
            "SELECT count(*) FROM history WHERE action = 'expire'",
            "SELECT count(*) FROM notifications WHERE template = 'expired'",
            "SELECT count(*) FROM scheduled_events WHERE name = 'employer' AND done_at IS NOT NULL")]
    if counts[:3] != [moved] * 3 or counts[3] != 1:
        raise AssertionError(f"the sweep wrote {counts} (cases, history, outbox, cutoff done), expected {moved}")


def run(report: Report, backends: list[Backend]) -> None:
    n = report.size.cutoff
    for b in backends:
        best: dict[str, float] = {}
        for _ in range(report.size.repeats):
            for kind in ("raw", "tick"):
                url, event_id, reason = prepare(b, n)
                seconds = run_raw(url, event_id, reason) if kind == "raw" else run_tick(url)
                best[kind] = min(best.get(kind, seconds), seconds)
                b.drop(url)
        raw = report.add(Figure(BENCH, "raw set-based SQL, one transaction", b.name, n, best["raw"], "s"))
        zc = report.add(Figure(BENCH, "zcflow tick (batched sweep)", b.name, n, best["tick"], "s"))
        compare(zc, raw, higher_is_better=False, limit=1.5, target="≤ 1.5× raw")


