"""No fetched update is lost, and one chat's backlog holds up no other chat.

Durable before confirmed. PTB's Updater confirms a batch of polled updates to Telegram (it asks for the next
offset) as soon as each update of the batch has been *put* on the application's update queue, before any is
handled; in webhook mode it answers Telegram's POST with 200 once the update is put. So the update queue is
where an update must become durable: ``DurableUpdateQueue.put`` stores the update in ``inbound_update`` (one
small transaction) before it returns, and only then may Telegram hear that it arrived. PTB's own polling
loop and webhook server are kept; no custom polling loop is needed. An update already stored (fetched again
while it still waits) is not queued twice.

Handled, then forgotten. ``ChatLanes`` forgets an update (deletes its row) once its handler has finished,
in batches (about one transaction a second; all of them when the application shuts down). On start-up
``replay`` queues again whatever a dead process stored and did not forget. Handlers that change something
claim the update id in their own transaction, so an update that was handled but not yet forgotten changes
nothing the second time; a read-only one (/help, /tasks) handled in the last second before a crash may be
answered twice.

One chat, one lane. ``ChatLanes`` handles the updates of one chat one after another, in the order they
came, and different chats concurrently, at most ``slots`` at a time. A chat waits for its lane *before* it
takes a slot, so a chat occupies at most one slot: one customer sending 150 messages, each reply waiting
out Telegram's 1 message/s per chat, no longer fills every slot and delays everyone else's next question.
A chat's backlog is bounded: an update arriving while ``backlog`` of that chat's updates already wait is
dropped unhandled (logged with its update id, and forgotten). No person taps or types that fast; it is a
flood, and answering it would only keep the flooding chat busy for minutes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import Application, BaseUpdateProcessor

from bot.telegram.context import ChatServices
from storage.unit_of_work import SqlUnitOfWork

log = logging.getLogger(__name__)


class DurableUpdateQueue(asyncio.Queue):  # type: ignore[type-arg]
    """The application's update queue: an update is stored before ``put`` returns (see the module)."""

    def __init__(self, services: ChatServices) -> None:
        super().__init__()
        self._services = services

    async def put(self, item: object) -> None:
        if isinstance(item, Update):
            payload = item.to_json()
            now = self._services.container.clock.now()

            def keep(uow: SqlUnitOfWork) -> bool:
                fresh = uow.inbound.keep(item.update_id, payload, now)
                uow.commit()
                return fresh

            if not await self._services.transact(keep):
                log.info("update %s is stored already; not queued again", item.update_id)
                return
        await super().put(item)

    async def put_stored(self, item: Update) -> None:
        """Queue an update that is stored already (a replay after a restart)."""
        await super().put(item)


class ChatLanes(BaseUpdateProcessor):
    """Per-chat serial, cross-chat concurrent handling with a bounded backlog per chat (see the module)."""

    def __init__(self, slots: int = 64, backlog: int = 30, forgetter: Forgetter | None = None) -> None:
        # PTB's own semaphore would be taken before a chat waits for its lane; ours is taken after.
        super().__init__(max_concurrent_updates=1 << 20)
        self._slots = asyncio.Semaphore(slots)
        self._backlog = backlog
        self._forgetter = forgetter
        self._lanes: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        """After the last handler (PTB's ``Application.shutdown``): forget what was handled, so a clean
        restart replays nothing."""
        if self._forgetter is not None:
            await self._forgetter.drain()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        update_id = update.update_id if isinstance(update, Update) else None
        chat = _chat_of(update)
        try:
            if chat is None:
                async with self._slots:
                    await coroutine
                return
            if self._waiting.get(chat, 0) >= self._backlog:
                if hasattr(coroutine, "close"):
                    coroutine.close()
                log.warning("update %s dropped: its chat has %s updates waiting (a flood)", update_id, self._backlog)
                return
            self._waiting[chat] = self._waiting.get(chat, 0) + 1
            lane = self._lanes.setdefault(chat, asyncio.Lock())
            try:
                async with lane, self._slots:
                    await coroutine
            finally:
                self._waiting[chat] -= 1
                if not self._waiting[chat]:
                    del self._waiting[chat]
                    self._lanes.pop(chat, None)
        finally:
            if update_id is not None and self._forgetter is not None:
                self._forgetter(update_id)


def _chat_of(update: object) -> int | None:
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return update.effective_chat.id
    return update.effective_user.id if update.effective_user is not None else None


class Forgetter:
    """Deletes handled updates from ``inbound_update`` in batches, ``every`` seconds after the first of a batch
    was handled, off the handler's path (a crash replays at most those; see the module)."""

    def __init__(self, services: ChatServices, every: float = 1.0) -> None:
        self._services = services
        self._every = every
        self._handled: list[int] = []
        self._task: asyncio.Task[None] | None = None

    def __call__(self, update_id: int) -> None:
        self._handled.append(update_id)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        await asyncio.sleep(self._every)
        await self._flush_now()

    async def _flush_now(self) -> None:
        while self._handled:
            batch, self._handled = self._handled, []

            def forget(uow: SqlUnitOfWork, batch: list[int] = batch) -> None:
                uow.inbound.forget(batch)
                uow.commit()

            try:
                await self._services.transact(forget)
            except Exception as exc:  # they are replayed after a restart, which changes nothing
                log.warning("handled updates not forgotten: %s", type(exc).__name__)

    async def drain(self) -> None:
        """Forget every handled update reported so far, now."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._flush_now()


async def replay(application: Application) -> int:  # type: ignore[type-arg]
    """Queue again the updates a previous process stored and did not finish; how many."""
    services: ChatServices = application.bot_data.services
    queue = application.update_queue
    assert isinstance(queue, DurableUpdateQueue)
    payloads = await services.transact(lambda uow: uow.inbound.waiting())
    for payload in payloads:
        update = Update.de_json(json.loads(payload), application.bot)
        if update is not None:
            await queue.put_stored(update)
    if payloads:
        log.info("replaying %s updates fetched before a restart", len(payloads))
    return len(payloads)
