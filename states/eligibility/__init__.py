"""Eligibility (CONTRACT §5): is this filing eligible under this policy, at what level, decided by
whom, and if not, every unmet condition with a reason code and a Chinese message.

Pure rules: no database, no clock. The order of reasons is fixed: identity, fraud bar, scope
(district, specialty, civil servant, employer), then the track's own (recognition: certificate,
level, years, committee; assessment: route, credits, appraisals, photo, statement).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from states.applicant import ApplicantFiling
from states.eligibility.assessment import assess
from states.eligibility.filing import FilingError, parse_filing
from states.eligibility.recognition import recognise
from states.eligibility.result import BarInfo, EligibilityResult, Hint, Reason
from states.eligibility.scope import (
    canonical_district,
    check_bars,
    check_district,
    check_identity,
    check_person,
    check_specialty,
)
from states.policy import Policy

__all__ = [
    "BarInfo",
    "EligibilityResult",
    "FilingError",
    "Hint",
    "Reason",
    "evaluate",
    "parse_filing",
    "reference_date",
]


def reference_date(policy: Policy, as_of: dt.date | None) -> dt.date:
    """The day years are counted to: a round's own date (000 §六, 001 §六.1, 002 附件2 §三.2), or for a
    standing scheme the day of submission, `as_of` (CONTRACT §4)."""
    if policy.reference_date is not None:
        return policy.reference_date
    if as_of is None:
        raise ValueError(f"{policy.id} is a standing scheme: give as_of, the day of submission")
    return as_of


def evaluate(policy: Policy, filing: ApplicantFiling, *, as_of: dt.date | None = None,
             bars: Sequence[BarInfo] = ()) -> EligibilityResult:
    reference = reference_date(policy, as_of)
    # The bar is by the year of submission: `as_of` when given, else the round's year.
    submitted_in = (as_of or reference).year
    found = check_identity(policy, filing) + check_bars(bars, submitted_in)
    district = canonical_district(policy, filing.district)
    district_reasons = check_district(policy, filing.district, district)
    found += district_reasons
    found += check_specialty(policy, filing.specialty)
    found += check_person(policy, filing)
    in_scope = district if not district_reasons else None
    if policy.track == "assessment":
        outcome = assess(policy, filing, reference, in_scope)
    else:
        outcome = recognise(policy, filing, reference, in_scope)
    found += outcome.reasons
    eligible = not found
    return EligibilityResult(
        policy=policy.id,
        eligible=eligible,
        level=outcome.level if eligible else None,
        title=outcome.title,
        series=outcome.series,
        full_years=outcome.full_years,
        reference_date=reference,
        committee=outcome.committee if eligible else None,
        reasons=tuple(found),
        rule=outcome.rule if eligible else None,
        catalogue_no=outcome.catalogue_no,
        hints=outcome.hints,
    )
