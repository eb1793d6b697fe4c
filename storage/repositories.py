"""Repositories: rows in, domain objects out. They never commit; the unit of work does.

The import-facing methods work on whole batches (one SELECT ... IN, one executemany) because a
dealership's list is tens of thousands of rows and a query per row would be the whole cost.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar, cast

from sqlalchemy import BigInteger, Table, bindparam, case, delete, func, insert, literal, select, text, tuple_, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from bot.domain.customer_import import CustomerFacts, LeadEventFacts, VehicleFacts
from bot.domain.lifecycle import ACTIVE_VALUES, OutboxStatus, SurveyStatus, TaskStatus
from bot.domain.people import CustomerStatus, Honorific, IntentLevel, Role, Tier
from storage.models import (
    ACTIVE_SURVEY,
    Answer,
    ConsentRecord,
    ContactAttempt,
    Customer,
    ErasureRecord,
    InboundUpdate,
    LeadEvent,
    LinkToken,
    OutboundMessage,
    QuestionnaireVersion,
    Staff,
    Store,
    Survey,
    Task,
    UTCDateTime,
    Vehicle,
    VoiceCall,
    WebLink,
)

_IN_CHUNK = 900  # stays under every backend's bound-parameter limit


def _insert(session: Session, model: type) -> Any:
    """``INSERT`` in the session's dialect, with ``ON CONFLICT`` (SQLite 3.24+ and PostgreSQL say it alike)."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return (pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert)(model)


T = TypeVar("T")


def _chunks(items: Sequence[T], size: int = _IN_CHUNK) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass(frozen=True)
class StaffMember:
    """A staff member as services see them."""

    id: int
    store_id: int
    name: str
    role: Role
    phone: str | None
    active: bool
    telegram_user_id: int | None


_ANSWER_TABLE = cast(Table, Answer.__table__)  # the plain table: answers are inserted without the ORM


class StoreRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def id_by_name(self, name: str) -> int | None:
        """The store's id, or None if there is no such store."""
        return self._session.scalar(select(Store.id).where(Store.name == name))

    def names(self) -> list[str]:
        """Every store's name, oldest first."""
        return list(self._session.scalars(select(Store.name).order_by(Store.id)))

    def add(self, name: str, timezone: str, now: datetime) -> int:
        """Create a store and return its id."""
        store = Store(name=name, timezone=timezone, created_at=now)
        self._session.add(store)
        self._session.flush()
        return store.id


class StaffRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def by_names(self, store_id: int, names: Iterable[str]) -> dict[str, StaffMember]:
        """Staff of the store with these names."""
        wanted = sorted(set(names))
        found: dict[str, StaffMember] = {}
        for part in _chunks(wanted):
            rows = self._session.scalars(select(Staff).where(Staff.store_id == store_id, Staff.name.in_(part)))
            for row in rows:
                found[row.name] = _staff(row)
        return found

    def add(self, store_id: int, name: str, role: Role, phone: str | None, active: bool, now: datetime) -> int:
        """Create a staff member and return the id."""
        row = Staff(
            store_id=store_id,
            name=name,
            role=role.value,
            phone=phone,
            active=active,
            created_at=now,
            updated_at=now,
        )
        self._session.add(row)
        self._session.flush()
        return row.id

    def ensure(self, store_id: int, name: str, role: Role, now: datetime) -> tuple[int, bool]:
        """The staff member of the store with this name, created with ``role`` if there is none: (id, created).

        One ``INSERT … ON CONFLICT DO NOTHING`` on (store, name): two imports naming the same new consultant
        at once both get the one row, and neither fails."""
        created = self._session.execute(
            _insert(self._session, Staff)
            .values(store_id=store_id, name=name, role=role.value, active=True, created_at=now, updated_at=now)
            .on_conflict_do_nothing(index_elements=["store_id", "name"])
            .returning(Staff.id)
        ).scalar()
        if created is not None:
            return int(created), True
        found = self._session.scalar(select(Staff.id).where(Staff.store_id == store_id, Staff.name == name))
        assert found is not None  # the conflicting row exists, committed by the other transaction
        return int(found), False

    def update(self, staff_id: int, role: Role, phone: str | None, active: bool, now: datetime) -> None:
        self._session.execute(
            update(Staff)
            .where(Staff.id == staff_id)
            .values(role=role.value, phone=phone, active=active, updated_at=now)
        )

    def count(self, store_id: int) -> int:
        return len(self._session.scalars(select(Staff.id).where(Staff.store_id == store_id)).all())


def _staff(row: Staff) -> StaffMember:
    return StaffMember(
        id=row.id,
        store_id=row.store_id,
        name=row.name,
        role=Role(row.role),
        phone=row.phone,
        active=row.active,
        telegram_user_id=row.telegram_user_id,
    )


def _customer_facts(row: Customer) -> CustomerFacts:
    return CustomerFacts(
        id=row.id,
        name=row.name,
        phone=row.phone,
        status=CustomerStatus(row.status),
        honorific=Honorific(row.honorific) if row.honorific else None,
        region=row.region,
        industry=row.industry,
        owner_staff_id=row.owner_staff_id,
        intent_level=IntentLevel(row.intent_level) if row.intent_level else None,
        tier=Tier(row.tier) if row.tier else None,
        last_visit_date=row.last_visit_date,
    )


