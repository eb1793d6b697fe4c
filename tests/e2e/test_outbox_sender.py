"""How the outbox's Telegram sender reads each failure, over real HTTP: sent never twice, lost never silently."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest
from telegram import Bot

from bot.sandbox.fake_telegram import FakeTelegram
from bot.services.outbox import MaybeSent, Refused, TryLater, Unreachable
from bot.telegram.sender import TelegramSender
from bot.telegram.transport import bot_requests

MESSAGE = {"text": "【回访邀请】王先生您好", "buttons": [[("开始", "k:go")]]}


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


async def _sender(api_url: str, token: str) -> tuple[TelegramSender, Bot]:
    calls, polling = bot_requests(api_url, 4, None)
    bot = Bot(token, base_url=api_url, request=calls, get_updates_request=polling)
    await bot.initialize()
    return TelegramSender(bot), bot


async def test_a_message_telegram_accepts_arrives_once_with_its_buttons(telegram: FakeTelegram) -> None:
    sender, bot = await _sender(telegram.api_url, telegram.token)
    try:
        await sender.send("501", MESSAGE)
    finally:
        await bot.shutdown()

    [message] = telegram.chat(501)
    assert (message.text, message.button_labels) == ("【回访邀请】王先生您好", ["开始"])


@pytest.mark.parametrize(
    ("code", "read_as"),
    [
        (403, Unreachable),  # blocked: never again
        (400, Refused),  # refused as it is: sending it again would not help
        (429, TryLater),  # without the send limiter: not sent, try later
        (502, MaybeSent),  # a server error after the request arrived: it may have been delivered
    ],
)
async def test_each_answer_from_telegram_is_read_for_what_it_means_for_resending(
    telegram: FakeTelegram, code: int, read_as: type[Exception]
) -> None:
    sender, bot = await _sender(telegram.api_url, telegram.token)
    telegram.fail_next("sendMessage", code)
    try:
        with pytest.raises(read_as):
            await sender.send("502", MESSAGE)
    finally:
        await bot.shutdown()

    assert telegram.chat(502) == []


async def test_a_send_that_found_no_connection_is_tried_again_later() -> None:
    with socket.socket() as closed:  # bound, not listening: connections are refused
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}/bot"
        calls, polling = bot_requests(url, 4, None)
        await calls.initialize()
        sender = TelegramSender(Bot("123456:TEST-token", base_url=url, request=calls, get_updates_request=polling))
        try:
            with pytest.raises(TryLater):
                await sender.send("503", MESSAGE)
        finally:
            await calls.shutdown()
