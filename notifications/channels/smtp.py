"""Email over SMTP (smtplib), configured by ZCFLOW_SMTP_* (notifications/config.py).

May duplicate: SMTP has no way to ask whether a message was already accepted. If the server accepts
the DATA but the connection drops before its "250 OK" reaches us (or the process dies before the
row is marked sent), the outbox sends again, with the same Message-ID — a receiving system that
de-duplicates on Message-ID drops the copy; one that does not shows it twice.
"""

from __future__ import annotations

import smtplib
import ssl
from typing import ClassVar, Literal

from notifications.channels.base import (
    Channel,
    Message,
    PermanentChannelError,
    Receipt,
    TransientChannelError,
)
from notifications.mime import build_email, message_id

Security = Literal["none", "starttls", "ssl"]


class SmtpChannel(Channel):
    name: ClassVar[str] = "smtp"
    may_duplicate: ClassVar[bool] = True

    def __init__(self, host: str, port: int = 25, *, sender: str = "zcflow@localhost",
                 username: str | None = None, password: str | None = None, security: Security = "none",
                 timeout: float = 10.0, domain: str | None = None) -> None:
        self.host, self.port = host, port
        self.sender = sender
        self.username, self.password = username, password
        self.security: Security = security
        self.timeout = timeout
        self.domain = domain or (sender.rpartition("@")[2] or "zcflow.local")

    def _connect(self) -> smtplib.SMTP:
        if self.security == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                                 context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            if self.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
        if self.username:
            smtp.login(self.username, self.password or "")
        return smtp

    def send(self, message: Message) -> Receipt:
        if not message.address:
            raise PermanentChannelError(
                f"notification {message.notification_id}: no email address on file for "
                f"{message.recipient_role} {message.recipient_name or ''}".rstrip())
        mime = build_email(message, self.sender, self.domain)
        try:
            with self._connect() as smtp:
                smtp.send_message(mime)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            error = f"SMTP server refused the recipient: {exc.recipients}"
            if codes and all(code >= 500 for code in codes):
                raise PermanentChannelError(error) from exc
            raise TransientChannelError(error) from exc
        except smtplib.SMTPResponseException as exc:
            error = f"SMTP server answered {exc.smtp_code} {exc.smtp_error!r}"
            if exc.smtp_code >= 500 and not isinstance(exc, smtplib.SMTPAuthenticationError):
                raise PermanentChannelError(error) from exc
            raise TransientChannelError(error) from exc
        except (smtplib.SMTPException, OSError) as exc:  # refused, reset, timed out, TLS failure
            raise TransientChannelError(f"SMTP {self.host}:{self.port}: {exc or type(exc).__name__}") from exc
        return Receipt(self.name, message_id(message, self.domain))
