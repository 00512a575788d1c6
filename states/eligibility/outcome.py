"""What a track's rules (recognition or assessment) conclude, before the scope checks are merged in;
and who decides a level."""

from __future__ import annotations

from dataclasses import dataclass

from states.eligibility.result import Hint, Reason
from states.policy import TITLE_LEVEL, Level, Policy, Source

LEVEL_ORDER: tuple[Level, ...] = ("assistant", "intermediate", "senior")  # lowest first
LEVEL_TITLE: dict[Level, str] = {level: title for title, level in TITLE_LEVEL.items()}


def rank(level: Level) -> int:
    return LEVEL_ORDER.index(level)


def offered(policy: Policy) -> list[Level]:
    """The levels a policy confers, lowest first."""
    return [lv for lv in LEVEL_ORDER if lv in policy.levels]


def cite(source: Source) -> str:
    """A short citation: the seed's number and the section, e.g. "001 附件1 §二 申报条件"."""
    return f"{source.file.split('_', 1)[0]} {source.section}"


@dataclass(frozen=True)
class Outcome:
    level: Level | None  # the level the rules give, whatever the other reasons
    title: str | None
    series: str | None
    full_years: int | None
    rule: str | None
    committee: str | None = None
    reasons: tuple[Reason, ...] = ()
    catalogue_no: int | None = None
    hints: tuple[Hint, ...] = ()


def deciding_body(policy: Policy, level: Level, district: str, series: str) -> str | None:
    """The body that decides `level` for this district and series, by its name in the notice."""
    decider = policy.levels[level].decided_by
    if decider.committee:
        return decider.committee
    if decider.by_series:
        return decider.by_series.get(series)
    if decider.table:
        table = policy.committee_table
        committee = table.deciding(district, series) if table is not None else None
        return committee.name if committee is not None else None
    assert decider.district_bureau
    return decider.district_bureau.format(district=district)
