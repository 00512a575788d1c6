"""Rendering: Jinja2 templates that fail loudly (StrictUndefined), HTML autoescaped.

Layout of ``notifications/templates/``:

* ``sms/<template>.txt`` — one short message (see :func:`sms_segments`);
* ``email/<template>.txt`` — the email: its ``subject`` block is the subject line and its ``body``
  block the message, written once; the plain-text part lays it out with ``email/_layout.txt`` and
  the HTML part with ``email/_layout.html`` (autoescaped: a reason quoting ``<`` stays text);
* ``inapp/<template>.txt`` — what an office reads in the admin UI;
* ``documents/*.html`` — the printable documents (notifications/documents.py).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateError, select_autoescape

from notifications.context import TEMPLATES

TEMPLATE_DIR = Path(__file__).parent / "templates"
CHANNELS: tuple[str, ...] = ("sms", "email", "inapp")

# SMS sizes for UCS-2 text (any Chinese message): 70 characters fit one message; a longer one is sent
# as parts of 67 characters each, the other 3 carrying the concatenation header (3GPP TS 23.040).
SMS_SINGLE = 70
SMS_PART = 67


class RenderError(Exception):
    """A template that cannot be rendered: unknown, or reading a variable the context lacks."""


@dataclass(frozen=True)
class Rendered:
    template: str
    channel: str
    text: str
    subject: str | None = None
    html: str | None = None

    @property
    def segments(self) -> int:
        return sms_segments(self.text)


def sms_units(text: str) -> int:
    """UTF-16 code units: what UCS-2 SMS length is counted in (a character outside the BMP takes two)."""
    return len(text.encode("utf-16-le")) // 2


def sms_segments(text: str) -> int:
    """How many SMS parts `text` is sent as, in UCS-2: 1 up to 70 units, else ceil(units / 67)."""
    units = sms_units(text)
    if units <= SMS_SINGLE:
        return 1
    return math.ceil(units / SMS_PART)


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATE_DIR)),
        undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html", "htm", "xml"), default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    return env


def _squeeze(text: str) -> str:
    """Drop the blank lines that conditional blocks leave; keep paragraph breaks single."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    out: list[str] = []
    for line in lines:
        if not line and (not out or not out[-1]):
            continue
        out.append(line)
    return "\n".join(out)


def render_file(name: str, context: Mapping[str, Any]) -> str:
    try:
        return environment().get_template(name).render(**context)
    except (TemplateError, TypeError, ValueError, AttributeError) as exc:
        raise RenderError(f"template {name}: {exc}") from exc


def render(template: str, channel: str, context: Mapping[str, Any]) -> Rendered:
    """Render one notification template for one channel."""
    if template not in TEMPLATES:
        raise RenderError(f"template: unknown template {template!r}; templates: {', '.join(TEMPLATES)}")
    if channel not in CHANNELS:
        raise RenderError(f"channel: unknown channel {channel!r}; channels: {', '.join(CHANNELS)}")
    if channel == "sms":
        # One line: the template's lines are joined as written (Chinese text takes no spaces).
        text = "".join(line.strip() for line in render_file(f"sms/{template}.txt", context).splitlines())
        return Rendered(template, channel, text)
    if channel == "inapp":
        return Rendered(template, channel, _squeeze(render_file(f"inapp/{template}.txt", context)))
    name = f"email/{template}.txt"
    try:
        # One pass over the template, in one context: the subject block, the body block, then the
        # layout around the body's output (not rendered a second time), as `Template.render` would.
        tmpl = environment().get_template(name)
        ctx = tmpl.new_context(dict(context))
        subject = " ".join("".join(tmpl.blocks["subject"](ctx)).split())
        body_parts = list(tmpl.blocks["body"](ctx))
        ctx.blocks["body"] = [lambda _ctx: iter(body_parts)]
        full = "".join(tmpl.root_render_func(ctx))
    except (TemplateError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise RenderError(f"template {name}: {exc}") from exc
    body = _squeeze("".join(body_parts))
    text = _squeeze(full)
    paragraphs = [p.splitlines() for p in body.split("\n\n") if p.strip()]
    html = render_file("email/_layout.html", {**context, "subject": subject, "paragraphs": paragraphs})
    return Rendered(template, channel, text, subject=subject, html=html)
