"""Branches of the chat survey beyond the main paths: 稍后, /today, multiple choice, typed callback times, 其他."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, datetime

from sqlalchemy import select

from bot.domain.clock import FixedClock
from bot.sandbox.fake_telegram import SentMessage
from storage.models import Customer, Store, Task
from tests.e2e.harness import Harness

# ------------------------------------------------------------------------------------------------ helpers


async def _consented(
    bot: Harness, user_id: int, name: str, phone: str, questionnaire: str = "defeat", honorific: str = "先生"
) -> tuple[int, int, SentMessage]:
    """A customer who opened the link and tapped 开始: (customer id, survey id, the opening question)."""
    store = bot.store_with_staff()
    customer_id, survey_id, token = bot.customer_with_survey(
        store, name, phone, questionnaire=questionnaire, honorific=honorific
    )
    bot.telegram.open_link(bot.user(user_id), token)
    consent = await bot.reply_to(user_id, 1)
    opening = await bot.tap(user_id, consent, "开始")
    return customer_id, survey_id, opening


def _store_id(bot: Harness) -> int:
    with bot.app.uow(read_only=True) as uow:
        return uow.session.scalars(select(Store.id)).one()


async def _popup_after_press(bot: Harness, user_id: int, message: SentMessage, label: str) -> str:
    """Tap a button that answers only with a pop-up (no new message); return the pop-up's text."""
    before = len(bot.telegram.callback_answers)
    bot.telegram.press(bot.user(user_id), message, label)
    deadline = time.monotonic() + 5
    while len(bot.telegram.callback_answers) == before:
        assert time.monotonic() < deadline, "the bot never answered the tap"
        await asyncio.sleep(0.01)
    return str(bot.telegram.callback_answers[before].get("text", ""))


async def _toggle(bot: Harness, user_id: int, question: SentMessage, label: str) -> SentMessage:
    """Tap an option of a multiple choice and wait for the keyboard to be redrawn in place."""
    edits = question.edits
    bot.telegram.press(bot.user(user_id), question, label)
    return await bot.telegram.wait_for(user_id, lambda m: m.message_id == question.message_id and m.edits > edits)


# --------------------------------------------------------------------------------------------- 稍后 (later)


async def test_later_keeps_the_consent_buttons_starts_nothing_and_start_afterwards_asks_question_one(
    bot: Harness,
) -> None:
    store = bot.store_with_staff()
    _, survey_id, token = bot.customer_with_survey(store, "王建国", "+8613800138001")
    bot.telegram.open_link(bot.user(521), token)
    consent = await bot.reply_to(521, 1)

    bot.telegram.press(bot.user(521), consent, "稍后")
    later = await bot.telegram.wait_for(521, lambda m: m.message_id == consent.message_id and m.edits == 1)

    assert later.text == "好的，不打扰您了。您方便的时候点“开始”即可继续。"
    assert later.button_labels == ["开始", "稍后", "退订"]
    assert len(bot.telegram.chat(521)) == 1  # no question was sent
    survey = bot.survey(survey_id)
    assert (survey.status, survey.state, survey.started_at, survey.attempt_count) == ("pending", None, None, 0)
    assert bot.answers(survey_id) == []

    opening = await bot.tap(521, later, "开始")

    assert opening.text.startswith("【第1/")
    assert "王先生您好，我是惠州江铃4S店客户专员周芳" in opening.text
    assert opening.button_labels == ["拒绝回访", "时间不便", "配合回访"]
    assert later.buttons == []  # the consent message lost its buttons once the survey began
    assert bot.survey(survey_id).status == "in_progress"


async def test_writing_instead_of_tapping_start_brings_the_consent_buttons_back(bot: Harness) -> None:
    store = bot.store_with_staff()
    _, survey_id, token = bot.customer_with_survey(store, "王建国", "+8613800138009")
    bot.telegram.open_link(bot.user(522), token)
    await bot.reply_to(522, 1)

    again = await bot.say(522, "好的，可以")

    assert again.text.startswith("王先生您好！这里是惠州江铃4S店的客户回访。")
    assert again.button_labels == ["开始", "稍后", "退订"]
    assert bot.survey(survey_id).status == "pending" and bot.answers(survey_id) == []
    opening = await bot.tap(522, again, "开始")
    assert opening.text.startswith("【第1/")


# -------------------------------------------------------------------------------------------------- /today


