"""The one small base every delivery channel implements, and the errors channels raise.

A channel takes one rendered :class:`Message` and either confirms it (returns a :class:`Receipt`) or
raises: :class:`TransientChannelError` when trying again later may work (a timeout, a refused
connection, a 4xx SMTP reply, a 5xx or 429 HTTP answer), :class:`PermanentChannelError` when it
never will (no address on file, a 5xx SMTP reply to the recipient, a 4xx HTTP answer). The outbox
(notifications/outbox.py) turns those into a retry with backoff or a `failed` row.

Every message carries an idempotency key derived from the notification id. A channel that can use
it to recognise a repeat (`file`, `memory`) never duplicates; one that can only pass it on
(`smtp`: Message-ID; `sms_http`: request_id) may deliver a second copy if a send was accepted but
its confirmation was lost — see each channel's `may_duplicate`.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar


class ChannelError(Exception):
    """A message was not delivered."""


class TransientChannelError(ChannelError):
    """Not delivered this time; the outbox retries with exponential backoff."""


class PermanentChannelError(ChannelError):
    """Never deliverable as it stands; the outbox marks the row failed at once."""


class ChannelConfigError(ValueError):
    """A channel's configuration (environment variable) is missing or malformed; names the variable."""


def idempotency_key(notification_id: int) -> str:
    """The key every channel is given for one outbox row, stable across retries and processes."""
    return f"zcflow-notification-{notification_id}"


@dataclass(frozen=True)
class Message:
    """One rendered notification, ready for a channel."""

    notification_id: int
    key: str
    channel: str  # the row's channel column: sms | email | inapp
    template: str
    recipient_role: str
    recipient_name: str | None
    address: str | None  # a phone number for sms, an email address for email; None for inapp
    text: str
    created_at: dt.datetime
    subject: str | None = None
    html: str | None = None


@dataclass(frozen=True)
class Receipt:
    """A channel's confirmation. `reference` is the transport's own id (Message-ID, gateway id, file)."""

    transport: str
    reference: str | None = None
    duplicate: bool = False  # the channel recognised the key and did not deliver again


class Channel(ABC):
    """A way to deliver messages. Implementations are safe to call from several threads."""

    name: ClassVar[str]
    # Whether a second send with the same key can reach the recipient a second time.
    may_duplicate: ClassVar[bool]

    @abstractmethod
    def send(self, message: Message) -> Receipt:
        """Deliver `message`, or raise TransientChannelError / PermanentChannelError."""

    def close(self) -> None:  # noqa: B027 - optional hook; most channels hold nothing open
        """Release connections; the outbox calls it when a delivery run ends."""