def _customer_values(facts: CustomerFacts) -> dict[str, object]:
    values = facts.values()
    # Enum members go in as their plain codes so both drivers store the same text.
    for key in ("status", "honorific", "intent_level", "tier"):
        if values[key] is not None:
            values[key] = str(values[key])
    return values


class CustomerRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def facts_by_phones(self, store_id: int, phones: Iterable[str]) -> dict[str, CustomerFacts]:
        """The store's customers with these phone numbers, keyed by phone."""
        wanted = sorted(set(phones))
        found: dict[str, CustomerFacts] = {}
        for part in _chunks(wanted):
            rows = self._session.scalars(
                select(Customer).where(Customer.store_id == store_id, Customer.phone.in_(part))
            )
            for row in rows:
                found[row.phone] = _customer_facts(row)
        return found

    def insert_many(self, store_id: int, customers: Sequence[CustomerFacts], now: datetime) -> list[int]:
        """Insert new customers; return their ids in the same order."""
        if not customers:
            return []
        rows = [{**_customer_values(c), "store_id": store_id, "created_at": now, "updated_at": now} for c in customers]
        # Ids are matched back by phone (unique per store): asking for parameter order makes SQLite insert one
        # row per statement, and render_nulls keeps rows with different empty columns in one batch.
        result = self._session.execute(
            insert(Customer).returning(Customer.id, Customer.phone),
            rows,
            execution_options={"render_nulls": True},
        )
        ids = {row.phone: row.id for row in result}
        return [ids[c.phone] for c in customers]

    def update_many(self, customers: Sequence[CustomerFacts], now: datetime) -> None:
        """Write changed facts back, by id."""
        if customers:
            self._session.execute(
                update(Customer),
                [{**_customer_values(c), "id": c.id, "updated_at": now} for c in customers],
            )

    def count(self, store_id: int | None = None) -> int:
        query = select(Customer.id)
        if store_id is not None:
            query = query.where(Customer.store_id == store_id)
        return len(self._session.scalars(query).all())


_VEHICLE_FIELDS = (
    "customer_id",
    "series",
    "model",
    "vin",
    "plate",
    "purchase_date",
    "delivery_date",
    "last_service_date",
    "mileage",
)


def _vehicle_facts(row: Vehicle) -> VehicleFacts:
    return VehicleFacts(id=row.id, **{name: getattr(row, name) for name in _VEHICLE_FIELDS})


class VehicleRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def facts_by_vins(self, vins: Iterable[str]) -> dict[str, VehicleFacts]:
        wanted = sorted(set(vins))
        found: dict[str, VehicleFacts] = {}
        for part in _chunks(wanted):
            for row in self._session.scalars(select(Vehicle).where(Vehicle.vin.in_(part))):
                found[row.vin or ""] = _vehicle_facts(row)
        return found

    def facts_by_customers(self, customer_ids: Iterable[int]) -> dict[int, list[VehicleFacts]]:
        wanted = sorted(set(customer_ids))
        found: dict[int, list[VehicleFacts]] = {}
        for part in _chunks(wanted):
            for row in self._session.scalars(select(Vehicle).where(Vehicle.customer_id.in_(part))):
                found.setdefault(row.customer_id, []).append(_vehicle_facts(row))
        return found

    def insert_many(self, vehicles: Sequence[VehicleFacts], now: datetime) -> None:
        if vehicles:
            self._session.execute(
                insert(Vehicle),
                [{**v.values(), "created_at": now, "updated_at": now} for v in vehicles],
                execution_options={"render_nulls": True},
            )

    def update_many(self, vehicles: Sequence[VehicleFacts], now: datetime) -> None:
        if vehicles:
            self._session.execute(update(Vehicle), [{**v.values(), "id": v.id, "updated_at": now} for v in vehicles])


class LeadEventRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def existing(self, customer_ids: Iterable[int]) -> dict[tuple[int, str, date], LeadEventFacts]:
        """Lead events of these customers, keyed by (customer, kind, day)."""
        wanted = sorted(set(customer_ids))
        found: dict[tuple[int, str, date], LeadEventFacts] = {}
        for part in _chunks(wanted):
            rows = self._session.scalars(select(LeadEvent).where(LeadEvent.customer_id.in_(part)))
            for row in rows:
                found[(row.customer_id, row.kind, row.occurred_on)] = LeadEventFacts(
                    row.customer_id, row.kind, row.occurred_on, row.staff_id, row.stated_reason
                )
        return found

    def insert_many(self, events: Sequence[LeadEventFacts], now: datetime) -> None:
        if events:
            self._session.execute(
                insert(LeadEvent),
                [
                    {
                        "customer_id": e.customer_id,
                        "kind": e.kind,
                        "occurred_on": e.occurred_on,
                        "staff_id": e.staff_id,
                        "stated_reason": e.stated_reason,
                        "created_at": now,
                    }
                    for e in events
                ],
                execution_options={"render_nulls": True},
            )

    def update_many(self, events: Sequence[LeadEventFacts]) -> None:
        for event in events:
            self._session.execute(
                update(LeadEvent)
                .where(
                    tuple_(LeadEvent.customer_id, LeadEvent.kind, LeadEvent.occurred_on)
                    == (event.customer_id, event.kind, event.occurred_on)
                )
                .values(staff_id=event.staff_id, stated_reason=event.stated_reason)
            )


