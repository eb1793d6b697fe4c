"""The unit of work: one transaction, the repositories that share it, commit or roll back."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from storage.repositories import (
    CustomerRecords,
    CustomerRepository,
    InboundUpdates,
    LeadEventRepository,
    LinkRepository,
    OutboxRepository,
    StaffRecords,
    StaffRepository,
    StoreRepository,
    SurveyRepository,
    TaskRepository,
    UpdateLog,
    VehicleRepository,
)


class SqlUnitOfWork:
    """Opens a session on enter; on exit, anything not committed is rolled back."""

    session: Session
    stores: StoreRepository
    staff: StaffRepository
    customers: CustomerRepository
    vehicles: VehicleRepository
    lead_events: LeadEventRepository
    surveys: SurveyRepository
    people: CustomerRecords
    colleagues: StaffRecords
    tasks: TaskRepository
    links: LinkRepository
    updates: UpdateLog
    outbox: OutboxRepository
    inbound: InboundUpdates

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._session_factory = session_factory

    def __enter__(self) -> Self:
        self.session = self._session_factory()
        self.stores = StoreRepository(self.session)
        self.staff = StaffRepository(self.session)
        self.customers = CustomerRepository(self.session)
        self.vehicles = VehicleRepository(self.session)
        self.lead_events = LeadEventRepository(self.session)
        self.surveys = SurveyRepository(self.session)
        self.people = CustomerRecords(self.session)
        self.colleagues = StaffRecords(self.session)
        self.tasks = TaskRepository(self.session)
        self.links = LinkRepository(self.session)
        self.updates = UpdateLog(self.session)
        self.outbox = OutboxRepository(self.session)
        self.inbound = InboundUpdates(self.session)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # close() rolls back whatever was not committed but, unlike rollback(), leaves loaded objects
        # readable, so a service can hand them to the caller after the unit of work ends.
        self.session.close()

    def commit(self) -> None:
        """Make everything done in this unit of work durable."""
        self.session.commit()

    def rollback(self) -> None:
        """Throw away everything done since the last commit."""
        self.session.rollback()

    def refresh_statistics(self) -> None:
        """Let the planner see how big the customer tables have become (PostgreSQL; a no-op elsewhere)."""
        if self.session.get_bind().dialect.name == "postgresql":
            self.session.execute(text("ANALYZE customer, vehicle, lead_event"))
            self.session.commit()

    def flush(self) -> None:
        """Send pending writes (so later reads in this transaction see them) without committing."""
        self.session.flush()
