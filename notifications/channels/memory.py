"""In-memory channel for tests and the simulator: keeps every message, once per idempotency key."""

from __future__ import annotations

import threading
from typing import ClassVar

from notifications.channels.base import Channel, Message, Receipt


class MemoryChannel(Channel):
    """`delivered` holds one message per key (a repeat is recognised and not stored again);
    `calls` records every send, repeats included, so a test can count attempts."""

    name: ClassVar[str] = "memory"
    may_duplicate: ClassVar[bool] = False

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.delivered: dict[str, Message] = {}
        self.calls: list[Message] = []

    def send(self, message: Message) -> Receipt:
        with self._lock:
            self.calls.append(message)
            if message.key in self.delivered:
                return Receipt(self.name, message.key, duplicate=True)
            self.delivered[message.key] = message
            return Receipt(self.name, message.key)

    def messages(self) -> list[Message]:
        """The delivered messages in the order they were first sent."""
        with self._lock:
            return list(self.delivered.values())
