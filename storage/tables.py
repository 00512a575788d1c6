"""SQLModel tables: plain records, no rules (the rules live in ``states/`` and ``workflow/``).

States are stored as plain strings (never database enums). Every time column is timezone-aware
on both backends: SQLite hands back naive values, so :class:`AwareDateTime` stores UTC and
attaches UTC on the way out.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.mutable import MutableDict
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

# The states in which a case waits for a public notice to close by itself. The partial index
# below covers exactly these, so the sweep for due notices never scans closed cases.
NOTICE_STATES = ("employer_notice", "qualification_notice", "result_notice")
_NOTICE_STATES_SQL = ", ".join(f"'{s}'" for s in NOTICE_STATES)
# The same condition as SQL text. Queries must use this literal form: with bound parameters the
# planner cannot prove that the query implies the partial index's WHERE, and scans the table.
OPEN_NOTICE_SQL = f"cases.state IN ({_NOTICE_STATES_SQL})"


class AwareDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware datetime on every backend, stored as UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to an aware column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _aware(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(AwareDateTime(), nullable=nullable, index=index))


def _json() -> Any:
    return Field(default_factory=dict, sa_column=Column(MutableDict.as_mutable(JSON()), nullable=False))


class Applicant(SQLModel, table=True):
    __tablename__ = "applicants"

    id: int | None = Field(default=None, primary_key=True)
    id_type: str = Field(max_length=32)
    id_number: str = Field(max_length=64, index=True)
    name: str = Field(max_length=100)
    phone: str | None = Field(default=None, max_length=32)
    email: str | None = Field(default=None, max_length=200)
    created_at: dt.datetime | None = _aware(nullable=False)


class Case(SQLModel, table=True):
    """One application. `version` increases by one with every transition (compare-and-set)."""

    __tablename__ = "cases"
    __table_args__ = (
        # At most one active case per person and policy (CONTRACT §3): `active_key` is set to
        # "<policy>|<id number>" while the case is active and NULL otherwise.
        UniqueConstraint("active_key", name="uq_cases_active_key"),
        # Counts per stage, and the cases a cutoff ends (a stage, or returned by it, or an objection
        # suspending it), answered from the index alone (migration 0002 widened ix_cases_policy_state).
        # 0010 appended the notice close time: the web's "due within N days" from the index alone.
        # 0016 appended the district and the submission time: the dashboard's cutoff tables per district.
        Index("ix_cases_policy_stage", "policy_id", "state", "return_stage", "notice_stage", "notice_closes_at",
              "district", "submitted_at"),
        # A district department's counts, cutoffs ahead and drop-downs, from the index alone (0009); 0016
        # appended the employer and the submission time: the dashboard's cutoff tables per employer.
        Index("ix_cases_district_policy_stage", "district", "policy_id", "state", "return_stage", "notice_stage",
              "notice_closes_at", "employer", "submitted_at"),
        Index("ix_cases_policy_district", "policy_id", "district"),
        Index("ix_cases_employer", "employer"),
        Index(
            "ix_cases_open_notices",
            "notice_closes_at",
            postgresql_where=text(f"state IN ({_NOTICE_STATES_SQL})"),
            sqlite_where=text(f"state IN ({_NOTICE_STATES_SQL})"),
        ),
        # A round's open notices by close time (0009): the notices closing in a window, in order.
        Index(
            "ix_cases_policy_open_notices",
            "policy_id",
            "notice_closes_at",
            postgresql_where=text(f"state IN ({_NOTICE_STATES_SQL})"),
            sqlite_where=text(f"state IN ({_NOTICE_STATES_SQL})"),
        ),
        # A district department's notices of one round closing in a window, counted from the index (0014).
        # (0014 also gives SQLite, only, ix_cases_policy (policy_id): a round's cases in id order.)
        Index(
            "ix_cases_district_policy_open_notices",
            "district",
            "policy_id",
            "notice_closes_at",
            postgresql_where=text(f"state IN ({_NOTICE_STATES_SQL})"),
            sqlite_where=text(f"state IN ({_NOTICE_STATES_SQL})"),
        ),
        # A district's open notices by close time (migration 0002): the dashboard's overdue list
        # (repo.overdue_notices) reads its 50 rows straight off this index at any table size.
        Index(
            "ix_cases_district_open_notices",
            "district",
            "notice_closes_at",
            postgresql_where=text(f"state IN ({_NOTICE_STATES_SQL})"),
            sqlite_where=text(f"state IN ({_NOTICE_STATES_SQL})"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    policy_id: str = Field(max_length=64)
    policy_version: int
    applicant_id: int = Field(foreign_key="applicants.id", index=True)
    id_number: str = Field(max_length=64, index=True)
    name: str = Field(max_length=100, index=True)
    state: str = Field(max_length=32)
    version: int = 0
    active_key: str | None = Field(default=None, max_length=128)
    district: str | None = Field(default=None, max_length=64)
    employer: str | None = Field(default=None, max_length=200)
    specialty: str | None = Field(default=None, max_length=100)
    series: str | None = Field(default=None, max_length=64)
    level: str | None = Field(default=None, max_length=32)
    title: str | None = Field(default=None, max_length=32)
    committee: str | None = Field(default=None, max_length=200)
    return_stage: str | None = Field(default=None, max_length=32)
    notice_stage: str | None = Field(default=None, max_length=32)
    notice_opened_at: dt.datetime | None = _aware()
    notice_closes_at: dt.datetime | None = _aware()
    submitted_at: dt.datetime | None = _aware()
    created_at: dt.datetime | None = _aware(nullable=False)
    updated_at: dt.datetime | None = _aware(nullable=False)
    data: dict[str, Any] = _json()
    eligibility: dict[str, Any] = _json()


class History(SQLModel, table=True):
    """Append-only: one row per transition, written in the transition's own transaction.
    `seq` is the case's version after the move, so (case_id, seq) is unique by construction."""

    __tablename__ = "history"
    __table_args__ = (UniqueConstraint("case_id", "seq", name="uq_history_case_seq"),
                      Index("ix_history_at", "at"))  # the 办理日志 page and the dashboard's pace (0011)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id")
    seq: int
    at: dt.datetime | None = _aware(nullable=False)
    actor_role: str = Field(max_length=32)
    actor_id: str | None = Field(default=None, max_length=100)
    action: str = Field(max_length=32)
    from_state: str = Field(max_length=32)
    to_state: str = Field(max_length=32)
    reason: str | None = Field(default=None, sa_column=Column(String(), nullable=True))