class SurveyRepository:
    """Surveys with their answers and contact attempts (the aggregate a channel works on)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, survey_id: int, *, for_update: bool = False) -> Survey | None:
        """A survey; ``for_update`` locks its row (PostgreSQL) so two workers cannot answer it at once."""
        if not for_update:
            return self._session.get(Survey, survey_id)
        return self._session.scalars(select(Survey).where(Survey.id == survey_id).with_for_update()).first()

    def with_customer(self, survey_id: int, *, for_update: bool = False) -> tuple[Survey, Customer] | None:
        """A survey and its customer in one query (the chat checks the tap comes from that customer)."""
        query = _SURVEY_WITH_CUSTOMER_LOCKED if for_update else _SURVEY_WITH_CUSTOMER
        row = self._session.execute(query, {"survey_id": survey_id}).first()
        return (row[0], row[1]) if row else None

    def add(self, survey: Survey) -> Survey:
        self._session.add(survey)
        self._session.flush()
        return survey

    def add_unless_active(self, values: dict[str, Any]) -> Survey | None:
        """Insert a survey unless the customer already has an active one for the same purpose.

        One statement (``INSERT … ON CONFLICT DO NOTHING`` on the partial unique index), so two processes
        creating the same survey at once never both succeed and neither fails: the one that finds the
        other's row (committed, or waited for until it commits) gets None, which means "already done".
        """
        statement = (
            _insert(self._session, Survey)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["customer_id", "purpose"], index_where=text(ACTIVE_SURVEY))
            .returning(Survey)
        )
        return self._session.scalars(statement).first()

    def active_for_customer(self, customer_id: int, *, for_update: bool = False) -> Survey | None:
        """The customer's survey that is waiting or running (newest first), if any; ``for_update`` locks it."""
        query = _ACTIVE_SURVEY_LOCKED if for_update else _ACTIVE_SURVEY
        return self._session.scalars(query, {"customer_id": customer_id}).first()

    def all_active_for_customer(self, customer_id: int, *, for_update: bool = False) -> list[Survey]:
        """Every survey of the customer that is waiting or running (one per purpose at most)."""
        query = select(Survey).where(Survey.customer_id == customer_id, Survey.status.in_(ACTIVE_VALUES))
        return list(self._session.scalars(query.with_for_update() if for_update else query.order_by(Survey.id)))

    def in_plan(self, limit: int = 5000) -> list[tuple[Survey, Customer]]:
        """Surveys the contact plan may move: waiting or running (not at a booked time), not in a call."""
        rows = self._session.execute(
            select(Survey, Customer)
            .join(Customer, Customer.id == Survey.customer_id)
            .where(
                Survey.status.in_((SurveyStatus.PENDING, SurveyStatus.INVITED, SurveyStatus.IN_PROGRESS)),
                Survey.claimed_by_staff_id.is_(None),
                Customer.opted_out_at.is_(None),
                ~_LIVE_VOICE_CALL,  # a robot call under way is not moved away from under it
            )
            .order_by(Survey.id)
            .limit(limit)
        ).all()
        return [(survey, customer) for survey, customer in rows]

    def to_invite_by_chat(self, limit: int = 5000) -> list[tuple[Survey, Customer]]:
        """Chat surveys not yet offered, to customers who can be messaged."""
        rows = self._session.execute(
            select(Survey, Customer)
            .join(Customer, Customer.id == Survey.customer_id)
            .where(
                Survey.status == SurveyStatus.PENDING,
                Survey.channel == "chat",
                Customer.opted_out_at.is_(None),
                Customer.telegram_chat_id.is_not(None),
                Customer.chat_unreachable_at.is_(None),
            )
            .order_by(Survey.id)
            .limit(limit)
        ).all()
        return [(survey, customer) for survey, customer in rows]

    def invited_by_chat(self, limit: int = 5000) -> list[tuple[Survey, Customer]]:
        """Chat surveys offered and not answered yet (candidates for a reminder)."""
        rows = self._session.execute(
            select(Survey, Customer)
            .join(Customer, Customer.id == Survey.customer_id)
            .where(
                Survey.channel == "chat",
                Survey.status == SurveyStatus.INVITED,
                Survey.expires_at.is_not(None),
                Customer.opted_out_at.is_(None),
            )
            .order_by(Survey.id)
            .limit(limit)
        ).all()
        return [(survey, customer) for survey, customer in rows]

    def to_invite_by_sms(self, now: datetime, limit: int = 5000) -> list[tuple[Survey, Customer]]:
        """Surveys in the web mode (an SMS with a link) not yet offered, or offered and due another try, to
        customers who have not opted out."""
        rows = self._session.execute(
            select(Survey, Customer)
            .join(Customer, Customer.id == Survey.customer_id)
            .where(
                Survey.channel == "web",
                (Survey.status == SurveyStatus.PENDING)
                | ((Survey.status == SurveyStatus.INVITED) & (Survey.next_try_at <= now)),
                Survey.claimed_by_staff_id.is_(None),
                Customer.opted_out_at.is_(None),
            )
            .order_by(Survey.id)
            .limit(limit)
        ).all()
        return [(survey, customer) for survey, customer in rows]

    def add_answers(self, answers: Sequence[Answer]) -> None:
        """Insert answers now, as plain rows: nothing reads them back in this unit of work, so the ORM's
        bookkeeping (identity map, primary keys fetched back) would be spent for nothing on every tap."""
        if answers:
            self._session.execute(insert(_ANSWER_TABLE), [_answer_row(a) for a in answers])

    def clear_answers(self, survey_id: int) -> None:
        self._session.execute(delete(Answer).where(Answer.survey_id == survey_id))

    def answers(self, survey_id: int) -> list[Answer]:
        return list(self._session.scalars(select(Answer).where(Answer.survey_id == survey_id).order_by(Answer.id)))

    def add_attempt(self, attempt: ContactAttempt) -> None:
        self._session.add(attempt)

    def attempts(self, survey_id: int) -> list[ContactAttempt]:
        return list(
            self._session.scalars(
                select(ContactAttempt)
                .where(ContactAttempt.survey_id == survey_id)
                .order_by(ContactAttempt.attempted_at)
            )
        )

    def waiting_unbound(self) -> list[tuple[Customer, str]]:
        """Customers with a survey waiting to be sent who cannot be reached by chat (for the SMS export)."""
        rows = self._session.execute(
            select(Customer, Survey.questionnaire_id)
            .join(Survey, Survey.customer_id == Customer.id)
            .where(
                Survey.status.in_((SurveyStatus.PENDING, SurveyStatus.INVITED, SurveyStatus.NON_CONTACT)),
                Customer.opted_out_at.is_(None),
                (Customer.telegram_chat_id.is_(None)) | (Customer.chat_unreachable_at.is_not(None)),
            )
            .order_by(Customer.id)
        ).all()
        seen: set[int] = set()
        result = []
        for customer, questionnaire_id in rows:
            if customer.id not in seen:
                seen.add(customer.id)
                result.append((customer, questionnaire_id))
        return result

    def call_candidates(
        self,
        store_id: int,
        staff_id: int,
        now: datetime,
        claim_cutoff: datetime,
        max_attempts: int,
        purpose_order: Sequence[str],
        limit: int = 20,
    ) -> list[int]:
        """Survey ids to offer a specialist, best first: due callbacks (their own first), then phone
        surveys due now by purpose priority and waiting time. Unclaimed or lapsed claims only."""
        callback = (Survey.status == SurveyStatus.APPOINTMENT) & (Survey.callback_at <= now)
        waiting = (
            Survey.status.in_((SurveyStatus.PENDING, SurveyStatus.IN_PROGRESS))
            & (Survey.channel == "phone")
            & ((Survey.next_try_at.is_(None)) | (Survey.next_try_at <= now))
        )
        priority = (
            case(*((Survey.questionnaire_id == q, i) for i, q in enumerate(purpose_order)), else_=len(purpose_order))
            if purpose_order
            else literal(0)
        )
        query = (
            select(Survey.id)
            .join(Customer, Customer.id == Survey.customer_id)
            .where(
                Customer.store_id == store_id,
                Customer.opted_out_at.is_(None),
                Survey.attempt_count < max_attempts,
                (Survey.claimed_by_staff_id.is_(None))
                | (Survey.claimed_at < claim_cutoff)
                | (Survey.claimed_by_staff_id == staff_id),
                callback | waiting,
            )
            .order_by(
                case((callback & (Survey.assigned_staff_id == staff_id), 0), (callback, 1), else_=2),
                Survey.callback_at,
                priority,
                func.coalesce(Survey.next_try_at, Survey.due_at, Survey.created_at),
                Survey.id,
            )
            .limit(limit)
        )
        return list(self._session.scalars(query))

    def claim(self, survey_id: int, staff_id: int, now: datetime, claim_cutoff: datetime) -> bool:
        """Take the case for this specialist unless someone else holds a live claim (atomic).

        Raises ClaimConflict when SQLite cannot upgrade this transaction's older snapshot to a write
        because another specialist just wrote: the caller starts over with a fresh transaction.
        """
        try:
            result = self._session.execute(
                update(Survey)
                .where(
                    Survey.id == survey_id,
                    (Survey.claimed_by_staff_id.is_(None))
                    | (Survey.claimed_at < claim_cutoff)
                    | (Survey.claimed_by_staff_id == staff_id),
                )
                .values(claimed_by_staff_id=staff_id, claimed_at=now)
                .execution_options(synchronize_session=False)
            )
        except OperationalError as exc:
            raise ClaimConflict from exc
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def claimed_by(self, staff_id: int) -> Survey | None:
        """The case a specialist holds now, if any (the most recently touched)."""
        return self._session.scalars(
            select(Survey).where(Survey.claimed_by_staff_id == staff_id).order_by(Survey.claimed_at.desc())
        ).first()

    def pin_version(self, ref: str, questionnaire_id: str, text: str, now: datetime) -> None:
        """Keep the questionnaire text of this version (once) so surveys can finish on it.

        An upsert that cannot fail: when two processes pin a new version at once, the second one's insert
        does nothing (the text of a ref never changes)."""
        if self._session.get(QuestionnaireVersion, ref) is None:
            self._session.execute(
                _insert(self._session, QuestionnaireVersion)
                .values(ref=ref, questionnaire_id=questionnaire_id, source_text=text, created_at=now)
                .on_conflict_do_nothing(index_elements=["ref"])
            )

    def pinned_text(self, ref: str) -> str | None:
        row = self._session.get(QuestionnaireVersion, ref)
        return row.source_text if row else None


