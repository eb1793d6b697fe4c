"""Odd and hostile input to the real bot, one defect each: every update does its job, gets a short Chinese
reply, or is ignored as noise; none of them changes anything it should not."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.sandbox.fake_telegram import SentMessage
from storage.models import Customer, LinkToken, Store, Survey, Task
from tests.e2e.harness import Harness


async def _consented(
    bot: Harness, user_id: int, name: str, phone: str, questionnaire: str = "defeat"
) -> tuple[int, SentMessage, SentMessage]:
    """A customer who opened the link and tapped 开始: (survey id, the consent message, question 1)."""
    store = bot.store_with_staff()
    _, survey_id, token = bot.customer_with_survey(store, name, phone, questionnaire=questionnaire)
    bot.telegram.open_link(bot.user(user_id), token)
    consent = await bot.reply_to(user_id, 1)
    opening = await bot.tap(user_id, consent, "开始")
    return survey_id, consent, opening


async def _popup(bot: Harness, user_id: int, message: SentMessage, data: str) -> str:
    """Press a button with this callback data; the text of the pop-up the bot answers with."""
    before = len(bot.telegram.callback_answers)
    bot.telegram.press_data(bot.user(user_id), message, data)
    deadline = time.monotonic() + 5
    while len(bot.telegram.callback_answers) == before:
        assert time.monotonic() < deadline, "the bot never answered the tap"
        await asyncio.sleep(0.01)
    await _settle(bot)
    return str(bot.telegram.callback_answers[before].get("text", ""))


async def _settle(bot: Harness) -> None:
    """Until the bot has made no Bot API call for 0.2 s."""
    before = -1
    for _ in range(100):
        now = sum(bot.telegram.calls.values())
        if now == before:
            return
        before = now
        await asyncio.sleep(0.2)


@pytest.fixture(autouse=True)
def _no_error_is_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Whatever the input, the bot logs no error (an error here is a traceback in production)."""
    yield
    logged = caplog.get_records("setup") + caplog.get_records("call")
    assert [r.getMessage() for r in logged if r.levelno >= logging.ERROR] == []


def _store_id(bot: Harness) -> int:
    with bot.app.uow() as uow:
        return uow.session.scalars(select(Store.id)).one()


# ------------------------------------------------------------------------------------------- typed digits


async def test_a_customer_typing_a_superscript_digit_to_a_multiple_choice_is_told_how_to_answer(bot: Harness) -> None:
    survey_id, _, opening = await _consented(bot, 601, "刘洋", "+8613700137601", questionnaire="lapsed")
    q1 = await bot.tap(601, opening, "配合回访")
    internal = await bot.tap(601, q1, "是，对店里有不满意的地方")
    q2 = await bot.tap(601, internal, "等待时间长")
    await bot.tap(601, q2, "看情况")  # the multiple choice
    answered = len(bot.answers(survey_id))

    reply = await bot.say(601, "1 ²")

    assert reply.text == "抱歉，没有看懂您的回复。请按当前问题的提示作答。"
    assert len(bot.answers(survey_id)) == answered
    assert bot.survey(survey_id).current_step == "q3"


async def test_full_width_option_numbers_are_read_as_the_numbers_they_are(bot: Harness) -> None:
    survey_id, _, _ = await _consented(bot, 602, "王强", "+8613700137602")

    q1 = await bot.say(602, "３")  # as a Chinese IME types it: the third option, 配合回访

    assert q1.text.startswith("【第2/")
    assert bot.answers(survey_id) == [("opening", "agree", None, None)]


# ----------------------------------------------------------------------------------------- forged buttons


async def test_a_forged_tap_with_a_huge_survey_id_is_answered_as_closed_and_changes_nothing(bot: Harness) -> None:
    survey_id, _, opening = await _consented(bot, 603, "陈红", "+8613700137603")
    sent = len(bot.telegram.chat(603))

    popup = await _popup(bot, 603, opening, "a:zzzzzzzzzzzzzzzzzzzzzzzz:0:0")
    superscript = await _popup(bot, 603, opening, "a:1:²:0")

    assert popup == superscript == "本次回访已经结束，感谢您的配合！"
    assert len(bot.telegram.chat(603)) == sent
    assert bot.answers(survey_id) == []


