"""Formula-safe spreadsheet cells: the one place every CSV and XLSX writer of zcflow goes through.

A cell whose text starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read by Excel,
LibreOffice and WPS as a formula (OWASP "CSV Injection"): a name ``=HYPERLINK("http://evil","x")``
would become a live link in an office's 花名册. Following OWASP's advice such a cell is written as
text: in CSV with a leading ``'`` (the spreadsheet shows the rest as typed); in XLSX as a string cell
marked quotePrefix, so the stored value is the name exactly and editing it keeps it text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def is_formula_like(text: str) -> bool:
    return text.startswith(FORMULA_STARTS)


def csv_cell(value: Any) -> str:
    """`value` as CSV text; formula-like text gets a leading ``'``."""
    text = "" if value is None else str(value)
    return "'" + text if is_formula_like(text) else text


def csv_bytes(header: Sequence[Any], rows: Iterable[Sequence[Any]], *, bom: bool = True) -> bytes:
    """A whole CSV file (CRLF lines; UTF-8 with a byte-order mark so that Excel reads the Chinese)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([csv_cell(v) for v in header])
    writer.writerows([csv_cell(v) for v in row] for row in rows)
    return buffer.getvalue().encode("utf-8-sig" if bom else "utf-8")


def append_row(sheet: Any, values: Sequence[Any]) -> None:
    """Append `values` to an openpyxl worksheet; text is always a string cell, never a formula."""
    sheet.append([None if v is None else v if isinstance(v, (int, float)) else str(v) for v in values])
    for cell in sheet[sheet.max_row]:
        if isinstance(cell.value, str) and (cell.data_type == "f" or is_formula_like(cell.value)):
            cell.data_type = "s"
            cell.quotePrefix = True