class ClaimConflict(Exception):
    """Another transaction wrote first; retry in a new one."""


class CustomerRecords:
    """Single-customer reads and writes for the channels (binding, consent, status)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, customer_id: int) -> Customer | None:
        return self._session.get(Customer, customer_id)

    def by_chat(self, chat_id: int) -> Customer | None:
        return self._session.scalars(_CUSTOMER_BY_CHAT, {"chat_id": chat_id}).first()

    def many(self, customer_ids: Iterable[int]) -> dict[int, Customer]:
        """Customers by id (those that exist)."""
        ids = list(dict.fromkeys(customer_ids))
        found: dict[int, Customer] = {}
        for start in range(0, len(ids), _IN_CHUNK):
            chunk = ids[start : start + _IN_CHUNK]
            found.update((c.id, c) for c in self._session.scalars(select(Customer).where(Customer.id.in_(chunk))))
        return found

    def by_phone(self, phone: str) -> list[Customer]:
        return list(self._session.scalars(select(Customer).where(Customer.phone == phone)))

    def store_name(self, store_id: int) -> str:
        store = self._session.get(Store, store_id)
        return store.name if store else ""

    def vehicle(self, customer_id: int) -> Vehicle | None:
        return self._session.scalars(
            select(Vehicle).where(Vehicle.customer_id == customer_id).order_by(Vehicle.delivery_date.desc())
        ).first()

    def staff(self, staff_id: int | None) -> Staff | None:
        return self._session.get(Staff, staff_id) if staff_id else None


class StaffRecords:
    """Staff lookups for the channels."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, staff_id: int) -> Staff | None:
        return self._session.get(Staff, staff_id)

    def by_telegram(self, user_id: int) -> Staff | None:
        return self._session.scalars(_STAFF_BY_TELEGRAM, {"user_id": user_id}).first()

    def reachable(self, role: str | None = None) -> list[Staff]:
        """Active staff bound to Telegram (of one role, if given), by id."""
        query = select(Staff).where(Staff.telegram_user_id.is_not(None), Staff.active.is_(True))
        if role is not None:
            query = query.where(Staff.role == role)
        return list(self._session.scalars(query.order_by(Staff.id)))

    def by_name(self, store_id: int, name: str) -> Staff | None:
        return self._session.scalars(select(Staff).where(Staff.store_id == store_id, Staff.name == name)).first()

    def least_busy(self, store_id: int, role: str) -> Staff | None:
        """The active staff member of this role with the fewest open tasks (ties: lowest id)."""
        open_tasks = (
            select(Task.staff_id, func.count().label("n")).where(Task.status == TaskStatus.OPEN).group_by(Task.staff_id)
        ).subquery()
        return self._session.scalars(
            select(Staff)
            .outerjoin(open_tasks, open_tasks.c.staff_id == Staff.id)
            .where(Staff.store_id == store_id, Staff.role == role, Staff.active.is_(True))
            .order_by(func.coalesce(open_tasks.c.n, 0), Staff.id)
        ).first()

    def managers(self, store_id: int) -> list[Staff]:
        return list(
            self._session.scalars(
                select(Staff).where(Staff.store_id == store_id, Staff.role == "manager", Staff.active.is_(True))
            )
        )


class TaskRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, task: Task) -> Task:
        self._session.add(task)
        self._session.flush()
        return task

    def add_scheduled(
        self, staff_id: int | None, customer_id: int, kind: str, due_at: datetime, key: str, now: datetime
    ) -> bool:
        """Open a task the scheduler found due, unless one with this schedule key exists; True if opened.

        One statement (``INSERT … ON CONFLICT DO NOTHING`` on the unique schedule key): when two schedulers
        find the same task due at once, the second takes the first's as already done."""
        statement = (
            _insert(self._session, Task)
            .values(
                staff_id=staff_id,
                customer_id=customer_id,
                kind=kind,
                due_at=due_at,
                status=TaskStatus.OPEN,
                schedule_key=key,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["schedule_key"])
            .returning(Task.id)
        )
        return self._session.execute(statement).first() is not None

    def get(self, task_id: int) -> Task | None:
        return self._session.get(Task, task_id)

    def callbacks_due(self, start: datetime, end: datetime) -> list[tuple[Task, Staff]]:
        """Open callback tasks due in (start, end], with their staff member if bound to Telegram."""
        rows = self._session.execute(
            select(Task, Staff)
            .join(Staff, Staff.id == Task.staff_id)
            .where(
                Task.kind == "callback",
                Task.status == TaskStatus.OPEN,
                Task.due_at <= end,
                Task.due_at > start,
                Staff.telegram_user_id.is_not(None),
            )
            .order_by(Task.id)
        ).all()
        return [(task, staff) for task, staff in rows]

    def open_due_between(self, start: datetime, end: datetime, limit: int = 2000) -> list[Task]:
        """Open tasks due in (start, end]."""
        query = select(Task).where(Task.status == TaskStatus.OPEN, Task.due_at <= end, Task.due_at > start)
        return list(self._session.scalars(query.order_by(Task.id).limit(limit)))

    def open_for(self, staff_id: int, due_before: datetime | None = None) -> list[Task]:
        query = select(Task).where(Task.staff_id == staff_id, Task.status == TaskStatus.OPEN)
        if due_before is not None:
            query = query.where(Task.due_at < due_before)
        return list(self._session.scalars(query.order_by(Task.due_at, Task.id)))


class LinkRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, token: LinkToken) -> None:
        self._session.add(token)

    def by_nonce(self, nonce: str, *, for_update: bool = False) -> LinkToken | None:
        """The issued link; ``for_update`` locks its row so two accounts cannot redeem it at once."""
        query = select(LinkToken).where(LinkToken.nonce == nonce)
        return self._session.scalars(query.with_for_update() if for_update else query).first()


class WebLinkRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, link: WebLink) -> None:
        self._session.add(link)

    def by_hash(self, token_hash: str) -> WebLink | None:
        return self._session.scalars(select(WebLink).where(WebLink.token_hash == token_hash)).first()

    def opened(self, token_hash: str, *, for_update: bool = False) -> tuple[WebLink, Survey, Customer, str] | None:
        """A link with its survey, the survey's customer and the store's name, in one query (the web page needs
        all four for every request); ``for_update`` locks the survey's row (PostgreSQL)."""
        query = _WEB_LINK_OPENED_LOCKED if for_update else _WEB_LINK_OPENED
        row = self._session.execute(query, {"token_hash": token_hash}).first()
        return (row[0], row[1], row[2], row[3]) if row else None

    def revoke_for_survey(self, survey_id: int, now: datetime) -> int:
        """Revoke every live link of a survey; how many were revoked."""
        result = self._session.execute(
            update(WebLink)
            .where(WebLink.survey_id == survey_id, WebLink.revoked_at.is_(None))
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _answer_row(answer: Answer) -> dict[str, object]:
    """The row of a new (unflushed) answer: every column but the key, the model's defaults applied."""
    row: dict[str, object] = {}
    for column in Answer.__table__.columns:
        if column.primary_key:
            continue
        value = getattr(answer, column.key)
        if value is None and column.default is not None and column.default.is_scalar:
            value = column.default.arg
        row[column.key] = value
    return row


class UpdateLog:
    """Telegram updates already handled."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def claim(self, update_id: int, now: datetime) -> bool:
        """Record the update as handled; False if it was recorded before (one statement, no read first)."""
        result = self._session.execute(_CLAIM_UPDATE, {"update_id": update_id, "processed_at": now})
        return bool(result.rowcount)  # type: ignore[attr-defined]


class InboundUpdates:
    """Fetched Telegram updates not yet handled (see ``InboundUpdate``)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def keep(self, update_id: int, payload: str, now: datetime) -> bool:
        """Store a fetched update; False if it is stored already (fetched again while still waiting)."""
        result = self._session.execute(_KEEP_UPDATE, {"update_id": update_id, "payload": payload, "received_at": now})
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def forget(self, update_ids: list[int]) -> None:
        """Handled: nothing to replay for these any more."""
        if update_ids:
            self._session.execute(delete(InboundUpdate).where(InboundUpdate.update_id.in_(update_ids)))

    def waiting(self) -> list[str]:
        """Payloads of the updates stored and not handled, oldest first."""
        return list(self._session.scalars(select(InboundUpdate.payload).order_by(InboundUpdate.update_id)))


_KEEP_UPDATE = text(
    "INSERT INTO inbound_update (update_id, payload, received_at) VALUES (:update_id, :payload, :received_at) "
    "ON CONFLICT (update_id) DO NOTHING"
).bindparams(bindparam("update_id", type_=BigInteger()), bindparam("received_at", type_=UTCDateTime()))


# Said the same way by SQLite (3.24+) and PostgreSQL; written once because this runs for every update.
_CLAIM_UPDATE = text(
    "INSERT INTO processed_update (update_id, processed_at) VALUES (:update_id, :processed_at) "
    "ON CONFLICT (update_id) DO NOTHING"
).bindparams(bindparam("update_id", type_=BigInteger()), bindparam("processed_at", type_=UTCDateTime()))


class OutboxRepository:
    """The outbound-message table: every message goes in once (by idempotency key) and out once."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, key: str, channel: str, recipient: str, payload: dict[str, object], now: datetime) -> bool:
        """Queue a message unless one with this key exists; True if it was queued now."""
        from sqlalchemy.dialects.postgresql import insert as pg_insert
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        dialect = self._session.get_bind().dialect.name
        make = pg_insert if dialect == "postgresql" else sqlite_insert
        statement = (
            make(OutboundMessage)
            .values(
                idempotency_key=key,
                channel=channel,
                recipient=recipient,
                payload=payload,
                status=OutboxStatus.PENDING,
                attempts=0,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(OutboundMessage.id)
        )
        # rowcount is not reliable for ON CONFLICT on every driver; a returned id is.
        return self._session.execute(statement).first() is not None

    def add_claimed(
        self, key: str, channel: str, recipient: str, payload: dict[str, object], now: datetime
    ) -> int | None:
        """Record a message its caller sends itself right after commit: claimed from the start, so the
        background sender leaves it alone (until ``release_claims`` hands it back after a crash). Its id, or
        None if a message with this key exists already."""
        from sqlalchemy.dialects.postgresql import insert as pg_insert
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        dialect = self._session.get_bind().dialect.name
        make = pg_insert if dialect == "postgresql" else sqlite_insert
        statement = (
            make(OutboundMessage)
            .values(
                idempotency_key=key,
                channel=channel,
                recipient=recipient,
                payload=payload,
                status=OutboxStatus.CLAIMED,
                attempts=1,
                claimed_at=now,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(OutboundMessage.id)
        )
        row = self._session.execute(statement).first()
        return int(row[0]) if row is not None else None

    def status_of(self, key: str) -> tuple[int, str] | None:
        """(id, status) of the message with this idempotency key, if there is one."""
        row = self._session.execute(
            select(OutboundMessage.id, OutboundMessage.status).where(OutboundMessage.idempotency_key == key)
        ).first()
        return (int(row[0]), str(row[1])) if row is not None else None

    def release_claims(self, key_prefix: str, claimed_before: datetime) -> int:
        """Hand messages under ``key_prefix`` claimed before ``claimed_before`` back to the sender; how many."""
        result = self._session.execute(
            update(OutboundMessage)
            .where(
                OutboundMessage.status == OutboxStatus.CLAIMED,
                OutboundMessage.idempotency_key.startswith(key_prefix, autoescape=True),
                OutboundMessage.claimed_at < claimed_before,
            )
            .values(status=OutboxStatus.PENDING)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def claimable(self, now: datetime, stale_before: datetime, limit: int, channel: str = "telegram") -> list[int]:
        """Pending messages of ``channel``, and its messages claimed by a process that has gone quiet (crashed)."""
        return list(
            self._session.scalars(
                select(OutboundMessage.id)
                .where(
                    OutboundMessage.channel == channel,
                    (OutboundMessage.status == OutboxStatus.PENDING)
                    | ((OutboundMessage.status == OutboxStatus.CLAIMED) & (OutboundMessage.claimed_at < stale_before)),
                )
                .order_by(OutboundMessage.id)
                .limit(limit)
            )
        )

    def claim(self, message_id: int, now: datetime, stale_before: datetime) -> bool:
        """Take one message for sending (atomic: two senders never both get it)."""
        result = self._session.execute(
            update(OutboundMessage)
            .where(
                OutboundMessage.id == message_id,
                (OutboundMessage.status == OutboxStatus.PENDING)
                | ((OutboundMessage.status == OutboxStatus.CLAIMED) & (OutboundMessage.claimed_at < stale_before)),
            )
            .values(status=OutboxStatus.CLAIMED, claimed_at=now, attempts=OutboundMessage.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def get(self, message_id: int) -> OutboundMessage | None:
        return self._session.get(OutboundMessage, message_id)

    def by_key(self, key: str) -> OutboundMessage | None:
        return self._session.scalars(select(OutboundMessage).where(OutboundMessage.idempotency_key == key)).first()

    def record_receipt(self, key: str, receipt: str, now: datetime) -> bool:
        """Store the provider's delivery receipt of a message, once: False if it had one already (a receipt
        delivered twice) or there is no such message (one statement, so two deliveries at once record one)."""
        result = self._session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.idempotency_key == key, OutboundMessage.receipt.is_(None))
            .values(receipt=receipt, receipt_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def count_to_since(self, recipient: str, channel: str, since: datetime) -> int:
        """Messages queued to ``recipient`` on ``channel`` since ``since`` that were not cancelled."""
        return int(
            self._session.scalar(
                select(func.count())
                .select_from(OutboundMessage)
                .where(
                    OutboundMessage.recipient == recipient,
                    OutboundMessage.channel == channel,
                    OutboundMessage.created_at >= since,
                    OutboundMessage.status != OutboxStatus.CANCELLED,
                )
            )
            or 0
        )

    def cancel_unsent_to(self, recipient: str, reason: str) -> int:
        """Cancel every message to ``recipient`` not sent yet (pending, or claimed by a sender); how many."""
        result = self._session.execute(
            update(OutboundMessage)
            .where(
                OutboundMessage.recipient == recipient,
                OutboundMessage.status.in_((OutboxStatus.PENDING, OutboxStatus.CLAIMED)),
            )
            .values(status=OutboxStatus.CANCELLED, error=reason)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def finish(self, message_id: int, status: str, now: datetime, error: str | None = None) -> None:
        self._session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id == message_id)
            .values(status=status, sent_at=now if status == OutboxStatus.SENT else None, error=error)
            .execution_options(synchronize_session=False)
        )


# Queries every Telegram update runs, built once: building a statement and its cache key costs about
# 0.1 ms each time, a noticeable share of an answer's cost.
_SURVEY_WITH_CUSTOMER = (
    select(Survey, Customer)
    .join(Customer, Customer.id == Survey.customer_id)
    .where(Survey.id == bindparam("survey_id"))
)
_SURVEY_WITH_CUSTOMER_LOCKED = _SURVEY_WITH_CUSTOMER.with_for_update(of=Survey)
_WEB_LINK_OPENED = (
    select(WebLink, Survey, Customer, Store.name)
    .join(Survey, Survey.id == WebLink.survey_id)
    .join(Customer, Customer.id == Survey.customer_id)
    .join(Store, Store.id == Customer.store_id)
    .where(WebLink.token_hash == bindparam("token_hash"))
)
_WEB_LINK_OPENED_LOCKED = _WEB_LINK_OPENED.with_for_update(of=Survey)
_ACTIVE_SURVEY = (
    select(Survey)
    .where(Survey.customer_id == bindparam("customer_id"), Survey.status.in_(ACTIVE_VALUES))
    .order_by(Survey.created_at.desc(), Survey.id.desc())
    .limit(1)
)
_ACTIVE_SURVEY_LOCKED = _ACTIVE_SURVEY.with_for_update()
_CUSTOMER_BY_CHAT = select(Customer).where(Customer.telegram_chat_id == bindparam("chat_id"))
_STAFF_BY_TELEGRAM = select(Staff).where(Staff.telegram_user_id == bindparam("user_id"), Staff.active.is_(True))


class ConsentRecords:
    """Consents and opt-outs as they happened (rows are added, never changed)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, record: ConsentRecord) -> None:
        self._session.add(record)

    def erasures(self, customer_id: int) -> list[datetime]:
        """When the customer's personal data was erased (if it was)."""
        return list(
            self._session.scalars(
                select(ErasureRecord.erased_at)
                .where(ErasureRecord.customer_id == customer_id)
                .order_by(ErasureRecord.erased_at)
            )
        )

    def for_customer(self, customer_id: int) -> list[ConsentRecord]:
        return list(
            self._session.scalars(
                select(ConsentRecord)
                .where(ConsentRecord.customer_id == customer_id)
                .order_by(ConsentRecord.recorded_at, ConsentRecord.id)
            )
        )


