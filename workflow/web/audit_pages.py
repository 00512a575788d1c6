"""The 办理日志 page: who did what, across all cases and the administration (issue 15).

Two sources, one list, newest first: every history row of the cases the reader may see (the
transitions: `history`), and, for the administrator, every administrative act (`audit_log`,
storage/audit.py: user changes, lockouts, policy imports and amendments, calendar years). Filterable
by user, action, case, district and date; the same filter exports as XLSX.

The page shows PAGE_LIMIT entries and pages on towards older ones by a cursor, the last shown entry's
(time, source, id): many history rows share one instant (a cutoff sweep writes thousands), so the time
alone cannot say where a page ended. Both sources are read newest first off their `at` index.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import and_, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from notifications.spreadsheet import append_row
from states.calendar import SHANGHAI, end_of_day
from states.labels import (
    ACTION_LABELS,
    AUDIT_ACTION_LABELS,
    AUDIT_DETAIL_LABELS,
    CALENDAR_STATUS_LABELS,
    ROLE_LABELS,
    STATE_LABELS,
    label_of,
)
from states.legal import without_file_names
from states.policy import policies
from states.vocabulary import Role
from storage.audit import audit_log
from storage.repo import cases, history
from workflow.errors import InvalidInput
from workflow.web import service
from workflow.web.auth import PageUser
from workflow.web.render import policy_label, reason_text, render, sh
from workflow.web.scope import WebUser, case_condition

router = APIRouter(include_in_schema=False)

PAGE_LIMIT = 100
EXPORT_LIMIT = 50_000
# The order of the merged list: newest first; at one instant a case's rows before the administration's.
SOURCE_RANK = {"case": 1, "admin": 0}


@dataclass(frozen=True)
class AuditFilters:
    user: str | None = None
    action: str | None = None
    case: int | None = None
    district: str | None = None
    since: dt.date | None = None
    until: dt.date | None = None

    def items(self) -> list[tuple[str, str]]:
        return [(k, str(v)) for k, v in vars(self).items() if v not in (None, "")]


@dataclass(frozen=True)
class Entry:
    at: dt.datetime
    kind: str  # "case" or "admin"
    actor: str  # who, as a person reads it
    action: str  # Chinese
    subject: str  # the case (#12 王伟) or what the act concerns
    change: str  # from → to, or the detail
    reason: str
    case_id: int | None
    district: str
    row_id: int = 0  # the row's id in its source table: with `at` and `kind`, where a page ends

    @property
    def key(self) -> tuple[dt.datetime, int, int]:
        return (self.at, SOURCE_RANK[self.kind], self.row_id)


@dataclass(frozen=True)
class Cursor:
    """Where the previous page ended: entries strictly older than this one in the merged order."""

    at: dt.datetime
    rank: int
    row_id: int

    def text(self) -> str:
        return f"{self.at.astimezone(dt.UTC).isoformat()}~{self.rank}~{self.row_id}"

    @classmethod
    def parse(cls, value: str | None) -> Cursor | None:
        if not value:
            return None
        try:
            at_text, rank, row_id = value.split("~")
            at = dt.datetime.fromisoformat(at_text)
            cursor = cls(at, int(rank), int(row_id))
        except ValueError:
            cursor = None
        if cursor is None or at.tzinfo is None or cursor.rank not in SOURCE_RANK.values() or cursor.row_id < 0:
            raise InvalidInput(f"before: {value[:40]!r} is not a page of this log", field="before",
                               zh="翻页参数无效，请从第一页重新查看")
        return cursor

    def older(self, at: ColumnElement[Any], row_id: ColumnElement[Any], rank: int) -> ColumnElement[bool]:
        """The rows of one source (of `rank`) that come after this cursor in the merged order."""
        if rank < self.rank:  # this source's rows at the cursor's instant all come after it
            return at <= self.at
        if rank > self.rank:
            return at < self.at
        return or_(at < self.at, and_(at == self.at, row_id < self.row_id))


def _day(value: str | None, name: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{name}: {value!r} is not a date (YYYY-MM-DD)", field=name,
                           zh="日期格式应为 年-月-日，如 2025-04-14") from None


def parse_filters(user: str | None, action: str | None, case: str | None, district: str | None,
                  since: str | None, until: str | None) -> AuditFilters:
    case_id = None
    if case and case.strip():
        text = case.strip().lstrip("#")
        if not text.isdigit() or not 1 <= int(text) <= 2**31 - 1:
            raise InvalidInput(f"case: {case!r} is not a case number", field="case", zh="案件号须为正整数")
        case_id = int(text)
    return AuditFilters(
        user=service.clean_text(user, "actor", max_len=100), action=service.clean_text(action, "action", max_len=64),
        case=case_id, district=service.clean_text(district, "district", max_len=64),
        since=_day(since, "since"), until=_day(until, "until"))


def _history_rows(conn: Connection, user: WebUser, f: AuditFilters, limit: int,
                  before: Cursor | None = None) -> list[Entry]:
    parts: list[ColumnElement[bool]] = [case_condition(user)]
    if before is not None:
        parts.append(before.older(history.c.at, history.c.id, SOURCE_RANK["case"]))
    if f.user:
        parts.append(history.c.actor_id == f.user)
    if f.action:
        parts.append(history.c.action == f.action)
    if f.case:
        parts.append(history.c.case_id == f.case)
    if f.district:
        parts.append(cases.c.district == f.district)
    if f.since:
        parts.append(history.c.at >= end_of_day(f.since - dt.timedelta(days=1)))
    if f.until:
        parts.append(history.c.at < end_of_day(f.until))
    stmt = (select(history.c.id, history.c.at, history.c.actor_role, history.c.actor_id, history.c.action,
                   history.c.from_state, history.c.to_state, history.c.reason, history.c.case_id, cases.c.name,
                   cases.c.district)
            .select_from(history.join(cases, cases.c.id == history.c.case_id))
            .where(and_(*parts)).order_by(history.c.at.desc(), history.c.id.desc()).limit(limit))
    out = []
    for r in conn.execute(stmt):
        who = label_of(ROLE_LABELS, r.actor_role, "系统") + (f"（{r.actor_id}）" if r.actor_id else "")
        change = (f"{label_of(STATE_LABELS, r.from_state)} → {label_of(STATE_LABELS, r.to_state)}"
                  if r.from_state else label_of(STATE_LABELS, r.to_state))
        out.append(Entry(r.at, "case", who, label_of(ACTION_LABELS, r.action, "办理"), f"#{r.case_id} {r.name}",
                         change, reason_text(r.reason), int(r.case_id), r.district or "", int(r.id)))
    return out


_CODE = re.compile(r"^[a-z][a-z0-9_]*$")


def _value_text(value: Any) -> str | None:
    """A detail value in Chinese, or None when it is a code with no Chinese name."""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, dict):
        parts = [_value_text(v) for v in value.values()]
        return "；".join(p for p in parts if p) or None
    if isinstance(value, list):
        parts = [_value_text(v) for v in value]
        return "、".join(p for p in parts if p) or None
    if value is None:
        return None
    text = str(value)
    for table in (ROLE_LABELS, STATE_LABELS, ACTION_LABELS, CALENDAR_STATUS_LABELS):
        if text in table:
            return table[text]
    if text in policies():
        return policy_label(text)
    return None if _CODE.match(text) else without_file_names(text)


def _detail_text(detail: Any) -> str:
    """The detail of an administrative act as a person reads it: the keys a person needs, in Chinese;
    secrets, checksums and codes never."""
    if not isinstance(detail, dict):
        return ""
    shown = []
    for key, value in detail.items():
        name = AUDIT_DETAIL_LABELS.get(key)
        text = _value_text(value) if name else None
        if text:
            shown.append(f"{name}：{text}")
    return "；".join(shown)[:300]


def _subject_text(subject: str) -> str:
    """What an administrative act concerns: a policy by its short name, a throttled login by whom."""
    if subject in policies():
        return policy_label(subject)
    if subject.startswith("webhook "):
        return f"事件推送 {subject.removeprefix('webhook ')}"
    return subject


def actor_text(actor: str) -> str:
    """An audit row's actor: a web user's name, or 命令行 for the CLI (`cli:<os user>`)."""
    if actor == "system":
        return "系统"
    return "命令行" if actor == "cli" or actor.startswith("cli:") else actor


def _admin_rows(conn: Connection, user: WebUser, f: AuditFilters, limit: int,
                before: Cursor | None = None) -> list[Entry]:
    if user.role is not Role.admin or f.case or f.district:
        return []  # administrative acts concern no case; only the administrator reads them
    parts: list[ColumnElement[bool]] = []
    if before is not None:
        parts.append(before.older(audit_log.c.at, audit_log.c.id, SOURCE_RANK["admin"]))
    if f.user:
        parts.append(audit_log.c.actor == f.user)
    if f.action:
        parts.append(audit_log.c.action == f.action)
    if f.since:
        parts.append(audit_log.c.at >= end_of_day(f.since - dt.timedelta(days=1)))
    if f.until:
        parts.append(audit_log.c.at < end_of_day(f.until))
    stmt = select(audit_log).where(and_(*parts) if parts else audit_log.c.id.is_not(None)) \
        .order_by(audit_log.c.at.desc(), audit_log.c.id.desc()).limit(limit)
    return [Entry(r.at, "admin", actor_text(r.actor), label_of(AUDIT_ACTION_LABELS, r.action, "管理操作"),
                  _subject_text(r.subject),
                  _detail_text(r.detail), "", None, "", int(r.id)) for r in conn.execute(stmt)]


def entries(conn: Connection, user: WebUser, f: AuditFilters, limit: int,
            before: Cursor | None = None) -> list[Entry]:
    """Up to `limit` entries of both sources after `before` (from the newest when None), newest first."""
    both = _history_rows(conn, user, f, limit, before) + _admin_rows(conn, user, f, limit, before)
    both.sort(key=lambda e: e.key, reverse=True)
    return both[:limit]


def page_of(conn: Connection, user: WebUser, f: AuditFilters, before: Cursor | None,
            limit: int = PAGE_LIMIT) -> tuple[list[Entry], Cursor | None]:
    """One page, and the cursor of the next (older) page when there is one."""
    rows = entries(conn, user, f, limit + 1, before)
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], Cursor(last.at, SOURCE_RANK[last.kind], last.row_id)


def action_choices(user: WebUser) -> list[tuple[str, str]]:
    out = [(a, label) for a, label in ACTION_LABELS.items() if a != "create"] + [("create", ACTION_LABELS["create"])]
    if user.role is Role.admin:
        seen = set()
        for code, label in AUDIT_ACTION_LABELS.items():
            if label not in seen:
                out.append((code, label))
                seen.add(label)
    return out


Text = Annotated[str | None, Query(max_length=100)]


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, user: PageUser, actor: Text = None, action: Text = None, case: Text = None,
               district: Text = None, since: Text = None, until: Text = None, before: Text = None) -> Response:
    ctx = request.app.state.web
    f = parse_filters(actor, action, case, district, since, until)
    cursor = Cursor.parse(before)
    with ctx.db.connect() as conn:
        rows, next_cursor = page_of(conn, user, f, cursor, PAGE_LIMIT)
    query = urlencode([("actor" if k == "user" else k, v) for k, v in f.items()])
    older = f"/audit?{query + '&' if query else ''}{urlencode({'before': next_cursor.text()})}" if next_cursor else None
    return render(request, "audit.html", {
        "nav": "audit", "rows": rows, "filters": f, "limit": PAGE_LIMIT, "query": query,
        "actions": action_choices(user), "admin": user.role is Role.admin,
        "paged": cursor is not None, "older": older, "newest": f"/audit?{query}" if query else "/audit",
    }, user=user)


@router.get("/audit/export.xlsx")
def audit_export(request: Request, user: PageUser, actor: Text = None, action: Text = None, case: Text = None,
                 district: Text = None, since: Text = None, until: Text = None) -> Response:
    from openpyxl import Workbook

    ctx = request.app.state.web
    f = parse_filters(actor, action, case, district, since, until)
    with ctx.db.connect() as conn:
        rows = entries(conn, user, f, EXPORT_LIMIT)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "办理日志"
    append_row(sheet, ["时间", "类别", "操作人", "操作", "对象", "变化/内容", "理由", "区县"])
    for e in rows:
        values = [sh(e.at, "%Y-%m-%d %H:%M:%S"), "案件办理" if e.kind == "case" else "系统管理", e.actor, e.action,
                  e.subject, e.change, e.reason, e.district]
        append_row(sheet, values)  # formula-safe (notifications/spreadsheet.py)
    for col, width in zip("ABCDEFGH", (20, 10, 28, 18, 30, 30, 40, 12), strict=True):
        sheet.column_dimensions[col].width = width
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    stamp = ctx.clock().astimezone(SHANGHAI).strftime("%Y%m%d-%H%M")
    return Response(out.getvalue(), media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="zcflow-audit-{stamp}.xlsx"'})

