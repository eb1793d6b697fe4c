"""The composition root: builds everything from settings. Nothing here runs at import time."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.clock import Clock, SystemClock
from bot.services.importing import ImportOptions
from bot.settings import Settings
from storage.database import make_engine, make_session_factory
from storage.schema import ensure_current
from storage.unit_of_work import SqlUnitOfWork


@dataclass
class Container:
    """What the entry points need, built once from settings."""

    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    clock: Clock = field(default_factory=SystemClock)

    def uow(self) -> SqlUnitOfWork:
        """A fresh unit of work on this database."""
        return SqlUnitOfWork(self.session_factory)

    def require_schema(self) -> None:
        """Raise SchemaNotReady unless the database is migrated to head."""
        ensure_current(self.engine)

    def import_options(self, store: str | None, dry_run: bool) -> ImportOptions:
        return ImportOptions(
            store_name=store or self.settings.store_name,
            timezone=self.settings.timezone,
            region_code=self.settings.default_region_code,
            batch_size=self.settings.import_batch_size,
            dry_run=dry_run,
        )

    def close(self) -> None:
        self.engine.dispose()


def build(settings: Settings, clock: Clock | None = None) -> Container:
    """Wire the product for ``settings``."""
    engine = make_engine(settings.database_url)
    return Container(
        settings=settings,
        engine=engine,
        session_factory=make_session_factory(engine),
        clock=clock or SystemClock(),
    )
