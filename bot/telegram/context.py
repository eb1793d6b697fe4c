"""How handlers reach the services: PTB's typed ContextTypes, as in PTB's contexttypesbot example."""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import time
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
from storage.database import is_busy
from storage.unit_of_work import SqlUnitOfWork

T = TypeVar("T")
log = logging.getLogger(__name__)


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

    busy_patience: float = 900.0
    """Seconds a write keeps trying while another process holds SQLite's write lock (then it fails)."""
    _closing: threading.Event = field(default_factory=threading.Event, repr=False)

    def close(self) -> None:
        """The bot is stopping: a write still waiting for the lock gives up rather than hold the exit."""
        self._closing.set()

    def uow(self) -> SqlUnitOfWork:
        return self.container.uow()

    @cached_property
    def _sqlite(self) -> bool:
        return self.container.engine.dialect.name == "sqlite"

    @cached_property
    def _writer(self) -> ThreadPoolExecutor:
        # SQLite has one writer: one thread runs this process's write units of work, one after the other.
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")

    async def transact(self, work: Callable[[SqlUnitOfWork], T], *, read_only: bool = False) -> T:
        """Run ``work`` in a fresh unit of work (it commits itself), never on the event loop.

        Waiting for the database must not stall every other chat: the work runs in a worker thread. On
        SQLite a write runs in the one writer thread, and if another process keeps the write lock past
        the busy timeout it is tried again, with backoff, for ``busy_patience`` seconds: the customer's tap
        is applied (and answered) after the other writer finishes, not rolled back and lost. Read-only work
        (``read_only=True``: lookups, reports) never waits for the write lock.
        """

        def run() -> T:
            with self.container.uow(read_only) as uow:
                return work(uow)

        if not self._sqlite or read_only:
            return await asyncio.to_thread(run)
        return await asyncio.get_running_loop().run_in_executor(self._writer, self._patiently, run)

    def _patiently(self, run: Callable[[], T]) -> T:
        """``run`` until it gets the write lock; a busy database rolled the attempt back, so it is whole again."""
        deadline, delay = time.monotonic() + self.busy_patience, 0.05
        while True:
            try:
                return run()
            except Exception as exc:
                if not is_busy(exc) or time.monotonic() + delay > deadline or self._closing.is_set():
                    raise
            log.warning("database busy (another process holds the write lock); trying again in %.2f s", delay)
            self._closing.wait(delay)
            delay = min(delay * 2, 2.0)

    async def offload(self, fn: Callable[..., T], *args: object) -> T:
        """Run a blocking use case that opens its own unit of work (another channel's, e.g. a voice webhook) off
        the event loop: on SQLite in this process's one writer thread, patiently, like ``transact``."""
        run = functools.partial(fn, *args)
        if not self._sqlite:
            return await asyncio.to_thread(run)
        return await asyncio.get_running_loop().run_in_executor(self._writer, self._patiently, run)

    @cached_property
    def _prompt_pool(self) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(max_workers=2, thread_name_prefix="huifang-prompt")

    async def transact_promptly(self, work: Callable[[SqlUnitOfWork], T]) -> T:
        """``transact`` on threads of its own, never queued behind other chats' work: for recording that a
        message was sent, which must follow Telegram's acceptance at once (see docs/architecture.md)."""

        def run() -> T:
            with self.uow() as uow:
                return work(uow)

        if self._sqlite:  # SQLite's one writer thread: its queue is of millisecond writes
            return await self.transact(work)
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
