"""Times customers and staff type for a callback, read the way they say them, in the store's local time.

One parser (``bot.domain.callback_time``) serves the chat and the phone."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from bot.domain.callback_time import callback_time_problem, parse_callback_time
from bot.domain.calling import CallingHours
from bot.domain.engine import BookCallback, Choose, RejectReason, answer, start
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
        ("明天下午三点", datetime(2026, 11, 26, 15, 0)),
        ("周五下午2点", datetime(2026, 11, 27, 14, 0)),
        ("星期五下午两点", datetime(2026, 11, 27, 14, 0)),
        ("礼拜三上午十点", datetime(2026, 11, 25, 10, 0)),  # today is a Wednesday: today
        ("周日下午3点", datetime(2026, 11, 29, 15, 0)),
        ("下周一 9:30", datetime(2026, 11, 30, 9, 30)),
        ("下周三上午10点", datetime(2026, 12, 2, 10, 0)),  # next week's Wednesday, not today
        ("今晚8点", datetime(2026, 11, 25, 20, 0)),
        ("明早九点", datetime(2026, 11, 26, 9, 0)),
        ("下午3点", datetime(2026, 11, 25, 15, 0)),  # no day: today
        ("晚上七点半", datetime(2026, 11, 25, 19, 30)),
        ("后天上午10点半", datetime(2026, 11, 27, 10, 30)),
        ("大后天下午4点", datetime(2026, 11, 28, 16, 0)),
        ("12月3日 15:00", datetime(2026, 12, 3, 15, 0)),
        ("12月3号下午三点", datetime(2026, 12, 3, 15, 0)),
        ("十二月三日下午三点一刻", datetime(2026, 12, 3, 15, 15)),
        ("明天下午两点三刻", datetime(2026, 11, 26, 14, 45)),
        ("明天下午三点二十", datetime(2026, 11, 26, 15, 20)),
        ("明天下午3点15分", datetime(2026, 11, 26, 15, 15)),
        ("明天中午12点", datetime(2026, 11, 26, 12, 0)),
        ("明天中午1点", datetime(2026, 11, 26, 13, 0)),
        ("12-02 14:00", datetime(2026, 12, 2, 14, 0)),
    ],
)
def test_a_typed_time_is_read_as_the_customer_meant_it(typed: str, meant: datetime) -> None:
    assert parse_callback_time(typed, TODAY) == meant


@pytest.mark.parametrize(
    "typed",
    [
        "随便", "明天下午", "13-40 10:00", "11-26 25:00", "02-30 10:00", "14:00", "明天晚上12点", "3点", "1 ²",
        "明天 ²:00", "周八下午3点", "明天下午三百点", "下午٣点", "",
    ],
)  # fmt: skip
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


NOW = datetime(2026, 11, 25, 10, 0)


@pytest.mark.parametrize(
    ("at", "problem"),
    [
        (datetime(2026, 11, 25, 9, 59), RejectReason.PAST_TIME),
        (datetime(2026, 11, 25, 10, 0), RejectReason.PAST_TIME),
        (datetime(9999, 12, 31, 23, 59), RejectReason.TOO_FAR_AHEAD),
        (datetime(2027, 1, 25, 10, 0), RejectReason.TOO_FAR_AHEAD),  # 61 days ahead
        (datetime(2026, 11, 26, 8, 59), RejectReason.OUTSIDE_HOURS),
        (datetime(2026, 11, 26, 20, 0), RejectReason.OUTSIDE_HOURS),
        (datetime(2026, 11, 26, 3, 0), RejectReason.OUTSIDE_HOURS),
        (datetime(2026, 11, 25, 10, 1), None),
        (datetime(2026, 11, 26, 19, 59), None),
        (datetime(2027, 1, 24, 10, 0), None),  # 60 days ahead
    ],
)
def test_a_callback_time_is_bookable_only_ahead_within_sixty_days_and_inside_calling_hours(
    at: datetime, problem: RejectReason | None
) -> None:
    assert callback_time_problem(at, NOW) == problem


def test_the_stores_own_calling_hours_decide_what_is_outside_them() -> None:
    late = CallingHours(start=time(10, 0), end=time(21, 30))

    assert callback_time_problem(datetime(2026, 11, 26, 21, 0), NOW, late) is None
    assert callback_time_problem(datetime(2026, 11, 26, 9, 30), NOW, late) is RejectReason.OUTSIDE_HOURS
