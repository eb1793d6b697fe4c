"""The database schema: one DeclarativeBase, typed tables, UTC timestamps.

Enumerated columns hold the stable ASCII codes of ``bot.domain`` (checked by CHECK constraints), so the
same rows read the same on SQLite and PostgreSQL. Every timestamp is stored in UTC and comes back aware.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from bot.domain.contact_plan import Mode
from bot.domain.lifecycle import ACTIVE_VALUES, OutboxStatus, TaskStatus
from bot.domain.people import CustomerStatus, Honorific, IntentLevel, Role, Tier

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as UTC; SQLite keeps no zone, so it is put back on the way out."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; use the injected clock")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _in(column: str, values: list[str] | tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


# A survey in one of these statuses is still waiting or running: a customer has at most one per purpose
# (the partial unique index ``uq_survey_active_purpose``; a second one is refused by the database).
ACTIVE_SURVEY = _in("status", ACTIVE_VALUES)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


class Store(Base):
    """A dealership (门店)."""

    __tablename__ = "store"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    created_at: Mapped[datetime]


class Staff(Base):
    """A staff member: consultant, service advisor, customer-service specialist or manager."""

    __tablename__ = "staff"
    __table_args__ = (
        UniqueConstraint("store_id", "name"),
        CheckConstraint(_in("role", [r.value for r in Role]), name="role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("store.id"))
    name: Mapped[str] = mapped_column(String(50))
    role: Mapped[str] = mapped_column(String(20))
    phone: Mapped[str | None] = mapped_column(String(20))
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Customer(Base):
    """A person the dealership follows up: prospect, lost prospect, owner or lapsed service customer."""

    __tablename__ = "customer"
    __table_args__ = (
        UniqueConstraint("store_id", "phone"),
        CheckConstraint(_in("status", [s.value for s in CustomerStatus]), name="status"),
        CheckConstraint(_in("honorific", [h.value for h in Honorific]), name="honorific"),
        CheckConstraint(_in("intent_level", [i.value for i in IntentLevel]), name="intent_level"),
        CheckConstraint(_in("tier", [t.value for t in Tier]), name="tier"),
        Index("ix_customer_store_status", "store_id", "status"),
        Index("ix_customer_owner", "owner_staff_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("store.id"))
    name: Mapped[str] = mapped_column(String(50))
    honorific: Mapped[str | None] = mapped_column(String(4))
    phone: Mapped[str] = mapped_column(String(20))
    region: Mapped[str | None] = mapped_column(String(50))
    industry: Mapped[str | None] = mapped_column(String(50))
    owner_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    status: Mapped[str] = mapped_column(String(20))
    intent_level: Mapped[str | None] = mapped_column(String(1))
    tier: Mapped[str | None] = mapped_column(String(10))
    last_visit_date: Mapped[date | None] = mapped_column(Date)
    referral_source: Mapped[str | None] = mapped_column(String(30))
    loyalty_score: Mapped[int | None] = mapped_column(Integer)
    economic_score: Mapped[int | None] = mapped_column(Integer)
    consent_at: Mapped[datetime | None]
    opted_out_at: Mapped[datetime | None]
    telegram_chat_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    chat_unreachable_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Vehicle(Base):
    """A car a customer owns or bought here."""

    __tablename__ = "vehicle"
    __table_args__ = (
        Index("ix_vehicle_delivery", "delivery_date"),
        Index("ix_vehicle_last_service", "last_service_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"), index=True)
    series: Mapped[str | None] = mapped_column(String(50))
    model: Mapped[str | None] = mapped_column(String(100))
    vin: Mapped[str | None] = mapped_column(String(17), unique=True)
    plate: Mapped[str | None] = mapped_column(String(20))
    purchase_date: Mapped[date | None] = mapped_column(Date)
    delivery_date: Mapped[date | None] = mapped_column(Date)
    last_service_date: Mapped[date | None] = mapped_column(Date)
    mileage: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class LeadEvent(Base):
    """Something that happened with a prospect: a test drive, a quote, a defeat (with the stated reason)."""

    __tablename__ = "lead_event"
    __table_args__ = (
        UniqueConstraint("customer_id", "kind", "occurred_on"),
        CheckConstraint(_in("kind", ["test_drive", "quote", "defeat", "first_contact"]), name="kind"),
        Index("ix_lead_event_kind_date", "kind", "occurred_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    occurred_on: Mapped[date] = mapped_column(Date)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    stated_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]


class Survey(Base):
    """One run of a questionnaire with one customer, pinned to the questionnaire version it started on."""

    __tablename__ = "survey"
    __table_args__ = (
        CheckConstraint(_in("channel", [m.value for m in Mode]), name="channel"),
        Index("ix_survey_customer_created", "customer_id", "created_at"),
        Index("ix_survey_status_due", "status", "due_at"),
        Index("ix_survey_status_next_try", "status", "next_try_at"),
        Index("ix_survey_purpose_created", "questionnaire_id", "created_at"),
        # due selection: "had this questionnaire since" per customer, one probe whatever the statistics
        Index("ix_survey_customer_purpose_created", "customer_id", "questionnaire_id", "created_at"),
        Index("ix_survey_created", "created_at"),  # reports: cases of a period, all questionnaires
        Index(
            "uq_survey_active_purpose",
            "customer_id",
            "purpose",
            unique=True,
            sqlite_where=text(ACTIVE_SURVEY),
            postgresql_where=text(ACTIVE_SURVEY),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    questionnaire_id: Mapped[str] = mapped_column(String(50))
    questionnaire_version: Mapped[str] = mapped_column(String(80))
    purpose: Mapped[str] = mapped_column(String(30))
    channel: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20))
    current_step: Mapped[str | None] = mapped_column(String(50))
    state: Mapped[dict[str, Any] | None]
    outcome: Mapped[str | None] = mapped_column(String(30))
    assigned_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    claimed_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    claimed_at: Mapped[datetime | None]
    attempt_count: Mapped[int] = mapped_column(Integer, default=0)
    next_try_at: Mapped[datetime | None]
    callback_at: Mapped[datetime | None]
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    # Its place in the contact plan (``channel`` is its current mode): the stage's index, None until placed.
    plan_stage: Mapped[int | None]
    stage_entered_at: Mapped[datetime | None]
    stage_attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    due_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class QuestionnaireVersion(Base):
    """The exact text of every questionnaire version a survey was started on, so it can finish on it."""

    __tablename__ = "questionnaire_version"

    ref: Mapped[str] = mapped_column(String(80), primary_key=True)
    questionnaire_id: Mapped[str] = mapped_column(String(50))
    source_text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class ContactAttempt(Base):
    """One try to reach a customer for a survey, with its disposition (跟踪结果)."""

    __tablename__ = "contact_attempt"
    __table_args__ = (Index("ix_contact_attempt_survey_time", "survey_id", "attempted_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(10))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    attempted_at: Mapped[datetime]
    disposition: Mapped[str] = mapped_column(String(30))
    note: Mapped[str | None] = mapped_column(Text)
    next_try_at: Mapped[datetime | None]


class Answer(Base):
    """One answer to one question of one survey; tallies count its reason code, never its free text.

    A multiple choice gives one row per chosen option, so ``option_code`` is part of the key ('' for
    answers without an option: free text, rating, callback time).
    """

    __tablename__ = "answer"
    __table_args__ = (
        UniqueConstraint("survey_id", "question_id", "option_code"),
        Index("ix_answer_reason_time", "reason_code", "answered_at"),
        Index("ix_answer_time", "answered_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"))
    question_id: Mapped[str] = mapped_column(String(50))
    option_code: Mapped[str] = mapped_column(String(50), default="")
    reason_code: Mapped[str | None] = mapped_column(String(50))
    reason_group: Mapped[str | None] = mapped_column(String(50))
    free_text: Mapped[str | None] = mapped_column(Text)
    rating: Mapped[int | None] = mapped_column(Integer)
    score_name: Mapped[str | None] = mapped_column(String(20))
    score_points: Mapped[int | None] = mapped_column(Integer)
    answered_at: Mapped[datetime]


class Task(Base):
    """Something a staff member must do for a customer, by a due time."""

    __tablename__ = "task"
    __table_args__ = (
        CheckConstraint(_in("status", [s.value for s in TaskStatus]), name="status"),
        Index("ix_task_staff_status_due", "staff_id", "status", "due_at"),
        Index("ix_task_created", "created_at"),  # reports: tasks created in a period
        Index("ix_task_customer_kind", "customer_id", "kind"),  # the scheduler: a customer's latest task of a kind
        # A task the scheduler opens is keyed by what it follows (see storage/queries/due.py), so two
        # schedulers at once open it once: the database refuses the second.
        Index("uq_task_schedule_key", "schedule_key", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(10), default=TaskStatus.OPEN.value)
    source_survey_id: Mapped[int | None] = mapped_column(ForeignKey("survey.id", ondelete="SET NULL"))
    note: Mapped[str | None] = mapped_column(Text)
    schedule_key: Mapped[str | None] = mapped_column(String(80))
    first_action_at: Mapped[datetime | None]
    done_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class LinkToken(Base):
    """A deep-link token handed out for binding Telegram; the signature proves it, this row makes it single-use."""

    __tablename__ = "link_token"
    __table_args__ = (CheckConstraint(_in("subject", ["customer", "staff"]), name="subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    nonce: Mapped[str] = mapped_column(String(32), unique=True)
    subject: Mapped[str] = mapped_column(String(10))
    subject_id: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]


class WebLink(Base):
    """A link to a survey's mobile web page: only the token's SHA-256 is kept; it expires and can be revoked."""

    __tablename__ = "web_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class ProcessedUpdate(Base):
    """Telegram updates already handled, written in the same transaction, so a redelivery does nothing."""

    __tablename__ = "processed_update"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    processed_at: Mapped[datetime]


class InboundUpdate(Base):
    """A Telegram update as fetched, kept until handled: written before Telegram is told it arrived (the next
    getUpdates offset, or the webhook's 200), replayed on start-up if the process died before handling it."""

    __tablename__ = "inbound_update"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    payload: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime]


