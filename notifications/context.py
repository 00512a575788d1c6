"""What a notification template reads: the applicant, the case, the policy, the stage, its deadline,
the reason and the office to contact, built from an outbox row and the case it is about.

The outbox row carries only what the transition knew (action, from, to, reason; or the cutoff for a
reminder, workflow/deadlines.py); everything else is read from the case and the policy when the
message is rendered. Addresses and phones are the seeds' own (the `offices:` of each policy file and
seed 003 附件2 for the Hangzhou committees); where a seed gives none, the message names the office
and the phone line is left out rather than left blank.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from notifications.labels import EDUCATION_RANK, cn_date, cn_short_date, state_label
from states.calendar import WorkingDayCalendar, calendar_with, local_date
from states.idcard import mask
from states.labels import ACTION_LABELS, EDUCATION_LABELS, ID_TYPE_LABELS, LEVEL_LABELS, ROLE_LABELS
from states.policy import Cutoff, LevelRule, Office, Policy
from states.vocabulary import NOTICE_OFFICE, STAGE_KINDS, Role

TEMPLATES: tuple[str, ...] = (
    "submitted", "returned", "rejected", "notice_opened", "notice_closed", "objection",
    "deadline_reminder", "expired", "fee_due", "mail_in_instructions", "certified", "revoked",
    "deadline_changed",
    "amended",
)

# A round that says nothing of how to pay or what to mail (policy check warns): point to the platform.
FEE_HOW_UNSAID = "按申报平台的缴费通知，在规定时间内缴纳评审费"

# Templates that end the case: their stage is the one the case was in, not where it waits.
ENDING_TEMPLATES = frozenset({"rejected", "expired", "revoked"})

REASON_SMS_CHARS = 24  # an SMS quotes at most this much of a reason; the email and the platform carry it all


# ---- inputs --------------------------------------------------------------------------------------

def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


@dataclass(frozen=True)
class CaseFacts:
    """The case a message or a document is about: the `cases` row and its applicant, as plain data."""

    id: int
    policy_id: str
    name: str
    id_number: str
    id_type: str
    state: str
    district: str | None = None
    employer: str | None = None
    specialty: str | None = None
    series: str | None = None
    level: str | None = None
    title: str | None = None
    committee: str | None = None
    return_stage: str | None = None
    notice_stage: str | None = None
    notice_opened_at: dt.datetime | None = None
    notice_closes_at: dt.datetime | None = None
    submitted_at: dt.datetime | None = None
    phone: str | None = None
    email: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    eligibility: Mapping[str, Any] = field(default_factory=dict)
    policy_version: int | None = None  # the version the case runs under (CONTRACT §9)

    @classmethod
    def from_rows(cls, case: Any, applicant: Any | None = None) -> CaseFacts:
        data: Mapping[str, Any] = dict(case.data or {})
        return cls(
            id=int(case.id), policy_id=str(case.policy_id), name=str(case.name), id_number=str(case.id_number),
            id_type=str((applicant.id_type if applicant is not None else None) or data.get("id_type")
                        or "resident_id"),
            state=str(case.state), district=_text(case.district), employer=_text(case.employer),
            specialty=_text(case.specialty), series=_text(case.series), level=_text(case.level),
            title=_text(case.title), committee=_text(case.committee), return_stage=_text(case.return_stage),
            notice_stage=_text(case.notice_stage), notice_opened_at=case.notice_opened_at,
            notice_closes_at=case.notice_closes_at, submitted_at=case.submitted_at,
            phone=_text(applicant.phone if applicant is not None else None) or _text(data.get("phone")),
            email=_text(applicant.email if applicant is not None else None) or _text(data.get("email")),
            data=data, eligibility=dict(case.eligibility or {}),
            policy_version=int(case.policy_version) if getattr(case, "policy_version", None) else None,
        )

    @property
    def employer_email(self) -> str | None:
        """The employer's address, from the filing's optional `employer_email` (CONTRACT §5 allows more
        fields): the outbox has no other source for it."""
        return _text(self.data.get("employer_email"))

    @property
    def masked_id(self) -> str:
        return mask(self.id_number)

    @property
    def title_label(self) -> str:
        """工程师（制造业）, or plain 职称 before the eligibility check has named the title."""
        if self.title and self.series:
            return f"{self.title}（{self.series}）"
        return self.title or "职称"

    @property
    def gender(self) -> str | None:
        """男/女 from a resident ID's 17th digit (GB 11643: odd for men), else the filing's `gender`."""
        if self.id_type == "resident_id" and len(self.id_number) == 18 and self.id_number[16].isdigit():
            return "男" if int(self.id_number[16]) % 2 else "女"
        given = _text(self.data.get("gender"))
        return {"male": "男", "female": "女"}.get(given or "", given)

    @property
    def highest_education(self) -> Mapping[str, Any] | None:
        entries = [e for e in self.data.get("education") or [] if isinstance(e, Mapping)]
        if not entries:
            return None
        return max(entries, key=lambda e: EDUCATION_RANK.get(str(e.get("level")), 0))


@dataclass(frozen=True)
class OutboxEntry:
    """The parts of a `notifications` row a template needs."""

    id: int | None
    template: str
    channel: str
    recipient_role: str
    recipient: str | None
    context: Mapping[str, Any]
    created_at: dt.datetime

    @classmethod
    def from_row(cls, row: Any) -> OutboxEntry:
        return cls(id=row.id, template=str(row.template), channel=str(row.channel),
                   recipient_role=str(row.recipient_role), recipient=_text(row.recipient),
                   context=dict(row.context or {}), created_at=row.created_at)


# ---- offices -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Contact:
    """Whom to ask: a seed's office with its address, phone and contact person where the seed gives them."""

    name: str
    address: str | None = None
    phone: str | None = None
    person: str | None = None
    source: str | None = None

    @classmethod
    def of(cls, office: Office) -> Contact:
        return cls(name=office.name, address=office.address, phone=office.phone, person=office.contact,
                   source=f"{office.source.file} {office.source.section}")

    @property
    def line(self) -> str:
        """One line, never with an empty part: 名称，地址：…，电话：…（联系人：…）."""
        parts = [self.name]
        if self.address:
            parts.append(f"地址：{self.address}")
        if self.phone:
            parts.append(f"电话：{self.phone}")
        text = "，".join(parts)
        return f"{text}（联系人：{self.person}）" if self.person else text

    @property
    def short(self) -> str:
        """For an SMS: the phone where there is one, else the office's name."""
        return f"咨询电话{self.phone}" if self.phone else f"详询{self.name}"

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "address": self.address, "phone": self.phone, "person": self.person,
                "line": self.line, "short": self.short, "source": self.source}