async def test_a_bound_consultant_asks_for_today_and_sees_how_many_tasks_are_due_and_overdue(
    bot: Harness, clock: FixedClock
) -> None:
    _, _, opening = await _consented(bot, 530, "赵敏", "+8613900139001", honorific="女士")
    q1 = await bot.tap(530, opening, "配合回访")
    await bot.tap(530, q1, "还没有购买")  # a recovery task for 李明, due in 24 hours: tomorrow 10:00
    with bot.app.uow() as uow:
        due_at = uow.session.scalars(select(Task.due_at)).one()
    assert due_at == datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
    await bot.say(531, "/start " + bot.staff_link(_store_id(bot), "李明"))

    wednesday = await bot.say(531, "/today")
    clock.set(datetime(2026, 11, 26, 1, 0, tzinfo=UTC))  # Thursday 09:00 in Shanghai: due in an hour
    thursday_morning = await bot.say(531, "/today")
    clock.set(datetime(2026, 11, 26, 3, 30, tzinfo=UTC))  # Thursday 11:30: an hour and a half late
    thursday_noon = await bot.say(531, "/today")
    stranger = await bot.say(532, "/today")

    assert wednesday.text == "今日安排（11-25）：待办 0 项。\n发送 /tasks 查看详情。"
    assert thursday_morning.text == "今日安排（11-26）：待办 1 项。\n发送 /tasks 查看详情。"
    assert thursday_noon.text == "今日安排（11-26）：待办 1 项，其中逾期 1 项。\n发送 /tasks 查看详情。"
    assert stranger.text == "抱歉，此功能仅限本店员工使用。"


# ------------------------------------------------------------------------------------------ multiple choice


async def _to_lapsed_multi(bot: Harness, user_id: int, name: str, phone: str) -> tuple[int, SentMessage]:
    """A lapsed customer walked to the multiple choice (q3): (survey id, the q3 message)."""
    _, survey_id, opening = await _consented(bot, user_id, name, phone, questionnaire="lapsed")
    assert "您的顺达有一段时间没有回我们店保养了" in opening.text
    q1 = await bot.tap(user_id, opening, "配合回访")
    internal = await bot.tap(user_id, q1, "是，对店里有不满意的地方")
    q2 = await bot.tap(user_id, internal, "等待时间长")
    q3 = await bot.tap(user_id, q2, "看情况")
    return survey_id, q3


async def test_a_lapsed_customer_toggles_several_reasons_sees_them_marked_and_confirms_one_row_each(
    bot: Harness,
) -> None:
    survey_id, q3 = await _to_lapsed_multi(bot, 540, "刘洋", "+8613700137001")
    assert "什么能让您更愿意回我们店呢" in q3.text
    assert q3.text.endswith("（可多选，选好后点“确认”）")
    assert q3.button_labels == [
        "保养工时优惠",
        "费用透明，结算时讲清楚",
        "预约服务，减少等待",
        "上门取送车",
        "提高维修技术",
        "保养到期提醒",
        "其他",
        "确认",
    ]
    sent = len(bot.telegram.chat(540))

    await _toggle(bot, 540, q3, "预约服务，减少等待")
    await _toggle(bot, 540, q3, "保养工时优惠")
    assert q3.button_labels[:3] == ["✅ 保养工时优惠", "费用透明，结算时讲清楚", "✅ 预约服务，减少等待"]
    await _toggle(bot, 540, q3, "✅ 保养工时优惠")  # changed their mind ...
    assert q3.button_labels[:3] == ["保养工时优惠", "费用透明，结算时讲清楚", "✅ 预约服务，减少等待"]
    await _toggle(bot, 540, q3, "保养工时优惠")  # ... and back
    assert sum(label.startswith("✅ ") for label in q3.button_labels) == 2
    assert len(bot.telegram.chat(540)) == sent  # toggling redraws the keyboard, it sends nothing
    assert [a[0] for a in bot.answers(survey_id)] == ["opening", "q1", "q1_internal", "q2"]  # nothing yet

    closing = await bot.tap(540, q3, "确认")

    assert closing.text.startswith("非常感谢刘先生的宝贵意见")
    assert closing.buttons == []
    # the answered question shows the choices, in the questionnaire's order (not the order of the taps)
    assert q3.text.endswith("✅ 保养工时优惠、预约服务，减少等待")
    assert q3.buttons == []
    assert bot.answers(survey_id)[-2:] == [
        ("q3", "labour_discount", "labour_discount", None),
        ("q3", "appointment_service", "appointment_service", None),
    ]
    assert bot.survey(survey_id).status == "completed"


