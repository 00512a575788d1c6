"""GB 11643-1999 citizen identity numbers (CONTRACT §7: length, birth date, check digit)."""

from __future__ import annotations

import datetime as dt
import re

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"  # ISO 7064 MOD 11-2, indexed by the weighted sum mod 11
_SHAPE = re.compile(r"^\d{17}[\dX]$")


class IdNumberError(ValueError):
    pass


def check_digit(first17: str) -> str:
    return _CHECK[sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def validate_resident_id(value: str, *, today: dt.date | None = None) -> str:
    """Return the normalised number (upper-case X) or raise IdNumberError saying what is wrong."""
    number = value.strip().upper()
    if len(number) != 18:
        raise IdNumberError(f"must have 18 characters, has {len(number)}")
    if not _SHAPE.match(number):
        raise IdNumberError("must be 17 digits followed by a digit or X")
    try:
        born = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError as exc:
        raise IdNumberError(f"birth date {number[6:14]} is not a real date") from exc
    if born.year < 1900 or born > (today or dt.date.today()):
        raise IdNumberError(f"birth date {born.isoformat()} is out of range")
    expected = check_digit(number[:17])
    if number[17] != expected:
        raise IdNumberError(f"check digit is {number[17]}, expected {expected}")
    return number


def mask(id_number: str) -> str:
    """What a public notice may show: the first 3 and last 2 characters (CONTRACT §7)."""
    if len(id_number) <= 5:
        return "*" * len(id_number)
    return id_number[:3] + "*" * (len(id_number) - 5) + id_number[-2:]
