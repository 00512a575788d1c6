"""The API's bodies, in the SQLModel family style (…Request in, …Out / …Public out).
ID numbers leave the API masked (CONTRACT §7); times are ISO 8601 with the Asia/Shanghai offset."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.config import JsonDict

from states.applicant import ApplicantFiling
from states.idcard import mask
from states.labels import ACTION_LABELS, STATE_LABELS
from states.policy import policies
from states.text import FREE_TEXT_ALLOWED, refuse_control
from states.vocabulary import ACTIONS, REASON_REQUIRED
from workflow.clock import SHANGHAI
from workflow.web.labels import label
from workflow.web.passwords import MAX_LENGTH as MAX_PASSWORD
from workflow.web.service import MAX_BULK, MAX_REASON, CaseView

MAX_CASE_ID = 2**31 - 1
MAX_USERNAME = 64


def _no_control(value: str) -> str:
    return refuse_control(value)


def _free_text(value: str) -> str:
    return refuse_control(value, FREE_TEXT_ALLOWED)


Text = Annotated[str, AfterValidator(_no_control)]  # names, user names, codes: no control characters
FreeText = Annotated[str, AfterValidator(_free_text)]  # reasons: line breaks and tabs allowed


def _digits(value: Any) -> Any:
    if isinstance(value, str) and not re.fullmatch(r"-?[0-9]+", value):
        raise ValueError("must be a whole number written in digits")
    return value


# A query integer: "7", not "7.0" or "1e1" (which pydantic's lax mode would take).
WholeNumber = Annotated[int, BeforeValidator(_digits)]


def local(t: dt.datetime | None) -> dt.datetime | None:
    return t.astimezone(SHANGHAI) if t is not None else None


class ErrorOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    error: str = Field(description="错误代码 (CONTRACT §6 codes, e.g. illegal_transition, not_permitted)")
    message: str


class TokenRequest(BaseModel):
    username: Text = Field(min_length=1, max_length=MAX_USERNAME)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="seconds")
    username: str
    role: str


class MeOut(BaseModel):
    id: int
    username: str
    role: str
    scope: dict[str, Any]


class CutoffOut(BaseModel):
    name: str
    label: str
    date: dt.date
    due_at: dt.datetime
    ends: list[str]
    source: str


class PolicyOut(BaseModel):
    id: str
    name: str
    authority: str
    document: str | None
    track: str
    standing: bool
    city: str
    stages: list[str]
    window_opens: dt.date | None
    window_closes: dt.date | None
    reference_date: dt.date | None
    cutoffs: list[CutoffOut]
    notices: dict[str, int]


class CaseSummary(BaseModel):
    id: int
    policy: str
    state: str
    state_label: str
    version: int
    name: str
    id_number: str = Field(description="masked (CONTRACT §7)")
    district: str | None
    employer: str | None
    specialty: str | None
    series: str | None
    level: str | None
    title: str | None
    committee: str | None
    notice_closes_at: dt.datetime | None
    updated_at: dt.datetime | None

    @classmethod
    def of(cls, r: Any) -> CaseSummary:
        return cls(id=r.id, policy=r.policy_id, state=r.state, state_label=label(STATE_LABELS, r.state),
                   version=r.version, name=r.name, id_number=mask(r.id_number), district=r.district,
                   employer=r.employer, specialty=r.specialty, series=r.series, level=r.level, title=r.title,
                   committee=r.committee, notice_closes_at=local(r.notice_closes_at),
                   updated_at=local(r.updated_at))


class CasePage(BaseModel):
    items: list[CaseSummary]
    total: int
    page: int
    per_page: int


class HistoryOut(BaseModel):
    seq: int
    at: dt.datetime
    action: str
    from_state: str | None
    to_state: str
    actor_role: str
    actor_id: str | None
    reason: str | None


class NotificationOut(BaseModel):
    id: int
    template: str
    channel: str
    recipient_role: str
    status: str
    created_at: dt.datetime | None
    sent_at: dt.datetime | None


class DueOut(BaseModel):
    kind: str
    label: str
    at: dt.datetime
    source: str | None
    provisional: bool = Field(False, description="counted on a provisional calendar year; may move when "
                                                  "the official schedule is imported (CONTRACT §10)")


class ActionOut(BaseModel):
    action: str
    label: str
    reason_required: bool

    @classmethod
    def of(cls, action: str) -> ActionOut:
        return cls(action=action, label=label(ACTION_LABELS, action), reason_required=action in REASON_REQUIRED)


class ActionsOut(BaseModel):
    case: int
    state: str
    version: int
    actions: list[ActionOut]
    can_object: bool


class CaseDetail(CaseSummary):
    eligibility: dict[str, Any] | None
    submitted_at: dt.datetime | None
    created_at: dt.datetime | None
    history: list[HistoryOut]
    notifications: list[NotificationOut]
    due: list[DueOut]
    actions: list[ActionOut]
    can_object: bool

    @classmethod
    def of_view(cls, v: CaseView) -> CaseDetail:
        c = v.case
        return cls(
            **CaseSummary.of(c).model_dump(),
            eligibility=dict(c.eligibility) or None, submitted_at=local(c.submitted_at),
            created_at=local(c.created_at),
            history=[HistoryOut(seq=h.seq, at=local(h.at), action=h.action, from_state=h.from_state or None,
                                to_state=h.to_state, actor_role=h.actor_role, actor_id=h.actor_id,
                                reason=h.reason) for h in v.history],
            notifications=[NotificationOut(id=n.id, template=n.template, channel=n.channel,
                                           recipient_role=n.recipient_role, status=n.status,
                                           created_at=local(n.created_at), sent_at=local(n.sent_at))
                           for n in v.notifications],
            due=[DueOut(kind=d.kind, label=d.label, at=local(d.at), source=d.source,
                        provisional=d.provisional) for d in v.due],
            actions=[ActionOut.of(a) for a in v.actions], can_object=v.can_object,
        )


ACTION_ENUM: JsonDict = {"enum": [*ACTIONS]}


class ActionRequest(BaseModel):
    action: Text = Field(min_length=1, max_length=64, examples=["employer_approve"], json_schema_extra=ACTION_ENUM)
    reason: FreeText | None = Field(default=None, max_length=MAX_REASON)
    expected_version: int | None = Field(default=None, ge=0, le=MAX_CASE_ID,
                                         description="refuse with 409 unless the case is still at this version")


class TransitionOut(BaseModel):
    case: int
    action: str
    from_state: str
    to_state: str
    at: dt.datetime
    version: int
    actor_role: str
    actor_id: str | None
    reason: str | None

    @classmethod
    def of(cls, t: Any) -> TransitionOut:
        return cls(case=t.case_id, action=t.action, from_state=t.from_state, to_state=t.to_state,
                   at=local(t.at), version=t.version, actor_role=t.actor.role.value, actor_id=t.actor.id,
                   reason=t.reason)


CaseIdItem = Annotated[int, Field(ge=1, le=MAX_CASE_ID)]


class BulkRequest(BaseModel):
    case_ids: list[CaseIdItem] = Field(min_length=1, max_length=MAX_BULK)
    action: Text = Field(min_length=1, max_length=64, json_schema_extra=ACTION_ENUM)
    reason: FreeText | None = Field(default=None, max_length=MAX_REASON)


class BulkItem(BaseModel):
    case: int
    ok: bool
    transition: TransitionOut | None = None
    error: str | None = None
    message: str | None = None


class BulkOut(BaseModel):
    action: str
    succeeded: int
    failed: int
    results: list[BulkItem]


class ObjectionRequest(BaseModel):
    reason: FreeText = Field(min_length=1, max_length=MAX_REASON)
    objector: Text | None = Field(default=None, max_length=40, description="异议人（可匿名）")


class CaseCreate(BaseModel):
    policy: Text = Field(min_length=1, max_length=64, json_schema_extra={"enum": list(policies())})
    filing: ApplicantFiling = Field(description="the applicant's filing (CONTRACT §5)")


class CaseCreated(BaseModel):
    case: int
    policy: str
    state: str
