"""In-app messages: the office reads them in the admin UI, straight from the outbox table, so
delivering one is only marking it delivered. Nothing leaves the database; nothing can duplicate."""

from __future__ import annotations

from typing import ClassVar

from notifications.channels.base import Channel, Message, Receipt


class InAppChannel(Channel):
    name: ClassVar[str] = "inapp"
    may_duplicate: ClassVar[bool] = False

    def send(self, message: Message) -> Receipt:
        return Receipt(self.name, message.key)
