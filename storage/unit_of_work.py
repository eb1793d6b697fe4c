"""The unit of work: one transaction, the repositories that share it, commit or roll back."""

from __future__ import annotations

import zlib
from types import TracebackType
from typing import Self

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from storage.database import READ_ONLY, analyse
from storage.repositories import (
    ConsentRecords,
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
    VoiceCallRepository,
    WebLinkRepository,
)


class SqlUnitOfWork:
    """Opens a session on enter; on exit, anything not committed is rolled back.

    ``read_only=True`` for work that only reads (reports, lookups): on SQLite its transactions never wait
    for the write lock, and a write in it fails (``attempt to write a readonly database``).
    """

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
    web_links: WebLinkRepository
    voice_calls: VoiceCallRepository

    def __init__(self, session_factory: sessionmaker[Session], read_only: bool = False) -> None:
        self._session_factory = session_factory
        self.read_only = read_only

    def __enter__(self) -> Self:
        if self.read_only:
            engine = self._session_factory.kw["bind"]
            self.session = self._session_factory(bind=engine.execution_options(**{READ_ONLY: True}))
        else:
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
        self.web_links = WebLinkRepository(self.session)
        self.consents = ConsentRecords(self.session)
        self.voice_calls = VoiceCallRepository(self.session)
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
        """Let the planner see how big the tables have become, and commit (``storage.database.analyse``)."""
        analyse(self.session.connection())
        self.session.commit()

    def flush(self) -> None:
        """Send pending writes (so later reads in this transaction see them) without committing."""
        self.session.flush()

    def serialise(self, name: str) -> None:
        """Wait until no other process is inside a unit of work serialised under ``name``, then go on.

        For work that reads what exists and then writes what is missing (the scheduler's due selection):
        the second of two processes waits for the first to commit and then sees what it wrote. PostgreSQL:
        a transaction-scoped advisory lock; SQLite: the database's write lock, taken now rather than at the
        first write (so the wait is the busy timeout, and the reads that follow see the latest commit).
        Both are released when this unit of work commits or rolls back.
        """
        if self.session.get_bind().dialect.name == "postgresql":
            self.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": zlib.crc32(name.encode())})
        else:
            # A write that changes nothing still takes SQLite's write lock for the rest of the transaction.
            self.session.execute(text("UPDATE store SET id = id WHERE 0"))
