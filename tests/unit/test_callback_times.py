"""Times customers type for a callback, read the way they write them, in the store's local time."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from bot.domain.dates import parse_callback_time
from bot.domain.engine import BookCallback, Choose, answer, start
from bot.domain.presentation import text_input
from bot.questionnaires import SAMPLE_CONTEXT, load_catalog
from bot.rendering import TemplateRenderer

TODAY = date(2026, 11, 25)  # a Wednesday


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("2026-11-27 16:30", datetime(2026, 11, 27, 16, 30)),
        ("2026/11/27 16:30", datetime(2026, 11, 27, 16, 30)),
        ("11-26 14:00", datetime(2026, 11, 26, 14, 0)),  # the example the question shows
        ("11/26 14:00", datetime(2026, 11, 26, 14, 0)),
        ("11月26日 下午2点", datetime(2026, 11, 26, 14, 0)),
        ("11月26日14点30分", datetime(2026, 11, 26, 14, 30)),
        ("明天 10:00", datetime(2026, 11, 26, 10, 0)),
        ("明天下午3点", datetime(2026, 11, 26, 15, 0)),
        ("后天上午9点半", datetime(2026, 11, 27, 9, 30)),
        ("今天 18:30", datetime(2026, 11, 25, 18, 30)),
        ("01-05 09:00", datetime(2027, 1, 5, 9, 0)),  # no year: the next 5 January
        ("２０２６－１１－２７　１６：３０", datetime(2026, 11, 27, 16, 30)),  # full-width, as IMEs type
    ],
)
def test_a_typed_time_is_read_as_the_customer_meant_it(typed: str, meant: datetime) -> None:
    assert parse_callback_time(typed, TODAY) == meant


@pytest.mark.parametrize(
    "typed", ["随便", "明天下午", "13-40 10:00", "11-26 25:00", "02-30 10:00", "14:00", "明天晚上12点"]
)
def test_text_that_is_no_time_is_not_read_as_one(typed: str) -> None:
    assert parse_callback_time(typed, TODAY) is None


def test_a_typed_time_carries_now_so_the_engine_refuses_one_already_past() -> None:
    q = load_catalog().get("defeat")
    renderer = TemplateRenderer()
    result = start(q, SAMPLE_CONTEXT, renderer)
    result = answer(q, result.state, Choose("not_now"), renderer)  # type: ignore[assignment]
    now = datetime(2026, 11, 25, 11, 0)

    given = text_input(result.step, "今天 10:00", now)

    assert given == BookCallback(datetime(2026, 11, 25, 10, 0), "callback_time", earliest=now)
