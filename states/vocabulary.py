"""The fixed vocabulary of zcflow: states, actions and roles (CONTRACT §3).

Every policy uses a subset of the stages below, in the order its data file gives. What each stage
*does* (who acts, which action moves it on, whether it can return or reject) is fixed here, because
the contract fixes it for every policy; which stages exist and in what order is policy data.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    applicant = "applicant"
    employer = "employer"
    department = "department"
    committee = "committee"
    city = "city"
    application_point = "application_point"
    public = "public"
    system = "system"
    admin = "admin"
    platform = "platform"  # an applicant-facing platform acting for the applicant (CONTRACT §11)


# Stages a policy may place on its happy path, in the contract's vocabulary (CONTRACT §3).
STAGES: tuple[str, ...] = (
    "draft",
    "employer_review",
    "employer_notice",
    "management_review",
    "paper_submission",
    "committee_review",
    "qualification_notice",
    "fee_payment",
    "assessment",
    "result_notice",
    "mail_in",
    "publication",
    "certified",
)

# States off the happy path.
RETURNED = "returned"
OBJECTION = "objection"
REJECTED = "rejected"
NOT_PASSED = "not_passed"
WITHDRAWN = "withdrawn"
EXPIRED = "expired"
REVOKED = "revoked"
CERTIFIED = "certified"
DRAFT = "draft"

SIDE_STATES: tuple[str, ...] = (RETURNED, OBJECTION, REJECTED, NOT_PASSED, WITHDRAWN, EXPIRED, REVOKED)
ALL_STATES: tuple[str, ...] = STAGES + SIDE_STATES

# A case in one of these has ended: nothing but `revoke` moves it again.
ENDED_STATES: frozenset[str] = frozenset({CERTIFIED, REJECTED, NOT_PASSED, WITHDRAWN, EXPIRED, REVOKED})
# "Active" (CONTRACT §3): submitted and not yet ended. A person holds at most one per policy.
INACTIVE_STATES: frozenset[str] = ENDED_STATES | {DRAFT}

ACTIONS: tuple[str, ...] = (
    "submit", "resubmit", "withdraw", "pay_fee",
    "employer_approve", "employer_return", "employer_reject",
    "department_approve", "department_return", "department_reject",
    "committee_approve", "committee_return", "committee_reject",
    "receive_paper", "assess_pass", "assess_fail", "receive_mail",
    "issue_certificate", "object", "dismiss_objection", "uphold_objection", "revoke",
    "notice_closed", "expire",
)

# Moves made by a policy amendment, never through `fire` (CONTRACT §9): `amend` moves a case onto the
# new version (the same state, or the one `state_map:` names); `reinstate` brings a case expired by a
# cutoff the amendment moved back to the stage it expired from. Their reason names the document.
AMENDMENT_MOVES: tuple[str, ...] = ("amend", "reinstate")

# Actions that must carry a reason (CONTRACT §3: returns, rejections, object, uphold, revoke).
REASON_REQUIRED: frozenset[str] = frozenset({
    "employer_return", "employer_reject", "department_return", "department_reject",
    "committee_return", "committee_reject", "object", "uphold_objection", "revoke", "expire",
})


@dataclass(frozen=True)
class StageKind:
    """How one stage behaves: the action that moves it forward and who may take it."""

    advance: str | None  # the action that moves the case to the next stage (None: terminal)
    actors: tuple[Role, ...]  # who may take `advance` (and `ret`/`reject` where present)
    ret: str | None = None  # the return action (退回修改), if the stage can return a case
    reject: str | None = None  # the rejection action (不通过), if the stage can reject
    fail: str | None = None  # assessment only: the action that fails the case
    is_notice: bool = False  # a public notice: closes by itself, can take objections


STAGE_KINDS: dict[str, StageKind] = {
    "draft": StageKind("submit", (Role.applicant,)),
    "employer_review": StageKind(
        "employer_approve", (Role.employer,), ret="employer_return", reject="employer_reject"
    ),
    "employer_notice": StageKind("notice_closed", (Role.system,), is_notice=True),
    "management_review": StageKind(
        "department_approve", (Role.department,), ret="department_return", reject="department_reject"
    ),
    "committee_review": StageKind(
        "committee_approve", (Role.committee,), ret="committee_return", reject="committee_reject"
    ),
    "qualification_notice": StageKind("notice_closed", (Role.system,), is_notice=True),
    "paper_submission": StageKind("receive_paper", (Role.committee,)),
    "fee_payment": StageKind("pay_fee", (Role.applicant,)),
    "assessment": StageKind("assess_pass", (Role.committee,), fail="assess_fail"),
    "result_notice": StageKind("notice_closed", (Role.system,), is_notice=True),
    "mail_in": StageKind("receive_mail", (Role.committee,)),
    # The issuing authority is per policy and per level (`city` or `application_point`).
    "publication": StageKind("issue_certificate", (Role.city, Role.application_point)),
    "certified": StageKind(None, ()),
}

# Who runs each public notice, and so who decides objections raised during it (CONTRACT §3).
NOTICE_OFFICE: dict[str, Role] = {
    "employer_notice": Role.employer,
    "qualification_notice": Role.committee,
    "result_notice": Role.committee,
}

# The roles that may take the actions that are not tied to one stage (CONTRACT §3).
# The applicant's actions, which a platform may take for the applicant its case names (CONTRACT §11).
# Nothing else is granted to a platform: no review, notice or committee action (deny by default).
APPLICANT_ACTIONS: tuple[str, ...] = ("submit", "resubmit", "withdraw", "pay_fee")

ANY_STAGE_ACTORS: dict[str, tuple[Role, ...]] = {
    "withdraw": (Role.applicant,),
    "resubmit": (Role.applicant,),
    "object": (Role.public,),
    "revoke": (Role.committee, Role.city),
    "expire": (Role.system,),
}
