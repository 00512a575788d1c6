"""The printed documents as plain data (notifications/documents.py builds them from the database;
notifications/pdf.py and the HTML templates lay them out). Both import this module and not each
other's, so that neither needs the other at import time."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from notifications.context import Contact


@dataclass(frozen=True)
class NoticeRow:
    no: int
    case_id: int
    name: str
    id_masked: str
    gender: str
    employer: str
    specialty: str
    title: str
    period: str


@dataclass(frozen=True)
class NoticeList:
    kind: Literal["notice"]
    policy_id: str
    policy_name: str
    authority: str
    title: str
    stage: str
    stage_label: str
    working_days: int
    runs: str  # who holds the notice: the employer (002 附件3 §一.4) or the committee office
    period: str | None  # the common period, when every row shares it
    rows: tuple[NoticeRow, ...]
    objection: str  # where to object
    contact: Contact
    source: str
    dated: str | None


@dataclass(frozen=True)
class RegistrationForm:
    kind: Literal["form"]
    policy_id: str
    case_id: int
    title: str
    source: str
    name: str
    gender: str
    id_type: str
    id_number: str
    employer_and_post: str
    work_start: str
    specialty_and_years: str
    education: str
    school_and_date: str
    qualification: str
    obtained: str
    title_and_series: str
    unit_opinion: str
    committee: str
    committee_opinion: str


@dataclass(frozen=True)
class Roster:
    kind: Literal["roster"]
    policy_id: str
    policy_name: str
    committee: str | None
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    full_ids: bool
    source: str
    dated: str | None


@dataclass(frozen=True)
class Checklist:
    kind: Literal["checklist", "mail-in"]
    policy_id: str
    policy_name: str
    authority: str
    title: str
    intro: str
    offices: tuple[Contact, ...]
    offices_note: str | None
    items_heading: str
    items: tuple[str, ...]
    notes: tuple[str, ...] = ()
    send_to: Contact | None = None
    sources: tuple[str, ...] = field(default_factory=tuple)


Document = NoticeList | RegistrationForm | Roster | Checklist
