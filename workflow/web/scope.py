"""What a web user may see (CONTRACT §8), and its one SQL form.

`User.scope` is a JSON object whose keys depend on the role:

- employer: `{"employer": "杭州示范机电有限公司"}`; sees cases whose `employer` is that employer
  (its own staff).
- department: `{"district": "上城区"}`; sees cases whose `district` is that district.
- committee: `{"committees": [...]}` and/or `{"districts": [...], "series": [...]}`; sees cases
  whose `committee` is one of `committees`, or whose `district` is in `districts` and `series`
  in `series` (the Hangzhou table decides by district and series, seed 003 附件2).
- city: `{"city": "杭州市"}`; sees the cases of that city's policies (`policy.scope.city`).
- admin: `{}`; sees every case.
- platform: `{"policies": ["hz-recognition-2025h1", ...]}`; an applicant-facing platform (CONTRACT §11):
  sees, creates and acts (the applicant's actions only) on the cases of the policies it serves.

Every read and every action goes through :func:`scope_filter` (its SQL :func:`case_condition` for
reads, its row test inside an action's transaction), so a case outside the scope is simply not found
(404), never "forbidden" (403): nothing about it leaks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import and_, false, or_, true
from sqlalchemy.sql.elements import ColumnElement

from states.policy import Policy, policies
from states.vocabulary import Role
from storage.repo import cases

WEB_ROLES: tuple[Role, ...] = (Role.employer, Role.department, Role.committee, Role.city, Role.admin,
                               Role.platform)


class ScopeError(ValueError):
    """A scope that does not fit its role; the message names the key."""


class UserScope(BaseModel):
    """The parsed `User.scope`. Which keys are required depends on the role (see the table above)."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    employer: str | None = Field(default=None, min_length=1, max_length=200)
    district: str | None = Field(default=None, min_length=1, max_length=64)
    committees: tuple[str, ...] = ()
    districts: tuple[str, ...] = ()
    series: tuple[str, ...] = ()
    city: str | None = Field(default=None, min_length=1, max_length=64)
    policies: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _no_blank_names(self) -> UserScope:
        for key in ("committees", "districts", "series", "policies"):
            for i, value in enumerate(getattr(self, key)):
                if not value.strip():
                    raise ValueError(f"{key}[{i}] is empty")
        return self

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_defaults=True)


_ALLOWED_KEYS: dict[Role, frozenset[str]] = {
    Role.employer: frozenset({"employer"}),
    Role.department: frozenset({"district"}),
    Role.committee: frozenset({"committees", "districts", "series"}),
    Role.city: frozenset({"city"}),
    Role.admin: frozenset(),
    Role.platform: frozenset({"policies"}),
}


def parse_role(value: str) -> Role:
    try:
        role = Role(value)
    except ValueError:
        role = None
    if role not in WEB_ROLES:
        raise ScopeError(f"role: {value!r} is not a web role; roles: {', '.join(r.value for r in WEB_ROLES)}")
    assert role is not None
    return role


def parse_scope(role: Role, data: dict[str, Any]) -> UserScope:
    """Validate `data` as the scope of a user with `role`; the error names the key."""
    try:
        scope = UserScope.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "scope"
        raise ScopeError(f"scope.{where}: {err['msg'].removeprefix('Value error, ')}") from None
    given = set(scope.model_fields_set)
    extra = given - _ALLOWED_KEYS[role]
    if extra:
        raise ScopeError(f"scope.{sorted(extra)[0]}: not a scope key of role {role.value} "
                         f"(keys: {', '.join(sorted(_ALLOWED_KEYS[role])) or 'none'})")
    if role is Role.employer and not scope.employer:
        raise ScopeError("scope.employer: an employer user needs its employer's name")
    if role is Role.department and not scope.district:
        raise ScopeError("scope.district: a department user needs its district")
    if role is Role.committee:
        if bool(scope.districts) != bool(scope.series):
            raise ScopeError("scope.series: give districts and series together")
        if not scope.committees and not scope.districts:
            raise ScopeError("scope.committees: a committee user needs committees, or districts and series")
    if role is Role.city:
        cities = sorted({p.scope.city for p in policies().values()})
        if scope.city not in cities:
            raise ScopeError(f"scope.city: {scope.city!r} is not a city of any policy ({', '.join(cities)})")
    if role is Role.platform:
        if not scope.policies:
            raise ScopeError("scope.policies: a platform user needs the ids of the policies it serves")
        known = policies()
        for i, policy_id in enumerate(scope.policies):
            if policy_id not in known:
                raise ScopeError(f"scope.policies[{i}]: {policy_id!r} is not a policy ({', '.join(known)})")
    return scope


