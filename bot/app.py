"""The composition root: builds everything from settings. Nothing here runs at import time."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.clock import Clock, SystemClock
from bot.services.importing import ImportOptions
from bot.settings import Settings
from storage.database import make_engine, make_session_factory
from storage.schema import ensure_current
from storage.unit_of_work import SqlUnitOfWork

if TYPE_CHECKING:
    from datetime import date

    from bot.domain.calling import CallingHours, PhoneSettings
    from bot.domain.contact_plan import Mode
    from bot.domain.lapse import LapseStages
    from bot.domain.statistics import ReportSettings
    from bot.services.links import LinkIssuer
    from bot.services.surveys import SurveyKit
    from bot.telegram.context import ChatServices
    from scheduler.jobs import JobContext


class MissingSetting(RuntimeError):
    """A setting this command needs is not set; the message names it (Chinese, for staff)."""


@dataclass
class Container:
    """What the entry points need, built once from settings."""

    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    clock: Clock = field(default_factory=SystemClock)
    _kit: SurveyKit | None = field(default=None, init=False, repr=False)
    _hours: CallingHours | None = field(default=None, init=False, repr=False)

    def uow(self, read_only: bool = False) -> SqlUnitOfWork:
        """A fresh unit of work on this database (``read_only``: for work that writes nothing)."""
        return SqlUnitOfWork(self.session_factory, read_only)

    def read_uow(self) -> SqlUnitOfWork:
        """A fresh read-only unit of work: never waits for another writer (a factory for reports)."""
        return SqlUnitOfWork(self.session_factory, read_only=True)

    def require_schema(self) -> None:
        """Raise SchemaNotReady unless the database is migrated to head."""
        ensure_current(self.engine)

    def import_options(self, store: str | None, dry_run: bool, create_store: bool = False) -> ImportOptions:
        return ImportOptions(
            store_name=store or self.settings.store_name,
            timezone=self.settings.timezone,
            region_code=self.settings.default_region_code,
            batch_size=self.settings.import_batch_size,
            dry_run=dry_run,
            create_store=create_store,
            default_store=self.settings.store_name,
        )

    def survey_kit(self) -> SurveyKit:
        """Questionnaires, renderer, clock and zone: what every survey use case needs (loaded once)."""
        if self._kit is None:
            from pathlib import Path

            from bot.contact_plans import load_plans
            from bot.questionnaires import load_catalog
            from bot.rendering import TemplateRenderer
            from bot.services.surveys import SurveyKit

            # A callback the customer or a specialist names: inside calling hours, not on a holiday or a
            # non-calling weekend (the same hours the queue, the invitations and the offered slots follow).
            hours = self.calling_hours()
            self._kit = SurveyKit(
                load_catalog(),
                TemplateRenderer(),
                self.clock,
                self.settings.tz,
                hours,
                load_plans(Path(self.settings.contact_plans_file))
                if self.settings.contact_plans_file
                else load_plans(),
                self.contact_modes(),
            )
        return self._kit

    def contact_modes(self) -> frozenset[Mode]:
        """The contact modes set up in this installation (a specialist's call always is)."""
        from bot.domain.contact_plan import Mode

        return frozenset(Mode(m) for m in self.settings.contact_modes) | {Mode.PHONE}

    def link_secret(self) -> bytes:
        if self.settings.link_secret is None:
            from bot.texts import cli_text

            raise MissingSetting(cli_text("errors.link_secret_missing"))
        return self.settings.link_secret.get_secret_value().encode()

    def link_issuer(self, bot_username: str) -> LinkIssuer:
        from bot.services.links import LinkIssuer

        return LinkIssuer(self.link_secret(), bot_username, self.settings.link_valid_days)

    def chat_services(self) -> ChatServices:
        from bot.telegram.context import ChatServices
        from bot.texts import Texts

        return ChatServices(self, self.survey_kit(), Texts(), self.link_secret(), self.phone_settings())

    def calling_hours(self) -> CallingHours:
        """Calling hours from settings, with China's public holidays when so set (built once): the one definition
        the phone queue, the invitations, the callback slots offered and the callback times accepted follow."""
        if self._hours is None:
            from datetime import time

            from bot.domain.calling import CallingHours

            holidays: frozenset[date] = frozenset()
            if self.settings.skip_public_holidays:
                import chinese_calendar

                holidays = frozenset(chinese_calendar.holidays)
            start, end = (time.fromisoformat(v) for v in (self.settings.calling_start, self.settings.calling_end))
            self._hours = CallingHours(start, end, self.settings.call_on_weekends, holidays)
        return self._hours

    def lapse_stages(self) -> LapseStages:
        """The lapse stages from settings: who gets the lapsed survey and what the reports count."""
        return self.settings.lapse_stages()

    def phone_settings(self) -> PhoneSettings:
        from bot.domain.calling import PhoneSettings

        return PhoneSettings(hours=self.calling_hours(), purpose_order=tuple(self.settings.purpose_order))

    def job_context(self) -> JobContext:
        from pathlib import Path

        from bot.domain.due import DueRules
        from bot.texts import Texts
        from scheduler.jobs import JobContext

        rules = DueRules(
            lapse=self.lapse_stages(),
            survey_gap_days=self.settings.survey_gap_days,
            purpose_order=tuple(self.settings.purpose_order),
        )
        kit = self.survey_kit()
        return JobContext(
            uow=self.uow,
            kit=kit,
            texts=Texts(),
            rules=rules,
            hours=self.calling_hours(),
            plans=kit.plans or {},
            modes=kit.modes,
            chart_dir=Path(self.settings.chart_dir),
        )

    def report_settings(self) -> ReportSettings:
        from bot.settings import report_settings

        return report_settings(self.settings)

    def close(self) -> None:
        self.engine.dispose()


def build(settings: Settings, clock: Clock | None = None) -> Container:
    """Wire the product for ``settings``."""
    engine = make_engine(settings.database_url, busy_timeout=settings.sqlite_busy_timeout)
    return Container(
        settings=settings,
        engine=engine,
        session_factory=make_session_factory(engine),
        clock=clock or SystemClock(),
    )
