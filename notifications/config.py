"""Which transport delivers each outbox channel, chosen by environment variables.

The row's `channel` column (sms | email | inapp, workflow/notify.py) picks the transport:

| variable | meaning | default |
|---|---|---|
| ZCFLOW_OUTBOX_DIR | where the `file` channel writes | ./zcflow-outbox |
| ZCFLOW_EMAIL_CHANNEL | file, smtp or memory | smtp when ZCFLOW_SMTP_HOST is set, else file |
| ZCFLOW_SMTP_HOST / ZCFLOW_SMTP_PORT | the SMTP server | port 25 (465 with ssl, 587 with starttls) |
| ZCFLOW_SMTP_SECURITY | none, starttls or ssl | none |
| ZCFLOW_SMTP_USER / ZCFLOW_SMTP_PASSWORD | SMTP login, when the server wants one | none |
| ZCFLOW_SMTP_FROM | the sender address | zcflow@localhost |
| ZCFLOW_SMTP_TIMEOUT | seconds | 10 |
| ZCFLOW_SMS_CHANNEL | file, http or memory | http when ZCFLOW_SMS_URL is set, else file |
| ZCFLOW_SMS_URL / ZCFLOW_SMS_TOKEN | the HTTP SMS gateway and its bearer token | none |
| ZCFLOW_SMS_TIMEOUT | seconds | 10 |

`inapp` rows are always marked delivered: the admin UI reads them from the table.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from notifications.channels.base import Channel, ChannelConfigError
from notifications.channels.file import DEFAULT_DIRECTORY, FileChannel
from notifications.channels.inapp import InAppChannel
from notifications.channels.memory import MemoryChannel
from notifications.channels.sms_http import SmsHttpChannel
from notifications.channels.smtp import Security, SmtpChannel

OUTBOX_CHANNELS = ("sms", "email", "inapp")


@dataclass
class Transports:
    """The channel object for each value of the outbox's `channel` column."""

    sms: Channel
    email: Channel
    inapp: Channel = field(default_factory=InAppChannel)

    def for_channel(self, channel: str) -> Channel | None:
        return {"sms": self.sms, "email": self.email, "inapp": self.inapp}.get(channel)

    def __iter__(self) -> Iterator[Channel]:
        seen: list[Channel] = []
        for channel in (self.sms, self.email, self.inapp):
            if all(channel is not s for s in seen):
                seen.append(channel)
        return iter(seen)

    def close(self) -> None:
        for channel in self:
            channel.close()

    def describe(self) -> dict[str, str]:
        return {"sms": self.sms.name, "email": self.email.name, "inapp": self.inapp.name}


def memory_transports(keep: bool = True) -> Transports:
    """One MemoryChannel for SMS and email (tests and the simulator; the simulator keeps no messages)."""
    memory = MemoryChannel(keep=keep)
    return Transports(sms=memory, email=memory)


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ChannelConfigError(f"{name}: {raw!r} is not a number") from None
    if value <= 0:
        raise ChannelConfigError(f"{name}: must be greater than 0, got {raw!r}")
    return value


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ChannelConfigError(f"{name}: {raw!r} is not a TCP port (1-65535)")
    return int(raw)


def _choice(env: Mapping[str, str], name: str, allowed: tuple[str, ...], default: str) -> str:
    value = (env.get(name) or default).strip().lower()
    if value not in allowed:
        raise ChannelConfigError(f"{name}: {value!r} is not one of {', '.join(allowed)}")
    return value


def transports_from_env(env: Mapping[str, str] | None = None) -> Transports:
    """The transports the environment configures; everything defaults to the `file` channel."""
    env = os.environ if env is None else env
    directory = Path(env.get("ZCFLOW_OUTBOX_DIR") or DEFAULT_DIRECTORY)
    sender = env.get("ZCFLOW_SMTP_FROM") or "zcflow@localhost"
    if "@" not in sender:
        raise ChannelConfigError(f"ZCFLOW_SMTP_FROM: {sender!r} is not an email address")
    shared_file = FileChannel(directory, sender=sender)
    memory: MemoryChannel | None = None

    def shared_memory() -> MemoryChannel:
        nonlocal memory
        memory = memory or MemoryChannel()
        return memory

    email_kind = _choice(env, "ZCFLOW_EMAIL_CHANNEL", ("file", "smtp", "memory"),
                         "smtp" if env.get("ZCFLOW_SMTP_HOST") else "file")
    email: Channel
    if email_kind == "smtp":
        host = env.get("ZCFLOW_SMTP_HOST")
        if not host:
            raise ChannelConfigError("ZCFLOW_SMTP_HOST: required when ZCFLOW_EMAIL_CHANNEL=smtp")
        security: Security = "none"
        chosen = _choice(env, "ZCFLOW_SMTP_SECURITY", ("none", "starttls", "ssl"), "none")
        if chosen == "starttls":
            security = "starttls"
        elif chosen == "ssl":
            security = "ssl"
        default_port = {"none": 25, "starttls": 587, "ssl": 465}[security]
        email = SmtpChannel(host, _port(env, "ZCFLOW_SMTP_PORT", default_port), sender=sender,
                            username=env.get("ZCFLOW_SMTP_USER") or None,
                            password=env.get("ZCFLOW_SMTP_PASSWORD") or None, security=security,
                            timeout=_number(env, "ZCFLOW_SMTP_TIMEOUT", 10.0))
    elif email_kind == "memory":
        email = shared_memory()
    else:
        email = shared_file

    sms_kind = _choice(env, "ZCFLOW_SMS_CHANNEL", ("file", "http", "memory"),
                       "http" if env.get("ZCFLOW_SMS_URL") else "file")
    sms: Channel
    if sms_kind == "http":
        url = env.get("ZCFLOW_SMS_URL") or ""
        if not url.startswith(("http://", "https://")):
            raise ChannelConfigError(f"ZCFLOW_SMS_URL: {url!r} is not an http(s) URL")
        sms = SmsHttpChannel(url, token=env.get("ZCFLOW_SMS_TOKEN") or None,
                             timeout=_number(env, "ZCFLOW_SMS_TIMEOUT", 10.0))
    elif sms_kind == "memory":
        sms = shared_memory()
    else:
        sms = shared_file
    return Transports(sms=sms, email=email)
