"""The default channel (and the demo's): each message becomes one file under a directory, e.g.
``./zcflow-outbox/email/00000012-submitted.eml``; SMS as ``.txt``, in-app as ``.json``.

The file name is the notification id, and a file is written under a temporary name in ``.tmp/`` and
renamed into place, so a re-send after a crash finds the file there and does not write a second copy:
this channel never duplicates. A kill between the two leaves a temporary file: the channel removes
those older than :data:`STALE_AFTER` when it starts (younger ones may be another process's, mid-write).

The SMS file's header lines escape what they write (a CR or LF in a name cannot forge a header line).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import ClassVar

from notifications.channels.base import Channel, Message, Receipt, TransientChannelError
from notifications.mime import build_email
from notifications.render import sms_segments

DEFAULT_DIRECTORY = Path("zcflow-outbox")
EXTENSIONS = {"email": "eml", "sms": "txt"}
TMP = ".tmp"
STALE_AFTER = 600.0  # seconds: a write takes milliseconds


def header_value(value: object) -> str:
    """One header line's value: backslash and every control character escaped (\\n, \\x1b, …)."""
    text = str(value)
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch in "\r\n\t":
            out.append({"\r": "\\r", "\n": "\\n", "\t": "\\t"}[ch])
        elif ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 or ch in "\u2028\u2029":
            out.append(f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out)


class FileChannel(Channel):
    name: ClassVar[str] = "file"
    may_duplicate: ClassVar[bool] = False

    def __init__(self, directory: Path | str = DEFAULT_DIRECTORY, *, sender: str = "zcflow@localhost",
                 domain: str = "zcflow.local") -> None:
        self.directory = Path(directory)
        self.sender = sender
        self.domain = domain
        self.remove_stale()

    def remove_stale(self, older_than: float = STALE_AFTER) -> int:
        """Delete temporary files left by a killed writer (``.tmp/*``, and the ``.tmp-*`` files older
        versions left beside the messages); returns how many."""
        if not self.directory.is_dir():
            return 0
        limit = time.time() - older_than
        removed = 0
        for path in [*self.directory.glob(f"{TMP}/*"), *self.directory.glob("*/.tmp-*")]:
            try:
                if path.is_file() and path.stat().st_mtime < limit:
                    path.unlink()
                    removed += 1
            except OSError:  # another process removed it first
                continue
        return removed

    def path_for(self, message: Message) -> Path:
        ext = EXTENSIONS.get(message.channel, "json")
        return self.directory / message.channel / f"{message.notification_id:08d}-{message.template}.{ext}"

    def _content(self, message: Message) -> bytes:
        if message.channel == "email":
            return bytes(build_email(message, self.sender, self.domain))
        if message.channel == "sms":
            to = f"{message.address or '(no phone number on file)'} ({message.recipient_name or ''})"
            head = [f"To: {header_value(to)}", f"Key: {header_value(message.key)}",
                    f"Template: {header_value(message.template)}", f"Segments: {sms_segments(message.text)}", ""]
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
            (self.directory / TMP).mkdir(exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.directory / TMP, prefix=f"{path.stem}-", suffix=path.suffix)
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
