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
import os
from collections.abc import Awaitable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import Application, BaseUpdateProcessor

from bot.telegram.context import ChatServices
from storage.unit_of_work import SqlUnitOfWork

log = logging.getLogger(__name__)


class Journal:
    """An append-only file beside a SQLite database for updates the database could not take at once.

    SQLite has one writer: while another process (an import, a job run from cron) holds the write lock, storing
    an update would keep Telegram waiting for its confirmation, and with it every other chat's next update. An
    update not stored within a moment is appended here instead, flushed to disk (fsync) before Telegram hears of
    it, and replayed on start-up; the file is emptied once every update in it has reached the database. All
    file work runs on one thread of its own, in order, never on the event loop.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inbound-journal")

    async def append(self, payload: str) -> None:
        await asyncio.get_running_loop().run_in_executor(self._thread, self._append, payload)

    def _append(self, payload: str) -> None:
        with self.path.open("a", encoding="utf-8") as journal:
            journal.write(payload.replace("\n", " ") + "\n")
            journal.flush()
            os.fsync(journal.fileno())

    def clear(self) -> asyncio.Future[None]:
        """Empty the journal, in order after every append asked for so far (submitted now, not later)."""
        return asyncio.get_running_loop().run_in_executor(self._thread, self._clear)

    def _clear(self) -> None:
        if self.path.exists():
            self.path.unlink()

    def read(self) -> list[str]:
        """Every complete line (a line cut short by a crash mid-write is not an update yet: it was never confirmed)."""
        if not self.path.exists():
            return []
        text = self.path.read_text(encoding="utf-8")
        return [line for line in text.split("\n")[:-1] if line.strip()]


def journal_for(services: ChatServices) -> Journal | None:
    """The journal beside the database file, on SQLite (PostgreSQL takes concurrent writes: no journal)."""
    url = services.container.engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Journal(Path(f"{url.database}.inbound.jsonl"))


class DurableUpdateQueue(asyncio.Queue):  # type: ignore[type-arg]
    """The application's update queue: an update is durable before ``put`` returns (see the module).

    It is handed to its handler while it is being stored, not after, so an update that only reads (/help,
    /tasks) is answered even while SQLite's write lock is held elsewhere. On SQLite an update the database has
    not taken within ``journal_after`` seconds goes to the ``Journal`` file instead (and still to the database
    once the lock is free). Telegram hears that an update arrived only once it is durable; the ``Forgetter``
    waits for the database row before deleting a handled update's row.
    """

    def __init__(self, services: ChatServices, journal: Journal | None = None, journal_after: float = 0.25) -> None:
        super().__init__()
        self._services = services
        self._journal = journal
        self._journal_after = journal_after
        self._storing: dict[int, asyncio.Future[bool]] = {}
        self._in_journal: set[int] = set()
        self._replayed: set[int] = set()
        self._clearing: asyncio.Future[None] | None = None

    async def put(self, item: object) -> None:
        if not isinstance(item, Update):
            await super().put(item)
            return
        update_id = item.update_id
        if update_id in self._replayed:  # fetched again after a restart queued it from the table
            log.info("update %s is replayed already; not queued again", update_id)
            return
        pending = self._storing.get(update_id)
        if pending is not None:  # delivered again (a webhook retry) while the first copy is being stored
            await asyncio.wait({pending}, timeout=self._journal_after if self._journal else None)
            return
        payload = item.to_json()
        now = self._services.container.clock.now()

        def keep(uow: SqlUnitOfWork) -> bool:
            fresh = uow.inbound.keep(update_id, payload, now)
            uow.commit()
            return fresh

        stored = asyncio.ensure_future(self._services.transact(keep))
        self._storing[update_id] = stored
        stored.add_done_callback(lambda done: self._stored(update_id, done))
        await super().put(item)
        if self._journal is None:
            await stored  # only now may PTB ask for the next offset, or answer the webhook with 200
            return
        finished, _ = await asyncio.wait({stored}, timeout=self._journal_after)
        if finished:
            stored.result()
            return
        self._in_journal.add(update_id)
        await self._journal.append(payload)
        log.info("update %s kept in the journal while the database is busy", update_id)

    def _stored(self, update_id: int, done: asyncio.Future[bool]) -> None:
        self._storing.pop(update_id, None)
        if done.cancelled() or done.exception() is not None or update_id not in self._in_journal:
            return
        self._in_journal.discard(update_id)
        if not self._in_journal and self._journal is not None:
            self._clearing = self._journal.clear()

    async def put_stored(self, item: Update) -> None:
        """Queue an update that is stored already (a replay after a restart)."""
        self._replayed.add(item.update_id)
        await super().put(item)

    async def stored(self, update_ids: list[int]) -> None:
        """Wait until these updates' rows are written (or their store failed)."""
        waiting = [self._storing[i] for i in update_ids if i in self._storing]
        if waiting:
            await asyncio.gather(*waiting, return_exceptions=True)

    async def recovered(self) -> list[str]:
        """Payloads a previous process made durable and did not finish: the table's, then the journal's;
        journal entries are written to the table first, so the journal can go."""
        payloads = await self._services.transact(lambda uow: uow.inbound.waiting())
        if self._journal is None:
            return payloads
        journaled = await asyncio.to_thread(self._journal.read)
        if journaled:
            now = self._services.container.clock.now()

            def keep_all(uow: SqlUnitOfWork) -> None:
                for payload in journaled:
                    uow.inbound.keep(int(json.loads(payload)["update_id"]), payload, now)
                uow.commit()

            await self._services.transact(keep_all)
            await self._journal.clear()
            payloads = await self._services.transact(lambda uow: uow.inbound.waiting())
        return payloads


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

    def __init__(self, services: ChatServices, queue: DurableUpdateQueue | None = None, every: float = 1.0) -> None:
        self._services = services
        self._queue = queue
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
            if self._queue is not None:  # a row still being written is deleted after it is written
                await self._queue.stored(batch)

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
    queue = application.update_queue
    assert isinstance(queue, DurableUpdateQueue)
    payloads = await queue.recovered()
    for payload in payloads:
        update = Update.de_json(json.loads(payload), application.bot)
        if update is not None:
            await queue.put_stored(update)
    if payloads:
        log.info("replaying %s updates fetched before a restart", len(payloads))
    return len(payloads)
