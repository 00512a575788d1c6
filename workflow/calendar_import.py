"""Importing a calendar year (CONTRACT §10), and recomputing what depends on it.

`import_calendar_year` checks the file, stores the year, recomputes every pending notice close and
round reminder on the new calendar, writes a `deadline_changed` message for each case whose close
moved and an audit row — all in one transaction — and only then hands the new years to this
process's calendar (other processes see the new token at their next check).

The recompute is set-based: one query groups the open notices by (policy, stage, day opened, stored
close) — a close depends on nothing else — the new close is worked out once per group, and each
changed group moves with one INSERT … SELECT into the outbox and one UPDATE, sent as two
executemany batches whatever the number of cases.

A notice whose recomputed close is already past stays open until the next tick, which closes it at
its recomputed instant (history records that instant). A notice already closed is not reopened: the
case has moved on, and nothing here touches it.
"""

from __future__ import annotations

import calendar as monthly
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import JSON, and_, bindparam, func, insert, literal, or_, select, text, update
from sqlalchemy.engine import Connection, Engine

from states.calendar import (
    CalendarYear,
    LayeredCalendar,
    OverlayCalendar,
    UnknownYearError,
    WorkingDayCalendar,
    end_of_day,
    package_year,
    parse_year_file,
    product_calendar,
)
from states.policy import Policy, get_policy, policies
from states.vocabulary import OBJECTION, Role
from storage import repo
from storage.audit import record_audit
from storage.calendar_years import load_years, lock_for_import, new_token, store_year, year_record
from storage.tables import OPEN_NOTICE_SQL, AwareDateTime
from workflow.clock import SHANGHAI, require_aware
from workflow.notify import CHANNEL_FOR

cases, notifications, events = repo.cases, repo.notifications, repo.scheduled_events

__all__ = ["CalendarImportRefused", "ImportReport", "import_calendar_year", "recompute_deadlines"]


class CalendarImportRefused(ValueError):
    """The file is valid but may not be stored as it is (exit 2, naming what to do); `zh` says the same
    in Chinese for the web page."""

    def __init__(self, message: str, zh: str) -> None:
        super().__init__(message)
        self.zh = zh


@dataclass
class Recomputed:
    notices_moved: int = 0
    cases_notified: int = 0
    reminders_moved: int = 0
    reminders_added: int = 0

    @property
    def deadlines_moved(self) -> int:
        return self.notices_moved + self.reminders_moved


@dataclass
class ImportReport:
    year: int
    status: str
    source: str
    replaced: str | None  # "package", "official", "provisional" or None for a new year
    identical: bool  # the same days as what it replaces (nothing can move)
    recomputed: Recomputed

    def to_json(self) -> dict[str, Any]:
        return {"year": self.year, "status": self.status, "source": self.source, "replaced": self.replaced,
                "identical": self.identical, **asdict(self.recomputed),
                "deadlines_moved": self.recomputed.deadlines_moved}


def _differences(a: CalendarYear, b: CalendarYear, limit: int = 6) -> str:
    diff = sorted(a.working_days() ^ b.working_days())
    shown = ", ".join(d.isoformat() for d in diff[:limit]) + (" …" if len(diff) > limit else "")
    return f"{len(diff)} day(s) differ: {shown}"


def _differences_zh(a: CalendarYear, b: CalendarYear, limit: int = 6) -> str:
    diff = sorted(a.working_days() ^ b.working_days())
    shown = "、".join(d.isoformat() for d in diff[:limit]) + ("等" if len(diff) > limit else "")
    return f"{len(diff)} 天不同：{shown}"


def _year_line(text: str) -> int:
    for i, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("year:"):
            return i
    return 1


