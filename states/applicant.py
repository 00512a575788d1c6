"""The applicant's filing, as the eligibility check and the engine read it (CONTRACT §5).

Validated here, before anything reaches a table: bad input raises pydantic's ValidationError,
which the CLI and the API turn into a message naming the field.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from states.idcard import IdNumberError, validate_resident_id
from states.text import FREE_TEXT_ALLOWED, refuse_control

IdType = Literal["resident_id", "hmt_permit", "foreign_work_permit", "passport"]
EducationLevel = Literal["college", "bachelor", "second_bachelor", "master", "doctorate"]
Route = Literal["normal", "direct", "skilled", "exceptional"]


class Input(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, str_strip_whitespace=True)

    # Free-text fields that may hold line breaks and tabs; every other text refuses control characters.
    FREE_TEXT: ClassVar[frozenset[str]] = frozenset({"statement"})

    @field_validator("*")
    @classmethod
    def _no_control(cls, value: object, info: ValidationInfo) -> object:
        # No name, number or address needs a control character (states/text.py); PostgreSQL cannot
        # hold NUL at all.
        if isinstance(value, str):
            refuse_control(value, FREE_TEXT_ALLOWED if info.field_name in cls.FREE_TEXT else "")
        return value


class Education(Input):
    level: EducationLevel
    graduated: dt.date
    relevant: bool = True


class CertificateRef(Input):
    """A qualification: by its 序号 in the policy's catalogue, or by name and issuer."""

    entry: int | None = Field(default=None, ge=1)
    name: str | None = None
    issuer: str | None = None
    obtained: dt.date | None = None

    @model_validator(mode="after")
    def _entry_or_name(self) -> CertificateRef:
        if self.entry is None and not self.name:
            raise ValueError("give `entry` (the catalogue 序号) or `name` (with `issuer`)")
        return self


class AssistantTitle(Input):
    """The assistant engineer title (助理工程师). Linping's normal and exceptional routes count years of
    actual appointment (实际聘任, seed 002 附件1 §二.（一）): from `appointed` when given, else `obtained`."""

    obtained: dt.date
    appointed: dt.date | None = None


class Technician(Input):
    """A technician qualification or skill grade (技师职业资格或职业技能等级):
    seed 002 附件1 §二.（二）2(1)."""

    obtained: dt.date


class Photo(Input):
    format: str
    bytes: int = Field(ge=0)
    width: int = Field(ge=0)
    height: int = Field(ge=0)


class ApplicantFiling(Input):
    name: str = Field(min_length=1, max_length=100)
    id_type: IdType = "resident_id"
    id_number: str = Field(min_length=1, max_length=64)
    district: str = Field(min_length=1, max_length=64)
    # Needed for a case, never for the eligibility check itself (CONTRACT §5).
    employer: str | None = Field(default=None, min_length=1, max_length=200)
    specialty: str = Field(min_length=1, max_length=100)
    civil_servant: bool = False
    education: list[Education] = Field(default_factory=list)
    work_start: dt.date
    certificate: CertificateRef | None = None
    phone: str | None = Field(default=None, max_length=32)
    email: str | None = Field(default=None, max_length=200)
    requested_level: Literal["assistant", "intermediate", "senior"] | None = None
    # Linping assessment (seed 002)
    route: Route | None = None
    assistant_title: AssistantTitle | None = None
    credits_since_2019: int | None = Field(default=None, ge=0)
    appraisals: dict[str, str] | None = None
    photo: Photo | None = None
    statement: str | None = None
    employer_kind: str | None = None
    # Route `skilled` (seed 002 附件1 §二.（二）2): a technician qualification, or honour codes from
    # lp-assessment-2022.yaml `assessment.routes.skilled.honours`.
    technician: Technician | None = None
    honours: list[str] = Field(default_factory=list)
    # Route `exceptional` (seed 002 附件1 §二.（三）): achievement codes from
    # `assessment.routes.exceptional.achievements`.
    achievements: list[str] = Field(default_factory=list)

    @field_validator("id_number")
    @classmethod
    def _id_valid(cls, v: str, info: ValidationInfo) -> str:
        """Upper-case; a resident ID is checked as GB 11643 requires (CONTRACT §7). `id_type` is
        declared before `id_number`, so it is validated first and present here when valid."""
        v = v.upper()
        if info.data.get("id_type") == "resident_id":
            try:
                return validate_resident_id(v)
            except IdNumberError as exc:
                raise ValueError(str(exc)) from exc
        return v
