"""Repositories: rows in, domain objects out. They never commit; the unit of work does.

The import-facing methods work on whole batches (one SELECT ... IN, one executemany) because a
dealership's list is tens of thousands of rows and a query per row would be the whole cost.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar

from sqlalchemy import insert, select, tuple_, update
from sqlalchemy.orm import Session

from bot.domain.customer_import import CustomerFacts, LeadEventFacts, VehicleFacts
from bot.domain.people import CustomerStatus, Honorific, IntentLevel, Role, Tier
from storage.models import Customer, LeadEvent, Staff, Store, Vehicle

_IN_CHUNK = 900  # stays under every backend's bound-parameter limit
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


class StoreRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def id_by_name(self, name: str) -> int | None:
        """The store's id, or None if there is no such store."""
        return self._session.scalar(select(Store.id).where(Store.name == name))

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
            rows = self._session.scalars(
                select(Staff).where(Staff.store_id == store_id, Staff.name.in_(part))
            )
            for row in rows:
                found[row.name] = _staff(row)
        return found

    def add(
        self, store_id: int, name: str, role: Role, phone: str | None, active: bool, now: datetime
    ) -> int:
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
        rows = [
            {**_customer_values(c), "store_id": store_id, "created_at": now, "updated_at": now}
            for c in customers
        ]
        result = self._session.execute(
            insert(Customer).returning(Customer.id, Customer.phone, sort_by_parameter_order=True), rows
        )
        return [row.id for row in result]

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
                insert(Vehicle), [{**v.values(), "created_at": now, "updated_at": now} for v in vehicles]
            )

    def update_many(self, vehicles: Sequence[VehicleFacts], now: datetime) -> None:
        if vehicles:
            self._session.execute(
                update(Vehicle), [{**v.values(), "id": v.id, "updated_at": now} for v in vehicles]
            )


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
