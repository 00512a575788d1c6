"""The applicant's filing, as the eligibility check and the engine read it (CONTRACT §5).

Validated here, before anything reaches a table: bad input raises pydantic's ValidationError,
which the CLI and the API turn into a message naming the field.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from states.idcard import IdNumberError, validate_resident_id

IdType = Literal["resident_id", "hmt_permit", "foreign_work_permit", "passport"]
EducationLevel = Literal["college", "bachelor", "second_bachelor", "master", "doctorate"]
Route = Literal["normal", "direct", "skilled", "exceptional"]


class Input(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, str_strip_whitespace=True)


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
    employer: str = Field(min_length=1, max_length=200)
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

    @field_validator("id_number")
    @classmethod
    def _upper(cls, v: str) -> str:
        return v.upper()

    @model_validator(mode="after")
    def _id_valid(self) -> ApplicantFiling:
        if self.id_type == "resident_id":
            try:
                validate_resident_id(self.id_number)
            except IdNumberError as exc:
                raise ValueError(f"id_number: {exc}") from exc
        return self
