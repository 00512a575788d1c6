"""Input hygiene: which characters a typed value may hold.

Control characters (Unicode category Cc: NUL, ESC, CR, LF, DEL, C1…) have no place in a name, a user
name, an employer or a district: CR/LF forged header lines in the SMS file format and ESC sequences
reached the operator's terminal (issue 17). Free text (a reason, a statement) may hold line breaks and
tabs, nothing else of the kind. PostgreSQL cannot store NUL at all.
"""

from __future__ import annotations

import unicodedata

FREE_TEXT_ALLOWED = "\n\r\t"


def control_character(value: str, allowed: str = "") -> str | None:
    """The first control character in `value` not in `allowed`, as U+XXXX; None when there is none."""
    for ch in value:
        if ch not in allowed and unicodedata.category(ch) == "Cc":
            return f"U+{ord(ch):04X}"
    return None


def refuse_control(value: str, allowed: str = "") -> str:
    """`value` unchanged, or ValueError naming the character (callers name the field)."""
    found = control_character(value, allowed)
    if found is not None:
        raise ValueError(f"must not contain control characters ({found})")
    return value


CLIP = 40  # characters of an echoed value kept in a message


def clip(value: object, limit: int = CLIP) -> str:
    """A value as an error message echoes it: its repr when short, else the repr of its first
    `limit` characters and its length — a 5 MB name gives a line, not 5 MB on stderr."""
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:limit]!r}… ({len(value)} characters)"
    text = repr(value)
    return text if len(text) <= 2 * limit else f"{text[:limit]}… ({len(text)} characters)"


def clip_message(message: str, limit: int = 2000) -> str:
    """A whole message cut to `limit` characters (a last guard where a value was not clipped)."""
    return message if len(message) <= limit else f"{message[:limit]}… ({len(message)} characters in all)"
