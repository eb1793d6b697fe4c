"""Sending stays within Telegram's limits, checked by a Bot API server that enforces them."""

from __future__ import annotations

import asyncio
import time

from telegram.ext import Application

from bot.sandbox.fake_telegram import FakeTelegram
from bot.telegram.rate_limit import SendLimiter


async def test_bursts_to_many_chats_and_to_one_chat_get_no_429_and_every_message_arrives_once() -> None:
    async with FakeTelegram(enforce_limits=True) as telegram:
        application = (
            Application.builder().token(telegram.token).base_url(telegram.api_url).rate_limiter(SendLimiter()).build()
        )
        async with application:
            started = time.monotonic()
            sends = [application.bot.send_message(1000 + i, f"消息{i}") for i in range(45)]
            sends += [application.bot.send_message(7, f"同一客户{i}") for i in range(3)]
            await asyncio.gather(*sends)
            elapsed = time.monotonic() - started

    assert telegram.too_many_requests == 0
    assert sum(len(m) for m in telegram.messages.values()) == 48
    assert [m.text for m in telegram.chat(7)] == ["同一客户0", "同一客户1", "同一客户2"]
    gaps = [b.sent_at - a.sent_at for a, b in zip(telegram.chat(7), telegram.chat(7)[1:], strict=False)]
    assert min(gaps) >= 0.95  # one message per second to one customer
    assert elapsed >= 1.0  # 48 messages cannot all go in the first second


async def test_a_429_is_slept_off_and_the_message_is_sent_exactly_once() -> None:
    async with FakeTelegram() as telegram:
        telegram.fail_next("sendMessage", 429, retry_after=1)
        application = (
            Application.builder().token(telegram.token).base_url(telegram.api_url).rate_limiter(SendLimiter()).build()
        )
        async with application:
            await application.bot.send_message(5, "你好")

    assert [m.text for m in telegram.chat(5)] == ["你好"]
    assert telegram.calls["sendMessage"] == 2
