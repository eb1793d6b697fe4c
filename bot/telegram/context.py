"""How handlers reach the services: PTB's typed ContextTypes, as in PTB's contexttypesbot example."""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from telegram.ext import Application, CallbackContext, ExtBot

from bot.app import Container
from bot.domain.calling import PhoneSettings
from bot.services.surveys import SurveyKit
from bot.texts import Texts
from storage.unit_of_work import SqlUnitOfWork


@dataclass
class ChatServices:
    """Everything a handler may call, built once by the composition root."""

    container: Container
    kit: SurveyKit
    texts: Texts
    link_secret: bytes
    phone: PhoneSettings = field(default_factory=PhoneSettings)

    def uow(self) -> SqlUnitOfWork:
        return self.container.uow()

    def first_time(self, uow: SqlUnitOfWork, update_id: int) -> bool:
        """Record the update as handled in ``uow``; False if it was handled before (a redelivery)."""
        from bot.services.chat import Duplicate, claim_update

        try:
            claim_update(uow, update_id, self.kit)
        except Duplicate:
            return False
        return True

    @property
    def tz(self) -> ZoneInfo:
        return self.kit.tz


class BotState:
    """PTB's ``bot_data``: holds the services (PTB builds it without arguments)."""

    services: ChatServices | None = None


class HuifangContext(CallbackContext[ExtBot[None], dict, dict, BotState]):  # type: ignore[type-arg]
    """The context every handler receives, with ``.services`` typed."""

    @property
    def services(self) -> ChatServices:
        services = self.bot_data.services
        if services is None:
            raise RuntimeError("the application was built without services")
        return services


HuifangApplication = Application[ExtBot[None], HuifangContext, dict, dict, BotState, None]  # type: ignore[type-arg]
