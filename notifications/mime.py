"""Email messages as MIME: one builder for the SMTP channel and the .eml files of the file channel."""

from __future__ import annotations

from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from notifications.channels.base import Message, PermanentChannelError


def message_id(message: Message, domain: str) -> str:
    """The Message-ID: the notification's idempotency key, so that a re-send carries the same id and a
    receiving system can drop the repeat (RFC 5322 §3.6.4)."""
    return f"<{message.key}@{domain}>"


def build_email(message: Message, sender: str, domain: str) -> EmailMessage:
    """multipart/alternative: the plain text first, then the HTML (the part a mail client prefers)."""
    mime = EmailMessage()
    mime["Subject"] = message.subject or message.template
    mime["From"] = sender
    if message.address:
        try:
            mime["To"] = Address(display_name=message.recipient_name or "", addr_spec=message.address)
        except (ValueError, IndexError, HeaderParseError) as exc:
            raise PermanentChannelError(
                f"notification {message.notification_id}: email address {message.address!r} is not valid: {exc}"
            ) from exc
    elif message.recipient_name:
        mime["X-Zcflow-Recipient"] = message.recipient_name
    mime["Date"] = format_datetime(message.created_at)
    mime["Message-ID"] = message_id(message, domain)
    mime["X-Zcflow-Notification"] = str(message.notification_id)
    mime["X-Zcflow-Template"] = message.template
    mime.set_content(message.text)
    if message.html:
        mime.add_alternative(message.html, subtype="html")
    return mime
