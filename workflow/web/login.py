"""A login attempt, for the login form and POST /api/token alike: throttle first, then Argon2 in a
small bounded pool off the event loop, so that guessers queue among themselves and every other
request keeps its threads (issue 17: eight guessers had slowed every page from 26 ms to 195 ms)."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import Request
from sqlalchemy.engine import Engine

from workflow.errors import WorkflowError
from workflow.web import throttle
from workflow.web.scope import WebUser
from workflow.web.users import authenticate

T = TypeVar("T")

HASH_WORKERS = 2
MAX_WAITING = 32  # attempts queued for the pool beyond this are refused at once (429)

_pool = ThreadPoolExecutor(max_workers=HASH_WORKERS, thread_name_prefix="zcflow-login")
_waiting = 0
_lock = threading.Lock()


class TooManyAttempts(WorkflowError):
    """Throttled or locked (429 with Retry-After)."""

    code = "too_many_attempts"
    http_status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message, retry_after=retry_after)
        self.retry_after = retry_after


def client_address(request: Request) -> str | None:
    """The client's address as the server saw it (uvicorn applies X-Forwarded-For only from the
    proxies `--forwarded-allow-ips` trusts)."""
    return request.client.host if request.client else None


@dataclass(frozen=True)
class Outcome:
    user: WebUser | None
    refusal: throttle.Refusal | None = None


def attempt(db: Engine, username: str, password: str, address: str | None, audit_at: dt.datetime) -> Outcome:
    """Check the throttle, verify the password, count the outcome (blocking: Argon2 runs here)."""
    keys = [throttle.user_key(username), throttle.addr_key(address)]
    now = throttle.wall_now()
    with db.connect() as conn:
        refused = throttle.refusal(conn, keys, now)
    if refused is not None:
        return Outcome(None, refused)
    user = authenticate(db, username, password)
    with db.begin() as conn:
        if user is None:
            throttle.record_failure(conn, keys, now, audit_at=audit_at)
        else:
            throttle.record_success(conn, username)
    return Outcome(user)


async def run_hashing(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run `fn` (which hashes or verifies passwords) in the bounded login pool, off the event loop."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_pool, functools.partial(fn, *args, **kwargs))


async def attempt_async(db: Engine, username: str, password: str, address: str | None,
                        audit_at: dt.datetime) -> WebUser | None:
    """:func:`attempt` in the bounded pool; raises TooManyAttempts when throttled or the queue is full."""
    global _waiting
    with _lock:
        if _waiting >= MAX_WAITING:
            raise TooManyAttempts("登录请求过多，请稍后再试", retry_after=1)
        _waiting += 1
    try:
        loop = asyncio.get_running_loop()
        outcome = await loop.run_in_executor(_pool, attempt, db, username, password, address, audit_at)
    finally:
        with _lock:
            _waiting -= 1
    if outcome.refusal is not None:
        raise TooManyAttempts(outcome.refusal.message, retry_after=outcome.refusal.retry_after)
    return outcome.user