def level_rule(policy: Policy, level: str | None) -> LevelRule | None:
    for name, rule in policy.levels.items():
        if name == level:
            return rule
    return None


def _committee_contact(policy: Policy, case: CaseFacts) -> Contact | None:
    """The Hangzhou committee table (seed 003 附件2) gives each committee's office and phones."""
    if policy.committee_table is None or not case.committee:
        return None
    for committee in policy.committee_table.committees:
        if committee.name == case.committee:
            return Contact(name=committee.office, phone="/".join(committee.phones),
                           source=f"{policy.committee_table.source} 第{committee.no}项")
    return None


def enquiry_contact(policy: Policy, case: CaseFacts | None = None) -> Contact:
    """The round's enquiry office (咨询): the first office of the policy that publishes a phone
    (001 §六.2, 000 §七, 002 §六); for the standing Hangzhou list the deciding committee's office
    (003 附件2); else the first office, else the issuing authority by name (004 gives no phone)."""
    for office in policy.offices:
        if office.phone:
            return Contact.of(office)
    if case is not None:
        found = _committee_contact(policy, case)
        if found is not None:
            return found
    if policy.offices:
        return Contact.of(policy.offices[0])
    return Contact(name=policy.authority, source=f"{policy.source.file} {policy.source.section}")


def _offices(policy: Policy, role: Role, district: str | None) -> list[Office]:
    found = [o for o in policy.offices if o.role == role]
    own = [o for o in found if o.district and o.district == district]
    return own + [o for o in found if not o.district]