async def test_confirming_a_multiple_choice_with_nothing_chosen_is_refused_and_records_nothing(bot: Harness) -> None:
    survey_id, q3 = await _to_lapsed_multi(bot, 541, "陈晨", "+8613700137002")
    sent = len(bot.telegram.chat(541))

    popup = await _popup_after_press(bot, 541, q3, "确认")

    assert popup == "请至少选择一项，再点“确认”。"
    assert len(bot.telegram.chat(541)) == sent
    assert "确认" in q3.button_labels  # the question is still there to answer
    assert [a[0] for a in bot.answers(survey_id)] == ["opening", "q1", "q1_internal", "q2"]
    survey = bot.survey(survey_id)
    assert (survey.status, survey.current_step) == ("in_progress", "q3")


async def test_a_fourth_choice_is_refused_when_at_most_three_may_be_chosen(bot: Harness) -> None:
    survey_id, q3 = await _to_lapsed_multi(bot, 542, "杨帆", "+8613700137003")
    for label in ("保养工时优惠", "上门取送车", "保养到期提醒"):
        await _toggle(bot, 542, q3, label)

    popup = await _popup_after_press(bot, 542, q3, "提高维修技术")

    assert popup == "已达到可选数量上限。"
    assert [label for label in q3.button_labels if label.startswith("✅ ")] == [
        "✅ 保养工时优惠",
        "✅ 上门取送车",
        "✅ 保养到期提醒",
    ]
    await bot.tap(542, q3, "确认")
    assert [a[1] for a in bot.answers(survey_id) if a[0] == "q3"] == [
        "labour_discount",
        "pickup_delivery",
        "maintenance_reminder",
    ]


# ------------------------------------------------------------------------------------- typed callback time


async def test_not_now_then_a_typed_date_and_time_books_that_store_local_time(bot: Harness) -> None:
    _, survey_id, opening = await _consented(bot, 550, "孙红", "+8613600136001", honorific="女士")
    when = await bot.tap(550, opening, "时间不便")
    assert "（也可以直接输入时间，例如 " in when.text

    nonsense = await bot.say(550, "随便")
    assert nonsense.text == "抱歉，没有看懂您的回复。请按当前问题的提示作答。"
    survey = bot.survey(survey_id)
    assert (survey.status, survey.current_step, survey.callback_at) == ("in_progress", "callback_time", None)
    assert bot.answers(survey_id) == [("opening", "not_now", None, None)]

    done = await bot.say(550, "2026-11-27 16:30")

    assert done.text == "好的，那我们11月27日 16:30再给您回电，感谢您的接听，再见！"
    survey = bot.survey(survey_id)
    assert survey.status == "appointment"
    assert survey.callback_at == datetime(2026, 11, 27, 8, 30, tzinfo=UTC)  # 16:30 in Shanghai
    with bot.app.uow(read_only=True) as uow:
        task = uow.session.scalars(select(Task)).one()
        specialist = uow.staff.by_names(_store_id(bot), ["周芳"])["周芳"]
        assert (task.kind, task.staff_id, task.due_at) == ("callback", specialist.id, survey.callback_at)


async def test_a_time_typed_exactly_as_the_hint_shows_is_booked(bot: Harness) -> None:
    _, survey_id, opening = await _consented(bot, 551, "周强", "+8613600136002")
    when = await bot.tap(551, opening, "时间不便")
    example = re.search(r"（也可以直接输入时间，例如 (.+)）", when.text)
    assert example is not None and example.group(1) == "11-26 14:00"  # tomorrow, store-local

    done = await bot.say(551, example.group(1))

    assert done.text == "好的，那我们11月26日 14:00再给您回电，感谢您的接听，再见！"
    survey = bot.survey(survey_id)
    assert survey.status == "appointment"
    assert survey.callback_at == datetime(2026, 11, 26, 6, 0, tzinfo=UTC)


async def test_a_time_button_that_has_passed_is_refused_and_times_still_ahead_are_offered(
    bot: Harness, clock: FixedClock
) -> None:
    _, survey_id, opening = await _consented(bot, 553, "郑和", "+8613600136004")
    when = await bot.tap(553, opening, "时间不便")
    offered = when.button_labels
    clock.set(datetime(2026, 11, 27, 2, 0, tzinfo=UTC))  # two days on: Friday 10:00 in Shanghai

    popup = await _popup_after_press(bot, 553, when, offered[-1])  # "tomorrow afternoon" was Thursday
    redrawn = await bot.telegram.wait_for(553, lambda m: m.message_id == when.message_id and m.edits >= 1)

    assert popup == "这个时间已经过去了，请选择或输入一个以后的时间。"
    assert redrawn.button_labels != offered and redrawn.button_labels  # times from now on
    survey = bot.survey(survey_id)
    assert (survey.status, survey.current_step, survey.callback_at) == ("in_progress", "callback_time", None)


