"""Narrow calling hours (10:00–16:00, no weekends) the day before National Day, through the real bot over HTTP:
the callback times offered in chat and on the phone, and the times typed, follow the configured hours."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.domain.clock import FixedClock
from bot.settings import Settings
from tests.e2e.harness import Harness

OUTSIDE = "这个时间不在回访时段内，请换一个白天的时间。"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        store_name="惠州江铃4S店",
        link_secret="test-secret-0123456789abcdef",
        calling_start="10:00",
        calling_end="16:00",
        call_on_weekends=False,
    )


@pytest.fixture
def clock() -> FixedClock:
    """Wednesday 2026-09-30 14:30 in Shanghai; 10-01..10-07 are National Day holidays, 10-10 is a Saturday."""
    return FixedClock(datetime(2026, 9, 30, 6, 30, tzinfo=UTC))


async def test_a_customer_is_offered_times_after_the_holiday_inside_the_hours_and_typed_ones_follow_them(
    bot: Harness,
) -> None:
    store = bot.store_with_staff()
    _, survey_id, token = bot.customer_with_survey(store, "孙丽", "+8613600136700", honorific="女士")
    bot.telegram.open_link(bot.user(700), token)
    consent = await bot.reply_to(700, 1)
    opening = await bot.tap(700, consent, "开始")

    when = await bot.tap(700, opening, "时间不便")

    assert when.button_labels == ["10月8日 10:00", "10月8日 15:00"]  # not 16:30 today, not the holiday
    assert "例如 10-08 14:00" in when.text
    holiday = await bot.say(700, "10月2日上午11点")
    saturday = await bot.say(700, "10-10 11:00")
    late = await bot.say(700, "10-08 16:30")
    assert [holiday.text, saturday.text, late.text] == [OUTSIDE] * 3
    assert bot.survey(survey_id).callback_at is None

    done = await bot.say(700, "10-08 15:30")

    assert "10月8日 15:30" in done.text
    assert bot.survey(survey_id).callback_at == datetime(2026, 10, 8, 7, 30, tzinfo=UTC)


async def test_a_specialist_is_offered_the_same_times_and_cannot_book_a_holiday(bot: Harness) -> None:
    store = bot.store_with_staff()
    _, survey_id, _ = bot.customer_with_survey(store, "钱多多", "+8613700137701", channel="phone")
    await bot.say(701, "/start " + bot.staff_link(store, "周芳"))
    card = await bot.say(701, "/call")
    script = await bot.tap(701, card, "接通")

    times = await bot.tap(701, script, "预约回访")

    assert times.button_labels == ["10-08 10:00", "10-08 15:00"]
    assert times.text == "请选择回访时间（或直接输入，例如 10-08 14:00）："
    holiday = await bot.say(701, "明天上午11点")
    assert holiday.text == OUTSIDE
    booked = await bot.say(701, "10-08 14:00")
    assert booked.text == "已预约：钱先生 将于 10-08 14:00 回访，届时会优先出现在您的队列中。"
    assert bot.survey(survey_id).callback_at == datetime(2026, 10, 8, 6, 0, tzinfo=UTC)