def stage_contact(policy: Policy, case: CaseFacts, stage: str | None, template: str) -> Contact:
    """The office that handles `stage` for this case, with a phone where the seeds give one; the
    enquiry office when the stage is the employer's own or no office of the stage publishes a phone."""
    candidates: list[Contact] = []
    if template == "mail_in_instructions" or stage == "mail_in":
        mail = policy.office("mail-in")
        if mail is not None:
            candidates.append(Contact.of(mail))
    if stage == "paper_submission":
        # seed 001 附件2 §一: the paper-material office of the applicant's district
        paper = policy.office(f"paper-{case.district}")
        if paper is not None:
            candidates.append(Contact.of(paper))
    role: Role | None = None
    if stage in NOTICE_OFFICE:
        role = NOTICE_OFFICE[stage]
    elif stage in ("publication", "certified"):
        rule = level_rule(policy, case.level)
        role = Role(rule.issued_by) if rule is not None else Role.city
    elif stage in STAGE_KINDS and STAGE_KINDS[stage].actors:
        role = STAGE_KINDS[stage].actors[0]
    if role == Role.committee:
        table = _committee_contact(policy, case)
        if table is not None:
            candidates.append(table)
    if role is not None and role not in (Role.employer, Role.applicant, Role.system):
        candidates += [Contact.of(o) for o in _offices(policy, role, case.district)]
    with_phone = [c for c in candidates if c.phone]
    if with_phone:
        return with_phone[0]
    enquiry = enquiry_contact(policy, case)
    if enquiry.phone or not candidates:
        return enquiry
    return candidates[0]


# ---- the context ---------------------------------------------------------------------------------

def sms_sign(policy: Policy) -> str:
    """The SMS signature, from the policy file (`sms_sign:`, e.g. 杭州人社)."""
    return policy.sms_sign


def platform(policy: Policy) -> dict[str, Any]:
    """The filing platform, from the policy file (`platform:`)."""
    return {"name": policy.platform.name, "short": policy.platform.short, "url": policy.platform.url}


def calendar_of(policy: Policy) -> WorkingDayCalendar:
    """The policy's working-day calendar: the product's one (states/calendar/), with the policy's
    corrections on top."""
    return calendar_with(policy.calendar_overrides)


def _cutoff_dict(cutoff: Cutoff, **extra: Any) -> dict[str, Any]:
    return {"name": cutoff.name, "label": cutoff.label, "date": cutoff.date.isoformat(),
            "date_cn": cn_date(cutoff.date), "date_short": cn_short_date(cutoff.date),
            "source": f"{cutoff.source.file} {cutoff.source.section}", **extra}


_DEADLINES: dict[tuple[int, dt.date], tuple[Policy, list[dict[str, Any]]]] = {}


def _deadlines_from(policy: Policy, day: dt.date) -> list[dict[str, Any]]:
    """The policy's cutoffs on or after `day`, in date order, as the templates read them. Remembered
    per (policy object, day): a round's outbox renders tens of thousands of messages over a few days."""
    key = (id(policy), day)
    found = _DEADLINES.get(key)
    if found is None or found[0] is not policy:
        if len(_DEADLINES) > 4096:
            _DEADLINES.clear()
        found = _DEADLINES[key] = (policy, [_cutoff_dict(c) for c in sorted(policy.cutoffs, key=lambda c: c.date)
                                            if c.date >= day])
    return list(found[1])


_CUTOFF_IN_REASON = re.compile(r"cutoff (\S+) passed")


def _expired_cutoff(policy: Policy, case: CaseFacts, source: str | None, reason: str | None) -> Cutoff | None:
    """The cutoff that expired the case: named in the engine's reason (workflow/deadlines.py), else the
    one that ends the stage it was in."""
    if reason:
        found = _CUTOFF_IN_REASON.search(reason)
        for cutoff in policy.cutoffs:
            if (found and found.group(1) == cutoff.name) or reason.startswith(cutoff.label):
                return cutoff
    stage = source
    if source == "returned":
        stage = case.return_stage
    elif source == "objection":
        stage = case.notice_stage
    return policy.cutoff_ending(stage) if stage else None


