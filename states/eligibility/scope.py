"""Who a policy is for: identity documents, fraud bars, districts, specialties, civil servants and
kinds of employer (CONTRACT §2 scope, §4 fraud bar)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import yaml
from pydantic import Field

from states.applicant import ApplicantFiling
from states.eligibility import reasons
from states.eligibility.result import BarInfo, Reason
from states.eligibility.text import key
from states.policy import POLICY_DIR, CommitteeTable, DistrictSet, Frozen, Policy

# The city whose districts a policy's scope is checked against when the policy carries no committee
# table of its own (seed 003 附件2 lists Hangzhou's districts; seed 004 第二条 limits Wuxi's scheme to
# those working in Wuxi, whose districts and county-level cities wuxi-districts.yaml lists).
CITY_DISTRICT_FILES: dict[str, str] = {"杭州市": "hangzhou-committees.yaml", "无锡市": "wuxi-districts.yaml"}

# Other names for a Hangzhou district. Seed 003 附件2 names "杭州市滨江区建设工程技术人员工程师资格评审
# 委员会" for 高新区（滨江）, and 001 §一 writes 高新区（滨江）: one district under both names.
DISTRICT_ALIASES: dict[str, str] = {
    "滨江区": "高新区（滨江）",
    "高新区": "高新区（滨江）",
    "杭州高新区": "高新区（滨江）",
    "杭州高新技术产业开发区": "高新区（滨江）",
}


class CityDistricts(Frozen):
    """A city's districts and county-level cities, with other names of some of them."""

    source: str
    districts: tuple[str, ...]
    aliases: dict[str, str] = Field(default_factory=dict)


@lru_cache(maxsize=4)
def _district_file(name: str) -> CityDistricts:
    raw = yaml.safe_load((POLICY_DIR / name).read_text(encoding="utf-8"))
    if "committees" in raw:  # a committee table (Hangzhou): its districts
        table = CommitteeTable.model_validate(raw)
        return CityDistricts(source=table.source, districts=table.districts)
    return CityDistricts.model_validate(raw)


def city_districts(policy: Policy) -> tuple[str, ...] | None:
    """The districts of the policy's city, or None when zcflow does not list them."""
    if policy.committee_table is not None:
        return policy.committee_table.districts
    file = CITY_DISTRICT_FILES.get(policy.scope.city)
    return _district_file(file).districts if file else None


def _aliases(policy: Policy) -> dict[str, str]:
    file = CITY_DISTRICT_FILES.get(policy.scope.city)
    return {**DISTRICT_ALIASES, **(_district_file(file).aliases if file else {})}


def canonical_district(policy: Policy, typed: str) -> str | None:
    """The district as the seeds name it, or None when it is not a district of the policy's city.
    "杭州市上城区" and "上城区" are one district; aliases as above; brackets and spaces are ignored."""
    name = typed.strip().removeprefix(policy.scope.city).strip()
    known = city_districts(policy)
    if known is None:
        return name
    by_key = {key(d): d for d in known}
    by_key.update({key(alias): d for alias, d in _aliases(policy).items() if d in known})
    return by_key.get(key(name))


def describe(districts: DistrictSet, city: str) -> str:
    if districts.only is not None:
        return "仅限" + "、".join(districts.only)
    assert districts.all_except is not None
    return f"{city}，不含" + "、".join(districts.all_except)


def check_identity(policy: Policy, filing: ApplicantFiling) -> list[Reason]:
    accepted = policy.scope.id_types
    if filing.id_type in accepted:
        return []
    return [reasons.id_type_not_accepted(filing.id_type, accepted)]


def check_bars(bars: Sequence[BarInfo], year: int) -> list[Reason]:
    """CONTRACT §4: fraud found in year Y bars the person from submitting in Y+1..Y+3."""
    return [reasons.barred(b.from_year, b.to_year, year) for b in bars if b.covers(year)]


def check_district(policy: Policy, typed: str, district: str | None) -> list[Reason]:
    if district is None:
        return [reasons.district_unknown(typed, policy.scope.city)]
    covered = policy.scope.districts
    if covered is not None and not covered.covers(district):
        return [reasons.district_not_covered(district, describe(covered, policy.scope.city))]
    return []


def _excluded_hit(specialty: str, excluded: Sequence[str]) -> str | None:
    """The excluded specialty (002 §一) that the filing's specialty names or contains
    ("通信工程技术" contains 通信工程)."""
    typed = key(specialty)
    return next((name for name in excluded if key(name) in typed), None)


def _in_industry(specialty: str, industry: str) -> bool:
    """A specialty belongs to an industry when it names it ("电子信息工程" contains 电子) or is a part
    of its name of two characters or more ("纺织" of 纺织服装)."""
    typed, name = key(specialty), key(industry)
    return name in typed or (len(typed) >= 2 and typed in name)


def check_specialty(policy: Policy, specialty: str) -> list[Reason]:
    """The scope's industries (001 §一; 002 §一) name the specialties a policy takes. The seed lists end
    in 等, but zcflow takes them as given. An excluded specialty (002 §一) is reported on its own."""
    hit = _excluded_hit(specialty, policy.scope.excluded_specialties)
    if hit is not None:
        return [reasons.excluded_specialty(specialty, hit)]
    industries = policy.scope.industries
    if industries and not any(_in_industry(specialty, i) for i in industries):
        return [reasons.industry_not_covered(specialty, industries)]
    return []


def check_person(policy: Policy, filing: ApplicantFiling) -> list[Reason]:
    """Civil servants (002 §一) and excluded kinds of employer (002 §一)."""
    found: list[Reason] = []
    if filing.civil_servant and not policy.scope.civil_servants_allowed:
        found.append(reasons.civil_servant())
    kind = filing.employer_kind
    if kind is not None and kind in policy.scope.excluded_employer_kinds:
        found.append(reasons.excluded_employer(kind))
    return found
