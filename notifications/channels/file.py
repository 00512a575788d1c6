"""The default channel (and the demo's): each message becomes one file under a directory, e.g.
``./zcflow-outbox/email/00000012-submitted.eml``; SMS as ``.txt``, in-app as ``.json``.

The file name is the notification id, and a file is written under a temporary name and renamed into
place, so a re-send after a crash finds the file there and does not write a second copy: this
channel never duplicates.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import ClassVar

from notifications.channels.base import Channel, Message, Receipt, TransientChannelError
from notifications.mime import build_email
from notifications.render import sms_segments

DEFAULT_DIRECTORY = Path("zcflow-outbox")
EXTENSIONS = {"email": "eml", "sms": "txt"}


class FileChannel(Channel):
    name: ClassVar[str] = "file"
    may_duplicate: ClassVar[bool] = False

    def __init__(self, directory: Path | str = DEFAULT_DIRECTORY, *, sender: str = "zcflow@localhost",
                 domain: str = "zcflow.local") -> None:
        self.directory = Path(directory)
        self.sender = sender
        self.domain = domain

    def path_for(self, message: Message) -> Path:
        ext = EXTENSIONS.get(message.channel, "json")
        return self.directory / message.channel / f"{message.notification_id:08d}-{message.template}.{ext}"

    def _content(self, message: Message) -> bytes:
        if message.channel == "email":
            return bytes(build_email(message, self.sender, self.domain))
        if message.channel == "sms":
            head = [f"To: {message.address or '(no phone number on file)'} ({message.recipient_name or ''})",
                    f"Key: {message.key}", f"Template: {message.template}",
                    f"Segments: {sms_segments(message.text)}", ""]
            return ("\n".join(head) + "\n" + message.text + "\n").encode("utf-8")
        record = {"id": message.notification_id, "key": message.key, "channel": message.channel,
                  "template": message.template, "recipient_role": message.recipient_role,
                  "recipient": message.recipient_name, "address": message.address,
                  "created_at": message.created_at.isoformat(), "subject": message.subject,
                  "text": message.text}
        return (json.dumps(record, ensure_ascii=False, indent=2) + "\n").encode("utf-8")

    def send(self, message: Message) -> Receipt:
        path = self.path_for(message)
        if path.exists():
            return Receipt(self.name, str(path), duplicate=True)
        content = self._content(message)
        tmp: str | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except OSError as exc:  # a full or read-only disk may come right: try again later
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)
            raise TransientChannelError(f"cannot write {path}: {exc.strerror or exc}") from exc
        return Receipt(self.name, str(path))
