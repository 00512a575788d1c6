"""Benchmark 7 — a calendar import (CONTRACT §10): N open employer notices on the standing scheme
hz-recognition-2022, opened on working days from 2027-02-01 to 2027-03-05 of a MADE-UP 2027 year
(tests/data/calendar/, not the State Council's), plus N/10 cases not in a notice. The provisional year
(make-up Saturday 02-20) is replaced by the official one (make-up Saturday 02-13): every notice whose
five working days span either day closes on another day.

- zcflow: `import_calendar_year` of the official file (what `zcflow calendar import` runs): the year
  row, the token, the recompute (one grouping query, the new closes worked out per group, one
  INSERT … SELECT into the outbox and one UPDATE sent as executemany batches), the reminders, the
  audit row, in one transaction.
- raw SQL: the same writes in one transaction, set-based: the year row and the token, the moves
  (worked out before the clock starts) into a temporary table, one INSERT … SELECT joining it into
  the outbox (`deadline_changed`), one UPDATE … FROM it of the notice closes, the audit row.

Runs alternate (raw, zcflow, …) on freshly loaded copies; each figure is the best run; both variants
are checked to move the same notices, and that count is checked against the two calendars directly.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.engine import Engine

from benchmarks.common import (
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
from states.calendar import LayeredCalendar, end_of_day, parse_year_file
from states.policy import get_policy
from states.vocabulary import Role
from storage.audit import record_audit
from storage.calendar_years import lock_for_import, new_token, store_year
from storage.tables import OPEN_NOTICE_SQL, AwareDateTime
from workflow.calendar_import import import_calendar_year
from workflow.clock import SHANGHAI
from workflow.notify import CHANNEL_FOR

BENCH = "7 calendar import"
POLICY = "hz-recognition-2022"
STAGE = "employer_notice"
DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "calendar"
OFFICIAL = DATA / "made-up-2027.yaml"
PROVISIONAL = DATA / "made-up-2027-provisional.yaml"
AT = dt.datetime(2027, 2, 10, 10, 0, tzinfo=SHANGHAI)
ACTOR = "基准测试"
DISTRICTS = ("上城区", "拱墅区", "西湖区", "富阳区", "桐庐县", "淳安县")


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def opening_days() -> list[dt.date]:
    cal = LayeredCalendar([parse_year_file(_read(PROVISIONAL), PROVISIONAL.name)])
    days = [dt.date(2027, 2, 1) + dt.timedelta(days=i) for i in range(33)]
    return [d for d in days if cal.is_working_day(d)]


def closes(path: Path) -> dict[dt.date, dt.datetime]:
    """The close of a notice opened on each day, on the calendar of `path`."""
    cal = LayeredCalendar([parse_year_file(_read(path), path.name)])
    working_days = get_policy(POLICY).notices[STAGE].working_days
    return {d: end_of_day(cal.next_working_days(d, working_days)) for d in opening_days()}


def prepare(backend: Backend, n: int) -> str:
    """N open notices counted on the provisional year (imported first), N/10 cases in employer review."""
    url = backend.fresh("calendar")
    db = engine_for(url)
    import_calendar_year(db, _read(PROVISIONAL), name=PROVISIONAL.name, at=dt.datetime(2027, 1, 20, tzinfo=SHANGHAI),
                         actor=ACTOR)
    db.dispose()
    days = opening_days()
    close = closes(PROVISIONAL)
    rng = random.Random(7)
    specs = []
    for i in range(n + n // 10):
        district = DISTRICTS[i % 6]
        employer = f"{district[:2]}示范{i % 37:02d}号科技有限公司"
        if i >= n:
            specs.append(CaseSpec(POLICY, "employer_review", district, employer, chinese_name(rng), 1, True))
            continue
        day = days[i % len(days)]
        opened = dt.datetime(day.year, day.month, day.day, 10, tzinfo=SHANGHAI)
        specs.append(CaseSpec(POLICY, STAGE, district, employer, chinese_name(rng), 2, True, notice_stage=STAGE,
                              notice_opened_at=opened, notice_closes_at=close[day]))
    Loader(url).load(specs)
    return url


def expected_moves(n: int) -> int:
    """Counted on the two calendars directly, not by either variant."""
    before, after = closes(PROVISIONAL), closes(OFFICIAL)
    days = opening_days()
    return sum(1 for i in range(n) if before[days[i % len(days)]] != after[days[i % len(days)]])


def run_zcflow(url: str) -> float:
    db = engine_for(url)
    content = _read(OFFICIAL)
    try:
        seconds, report = timed(lambda: import_calendar_year(db, content, name=OFFICIAL.name, at=AT, actor=ACTOR))
        verify(db, report.recomputed.notices_moved)
    finally:
        db.dispose()
    return seconds


def run_raw(url: str) -> float:
    db = engine_for(url)
    content = _read(OFFICIAL)
    year = parse_year_file(content, OFFICIAL.name)
    before, after = closes(PROVISIONAL), closes(OFFICIAL)
    moves: list[dict[str, Any]] = []
    for day in opening_days():
        if before[day] == after[day]:
            continue
        start = dt.datetime(day.year, day.month, day.day, tzinfo=SHANGHAI)
        moves.append({"o_from": start, "o_to": start + dt.timedelta(days=1), "old_c": before[day],
                      "new_c": after[day], "ctx": json.dumps({
                          "kind": "notice_close", "stage": STAGE, "year": year.year,
                          "old_closes_at": before[day].isoformat(), "new_closes_at": after[day].isoformat(),
                          "last_day": (after[day] - dt.timedelta(days=1)).date().isoformat(),
                          "provisional": False})})
    pg = db.dialect.name == "postgresql"
    stamp = "timestamptz" if pg else "TEXT"
    aware = AwareDateTime()
    match = (f"{OPEN_NOTICE_SQL} AND cases.policy_id = :p AND cases.notice_stage = :s "
             "AND cases.notice_closes_at = m.old_c AND cases.notice_opened_at >= m.o_from "
             "AND cases.notice_opened_at < m.o_to")

    def go() -> int:
        with db.connect() as conn, conn.begin():
            lock_for_import(conn)
            store_year(conn, year, content=content, at=AT, actor=ACTOR, reason=None)
            new_token(conn)
            conn.execute(text(f"CREATE TEMP TABLE m (o_from {stamp}, o_to {stamp}, old_c {stamp}, new_c {stamp}, "
                              f"ctx TEXT){' ON COMMIT DROP' if pg else ''}"))
            conn.execute(text("INSERT INTO m VALUES (:o_from, :o_to, :old_c, :new_c, :ctx)").bindparams(
                *(bindparam(k, type_=aware) for k in ("o_from", "o_to", "old_c", "new_c"))), moves)
            sent = conn.execute(text(
                "INSERT INTO notifications (case_id, template, channel, recipient_role, recipient, context, "
                "status, attempts, next_attempt_at, created_at) SELECT cases.id, 'deadline_changed', :channel, "
                f"'applicant', cases.name, {'CAST(m.ctx AS json)' if pg else 'm.ctx'}, 'pending', 0, :at, :at "
                f"FROM cases JOIN m ON {match}").bindparams(bindparam("at", type_=aware)),
                {"channel": CHANNEL_FOR[Role.applicant], "at": AT, "p": POLICY, "s": STAGE}).rowcount
            conn.execute(text(f"UPDATE cases SET notice_closes_at = m.new_c FROM m WHERE {match}"),
                         {"p": POLICY, "s": STAGE})
            if not pg:
                conn.execute(text("DROP TABLE m"))
            record_audit(conn, at=AT, actor=ACTOR, action="calendar_import", subject=str(year.year),
                         detail={"year": year.year, "status": year.status, "notices_moved": int(sent)})
            return int(sent)

    try:
        seconds, sent = timed(go)
        verify(db, sent)
    finally:
        db.dispose()
    return seconds


def verify(db: Engine, moved: int) -> None:
    """Both variants leave the same effect: every notice whose close moved got one `deadline_changed`
    message and its new close (the closes now match the official year), and the year is official."""
    after = closes(OFFICIAL)
    with db.connect() as conn:
        sent = int(conn.execute(text("SELECT count(*) FROM notifications WHERE template = 'deadline_changed'"))
                   .scalar_one())
        rows = conn.execute(text("SELECT notice_opened_at, notice_closes_at, count(*) AS n FROM cases "
                                 "WHERE notice_stage = :s GROUP BY notice_opened_at, notice_closes_at")
                            .columns(notice_opened_at=AwareDateTime(), notice_closes_at=AwareDateTime()),
                            {"s": STAGE}).all()
        status = conn.execute(text("SELECT status FROM calendar_years WHERE year = 2027")).scalar_one()
    n = sum(int(r.n) for r in rows)
    wrong = [r for r in rows if after[r.notice_opened_at.astimezone(SHANGHAI).date()] != r.notice_closes_at]
    want = expected_moves(n)
    if sent != want or moved != want or wrong or status != "official":
        raise AssertionError(f"the calendar import moved {moved} notices and wrote {sent} messages, expected {want}; "
                             f"{len(wrong)} group(s) not on the official close; year {status}")


def run(report: Report, backends: list[Backend]) -> None:
    n = report.size.calendar
    for b in backends:
        best = best_alternating(report.size.repeats, partial(prepare, b, n), b.drop,
                                {"raw": run_raw, "zcflow": run_zcflow})
        raw = report.add(Figure(BENCH, "raw set-based SQL, one transaction", b.name, n, best["raw"], "s"))
        zc = report.add(Figure(BENCH, "zcflow calendar import (provisional → official)", b.name, n,
                               best["zcflow"], "s"))
        compare(zc, raw, higher_is_better=False, limit=2.0, target="≤ 2× raw")
