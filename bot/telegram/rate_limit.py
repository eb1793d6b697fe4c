"""Staying within Telegram's limits: 30 messages/s overall and 1 message/s per chat, 429s waited out.

Per chat the limit is a sustained rate, not a gap between every two messages: Telegram lets a chat have a short
burst ("we may allow short bursts that go over this limit"), so a chat may get ``CHAT_BURST`` messages at once
and then one a second (a generic cell rate algorithm: the bucket refills one message per second). A customer
who answers quickly therefore gets the next question at once, while a chat never sustains more than one
message a second.

Only requests that put a new message in a chat count (send*); edits and callback answers do not, as on
Telegram. A 429 (RetryAfter) is slept off and the same request made again, so the message goes out once.
A request that never left (``NotSent``: no connection could be made) is made again after 0.5, 1 and 2 s,
so a short network blip does not lose a customer's next question. A timed-out request is not repeated
here: it may have been delivered (see the outbox for that case).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.telegram.transport import NotSent

log = logging.getLogger(__name__)

JSON = bool | dict[str, Any] | list[dict[str, Any]]


CHAT_BURST = 3
"""Messages a chat may receive at once before the one-per-second pace applies (a question, its edit's
neighbour and a reminder; far below what Telegram tolerates in a burst)."""


class SendLimiter(BaseRateLimiter[int]):
    """At most ``overall`` sends per second in all and, per chat, bursts of ``burst`` then one per
    ``per_chat`` seconds.

    Counting is done on completion: a request that has been answered reached Telegram no later than its
    answer, so counting answered requests (plus those still in flight) over the window can only
    over-count what Telegram sees. That keeps the limits however the network delays requests.
    """

    def __init__(self, overall: int = 30, per_chat: float = 1.0, max_retries: int = 3, burst: int = CHAT_BURST) -> None:
        self._overall = overall
        self._per_chat = per_chat
        self._burst = max(1, burst)
        self._max_retries = max_retries
        self._in_flight = 0
        self._done: deque[float] = deque()
        self._chat_done: dict[int | str, float] = {}
        self._changed: asyncio.Condition | None = None
        self._chat_locks: dict[int | str, asyncio.Lock] = {}

    async def initialize(self) -> None:
        self._changed = asyncio.Condition()

    async def shutdown(self) -> None:
        return None

    def _wait_needed(self, chat_id: int | str | None, now: float) -> float | None:
        """0 if a send may start now, seconds to wait if time will free a slot, None to wait for a reply."""
        while self._done and now - self._done[0] >= 1.0:
            self._done.popleft()
        waits = [0.0]
        if self._in_flight + len(self._done) >= self._overall:
            if not self._done:
                return None
            waits.append(1.0 - (now - self._done[0]))
        if chat_id is not None:
            due = self._chat_done.get(chat_id)  # when the chat's bucket is full again (its "theoretical" time)
            if due is not None:
                waits.append(due - (self._burst - 1) * self._per_chat - now)
        return max(waits)

    async def _acquire(self, chat_id: int | str | None) -> None:
        if self._changed is None:
            self._changed = asyncio.Condition()
        async with self._changed:
            while True:
                wait = self._wait_needed(chat_id, time.monotonic())
                if wait is not None and wait <= 0:
                    self._in_flight += 1
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), timeout=wait)

    async def _release(self, chat_id: int | str | None, reached: bool = True) -> None:
        """End a send; one that never reached Telegram (``reached`` False) uses up no budget."""
        assert self._changed is not None
        async with self._changed:
            now = time.monotonic()
            self._in_flight -= 1
            if not reached:
                self._changed.notify_all()
                return
            self._done.append(now)
            if chat_id is not None:
                self._chat_done[chat_id] = max(self._chat_done.get(chat_id, now), now) + self._per_chat
                if len(self._chat_done) > 10_000:  # forget chats whose bucket is full again
                    self._chat_done = {k: v for k, v in self._chat_done.items() if v > now}
            self._changed.notify_all()

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, JSON]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> JSON:
        counts = endpoint.startswith("send")
        chat_id = data.get("chat_id") if counts else None
        # One send per chat at a time, first come first served, so a customer reads messages in order.
        async with self._chat_lock(chat_id):
            return await self._send(callback, args, kwargs, endpoint, counts, chat_id)

    def _chat_lock(self, chat_id: int | str | None) -> contextlib.AbstractAsyncContextManager[object]:
        if chat_id is None:
            return contextlib.nullcontext()
        if len(self._chat_locks) > 10_000:
            self._chat_locks = {k: v for k, v in self._chat_locks.items() if v.locked()}
        return self._chat_locks.setdefault(chat_id, asyncio.Lock())

    async def _send(
        self,
        callback: Callable[..., Coroutine[Any, Any, JSON]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        counts: bool,
        chat_id: int | str | None,
    ) -> JSON:
        for attempt in range(self._max_retries + 1):
            if counts:
                await self._acquire(chat_id)
            reached = True
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                if attempt >= self._max_retries:
                    raise
                delay = exc.retry_after if isinstance(exc.retry_after, int | float) else exc.retry_after.total_seconds()
                wait, why = float(delay), "Telegram asked to wait"
            except NotSent:
                reached = False
                if attempt >= self._max_retries:
                    raise
                wait, why = 0.5 * 2**attempt, "not sent (no connection)"
            finally:
                if counts:
                    await self._release(chat_id, reached)
            # Waiting outside the counted window: a pause must not hold a slot of the 30/s budget.
            log.info("%s: %s; trying again in %.1f s", endpoint, why, wait)
            await asyncio.sleep(wait)
        raise AssertionError("unreachable")