# --- automated voice calls (智能外呼) ---
_LIVE_VOICE_CALL = select(VoiceCall.id).where(VoiceCall.survey_id == Survey.id, VoiceCall.ended_at.is_(None)).exists()


class VoiceCallRepository:
    """Automated calls and the surveys waiting for one."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, call: VoiceCall) -> None:
        self._session.add(call)
        self._session.flush()  # the live-call-per-survey index refuses a second call now, not at commit

    def by_key(self, key: str, *, for_update: bool = False) -> VoiceCall | None:
        query = select(VoiceCall).where(VoiceCall.key == key)
        return self._session.scalars(query.with_for_update() if for_update else query).first()

    def live_count(self) -> int:
        return int(self._session.scalar(select(func.count()).where(VoiceCall.ended_at.is_(None))) or 0)

    def live_before(self, cutoff: datetime) -> list[VoiceCall]:
        """Calls still open that were created before ``cutoff`` (their end was never reported)."""
        query = select(VoiceCall).where(VoiceCall.ended_at.is_(None), VoiceCall.created_at < cutoff)
        return list(self._session.scalars(query.order_by(VoiceCall.id)))

    def due_surveys(self, now: datetime, limit: int) -> list[tuple[Survey, Customer]]:
        """Surveys in the voice mode that may be called now: waiting or begun, their retry time reached, the
        customer not opted out and with a phone number, no call to them under way. Longest waiting first."""
        if limit <= 0:
            return []
        rows = self._session.execute(
            select(Survey, Customer)
            .join(Customer, Customer.id == Survey.customer_id)
            .where(
                Survey.channel == "voice",
                Survey.status.in_((SurveyStatus.PENDING, SurveyStatus.INVITED, SurveyStatus.IN_PROGRESS)),
                (Survey.next_try_at.is_(None)) | (Survey.next_try_at <= now),
                Survey.claimed_by_staff_id.is_(None),
                Customer.opted_out_at.is_(None),
                Customer.phone.is_not(None),
                ~_LIVE_VOICE_CALL,
            )
            .order_by(func.coalesce(Survey.next_try_at, Survey.due_at, Survey.created_at), Survey.id)
            .limit(limit)
        ).all()
        return [(row[0], row[1]) for row in rows]
