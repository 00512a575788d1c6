"""Recognition (认定): a catalogue qualification plus education and years give a level.

- The matched catalogue row's title caps the level: a 助理工程师 row gives at most assistant
  (003 附件1 认定职称; 004 附件 对应职称).
- A level with a years table (`years_after`) is reached when one relevant degree has the years its
  rule asks (003 附件1 §一/§二; 001 附件1 §二; 000 附件1 §二). The highest level reached wins, so a
  工程师 row with only assistant-level years gives assistant (003 正文: 助理级和中级).
- A level without a years table is set by the row alone (Wuxi, 004 第四条 and 附件).
- `requested_level` pins the level: one the policy or the row does not give is `level_not_available`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from states.applicant import ApplicantFiling
from states.eligibility import catalogue_match, reasons
from states.eligibility.outcome import LEVEL_TITLE, Outcome, cite, deciding_body, offered, rank
from states.eligibility.result import Reason
from states.eligibility.years import (
    EDUCATION_ORDER,
    DegreeYears,
    best,
    counting_start,
    full_years,
    measure,
    relevant,
)
from states.policy import CatalogueRow, Level, Policy


def target_levels(policy: Policy, row: CatalogueRow | None,
                  requested: Level | None) -> tuple[list[Level], list[Reason]]:
    """The levels worth trying, highest first, and why a wanted level is not available."""
    available = offered(policy)
    if requested is not None and requested not in available:
        return [], [reasons.level_not_offered(requested, available)]
    if row is None:  # nothing caps the level; the years are still checked so every gap is listed
        targets = [lv for lv in available if policy.levels[lv].years_after is not None]
        return _pinned(targets[::-1], requested), []
    cap = row.level
    targets = [lv for lv in available if rank(lv) <= rank(cap)
               and (policy.levels[lv].years_after is not None or lv == cap)]
    if requested is not None and requested not in targets:
        return [], [reasons.level_above_row(requested, row.no, row.title)]
    if not targets:
        return [], [reasons.level_not_offered(cap, available)]
    return _pinned(targets[::-1], requested), []


def _pinned(targets: list[Level], requested: Level | None) -> list[Level]:
    return [lv for lv in targets if requested is None or lv == requested]


def plain_years(filing: ApplicantFiling, reference: dt.date) -> int:
    """Years for a policy without a years table: from the highest relevant degree, else from work."""
    degrees = relevant(filing.education)
    if not degrees:
        return max(full_years(filing.work_start, reference), 0)
    top = max(degrees, key=lambda e: (EDUCATION_ORDER.index(e.level), e.graduated))
    return max(full_years(counting_start(top.graduated, filing.work_start), reference), 0)


def _by_years(policy: Policy, targets: Sequence[Level], filing: ApplicantFiling, reference: dt.date,
              row: CatalogueRow | None) -> tuple[Level | None, int | None, str | None, list[Reason]]:
    """The highest target level reached: (level, full years, rule, reasons when none is reached)."""
    last: list[DegreeYears] = []
    for level in targets:
        rule = policy.levels[level]
        if rule.years_after is None:
            assert row is not None  # target_levels only offers such a level for its own row
            by_row = f"catalogue row {row.no}: {row.title} ({cite(rule.source)})"
            return level, plain_years(filing, reference), by_row, []
        last = measure(filing.education, filing.work_start, reference, rule.years_after)
        decisive = best(last)
        if decisive is not None and decisive.passes:
            return level, decisive.years, f"{decisive.condition()} ({cite(rule.source)})", []
    if not targets:
        return None, None, None, []
    decisive = best(last)
    if decisive is None:
        return None, None, None, [reasons.no_relevant_education()]
    return None, max(decisive.years, 0), None, [reasons.insufficient_years(decisive, targets[-1], reference)]


def recognise(policy: Policy, filing: ApplicantFiling, reference: dt.date, district: str | None) -> Outcome:
    """`district` is the canonical district, or None when it is out of scope (no committee then)."""
    match = catalogue_match.find(policy.catalogue, filing.certificate)
    row = match.row
    found = list(match.reasons)
    cert = filing.certificate
    if cert is not None and cert.obtained is not None and cert.obtained > reference:
        found.append(reasons.certificate_not_yet_obtained(cert.obtained, reference))
    targets, level_reasons = target_levels(policy, row, filing.requested_level)
    found += level_reasons
    level, years, rule, years_reasons = _by_years(policy, targets, filing, reference, row)
    found += years_reasons
    series = row.series if row is not None else None
    committee = None
    if level is not None and district is not None and series is not None:
        committee = deciding_body(policy, level, district, series)
        if committee is None:
            found.append(reasons.no_committee(district, series))
    # Without a matched row nothing names the title, even when the years would reach a level.
    title = None if row is None else (LEVEL_TITLE[level] if level is not None else row.title)
    return Outcome(level, title, series, years, rule, committee, tuple(found),
                   row.no if row is not None else None, match.hints)