def import_calendar_year(db: Engine, content: str, *, name: str, at: dt.datetime, actor: str,
                         override: bool = False, reason: str | None = None) -> ImportReport:
    """Check, store and apply one year's schedule. `CalendarFileError` / `CalendarImportRefused`
    (both ValueErrors: exit 2) leave the database as it was."""
    require_aware(at, "at")
    year = parse_year_file(content, name)
    reason = reason.strip() if reason else None
    if override and not reason:
        raise CalendarImportRefused("--reason: --override needs a reason (who decided, which document)",
                                    "勾选「替换已有的不同安排」须填写原因（谁决定的、依据哪份文件）")
    if reason and (len(reason) > 2000 or "\x00" in reason):
        raise CalendarImportRefused("--reason: at most 2000 characters, no NUL", "理由最多 2000 个字，且不能含控制字符")
    where = f"{name}, line {_year_line(content)}"
    package = package_year(year.year)
    if package is not None and package.working_days() != year.working_days() and not override:
        raise CalendarImportRefused(
            f"{where}: chinesecalendar already knows {year.year} and this file differs from it "
            f"({_differences(package, year)}); to replace it anyway give --override --reason TEXT",
            f"第 {_year_line(content)} 行：系统已内置 {year.year} 年的国务院安排，本文件与之不同"
            f"（{_differences_zh(package, year)}）；确需替换，请勾选「替换已有的不同安排」并填写原因")
    with db.begin() as conn:
        lock_for_import(conn)
        previous = year_record(conn, year.year)
        before = CalendarYear.from_data(previous.days) if previous is not None else package
        if (previous is not None and previous.status == "official" and before is not None
                and before.working_days() != year.working_days() and not override):
            raise CalendarImportRefused(
                f"{where}: an official schedule for {year.year} is already imported ({previous.source}) and this "
                f"file differs from it ({_differences(before, year)}); to replace it give --override --reason TEXT",
                f"第 {_year_line(content)} 行：{year.year} 年已导入正式安排（{previous.source}），本文件与之不同"
                f"（{_differences_zh(before, year)}）；确需替换，请勾选「替换已有的不同安排」并填写原因")
        others = [y for y in load_years(conn) if y.year != year.year]
        store_year(conn, year, content=content, at=at, actor=actor, reason=reason)
        token = new_token(conn)
        candidate = LayeredCalendar([*others, year], token=token)
        done = recompute_deadlines(conn, lambda p: _with_overrides(candidate, p), at, year=year.year,
                                   provisional=candidate.provisional_years())
        replaced = "package" if previous is None and package is not None else (
            str(previous.status) if previous is not None else None)
        identical = before is not None and before.working_days() == year.working_days()
        record_audit(conn, at=at, actor=actor, action="calendar_import", subject=str(year.year), detail={
            "year": year.year, "status": year.status, "source": year.source, "replaced": replaced,
            "previous_source": (previous.source if previous is not None else
                                (package.source if package is not None else None)),
            "identical": identical, "override": override, "reason": reason, "file": name[:200],
            **asdict(done), "deadlines_moved": done.deadlines_moved})
    product_calendar().install([*others, year], token)
    return ImportReport(year=year.year, status=year.status, source=year.source, replaced=replaced,
                        identical=identical, recomputed=done)


def _with_overrides(cal: LayeredCalendar, policy: Policy) -> WorkingDayCalendar:
    return OverlayCalendar(cal, policy.calendar_overrides) if policy.calendar_overrides else cal


def _local_day(conn: Connection, column: Any) -> Any:
    # Asia/Shanghai has kept UTC+8 all year since 1991; SQLite stores the UTC time as text.
    if conn.dialect.name == "postgresql":
        return func.date(func.timezone("Asia/Shanghai", column))
    return func.date(column, "+8 hours")


def _pending_notice() -> Any:
    """A case whose notice close is still to come: in a notice, or in an objection suspending one
    (a dismissal resumes it until that close)."""
    return or_(text(OPEN_NOTICE_SQL), and_(cases.c.state == OBJECTION, cases.c.notice_closes_at.isnot(None)))


def recompute_deadlines(conn: Connection, calendar_of: Callable[[Policy], WorkingDayCalendar], at: dt.datetime,
                        *, year: int, provisional: frozenset[int] = frozenset()) -> Recomputed:
    """Move every pending notice close and round reminder to where `calendar_of` puts it, inside
    the caller's transaction; cases whose close moved get `deadline_changed`."""
    done = Recomputed()
    day = _local_day(conn, cases.c.notice_opened_at).label("opened_day")
    groups = conn.execute(
        select(cases.c.policy_id, cases.c.policy_version, cases.c.notice_stage, day, cases.c.notice_closes_at,
               func.count())
        .where(and_(_pending_notice(), cases.c.notice_opened_at.isnot(None), cases.c.notice_stage.isnot(None)))
        .group_by(cases.c.policy_id, cases.c.policy_version, cases.c.notice_stage, day,
                  cases.c.notice_closes_at)).all()
    moves: list[dict[str, Any]] = []
    for policy_id, version, stage, opened, old, count in groups:
        try:
            policy = get_policy(policy_id, version)  # the version the case runs under
            notice = policy.notices[stage]
        except KeyError:
            continue
        opened_day = opened if isinstance(opened, dt.date) else dt.date.fromisoformat(str(opened))
        cal = calendar_of(policy)
        try:
            last = cal.next_working_days(opened_day, notice.working_days)
        except UnknownYearError:
            continue  # still unknown: the notice keeps its close until that year is imported too
        new = end_of_day(last)
        if old is not None and new == old:
            continue
        start = dt.datetime(opened_day.year, opened_day.month, opened_day.day, tzinfo=SHANGHAI)
        is_provisional = any(y in provisional for y in range(opened_day.year, last.year + 1))
        moves.append({
            "b_policy": policy_id, "b_version": version, "b_stage": stage, "b_old": old, "b_new": new,
            "b_from": start, "b_to": start + dt.timedelta(days=1),
            "b_ctx": {"kind": "notice_close", "stage": stage, "year": year,
                      "old_closes_at": old.astimezone(SHANGHAI).isoformat() if old is not None else None,
                      "new_closes_at": new.isoformat(), "last_day": last.isoformat(),
                      "provisional": is_provisional},
            "count": int(count)})
    if moves:
        aware = AwareDateTime()
        cond = and_(_pending_notice(), cases.c.policy_id == bindparam("b_policy"),
                    cases.c.policy_version == bindparam("b_version"),
                    cases.c.notice_stage == bindparam("b_stage"),
                    cases.c.notice_closes_at == bindparam("b_old", type_=aware),
                    cases.c.notice_opened_at >= bindparam("b_from", type_=aware),
                    cases.c.notice_opened_at < bindparam("b_to", type_=aware))
        params = [{k: v for k, v in m.items() if k != "count"} for m in moves]
        conn.execute(insert(notifications).from_select(
            ["case_id", "template", "channel", "recipient_role", "recipient", "context", "status", "attempts",
             "next_attempt_at", "created_at"],
            select(cases.c.id, literal("deadline_changed"), literal(CHANNEL_FOR[Role.applicant]),
                   literal(Role.applicant.value), cases.c.name, bindparam("b_ctx", type_=JSON),
                   literal("pending"), literal(0), literal(at, aware), literal(at, aware)).where(cond)),
            [{**p, "b_ctx": p["b_ctx"]} for p in params])
        conn.execute(update(cases).where(cond).values(notice_closes_at=bindparam("b_new", type_=aware)), params)
        done.notices_moved = done.cases_notified = sum(m["count"] for m in moves)
    _recompute_reminders(conn, calendar_of, done)
    return done


