"""Chinese labels for the contract's vocabulary (CONTRACT §3). Codes stay English everywhere else
(URLs, the API, the database); only what a person reads is translated here."""

from __future__ import annotations

ELIGIBILITY_LABELS: dict[str, str] = {
    "eligible": "是否符合条件",
    "level": "级别",
    "title": "职称",
    "series": "系列",
    "full_years": "满年限（周年）",
    "reference_date": "年限计算截止日",
    "committee": "评审/认定机构",
    "rule": "依据",
}


def label(table: dict[str, str], code: str | None) -> str:
    """The Chinese label of `code`, or the code itself when the table has none."""
    if code is None:
        return ""
    return table.get(code, code)
