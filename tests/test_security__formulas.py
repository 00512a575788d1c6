"""Finding: a name ``=HYPERLINK(...)`` became a live formula in the XLSX 花名册 and was written raw to
the CSV one. Every spreadsheet and CSV zcflow writes goes through notifications/spreadsheet.py
(OWASP CSV injection: a cell starting with =, +, -, @, tab or CR is text)."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy.engine import Engine

from notifications.documents import ROSTER_COLUMNS, Roster, roster, roster_csv, roster_xlsx
from notifications.spreadsheet import csv_cell
from tests.drive import HOUR
from tests.filings import SUBMIT_AT, filing
from workflow.deadlines import ensure_schedule
from workflow.engine import Workflow

HZ = "hz-recognition-2025h1"
EVIL = '=HYPERLINK("http://evil","x")'
HOSTILE = [EVIL, "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


def hostile_roster() -> Roster:
    rows = tuple(tuple([str(i), "x", v, *["y"] * (len(ROSTER_COLUMNS) - 3)]) for i, v in enumerate(HOSTILE, 1))
    return Roster(kind="roster", policy_id=HZ, policy_name="p", committee=None, title="花名册",
                  columns=ROSTER_COLUMNS, rows=rows, full_ids=False, source="s", dated=None)


@pytest.mark.parametrize("value", HOSTILE)
def test_a_formula_like_cell_is_quoted(value: str) -> None:
    assert csv_cell(value) == "'" + value
    assert csv_cell("王伟") == "王伟" and csv_cell(None) == "" and csv_cell(3) == "3"


def test_the_csv_roster_writes_no_formula() -> None:
    table = list(csv.reader(io.StringIO(roster_csv(hostile_roster()).decode("utf-8-sig"), newline="")))
    assert [r[2] for r in table[1:]] == ["'" + v for v in HOSTILE]


def test_the_xlsx_roster_writes_text_cells_never_formulas() -> None:
    sheet = load_workbook(io.BytesIO(roster_xlsx(hostile_roster()))).active
    assert sheet is not None
    cells = [row[2] for row in sheet.iter_rows(min_row=3)]
    assert [c.value for c in cells] == HOSTILE  # the name exactly as typed
    assert all(c.data_type == "s" and c.quotePrefix for c in cells)


def test_a_name_that_is_a_formula_stays_text_in_a_real_roster(db: Engine) -> None:
    ensure_schedule(db, [HZ])
    Workflow(db).create_case(HZ, filing(HZ, 1, name=EVIL), SUBMIT_AT[HZ] - HOUR)
    with db.connect() as conn:
        doc = roster(conn, HZ, include_ended=True)
    sheet = load_workbook(io.BytesIO(roster_xlsx(doc))).active
    assert sheet is not None
    cell = sheet.cell(row=3, column=3)
    assert (cell.value, cell.data_type) == (EVIL, "s")
    assert f"'{EVIL}" in roster_csv(doc).decode("utf-8-sig").replace('""', '"')