@dataclass(frozen=True)
class WebUser:
    id: int
    username: str
    role: Role
    scope: UserScope
    epoch: int = 0  # users.auth_epoch when loaded: what a new session or token is issued under

    @property
    def scope_text(self) -> str:
        s = self.scope
        parts = [s.employer, s.district, s.city, *s.committees, *s.policies]
        if s.districts:
            parts.append(f"{'、'.join(s.districts)} · {'、'.join(s.series)}")
        return "；".join(p for p in parts if p) or "全部"


def city_policies(city: str | None) -> list[str]:
    return [p.id for p in policies().values() if p.scope.city == city]


@dataclass(frozen=True)
class ScopeFilter:
    """What a user may see, as data: a case is in scope when any term holds, a term being columns
    each within its values (no terms: nothing; one empty term: everything). It gives the SQL
    condition for queries and the same test on a case already loaded (an action checks the row its
    move reads, in the move's transaction, without a query of its own)."""

    terms: tuple[tuple[tuple[str, tuple[str, ...]], ...], ...]

    def condition(self) -> ColumnElement[bool]:
        ors: list[ColumnElement[bool]] = []
        for term in self.terms:
            if not term:
                return true()
            ands = [cases.c[column] == values[0] if len(values) == 1 else cases.c[column].in_(values)
                    for column, values in term]
            ors.append(ands[0] if len(ands) == 1 else and_(*ands))
        if not ors:
            return false()
        return ors[0] if len(ors) == 1 else or_(*ors)

    def admits(self, case: Any) -> bool:
        return any(all(getattr(case, column) in values for column, values in term) for term in self.terms)


EVERYTHING = ScopeFilter(((),))
NOTHING = ScopeFilter(())


def scope_filter(user: WebUser) -> ScopeFilter:
    """The cases `user` may see (deny by default). The one source of the table above."""
    s = user.scope
    if user.role is Role.admin:
        return EVERYTHING
    if user.role is Role.employer:
        return ScopeFilter(((("employer", (s.employer,)),),)) if s.employer else NOTHING
    if user.role is Role.department:
        return ScopeFilter(((("district", (s.district,)),),)) if s.district else NOTHING
    if user.role is Role.committee:
        terms: list[tuple[tuple[str, tuple[str, ...]], ...]] = []
        if s.committees:
            terms.append((("committee", s.committees),))
        if s.districts and s.series:
            terms.append((("district", s.districts), ("series", s.series)))
        return ScopeFilter(tuple(terms))
    if user.role is Role.city:
        ids = tuple(city_policies(s.city))
        return ScopeFilter(((("policy_id", ids),),)) if ids else NOTHING
    if user.role is Role.platform:
        return ScopeFilter(((("policy_id", s.policies),),)) if s.policies else NOTHING
    return NOTHING


def case_condition(user: WebUser) -> ColumnElement[bool]:
    """The SQL condition that selects exactly the cases `user` may see."""
    return scope_filter(user).condition()


ALL_POLICIES: tuple[str, ...] = ("*",)  # whole_policies' answer for a scope of every policy


def whole_policies(user: WebUser) -> tuple[str, ...] | None:
    """The policies whose every case `user` sees, when that is the whole of the scope (ALL_POLICIES for
    an administrator); None for a scope that takes some of a policy's cases (a district, an employer…)."""
    if user.role is Role.admin:
        return ALL_POLICIES
    if user.role is Role.city:
        return tuple(city_policies(user.scope.city))
    if user.role is Role.platform:
        return tuple(user.scope.policies)
    return None


def visible_policies(user: WebUser) -> list[Policy]:
    """The policies whose pages and dashboards `user` may open: a city user only its city's."""
    if user.role is Role.city:
        return [p for p in policies().values() if p.scope.city == user.scope.city]
    if user.role is Role.platform:
        return [p for p in policies().values() if p.id in user.scope.policies]
    return list(policies().values())
