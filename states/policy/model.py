"""The policy model: typed, frozen objects a policy file validates into, and the facts derived from them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from states.vocabulary import NOTICE_OFFICE, STAGE_KINDS, STAGES, Role

POLICY_DIR = Path(__file__).parent.parent / "policies"

Level = Literal["assistant", "intermediate", "senior"]
EducationLevel = Literal["college", "bachelor", "second_bachelor", "master", "doctorate"]
TITLE_LEVEL: dict[str, Level] = {"助理工程师": "assistant", "工程师": "intermediate", "高级工程师": "senior"}


class PolicyError(ValueError):
    """A policy file that cannot be used. Names the file and the field."""

    def __init__(self, file: str, field: str, message: str, line: int | None = None) -> None:
        self.file, self.field, self.message, self.line = file, field, message, line
        where = f"{file}:{line}" if line is not None else file
        super().__init__(f"{where}: {field}: {message}")


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Source(Frozen):
    file: str
    section: str


class DistrictSet(Frozen):
    """Districts given either as a list (`only`) or as the whole city less some (`all_except`)."""

    only: tuple[str, ...] | None = None
    all_except: tuple[str, ...] | None = None

    @model_validator(mode="after")
    def _one_form(self) -> DistrictSet:
        if (self.only is None) == (self.all_except is None):
            raise ValueError("give exactly one of `only` or `all_except`")
        return self

    def covers(self, district: str) -> bool:
        if self.only is not None:
            return district in self.only
        assert self.all_except is not None
        return district not in self.all_except


class Office(Frozen):
    """A published office: where applicants and employers send things and whom they call."""

    key: str
    name: str
    role: Role
    address: str | None = None
    phone: str | None = None
    contact: str | None = None
    district: str | None = None
    source: Source


class Scope(Frozen):
    province: Literal["zhejiang", "jiangsu"]
    city: str
    districts: DistrictSet | None = None  # None: the whole city
    industries: tuple[str, ...] = ()  # empty: any industry in the catalogue's series
    excluded_specialties: tuple[str, ...] = ()
    excluded_employer_kinds: tuple[str, ...] = ()
    civil_servants_allowed: bool = True
    id_types: tuple[Literal["resident_id", "hmt_permit", "foreign_work_permit", "passport"], ...]
    source: Source


class Window(Frozen):
    """The filing window: `submit` is allowed from the start of `opens` to the end of `closes`."""

    opens: dt.date
    closes: dt.date | None  # None: a standing scheme that stays open
    source: Source


class Cutoff(Frozen):
    """A hard cutoff: at the end of `date` every case still in one of `ends` expires (CONTRACT §4)."""

    name: str
    label: str
    date: dt.date
    ends: tuple[str, ...]
    # Who must act before it: reminders go to them (issue 4).
    reminds: tuple[Role, ...]
    source: Source


class Notice(Frozen):
    working_days: int = Field(ge=1, le=30)
    source: Source


class CatalogueRow(Frozen):
    no: int = Field(ge=1)
    name_zh: str | None
    name_en: str | None
    abbreviation: str | None
    issuer_zh: str | None
    issuer_en: str | None
    # Other names the issuer is matched under, e.g. the form a notice printed when the row carries
    # the body's real name (the seeds' README: restore the real names).
    issuer_aliases: tuple[str, ...] = ()
    country: str | None
    title: Literal["工程师", "助理工程师", "高级工程师"]
    series: str

    @property
    def level(self) -> Level:
        return TITLE_LEVEL[self.title]


class Catalogue(Frozen):
    source: str
    rows: tuple[CatalogueRow, ...]

    @field_validator("rows")
    @classmethod
    def _numbered_in_order(cls, rows: tuple[CatalogueRow, ...]) -> tuple[CatalogueRow, ...]:
        for i, row in enumerate(rows, start=1):
            if row.no != i:
                raise ValueError(f"row {i} has 序号 {row.no}; rows must be numbered 1..N in order")
        return rows

    def row(self, no: int) -> CatalogueRow | None:
        return self.rows[no - 1] if 1 <= no <= len(self.rows) else None


class Committee(Frozen):
    no: int
    name: str
    office: str
    phones: tuple[str, ...]
    series: str
    districts: DistrictSet
    scope_text: str


class CommitteeTable(Frozen):
    source: str
    districts: tuple[str, ...]
    committees: tuple[Committee, ...]

    def deciding(self, district: str, series: str) -> Committee | None:
        for committee in self.committees:
            if committee.series == series and committee.districts.covers(district):
                return committee
        return None


class Decider(Frozen):
    """Who decides a level: one named body, one body per series, the Hangzhou committee table
    (seed 003 附件2), or the applicant's district bureau (`{district}` is filled in)."""

    committee: str | None = None
    by_series: Mapping[str, str] | None = None
    table: Literal["hangzhou-committees"] | None = None
    district_bureau: str | None = None
    source: Source

    @model_validator(mode="after")
    def _one_form(self) -> Decider:
        given = [x for x in (self.committee, self.by_series, self.table, self.district_bureau) if x]
        if len(given) != 1:
            raise ValueError("give exactly one of committee, by_series, table, district_bureau")
        return self


class LevelRule(Frozen):
    """One level a policy can confer: the minimum full years of work after each education level
    (a level not listed does not qualify), who decides it and who issues the certificate."""

    years_after: Mapping[EducationLevel, int] | None  # None: the catalogue row alone decides (Wuxi)
    decided_by: Decider
    issued_by: Literal[Role.city, Role.application_point]
    source: Source


class Platform(Frozen):
    """Where applicants file and employers review: named in every message (CONTRACT §9)."""

    name: str = Field(min_length=1)
    short: str = Field(min_length=1)  # the name an SMS uses (省平台)
    url: str | None = None
    source: Source