def _focus(template: str, ctx: Mapping[str, Any], case: CaseFacts, policy: Policy) -> str:
    """The stage a message is about."""
    source, dest = ctx.get("from"), ctx.get("to")
    if template in ("submitted", "notice_opened", "fee_due", "mail_in_instructions", "certified"):
        return str(dest or case.state)
    if template == "deadline_changed":
        return str(ctx.get("stage") or case.state)
    if template == "deadline_reminder":
        cutoff = next((c for c in policy.cutoffs if c.name == ctx.get("cutoff")), None)
        if cutoff is None:
            return case.state
        if case.state in cutoff.ends:
            return case.state
        if case.state == "returned" and case.return_stage in cutoff.ends:
            return "returned"
        return cutoff.ends[0]
    if source == "returned" and template == "expired":
        return "returned"
    return str(source or case.state)


def _recipient(policy: Policy, case: CaseFacts, entry: OutboxEntry, contact: Contact) -> dict[str, Any]:
    role = entry.recipient_role
    if role == Role.applicant:
        name = case.name
    elif role == Role.employer:
        name = case.employer or entry.recipient or "用人单位"
    elif role == Role.department:
        offices = _offices(policy, Role.department, case.district)
        name = offices[0].name if offices else f"{case.district or entry.recipient or ''}主管部门"
    elif role == Role.committee:
        name = case.committee or contact.name
    else:
        offices = _offices(policy, Role(role), case.district) if role in Role.__members__ else []
        name = offices[0].name if offices else entry.recipient or ROLE_LABELS.get(role, role)
    return {"role": role, "role_label": ROLE_LABELS.get(role, role), "name": name,
            "is_applicant": role == Role.applicant}


def notice_period(policy: Policy, opened_at: dt.datetime, stage: str) -> tuple[dt.date, dt.date]:
    """The first and last day of a notice opened at `opened_at`: the next N working days after the
    day it opened (CONTRACT §4), N from the policy (e.g. 5, seed 002 附件3 §一.4)."""
    cal = calendar_of(policy)
    days = policy.notices[stage].working_days
    opened = local_date(opened_at)
    return cal.next_working_days(opened, 1), cal.next_working_days(opened, days)


def _notice(policy: Policy, case: CaseFacts, entry: OutboxEntry, stage: str,
            contact: Contact) -> dict[str, Any] | None:
    """The period of the notice a message is about: from the message's own time when it opened the
    notice, else from the case while the case is still in (or suspended from) that notice."""
    if stage not in policy.notices:
        return None
    if entry.template == "notice_opened":
        opened_at: dt.datetime | None = entry.created_at
    elif case.notice_stage == stage and case.notice_opened_at is not None:
        opened_at = case.notice_opened_at
    else:
        return None
    assert opened_at is not None
    first, last = notice_period(policy, opened_at, stage)
    office = NOTICE_OFFICE[stage]
    source = policy.notices[stage].source
    return {"stage": stage, "label": state_label(stage, policy.track),
            "working_days": policy.notices[stage].working_days,
            "first_day": cn_date(first), "last_day": cn_date(last), "last_day_short": cn_short_date(last),
            "period": f"{cn_date(first)}至{cn_date(last)}",
            "runs": (case.employer or "用人单位") if office == Role.employer else contact.name,
            "source": f"{source.file} {source.section}"}


def _issuer(policy: Policy, case: CaseFacts) -> str:
    """Who issues the certificate: the application point (the district bureau, seed 003 正文; seed 004
    第四条 for Wuxi's initial titles) or the city — in Zhejiang 杭州市人力社保局发文予以认定，并颁发相应的
    职称证书 (seeds 000/001 附件1 §四.3, 002 §三.（四）)."""
    rule = level_rule(policy, case.level)
    if rule is not None and rule.issued_by == Role.application_point:
        bureau = rule.decided_by.district_bureau
        if bureau and case.district:
            return str(bureau).format(district=case.district)
        return policy.authority
    if policy.certificate.issuer:
        return policy.certificate.issuer
    city = next((o for o in policy.offices if o.role == Role.city), None)
    return city.name if city is not None else policy.authority


