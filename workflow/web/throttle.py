"""Login throttling, per account and per client address (issue 17).

Each failed login counts against two keys, ``user:NAME`` (whether or not NAME exists, so a lockout
does not tell which names do) and ``addr:IP``. The first :data:`FREE` failures cost nothing; each
one after that blocks the key for a growing delay (1, 2, 4 … seconds, at most :data:`MAX_DELAY`),
answered 429 with Retry-After without running Argon2. At :data:`LOCK_AFTER` failures the key is
locked until an administrator lifts it (`zcflow user unlock`, or the users page); the lockout and the
unlock are written to the audit log in the same transaction. A success clears the account's count;
a count with no failure for :data:`FORGET_AFTER` starts again. Rows hold wall-clock times: the
throttle is about real seconds, never the demo's shifted clock.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from sqlalchemy import case, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine

from storage.audit import record_audit
from storage.tables import LoginThrottle

throttle = LoginThrottle.__table__  # type: ignore[attr-defined]

FREE = 5
MAX_DELAY = dt.timedelta(minutes=5)
FORGET_AFTER = dt.timedelta(hours=1)
PRUNE_AFTER = dt.timedelta(days=1)
LOCK_AFTER = {"user": 15, "addr": 100}  # an office behind one address has many users
LOCKED_RETRY_AFTER = 3600  # what Retry-After says of a locked key: ask again later, or an admin


def wall_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def user_key(username: str) -> str:
    return "user:" + username.strip()[:64]


def addr_key(address: str | None) -> str:
    return "addr:" + (address or "unknown")[:64]


@dataclass(frozen=True)
class Refusal:
    """Why a login is not tried now: blocked for `retry_after` seconds, or locked."""

    key: str
    retry_after: int
    locked: bool

    @property
    def message(self) -> str:
        what = "该账户" if self.key.startswith("user:") else "您所在的网络地址"
        if self.locked:
            return f"{what}因多次登录失败已被锁定，请联系管理员解锁"
        return f"登录失败次数过多，请 {self.retry_after} 秒后再试"


def delay_after(failures: int) -> dt.timedelta:
    if failures <= FREE:
        return dt.timedelta(0)
    return min(dt.timedelta(seconds=2 ** min(failures - FREE - 1, 20)), MAX_DELAY)


def refusal(conn: Connection, keys: list[str], now: dt.datetime) -> Refusal | None:
    """The refusal that holds for any of `keys` now (a locked key first), else None."""
    rows = conn.execute(select(throttle).where(throttle.c.key.in_(keys))).all()
    found: Refusal | None = None
    for r in sorted(rows, key=lambda r: keys.index(r.key)):
        if r.locked_at is not None:
            return Refusal(r.key, LOCKED_RETRY_AFTER, True)
        if found is None and r.blocked_until is not None and r.blocked_until > now:
            found = Refusal(r.key, max(1, math.ceil((r.blocked_until - now).total_seconds())), False)
    return found


def _upsert(conn: Connection, key: str, now: dt.datetime) -> int:
    """Count one failure for `key` (restarting a count that was forgotten); returns the new count."""
    ins = (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(throttle)
    stmt = ins.values(key=key, failures=1, last_failure_at=now).on_conflict_do_update(
        index_elements=[throttle.c.key],
        set_={"failures": case((throttle.c.locked_at.is_(None) & (throttle.c.last_failure_at < now - FORGET_AFTER),
                                1), else_=throttle.c.failures + 1),
              "last_failure_at": now},
    ).returning(throttle.c.failures)
    return int(conn.execute(stmt).scalar_one())


def record_failure(conn: Connection, keys: list[str], now: dt.datetime, *, audit_at: dt.datetime) -> None:
    """Count a failed login against every key, blocking or locking it as the count says (inside the
    caller's transaction: the lockout's audit row goes with it)."""
    # Counts nobody added to for a day are forgotten (guessed names would otherwise pile up); a
    # lockout stays until an administrator lifts it.
    conn.execute(delete(throttle).where(throttle.c.locked_at.is_(None), throttle.c.last_failure_at < now - PRUNE_AFTER))
    for key in keys:
        failures = _upsert(conn, key, now)
        kind = key.split(":", 1)[0]
        if failures >= LOCK_AFTER.get(kind, LOCK_AFTER["user"]):
            locked = conn.execute(update(throttle).where(throttle.c.key == key, throttle.c.locked_at.is_(None))
                                  .values(locked_at=now, blocked_until=None)).rowcount
            if locked:
                record_audit(conn, at=audit_at, actor="system", action="login_lockout",
                             subject=key.split(":", 1)[1], detail={"key": key, "failures": failures})
        elif failures > FREE:
            conn.execute(update(throttle).where(throttle.c.key == key)
                         .values(blocked_until=now + delay_after(failures)))


def record_success(conn: Connection, username: str) -> None:
    conn.execute(delete(throttle).where(throttle.c.key == user_key(username), throttle.c.locked_at.is_(None)))


def unlock(db: Engine, key: str, now: dt.datetime, *, actor: str) -> bool:
    """Lift a lockout (or a running delay) of `key`; False when there was nothing to lift."""
    with db.begin() as conn:
        row = conn.execute(select(throttle).where(throttle.c.key == key)).first()
        if row is None:
            return False
        conn.execute(delete(throttle).where(throttle.c.key == key))
        if row.locked_at is not None:
            record_audit(conn, at=now, actor=actor, action="login_unlock", subject=key.split(":", 1)[1],
                         detail={"key": key, "failures": int(row.failures)})
    return True


def locked_keys(db: Engine) -> dict[str, dt.datetime]:
    """Every locked key and when it was locked."""
    with db.connect() as conn:
        rows = conn.execute(select(throttle.c.key, throttle.c.locked_at)
                            .where(throttle.c.locked_at.is_not(None))).all()
    return {str(r.key): r.locked_at for r in rows}