class OutboundMessage(Base):
    """Every message the product sends, claimed and sent exactly once by its idempotency key."""

    __tablename__ = "outbound_message"
    __table_args__ = (
        CheckConstraint(_in("status", [s.value for s in OutboxStatus]), name="status"),
        Index("ix_outbound_status_created", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    channel: Mapped[str] = mapped_column(String(10))
    recipient: Mapped[str] = mapped_column(String(50))
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(10), default=OutboxStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]
    receipt: Mapped[str | None] = mapped_column(String(30))  # the provider's delivery receipt (SMS), once
    receipt_at: Mapped[datetime | None]


class ReasonRollup(Base):
    """Reason tallies per questionnaire, question, reason and UTC day, kept exact by database triggers.

    Migration 0002 installs triggers on ``answer`` (insert, update, delete) and ``survey`` (delete: its answers
    first, so the roll-up is decremented while the survey still names its questionnaire) on SQLite and
    PostgreSQL. Reports add whole UTC days from here and read the partial days at a period's edges from
    ``answer`` itself. A SQLite batch migration that recreates ``answer`` or ``survey`` drops the triggers:
    recreate them (``tests/integration/test_reports_rollup.py`` checks they exist).
    """

    __tablename__ = "reason_rollup"

    questionnaire_id: Mapped[str] = mapped_column(String(50), primary_key=True)
    answered_on: Mapped[date] = mapped_column(Date, primary_key=True)
    question_id: Mapped[str] = mapped_column(String(50), primary_key=True)
    reason_code: Mapped[str] = mapped_column(String(50), primary_key=True)
    reason_group: Mapped[str] = mapped_column(String(50), primary_key=True, default="")
    answers: Mapped[int] = mapped_column(Integer, default=0)


# Reports: referrals are counted by the day the customer was recorded.
Index("ix_customer_created", Customer.created_at)


class ConsentRecord(Base):
    """A consent or an opt-out, in any channel: when, how (source) and in what words. Kept (not updated)."""

    __tablename__ = "consent_record"
    __table_args__ = (
        CheckConstraint("action IN ('consent', 'opt_out')", name="action"),
        Index("ix_consent_record_customer_time", "customer_id", "recorded_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(10))
    action: Mapped[str] = mapped_column(String(10))
    source: Mapped[str] = mapped_column(String(40))
    wording: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime]


class ErasureRecord(Base):
    """That a customer's personal data was erased (PIPL), when, and how many rows per table: never what."""

    __tablename__ = "erasure_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    erased_at: Mapped[datetime]
    rows: Mapped[dict[str, Any]]


# --- automated voice calls (智能外呼, docs/voice.md) ---
LIVE_CALL = "ended_at IS NULL"


class VoiceCall(Base):
    """One automated call for a survey: its own ``key`` is in every webhook URL (so a call placed just before a
    crash is still found), the provider's call id once known, and where the dialog stands (``turn`` counts the
    questions put, ``misses`` the re-prompts on the current one). At most one live call per survey."""

    __tablename__ = "voice_call"
    __table_args__ = (
        Index(
            "uq_voice_call_live_survey",
            "survey_id",
            unique=True,
            sqlite_where=text(LIVE_CALL),
            postgresql_where=text(LIVE_CALL),
        ),
        Index("ix_voice_call_ended", "ended_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(32), unique=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"))
    provider_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    turn: Mapped[int] = mapped_column(Integer, server_default="0")
    misses: Mapped[int] = mapped_column(Integer, server_default="0")
    answered_by: Mapped[str | None] = mapped_column(String(30))
    disposition: Mapped[str | None] = mapped_column(String(30))
    created_at: Mapped[datetime]
    placed_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