async def test_staff_buttons_pressed_by_a_customer_show_no_staff_screen(bot: Harness) -> None:
    survey_id, _, opening = await _consented(bot, 604, "赵丽", "+8613700137604")
    ref = opening.buttons[0][1].split(":")[1]
    sent = len(bot.telegram.chat(604))

    popups = [
        await _popup(bot, 604, opening, data)
        for data in (f"cb:{ref}", f"cs:{ref}:202611261000", f"d:{ref}:connected", f"e:{ref}:refused", "cb:x:y:z")
    ]

    assert popups == ["抱歉，此功能仅限本店员工使用。"] * 5
    assert len(bot.telegram.chat(604)) == sent  # no time slots, no call screen
    survey = bot.survey(survey_id)
    assert (survey.status, survey.callback_at) == ("in_progress", None)


async def test_a_forged_callback_slot_far_in_the_future_is_refused_and_nothing_is_booked(bot: Harness) -> None:
    survey_id, _, opening = await _consented(bot, 605, "孙红", "+8613600136605")
    when = await bot.tap(605, opening, "时间不便")
    slot = when.buttons[0][1].rsplit(":", 1)[0]

    far = await _popup(bot, 605, when, f"{slot}:999912312359")
    night = await _popup(bot, 605, when, f"{slot}:202611260300")
    garbage = await _popup(bot, 605, when, f"{slot}:２０２６１１２６１０００")

    assert far == "这个时间太远了，请选择60天以内的时间。"
    assert night == "这个时间不在回访时段内，请换一个白天的时间。"
    assert garbage == "本次回访已经结束，感谢您的配合！"
    survey = bot.survey(survey_id)
    assert (survey.status, survey.current_step, survey.callback_at) == ("in_progress", "callback_time", None)


async def test_a_task_button_with_a_huge_id_is_ignored(bot: Harness) -> None:
    store = bot.store_with_staff()
    await bot.say(606, "/start " + bot.staff_link(store, "李明"))
    answers = len(bot.telegram.callback_answers)
    bot.telegram.press_data(bot.user(606), bot.telegram.last(606), "task:done:99999999999999999999999")
    today = await bot.say(606, "/today")  # the tap was fetched before this
    await _settle(bot)

    assert today.text.startswith("今日安排")
    assert len(bot.telegram.callback_answers) == answers  # noise: no handler takes it, nothing breaks


# ------------------------------------------------------------------------------------------ 开始, twice


async def test_pressing_start_twice_sends_question_one_once(bot: Harness) -> None:
    store = bot.store_with_staff()
    _, survey_id, token = bot.customer_with_survey(store, "林峰", "+8615800158607")
    bot.telegram.open_link(bot.user(607), token)
    consent = await bot.reply_to(607, 1)
    bot.telegram.press(bot.user(607), consent, "开始")
    bot.telegram.press(bot.user(607), consent, "开始")  # a second update, before the keyboard is gone
    await bot.reply_to(607, 2)
    await _settle(bot)

    questions = [m for m in bot.telegram.chat(607) if m.text.startswith("【第1/")]
    assert len(questions) == 1
    assert "回访已经开始了，请回答最新的一题。" in [a.get("text") for a in bot.telegram.callback_answers]
    assert bot.survey(survey_id).attempt_count == 1


async def test_start_again_mid_survey_shows_the_question_it_waits_on(bot: Harness) -> None:
    survey_id, _, opening = await _consented(bot, 608, "黄磊", "+8615900159608")
    q1 = await bot.tap(608, opening, "配合回访")

    again = await bot.say(608, "/start")

    assert again.text == q1.text and again.buttons == q1.buttons
    assert bot.survey(survey_id).current_step == "q1"


# ------------------------------------------------------------------------------------------ deep links


