"""`Idempotency-Key` on the API's writing requests (CONTRACT §11), as Stripe does it.

A request with a key runs its effect and stores the key with the request's hash and the answer,
all in ONE transaction: the key's row is inserted first, so of two concurrent requests with one key
the second waits on the unique index until the first commits, then fails to insert and answers
with what the first stored — one move, never two. A repeat with the same key and the same request
gets the first answer (also a refusal: 4xx answers are stored too), whatever the case's state is
now; the same key with another request is a 422. Keys belong to the user that sent them and
expire after 24 hours. A request without a key runs as before.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi.responses import JSONResponse
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from storage import idempotency as store
from workflow.errors import Conflict, InvalidInput, WorkflowError
from workflow.web.jsonresp import FastJSONResponse
from workflow.web.scope import WebUser
from workflow.web.service import WebContext

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
TTL = dt.timedelta(hours=24)
MAX_KEY = 255


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]


def check_key(value: str | None) -> str | None:
    """The header's value, or None without one; refused (422) unless 1–255 visible ASCII characters."""
    if value is None:
        return None
    if not 1 <= len(value) <= MAX_KEY or any(not 33 <= ord(c) <= 126 for c in value):
        raise InvalidInput(f"{HEADER}: 1 to {MAX_KEY} visible ASCII characters (a UUID is a good key)",
                           field=HEADER)
    return value


def fingerprint(method: str, path: str, body: Any) -> str:
    """The request's hash: method, path and the parsed body (so key order and spacing do not matter)."""
    text = json.dumps([method.upper(), path, body], sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _replay(row: Any, request_hash: str, key: str) -> tuple[Answer, bool]:
    if row.request_hash != request_hash:
        raise InvalidInput(f"{HEADER}: key {key!r} was already used with another request in the last 24 hours; "
                           "use a new key for a new request", field=HEADER,
                           zh="此幂等键24小时内已用于另一请求，新的请求请换一个键")
    return Answer(int(row.status_code), dict(row.response)), True


def run_once(ctx: WebContext, user: WebUser, key: str | None, request_hash: Callable[[], str],
             work: Callable[[Connection | None], Answer]) -> tuple[Answer, bool]:
    """Run `work` once per key: returns (answer, replayed). Without a key `work` runs in its own
    transactions (conn None) and its errors propagate as usual; `request_hash` (the request's
    fingerprint) is worked out only with a key."""
    if key is None:
        return work(None), False
    return _run_keyed(ctx, user, key, request_hash(), work)


def _run_keyed(ctx: WebContext, user: WebUser, key: str, request_hash: str,
               work: Callable[[Connection | None], Answer]) -> tuple[Answer, bool]:
    now = ctx.clock()
    with ctx.db.connect() as conn:
        first = store.stored(conn, user.id, key, now)
    if first is not None:
        return _replay(first, request_hash, key)
    try:
        with ctx.db.begin() as conn:
            row_id = store.claim(conn, user.id, key, request_hash, now, TTL)
            try:
                with conn.begin_nested():  # a refusal rolls back to here; its answer is stored
                    answer = work(conn)
            except WorkflowError as exc:
                answer = Answer(exc.http_status, exc.to_json())
            store.answer(conn, row_id, answer.status, answer.body)
    except IntegrityError as exc:
        if store.UNIQUE_NAME not in str(exc.orig) and "idempotency_keys" not in str(exc.orig):
            raise
        with ctx.db.connect() as conn:
            first = store.stored(conn, user.id, key, now)
        if first is None:  # pragma: no cover - the other request's row vanished (expired) meanwhile
            raise Conflict(f"{HEADER}: another request with key {key!r} was running; try again") from None
        return _replay(first, request_hash, key)
    return answer, False


def respond(answer: Answer, replayed: bool) -> JSONResponse:
    headers = {REPLAYED_HEADER: "true"} if replayed else None
    return FastJSONResponse(answer.body, status_code=answer.status, headers=headers)
