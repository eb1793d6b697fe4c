"""Sending stays within Telegram's limits, checked by a Bot API server that enforces them."""

from __future__ import annotations

import asyncio
import contextlib
import time

from telegram.error import RetryAfter
from telegram.ext import Application

from bot.sandbox.fake_telegram import FakeTelegram
from bot.telegram.rate_limit import CHAT_BURST, SendLimiter


async def test_bursts_to_many_chats_and_to_one_chat_get_no_429_and_every_message_arrives_once() -> None:
    async with FakeTelegram(enforce_limits=True) as telegram:
        application = (
            Application.builder().token(telegram.token).base_url(telegram.api_url).rate_limiter(SendLimiter()).build()
        )
        async with application:
            started = time.monotonic()
            sends = [application.bot.send_message(1000 + i, f"消息{i}") for i in range(45)]
            sends += [application.bot.send_message(7, f"同一客户{i}") for i in range(6)]
            await asyncio.gather(*sends)
            elapsed = time.monotonic() - started

    assert telegram.too_many_requests == 0
    assert sum(len(m) for m in telegram.messages.values()) == 51
    assert [m.text for m in telegram.chat(7)] == [f"同一客户{i}" for i in range(6)]
    times = [m.sent_at for m in telegram.chat(7)]
    assert times[CHAT_BURST - 1] - times[0] < 0.9  # a short burst goes out at once
    for i, first in enumerate(times):  # then one a second: never a sustained rate above that
        for j in range(i + CHAT_BURST, len(times)):
            assert times[j] - first >= (j - i - CHAT_BURST + 1) * 0.95
    assert elapsed >= 1.0  # 51 messages cannot all go in the first second


async def test_the_fake_server_refuses_a_chat_sustaining_more_than_one_message_a_second() -> None:
    async with FakeTelegram(enforce_limits=True) as telegram:
        application = Application.builder().token(telegram.token).base_url(telegram.api_url).build()
        async with application:
            for i in range(CHAT_BURST + 2):
                with contextlib.suppress(RetryAfter):
                    await application.bot.send_message(7, f"太快{i}")

    assert len(telegram.chat(7)) == CHAT_BURST
    assert telegram.too_many_requests == 2


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
