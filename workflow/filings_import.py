"""Bulk filing from a platform's export (CONTRACT §11): a 花名册-style sheet (XLSX or CSV, one
applicant a row, Chinese column headings) becomes draft cases of one policy.

Every row is reported: `created`, `duplicate` (the person already has a case of this policy that
has not ended, or an earlier row of the file names them) or `invalid` with the column named. The
file is imported whole or not at all; with `skip_invalid` the valid rows are imported and the
invalid ones reported. Duplicates are never created and never block: importing the same file twice
creates nothing the second time. The cases are created in one transaction with the duplicate check.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import and_, select

from states.applicant import ApplicantFiling
from states.labels import EDUCATION_LABELS, ID_TYPE_LABELS
from states.policy import get_policy
from states.vocabulary import ENDED_STATES
from storage import repo
from storage.audit import record_audit
from workflow.engine import Actor, Workflow
from workflow.errors import InvalidInput

# Heading → filing field. The first heading of each row is the one the roster export writes
# (notifications/documents.py ROSTER_COLUMNS); the others are what platforms' exports call them.
COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("姓名",),
    "id_type": ("证件类型",),
    "id_number": ("证件号码", "身份证号码", "身份证号"),
    "district": ("所在区县", "区县", "所在区（县、市）"),
    "employer": ("工作单位", "单位名称", "申报单位"),
    "specialty": ("从事专业", "专业"),
    "work_start": ("参加工作时间", "参加工作日期", "从事本专业工作时间"),
    "education": ("学历", "最高学历"),
    "graduated": ("毕业时间", "毕业日期"),
    "phone": ("手机", "手机号码", "联系电话"),
    "email": ("电子邮箱", "邮箱"),
    "certificate_entry": ("证书序号", "资格序号"),
    "certificate_obtained": ("证书取得时间", "取得时间"),
}
REQUIRED = ("name", "id_number", "district", "specialty", "work_start")
HEADING_OF = {f: names[0] for f, names in COLUMNS.items()}
MAX_ROWS = 5000
_EDUCATION = {label: code for code, label in EDUCATION_LABELS.items()}
_ID_TYPES = {label: code for code, label in ID_TYPE_LABELS.items()}
_DATE = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})(?:\s*[-/.月]\s*(\d{1,2})\s*日?)?\s*月?\s*$")


class FilingsFileError(ValueError):
    """The file itself cannot be read (not a sheet, no heading row, too many rows)."""


@dataclass
class RowOutcome:
    row: int  # the row's number in the sheet, as a spreadsheet program shows it
    outcome: str  # created | duplicate | invalid | skipped
    name: str | None = None
    case: int | None = None
    column: str | None = None
    message: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class ImportReport:
    policy: str
    rows: list[RowOutcome] = field(default_factory=list)
    imported: bool = False  # False: nothing was written (an invalid row without skip_invalid)

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.rows if r.outcome == outcome)

    def to_json(self) -> dict[str, Any]:
        return {"policy": self.policy, "imported": self.imported,
                "created": self.count("created"), "duplicate": self.count("duplicate"),
                "invalid": self.count("invalid"), "rows": [r.to_json() for r in self.rows]}


# ---- reading the sheet ------------------------------------------------------------------------------

def read_sheet(data: bytes, filename: str) -> list[tuple[int, dict[str, Any]]]:
    """(row number, {field: cell}) for each data row below the heading row."""
    lower = filename.lower()
    if lower.endswith(".xlsx"):
        table = _xlsx_rows(data)
    elif lower.endswith(".csv"):
        table = _csv_rows(data)
    else:
        raise FilingsFileError(f"FILE: {filename}: give an .xlsx or .csv file")
    heading: int | None = None
    fields: dict[str, int] = {}
    for i, cells in enumerate(table[:20]):
        texts = [str(c).strip() if c is not None else "" for c in cells]
        fields = {f: texts.index(h) for f, names in COLUMNS.items() for h in names if h in texts}
        if "name" in fields and "id_number" in fields:
            heading = i
            break
    if heading is None:
        raise FilingsFileError(f"FILE: {filename}: no heading row with 姓名 and 证件号码 in its first 20 rows")
    missing = [HEADING_OF[f] for f in REQUIRED if f not in fields]
    if missing:
        raise FilingsFileError(f"FILE: {filename}: the heading row lacks the column(s) {'、'.join(missing)}")
    out: list[tuple[int, dict[str, Any]]] = []
    for number, cells in enumerate(table[heading + 1:], start=heading + 2):
        values = {f: (cells[i] if i < len(cells) else None) for f, i in fields.items()}
        if all(v is None or str(v).strip() == "" for v in values.values()):
            continue  # a blank line
        out.append((number, values))
    if len(out) > MAX_ROWS:
        raise FilingsFileError(f"FILE: {filename}: {len(out)} rows; at most {MAX_ROWS} at once")
    return out


def _xlsx_rows(data: bytes) -> list[list[Any]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException …
        raise FilingsFileError(f"FILE: not a readable .xlsx workbook ({type(exc).__name__})") from None
    try:
        sheet = book.worksheets[0]
        return [list(r) for r in sheet.iter_rows(values_only=True)]
    finally:
        book.close()


def _csv_rows(data: bytes) -> list[list[Any]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")  # what Excel on a Chinese Windows saves
        except UnicodeDecodeError:
            raise FilingsFileError("FILE: not UTF-8 or GB18030 text") from None
    return [list(r) for r in csv.reader(io.StringIO(text))]


# ---- one row -------------------------------------------------------------------------------------

class _Bad(Exception):
    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field_name = field_name


def _text(values: dict[str, Any], f: str) -> str | None:
    value = values.get(f)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if text[:1] in ("=", "@"):  # a formula, never a value (neutralised: refused, not evaluated)
        raise _Bad(f, "是公式，不是数值；请填写数值本身")
    return text or None


def _date(values: dict[str, Any], f: str) -> str | None:
    value = values.get(f)
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = _text(values, f)
    if text is None:
        return None
    m = _DATE.match(text)
    if not m:
        raise _Bad(f, f"{text!r} 不是日期（如 2015-07-01）")
    try:
        return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3) or 1)).isoformat()
    except ValueError:
        raise _Bad(f, f"{text!r} 不是有效日期") from None


def filing_of(values: dict[str, Any]) -> ApplicantFiling:
    data: dict[str, Any] = {}
    for f in ("name", "id_number", "district", "employer", "specialty", "phone", "email"):
        data[f] = _text(values, f)
    id_type = _text(values, "id_type")
    if id_type is not None:
        data["id_type"] = _ID_TYPES.get(id_type, id_type)
    if data["id_number"]:
        data["id_number"] = data["id_number"].upper()
    data["work_start"] = _date(values, "work_start")
    education = _text(values, "education")
    if education is not None:
        level = _EDUCATION.get(education, education)
        if level not in EDUCATION_LABELS:
            raise _Bad("education", f"{education!r} 不是学历（{'、'.join(EDUCATION_LABELS.values())}）")
        graduated = _date(values, "graduated")
        if graduated is None:
            raise _Bad("graduated", "填写了学历，也须填写毕业时间")
        data["education"] = [{"level": level, "graduated": graduated}]
    entry = _text(values, "certificate_entry")
    if entry is not None:
        if not entry.isdigit():
            raise _Bad("certificate_entry", f"{entry!r} 不是目录序号")
        data["certificate"] = {"entry": int(entry), "obtained": _date(values, "certificate_obtained")}
    for f in REQUIRED:
        if not data.get(f):
            raise _Bad(f, "不能为空")
    try:
        return ApplicantFiling.model_validate({k: v for k, v in data.items() if v is not None})
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [str(p) for p in err["loc"]]
        f = {"certificate": "certificate_entry", "education": "education"}.get(loc[0], loc[0]) if loc else "name"
        raise _Bad(f if f in HEADING_OF else "name", str(err["msg"]).removeprefix("Value error, ")) from None


# ---- the import ----------------------------------------------------------------------------------

def import_filings(wf: Workflow, policy_id: str, rows: list[tuple[int, dict[str, Any]]], now: dt.datetime, *,
                   actor: str, skip_invalid: bool = False) -> ImportReport:
    try:
        policy = get_policy(policy_id)
    except KeyError:
        raise InvalidInput(f"policy: unknown policy {policy_id!r}", field="policy") from None
    report = ImportReport(policy=policy.id)
    parsed: list[tuple[RowOutcome, ApplicantFiling | None]] = []
    for number, values in rows:
        try:
            filing = filing_of(values)
        except _Bad as bad:
            parsed.append((RowOutcome(number, "invalid", name=_safe_name(values), column=HEADING_OF[bad.field_name],
                                      message=f"列「{HEADING_OF[bad.field_name]}」：{bad}"), None))
            continue
        parsed.append((RowOutcome(number, "created", name=filing.name), filing))
    invalid = any(o.outcome == "invalid" for o, _ in parsed)
    with wf.db.begin() as conn:
        ids = [f.id_number for _, f in parsed if f is not None]
        taken = set(conn.execute(select(repo.cases.c.id_number).where(and_(
            repo.cases.c.policy_id == policy.id, repo.cases.c.id_number.in_(ids),
            repo.cases.c.state.not_in(list(ENDED_STATES))))).scalars()) if ids else set()
        seen: dict[str, int] = {}
        new: list[tuple[RowOutcome, ApplicantFiling]] = []
        for outcome, candidate in parsed:
            if candidate is None:
                continue
            if candidate.id_number in taken:
                outcome.outcome, outcome.message = "duplicate", "此人在本政策下已有未结束的申报"
            elif candidate.id_number in seen:
                outcome.outcome, outcome.message = "duplicate", f"与第 {seen[candidate.id_number]} 行是同一人"
            else:
                seen[candidate.id_number] = outcome.row
                new.append((outcome, candidate))
        report.rows = [o for o, _ in parsed]
        if invalid and not skip_invalid:
            for outcome, _ in new:
                outcome.outcome = "skipped"
                outcome.message = "未导入：文件中有无效行（可修正后重新导入，或使用 --skip-invalid）"
            return report
        if new:
            case_ids = wf.create_cases([(policy.id, f) for _, f in new], now, Actor.parse("admin", actor), conn=conn)
            for (outcome, _), case_id in zip(new, case_ids, strict=True):
                outcome.case = case_id
        record_audit(conn, at=now, actor=actor, action="filings_import", subject=policy.id,
                     detail={"created": len(new), "duplicate": report.count("duplicate"),
                             "invalid": report.count("invalid")})
        report.imported = True
    return report


def _safe_name(values: dict[str, Any]) -> str | None:
    value = values.get("name")
    text = str(value).strip() if value is not None else ""
    return text[:100] if text and text[:1] not in ("=", "@") else None
