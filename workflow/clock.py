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


def set_now_from_env(environ: dict[str, str] | os._Environ[str]) -> None:
    """ZCFLOW_NOW shifts the clock of every zcflow process started with it (the demo sets it for its
    children, and an operator can rehearse a round), e.g. ZCFLOW_NOW=2025-04-10T10:00:00+08:00.
    Alone, the clock reads that time when the process starts. With ZCFLOW_NOW_SINCE (a Unix time)
    it read that time at that real instant, so processes started one after another share one
    shifted clock instead of each running a few seconds behind the one started before it."""
    shifted_to = environ.get("ZCFLOW_NOW")
    if not shifted_to:
        return
    t = require_aware(dt.datetime.fromisoformat(shifted_to), "ZCFLOW_NOW")
    since = environ.get("ZCFLOW_NOW_SINCE")
    if since:
        t += _real_now() - dt.datetime.fromtimestamp(float(since), dt.UTC)
    set_now(t)


set_now_from_env(os.environ)
