"""SMS through an HTTP gateway: one JSON POST per message (stdlib urllib; no extra dependency).

Request body: ``{"request_id", "phone", "content", "template", "notification_id"}``, with the
same key in an ``Idempotency-Key`` header and, when ZCFLOW_SMS_TOKEN is set, ``Authorization:
Bearer <token>``. Any 2xx is acceptance; a JSON answer's ``message_id`` (or ``id``) is kept as the
reference. A timeout, a refused connection, a 5xx, 408 or 429 is retried; another 4xx is final.

May duplicate: if the gateway accepted a message but its answer was lost (a timeout after the
request arrived), the outbox sends again with the same request_id. A gateway that de-duplicates on
request_id (as most commercial ones do, and as the test gateway does) sends one SMS; one that
does not sends two.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from typing import Any, ClassVar

from notifications.channels.base import (
    Channel,
    Message,
    PermanentChannelError,
    Receipt,
    TransientChannelError,
)

# A mainland mobile number (11 digits, 1[3-9]…), optionally written with +86 / 86 and separators.
_MOBILE = re.compile(r"1[3-9]\d{9}")
RETRY_STATUSES = frozenset({408, 425, 429})


def normalise_phone(raw: str) -> str | None:
    digits = re.sub(r"[\s\-()]", "", raw)
    digits = digits.removeprefix("+86") if digits.startswith("+86") else digits
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    return digits if _MOBILE.fullmatch(digits) else None


class SmsHttpChannel(Channel):
    name: ClassVar[str] = "sms_http"
    may_duplicate: ClassVar[bool] = True

    def __init__(self, url: str, *, token: str | None = None, timeout: float = 10.0) -> None:
        self.url = url
        self.token = token
        self.timeout = timeout

    def send(self, message: Message) -> Receipt:
        if not message.address:
            raise PermanentChannelError(
                f"notification {message.notification_id}: no mobile phone number on file for "
                f"{message.recipient_role} {message.recipient_name or ''}".rstrip())
        phone = normalise_phone(message.address)
        if phone is None:
            raise PermanentChannelError(
                f"notification {message.notification_id}: {message.address!r} is not a mobile phone number")
        body = json.dumps({"request_id": message.key, "phone": phone, "content": message.text,
                           "template": message.template, "notification_id": message.notification_id},
                          ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8", "Idempotency-Key": message.key}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer = response.read()
        except urllib.error.HTTPError as exc:
            with exc:
                detail = exc.read(300).decode("utf-8", "replace").strip()
            error = f"SMS gateway answered HTTP {exc.code}{': ' + detail if detail else ''}"
            if exc.code >= 500 or exc.code in RETRY_STATUSES:
                raise TransientChannelError(error) from exc
            raise PermanentChannelError(error) from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", None) or exc or type(exc).__name__
            raise TransientChannelError(f"SMS gateway {self.url}: {reason}") from exc
        return Receipt(self.name, _reference(answer) or message.key)


def _reference(answer: bytes) -> str | None:
    try:
        data: Any = json.loads(answer or b"null")
    except ValueError:
        return None
    if isinstance(data, dict):
        found = data.get("message_id") or data.get("id")
        return str(found) if found is not None else None
    return None
