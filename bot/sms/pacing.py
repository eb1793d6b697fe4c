"""Keeping to the provider's rate: at most ``per_second`` sends a second from one process.

A few lines, not a library: the outbox sends one message after another, so spacing the starts of the sends is
all that is needed (aiolimiter's leaky bucket would add a dependency for the same effect).
"""

from __future__ import annotations

import asyncio
from typing import Any

from bot.services.outbox import Sender


class Paced:
    """A Sender that waits so that sends start at least ``1 / per_second`` seconds apart."""

    def __init__(self, sender: Sender, per_second: float) -> None:
        self._sender = sender
        self._gap = 1.0 / per_second
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def send(self, recipient: str, message: dict[str, Any]) -> None:
        async with self._lock:
            loop = asyncio.get_running_loop()
            wait = self._next - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            self._next = max(loop.time(), self._next) + self._gap
        await self._sender.send(recipient, message)