class Certificate(Frozen):
    """Who publishes the title and how the certificate is obtained, as the notice words it."""

    # Who publishes a title the city issues; None: the city office of `offices:`, else the authority.
    issuer: str | None = None
    how: str = Field(min_length=1)  # "登录省平台，在相应菜单栏下载电子证书"
    source: Source


class Fee(Frozen):
    """How an applicant pays the assessment fee, as the notice words it (a round with `fee_payment`)."""

    how: str = Field(min_length=1)  # "登录个人账号，点击“我的申报记录”，再点击“马上支付”，在规定时间内缴纳评审费"
    short: str | None = Field(default=None, max_length=30)  # what an SMS says: 在“我的申报记录”中点击“马上支付”
    source: Source


class MailIn(Frozen):
    """Paper mailed in after the review (a round with `mail_in`), as the notice words it; where to is
    the office `key: mail-in` of `offices:`."""

    # Who mails what, when, by which carrier, up to "到" and the office (前期不需要报送纸质材料。11月评审结束后，…)
    when: str = Field(min_length=1)
    carrier: str = Field(min_length=1)  # "EMS"
    materials: tuple[str, ...] = Field(min_length=1)
    note: str | None = None  # "只有评审通过人员才需邮寄，可以单位统一邮寄。"
    returned: str | None = None  # how the papers come back
    source: Source


class FraudBar(Frozen):
    years: int = Field(ge=1)
    source: Source


class Policy(Frozen):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")
    # Set by the registry when a file is imported (1 for a new id); a file may leave it out.
    version: int = Field(default=1, ge=1)
    name: str
    # A few characters for tabs, lists and menus (杭州2025上半年认定); `name` when absent.
    short_name: str | None = Field(default=None, min_length=1, max_length=20)
    authority: str
    document: str | None
    issued: dt.date
    source: Source
    track: Literal["recognition", "assessment"]
    standing: bool
    # Years are counted to this date; None for a standing scheme (the day of submission).
    reference_date: dt.date | None
    scope: Scope
    window: Window | None
    cutoffs: tuple[Cutoff, ...]
    stages: tuple[str, ...]
    notices: Mapping[str, Notice]
    levels: Mapping[Level, LevelRule]
    fraud_bar: FraudBar
    offices: tuple[Office, ...]
    platform: Platform
    sms_sign: str = Field(min_length=1, max_length=12)  # 【杭州人社】
    certificate: Certificate
    # A round with the stage `fee_payment` / `mail_in` says how to pay / what to mail (`policy check`
    # warns when one is missing; the messages then say only to follow the platform's notice).
    fee: Fee | None = None
    mail_in: MailIn | None = None
    calendar_overrides: Mapping[dt.date, bool] = Field(default_factory=dict)
    # Inline, or read by the loader from catalogues/<id>.yaml and `committee_table_file:` beside the file.
    catalogue: Catalogue
    committee_table: CommitteeTable | None = None
    # An amendment that drops states maps each to the state its cases move to (CONTRACT §9).
    state_map: Mapping[str, str] = Field(default_factory=dict)
    # Linping's assessment conditions (seed 002 附件1/附件2); None for recognition.
    assessment: Mapping[str, Any] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Policy:
        for i, stage in enumerate(self.stages):
            if stage not in STAGES:
                raise ValueError(f"stages[{i}]: unknown stage {stage!r}; known: {', '.join(STAGES)}")
        if len(set(self.stages)) != len(self.stages):
            raise ValueError("stages: a stage appears twice")
        if not self.stages or self.stages[0] != "draft" or self.stages[-1] != "certified":
            raise ValueError("stages: must start with draft and end with certified")
        for stage in self.stages:
            if STAGE_KINDS[stage].is_notice and stage not in self.notices:
                raise ValueError(f"notices: stage {stage} is a public notice but has no length")
        for name in self.notices:
            if name not in self.stages or not STAGE_KINDS[name].is_notice:
                raise ValueError(f"notices.{name}: not a notice stage of this policy")
        for i, cutoff in enumerate(self.cutoffs):
            for stage in cutoff.ends:
                if stage not in self.stages:
                    raise ValueError(f"cutoffs[{i}].ends: {stage!r} is not a stage of this policy")
        if self.standing != (self.reference_date is None):
            raise ValueError("reference_date: required for a round, absent for a standing scheme")
        if self.standing and self.cutoffs:
            raise ValueError("cutoffs: a standing scheme has no round cutoffs")
        if self.track == "assessment" and not self.assessment:
            raise ValueError("assessment: an assessment policy needs its assessment conditions")
        return self

    # ---- derived facts -------------------------------------------------------------------
    @property
    def label(self) -> str:
        """The short Chinese name a person reads in a tab or a list."""
        return self.short_name or self.name

    def next_stage(self, stage: str) -> str | None:
        i = self.stages.index(stage)
        return self.stages[i + 1] if i + 1 < len(self.stages) else None

    @cached_property
    def cache_key(self) -> tuple[str, int, str]:
        """Names this policy's content: per-policy caches (machines, calendars) key on it, since two
        databases may hold different texts under one id and version."""
        import hashlib

        return (self.id, self.version, hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:16])

    @cached_property
    def notice_offices(self) -> dict[str, Role]:
        return {s: NOTICE_OFFICE[s] for s in self.notices}

    def office(self, key: str) -> Office | None:
        return next((o for o in self.offices if o.key == key), None)

    def cutoff_ending(self, stage: str) -> Cutoff | None:
        """The first cutoff that ends `stage`, if any."""
        for cutoff in sorted(self.cutoffs, key=lambda c: c.date):
            if stage in cutoff.ends:
                return cutoff
        return None