def _amendment(ctx: Mapping[str, Any]) -> dict[str, Any]:
    """An amendment's document and the cutoffs it moved (workflow/amendments.py writes them)."""
    changes = []
    for c in ctx.get("changes") or []:
        old, new = c.get("old"), c.get("new")
        changes.append({"label": c.get("label"), "name": c.get("name"),
                        "old_cn": cn_date(dt.date.fromisoformat(old)) if old else None,
                        "new_cn": cn_date(dt.date.fromisoformat(new)) if new else None,
                        "new_short": cn_short_date(dt.date.fromisoformat(new)) if new else None})
    return {"document": _text(ctx.get("document")) or "调整通知", "version": ctx.get("version"),
            "changes": changes, "reinstated": bool(ctx.get("reinstated"))}


def build_context(policy: Policy, case: CaseFacts, entry: OutboxEntry) -> dict[str, Any]:
    """Everything the templates of CONTRACT §3 read, for one outbox row. Values are plain data;
    optional facts are None (never an empty string) so that a template can leave their line out."""
    ctx = entry.context
    template = entry.template
    source = _text(ctx.get("from"))
    dest = _text(ctx.get("to"))
    reason = _text(ctx.get("reason"))
    focus = _focus(template, ctx, case, policy)
    contact = stage_contact(policy, case, focus if focus != "returned" else case.return_stage, template)
    enquiry = enquiry_contact(policy, case)
    track = policy.track

    def stage_dict(code: str | None) -> dict[str, Any] | None:
        if code is None:
            return None
        return {"code": code, "label": state_label(code, track)}

    # The deadline of the stage the case now waits in; after a return, the cutoff of the stage that
    # returned it, which is also the last day to resubmit (CONTRACT §3).
    waiting = source if template == "returned" else dest
    if template == "amended":  # the stage whose deadline the amendment moved
        waiting = (case.return_stage if case.state == "returned" else
                   case.notice_stage if case.state == "objection" else case.state)
    deadline: dict[str, Any] | None = None
    cutoff = policy.cutoff_ending(waiting) if waiting and waiting in policy.stages else None
    if cutoff is not None and cutoff.date >= local_date(entry.created_at):
        deadline = _cutoff_dict(cutoff)

    notice = _notice(policy, case, entry, focus, contact)
    reminder: dict[str, Any] | None = None
    expired: dict[str, Any] | None = None
    if template == "deadline_reminder":
        found = next((c for c in policy.cutoffs if c.name == ctx.get("cutoff")), None)
        if found is not None:
            last = _text(ctx.get("latest_approval_day"))
            last_day = dt.date.fromisoformat(last) if last else None
            reminder = _cutoff_dict(
                found, working_days=ctx.get("working_days"),
                latest_approval_day=cn_date(last_day) if last_day else None,
                latest_approval_short=cn_short_date(last_day) if last_day else None,
                # an approval after this day leaves the notice running past the cutoff
                latest_approval_passed=bool(last_day and last_day < local_date(entry.created_at)),
                notice_days=(policy.notices["employer_notice"].working_days
                             if "employer_notice" in policy.notices else None))
    if template == "expired":
        found = _expired_cutoff(policy, case, source, reason)
        if found is not None:
            expired = _cutoff_dict(found)

    changed = _changed(ctx) if template == "deadline_changed" else None
    event_year = local_date(entry.created_at).year
    mail_office = policy.office("mail-in")
    education = case.highest_education
    context: dict[str, Any] = {
        "template": template,
        "channel": entry.channel,
        "notification_id": entry.id,
        "sign": sms_sign(policy),
        "sent_on": cn_date(entry.created_at),
        "recipient": _recipient(policy, case, entry, contact),
        "who": "您" if entry.recipient_role == Role.applicant else case.name,
        "applicant": {
            "name": case.name, "id_masked": case.masked_id, "id_type": ID_TYPE_LABELS.get(case.id_type, case.id_type),
            "gender": case.gender,
            "education": EDUCATION_LABELS.get(str(education.get("level"))) if education else None,
        },
        "case": {
            "id": case.id, "number": str(case.id), "state": case.state, "state_label": state_label(case.state, track),
            "district": case.district, "employer": case.employer, "specialty": case.specialty,
            "series": case.series, "title": case.title, "title_label": case.title_label,
            "level": case.level, "level_label": LEVEL_LABELS.get(case.level or "") or None,
            "committee": case.committee,
            "submitted_on": cn_date(case.submitted_at) if case.submitted_at else None,
        },
        "policy": {
            "id": policy.id, "name": policy.name, "authority": policy.authority, "document": policy.document,
            "track": track, "track_label": "评审" if track == "assessment" else "认定",
            "standing": policy.standing, "source": f"{policy.source.file} {policy.source.section}",
        },
        "platform": platform(policy),
        "stage": stage_dict(focus),
        "next_stage": stage_dict(dest) if template == "notice_closed" else None,
        "transition": {
            "action": ctx.get("action"), "action_label": ACTION_LABELS.get(str(ctx.get("action")), None),
            "from": stage_dict(source), "to": stage_dict(dest), "on": cn_date(entry.created_at),
        },
        "reason": reason,
        "reason_short": (reason[:REASON_SMS_CHARS] + "…") if reason and len(reason) > REASON_SMS_CHARS else reason,
        "deadline": deadline,
        # the round's cutoffs still ahead when the message was written (none in a standing scheme)
        "deadlines": _deadlines_from(policy, local_date(entry.created_at)),
        "notice": notice,
        "reminder": reminder,
        "changed": changed,
        "expired_by": expired,
        "amendment": _amendment(ctx) if template == "amended" else None,
        "contact": contact.as_dict(),
        "enquiry": enquiry.as_dict(),
        "fee": {"how": policy.fee.how if policy.fee is not None else FEE_HOW_UNSAID,
                "short": policy.fee.short if policy.fee is not None else None},
        "mail_in": ({"office": mail_office.name, "address": mail_office.address, "line": Contact.of(mail_office).line,
                     **(policy.mail_in.model_dump(include={"carrier", "materials", "note", "returned"})
                        if policy.mail_in is not None else {"materials": []})}
                    if mail_office is not None else None),
        "certificate": {"issuer": _issuer(policy, case), "how": policy.certificate.how},
        "bar": {"from_year": event_year + 1, "to_year": event_year + policy.fraud_bar.years,
                "years": policy.fraud_bar.years,
                "source": f"{policy.fraud_bar.source.file} {policy.fraud_bar.source.section}"},
    }
    context["facts"] = email_facts(context)
    return context