class ScheduledEvent(SQLModel, table=True):
    """A round-level due time (a cutoff or a reminder). `done_at` is set, in the same transaction
    as its effects, by the tick that applies it; a row with `done_at` set is never applied again."""

    __tablename__ = "scheduled_events"
    __table_args__ = (
        UniqueConstraint("policy_id", "kind", "name", name="uq_scheduled_events_key"),
        Index("ix_scheduled_events_pending", "due_at", postgresql_where=text("done_at IS NULL"),
              sqlite_where=text("done_at IS NULL")),
    )

    id: int | None = Field(default=None, primary_key=True)
    policy_id: str = Field(max_length=64)
    kind: str = Field(max_length=16)  # "cutoff" | "reminder"
    name: str = Field(max_length=100)
    due_at: dt.datetime | None = _aware(nullable=False)
    payload: dict[str, Any] = _json()
    done_at: dt.datetime | None = _aware()
    affected: int | None = None


class Bar(SQLModel, table=True):
    """A fraud bar: the person may not submit in years from_year..to_year (CONTRACT §4)."""

    __tablename__ = "bars"

    id: int | None = Field(default=None, primary_key=True)
    id_number: str = Field(max_length=64, index=True)
    from_year: int
    to_year: int
    case_id: int | None = Field(default=None, foreign_key="cases.id")
    reason: str | None = None
    created_at: dt.datetime | None = _aware(nullable=False)


