"""Counting "N years" (CONTRACT §4).

Every seed counts full years (周年) to its reference date, and "以上" includes the number stated
(seeds/README.md; 000 §六, 001 §六.1, 002 附件2 §三.2): a person who graduated and started work on
2015-06-30 has 5 full years on 2020-06-30.

The seeds are silent on a start day of Feb 29. Here the anniversary of Feb 29 in a common year is
Feb 28, as the Civil Code counts periods of years (民法典 第二百零二条: 到期月没有对应日的，月末日为
期间的最后一日): 2016-02-29 has its first full year on 2017-02-28.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from states.applicant import Education, EducationLevel

# Lowest first. A degree a policy lists no rule for counts as the next lower degree it does list: a
# doctorate presupposes a master's degree, a second bachelor's degree a first one (e.g. Yuhang, seed
# 000 附件1 §二, has no second-bachelor rule; Hangzhou's assistant level, 003 附件1 §一, none for a
# doctorate). The entry's own graduation day is used, which never overstates the years.
EDUCATION_ORDER: tuple[EducationLevel, ...] = (
    "college", "bachelor", "second_bachelor", "master", "doctorate",
)

EDUCATION_ZH: dict[str, str] = {
    "college": "大学专科",
    "bachelor": "大学本科",
    "second_bachelor": "第二学士学位",
    "master": "硕士研究生",
    "doctorate": "博士",
}


def anniversary(start: dt.date, years: int) -> dt.date:
    """The day on which `years` full years from `start` are complete."""
    try:
        return start.replace(year=start.year + years)
    except ValueError:  # Feb 29 in a common year: the month's last day (民法典 第二百零二条)
        return dt.date(start.year + years, 2, 28)


def full_years(start: dt.date, reference: dt.date) -> int:
    """Full years (周年) from `start` to `reference`, inclusive; -1 when `start` is after `reference`."""
    if start > reference:
        return -1
    years = reference.year - start.year
    if anniversary(start, years) > reference:
        years -= 1
    return years


def counting_start(graduated: dt.date, work_start: dt.date) -> dt.date:
    """Years count from the later of graduation and the start of work in the specialty (CONTRACT §4)."""
    return max(graduated, work_start)


def rule_level(level: EducationLevel, listed: Iterable[EducationLevel]) -> EducationLevel | None:
    """The education level whose rule applies to a degree of `level` (see EDUCATION_ORDER)."""
    available = set(listed)
    for candidate in reversed(EDUCATION_ORDER[: EDUCATION_ORDER.index(level) + 1]):
        if candidate in available:
            return candidate
    return None


@dataclass(frozen=True)
class DegreeYears:
    """One relevant degree measured against one years-after table."""

    level: EducationLevel  # the degree held
    counted_as: EducationLevel  # the rule applied (see rule_level)
    required: int
    years: int  # full years, -1 when the counting start is after the reference date

    @property
    def passes(self) -> bool:
        return self.years >= self.required

    @property
    def shortfall(self) -> int:
        return self.required - self.years

    @property
    def rank(self) -> int:
        return EDUCATION_ORDER.index(self.level)

    def condition(self) -> str:
        """e.g. "bachelor+5", or "second_bachelor→bachelor+5" when a lower degree's rule applies."""
        held = self.level if self.level == self.counted_as else f"{self.level}→{self.counted_as}"
        return f"{held}+{self.required}"


def relevant(education: Sequence[Education]) -> list[Education]:
    """Only degrees in the specialty or a related one count (`relevant: true`): seed 002 附件1 §二 (所学
    专业与从事专业原则上须一致或相近，否则视为不具备规定学历); the recognition seeds ask for work in
    本专业或相近专业 after the degree, and zcflow applies the same reading to them."""
    return [e for e in education if e.relevant]


def measure(education: Sequence[Education], work_start: dt.date, reference: dt.date,
            years_after: Mapping[EducationLevel, int]) -> list[DegreeYears]:
    """Each relevant degree against `years_after`; degrees no rule covers are left out."""
    out: list[DegreeYears] = []
    for entry in relevant(education):
        counted_as = rule_level(entry.level, years_after)
        if counted_as is None:
            continue
        years = full_years(counting_start(entry.graduated, work_start), reference)
        out.append(DegreeYears(entry.level, counted_as, years_after[counted_as], years))
    return out


def best(measured: Sequence[DegreeYears]) -> DegreeYears | None:
    """The degree that decides: among those that pass, the highest degree (then the most years);
    when none passes, the one closest to passing (then the highest degree)."""
    passing = [m for m in measured if m.passes]
    if passing:
        return max(passing, key=lambda m: (m.rank, m.years))
    if measured:
        return min(measured, key=lambda m: (m.shortfall, -m.rank))
    return None
