"""The weekly summary's images reach a manager as one album over real HTTP: the text as the caption, each
image whole, and the outbox sends the album once however often it runs."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image
from telegram import Bot

from bot.app import build
from bot.domain.clock import FixedClock
from bot.domain.statistics import parse_week
from bot.sandbox.fake_telegram import FakeTelegram
from bot.services.outbox import send_outbox
from bot.services.summary import week_summary
from bot.settings import Settings
from bot.summary_charts import summary_images
from bot.telegram.sender import TelegramSender
from bot.telegram.transport import bot_requests
from bot.texts import Texts


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


async def _sender(telegram: FakeTelegram) -> tuple[TelegramSender, Bot]:
    calls, polling = bot_requests(telegram.api_url, 4, None)
    bot = Bot(telegram.token, base_url=telegram.api_url, request=calls, get_updates_request=polling)
    await bot.initialize()
    return TelegramSender(bot), bot


def _images(folder: Path, database_url: str) -> list[str]:
    app = build(Settings(database_url=database_url), clock=FixedClock(datetime(2026, 11, 30, 1, tzinfo=UTC)))
    try:
        summary = week_summary(app.uow, app.report_settings(), app.clock, parse_week("2026-W48"))
        paths = []
        for name, data in summary_images(summary):
            (folder / f"{name}.png").write_bytes(data)
            paths.append(str(folder / f"{name}.png"))
        return paths
    finally:
        app.close()


async def test_three_images_arrive_as_one_album_with_the_text_as_caption(
    telegram: FakeTelegram, tmp_path: Path, database_url: str
) -> None:
    paths = _images(tmp_path, database_url)
    sender, bot = await _sender(telegram)
    try:
        await sender.send("601", {"text": "📊 上周回访汇总（2026-W48）", "photos": paths})
    finally:
        await bot.shutdown()

    album = telegram.chat(601)
    assert [m.kind for m in album] == ["photo", "photo", "photo"]
    assert len({m.media_group_id for m in album}) == 1 and album[0].media_group_id
    assert [m.text for m in album] == ["📊 上周回访汇总（2026-W48）", "", ""]
    for message, path in zip(album, paths, strict=True):
        assert message.upload == Path(path).read_bytes()
        assert Image.open(io.BytesIO(message.upload)).size == (1080, 1350)


async def test_a_text_too_long_for_a_caption_follows_the_album_as_its_own_message(
    telegram: FakeTelegram, tmp_path: Path, database_url: str
) -> None:
    paths = _images(tmp_path, database_url)[:2]
    text = "汇总" * 600
    sender, bot = await _sender(telegram)
    try:
        await sender.send("602", {"text": text, "photos": paths})
    finally:
        await bot.shutdown()

    assert [(m.kind, m.text) for m in telegram.chat(602)] == [("photo", ""), ("photo", ""), ("text", text)]


async def test_the_outbox_sends_the_weekly_album_once_however_often_it_runs(
    telegram: FakeTelegram, tmp_path: Path, database_url: str
) -> None:
    paths = _images(tmp_path, database_url)
    clock = FixedClock(datetime(2026, 11, 30, 1, tzinfo=UTC))
    app = build(Settings(database_url=database_url), clock=clock)
    with app.uow() as uow:
        uow.outbox.add("weekly:2026-W48:1", "telegram", "603", {"text": "📊 汇总", "photos": paths}, clock.now())
        uow.outbox.add("weekly:2026-W48:1", "telegram", "603", {"text": "📊 汇总", "photos": paths}, clock.now())
        uow.commit()
    sender, bot = await _sender(telegram)
    try:
        first = await send_outbox(app.uow, sender, Texts(), clock)
        second = await send_outbox(app.uow, sender, Texts(), clock)
    finally:
        await bot.shutdown()
        app.close()

    assert (first.sent, second.sent) == (1, 0)
    assert [m.kind for m in telegram.chat(603)] == ["photo", "photo", "photo"]