class Notification(SQLModel, table=True):
    """The transactional outbox: written with the transition, delivered later by `zcflow deliver`."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_pending", "next_attempt_at", postgresql_where=text("status = 'pending'"),
              sqlite_where=text("status = 'pending'")),
        Index("ix_notifications_case", "case_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int | None = Field(default=None, foreign_key="cases.id")
    template: str = Field(max_length=64)
    channel: str = Field(max_length=16)  # "sms" | "email" | "inapp"
    recipient_role: str = Field(max_length=32)
    recipient: str | None = Field(default=None, max_length=200)
    context: dict[str, Any] = _json()
    status: str = Field(default="pending", max_length=16)  # pending | sent | failed
    attempts: int = 0
    next_attempt_at: dt.datetime | None = _aware()
    created_at: dt.datetime | None = _aware(nullable=False)
    sent_at: dt.datetime | None = _aware()
    last_error: str | None = None


class User(SQLModel, table=True):
    """An administrator of the web UI. `scope` limits what the user sees (CONTRACT §8)."""

    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    password_hash: str = Field(max_length=300)
    role: str = Field(max_length=32)
    scope: dict[str, Any] = _json()
    created_at: dt.datetime | None = _aware(nullable=False)
    # Every session and token carries the epoch it was issued under; logout, a password change, a
    # reset and `user disable` add one, which ends them all at once (checked on the request's one
    # primary-key lookup of the user).
    auth_epoch: int = Field(default=0, sa_column=Column(Integer(), nullable=False, server_default="0"))
    disabled_at: dt.datetime | None = _aware()


class LoginThrottle(SQLModel, table=True):
    """Failed logins per key ("user:NAME" or "addr:IP"): growing delays, then a lockout an admin lifts."""

    __tablename__ = "login_throttle"

    key: str = Field(max_length=120, primary_key=True)
    failures: int = Field(default=0)
    last_failure_at: dt.datetime | None = _aware(nullable=False)
    blocked_until: dt.datetime | None = _aware()
    locked_at: dt.datetime | None = _aware()


class AuditEntry(SQLModel, table=True):
    """An administrative act that is not a case transition (those are in `history`): user changes,
    login lockouts, policy imports and amendments, calendar years. One row per act, never changed."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"), Index("ix_audit_log_action_at", "action", "at"))

    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime | None = _aware(nullable=False)
    actor: str = Field(max_length=100)  # a web user name, or "cli:<os user>"
    action: str = Field(max_length=64)  # e.g. user_add, login_lockout, policy_import, calendar_import
    subject: str = Field(max_length=200)  # what it concerns: a user name, a policy id, a year
    detail: dict[str, Any] = _json()


class CalendarYearRecord(SQLModel, table=True):
    """A year's working-day schedule imported by an operator (CONTRACT §10): it stands in front of
    the chinesecalendar package for that year. `days` holds holidays and workdays as data;
    `content` is the file as imported. Replacing a year overwrites its row (the audit log keeps who
    replaced what, when and why)."""

    __tablename__ = "calendar_years"

    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    status: str = Field(max_length=16)  # official | provisional
    source: str = Field(max_length=300)  # the notice's title and 文号
    days: dict[str, Any] = _json()
    content: str = Field(sa_column=Column(String(), nullable=False))
    imported_at: dt.datetime | None = _aware(nullable=False)
    imported_by: str = Field(max_length=100)
    reason: str | None = Field(default=None, sa_column=Column(String(), nullable=True))


class CalendarRevision(SQLModel, table=True):
    """One row: a token that changes with every calendar import, so each process can tell with one
    cheap read whether the imported years it holds are still current."""

    __tablename__ = "calendar_revision"

    id: int = Field(default=1, primary_key=True, sa_column_kwargs={"autoincrement": False})
    token: str = Field(max_length=64)