def _recompute_reminders(conn: Connection, calendar_of: Callable[[Policy], WorkingDayCalendar],
                         done: Recomputed) -> None:
    from workflow.deadlines import round_events

    wanted = {(r["policy_id"], r["kind"], r["name"]): r
              for p in policies().values() for r in round_events(p, calendar_of(p)) if r["kind"] == "reminder"}
    stored = {(e.policy_id, e.kind, e.name): e for e in conn.execute(
        select(events.c.id, events.c.policy_id, events.c.kind, events.c.name, events.c.due_at, events.c.done_at)
        .where(events.c.kind == "reminder"))}
    changes = [{"b_id": stored[k].id, "b_due": r["due_at"], "b_payload": r["payload"]}
               for k, r in wanted.items()
               if k in stored and stored[k].done_at is None and stored[k].due_at != r["due_at"]]
    if changes:
        conn.execute(update(events).where(and_(events.c.id == bindparam("b_id"), events.c.done_at.is_(None)))
                     .values(due_at=bindparam("b_due", type_=AwareDateTime()),
                             payload=bindparam("b_payload", type_=JSON)), changes)
    done.reminders_moved = len(changes)
    done.reminders_added = repo.upsert_scheduled_events(conn, [r for k, r in wanted.items() if k not in stored])


# ---- warnings ahead of time ------------------------------------------------------------------

WARN_FROM_MONTH = 11  # the State Council publishes next year's schedule in November or December


def missing_year(today: dt.date, cal: LayeredCalendar | None = None) -> int | None:
    """The year whose schedule the product still lacks and soon needs: this year if unknown, and
    from November 1 next year too (None when nothing is missing)."""
    cal = cal or product_calendar()
    if not cal.knows(today.year):
        return today.year
    if today.month >= WARN_FROM_MONTH and not cal.knows(today.year + 1):
        return today.year + 1
    return None


def missing_year_message(year: int) -> str:
    return (f"the working-day schedule for {year} is not known: notices and reminders that reach {year} are "
            f"refused (unknown_year). Import the State Council's schedule with `zcflow calendar import FILE` "
            "(a provisional one until it is published; README: 导入下一年度节假日安排)")


# ---- what a year is, for the CLI and the web page ---------------------------------------------------

def year_view(year: int, records: Mapping[int, Any]) -> dict[str, Any] | None:
    """Where a year's schedule comes from and what it holds, or None when nobody knows it."""
    record = records.get(year)
    if record is not None:
        data = CalendarYear.from_data(record.days)
        origin = "imported"
        extra = {"imported_at": record.imported_at.isoformat(), "imported_by": record.imported_by,
                 "reason": record.reason, "replaces_package": package_year(year) is not None}
    else:
        found = package_year(year)
        if found is None:
            return None
        data, origin, extra = found, "package", {}
    return {"year": year, "origin": origin, "status": data.status, "source": data.source, **extra,
            "holidays": [{"from": h.start.isoformat(), "to": h.end.isoformat(), "name": h.name}
                         for h in data.holidays],
            "workdays": [d.isoformat() for d in data.workdays], "_data": data}


def month_weeks(data: CalendarYear, month: int) -> list[list[tuple[int, str] | None]]:
    """A month as weeks (Monday first) of (day, kind) or None outside the month; kind is
    "holiday" (放假), "makeup" (调休上班), "weekend" or "workday"."""
    off, extra = data.days_off(), set(data.workdays)
    weeks: list[list[tuple[int, str] | None]] = []
    for week in monthly.Calendar(0).monthdayscalendar(data.year, month):
        row: list[tuple[int, str] | None] = []
        for d in week:
            if d == 0:
                row.append(None)
                continue
            day = dt.date(data.year, month, d)
            kind = ("holiday" if day in off else "makeup" if day in extra
                    else "weekend" if day.weekday() >= 5 else "workday")
            row.append((d, kind))
        weeks.append(row)
    return weeks
