"""A customer-service specialist working the phone queue from the staff chat, over the real bot."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from storage.models import Answer, ContactAttempt, Store, Survey
from tests.e2e.harness import Harness


async def _specialist(bot: Harness, user_id: int) -> None:
    with bot.app.uow() as uow:
        store_id = uow.session.scalars(select(Store.id)).one()
    await bot.say(user_id, "/start " + bot.staff_link(store_id, "周芳"))


async def test_a_specialist_calls_reads_the_script_and_records_the_answers(bot: Harness) -> None:
    store = bot.store_with_staff()
    _, survey_id, _ = bot.customer_with_survey(store, "王建国", "+8613800138000", channel="phone")
    await _specialist(bot, 901)

    card = await bot.say(901, "/call")
    assert "客户：王先生（王建国）" in card.text and "电话：13800138000" in card.text
    assert card.button_labels[:3] == ["接通", "无人接听", "占线"]

    script = await bot.tap(901, card, "接通")
    assert script.text.startswith("【第1/")
    assert "王先生您好，我是惠州江铃4S店客户专员周芳" in script.text
    assert {"拒绝回访", "时间不便", "配合回访", "拒访", "中途挂断", "预约回访", "勿再致电"} <= set(script.button_labels)

    q1 = await bot.tap(901, script, "配合回访")
    assert "哪个品牌" in q1.text
    q2 = await bot.tap(901, q1, "还没有购买")
    closing = await bot.tap(901, q2, "价格/价值")

    assert closing.button_labels == ["下一个"]
    with bot.app.uow() as uow:
        survey = uow.session.get(Survey, survey_id)
        assert survey is not None and (survey.status, survey.channel) == ("completed", "phone")
        answers = uow.session.scalars(select(Answer.question_id).where(Answer.survey_id == survey_id)).all()
        attempt = uow.session.scalars(select(ContactAttempt)).one()
    assert answers == ["opening", "q1", "q2"]
    assert (attempt.channel, attempt.disposition) == ("phone", "completed")


async def test_a_specialist_types_what_the_customer_says_to_a_free_text_question(bot: Harness) -> None:
    store = bot.store_with_staff()
    _, survey_id, _ = bot.customer_with_survey(store, "王建国", "+8613800138000", channel="phone")
    await _specialist(bot, 905)
    card = await bot.say(905, "/call")
    script = await bot.tap(905, card, "接通")

    unread = await bot.say(905, "嗯")  # a choice is on screen: typed words are not an option
    q1 = await bot.tap(905, script, "配合回访")
    brand = await bot.tap(905, q1, "其他品牌")
    after = await bot.say(905, "比亚迪 宋PLUS")

    assert unread.text == "请按当前问题的提示作答。"
    assert "品牌" in brand.text
    assert after.text != brand.text and after.button_labels  # the script moves on to the next question
    assert bot.answers(survey_id)[-1] == ("q1_brand", "", None, "比亚迪 宋PLUS")


async def test_no_answer_is_logged_with_the_next_try_time(bot: Harness) -> None:
    bot.app.clock.set(datetime(2026, 11, 25, 2, 0, tzinfo=UTC))  # type: ignore[attr-defined]  10:00 Shanghai
    store = bot.store_with_staff()
    _, survey_id, _ = bot.customer_with_survey(store, "赵丽", "+8613900139000", honorific="女士", channel="phone")
    await _specialist(bot, 902)
    card = await bot.say(902, "/call")

    logged = await bot.tap(902, card, "无人接听")

    assert logged.text == "已记录：赵女士 — 无人接听。下次拨打：11-25 12:00。"
    empty = await bot.tap(902, logged, "下一个")
    assert empty.text == "目前没有需要拨打的客户。"
    with bot.app.uow() as uow:
        survey = uow.session.get(Survey, survey_id)
        assert survey is not None and survey.next_try_at == datetime(2026, 11, 25, 4, 0, tzinfo=UTC)


async def test_a_specialist_can_book_a_callback_during_the_call(bot: Harness) -> None:
    store = bot.store_with_staff()
    _, survey_id, _ = bot.customer_with_survey(store, "钱多多", "+8613700137000", channel="phone")
    await _specialist(bot, 903)
    card = await bot.say(903, "/call")
    script = await bot.tap(903, card, "接通")

    times = await bot.tap(903, script, "预约回访")
    tomorrow = next(label for label in times.button_labels if label.endswith("10:00"))
    booked = await bot.tap(903, times, tomorrow)

    assert booked.text.startswith("已预约：") and "10:00" in booked.text
    with bot.app.uow() as uow:
        survey = uow.session.get(Survey, survey_id)
        assert survey is not None and survey.status == "appointment"
        assert survey.callback_at == datetime(2026, 11, 26, 2, 0, tzinfo=UTC)


async def test_only_staff_can_ask_for_calls(bot: Harness) -> None:
    reply = await bot.say(904, "/call")

    assert reply.text == "抱歉，此功能仅限本店员工使用。"