async def test_a_typed_time_in_the_past_is_refused_and_the_question_stays(bot: Harness) -> None:
    _, survey_id, opening = await _consented(bot, 552, "吴静", "+8613600136003", honorific="女士")
    await bot.tap(552, opening, "时间不便")

    refusal = await bot.say(552, "2026-11-24 10:00")  # yesterday

    assert refusal.text == "这个时间已经过去了，请选择或输入一个以后的时间。"
    survey = bot.survey(survey_id)
    assert (survey.status, survey.current_step, survey.callback_at) == ("in_progress", "callback_time", None)


# ------------------------------------------------------------------------------------------ defeat branches


async def test_bought_our_brand_elsewhere_asks_where_stores_the_answer_and_goes_on_to_the_reason(
    bot: Harness,
) -> None:
    customer_id, survey_id, opening = await _consented(bot, 560, "黄河", "+8613500135001")
    q1 = await bot.tap(560, opening, "配合回访")

    where = await bot.tap(560, q1, "本品牌（在别处购买）")
    assert where.text.startswith("【第3/")
    assert "请问在哪里购买的呢？" in where.text
    assert where.text.endswith("（请直接输入文字回复，最多100字）")
    assert where.buttons == []
    assert q1.text.endswith("✅ 本品牌（在别处购买）")

    q2 = await bot.say(560, "深圳的江铃专营店")

    assert q2.text.startswith("【第4/")
    assert "请问黄先生不选择从我公司购买的主要原因是什么？" in q2.text
    assert bot.answers(survey_id) == [
        ("opening", "agree", None, None),
        ("q1", "our_brand_elsewhere", "our_brand_elsewhere", None),
        ("q1_where", "", None, "深圳的江铃专营店"),
    ]
    with bot.app.uow() as uow:
        assert uow.session.get(Customer, customer_id).status == "defeated"  # type: ignore[union-attr]
        assert uow.session.scalars(select(Task)).all() == []  # not recoverable: no task for the consultant


async def test_another_reason_asks_for_it_in_words_and_stores_them_with_the_other_answer(bot: Harness) -> None:
    _, survey_id, opening = await _consented(bot, 561, "林静", "+8613500135002", honorific="女士")
    q1 = await bot.tap(561, opening, "配合回访")
    q2 = await bot.tap(561, q1, "还没有购买")

    other = await bot.tap(561, q2, "其他")
    assert "请您具体说说是什么原因呢？我们会如实记录。" in other.text
    assert other.text.endswith("（请直接输入文字回复，最多200字）")
    assert q2.text.endswith("✅ 其他")

    closing = await bot.say(561, "家里人还在商量，想等明年的新款")

    assert closing.text.startswith("感谢林女士您宝贵的意见")
    assert bot.answers(survey_id)[-2:] == [
        ("q2", "other", "other", None),
        ("q2_other", "", None, "家里人还在商量，想等明年的新款"),
    ]
    assert bot.survey(survey_id).status == "completed"


async def test_another_reason_for_the_other_brand_is_asked_in_words_after_the_sales_questions(
    bot: Harness,
) -> None:
    _, survey_id, opening = await _consented(bot, 562, "马超", "+8613500135003")
    q1 = await bot.tap(562, opening, "配合回访")
    await bot.tap(562, q1, "其他品牌")
    q2 = await bot.say(562, "五十铃")
    q3 = await bot.tap(562, q2, "销售人员表现")
    q4 = await bot.tap(562, q3, "销售人员专业知识不足")
    assert "选择他品牌购买的主要原因" in q4.text

    other = await bot.tap(562, q4, "其他")
    assert "请您具体说说是什么原因呢？" in other.text
    closing = await bot.say(562, "那边送了三年免费保养")

    assert closing.text.startswith("感谢马先生您宝贵的意见")
    assert bot.answers(survey_id)[-2:] == [
        ("q4", "other", "other", None),
        ("q4_other", "", None, "那边送了三年免费保养"),
    ]
    assert bot.survey(survey_id).status == "completed"
    with bot.app.uow() as uow:
        assert uow.session.scalars(select(Task).where(Task.kind == "alert")).all() == []  # no complaint made
