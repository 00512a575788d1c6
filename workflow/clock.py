"""The one clock. Nothing else in zcflow reads the time: the engine takes `now` as an argument,
and only the processes that drive it (CLI, scheduler, web) ask this module what time it is."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def now() -> dt.datetime:
    """The current instant, aware, in Asia/Shanghai (CONTRACT §4)."""
    return dt.datetime.now(dt.UTC).astimezone(SHANGHAI)


def require_aware(t: dt.datetime, name: str = "time") -> dt.datetime:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"{name} {t.isoformat()} has no time zone; give an offset such as +08:00")
    return t


def local(t: dt.datetime) -> dt.datetime:
    return require_aware(t).astimezone(SHANGHAI)