class PolicyVersion(SQLModel, table=True):
    """A policy file imported by an operator (CONTRACT §9): the full YAML text as imported, its
    checksum, the version number it became, the document (文号) behind it, and who imported it,
    when and why. Bundled policies are not stored here; an imported id continues their numbering.
    Rows are never changed: an amendment is the next version."""

    __tablename__ = "policy_versions"
    __table_args__ = (UniqueConstraint("policy_id", "version", name="uq_policy_versions_id_version"),)

    id: int | None = Field(default=None, primary_key=True)
    policy_id: str = Field(max_length=64)
    version: int
    text: str = Field(sa_column=Column(String(), nullable=False))
    checksum: str = Field(max_length=64)  # sha256 of the UTF-8 text
    document: str | None = Field(default=None, max_length=200)
    reason: str | None = Field(default=None, sa_column=Column(String(), nullable=True))
    actor: str = Field(max_length=100)
    kind: str = Field(max_length=16)  # "import" (no cases yet) | "amendment"
    effective_at: dt.datetime | None = _aware(nullable=False)  # the import's --at
    impact: dict[str, Any] = _json()  # the amendment's impact table (empty for a plain import)


class IdempotencyKey(SQLModel, table=True):
    """A platform's `Idempotency-Key` (CONTRACT §11): the request's hash and the first answer, kept
    24 h. The row is inserted in the transaction of the request's own effect, so of two concurrent
    requests with one key only one commits; the other finds the stored answer."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("user_id", "key", name="uq_idempotency_keys_user_key"),
        Index("ix_idempotency_keys_expires_at", "expires_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id")
    key: str = Field(max_length=255)
    request_hash: str = Field(max_length=64)  # sha256 of method, path and body
    status_code: int
    response: dict[str, Any] = _json()
    created_at: dt.datetime | None = _aware(nullable=False)
    expires_at: dt.datetime | None = _aware(nullable=False)


class Webhook(SQLModel, table=True):
    """A receiver of case events (CONTRACT §11). `policies` is NULL for every policy, else the ids
    it listens to as ",id,id," (matched with one LIKE on both backends)."""

    __tablename__ = "webhooks"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=2000)
    secret: str = Field(max_length=200)
    policies: str | None = Field(default=None, max_length=2000)
    created_at: dt.datetime | None = _aware(nullable=False)


class WebhookEvent(SQLModel, table=True):
    """One transition for one receiver: written in the transition's own transaction, delivered later
    (at least once, in `seq` order per case). `event_id` is the transition's own id, the same in
    every receiver and every retry. Status moves pending → sending → sent, or to failed (parked)."""

    __tablename__ = "webhook_events"
    __table_args__ = (
        UniqueConstraint("webhook_id", "case_id", "seq", name="uq_webhook_events_case_seq"),
        Index("ix_webhook_events_due", "next_attempt_at",
              postgresql_where=text("status IN ('pending', 'sending')"),
              sqlite_where=text("status IN ('pending', 'sending')")),
        Index("ix_webhook_events_failed", "webhook_id", postgresql_where=text("status = 'failed'"),
              sqlite_where=text("status = 'failed'")),
    )

    id: int | None = Field(default=None, primary_key=True)
    webhook_id: int = Field(foreign_key="webhooks.id")
    event_id: str = Field(max_length=64)
    case_id: int = Field(foreign_key="cases.id")
    seq: int
    action: str = Field(max_length=32)
    from_state: str = Field(max_length=32)
    to_state: str = Field(max_length=32)
    at: dt.datetime | None = _aware(nullable=False)
    policy_id: str = Field(max_length=64)
    status: str = Field(default="pending", max_length=16)  # pending | sending | sent | failed
    attempts: int = 0
    next_attempt_at: dt.datetime | None = _aware()
    created_at: dt.datetime | None = _aware(nullable=False)
    sent_at: dt.datetime | None = _aware()
    last_error: str | None = None


class Setting(SQLModel, table=True):
    """Values every process over one database must share, e.g. the key that signs applicants'
    status links when ZCFLOW_SECRET_KEY is not set (written once, never changed)."""

    __tablename__ = "settings"

    name: str = Field(primary_key=True, max_length=64)
    value: str = Field(max_length=2000)
