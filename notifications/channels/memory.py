"""In-memory channel for tests and the simulator: keeps every message, once per idempotency key."""

from __future__ import annotations

import threading
from typing import ClassVar

from notifications.channels.base import Channel, Message, Receipt


class MemoryChannel(Channel):
    """`delivered` holds one message per key (a repeat is recognised and not stored again);
    `calls` records every send, repeats included, so a test can count attempts. With
    ``keep=False`` (the simulator, tens of thousands of messages) only the keys are kept: repeats are
    still recognised, `delivered` and `calls` stay empty and `count` says how many were delivered."""

    name: ClassVar[str] = "memory"
    may_duplicate: ClassVar[bool] = False

    def __init__(self, keep: bool = True) -> None:
        self._lock = threading.Lock()
        self.keep = keep
        self.delivered: dict[str, Message] = {}
        self.calls: list[Message] = []
        self._keys: set[str] = set()

    @property
    def count(self) -> int:
        return len(self._keys)

    def send(self, message: Message) -> Receipt:
        with self._lock:
            if self.keep:
                self.calls.append(message)
            if message.key in self._keys:
                return Receipt(self.name, message.key, duplicate=True)
            self._keys.add(message.key)
            if self.keep:
                self.delivered[message.key] = message
            return Receipt(self.name, message.key)

    def messages(self) -> list[Message]:
        """The delivered messages in the order they were first sent."""
        with self._lock:
            return list(self.delivered.values())
