"""The one clock. Nothing else in zcflow reads the time: the engine takes `now` as an argument,
and only the processes that drive it (CLI, scheduler, web) ask this module what time it is.

The clock may be shifted (`set_now`): the demo and what-if planning run a past or future round as
if it were today, and every reader of this clock (scheduler, web, CLI) sees the same shifted time.
"""

from __future__ import annotations

import datetime as dt
import os

from states.calendar import SHANGHAI  # the one time zone of CONTRACT §4

__all__ = ["SHANGHAI", "local", "now", "require_aware", "set_now", "shifted", "to_wall"]

_offset = dt.timedelta(0)


def _real_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def now() -> dt.datetime:
    """The current instant, aware, in Asia/Shanghai (CONTRACT §4), including any shift."""
    return (_real_now() + _offset).astimezone(SHANGHAI)


def set_now(t: dt.datetime | None) -> None:
    """Make the clock read `t` now and run on from there; None puts it back to real time."""
    global _offset
    _offset = dt.timedelta(0) if t is None else require_aware(t, "now") - _real_now()


def shifted() -> bool:
    return _offset != dt.timedelta(0)


def to_wall(t: dt.datetime) -> dt.datetime:
    """The wall-clock instant at which this clock will read `t` (what a timer must wait for)."""
    return require_aware(t, "t") - _offset


def require_aware(t: dt.datetime, name: str = "time") -> dt.datetime:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"{name} {t.isoformat()} has no time zone; give an offset such as +08:00")
    return t


def local(t: dt.datetime) -> dt.datetime:
    return require_aware(t).astimezone(SHANGHAI)


# ZCFLOW_NOW shifts the clock of every zcflow process started with it (the demo sets it for its
# children, and an operator can rehearse a round), e.g. ZCFLOW_NOW=2025-04-10T10:00:00+08:00.
if os.environ.get("ZCFLOW_NOW"):
    set_now(dt.datetime.fromisoformat(os.environ["ZCFLOW_NOW"]))