async def test_a_refused_link_is_not_recorded_as_used_by_the_account_it_refused(bot: Harness) -> None:
    store = bot.store_with_staff()
    customer_id, _, first = bot.customer_with_survey(store, "周强", "+8613600136609")
    bot.telegram.open_link(bot.user(609), first)
    await bot.reply_to(609, 1)  # bound to 609
    with bot.app.uow() as uow:  # the store sends the customer a fresh link (an SMS campaign)
        from bot.domain.links import LinkSubject
        from bot.services.links import issue_link

        second = issue_link(uow, bot.app.link_issuer("huifang_test_bot"), LinkSubject.CUSTOMER, customer_id,
                            bot.app.clock).rsplit("=", 1)[1]  # fmt: skip
        uow.commit()

    refused = await bot.say(610, f"/start {second}")  # someone else got hold of it

    assert refused.text.startswith("抱歉，这个链接已被其他账号使用。")
    with bot.app.uow() as uow:
        links = uow.session.scalars(select(LinkToken).order_by(LinkToken.id)).all()
        assert [(link.used_by, link.used_at is not None) for link in links] == [(609, True), (None, False)]
    consent = await bot.say(609, f"/start {second}")  # the customer's own link still works for them
    assert consent.button_labels == ["开始", "稍后", "退订"]


# ------------------------------------------------------------------------------- a callback time on the phone


async def _specialist_at_the_times(bot: Harness, user_id: int, name: str, phone: str) -> tuple[int, SentMessage]:
    """周芳 calls a customer, connects and taps 预约回访: (survey id, the message offering times)."""
    store = bot.store_with_staff()
    _, survey_id, _ = bot.customer_with_survey(store, name, phone, channel="phone")
    await bot.say(user_id, "/start " + bot.staff_link(store, "周芳"))
    card = await bot.say(user_id, "/call")
    script = await bot.tap(user_id, card, "接通")
    times = await bot.tap(user_id, script, "预约回访")
    return survey_id, times


async def test_a_specialist_types_the_callback_time_shown_as_the_example_and_it_is_booked(bot: Harness) -> None:
    survey_id, times = await _specialist_at_the_times(bot, 611, "钱多多", "+8613700137611")
    assert times.text == "请选择回访时间（或直接输入，例如 11-26 14:00）："

    booked = await bot.say(611, "11-26 14:00")

    assert booked.text == "已预约：钱先生 将于 11-26 14:00 回访，届时会优先出现在您的队列中。"
    assert booked.button_labels == ["下一个"]
    survey = bot.survey(survey_id)
    assert (survey.status, survey.callback_at) == ("appointment", datetime(2026, 11, 26, 6, 0, tzinfo=UTC))


async def test_a_specialist_types_the_time_as_the_customer_said_it(bot: Harness) -> None:
    survey_id, _ = await _specialist_at_the_times(bot, 612, "孙丽", "+8613700137612")

    unread = await bot.say(612, "等会儿")
    past = await bot.say(612, "今天上午9点")  # it is 10:00
    far = await bot.say(612, "9999-12-31 23:59")
    night = await bot.say(612, "明天晚上10点")
    booked = await bot.say(612, "周五下午三点半")

    assert unread.text == "没看懂这个时间。请直接输入，例如 11-26 14:00、明天下午三点，或点选上面的时间。"
    assert past.text == "这个时间已经过去了，请选择或输入一个以后的时间。"
    assert far.text == "这个时间太远了，请选择60天以内的时间。"
    assert night.text == "这个时间不在回访时段内，请换一个白天的时间。"
    assert booked.text == "已预约：孙先生 将于 11-27 15:30 回访，届时会优先出现在您的队列中。"
    survey = bot.survey(survey_id)
    assert (survey.status, survey.callback_at) == ("appointment", datetime(2026, 11, 27, 7, 30, tzinfo=UTC))
    with bot.app.uow() as uow:
        assert uow.session.scalars(select(Task.due_at)).all() == [survey.callback_at]


