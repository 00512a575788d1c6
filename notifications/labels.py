"""Chinese names for the contract's codes, as a citizen reads them in a message or a document.

The codes are CONTRACT §3's; the names follow the seeds' own wording (单位审核, 单位公示, 中评委办公室
资格审核, 评审结果公示, 发文公布 …) so that a message says what the notice says.
"""

from __future__ import annotations

import datetime as dt

from states.calendar import SHANGHAI
from states.labels import (
    RECOGNITION_ASSESSMENT_LABEL,
    STATE_LABELS,
)

EDUCATION_RANK: dict[str, int] = {"college": 1, "bachelor": 2, "second_bachelor": 3, "master": 4, "doctorate": 5}


def state_label(state: str, track: str = "assessment") -> str:
    """The name of a state; `assessment` reads 审议认定 in a recognition round."""
    if state == "assessment" and track == "recognition":
        return RECOGNITION_ASSESSMENT_LABEL
    return STATE_LABELS.get(state, state)


def cn_date(day: dt.date | dt.datetime) -> str:
    """2025年4月14日 (a time is shown as its Asia/Shanghai date)."""
    if isinstance(day, dt.datetime):
        day = day.astimezone(SHANGHAI).date()
    return f"{day.year}年{day.month}月{day.day}日"


def cn_short_date(day: dt.date | dt.datetime) -> str:
    """4月14日, for the 70-character SMS."""
    if isinstance(day, dt.datetime):
        day = day.astimezone(SHANGHAI).date()
    return f"{day.month}月{day.day}日"


def cn_time(t: dt.datetime) -> str:
    local = t.astimezone(SHANGHAI)
    return f"{cn_date(local)} {local:%H:%M}"
