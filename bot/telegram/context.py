"""How handlers reach the services: PTB's typed ContextTypes, as in PTB's contexttypesbot example."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from typing import TypeVar
from zoneinfo import ZoneInfo

from telegram.ext import Application, CallbackContext, ExtBot

from bot.app import Container
from bot.domain.calling import PhoneSettings
from bot.services.surveys import SurveyKit
from bot.texts import Texts
from storage.unit_of_work import SqlUnitOfWork

T = TypeVar("T")


class Seen:
    """What ``ChatServices.once`` returns for an update handled before: do nothing."""


SEEN = Seen()


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

    @cached_property
    def _offload(self) -> bool:
        # PostgreSQL answers over the network: waiting for it inline would stall every other chat, so the
        # work runs in a worker thread (psycopg releases the GIL while it waits). SQLite answers in-process
        # and has one writer: its work stays inline, where it cannot interleave with another handler's.
        return self.container.engine.dialect.name != "sqlite"

    async def transact(self, work: Callable[[SqlUnitOfWork], T]) -> T:
        """Run ``work`` in a fresh unit of work (it commits itself), off the event loop where that helps."""

        def run() -> T:
            with self.uow() as uow:
                return work(uow)

        return await asyncio.to_thread(run) if self._offload else run()

    @cached_property
    def _prompt_pool(self) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(max_workers=2, thread_name_prefix="huifang-prompt")

    async def transact_promptly(self, work: Callable[[SqlUnitOfWork], T]) -> T:
        """``transact`` on threads of its own, never queued behind other chats' work: for recording that a
        message was sent, which must follow Telegram's acceptance at once (see docs/architecture.md)."""

        def run() -> T:
            with self.uow() as uow:
                return work(uow)

        if not self._offload:
            return run()
        return await asyncio.get_running_loop().run_in_executor(self._prompt_pool, run)

    def first_time(self, uow: SqlUnitOfWork, update_id: int) -> bool:
        """Record the update as handled in ``uow``; False if it was handled before (a redelivery)."""
        from bot.services.chat import Duplicate, claim_update

        try:
            claim_update(uow, update_id, self.kit)
        except Duplicate:
            return False
        return True

    async def once(self, update_id: int, work: Callable[[SqlUnitOfWork], T]) -> T | Seen:
        """Claim the update and do ``work`` in one unit of work, committed together; ``SEEN`` if redelivered."""

        def claimed(uow: SqlUnitOfWork) -> T | Seen:
            if not self.first_time(uow, update_id):
                return SEEN
            result = work(uow)
            uow.commit()
            return result

        return await self.transact(claimed)

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