def _changed(ctx: Mapping[str, Any]) -> dict[str, Any]:
    """A notice close moved by a calendar import (workflow/calendar_import.py): the old and new last
    day of the notice (a close at 00:00 of D+1 means the notice runs to the end of D)."""
    def last_day(value: Any) -> dt.date | None:
        return local_date(dt.datetime.fromisoformat(str(value))) - dt.timedelta(days=1) if value else None

    old, new = last_day(ctx.get("old_closes_at")), last_day(ctx.get("new_closes_at"))
    return {"year": ctx.get("year"), "provisional": bool(ctx.get("provisional")),
            "old_last_day": cn_date(old) if old else None, "old_last_short": cn_short_date(old) if old else None,
            "new_last_day": cn_date(new) if new else None, "new_last_short": cn_short_date(new) if new else None,
            "later": bool(old and new and new > old)}


def email_facts(ctx: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The facts table under an email: only the facts this message has (no empty rows)."""
    case, applicant = ctx["case"], ctx["applicant"]
    rows: list[tuple[str, str | None]] = [
        ("申报编号", case["number"]),
        ("申报人", f"{applicant['name']}（{applicant['id_masked']}）"),
        ("工作单位", case["employer"]),
        ("申报类别", ctx["policy"]["name"]),
        ("申报职称", case["title_label"] if case["title"] else None),
        ("办理环节" if ctx["template"] in ENDING_TEMPLATES else "所在环节",
         ctx["stage"]["label"] if ctx["stage"] else None),
    ]
    notice = ctx["notice"]
    if notice:
        rows.append(("公示期", f"{notice['period']}（{notice['working_days']}个工作日）"))
    deadline = ctx["deadline"]
    if deadline:
        rows.append(("截止时间", f"{deadline['date_cn']}（{deadline['label']}）"))
    return [(label, value) for label, value in rows if value]

