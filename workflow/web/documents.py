"""Documents for administrators, in the UI (/documents) and the API (/api/documents/{kind}),
CONTRACT §11: kind `notice` (公示表), `roster` (花名册), `form` (登记表, with `case`), `checklist`,
`mail_in`; format `html`, `pdf`, `xlsx` or `csv` where it fits; `stage` defaults to the policy's
only notice stage where it has one, `at` to now.

Scope applies as everywhere: the lists hold only the cases the reader may see (an employer its own
staff, a district department its district), and a 登记表 is of a case the reader may see (else 404).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import quote

from notifications import documents as docs
from states.calendar import local_date
from states.labels import DOCUMENT_LABELS, FORMAT_LABELS
from states.policy import Policy, get_policy
from states.vocabulary import Role
from workflow.errors import InvalidInput, NotFound
from workflow.web.scope import WebUser, case_condition, visible_policies
from workflow.web.service import WebContext, load_visible

KINDS: tuple[str, ...] = ("notice", "roster", "form", "checklist", "mail_in")
FORMATS: dict[str, tuple[str, ...]] = {
    "notice": ("pdf", "html"),
    "roster": ("xlsx", "csv", "pdf", "html"),
    "form": ("pdf", "html"),
    "checklist": ("pdf", "html"),
    "mail_in": ("pdf", "html"),
}
MEDIA = {"html": "text/html; charset=utf-8", "pdf": "application/pdf", "csv": "text/csv; charset=utf-8",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


@dataclass(frozen=True)
class Offer:
    """One document a policy offers, as the 文档 menu lists it."""

    kind: str
    stage: str | None
    formats: tuple[str, ...]
    needs_case: bool = False


def offers(policy: Policy) -> list[Offer]:
    out = [Offer("notice", stage, FORMATS["notice"]) for stage in policy.notices]
    out.append(Offer("roster", None, FORMATS["roster"]))
    if policy.id in docs.FORMS:
        out.append(Offer("form", None, FORMATS["form"], needs_case=True))
    try:
        docs.paper_checklist(policy.id)
        out.append(Offer("checklist", None, FORMATS["checklist"]))
    except docs.DocumentError:
        pass
    if policy.office("mail-in") is not None:
        out.append(Offer("mail_in", None, FORMATS["mail_in"]))
    return out


@dataclass(frozen=True)
class Built:
    content: bytes
    media_type: str
    filename: str

    @property
    def disposition(self) -> str:
        ascii_name = "zcflow-document." + self.filename.rsplit(".", 1)[-1]
        kind = "inline" if self.media_type.startswith("text/html") else "attachment"
        return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(self.filename)}"


def _policy_for(user: WebUser, policy_id: str | None) -> Policy:
    if not policy_id:
        raise InvalidInput("policy: required", field="policy", zh="请选择政策")
    visible = {p.id: p for p in visible_policies(user)}
    if policy_id not in visible:
        try:
            get_policy(policy_id)
        except KeyError:
            raise InvalidInput(f"policy: unknown policy {policy_id!r}", field="policy", zh="没有这项政策") from None
        raise NotFound(f"policy {policy_id!r} does not exist", zh="没有这项政策，或不在您的管辖范围内")
    return visible[policy_id]


def _refused(exc: docs.DocumentError, kind: str) -> InvalidInput:
    zh = {
        "stage": "该政策没有这个公示阶段，请选择一个公示阶段",
        "case": "该案件所在政策没有登记表",
        "policy": f"该政策没有{DOCUMENT_LABELS.get(kind, '此文档')}",
        "district": "该区县没有纸质材料受理部门",
        "committee": "该政策没有这个评审委员会",
        "format": "该文档没有这种格式",
    }.get(exc.field, "无法生成此文档")
    return InvalidInput(str(exc), field=exc.field, zh=zh)


def build(ctx: WebContext, user: WebUser, kind: str, *, policy_id: str | None, fmt: str | None,
          case_id: int | None = None, stage: str | None = None, at: dt.datetime | None = None) -> Built:
    """The document `kind` in `fmt`, within `user`'s scope."""
    if kind not in KINDS:
        raise NotFound(f"document kind {kind!r} does not exist; kinds: {', '.join(KINDS)}", zh="没有这种文档")
    now = ctx.clock()
    at = at or now
    if kind == "form":
        if case_id is None:
            raise InvalidInput("case: a registration form needs case=ID", field="case", zh="登记表须指定案件号")
        row = load_visible(ctx, user, case_id)  # 404 outside the scope
        if policy_id and policy_id != row.policy_id:
            raise InvalidInput(f"policy: case {case_id} is in {row.policy_id}", field="policy",
                               zh=f"案件 {case_id} 不属于所选政策")
        policy_id = str(row.policy_id)
    policy = _policy_for(user, policy_id)
    fmt = fmt or FORMATS[kind][0]
    if fmt not in FORMATS[kind]:
        raise InvalidInput(f"format: {fmt!r} is not a format of {kind}; formats: {', '.join(FORMATS[kind])}",
                           field="format", zh=f"{DOCUMENT_LABELS[kind]}可下载的格式："
                           + "、".join(FORMAT_LABELS[f] for f in FORMATS[kind]))
    where = case_condition(user)
    try:
        doc: docs.Document
        if kind == "notice":
            if stage is None:
                if len(policy.notices) != 1:
                    raise InvalidInput(f"stage: {policy.id} has {len(policy.notices)} notices; give stage=",
                                       field="stage", zh="该政策有多个公示阶段，请选择其中一个")
                stage = next(iter(policy.notices))
            employer = user.scope.employer if user.role is Role.employer else None
            with ctx.db.connect() as conn:
                doc = docs.notice_list(conn, policy.id, stage, employer=employer, where=where, as_of=at,
                                       today=local_date(at))
        elif kind == "roster":
            with ctx.db.connect() as conn:
                doc = docs.roster(conn, policy.id, where=where, today=local_date(at))
        elif kind == "form":
            assert case_id is not None
            with ctx.db.connect() as conn:
                doc = docs.registration_form(conn, case_id)
        elif kind == "checklist":
            doc = docs.paper_checklist(policy.id)
        else:
            doc = docs.mail_in_instructions(policy.id)
        content = docs.to_bytes(doc, fmt)
    except docs.DocumentError as exc:
        raise _refused(exc, kind) from None
    suffix = f"-{case_id}" if kind == "form" else ""
    name = f"{policy.label}-{DOCUMENT_LABELS[kind]}{suffix}.{fmt}"
    return Built(content, MEDIA[fmt], name)
