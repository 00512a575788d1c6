"""Reading a filing from JSON text (CONTRACT §5 input, §7: bad input names what is wrong)."""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from states.applicant import ApplicantFiling
from states.text import clip

INPUT = "(input)"
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATE_ERRORS = {"date_parsing", "date_from_datetime_parsing", "date_from_datetime_inexact", "date_type",
                "date_past", "date_future"}


class FilingError(ValueError):
    """An unusable filing: `field` is the path of the offending field (e.g. "education[0].graduated"),
    or "(input)" for the text as a whole. `problems` lists every (field, message) found."""

    def __init__(self, field: str, message: str, problems: tuple[tuple[str, str], ...] = ()) -> None:
        self.field, self.message = field, message
        self.problems = problems or ((field, message),)
        super().__init__(f"{field}: {message}")


def field_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or INPUT


def _message(err: ErrorDetails) -> str:
    kind, given = err["type"], err.get("input")
    if kind == "missing":
        return "required field is missing"
    if kind in _DATE_ERRORS:
        if isinstance(given, str) and _ISO_DAY.match(given):
            return f"not a real date {clip(given)}"
        return f"not a date in YYYY-MM-DD form: {clip(given)}"
    if kind == "literal_error":
        return f"unknown value {clip(given)}; expected one of {err.get('ctx', {}).get('expected', '')}"
    if kind == "value_error":
        return err["msg"].removeprefix("Value error, ")
    return f"{err['msg']} (got {clip(given)})"


def _from_validation(exc: ValidationError) -> FilingError:
    problems = tuple((field_path(e["loc"]), _message(e)) for e in exc.errors())
    return FilingError(problems[0][0], problems[0][1], problems)


def parse_filing(text: str) -> ApplicantFiling:
    """JSON text → a validated filing. Raises FilingError naming the field, never anything else."""
    try:
        raw: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FilingError(INPUT, f"not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from exc
    except (ValueError, TypeError, RecursionError) as exc:
        raise FilingError(INPUT, f"not JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise FilingError(INPUT, f"must be a JSON object, not {type(raw).__name__}")
    try:
        return ApplicantFiling.model_validate(raw)
    except ValidationError as exc:
        raise _from_validation(exc) from exc
    except (ValueError, TypeError, RecursionError) as exc:
        raise FilingError(INPUT, f"cannot be read: {exc}") from exc
