"""What an eligibility check returns (CONTRACT §5 output)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Reason:
    """One unmet condition. `code` is stable for scripts; `message` is Chinese for the applicant."""

    code: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True)
class BarInfo:
    """A fraud bar on this person: no submission in any year from `from_year` to `to_year`
    (CONTRACT §4: fraud found in year Y bars Y+1..Y+3)."""

    from_year: int
    to_year: int

    def covers(self, year: int) -> bool:
        return self.from_year <= year <= self.to_year


@dataclass(frozen=True)
class Hint:
    """A catalogue row offered when a certificate did not match exactly."""

    entry: int
    name: str  # the Chinese name, or the English one where the row has none
    name_en: str | None
    issuer: str | None
    title: str
    series: str

    def describe(self) -> str:
        english = f" {self.name_en}" if self.name_en and self.name_en != self.name else ""
        issuer = f"（{self.issuer}）" if self.issuer else ""
        return f"第{self.entry}项 {self.name}{english}{issuer}"

    def to_json(self) -> dict[str, Any]:
        return {"entry": self.entry, "name": self.name, "name_en": self.name_en, "issuer": self.issuer,
                "title": self.title, "series": self.series}


@dataclass(frozen=True)
class EligibilityResult:
    policy: str
    eligible: bool
    level: str | None  # None when not eligible
    # What the filing aims at (the matched catalogue row, or the assessment's title); kept when
    # not eligible so the applicant sees what was checked.
    title: str | None
    series: str | None
    full_years: int | None
    reference_date: dt.date
    committee: str | None  # None when not eligible
    reasons: tuple[Reason, ...]
    rule: str | None = None  # the condition that made it eligible, citing the seed
    catalogue_no: int | None = None
    hints: tuple[Hint, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "eligible": self.eligible,
            "level": self.level,
            "title": self.title,
            "series": self.series,
            "full_years": self.full_years,
            "reference_date": self.reference_date.isoformat(),
            "committee": self.committee,
            "reasons": [r.to_json() for r in self.reasons],
            "rule": self.rule,
            "catalogue_no": self.catalogue_no,
            "hints": [h.to_json() for h in self.hints],
        }