async def test_a_customer_types_the_callback_time_as_they_would_say_it(bot: Harness) -> None:
    survey_id, _, opening = await _consented(bot, 613, "吴静", "+8613600136613")
    await bot.tap(613, opening, "时间不便")

    done = await bot.say(613, "明天下午三点")

    assert done.text == "好的，那我们11月26日 15:00再给您回电，感谢您的接听，再见！"
    with bot.app.uow() as uow:
        survey = uow.session.get(Survey, survey_id)
        assert survey is not None and survey.callback_at == datetime(2026, 11, 26, 7, 0, tzinfo=UTC)


async def test_a_link_opened_by_two_accounts_at_once_binds_one_and_records_only_that_one(bot: Harness) -> None:
    store = bot.store_with_staff()
    links = [bot.customer_with_survey(store, f"客户{n}", f"+86137{n:08d}")[2] for n in range(12)]
    for n, token in enumerate(links):  # both updates arrive together and are handled concurrently
        bot.telegram.open_link(bot.user(6200 + 2 * n), token)
        bot.telegram.open_link(bot.user(6201 + 2 * n), token)
    for user_id in range(6200, 6200 + 2 * len(links)):
        await bot.reply_to(user_id, 1)

    with bot.app.uow() as uow:
        bound = dict(uow.session.execute(select(Customer.id, Customer.telegram_chat_id)).all())
        used_by = uow.session.scalars(select(LinkToken.used_by).order_by(LinkToken.id)).all()
        customer_ids = uow.session.scalars(select(LinkToken.subject_id).order_by(LinkToken.id)).all()
    welcomed = [u for u in range(6200, 6200 + 2 * len(links)) if bot.telegram.chat(u)[0].button_labels]
    assert len(welcomed) == len(links)  # one of each pair, the other is told the link is used
    assert used_by == [bound[c] for c in customer_ids]
    assert sorted(used_by) == sorted(welcomed)


async def test_opening_ones_own_link_again_mid_survey_shows_the_question_it_waits_on(bot: Harness) -> None:
    store = bot.store_with_staff()
    _, survey_id, token = bot.customer_with_survey(store, "郑和", "+8613600136614")
    bot.telegram.open_link(bot.user(614), token)
    consent = await bot.reply_to(614, 1)
    opening = await bot.tap(614, consent, "开始")

    again = await bot.say(614, f"/start {token}")

    assert again.text == opening.text and again.button_labels == ["拒绝回访", "时间不便", "配合回访"]
    assert bot.survey(survey_id).attempt_count == 1


async def test_after_booking_is_offered_a_tap_on_the_script_goes_on_with_the_call(bot: Harness) -> None:
    survey_id, times = await _specialist_at_the_times(bot, 615, "林峰", "+8613700137615")
    script = bot.telegram.chat(615)[-2]  # the customer agrees after all

    q1 = await bot.tap(615, script, "配合回访")
    brand = await bot.tap(615, q1, "其他品牌")
    after = await bot.say(615, "比亚迪 宋PLUS")

    assert times.text.startswith("请选择回访时间") and "品牌" in brand.text
    assert after.button_labels  # the script moves on to the next question
    assert bot.answers(survey_id)[-1] == ("q1_brand", "", None, "比亚迪 宋PLUS")
    assert bot.survey(survey_id).status == "in_progress"


async def test_a_time_typed_while_a_choice_is_on_the_call_screen_books_the_callback(bot: Harness) -> None:
    store = bot.store_with_staff()
    _, survey_id, _ = bot.customer_with_survey(store, "周强", "+8613700137616", channel="phone")
    await bot.say(616, "/start " + bot.staff_link(store, "周芳"))
    card = await bot.say(616, "/call")
    await bot.tap(616, card, "接通")  # the opening question, a choice, is on screen

    booked = await bot.say(616, "明天下午三点")

    assert booked.text == "已预约：周先生 将于 11-26 15:00 回访，届时会优先出现在您的队列中。"
    assert bot.survey(survey_id).status == "appointment"
