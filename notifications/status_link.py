"""The applicant's status link (CONTRACT §11): `/s/{token}`, carried by every SMS to an applicant.

A token is `<case>.<expiry>.<signature>`: the case id and the expiry (hours since the epoch), both
base 36, and 16 characters of HMAC-SHA256 over them — short, because every character of an SMS
counts. It opens one case's status page without a login until it expires (30 days after the
message was sent; each message carries a fresh one). The key is $ZCFLOW_SECRET_KEY when set,
otherwise a random key stored once in the database's `settings`, so that the process that sends
the SMS and the one that serves the page agree without configuration.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import os
import secrets
from collections.abc import Callable

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from storage.tables import Setting

settings = Setting.__table__  # type: ignore[attr-defined]

LINK_TTL = dt.timedelta(days=30)
KEY_SETTING = "status_link_key"
SECRET_ENV = "ZCFLOW_SECRET_KEY"
PUBLIC_URL_ENV = "ZCFLOW_PUBLIC_URL"
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"


def link_key(db: Engine) -> str:
    """$ZCFLOW_SECRET_KEY, else the database's own key (created on first use)."""
    env = os.environ.get(SECRET_ENV)
    if env:
        return env
    with db.connect() as conn:
        found = conn.execute(select(settings.c.value).where(settings.c.name == KEY_SETTING)).scalar()
    if found is not None:
        return str(found)
    try:
        with db.begin() as conn:
            conn.execute(insert(settings).values(name=KEY_SETTING, value=secrets.token_urlsafe(32)))
    except IntegrityError:
        pass  # another process made it first: use theirs
    with db.connect() as conn:
        return str(conn.execute(select(settings.c.value).where(settings.c.name == KEY_SETTING)).scalar_one())


def _b36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


def _sig(key: str, payload: str) -> str:
    mac = hmac.new(key.encode(), f"zcflow.status:{payload}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:12]).decode()


def make_token(key: str, case_id: int, now: dt.datetime, ttl: dt.timedelta = LINK_TTL) -> str:
    expiry = int((now + ttl).timestamp()) // 3600 + 1
    payload = f"{_b36(case_id)}.{_b36(expiry)}"
    return f"{payload}.{_sig(key, payload)}"


def read_token(key: str, token: str, now: dt.datetime) -> tuple[int | None, str]:
    """(case id, "ok") for a good token; (None, "expired" | "invalid") otherwise."""
    parts = token.split(".")
    if len(parts) != 3 or len(token) > 80 or not all(parts):
        return None, "invalid"
    payload = f"{parts[0]}.{parts[1]}"
    if not hmac.compare_digest(_sig(key, payload), parts[2]):
        return None, "invalid"
    try:
        case_id, expiry = int(parts[0], 36), int(parts[1], 36)
    except ValueError:
        return None, "invalid"
    if now.timestamp() >= expiry * 3600:
        return None, "expired"
    return case_id, "ok"


def public_url() -> str:
    return (os.environ.get(PUBLIC_URL_ENV) or DEFAULT_PUBLIC_URL).rstrip("/")


def link_maker(db: Engine, now: dt.datetime) -> Callable[[int], str]:
    """case id → its status URL, for messages sent at `now`."""
    key, base = link_key(db), public_url()
    return lambda case_id: f"{base}/s/{make_token(key, case_id, now)}"
